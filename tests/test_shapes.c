/* The engine on every shape: Hessian-vector products against differences
 * of gradients, Newton's method against L-BFGS, lazy weight decay and
 * momentum on sparse data against the eager steps on the same data held
 * dense, training on the features present against training on all (and
 * the remapped copies it trains on), and
 * the same bits for 1, 2 and 3 threads on dense, sparse and 1,000-class
 * data. */
#include "testutil.h"

#include "train/engine.h"

static uint32_t seed_state = 2024;

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

/* m rows of n features, about `per_row` stored values each (columns drawn
 * from the first `used` features, so that the others are absent), labels
 * in [0, k) that depend on the features (learnable), or `t` targets. */
static sr_dataset *make_csr(size_t m, size_t n, size_t used, size_t per_row,
                            size_t k, size_t t)
{
    sr_error err;
    sr_dataset *ds = sr_dataset_new(&err);
    assert_non_null(ds);
    ds->m = m;
    ds->n = n;
    ds->layout = SR_FEATURES_CSR;
    ds->row_ptr = calloc(m + 1, sizeof *ds->row_ptr);
    ds->col = malloc(m * per_row * sizeof *ds->col);
    ds->val = malloc(m * per_row * sizeof *ds->val);
    assert_true(ds->row_ptr && ds->col && ds->val);
    if (t) {
        ds->targets = malloc(m * t * sizeof *ds->targets);
        ds->t = t;
    } else {
        ds->y = malloc(m * sizeof *ds->y);
        ds->k = k;
    }
    size_t q = 0;
    for (size_t i = 0; i < m; i++) {
        /* increasing columns: a random walk over the used ones */
        size_t j = next_u32() % (used / per_row + 1);
        double score = 0.0;
        for (size_t p = 0; p < per_row && j < used; p++) {
            ds->col[q] = (uint32_t)j;
            ds->val[q] = frand();
            score += ds->val[q] * (double)((j * 2654435761u) % 7) - 3.0;
            q++;
            j += 1 + next_u32() % (2 * used / per_row + 1);
        }
        ds->row_ptr[i + 1] = q;
        if (t)
            for (size_t c = 0; c < t; c++)
                ds->targets[i * t + c] = (float)(score * (double)(c + 1)) + frand();
        else
            ds->y[i] = (int32_t)((size_t)(fabs(score) * 3.0 + (next_u32() % 2)) % k);
    }
    if (!t)
        for (size_t c = 0; c < k && c < m; c++)
            ds->y[c] = (int32_t)c; /* every class present */
    return ds;
}

/* The same rows held dense (float32). */
static sr_dataset *dense_copy(const sr_dataset *s)
{
    sr_error err;
    float *X = calloc(s->m * s->n, sizeof *X);
    assert_non_null(X);
    assert_int_equal(sr_dataset_copy_features(s, 0, s->m, X, &err), SR_OK);
    sr_dataset *d = NULL;
    assert_int_equal(sr_dataset_from_arrays(X, s->m, s->n, s->y, s->targets,
                                            s->t, &d, &err), SR_OK);
    if (s->y)
        d->k = s->k;
    free(X);
    return d;
}

static void assert_same_bits(const float *a, const float *b, size_t count,
                             const char *what)
{
    for (size_t i = 0; i < count; i++)
        if (memcmp(a + i, b + i, sizeof *a)) {
            print_error("%s[%zu]: %.9g vs %.9g\n", what, i, (double)a[i],
                        (double)b[i]);
            fail();
        }
}

static sr_model *random_model(sr_model_kind kind, size_t n, size_t k, int bias,
                              float scale)
{
    sr_error err;
    sr_model_spec spec = {kind, n, k, kind == SR_MODEL_NN ? 8 : 0, bias};
    sr_model *model;
    assert_int_equal(sr_model_create(&spec, &model, &err), SR_OK);
    for (size_t i = 0; i < model->nparams; i++)
        model->params[i] = scale * frand();
    return model;
}

