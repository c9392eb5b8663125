/* The whole family of models from the lectures: linear regression (exact
 * and by gradient descent), logistic regression (AI VIETNAM's worked step
 * and its Hours/Pass data), weight decay, momentum, shuffling, validation
 * and early stopping, feature maps, warm starts, model files. */
#include "testutil.h"

#include "models/model.h"

/* A small data set from a CSV text. */
static sr_dataset *csv(const char *text, sr_task task)
{
    char path[256];
    test_write_tmp(path, ".csv", text, strlen(text));
    sr_tabular_options opt = sr_tabular_options_default();
    opt.task = task;
    sr_dataset *ds = NULL;
    sr_error err;
    if (sr_dataset_load_csv(path, &opt, &ds, &err) != SR_OK) {
        print_error("%s\n", err.message);
        fail();
    }
    remove(path);
    return ds;
}

static const char *salary =
    "level,salary\n0,8\n1,15\n2,18\n3,22\n4,26\n5,30\n6,38\n7,47\n";

static void theta_b(const sr_model *m, double *w, double *b)
{
    *w = sr_model_param(m, 0, NULL, NULL, NULL)[0];
    *b = sr_model_param(m, 1, NULL, NULL, NULL)[0];
}

/* AI VIETNAM's Level/Salary data: w = 5.095238, b = 7.666667. */
static void test_linear_exact_and_gd(void **state)
{
    (void)state;
    sr_dataset *ds = csv(salary, SR_TASK_REGRESSION);
    sr_train_params p = sr_train_params_default();
    p.model = SR_MODEL_LINEAR;
    p.bias = 1;
    p.optimizer = SR_OPTIMIZER_EXACT;
    p.evaluate = 0;
    sr_model *m = NULL;
    double w, b;
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &m, NULL));
    theta_b(m, &w, &b);
    assert_close(w, 5.095238, 1e-5);
    assert_close(b, 7.666667, 1e-5);
    sr_model_free(m);

    p.optimizer = SR_OPTIMIZER_GD;
    p.lr = 0.05;
    p.epochs = 4000;
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &m, NULL));
    theta_b(m, &w, &b);
    assert_close(w, 5.095238, 1e-4);
    assert_close(b, 7.666667, 1e-4);

    /* Predictions are w x + b; the RMSE is derived from the loss. */
    double loss, rmse;
    assert_sr_ok(sr_model_evaluate(m, ds, &loss, &rmse, NULL));
    assert_close(rmse, sqrt(2 * loss), 1e-12);
    sr_model_free(m);

    /* Ridge: (X^T X + m l2) w = X^T y on centred data, b unpenalised. */
    p.optimizer = SR_OPTIMIZER_EXACT;
    p.l2 = 0.5;
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &m, NULL));
    theta_b(m, &w, &b);
    double sxx = 42.0, sxy = 214.0; /* centred sums: x mean 3.5, y mean 25.5 */
    assert_close(w, sxy / (sxx + 8 * 0.5), 1e-5);
    assert_close(b, 25.5 - w * 3.5, 1e-4);
    sr_model_free(m);
    sr_dataset_free(ds);
}

/* AI VIETNAM's logistic step: theta = [b w1 w2] = [0.1 0.2 0.1],
 * x = [1.0 0.5], y = 0, eta = 0.1: z = 0.35, yhat = 0.5866, loss 0.8834,
 * gradient [0.5866 0.5866 0.2933], theta' = [0.0413 0.1413 0.0707]. */
