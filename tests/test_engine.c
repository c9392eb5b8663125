/* The training engine: the sparse listing of pixels at load, the full
 * gradient against a sum in double, thread-count invariance of training,
 * the evaluation beside SGD, interrupted epochs, and the course's numbers
 * for every kernel table. (The kernels one by one: test_kernels.c.) */
#include "testutil.h"

#include "kernels/kernels.h"
#include "train/engine.h"

static const char *const ARCHES[] = {"ref", "avx2", "avx512"};
#define NARCH (sizeof ARCHES / sizeof *ARCHES)

/* ---- Random data ---- */

static uint32_t seed_state = 12345;

static uint32_t next_u32(void)
{
    seed_state ^= seed_state << 13;
    seed_state ^= seed_state >> 17;
    seed_state ^= seed_state << 5;
    return seed_state;
}

static float frand(void) /* [-1, 1) */
{
    return (float)(next_u32() >> 8) / 8388608.0f - 1.0f;
}

/* A pixel: zero 60% of the time, like MNIST's (a bit denser). */
static uint8_t pixel(void)
{
    return next_u32() % 10 < 6 ? 0 : (uint8_t)(1 + next_u32() % 255);
}

/* m images of n pixels: row 0 all zero, row 1 all non-zero (when m > 1),
 * the rest random. */
static uint8_t *make_pixels(size_t m, size_t n)
{
    uint8_t *px = malloc(m * n + 1);
    assert_non_null(px);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            px[i * n + j] = i == 0 ? 0 : i == 1 ? (uint8_t)(1 + next_u32() % 255)
                                                : pixel();
    return px;
}

static sr_dataset *make_u8(size_t m, size_t n, size_t k)
{
    sr_error err;
    sr_dataset *ds = sr_dataset_new(&err);
    assert_non_null(ds);
    uint8_t *px = make_pixels(m, n);
    assert_int_equal(sr_dataset_set_pixels(ds, px, m, n, &err), SR_OK);
    free(px);
    ds->m = m;
    ds->n = n;
    ds->k = k;
    ds->y = malloc(m * sizeof *ds->y);
    assert_non_null(ds->y);
    for (size_t i = 0; i < m; i++)
        ds->y[i] = (int32_t)(next_u32() % k);
    return ds;
}

static void assert_same_bits(const float *a, const float *b, size_t count,
                             const char *what)
{
    if (memcmp(a, b, count * sizeof *a)) {
        for (size_t i = 0; i < count; i++)
            if (memcmp(a + i, b + i, sizeof *a)) {
                print_error("%s[%zu]: %.9g vs %.9g\n", what, i, (double)a[i],
                            (double)b[i]);
                break;
            }
        fail();
    }
}

/* The full-batch gradient (L-BFGS, gd) of softmax regression on sparse
 * pixels, for every table, against the same sum in double written out
 * here: 600 rows are two whole blocks of 256 and a partial one. */
