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
 * pixel v is exactly (float)v / 255.0f. Images mostly zero keep their
 * non-zero pixels only (as float32 values when an image has more than 65536
 * pixels); the others stay dense. */
sr_status sr_dataset_load_idx(const char *images_path, const char *labels_path,
                              sr_dataset **out, sr_error *err);

/* MNIST's directory layout: "<dir>/<split>-images-idx3-ubyte[.gz]" and
 * "<dir>/<split>-labels-idx1-ubyte[.gz]", split being "train" or "t10k". */
sr_status sr_dataset_load_mnist(const char *dir, const char *split,
                                sr_dataset **out, sr_error *err);

/* Sharded loading, for several processes (the MPI build under mpirun;
 * every process calls them, with the same `unit`): this process's share
 * of the rows, whole units of `unit` rows in process order, read by
 * offset (a gzip file is read whole and the share kept). With one
 * process, every row. A unit of 0 is SR_SHARD_UNIT, whole blocks of every
 * full pass; minibatch SGD wants whole minibatches that are also whole
 * 256-row evaluation chunks: lcm(batch, 256). */
#define SR_SHARD_UNIT ((size_t)4096)
sr_status sr_dataset_load_idx_shard(const char *images_path,
                                    const char *labels_path, size_t unit,
                                    sr_dataset **out, sr_error *err);
sr_status sr_dataset_load_mnist_shard(const char *dir, const char *split,
                                      size_t unit, sr_dataset **out,
                                      sr_error *err);
/* A data set of every row made to keep this process's share only. */
sr_status sr_dataset_keep_shard(sr_dataset *ds, size_t unit, sr_error *err);
/* Whether ds holds a share of the rows: then its first row among all of
 * them, every process's rows together and the bytes its reader read. */
int sr_dataset_shard(const sr_dataset *ds, size_t *first, size_t *total,
                     uint64_t *bytes_read);

void sr_dataset_free(sr_dataset *ds);

size_t sr_dataset_rows(const sr_dataset *ds);     /* m */
size_t sr_dataset_features(const sr_dataset *ds); /* n */
size_t sr_dataset_classes(const sr_dataset *ds);  /* k: 1 + largest label */
/* The image shape of IDX data (n = rows cols, row-major pixels): returns 1
 * and fills rows and cols; returns 0 for data that are not images. */
int sr_dataset_image_shape(const sr_dataset *ds, size_t *rows, size_t *cols);
/* Number of examples whose label is `cls`. */
size_t sr_dataset_class_count(const sr_dataset *ds, size_t cls);
/* Smallest and largest feature value. */
void sr_dataset_value_range(const sr_dataset *ds, float *lo, float *hi);
/* Number of feature values that are not zero (of m n). Sparse data
 * (sr_dataset_is_sparse) are counted over their stored values, in
 * O(non-zeros), however wide; dense data in O(m n). */
size_t sr_dataset_nonzeros(const sr_dataset *ds);
/* Keep only the first `rows` examples (rows <= m). */
sr_status sr_dataset_truncate(sr_dataset *ds, size_t rows, sr_error *err);
/* Copy rows [first, first+count) as float32 features into out (count, n). */
sr_status sr_dataset_copy_features(const sr_dataset *ds, size_t first,
                                   size_t count, float *out, sr_error *err);
/* Copy labels of rows [first, first+count) into out. */
sr_status sr_dataset_copy_labels(const sr_dataset *ds, size_t first,
                                 size_t count, int32_t *out, sr_error *err);

/* Copy rows [first, first+count) of an image data set's pixels (m, n),
 * uint8 as the file held them, into out (count, n). */
sr_status sr_dataset_copy_pixels(const sr_dataset *ds, size_t first,
                                 size_t count, uint8_t *out, sr_error *err);

