/* Allocation failures (and a wrong gradient for the gradient check, at
 * the end): linked against build/fault/libsoftreg.a (built with
 * -DSR_FAULT_INJECTION), where sr_fault_fail_at = N makes the N-th call of
 * sr_alloc fail. For every N from 1 until a run makes fewer than N
 * allocations, each operation below (loading an IDX pair, parsing CSV,
 * LIBSVM, .npy and a model file, a tiny training run) must return
 * SR_ERR_NOMEM with a message, leave its output untouched, and free every
 * block it took (sr_fault_live counts the blocks handed out by sr_alloc and
 * not yet given back); once N is past its allocations it must succeed.
 * `make sanitize` runs this under AddressSanitizer as well. */
#include "testutil.h"

#include <stdatomic.h>

#include <zlib.h>

#include "data/idx.h"
#include "data/tabular.h"
#include "io/model_file.h"
#include "data/npy.h"

#ifndef SR_FAULT_INJECTION
#error "test_oom needs the library built with -DSR_FAULT_INJECTION"
#endif

/* Defined in src/core/alloc.c and src/train/gradcheck.c under
 * SR_FAULT_INJECTION. */
extern double sr_fault_gradient_error;
extern atomic_long sr_fault_fail_at;
extern atomic_long sr_fault_count;
extern atomic_long sr_fault_live;

/* An operation under test: runs and frees everything it made. Sets
 * *touched when it failed and its output was changed anyway. */
typedef sr_status (*op_fn)(const void *ctx, sr_error *err, int *touched);

/* Stops the sweep of a runaway operation. */
#define MAX_ALLOCATIONS 100000

/* Runs `op` with the N-th allocation failing, for N = 1, 2, ... until the
 * run is complete; returns the number of allocations of a complete run. */
static long sweep(const char *name, op_fn op, const void *ctx)
{
    for (long n = 1; n <= MAX_ALLOCATIONS; n++) {
        sr_error err;
        memset(&err, 0, sizeof err);
        int touched = 0;
        long live = atomic_load(&sr_fault_live);
        atomic_store(&sr_fault_count, 0);
        atomic_store(&sr_fault_fail_at, n);
        sr_status st = op(ctx, &err, &touched);
        atomic_store(&sr_fault_fail_at, 0);
        long calls = atomic_load(&sr_fault_count);
        long leaked = atomic_load(&sr_fault_live) - live;
        if (leaked != 0) {
            print_error("%s: allocation %ld failing: %ld block(s) leaked "
                        "(status %s: %s)\n", name, n, leaked,
                        sr_status_str(st), st ? err.message : "");
            fail();
        }
        if (calls < n) {
            /* The failure was never reached: a complete run. */
            if (st != SR_OK) {
                print_error("%s: with %ld allocations all succeeding: %s: "
                            "%s\n", name, calls, sr_status_str(st),
                            err.message);
                fail();
            }
            return calls;
        }
        if (st != SR_ERR_NOMEM) {
            print_error("%s: allocation %ld failed, but the status is %s "
                        "(expected out of memory)%s%s\n", name, n,
                        sr_status_str(st), st ? ": " : "",
                        st ? err.message : "");
            fail();
        }
        if (err.code != SR_ERR_NOMEM || err.message[0] == '\0') {
            print_error("%s: allocation %ld failed: the error is not filled "
                        "in (code %d, \"%s\")\n", name, n, (int)err.code,
                        err.message);
            fail();
        }
        if (touched) {
            print_error("%s: allocation %ld failed, and the output was "
                        "changed anyway\n", name, n);
            fail();
        }
    }
    print_error("%s: more than %d allocations\n", name, MAX_ALLOCATIONS);
    fail();
    return 0;
}

/* A never dereferenced address: a failed call must leave it in place. */
static max_align_t sentinel_storage;
#define SENTINEL ((void *)&sentinel_storage)

/* ---- Inputs, made once with allocation never failing ------------------------ */