/* Remapped columns: with every entry kept, the new set owns only its
 * columns (the values, rows and labels are the original's); with some
 * dropped, a copy. Either way, entry for entry, the mapped columns and the
 * same values (ASan and valgrind check the frees). */
static void test_remap_columns(void **state)
{
    (void)state;
    sr_error err;
    sr_dataset *ds = make_csr(50, 400, 100, 6, 3, 0);
    uint32_t *keep = malloc(400 * sizeof *keep), *drop = malloc(400 * sizeof *drop);
    assert_true(keep && drop);
    for (uint32_t j = 0; j < 400; j++) {
        keep[j] = j < 100 ? 99 - j : UINT32_MAX; /* reversed: still a map */
        drop[j] = j < 50 ? j : UINT32_MAX;
    }
    /* reversing breaks the increasing order within rows, which the kernels
     * need; the test only reads entries back */
    sr_dataset *shared = NULL, *copied = NULL;
    assert_int_equal(sr_dataset_remap_columns(ds, keep, 100, &shared, &err), SR_OK);
    assert_ptr_equal(shared->shares, ds);
    assert_ptr_equal(shared->val, ds->val);
    assert_ptr_equal(shared->y, ds->y);
    assert_int_equal(shared->n, 100);
    for (size_t p = 0; p < ds->row_ptr[ds->m]; p++)
        assert_int_equal(shared->col[p], keep[ds->col[p]]);
    assert_int_equal(sr_dataset_remap_columns(ds, drop, 50, &copied, &err), SR_OK);
    assert_null(copied->shares);
    size_t q = 0;
    for (size_t i = 0; i < ds->m; i++) {
        assert_int_equal(copied->row_ptr[i], q);
        for (size_t p = ds->row_ptr[i]; p < ds->row_ptr[i + 1]; p++) {
            if (drop[ds->col[p]] == UINT32_MAX)
                continue;
            assert_int_equal(copied->col[q], drop[ds->col[p]]);
            assert_memory_equal(&copied->val[q], &ds->val[p], sizeof(float));
            q++;
        }
    }
    assert_int_equal(copied->row_ptr[ds->m], q);
    sr_dataset_free(shared);
    sr_dataset_free(copied);
    sr_dataset_free(ds);
    free(keep);
    free(drop);
}

/* ---- The Hessian-vector product ---- */

/* H v against (g(w + e v) - g(w - e v)) / 2e, the gradients the engine's
 * own (checked against a sum in double by test_engine.c): the curvature of
 * each affine model, sparse and dense data, with and without biases. The
 * difference's error is O(e^2) plus the gradients' float32 rounding over
 * 2e; with e = 1e-2 both stay below 1e-3 of the product's largest entry. */