static void test_softmax_full_gradient(void **state)
{
    (void)state;
    const size_t m = 600, n = 785, k = 10;
    sr_dataset *ds = make_u8(m, n, k);
    sr_error err;
    sr_model_spec spec = {SR_MODEL_SOFTMAX, n, k, 0, 0};
    sr_model *model;
    assert_int_equal(sr_model_create(&spec, &model, &err), SR_OK);
    for (size_t i = 0; i < n * k; i++)
        model->params[i] = 0.05f * frand();
    double *want = calloc(n * k, sizeof *want), loss_want = 0.0;
    double *x = malloc(n * sizeof *x), z[16];
    assert_true(want && x);
    for (size_t r = 0; r < m; r++) {
        sr_row row = sr_dataset_row(ds, r);
        memset(x, 0, n * sizeof *x);
        for (size_t p = 0; p < row.nnz; p++)
            x[sr_row_col(&row, p)] = sr_row_val(&row, p);
        double mx = -INFINITY, sum = 0.0;
        for (size_t c = 0; c < k; c++) {
            z[c] = 0.0;
            for (size_t j = 0; j < n; j++)
                z[c] += x[j] * model->params[j * k + c];
            mx = z[c] > mx ? z[c] : mx;
        }
        for (size_t c = 0; c < k; c++)
            sum += exp(z[c] - mx);
        loss_want += log(sum) + mx - z[ds->y[r]];
        for (size_t c = 0; c < k; c++) {
            double g = exp(z[c] - mx) / sum - (c == (size_t)ds->y[r]);
            for (size_t j = 0; j < n; j++)
                want[j * k + c] += x[j] * g;
        }
    }
    float *grad = malloc(n * k * sizeof *grad);
    assert_non_null(grad);
    for (size_t a = 0; a < NARCH; a++) {
        const sr_kernel_table *K = sr_kernels_named(ARCHES[a]);
        if (!K)
            continue;
        sr_engine e;
        assert_int_equal(sr_engine_init(&e, model, SR_EVAL_CHUNK, m, 1, 0,
                                        &err), SR_OK);
        e.K = K;
        double loss;
        assert_int_equal(sr_engine_full_gradient(&e, ds, NULL, grad, &loss, 0, &err),
                         SR_OK);
        sr_engine_release(&e);
        assert_close(loss, loss_want, 1e-5 * loss_want);
        for (size_t i = 0; i < n * k; i++)
            if (!(fabs(grad[i] - want[i]) <= 1e-4 + 1e-5 * fabs(want[i]))) {
                print_error("%s: grad[%zu] = %.9g, expected %.9g\n",
                            ARCHES[a], i, (double)grad[i], want[i]);
                fail();
            }
    }
    free(grad);
    free(x);
    free(want);
    sr_model_free(model);
    sr_dataset_free(ds);
}

/* Wide data (fewer rows than half the features): full passes keep the
 * head's rows and sum into the working parameters themselves. The
 * gradient, its loss and the Hessian-vector product must be the bits of
 * the pass that sums into a second buffer, for 1 and 2 threads, with and
 * without biases, on every table. */
static void full_pass_run(const sr_kernel_table *K, sr_model *model,
                          const sr_dataset *ds, size_t threads,
                          const float *v, float *grad, float *hv,
                          double *loss)
{
    sr_error err;
    sr_engine e;
    assert_int_equal(sr_engine_init(&e, model, 64, ds->m, threads, 0, &err),
                     SR_OK);
    e.K = K;
    assert_int_equal(sr_engine_full_gradient(&e, ds, NULL, grad, loss, 1,
                                             &err), SR_OK);
    assert_int_equal(sr_engine_hess_vec(&e, ds, v, hv, &err), SR_OK);
    sr_engine_release(&e);
}

static void test_two_phase_full_pass(void **state)
{
    (void)state;
    const size_t m = 150, n = 785, k = 17;
    sr_dataset *ds = make_u8(m, n, k);
    for (int bias = 0; bias < 2; bias++) {
        sr_error err;
        sr_model_spec spec = {SR_MODEL_SOFTMAX, n, k, 0, bias};
        sr_model *model;
        assert_int_equal(sr_model_create(&spec, &model, &err), SR_OK);
        size_t np = model->nparams;
        float *v = malloc(np * sizeof *v), *out[4];
        assert_non_null(v);
        for (size_t i = 0; i < np; i++) {
            model->params[i] = 0.05f * frand();
            v[i] = frand();
        }
        for (int o = 0; o < 4; o++)
            assert_non_null(out[o] = malloc(np * sizeof(float)));
        for (size_t a = 0; a < NARCH; a++) {
            const sr_kernel_table *K = sr_kernels_named(ARCHES[a]);
            if (!K)
                continue;
            for (size_t threads = 1; threads <= 2; threads++) {
                double loss_two, loss_one;
                unsetenv("SOFTREG_TWO_PHASE");
                full_pass_run(K, model, ds, threads, v, out[0], out[1],
                              &loss_two);
                setenv("SOFTREG_TWO_PHASE", "never", 1);
                full_pass_run(K, model, ds, threads, v, out[2], out[3],
                              &loss_one);
                unsetenv("SOFTREG_TWO_PHASE");
                assert_memory_equal(&loss_two, &loss_one, sizeof loss_one);
                assert_same_bits(out[0], out[2], np, "gradient");
                assert_same_bits(out[1], out[3], np, "Hessian times v");
            }
        }
        for (int o = 0; o < 4; o++)
            free(out[o]);
        free(v);
        sr_model_free(model);
    }
    sr_dataset_free(ds);
}

