/* CSV reader: one label column, every other column a float32 feature. The
 * rules (quoting, header and delimiter detection, labels) are in tabular.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tabular.h"

/* Longest field text shown in a message; longer ones are cut. */
#define SHOWN 40

/* One record: its fields, each NUL-terminated inside `text`. */
struct record {
    char *text;
    size_t len, cap;
    size_t *off; /* where each field starts in text */
    size_t n, fcap;
    size_t line; /* the line the record starts on */
};

struct reader {
    const char *buf;
    size_t len, pos, line;
    const char *name;
    char delim;
};

/* What add_row needs besides the record. */
struct table {
    const char *name;
    const struct record *hdr; /* NULL without a header */
    size_t first_line;        /* line of the header or of the first row */
    size_t ncols, n, label;
    int classify;
    int unlabelled; /* no label column: label == ncols */
    size_t m;
    float *x;
    size_t xcap;
    int32_t *y;
    size_t ycap;
    float *targets;
    size_t tcap;
    sr_labels labels;
};

static const char *field(const struct record *r, size_t j)
{
    return r->text + r->off[j];
}

/* Spaces and tabs are trimmed from fields, unless the tab separates them. */
static int is_blank(char c, char delim)
{
    return (c == ' ' || c == '\t') && (delim == ' ' || c != delim);
}

static sr_status nul_byte(const struct reader *rd, sr_error *err)
{
    return sr_fail(err, SR_ERR_FORMAT,
                   "%s:%zu: NUL byte in the text (is this a binary file?)",
                   rd->name, rd->line);
}

/* Appends p[0..n), which holds no NUL, leaving room for a terminator. */
static sr_status append(struct reader *rd, struct record *rec, const char *p,
                        size_t n, sr_error *err)
{
    if (rec->len + n + 1 > rec->cap) {
        sr_status why = SR_ERR_NOMEM;
        char *t = sr_tab_grow(rec->text, rec->len, &rec->cap,
                              rec->len + n + 1, 1, &why);
        if (!t)
            return sr_fail(err, why, "%s:%zu: out of memory for a line",
                           rd->name, rec->line);
        rec->text = t;
    }
    memcpy(rec->text + rec->len, p, n);
    rec->len += n;
    return SR_OK;
}

/* Terminates the field begun at text[start] and records it. */
static sr_status end_field(struct reader *rd, struct record *rec, size_t start,
                           sr_error *err)
{
    sr_status why = SR_ERR_NOMEM;
    if (rec->len + 1 > rec->cap) {
        char *t = sr_tab_grow(rec->text, rec->len, &rec->cap, rec->len + 1, 1,
                              &why);
        if (!t)
            goto fail;
        rec->text = t;
    }
    rec->text[rec->len++] = '\0';
    if (rec->n + 1 > rec->fcap) {
        size_t *o = sr_tab_grow(rec->off, rec->n, &rec->fcap, rec->n + 1,
                                sizeof *o, &why);
        if (!o)
            goto fail;
        rec->off = o;
    }
    rec->off[rec->n++] = start;
    return SR_OK;
fail:
    return sr_fail(err, why, "%s:%zu: out of memory for a line", rd->name,
                   rec->line);
}

