/* Data sets over the caller's arrays (sr_dataset_view_*): the same model
 * as a copied data set, the caller's memory neither copied nor freed (the
 * sanitizers and valgrind see a double free or a leak), and every check a
 * file's reader makes. */
#include "testutil.h"

enum { M = 60, N = 4, K = 3 };

/* Three blobs, deterministic. */
static void make_blobs(float *X, int32_t *y)
{
    for (size_t i = 0; i < M; i++) {
        y[i] = (int32_t)(i % K);
        for (size_t j = 0; j < N; j++)
            X[i * N + j] = (float)((j == (size_t)y[i]) * 2.0 +
                                   0.1 * (double)((i * 7 + j * 3) % 11) - 0.5);
    }
}

static sr_model *train_on(const sr_dataset *ds)
{
    sr_error err;
    sr_model *model = NULL;
    sr_train_params p = sr_train_params_default();
    p.epochs = 3;
    p.batch = 10;
    p.lr = 0.5;
    p.bias = 1;
    p.evaluate = 0;
    assert_int_equal(sr_train(ds, NULL, &p, NULL, NULL, &model, &err), SR_OK);
    return model;
}

static void assert_same_params(const sr_model *a, const sr_model *b)
{
    assert_int_equal(sr_model_param_count(a), sr_model_param_count(b));
    for (size_t i = 0; i < sr_model_param_count(a); i++) {
        size_t r1, c1, r2, c2;
        const float *p1 = sr_model_param(a, i, NULL, &r1, &c1);
        const float *p2 = sr_model_param(b, i, NULL, &r2, &c2);
        assert_int_equal(r1 * c1, r2 * c2);
        assert_memory_equal(p1, p2, r1 * c1 * sizeof *p1);
    }
}

static void test_dense_view_trains_as_a_copy(void **state)
{
    (void)state;
    float X[M * N];
    int32_t y[M];
    make_blobs(X, y);
    sr_error err;
    sr_dataset *copy = NULL, *view = NULL;
    assert_int_equal(sr_dataset_from_arrays(X, M, N, y, NULL, 0, &copy, &err), SR_OK);
    assert_int_equal(sr_dataset_view_dense(X, M, N, y, NULL, 0, &view, &err), SR_OK);
    assert_int_equal(sr_dataset_classes(view), K);
    sr_model *a = train_on(copy), *b = train_on(view);
    assert_same_params(a, b);
    sr_model_free(a);
    sr_model_free(b);
    sr_dataset_free(copy);
    sr_dataset_free(view);
    /* The caller's arrays are intact and still the caller's to use. */
    assert_int_equal(y[M - 1], (M - 1) % K);
}

/* CSR of the same blobs, every entry stored: the same model as dense. */
static void test_csr_view_trains_as_dense(void **state)
{
    (void)state;
    float X[M * N];
    int32_t y[M];
    size_t ptr[M + 1];
    uint32_t col[M * N];
    make_blobs(X, y);
    for (size_t i = 0; i <= M; i++)
        ptr[i] = i * N;
    for (size_t p = 0; p < M * N; p++)
        col[p] = (uint32_t)(p % N);
    sr_error err;
    sr_dataset *dense = NULL, *csr = NULL;
    assert_int_equal(sr_dataset_view_dense(X, M, N, y, NULL, 0, &dense, &err), SR_OK);
    assert_int_equal(sr_dataset_view_csr(ptr, col, X, M, N, y, NULL, 0, &csr, &err), SR_OK);
    assert_true(sr_dataset_is_sparse(csr));
    sr_model *a = train_on(dense), *b = train_on(csr);
    float pa[M * K], pb[M * K];
    assert_int_equal(sr_model_predict_proba(a, dense, pa, &err), SR_OK);
    assert_int_equal(sr_model_predict_proba(b, csr, pb, &err), SR_OK);
    for (size_t i = 0; i < M * K; i++)
        assert_float_equal(pa[i], pb[i], 1e-5);
    sr_model_free(a);
    sr_model_free(b);
    sr_dataset_free(dense);
    sr_dataset_free(csr);
}

static void test_pixel_views(void **state)
{
    (void)state;
    /* Mostly non-zero images stay in place; mostly-zero ones are listed:
     * both read pixel v as v / 255. */
    uint8_t full[4 * 6], sparse[4 * 6];
    for (size_t i = 0; i < 24; i++) {
        full[i] = (uint8_t)(1 + i * 10);
        sparse[i] = i % 5 == 0 ? (uint8_t)(i * 10) : 0;
    }
    const int32_t y[4] = {0, 1, 0, 1};
    sr_error err;
    sr_dataset *a = NULL, *b = NULL;
    assert_int_equal(sr_dataset_view_pixels(full, 4, 6, y, NULL, 0, &a, &err), SR_OK);
    assert_int_equal(sr_dataset_view_pixels(sparse, 4, 6, y, NULL, 0, &b, &err), SR_OK);
    assert_false(sr_dataset_is_sparse(a));
    assert_true(sr_dataset_is_sparse(b));
    float row[6];
    uint8_t back[24];
    assert_int_equal(sr_dataset_copy_features(a, 1, 1, row, &err), SR_OK);
    assert_true(row[0] == (float)full[6] / 255.0f);
    assert_int_equal(sr_dataset_copy_pixels(b, 0, 4, back, &err), SR_OK);
    assert_memory_equal(back, sparse, sizeof back);
    sr_dataset_free(a);
    sr_dataset_free(b);
}