/* ---- The sparse listing at load ---- */

static void test_set_pixels_lists_every_nonzero(void **state)
{
    (void)state;
    static const size_t ns[] = {1, 7, 8, 9, 15, 16, 17, 64, 784, 785};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++) {
        size_t n = ns[a], m = 203;
        uint8_t *px = make_pixels(m, n);
        sr_error err;
        sr_dataset *ds = sr_dataset_new(&err);
        assert_int_equal(sr_dataset_set_pixels(ds, px, m, n, &err), SR_OK);
        assert_int_equal(ds->layout, SR_FEATURES_U8_SPARSE);
        size_t q = 0;
        assert_int_equal(ds->row_ptr[0], 0);
        for (size_t i = 0; i < m; i++) {
            for (size_t j = 0; j < n; j++) {
                if (!px[i * n + j])
                    continue;
                assert_true(q < ds->row_ptr[i + 1]);
                assert_int_equal(ds->col16[q], j);
                assert_int_equal(ds->val8[q], px[i * n + j]);
                q++;
            }
            assert_int_equal(ds->row_ptr[i + 1], q);
        }
        sr_dataset_free(ds);
        free(px);
    }
}

/* ---- Training: thread counts and kernel tables ---- */

static sr_dataset *load_split(const char *split)
{
    sr_error err;
    sr_dataset *ds = NULL;
    if (sr_dataset_load_mnist(test_mnist_dir(), split, &ds, &err)) {
        print_error("%s\n", err.message);
        fail();
    }
    return ds;
}

/* The parameters after training with `threads` threads. */
static float *train_params(const sr_dataset *train, sr_train_params p,
                           size_t threads, size_t *count)
{
    sr_error err;
    sr_model *model = NULL;
    p.threads = threads;
    if (sr_train(train, NULL, &p, NULL, NULL, &model, &err)) {
        print_error("%s\n", err.message);
        fail();
    }
    size_t total = 0;
    for (size_t b = 0; b < sr_model_param_count(model); b++) {
        size_t rows, cols;
        sr_model_param(model, b, NULL, &rows, &cols);
        total += rows * cols;
    }
    float *out = malloc(total * sizeof *out), *at = out;
    for (size_t b = 0; b < sr_model_param_count(model); b++) {
        size_t rows, cols;
        const float *w = sr_model_param(model, b, NULL, &rows, &cols);
        memcpy(at, w, rows * cols * sizeof *at);
        at += rows * cols;
    }
    sr_model_free(model);
    *count = total;
    return out;
}

