/* The .srm model file: bit-exact round trips of every model kind, the exact
 * byte layout of a tiny model, atomic replacement, and refusal of every
 * single-byte corruption, every truncation and every crafted bad header. */
#include "testutil.h"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <zlib.h>

#include "io/model_file.h"
#include "models/model.h"

/* Offsets of the fixed header fields (docs/model-format.md). */
enum { AT_VERSION = 8, AT_KIND = 12, AT_N = 16, AT_K = 24, AT_D = 32,
       AT_BIAS = 40, AT_N_RAW = 44, AT_POLY = 52, AT_STD = 56, AT_BODY = 60 };

/* ---- Helpers ------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t next_u32(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static float bits_to_float(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Random floats of every magnitude, led by the awkward ones. */
static void fill_awkward(float *x, size_t count)
{
    static const uint32_t special[] = {
        0x80000000u, /* -0 */
        0x00000001u, /* smallest subnormal */
        0x807fffffu, /* largest negative subnormal */
        0x7f7fffffu, /* FLT_MAX */
        0xff7fffffu, /* -FLT_MAX */
        0x7f800000u, /* inf */
        0x7fc12345u, /* NaN with a payload */
        0x00000000u,
    };
    for (size_t i = 0; i < count; i++) {
        if (i < sizeof special / sizeof special[0])
            x[i] = bits_to_float(special[i]);
        else if (i % 3 == 0)
            x[i] = bits_to_float(next_u32()); /* any bit pattern */
        else
            x[i] = (float)((int32_t)next_u32()) / 1e6f;
    }
}

static char *dup_str(const char *s)
{
    size_t len = strlen(s) + 1;
    char *p = malloc(len);
    assert_non_null(p);
    memcpy(p, s, len);
    return p;
}

/* A model of `kind` with random parameters; `rich` adds a degree-`poly`
 * feature map with standardisation and class names. */
static sr_model *make_model(sr_model_kind kind, size_t n_raw, size_t k,
                            size_t d, int bias, int rich)
{
    unsigned poly = rich ? 3 : 1;
    sr_model_spec spec = {kind, n_raw * poly, k, d, bias};
    sr_model *m = NULL;
    sr_error err = {SR_OK, ""};
    assert_int_equal(sr_model_create(&spec, &m, &err), SR_OK);
    fill_awkward(m->params, m->nparams);
    m->n_raw = n_raw;
    m->poly = poly;
    if (rich) {
        m->mean = malloc(m->n * sizeof *m->mean);
        m->inv_std = malloc(m->n * sizeof *m->inv_std);
        assert_non_null(m->mean);
        assert_non_null(m->inv_std);
        fill_awkward(m->mean, m->n);
        fill_awkward(m->inv_std, m->n);
        /* k names, but 2 for logistic and none for linear regression. */
        size_t names = sr_model_class_count(m);
        m->class_names = names ? calloc(names, sizeof *m->class_names) : NULL;
        for (size_t c = 0; c < names; c++) {
            char name[64];
            snprintf(name, sizeof name, c % 2 ? "class \xc3\xa9 %zu" : "c%zu",
                     c);
            m->class_names[c] = dup_str(name);
        }
    }
    return m;
}

static void assert_same_floats(const float *a, const float *b, size_t count)
{
    if (!a || !b) {
        assert_null(a);
        assert_null(b);
        return;
    }
    assert_memory_equal(a, b, count * sizeof *a);
}