/* Reads the next non-blank record into rec; *got = 0 at the end. */
static sr_status next_record(struct reader *rd, struct record *rec, int *got,
                             sr_error *err)
{
    const char *b = rd->buf;
    size_t len = rd->len;
    char delim = rd->delim;
    sr_status st;
    *got = 0;
    for (;;) {
        size_t p = rd->pos;
        while (p < len && (b[p] == ' ' || b[p] == '\t' || b[p] == '\r'))
            p++;
        if (p == len) {
            rd->pos = p;
            return SR_OK;
        }
        if (b[p] != '\n')
            break;
        rd->pos = p + 1;
        rd->line++;
    }
    rec->len = rec->n = 0;
    rec->line = rd->line;
    size_t pos = rd->pos;
    for (;;) {
        size_t start = rec->len;
        while (pos < len && is_blank(b[pos], delim))
            pos++;
        if (pos < len && b[pos] == '"') {
            pos++;
            for (;;) {
                const char *q = memchr(b + pos, '"', len - pos);
                if (!q)
                    return sr_fail(err, SR_ERR_FORMAT,
                                   "%s:%zu: field %zu: the opening quote is "
                                   "never closed",
                                   rd->name, rec->line, rec->n + 1);
                size_t run = (size_t)(q - (b + pos));
                for (size_t i = 0; i < run; i++) {
                    if (b[pos + i] == '\0')
                        return nul_byte(rd, err);
                    rd->line += b[pos + i] == '\n';
                }
                if ((st = append(rd, rec, b + pos, run, err)) != SR_OK)
                    return st;
                pos += run + 1;
                if (pos < len && b[pos] == '"') {
                    if ((st = append(rd, rec, "\"", 1, err)) != SR_OK)
                        return st;
                    pos++;
                    continue;
                }
                break;
            }
        } else {
            size_t s = pos;
            while (pos < len && b[pos] != '\n' && b[pos] != delim &&
                   !(delim == ' ' && b[pos] == '\t')) {
                if (b[pos] == '\0')
                    return nul_byte(rd, err);
                pos++;
            }
            size_t e = pos;
            while (e > s && (b[e - 1] == ' ' || b[e - 1] == '\t' ||
                             b[e - 1] == '\r'))
                e--;
            if ((st = append(rd, rec, b + s, e - s, err)) != SR_OK)
                return st;
        }
        if ((st = end_field(rd, rec, start, err)) != SR_OK)
            return st;
        size_t before = pos;
        while (pos < len && (is_blank(b[pos], delim) || b[pos] == '\r'))
            pos++;
        if (pos == len || b[pos] == '\n')
            break;
        if (delim == ' ' ? pos > before : b[pos] == delim) {
            pos += delim != ' ';
            continue;
        }
        /* Only a closing quote can be followed by anything else. */
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s:%zu: field %zu: unexpected text after the closing "
                       "quote",
                       rd->name, rd->line, rec->n);
    }
    if (pos < len) {
        pos++;
        rd->line++;
    }
    rd->pos = pos;
    *got = 1;
    return SR_OK;
}

/* See sr_tabular_options.delimiter. */
static char detect_delimiter(const char *b, size_t len, size_t pos);

char sr_csv_delimiter(const char *buf, size_t len)
{
    size_t pos = len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    return detect_delimiter(buf, len, pos);
}

static char detect_delimiter(const char *b, size_t len, size_t pos)
{
    static const char cand[3] = {',', ';', '\t'};
    size_t count[3] = {0, 0, 0};
    int quoted = 0, text = 0, blank_after_text = 0, inner_blank = 0;
    while (pos < len && (b[pos] == ' ' || b[pos] == '\t' || b[pos] == '\r' ||
                         b[pos] == '\n'))
        pos++;
    for (; pos < len; pos++) {
        char c = b[pos];
        if (c == '"') {
            quoted = !quoted;
        } else if (!quoted) {
            if (c == '\n')
                break;
            for (int i = 0; i < 3; i++)
                count[i] += c == cand[i];
            if (c == ' ' || c == '\t' || c == '\r') {
                blank_after_text = text;
                continue;
            }
        }
        inner_blank |= blank_after_text;
        text = 1;
    }
    int best = 0;
    for (int i = 1; i < 3; i++)
        if (count[i] > count[best])
            best = i;
    if (count[best] > 0)
        return cand[best];
    return inner_blank ? ' ' : ',';
}

static int is_number(const char *s)
{
    float v;
    return *s && !sr_tab_parse_float(s, &v);
}

/* The header's names: every feature's, in file order, and the label
 * column's with its position. */
