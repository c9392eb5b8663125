/* The homework's functions against the course's published values, AI
 * VIETNAM's worked step, and central-difference gradients computed here in
 * double precision (an implementation independent of the library's). */
#include "testutil.h"

/* ---- an independent double-precision reference ---- */

/* Mean softmax loss of X theta over rows [r0, r0+B). */
static double ref_softmax_loss(const double *X, const uint8_t *y,
                               const double *theta, size_t r0, size_t B,
                               size_t n, size_t k)
{
    double total = 0;
    for (size_t i = r0; i < r0 + B; i++) {
        double z[32], mx = -INFINITY, s = 0;
        for (size_t c = 0; c < k; c++) {
            z[c] = 0;
            for (size_t j = 0; j < n; j++)
                z[c] += X[i * n + j] * theta[j * k + c];
            mx = z[c] > mx ? z[c] : mx;
        }
        for (size_t c = 0; c < k; c++)
            s += exp(z[c] - mx);
        total += log(s) + mx - z[y[i]];
    }
    return total / (double)B;
}

/* Mean loss of ReLU(X W1) W2 over rows [r0, r0+B). */
static double ref_nn_loss(const double *X, const uint8_t *y, const double *W1,
                          const double *W2, size_t r0, size_t B, size_t n,
                          size_t d, size_t k)
{
    double total = 0;
    for (size_t i = r0; i < r0 + B; i++) {
        double h[32], z[32], mx = -INFINITY, s = 0;
        for (size_t a = 0; a < d; a++) {
            h[a] = 0;
            for (size_t j = 0; j < n; j++)
                h[a] += X[i * n + j] * W1[j * d + a];
            h[a] = h[a] > 0 ? h[a] : 0;
        }
        for (size_t c = 0; c < k; c++) {
            z[c] = 0;
            for (size_t a = 0; a < d; a++)
                z[c] += h[a] * W2[a * k + c];
            mx = z[c] > mx ? z[c] : mx;
        }
        for (size_t c = 0; c < k; c++)
            s += exp(z[c] - mx);
        total += log(s) + mx - z[y[i]];
    }
    return total / (double)B;
}

static uint64_t lcg_state = 12345;
static double urand(void) /* uniform in [-1, 1) */
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg_state >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static void random_problem(float *Xf, double *Xd, uint8_t *y, size_t m,
                           size_t n, size_t k)
{
    for (size_t i = 0; i < m * n; i++) {
        /* Some exact zeros, as in images, exercise the skipped features. */
        float v = (i % 5 == 0) ? 0.0f : (float)urand();
        Xf[i] = v;
        Xd[i] = v;
    }
    for (size_t i = 0; i < m; i++)
        y[i] = (uint8_t)(i * 7 % k);
}

/* ---- AI VIETNAM's worked softmax step ---- */

static void test_aivietnam_softmax_step(void **state)
{
    (void)state;
    /* theta = [b0 b1 w0 w1]; x = [1, 0.5] carries the bias as a feature. */
    float X[2] = {1.0f, 0.5f};
    uint8_t y[1] = {0};
    float theta[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    float Z[2] = {0.1f + 0.3f * 0.5f, 0.2f + 0.4f * 0.5f};
    assert_close(Z[0], 0.25, 1e-7);
    assert_close(Z[1], 0.40, 1e-7);
    double loss, e;
    assert_sr_ok(sr_loss_err(Z, y, 1, 2, &loss, &e, NULL));
    assert_close(loss, 0.7710, 5e-5);
    assert_close(exp(-loss), 0.4626, 5e-5); /* probability of class 0 */

    /* lr = 1: theta - theta' is the gradient. */
    float t1[4];
    memcpy(t1, theta, sizeof t1);
    assert_sr_ok(sr_softmax_regression_epoch(X, y, t1, 1, 2, 2, 1.0f, 1, NULL));
    const double grad[4] = {-0.5374, 0.5374, -0.2687, 0.2687};
    for (int i = 0; i < 4; i++)
        assert_close(theta[i] - t1[i], grad[i], 5e-5);

    /* The slides say eta = 0.1 (their figures use 0.01); the mathematics
     * with eta = 0.1 gives theta - 0.1 * grad. */
    memcpy(t1, theta, sizeof t1);
    assert_sr_ok(sr_softmax_regression_epoch(X, y, t1, 1, 2, 2, 0.1f, 1, NULL));
    const double expect[4] = {0.15374, 0.14626, 0.32687, 0.37313};
    for (int i = 0; i < 4; i++)
        assert_close(t1[i], expect[i], 5e-5);
}

/* ---- stability ---- */

static void test_softmax_loss_extreme_logits(void **state)
{
    (void)state;
    float Z[6] = {1e4f, -1e4f, 0.0f, -1e4f, -1e4f, 1e4f};
    uint8_t y[2] = {0, 0};
    double loss;
    assert_sr_ok(sr_softmax_loss(Z, y, 2, 3, &loss, NULL));
    /* Row 0: the true class dominates, loss 0. Row 1: loss = 2e4. */
    assert_true(isfinite(loss));
    assert_close(loss, (0.0 + 2e4) / 2, 1e-6);

    float theta[6] = {0};
    float X[2] = {1e4f, -1e4f};
    uint8_t y1[1] = {2};
    float big_theta[6] = {1, -1, 0, -1, 1, 0};
    memcpy(theta, big_theta, sizeof theta);
    assert_sr_ok(sr_softmax_regression_epoch(X, y1, theta, 1, 2, 3, 0.5f, 1, NULL));
    for (int i = 0; i < 6; i++)
        assert_true(isfinite(theta[i]));
}

static void test_loss_err_ties_and_errors(void **state)
{
    (void)state;
    /* A tie between classes 0 and 1: argmax takes the first, as NumPy. */
    float Z[6] = {1, 1, 0, 0, 2, 1};
    uint8_t y[2] = {1, 1};
    double loss, e;
    assert_sr_ok(sr_loss_err(Z, y, 2, 3, &loss, &e, NULL));
    assert_close(e, 0.5, 0);
    double l0 = log(exp(1) + exp(1) + 1) - 1, l1 = log(1 + exp(2) + exp(1)) - 2;
    assert_close(loss, (l0 + l1) / 2, 1e-12);
    sr_error err;
    uint8_t bad[2] = {1, 3};
    assert_int_equal(sr_loss_err(Z, bad, 2, 3, &loss, &e, &err), SR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "y[1] = 3"));
}