static void assert_same_model(const sr_model *a, const sr_model *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->k, b->k);
    assert_int_equal(a->d, b->d);
    assert_int_equal(a->bias, b->bias);
    assert_int_equal(a->nparams, b->nparams);
    assert_int_equal(a->nblocks, b->nblocks);
    for (size_t i = 0; i < a->nblocks; i++) {
        assert_string_equal(a->blocks[i].name, b->blocks[i].name);
        assert_int_equal(a->blocks[i].offset, b->blocks[i].offset);
        assert_int_equal(a->blocks[i].rows, b->blocks[i].rows);
        assert_int_equal(a->blocks[i].cols, b->blocks[i].cols);
    }
    assert_same_floats(a->params, b->params, a->nparams);
    assert_int_equal(a->n_raw, b->n_raw);
    assert_int_equal(a->poly, b->poly);
    assert_same_floats(a->mean, b->mean, a->n);
    assert_same_floats(a->inv_std, b->inv_std, a->n);
    if (!a->class_names || !b->class_names) {
        assert_null(a->class_names);
        assert_null(b->class_names);
    } else {
        for (size_t c = 0; c < sr_model_class_count(a); c++)
            assert_string_equal(a->class_names[c], b->class_names[c]);
    }
    if (!a->feature_names || !b->feature_names) {
        assert_null(a->feature_names);
        assert_null(b->feature_names);
    } else {
        for (size_t j = 0; j < a->n_raw; j++)
            assert_string_equal(a->feature_names[j], b->feature_names[j]);
    }
    if (!a->label_name || !b->label_name) {
        assert_null(a->label_name);
        assert_null(b->label_name);
    } else {
        assert_string_equal(a->label_name, b->label_name);
    }
    assert_int_equal(a->label_col, b->label_col);
    if (!a->train_options || !b->train_options) {
        assert_null(a->train_options);
        assert_null(b->train_options);
    } else {
        assert_string_equal(a->train_options, b->train_options);
    }
    assert_int_equal(a->has_data_crc, b->has_data_crc);
    assert_int_equal(a->data_crc, b->data_crc);
}

