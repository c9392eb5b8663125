/* The .npy format: "\x93NUMPY", a major and a minor version byte, the header
 * length (2 bytes little-endian in 1.0, 4 bytes in 2.0 and 3.0), then the
 * header, a Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and a newline so that the data starts on a 64-byte
 * boundary, then the raw elements. */
#define _DEFAULT_SOURCE /* madvise beside POSIX */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "npy.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
/* Bytes of payload read, swapped, converted and checked at a time: a float32
 * array is read in pieces of this size straight into place, others through
 * a buffer of this size. */
#define NPY_CHUNK (1u << 20)

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* Reverses the bytes of each of `count` items of `size` bytes, in place. */
static void swap_in_place(uint8_t *p, size_t count, size_t size)
{
    for (size_t i = 0; i < count; i++, p += size)
        for (size_t a = 0, b = size - 1; a < b; a++, b--) {
            uint8_t t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

const char *sr_npy_dtype_name(sr_npy_dtype dtype)
{
    switch (dtype) {
    case SR_NPY_F4: return "float32";
    case SR_NPY_F8: return "float64";
    case SR_NPY_U1: return "uint8";
    case SR_NPY_I1: return "int8";
    case SR_NPY_U2: return "uint16";
    case SR_NPY_I2: return "int16";
    case SR_NPY_U4: return "uint32";
    case SR_NPY_I4: return "int32";
    case SR_NPY_U8: return "uint64";
    case SR_NPY_I8: return "int64";
    }
    return "unknown";
}

void sr_npy_array_free(sr_npy_array *arr)
{
    if (!arr)
        return;
    sr_dealloc(arr->data);
    memset(arr, 0, sizeof *arr);
}

/* ---- Header parsing ----------------------------------------------------- */

#define MAX_DIMS 32

typedef struct header {
    const uint8_t *p;
    size_t len;
    size_t pos;
    size_t base;      /* file offset of p[0], for messages */
    int allow_long;   /* Python 2 files may write shapes as (3L, 4L) */
    const char *name;
    sr_error *err;
} header;

typedef struct header_fields {
    char descr[16];
    int fortran_order;
    size_t ndim;
    size_t shape[MAX_DIMS];
} header_fields;

static void skip_space(header *h)
{
    while (h->pos < h->len &&
           (h->p[h->pos] == ' ' || h->p[h->pos] == '\t' ||
            h->p[h->pos] == '\n' || h->p[h->pos] == '\r'))
        h->pos++;
}

/* Describes the byte at the cursor for a message: 'x', byte 0x93 or the end. */
static const char *found(const header *h, char *buf, size_t cap)
{
    if (h->pos >= h->len)
        snprintf(buf, cap, "the end of the header");
    else if (h->p[h->pos] >= 0x20 && h->p[h->pos] < 0x7f)
        snprintf(buf, cap, "'%c'", h->p[h->pos]);
    else
        snprintf(buf, cap, "byte 0x%02x", h->p[h->pos]);
    return buf;
}

static sr_status syntax(header *h, const char *expected)
{
    char what[32];
    return sr_fail(h->err, SR_ERR_FORMAT,
                   "%s: bad .npy header at byte %zu: expected %s, found %s",
                   h->name, h->base + h->pos, expected,
                   found(h, what, sizeof what));
}

static int peek(const header *h, char c)
{
    return h->pos < h->len && h->p[h->pos] == (uint8_t)c;
}

static sr_status expect(header *h, char c, const char *expected)
{
    skip_space(h);
    if (!peek(h, c))
        return syntax(h, expected);
    h->pos++;
    return SR_OK;
}

/* A quoted string without escapes; the header never needs any. */
static sr_status parse_string(header *h, char *dst, size_t cap,
                              const char *expected)
{
    skip_space(h);
    if (!peek(h, '\'') && !peek(h, '"'))
        return syntax(h, expected);
    uint8_t quote = h->p[h->pos++];
    size_t n = 0;
    while (h->pos < h->len && h->p[h->pos] != quote) {
        uint8_t c = h->p[h->pos];
        if (c < 0x20 || c >= 0x7f || c == '\\')
            return syntax(h, "a plain ASCII character in a string");
        if (n + 1 >= cap)
            return sr_fail(h->err, SR_ERR_FORMAT,
                           "%s: bad .npy header at byte %zu: string is "
                           "longer than %zu characters",
                           h->name, h->base + h->pos, cap - 1);
        dst[n++] = (char)c;
        h->pos++;
    }
    if (h->pos >= h->len)
        return syntax(h, "the closing quote of a string");
    h->pos++;
    dst[n] = '\0';
    return SR_OK;
}

static int match_word(header *h, const char *word)
{
    size_t n = strlen(word);
    if (h->len - h->pos < n || memcmp(h->p + h->pos, word, n) != 0)
        return 0;
    /* "Truex" is a name, not True. */
    if (h->pos + n < h->len) {
        uint8_t c = h->p[h->pos + n];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '_')
            return 0;
    }
    h->pos += n;
    return 1;
}

static sr_status parse_bool(header *h, int *value)
{
    skip_space(h);
    if (match_word(h, "True"))
        *value = 1;
    else if (match_word(h, "False"))
        *value = 0;
    else
        return syntax(h, "True or False for 'fortran_order'");
    return SR_OK;
}

/* A non-negative decimal integer; digits are read by hand because the
 * header is not NUL-terminated and strtoull would accept a sign. */
static sr_status parse_dim(header *h, size_t *value)
{
    size_t start = h->pos, v = 0;
    if (!(h->pos < h->len && h->p[h->pos] >= '0' && h->p[h->pos] <= '9'))
        return syntax(h, "a dimension (a non-negative integer)");
    /* Python 3 refuses a leading zero in a literal such as 07. */
    if (h->p[h->pos] == '0' && h->pos + 1 < h->len &&
        h->p[h->pos + 1] >= '0' && h->p[h->pos + 1] <= '9')
        return syntax(h, "a dimension without leading zeros");
    while (h->pos < h->len && h->p[h->pos] >= '0' && h->p[h->pos] <= '9') {
        size_t d = (size_t)(h->p[h->pos] - '0');
        if (v > (SIZE_MAX - d) / 10)
            return sr_fail(h->err, SR_ERR_TOO_BIG,
                           "%s: .npy shape has a dimension at byte %zu that "
                           "does not fit in %zu bits",
                           h->name, h->base + start, sizeof(size_t) * 8);
        v = v * 10 + d;
        h->pos++;
    }
    if (h->allow_long && (peek(h, 'L') || peek(h, 'l')))
        h->pos++;
    *value = v;
    return SR_OK;
}

/* A Python tuple of integers: (), (5,), (3, 4) or (3, 4,). */
static sr_status parse_shape(header *h, header_fields *f)
{
    sr_status st = expect(h, '(', "'(' opening the shape tuple");
    if (st)
        return st;
    f->ndim = 0;
    skip_space(h);
    if (peek(h, ')')) {
        h->pos++;
        return SR_OK;
    }
    for (;;) {
        size_t dim = 0;
        skip_space(h);
        if ((st = parse_dim(h, &dim)))
            return st;
        if (f->ndim == MAX_DIMS)
            return sr_fail(h->err, SR_ERR_FORMAT,
                           "%s: .npy shape has more than %d dimensions",
                           h->name, MAX_DIMS);
        f->shape[f->ndim++] = dim;
        skip_space(h);
        if (peek(h, ')')) {
            if (f->ndim == 1)
                return syntax(h, "',' after the only dimension: (n,) is a "
                                 "tuple, (n) is not");
            h->pos++;
            return SR_OK;
        }
        if ((st = expect(h, ',', "',' or ')' in the shape tuple")))
            return st;
        skip_space(h);
        if (peek(h, ')')) {
            h->pos++;
            return SR_OK;
        }
    }
}

enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4 };