static void test_targets_and_unlabelled(void **state)
{
    (void)state;
    const float X[6] = {0, 1, 2, 3, 4, 5};
    const float t[3] = {1, 3, 5};
    sr_error err;
    sr_dataset *reg = NULL, *bare = NULL;
    assert_int_equal(sr_dataset_view_dense(X, 3, 2, NULL, t, 1, &reg, &err), SR_OK);
    assert_int_equal(sr_dataset_targets(reg), 1);
    assert_int_equal(sr_dataset_view_dense(X, 3, 2, NULL, NULL, 0, &bare, &err), SR_OK);
    assert_int_equal(sr_dataset_classes(bare), 0);
    sr_dataset_free(reg);
    sr_dataset_free(bare);
}

static void expect_refused(sr_status st, const sr_error *err, const char *words)
{
    assert_int_equal(st, SR_ERR_INVALID_ARG);
    if (!strstr(err->message, words))
        fail_msg("message \"%s\" does not say \"%s\"", err->message, words);
}

static void test_bad_views_are_refused(void **state)
{
    (void)state;
    float X[4] = {1, NAN, 0, 2};
    const int32_t y[2] = {0, -1}, ok[2] = {0, 1};
    sr_error err;
    sr_dataset *ds = (sr_dataset *)&err; /* must stay untouched */
    expect_refused(sr_dataset_view_dense(X, 2, 2, ok, NULL, 0, &ds, &err), &err,
                   "X[0][1] is not finite");
    X[1] = 1;
    expect_refused(sr_dataset_view_dense(X, 2, 2, y, NULL, 0, &ds, &err), &err,
                   "y[1] = -1 is negative");
    expect_refused(sr_dataset_view_dense(X, 0, 2, ok, NULL, 0, &ds, &err), &err,
                   "needs rows");
    const size_t ptr[3] = {0, 2, 3};
    const uint32_t unsorted[3] = {1, 0, 1}, wide[3] = {0, 1, 5};
    expect_refused(sr_dataset_view_csr(ptr, unsorted, X, 2, 2, ok, NULL, 0, &ds, &err),
                   &err, "not strictly increasing");
    expect_refused(sr_dataset_view_csr(ptr, wide, X, 2, 2, ok, NULL, 0, &ds, &err),
                   &err, "column 5 of 2");
    const size_t backwards[3] = {0, 3, 2};
    expect_refused(sr_dataset_view_csr(backwards, wide, X, 2, 8, ok, NULL, 0, &ds, &err),
                   &err, "ends (2) before it starts (3)");
    assert_ptr_equal(ds, (sr_dataset *)&err);
}

static void test_names(void **state)
{
    (void)state;
    float X[M * N];
    int32_t y[M];
    make_blobs(X, y);
    sr_error err;
    sr_dataset *ds = NULL;
    assert_int_equal(sr_dataset_view_dense(X, M, N, y, NULL, 0, &ds, &err), SR_OK);
    const char *two[2] = {"a", "b"}, *four[4] = {"ant", "bee", "cat", "dog"};
    const char *cols[N] = {"w", "x", "y", "z"};
    expect_refused(sr_dataset_set_class_names(ds, two, 2, &err), &err,
                   "2 class names for labels up to 2");
    /* More names than labels seen: a class the rows lack still counts. */
    assert_int_equal(sr_dataset_set_class_names(ds, four, 4, &err), SR_OK);
    assert_int_equal(sr_dataset_classes(ds), 4);
    assert_int_equal(sr_dataset_set_feature_names(ds, cols, N, &err), SR_OK);
    expect_refused(sr_dataset_set_feature_names(ds, cols, 2, &err), &err,
                   "2 feature names for 4 features");
    sr_train_params p = sr_train_params_default();
    p.epochs = 1;
    p.batch = 10;
    p.evaluate = 0;
    sr_model *model = NULL;
    assert_int_equal(sr_train(ds, NULL, &p, NULL, NULL, &model, &err), SR_OK);
    assert_string_equal(sr_model_class_name(model, 3), "dog");
    assert_string_equal(sr_model_feature_name(model, 2), "y");
    sr_model_free(model);
    sr_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_view_trains_as_a_copy),
        cmocka_unit_test(test_csr_view_trains_as_dense),
        cmocka_unit_test(test_pixel_views),
        cmocka_unit_test(test_targets_and_unlabelled),
        cmocka_unit_test(test_bad_views_are_refused),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