/* A fresh empty directory under /tmp; `dir` has room for 256 bytes. */
static void make_tmp_dir(char *dir)
{
    snprintf(dir, 256, "/tmp/softreg-model-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static size_t count_entries(const char *dir)
{
    DIR *dp = opendir(dir);
    assert_non_null(dp);
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            count++;
    closedir(dp);
    return count;
}

static void remove_dir(const char *dir)
{
    DIR *dp = opendir(dir);
    assert_non_null(dp);
    struct dirent *e;
    char path[512];
    while ((e = readdir(dp)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            rmdir(path);
        else
            unlink(path);
    }
    closedir(dp);
    assert_int_equal(rmdir(dir), 0);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size >= 0);
    rewind(f);
    uint8_t *buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return buf;
}

/* Saves `m` and returns the file's bytes. */
static uint8_t *save_bytes(const sr_model *m, size_t *len)
{
    char dir[256], path[512];
    sr_error err = {SR_OK, ""};
    make_tmp_dir(dir);
    snprintf(path, sizeof path, "%s/m.srm", dir);
    sr_status st = sr_model_save(m, path, &err);
    if (st != SR_OK) {
        print_error("save: %s\n", err.message);
        fail();
    }
    uint8_t *buf = slurp(path, len);
    remove_dir(dir);
    return buf;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
}

/* Recomputes the trailing CRC-32 after a patch. */
static void reseal(uint8_t *buf, size_t len)
{
    uLong crc = crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(len - 4));
    put_le32(buf + len - 4, (uint32_t)crc);
}

static sr_model *const UNTOUCHED = (sr_model *)&rng_state;

/* Parses buf[0..len) expecting failure with one of the codes (code2 may
 * repeat code) and a message naming "m.srm" and holding `needle` (NULL =
 * any); `*out` must be untouched. */
static void expect_refusal(const uint8_t *buf, size_t len, sr_status code,
                           sr_status code2, const char *needle)
{
    sr_model *out = UNTOUCHED;
    sr_error err = {SR_OK, ""};
    sr_status st = sr_model_parse(buf, len, "m.srm", &out, &err);
    if ((st != code && st != code2) || err.code != st ||
        !strstr(err.message, "m.srm") ||
        (needle && !strstr(err.message, needle))) {
        print_error("got %s \"%s\", expected %s mentioning \"%s\"\n",
                    sr_status_str(st), err.message, sr_status_str(code),
                    needle ? needle : "");
        if (st == SR_OK && out != UNTOUCHED)
            sr_model_free(out);
        fail();
    }
    assert_ptr_equal(out, UNTOUCHED);
}

/* ---- Round trips --------------------------------------------------------- */

static void round_trip(sr_model *m)
{
    char dir[256], path[512];
    sr_error err = {SR_OK, ""};
    make_tmp_dir(dir);
    snprintf(path, sizeof path, "%s/model.srm", dir);
    assert_sr_ok(sr_model_save(m, path, &err));
    sr_model *back = NULL;
    sr_status st = sr_model_load(path, &back, &err);
    if (st != SR_OK) {
        print_error("load: %s\n", err.message);
        fail();
    }
    assert_same_model(m, back);
    assert_int_equal(count_entries(dir), 1);
    sr_model_free(back);
    sr_model_free(m);
    remove_dir(dir);
}

static void test_round_trip_every_kind(void **state)
{
    (void)state;
    const sr_model_kind kinds[] = {SR_MODEL_SOFTMAX, SR_MODEL_NN,
                                   SR_MODEL_LINEAR, SR_MODEL_LOGISTIC};
    for (size_t i = 0; i < 4; i++)
        for (int bias = 0; bias <= 1; bias++)
            for (int rich = 0; rich <= 1; rich++) {
                sr_model_kind kind = kinds[i];
                size_t k = kind == SR_MODEL_LOGISTIC ? 1 : 3 + (size_t)bias;
                size_t d = kind == SR_MODEL_NN ? 5 : 0;
                round_trip(make_model(kind, 4, k, d, bias, rich));
            }
    /* the training file's column names (version 2), an empty one too */
    sr_model *m = make_model(SR_MODEL_SOFTMAX, 3, 2, 0, 1, 1);
    m->feature_names = calloc(3, sizeof *m->feature_names);
    assert_non_null(m->feature_names);
    m->feature_names[0] = dup_str("sepal length");
    m->feature_names[1] = dup_str("");
    m->feature_names[2] = dup_str("caf\xc3\xa9, \"w\"");
    m->label_name = dup_str("species");
    m->label_col = 0;
    m->train_options = dup_str("model=softmax l2=0.01");
    m->data_crc = 0xdeadbeefu;
    m->has_data_crc = 1;
    round_trip(m);
}

static void test_round_trip_mnist_sized(void **state)
{
    (void)state;
    round_trip(make_model(SR_MODEL_NN, 784, 10, 100, 1, 0));
    round_trip(make_model(SR_MODEL_SOFTMAX, 784, 10, 0, 0, 1));
}

/* The exact bytes of the smallest model, so the documented layout (and
 * little-endian order on any host) is pinned down. */
static void test_exact_bytes(void **state)
{
    (void)state;
    sr_model_spec spec = {SR_MODEL_SOFTMAX, 1, 1, 0, 0};
    sr_model *m = NULL;
    sr_error err = {SR_OK, ""};
    assert_int_equal(sr_model_create(&spec, &m, &err), SR_OK);
    m->params[0] = 1.0f;
    size_t len;
    uint8_t *got = save_bytes(m, &len);
    static const uint8_t body[] = {
        0x89, 'S', 'R', 'M', '\r', '\n', 0x1a, '\n', /* magic */
        2, 0, 0, 0,                                  /* version */
        0, 0, 0, 0,                                  /* kind: softmax */
        1, 0, 0, 0, 0, 0, 0, 0,                      /* n */
        1, 0, 0, 0, 0, 0, 0, 0,                      /* k */
        0, 0, 0, 0, 0, 0, 0, 0,                      /* d */
        0, 0, 0, 0,                                  /* bias */
        1, 0, 0, 0, 0, 0, 0, 0,                      /* n_raw */
        1, 0, 0, 0,                                  /* poly */
        0, 0, 0, 0,                                  /* standardised */
        0, 0, 0, 0, 0, 0, 0, 0,                      /* class names */
        1, 0, 0, 0,                                  /* blocks */
        5, 0, 0, 0, 't', 'h', 'e', 't', 'a',         /* name */
        1, 0, 0, 0, 0, 0, 0, 0,                      /* rows */
        1, 0, 0, 0, 0, 0, 0, 0,                      /* cols */
        0x00, 0x00, 0x80, 0x3f,                      /* 1.0f */
        0, 0, 0, 0, 0, 0, 0, 0,                      /* feature names */
        0, 0, 0, 0,                                  /* label name */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* label column */
        0, 0, 0, 0,                                  /* training options */
        0, 0, 0, 0, 0, 0, 0, 0,                      /* data CRC, flag */
    };
    uint8_t want[sizeof body + 4];
    memcpy(want, body, sizeof body);
    reseal(want, sizeof want);
    assert_int_equal(len, sizeof want);
    assert_memory_equal(got, want, sizeof want);
    /* version 1 files, without the column names, still load */
    size_t v1_len = sizeof body - 32 + 4;
    uint8_t v1[sizeof body + 4];
    memcpy(v1, body, sizeof body - 32);
    v1[8] = 1;
    reseal(v1, v1_len);
    sr_model *back = NULL;
    assert_int_equal(sr_model_parse(v1, v1_len, "v1.srm", &back, &err), SR_OK);
    assert_same_model(m, back);
    sr_model_free(back);
    free(got);
    sr_model_free(m);
}

static void test_load_gzipped(void **state)
{
    (void)state;
    sr_model *m = make_model(SR_MODEL_NN, 3, 2, 4, 1, 1);
    size_t len;
    uint8_t *bytes = save_bytes(m, &len);
    char dir[256], path[512];
    make_tmp_dir(dir);
    snprintf(path, sizeof path, "%s/m.srm.gz", dir);
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, bytes, (unsigned)len), (int)len);
    assert_int_equal(gzclose(gz), Z_OK);
    sr_model *back = NULL;
    sr_error err = {SR_OK, ""};
    assert_int_equal(sr_model_load(path, &back, &err), SR_OK);
    assert_same_model(m, back);
    sr_model_free(back);
    sr_model_free(m);
    free(bytes);
    remove_dir(dir);
}