/* ---- Tabular data: CSV, LIBSVM, .npy -------------------------------------
 * Class labels may be any integers or strings. A label written as an
 * integer is normalised ("+1", "1" and "1.0" are class "1"). Classes are
 * numbered 0..k-1: by numeric value when every label is an integer (LIBSVM's
 * -1/+1 become 0/1; 0..9 stay 0..9), otherwise by byte-wise strcmp of the
 * names. A model keeps the names, so predictions print them. Numbers are
 * read in the C locale and must be finite. */

typedef enum sr_task {
    SR_TASK_CLASSIFICATION = 0, /* labels become classes y in [0, k) */
    SR_TASK_REGRESSION = 1,     /* labels become float targets (m, t), t = 1 */
    SR_TASK_UNLABELLED = 2      /* no labels, for prediction: every CSV column
                                   is a feature; LIBSVM's labels are ignored */
} sr_task;

/* Whether a CSV file's first line names the columns.
 *
 * SR_CSV_HEADER_AUTO: the first line is a header when some column j holds a
 * non-number on the first line and a number on the second (a name above a
 * value). A file of a single line is a header only if none of its fields is
 * a number. "Number" means what the reader accepts as a feature value. */
typedef enum sr_csv_header {
    SR_CSV_HEADER_AUTO = 0,
    SR_CSV_HEADER_YES = 1,
    SR_CSV_HEADER_NO = 2
} sr_csv_header;

/* Progress of long work, for a progress bar. */
typedef enum sr_progress_kind {
    SR_PROGRESS_EPOCH = 0, /* an SGD epoch: done and total count examples */
    SR_PROGRESS_LOAD = 1   /* a CSV or LIBSVM file parsed: they count bytes */
} sr_progress_kind;

typedef struct sr_progress {
    size_t epoch;    /* 0-based (0 for a load) */
    size_t done;     /* examples of the epoch, or bytes, done so far */
    size_t total;    /* examples in the epoch (m), or bytes in the file */
    double seconds;  /* since the epoch began (0 for a load) */
    sr_progress_kind kind;
} sr_progress;

/* Called on the thread that called sr_train or the loader, now and then
 * (before every SGD minibatch; every megabyte of a file, from 0); it must
 * return quickly and must not use the model or the data sets. */
typedef void (*sr_progress_callback)(const sr_progress *progress, void *user);

typedef struct sr_tabular_options {
    sr_task task;
    /* CSV: the label column, as a header name or a 0-based index ("4"); a
     * name is tried first. NULL or "" = the last column. Every other column
     * is a feature, in file order. */
    const char *label_col;
    sr_csv_header header; /* CSV */
    /* CSV: ',', ';', '\t' or ' ' (runs of spaces and tabs separate fields);
     * 0 = detect from the first line: the most frequent of ',', ';', '\t'
     * outside quotes (ties in that order), else ' ' if the line has inner
     * blanks, else ','. */
    char delimiter;
    /* Reference classes (k names), e.g. the training set's class_names, so
     * that a test set gets the same class numbers. NULL = derive the classes
     * from the file. Classification only. */
    const char *const *classes;
    size_t k;
    /* Expected feature count n; 0 = from the file (LIBSVM: the largest
     * index). LIBSVM: an entry of an index above it is left out (a word the
     * training set never saw has no weight, as in LIBLINEAR), counted by
     * sr_dataset_ignored_entries, and n = features even if the file's
     * indices stop short. CSV: a different column count is an error. */
    size_t features;
    /* Progress of the parse (may be NULL), with progress_user. */
    sr_progress_callback progress;
    void *progress_user;
} sr_tabular_options;

/* Classification, label in the last column, header and delimiter detected,
 * no reference classes, features from the file. */
sr_tabular_options sr_tabular_options_default(void);

/* Checks every field; names the first that is out of range. */
sr_status sr_tabular_options_check(const sr_tabular_options *opt,
                                   sr_error *err);

