/* The IDX reader: MNIST against the course's numbers, gzip, and every kind of
 * bad file (built here as bytes under /tmp). */
#include "testutil.h"

#include <zlib.h>

#include "data/dataset.h"
#include "core/internal.h"
#include "data/idx.h"

/* ---- helpers ------------------------------------------------------------ */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* An IDX images file of `count` images of rows x cols whose pixel i is
 * (uint8_t)(i * 37 + 11); `extra` bytes are added (negative: cut). */
static uint8_t *make_images(uint32_t count, uint32_t rows, uint32_t cols,
                            long extra, size_t *len)
{
    size_t body = (size_t)count * rows * cols;
    size_t total = (size_t)((long)(16 + body) + extra);
    uint8_t *b = calloc(16 + body + (extra > 0 ? (size_t)extra : 0) + 1, 1);
    assert_non_null(b);
    put_be32(b, SR_IDX_MAGIC_IMAGES);
    put_be32(b + 4, count);
    put_be32(b + 8, rows);
    put_be32(b + 12, cols);
    for (size_t i = 0; i < body; i++)
        b[16 + i] = (uint8_t)(i * 37 + 11);
    *len = total;
    return b;
}

/* An IDX labels file holding labels[0..count). */
static uint8_t *make_labels(const uint8_t *labels, uint32_t count, long extra,
                            size_t *len)
{
    size_t total = (size_t)((long)(8 + (size_t)count) + extra);
    uint8_t *b = calloc(8 + count + (extra > 0 ? (size_t)extra : 0) + 1, 1);
    assert_non_null(b);
    put_be32(b, SR_IDX_MAGIC_LABELS);
    put_be32(b + 4, count);
    if (count)
        memcpy(b + 8, labels, count);
    *len = total;
    return b;
}

static const uint8_t small_labels[3] = {0, 7, 3};

/* Writes the small valid pair (3 images of 2 x 2, labels 0 7 3). */
static void write_small_pair(char *images, char *labels)
{
    size_t len;
    uint8_t *b = make_images(3, 2, 2, 0, &len);
    test_write_tmp(images, "-images", b, len);
    free(b);
    b = make_labels(small_labels, 3, 0, &len);
    test_write_tmp(labels, "-labels", b, len);
    free(b);
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size >= 0);
    rewind(f);
    uint8_t *b = malloc((size_t)size + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return b;
}

static void write_gzip(const char *path, const void *data, size_t len)
{
    gzFile gz = gzopen(path, "wb1");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, data, (unsigned)len), (int)len);
    assert_int_equal(gzclose(gz), Z_OK);
}

static void assert_has(const char *message, const char *needle)
{
    if (!strstr(message, needle)) {
        print_error("message \"%s\" lacks \"%s\"\n", message, needle);
        fail();
    }
}

/* Loads the pair, expecting failure `code` with a message naming `path` and
 * containing `phrase` (and `phrase2` if not NULL); the output must stay as
 * it was. */
static void expect_fail(const char *images, const char *labels, sr_status code,
                        const char *path, const char *phrase,
                        const char *phrase2)
{
    static char sentinel;
    sr_dataset *ds = (sr_dataset *)(void *)&sentinel;
    sr_error err = {SR_OK, ""};
    sr_status st = sr_dataset_load_idx(images, labels, &ds, &err);
    if (st != code) {
        print_error("status %s, expected %s; message: %s\n",
                    sr_status_str(st), sr_status_str(code), err.message);
        fail();
    }
    assert_int_equal(err.code, code);
    assert_ptr_equal(ds, (sr_dataset *)(void *)&sentinel);
    assert_has(err.message, path);
    assert_has(err.message, phrase);
    if (phrase2)
        assert_has(err.message, phrase2);
}

static sr_dataset *load_ok(const char *images, const char *labels)
{
    sr_dataset *ds = NULL;
    sr_error err = {SR_OK, ""};
    sr_status st = sr_dataset_load_idx(images, labels, &ds, &err);
    if (st != SR_OK) {
        print_error("loading %s, %s: %s\n", images, labels, err.message);
        fail();
    }
    assert_non_null(ds);
    return ds;
}

