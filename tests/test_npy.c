/* The .npy writer and reader: files written by NumPy 1.24
 * (tests/data/npy/make_fixtures.py), byte-for-byte agreement of the writer
 * with numpy.save, and every kind of bad input. */
#include "testutil.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <zlib.h>

#include "core/rng_init.h"
#include "data/npy.h"
#include "io/npy_write.h"

static const char *data_dir(void)
{
    const char *d = getenv("SOFTREG_TEST_DATA");
    return d ? d : "tests/data";
}

static void fixture_path(char *path, const char *name)
{
    snprintf(path, 256, "%s/npy/%s", data_dir(), name);
}

static void read_fixture(const char *name, sr_npy_array *arr)
{
    char path[256];
    sr_error err = {SR_OK, ""};
    fixture_path(path, name);
    sr_status st = sr_npy_read(path, arr, &err);
    if (st != SR_OK) {
        print_error("%s: %s\n", path, err.message);
        fail();
    }
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(1 << 16);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

static uint8_t *slurp_fixture(const char *name, size_t *len)
{
    char path[256];
    fixture_path(path, name);
    return slurp(path, len);
}

/* Asserts that `st` is `code` and that the message names `name` and holds
 * `needle`. */
static void expect_error(sr_status st, const sr_error *err, sr_status code,
                         const char *name, const char *needle)
{
    if (st != code || err->code != code || !strstr(err->message, name) ||
        !strstr(err->message, needle)) {
        print_error("got %s \"%s\", expected %s mentioning \"%s\" and "
                    "\"%s\"\n", sr_status_str(st), err->message,
                    sr_status_str(code), name, needle);
        fail();
    }
}

/* A version 1.0 file around `dict` (padded as numpy pads) and `data`. */
static uint8_t *make_npy(const char *dict, const void *data, size_t data_len,
                         size_t *len)
{
    size_t dl = strlen(dict);
    size_t hlen = dl + 1 + (64 - (10 + dl + 1) % 64);
    *len = 10 + hlen + data_len;
    uint8_t *buf = malloc(*len);
    assert_non_null(buf);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)(hlen & 0xff);
    buf[9] = (uint8_t)(hlen >> 8);
    memset(buf + 10, ' ', hlen - 1);
    memcpy(buf + 10, dict, dl);
    buf[10 + hlen - 1] = '\n';
    if (data_len)
        memcpy(buf + 10 + hlen, data, data_len);
    return buf;
}

/* Parses `dict` + `data` expecting failure with `code` and `needle`. */
static void expect_dict_error(const char *dict, const void *data,
                              size_t data_len, sr_status code,
                              const char *needle)
{
    size_t len;
    uint8_t *buf = make_npy(dict, data, data_len, &len);
    sr_npy_array arr = {SR_NPY_F4, 0, 0, {0, 0}, 0, NULL};
    sr_error err = {SR_OK, ""};
    sr_status st = sr_npy_parse(buf, len, "bad.npy", &arr, &err);
    free(buf);
    expect_error(st, &err, code, "bad.npy", needle);
    assert_null(arr.data);
    assert_int_equal(arr.count, 0);
}

static void check_shape(const sr_npy_array *a, sr_npy_dtype dtype,
                        size_t ndim, size_t rows, size_t cols)
{
    assert_int_equal(a->dtype, dtype);
    assert_int_equal(a->ndim, ndim);
    assert_int_equal(a->shape[0], rows);
    assert_int_equal(a->shape[1], cols);
    assert_int_equal(a->count, rows * cols);
}

static void check_i64(const sr_npy_array *a, const int64_t *expected)
{
    int64_t out[16];
    sr_error err = {SR_OK, ""};
    assert_true(a->count <= 16);
    assert_int_equal(sr_npy_to_i64(a, "x", out, &err), SR_OK);
    for (size_t i = 0; i < a->count; i++)
        if (out[i] != expected[i]) {
            print_error("element %zu = %lld, expected %lld\n", i,
                        (long long)out[i], (long long)expected[i]);
            fail();
        }
}

static void check_f32(const sr_npy_array *a, const float *expected)
{
    float out[16];
    sr_error err = {SR_OK, ""};
    assert_true(a->count <= 16);
    assert_int_equal(sr_npy_to_f32(a, "x", out, &err), SR_OK);
    for (size_t i = 0; i < a->count; i++)
        if (memcmp(&out[i], &expected[i], sizeof(float)) != 0) {
            print_error("element %zu = %.9g, expected %.9g\n", i, out[i],
                        expected[i]);
            fail();
        }
}

/* ---- Writing ----------------------------------------------------------- */

static void write_and_compare(const float *data, size_t rows, size_t cols,
                              const char *fixture)
{
    char path[256];
    test_write_tmp(path, ".npy", "", 0);
    sr_error err = {SR_OK, ""};
    assert_sr_ok(sr_npy_write_f32(path, data, rows, cols, &err));
    size_t got_len, want_len;
    uint8_t *got = slurp(path, &got_len);
    uint8_t *want = slurp_fixture(fixture, &want_len);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
    free(got);
    free(want);
    unlink(path);
}

/* The fixtures were written by numpy.save from the same values. */
static void test_write_matches_numpy_save(void **state)
{
    (void)state;
    float f4_2d[12];
    for (size_t i = 0; i < 12; i++)
        f4_2d[i] = (float)i / 4.0f - 1.0f;
    write_and_compare(f4_2d, 3, 4, "f4_2d.npy");
    const float f4_1d[4] = {0.5f, -1.25f, 3.0e38f, 1.0e-45f};
    write_and_compare(f4_1d, 4, 0, "f4_1d.npy");
    write_and_compare(NULL, 0, 3, "empty_2d.npy");
}