static void test_thread_counts_give_same_bits(void **state)
{
    (void)state;
    sr_dataset *train = load_split("train");
    sr_error err;
    assert_int_equal(sr_dataset_truncate(train, 3000, &err), SR_OK);
    struct {
        sr_model_kind kind;
        size_t hidden, batch, epochs;
        int shuffle, bias;
    } cases[] = {
        {SR_MODEL_SOFTMAX, 0, 128, 2, 0, 0}, /* 3000 = 23 * 128 + 56 */
        {SR_MODEL_SOFTMAX, 0, 1, 1, 0, 0},
        {SR_MODEL_SOFTMAX, 0, 5000, 2, 0, 0}, /* batch > m */
        {SR_MODEL_SOFTMAX, 0, 100, 2, 1, 0},
        {SR_MODEL_NN, 100, 128, 2, 0, 0},
        {SR_MODEL_NN, 3, 77, 1, 1, 0},
        {SR_MODEL_NN, 129, 100, 1, 0, 0},
        {SR_MODEL_NN, 20, 100, 1, 0, 1}, /* biases: the general path */
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        sr_train_params p = sr_train_params_default();
        p.model = cases[c].kind;
        p.hidden = cases[c].hidden ? cases[c].hidden : 100;
        p.batch = cases[c].batch;
        p.epochs = cases[c].epochs;
        p.shuffle = cases[c].shuffle;
        p.bias = cases[c].bias;
        p.evaluate = 0;
        size_t n1, n2, n3;
        float *w1 = train_params(train, p, 1, &n1);
        float *w2 = train_params(train, p, 2, &n2);
        float *w3 = train_params(train, p, 3, &n3);
        assert_int_equal(n1, n2);
        assert_int_equal(n1, n3);
        assert_same_bits(w2, w1, n1, "2 threads");
        assert_same_bits(w3, w1, n1, "3 threads");
        free(w1), free(w2), free(w3);
    }
    sr_dataset_free(train);
}

/* With two or more threads, the fast paths may evaluate each epoch on one
 * thread beside the next epoch's SGD (train.c), forced or after measuring
 * both ways: the same rows, in order, with the same figures and
 * parameters as one thread; a callback that stops at an epoch ends with
 * that epoch's parameters. */
typedef struct epoch_log {
    size_t count, stop_at;
    sr_epoch_stats s[8];
} epoch_log;

static int log_epoch(const sr_epoch_stats *s, void *user)
{
    epoch_log *log = user;
    if (log->count < 8)
        log->s[log->count] = *s;
    log->count++;
    return s->epoch == log->stop_at;
}

static void test_overlapped_evaluation(void **state)
{
    (void)state;
    sr_dataset *train = load_split("train"), *test = load_split("t10k");
    sr_error err;
    assert_int_equal(sr_dataset_truncate(train, 3000, &err), SR_OK);
    assert_int_equal(sr_dataset_truncate(test, 1000, &err), SR_OK);
    sr_model_kind kinds[2] = {SR_MODEL_SOFTMAX, SR_MODEL_NN};
    /* on: the overlap from epoch 0; auto: it measures, then either; off:
     * none. Each must give the same bits. */
    const char *modes[3] = {"on", "auto", "off"};
    for (size_t mc = 0; mc < 3; mc++)
    for (size_t kc = 0; kc < 2; kc++)
        for (size_t stop_at = 1; stop_at <= 4; stop_at += 3) {
            setenv("SOFTREG_OVERLAP", modes[mc], 1);
            float *first = NULL;
            epoch_log first_log;
            for (size_t threads = 1; threads <= 3; threads++) {
                sr_train_params p = sr_train_params_default();
                p.model = kinds[kc];
                p.hidden = 40;
                p.epochs = 4;
                p.threads = threads;
                epoch_log log = {0, stop_at, {{0}}};
                sr_model *model = NULL;
                assert_int_equal(sr_train(train, test, &p, log_epoch, &log,
                                          &model, &err), SR_OK);
                /* stop_at 4: never; every epoch reported, in order */
                assert_int_equal(log.count, stop_at < 4 ? stop_at + 1 : 4);
                for (size_t e = 0; e < log.count; e++) {
                    assert_int_equal(log.s[e].epoch, e);
                    assert_true(isfinite(log.s[e].train_loss) &&
                                isfinite(log.s[e].test_err));
                }
                size_t np = model->nparams;
                if (!first) {
                    first = malloc(np * sizeof *first);
                    memcpy(first, model->params, np * sizeof *first);
                    first_log = log;
                } else {
                    assert_same_bits(model->params, first, np, "parameters");
                    for (size_t e = 0; e < log.count; e++) {
                        assert_true(log.s[e].train_loss ==
                                    first_log.s[e].train_loss);
                        assert_true(log.s[e].train_err ==
                                    first_log.s[e].train_err);
                        assert_true(log.s[e].test_loss ==
                                    first_log.s[e].test_loss);
                        assert_true(log.s[e].test_err ==
                                    first_log.s[e].test_err);
                    }
                }
                sr_model_free(model);
            }
            /* Stopped after epoch 1: the parameters of a 2-epoch run. */
            if (stop_at == 1) {
                sr_train_params p = sr_train_params_default();
                p.model = kinds[kc];
                p.hidden = 40;
                p.epochs = 2;
                p.threads = 1;
                p.evaluate = 0;
                sr_model *model = NULL;
                assert_int_equal(sr_train(train, NULL, &p, NULL, NULL, &model,
                                          &err), SR_OK);
                assert_same_bits(model->params, first, model->nparams,
                                 "stopped run");
                sr_model_free(model);
            }
            free(first);
        }
    unsetenv("SOFTREG_OVERLAP");
    sr_dataset_free(train);
    sr_dataset_free(test);
}