static sr_dataset *load_mnist_ok(const char *dir, const char *split)
{
    sr_dataset *ds = NULL;
    sr_error err = {SR_OK, ""};
    sr_status st = sr_dataset_load_mnist(dir, split, &ds, &err);
    if (st != SR_OK) {
        print_error("loading %s/%s: %s\n", dir, split, err.message);
        fail();
    }
    assert_non_null(ds);
    return ds;
}

static void assert_same_data(const sr_dataset *a, const sr_dataset *b)
{
    assert_int_equal(a->m, b->m);
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->k, b->k);
    assert_int_equal(a->rows, b->rows);
    assert_int_equal(a->cols, b->cols);
    /* Pixels are kept as the list of non-zero ones (uint16 column, uint8
     * value) per image. */
    assert_int_equal(a->layout, SR_FEATURES_U8_SPARSE);
    assert_int_equal(b->layout, SR_FEATURES_U8_SPARSE);
    assert_memory_equal(a->row_ptr, b->row_ptr, (a->m + 1) * sizeof *a->row_ptr);
    assert_memory_equal(a->col16, b->col16, a->row_ptr[a->m] * sizeof *a->col16);
    assert_memory_equal(a->val8, b->val8, a->row_ptr[a->m]);
    assert_memory_equal(a->y, b->y, a->m * sizeof *a->y);
}

static double frobenius(const float *x, size_t count)
{
    double s = 0;
    for (size_t i = 0; i < count; i++)
        s += (double)x[i] * x[i];
    return sqrt(s);
}

/* ---- MNIST itself ------------------------------------------------------- */

static void test_mnist_train_golden(void **state)
{
    (void)state;
    sr_dataset *ds = load_mnist_ok(test_mnist_dir(), "train");
    assert_int_equal(sr_dataset_rows(ds), 60000);
    assert_int_equal(sr_dataset_features(ds), 784);
    assert_int_equal(sr_dataset_classes(ds), 10);
    assert_int_equal(ds->rows, 28);
    assert_int_equal(ds->cols, 28);
    assert_int_equal(ds->layout, SR_FEATURES_U8_SPARSE);

    int32_t y[10];
    const int32_t want[10] = {5, 0, 4, 1, 9, 2, 1, 3, 1, 4};
    assert_sr_ok(sr_dataset_copy_labels(ds, 0, 10, y, NULL));
    assert_memory_equal(y, want, sizeof want);

    float *x = malloc(1000 * 784 * sizeof *x);
    assert_non_null(x);
    assert_sr_ok(sr_dataset_copy_features(ds, 0, 1000, x, NULL));
    assert_close(frobenius(x, 10 * 784), 27.892084, 27.892084 * 1e-5);
    assert_close(frobenius(x, 1000 * 784), 293.0717, 293.0717 * 1e-5);
    free(x);
    sr_dataset_free(ds);
}

static void test_mnist_test_set(void **state)
{
    (void)state;
    sr_dataset *ds = load_mnist_ok(test_mnist_dir(), "t10k");
    assert_int_equal(sr_dataset_rows(ds), 10000);
    assert_int_equal(sr_dataset_features(ds), 784);
    assert_int_equal(sr_dataset_classes(ds), 10);
    sr_dataset_free(ds);
}

/* gzip copies load to the same bytes, by path and through the .gz fallback
 * of sr_dataset_load_mnist. */
static void test_mnist_gzip_copy(void **state)
{
    (void)state;
    const char *dir = test_mnist_dir();
    char raw_images[512], raw_labels[512];
    snprintf(raw_images, sizeof raw_images, "%s/t10k-images-idx3-ubyte", dir);
    snprintf(raw_labels, sizeof raw_labels, "%s/t10k-labels-idx1-ubyte", dir);

    char tmpdir[] = "/tmp/softreg-test-gz-XXXXXX";
    assert_non_null(mkdtemp(tmpdir));
    char gz_images[512], gz_labels[512];
    snprintf(gz_images, sizeof gz_images, "%s/t10k-images-idx3-ubyte.gz", tmpdir);
    snprintf(gz_labels, sizeof gz_labels, "%s/t10k-labels-idx1-ubyte.gz", tmpdir);
    size_t len;
    uint8_t *b = read_all(raw_images, &len);
    write_gzip(gz_images, b, len);
    free(b);
    b = read_all(raw_labels, &len);
    write_gzip(gz_labels, b, len);
    free(b);

    sr_dataset *raw = load_ok(raw_images, raw_labels);
    sr_dataset *gz = load_ok(gz_images, gz_labels);
    assert_same_data(raw, gz);
    sr_dataset_free(gz);
    gz = load_mnist_ok(tmpdir, "t10k");
    assert_same_data(raw, gz);
    sr_dataset_free(gz);
    sr_dataset_free(raw);

    remove(gz_images);
    remove(gz_labels);
    remove(tmpdir);
}