/* ---- gradient checks by central differences ---- */

static void test_gradcheck_softmax(void **state)
{
    (void)state;
    enum { m = 13, n = 7, k = 5 };
    float Xf[m * n], theta[n * k];
    double Xd[m * n], td[n * k];
    uint8_t y[m];
    random_problem(Xf, Xd, y, m, n, k);
    for (size_t i = 0; i < n * k; i++)
        td[i] = theta[i] = (float)(0.5 * urand());
    /* One full-batch step with lr = 1 moves theta by minus the gradient. */
    float t1[n * k];
    memcpy(t1, theta, sizeof t1);
    assert_sr_ok(sr_softmax_regression_epoch(Xf, y, t1, m, n, k, 1.0f, m, NULL));
    const double h = 1e-6;
    for (size_t p = 0; p < n * k; p++) {
        double keep = td[p];
        td[p] = keep + h;
        double up = ref_softmax_loss(Xd, y, td, 0, m, n, k);
        td[p] = keep - h;
        double down = ref_softmax_loss(Xd, y, td, 0, m, n, k);
        td[p] = keep;
        assert_close(theta[p] - t1[p], (up - down) / (2 * h), 2e-6);
    }
}

/* An epoch with a last partial minibatch equals, step by step, gradient
 * steps computed numerically on each minibatch with its own size. */
static void test_softmax_partial_last_batch(void **state)
{
    (void)state;
    enum { m = 13, n = 7, k = 5, batch = 5 };
    float Xf[m * n], theta[n * k];
    double Xd[m * n], td[n * k], g[n * k];
    uint8_t y[m];
    random_problem(Xf, Xd, y, m, n, k);
    for (size_t i = 0; i < n * k; i++)
        td[i] = theta[i] = (float)(0.5 * urand());
    assert_sr_ok(sr_softmax_regression_epoch(Xf, y, theta, m, n, k, 0.5f, batch, NULL));
    const double h = 1e-6;
    for (size_t r0 = 0; r0 < m; r0 += batch) {
        size_t B = m - r0 < batch ? m - r0 : batch;
        for (size_t p = 0; p < n * k; p++) {
            double keep = td[p];
            td[p] = keep + h;
            double up = ref_softmax_loss(Xd, y, td, r0, B, n, k);
            td[p] = keep - h;
            double down = ref_softmax_loss(Xd, y, td, r0, B, n, k);
            td[p] = keep;
            g[p] = (up - down) / (2 * h);
        }
        for (size_t p = 0; p < n * k; p++)
            td[p] -= 0.5 * g[p];
    }
    for (size_t p = 0; p < n * k; p++)
        assert_close(theta[p], td[p], 1e-5);
}