static sr_status header_names(const struct table *t, sr_dataset *ds,
                              sr_error *err)
{
    char **names = sr_alloc_zeroed(t->n ? t->n : 1, sizeof *names);
    if (!names)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for column names");
    ds->feature_names = names;
    for (size_t j = 0, f = 0; j < t->ncols; j++) {
        if (j == t->label && !t->unlabelled)
            continue;
        const char *name = field(t->hdr, j);
        size_t len = strlen(name) + 1;
        if (!(names[f] = sr_alloc(len)))
            return sr_fail(err, SR_ERR_NOMEM, "out of memory for column names");
        memcpy(names[f++], name, len);
    }
    if (!t->unlabelled) {
        const char *name = field(t->hdr, t->label);
        size_t len = strlen(name) + 1;
        if (!(ds->label_name = sr_alloc(len)))
            return sr_fail(err, SR_ERR_NOMEM, "out of memory for column names");
        memcpy(ds->label_name, name, len);
        ds->label_col = t->label;
    }
    return SR_OK;
}

/* See sr_csv_header. */
static int looks_like_header(const struct record *a, const struct record *b)
{
    if (!b) {
        for (size_t j = 0; j < a->n; j++)
            if (is_number(field(a, j)))
                return 0;
        return 1;
    }
    for (size_t j = 0; j < a->n && j < b->n; j++)
        if (!is_number(field(a, j)) && is_number(field(b, j)))
            return 1;
    return 0;
}

/* "column 3 ("petal_length")" or "column 3"; 1-based like line numbers. */
static void describe_col(char *buf, size_t size, const struct record *hdr,
                         size_t j)
{
    if (hdr)
        snprintf(buf, size, "column %zu (\"%.*s\")", j + 1, SHOWN,
                 field(hdr, j));
    else
        snprintf(buf, size, "column %zu", j + 1);
}

/* The available columns for a message about the label column. */
static void list_columns(char *buf, size_t size, const struct record *hdr,
                         size_t ncols)
{
    if (!hdr) {
        snprintf(buf, size,
                 "the file has no header, so give a 0-based index below %zu",
                 ncols);
        return;
    }
    size_t used = (size_t)snprintf(buf, size, "the columns are");
    for (size_t j = 0; j < ncols; j++) {
        char item[96];
        int w = snprintf(item, sizeof item, "%s %zu \"%.*s\"", j ? "," : "",
                         j, SHOWN, field(hdr, j));
        if (w < 0 || used + (size_t)w + 6 >= size) {
            snprintf(buf + used, size - used, ", ...");
            return;
        }
        memcpy(buf + used, item, (size_t)w + 1);
        used += (size_t)w;
    }
}

static sr_status find_label_col(const char *name, const struct record *hdr,
                                size_t ncols, const char *want, size_t *col,
                                sr_error *err)
{
    if (!want || !*want) {
        *col = ncols - 1;
        return SR_OK;
    }
    if (hdr)
        for (size_t j = 0; j < ncols; j++)
            if (strcmp(field(hdr, j), want) == 0) {
                *col = j;
                return SR_OK;
            }
    char list[320];
    list_columns(list, sizeof list, hdr, ncols);
    if (want[0] >= '0' && want[0] <= '9') {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(want, &end, 10);
        if (*end == '\0') {
            if (errno != ERANGE && v < ncols) {
                *col = (size_t)v;
                return SR_OK;
            }
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "%s: label column %s is out of range: the file has "
                           "%zu columns (0-based); %s",
                           name, want, ncols, list);
        }
    }
    return sr_fail(err, SR_ERR_INVALID_ARG,
                   "%s: no label column named \"%.*s\"; %s", name, SHOWN, want,
                   list);
}