/* numpy.save of a (784, 100) float32 array begins with these 128 bytes. */
static void test_write_round_trip_784x100(void **state)
{
    (void)state;
    static const char header[] =
        "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, "
        "'shape': (784, 100), }";
    const size_t rows = 784, cols = 100;
    float *w = malloc(rows * cols * sizeof *w);
    assert_non_null(w);
    sr_rng rng;
    sr_rng_seed(&rng, 0);
    sr_rng_fill_randn_scaled(&rng, w, rows * cols, cols);
    char path[256];
    test_write_tmp(path, ".npy", "", 0);
    sr_error err = {SR_OK, ""};
    assert_sr_ok(sr_npy_write_f32(path, w, rows, cols, &err));

    size_t len;
    uint8_t *raw;
    assert_sr_ok(sr_read_file(path, &raw, &len, &err));
    assert_int_equal(len, 128 + rows * cols * 4);
    assert_memory_equal(raw, header, sizeof header - 1);
    for (size_t i = sizeof header - 1; i < 127; i++)
        assert_int_equal(raw[i], ' ');
    assert_int_equal(raw[127], '\n');
    sr_dealloc(raw);

    sr_npy_array arr;
    assert_sr_ok(sr_npy_read(path, &arr, &err));
    check_shape(&arr, SR_NPY_F4, 2, rows, cols);
    assert_memory_equal(arr.data, w, rows * cols * sizeof *w);
    sr_npy_array_free(&arr);
    assert_null(arr.data);
    free(w);
    unlink(path);
}

static void test_write_bad_path(void **state)
{
    (void)state;
    const float x[2] = {1.0f, 2.0f};
    const char *path = "/nonexistent-softreg-dir/W1.npy";
    sr_error err = {SR_OK, ""};
    sr_status st = sr_npy_write_f32(path, x, 2, 0, &err);
    expect_error(st, &err, SR_ERR_IO, path, "cannot");
    st = sr_npy_write_f32("/tmp/x.npy", x, SIZE_MAX / 2, 4, &err);
    expect_error(st, &err, SR_ERR_TOO_BIG, "/tmp/x.npy", "too large");
}

/* ---- Reading NumPy's files --------------------------------------------- */

static void test_read_float_fixtures(void **state)
{
    (void)state;
    sr_npy_array a;
    read_fixture("f4_2d.npy", &a);
    check_shape(&a, SR_NPY_F4, 2, 3, 4);
    assert_int_equal(a.item_size, 4);
    float f4_2d[12];
    for (size_t i = 0; i < 12; i++)
        f4_2d[i] = (float)i / 4.0f - 1.0f;
    check_f32(&a, f4_2d);
    sr_npy_array_free(&a);

    read_fixture("f4_1d.npy", &a);
    check_shape(&a, SR_NPY_F4, 1, 4, 1);
    check_f32(&a, (const float[]){0.5f, -1.25f, 3.0e38f, 1.0e-45f});
    sr_npy_array_free(&a);

    read_fixture("f8_1d.npy", &a);
    check_shape(&a, SR_NPY_F8, 1, 5, 1);
    assert_int_equal(a.item_size, 8);
    const double *d = a.data;
    assert_true(d[0] == 0.1 && d[1] == -2.5 && d[2] == 3.0 && d[3] == 7.0 &&
                d[4] == 1e-300);
    check_f32(&a, (const float[]){0.1f, -2.5f, 3.0f, 7.0f, 0.0f});
    sr_npy_array_free(&a);

    read_fixture("labels_f8.npy", &a);
    check_i64(&a, (const int64_t[]){0, 9, 3});
    sr_npy_array_free(&a);

    read_fixture("v2_f4.npy", &a); /* format version 2.0 */
    check_shape(&a, SR_NPY_F4, 2, 2, 2);
    check_f32(&a, (const float[]){1.0f, 2.0f, 3.0f, 4.0f});
    sr_npy_array_free(&a);

    read_fixture("be_f8.npy", &a); /* '>f8' */
    check_shape(&a, SR_NPY_F8, 1, 2, 1);
    assert_true(((const double *)a.data)[0] == 1.5);
    assert_true(((const double *)a.data)[1] == -0.25);
    sr_npy_array_free(&a);
}

