/* LIBSVM/svmlight reader: "label idx:val idx:val ... # comment" per line,
 * kept sparse (CSR). The rules are in tabular.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tabular.h"

/* Longest token shown in a message; longer ones are cut. */
#define SHOWN 40

struct sparse {
    const char *name;
    size_t features; /* from the options; 0 = none expected */
    size_t ignored;  /* entries beyond them, left out */
    int classify;
    int unlabelled;
    size_t m, nnz, max_index;
    size_t *row_ptr;
    size_t rcap;
    uint32_t *col;
    size_t ccap;
    float *val;
    size_t vcap;
    int32_t *y;
    size_t ycap;
    float *targets;
    size_t tcap;
    char *tok; /* NUL-terminated copy of the token being read */
    size_t tokcap;
    sr_labels labels;
};

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Copies p[0..n) into s->tok so that strtod/strtoll stop inside it. */
static sr_status copy_token(struct sparse *s, const char *p, size_t n,
                            size_t line, sr_error *err)
{
    if (memchr(p, '\0', n))
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s:%zu: NUL byte in the text (is this a binary file?)",
                       s->name, line);
    sr_status why = SR_ERR_NOMEM;
    char *t = sr_tab_grow(s->tok, 0, &s->tokcap, n + 1, 1, &why);
    if (!t)
        return sr_fail(err, why, "%s:%zu: out of memory for a token", s->name,
                       line);
    s->tok = t;
    memcpy(t, p, n);
    t[n] = '\0';
    return SR_OK;
}

static sr_status parse_label(struct sparse *s, const char *p, size_t n,
                             size_t line, sr_error *err)
{
    sr_status st = copy_token(s, p, n, line, err);
    if (st != SR_OK)
        return st;
    float v;
    const char *bad = sr_tab_parse_float(s->tok, &v);
    if (bad)
        return sr_fail(err, SR_ERR_FORMAT, "%s:%zu: label \"%.*s\"%s %s",
                       s->name, line, SHOWN, s->tok, n > SHOWN ? "..." : "",
                       bad);
    sr_status why = SR_ERR_NOMEM;
    if (s->unlabelled)
        return SR_OK;
    if (s->classify) {
        int32_t *y = sr_tab_grow(s->y, s->m, &s->ycap, s->m + 1, sizeof *y,
                                 &why);
        if (!y)
            return sr_fail(err, why, "%s:%zu: out of memory for %zu labels",
                           s->name, line, s->m + 1);
        s->y = y;
        return sr_labels_add(&s->labels, s->tok, line, &y[s->m], err);
    }
    float *tg = sr_tab_grow(s->targets, s->m, &s->tcap, s->m + 1, sizeof *tg,
                            &why);
    if (!tg)
        return sr_fail(err, why, "%s:%zu: out of memory for %zu targets",
                       s->name, line, s->m + 1);
    s->targets = tg;
    tg[s->m] = v;
    return SR_OK;
}

