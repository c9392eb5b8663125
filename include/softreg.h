/*
 * softreg — softmax regression and its family (linear, logistic, a two-layer
 * ReLU network) for MNIST-style images and tabular data.
 *
 * This header is the whole public API. Everything not declared here is
 * private. Conventions:
 *
 *   - Names are sr_<object>_<verb>; enums are SR_<ENUM>_<VALUE>.
 *   - Functions that can fail return sr_status and, when `err` is not NULL,
 *     fill it with a message naming the file or argument at fault. On failure
 *     their outputs are left untouched. The library never prints or exits.
 *   - Every *_load / *_create has a *_free that accepts NULL.
 *   - Letters follow the course: m examples, n features, k classes,
 *     d hidden units, B batch size. Matrices are row-major float32.
 *
 * A complete example (load MNIST, train, evaluate):
 *
 *     sr_error err;
 *     sr_dataset *train = NULL, *test = NULL;
 *     sr_model *model = NULL;
 *     if (sr_dataset_load_mnist("data/mnist", "train", &train, &err) ||
 *         sr_dataset_load_mnist("data/mnist", "t10k", &test, &err))
 *         goto fail;
 *     sr_train_params p = sr_train_params_default();   // the course's run
 *     if (sr_train(train, test, &p, NULL, NULL, &model, &err))
 *         goto fail;
 *     double loss, error_rate;
 *     if (sr_model_evaluate(model, test, &loss, &error_rate, &err))
 *         goto fail;
 *     printf("test error %.4f\n", error_rate);
 *     ...
 *   fail:
 *     fprintf(stderr, "%s\n", err.message);
 *     sr_model_free(model); sr_dataset_free(test); sr_dataset_free(train);
 */
#ifndef SOFTREG_H
#define SOFTREG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Version ---------------------------------------------------------- */

#define SOFTREG_VERSION_MAJOR 0
#define SOFTREG_VERSION_MINOR 1
#define SOFTREG_VERSION_PATCH 0
#define SOFTREG_VERSION "0.1.0"
/* The library's version string; compare with SOFTREG_VERSION. */
const char *sr_version(void);

/* ---- Errors ----------------------------------------------------------- */

/* New values go at the end; numbers are never reused. */
typedef enum sr_status {
    SR_OK = 0,
    SR_ERR_NOMEM = 1,       /* an allocation failed */
    SR_ERR_IO = 2,          /* a file could not be opened, read or written */
    SR_ERR_FORMAT = 3,      /* a file's content is not what its format says */
    SR_ERR_INVALID_ARG = 4, /* an argument or option is out of range */
    SR_ERR_TOO_BIG = 5,     /* sizes overflow or exceed what can be held */
    SR_ERR_DIVERGED = 6,    /* a loss or parameter became NaN or infinite */
    SR_ERR_MISMATCH = 7,    /* data sets or models disagree in shape */
    SR_ERR_INTERRUPTED = 8  /* a callback asked training to stop */
} sr_status;

typedef struct sr_error {
    sr_status code;
    char message[512];
} sr_error;

/* A short constant description of a status code ("out of memory", ...). */
const char *sr_status_str(sr_status status);

/* ---- The course's functions on plain arrays ----------------------------
 * These follow CMU 10-714 homework 0 exactly: X is (m, n), y holds class
 * indices in [0, k), theta is (n, k), W1 is (n, d), W2 is (d, k), all
 * row-major float32. Minibatches are taken in order; the last, partial one
 * is used with its own size. The update is theta -= lr/B * X_b^T (Z - I_y).
 */

/* Mean over rows of log(sum_j exp Z_ij) - Z_{i,y_i}, computed stably. */
sr_status sr_softmax_loss(const float *Z, const uint8_t *y, size_t m, size_t k,
                          double *loss, sr_error *err);

/* Mean softmax loss and error rate (argmax != y, first maximum wins). */
sr_status sr_loss_err(const float *Z, const uint8_t *y, size_t m, size_t k,
                      double *loss, double *error_rate, sr_error *err);

/* One epoch of minibatch SGD for softmax regression, theta updated in place. */
sr_status sr_softmax_regression_epoch(const float *X, const uint8_t *y,
                                      float *theta, size_t m, size_t n,
                                      size_t k, float lr, size_t batch,
                                      sr_error *err);

/* One epoch of minibatch SGD for logits = ReLU(X W1) W2, W1 and W2 in place. */
sr_status sr_nn_epoch(const float *X, const uint8_t *y, float *W1, float *W2,
                      size_t m, size_t n, size_t d, size_t k, float lr,
                      size_t batch, sr_error *err);

/* ---- NumPy-compatible random numbers ------------------------------------
 * MT19937 seeded as numpy.random.seed(s), and the legacy generators of
 * numpy.random.RandomState, so that initialisations reproduce the course's
 * arrays bit for bit. The struct is public so it can live on the stack.
 */
typedef struct sr_rng {
    uint32_t key[624];
    int pos;
    int has_gauss;
    double gauss;
} sr_rng;

void sr_rng_seed(sr_rng *rng, uint32_t seed);
uint32_t sr_rng_u32(sr_rng *rng);
/* Uniform in [0, 1) with 53 random bits: numpy.random.random_sample(). */
double sr_rng_uniform(sr_rng *rng);
/* Standard normal: numpy.random.randn() (polar method, second value cached). */
double sr_rng_randn(sr_rng *rng);
/* Uniform integer in [0, max]: NumPy's legacy masked rejection sampling. */
uint64_t sr_rng_interval(sr_rng *rng, uint64_t max);
/* perm[0..count) = numpy.random.permutation(count). */
void sr_rng_permutation(sr_rng *rng, size_t *perm, size_t count);