/* ---- small valid files -------------------------------------------------- */

static void test_small_valid(void **state)
{
    (void)state;
    char images[256], labels[256];
    write_small_pair(images, labels);
    sr_dataset *ds = load_ok(images, labels);
    assert_int_equal(ds->m, 3);
    assert_int_equal(ds->n, 4);
    assert_int_equal(ds->k, 8); /* 1 + largest label */
    assert_int_equal(ds->rows, 2);
    assert_int_equal(ds->cols, 2);
    /* Every pixel i * 37 + 11 (mod 256) is non-zero: dense images stay
     * dense, a byte each. */
    assert_int_equal(ds->layout, SR_FEATURES_U8);
    for (size_t i = 0; i < 12; i++)
        assert_int_equal(ds->x_u8[i], (uint8_t)(i * 37 + 11));
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(ds->y[i], small_labels[i]);
    float x[12];
    assert_sr_ok(sr_dataset_copy_features(ds, 0, 3, x, NULL));
    for (size_t i = 0; i < 12; i++)
        assert_true(x[i] == (float)(uint8_t)(i * 37 + 11) / 255.0f);
    sr_dataset_free(ds);
    remove(images);
    remove(labels);
}

/* Loads `count` images of rows x cols pixels whose bytes are `pixels`,
 * and checks sr_dataset_value_range against (float)lo / 255 and
 * (float)hi / 255. */
static void expect_range(uint32_t count, uint32_t rows, uint32_t cols,
                         const uint8_t *pixels, uint8_t lo, uint8_t hi)
{
    char images[256], labels[256];
    size_t len;
    uint8_t *b = make_images(count, rows, cols, 0, &len);
    memcpy(b + 16, pixels, (size_t)count * rows * cols);
    test_write_tmp(images, "-images", b, len);
    free(b);
    b = make_labels(small_labels, count, 0, &len);
    test_write_tmp(labels, "-labels", b, len);
    free(b);
    sr_dataset *ds = load_ok(images, labels);
    float a, z;
    sr_dataset_value_range(ds, &a, &z);
    assert_true(a == (float)lo / 255.0f);
    assert_true(z == (float)hi / 255.0f);
    sr_dataset_free(ds);
    remove(images);
    remove(labels);
}

/* The range stops reading once it has reached 0 and 255: check that it
 * does not stop earlier, in pixel lists and in the float CSR of images of
 * more than 65536 pixels. */
static void test_value_range(void **state)
{
    (void)state;
    const uint8_t zero_and_255[8] = {0, 5, 9, 1, 3, 255, 7, 2};
    const uint8_t below_255[8] = {0, 5, 9, 1, 3, 254, 7, 2};
    const uint8_t no_zero[8] = {4, 5, 9, 1, 3, 255, 7, 2};
    expect_range(2, 2, 2, zero_and_255, 0, 255);
    expect_range(2, 2, 2, below_255, 0, 254);
    expect_range(2, 2, 2, no_zero, 1, 255);
    /* float CSR: 255 comes first, the smallest value near the end */
    size_t n = 65537;
    uint8_t *px = malloc(n);
    assert_non_null(px);
    memset(px, 100, n);
    px[70] = 255;
    px[65000] = 3;
    expect_range(1, 1, (uint32_t)n, px, 3, 255);
    px[65001] = 0;
    expect_range(1, 1, (uint32_t)n, px, 0, 255);
    free(px);
}

/* Stops training as soon as an epoch reaches no training error; records
 * the last epoch's numbers. */
static int record_epoch(const sr_epoch_stats *stats, void *user)
{
    *(sr_epoch_stats *)user = *stats;
    return stats->train_err == 0.0;
}