/* ---- Saving -------------------------------------------------------------- */

static void test_save_replaces_existing(void **state)
{
    (void)state;
    char dir[256], path[512];
    sr_error err = {SR_OK, ""};
    make_tmp_dir(dir);
    snprintf(path, sizeof path, "%s/model.srm", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("an older, unrelated file that is longer than nothing", f);
    fclose(f);

    sr_model *a = make_model(SR_MODEL_SOFTMAX, 6, 3, 0, 1, 1);
    sr_model *b = make_model(SR_MODEL_LINEAR, 2, 1, 0, 0, 0);
    sr_model *back = NULL;
    assert_sr_ok(sr_model_save(a, path, &err));
    assert_sr_ok(sr_model_load(path, &back, &err));
    assert_same_model(a, back);
    sr_model_free(back);
    assert_sr_ok(sr_model_save(b, path, &err));
    assert_sr_ok(sr_model_load(path, &back, &err));
    assert_same_model(b, back);
    sr_model_free(back);
    assert_int_equal(count_entries(dir), 1);

    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0644);
    sr_model_free(a);
    sr_model_free(b);
    remove_dir(dir);
}

static void test_save_failures(void **state)
{
    (void)state;
    char dir[256], path[512];
    sr_error err = {SR_OK, ""};
    sr_model *m = make_model(SR_MODEL_SOFTMAX, 2, 2, 0, 0, 0);
    make_tmp_dir(dir);

    snprintf(path, sizeof path, "%s/missing/model.srm", dir);
    assert_int_equal(sr_model_save(m, path, &err), SR_ERR_IO);
    assert_non_null(strstr(err.message, path));
    assert_int_equal(count_entries(dir), 0);

    /* The temporary file is written, then the rename onto a directory
     * fails: it must be removed. */
    snprintf(path, sizeof path, "%s/taken", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(sr_model_save(m, path, &err), SR_ERR_IO);
    assert_int_equal(count_entries(dir), 1);

    m->poly = 0;
    snprintf(path, sizeof path, "%s/bad.srm", dir);
    assert_int_equal(sr_model_save(m, path, &err), SR_ERR_INVALID_ARG);
    m->poly = 2; /* n would have to be n_raw * 2 */
    assert_int_equal(sr_model_save(m, path, &err), SR_ERR_INVALID_ARG);
    m->poly = 1;
    m->mean = calloc(m->n, sizeof *m->mean);
    assert_int_equal(sr_model_save(m, path, &err), SR_ERR_INVALID_ARG);
    assert_int_equal(count_entries(dir), 1);

    assert_int_equal(sr_model_save(NULL, path, &err), SR_ERR_INVALID_ARG);
    assert_int_equal(sr_model_save(m, NULL, &err), SR_ERR_INVALID_ARG);
    sr_model_free(m);
    remove_dir(dir);
}

/* ---- Refusals ------------------------------------------------------------ */

static void test_load_errors(void **state)
{
    (void)state;
    sr_model *out = UNTOUCHED;
    sr_error err = {SR_OK, ""};
    assert_int_equal(sr_model_load("/nonexistent/m.srm", &out, &err),
                     SR_ERR_IO);
    assert_non_null(strstr(err.message, "/nonexistent/m.srm"));
    assert_ptr_equal(out, UNTOUCHED);
    assert_int_equal(sr_model_load(NULL, &out, &err), SR_ERR_INVALID_ARG);
    assert_int_equal(sr_model_parse(NULL, 4, "x", &out, &err),
                     SR_ERR_INVALID_ARG);
    assert_ptr_equal(out, UNTOUCHED);

    char path[256];
    test_write_tmp(path, ".srm", "\x93NUMPY\x01\x00", 8);
    assert_int_equal(sr_model_load(path, &out, &err), SR_ERR_FORMAT);
    assert_non_null(strstr(err.message, "not a softreg model file"));
    assert_non_null(strstr(err.message, path));
    assert_ptr_equal(out, UNTOUCHED);
    unlink(path);
}

static void test_wrong_magic(void **state)
{
    (void)state;
    sr_model *m = make_model(SR_MODEL_SOFTMAX, 2, 2, 0, 1, 0);
    size_t len;
    uint8_t *buf = save_bytes(m, &len);
    expect_refusal(buf, 0, SR_ERR_FORMAT, SR_ERR_FORMAT,
                   "not a softreg model file");
    buf[3] = 'X';
    reseal(buf, len);
    expect_refusal(buf, len, SR_ERR_FORMAT, SR_ERR_FORMAT,
                   "not a softreg model file");
    expect_refusal((const uint8_t *)"hello", 5, SR_ERR_FORMAT, SR_ERR_FORMAT,
                   "not a softreg model file");
    free(buf);
    sr_model_free(m);
}

static void test_versions(void **state)
{
    (void)state;
    sr_model *m = make_model(SR_MODEL_SOFTMAX, 2, 2, 0, 1, 0);
    size_t len;
    uint8_t *buf = save_bytes(m, &len);
    put_le32(buf + AT_VERSION, 7);
    reseal(buf, len);
    expect_refusal(buf, len, SR_ERR_FORMAT, SR_ERR_FORMAT,
                   "format version 7 is newer than this softreg supports "
                   "(2); upgrade softreg");
    /* Refused on the version alone, whatever follows. */
    expect_refusal(buf, 12, SR_ERR_FORMAT, SR_ERR_FORMAT, "version 7");
    put_le32(buf + AT_VERSION, 0);
    reseal(buf, len);
    expect_refusal(buf, len, SR_ERR_FORMAT, SR_ERR_FORMAT, "version 0");
    free(buf);
    sr_model_free(m);
}

static void test_every_byte_flip(void **state)
{
    (void)state;
    sr_model *m = make_model(SR_MODEL_NN, 2, 2, 2, 1, 1);
    size_t len;
    uint8_t *buf = save_bytes(m, &len);
    static const uint8_t masks[] = {0x01, 0x10, 0x80, 0xff};
    for (size_t i = 0; i < len; i++)
        for (size_t j = 0; j < sizeof masks; j++) {
            buf[i] ^= masks[j];
            expect_refusal(buf, len, SR_ERR_FORMAT, SR_ERR_TOO_BIG, NULL);
            buf[i] ^= masks[j];
        }
    /* Corruption away from the sizes is named as such. */
    buf[len - 10] ^= 0x01;
    expect_refusal(buf, len, SR_ERR_FORMAT, SR_ERR_FORMAT,
                   "checksum mismatch: the file is corrupted");
    free(buf);
    sr_model_free(m);
}

static void test_every_truncation(void **state)
{
    (void)state;
    sr_model *m = make_model(SR_MODEL_SOFTMAX, 3, 4, 0, 1, 1);
    size_t len;
    uint8_t *buf = save_bytes(m, &len);
    for (size_t cut = 0; cut < len; cut++)
        expect_refusal(buf, cut, SR_ERR_FORMAT, SR_ERR_FORMAT, NULL);

    char needle[128];
    snprintf(needle, sizeof needle, "found %zu", len - 9);
    expect_refusal(buf, len - 9, SR_ERR_FORMAT, SR_ERR_FORMAT, "truncated");
    expect_refusal(buf, len - 9, SR_ERR_FORMAT, SR_ERR_FORMAT, needle);
    expect_refusal(buf, 40, SR_ERR_FORMAT, SR_ERR_FORMAT, "truncated");

    uint8_t *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, buf, len);
    longer[len] = 0;
    snprintf(needle, sizeof needle, "expected %zu bytes, found %zu", len,
             len + 1);
    expect_refusal(longer, len + 1, SR_ERR_FORMAT, SR_ERR_FORMAT, needle);
    free(longer);
    free(buf);
    sr_model_free(m);
}