/* ---- Data sets ---------------------------------------------------------- */

typedef struct sr_dataset sr_dataset;

/* An IDX image file and its label file (each raw or gzip-compressed, told
 * apart by the gzip magic bytes). Pixels stay uint8 in memory; the value of
 * pixel v is exactly (float)v / 255.0f. */
sr_status sr_dataset_load_idx(const char *images_path, const char *labels_path,
                              sr_dataset **out, sr_error *err);

/* MNIST's directory layout: "<dir>/<split>-images-idx3-ubyte[.gz]" and
 * "<dir>/<split>-labels-idx1-ubyte[.gz]", split being "train" or "t10k". */
sr_status sr_dataset_load_mnist(const char *dir, const char *split,
                                sr_dataset **out, sr_error *err);

void sr_dataset_free(sr_dataset *ds);

size_t sr_dataset_rows(const sr_dataset *ds);     /* m */
size_t sr_dataset_features(const sr_dataset *ds); /* n */
size_t sr_dataset_classes(const sr_dataset *ds);  /* k: 1 + largest label */
/* Number of examples whose label is `cls`. */
size_t sr_dataset_class_count(const sr_dataset *ds, size_t cls);
/* Smallest and largest feature value. */
void sr_dataset_value_range(const sr_dataset *ds, float *lo, float *hi);
/* Keep only the first `rows` examples (rows <= m). */
sr_status sr_dataset_truncate(sr_dataset *ds, size_t rows, sr_error *err);
/* Copy rows [first, first+count) as float32 features into out (count, n). */
sr_status sr_dataset_copy_features(const sr_dataset *ds, size_t first,
                                   size_t count, float *out, sr_error *err);
/* Copy labels of rows [first, first+count) into out. */
sr_status sr_dataset_copy_labels(const sr_dataset *ds, size_t first,
                                 size_t count, int32_t *out, sr_error *err);

/* ---- Training ------------------------------------------------------------ */

typedef enum sr_model_kind {
    SR_MODEL_SOFTMAX = 0, /* logits = X theta (+ b), softmax cross-entropy */
    SR_MODEL_NN = 1,      /* logits = ReLU(X W1 (+ b1)) W2 (+ b2) */
    SR_MODEL_LINEAR = 2,  /* y = X theta (+ b), squared error 1/2 (y - t)^2 */
    SR_MODEL_LOGISTIC = 3 /* P(y = 1) = sigmoid(X theta (+ b)), cross-entropy */
} sr_model_kind;

typedef enum sr_init {
    SR_INIT_DEFAULT = 0, /* zeros for softmax regression, numpy for the network */
    SR_INIT_ZEROS = 1,   /* all parameters zero */
    SR_INIT_NUMPY = 2    /* np.random.seed(seed); randn(..) / sqrt(fan_out) */
} sr_init;

typedef struct sr_train_params {
    sr_model_kind model;
    size_t hidden;   /* d, for SR_MODEL_NN */
    size_t epochs;
    double lr;       /* learning rate alpha */
    size_t batch;    /* minibatch size B */
    sr_init init;
    uint32_t seed;
    size_t classes;  /* k; 0 = 1 + the largest training label */
    size_t threads;  /* 0 = as many as the machine has */
    int evaluate;    /* compute train and test loss/error after every epoch */
} sr_train_params;

/* The course's run: softmax regression, 10 epochs, lr 0.2, batch 100. */
sr_train_params sr_train_params_default(void);
/* Checks every field; names the first that is out of range. */
sr_status sr_train_params_check(const sr_train_params *params, sr_error *err);

typedef struct sr_epoch_stats {
    size_t epoch;        /* 0-based */
    double train_loss, train_err;
    double test_loss, test_err; /* NaN when there is no test set */
    double seconds;      /* wall time of this epoch's training pass */
} sr_epoch_stats;

/* Called after every epoch; return non-zero to stop training early. */
typedef int (*sr_epoch_callback)(const sr_epoch_stats *stats, void *user);

typedef struct sr_model sr_model;

/* Trains a model on `train`, evaluating on `test` (may be NULL) after every
 * epoch when params->evaluate is set. */
sr_status sr_train(const sr_dataset *train, const sr_dataset *test,
                   const sr_train_params *params, sr_epoch_callback callback,
                   void *user, sr_model **out, sr_error *err);

void sr_model_free(sr_model *model);

sr_model_kind sr_model_kind_of(const sr_model *model);
size_t sr_model_features(const sr_model *model); /* n */
size_t sr_model_classes(const sr_model *model);  /* k */
size_t sr_model_hidden(const sr_model *model);   /* d, 0 for softmax */

/* Parameter blocks: 1 for softmax regression (theta), 2 for the network
 * (W1, W2). `name` is "theta", "W1" or "W2"; the data stays owned by the
 * model. */
size_t sr_model_param_count(const sr_model *model);
const float *sr_model_param(const sr_model *model, size_t index,
                            const char **name, size_t *rows, size_t *cols);

/* Mean softmax loss and error rate of the model on a data set. */
sr_status sr_model_evaluate(const sr_model *model, const sr_dataset *ds,
                            double *loss, double *error_rate, sr_error *err);

/* Logits of every example: out is (m, k). */
sr_status sr_model_logits(const sr_model *model, const sr_dataset *ds,
                          float *out, sr_error *err);

/* Writes each parameter block as "<dir>/<name>.npy" (float32, C order),
 * readable by numpy.load. Each file is written atomically. */
sr_status sr_model_save_npy(const sr_model *model, const char *dir,
                            sr_error *err);

#ifdef __cplusplus
}
#endif

#endif /* SOFTREG_H */