static void test_hess_vec_matches_differences(void **state)
{
    (void)state;
    struct {
        sr_model_kind kind;
        size_t k, t;
        int bias, dense;
    } cases[] = {
        {SR_MODEL_SOFTMAX, 5, 0, 1, 0}, {SR_MODEL_SOFTMAX, 17, 0, 0, 1},
        {SR_MODEL_LOGISTIC, 1, 0, 1, 0}, {SR_MODEL_LOGISTIC, 1, 0, 0, 1},
        {SR_MODEL_LINEAR, 2, 2, 1, 0},  {SR_MODEL_LINEAR, 1, 1, 1, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t k = cases[c].k;
        sr_dataset *ds = make_csr(300, 40, 40, 6,
                                  cases[c].kind == SR_MODEL_LOGISTIC ? 2 : k,
                                  cases[c].t);
        if (cases[c].dense) {
            sr_dataset *d = dense_copy(ds);
            sr_dataset_free(ds);
            ds = d;
        }
        sr_model *model = random_model(cases[c].kind, 40, k, cases[c].bias, 0.3f);
        size_t np = model->nparams;
        float *v = malloc(np * sizeof *v), *hv = malloc(np * sizeof *hv);
        float *w = malloc(np * sizeof *w), *gp = malloc(np * sizeof *gp);
        float *gm = malloc(np * sizeof *gm), *g = malloc(np * sizeof *g);
        assert_true(v && hv && w && gp && gm && g);
        for (size_t i = 0; i < np; i++)
            v[i] = frand();
        sr_error err;
        sr_engine e;
        assert_int_equal(sr_engine_init(&e, model, 64, ds->m, 2, 0, &err), SR_OK);
        double loss;
        assert_int_equal(sr_engine_full_gradient(&e, ds, NULL, g, &loss, 1, &err),
                         SR_OK);
        assert_int_equal(sr_engine_hess_vec(&e, ds, v, hv, &err), SR_OK);
        const float eps = 1e-2f;
        for (size_t i = 0; i < np; i++)
            w[i] = model->params[i] + eps * v[i];
        assert_int_equal(sr_engine_full_gradient(&e, ds, w, gp, &loss, 0, &err),
                         SR_OK);
        for (size_t i = 0; i < np; i++)
            w[i] = model->params[i] - eps * v[i];
        assert_int_equal(sr_engine_full_gradient(&e, ds, w, gm, &loss, 0, &err),
                         SR_OK);
        double big = 0.0;
        for (size_t i = 0; i < np; i++)
            big = fabs(hv[i]) > big ? fabs(hv[i]) : big;
        assert_true(big > 0.0);
        for (size_t i = 0; i < np; i++) {
            double fd = ((double)gp[i] - (double)gm[i]) / (2.0 * eps);
            if (!(fabs(fd - hv[i]) <= 1e-3 * big)) {
                print_error("case %zu: (Hv)[%zu] = %.7g, differences %.7g\n", c,
                            i, (double)hv[i], fd);
                fail();
            }
        }
        sr_engine_release(&e);
        free(v), free(hv), free(w), free(gp), free(gm), free(g);
        sr_model_free(model);
        sr_dataset_free(ds);
    }
}

/* ---- Newton's method ---- */

/* Newton and L-BFGS minimise the same strictly convex objective (mean
 * loss + l2/2 ||W||^2): the same minimiser, to the tolerance both reach. */
static void test_newton_matches_lbfgs(void **state)
{
    (void)state;
    sr_model_kind kinds[3] = {SR_MODEL_SOFTMAX, SR_MODEL_LOGISTIC,
                              SR_MODEL_LINEAR};
    for (size_t c = 0; c < 3; c++) {
        int linear = kinds[c] == SR_MODEL_LINEAR;
        sr_dataset *ds = make_csr(400, 30, 30, 8,
                                  kinds[c] == SR_MODEL_LOGISTIC ? 2 : 4,
                                  linear ? 1 : 0);
        sr_model *by[2] = {NULL, NULL};
        for (int o = 0; o < 2; o++) {
            sr_train_params p = sr_train_params_default();
            p.model = kinds[c];
            p.bias = 1;
            p.l2 = 1e-2;
            p.optimizer = o ? SR_OPTIMIZER_LBFGS : SR_OPTIMIZER_NEWTON;
            p.max_iter = 500;
            p.tol = 1e-6;
            p.evaluate = 0;
            sr_error err;
            if (sr_train(ds, NULL, &p, NULL, NULL, &by[o], &err) != SR_OK) {
                print_error("%s\n", err.message);
                fail();
            }
        }
        const float *a = by[0]->params, *b = by[1]->params;
        for (size_t i = 0; i < by[0]->nparams; i++)
            if (!(fabs(a[i] - b[i]) <= 2e-3 * (1.0 + fabs(b[i])))) {
                print_error("kind %zu: Newton %.6g, L-BFGS %.6g at %zu\n", c,
                            (double)a[i], (double)b[i], i);
                fail();
            }
        sr_model_free(by[0]);
        sr_model_free(by[1]);
        sr_dataset_free(ds);
    }
}

/* The network's loss is not convex: Newton refuses it, naming why. */
static void test_newton_refuses_the_network(void **state)
{
    (void)state;
    sr_train_params p = sr_train_params_default();
    p.model = SR_MODEL_NN;
    p.optimizer = SR_OPTIMIZER_NEWTON;
    sr_error err;
    assert_int_equal(sr_train_params_check(&p, &err), SR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "convex"));
}