/* A softmax model (n = 2, k = 2, no bias, names "a" and "b"): class count
 * at 60, names at 68 ("a") and 73 ("b"), block count at 78, name length at
 * 82, "theta" at 86, rows at 91, cols at 99, data at 107. */
static uint8_t *small_file(size_t *len)
{
    sr_model *m = make_model(SR_MODEL_SOFTMAX, 2, 2, 0, 0, 0);
    m->class_names = calloc(2, sizeof *m->class_names);
    assert_non_null(m->class_names);
    m->class_names[0] = dup_str("a");
    m->class_names[1] = dup_str("b");
    uint8_t *buf = save_bytes(m, len);
    sr_model_free(m);
    assert_int_equal(*len, 107 + 16 + 32 + 4);
    return buf;
}

typedef struct patch {
    size_t at;
    int wide;        /* 8 bytes, else 4 */
    uint64_t value;
    sr_status code;
    const char *needle;
} patch;

static void test_crafted_headers(void **state)
{
    (void)state;
    const patch patches[] = {
        {AT_KIND, 0, 9, SR_ERR_FORMAT, "unknown model kind 9"},
        {AT_N, 1, 0, SR_ERR_FORMAT, "must be positive"},
        {AT_K, 1, 0, SR_ERR_FORMAT, "must be positive"},
        {AT_D, 1, 3, SR_ERR_FORMAT, "no hidden layer"},
        {AT_BIAS, 0, 2, SR_ERR_FORMAT, "bias flag 2"},
        {AT_BIAS, 0, 1, SR_ERR_FORMAT, "blocks hold 4 floats"},
        {AT_POLY, 0, 0, SR_ERR_FORMAT, "polynomial degree 0"},
        {AT_POLY, 0, 65, SR_ERR_FORMAT, "polynomial degree 65"},
        {AT_POLY, 0, 2, SR_ERR_FORMAT, "times degree 2"},
        {AT_N_RAW, 1, 1, SR_ERR_FORMAT, "times degree 1"},
        {AT_STD, 0, 2, SR_ERR_FORMAT, "standardisation flag 2"},
        {AT_STD, 0, 1, SR_ERR_FORMAT, NULL},
        {60, 1, 1, SR_ERR_FORMAT, "1 class names"},
        {60, 1, 3, SR_ERR_FORMAT, "3 class names"},
        {68, 0, 0, SR_ERR_FORMAT, "class name 0 at offset 68 is 0 bytes"},
        {68, 0, 0x7fffffff, SR_ERR_FORMAT, "class name 0 at offset 68 is"},
        {68, 0, 2, SR_ERR_FORMAT, NULL},
        {78, 0, 0, SR_ERR_FORMAT, "0 parameter blocks"},
        {78, 0, 5, SR_ERR_FORMAT, "5 parameter blocks"},
        {82, 0, 4, SR_ERR_FORMAT, NULL},
        {82, 0, 65, SR_ERR_FORMAT, "65 bytes"},
        {86, 0, 0x62746568, SR_ERR_FORMAT, "block 0 is \"hetba\""},
        {91, 1, 1, SR_ERR_FORMAT, NULL},
        {91, 1, (uint64_t)1 << 62, SR_ERR_TOO_BIG, "more than fit"},
        {91, 1, (uint64_t)1 << 40, SR_ERR_FORMAT, "truncated"},
    };
    for (size_t i = 0; i < sizeof patches / sizeof patches[0]; i++) {
        const patch *p = &patches[i];
        size_t len;
        uint8_t *buf = small_file(&len);
        if (p->wide)
            put_le64(buf + p->at, p->value);
        else
            put_le32(buf + p->at, (uint32_t)p->value);
        reseal(buf, len);
        expect_refusal(buf, len, p->code, p->code, p->needle);
        free(buf);
    }
}