/* 40 images of rows x cols, even ones (class 0) bright on the left half,
 * odd ones (class 1) on the right, with zeros and faint pixels scattered
 * on both: loaded in layout `want`, they hold exactly the scaled pixels
 * and softmax regression learns them to a training error of 0. */
static void expect_images_train(uint32_t rows, uint32_t cols,
                                sr_feature_layout want)
{
    const uint32_t m = 40;
    size_t n = (size_t)rows * cols, len, nonzero = 0;
    uint8_t *b = make_images(m, rows, cols, 0, &len);
    uint8_t *px = b + 16, top = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < cols; c++) {
                size_t at = i * n + r * cols + c;
                int bright = (c < cols / 2) == (i % 2 == 0);
                uint8_t v = bright ? (uint8_t)(1 + (r * 31 + c * 7 + i * 13) % 255)
                                   : (uint8_t)((r + c + i) % 61 == 0 ? 9 : 0);
                if ((r + 3 * c + i) % 7 == 0)
                    v = 0;
                px[at] = v;
                nonzero += v != 0;
                top = v > top ? v : top;
            }
    uint8_t y[40];
    for (size_t i = 0; i < m; i++)
        y[i] = (uint8_t)(i % 2);
    char images[256], labels[256];
    test_write_tmp(images, "-images", b, len);
    size_t llen;
    uint8_t *lb = make_labels(y, m, 0, &llen);
    test_write_tmp(labels, "-labels", lb, llen);
    free(lb);

    sr_dataset *ds = load_ok(images, labels);
    assert_int_equal(ds->layout, want);
    assert_int_equal(ds->n, n);
    assert_true(sr_dataset_is_sparse(ds));
    assert_int_equal(sr_dataset_nonzeros(ds), nonzero);
    float lo, hi;
    sr_dataset_value_range(ds, &lo, &hi);
    assert_true(lo == 0.0f);
    assert_true(hi == (float)top / 255.0f);
    float *x = malloc(m * n * sizeof *x);
    assert_non_null(x);
    assert_sr_ok(sr_dataset_copy_features(ds, 0, m, x, NULL));
    for (size_t i = 0; i < m * n; i++)
        if (x[i] != sr_pixel_scale[px[i]]) {
            print_error("pixel %zu is %.9g, expected %.9g\n", i, (double)x[i],
                        (double)sr_pixel_scale[px[i]]);
            fail();
        }
    free(x);

    sr_train_params p = sr_train_params_default();
    p.epochs = 5;
    p.threads = 1;
    sr_epoch_stats last;
    memset(&last, 0, sizeof last);
    sr_model *model = NULL;
    sr_error err = {SR_OK, ""};
    if (sr_train(ds, NULL, &p, record_epoch, &last, &model, &err) != SR_OK) {
        print_error("training: %s\n", err.message);
        fail();
    }
    assert_true(last.train_err == 0.0);
    assert_true(last.train_loss < 0.6);
    double loss, error_rate;
    assert_int_equal(sr_model_evaluate(model, ds, &loss, &error_rate, &err),
                     SR_OK);
    assert_true(error_rate == 0.0);
    assert_true(loss < 0.6);
    sr_model_free(model);
    sr_dataset_free(ds);
    free(b);
    remove(images);
    remove(labels);
}

/* Images of more than 65536 pixels (257 x 256) become float CSR, which
 * training reads (dense uint8 was read as empty rows: the loss stayed
 * log 2); 256 x 256 images, the widest whose columns fit in 16 bits,
 * stay pixel lists. */
static void test_wide_images_train(void **state)
{
    (void)state;
    expect_images_train(257, 256, SR_FEATURES_CSR);
    expect_images_train(256, 256, SR_FEATURES_U8_SPARSE);
}

/* The bytes decide whether a file is gzip, never its name. */
static void test_raw_file_named_gz_loads(void **state)
{
    (void)state;
    char images[256], labels[256];
    size_t len;
    uint8_t *b = make_images(3, 2, 2, 0, &len);
    test_write_tmp(images, "-images.gz", b, len);
    free(b);
    b = make_labels(small_labels, 3, 0, &len);
    test_write_tmp(labels, "-labels.gz", b, len);
    free(b);
    sr_dataset *ds = load_ok(images, labels);
    assert_int_equal(ds->m, 3);
    sr_dataset_free(ds);
    remove(images);
    remove(labels);
}

