/* The softreg model file (.srm). Every integer is little-endian whatever the
 * host, floats are their IEEE-754 bit patterns; docs/model-format.md gives
 * the layout:
 *
 *     magic[8] version:u32 kind:u32 n:u64 k:u64 d:u64 bias:u32
 *     n_raw:u64 poly:u32 standardised:u32 [mean:f32[n] inv_std:f32[n]]
 *     nnames:u64 { len:u32 bytes[len] } * nnames
 *     nblocks:u32 { len:u32 name[len] rows:u64 cols:u64 f32[rows*cols] }
 *                 * nblocks
 *     (version 2:) nfeatures:u64 { len:u32 bytes[len] } * nfeatures
 *                  label_len:u32 label[label_len] label_col:u64
 *                  options_len:u32 options[options_len] data_crc:u32
 *                  has_crc:u32
 *     crc32:u32 (zlib's, over every byte before it)
 *
 * Loading checks, in order, the magic, the version, the minimum length and
 * the checksum; then walks the whole layout without allocating (every size
 * checked against the bytes actually present), and only then builds the
 * model. */
#include <stdio.h>
#include <string.h>

#include <zlib.h>

#include "model_file.h"

/* PNG's trick: a high-bit byte, CR LF, ^Z and LF, so that transfers in
 * 7-bit or text mode (which would also mangle the floats) break the magic. */
static const uint8_t MAGIC[8] = {0x89, 'S', 'R', 'M', '\r', '\n', 0x1a, '\n'};
#define MAGIC_LEN 8
#define HEADER_LEN 60 /* magic through the standardisation flag */
/* Header, class count, block count and checksum. */
#define MIN_LEN (HEADER_LEN + 8 + 4 + 4)
#define MAX_POLY 64
#define MAX_CLASS_NAME 65536
#define MAX_COLUMN_NAME 65536
#define NO_COLUMN UINT64_MAX
#define MAX_BLOCK_NAME 64

/* Class names a model carries: one per output, but two for logistic
 * regression (one output, P(class 1)) and none for linear regression. */
static size_t names_for(sr_model_kind kind, size_t k)
{
    return kind == SR_MODEL_LOGISTIC ? 2 : kind == SR_MODEL_LINEAR ? 0 : k;
}

static const char *kind_name(uint32_t kind)
{
    switch (kind) {
    case SR_MODEL_SOFTMAX: return "softmax";
    case SR_MODEL_NN: return "nn";
    case SR_MODEL_LINEAR: return "linear";
    case SR_MODEL_LOGISTIC: return "logistic";
    }
    return "unknown";
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static void get_f32s(float *dst, const uint8_t *src, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        uint32_t bits = get_u32(src + 4 * i);
        memcpy(&dst[i], &bits, sizeof bits);
    }
}

static int u64_fits_size(uint64_t v)
{
#if SIZE_MAX < UINT64_MAX
    return v <= SIZE_MAX;
#else
    (void)v;
    return 1;
#endif
}

static int add_overflows(size_t *total, size_t add)
{
    if (add > SIZE_MAX - *total)
        return 1;
    *total += add;
    return 0;
}

/* zlib's crc32 takes a uInt length; feed larger buffers in pieces. */
static uint32_t crc_of(const uint8_t *p, size_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (len > 0) {
        uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
        crc = crc32(crc, p, chunk);
        p += chunk;
        len -= chunk;
    }
    return (uint32_t)crc;
}

/* ---- Reading ------------------------------------------------------------ */

typedef struct file_block {
    const uint8_t *name;
    size_t name_len;
    size_t rows, cols;
    size_t at; /* offset of the first float */
} file_block;

/* Where everything is in a file whose sizes have all been checked. */
typedef struct layout {
    sr_model_spec spec;
    size_t n_raw;
    unsigned poly;
    int standardised;
    size_t mean_at, inv_std_at;
    size_t nnames; /* 0 or names_for(kind, k) */
    size_t names_at;
    size_t nblocks;
    file_block blocks[SR_MAX_BLOCKS];
    /* version 2: the training file's column names */
    size_t nfeature_names, feature_names_at;
    size_t label_len, label_at, label_col;
    size_t options_len, options_at;
    uint32_t data_crc, has_crc;
    size_t nfloats; /* over all blocks */
} layout;