static void test_crafted_names_and_blocks(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = small_file(&len);
    buf[72] = 0; /* class name "a" */
    reseal(buf, len);
    expect_refusal(buf, len, SR_ERR_FORMAT, SR_ERR_FORMAT, "NUL");
    free(buf);

    /* theta as (1, 4) instead of (2, 2): the same number of floats. */
    buf = small_file(&len);
    put_le64(buf + 91, 1);
    put_le64(buf + 99, 4);
    reseal(buf, len);
    expect_refusal(buf, len, SR_ERR_FORMAT, SR_ERR_FORMAT,
                   "block 0 is \"theta\" (1 x 4)");
    free(buf);

    buf = small_file(&len);
    buf[88] = '-';
    reseal(buf, len);
    expect_refusal(buf, len, SR_ERR_FORMAT, SR_ERR_FORMAT, "letters");
    free(buf);
}

/* The process's address space in bytes (Linux), or 0 when unknown. */
static size_t address_space_used(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %llu kB", &kb) == 1)
            break;
    fclose(f);
    return (size_t)kb * 1024;
}

/* Valid-checksum headers claiming 2^28 x 16 parameters (16 GiB) or more
 * over a tiny file. The address space is capped at 1 GiB above what is in
 * use (soft limit only, restored after), so an allocation made before the
 * size checks would show as SR_ERR_NOMEM instead of a refusal. */