static sr_status add_row(struct table *t, const struct record *rec,
                         sr_error *err)
{
    char col[SHOWN + 48];
    if (rec->n != t->ncols)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s:%zu: %zu fields, but the %s (line %zu) has %zu",
                       t->name, rec->line, rec->n,
                       t->hdr ? "header" : "first row", t->first_line,
                       t->ncols);
    size_t need;
    if (sr_mul_overflows(t->m + 1, t->n, &need))
        return sr_fail(err, SR_ERR_TOO_BIG, "%s:%zu: too many values",
                       t->name, rec->line);
    sr_status why = SR_ERR_NOMEM;
    float *x = sr_tab_grow(t->x, t->m * t->n, &t->xcap, need ? need : 1,
                           sizeof *x, &why);
    if (!x)
        return sr_fail(err, why, "%s:%zu: out of memory for %zu rows of %zu "
                       "features", t->name, rec->line, t->m + 1, t->n);
    t->x = x;
    float *row = x + t->m * t->n;
    for (size_t j = 0, f = 0; j < t->ncols; j++) {
        if (j == t->label)
            continue;
        const char *s = field(rec, j);
        const char *bad = *s ? sr_tab_parse_float(s, &row[f]) : "is empty";
        if (bad) {
            describe_col(col, sizeof col, t->hdr, j);
            return sr_fail(err, SR_ERR_FORMAT, "%s:%zu: %s: \"%.*s\"%s %s",
                           t->name, rec->line, col, SHOWN, s,
                           strlen(s) > SHOWN ? "..." : "", bad);
        }
        f++;
    }
    if (t->unlabelled) {
        t->m++;
        return SR_OK;
    }
    const char *s = field(rec, t->label);
    if (t->classify) {
        int32_t *y = sr_tab_grow(t->y, t->m, &t->ycap, t->m + 1, sizeof *y,
                                 &why);
        if (!y)
            return sr_fail(err, why, "%s:%zu: out of memory for %zu labels",
                           t->name, rec->line, t->m + 1);
        t->y = y;
        if (!*s) {
            describe_col(col, sizeof col, t->hdr, t->label);
            return sr_fail(err, SR_ERR_FORMAT, "%s:%zu: %s: the label is empty",
                           t->name, rec->line, col);
        }
        sr_status st = sr_labels_add(&t->labels, s, rec->line, &y[t->m], err);
        if (st != SR_OK)
            return st;
    } else {
        float *tg = sr_tab_grow(t->targets, t->m, &t->tcap, t->m + 1,
                                sizeof *tg, &why);
        if (!tg)
            return sr_fail(err, why, "%s:%zu: out of memory for %zu targets",
                           t->name, rec->line, t->m + 1);
        t->targets = tg;
        const char *bad = *s ? sr_tab_parse_float(s, &tg[t->m]) : "is empty";
        if (bad) {
            describe_col(col, sizeof col, t->hdr, t->label);
            return sr_fail(err, SR_ERR_FORMAT,
                           "%s:%zu: %s: target \"%.*s\"%s %s", t->name,
                           rec->line, col, SHOWN, s,
                           strlen(s) > SHOWN ? "..." : "", bad);
        }
    }
    t->m++;
    return SR_OK;
}

sr_status sr_csv_parse(const char *buf, size_t len, const char *name,
                       const sr_tabular_options *opt_in, sr_dataset **out,
                       sr_error *err)
{
    return sr_csv_parse_part(buf, len, name, 1, opt_in, out, err);
}