static void test_parse_buffers(void **state)
{
    (void)state;
    size_t len, m = 99, r = 99, c = 99, k = 99;
    uint8_t *b = make_images(3, 2, 2, 0, &len);
    uint8_t *pixels = NULL;
    assert_sr_ok(sr_idx_parse_images(b, len, "buf", &pixels, &m, &r, &c, NULL));
    assert_int_equal(m, 3);
    assert_int_equal(r, 2);
    assert_int_equal(c, 2);
    assert_memory_equal(pixels, b + 16, 12);
    sr_dealloc(pixels);

    /* Failure leaves every output untouched. */
    sr_error err;
    uint8_t sentinel;
    pixels = &sentinel;
    m = r = c = 99;
    assert_int_equal(sr_idx_parse_images(b, len - 1, "buf", &pixels, &m, &r,
                                         &c, &err),
                     SR_ERR_FORMAT);
    assert_ptr_equal(pixels, &sentinel);
    assert_int_equal(m, 99);
    assert_int_equal(r, 99);
    assert_int_equal(c, 99);
    /* An image buffer offered as labels says what it is. */
    int32_t *y = NULL;
    assert_int_equal(sr_idx_parse_labels(b, len, "buf", &y, &m, &k, &err),
                     SR_ERR_FORMAT);
    assert_null(y);
    assert_has(err.message, "this is an IDX images file");
    free(b);

    b = make_labels(small_labels, 3, 0, &len);
    assert_sr_ok(sr_idx_parse_labels(b, len, "buf", &y, &m, &k, NULL));
    assert_int_equal(m, 3);
    assert_int_equal(k, 8);
    assert_int_equal(y[1], 7);
    sr_dealloc(y);
    /* A NULL error pointer is allowed on failure too. */
    assert_int_equal(sr_idx_parse_labels(b, 7, "buf", &y, &m, &k, NULL),
                     SR_ERR_FORMAT);
    free(b);
}

/* Views `path`: `len` bytes equal to b's, mapped or read as `mapped`. */
static void expect_view(const char *path, const uint8_t *b, size_t len,
                        int mapped)
{
    sr_error err;
    sr_file_view v;
    assert_int_equal(sr_view_file(path, &v, &err), SR_OK);
    assert_int_equal(v.mapped != NULL, mapped);
    assert_int_equal(v.owned != NULL, !mapped);
    assert_int_equal(v.len, len);
    assert_memory_equal(v.data, b, len);
    sr_view_release(&v);
    assert_null(v.data);
}

/* The images are viewed without a copy: a raw file is mapped, a gzip one
 * inflated into memory, both the file's bytes; a missing file is reported
 * by its path. */
static void test_file_view(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *b = make_images(3, 4, 5, 0, &len);
    char raw[256], gz[256];
    test_write_tmp(raw, "-view", b, len);
    test_write_tmp(gz, "-view.gz", "", 0);
    write_gzip(gz, b, len);
    expect_view(raw, b, len, 1);
    expect_view(gz, b, len, 0);
    remove(raw);
    sr_error err;
    sr_file_view v;
    assert_int_equal(sr_view_file(raw, &v, &err), SR_ERR_IO);
    assert_non_null(strstr(err.message, raw));
    sr_view_release(&v);
    remove(gz);
    free(b);
}

/* ---- bad files ---------------------------------------------------------- */

static void test_empty_file(void **state)
{
    (void)state;
    char images[256], labels[256], empty[256];
    write_small_pair(images, labels);
    test_write_tmp(empty, "-empty", "", 0);
    expect_fail(empty, labels, SR_ERR_FORMAT, empty, "file is empty",
                "IDX images");
    expect_fail(images, empty, SR_ERR_FORMAT, empty, "file is empty",
                "IDX labels");
    remove(images);
    remove(labels);
    remove(empty);
}