static void test_huge_sizes_not_allocated(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = small_file(&len);
    const uint64_t n = (uint64_t)1 << 28;
    const uint64_t cases[][3] = {
        /* n, rows of theta, cols of theta */
        {n, n, 16},  /* the data would have to be present */
        {n, 2, 2},   /* the blocks do not back the header */
        {(uint64_t)1 << 62, 2, 2},
    };
    /* No class names (they would need k = 16): drop the 10 bytes of "a" and
     * "b", so the block count follows the class count at 68. */
    uint8_t *tight = malloc(len);
    assert_non_null(tight);
    memcpy(tight, buf, 68);
    memcpy(tight + 68, buf + 78, len - 78);
    size_t tlen = len - 10;
    put_le64(tight + 60, 0);
    put_le64(tight + AT_K, 16);

    struct rlimit old, cap;
    size_t used = address_space_used();
    int capped = used && getrlimit(RLIMIT_AS, &old) == 0;
    if (capped) {
        cap = old;
        cap.rlim_cur = (rlim_t)used + ((rlim_t)1 << 30);
        if (old.rlim_max != RLIM_INFINITY && cap.rlim_cur > old.rlim_max)
            cap.rlim_cur = old.rlim_max;
        capped = setrlimit(RLIMIT_AS, &cap) == 0;
    }
    sr_status got[3];
    sr_model *outs[3];
    for (size_t i = 0; i < 3; i++) {
        put_le64(tight + AT_N, cases[i][0]);
        put_le64(tight + AT_N_RAW, cases[i][0]);
        put_le64(tight + 81, cases[i][1]);
        put_le64(tight + 89, cases[i][2]);
        reseal(tight, tlen);
        sr_error err = {SR_OK, ""};
        outs[i] = UNTOUCHED;
        got[i] = sr_model_parse(tight, tlen, "m.srm", &outs[i], &err);
    }
    if (capped)
        assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);
    for (size_t i = 0; i < 3; i++) {
        assert_true(got[i] == SR_ERR_FORMAT || got[i] == SR_ERR_TOO_BIG);
        assert_ptr_equal(outs[i], UNTOUCHED);
    }
    free(tight);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_kind),
        cmocka_unit_test(test_round_trip_mnist_sized),
        cmocka_unit_test(test_exact_bytes),
        cmocka_unit_test(test_load_gzipped),
        cmocka_unit_test(test_save_replaces_existing),
        cmocka_unit_test(test_save_failures),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_wrong_magic),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_every_byte_flip),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_crafted_headers),
        cmocka_unit_test(test_crafted_names_and_blocks),
        cmocka_unit_test(test_huge_sizes_not_allocated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