static sr_status parse_header(header *h, header_fields *f)
{
    sr_status st = expect(h, '{', "'{' opening the header dict");
    if (st)
        return st;
    unsigned seen = 0;
    for (;;) {
        skip_space(h);
        if (peek(h, '}')) {
            h->pos++;
            break;
        }
        char key[32];
        size_t key_pos = h->base + h->pos;
        if ((st = parse_string(h, key, sizeof key, "a quoted key or '}'")))
            return st;
        unsigned bit = strcmp(key, "descr") == 0           ? KEY_DESCR
                       : strcmp(key, "fortran_order") == 0 ? KEY_FORTRAN
                       : strcmp(key, "shape") == 0         ? KEY_SHAPE
                                                           : 0;
        if (!bit)
            return sr_fail(h->err, SR_ERR_FORMAT,
                           "%s: bad .npy header at byte %zu: unknown key "
                           "'%s' (expected 'descr', 'fortran_order' and "
                           "'shape')",
                           h->name, key_pos, key);
        if (seen & bit)
            return sr_fail(h->err, SR_ERR_FORMAT,
                           "%s: bad .npy header at byte %zu: key '%s' "
                           "appears twice",
                           h->name, key_pos, key);
        seen |= bit;
        if ((st = expect(h, ':', "':' after a key")))
            return st;
        skip_space(h);
        if (bit == KEY_DESCR) {
            if (peek(h, '['))
                return sr_fail(h->err, SR_ERR_FORMAT,
                               "%s: structured dtypes (records with named "
                               "fields) are not supported; save a plain "
                               "numeric array",
                               h->name);
            st = parse_string(h, f->descr, sizeof f->descr,
                              "a quoted dtype such as '<f4' for 'descr'");
        } else if (bit == KEY_FORTRAN) {
            st = parse_bool(h, &f->fortran_order);
        } else {
            st = parse_shape(h, f);
        }
        if (st)
            return st;
        skip_space(h);
        if (peek(h, '}')) {
            h->pos++;
            break;
        }
        if ((st = expect(h, ',', "',' or '}' after a value")))
            return st;
    }
    skip_space(h);
    if (h->pos != h->len)
        return syntax(h, "only spaces and a newline after the header dict");
    if (seen != (KEY_DESCR | KEY_FORTRAN | KEY_SHAPE))
        return sr_fail(h->err, SR_ERR_FORMAT,
                       "%s: .npy header lacks the key '%s'", h->name,
                       !(seen & KEY_DESCR)     ? "descr"
                       : !(seen & KEY_FORTRAN) ? "fortran_order"
                                               : "shape");
    return SR_OK;
}