static void test_gradcheck_nn(void **state)
{
    (void)state;
    enum { m = 11, n = 6, d = 9, k = 4 };
    float Xf[m * n], W1[n * d], W2[d * k];
    double Xd[m * n], W1d[n * d], W2d[d * k];
    uint8_t y[m];
    random_problem(Xf, Xd, y, m, n, k);
    for (size_t i = 0; i < n * d; i++)
        W1d[i] = W1[i] = (float)urand();
    for (size_t i = 0; i < d * k; i++)
        W2d[i] = W2[i] = (float)urand();
    float V1[n * d], V2[d * k];
    memcpy(V1, W1, sizeof V1);
    memcpy(V2, W2, sizeof V2);
    assert_sr_ok(sr_nn_epoch(Xf, y, V1, V2, m, n, d, k, 1.0f, m, NULL));
    const double h = 1e-6;
    for (size_t p = 0; p < n * d; p++) {
        double keep = W1d[p];
        W1d[p] = keep + h;
        double up = ref_nn_loss(Xd, y, W1d, W2d, 0, m, n, d, k);
        W1d[p] = keep - h;
        double down = ref_nn_loss(Xd, y, W1d, W2d, 0, m, n, d, k);
        W1d[p] = keep;
        assert_close(W1[p] - V1[p], (up - down) / (2 * h), 5e-6);
    }
    for (size_t p = 0; p < d * k; p++) {
        double keep = W2d[p];
        W2d[p] = keep + h;
        double up = ref_nn_loss(Xd, y, W1d, W2d, 0, m, n, d, k);
        W2d[p] = keep - h;
        double down = ref_nn_loss(Xd, y, W1d, W2d, 0, m, n, d, k);
        W2d[p] = keep;
        assert_close(W2[p] - V2[p], (up - down) / (2 * h), 5e-6);
    }
}

/* ---- minibatch bookkeeping ---- */

static void test_batch_sizes(void **state)
{
    (void)state;
    enum { m = 13, n = 7, k = 5 };
    float Xf[m * n];
    double Xd[m * n];
    uint8_t y[m];
    random_problem(Xf, Xd, y, m, n, k);
    /* batch > m is one batch of m rows, with its own size. */
    float a[n * k] = {0}, b[n * k] = {0};
    assert_sr_ok(sr_softmax_regression_epoch(Xf, y, a, m, n, k, 0.3f, 1000, NULL));
    assert_sr_ok(sr_softmax_regression_epoch(Xf, y, b, m, n, k, 0.3f, m, NULL));
    assert_memory_equal(a, b, sizeof a);
    /* batch = 1 is plain SGD: m single-example steps. */
    float c[n * k] = {0}, s[n * k] = {0};
    assert_sr_ok(sr_softmax_regression_epoch(Xf, y, c, m, n, k, 0.3f, 1, NULL));
    for (size_t i = 0; i < m; i++)
        assert_sr_ok(sr_softmax_regression_epoch(Xf + i * n, y + i, s, 1, n, k,
                                                 0.3f, 1, NULL));
    assert_memory_equal(c, s, sizeof c);
    /* A zero batch and bad labels are refused, theta untouched. */
    sr_error err;
    float keep[n * k];
    memcpy(keep, c, sizeof keep);
    assert_int_equal(sr_softmax_regression_epoch(Xf, y, c, m, n, k, 0.3f, 0, &err),
                     SR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "batch"));
    assert_int_equal(sr_softmax_regression_epoch(Xf, y, c, m, n, 3, 0.3f, 5, &err),
                     SR_ERR_INVALID_ARG);
    assert_memory_equal(c, keep, sizeof c);
    assert_int_equal(sr_softmax_regression_epoch(Xf, y, c, m, n, k, -1.0f, 5, &err),
                     SR_ERR_INVALID_ARG);
}

/* ---- the course's published values on MNIST ---- */

static sr_dataset *mnist_train;

static int load_mnist(void **state)
{
    (void)state;
    sr_error err;
    if (sr_dataset_load_mnist(test_mnist_dir(), "train", &mnist_train, &err)) {
        fprintf(stderr, "%s (run scripts/fetch-mnist)\n", err.message);
        return -1;
    }
    return 0;
}

static int free_mnist(void **state)
{
    (void)state;
    sr_dataset_free(mnist_train);
    return 0;
}

static void test_mnist_softmax_loss_of_zeros(void **state)
{
    (void)state;
    size_t m = sr_dataset_rows(mnist_train);
    float *Z = calloc(m * 10, sizeof *Z);
    int32_t *y32 = malloc(m * sizeof *y32);
    uint8_t *y = malloc(m);
    assert_sr_ok(sr_dataset_copy_labels(mnist_train, 0, m, y32, NULL));
    for (size_t i = 0; i < m; i++)
        y[i] = (uint8_t)y32[i];
    double loss;
    assert_sr_ok(sr_softmax_loss(Z, y, m, 10, &loss, NULL));
    assert_close(loss, 2.3025850, 1e-7);
    free(Z);
    free(y32);
    free(y);
}