static void test_read_integer_fixtures(void **state)
{
    (void)state;
    sr_npy_array a;
    read_fixture("u1_2d.npy", &a);
    check_shape(&a, SR_NPY_U1, 2, 2, 3);
    check_i64(&a, (const int64_t[]){0, 1, 2, 253, 254, 255});
    check_f32(&a, (const float[]){0, 1, 2, 253, 254, 255});
    sr_npy_array_free(&a);

    read_fixture("i1_1d.npy", &a);
    check_shape(&a, SR_NPY_I1, 1, 4, 1);
    check_i64(&a, (const int64_t[]){-128, -1, 0, 127});
    sr_npy_array_free(&a);

    read_fixture("i2_1d.npy", &a);
    check_shape(&a, SR_NPY_I2, 1, 3, 1);
    check_i64(&a, (const int64_t[]){-32768, 0, 32767});
    sr_npy_array_free(&a);

    read_fixture("u2_1d.npy", &a);
    check_shape(&a, SR_NPY_U2, 1, 2, 1);
    check_i64(&a, (const int64_t[]){0, 65535});
    sr_npy_array_free(&a);

    read_fixture("i4_2d.npy", &a);
    check_shape(&a, SR_NPY_I4, 2, 2, 2);
    check_i64(&a, (const int64_t[]){INT32_MIN, -1, 0, INT32_MAX});
    sr_npy_array_free(&a);

    read_fixture("u4_1d.npy", &a);
    check_shape(&a, SR_NPY_U4, 1, 2, 1);
    check_i64(&a, (const int64_t[]){0, UINT32_MAX});
    sr_npy_array_free(&a);

    read_fixture("i8_1d.npy", &a);
    check_shape(&a, SR_NPY_I8, 1, 4, 1);
    check_i64(&a, (const int64_t[]){INT64_MIN, 0, INT64_MAX, 16777217});
    /* As astype(np.float32): round to nearest. */
    check_f32(&a, (const float[]){-9223372036854775808.0f, 0.0f,
                                   9223372036854775808.0f, 16777216.0f});
    sr_npy_array_free(&a);

    read_fixture("u8_1d.npy", &a);
    check_shape(&a, SR_NPY_U8, 1, 3, 1);
    assert_true(((const uint64_t *)a.data)[2] == UINT64_MAX);
    sr_npy_array_free(&a);

    read_fixture("be_i4.npy", &a); /* '>i4' */
    check_shape(&a, SR_NPY_I4, 1, 3, 1);
    check_i64(&a, (const int64_t[]){1, -2, 305419896});
    sr_npy_array_free(&a);

    read_fixture("v3_u1.npy", &a); /* format version 3.0 */
    check_shape(&a, SR_NPY_U1, 1, 3, 1);
    check_i64(&a, (const int64_t[]){7, 8, 9});
    sr_npy_array_free(&a);
}

static void test_read_empty_arrays(void **state)
{
    (void)state;
    sr_npy_array a;
    read_fixture("empty_2d.npy", &a);
    check_shape(&a, SR_NPY_F4, 2, 0, 3);
    assert_non_null(a.data);
    sr_error err = {SR_OK, ""};
    assert_int_equal(sr_npy_to_f32(&a, "e", NULL, &err), SR_OK);
    sr_npy_array_free(&a);

    read_fixture("empty_1d.npy", &a);
    check_shape(&a, SR_NPY_U1, 1, 0, 1);
    assert_int_equal(sr_npy_to_i64(&a, "e", NULL, &err), SR_OK);
    sr_npy_array_free(&a);
    sr_npy_array_free(&a); /* a freed (zeroed) array may be freed again */
    sr_npy_array_free(NULL);
}

/* The dict is a Python literal: spacing, key order, quotes, a trailing comma
 * and Python 2's long suffix (versions 1.0 and 2.0 only) may vary. */
static void test_header_variants(void **state)
{
    (void)state;
    static const int32_t v[6] = {1, 2, 3, 4, 5, 6};
    static const char *dicts[] = {
        "{ \"shape\":(2,3 ,) ,'fortran_order':False,'descr':'<i4'}",
        "{'descr':'<i4','fortran_order':False,'shape':(2, 3)}",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (2L, 3L), }",
        ("{\t'descr' : '<i4' ,\n'fortran_order' : False , "
         "'shape' : ( 2 , 3 ) ,\r}"),
    };
    for (size_t i = 0; i < sizeof dicts / sizeof dicts[0]; i++) {
        size_t len;
        uint8_t *buf = make_npy(dicts[i], v, sizeof v, &len);
        sr_npy_array a;
        sr_error err = {SR_OK, ""};
        sr_status st = sr_npy_parse(buf, len, "ok.npy", &a, &err);
        free(buf);
        if (st != SR_OK) {
            print_error("%s: %s\n", dicts[i], err.message);
            fail();
        }
        check_shape(&a, SR_NPY_I4, 2, 2, 3);
        check_i64(&a, (const int64_t[]){1, 2, 3, 4, 5, 6});
        sr_npy_array_free(&a);
    }
}

/* ---- Conversions ------------------------------------------------------ */

static void test_to_i64_refuses_fractions(void **state)
{
    (void)state;
    sr_npy_array a;
    sr_error err = {SR_OK, ""};
    int64_t out[12] = {42};
    read_fixture("f8_1d.npy", &a);
    expect_error(sr_npy_to_i64(&a, "y.npy", out, &err), &err, SR_ERR_FORMAT,
                 "y.npy", "element 0 is 0.1");
    assert_int_equal(out[0], 42); /* untouched */
    sr_npy_array_free(&a);

    read_fixture("f4_2d.npy", &a); /* -1, -0.75, ... */
    expect_error(sr_npy_to_i64(&a, "y.npy", out, &err), &err, SR_ERR_FORMAT,
                 "y.npy", "element 1 (row 0, column 1) is -0.75");
    sr_npy_array_free(&a);

    read_fixture("u8_1d.npy", &a);
    expect_error(sr_npy_to_i64(&a, "y.npy", out, &err), &err, SR_ERR_FORMAT,
                 "y.npy", "element 2 is 18446744073709551615");
    sr_npy_array_free(&a);

    static const double odd[3] = {1.0, NAN, 2.0};
    static const double big[2] = {0.0, 9223372036854775808.0};
    static const double tiny[2] = {-9223372036854775808.0, 1e300};
    const double *cases[3] = {odd, big, tiny};
    const char *needles[3] = {"element 1 is nan", "element 1 is 9.22",
                              "element 1 is 1"};
    for (size_t c = 0; c < 3; c++) {
        size_t len;
        uint8_t *buf = make_npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
            cases[c], 2 * sizeof(double), &len);
        assert_sr_ok(sr_npy_parse(buf, len, "y.npy", &a, &err));
        free(buf);
        expect_error(sr_npy_to_i64(&a, "y.npy", out, &err), &err,
                     SR_ERR_FORMAT, "y.npy", needles[c]);
        sr_npy_array_free(&a);
    }
}