/* Maps a descr such as '<f4' or '|u1' to a dtype and the file's byte order. */
static sr_status parse_descr(const char *descr, const char *name,
                             sr_npy_dtype *dtype, size_t *size,
                             int *little_endian, sr_error *err)
{
    static const struct {
        char kind;
        size_t size;
        sr_npy_dtype dtype;
    } table[] = {
        {'f', 4, SR_NPY_F4}, {'f', 8, SR_NPY_F8}, {'u', 1, SR_NPY_U1},
        {'i', 1, SR_NPY_I1}, {'u', 2, SR_NPY_U2}, {'i', 2, SR_NPY_I2},
        {'u', 4, SR_NPY_U4}, {'i', 4, SR_NPY_I4}, {'u', 8, SR_NPY_U8},
        {'i', 8, SR_NPY_I8},
    };
    char order = descr[0];
    size_t n = strlen(descr);
    if ((order == '<' || order == '>' || order == '|') && n == 3 &&
        descr[2] >= '1' && descr[2] <= '8') {
        size_t sz = (size_t)(descr[2] - '0');
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
            if (table[i].kind != descr[1] || table[i].size != sz)
                continue;
            if (order == '|' && sz != 1)
                break;
            *dtype = table[i].dtype;
            *size = sz;
            *little_endian = order != '>';
            return SR_OK;
        }
    }
    return sr_fail(err, SR_ERR_FORMAT,
                   "%s: unsupported .npy dtype '%s'; supported are float32, "
                   "float64 and 8- to 64-bit integers ('<f4', '<f8', '|u1', "
                   "'|i1', '<u2', '<i2', '<u4', '<i4', '<u8', '<i8', either "
                   "byte order)",
                   name, descr);
}