static void test_truncated_header(void **state)
{
    (void)state;
    char images[256], labels[256], bad[256];
    write_small_pair(images, labels);
    size_t len;
    uint8_t *b = make_images(3, 2, 2, 0, &len);
    test_write_tmp(bad, "-short", b, 10);
    expect_fail(bad, labels, SR_ERR_FORMAT, bad, "truncated header",
                "has 10 bytes");
    remove(bad);
    test_write_tmp(bad, "-short", b, 2); /* not even a whole magic number */
    expect_fail(bad, labels, SR_ERR_FORMAT, bad, "truncated header", NULL);
    remove(bad);
    free(b);
    b = make_labels(small_labels, 3, 0, &len);
    test_write_tmp(bad, "-short", b, 6);
    expect_fail(images, bad, SR_ERR_FORMAT, bad, "truncated header",
                "has 6 bytes");
    remove(bad);
    free(b);
    remove(images);
    remove(labels);
}

static void test_truncated_body(void **state)
{
    (void)state;
    char images[256], labels[256], bad[256];
    write_small_pair(images, labels);
    size_t len;
    uint8_t *b = make_images(3, 2, 2, -1, &len);
    test_write_tmp(bad, "-cut", b, len);
    free(b);
    expect_fail(bad, labels, SR_ERR_FORMAT, bad, "truncated body",
                "expected 28 bytes, found 27");
    remove(bad);
    b = make_labels(small_labels, 3, -2, &len);
    test_write_tmp(bad, "-cut", b, len);
    free(b);
    expect_fail(images, bad, SR_ERR_FORMAT, bad, "truncated body",
                "expected 11 bytes, found 9");
    remove(bad);
    remove(images);
    remove(labels);
}

static void test_trailing_bytes(void **state)
{
    (void)state;
    char images[256], labels[256], bad[256];
    write_small_pair(images, labels);
    size_t len;
    uint8_t *b = make_images(3, 2, 2, 1, &len);
    test_write_tmp(bad, "-long", b, len);
    free(b);
    expect_fail(bad, labels, SR_ERR_FORMAT, bad, "1 trailing bytes",
                "expected 28 bytes, found 29");
    remove(bad);
    b = make_labels(small_labels, 3, 5, &len);
    test_write_tmp(bad, "-long", b, len);
    free(b);
    expect_fail(images, bad, SR_ERR_FORMAT, bad, "5 trailing bytes",
                "expected 11 bytes, found 16");
    remove(bad);
    remove(images);
    remove(labels);
}

static void test_wrong_magic(void **state)
{
    (void)state;
    char images[256], labels[256];
    write_small_pair(images, labels);
    /* Arguments swapped: each file has the other's magic. */
    expect_fail(labels, images, SR_ERR_FORMAT, labels,
                "wrong magic number 0x00000801, expected 0x00000803",
                "IDX labels file");
    char bad[256];
    size_t len;
    uint8_t *b = make_images(3, 2, 2, 0, &len);
    test_write_tmp(bad, "-magic", b, len);
    free(b);
    expect_fail(images, bad, SR_ERR_FORMAT, bad,
                "wrong magic number 0x00000803, expected 0x00000801",
                "(IDX labels)");
    remove(bad);
    /* A magic of neither kind (IDX int32, rank 3). */
    b = make_images(3, 2, 2, 0, &len);
    b[2] = 0x0c;
    test_write_tmp(bad, "-magic", b, len);
    free(b);
    expect_fail(bad, labels, SR_ERR_FORMAT, bad,
                "wrong magic number 0x00000c03", NULL);
    remove(bad);
    remove(images);
    remove(labels);
}

static void test_zero_dimension(void **state)
{
    (void)state;
    char images[256], labels[256], bad[256];
    write_small_pair(images, labels);
    size_t len;
    uint8_t *b = make_images(3, 0, 2, 0, &len);
    test_write_tmp(bad, "-zero", b, len);
    free(b);
    expect_fail(bad, labels, SR_ERR_FORMAT, bad, "zero dimension", NULL);
    remove(bad);
    b = make_images(0, 28, 28, 0, &len);
    test_write_tmp(bad, "-zero", b, len);
    free(b);
    expect_fail(bad, labels, SR_ERR_FORMAT, bad, "zero dimension", NULL);
    remove(bad);
    b = make_labels(NULL, 0, 0, &len);
    test_write_tmp(bad, "-zero", b, len);
    free(b);
    expect_fail(images, bad, SR_ERR_FORMAT, bad, "0 labels", "not be empty");
    remove(bad);
    remove(images);
    remove(labels);
}