/* Every kernel table, through the engine: the same bits for 1, 2 and 3
 * threads, and the course's table for softmax regression. */
static void test_every_table_trains_as_the_course(void **state)
{
    (void)state;
    sr_dataset *train = load_split("train"), *test = load_split("t10k");
    for (size_t a = 0; a < NARCH; a++) {
        const sr_kernel_table *K = sr_kernels_named(ARCHES[a]);
        if (!K)
            continue;
        float *first = NULL;
        for (size_t threads = 1; threads <= 3; threads++) {
            sr_error err;
            sr_model_spec spec = {SR_MODEL_SOFTMAX, train->n, 10, 0, 0};
            sr_model *model;
            assert_int_equal(sr_model_create(&spec, &model, &err), SR_OK);
            sr_engine e;
            assert_int_equal(sr_engine_init(&e, model, 100, train->m, threads,
                                            0, &err), SR_OK);
            e.K = K;
            e.team.probed = 1; /* every thread throughout, even here */
            sr_step step = {0.2, 0.0, 0.0};
            size_t epochs = threads == 1 ? 10 : 2;
            double loss, tl = 0, te = 0, vl = 0, ve = 0;
            for (size_t ep = 0; ep < epochs; ep++)
                assert_int_equal(sr_engine_sgd_epoch(&e, model, train, NULL,
                                                     100, &step, ep, &loss,
                                                     &err), SR_OK);
            if (threads == 1) {
                sr_engine_evaluate(&e, train, &tl, &te);
                sr_engine_evaluate(&e, test, &vl, &ve);
                assert_close(tl, 0.27887, 1e-5);
                assert_close(te, 0.07847, 1e-5);
                assert_close(vl, 0.28442, 1e-5);
                assert_close(ve, 0.07970, 1e-5);
                /* two more runs of two epochs to compare threads with */
                sr_engine_release(&e);
                sr_model_free(model);
                assert_int_equal(sr_model_create(&spec, &model, &err), SR_OK);
                assert_int_equal(sr_engine_init(&e, model, 100, train->m, 1, 0,
                                                &err), SR_OK);
                e.K = K;
                for (size_t ep = 0; ep < 2; ep++)
                    assert_int_equal(sr_engine_sgd_epoch(&e, model, train, NULL,
                                                         100, &step, ep, &loss,
                                                         &err), SR_OK);
            }
            if (!first) {
                first = malloc(model->nparams * sizeof *first);
                memcpy(first, model->params, model->nparams * sizeof *first);
            } else {
                assert_same_bits(model->params, first, model->nparams,
                                 ARCHES[a]);
            }
            sr_engine_release(&e);
            sr_model_free(model);
        }
        free(first);
    }
    sr_dataset_free(train);
    sr_dataset_free(test);
}