static void test_to_f32_refuses_out_of_range(void **state)
{
    (void)state;
    static const double v[3] = {1.0, -1e300, INFINITY};
    size_t len;
    uint8_t *buf = make_npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", v,
        sizeof v, &len);
    sr_npy_array a;
    sr_error err = {SR_OK, ""};
    assert_sr_ok(sr_npy_parse(buf, len, "x.npy", &a, &err));
    free(buf);
    float out[3] = {7.0f, 7.0f, 7.0f};
    expect_error(sr_npy_to_f32(&a, "x.npy", out, &err), &err, SR_ERR_FORMAT,
                 "x.npy", "element 1 is -1e+300, beyond the float32 range");
    assert_true(out[0] == 7.0f);
    /* Infinities themselves pass through, as astype(np.float32) keeps them. */
    ((double *)a.data)[1] = -INFINITY;
    assert_sr_ok(sr_npy_to_f32(&a, "x.npy", out, &err));
    assert_true(out[0] == 1.0f && isinf(out[1]) && out[1] < 0 && isinf(out[2]));
    sr_npy_array_free(&a);
}

/* ---- Bad input ----------------------------------------------------------- */

static void expect_buffer_error(const void *buf, size_t len, sr_status code,
                                const char *needle)
{
    sr_npy_array arr = {SR_NPY_F4, 0, 0, {0, 0}, 0, NULL};
    sr_error err = {SR_OK, ""};
    sr_status st = sr_npy_parse(buf, len, "bad.npy", &arr, &err);
    expect_error(st, &err, code, "bad.npy", needle);
    assert_null(arr.data);
}

static void test_bad_preamble(void **state)
{
    (void)state;
    expect_buffer_error("", 0, SR_ERR_FORMAT, "not a .npy file");
    expect_buffer_error("\x93NUM", 4, SR_ERR_FORMAT, "not a .npy file");
    expect_buffer_error("\x93NUMPZ\x01\x00\x76\x00{}", 12, SR_ERR_FORMAT,
                        "magic bytes");
    expect_buffer_error("PK\x03\x04", 4, SR_ERR_FORMAT, "not a .npy file");
    expect_buffer_error("\x93NUMPY\x01", 7, SR_ERR_FORMAT, "before its version");
    expect_buffer_error("\x93NUMPY\x01\x00\x76", 9, SR_ERR_FORMAT,
                        "inside the header length");
    expect_buffer_error("\x93NUMPY\x02\x00\x76\x00\x00", 11, SR_ERR_FORMAT,
                        "inside the header length");
    expect_buffer_error("\x93NUMPY\x04\x00\x76\x00", 10, SR_ERR_FORMAT,
                        "unsupported .npy format version 4.0");
    expect_buffer_error("\x93NUMPY\x01\x01\x76\x00", 10, SR_ERR_FORMAT,
                        "version 1.1");
}

static void test_truncated_header(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = slurp_fixture("f4_2d.npy", &len);
    /* The length field says 118 bytes of header; give fewer. */
    expect_buffer_error(buf, 60, SR_ERR_FORMAT,
                        "header length 118 (at byte 8) goes beyond the end");
    /* A version 2.0 length of 4 GiB - 1. */
    uint8_t v2[16] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0,
                      0xff, 0xff, 0xff, 0xff, '{', '}', ' ', '\n'};
    expect_buffer_error(v2, sizeof v2, SR_ERR_FORMAT,
                        "header length 4294967295 (at byte 8) goes beyond");
    /* Every truncation of a valid file fails cleanly. */
    for (size_t cut = 0; cut < len; cut++) {
        sr_npy_array arr;
        sr_error err = {SR_OK, ""};
        assert_int_equal(sr_npy_parse(buf, cut, "cut.npy", &arr, &err),
                         SR_ERR_FORMAT);
        assert_non_null(strstr(err.message, "cut.npy"));
    }
    free(buf);
}