typedef struct reader {
    const uint8_t *p;
    size_t len;      /* bytes before the checksum */
    size_t pos;
    const char *name;
    sr_error *err;
    int size_fault;  /* the file is shorter or longer than its content */
    uint32_t version;
} reader;

#define NO_INDEX SIZE_MAX

/* Fails unless `bytes` more bytes are present at the cursor; `what` and
 * `index` (NO_INDEX for none) name them in the message. */
static sr_status need(reader *r, size_t bytes, const char *what, size_t index)
{
    if (bytes <= r->len - r->pos)
        return SR_OK;
    char label[96];
    if (index == NO_INDEX)
        snprintf(label, sizeof label, "%s", what);
    else
        snprintf(label, sizeof label, "%s %zu", what, index);
    r->size_fault = 1;
    size_t file_len = r->len + 4;
    if (bytes > SIZE_MAX - 4 - r->pos)
        return sr_fail(r->err, SR_ERR_TOO_BIG,
                       "%s: %s at offset %zu claims %zu bytes, more than any "
                       "file can hold (the file has %zu)", r->name, label,
                       r->pos, bytes, file_len);
    return sr_fail(r->err, SR_ERR_FORMAT,
                   "%s: file is truncated or corrupted: %s at offset %zu "
                   "needs %zu bytes; expected at least %zu bytes, found %zu",
                   r->name, label, r->pos, bytes, r->pos + bytes + 4,
                   file_len);
}