/* A CSV file (raw or gzip-compressed): dense float32 features (m, n), n =
 * columns - 1. Fields are trimmed of surrounding spaces and tabs; "quoted"
 * fields may hold the delimiter, newlines and "" for a quote; blank lines
 * are skipped; \r\n line ends and a UTF-8 byte-order mark are accepted; a
 * NUL byte is an error (a binary file).
 * `opt` may be NULL for the defaults. Outputs untouched on failure. */
sr_status sr_dataset_load_csv(const char *path, const sr_tabular_options *opt,
                              sr_dataset **out, sr_error *err);

/* A LIBSVM/svmlight file (raw or gzip-compressed): "label idx:val ..." per
 * line, indices 1-based and strictly increasing, an optional "# comment" to
 * the end of the line, an optional svmlight "qid:N" after the label (ignored).
 * Features stay sparse (CSR, columns 0-based); explicit zeros are dropped,
 * though their index still counts towards n. The label must be a number. */
sr_status sr_dataset_load_libsvm(const char *path,
                                 const sr_tabular_options *opt,
                                 sr_dataset **out, sr_error *err);


/* NumPy arrays: X (m, n) of float32/float64/uint8/int32/int64 (C order), and
 * y (m) of integer class labels or (m) / (m, t) real targets for
 * regression. */
sr_status sr_dataset_load_npy(const char *x_path, const char *y_path,
                              sr_task task, sr_dataset **out, sr_error *err);

typedef enum sr_format {
    SR_FORMAT_AUTO = 0, /* from the content, then the extension */
    SR_FORMAT_CSV = 1,
    SR_FORMAT_LIBSVM = 2,
    SR_FORMAT_NPY = 3,
    SR_FORMAT_IDX = 4
} sr_format;

/* Any supported file. IDX images need their labels (`labels_path`); .npy
 * features need theirs too. CSV and LIBSVM carry their labels. */
sr_status sr_dataset_load(const char *path, const char *labels_path,
                          sr_format format, const sr_tabular_options *opt,
                          sr_dataset **out, sr_error *err);
/* Its counterpart for several processes (sr_dataset_load_idx_shard):
 * this process's share of the rows. IDX by offset; CSV and LIBSVM from
 * this process's share of the bytes, cut where rows start (a CSV newline
 * in quotes is not one), the rows then moved to their shards, the
 * classes, the width and the class counts agreed; .npy by offset (any
 * numeric type, converted as read); gzip files (and .npy files in the
 * other byte order) read whole. Every process
 * calls it. */
sr_status sr_dataset_load_shard(const char *path, const char *labels_path,
                                sr_format format,
                                const sr_tabular_options *opt, size_t unit,
                                sr_dataset **out, sr_error *err);

/* What a file holds, judged from its first bytes and its name. */
sr_format sr_format_detect(const char *path, sr_error *err);
const char *sr_format_name(sr_format format);

/* A data set copied from row-major arrays: X (m, n), and either class
 * labels y (m) in [0, k) with k = 1 + the largest, or regression targets
 * (m, t). Pass NULL for the one not used. */
sr_status sr_dataset_from_arrays(const float *X, size_t m, size_t n,
                                 const int32_t *y, const float *targets,
                                 size_t t, sr_dataset **out, sr_error *err);

/* Regression targets per example (0 for classification data). */
size_t sr_dataset_targets(const sr_dataset *ds);
/* Rows [first, first + count) of the targets into out (count times
 * sr_dataset_targets floats, row-major). */
sr_status sr_dataset_copy_targets(const sr_dataset *ds, size_t first,
                                  size_t count, float *out, sr_error *err);
/* The name of class c as the file wrote it ("cat", "-1"), or NULL when the
 * data set numbers its classes 0..k-1 itself. */