static void test_bad_dict(void **state)
{
    (void)state;
    const float x[3] = {0, 0, 0};
    const size_t n = sizeof x;
    expect_dict_error("'descr': '<f4', 'fortran_order': False, 'shape': (3,)",
                      x, n, SR_ERR_FORMAT, "at byte 10: expected '{'");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)",
                      x, n, SR_ERR_FORMAT, "expected ',' or '}'");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (3)}",
                      x, n, SR_ERR_FORMAT, "(n,) is a tuple");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': 3}",
                      x, n, SR_ERR_FORMAT, "'(' opening the shape tuple");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,)}",
                      x, n, SR_ERR_FORMAT, "at byte 61: expected a dimension");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (03,)}",
                      x, n, SR_ERR_FORMAT, "without leading zeros");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (3,,)}",
                      x, n, SR_ERR_FORMAT, "expected a dimension");
    expect_dict_error("{'descr': '<f4', 'fortran_order': Fals, 'shape': (3,)}",
                      x, n, SR_ERR_FORMAT, "True or False");
    expect_dict_error("{'descr': '<f4', 'fortran_order': Falsey, 'shape': (3,)}",
                      x, n, SR_ERR_FORMAT, "True or False");
    expect_dict_error("{'descr': <f4, 'fortran_order': False, 'shape': (3,)}",
                      x, n, SR_ERR_FORMAT, "a quoted dtype");
    expect_dict_error("{'descr': '<f4, 'fortran_order': False, 'shape': (3,)}",
                      x, n, SR_ERR_FORMAT, "expected ',' or '}' after a value");
    expect_dict_error("{'descr' '<f4', 'fortran_order': False, 'shape': (3,)}",
                      x, n, SR_ERR_FORMAT, "expected ':' after a key");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), "
                      "'extra': 1}",
                      x, n, SR_ERR_FORMAT, "unknown key 'extra'");
    expect_dict_error("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
                      "'shape': (3,)}",
                      x, n, SR_ERR_FORMAT, "key 'descr' appears twice");
    expect_dict_error("{'descr': '<f4', 'shape': (3,)}", x, n, SR_ERR_FORMAT,
                      "lacks the key 'fortran_order'");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} x",
                      x, n, SR_ERR_FORMAT, "only spaces and a newline");
    expect_dict_error("{'descr': '<f\xe9" "4', 'fortran_order': False, "
                      "'shape': (3,)}",
                      x, n, SR_ERR_FORMAT, "found byte 0xe9");
    expect_dict_error("{'descr': '<f4\\n', 'fortran_order': False, "
                      "'shape': (3,)}",
                      x, n, SR_ERR_FORMAT, "plain ASCII character");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (3,),",
                      x, n, SR_ERR_FORMAT, "a quoted key or '}'");
    /* A string running past the header's end (no padding to stop it). */
    static const char open_string[] =
        "\x93NUMPY\x01\x00\x0e\x00{'descr': '<f4";
    expect_buffer_error(open_string, sizeof open_string - 1, SR_ERR_FORMAT,
                        "closing quote");

    /* Python 2's 3L is not valid in a version 3.0 (Python 3 only) file. */
    static const char v3[] =
        "\x93NUMPY\x03\x00\x39\x00\x00\x00"
        "{'descr': '|u1', 'fortran_order': False, 'shape': (3L,)}\n"
        "abc";
    expect_buffer_error(v3, sizeof v3 - 1, SR_ERR_FORMAT,
                        "at byte 64: expected ',' or ')' in the shape tuple, "
                        "found 'L'");
}

static void test_unsupported_dtype(void **state)
{
    (void)state;
    const uint8_t x[8] = {0};
    static const char *descrs[] = {"<f2", "|b1", "<c8", "=f4", "|f4", "<U1",
                                   "<f4 ", "f4", "<i16", "<M8[ns]", ">f16"};
    for (size_t i = 0; i < sizeof descrs / sizeof descrs[0]; i++) {
        char dict[128];
        snprintf(dict, sizeof dict,
                 "{'descr': '%s', 'fortran_order': False, 'shape': (1,)}",
                 descrs[i]);
        char needle[64];
        snprintf(needle, sizeof needle, "unsupported .npy dtype '%s'",
                 descrs[i]);
        expect_dict_error(dict, x, 1, SR_ERR_FORMAT, needle);
    }
}

static void expect_fixture_error(const char *fixture, sr_status code,
                                 const char *needle)
{
    char path[256];
    fixture_path(path, fixture);
    sr_npy_array arr = {SR_NPY_F4, 0, 0, {0, 0}, 0, NULL};
    sr_error err = {SR_OK, ""};
    sr_status st = sr_npy_read(path, &arr, &err);
    expect_error(st, &err, code, path, needle);
    assert_null(arr.data);
}

static void test_refused_fixtures(void **state)
{
    (void)state;
    expect_fixture_error("fortran_f4.npy", SR_ERR_FORMAT,
                         "Fortran order is not supported; save with "
                         "np.ascontiguousarray");
    expect_fixture_error("f2_1d.npy", SR_ERR_FORMAT,
                         "unsupported .npy dtype '<f2'");
    expect_fixture_error("b1_1d.npy", SR_ERR_FORMAT,
                         "unsupported .npy dtype '|b1'");
    expect_fixture_error("struct.npy", SR_ERR_FORMAT,
                         "structured dtypes");
    expect_fixture_error("scalar_f8.npy", SR_ERR_FORMAT,
                         "0-d .npy array (shape ()) is not supported");
    expect_fixture_error("3d_u1.npy", SR_ERR_FORMAT,
                         "3-D .npy array is not supported");
    expect_fixture_error("no-such-file.npy", SR_ERR_IO, "cannot open");
}

static void test_data_length_mismatch(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = slurp_fixture("f4_2d.npy", &len);
    assert_int_equal(len, 128 + 48);
    expect_buffer_error(buf, len - 4, SR_ERR_FORMAT,
                        "data from byte 128 is 44 bytes, but shape (3, 4) of "
                        "float32 needs 48 bytes");
    uint8_t *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, buf, len);
    longer[len] = 0;
    expect_buffer_error(longer, len + 1, SR_ERR_FORMAT, "is 49 bytes");
    free(longer);
    free(buf);

    const uint8_t x[4] = {0};
    expect_dict_error("{'descr': '<i8', 'fortran_order': False, 'shape': (1,)}",
                      x, 4, SR_ERR_FORMAT, "shape (1,) of int64 needs 8 bytes");
}

static void test_overflowing_shape(void **state)
{
    (void)state;
    const uint8_t x[4] = {0};
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, "
                      "'shape': (4294967296, 4294967296)}",
                      x, 4, SR_ERR_TOO_BIG, "too large to hold");
    expect_dict_error("{'descr': '<f8', 'fortran_order': False, "
                      "'shape': (2305843009213693952,)}",
                      x, 4, SR_ERR_TOO_BIG, "too large to hold");
    expect_dict_error("{'descr': '|u1', 'fortran_order': False, "
                      "'shape': (99999999999999999999999,)}",
                      x, 4, SR_ERR_TOO_BIG,
                      "dimension at byte 61 that does not fit");
}