static int block_name_ok(const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

/* Checks the fixed header's values. The header is known to be present. */
static sr_status walk_header(reader *r, layout *L)
{
    const uint8_t *h = r->p;
    const char *nm = r->name;
    uint32_t kind = get_u32(h + 12);
    uint64_t n = get_u64(h + 16), k = get_u64(h + 24), d = get_u64(h + 32);
    uint32_t bias = get_u32(h + 40);
    uint64_t n_raw = get_u64(h + 44);
    uint32_t poly = get_u32(h + 52), standardised = get_u32(h + 56);

    if (kind > SR_MODEL_LOGISTIC)
        return sr_fail(r->err, SR_ERR_FORMAT,
                       "%s: unknown model kind %lu at offset 12 (known: 0 "
                       "softmax, 1 nn, 2 linear, 3 logistic)", nm,
                       (unsigned long)kind);
    if (!u64_fits_size(n) || !u64_fits_size(k) || !u64_fits_size(d) ||
        !u64_fits_size(n_raw))
        return sr_fail(r->err, SR_ERR_TOO_BIG,
                       "%s: sizes at offsets 16-51 do not fit in memory on "
                       "this machine", nm);
    if (n == 0 || k == 0)
        return sr_fail(r->err, SR_ERR_FORMAT,
                       "%s: %zu features (offset 16) and %zu outputs (offset "
                       "24); both must be positive", nm, (size_t)n, (size_t)k);
    if (kind == SR_MODEL_NN && d == 0)
        return sr_fail(r->err, SR_ERR_FORMAT,
                       "%s: an nn model with 0 hidden units (offset 32)", nm);
    if (kind != SR_MODEL_NN && d != 0)
        return sr_fail(r->err, SR_ERR_FORMAT,
                       "%s: a %s model has no hidden layer but offset 32 "
                       "gives %zu hidden units", nm, kind_name(kind),
                       (size_t)d);
    if (bias > 1)
        return sr_fail(r->err, SR_ERR_FORMAT,
                       "%s: bias flag %lu at offset 40, expected 0 or 1", nm,
                       (unsigned long)bias);
    if (poly == 0 || poly > MAX_POLY)
        return sr_fail(r->err, SR_ERR_FORMAT,
                       "%s: polynomial degree %lu at offset 52 is outside "
                       "1..%d", nm, (unsigned long)poly, MAX_POLY);
    size_t mapped;
    if (sr_mul_overflows((size_t)n_raw, poly, &mapped) || mapped != n)
        return sr_fail(r->err, SR_ERR_FORMAT,
                       "%s: %zu features (offset 16) should be %zu raw "
                       "features (offset 44) times degree %lu", nm, (size_t)n,
                       (size_t)n_raw, (unsigned long)poly);
    if (standardised > 1)
        return sr_fail(r->err, SR_ERR_FORMAT,
                       "%s: standardisation flag %lu at offset 56, expected 0 "
                       "or 1", nm, (unsigned long)standardised);
    L->spec = (sr_model_spec){(sr_model_kind)kind, (size_t)n, (size_t)k,
                              (size_t)d, (int)bias};
    L->n_raw = (size_t)n_raw;
    L->poly = poly;
    L->standardised = (int)standardised;
    return SR_OK;
}

/* A string of version 2: a u32 length, at most MAX_COLUMN_NAME, then
 * that many bytes, none of them NUL; *at and *len say where it lies. */
static sr_status walk_string(reader *r, const char *what, size_t index,
                             size_t *at, size_t *len)
{
    sr_status st;
    if ((st = need(r, 4, what, index)) != SR_OK)
        return st;
    uint32_t n = get_u32(r->p + r->pos);
    if (n > MAX_COLUMN_NAME)
        return sr_fail(r->err, SR_ERR_FORMAT,
                       "%s: the length of %s at offset %zu is %lu bytes, at "
                       "most %d", r->name, what, r->pos, (unsigned long)n,
                       MAX_COLUMN_NAME);
    r->pos += 4;
    if ((st = need(r, n, what, index)) != SR_OK)
        return st;
    if (memchr(r->p + r->pos, 0, n))
        return sr_fail(r->err, SR_ERR_FORMAT,
                       "%s: %s at offset %zu contains a NUL byte", r->name,
                       what, r->pos);
    *at = r->pos;
    *len = n;
    r->pos += n;
    return SR_OK;
}

/* Version 2's column names: none, or one per raw feature (any bytes but
 * NUL, at most MAX_COLUMN_NAME), then the label column's name (length 0:
 * none) and position (NO_COLUMN: none). */
static sr_status walk_columns(reader *r, layout *L)
{
    const char *nm = r->name;
    sr_status st;
    if ((st = need(r, 8, "the feature name count", NO_INDEX)) != SR_OK)
        return st;
    uint64_t count = get_u64(r->p + r->pos);
    if (count != 0 && count != L->n_raw)
        return sr_fail(r->err, SR_ERR_FORMAT,
                       "%s: %llu feature names at offset %zu, expected 0 or "
                       "%zu", nm, (unsigned long long)count, r->pos, L->n_raw);
    r->pos += 8;
    L->nfeature_names = (size_t)count;
    L->feature_names_at = r->pos;
    size_t at, len;
    for (size_t j = 0; j < L->nfeature_names; j++)
        if ((st = walk_string(r, "feature name", j, &at, &len)) != SR_OK)
            return st;
    if ((st = walk_string(r, "the label name", NO_INDEX, &L->label_at,
                          &L->label_len)) != SR_OK)
        return st;
    if ((st = need(r, 8, "the label column", NO_INDEX)) != SR_OK)
        return st;
    uint64_t col = get_u64(r->p + r->pos);
    if (col != NO_COLUMN && (col > L->n_raw || !L->label_len))
        return sr_fail(r->err, SR_ERR_FORMAT,
                       "%s: label column %llu at offset %zu: expected at most "
                       "%zu, with a label name", nm, (unsigned long long)col,
                       r->pos, L->n_raw);
    L->label_col = col == NO_COLUMN ? SIZE_MAX : (size_t)col;
    r->pos += 8;
    /* the training options, as text, and the training data's CRC-32 */
    if ((st = walk_string(r, "the training options", NO_INDEX,
                          &L->options_at, &L->options_len)) != SR_OK)
        return st;
    if ((st = need(r, 8, "the data's CRC-32", NO_INDEX)) != SR_OK)
        return st;
    L->data_crc = get_u32(r->p + r->pos);
    L->has_crc = get_u32(r->p + r->pos + 4);
    if (L->has_crc > 1 || (!L->has_crc && L->data_crc))
        return sr_fail(r->err, SR_ERR_FORMAT,
                       "%s: data CRC flag %lu at offset %zu, expected 1, or "
                       "0 with a zero CRC", nm, (unsigned long)L->has_crc,
                       r->pos + 4);
    r->pos += 8;
    return SR_OK;
}

/* Walks the whole file, checking every value and size, allocating nothing. */
static sr_status walk(reader *r, layout *L)
{
    const char *nm = r->name;
    sr_status st;
    memset(L, 0, sizeof *L);
    L->label_col = SIZE_MAX;
    if ((st = walk_header(r, L)) != SR_OK)
        return st;
    r->pos = HEADER_LEN;
    size_t n = L->spec.n, k = L->spec.k;

    if (L->standardised) {
        size_t bytes;
        if (sr_mul_overflows(n, 4, &bytes))
            return sr_fail(r->err, SR_ERR_TOO_BIG,
                           "%s: %zu feature means do not fit in memory", nm,
                           n);
        if ((st = need(r, bytes, "the feature means", NO_INDEX)) != SR_OK)
            return st;
        L->mean_at = r->pos;
        r->pos += bytes;
        if ((st = need(r, bytes, "the inverse standard deviations", NO_INDEX)))
            return st;
        L->inv_std_at = r->pos;
        r->pos += bytes;
    }

    if ((st = need(r, 8, "the class count", NO_INDEX)) != SR_OK)
        return st;
    uint64_t nnames = get_u64(r->p + r->pos);
    size_t want_names = names_for(L->spec.kind, k);
    if (nnames != 0 && nnames != want_names)
        return sr_fail(r->err, SR_ERR_FORMAT,
                       "%s: %llu class names at offset %zu, expected 0 or %zu",
                       nm, (unsigned long long)nnames, r->pos, want_names);
    r->pos += 8;
    L->nnames = (size_t)nnames;
    L->names_at = r->pos;
    for (size_t c = 0; c < L->nnames; c++) {
        if ((st = need(r, 4, "the length of class name", c)) != SR_OK)
            return st;
        uint32_t len = get_u32(r->p + r->pos);
        if (len == 0 || len > MAX_CLASS_NAME)
            return sr_fail(r->err, SR_ERR_FORMAT,
                           "%s: class name %zu at offset %zu is %lu bytes "
                           "long, expected 1 to %d", nm, c, r->pos,
                           (unsigned long)len, MAX_CLASS_NAME);
        r->pos += 4;
        if ((st = need(r, len, "class name", c)) != SR_OK)
            return st;
        if (memchr(r->p + r->pos, 0, len))
            return sr_fail(r->err, SR_ERR_FORMAT,
                           "%s: class name %zu at offset %zu contains a NUL "
                           "byte", nm, c, r->pos);
        r->pos += len;
    }

    if ((st = need(r, 4, "the block count", NO_INDEX)) != SR_OK)
        return st;
    uint32_t nblocks = get_u32(r->p + r->pos);
    if (nblocks == 0 || nblocks > SR_MAX_BLOCKS)
        return sr_fail(r->err, SR_ERR_FORMAT,
                       "%s: %lu parameter blocks at offset %zu, expected 1 to "
                       "%d", nm, (unsigned long)nblocks, r->pos,
                       SR_MAX_BLOCKS);
    r->pos += 4;
    L->nblocks = nblocks;
    for (size_t b = 0; b < L->nblocks; b++) {
        file_block *fb = &L->blocks[b];
        if ((st = need(r, 4, "the name length of block", b)) != SR_OK)
            return st;
        uint32_t len = get_u32(r->p + r->pos);
        if (len == 0 || len > MAX_BLOCK_NAME)
            return sr_fail(r->err, SR_ERR_FORMAT,
                           "%s: block %zu's name at offset %zu is %lu bytes "
                           "long, expected 1 to %d", nm, b, r->pos,
                           (unsigned long)len, MAX_BLOCK_NAME);
        r->pos += 4;
        if ((st = need(r, len, "the name of block", b)) != SR_OK)
            return st;
        if (!block_name_ok(r->p + r->pos, len))
            return sr_fail(r->err, SR_ERR_FORMAT,
                           "%s: block %zu's name at offset %zu has bytes "
                           "other than letters, digits and '_'", nm, b,
                           r->pos);
        fb->name = r->p + r->pos;
        fb->name_len = len;
        r->pos += len;
        if ((st = need(r, 16, "the shape of block", b)) != SR_OK)
            return st;
        uint64_t rows = get_u64(r->p + r->pos);
        uint64_t cols = get_u64(r->p + r->pos + 8);
        size_t count, bytes;
        if (!u64_fits_size(rows) || !u64_fits_size(cols) ||
            sr_mul_overflows((size_t)rows, (size_t)cols, &count) ||
            sr_mul_overflows(count, 4, &bytes) ||
            add_overflows(&L->nfloats, count))
            return sr_fail(r->err, SR_ERR_TOO_BIG,
                           "%s: block \"%.*s\" at offset %zu claims %llu x "
                           "%llu floats, more than fit in memory", nm,
                           (int)len, (const char *)fb->name, r->pos,
                           (unsigned long long)rows, (unsigned long long)cols);
        r->pos += 16;
        fb->rows = (size_t)rows;
        fb->cols = (size_t)cols;
        if ((st = need(r, bytes, "the data of block", b)) != SR_OK)
            return st;
        fb->at = r->pos;
        r->pos += bytes;
    }

    if (r->version >= 2 && (st = walk_columns(r, L)) != SR_OK)
        return st;
    if (r->pos != r->len) {
        r->size_fault = 1;
        return sr_fail(r->err, SR_ERR_FORMAT,
                       "%s: file has trailing bytes or is corrupted: the model "
                       "ends at offset %zu, so expected %zu bytes, found %zu",
                       nm, r->pos, r->pos + 4, r->len + 4);
    }
    return SR_OK;
}

/* The parameter count sr_model_create allocates for `s` (theta (n, k)
 * [b (1, k)], or W1 (n, d) [b1 (1, d)] W2 (d, k) [b2 (1, k)]), known before
 * allocating so that nothing is allocated that the file's data does not back.
 * Returns 0 on overflow. */
static int expected_params(const sr_model_spec *s, size_t *count)
{
    size_t first = s->kind == SR_MODEL_NN ? s->d : s->k;
    size_t total, second;
    if (sr_mul_overflows(s->n, first, &total) ||
        (s->bias && add_overflows(&total, first)))
        return 0;
    if (s->kind == SR_MODEL_NN &&
        (sr_mul_overflows(s->d, s->k, &second) ||
         add_overflows(&total, second) ||
         (s->bias && add_overflows(&total, s->k))))
        return 0;
    *count = total;
    return 1;
}

/* A string of `len` bytes at buf, NUL-terminated, or NULL. */
static char *string_at(const uint8_t *buf, size_t len)
{
    char *s = sr_alloc(len + 1);
    if (s) {
        memcpy(s, buf, len);
        s[len] = '\0';
    }
    return s;
}

/* The column names of a version 2 file into m. */
static sr_status build_columns(const uint8_t *buf, const layout *L,
                               const char *nm, sr_model *m, sr_error *err)
{
    m->label_col = L->label_col;
    m->data_crc = L->data_crc;
    m->has_data_crc = (int)L->has_crc;
    if (L->options_len &&
        !(m->train_options = string_at(buf + L->options_at, L->options_len)))
        goto nomem;
    if (L->label_len &&
        !(m->label_name = string_at(buf + L->label_at, L->label_len)))
        goto nomem;
    if (!L->nfeature_names)
        return SR_OK;
    if (!(m->feature_names = sr_alloc_zeroed(L->nfeature_names,
                                             sizeof *m->feature_names)))
        goto nomem;
    size_t pos = L->feature_names_at;
    for (size_t j = 0; j < L->nfeature_names; j++) {
        size_t len = get_u32(buf + pos);
        if (!(m->feature_names[j] = string_at(buf + pos + 4, len)))
            goto nomem;
        pos += 4 + len;
    }
    return SR_OK;
nomem:
    return sr_fail(err, SR_ERR_NOMEM, "%s: out of memory for column names",
                   nm);
}

/* Builds the model from a walked layout; on failure frees what it made. */
static sr_status build(const uint8_t *buf, const layout *L, const char *nm,
                       sr_model **out, sr_error *err)
{
    sr_model *m = NULL;
    sr_status st;
    const sr_model_spec *s = &L->spec;
    const char *with = s->bias ? "with" : "without";
    size_t want;
    if (!expected_params(s, &want)) {
        st = sr_fail(err, SR_ERR_TOO_BIG,
                     "%s: a %s model with n = %zu, k = %zu, d = %zu has more "
                     "parameters than fit in memory", nm, kind_name(s->kind),
                     s->n, s->k, s->d);
        goto fail;
    }
    if (want != L->nfloats) {
        st = sr_fail(err, SR_ERR_FORMAT,
                     "%s: the parameter blocks hold %zu floats, but a %s "
                     "model %s bias with n = %zu, k = %zu, d = %zu has %zu",
                     nm, L->nfloats, kind_name(s->kind), with, s->n, s->k,
                     s->d, want);
        goto fail;
    }
    sr_error inner;
    if ((st = sr_model_create(s, &m, &inner)) != SR_OK) {
        st = sr_fail(err, st, "%s: %s", nm, inner.message);
        goto fail;
    }
    if (m->nblocks != L->nblocks) {
        st = sr_fail(err, SR_ERR_FORMAT,
                     "%s: %zu parameter blocks, but a %s model %s bias has "
                     "%zu", nm, L->nblocks, kind_name(s->kind), with,
                     m->nblocks);
        goto fail;
    }
    for (size_t b = 0; b < L->nblocks; b++) {
        const file_block *fb = &L->blocks[b];
        const sr_param_block *mb = &m->blocks[b];
        if (strlen(mb->name) != fb->name_len ||
            memcmp(mb->name, fb->name, fb->name_len) != 0 ||
            mb->rows != fb->rows || mb->cols != fb->cols) {
            st = sr_fail(err, SR_ERR_FORMAT,
                         "%s: block %zu is \"%.*s\" (%zu x %zu), but a %s "
                         "model %s bias with these sizes has \"%s\" (%zu x "
                         "%zu) there", nm, b, (int)fb->name_len,
                         (const char *)fb->name, fb->rows, fb->cols,
                         kind_name(s->kind), with, mb->name, mb->rows,
                         mb->cols);
            goto fail;
        }
        get_f32s(m->params + mb->offset, buf + fb->at, fb->rows * fb->cols);
    }
    m->n_raw = L->n_raw;
    m->poly = L->poly;
    if (L->standardised) {
        m->mean = sr_alloc_array(s->n, sizeof *m->mean);
        m->inv_std = sr_alloc_array(s->n, sizeof *m->inv_std);
        if (!m->mean || !m->inv_std) {
            st = sr_fail(err, SR_ERR_NOMEM,
                         "%s: out of memory for %zu feature means", nm, s->n);
            goto fail;
        }
        get_f32s(m->mean, buf + L->mean_at, s->n);
        get_f32s(m->inv_std, buf + L->inv_std_at, s->n);
    }
    if (L->nnames) {
        m->class_names = sr_alloc_zeroed(L->nnames, sizeof *m->class_names);
        if (!m->class_names) {
            st = sr_fail(err, SR_ERR_NOMEM,
                         "%s: out of memory for %zu class names", nm, s->k);
            goto fail;
        }
        size_t pos = L->names_at;
        for (size_t c = 0; c < L->nnames; c++) {
            size_t len = get_u32(buf + pos);
            char *name = sr_alloc(len + 1);
            if (!name) {
                st = sr_fail(err, SR_ERR_NOMEM,
                             "%s: out of memory for class name %zu", nm, c);
                goto fail;
            }
            memcpy(name, buf + pos + 4, len);
            name[len] = '\0';
            m->class_names[c] = name;
            pos += 4 + len;
        }
    }
    if ((st = build_columns(buf, L, nm, m, err)) != SR_OK)
        goto fail;
    *out = m;
    return SR_OK;
fail:
    sr_model_free(m);
    return st;
}

sr_status sr_model_parse(const uint8_t *buf, size_t len, const char *name,
                         sr_model **out, sr_error *err)
{
    const char *nm = name ? name : "(buffer)";
    if (!out || (!buf && len))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_model_parse: NULL argument");
    size_t head = len < MAGIC_LEN ? len : MAGIC_LEN;
    if (len == 0 || memcmp(buf, MAGIC, head) != 0)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: not a softreg model file (%s)", nm,
                       len == 0 ? "the file is empty" : "wrong magic bytes");
    if (len >= MAGIC_LEN + 4) {
        uint32_t version = get_u32(buf + MAGIC_LEN);
        /* A version this large is a damaged field, not a future format. */
        if (version > 0xffff)
            return sr_fail(err, SR_ERR_FORMAT,
                           "%s: format version %lu at offset 8 is not "
                           "plausible: the file is corrupted", nm,
                           (unsigned long)version);
        if (version > SR_MODEL_FILE_VERSION)
            return sr_fail(err, SR_ERR_FORMAT,
                           "%s: format version %lu is newer than this "
                           "softreg supports (%u); upgrade softreg", nm,
                           (unsigned long)version, SR_MODEL_FILE_VERSION);
        if (version == 0)
            return sr_fail(err, SR_ERR_FORMAT,
                           "%s: format version 0 at offset 8 does not exist",
                           nm);
    }
    if (len < MIN_LEN)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: file is truncated: expected at least %d bytes, "
                       "found %zu", nm, MIN_LEN, len);

    reader r = {buf, len - 4, 0, nm, err, 0, get_u32(buf + MAGIC_LEN)};
    layout L;
    uint32_t stored = get_u32(buf + len - 4), computed = crc_of(buf, len - 4);
    if (stored != computed) {
        /* A file cut short or grown also fails the checksum; say so when the
         * header's own sizes disagree with the file's length. */
        sr_error sized;
        r.err = &sized;
        if (walk(&r, &L) != SR_OK && r.size_fault) {
            if (err)
                *err = sized;
            return sized.code;
        }
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: checksum mismatch: the file is corrupted (stored "
                       "CRC-32 %08lx at offset %zu, computed %08lx)", nm,
                       (unsigned long)stored, len - 4,
                       (unsigned long)computed);
    }
    sr_status st = walk(&r, &L);
    if (st != SR_OK)
        return st;
    return build(buf, &L, nm, out, err);
}

