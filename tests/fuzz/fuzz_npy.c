/* libFuzzer target: sr_npy_parse, then both conversions of what it parsed.
 * On success the array's sizes must account for every data byte. */
#include "fuzz.h"

#include "data/npy.h"

#define NAME "fuzz.npy"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sr_npy_array arr;
    memset(&arr, 0, sizeof arr);
    sr_error err;
    memset(&err, 0, sizeof err);
    sr_status st = sr_npy_parse(data, size, NAME, &arr, &err);
    if (st != SR_OK) {
        fuzz_check_error(st, &err, NAME);
        FUZZ_CHECK(arr.data == NULL && arr.count == 0);
        return 0;
    }
    FUZZ_CHECK(arr.ndim == 1 || arr.ndim == 2);
    FUZZ_CHECK(arr.ndim == 2 || arr.shape[1] == 1);
    FUZZ_CHECK(arr.item_size >= 1 && arr.item_size <= 8);
    FUZZ_CHECK(arr.count <= size / arr.item_size);
    FUZZ_CHECK(arr.shape[0] == 0 || arr.count / arr.shape[0] == arr.shape[1]);
    FUZZ_CHECK(arr.data != NULL);
    FUZZ_CHECK(strcmp(sr_npy_dtype_name(arr.dtype), "unknown") != 0);

    size_t count = arr.count ? arr.count : 1;
    float *f = malloc(count * sizeof *f);
    int64_t *i = malloc(count * sizeof *i);
    FUZZ_CHECK(f != NULL && i != NULL);
    st = sr_npy_to_f32(&arr, NAME, f, &err);
    if (st != SR_OK) {
        fuzz_check_error(st, &err, NAME);
        FUZZ_CHECK(arr.dtype == SR_NPY_F8);
    }
    st = sr_npy_to_i64(&arr, NAME, i, &err);
    if (st != SR_OK) {
        fuzz_check_error(st, &err, NAME);
        FUZZ_CHECK(arr.dtype == SR_NPY_F4 || arr.dtype == SR_NPY_F8 ||
                   arr.dtype == SR_NPY_U8);
    }
    free(f);
    free(i);
    sr_npy_array_free(&arr);
    FUZZ_CHECK(arr.data == NULL);
    return 0;
}