sr_status sr_npy_parse_header(const uint8_t *buf, size_t len, const char *name,
                              sr_npy_header *out, sr_error *err)
{
    if (!name)
        name = "<npy buffer>";
    if ((!buf && len) || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG, "%s: sr_npy_parse_header: "
                       "NULL argument", name);
    size_t magic_have = len < NPY_MAGIC_LEN ? len : NPY_MAGIC_LEN;
    if (magic_have < NPY_MAGIC_LEN || memcmp(buf, NPY_MAGIC, magic_have) != 0)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: not a .npy file (it does not start with the "
                       "magic bytes \\x93NUMPY)", name);
    if (len < NPY_MAGIC_LEN + 2)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: .npy file ends after %zu bytes, before its "
                       "version", name, len);
    unsigned major = buf[6], minor = buf[7];
    size_t len_bytes;
    if (major == 1 && minor == 0)
        len_bytes = 2;
    else if ((major == 2 || major == 3) && minor == 0)
        len_bytes = 4;
    else
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: unsupported .npy format version %u.%u at byte 6 "
                       "(supported: 1.0, 2.0, 3.0)", name, major, minor);
    size_t header_start = NPY_MAGIC_LEN + 2 + len_bytes;
    if (len < header_start)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: .npy file ends after %zu bytes, inside the "
                       "header length at byte 8", name, len);
    size_t header_len = (size_t)buf[8] | (size_t)buf[9] << 8;
    if (len_bytes == 4)
        header_len |= (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    if (header_len > len - header_start)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: .npy header length %zu (at byte 8) goes beyond "
                       "the end of the file (%zu bytes)",
                       name, header_len, len);

    header h = {buf + header_start, header_len, 0, header_start, major < 3,
                name, err};
    header_fields f;
    memset(&f, 0, sizeof f);
    sr_status st = parse_header(&h, &f);
    if (st)
        return st;

    sr_npy_dtype dtype = SR_NPY_F4;
    size_t item_size = 0;
    int file_le = 1;
    if ((st = parse_descr(f.descr, name, &dtype, &item_size, &file_le, err)))
        return st;
    if (f.fortran_order)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: Fortran order is not supported; save with "
                       "np.ascontiguousarray", name);
    if (f.ndim == 0)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: a 0-d .npy array (shape ()) is not supported; "
                       "only 1-D and 2-D arrays are", name);
    if (f.ndim > 2)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: a %zu-D .npy array is not supported; only 1-D "
                       "and 2-D arrays are", name, f.ndim);
    size_t rows = f.shape[0], cols = f.ndim == 2 ? f.shape[1] : 1;
    size_t count, bytes;
    if (sr_mul_overflows(rows, cols, &count) ||
        sr_mul_overflows(count, item_size, &bytes))
        return sr_fail(err, SR_ERR_TOO_BIG,
                       "%s: .npy shape (%zu, %zu) of %s is too large to hold",
                       name, rows, cols, sr_npy_dtype_name(dtype));
    out->dtype = dtype;
    out->item_size = item_size;
    out->little_endian = file_le;
    out->ndim = f.ndim;
    out->shape[0] = rows;
    out->shape[1] = cols;
    out->count = count;
    out->bytes = bytes;
    out->data_start = header_start + header_len;
    return SR_OK;
}

/* The payload is data_len bytes where the header announces h->bytes. */
static sr_status bad_length(const sr_npy_header *h, const char *name,
                            size_t data_len, sr_error *err)
{
    char shape[64];
    if (h->ndim == 2)
        snprintf(shape, sizeof shape, "(%zu, %zu)", h->shape[0], h->shape[1]);
    else
        snprintf(shape, sizeof shape, "(%zu,)", h->shape[0]);
    return sr_fail(err, SR_ERR_FORMAT,
                   "%s: .npy data from byte %zu is %zu bytes, but shape %s "
                   "of %s needs %zu bytes",
                   name, h->data_start, data_len, shape,
                   sr_npy_dtype_name(h->dtype), h->bytes);
}

/* The payload's bytes in the host's order. */
static void to_host_order(const sr_npy_header *h, void *data, size_t count)
{
    if (h->item_size > 1 && h->little_endian != host_is_little_endian())
        swap_in_place(data, count, h->item_size);
}

static void fill_array(const sr_npy_header *h, void *data, sr_npy_array *out)
{
    out->dtype = h->dtype;
    out->item_size = h->item_size;
    out->ndim = h->ndim;
    out->shape[0] = h->shape[0];
    out->shape[1] = h->shape[1];
    out->count = h->count;
    out->data = data;
}

