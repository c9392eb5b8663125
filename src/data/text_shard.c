/* Sharded reading of text files (CSV, LIBSVM): each process reads its
 * share of the bytes, parses the rows that start in it, and the rows then
 * move to the process whose shard (dataset.h: whole units of
 * sr_shard_rows) holds them.
 *
 * Where a row starts depends on what came before: a CSV newline inside
 * quotes is not the end of a row. Each process runs the format's
 * scanner over its bytes from every state the scanner has (a handful), so
 * that it knows its end state for each start state; the processes
 * exchange these tables (a few bytes each) and each composes those of the
 * processes before it, from the file's start: the state at its first
 * byte, exactly as one process reading from the start would have it,
 * with no process reading another's bytes. A process's rows are those
 * whose first character lies in its bytes; the last one may run on past
 * them, and the process reads on to the next row's start. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../dist/dist.h"
#include "tabular.h"

/* ---- Scanners: the states of a reader between two bytes ---- */

#define MAX_STATES 8

typedef struct scanner {
    int nstates;
    char delim; /* CSV */
    /* The state after byte c from state s; *row = 1 when c is a row's
     * first character. */
    int (*step)(const struct scanner *sc, int s, unsigned char c, int *row);
} scanner;

/* LIBSVM (libsvm.c): a row is a line with something before any '#'. */
enum { L_START, L_LINE };

static int libsvm_step(const scanner *sc, int s, unsigned char c, int *row)
{
    (void)sc;
    if (c == '\n')
        return L_START;
    if (s == L_LINE)
        return L_LINE;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f')
        return L_START;
    *row = c != '#';
    return L_LINE;
}

/* CSV (csv.c, next_record): a record's start (blank lines skipped), a
 * field's start, an unquoted field, a quoted one, a quote inside a quoted
 * one (closing, or the first of two), after a closing quote, and the
 * blanks that separate fields when the delimiter is a space. */
enum { C_REC, C_FIELD, C_UNQ, C_QUO, C_QQ, C_AFTER, C_SEP, C_NSTATES };

static int csv_blank(unsigned char c, char delim)
{
    return (c == ' ' || c == '\t') && (delim == ' ' || c != (unsigned char)delim);
}

static int csv_field(const scanner *sc, unsigned char c)
{
    if (csv_blank(c, sc->delim))
        return C_FIELD;
    if (c == '"')
        return C_QUO;
    if (c == '\n')
        return C_REC;
    if (c == (unsigned char)sc->delim)
        return C_FIELD;
    return C_UNQ;
}

/* After a closing quote: blanks, then the delimiter or the row's end
 * (anything else is an error the parser reports). */
static int csv_after(char d, unsigned char c)
{
    if (c == '\n')
        return C_REC;
    if (csv_blank(c, d) || c == '\r')
        return d == ' ' ? C_SEP : C_AFTER;
    return c == (unsigned char)d ? C_FIELD : C_UNQ;
}

static int csv_step(const scanner *sc, int s, unsigned char c, int *row)
{
    char d = sc->delim;
    switch (s) {
    case C_REC:
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            return C_REC;
        *row = 1;
        return csv_field(sc, c);
    case C_FIELD:
        return csv_field(sc, c);
    case C_UNQ:
        if (c == '\n')
            return C_REC;
        if (d == ' ' && (c == ' ' || c == '\t'))
            return C_SEP;
        return c == (unsigned char)d ? C_FIELD : C_UNQ;
    case C_QUO:
        return c == '"' ? C_QQ : C_QUO;
    case C_QQ: /* two quotes are one; else the quote closed the field */
        return c == '"' ? C_QUO : csv_after(d, c);
    case C_AFTER:
        return csv_after(d, c);
    default: /* C_SEP */
        if (c == ' ' || c == '\t' || c == '\r')
            return C_SEP;
        if (c == '\n')
            return C_REC;
        return csv_field(sc, c);
    }
}

/* ---- Reading ---- */

typedef struct text_file {
    const char *path;
    int fd;
    uint64_t size, bytes; /* its size; bytes read so far */
} text_file;

/* len bytes at `at` into dst, counted. */
static sr_status read_at(text_file *f, void *dst, size_t len, uint64_t at,
                         sr_error *err)
{
    sr_status st = sr_read_at(f->fd, f->path, dst, len, at, err);
    if (st == SR_OK)
        f->bytes += len;
    return st;
}

/* The next piece of the file from `at` (a few kB, fewer at the end)
 * appended to *b (*have bytes, *cap allocated); its size in *piece. */