/* Sizes are refused from the header alone: an overflowing product is
 * SR_ERR_TOO_BIG, a huge but representable one a length mismatch, and
 * neither reaches an allocation (which would give SR_ERR_NOMEM). */
static void test_huge_dimensions(void **state)
{
    (void)state;
    char images[256], labels[256], bad[256];
    write_small_pair(images, labels);
    uint8_t h[16];
    put_be32(h, SR_IDX_MAGIC_IMAGES);
    put_be32(h + 4, 0xffffffffu);
    put_be32(h + 8, 0xffffffffu);
    put_be32(h + 12, 0xffffffffu);
    test_write_tmp(bad, "-huge", h, sizeof h);
    expect_fail(bad, labels, SR_ERR_TOO_BIG, bad, "overflow",
                "4294967295 x 4294967295 x 4294967295");
    remove(bad);

    put_be32(h + 4, 0x10000u);
    put_be32(h + 8, 0x10000u);
    put_be32(h + 12, 0x10000u);
    test_write_tmp(bad, "-huge", h, sizeof h);
    expect_fail(bad, labels, SR_ERR_FORMAT, bad, "truncated body", "found 16");
    remove(bad);

    uint8_t sentinel, *pixels = &sentinel;
    sr_error err;
    put_be32(h + 4, 0xffffffffu);
    put_be32(h + 8, 0xffffffffu);
    put_be32(h + 12, 0xffffffffu);
    assert_int_equal(sr_idx_parse_images(h, sizeof h, "hdr", &pixels, NULL,
                                         NULL, NULL, &err),
                     SR_ERR_TOO_BIG);
    assert_ptr_equal(pixels, &sentinel);

    uint8_t l[8];
    put_be32(l, SR_IDX_MAGIC_LABELS);
    put_be32(l + 4, 0xffffffffu);
    test_write_tmp(bad, "-huge", l, sizeof l);
    expect_fail(images, bad, SR_ERR_FORMAT, bad, "truncated body",
                "4294967295 labels");
    remove(bad);
    remove(images);
    remove(labels);
}

static void test_count_mismatch(void **state)
{
    (void)state;
    char images[256], labels[256];
    size_t len;
    uint8_t *b = make_images(3, 2, 2, 0, &len);
    test_write_tmp(images, "-images", b, len);
    free(b);
    const uint8_t four[4] = {1, 2, 3, 4};
    b = make_labels(four, 4, 0, &len);
    test_write_tmp(labels, "-labels", b, len);
    free(b);
    expect_fail(images, labels, SR_ERR_MISMATCH, images, "3 images",
                "4 labels");
    expect_fail(images, labels, SR_ERR_MISMATCH, labels, "must agree", NULL);
    remove(images);
    remove(labels);
}

static void test_gz_name_not_gzip(void **state)
{
    (void)state;
    char images[256], labels[256], bad[256];
    write_small_pair(images, labels);
    const char text[] = "this is neither gzip nor IDX\n";
    test_write_tmp(bad, "-images-idx3-ubyte.gz", text, sizeof text - 1);
    expect_fail(bad, labels, SR_ERR_FORMAT, bad, "wrong magic number",
                "expected 0x00000803");
    expect_fail(images, bad, SR_ERR_FORMAT, bad, "wrong magic number",
                "expected 0x00000801");
    remove(bad);
    remove(images);
    remove(labels);
}

