/* Epoch-level benchmarks of the training engine, for bench/run.py: one
 * JSON object per line on stdout.
 *
 *   bench info                   the kernel table in use, threads, sizes
 *   bench epochs [options]       SGD epochs and evaluations, timed apart
 *
 * options: --data DIR (data/mnist)  --model softmax|nn  --hidden D
 *          --threads T  --reps R (epochs timed, 5)  --repeat X (the
 *          training set repeated X times, 1)  --batch B (100)
 *          --keep-threads 1 (all T threads throughout: the engine does not
 *          time whether they pay off, see engine.h's threads_now)
 *
 * `epochs` runs one untimed epoch first (it builds the engine's per-run
 * structures), then R epochs of SGD, each followed by the evaluation of
 * the training and test sets as `softreg train` does, and reports for
 * each part the median, minimum and maximum of the R timings (wall
 * clock), and the floating-point work of one epoch: "dense" counts what
 * the dense products X W of the course's NumPy code do, "done" only the
 * stored (non-zero) pixels that softreg touches. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train/engine.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void stats(double *t, size_t n, double *med, double *lo, double *hi)
{
    qsort(t, n, sizeof *t, cmp_double);
    *med = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    *lo = t[0];
    *hi = t[n - 1];
}

static void die(const char *what, const sr_error *err)
{
    fprintf(stderr, "bench: %s: %s\n", what, err ? err->message : "failed");
    exit(1);
}

/* The data set ds with its rows repeated `times` times (sparse uint8
 * layout only), built through the library's own structure. */
static sr_dataset *repeat_rows(const sr_dataset *ds, size_t times)
{
    sr_error err;
    if (ds->layout != SR_FEATURES_U8_SPARSE)
        die("repeat", NULL);
    size_t m = ds->m, nnz = ds->row_ptr[m] - ds->row_ptr[0];
    sr_dataset *r = sr_dataset_new(&err);
    if (!r)
        die("repeat", &err);
    r->m = m * times;
    r->n = ds->n;
    r->k = ds->k;
    r->rows = ds->rows;
    r->cols = ds->cols;
    r->layout = SR_FEATURES_U8_SPARSE;
    r->row_ptr = sr_alloc_array(r->m + 1, sizeof *r->row_ptr);
    r->col16 = sr_alloc_array(nnz * times + 1, sizeof *r->col16);
    r->val8 = sr_alloc(nnz * times + 1);
    r->y = sr_alloc_array(r->m, sizeof *r->y);
    if (!r->row_ptr || !r->col16 || !r->val8 || !r->y)
        die("repeat: out of memory", NULL);
    r->row_ptr[0] = 0;
    for (size_t c = 0; c < times; c++) {
        memcpy(r->col16 + c * nnz, ds->col16 + ds->row_ptr[0],
               nnz * sizeof *r->col16);
        memcpy(r->val8 + c * nnz, ds->val8 + ds->row_ptr[0], nnz);
        memcpy(r->y + c * m, ds->y, m * sizeof *r->y);
        for (size_t i = 0; i < m; i++)
            r->row_ptr[c * m + i + 1] =
                c * nnz + ds->row_ptr[i + 1] - ds->row_ptr[0];
    }
    return r;
}