static sr_status read_piece(text_file *f, uint64_t at, uint8_t **b,
                            size_t *have, size_t *cap, size_t *piece,
                            sr_error *err)
{
    size_t n = f->size - at < ((size_t)1 << 12) ? (size_t)(f->size - at)
                                                : (size_t)1 << 12;
    sr_status why = SR_ERR_NOMEM;
    uint8_t *g = sr_tab_grow(*b, *have, cap, *have + n + 1, 1, &why);
    if (!g)
        return sr_fail(err, why, "%s: out of memory for its first rows",
                       f->path);
    *b = g;
    sr_status st = read_at(f, g + *have, n, at, err);
    *piece = n;
    return st;
}

/* The first row start at or after `at`, scanning from state s (on to
 * the end of the file: then *start = size); the bytes read on the way are
 * appended to *buf (of *len bytes, *cap allocated) when buf is given. */
static sr_status next_row(text_file *f, const scanner *sc, int s, uint64_t at,
                          uint64_t *start, uint8_t **buf, size_t *len,
                          size_t *cap, sr_error *err)
{
    uint8_t piece[1 << 12];
    while (at < f->size) {
        size_t n = f->size - at < sizeof piece ? (size_t)(f->size - at)
                                               : sizeof piece;
        sr_status st = read_at(f, piece, n, at, err);
        if (st != SR_OK)
            return st;
        size_t i = 0;
        int row = 0;
        for (; i < n; i++) {
            s = sc->step(sc, s, piece[i], &row);
            if (row)
                break;
        }
        if (buf) {
            sr_status why = SR_ERR_NOMEM;
            uint8_t *b = sr_tab_grow(*buf, *len, cap, *len + i + 1, 1, &why);
            if (!b)
                return sr_fail(err, why, "%s: out of memory for a row",
                               f->path);
            *buf = b;
            memcpy(b + *len, piece, i);
            *len += i;
        }
        if (row) {
            *start = at + i;
            return SR_OK;
        }
        at += n;
    }
    *start = f->size;
    return SR_OK;
}

/* This process's rows' bytes, whole rows, read into *buf (*len bytes,
 * from offset *at of the file, after *lines newlines). `from` is where
 * the rows begin (after a BOM); s0 the scanner's state there. */
static sr_status my_rows(text_file *f, const scanner *sc, uint64_t from,
                         int s0, uint8_t **buf, size_t *len, uint64_t *at,
                         uint64_t *lines, sr_error *err)
{
    size_t a, b;
    sr_dist_share((size_t)(f->size - from), &a, &b);
    uint64_t lo = from + a, hi = from + b;
    size_t n = (size_t)(hi - lo), cap = n + 1;
    uint8_t *bytes = sr_alloc(cap);
    if (!bytes)
        return sr_fail(err, SR_ERR_NOMEM, "%s: out of memory for %zu bytes",
                       f->path, n);
    sr_status st = read_at(f, bytes, n, lo, err);
    if (st != SR_OK)
        goto fail;
    /* from every state: the end state, and the first row's offset */
    uint64_t table[MAX_STATES], first[MAX_STATES];
    for (int s = 0; s < sc->nstates; s++) {
        int q = s, found = 0;
        first[s] = n;
        for (size_t i = 0; i < n; i++) {
            int row = 0;
            q = sc->step(sc, q, bytes[i], &row);
            if (row && !found) {
                first[s] = i;
                found = 1;
            }
        }
        table[s] = (uint64_t)q;
    }
    size_t N = (size_t)sr_dist_size(), r = (size_t)sr_dist_rank();
    uint64_t *all = sr_alloc_array(N, MAX_STATES * sizeof *all);
    if (!all) {
        st = sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu processes", N);
        goto fail;
    }
    sr_dist_allgather_u64(table, MAX_STATES, all);
    int s = s0;
    for (size_t q = 0; q < r; q++)
        s = (int)all[q * MAX_STATES + (size_t)s];
    sr_dealloc(all);
    /* rows [first, end): the last runs on to the next row's start */
    size_t start = (size_t)first[s];
    int end_state = (int)table[s];
    /* the newlines before them: the other processes', then this one's */
    uint64_t mine = 0, before = 0;
    for (size_t i = 0; i < n; i++) {
        mine += bytes[i] == '\n';
        before += i < start && bytes[i] == '\n';
    }
    *lines = sr_dist_exscan(mine) + before;
    if (start == n) {
        *len = 0;
        *buf = bytes;
        *at = f->size;
        return SR_OK;
    }
    *at = lo + start;
    memmove(bytes, bytes + start, n - start);
    size_t have = n - start;
    uint64_t next;
    if ((st = next_row(f, sc, end_state, hi, &next, &bytes, &have, &cap,
                       err)) != SR_OK)
        goto fail;
    *buf = bytes;
    *len = have;
    return SR_OK;
fail:
    sr_dealloc(bytes);
    return st;
}