static void test_gzip_cut_off(void **state)
{
    (void)state;
    char images[256], labels[256], full[256], bad[256];
    size_t len;
    const uint8_t ten[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    uint8_t *b = make_images(10, 28, 28, 0, &len);
    test_write_tmp(images, "-images", "", 0);
    write_gzip(images, b, len);
    free(b);
    b = make_labels(ten, 10, 0, &len);
    test_write_tmp(labels, "-labels", "", 0);
    write_gzip(labels, b, len);
    free(b);
    sr_dataset *ds = load_ok(images, labels);
    assert_int_equal(ds->m, 10);
    sr_dataset_free(ds);

    uint8_t *gz = read_all(images, &len);
    test_write_tmp(full, "-full.gz", gz, len);
    /* Cut in the deflate data, and cut only the 8-byte trailer short. */
    test_write_tmp(bad, "-cut.gz", gz, len / 2);
    expect_fail(bad, labels, SR_ERR_FORMAT, bad, "cut off", NULL);
    remove(bad);
    test_write_tmp(bad, "-cut.gz", gz, len - 3);
    expect_fail(bad, labels, SR_ERR_FORMAT, bad, "cut off", NULL);
    remove(bad);
    free(gz);
    gz = read_all(labels, &len);
    test_write_tmp(bad, "-cut.gz", gz, len - 5);
    expect_fail(full, bad, SR_ERR_FORMAT, bad, "cut off", NULL);
    remove(bad);
    free(gz);
    remove(full);
    remove(images);
    remove(labels);
}

static void test_missing_file(void **state)
{
    (void)state;
    char images[256], labels[256];
    write_small_pair(images, labels);
    const char *none = "/tmp/softreg-test-no-such-file";
    expect_fail(none, labels, SR_ERR_IO, none, "cannot open", NULL);
    expect_fail(images, none, SR_ERR_IO, none, "cannot open", NULL);
    remove(images);
    remove(labels);
}

static void test_mnist_missing_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/softreg-test-empty-XXXXXX";
    assert_non_null(mkdtemp(dir));
    static char sentinel;
    sr_dataset *ds = (sr_dataset *)(void *)&sentinel;
    sr_error err;
    assert_int_equal(sr_dataset_load_mnist(dir, "train", &ds, &err), SR_ERR_IO);
    assert_int_equal(err.code, SR_ERR_IO);
    assert_ptr_equal(ds, (sr_dataset *)(void *)&sentinel);
    assert_has(err.message, dir);
    assert_has(err.message, "train-images-idx3-ubyte and");
    assert_has(err.message, "train-images-idx3-ubyte.gz");
    assert_has(err.message, "scripts/fetch-mnist");

    /* Images present, labels not: the labels are named. */
    char path[512];
    size_t len;
    uint8_t *b = make_images(3, 2, 2, 0, &len);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
    free(b);
    assert_int_equal(sr_dataset_load_mnist(dir, "t10k", &ds, &err), SR_ERR_IO);
    assert_has(err.message, "t10k-labels-idx1-ubyte.gz");
    assert_has(err.message, "fetch-mnist");
    remove(path);

    /* A directory that does not exist at all. */
    assert_int_equal(sr_dataset_load_mnist("/tmp/softreg-test-no-such-dir",
                                           "train", &ds, &err),
                     SR_ERR_IO);
    assert_has(err.message, "/tmp/softreg-test-no-such-dir");
    assert_has(err.message, "fetch-mnist");
    assert_ptr_equal(ds, (sr_dataset *)(void *)&sentinel);
    remove(dir);
}

static void test_null_arguments(void **state)
{
    (void)state;
    sr_dataset *ds = NULL;
    sr_error err;
    assert_int_equal(sr_dataset_load_idx(NULL, "x", &ds, &err),
                     SR_ERR_INVALID_ARG);
    assert_int_equal(sr_dataset_load_idx("x", "y", NULL, NULL),
                     SR_ERR_INVALID_ARG);
    assert_int_equal(sr_dataset_load_mnist(NULL, "train", &ds, &err),
                     SR_ERR_INVALID_ARG);
    assert_int_equal(sr_dataset_load_mnist("d", NULL, &ds, NULL),
                     SR_ERR_INVALID_ARG);
    assert_null(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mnist_train_golden),
        cmocka_unit_test(test_mnist_test_set),
        cmocka_unit_test(test_mnist_gzip_copy),
        cmocka_unit_test(test_small_valid),
        cmocka_unit_test(test_value_range),
        cmocka_unit_test(test_wide_images_train),
        cmocka_unit_test(test_raw_file_named_gz_loads),
        cmocka_unit_test(test_parse_buffers),
        cmocka_unit_test(test_file_view),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_truncated_header),
        cmocka_unit_test(test_truncated_body),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_wrong_magic),
        cmocka_unit_test(test_zero_dimension),
        cmocka_unit_test(test_huge_dimensions),
        cmocka_unit_test(test_count_mismatch),
        cmocka_unit_test(test_gz_name_not_gzip),
        cmocka_unit_test(test_gzip_cut_off),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_mnist_missing_files),
        cmocka_unit_test(test_null_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
