/* libFuzzer target: sr_csv_parse. The first input byte picks the options
 * (delimiter, header, task, label column, reference classes); the rest is
 * the file. On success the data set's invariants are checked. */
#include "fuzz.h"

#include <math.h>

#include "data/tabular.h"

#define NAME "fuzz.csv"

static const char *const ref_classes[] = {"0", "1", "2", "setosa"};

static void check_dataset(const sr_dataset *ds, const sr_tabular_options *o)
{
    FUZZ_CHECK(ds->m > 0);
    FUZZ_CHECK(ds->layout == SR_FEATURES_F32);
    FUZZ_CHECK(ds->n == 0 || ds->x_f32 != NULL);
    for (size_t i = 0; i < ds->m * ds->n; i++)
        FUZZ_CHECK(isfinite(ds->x_f32[i]));
    if (o->task == SR_TASK_REGRESSION) {
        FUZZ_CHECK(ds->y == NULL && ds->targets != NULL && ds->t == 1);
        for (size_t i = 0; i < ds->m; i++)
            FUZZ_CHECK(isfinite(ds->targets[i]));
        return;
    }
    FUZZ_CHECK(ds->y != NULL && ds->targets == NULL && ds->k > 0);
    FUZZ_CHECK(ds->class_names != NULL);
    for (size_t c = 0; c < ds->k; c++)
        FUZZ_CHECK(ds->class_names[c] && ds->class_names[c][0]);
    if (o->classes) {
        FUZZ_CHECK(ds->k == o->k);
        for (size_t c = 0; c < ds->k; c++)
            FUZZ_CHECK(strcmp(ds->class_names[c], o->classes[c]) == 0);
    }
    for (size_t i = 0; i < ds->m; i++)
        FUZZ_CHECK(ds->y[i] >= 0 && (size_t)ds->y[i] < ds->k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char delims[5] = {0, ',', ';', '\t', ' '};
    static const char *const label_cols[4] = {NULL, "0", "label", "1"};
    if (size == 0)
        return 0;
    unsigned b = data[0];
    sr_tabular_options o = sr_tabular_options_default();
    o.delimiter = delims[b % 5];
    o.header = (sr_csv_header)(b / 5 % 3);
    unsigned rest = b / 15;
    o.task = rest & 1 ? SR_TASK_REGRESSION : SR_TASK_CLASSIFICATION;
    o.label_col = label_cols[rest >> 1 & 3];
    if (o.task == SR_TASK_CLASSIFICATION && rest >> 3 & 1) {
        o.classes = ref_classes;
        o.k = sizeof ref_classes / sizeof ref_classes[0];
    }

    sr_dataset *ds = NULL;
    sr_error err;
    memset(&err, 0, sizeof err);
    sr_status st = sr_csv_parse((const char *)data + 1, size - 1, NAME, &o,
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