static sr_status open_text(const char *path, text_file *f, sr_error *err)
{
    struct stat st;
    f->path = path;
    f->bytes = 0;
    f->fd = open(path, O_RDONLY);
    if (f->fd < 0)
        return sr_fail(err, SR_ERR_IO, "%s: cannot open: %s", path,
                       strerror(errno));
    uint8_t magic[2] = {0, 0};
    if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (st.st_size >= 2 && pread(f->fd, magic, 2, 0) == 2 &&
         magic[0] == 0x1f && magic[1] == 0x8b)) {
        /* a stream or gzip: read whole (the caller's) */
        close(f->fd);
        f->fd = -1;
        return SR_TEXT_WHOLE;
    }
    f->size = (uint64_t)st.st_size;
    return SR_OK;
}

/* ---- Agreeing and moving the rows ---- */

/* Rows [g, g + m) of ds, every process's rows together M, moved so that
 * this process holds sr_shard_rows(M, unit)'s: dense float rows or CSR,
 * with labels or targets. */
static sr_status move_rows(sr_dataset *ds, size_t unit, size_t *row0,
                           sr_error *err)
{
    size_t N = (size_t)sr_dist_size(), r = (size_t)sr_dist_rank();
    uint64_t mine[2] = {sr_dist_exscan(ds->m), ds->m};
    uint64_t *span = sr_alloc_array(N, 2 * sizeof *span);
    uint64_t *cnt = sr_alloc_array(N, 4 * sizeof *cnt);
    sr_dataset *to = sr_dataset_new(err);
    sr_status st = SR_OK;
    if (!span || !cnt || !to) {
        st = sr_fail(err, SR_ERR_NOMEM, "out of memory moving rows");
        goto done;
    }
    sr_dist_allgather_u64(mine, 2, span);
    uint64_t M = span[2 * (N - 1)] + span[2 * (N - 1) + 1];
    size_t f, l;
    sr_shard_rows((size_t)M, unit, &f, &l);
    /* the targets' shards, as sr_shard_rows gives them on each rank */
    uint64_t *want = cnt + 2 * N; /* [first, last) of each rank */
    uint64_t fl[2] = {f, l};
    sr_dist_allgather_u64(fl, 2, want);
    uint64_t *send = cnt, *recv = cnt + N;
    uint64_t g = mine[0], m = ds->m;
    for (size_t q = 0; q < N; q++) {
        uint64_t a = want[2 * q] > g ? want[2 * q] : g;
        uint64_t b = want[2 * q + 1] < g + m ? want[2 * q + 1] : g + m;
        send[q] = b > a ? b - a : 0;
        uint64_t sa = span[2 * q] > f ? span[2 * q] : f;
        uint64_t sb = span[2 * q] + span[2 * q + 1] < l
                          ? span[2 * q] + span[2 * q + 1]
                          : l;
        recv[q] = sb > sa ? sb - sa : 0;
    }
    size_t mm = l - f, n = ds->n;
    to->m = mm;
    to->n = n;
    to->k = ds->k;
    to->t = ds->t;
    to->layout = ds->layout;
    int sparse = ds->layout == SR_FEATURES_CSR;
    /* per row: its stored values (sparse) */
    uint64_t *len = NULL, *got_len = NULL;
    if (sparse) {
        len = sr_alloc_array(m ? m : 1, sizeof *len);
        got_len = sr_alloc_array(mm ? mm : 1, sizeof *got_len);
        to->row_ptr = sr_alloc_array(mm + 1, sizeof *to->row_ptr);
        if (!len || !got_len || !to->row_ptr) {
            st = sr_fail(err, SR_ERR_NOMEM, "out of memory moving rows");
            goto sparse_done;
        }
        for (size_t i = 0; i < m; i++)
            len[i] = ds->row_ptr[i + 1] - ds->row_ptr[i];
        if ((st = sr_dist_exchange(len, send, got_len, recv, sizeof *len,
                                   err)) != SR_OK)
            goto sparse_done;
        to->row_ptr[0] = 0;
        for (size_t i = 0; i < mm; i++)
            to->row_ptr[i + 1] = to->row_ptr[i] + (size_t)got_len[i];
        /* values: counted per rank */
        uint64_t *vs = sr_alloc_array(N, 2 * sizeof *vs);
        if (!vs) {
            st = sr_fail(err, SR_ERR_NOMEM, "out of memory moving rows");
            goto sparse_done;
        }
        size_t i = 0, j = 0;
        for (size_t q = 0; q < N; q++) {
            vs[q] = 0;
            for (uint64_t k = 0; k < send[q]; k++)
                vs[q] += len[i++];
            vs[N + q] = 0;
            for (uint64_t k = 0; k < recv[q]; k++)
                vs[N + q] += got_len[j++];
        }
        size_t nnz = to->row_ptr[mm];
        to->col = sr_alloc_array(nnz ? nnz : 1, sizeof *to->col);
        to->val = sr_alloc_array(nnz ? nnz : 1, sizeof *to->val);
        if (!to->col || !to->val)
            st = sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu values",
                         nnz);
        if (st == SR_OK)
            st = sr_dist_exchange(ds->col, vs, to->col, vs + N,
                                  sizeof *to->col, err);
        if (st == SR_OK)
            st = sr_dist_exchange(ds->val, vs, to->val, vs + N,
                                  sizeof *to->val, err);
        sr_dealloc(vs);
    sparse_done:
        sr_dealloc(len);
        sr_dealloc(got_len);
        if (st != SR_OK)
            goto done;
    } else {
        if (!(to->x_f32 = sr_alloc_array(mm ? mm : 1, (n ? n : 1) * sizeof(float)))) {
            st = sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu rows", mm);
            goto done;
        }
        if ((st = sr_dist_exchange(ds->x_f32, send, to->x_f32, recv,
                                   n * sizeof(float), err)) != SR_OK)
            goto done;
    }
    if (ds->y) {
        if (!(to->y = sr_alloc_array(mm ? mm : 1, sizeof *to->y))) {
            st = sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu labels", mm);
            goto done;
        }
        if ((st = sr_dist_exchange(ds->y, send, to->y, recv, sizeof *to->y,
                                   err)) != SR_OK)
            goto done;
    }
    if (ds->targets) {
        if (!(to->targets = sr_alloc_array(mm ? mm : 1, ds->t * sizeof(float)))) {
            st = sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu targets", mm);
            goto done;
        }
        if ((st = sr_dist_exchange(ds->targets, send, to->targets, recv,
                                   ds->t * sizeof(float), err)) != SR_OK)
            goto done;
    }
    /* the rest (names, header) stays; the rows are the moved ones */
    sr_dealloc(ds->x_f32);
    sr_dealloc(ds->row_ptr);
    sr_dealloc(ds->col);
    sr_dealloc(ds->val);
    sr_dealloc(ds->y);
    sr_dealloc(ds->targets);
    ds->x_f32 = to->x_f32;
    ds->row_ptr = to->row_ptr;
    ds->col = to->col;
    ds->val = to->val;
    ds->y = to->y;
    ds->targets = to->targets;
    ds->m = mm;
    to->x_f32 = NULL;
    to->row_ptr = NULL;
    to->col = NULL;
    to->val = NULL;
    to->y = NULL;
    to->targets = NULL;
    *row0 = f;
    (void)r;