const char *sr_dataset_class_name(const sr_dataset *ds, size_t c);
/* 1 if the features are stored sparse (LIBSVM, MNIST's pixel lists). */
int sr_dataset_is_sparse(const sr_dataset *ds);
/* LIBSVM entries left out for an index beyond the expected features. */
size_t sr_dataset_ignored_entries(const sr_dataset *ds);
/* A CSV file's header names of feature j and of the label column (NULL
 * without a header). */
const char *sr_dataset_feature_name(const sr_dataset *ds, size_t j);
const char *sr_dataset_label_name(const sr_dataset *ds);
/* A dense data set of the columns cols[0 .. n) of ds, in that order (its
 * labels, targets and names with them): a file's columns put in a model's
 * order. */
sr_status sr_dataset_select_features(const sr_dataset *ds, const size_t *cols,
                                     size_t n, sr_dataset **out,
                                     sr_error *err);
/* A data set of the rows rows[0 .. count) of ds, in that order, in the
 * same layout, with their labels or targets and every name: folds of a
 * cross-validation, a held-out part. */
sr_status sr_dataset_select_rows(const sr_dataset *ds, const size_t *rows,
                                 size_t count, sr_dataset **out,
                                 sr_error *err);

/* ---- Data in the caller's memory ---------------------------------------
 * A data set over the caller's arrays instead of a copy of them, for
 * bindings (the Python package hands NumPy arrays this way) and programs
 * that hold their data already. The arrays must stay alive and unchanged
 * until sr_dataset_free. Labels are either class indices y (m), k = 1 +
 * the largest, or regression targets (m, t), row-major; NULL for both is
 * data to predict. Every value is checked as the readers check a file's
 * (finite, non-negative labels, a well-formed sparse structure), in one
 * pass over the stored values. Outputs untouched on failure. */

/* Dense float32 features (m, n), row-major. */
sr_status sr_dataset_view_dense(const float *X, size_t m, size_t n,
                                const int32_t *y, const float *targets,
                                size_t t, sr_dataset **out, sr_error *err);
/* uint8 pixels (m, n), row-major, pixel v worth (float)v / 255.0f as in
 * IDX files. Images at least half non-zero stay in the caller's memory;
 * mostly-zero ones get their non-zero pixels listed (a copy, a third the
 * size, whose products skip the zeros), as sr_dataset_load_idx does. */
sr_status sr_dataset_view_pixels(const uint8_t *X, size_t m, size_t n,
                                 const int32_t *y, const float *targets,
                                 size_t t, sr_dataset **out, sr_error *err);
/* Compressed sparse rows (SciPy's CSR): row i holds val[p] at column
 * col[p] for p in [row_ptr[i], row_ptr[i + 1]), columns strictly
 * increasing and below n; row_ptr has m + 1 entries from 0. */
sr_status sr_dataset_view_csr(const size_t *row_ptr, const uint32_t *col,
                              const float *val, size_t m, size_t n,
                              const int32_t *y, const float *targets, size_t t,
                              sr_dataset **out, sr_error *err);
/* Names the k classes (k >= 1 + the largest label; k becomes the data
 * set's class count) or the n features; the names are copied, and a model
 * trained on the data set keeps them. */
sr_status sr_dataset_set_class_names(sr_dataset *ds, const char *const *names,
                                     size_t k, sr_error *err);
sr_status sr_dataset_set_feature_names(sr_dataset *ds,
                                       const char *const *names, size_t n,
                                       sr_error *err);

/* ---- Training ------------------------------------------------------------ */

typedef enum sr_model_kind {
    SR_MODEL_SOFTMAX = 0, /* logits = X theta (+ b), softmax cross-entropy */
    SR_MODEL_NN = 1,      /* logits = ReLU(X W1 (+ b1)) W2 (+ b2) */
    SR_MODEL_LINEAR = 2,  /* y = X theta (+ b), squared error 1/2 (y - t)^2 */
    SR_MODEL_LOGISTIC = 3 /* P(y = 1) = sigmoid(X theta (+ b)), cross-entropy */
} sr_model_kind;

