/* libFuzzer target: sr_model_parse. Every input is parsed twice: as it is,
 * and with its last four bytes replaced by the right CRC-32, so that the
 * fuzzer gets past the checksum into the layout checks. A model that parses
 * is saved again (sr_model_serialize, the bytes sr_model_save writes): they
 * must equal the input byte for byte when it is of the current version
 * (the format has one spelling for each model; version 1 files are saved
 * as version 2), and parse to the same bits. */
#include "fuzz.h"

#include <zlib.h>

#include "io/model_file.h"

#define NAME "fuzz.srm"

static int same_floats(const float *a, const float *b, size_t count)
{
    if (!a || !b)
        return a == b;
    return memcmp(a, b, count * sizeof *a) == 0;
}

static void check_same(const sr_model *a, const sr_model *b)
{
    FUZZ_CHECK(a->kind == b->kind && a->n == b->n && a->k == b->k &&
               a->d == b->d && a->bias == b->bias);
    FUZZ_CHECK(a->nparams == b->nparams && a->nblocks == b->nblocks);
    FUZZ_CHECK(same_floats(a->params, b->params, a->nparams));
    for (size_t i = 0; i < a->nblocks; i++) {
        const sr_param_block *x = &a->blocks[i], *y = &b->blocks[i];
        FUZZ_CHECK(strcmp(x->name, y->name) == 0 && x->offset == y->offset &&
                   x->rows == y->rows && x->cols == y->cols);
    }
    FUZZ_CHECK(a->n_raw == b->n_raw && a->poly == b->poly);
    FUZZ_CHECK(same_floats(a->mean, b->mean, a->n));
    FUZZ_CHECK(same_floats(a->inv_std, b->inv_std, a->n));
    FUZZ_CHECK(!a->class_names == !b->class_names);
    for (size_t c = 0; a->class_names && c < sr_model_class_count(a); c++)
        FUZZ_CHECK(strcmp(a->class_names[c], b->class_names[c]) == 0);
    FUZZ_CHECK(!a->feature_names == !b->feature_names);
    for (size_t j = 0; a->feature_names && j < a->n_raw; j++)
        FUZZ_CHECK(strcmp(a->feature_names[j], b->feature_names[j]) == 0);
    FUZZ_CHECK(!a->label_name == !b->label_name);
    FUZZ_CHECK(!a->label_name || strcmp(a->label_name, b->label_name) == 0);
    FUZZ_CHECK(a->label_col == b->label_col);
    FUZZ_CHECK(!a->train_options == !b->train_options);
    FUZZ_CHECK(!a->train_options ||
               strcmp(a->train_options, b->train_options) == 0);
    FUZZ_CHECK(a->has_data_crc == b->has_data_crc &&
               a->data_crc == b->data_crc);
}

static void round_trip(const uint8_t *data, size_t size, const sr_model *m)
{
    sr_error err;
    memset(&err, 0, sizeof err);
    uint8_t *saved = NULL;
    size_t saved_len = 0;
    if (sr_model_serialize(m, NAME, &saved, &saved_len, &err) != SR_OK) {
        fprintf(stderr, "cannot save a model that loaded: %s\n", err.message);
        abort();
    }
    /* a version 1 file is saved as version 2: the same model, other bytes */
    uint32_t version = (uint32_t)data[8] | (uint32_t)data[9] << 8 |
                       (uint32_t)data[10] << 16 | (uint32_t)data[11] << 24;
    if (version == SR_MODEL_FILE_VERSION)
        FUZZ_CHECK(saved_len == size && memcmp(saved, data, size) == 0);
    sr_model *again = NULL;
    FUZZ_CHECK(sr_model_parse(saved, saved_len, NAME, &again, &err) == SR_OK);
    check_same(m, again);
    sr_model_free(again);
    sr_dealloc(saved);
}

static void parse_one(const uint8_t *data, size_t size)
{
    sr_model *m = NULL;
    sr_error err;
    memset(&err, 0, sizeof err);
    sr_status st = sr_model_parse(data, size, NAME, &m, &err);
    if (st != SR_OK) {
        fuzz_check_error(st, &err, NAME);
        FUZZ_CHECK(m == NULL);
        return;
    }
    FUZZ_CHECK(m != NULL);
    round_trip(data, size, m);
    sr_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse_one(data, size);
    if (size < 4)
        return 0;
    uint8_t *fixed = malloc(size);
    FUZZ_CHECK(fixed != NULL);
    memcpy(fixed, data, size);
    uLong crc = crc32(crc32(0L, Z_NULL, 0), fixed, (uInt)(size - 4));
    for (int i = 0; i < 4; i++)
        fixed[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    if (memcmp(fixed, data, size) != 0)
        parse_one(fixed, size);
    free(fixed);
    return 0;
}