done:
    sr_dataset_free(to);
    sr_dealloc(span);
    sr_dealloc(cnt);
    return st;
}

/* An empty data set of ds's kind (no rows in this process's bytes). */
static sr_status empty_rows(sr_dataset **out, int sparse, size_t n, int classify,
                            int regress, sr_error *err)
{
    sr_dataset *ds = sr_dataset_new(err);
    if (!ds)
        return SR_ERR_NOMEM;
    ds->n = n;
    ds->layout = sparse ? SR_FEATURES_CSR : SR_FEATURES_F32;
    ds->t = regress ? 1 : 0;
    if (!(ds->row_ptr = sr_alloc_zeroed(1, sizeof *ds->row_ptr)) ||
        !(ds->col = sr_alloc(sizeof *ds->col)) ||
        !(ds->val = sr_alloc(sizeof *ds->val)) ||
        !(ds->x_f32 = sr_alloc(sizeof *ds->x_f32)) ||
        (classify && !(ds->y = sr_alloc(sizeof *ds->y))) ||
        (regress && !(ds->targets = sr_alloc(sizeof *ds->targets)))) {
        sr_dataset_free(ds);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    }
    if (!sparse) {
        sr_dealloc(ds->row_ptr);
        sr_dealloc(ds->col);
        sr_dealloc(ds->val);
        ds->row_ptr = NULL;
        ds->col = NULL;
        ds->val = NULL;
    } else {
        sr_dealloc(ds->x_f32);
        ds->x_f32 = NULL;
    }
    *out = ds;
    return SR_OK;
}