typedef enum sr_init {
    SR_INIT_DEFAULT = 0, /* zeros for the linear family, numpy for the network */
    SR_INIT_ZEROS = 1,   /* all parameters zero */
    SR_INIT_NUMPY = 2    /* np.random.seed(seed); randn(rows, cols) / sqrt(cols)
                            for every weight block in order; biases zero */
} sr_init;

/* Weights of the classes in the training loss. */
typedef enum sr_class_weight {
    SR_CLASS_WEIGHT_NONE = 0,
    SR_CLASS_WEIGHT_BALANCED = 1 /* class c weighs m / (k m_c) (scikit-learn's
                                    "balanced"): each class's examples
                                    together weigh as much as another's */
} sr_class_weight;

typedef enum sr_optimizer {
    SR_OPTIMIZER_SGD = 0,   /* minibatch SGD (the course's) */
    SR_OPTIMIZER_GD = 1,    /* full-batch gradient descent, one step per epoch */
    SR_OPTIMIZER_LBFGS = 2, /* full-batch L-BFGS (liblbfgs), max_iter iterations */
    SR_OPTIMIZER_EXACT = 3, /* linear regression only: least squares by SVD
                               (LAPACK), ridge with l2 */
    SR_OPTIMIZER_NEWTON = 4 /* full-batch truncated Newton (trust region,
                               conjugate gradients on Hessian-vector
                               products), max_iter iterations, to tol; the
                               convex models only (not the network) */
} sr_optimizer;

/* The objective is the mean loss over the training examples plus
 * l2/2 ||W||^2 over the weights (biases are not decayed): the softmax
 * tutorial's J(theta). */
/* How a training run ended: filled when sr_train_params.outcome is set. */
typedef struct sr_train_outcome {
    int converged;      /* a full-batch optimiser met its convergence test */
    size_t iterations;  /* epochs, steps or iterations run */
    size_t kept_epoch;  /* early stopping: the epoch whose parameters were
                           kept; SIZE_MAX when the last epoch's were */
    char reason[200];   /* why it stopped, one sentence without a period */
} sr_train_outcome;

typedef struct sr_train_params {
    sr_model_kind model;
    size_t hidden;   /* d, for SR_MODEL_NN */
    size_t epochs;   /* SGD passes, or GD steps */
    double lr;       /* learning rate alpha */
    size_t batch;    /* minibatch size B */
    sr_init init;
    uint32_t seed;   /* for --init numpy, shuffling and the validation split */
    size_t classes;  /* k; 0 = from the training data */
    size_t threads;  /* 0 = as many as the machine has */
    int evaluate;    /* compute train and test loss/error after every epoch */
    /* Added for the whole family; zero values keep the course's behaviour. */
    int bias;               /* add biases */
    double l2;              /* weight decay lambda >= 0 */
    sr_optimizer optimizer;
    double momentum;        /* SGD momentum mu in [0, 1) */
    int shuffle;            /* reorder the examples every epoch (from seed) */
    size_t max_iter;        /* L-BFGS iterations (default 100) */
    double val_split;       /* hold out this fraction (0 <= f < 1) of training:
                               a random part (from seed), stratified by class
                               (each class gives its share, rounded so that
                               the parts add up), unless val_tail */
    size_t early_stop;      /* stop after this many epochs without a better
                               validation loss, keeping the best (0 = never) */
    unsigned poly;          /* feature map: x, x^2, ..., x^poly (1 = none) */
    int standardize;        /* scale features by the training mean and deviation */
    const struct sr_model *warm_start; /* continue from this model, or NULL */
    /* Faults (sgd and gd): the full training state is written atomically
     * to checkpoint_path after every epoch; resume_path continues a run
     * from such a file, ending with the same bits as a run never
     * interrupted. When *interrupt becomes non-zero (a signal handler may
     * set it), training stops after the current minibatch, writes the
     * checkpoint if it has a path, and returns SR_ERR_INTERRUPTED. */
    const char *checkpoint_path;
    const char *resume_path;
    const volatile int *interrupt;
    /* Added for the full-batch optimisers on big models. */
    size_t lbfgs_memory;    /* L-BFGS corrections kept (0 = as many as fit in
                               256 MB, between 3 and 100) */
    double tol;             /* Newton: stop when the gradient's norm is below
                               tol times its first value (0 = 1e-3) */
    /* Added for honest endings: why training stopped (may be NULL). A
     * training loss a thousand times an untrained model's (log k, or half
     * the targets' mean square), and at least 1000, stops training with
     * SR_ERR_DIVERGED, as a loss that is not finite does. */
    sr_train_outcome *outcome;
    /* When training is interrupted (SR_ERR_INTERRUPTED), *out is the model
     * after the last finished epoch or iteration (outcome->iterations
     * says how many; NULL when none finished). */
    int keep_on_interrupt;
    /* With val_split: hold out the last rows, in the data's order. */
    int val_tail;
    /* The training loss weighs each example by its class's weight (the
     * classifiers); the loss and error reported after each epoch are not
     * weighted. */
    sr_class_weight class_weight;
    /* Progress within SGD epochs (may be NULL), with progress_user; the
     * full-batch optimisers report each iteration as an epoch. */
    sr_progress_callback progress;
    void *progress_user;
} sr_train_params;

