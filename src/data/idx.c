/* The IDX format of MNIST: a big-endian header (magic, then one uint32 per
 * dimension) followed by the bytes of the array, raw or gzip-compressed. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "idx.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static const char *magic_kind(uint32_t magic)
{
    return magic == SR_IDX_MAGIC_IMAGES ? "IDX images" : "IDX labels";
}

/* The checks both kinds of file share: not empty, a whole header, the right
 * magic. `header` is the header's size in bytes. */
static sr_status check_header(const uint8_t *buf, size_t len, const char *name,
                              uint32_t want, size_t header, sr_error *err)
{
    uint32_t other = want == SR_IDX_MAGIC_IMAGES ? SR_IDX_MAGIC_LABELS
                                                 : SR_IDX_MAGIC_IMAGES;
    if (len == 0)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: file is empty, expected an %s file", name,
                       magic_kind(want));
    /* With 4 bytes the magic can be judged, which says more than "short". */
    if (len >= 4) {
        uint32_t magic = be32(buf);
        if (magic == other)
            return sr_fail(err, SR_ERR_FORMAT,
                           "%s: wrong magic number 0x%08lx, expected 0x%08lx "
                           "(%s); this is an %s file",
                           name, (unsigned long)magic, (unsigned long)want,
                           magic_kind(want), magic_kind(other));
        if (magic != want)
            return sr_fail(err, SR_ERR_FORMAT,
                           "%s: wrong magic number 0x%08lx, expected 0x%08lx "
                           "(%s)",
                           name, (unsigned long)magic, (unsigned long)want,
                           magic_kind(want));
    }
    if (len < header)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: truncated header: the file has %zu bytes, an %s "
                       "header needs %zu",
                       name, len, magic_kind(want), header);
    return SR_OK;
}

/* The file must hold exactly `header + body` bytes. */
static sr_status check_length(size_t len, const char *name, size_t header,
                              size_t body, const char *what, sr_error *err)
{
    size_t expected = header + body;
    if (len < expected)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: truncated body: the header announces %s, so "
                       "expected %zu bytes, found %zu",
                       name, what, expected, len);
    if (len > expected)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: %zu trailing bytes after the data: the header "
                       "announces %s, so expected %zu bytes, found %zu",
                       name, len - expected, what, expected, len);
    return SR_OK;
}

sr_status sr_idx_check_images(const uint8_t *buf, size_t len, const char *name,
                              size_t *count, size_t *rows, size_t *cols,
                              sr_error *err)
{
    if (!buf && len)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_idx_check_images: NULL buffer");
    if (!name)
        name = "(buffer)";
    sr_status st = check_header(buf, len, name, SR_IDX_MAGIC_IMAGES,
                                SR_IDX_IMAGES_HEADER, err);
    if (st != SR_OK)
        return st;
    size_t m = be32(buf + 4), r = be32(buf + 8), c = be32(buf + 12);
    if (m == 0 || r == 0 || c == 0)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: zero dimension in the header: %zu images of "
                       "%zu x %zu pixels",
                       name, m, r, c);
    size_t pixels, body;
    if (sr_mul_overflows(m, r, &pixels) || sr_mul_overflows(pixels, c, &body) ||
        body > SIZE_MAX - SR_IDX_IMAGES_HEADER)
        return sr_fail(err, SR_ERR_TOO_BIG,
                       "%s: dimensions %zu x %zu x %zu overflow size_t",
                       name, m, r, c);
    char what[96];
    snprintf(what, sizeof what, "%zu images of %zu x %zu pixels", m, r, c);
    st = check_length(len, name, SR_IDX_IMAGES_HEADER, body, what, err);
    if (st != SR_OK)
        return st;
    if (count)
        *count = m;
    if (rows)
        *rows = r;
    if (cols)
        *cols = c;
    return SR_OK;
}

sr_status sr_idx_check_labels(const uint8_t *buf, size_t len, const char *name,
                              size_t *count, sr_error *err)
{
    if (!buf && len)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_idx_check_labels: NULL buffer");
    if (!name)
        name = "(buffer)";
    sr_status st = check_header(buf, len, name, SR_IDX_MAGIC_LABELS,
                                SR_IDX_LABELS_HEADER, err);
    if (st != SR_OK)
        return st;
    size_t m = be32(buf + 4);
    if (m == 0)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: the header announces 0 labels; a label file must "
                       "not be empty",
                       name);
    char what[64];
    snprintf(what, sizeof what, "%zu labels", m);
    st = check_length(len, name, SR_IDX_LABELS_HEADER, m, what, err);
    if (st != SR_OK)
        return st;
    if (count)
        *count = m;
    return SR_OK;
}