static void test_mnist_softmax_epoch_first_100(void **state)
{
    (void)state;
    float *X = malloc(100 * 784 * sizeof *X);
    int32_t y32[100];
    uint8_t y[100];
    assert_sr_ok(sr_dataset_copy_features(mnist_train, 0, 100, X, NULL));
    assert_sr_ok(sr_dataset_copy_labels(mnist_train, 0, 100, y32, NULL));
    for (int i = 0; i < 100; i++)
        y[i] = (uint8_t)y32[i];
    float *theta = calloc(784 * 10, sizeof *theta);
    assert_sr_ok(sr_softmax_regression_epoch(X, y, theta, 100, 784, 10, 0.1f, 10, NULL));
    double s = 0;
    for (int i = 0; i < 7840; i++)
        s += (double)theta[i] * theta[i];
    assert_close(sqrt(s), 1.0947356, 1e-5);
    free(X);
    free(theta);
}

static int last_epoch(const sr_epoch_stats *st, void *user)
{
    *(sr_epoch_stats *)user = *st;
    return 0;
}

static double block_norm(const sr_model *model, size_t index)
{
    size_t rows, cols;
    const float *w = sr_model_param(model, index, NULL, &rows, &cols);
    double s = 0;
    for (size_t i = 0; i < rows * cols; i++)
        s += (double)w[i] * w[i];
    return sqrt(s);
}

/* The homework's nn_epoch check: seed-0 NumPy initialisation, hidden 100,
 * one epoch over the training set with lr 0.2, batch 100. */
static void test_mnist_nn_one_epoch(void **state)
{
    (void)state;
    sr_train_params p = sr_train_params_default();
    p.model = SR_MODEL_NN;
    p.hidden = 100;
    p.epochs = 1;
    p.lr = 0.2;
    p.batch = 100;
    p.init = SR_INIT_NUMPY;
    p.seed = 0;
    sr_epoch_stats st;
    sr_model *model = NULL;
    assert_sr_ok(sr_train(mnist_train, NULL, &p, last_epoch, &st, &model, NULL));
    assert_close(block_norm(model, 0), 28.437788, 1e-5);
    assert_close(block_norm(model, 1), 10.455095, 1e-5);
    assert_close(st.train_loss, 0.19770025, 1e-4);
    assert_close(st.train_err, 0.06006667, 1e-4);
    sr_model_free(model);
}

/* The number of classes comes from the data set or the parameters, never
 * from one minibatch. */
static void test_classes_from_params(void **state)
{
    (void)state;
    sr_error err;
    sr_dataset *ds;
    assert_sr_ok(sr_dataset_load_mnist(test_mnist_dir(), "t10k", &ds, &err));
    assert_sr_ok(sr_dataset_truncate(ds, 3, NULL)); /* labels 7 2 1 */
    sr_train_params p = sr_train_params_default();
    p.epochs = 1;
    p.batch = 2;
    sr_model *model = NULL;
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &model, NULL));
    /* The file's classes (1 + its largest label), though these 3 rows hold
     * only 1, 2 and 7: truncating a data set keeps its classes. */
    assert_int_equal(sr_model_classes(model), 10);
    sr_model_free(model);
    p.classes = 12;
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &model, NULL));
    assert_int_equal(sr_model_classes(model), 12);
    sr_model_free(model);
    p.classes = 5; /* below a label: refused */
    model = NULL;
    assert_int_equal(sr_train(ds, NULL, &p, NULL, NULL, &model, &err),
                     SR_ERR_INVALID_ARG);
    assert_null(model);
    assert_non_null(strstr(err.message, "label 7"));
    sr_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest small[] = {
        cmocka_unit_test(test_aivietnam_softmax_step),
        cmocka_unit_test(test_softmax_loss_extreme_logits),
        cmocka_unit_test(test_loss_err_ties_and_errors),
        cmocka_unit_test(test_gradcheck_softmax),
        cmocka_unit_test(test_softmax_partial_last_batch),
        cmocka_unit_test(test_gradcheck_nn),
        cmocka_unit_test(test_batch_sizes),
    };
    const struct CMUnitTest mnist[] = {
        cmocka_unit_test(test_mnist_softmax_loss_of_zeros),
        cmocka_unit_test(test_mnist_softmax_epoch_first_100),
        cmocka_unit_test(test_mnist_nn_one_epoch),
        cmocka_unit_test(test_classes_from_params),
    };
    int failed = cmocka_run_group_tests_name("homework", small, NULL, NULL);
    failed += cmocka_run_group_tests_name("mnist", mnist, load_mnist, free_mnist);
    return failed ? 1 : 0;
}