/* One "idx:val" token; *prev is the previous index of the line (0 at first). */
static sr_status parse_pair(struct sparse *s, const char *p, size_t n,
                            size_t line, long long *prev, sr_error *err)
{
    const char *colon = memchr(p, ':', n);
    if (!colon)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s:%zu: \"%.*s\" is not index:value (missing ':')",
                       s->name, line, (int)(n > SHOWN ? SHOWN : n), p);
    size_t ilen = (size_t)(colon - p);
    sr_status st = copy_token(s, p, ilen, line, err);
    if (st != SR_OK)
        return st;
    char *end;
    errno = 0;
    long long idx = strtoll(s->tok, &end, 10);
    if (ilen == 0 || end == s->tok || *end != '\0')
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s:%zu: feature index \"%.*s\" is not an integer",
                       s->name, line, SHOWN, s->tok);
    if (idx <= 0)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s:%zu: feature index %.*s is invalid: indices start "
                       "at 1",
                       s->name, line, SHOWN, s->tok);
    if (errno == ERANGE || idx > INT32_MAX)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s:%zu: feature index %.*s is too large (at most %ld)",
                       s->name, line, SHOWN, s->tok, (long)INT32_MAX);
    if (idx == *prev)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s:%zu: feature index %lld appears twice", s->name,
                       line, idx);
    if (idx < *prev)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s:%zu: feature index %lld comes after %lld: indices "
                       "must be strictly increasing",
                       s->name, line, idx, *prev);

    size_t vlen = n - ilen - 1;
    if ((st = copy_token(s, colon + 1, vlen, line, err)) != SR_OK)
        return st;
    float v;
    const char *bad = vlen ? sr_tab_parse_float(s->tok, &v) : "is empty";
    if (bad)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s:%zu: feature %lld: value \"%.*s\"%s %s", s->name,
                       line, idx, SHOWN, s->tok, vlen > SHOWN ? "..." : "",
                       bad);
    *prev = idx;
    if (s->features && (size_t)idx > s->features) {
        s->ignored += v != 0.0f;
        return SR_OK;
    }
    if ((size_t)idx > s->max_index)
        s->max_index = (size_t)idx;
    if (v == 0.0f)
        return SR_OK;
    sr_status why = SR_ERR_NOMEM;
    uint32_t *c = sr_tab_grow(s->col, s->nnz, &s->ccap, s->nnz + 1,
                              sizeof *c, &why);
    if (!c)
        goto nomem;
    s->col = c;
    float *w = sr_tab_grow(s->val, s->nnz, &s->vcap, s->nnz + 1, sizeof *w,
                           &why);
    if (!w)
        goto nomem;
    s->val = w;
    c[s->nnz] = (uint32_t)(idx - 1);
    w[s->nnz] = v;
    s->nnz++;
    return SR_OK;
nomem:
    return sr_fail(err, why, "%s:%zu: out of memory for %zu values", s->name,
                   line, s->nnz + 1);
}

/* One non-blank line, comment removed: p[0..n) starts with the label. */
static sr_status parse_line(struct sparse *s, const char *p, size_t n,
                            size_t line, sr_error *err)
{
    size_t i = 0;
    while (i < n && !is_space(p[i]))
        i++;
    sr_status st = parse_label(s, p, i, line, err);
    if (st != SR_OK)
        return st;
    long long prev = 0;
    for (int first = 1;; first = 0) {
        while (i < n && is_space(p[i]))
            i++;
        if (i == n)
            break;
        size_t start = i;
        while (i < n && !is_space(p[i]))
            i++;
        /* svmlight's query id for ranking; meaningless here. */
        if (first && i - start > 4 && memcmp(p + start, "qid:", 4) == 0)
            continue;
        if ((st = parse_pair(s, p + start, i - start, line, &prev, err)) !=
            SR_OK)
            return st;
    }
    sr_status why = SR_ERR_NOMEM;
    size_t *r = sr_tab_grow(s->row_ptr, s->m + 1, &s->rcap, s->m + 2,
                            sizeof *r, &why);
    if (!r)
        return sr_fail(err, why, "%s:%zu: out of memory for %zu rows",
                       s->name, line, s->m + 1);
    s->row_ptr = r;
    r[s->m + 1] = s->nnz;
    s->m++;
    return SR_OK;
}

sr_status sr_libsvm_parse(const char *buf, size_t len, const char *name,
                          const sr_tabular_options *opt_in, sr_dataset **out,
                          sr_error *err)
{
    return sr_libsvm_parse_part(buf, len, name, 1, opt_in, out, err);
}