sr_status sr_npy_parse(const uint8_t *buf, size_t len, const char *name,
                       sr_npy_array *out, sr_error *err)
{
    if (!name)
        name = "<npy buffer>";
    if ((!buf && len) || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG, "%s: sr_npy_parse: NULL "
                       "argument", name);
    sr_npy_header h;
    sr_status st = sr_npy_parse_header(buf, len, name, &h, err);
    if (st)
        return st;
    if (len - h.data_start != h.bytes)
        return bad_length(&h, name, len - h.data_start, err);
    void *data = sr_alloc(h.bytes);
    if (!data)
        return sr_fail(err, SR_ERR_NOMEM,
                       "%s: out of memory for %zu bytes of .npy data", name,
                       h.bytes);
    memcpy(data, buf + h.data_start, h.bytes);
    to_host_order(&h, data, h.count);
    fill_array(&h, data, out);
    return SR_OK;
}

/* ---- Reading a file -------------------------------------------------------- */

/* The preamble and header of f's file into a new buffer *buf of *len
 * bytes: all of the header, or the whole file if it ends sooner. The
 * preamble is read first (8 bytes, then the 2 or 4 of the header length
 * when the magic and version are right), so that nothing of the payload
 * is taken; the header is read into a buffer that grows as its bytes
 * arrive, so that a length beyond the file allocates no more than the
 * file holds. */
static sr_status read_header_bytes(sr_source *src, uint8_t **buf, size_t *len,
                                   sr_error *err)
{
    uint8_t pre[12];
    size_t have = 0, got = 0;
    sr_status st = sr_source_read(src, pre, 8, &have, err);
    if (st)
        return st;
    int ok = have == 8 && memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) == 0 &&
             pre[7] == 0;
    int v1 = ok && pre[6] == 1, v23 = ok && (pre[6] == 2 || pre[6] == 3);
    if (v1 || v23) {
        if ((st = sr_source_read(src, pre + 8, v1 ? 2 : 4, &got, err)))
            return st;
        have += got;
    }
    /* A file that ends in its preamble is held whole. */
    size_t end = have;
    if (v1 && have == 10)
        end = 10 + ((size_t)pre[8] | (size_t)pre[9] << 8);
    else if (v23 && have == 12)
        end = 12 + ((size_t)pre[8] | (size_t)pre[9] << 8 |
                    (size_t)pre[10] << 16 | (size_t)pre[11] << 24);
    size_t cap = end < 4096 ? end : 4096;
    uint8_t *b = sr_alloc(cap);
    if (!b)
        return sr_fail(err, SR_ERR_NOMEM, "%s: out of memory for the .npy "
                       "header", src->path);
    memcpy(b, pre, have);
    while (have < end) {
        if (have == cap) {
            size_t ncap = cap < end / 2 ? cap * 2 : end;
            uint8_t *nb = sr_alloc(ncap);
            if (!nb) {
                sr_dealloc(b);
                return sr_fail(err, SR_ERR_NOMEM, "%s: out of memory for "
                               "the .npy header", src->path);
            }
            memcpy(nb, b, have);
            sr_dealloc(b);
            b = nb;
            cap = ncap;
        }
        if ((st = sr_source_read(src, b + have, cap - have, &got, err))) {
            sr_dealloc(b);
            return st;
        }
        have += got;
        if (have < cap)
            break; /* the end of the file */
    }
    *buf = b;
    *len = have;
    return SR_OK;
}

sr_status sr_npy_open(const char *path, sr_npy_file *f, sr_error *err)
{
    if (!path || !f)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_npy_open: NULL argument");
    sr_npy_file g;
    memset(&g, 0, sizeof g);
    uint8_t *buf = NULL;
    size_t len = 0;
    sr_status st = sr_source_open(path, &g.src, err);
    if (st)
        return st;
    if ((st = read_header_bytes(&g.src, &buf, &len, err)) ||
        (st = sr_npy_parse_header(buf, len, path, &g.h, err)))
        goto fail;
    /* A payload that cannot be there is reported before anything is
     * allocated for it: a raw file's size says exactly what follows the
     * header; what a gzip file cannot hold is counted by inflating it. */
    size_t bound = sr_source_bound(&g.src);
    int exact = g.src.regular && !g.src.z;
    if (g.h.bytes > bound || (exact && g.h.bytes != bound)) {
        size_t rest = bound;
        if (!exact && (st = sr_source_skip_rest(&g.src, &rest, err)))
            goto fail;
        st = bad_length(&g.h, path, rest, err);
        goto fail;
    }
    sr_dealloc(buf);
    *f = g;
    return SR_OK;
fail:
    sr_dealloc(buf);
    sr_source_close(&g.src);
    return st;
}