/* ---- Lazy steps on sparse data ---- */

/* SGD with weight decay or momentum on sparse data with many features
 * moves the rows a minibatch does not touch lazily (optim/sgd.c), in
 * closed form, when they are next touched or at the epoch's end; the
 * same rows held dense take every step eagerly. Both compute the same
 * products bit for bit (a dense row's zeros add nothing), so they differ
 * only by the catch-up's rounding: a few units of float32's last place
 * per lane per catch-up, here below 1e-5 of the largest weight. */
static void test_lazy_matches_eager(void **state)
{
    (void)state;
    sr_dataset *sp = make_csr(240, 3000, 3000, 5, 4, 0);
    sr_dataset *de = dense_copy(sp);
    sr_step steps[3] = {{0.5, 1e-2, 0.0}, {0.3, 0.0, 0.9}, {0.3, 5e-3, 0.8}};
    for (size_t s = 0; s < 3; s++) {
        float *params[2];
        size_t np = 0;
        for (int d = 0; d < 2; d++) {
            seed_state = 99;
            sr_model *model = random_model(SR_MODEL_SOFTMAX, 3000, 4, 1, 0.1f);
            sr_error err;
            sr_engine e;
            assert_int_equal(sr_engine_init(&e, model, 10, 240, 2,
                                            steps[s].momentum > 0, &err),
                             SR_OK);
            double loss;
            for (size_t ep = 0; ep < 3; ep++)
                assert_int_equal(sr_engine_sgd_epoch(&e, model, d ? de : sp, NULL,
                                                     10, &steps[s], ep, &loss,
                                                     &err), SR_OK);
            /* the sparse run took the lazy path: rows behind, caught up */
            if (!d)
                assert_non_null(e.done);
            np = model->nparams;
            params[d] = malloc(np * sizeof(float));
            memcpy(params[d], model->params, np * sizeof(float));
            sr_engine_release(&e);
            sr_model_free(model);
        }
        double big = 0.0, worst = 0.0;
        for (size_t i = 0; i < np; i++) {
            big = fabs(params[1][i]) > big ? fabs(params[1][i]) : big;
            double diff = fabs((double)params[0][i] - (double)params[1][i]);
            worst = diff > worst ? diff : worst;
        }
        if (!(worst <= 1e-5 * big)) {
            print_error("step %zu: lazy and eager differ by %g (largest %g)\n",
                        s, worst, big);
            fail();
        }
        free(params[0]);
        free(params[1]);
    }
    sr_dataset_free(de);
    sr_dataset_free(sp);
}

/* ---- Training on the features present ---- */

/* A sparse set naming a tenth of its features trains on those (train/
 * compact.c): the same model as a set with every feature named, up to
 * the absent features' zero weights, and the same figures. */
static int record(const sr_epoch_stats *s, void *user)
{
    double *out = user;
    out[2 * s->epoch] = s->train_loss;
    out[2 * s->epoch + 1] = s->test_loss;
    return 0;
}