sr_status sr_idx_parse_images(const uint8_t *buf, size_t len, const char *name,
                              uint8_t **pixels, size_t *count, size_t *rows,
                              size_t *cols, sr_error *err)
{
    if (!pixels)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_idx_parse_images: NULL argument");
    size_t m = 0, r = 0, c = 0;
    sr_status st = sr_idx_check_images(buf, len, name, &m, &r, &c, err);
    if (st != SR_OK)
        return st;
    size_t body = len - SR_IDX_IMAGES_HEADER;
    uint8_t *p = sr_alloc(body);
    if (!p)
        return sr_fail(err, SR_ERR_NOMEM, "%s: out of memory for %zu pixels",
                       name ? name : "(buffer)", body);
    memcpy(p, buf + SR_IDX_IMAGES_HEADER, body);
    *pixels = p;
    if (count)
        *count = m;
    if (rows)
        *rows = r;
    if (cols)
        *cols = c;
    return SR_OK;
}

sr_status sr_idx_parse_labels(const uint8_t *buf, size_t len, const char *name,
                              int32_t **labels, size_t *count, size_t *classes,
                              sr_error *err)
{
    if (!labels)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_idx_parse_labels: NULL argument");
    size_t m = 0;
    sr_status st = sr_idx_check_labels(buf, len, name, &m, err);
    if (st != SR_OK)
        return st;
    int32_t *y = sr_alloc_array(m, sizeof *y);
    if (!y)
        return sr_fail(err, SR_ERR_NOMEM, "%s: out of memory for %zu labels",
                       name ? name : "(buffer)", m);
    const uint8_t *src = buf + SR_IDX_LABELS_HEADER;
    uint8_t top = 0;
    for (size_t i = 0; i < m; i++) {
        y[i] = src[i];
        top = src[i] > top ? src[i] : top;
    }
    *labels = y;
    if (count)
        *count = m;
    if (classes)
        *classes = (size_t)top + 1;
    return SR_OK;
}

/* An images file and a labels file that go together: as many labels as
 * images, and images whose pixel columns fit in 32 bits (in memory:
 * sr_dataset_set_pixels). */
static sr_status check_pair(const char *images_path, const char *labels_path,
                            size_t m, size_t m_labels, size_t rows,
                            size_t cols, sr_error *err)
{
    if (m_labels != m)
        return sr_fail(err, SR_ERR_MISMATCH,
                       "%s holds %zu images but %s holds %zu labels: the "
                       "counts must agree",
                       images_path, m, labels_path, m_labels);
    if (rows * cols - 1 > UINT32_MAX)
        return sr_fail(err, SR_ERR_TOO_BIG,
                       "%s: images of %zu x %zu pixels are too large: at most "
                       "%llu pixels an image are supported",
                       images_path, rows, cols,
                       (unsigned long long)UINT32_MAX + 1);
    return SR_OK;
}

sr_status sr_dataset_load_idx(const char *images_path, const char *labels_path,
                              sr_dataset **out, sr_error *err)
{
    if (!images_path || !labels_path || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_dataset_load_idx: NULL argument");
    sr_file_view img = {NULL, 0, NULL, NULL};
    uint8_t *lab = NULL;
    int32_t *y = NULL;
    sr_dataset *ds = NULL;
    size_t lab_len = 0, m = 0, rows = 0, cols = 0;
    size_t m_labels = 0, k = 0;

    sr_status st = sr_view_file(images_path, &img, err);
    if (st != SR_OK)
        goto fail;
    st = sr_idx_check_images(img.data, img.len, images_path, &m, &rows, &cols,
                             err);
    if (st != SR_OK)
        goto fail;
    st = sr_read_file(labels_path, &lab, &lab_len, err);
    if (st != SR_OK)
        goto fail;
    st = sr_idx_parse_labels(lab, lab_len, labels_path, &y, &m_labels, &k, err);
    if (st != SR_OK)
        goto fail;
    sr_dealloc(lab);
    lab = NULL;
    if ((st = check_pair(images_path, labels_path, m, m_labels, rows, cols,
                         err)) != SR_OK)
        goto fail;
    ds = sr_dataset_new(err);
    if (!ds) {
        st = SR_ERR_NOMEM;
        goto fail;
    }
    ds->m = m;
    ds->n = rows * cols;
    ds->k = k;
    ds->y = y;
    ds->rows = rows;
    ds->cols = cols;
    y = NULL;
    /* Mostly-zero images keep their non-zero pixels only (27 MB of
     * MNIST's 47); dense ones stay a byte a pixel (sr_dataset_set_pixels). */
    st = sr_dataset_set_pixels_from(ds, &img, SR_IDX_IMAGES_HEADER, m,
                                    rows * cols, err);
    if (st != SR_OK)
        goto fail;
    sr_view_release(&img);
    if ((st = sr_dataset_set_labels_file(ds, labels_path, err)) != SR_OK)
        goto fail;
    *out = ds;
    return SR_OK;

fail:
    sr_dataset_free(ds);
    sr_view_release(&img);
    sr_dealloc(lab);
    sr_dealloc(y);
    return st;
}

/* ---- Sharded loading: this process's rows, read by offset ---- */

/* (not an error: a file that cannot be read in part is read whole) */
#define READ_WHOLE ((sr_status)100)

typedef struct part_file {
    const char *path;
    int fd;
    uint64_t size;
} part_file;

static sr_status part_open(const char *path, part_file *f, sr_error *err)
{
    struct stat st;
    f->path = path;
    f->fd = open(path, O_RDONLY);
    if (f->fd < 0)
        return sr_fail(err, SR_ERR_IO, "%s: cannot open: %s", path,
                       strerror(errno));
    if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(f->fd);
        f->fd = -1;
        return READ_WHOLE; /* not a regular file */
    }
    f->size = (uint64_t)st.st_size;
    return SR_OK;
}