/* The course's run: softmax regression, 10 epochs, lr 0.2, batch 100. */
sr_train_params sr_train_params_default(void);
/* Checks every field; names the first that is out of range. */
sr_status sr_train_params_check(const sr_train_params *params, sr_error *err);

/* For regression the error is the root mean squared error. */
typedef struct sr_epoch_stats {
    size_t epoch;        /* 0-based: an SGD epoch, a GD step or an L-BFGS iteration */
    double train_loss, train_err;
    double test_loss, test_err; /* NaN when there is no test set */
    double seconds;      /* wall time of this epoch's training pass */
    double val_loss, val_err;   /* NaN without a validation split */
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
const char *sr_model_kind_name(sr_model_kind kind); /* "softmax", "nn", ... */
size_t sr_model_features(const sr_model *model); /* raw input features */
size_t sr_model_classes(const sr_model *model);  /* classes (2 for logistic),
                                                    targets for linear */
size_t sr_model_outputs(const sr_model *model);  /* k: scores per example */
size_t sr_model_hidden(const sr_model *model);   /* d, 0 without hidden layer */
/* The name of class c (as the training file wrote it) or NULL. */
const char *sr_model_class_name(const sr_model *model, size_t c);
int sr_model_has_bias(const sr_model *model);
/* The training file's name of raw feature j and of the label column, when
 * it had a header; NULL otherwise. */
const char *sr_model_feature_name(const sr_model *model, size_t j);
const char *sr_model_label_name(const sr_model *model);
/* The label column's 0-based position among the training file's columns,
 * or SIZE_MAX when unknown. */
size_t sr_model_label_column(const sr_model *model);
unsigned sr_model_poly(const sr_model *model);
int sr_model_is_standardized(const sr_model *model);
/* A standardised model's scaling of its inputs (the features after the
 * polynomial map, sr_model_features times sr_model_poly of them): input i
 * becomes (x_i - mean[i]) * inv_std[i], each operation in float32. NULL
 * when the model does not standardise. */
const float *sr_model_mean(const sr_model *model);
/* How the model was trained: its options as text ("optimizer=lbfgs
 * l2=0.0095 ..."), or NULL for a model file that does not say; and a
 * CRC-32 of its training data (returns 0 when unknown). */
const char *sr_model_train_options(const sr_model *model);
int sr_model_data_crc(const sr_model *model, uint32_t *crc);
/* Records in the model the CRC-32 of its training data (a pass over the
 * data, so sr_train leaves it to callers that keep the model). */
void sr_model_set_data_crc(sr_model *model, const sr_dataset *train);
const float *sr_model_inv_std(const sr_model *model);

/* Parameter blocks: theta [b] for the linear family, W1 [b1] W2 [b2] for
 * the network. The data stays owned by the model. */
size_t sr_model_param_count(const sr_model *model);
const float *sr_model_param(const sr_model *model, size_t index,
                            const char **name, size_t *rows, size_t *cols);

/* Mean loss and error rate (RMSE for regression) on a data set, whose
 * features are the raw ones: the model applies its feature map. */
sr_status sr_model_evaluate(const sr_model *model, const sr_dataset *ds,
                            double *loss, double *error_rate, sr_error *err);

/* Raw scores of every example: out is (m, k) with k = sr_model_outputs():
 * logits (softmax, nn), the logit of P(y = 1) (logistic), predictions
 * (linear). */
sr_status sr_model_logits(const sr_model *model, const sr_dataset *ds,
                          float *out, sr_error *err);

/* Predicted class of every example (classifiers), out is (m). */
sr_status sr_model_predict(const sr_model *model, const sr_dataset *ds,
                           int32_t *out, sr_error *err);

/* Class probabilities: (m, k) summing to 1 per row for softmax and nn;
 * (m) holding P(y = 1) for logistic. */
sr_status sr_model_predict_proba(const sr_model *model, const sr_dataset *ds,
                                 float *out, sr_error *err);

/* The confusion matrix of a classifier on labelled data: counts (k, k),
 * row = true class, column = predicted class. */
sr_status sr_model_confusion(const sr_model *model, const sr_dataset *ds,
                             size_t *counts, sr_error *err);

/* Saves a versioned binary model file (magic, version, kind and sizes,
 * feature map, class names, little-endian float32 parameters, CRC-32),
 * written to a temporary file and renamed: never half-written. */
sr_status sr_model_save(const sr_model *model, const char *path,
                        sr_error *err);
/* Loads a model file, refusing a wrong magic, a newer version, a size that
 * does not match the file, or a bad checksum. */
sr_status sr_model_load(const char *path, sr_model **out, sr_error *err);

/* Checks the analytic gradient of the objective (mean loss + l2/2 ||W||^2)
 * at the model's parameters on the first `rows` examples of ds against
 * central differences in double, for at most `per_block` parameters of each
 * block. max_rel_err[b] receives the largest relative error of block b,
 * |a - n| / max(|a| + |n|, 0.001 g) with g the block's largest numerical
 * gradient (there are sr_model_param_count() blocks). */
sr_status sr_model_gradcheck(const sr_model *model, const sr_dataset *ds,
                             size_t rows, double l2, size_t per_block,
                             double *max_rel_err, sr_error *err);

/* Writes each parameter block as "<dir>/<name>.npy" (float32, C order),
 * readable by numpy.load, and for a standardised model mean.npy and
 * inv_std.npy (sr_model_mean). Each file is written atomically. */
sr_status sr_model_save_npy(const sr_model *model, const char *dir,
                            sr_error *err);

/* ---- More than one process (MPI; a build with `make MPI=1`) ----
 * sr_dist_init starts MPI (a build without MPI: nothing); then training
 * and evaluation share their full passes' fixed blocks of rows among the
 * processes and combine the blocks' sums in block order, so that every
 * process count gives the bits of one process. Every process must make
 * the same calls. sr_dist_rank is this process's number (0 in a build
 * without MPI), sr_dist_size the count (1). sr_dist_abort stops every
 * process with `status` after printing `message` (naming the rank) to
 * stderr: for a command whose process failed. */
void sr_dist_init(int *argc, char ***argv);
void sr_dist_finalize(void);
int sr_dist_rank(void);
int sr_dist_size(void);
void sr_dist_abort(int status, const char *message);

#ifdef __cplusplus
}
#endif

#endif /* SOFTREG_H */