/* Random corruptions of a valid file never crash the parser (run under
 * AddressSanitizer by `make sanitize`). */
static void test_corrupted_bytes(void **state)
{
    (void)state;
    size_t len;
    uint8_t *orig = slurp_fixture("i4_2d.npy", &len);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    sr_rng rng;
    sr_rng_seed(&rng, 1);
    size_t ok = 0;
    for (int round = 0; round < 20000; round++) {
        memcpy(buf, orig, len);
        int flips = 1 + (int)sr_rng_interval(&rng, 3);
        for (int f = 0; f < flips; f++) {
            size_t at = (size_t)sr_rng_interval(&rng, 127);
            buf[at] = (uint8_t)sr_rng_u32(&rng);
        }
        size_t cut = len - (size_t)sr_rng_interval(&rng, 1) * 4;
        sr_npy_array arr;
        sr_error err = {SR_OK, ""};
        sr_status st = sr_npy_parse(buf, cut, "fuzz.npy", &arr, &err);
        if (st == SR_OK) {
            ok++;
            assert_true(arr.count * arr.item_size <= cut);
            sr_npy_array_free(&arr);
        } else {
            assert_non_null(strstr(err.message, "fuzz.npy"));
        }
    }
    assert_true(ok > 0);
    free(buf);
    free(orig);
}

/* ---- Features of a data set, read into place ----------------------------- */

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* data[0 .. len) gzip-compressed into `path`, as two members split at
 * `split` (as `cat a.gz b.gz` makes), or one when split is 0. */
static void write_gzip(const char *path, const uint8_t *data, size_t len,
                       size_t split)
{
    gzFile gz = gzopen(path, "wb1");
    assert_non_null(gz);
    size_t first = split ? split : len;
    if (first)
        assert_int_equal(gzwrite(gz, data, (unsigned)first), (int)first);
    assert_int_equal(gzclose(gz), Z_OK);
    if (!split)
        return;
    gz = gzopen(path, "ab1");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, data + split, (unsigned)(len - split)),
                     (int)(len - split));
    assert_int_equal(gzclose(gz), Z_OK);
}

/* Element i of a test array, exact in every dtype used here (integers
 * of -300 .. 299 and halves). */
static double test_value(size_t i)
{
    return (double)((long)(i * 7919 % 600) - 300) / (i % 3 ? 1.0 : 2.0);
}

/* A (rows, cols) file of `descr` holding test_value(i), in its byte order;
 * *len is its size. */
static uint8_t *make_x(const char *descr, size_t rows, size_t cols,
                       size_t *len)
{
    char dict[160];
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, "
             "'shape': (%zu, %zu), }", descr, rows, cols);
    size_t item = (size_t)(descr[2] - '0'), count = rows * cols;
    uint8_t *data = malloc(count * item);
    assert_non_null(data);
    for (size_t i = 0; i < count; i++) {
        double v = test_value(i);
        uint8_t b[8];
        if (descr[1] == 'f' && item == 4) {
            float f = (float)v;
            memcpy(b, &f, 4);
        } else if (descr[1] == 'f') {
            memcpy(b, &v, 8);
        } else if (item == 2) {
            int16_t h = (int16_t)(v * 2);
            memcpy(b, &h, 2);
        } else {
            int64_t q = (int64_t)(v * 2);
            memcpy(b, &q, 8);
        }
        for (size_t k = 0; k < item; k++) /* the host is little-endian */
            data[i * item + k] = descr[0] == '>' ? b[item - 1 - k] : b[k];
    }
    uint8_t *buf = make_npy(dict, data, count * item, len);
    free(data);
    return buf;
}

static float expected_value(const char *descr, size_t i)
{
    double v = test_value(i);
    return descr[1] == 'f' ? (float)v : (float)(int64_t)(v * 2);
}

/* Loads path as unlabelled features; they must be (rows, cols) of
 * expected_value(descr, i). */
static void expect_features(const char *path, const char *descr, size_t rows,
                            size_t cols)
{
    sr_dataset *ds = NULL;
    sr_error err = {SR_OK, ""};
    sr_status st = sr_dataset_load_npy(path, NULL, SR_TASK_UNLABELLED, &ds,
                                       &err);
    if (st != SR_OK) {
        print_error("%s (%s): %s\n", path, descr, err.message);
        fail();
    }
    assert_int_equal(sr_dataset_rows(ds), rows);
    assert_int_equal(sr_dataset_features(ds), cols);
    float *x = malloc(rows * cols * sizeof *x);
    assert_non_null(x);
    assert_sr_ok(sr_dataset_copy_features(ds, 0, rows, x, NULL));
    for (size_t i = 0; i < rows * cols; i++)
        if (x[i] != expected_value(descr, i)) {
            print_error("%s (%s): element %zu is %.9g, expected %.9g\n", path,
                        descr, i, (double)x[i],
                        (double)expected_value(descr, i));
            fail();
        }
    free(x);
    sr_dataset_free(ds);
}

/* Loading path as features fails with `code` and `needle`, naming path,
 * and leaves the output alone. */
static void expect_load_error(const char *path, sr_status code,
                              const char *needle)
{
    static sr_dataset *const sentinel = (sr_dataset *)&sentinel;
    sr_dataset *ds = sentinel;
    sr_error err = {SR_OK, ""};
    sr_status st = sr_dataset_load_npy(path, NULL, SR_TASK_UNLABELLED, &ds,
                                       &err);
    expect_error(st, &err, code, path, needle);
    assert_ptr_equal(ds, sentinel);
}