static void test_features_present_only(void **state)
{
    (void)state;
    sr_dataset *few = make_csr(300, 5000, 500, 6, 3, 0);
    sr_dataset *test = make_csr(100, 5000, 5000, 6, 3, 0);
    /* the same rows with one more, last, row naming every feature with a
     * zero weight's worth: a value of 0 stored (no gradient, no change) */
    sr_train_params p = sr_train_params_default();
    p.epochs = 3;
    p.bias = 1;
    p.l2 = 1e-3;
    sr_error err;
    sr_model *a = NULL;
    double fa[6], fb[6];
    assert_int_equal(sr_train(few, test, &p, record, fa, &a, &err), SR_OK);
    /* a reference without compaction: the engine alone, epoch by epoch */
    sr_model_spec spec = {SR_MODEL_SOFTMAX, 5000, 3, 0, 1};
    sr_model *b;
    assert_int_equal(sr_model_create(&spec, &b, &err), SR_OK);
    sr_engine e;
    assert_int_equal(sr_engine_init(&e, b, 100, 300, 1, 0, &err), SR_OK);
    sr_step step = {p.lr, p.l2, 0.0};
    for (size_t ep = 0; ep < 3; ep++) {
        double loss, err_rate;
        assert_int_equal(sr_engine_sgd_epoch(&e, b, few, NULL, 100, &step, ep,
                                             &loss, &err), SR_OK);
        sr_engine_evaluate(&e, few, &fb[2 * ep], &err_rate);
        sr_engine_evaluate(&e, test, &fb[2 * ep + 1], &err_rate);
    }
    sr_engine_release(&e);
    assert_int_equal(a->nparams, b->nparams);
    double big = 0.0, worst = 0.0;
    for (size_t i = 0; i < a->nparams; i++) {
        big = fabs(b->params[i]) > big ? fabs(b->params[i]) : big;
        double d = fabs((double)a->params[i] - (double)b->params[i]);
        worst = d > worst ? d : worst;
    }
    /* lazy decay (compact: few features, no accumulator) against the
     * accumulator's eager steps: the catch-up's rounding only */
    assert_true(worst <= 1e-5 * big);
    for (size_t i = 0; i < 6; i++)
        assert_true(fabs(fa[i] - fb[i]) <= 1e-5 * fabs(fb[i]));
    /* every absent feature's weights are zero */
    for (size_t j = 500; j < 5000; j++)
        for (size_t c = 0; c < 3; c++)
            assert_true(a->params[j * 3 + c] == 0.0f);
    sr_model_free(a);
    sr_model_free(b);
    sr_dataset_free(few);
    sr_dataset_free(test);
}

/* ---- Threads ---- */

static float *train_with(const sr_dataset *ds, sr_train_params p,
                         size_t threads, size_t *count)
{
    sr_error err;
    sr_model *model = NULL;
    p.threads = threads;
    if (sr_train(ds, NULL, &p, NULL, NULL, &model, &err) != SR_OK) {
        print_error("%s\n", err.message);
        fail();
    }
    *count = model->nparams;
    float *w = malloc(*count * sizeof *w);
    memcpy(w, model->params, *count * sizeof *w);
    sr_model_free(model);
    return w;
}

/* 1, 2 and 3 threads give the same model on dense floats (the matrix
 * kernels; 1,000 classes' lanes split; 100 classes, whose live lanes end
 * in a half group, split by lanes on 2 threads and by rows on 3), dense
 * pixels, sparse data with many
 * features (transposes, lazy decay, columns split), 1,000 classes, the
 * network on dense data, and the full-batch optimisers. */