sr_status sr_model_load(const char *path, sr_model **out, sr_error *err)
{
    if (!path || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_model_load: NULL argument");
    uint8_t *buf = NULL;
    size_t len = 0;
    sr_status st = sr_read_file(path, &buf, &len, err);
    if (st != SR_OK)
        return st;
    st = sr_model_parse(buf, len, path, out, err);
    sr_dealloc(buf);
    return st;
}

/* ---- Writing ------------------------------------------------------------ */

typedef struct writer {
    uint8_t *p;
    size_t pos;
} writer;

static void put_u32(writer *w, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        w->p[w->pos++] = (uint8_t)(v >> (8 * i));
}

static void put_u64(writer *w, uint64_t v)
{
    put_u32(w, (uint32_t)v);
    put_u32(w, (uint32_t)(v >> 32));
}

static void put_bytes(writer *w, const void *src, size_t len)
{
    memcpy(w->p + w->pos, src, len);
    w->pos += len;
}

static void put_f32s(writer *w, const float *x, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], sizeof bits);
        put_u32(w, bits);
    }
}

/* Refuses a model the loader would refuse, and sizes the file. */
static sr_status file_size(const sr_model *m, const char *path, size_t *size,
                           sr_error *err)
{
    size_t mapped, total = HEADER_LEN, bytes;
    if ((unsigned)m->kind > SR_MODEL_LOGISTIC)
        return sr_fail(err, SR_ERR_INVALID_ARG, "%s: unknown model kind %d",
                       path, (int)m->kind);
    if (m->poly == 0 || m->poly > MAX_POLY ||
        sr_mul_overflows(m->n_raw, m->poly, &mapped) || mapped != m->n)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "%s: inconsistent feature map: %zu features, %zu raw "
                       "features, degree %u (1..%d)", path, m->n, m->n_raw,
                       m->poly, MAX_POLY);
    if (!m->mean != !m->inv_std)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "%s: the model has feature means without inverse "
                       "standard deviations or the reverse", path);
    if (m->nblocks == 0 || m->nblocks > SR_MAX_BLOCKS)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "%s: the model has %zu parameter blocks", path,
                       m->nblocks);
    if (m->mean && (sr_mul_overflows(m->n, 8, &bytes) ||
                    add_overflows(&total, bytes)))
        goto too_big;
    total += 8;
    for (size_t c = 0; m->class_names && c < sr_model_class_count(m); c++) {
        size_t len = strlen(m->class_names[c]);
        if (len == 0 || len > MAX_CLASS_NAME)
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "%s: class name %zu is %zu bytes long, expected 1 "
                           "to %d", path, c, len, MAX_CLASS_NAME);
        if (add_overflows(&total, 4 + len))
            goto too_big;
    }
    total += 4;
    /* version 2's column names */
    if (add_overflows(&total, 8 + 4 + 8) ||
        (m->label_name && add_overflows(&total, strlen(m->label_name))))
        goto too_big;
    if (add_overflows(&total, 4 + 8) ||
        (m->train_options && add_overflows(&total, strlen(m->train_options))))
        goto too_big;
    if (m->train_options && strlen(m->train_options) > MAX_COLUMN_NAME)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "%s: the training options are longer than %d bytes",
                       path, MAX_COLUMN_NAME);
    if (m->label_name && strlen(m->label_name) > MAX_COLUMN_NAME)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "%s: the label column's name is longer than %d bytes",
                       path, MAX_COLUMN_NAME);
    for (size_t j = 0; m->feature_names && j < m->n_raw; j++) {
        size_t len = strlen(m->feature_names[j]);
        if (len > MAX_COLUMN_NAME)
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "%s: feature name %zu is longer than %d bytes",
                           path, j, MAX_COLUMN_NAME);
        if (add_overflows(&total, 4 + len))
            goto too_big;
    }
    for (size_t b = 0; b < m->nblocks; b++) {
        const sr_param_block *blk = &m->blocks[b];
        size_t count;
        if (sr_mul_overflows(blk->rows, blk->cols, &count) ||
            sr_mul_overflows(count, 4, &bytes) ||
            add_overflows(&total, 4 + strlen(blk->name) + 16) ||
            add_overflows(&total, bytes))
            goto too_big;
    }
    if (add_overflows(&total, 4))
        goto too_big;
    *size = total;
    return SR_OK;