/* Arrays of several read pieces (float32 straight into place, other
 * dtypes through a buffer), of either byte order, raw and gzip'ed in two
 * members split inside the payload, come out as the values written. */
static void test_features_every_dtype_in_pieces(void **state)
{
    (void)state;
    static const char *const descrs[] = {"<f4", ">f4", "<f8", ">f8", "<i2",
                                         ">i8"};
    const size_t rows = 1000, cols = 333; /* 333,000 elements */
    for (size_t d = 0; d < sizeof descrs / sizeof *descrs; d++) {
        size_t len;
        uint8_t *buf = make_x(descrs[d], rows, cols, &len);
        char raw[256], gz[256];
        test_write_tmp(raw, ".npy", buf, len);
        test_write_tmp(gz, ".npy.gz", "", 0);
        write_gzip(gz, buf, len, len / 2 + 3);
        expect_features(raw, descrs[d], rows, cols);
        expect_features(gz, descrs[d], rows, cols);
        free(buf);
        unlink(raw);
        unlink(gz);
    }
    /* The fixtures of numpy.save too, against the parsed arrays. */
    static const char *const fixtures[] = {"f4_2d.npy", "i4_2d.npy",
                                           "u1_2d.npy", "v2_f4.npy"};
    for (size_t f = 0; f < sizeof fixtures / sizeof *fixtures; f++) {
        char path[256];
        fixture_path(path, fixtures[f]);
        sr_npy_array a;
        read_fixture(fixtures[f], &a);
        float want[64];
        assert_true(a.count <= 64);
        assert_sr_ok(sr_npy_to_f32(&a, path, want, NULL));
        sr_dataset *ds = NULL;
        assert_sr_ok(sr_dataset_load_npy(path, NULL, SR_TASK_UNLABELLED, &ds,
                                         NULL));
        float got[64];
        assert_sr_ok(sr_dataset_copy_features(ds, 0, a.shape[0], got, NULL));
        assert_memory_equal(got, want, a.count * sizeof(float));
        sr_dataset_free(ds);
        sr_npy_array_free(&a);
    }
}

/* A bad value deep in the payload (a later piece) is named by its
 * element, row and column. */
static void test_features_bad_value_in_later_piece(void **state)
{
    (void)state;
    const size_t rows = 1000, cols = 500, at = 123456 + 262144;
    size_t len;
    uint8_t *buf = make_x("<f4", rows, cols, &len);
    float nan = NAN;
    memcpy(buf + len - rows * cols * 4 + at * 4, &nan, 4);
    char path[256];
    test_write_tmp(path, ".npy", buf, len);
    char want[128];
    snprintf(want, sizeof want, "element %zu (row %zu, column %zu) is not "
             "finite", at, at / cols, at % cols);
    expect_load_error(path, SR_ERR_FORMAT, want);
    free(buf);
    unlink(path);

    buf = make_x("<f8", rows, cols, &len);
    double big = 1e300;
    memcpy(buf + len - rows * cols * 8 + at * 8, &big, 8);
    test_write_tmp(path, ".npy.gz", "", 0);
    write_gzip(path, buf, len, 0);
    snprintf(want, sizeof want, "element %zu (row %zu, column %zu) is 1e+300, "
             "beyond the float32 range", at, at / cols, at % cols);
    expect_load_error(path, SR_ERR_FORMAT, want);
    free(buf);
    unlink(path);
}

/* A payload shorter or longer than the shape says, raw and gzip'ed, a
 * gzip stream cut off, and a shape no file of that size can hold. */
static void test_features_length_errors(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = make_x("<f4", 3, 4, &len);
    assert_int_equal(len, 128 + 48);
    uint8_t *longer = malloc(len + 5);
    assert_non_null(longer);
    memcpy(longer, buf, len);
    memset(longer + len, 7, 5);
    char path[256];
    for (int gzip = 0; gzip < 2; gzip++) {
        const char *suffix = gzip ? ".npy.gz" : ".npy";
        test_write_tmp(path, suffix, "", 0);
        if (gzip)
            write_gzip(path, buf, len - 4, 0);
        else
            write_bytes(path, buf, len - 4);
        expect_load_error(path, SR_ERR_FORMAT,
                          "data from byte 128 is 44 bytes, but shape (3, 4) "
                          "of float32 needs 48 bytes");
        if (gzip)
            write_gzip(path, longer, len + 5, 0);
        else
            write_bytes(path, longer, len + 5);
        expect_load_error(path, SR_ERR_FORMAT, "is 53 bytes");
        unlink(path);
    }
    free(longer);

    /* A gzip file cut inside its stream. */
    test_write_tmp(path, ".npy.gz", "", 0);
    write_gzip(path, buf, len, 0);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(truncate(path, sb.st_size - 9), 0);
    expect_load_error(path, SR_ERR_FORMAT, "gzip stream is cut off");
    unlink(path);
    free(buf);

    /* 10^14 float32 announced: refused before anything is allocated,
     * raw or gzip'ed, with the bytes the file has. */
    const uint8_t x[4] = {0};
    buf = make_npy("{'descr': '<f4', 'fortran_order': False, "
                   "'shape': (10000000, 10000000), }", x, 4, &len);
    for (int gzip = 0; gzip < 2; gzip++) {
        test_write_tmp(path, gzip ? ".npy.gz" : ".npy", "", 0);
        if (gzip)
            write_gzip(path, buf, len, 0);
        else
            write_bytes(path, buf, len);
        expect_load_error(path, SR_ERR_FORMAT,
                          "is 4 bytes, but shape (10000000, 10000000) of "
                          "float32 needs 400000000000000 bytes");
        unlink(path);
    }
    free(buf);

    /* A file that ends inside the header length of a version 2.0 file
     * (found by fuzz_npy: the preamble was copied past its buffer). */
    test_write_tmp(path, ".npy", "\x93NUMPY\x02\x00\x0a\x2f\x00", 11);
    expect_load_error(path, SR_ERR_FORMAT,
                      "ends after 11 bytes, inside the header length");
    unlink(path);

    /* Features must be a non-empty 2-D array; a header beyond the file. */
    fixture_path(path, "f4_1d.npy");
    expect_load_error(path, SR_ERR_FORMAT, "non-empty 2-D array");
    fixture_path(path, "empty_2d.npy");
    expect_load_error(path, SR_ERR_FORMAT, "non-empty 2-D array");
    buf = make_x("<f4", 3, 4, &len);
    test_write_tmp(path, ".npy", buf, 60);
    expect_load_error(path, SR_ERR_FORMAT,
                      "header length 118 (at byte 8) goes beyond the end of "
                      "the file (60 bytes)");
    unlink(path);
    free(buf);
}