sr_status sr_csv_parse_part(const char *buf, size_t len, const char *name,
                            size_t line0, const sr_tabular_options *opt_in,
                            sr_dataset **out, sr_error *err)
{
    if (!out || (!buf && len))
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_csv_parse: NULL argument");
    sr_tabular_options opt = opt_in ? *opt_in : sr_tabular_options_default();
    sr_status st = sr_tabular_options_check(&opt, err);
    if (st != SR_OK)
        return st;
    if (!name)
        name = "(buffer)";

    struct record rec[2];
    struct table t;
    sr_dataset *ds = NULL;
    memset(rec, 0, sizeof rec);
    memset(&t, 0, sizeof t);
    t.name = name;
    t.classify = opt.task == SR_TASK_CLASSIFICATION;
    if (t.classify) {
        st = sr_labels_init(&t.labels, name, opt.classes, opt.k, err);
        if (st != SR_OK)
            return st;
    }

    struct reader rd = {buf, len, 0, line0, name, opt.delimiter};
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        rd.pos = 3;
    if (!rd.delim)
        rd.delim = detect_delimiter(buf, len, rd.pos);

    int got = 0, second = 0;
    if ((st = next_record(&rd, &rec[0], &got, err)) != SR_OK)
        goto fail;
    if (!got) {
        st = sr_fail(err, SR_ERR_FORMAT, "%s: no data: the file is empty",
                     name);
        goto fail;
    }
    t.ncols = rec[0].n;
    t.first_line = rec[0].line;
    int header = opt.header == SR_CSV_HEADER_YES;
    if (opt.header == SR_CSV_HEADER_AUTO) {
        if ((st = next_record(&rd, &rec[1], &second, err)) != SR_OK)
            goto fail;
        header = looks_like_header(&rec[0], second ? &rec[1] : NULL);
    }
    t.hdr = header ? &rec[0] : NULL;
    t.unlabelled = opt.task == SR_TASK_UNLABELLED;
    if (t.unlabelled) {
        t.label = t.ncols; /* no column is skipped */
    } else {
        st = find_label_col(name, t.hdr, t.ncols, opt.label_col, &t.label, err);
        if (st != SR_OK)
            goto fail;
    }
    t.n = t.unlabelled ? t.ncols : t.ncols - 1;
    if (opt.features && opt.features != t.n) {
        st = sr_fail(err, SR_ERR_MISMATCH,
                     "%s: %zu feature columns, but %zu features are expected",
                     name, t.n, opt.features);
        goto fail;
    }

    /* rec[0] stays intact (it may be the header); later rows go to rec[1]. */
    if (!header && (st = add_row(&t, &rec[0], err)) != SR_OK)
        goto fail;
    if (second && (st = add_row(&t, &rec[1], err)) != SR_OK)
        goto fail;
    size_t next_progress = 0;
    for (;;) {
        sr_tab_progress(&opt, rd.pos, len, &next_progress);
        if ((st = next_record(&rd, &rec[1], &got, err)) != SR_OK)
            goto fail;
        if (!got)
            break;
        if ((st = add_row(&t, &rec[1], err)) != SR_OK)
            goto fail;
    }
    if (t.m == 0) {
        st = sr_fail(err, SR_ERR_FORMAT,
                     "%s: no examples: the file holds only a header", name);
        goto fail;
    }

    if (!(ds = sr_dataset_new(err))) {
        st = SR_ERR_NOMEM;
        goto fail;
    }
    if (t.classify) {
        st = sr_labels_finish(&t.labels, t.y, t.m, &ds->class_names, &ds->k,
                              err);
        if (st != SR_OK)
            goto fail;
    }
    ds->m = t.m;
    ds->n = t.n;
    ds->layout = SR_FEATURES_F32;
    ds->x_f32 = t.x;
    ds->y = t.y;
    ds->targets = t.targets;
    ds->t = t.classify || t.unlabelled ? 0 : 1;
    t.x = NULL;
    t.y = NULL;
    t.targets = NULL;
    if (t.hdr && (st = header_names(&t, ds, err)) != SR_OK)
        goto fail;
    *out = ds;
    ds = NULL;
fail:
    sr_dataset_free(ds);
    sr_labels_free(&t.labels);
    sr_dealloc(t.x);
    sr_dealloc(t.y);
    sr_dealloc(t.targets);
    for (int i = 0; i < 2; i++) {
        sr_dealloc(rec[i].text);
        sr_dealloc(rec[i].off);
    }
    return st;
}

sr_status sr_dataset_load_csv(const char *path, const sr_tabular_options *opt,
                              sr_dataset **out, sr_error *err)
{
    if (!path || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_dataset_load_csv: NULL argument");
    uint8_t *data = NULL;
    size_t len = 0;
    sr_status st = sr_read_file(path, &data, &len, err);
    if (st != SR_OK)
        return st;
    sr_dataset *ds = NULL;
    st = sr_csv_parse((const char *)data, len, path, opt, &ds, err);
    sr_dealloc(data);
    if (st == SR_OK &&
        (st = sr_dataset_set_labels_file(ds, path, err)) != SR_OK)
        sr_dataset_free(ds);
    else if (st == SR_OK)
        *out = ds;
    return st;
}