static void test_logistic_worked_step(void **state)
{
    (void)state;
    sr_dataset *ds = csv("x1,x2,y\n1.0,0.5,0\n2.0,1.0,1\n", SR_TASK_CLASSIFICATION);
    assert_sr_ok(sr_dataset_truncate(ds, 1, NULL));
    sr_model_spec spec = {SR_MODEL_LOGISTIC, 2, 1, 0, 1};
    sr_model *start = NULL;
    assert_sr_ok(sr_model_create(&spec, &start, NULL));
    start->params[0] = 0.2f; /* w1 */
    start->params[1] = 0.1f; /* w2 */
    start->params[2] = 0.1f; /* b */

    float z;
    assert_sr_ok(sr_model_logits(start, ds, &z, NULL));
    assert_close(z, 0.35, 1e-6);
    float p1;
    assert_sr_ok(sr_model_predict_proba(start, ds, &p1, NULL));
    assert_close(p1, 0.5866, 5e-5);
    double loss, e;
    assert_sr_ok(sr_model_evaluate(start, ds, &loss, &e, NULL));
    assert_close(loss, 0.8834, 5e-5);
    assert_close(e, 1.0, 0); /* predicts pass, the answer is fail */

    double grad_err[2];
    assert_sr_ok(sr_model_gradcheck(start, ds, 1, 0.0, 10, grad_err, NULL));
    assert_true(grad_err[0] < 1e-6 && grad_err[1] < 1e-6);

    sr_train_params p = sr_train_params_default();
    p.model = SR_MODEL_LOGISTIC;
    p.bias = 1;
    p.epochs = 1;
    p.batch = 1;
    p.lr = 0.1;
    p.warm_start = start;
    sr_model *m = NULL;
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &m, NULL));
    /* theta' = theta - 0.1 * x (yhat - y) */
    assert_close(m->params[2], 0.0413, 5e-5);
    assert_close(m->params[0], 0.1413, 5e-5);
    assert_close(m->params[1], 0.0707, 5e-5);
    sr_model_free(m);
    sr_model_free(start);
    sr_dataset_free(ds);
}

/* The Hours/Pass data: a trained model fails 0.25 hours, passes 4.5. */
static void test_logistic_hours_pass(void **state)
{
    (void)state;
    sr_dataset *ds = csv("hours,pass\n0.5,0\n1.0,0\n1.5,1\n2.0,0\n2.5,0\n"
                         "3.0,1\n3.5,1\n4.0,1\n", SR_TASK_CLASSIFICATION);
    sr_train_params p = sr_train_params_default();
    p.model = SR_MODEL_LOGISTIC;
    p.bias = 1;
    p.optimizer = SR_OPTIMIZER_LBFGS;
    p.max_iter = 200;
    p.evaluate = 0;
    sr_model *m = NULL;
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &m, NULL));
    sr_dataset *q = csv("hours,pass\n0.25,0\n4.5,1\n", SR_TASK_CLASSIFICATION);
    int32_t pred[2];
    assert_sr_ok(sr_model_predict(m, q, pred, NULL));
    assert_int_equal(pred[0], 0);
    assert_int_equal(pred[1], 1);
    assert_string_equal(sr_model_class_name(m, 1), "1");
    sr_model_free(m);
    sr_dataset_free(q);
    sr_dataset_free(ds);
}

static sr_dataset *small_mnist(size_t rows)
{
    sr_dataset *ds = NULL;
    sr_error err;
    if (sr_dataset_load_mnist(test_mnist_dir(), "t10k", &ds, &err)) {
        print_error("%s\n", err.message);
        fail();
    }
    assert_sr_ok(sr_dataset_truncate(ds, rows, NULL));
    return ds;
}

/* Every model kind, with biases and weight decay: the engine's gradient
 * against central differences of an independent double-precision objective. */