/* A stream that is not a regular file (a FIFO, as /dev/stdin may be)
 * is read in the same pieces, its size learnt as it comes. */
static void test_features_from_a_fifo(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = make_x("<f8", 300, 70, &len);
    char path[256];
    snprintf(path, sizeof path, "/tmp/softreg-test-%ld-fifo.npy",
             (long)getpid());
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    for (int extra = 0; extra < 2; extra++) {
        fflush(NULL);
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
            FILE *f = fopen(path, "wb");
            size_t put = f ? fwrite(buf, 1, len, f) : 0;
            if (extra && f)
                fputc('!', f);
            _exit(f && put == len && fclose(f) == 0 ? 0 : 1);
        }
        if (extra)
            expect_load_error(path, SR_ERR_FORMAT, "is 168001 bytes");
        else
            expect_features(path, "<f8", 300, 70);
        int status;
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    unlink(path);
    free(buf);
}

/* Loading .npy features holds them once: the peak resident memory of a
 * process that loads a 64 MB float32 file (raw, then gzip'ed) grows by
 * about 64 MB, not the 128 MB of reading the file into a buffer first. */
static void test_features_peak_memory(void **state)
{
    (void)state;
    const size_t rows = 16384, cols = 1024; /* 64 MiB of float32 */
    size_t len;
    uint8_t *buf = make_x("<f4", rows, cols, &len);
    char raw[256], gz[256];
    test_write_tmp(raw, ".npy", buf, len);
    test_write_tmp(gz, ".npy.gz", "", 0);
    write_gzip(gz, buf, len, 0);
    free(buf);
    const char *paths[2] = {raw, gz};
    for (int i = 0; i < 2; i++) {
        fflush(NULL);
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
            /* A new program: a forked copy of this one cannot start the
             * OpenMP threads the loader uses (GCC's libgomp does not
             * survive a fork once its threads exist). */
            execl("/proc/self/exe", "test_npy", "--peak-child", paths[i],
                  (char *)NULL);
            _exit(127);
        }
        int status;
        assert_int_equal(waitpid(child, &status, 0), child);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            print_error("%s: loading grew the peak memory by more than 80 MB "
                        "for 64 MB of features (status %d)\n", paths[i],
                        WIFEXITED(status) ? WEXITSTATUS(status) : -1);
            fail();
        }
    }
    unlink(raw);
    unlink(gz);
}

/* The child of test_features_peak_memory: loads `path`, exits 0 when the
 * peak resident memory grew by about its 64 MB of features. */
static int peak_child(const char *path)
{
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    sr_dataset *ds = NULL;
    if (sr_dataset_load_npy(path, NULL, SR_TASK_UNLABELLED, &ds, NULL) != SR_OK)
        return 2;
    getrusage(RUSAGE_SELF, &after);
    long grew_kb = after.ru_maxrss - before.ru_maxrss;
    sr_dataset_free(ds);
    /* 64 MiB is 65536 kB; allow 25% for the rest. */
    return grew_kb < 65536 + 16384 ? 0 : 3;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--peak-child") == 0)
        return peak_child(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_matches_numpy_save),
        cmocka_unit_test(test_write_round_trip_784x100),
        cmocka_unit_test(test_write_bad_path),
        cmocka_unit_test(test_read_float_fixtures),
        cmocka_unit_test(test_read_integer_fixtures),
        cmocka_unit_test(test_read_empty_arrays),
        cmocka_unit_test(test_header_variants),
        cmocka_unit_test(test_to_i64_refuses_fractions),
        cmocka_unit_test(test_to_f32_refuses_out_of_range),
        cmocka_unit_test(test_bad_preamble),
        cmocka_unit_test(test_truncated_header),
        cmocka_unit_test(test_bad_dict),
        cmocka_unit_test(test_unsupported_dtype),
        cmocka_unit_test(test_refused_fixtures),
        cmocka_unit_test(test_data_length_mismatch),
        cmocka_unit_test(test_overflowing_shape),
        cmocka_unit_test(test_corrupted_bytes),
        cmocka_unit_test(test_features_every_dtype_in_pieces),
        cmocka_unit_test(test_features_bad_value_in_later_piece),
        cmocka_unit_test(test_features_length_errors),
        cmocka_unit_test(test_features_from_a_fifo),
        cmocka_unit_test(test_features_peak_memory),
    };
    return cmocka_run_group_tests_name("npy", tests, NULL, NULL);
}