/* len bytes at offset `at` into dst, counted into *bytes. */
static sr_status part_read(const part_file *f, void *dst, size_t len,
                           uint64_t at, uint64_t *bytes, sr_error *err)
{
    sr_status st = sr_read_at(f->fd, f->path, dst, len, at, err);
    if (st == SR_OK)
        *bytes += len;
    return st;
}

/* The header of an IDX file: its first `header` bytes (fewer if the file
 * is shorter), into buf. READ_WHOLE: gzip, to be read whole. */
static sr_status part_header(const part_file *f, uint8_t *buf, size_t header,
                             uint64_t *bytes, sr_error *err)
{
    memset(buf, 0, header);
    size_t len = f->size < header ? (size_t)f->size : header;
    sr_status st = part_read(f, buf, len, 0, bytes, err);
    if (st == SR_OK && len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b)
        return READ_WHOLE;
    return st;
}

/* This process's rows of an IDX pair (sr_shard_rows), read by offset: the
 * headers, its pixels and its labels. READ_WHOLE (nothing said in
 * err): a file that is not a raw regular file, which the caller reads
 * whole. */
static sr_status load_idx_part(const char *images_path,
                               const char *labels_path, size_t unit,
                               sr_dataset **out, sr_error *err)
{
    part_file img = {images_path, -1, 0}, lab = {labels_path, -1, 0};
    uint8_t head[SR_IDX_IMAGES_HEADER], lhead[SR_IDX_LABELS_HEADER];
    uint8_t *pixels = NULL, *labels = NULL;
    sr_dataset *ds = NULL;
    uint64_t bytes = 0;
    size_t m = 0, rows = 0, cols = 0, m_labels = 0, first = 0, last = 0;
    sr_status st;
    if ((st = part_open(images_path, &img, err)) != SR_OK ||
        (st = part_open(labels_path, &lab, err)) != SR_OK ||
        (st = part_header(&img, head, sizeof head, &bytes, err)) != SR_OK ||
        (st = part_header(&lab, lhead, sizeof lhead, &bytes, err)) != SR_OK)
        goto done;
    /* the checks of a whole file, on its header and its size */
    if (img.size > SIZE_MAX || lab.size > SIZE_MAX) {
        st = sr_fail(err, SR_ERR_TOO_BIG, "%s: too large", images_path);
        goto done;
    }
    if ((st = sr_idx_check_images(head, (size_t)img.size, images_path, &m,
                                  &rows, &cols, err)) != SR_OK ||
        (st = sr_idx_check_labels(lhead, (size_t)lab.size, labels_path,
                                  &m_labels, err)) != SR_OK)
        goto done;
    if ((st = check_pair(images_path, labels_path, m, m_labels, rows, cols,
                         err)) != SR_OK)
        goto done;
    size_t n = rows * cols;
    sr_shard_rows(m, unit, &first, &last);
    size_t mine = last - first;
    if (!(pixels = sr_alloc_array(mine ? mine : 1, n)) ||
        !(labels = sr_alloc(mine ? mine : 1)) || !(ds = sr_dataset_new(err))) {
        st = sr_fail(err, SR_ERR_NOMEM, "%s: out of memory for %zu images",
                     images_path, mine);
        goto done;
    }
    if ((st = part_read(&img, pixels, mine * n,
                        SR_IDX_IMAGES_HEADER + (uint64_t)first * n, &bytes,
                        err)) != SR_OK ||
        (st = part_read(&lab, labels, mine, SR_IDX_LABELS_HEADER + first,
                        &bytes, err)) != SR_OK)
        goto done;
    if (!(ds->y = sr_alloc_array(mine ? mine : 1, sizeof *ds->y))) {
        st = sr_fail(err, SR_ERR_NOMEM, "%s: out of memory for %zu labels",
                     labels_path, mine);
        goto done;
    }
    uint8_t top = 0;
    for (size_t i = 0; i < mine; i++) {
        ds->y[i] = labels[i];
        top = labels[i] > top ? labels[i] : top;
    }
    ds->m = mine;
    ds->n = n;
    ds->k = mine ? (size_t)top + 1 : 0;
    ds->rows = rows;
    ds->cols = cols;
    ds->bytes_read = bytes;
    if ((st = sr_dataset_set_pixels_shard(ds, pixels, mine, n, err)) != SR_OK ||
        (st = sr_dataset_set_labels_file(ds, labels_path, err)) != SR_OK ||
        (st = sr_dataset_agree_shard(ds, first, err)) != SR_OK)
        goto done;
    *out = ds;
    ds = NULL;
done:
    if (img.fd >= 0)
        close(img.fd);
    if (lab.fd >= 0)
        close(lab.fd);
    sr_dealloc(pixels);
    sr_dealloc(labels);
    sr_dataset_free(ds);
    return st;
}