static void test_gradcheck_every_kind(void **state)
{
    (void)state;
    sr_dataset *cls = csv("a,b,c,y\n0.5,-1,2,x\n1,0.25,-0.5,y\n-1,2,0.3,z\n"
                          "0.1,0.2,0.3,x\n2,-2,1,y\n", SR_TASK_CLASSIFICATION);
    sr_dataset *bin = csv("a,b,y\n0.5,-1,0\n1,0.25,1\n-1,2,0\n2,1,1\n",
                          SR_TASK_CLASSIFICATION);
    sr_dataset *reg = csv("a,b,t\n0.5,-1,2\n1,0.25,-1\n-1,2,0.5\n2,1,3\n",
                          SR_TASK_REGRESSION);
    struct {
        sr_model_kind kind;
        sr_dataset *ds;
    } cases[] = {{SR_MODEL_SOFTMAX, cls}, {SR_MODEL_NN, cls},
                 {SR_MODEL_LOGISTIC, bin}, {SR_MODEL_LINEAR, reg}};
    for (size_t i = 0; i < 4; i++)
        for (int bias = 0; bias < 2; bias++) {
            sr_train_params p = sr_train_params_default();
            p.model = cases[i].kind;
            p.hidden = 5;
            p.bias = bias;
            p.init = SR_INIT_NUMPY;
            p.epochs = 3;
            p.lr = 0.1;
            p.batch = 2;
            p.evaluate = 0;
            sr_model *m = NULL;
            assert_sr_ok(sr_train(cases[i].ds, NULL, &p, NULL, NULL, &m, NULL));
            double worst[4];
            assert_sr_ok(sr_model_gradcheck(m, cases[i].ds, 5, 0.3, 50, worst, NULL));
            for (size_t b = 0; b < sr_model_param_count(m); b++)
                if (!(worst[b] < 1e-4)) {
                    print_error("kind %d bias %d block %zu: %g\n",
                                (int)cases[i].kind, bias, b, worst[b]);
                    fail();
                }
            sr_model_free(m);
        }
    sr_dataset_free(cls);
    sr_dataset_free(bin);
    sr_dataset_free(reg);
}

/* Weight decay in SGD: with lr l and decay L, one step on a zero gradient
 * multiplies the weights by (1 - l L). */
static void test_l2_and_momentum(void **state)
{
    (void)state;
    sr_dataset *ds = small_mnist(300);
    sr_train_params p = sr_train_params_default();
    p.epochs = 3;
    p.evaluate = 0;
    sr_model *plain = NULL, *decayed = NULL, *moment = NULL, *m0 = NULL;
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &plain, NULL));
    p.l2 = 0.01;
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &decayed, NULL));
    double n0 = 0, n1 = 0;
    for (size_t i = 0; i < plain->nparams; i++) {
        n0 += (double)plain->params[i] * plain->params[i];
        n1 += (double)decayed->params[i] * decayed->params[i];
    }
    assert_true(n1 < n0);
    p.l2 = 0;
    p.momentum = 0.9;
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &moment, NULL));
    assert_memory_not_equal(plain->params, moment->params, plain->nparams * 4);
    double loss_plain, loss_mom, e;
    assert_sr_ok(sr_model_evaluate(plain, ds, &loss_plain, &e, NULL));
    assert_sr_ok(sr_model_evaluate(moment, ds, &loss_mom, &e, NULL));
    assert_true(isfinite(loss_mom));
    /* momentum 0 is exactly plain SGD */
    p.momentum = 0.0;
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &m0, NULL));
    assert_memory_equal(plain->params, m0->params, plain->nparams * 4);
    sr_model_free(plain);
    sr_model_free(decayed);
    sr_model_free(moment);
    sr_model_free(m0);
    sr_dataset_free(ds);
}

static void test_shuffle_is_seeded(void **state)
{
    (void)state;
    sr_dataset *ds = small_mnist(500);
    sr_train_params p = sr_train_params_default();
    p.epochs = 2;
    p.evaluate = 0;
    p.shuffle = 1;
    p.seed = 7;
    sr_model *a = NULL, *b = NULL, *c = NULL;
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &a, NULL));
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &b, NULL));
    p.seed = 8;
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &c, NULL));
    assert_memory_equal(a->params, b->params, a->nparams * 4);
    assert_memory_not_equal(a->params, c->params, a->nparams * 4);
    sr_model_free(a);
    sr_model_free(b);
    sr_model_free(c);
    sr_dataset_free(ds);
}

typedef struct val_log {
    double val_loss[64];
    size_t epochs;
} val_log;

static int log_val(const sr_epoch_stats *s, void *user)
{
    val_log *v = user;
    v->val_loss[v->epochs++] = s->val_loss;
    return 0;
}

