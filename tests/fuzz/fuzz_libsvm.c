/* libFuzzer target: sr_libsvm_parse. The first input byte picks the task,
 * reference classes and an expected feature count; the rest is the file.
 * On success the CSR structure is checked. */
#include "fuzz.h"

#include <math.h>

#include "data/tabular.h"

#define NAME "fuzz.svm"

static const char *const ref_classes[] = {"-1", "1", "2", "7"};

static void check_dataset(const sr_dataset *ds, const sr_tabular_options *o)
{
    FUZZ_CHECK(ds->m > 0);
    FUZZ_CHECK(ds->layout == SR_FEATURES_CSR);
    FUZZ_CHECK(ds->row_ptr != NULL && ds->col != NULL && ds->val != NULL);
    FUZZ_CHECK(ds->row_ptr[0] == 0);
    if (o->features)
        FUZZ_CHECK(ds->n == o->features);
    for (size_t r = 0; r < ds->m; r++) {
        FUZZ_CHECK(ds->row_ptr[r] <= ds->row_ptr[r + 1]);
        for (size_t p = ds->row_ptr[r]; p < ds->row_ptr[r + 1]; p++) {
            FUZZ_CHECK(ds->col[p] < ds->n);
            FUZZ_CHECK(p == ds->row_ptr[r] || ds->col[p - 1] < ds->col[p]);
            FUZZ_CHECK(isfinite(ds->val[p]) && ds->val[p] != 0.0f);
        }
    }
    if (o->task == SR_TASK_REGRESSION) {
        FUZZ_CHECK(ds->y == NULL && ds->targets != NULL && ds->t == 1);
        for (size_t i = 0; i < ds->m; i++)
            FUZZ_CHECK(isfinite(ds->targets[i]));
        return;
    }
    FUZZ_CHECK(ds->y != NULL && ds->k > 0 && ds->class_names != NULL);
    if (o->classes)
        FUZZ_CHECK(ds->k == o->k);
    for (size_t i = 0; i < ds->m; i++)
        FUZZ_CHECK(ds->y[i] >= 0 && (size_t)ds->y[i] < ds->k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t features[4] = {0, 1, 10, 1000};
    if (size == 0)
        return 0;
    unsigned b = data[0];
    sr_tabular_options o = sr_tabular_options_default();
    o.task = b & 1 ? SR_TASK_REGRESSION : SR_TASK_CLASSIFICATION;
    if (o.task == SR_TASK_CLASSIFICATION && b >> 1 & 1) {
        o.classes = ref_classes;
        o.k = sizeof ref_classes / sizeof ref_classes[0];
    }
    o.features = features[b >> 2 & 3];

    sr_dataset *ds = NULL;
    sr_error err;
    memset(&err, 0, sizeof err);
    sr_status st = sr_libsvm_parse((const char *)data + 1, size - 1, NAME, &o,
                                   &ds, &err);
    if (st != SR_OK) {
        fuzz_check_error(st, &err, NAME);
        FUZZ_CHECK(ds == NULL);
        return 0;
    }
    check_dataset(ds, &o);
    sr_dataset_free(ds);
    return 0;
}
