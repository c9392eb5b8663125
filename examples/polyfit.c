/* CSC413's polynomial regression: fit polynomials of degree 0, 1, 3 and 9
 * to 10 noisy samples of sin(2 pi x) and watch under- and over-fitting in
 * the training and validation errors.
 *
 *   make examples && build/examples/polyfit
 *
 * Uses only the public API: the NumPy-compatible generator for the data,
 * linear regression with --poly features solved exactly (least squares by
 * SVD, so that degree 9 is still well posed). */
#include <math.h>
#include <stdio.h>

#include <softreg.h>

#define N_TRAIN 10
#define N_VAL 100

static void sample(sr_rng *rng, float *x, float *t, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        x[i] = (float)sr_rng_uniform(rng);
        t[i] = (float)(sin(2 * M_PI * x[i]) + 0.3 * sr_rng_randn(rng));
    }
}

int main(void)
{
    float x[N_TRAIN], t[N_TRAIN], xv[N_VAL], tv[N_VAL];
    sr_rng rng;
    sr_rng_seed(&rng, 1);
    sample(&rng, x, t, N_TRAIN);
    sample(&rng, xv, tv, N_VAL);

    printf("| degree | train RMSE | validation RMSE |\n");
    const unsigned degrees[] = {0, 1, 3, 9};
    for (size_t i = 0; i < sizeof degrees / sizeof *degrees; i++) {
        unsigned M = degrees[i];
        /* Degree 0 is the constant model: the bias alone, on a feature that
         * is always 0. */
        float x0[N_TRAIN] = {0}, xv0[N_VAL] = {0};
        sr_dataset *train = NULL, *val = NULL;
        sr_model *model = NULL;
        sr_error err;
        if (sr_dataset_from_arrays(M ? x : x0, N_TRAIN, 1, NULL, t, 1, &train, &err) ||
            sr_dataset_from_arrays(M ? xv : xv0, N_VAL, 1, NULL, tv, 1, &val, &err))
            goto fail;
        sr_train_params p = sr_train_params_default();
        p.model = SR_MODEL_LINEAR;
        p.bias = 1;
        p.poly = M ? M : 1;
        p.optimizer = SR_OPTIMIZER_EXACT;
        p.evaluate = 0;
        double loss, rmse_train, rmse_val;
        if (sr_train(train, NULL, &p, NULL, NULL, &model, &err) ||
            sr_model_evaluate(model, train, &loss, &rmse_train, &err) ||
            sr_model_evaluate(model, val, &loss, &rmse_val, &err))
            goto fail;
        printf("| %6u | %10.4f | %15.4f |\n", M, rmse_train, rmse_val);
        sr_model_free(model);
        sr_dataset_free(train);
        sr_dataset_free(val);
        continue;
    fail:
        fprintf(stderr, "polyfit: %s\n", err.message);
        sr_model_free(model);
        sr_dataset_free(train);
        sr_dataset_free(val);
        return 1;
    }
    return 0;
}