sr_status sr_libsvm_parse_part(const char *buf, size_t len, const char *name,
                               size_t line0, const sr_tabular_options *opt_in,
                               sr_dataset **out, sr_error *err)
{
    if (!out || (!buf && len))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_libsvm_parse: NULL argument");
    sr_tabular_options opt = opt_in ? *opt_in : sr_tabular_options_default();
    sr_status st = sr_tabular_options_check(&opt, err);
    if (st != SR_OK)
        return st;
    if (!name)
        name = "(buffer)";

    struct sparse s;
    sr_dataset *ds = NULL;
    memset(&s, 0, sizeof s);
    s.name = name;
    s.features = opt.features;
    s.classify = opt.task == SR_TASK_CLASSIFICATION;
    s.unlabelled = opt.task == SR_TASK_UNLABELLED;
    if (s.classify) {
        st = sr_labels_init(&s.labels, name, opt.classes, opt.k, err);
        if (st != SR_OK)
            return st;
    }
    sr_status why = SR_ERR_NOMEM;
    /* Allocated up front so that even a set without stored values has
     * arrays behind its pointers. */
    if (!(s.row_ptr = sr_tab_grow(NULL, 0, &s.rcap, 1, sizeof *s.row_ptr, &why)) ||
        !(s.col = sr_tab_grow(NULL, 0, &s.ccap, 1, sizeof *s.col, &why)) ||
        !(s.val = sr_tab_grow(NULL, 0, &s.vcap, 1, sizeof *s.val, &why))) {
        st = sr_fail(err, why, "%s: out of memory", name);
        goto fail;
    }
    s.row_ptr[0] = 0;

    size_t pos = 0, next_progress = 0;
    for (size_t line = line0; pos < len; line++) {
        sr_tab_progress(&opt, pos, len, &next_progress);
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t eol = nl ? (size_t)(nl - buf) : len;
        const char *hash = memchr(buf + pos, '#', eol - pos);
        size_t end = hash ? (size_t)(hash - buf) : eol;
        while (pos < end && is_space(buf[pos]))
            pos++;
        if (pos < end && (st = parse_line(&s, buf + pos, end - pos, line,
                                          err)) != SR_OK)
            goto fail;
        pos = eol + 1;
    }
    if (s.m == 0) {
        st = sr_fail(err, SR_ERR_FORMAT, "%s: no examples: the file %s", name,
                     len ? "holds only blank lines and comments" : "is empty");
        goto fail;
    }

    if (!(ds = sr_dataset_new(err))) {
        st = SR_ERR_NOMEM;
        goto fail;
    }
    if (s.classify) {
        st = sr_labels_finish(&s.labels, s.y, s.m, &ds->class_names, &ds->k,
                              err);
        if (st != SR_OK)
            goto fail;
    }
    ds->m = s.m;
    ds->n = s.features ? s.features : s.max_index;
    ds->ignored = s.ignored;
    ds->layout = SR_FEATURES_CSR;
    ds->row_ptr = s.row_ptr;
    ds->col = s.col;
    ds->val = s.val;
    ds->y = s.y;
    ds->targets = s.targets;
    ds->t = s.classify || s.unlabelled ? 0 : 1;
    s.row_ptr = NULL;
    s.col = NULL;
    s.val = NULL;
    s.y = NULL;
    s.targets = NULL;
    *out = ds;
    ds = NULL;
fail:
    sr_dataset_free(ds);
    sr_labels_free(&s.labels);
    sr_dealloc(s.row_ptr);
    sr_dealloc(s.col);
    sr_dealloc(s.val);
    sr_dealloc(s.y);
    sr_dealloc(s.targets);
    sr_dealloc(s.tok);
    return st;
}

sr_status sr_dataset_load_libsvm(const char *path,
                                 const sr_tabular_options *opt,
                                 sr_dataset **out, sr_error *err)
{
    if (!path || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_dataset_load_libsvm: NULL argument");
    uint8_t *data = NULL;
    size_t len = 0;
    sr_status st = sr_read_file(path, &data, &len, err);
    if (st != SR_OK)
        return st;
    sr_dataset *ds = NULL;
    st = sr_libsvm_parse((const char *)data, len, path, opt, &ds, err);
    sr_dealloc(data);
    if (st == SR_OK &&
        (st = sr_dataset_set_labels_file(ds, path, err)) != SR_OK)
        sr_dataset_free(ds);
    else if (st == SR_OK)
        *out = ds;
    return st;
}