sr_status sr_dataset_load_idx_shard(const char *images_path,
                                    const char *labels_path, size_t unit,
                                    sr_dataset **out, sr_error *err)
{
    if (!images_path || !labels_path || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_dataset_load_idx_shard: NULL argument");
    sr_status st = load_idx_part(images_path, labels_path, unit, out, err);
    if (st != READ_WHOLE)
        return st;
    /* gzip or not a regular file: every row read, this share kept */
    sr_dataset *ds = NULL;
    if ((st = sr_dataset_load_idx(images_path, labels_path, &ds, err)) != SR_OK)
        return st;
    if ((st = sr_dataset_keep_shard(ds, unit, err)) != SR_OK) {
        sr_dataset_free(ds);
        return st;
    }
    *out = ds;
    return SR_OK;
}

/* True unless the path is surely absent; other failures (a directory we may
 * not search, say) are left for the open to report. */
static int may_exist(const char *path)
{
    if (access(path, F_OK) == 0)
        return 1;
    return errno != ENOENT && errno != ENOTDIR;
}

/* "<dir>/<split><suffix>", raw if present, else with ".gz". Which of the two
 * is gzip is decided by its bytes when read, not by this name. */
static sr_status find_split_file(const char *dir, const char *split,
                                 const char *suffix, const char *what,
                                 char **path, sr_error *err)
{
    size_t dlen = strlen(dir);
    const char *sep = dlen == 0 || dir[dlen - 1] == '/' ? "" : "/";
    size_t size = dlen + 1 + strlen(split) + strlen(suffix) + sizeof ".gz";
    char *p = sr_alloc(size);
    if (!p)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for a path in %s", dir);
    snprintf(p, size, "%s%s%s%s", dir, sep, split, suffix);
    if (may_exist(p)) {
        *path = p;
        return SR_OK;
    }
    snprintf(p, size, "%s%s%s%s.gz", dir, sep, split, suffix);
    if (may_exist(p)) {
        *path = p;
        return SR_OK;
    }
    sr_dealloc(p);
    return sr_fail(err, SR_ERR_IO,
                   "%s: no %s %s: tried %s%s and %s%s.gz "
                   "(scripts/fetch-mnist fetches MNIST)",
                   dlen ? dir : ".", split, what, split, suffix, split, suffix);
}

static sr_status load_mnist(const char *dir, const char *split, int shard,
                            size_t unit, sr_dataset **out, sr_error *err)
{
    if (!dir || !split || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_dataset_load_mnist: NULL argument");
    char *images = NULL, *labels = NULL;
    sr_status st = find_split_file(dir, split, "-images-idx3-ubyte", "images",
                                   &images, err);
    if (st != SR_OK)
        goto done;
    st = find_split_file(dir, split, "-labels-idx1-ubyte", "labels", &labels,
                         err);
    if (st != SR_OK)
        goto done;
    st = shard ? sr_dataset_load_idx_shard(images, labels, unit, out, err)
               : sr_dataset_load_idx(images, labels, out, err);
done:
    sr_dealloc(images);
    sr_dealloc(labels);
    return st;
}

sr_status sr_dataset_load_mnist(const char *dir, const char *split,
                                sr_dataset **out, sr_error *err)
{
    return load_mnist(dir, split, 0, 0, out, err);
}

sr_status sr_dataset_load_mnist_shard(const char *dir, const char *split,
                                      size_t unit, sr_dataset **out,
                                      sr_error *err)
{
    return load_mnist(dir, split, 1, unit, out, err);
}