/* ---- The formats ---- */

/* The file's first bytes, from 0, until `want` rows have started (their
 * offsets into starts[]) or the end: *head, *len bytes; *found rows. */
static sr_status head_rows(text_file *f, const scanner *sc, uint64_t from,
                           size_t want, uint8_t **head, size_t *len,
                           uint64_t *starts, size_t *found, sr_error *err)
{
    size_t cap = 0, have = 0, n = 0;
    uint8_t *b = NULL;
    int s = 0; /* the record's start: L_START, C_REC */
    uint64_t at = 0;
    sr_status st = SR_OK;
    while (n < want && at < f->size) {
        size_t piece;
        if ((st = read_piece(f, at, &b, &have, &cap, &piece, err)) != SR_OK)
            break;
        for (size_t i = 0; i < piece && n < want; i++) {
            if (at + i < from)
                continue;
            int row = 0;
            s = sc->step(sc, s, b[have + i], &row);
            if (row)
                starts[n++] = at + i;
        }
        have += piece;
        at += piece;
    }
    if (st != SR_OK) {
        sr_dealloc(b);
        return st;
    }
    *head = b;
    *len = have;
    *found = n;
    return SR_OK;
}

/* The file's first bytes, to the end of its first line (as
 * sr_csv_delimiter reads it: quotes toggled, leading blank lines
 * skipped). */
static sr_status first_line(text_file *f, uint8_t **head, size_t *len,
                            sr_error *err)
{
    size_t cap = 0, have = 0;
    uint8_t *b = NULL;
    int quoted = 0, text = 0;
    sr_status st = SR_OK;
    for (uint64_t at = 0; at < f->size;) {
        size_t piece;
        if ((st = read_piece(f, at, &b, &have, &cap, &piece, err)) != SR_OK)
            break;
        int ended = 0;
        for (size_t i = have; i < have + piece && !ended; i++) {
            uint8_t c = b[i];
            if (!text && (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
                          (i < 3 && c >= 0x80)))
                continue;
            text = 1;
            if (c == '"')
                quoted = !quoted;
            else if (c == '\n' && !quoted)
                ended = 1;
        }
        have += piece;
        at += piece;
        if (ended)
            break;
    }
    if (st != SR_OK) {
        sr_dealloc(b);
        return st;
    }
    *head = b;
    *len = have;
    return SR_OK;
}

/* Drops ds's first row (dense). */
static void drop_first_row(sr_dataset *ds)
{
    if (!ds->m)
        return;
    size_t m = ds->m - 1, n = ds->n;
    memmove(ds->x_f32, ds->x_f32 + n, m * n * sizeof(float));
    if (ds->y)
        memmove(ds->y, ds->y + 1, m * sizeof *ds->y);
    if (ds->targets)
        memmove(ds->targets, ds->targets + ds->t, m * ds->t * sizeof(float));
    ds->m = m;
}