/* Early stopping keeps the parameters of the best validation epoch. */
static void test_validation_and_early_stop(void **state)
{
    (void)state;
    sr_dataset *ds = small_mnist(1000);
    sr_train_params p = sr_train_params_default();
    p.epochs = 40;
    p.lr = 3.0; /* large, so validation loss goes up and down */
    p.val_split = 0.2;
    p.val_tail = 1;
    p.early_stop = 3;
    val_log v = {{0}, 0};
    sr_model *m = NULL;
    assert_sr_ok(sr_train(ds, NULL, &p, log_val, &v, &m, NULL));
    assert_true(v.epochs >= 4 && v.epochs < 40);
    double best = INFINITY;
    size_t best_at = 0;
    for (size_t i = 0; i < v.epochs; i++)
        if (v.val_loss[i] < best) {
            best = v.val_loss[i];
            best_at = i;
        }
    assert_int_equal(v.epochs, best_at + 1 + 3); /* stopped 3 after the best */
    /* With val_tail the validation rows are the last 20%: the kept model
     * evaluated there gives the best validation loss. */
    size_t rows[200];
    for (size_t i = 0; i < 200; i++)
        rows[i] = 800 + i;
    sr_dataset *val = NULL;
    assert_sr_ok(sr_dataset_subset(ds, rows, 200, &val, NULL));
    double loss, e;
    assert_sr_ok(sr_model_evaluate(m, val, &loss, &e, NULL));
    assert_close(loss, best, 1e-9);
    sr_model_free(m);
    sr_dataset_free(val);
    sr_dataset_free(ds);
}

/* 800 examples of class 0 then 200 of class 1, of one zero feature. */
static sr_dataset *eight_to_two(void)
{
    float x[1000] = {0};
    int32_t y[1000];
    for (size_t i = 0; i < 1000; i++)
        y[i] = i < 800 ? 0 : 1;
    sr_dataset *ds = NULL;
    assert_sr_ok(sr_dataset_from_arrays(x, 1000, 1, y, NULL, 0, &ds, NULL));
    return ds;
}

/* The validation part is stratified: 800 examples of class 0 then 200 of
 * class 1, one zero feature, biases alone. L-BFGS fits the training
 * part's class frequencies, so the validation loss is the cross-entropy
 * of the two parts' frequencies: the entropy of (0.8, 0.2), 0.500402, when
 * both hold 80% and 20%; with val_tail the validation part is all of
 * class 1, which the training part never saw. */
static void test_validation_split_is_stratified(void **state)
{
    (void)state;
    sr_dataset *ds = eight_to_two();
    for (int tail = 0; tail < 2; tail++) {
        sr_train_params p = sr_train_params_default();
        p.optimizer = SR_OPTIMIZER_LBFGS;
        p.bias = 1;
        p.val_split = 0.2;
        p.val_tail = tail;
        p.max_iter = 50; /* val_log holds 64 epochs */
        p.evaluate = 0;
        val_log v = {{0}, 0};
        sr_model *m = NULL;
        assert_sr_ok(sr_train(ds, NULL, &p, log_val, &v, &m, NULL));
        double last = v.val_loss[v.epochs - 1];
        if (tail)
            assert_true(last > 5.0);
        else
            assert_close(last, 0.500402, 1e-4);
        sr_model_free(m);
    }
    sr_dataset_free(ds);
}

/* Balanced class weights: with biases alone on 800 examples of class 0
 * and 200 of class 1, the weighted optimum gives both classes
 * probability 1/2, so the (unweighted) training loss is log 2; without
 * weights it is the entropy of (0.8, 0.2). */
static void test_balanced_class_weights(void **state)
{
    (void)state;
    sr_dataset *ds = eight_to_two();
    const sr_model_kind kinds[] = {SR_MODEL_SOFTMAX, SR_MODEL_LOGISTIC};
    for (size_t i = 0; i < 2; i++)
        for (int balanced = 0; balanced < 2; balanced++) {
            sr_train_params p = sr_train_params_default();
            p.model = kinds[i];
            p.optimizer = SR_OPTIMIZER_LBFGS;
            p.bias = 1;
            p.class_weight = balanced ? SR_CLASS_WEIGHT_BALANCED
                                      : SR_CLASS_WEIGHT_NONE;
            sr_model *m = NULL;
            assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &m, NULL));
            double loss, e;
            assert_sr_ok(sr_model_evaluate(m, ds, &loss, &e, NULL));
            assert_close(loss, balanced ? log(2.0) : 0.500402, 1e-4);
            sr_model_free(m);
        }
    sr_train_params p = sr_train_params_default();
    p.model = SR_MODEL_LINEAR;
    p.class_weight = SR_CLASS_WEIGHT_BALANCED;
    sr_error err;
    assert_int_equal(sr_train_params_check(&p, &err), SR_ERR_INVALID_ARG);
    sr_dataset_free(ds);
}