void sr_npy_close(sr_npy_file *f)
{
    if (f)
        sr_source_close(&f->src);
}

/* Reads the next `want` payload bytes into dst; fewer is a short file. */
static sr_status read_payload(sr_npy_file *f, void *dst, size_t want,
                              sr_error *err)
{
    size_t got = 0;
    sr_status st = sr_source_read(&f->src, dst, want, &got, err);
    if (st)
        return st;
    if (got < want)
        return bad_length(&f->h, f->src.path,
                          f->src.offset - f->h.data_start, err);
    return SR_OK;
}

/* After the payload, the file must end. */
static sr_status read_end(sr_npy_file *f, sr_error *err)
{
    size_t rest = 0;
    sr_status st = sr_source_skip_rest(&f->src, &rest, err);
    if (st)
        return st;
    if (rest)
        return bad_length(&f->h, f->src.path, f->h.bytes + rest, err);
    return SR_OK;
}

sr_status sr_npy_read(const char *path, sr_npy_array *out, sr_error *err)
{
    if (!path || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_npy_read: NULL argument");
    sr_npy_file f;
    sr_status st = sr_npy_open(path, &f, err);
    if (st)
        return st;
    void *data = sr_alloc(f.h.bytes);
    if (!data) {
        st = sr_fail(err, SR_ERR_NOMEM,
                     "%s: out of memory for %zu bytes of .npy data", path,
                     f.h.bytes);
    } else if (!(st = read_payload(&f, data, f.h.bytes, err)) &&
               !(st = read_end(&f, err))) {
        to_host_order(&f.h, data, f.h.count);
        fill_array(&f.h, data, out);
        data = NULL;
    }
    sr_dealloc(data);
    sr_npy_close(&f);
    return st;
}

/* ---- Conversions ------------------------------------------------------ */

/* Element i of an array of `ndim` dimensions, `cols` columns. */
static sr_status bad_element(size_t ndim, size_t cols, const char *name,
                             size_t i, const char *what, sr_error *err)
{
    if (ndim == 2)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: element %zu (row %zu, column %zu) %s", name, i,
                       i / cols, i % cols, what);
    return sr_fail(err, SR_ERR_FORMAT, "%s: element %zu %s", name, i, what);
}

#define CONVERT(SRC_T, DST_T)                                                 \
    do {                                                                      \
        const SRC_T *s_ = src;                                                \
        for (size_t i = 0; i < count; i++)                                    \
            out[i] = (DST_T)s_[i];                                            \
    } while (0)

/* src[0 .. count) of `dtype`, in the host's order, as float32. */
static void convert_f32(sr_npy_dtype dtype, const void *src, size_t count,
                        float *out)
{
    switch (dtype) {
    case SR_NPY_F4: memcpy(out, src, count * sizeof(float)); break;
    case SR_NPY_F8: CONVERT(double, float); break;
    case SR_NPY_U1: CONVERT(uint8_t, float); break;
    case SR_NPY_I1: CONVERT(int8_t, float); break;
    case SR_NPY_U2: CONVERT(uint16_t, float); break;
    case SR_NPY_I2: CONVERT(int16_t, float); break;
    case SR_NPY_U4: CONVERT(uint32_t, float); break;
    case SR_NPY_I4: CONVERT(int32_t, float); break;
    case SR_NPY_U8: CONVERT(uint64_t, float); break;
    case SR_NPY_I8: CONVERT(int64_t, float); break;
    }
}

/* A double beyond the float range has no float32 value (converting it is
 * undefined in C); NaN and infinities pass through. Checks src[0 .. count)
 * whose first element is element `first` of the array. */