static void test_threads_on_every_shape(void **state)
{
    (void)state;
    sr_dataset *sparse = make_csr(500, 20000, 20000, 12, 7, 0);
    sr_dataset *wide_k = make_csr(400, 64, 64, 20, 1000, 0);
    sr_dataset *dense = dense_copy(wide_k);
    sr_dataset *sparse100 = make_csr(400, 64, 64, 20, 100, 0);
    sr_dataset *dense100 = dense_copy(sparse100);
    sr_dataset_free(sparse100);
    sr_dataset *sparse7 = make_csr(300, 100, 100, 30, 7, 0);
    sr_dataset *dense7 = dense_copy(sparse7);
    sr_dataset_free(sparse7);
    /* pixels: a dense uint8 set */
    size_t pm = 200, pn = 300;
    uint8_t *px = malloc(pm * pn);
    for (size_t i = 0; i < pm * pn; i++)
        px[i] = (uint8_t)(1 + next_u32() % 255);
    sr_error err;
    sr_dataset *pixels = sr_dataset_new(&err);
    assert_int_equal(sr_dataset_set_pixels(pixels, px, pm, pn, &err), SR_OK);
    assert_int_equal(pixels->layout, SR_FEATURES_U8);
    pixels->m = pm;
    pixels->n = pn;
    pixels->k = 5;
    pixels->y = malloc(pm * sizeof *pixels->y);
    for (size_t i = 0; i < pm; i++)
        pixels->y[i] = (int32_t)(px[i * pn] % 5);
    free(px);
    struct {
        const sr_dataset *ds;
        sr_model_kind kind;
        sr_optimizer opt;
        double l2, momentum;
        int shuffle;
    } cases[] = {
        {dense, SR_MODEL_SOFTMAX, SR_OPTIMIZER_SGD, 0.0, 0.0, 0},
        {dense, SR_MODEL_SOFTMAX, SR_OPTIMIZER_SGD, 1e-3, 0.5, 1},
        {dense, SR_MODEL_SOFTMAX, SR_OPTIMIZER_LBFGS, 1e-3, 0.0, 0},
        {dense100, SR_MODEL_SOFTMAX, SR_OPTIMIZER_SGD, 1e-3, 0.5, 0},
        {dense100, SR_MODEL_SOFTMAX, SR_OPTIMIZER_NEWTON, 1e-3, 0.0, 0},
        {wide_k, SR_MODEL_SOFTMAX, SR_OPTIMIZER_SGD, 0.0, 0.0, 0},
        {sparse, SR_MODEL_SOFTMAX, SR_OPTIMIZER_SGD, 1e-3, 0.0, 1},
        {sparse, SR_MODEL_SOFTMAX, SR_OPTIMIZER_SGD, 0.0, 0.9, 0},
        {sparse, SR_MODEL_SOFTMAX, SR_OPTIMIZER_NEWTON, 1e-3, 0.0, 0},
        {sparse, SR_MODEL_SOFTMAX, SR_OPTIMIZER_LBFGS, 1e-3, 0.0, 0},
        {pixels, SR_MODEL_SOFTMAX, SR_OPTIMIZER_SGD, 0.0, 0.0, 1},
        {dense7, SR_MODEL_NN, SR_OPTIMIZER_SGD, 1e-4, 0.5, 1},
        {pixels, SR_MODEL_NN, SR_OPTIMIZER_SGD, 0.0, 0.0, 0},
    };
    /* every pass split, small as it is (and not: the models' own choice) */
    for (size_t c = 0; c < 2 * sizeof cases / sizeof *cases; c++) {
        setenv("SOFTREG_SPLIT", c % 2 ? "always" : "auto", 1);
        sr_train_params p = sr_train_params_default();
        p.model = cases[c / 2].kind;
        p.optimizer = cases[c / 2].opt;
        p.hidden = 37;
        p.bias = 1;
        p.l2 = cases[c / 2].l2;
        p.momentum = cases[c / 2].momentum;
        p.shuffle = cases[c / 2].shuffle;
        p.epochs = 2;
        p.batch = 32;
        p.lr = 0.05;
        p.max_iter = 5;
        p.evaluate = 0;
        size_t n1, n2, n3;
        float *w1 = train_with(cases[c / 2].ds, p, 1, &n1);
        float *w2 = train_with(cases[c / 2].ds, p, 2, &n2);
        float *w3 = train_with(cases[c / 2].ds, p, 3, &n3);
        assert_int_equal(n1, n2);
        assert_int_equal(n1, n3);
        char what[64];
        snprintf(what, sizeof what, "case %zu, 2 threads", c);
        assert_same_bits(w2, w1, n1, what);
        snprintf(what, sizeof what, "case %zu, 3 threads", c);
        assert_same_bits(w3, w1, n1, what);
        free(w1), free(w2), free(w3);
    }
    unsetenv("SOFTREG_SPLIT");
    sr_dataset_free(sparse);
    sr_dataset_free(wide_k);
    sr_dataset_free(dense);
    sr_dataset_free(dense100);
    sr_dataset_free(dense7);
    sr_dataset_free(pixels);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hess_vec_matches_differences),
        cmocka_unit_test(test_newton_matches_lbfgs),
        cmocka_unit_test(test_newton_refuses_the_network),
        cmocka_unit_test(test_lazy_matches_eager),
        cmocka_unit_test(test_features_present_only),
        cmocka_unit_test(test_remap_columns),
        cmocka_unit_test(test_threads_on_every_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