/* CSC413's polynomial regression: y = 1 - 2x + 3x^2 is fit exactly with
 * degree 2, and standardisation is stored and re-applied. */
static void test_poly_and_standardize(void **state)
{
    (void)state;
    sr_dataset *ds = csv("x,y\n-2,17\n-1,6\n0,1\n1,2\n2,9\n3,22\n",
                         SR_TASK_REGRESSION);
    sr_train_params p = sr_train_params_default();
    p.model = SR_MODEL_LINEAR;
    p.bias = 1;
    p.poly = 2;
    p.standardize = 1;
    p.optimizer = SR_OPTIMIZER_EXACT;
    p.evaluate = 0;
    sr_model *m = NULL;
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &m, NULL));
    assert_int_equal(sr_model_poly(m), 2);
    assert_true(sr_model_is_standardized(m));
    assert_int_equal(sr_model_features(m), 1);
    float out[6];
    assert_sr_ok(sr_model_logits(m, ds, out, NULL));
    const double want[6] = {17, 6, 1, 2, 9, 22};
    for (int i = 0; i < 6; i++)
        assert_close(out[i], want[i], 1e-4);
    /* Saved and loaded, the model predicts the same bits. */
    char path[256];
    snprintf(path, sizeof path, "/tmp/softreg-family-%d.srm", (int)getpid());
    assert_sr_ok(sr_model_save(m, path, NULL));
    sr_model *back = NULL;
    assert_sr_ok(sr_model_load(path, &back, NULL));
    float again[6];
    assert_sr_ok(sr_model_logits(back, ds, again, NULL));
    assert_memory_equal(out, again, sizeof out);
    remove(path);
    sr_model_free(back);
    sr_model_free(m);
    sr_dataset_free(ds);
}

/* Two epochs equal one epoch and a warm-started second, bit for bit. */
static void test_warm_start_continues(void **state)
{
    (void)state;
    sr_dataset *ds = small_mnist(700);
    sr_train_params p = sr_train_params_default();
    p.model = SR_MODEL_NN;
    p.hidden = 20;
    p.evaluate = 0;
    p.epochs = 2;
    sr_model *two = NULL, *one = NULL, *more = NULL;
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &two, NULL));
    p.epochs = 1;
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &one, NULL));
    p.warm_start = one;
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &more, NULL));
    assert_memory_equal(two->params, more->params, two->nparams * 4);
    /* A warm start of another shape is refused with both shapes. */
    p.hidden = 21;
    sr_model *bad = NULL;
    sr_error err;
    assert_int_equal(sr_train(ds, NULL, &p, NULL, NULL, &bad, &err), SR_ERR_MISMATCH);
    assert_non_null(strstr(err.message, "20 hidden"));
    sr_model_free(two);
    sr_model_free(one);
    sr_model_free(more);
    sr_dataset_free(ds);
}

/* Save, load, predict: the same classes and probabilities bit for bit; a
 * changed byte is refused. Class names come from the training file. */