static char idx_images[256], idx_images_gz[256], idx_labels[256];
static char csv_gz[256], model_path[256];
static char npy_x[256], npy_x_gz[256], npy_y[256];
static char *csv_text, *csv_train_text, *svm_text;
static uint8_t *npy_bytes, *model_bytes;
static size_t npy_len, model_len;
static sr_dataset *train_f32, *train_idx, *train_csr;

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint8_t *gzip_bytes(const void *in, size_t len, size_t *out_len)
{
    uLongf cap = compressBound((uLong)len) + 64;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8,
                                  Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    return out;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* 50 examples of 4 features, 3 classes (named, so the label mapping runs),
 * as CSV with a header. */
static char *make_csv(int named)
{
    static const char *const names[3] = {"setosa", "versicolor", "virginica"};
    size_t cap = 8192, used = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    used += (size_t)snprintf(s + used, cap - used, "a,b,c,d,species\n");
    for (int i = 0; i < 50; i++) {
        int cls = i % 3;
        char label[16];
        if (named)
            snprintf(label, sizeof label, "%s", names[cls]);
        else
            snprintf(label, sizeof label, "%d", cls);
        used += (size_t)snprintf(s + used, cap - used,
                                 "%.2f,%.2f,%.2f,%.2f,%s\n", 0.1 * i,
                                 1.0 + cls - 0.05 * i, 0.5 * cls,
                                 (i * 7 % 11) / 10.0, label);
        assert_true(used < cap);
    }
    return s;
}

static char *make_libsvm(void)
{
    size_t cap = 8192, used = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    used += (size_t)snprintf(s + used, cap - used, "# tiny\n");
    for (int i = 0; i < 50; i++) {
        int label = i % 2 ? 1 : -1;
        used += (size_t)snprintf(s + used, cap - used,
                                 "%+d 1:%.2f %d:%.2f 6:%d # row %d\n", label,
                                 0.1 * i, 2 + i % 4, 1.0 - 0.02 * i, label, i);
        assert_true(used < cap);
    }
    return s;
}

static void make_inputs(void)
{
    atomic_store(&sr_fault_fail_at, 0);
    /* IDX: 50 images of 4 x 4, labels 0..4; the images also gzip'ed. */
    enum { M = 50, R = 4, C = 4 };
    uint8_t img[16 + M * R * C], lab[8 + M];
    put_be32(img, SR_IDX_MAGIC_IMAGES);
    put_be32(img + 4, M);
    put_be32(img + 8, R);
    put_be32(img + 12, C);
    for (size_t i = 0; i < M * R * C; i++)
        img[16 + i] = (uint8_t)(i % 5 ? (i * 37) & 0xFF : 0);
    put_be32(lab, SR_IDX_MAGIC_LABELS);
    put_be32(lab + 4, M);
    for (size_t i = 0; i < M; i++)
        lab[8 + i] = (uint8_t)(i % 5);
    test_write_tmp(idx_images, "-images.idx", img, sizeof img);
    test_write_tmp(idx_labels, "-labels.idx", lab, sizeof lab);
    size_t zlen;
    uint8_t *z = gzip_bytes(img, sizeof img, &zlen);
    test_write_tmp(idx_images_gz, "-images.idx.gz", z, zlen);
    free(z);

    csv_text = make_csv(1);
    csv_train_text = make_csv(0);
    z = gzip_bytes(csv_text, strlen(csv_text), &zlen);
    test_write_tmp(csv_gz, ".csv.gz", z, zlen);
    free(z);
    svm_text = make_libsvm();

    /* .npy: a (5, 3) float64 array written by hand as numpy.save would. */
    static const char hdr[] = "{'descr': '<f8', 'fortran_order': False, "
                              "'shape': (5, 3), }";
    size_t hlen = 118; /* 10 + 118 = 128 */
    npy_len = 10 + hlen + 15 * 8;
    npy_bytes = malloc(npy_len);
    assert_non_null(npy_bytes);
    memcpy(npy_bytes, "\x93NUMPY\x01\x00", 8);
    npy_bytes[8] = (uint8_t)hlen;
    npy_bytes[9] = 0;
    memset(npy_bytes + 10, ' ', hlen);
    memcpy(npy_bytes + 10, hdr, sizeof hdr - 1);
    npy_bytes[10 + hlen - 1] = '\n';
    for (int i = 0; i < 15; i++) {
        double v = i * 0.5 - 2;
        memcpy(npy_bytes + 128 + 8 * i, &v, 8);
    }
    /* The same as files, raw and gzip'ed, with 5 int64 labels beside. */
    test_write_tmp(npy_x, "-x.npy", npy_bytes, npy_len);
    z = gzip_bytes(npy_bytes, npy_len, &zlen);
    test_write_tmp(npy_x_gz, "-x.npy.gz", z, zlen);
    free(z);
    static const char yhdr[] = "{'descr': '<i8', 'fortran_order': False, "
                               "'shape': (5,), }";
    uint8_t y[128 + 40];
    memcpy(y, "\x93NUMPY\x01\x00", 8);
    y[8] = (uint8_t)hlen;
    y[9] = 0;
    memset(y + 10, ' ', hlen);
    memcpy(y + 10, yhdr, sizeof yhdr - 1);
    y[10 + hlen - 1] = '\n';
    for (int i = 0; i < 5; i++) {
        int64_t v = 7 - 3 * (i % 2);
        memcpy(y + 128 + 8 * i, &v, 8);
    }
    test_write_tmp(npy_y, "-y.npy", y, sizeof y);

    sr_error err;
    /* Data sets to train on, one per layout: dense float, sparse pixels,
     * CSR. */
    assert_int_equal(sr_csv_parse(csv_train_text, strlen(csv_train_text),
                                  "train.csv", NULL, &train_f32, &err), SR_OK);
    assert_int_equal(sr_dataset_load_idx(idx_images, idx_labels, &train_idx,
                                         &err), SR_OK);
    assert_int_equal(sr_libsvm_parse(svm_text, strlen(svm_text), "train.svm",
                                     NULL, &train_csr, &err), SR_OK);

    /* A model file with everything a model file can hold: a trained nn with
     * biases, class names, standardisation. */
    sr_train_params p = sr_train_params_default();
    p.model = SR_MODEL_NN;
    p.hidden = 5;
    p.epochs = 1;
    p.bias = 1;
    p.standardize = 1;
    p.threads = 1;
    sr_dataset *named = NULL;
    assert_int_equal(sr_csv_parse(csv_text, strlen(csv_text), "named.csv",
                                  NULL, &named, &err), SR_OK);
    sr_model *m = NULL;
    sr_status st = sr_train(named, NULL, &p, NULL, NULL, &m, &err);
    if (st != SR_OK)
        fprintf(stderr, "test_oom: training the model to save: %s\n",
                err.message);
    assert_int_equal(st, SR_OK);
    snprintf(model_path, sizeof model_path, "/tmp/softreg-oom-%ld.srm",
             (long)getpid());
    assert_int_equal(sr_model_save(m, model_path, &err), SR_OK);
    sr_model_free(m);
    sr_dataset_free(named);
    model_bytes = read_all(model_path, &model_len);
}

static void free_inputs(void)
{
    unlink(idx_images);
    unlink(idx_images_gz);
    unlink(idx_labels);
    unlink(csv_gz);
    unlink(npy_x);
    unlink(npy_x_gz);
    unlink(npy_y);
    unlink(model_path);
    free(csv_text);
    free(csv_train_text);
    free(svm_text);
    free(npy_bytes);
    free(model_bytes);
    sr_dataset_free(train_f32);
    sr_dataset_free(train_idx);
    sr_dataset_free(train_csr);
}

/* ---- The operations ---------------------------------------------------- */

static sr_status op_load_idx(const void *ctx, sr_error *err, int *touched)
{
    const char *images = ctx;
    sr_dataset *ds = SENTINEL;
    sr_status st = sr_dataset_load_idx(images, idx_labels, &ds, err);
    if (st == SR_OK)
        sr_dataset_free(ds);
    else
        *touched = ds != SENTINEL;
    return st;
}

static sr_status op_parse_csv(const void *ctx, sr_error *err, int *touched)
{
    (void)ctx;
    sr_dataset *ds = SENTINEL;
    sr_status st = sr_csv_parse(csv_text, strlen(csv_text), "oom.csv", NULL,
                                &ds, err);
    if (st == SR_OK)
        sr_dataset_free(ds);
    else
        *touched = ds != SENTINEL;
    return st;
}

static sr_status op_load_csv_gz(const void *ctx, sr_error *err, int *touched)
{
    (void)ctx;
    static const char *const classes[3] = {"setosa", "versicolor",
                                           "virginica"};
    sr_tabular_options o = sr_tabular_options_default();
    o.classes = classes;
    o.k = 3;
    sr_dataset *ds = SENTINEL;
    sr_status st = sr_dataset_load_csv(csv_gz, &o, &ds, err);
    if (st == SR_OK)
        sr_dataset_free(ds);
    else
        *touched = ds != SENTINEL;
    return st;
}

static sr_status op_parse_libsvm(const void *ctx, sr_error *err, int *touched)
{
    const sr_task *task = ctx;
    sr_tabular_options o = sr_tabular_options_default();
    o.task = *task;
    sr_dataset *ds = SENTINEL;
    sr_status st = sr_libsvm_parse(svm_text, strlen(svm_text), "oom.svm", &o,
                                   &ds, err);
    if (st == SR_OK)
        sr_dataset_free(ds);
    else
        *touched = ds != SENTINEL;
    return st;
}

static sr_status op_parse_npy(const void *ctx, sr_error *err, int *touched)
{
    (void)ctx;
    sr_npy_array arr, before;
    memset(&arr, 0x5A, sizeof arr);
    memcpy(&before, &arr, sizeof arr);
    sr_status st = sr_npy_parse(npy_bytes, npy_len, "oom.npy", &arr, err);
    if (st != SR_OK) {
        *touched = memcmp(&arr, &before, sizeof arr) != 0;
        return st;
    }
    float f[15];
    int64_t i64[15];
    assert_int_equal(arr.count, 15);
    assert_int_equal(sr_npy_to_f32(&arr, "oom.npy", f, err), SR_OK);
    st = sr_npy_to_i64(&arr, "oom.npy", i64, err);
    assert_int_equal(st, SR_ERR_FORMAT); /* -1.5 is not whole */
    sr_npy_array_free(&arr);
    return SR_OK;
}

/* Features streamed from a file into the data set, labels beside. */
static sr_status op_load_npy(const void *ctx, sr_error *err, int *touched)
{
    const char *x = ctx;
    sr_dataset *ds = SENTINEL;
    sr_status st = sr_dataset_load_npy(x, npy_y, SR_TASK_CLASSIFICATION, &ds,
                                       err);
    if (st == SR_OK) {
        assert_int_equal(sr_dataset_rows(ds), 5);
        assert_int_equal(sr_dataset_classes(ds), 2);
        sr_dataset_free(ds);
    } else {
        *touched = ds != SENTINEL;
    }
    return st;
}

static sr_status op_parse_model(const void *ctx, sr_error *err, int *touched)
{
    (void)ctx;
    sr_model *m = SENTINEL;
    sr_status st = sr_model_parse(model_bytes, model_len, "oom.srm", &m, err);
    if (st == SR_OK)
        sr_model_free(m);
    else
        *touched = m != SENTINEL;
    return st;
}

static sr_status op_load_model(const void *ctx, sr_error *err, int *touched)
{
    (void)ctx;
    sr_model *m = SENTINEL;
    sr_status st = sr_model_load(model_path, &m, err);
    if (st == SR_OK)
        sr_model_free(m);
    else
        *touched = m != SENTINEL;
    return st;
}

typedef struct train_case {
    const sr_dataset **data;
    sr_train_params params;
} train_case;

static sr_status op_train(const void *ctx, sr_error *err, int *touched)
{
    const train_case *tc = ctx;
    sr_model *m = SENTINEL;
    const sr_dataset *ds = *tc->data;
    sr_status st = sr_train(ds, ds, &tc->params, NULL, NULL, &m, err);
    if (st == SR_OK)
        sr_model_free(m);
    else
        *touched = m != SENTINEL;
    return st;
}

/* ---- Tests ---------------------------------------------------------------- */

static void report(const char *name, long calls)
{
    print_message("    %-40s %4ld allocations, each made to fail\n", name,
                  calls);
}

static void test_idx_pair(void **state)
{
    (void)state;
    report("IDX pair", sweep("IDX pair", op_load_idx, idx_images));
    report("IDX pair, images gzip'ed",
           sweep("IDX pair, images gzip'ed", op_load_idx, idx_images_gz));
}

static void test_csv(void **state)
{
    (void)state;
    report("CSV buffer", sweep("CSV buffer", op_parse_csv, NULL));
    report("CSV file, gzip'ed, reference classes",
           sweep("CSV file, gzip'ed", op_load_csv_gz, NULL));
}

static void test_libsvm(void **state)
{
    (void)state;
    static const sr_task cls = SR_TASK_CLASSIFICATION,
                         reg = SR_TASK_REGRESSION;
    report("LIBSVM, classification", sweep("LIBSVM", op_parse_libsvm, &cls));
    report("LIBSVM, regression", sweep("LIBSVM regression", op_parse_libsvm,
                                       &reg));
}

static void test_npy(void **state)
{
    (void)state;
    report(".npy", sweep(".npy", op_parse_npy, NULL));
    report(".npy features and labels", sweep(".npy files", op_load_npy, npy_x));
    report(".npy features gzip'ed, labels",
           sweep(".npy files, gzip'ed", op_load_npy, npy_x_gz));
}

static void test_model_file(void **state)
{
    (void)state;
    report("model buffer", sweep("model buffer", op_parse_model, NULL));
    report("model file", sweep("model file", op_load_model, NULL));
}

static sr_train_params tiny_params(sr_model_kind kind, size_t threads)
{
    sr_train_params p = sr_train_params_default();
    p.model = kind;
    p.hidden = 6;
    p.epochs = 2;
    p.batch = 16;
    p.lr = 0.1;
    p.threads = threads;
    p.evaluate = 1;
    return p;
}

static void run_train(const char *name, const sr_dataset **data,
                      sr_train_params p)
{
    train_case tc = {data, p};
    report(name, sweep(name, op_train, &tc));
}

static void test_train_softmax(void **state)
{
    (void)state;
    run_train("train softmax, dense", (const sr_dataset **)&train_f32,
              tiny_params(SR_MODEL_SOFTMAX, 1));
    run_train("train softmax, pixels", (const sr_dataset **)&train_idx,
              tiny_params(SR_MODEL_SOFTMAX, 1));
    run_train("train softmax, sparse", (const sr_dataset **)&train_csr,
              tiny_params(SR_MODEL_SOFTMAX, 1));
    run_train("train softmax, 2 threads", (const sr_dataset **)&train_f32,
              tiny_params(SR_MODEL_SOFTMAX, 2));
}

static void test_train_nn(void **state)
{
    (void)state;
    run_train("train nn, dense", (const sr_dataset **)&train_f32,
              tiny_params(SR_MODEL_NN, 1));
    run_train("train nn, pixels", (const sr_dataset **)&train_idx,
              tiny_params(SR_MODEL_NN, 1));
    run_train("train nn, 2 threads", (const sr_dataset **)&train_f32,
              tiny_params(SR_MODEL_NN, 2));
}

/* The family's options: biases, decay, momentum, shuffling, a validation
 * split, a feature map and standardisation; then the other optimisers. */
static void test_train_options(void **state)
{
    (void)state;
    sr_train_params p = tiny_params(SR_MODEL_SOFTMAX, 1);
    p.bias = 1;
    p.l2 = 1e-3;
    p.momentum = 0.9;
    p.shuffle = 1;
    p.val_split = 0.2;
    p.poly = 2;
    p.standardize = 1;
    run_train("train softmax, all options", (const sr_dataset **)&train_f32,
              p);
    p.model = SR_MODEL_NN;
    run_train("train nn, all options", (const sr_dataset **)&train_f32, p);
    p = tiny_params(SR_MODEL_SOFTMAX, 1);
    p.optimizer = SR_OPTIMIZER_GD;
    run_train("train softmax, GD", (const sr_dataset **)&train_f32, p);
    p.optimizer = SR_OPTIMIZER_LBFGS;
    p.max_iter = 3;
    run_train("train softmax, L-BFGS", (const sr_dataset **)&train_f32, p);
}

static int setup(void **state)
{
    (void)state;
    make_inputs();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free_inputs();
    return 0;
}

/* Not an allocation: the same build's other fault. A gradient check that
 * passes a right gradient must fail a wrong one: an error of 0.05 or of
 * 0.001 in the first weight's gradient (of the mean loss) is seen in its
 * block, well above the 1e-4 that `softreg gradcheck` calls ok, and
 * leaves the biases' block clean. */
static void test_gradcheck_sees_a_wrong_gradient(void **state)
{
    (void)state;
    sr_train_params p = tiny_params(SR_MODEL_SOFTMAX, 1);
    p.bias = 1;
    sr_model *model = NULL;
    sr_error err;
    assert_int_equal(sr_train(train_f32, NULL, &p, NULL, NULL, &model, &err),
                     SR_OK);
    const double errors[3] = {0.0, 0.05, 0.001};
    double rel[3][2];
    for (int i = 0; i < 3; i++) {
        sr_fault_gradient_error = errors[i];
        sr_status st = sr_model_gradcheck(model, train_f32, 64, 0.0, 50,
                                          rel[i], &err);
        sr_fault_gradient_error = 0.0;
        assert_int_equal(st, SR_OK);
    }
    assert_true(rel[0][0] < 1e-4 && rel[0][1] < 1e-4);
    assert_true(rel[1][0] > 0.1);
    assert_true(rel[2][0] > 1e-3);
    assert_true(rel[1][1] < 1e-4 && rel[2][1] < 1e-4);
    sr_model_free(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_pair),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_libsvm),
        cmocka_unit_test(test_npy),
        cmocka_unit_test(test_model_file),
        cmocka_unit_test(test_train_softmax),
        cmocka_unit_test(test_train_nn),
        cmocka_unit_test(test_train_options),
        cmocka_unit_test(test_gradcheck_sees_a_wrong_gradient),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