/* An epoch interrupted after a minibatch, then resumed where it stopped,
 * ends with the bits of an epoch never interrupted: for both fast paths
 * and the general one (biases), with 1 and 2 threads. */
static void test_interrupted_epoch_resumes(void **state)
{
    (void)state;
    sr_dataset *train = load_split("train");
    sr_error err;
    assert_int_equal(sr_dataset_truncate(train, 2000, &err), SR_OK);
    struct {
        sr_model_kind kind;
        size_t hidden;
        int bias;
    } cases[] = {{SR_MODEL_SOFTMAX, 0, 0}, {SR_MODEL_NN, 50, 0},
                 {SR_MODEL_NN, 20, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
        for (size_t threads = 1; threads <= 2; threads++) {
            float *whole = NULL;
            for (int interrupted = 0; interrupted < 2; interrupted++) {
                sr_model_spec spec = {cases[c].kind, train->n, 10,
                                      cases[c].hidden, cases[c].bias};
                sr_model *model;
                assert_int_equal(sr_model_create(&spec, &model, &err), SR_OK);
                seed_state = 777;
                for (size_t i = 0; i < model->nparams; i++)
                    model->params[i] = 0.01f * frand();
                sr_engine e;
                assert_int_equal(sr_engine_init(&e, model, 128, train->m,
                                                 threads, 0, &err), SR_OK);
                e.team.probed = threads == 2 && interrupted; /* both ways */
                sr_step step = {0.2, 0.0, 0.0};
                double loss, part;
                size_t end = 0;
                static volatile int stop = 1;
                if (!interrupted) {
                    assert_int_equal(sr_engine_sgd_epoch_from(
                                         &e, model, train, NULL, 128, &step, 0,
                                         0, NULL, &end, &loss, &err), SR_OK);
                    assert_int_equal(end, train->m);
                } else {
                    assert_int_equal(sr_engine_sgd_epoch_from(
                                         &e, model, train, NULL, 128, &step, 0,
                                         0, &stop, &end, &part, &err), SR_OK);
                    assert_int_equal(end, 128);
                    assert_int_equal(sr_engine_sgd_epoch_from(
                                         &e, model, train, NULL, 128, &step, 0,
                                         end, NULL, &end, &loss, &err), SR_OK);
                    assert_int_equal(end, train->m);
                }
                if (!whole) {
                    whole = malloc(model->nparams * sizeof *whole);
                    memcpy(whole, model->params, model->nparams * sizeof *whole);
                } else {
                    assert_same_bits(model->params, whole, model->nparams,
                                     "resumed");
                }
                sr_engine_release(&e);
                sr_model_free(model);
            }
            free(whole);
        }
    sr_dataset_free(train);
}

/* SOFTREG_ARCH picks the table of the command: the course's first row. */
static void test_softreg_arch_variable(void **state)
{
    (void)state;
    const char *bin = test_softreg_bin();
    for (size_t a = 0; a < NARCH; a++) {
        if (!sr_kernels_named(ARCHES[a]))
            continue;
        char cmd[1024], out[4096];
        snprintf(cmd, sizeof cmd,
                 "SOFTREG_ARCH=%s %s train --epochs 1 --quiet --data %s",
                 ARCHES[a], bin, test_mnist_dir());
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        size_t got = fread(out, 1, sizeof out - 1, p);
        out[got] = '\0';
        assert_int_equal(pclose(p), 0);
        assert_non_null(strstr(
            out, "|     0 |    0.35134 |   0.10182 |   0.33588 |  0.09400 |"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_pixels_lists_every_nonzero),
        cmocka_unit_test(test_softmax_full_gradient),
        cmocka_unit_test(test_two_phase_full_pass),
        cmocka_unit_test(test_thread_counts_give_same_bits),
        cmocka_unit_test(test_overlapped_evaluation),
        cmocka_unit_test(test_every_table_trains_as_the_course),
        cmocka_unit_test(test_interrupted_epoch_resumes),
        cmocka_unit_test(test_softreg_arch_variable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