static size_t stored(const sr_dataset *ds)
{
    if (ds->layout == SR_FEATURES_U8_SPARSE || ds->layout == SR_FEATURES_CSR)
        return ds->row_ptr[ds->m] - ds->row_ptr[0];
    return ds->m * ds->n;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "info";
    const char *data = "data/mnist", *model_name = "softmax";
    size_t hidden = 100, threads = 1, reps = 5, repeat = 1, batch = 100;
    int keep = 0;
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *o = argv[i], *v = argv[i + 1];
        if (!strcmp(o, "--data"))
            data = v;
        else if (!strcmp(o, "--model"))
            model_name = v;
        else if (!strcmp(o, "--hidden"))
            hidden = strtoul(v, NULL, 10);
        else if (!strcmp(o, "--threads"))
            threads = strtoul(v, NULL, 10);
        else if (!strcmp(o, "--reps"))
            reps = strtoul(v, NULL, 10);
        else if (!strcmp(o, "--repeat"))
            repeat = strtoul(v, NULL, 10);
        else if (!strcmp(o, "--batch"))
            batch = strtoul(v, NULL, 10);
        else if (!strcmp(o, "--keep-threads"))
            keep = atoi(v);
        else {
            fprintf(stderr, "bench: unknown option %s\n", o);
            return 2;
        }
    }
    if (!strcmp(mode, "info")) {
        int procs = 1;
#ifdef _OPENMP
        procs = omp_get_num_procs();
#endif
        printf("{\"kernels\": \"%s\", \"procs\": %d, \"version\": \"%s\"}\n",
               sr_kernels()->name, procs, sr_version());
        return 0;
    }
    if (strcmp(mode, "epochs") || reps == 0 || threads == 0 || repeat == 0) {
        fprintf(stderr, "usage: bench info | bench epochs [options]\n");
        return 2;
    }
    sr_error err;
    sr_dataset *train0, *test;
    if (sr_dataset_load_mnist(data, "train", &train0, &err) ||
        sr_dataset_load_mnist(data, "t10k", &test, &err))
        die("loading MNIST", &err);
    sr_dataset *train = repeat > 1 ? repeat_rows(train0, repeat) : train0;
    int nn = !strcmp(model_name, "nn");
    size_t n = train->n, k = train->k, d = nn ? hidden : 0;
    sr_model_spec spec = {nn ? SR_MODEL_NN : SR_MODEL_SOFTMAX, n, k, d, 0};
    sr_model *model;
    if (sr_model_create(&spec, &model, &err))
        die("model", &err);
    /* The network starts from small random weights (any will do for
     * timing); softmax regression from zeros, as the course does. */
    uint32_t s = 12345;
    for (size_t i = 0; nn && i < model->nparams; i++) {
        s = s * 1664525u + 1013904223u;
        model->params[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 0.1f;
    }
    sr_engine e;
    size_t eval_rows = train->m > test->m ? train->m : test->m;
    if (sr_engine_init(&e, model, batch, eval_rows, threads, 0, &err))
        die("engine", &err);
    if (keep)
        e.team.probed = 1;
    sr_step step = {0.2, 0.0, 0.0};
    double *tt = calloc(reps, sizeof *tt), *te = calloc(reps, sizeof *te);
    double loss, l1, e1, l2, e2;
    for (size_t r = 0; r <= reps; r++) {
        double t0 = now();
        if (sr_engine_sgd_epoch(&e, model, train, NULL, batch, &step, r, &loss,
                                &err))
            die("epoch", &err);
        double t1 = now();
        sr_engine_evaluate(&e, train, &l1, &e1);
        sr_engine_evaluate(&e, test, &l2, &e2);
        double t2 = now();
        if (r > 0) {
            tt[r - 1] = t1 - t0;
            te[r - 1] = t2 - t1;
        }
    }
    double tmed, tlo, thi, emed, elo, ehi;
    stats(tt, reps, &tmed, &tlo, &thi);
    stats(te, reps, &emed, &elo, &ehi);
    /* Work of one epoch, in flops (a multiply-add is two). */
    double m = (double)train->m, me = (double)(train->m + test->m);
    double nz = (double)stored(train), nze = nz + (double)stored(test);
    double dn = (double)n, dk = (double)k, dd = (double)d;
    double train_dense, train_done, eval_dense, eval_done;
    if (!nn) {
        /* logits X theta and the gradient X^T G */
        train_dense = 4.0 * m * dn * dk;
        train_done = 4.0 * nz * dk;
        eval_dense = 2.0 * me * dn * dk;
        eval_done = 2.0 * nze * dk;
    } else {
        /* X W1 and X^T G1; H W2, G2 W2^T and H^T G2 */
        train_dense = 4.0 * m * dn * dd + 6.0 * m * dd * dk;
        train_done = 4.0 * nz * dd + 6.0 * m * dd * dk;
        eval_dense = 2.0 * me * dn * dd + 2.0 * me * dd * dk;
        eval_done = 2.0 * nze * dd + 2.0 * me * dd * dk;
    }
    printf("{\"model\": \"%s\", \"hidden\": %zu, \"threads\": %zu, "
           "\"threads_used\": %zu, "
           "\"repeat\": %zu, \"rows\": %zu, \"kernels\": \"%s\", "
           "\"reps\": %zu, "
           "\"train_med\": %.6f, \"train_min\": %.6f, \"train_max\": %.6f, "
           "\"eval_med\": %.6f, \"eval_min\": %.6f, \"eval_max\": %.6f, "
           "\"train_dense_flop\": %.6g, \"train_done_flop\": %.6g, "
           "\"eval_dense_flop\": %.6g, \"eval_done_flop\": %.6g, "
           "\"train_loss\": %.8f, \"test_err\": %.6f}\n",
           model_name, d, threads, e.team.threads_now, repeat, train->m, e.K->name,
           reps, tmed,
           tlo, thi, emed, elo, ehi, train_dense, train_done, eval_dense,
           eval_done, l1, e2);
    sr_engine_release(&e);
    sr_model_free(model);
    if (train != train0)
        sr_dataset_free(train);
    sr_dataset_free(train0);
    sr_dataset_free(test);
    free(tt);
    free(te);
    return 0;
}