static void test_model_round_trip(void **state)
{
    (void)state;
    sr_dataset *ds = csv("a,b,kind\n1,2,cat\n2,1,dog\n0,0,cat\n3,3,eel\n1,1,dog\n",
                         SR_TASK_CLASSIFICATION);
    sr_train_params p = sr_train_params_default();
    p.bias = 1;
    p.epochs = 20;
    p.batch = 2;
    p.evaluate = 0;
    sr_model *m = NULL;
    assert_sr_ok(sr_train(ds, NULL, &p, NULL, NULL, &m, NULL));
    assert_string_equal(sr_model_class_name(m, 0), "cat");
    assert_string_equal(sr_model_class_name(m, 2), "eel");
    char path[256];
    snprintf(path, sizeof path, "/tmp/softreg-family-rt-%d.srm", (int)getpid());
    assert_sr_ok(sr_model_save(m, path, NULL));
    sr_model *back = NULL;
    assert_sr_ok(sr_model_load(path, &back, NULL));
    int32_t c1[5], c2[5];
    float p1[15], p2[15];
    assert_sr_ok(sr_model_predict(m, ds, c1, NULL));
    assert_sr_ok(sr_model_predict(back, ds, c2, NULL));
    assert_sr_ok(sr_model_predict_proba(m, ds, p1, NULL));
    assert_sr_ok(sr_model_predict_proba(back, ds, p2, NULL));
    assert_memory_equal(c1, c2, sizeof c1);
    assert_memory_equal(p1, p2, sizeof p1);
    for (int r = 0; r < 5; r++)
        assert_close(p1[3 * r] + p1[3 * r + 1] + p1[3 * r + 2], 1.0, 1e-6);
    /* One byte changed anywhere is refused. */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 70, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, 70, SEEK_SET);
    fputc(ch ^ 0x10, f);
    fclose(f);
    sr_model *bad = NULL;
    sr_error err;
    assert_int_not_equal(sr_model_load(path, &bad, &err), SR_OK);
    assert_null(bad);
    remove(path);
    sr_model_free(back);
    sr_model_free(m);
    sr_dataset_free(ds);
}

static void test_refusals(void **state)
{
    (void)state;
    sr_dataset *one = csv("a,y\n1,x\n2,x\n", SR_TASK_CLASSIFICATION);
    sr_train_params p = sr_train_params_default();
    sr_model *m = NULL;
    sr_error err;
    assert_int_equal(sr_train(one, NULL, &p, NULL, NULL, &m, &err), SR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "single class"));
    sr_dataset *three = csv("a,y\n1,x\n2,y\n3,z\n", SR_TASK_CLASSIFICATION);
    p.model = SR_MODEL_LOGISTIC;
    assert_int_equal(sr_train(three, NULL, &p, NULL, NULL, &m, &err), SR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "3 classes"));
    p.model = SR_MODEL_SOFTMAX;
    p.optimizer = SR_OPTIMIZER_EXACT;
    assert_int_equal(sr_train(three, NULL, &p, NULL, NULL, &m, &err), SR_ERR_INVALID_ARG);
    p = sr_train_params_default();
    p.l2 = -1;
    assert_int_equal(sr_train_params_check(&p, &err), SR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "l2"));
    sr_dataset *wide = csv("a,b,y\n1,2,x\n2,3,y\n", SR_TASK_CLASSIFICATION);
    p = sr_train_params_default();
    assert_int_equal(sr_train(three, wide, &p, NULL, NULL, &m, &err), SR_ERR_MISMATCH);
    assert_non_null(strstr(err.message, "2 features"));
    assert_non_null(strstr(err.message, "1"));
    assert_null(m);
    sr_dataset_free(one);
    sr_dataset_free(three);
    sr_dataset_free(wide);
}

/* LIBSVM data against LIBLINEAR (Debian liblinear-tools), the independent
 * reference: heart_scale's first 200 examples to train, the last 70 to
 * test. `liblinear-train -s 0 -c 1` (L2 logistic regression, no bias)
 * minimises 1/2 ||w||^2 + C sum log(1 + exp(-y w.x)): our mean-loss
 * objective with l2 = 1 / (C m) = 0.005. Its weights and its test accuracy
 * (80%, 56/70) were printed by liblinear-train/-predict 2.3.0. */