static sr_status check_f32_range(const double *src, size_t count, size_t first,
                                 size_t ndim, size_t cols, const char *name,
                                 sr_error *err)
{
    for (size_t i = 0; i < count; i++)
        if (isfinite(src[i]) && fabs(src[i]) > FLT_MAX) {
            char what[96];
            snprintf(what, sizeof what, "is %g, beyond the float32 range",
                     src[i]);
            return bad_element(ndim, cols, name, first + i, what, err);
        }
    return SR_OK;
}

sr_status sr_npy_to_f32(const sr_npy_array *arr, const char *name, float *out,
                        sr_error *err)
{
    return sr_npy_to_f32_from(arr, 0, name, out, err);
}

sr_status sr_npy_to_f32_from(const sr_npy_array *arr, size_t first,
                             const char *name, float *out, sr_error *err)
{
    if (!name)
        name = "<npy array>";
    if (!arr || (!out && arr->count))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "%s: sr_npy_to_f32: NULL argument", name);
    if (arr->count == 0)
        return SR_OK;
    if (arr->dtype == SR_NPY_F8) {
        sr_status st = check_f32_range(arr->data, arr->count, first,
                                       arr->ndim, arr->shape[1], name, err);
        if (st)
            return st;
    }
    convert_f32(arr->dtype, arr->data, arr->count, out);
    return SR_OK;
}

/* out[0 .. count), elements first.. of the array, must be finite. */
/* Blocks of floats whose exponent bits are all ones (infinity or NaN)
 * are counted without a branch, so that the loop vectorises; the first
 * such element is then looked for in the first block holding one. */
#define FINITE_BLOCK 4096

static size_t nonfinite_in(const float *x, size_t count)
{
    size_t bad = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t u;
        memcpy(&u, x + i, sizeof u);
        bad += (u & 0x7f800000u) == 0x7f800000u;
    }
    return bad;
}

sr_status sr_npy_check_finite(const float *out, size_t count, size_t first,
                              const sr_npy_header *h, const char *name,
                              sr_error *err)
{
    long long blocks = (long long)((count + FINITE_BLOCK - 1) / FINITE_BLOCK);
    long long first_bad = blocks;
#pragma omp parallel for schedule(static) reduction(min : first_bad)
    for (long long q = 0; q < blocks; q++) {
        size_t at = (size_t)q * FINITE_BLOCK;
        size_t len = count - at < FINITE_BLOCK ? count - at : FINITE_BLOCK;
        if (q < first_bad && nonfinite_in(out + at, len))
            first_bad = q;
    }
    for (size_t i = (size_t)first_bad * FINITE_BLOCK; i < count; i++)
        if (!(out[i] - out[i] == 0.0f))
            return bad_element(h->ndim, h->shape[1], name, first + i,
                               "is not finite", err);
    return SR_OK;
}

sr_status sr_npy_map_f32(sr_npy_file *f, sr_npy_map *map, sr_error *err)
{
    if (!f || !map)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_npy_map_f32: NULL argument");
    memset(map, 0, sizeof *map);
    const sr_npy_header *h = &f->h;
    if (!f->src.regular || f->src.z || h->dtype != SR_NPY_F4 || !h->count ||
        h->little_endian != host_is_little_endian() ||
        h->data_start % sizeof(float) != 0 || f->src.offset != h->data_start)
        return SR_OK;
    size_t len = h->data_start + h->bytes;
    /* Private and writable, so that the array behaves as memory of its
     * own (a write copies its page); read faults map the page cache's
     * pages without copying or zeroing them. */
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE,
                   f->src.fd, 0);
    if (p == MAP_FAILED)
        return SR_OK; /* read it instead */
#ifdef MADV_POPULATE_READ
    /* The page tables filled in one call rather than a fault at a time
     * (Linux 5.14 on; a hint: older kernels fault the pages in). */
    madvise(p, len, MADV_POPULATE_READ);
#endif
    const float *x = (const float *)((const uint8_t *)p + h->data_start);
    sr_status st = sr_npy_check_finite(x, h->count, 0, h, f->src.path, err);
    if (st != SR_OK) {
        munmap(p, len);
        return st;
    }
    map->base = p;
    map->len = len;
    map->data = (float *)((uint8_t *)p + h->data_start);
    return SR_OK;
}