too_big:
    return sr_fail(err, SR_ERR_TOO_BIG, "%s: the model is too big to save",
                   path);
}

sr_status sr_model_serialize(const sr_model *model, const char *path,
                             uint8_t **data, size_t *nbytes, sr_error *err)
{
    size_t size = 0;
    sr_status st = file_size(model, path, &size, err);
    if (st != SR_OK)
        return st;
    writer w = {sr_alloc(size), 0};
    if (!w.p)
        return sr_fail(err, SR_ERR_NOMEM,
                       "%s: out of memory for a %zu-byte model file", path,
                       size);
    put_bytes(&w, MAGIC, MAGIC_LEN);
    put_u32(&w, SR_MODEL_FILE_VERSION);
    put_u32(&w, (uint32_t)model->kind);
    put_u64(&w, model->n);
    put_u64(&w, model->k);
    put_u64(&w, model->d);
    put_u32(&w, model->bias ? 1 : 0);
    put_u64(&w, model->n_raw);
    put_u32(&w, model->poly);
    put_u32(&w, model->mean ? 1 : 0);
    if (model->mean) {
        put_f32s(&w, model->mean, model->n);
        put_f32s(&w, model->inv_std, model->n);
    }
    size_t nnames = model->class_names ? sr_model_class_count(model) : 0;
    put_u64(&w, nnames);
    for (size_t c = 0; c < nnames; c++) {
        size_t len = strlen(model->class_names[c]);
        put_u32(&w, (uint32_t)len);
        put_bytes(&w, model->class_names[c], len);
    }
    put_u32(&w, (uint32_t)model->nblocks);
    for (size_t b = 0; b < model->nblocks; b++) {
        const sr_param_block *blk = &model->blocks[b];
        size_t len = strlen(blk->name);
        put_u32(&w, (uint32_t)len);
        put_bytes(&w, blk->name, len);
        put_u64(&w, blk->rows);
        put_u64(&w, blk->cols);
        put_f32s(&w, model->params + blk->offset, blk->rows * blk->cols);
    }
    size_t nfeatures = model->feature_names ? model->n_raw : 0;
    put_u64(&w, nfeatures);
    for (size_t j = 0; j < nfeatures; j++) {
        size_t len = strlen(model->feature_names[j]);
        put_u32(&w, (uint32_t)len);
        put_bytes(&w, model->feature_names[j], len);
    }
    size_t label_len = model->label_name ? strlen(model->label_name) : 0;
    put_u32(&w, (uint32_t)label_len);
    put_bytes(&w, model->label_name ? model->label_name : "", label_len);
    put_u64(&w, model->label_name && model->label_col != SIZE_MAX
                    ? (uint64_t)model->label_col
                    : NO_COLUMN);
    size_t olen = model->train_options ? strlen(model->train_options) : 0;
    put_u32(&w, (uint32_t)olen);
    put_bytes(&w, model->train_options ? model->train_options : "", olen);
    put_u32(&w, model->has_data_crc ? model->data_crc : 0);
    put_u32(&w, model->has_data_crc ? 1 : 0);
    put_u32(&w, crc_of(w.p, w.pos));
    *data = w.p;
    *nbytes = w.pos;
    return SR_OK;
}

sr_status sr_model_save(const sr_model *model, const char *path,
                        sr_error *err)
{
    if (!model || !path)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_model_save: NULL argument");
    uint8_t *data;
    size_t len;
    sr_status st = sr_model_serialize(model, path, &data, &len, err);
    if (st != SR_OK)
        return st;
    st = sr_write_file_atomic(path, data, len, err);
    sr_dealloc(data);
    return st;
}