sr_status sr_text_load_shard(const char *path, int csv,
                             const sr_tabular_options *opt_in, size_t unit,
                             sr_dataset **out, sr_error *err)
{
    sr_tabular_options opt = opt_in ? *opt_in : sr_tabular_options_default();
    sr_status st = sr_tabular_options_check(&opt, err);
    if (st != SR_OK)
        return st;
    text_file f = {path, -1, 0, 0};
    if ((st = open_text(path, &f, err)) != SR_OK)
        return st;
    scanner sc = {2, 0, libsvm_step};
    uint8_t *head = NULL, *buf = NULL, *joined = NULL;
    size_t head_len = 0, len = 0, found = 0, row0 = 0;
    uint64_t from = 0, starts[3] = {0, 0, 0}, at = 0;
    sr_dataset *ds = NULL;
    int header = 0;
    if (csv) {
        /* the delimiter and the header, from the first rows (read by every
         * process: a few lines) */
        uint8_t bom[3];
        if (f.size >= 3 && (st = read_at(&f, bom, 3, 0, err)) != SR_OK)
            goto done;
        if (f.size >= 3 && !memcmp(bom, "\xEF\xBB\xBF", 3))
            from = 3;
        if (!opt.delimiter) {
            if ((st = first_line(&f, &head, &head_len, err)) != SR_OK)
                goto done;
            opt.delimiter = sr_csv_delimiter((const char *)head, head_len);
            sr_dealloc(head);
            head = NULL;
        }
        sc.nstates = C_NSTATES;
        sc.delim = opt.delimiter;
        sc.step = csv_step;
        if ((st = head_rows(&f, &sc, from, 3, &head, &head_len, starts,
                            &found, err)) != SR_OK)
            goto done;
        /* the first two rows decide the header as they do for the file */
        size_t two = found == 3 ? (size_t)starts[2] : head_len;
        if ((st = sr_csv_parse((const char *)head, two, path, &opt, &ds,
                               err)) != SR_OK)
            goto done;
        header = ds->feature_names != NULL;
        sr_dataset_free(ds);
        ds = NULL;
        /* the rows every process puts before its own: the header and the
         * first row, or the first row */
        head_len = found > (size_t)header + 1 ? (size_t)starts[header + 1]
                                              : head_len;
        opt.header = header ? SR_CSV_HEADER_YES : SR_CSV_HEADER_NO;
    }
    uint64_t lines = 0;
    if ((st = my_rows(&f, &sc, from, 0, &buf, &len, &at, &lines, err)) !=
        SR_OK)
        goto done;
    if (csv) {
        /* the first rows, then this process's rows beyond them; the first
         * row is dropped unless it is this process's */
        uint64_t row_0 = starts[header];
        int keep = len && at <= row_0 && row_0 < at + len;
        size_t skip = at < head_len ? (size_t)(head_len - at) : 0;
        skip = skip < len ? skip : len;
        size_t total = head_len + len - skip;
        if (!(joined = sr_alloc(total + 1))) {
            st = sr_fail(err, SR_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
        memcpy(joined, head, head_len);
        memcpy(joined + head_len, buf + skip, len - skip);
        /* numbered so that this process's rows have the file's lines */
        size_t head_lines = 0;
        for (size_t i = 0; i < head_len; i++)
            head_lines += head[i] == '\n';
        size_t line0 = skip || !len ? 1 : 1 + (size_t)lines - head_lines;
        if ((st = sr_csv_parse_part((const char *)joined, total, path, line0,
                                    &opt, &ds, err)) != SR_OK)
            goto done;
        if (!keep)
            drop_first_row(ds);
    } else if (len) {
        if ((st = sr_libsvm_parse_part((const char *)buf, len, path,
                                       1 + (size_t)lines, &opt, &ds, err)) !=
            SR_OK)
            goto done;
    } else if ((st = empty_rows(&ds, 1, 0, opt.task == SR_TASK_CLASSIFICATION,
                                opt.task == SR_TASK_REGRESSION, err)) != SR_OK ||
               (st = sr_copy_strings((char *const *)opt.classes, opt.k,
                                     &ds->class_names, err)) != SR_OK) {
        goto done;
    } else {
        ds->k = opt.classes ? opt.k : 0;
    }
    sr_dealloc(buf);
    sr_dealloc(joined);
    buf = joined = NULL;
    /* what the processes agree on: the rows, the width (LIBSVM's
     * largest index), the entries left out, the classes */
    uint64_t agree[2] = {ds->m, 0};
    uint64_t width = !csv && opt.features ? opt.features : ds->n;
    agree[1] = ds->ignored;
    sr_dist_reduce_u64(agree, 2, 0);
    if (!csv && !opt.features)
        sr_dist_reduce_u64(&width, 1, 1);
    if (agree[0] == 0) {
        st = sr_fail(err, SR_ERR_FORMAT, "%s: no examples: the file holds "
                     "only blank lines and comments", path);
        goto done;
    }
    ds->n = (size_t)width;
    ds->ignored = (size_t)agree[1];
    if (opt.task == SR_TASK_CLASSIFICATION && !opt.classes &&
        (st = sr_labels_agree(ds, path, err)) != SR_OK)
        goto done;
    if ((st = move_rows(ds, unit, &row0, err)) != SR_OK ||
        (st = sr_dataset_set_labels_file(ds, path, err)) != SR_OK)
        goto done;
    ds->bytes_read = f.bytes;
    if ((st = sr_dataset_agree_shard(ds, row0, err)) != SR_OK)
        goto done;
    *out = ds;
    ds = NULL;
done:
    if (f.fd >= 0)
        close(f.fd);
    sr_dataset_free(ds);
    sr_dealloc(head);
    sr_dealloc(buf);
    sr_dealloc(joined);
    return st;
}