sr_status sr_npy_read_f32(sr_npy_file *f, float *out, int finite,
                          sr_error *err)
{
    if (!f || (!out && f->h.count))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_npy_read_f32: NULL argument");
    const sr_npy_header *h = &f->h;
    const char *name = f->src.path;
    size_t item = h->item_size, count = h->count, step = NPY_CHUNK / item;
    /* float32 goes straight into place; other dtypes through buf. */
    uint8_t *buf = NULL;
    if (h->dtype != SR_NPY_F4 && count &&
        !(buf = sr_alloc(step < count ? step * item : count * item)))
        return sr_fail(err, SR_ERR_NOMEM, "%s: out of memory", name);
    sr_status st = SR_OK;
    for (size_t done = 0; done < count && st == SR_OK; done += step) {
        size_t c = count - done < step ? count - done : step;
        void *raw = buf ? (void *)buf : (void *)(out + done);
        if ((st = read_payload(f, raw, c * item, err)))
            break;
        to_host_order(h, raw, c);
        if (h->dtype == SR_NPY_F8 &&
            (st = check_f32_range(raw, c, done, h->ndim, h->shape[1], name,
                                  err)))
            break;
        if (buf)
            convert_f32(h->dtype, raw, c, out + done);
        if (finite)
            st = sr_npy_check_finite(out + done, c, done, h, name, err);
    }
    sr_dealloc(buf);
    if (st == SR_OK)
        st = read_end(f, err);
    return st;
}

/* Index of the first element with no int64 value, or arr->count. */
static size_t first_non_i64(const sr_npy_array *arr, double *value)
{
    for (size_t i = 0; i < arr->count; i++) {
        double v;
        if (arr->dtype == SR_NPY_F4)
            v = ((const float *)arr->data)[i];
        else if (arr->dtype == SR_NPY_F8)
            v = ((const double *)arr->data)[i];
        else if (arr->dtype == SR_NPY_U8) {
            uint64_t u = ((const uint64_t *)arr->data)[i];
            if (u > INT64_MAX) {
                *value = (double)u;
                return i;
            }
            continue;
        } else
            return arr->count;
        /* -2^63 is exact in a double; 2^63 is the first value too large. */
        if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0) ||
            v != trunc(v)) {
            *value = v;
            return i;
        }
    }
    return arr->count;
}

sr_status sr_npy_to_i64(const sr_npy_array *arr, const char *name,
                        int64_t *out, sr_error *err)
{
    if (!name)
        name = "<npy array>";
    if (!arr || (!out && arr->count))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "%s: sr_npy_to_i64: NULL argument", name);
    if (arr->count == 0)
        return SR_OK;
    double v = 0.0;
    size_t bad = first_non_i64(arr, &v);
    if (bad < arr->count) {
        char what[96];
        if (arr->dtype == SR_NPY_U8)
            snprintf(what, sizeof what, "is %llu, beyond the int64 range",
                     (unsigned long long)((const uint64_t *)arr->data)[bad]);
        else
            snprintf(what, sizeof what, "is %.17g, not a whole number in "
                     "the int64 range", v);
        return bad_element(arr->ndim, arr->shape[1], name, bad, what, err);
    }
    const void *src = arr->data;
    size_t count = arr->count;
    switch (arr->dtype) {
    case SR_NPY_F4: CONVERT(float, int64_t); break;
    case SR_NPY_F8: CONVERT(double, int64_t); break;
    case SR_NPY_U1: CONVERT(uint8_t, int64_t); break;
    case SR_NPY_I1: CONVERT(int8_t, int64_t); break;
    case SR_NPY_U2: CONVERT(uint16_t, int64_t); break;
    case SR_NPY_I2: CONVERT(int16_t, int64_t); break;
    case SR_NPY_U4: CONVERT(uint32_t, int64_t); break;
    case SR_NPY_I4: CONVERT(int32_t, int64_t); break;
    case SR_NPY_U8: CONVERT(uint64_t, int64_t); break;
    case SR_NPY_I8: memcpy(out, arr->data, arr->count * sizeof(int64_t)); break;
    }
    return SR_OK;
}