static void test_liblinear_heart_scale(void **state)
{
    (void)state;
    const char *path = "/usr/share/doc/liblinear-tools/examples/heart_scale";
    sr_tabular_options opt = sr_tabular_options_default();
    sr_dataset *all = NULL, *train = NULL, *test = NULL;
    sr_error err;
    if (sr_dataset_load_libsvm(path, &opt, &all, &err)) {
        print_error("%s (apt-get install liblinear-tools)\n", err.message);
        fail();
    }
    assert_int_equal(sr_dataset_rows(all), 270);
    size_t rows[270];
    for (size_t i = 0; i < 270; i++)
        rows[i] = i;
    assert_sr_ok(sr_dataset_subset(all, rows, 200, &train, NULL));
    assert_sr_ok(sr_dataset_subset(all, rows + 200, 70, &test, NULL));

    static const double liblinear_w[13] = {
        0.21157280104728005, 0.64891528541324917, 1.0604912564266544,
        0.64299428922556789, -0.16682684112855739, -0.45267566420656213,
        0.26198616047538259, -0.61598324668636206, 0.38415112409258367,
        0.13232950140204347, 0.41444708042727024, 1.3843467495524069,
        0.68301088756791672};
    sr_train_params p = sr_train_params_default();
    p.model = SR_MODEL_LOGISTIC;
    p.optimizer = SR_OPTIMIZER_LBFGS;
    p.l2 = 0.005;
    p.max_iter = 500;
    p.evaluate = 0;
    sr_model *m = NULL;
    assert_sr_ok(sr_train(train, NULL, &p, NULL, NULL, &m, NULL));
    /* Classes sort numerically: -1 is class 0, +1 class 1 = LIBLINEAR's
     * positive label, so the weights have the same orientation. */
    assert_string_equal(sr_model_class_name(m, 1), "1");
    const float *w = sr_model_param(m, 0, NULL, NULL, NULL);
    for (int j = 0; j < 13; j++)
        assert_close(w[j], liblinear_w[j], 5e-3);
    double loss, e;
    assert_sr_ok(sr_model_evaluate(m, test, &loss, &e, NULL));
    assert_close(1 - e, 56.0 / 70, 1e-9);
    sr_model_free(m);

    /* Softmax regression over two classes splits w between two rows:
     * theta_1 - theta_0 = w at the optimum, so its l2 is twice as large. */
    p.model = SR_MODEL_SOFTMAX;
    p.l2 = 0.01;
    assert_sr_ok(sr_train(train, NULL, &p, NULL, NULL, &m, NULL));
    assert_sr_ok(sr_model_evaluate(m, test, &loss, &e, NULL));
    assert_true(1 - e >= 0.80 - 0.005);
    sr_model_free(m);
    sr_dataset_free(all);
    sr_dataset_free(train);
    sr_dataset_free(test);
}

/* The softmax tutorial's run: softmax regression with weight decay 1e-4,
 * 100 iterations of L-BFGS over the whole MNIST training set, reaches
 * 92.6% test accuracy. */
static void test_lbfgs_mnist_tutorial(void **state)
{
    (void)state;
    sr_dataset *train = NULL, *test = NULL;
    sr_error err;
    if (sr_dataset_load_mnist(test_mnist_dir(), "train", &train, &err) ||
        sr_dataset_load_mnist(test_mnist_dir(), "t10k", &test, &err)) {
        print_error("%s\n", err.message);
        fail();
    }
    sr_train_params p = sr_train_params_default();
    p.optimizer = SR_OPTIMIZER_LBFGS;
    p.l2 = 1e-4;
    p.max_iter = 100;
    p.evaluate = 0;
    sr_model *m = NULL;
    assert_sr_ok(sr_train(train, NULL, &p, NULL, NULL, &m, NULL));
    double loss, e;
    assert_sr_ok(sr_model_evaluate(m, test, &loss, &e, NULL));
    if (!(1 - e >= 0.926)) {
        print_error("test accuracy %.4f, the tutorial's is 0.926\n", 1 - e);
        fail();
    }
    sr_model_free(m);
    sr_dataset_free(train);
    sr_dataset_free(test);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_exact_and_gd),
        cmocka_unit_test(test_logistic_worked_step),
        cmocka_unit_test(test_logistic_hours_pass),
        cmocka_unit_test(test_gradcheck_every_kind),
        cmocka_unit_test(test_l2_and_momentum),
        cmocka_unit_test(test_shuffle_is_seeded),
        cmocka_unit_test(test_validation_and_early_stop),
        cmocka_unit_test(test_validation_split_is_stratified),
        cmocka_unit_test(test_balanced_class_weights),
        cmocka_unit_test(test_poly_and_standardize),
        cmocka_unit_test(test_warm_start_continues),
        cmocka_unit_test(test_model_round_trip),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_liblinear_heart_scale),
        cmocka_unit_test(test_lbfgs_mnist_tutorial),
    };
    return cmocka_run_group_tests_name("family", tests, NULL, NULL) ? 1 : 0;
}
