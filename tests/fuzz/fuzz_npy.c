/* libFuzzer target: sr_npy_parse, then both conversions of what it parsed.
 * On success the array's sizes must account for every data byte. The same
 * bytes as a file must read the same through the streaming reader
 * (sr_npy_read), and load as features (sr_dataset_load_npy) or fail with
 * a message naming the file. */
#include "fuzz.h"

#include <unistd.h>

#include "data/npy.h"

#define NAME "fuzz.npy"

/* The input written to a file of this process's own. */
static const char *as_file(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/fuzz-npy-%ld.npy", (long)getpid());
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(size == 0 || fwrite(data, 1, size, f) == size);
    FUZZ_CHECK(fclose(f) == 0);
    return path;
}

/* sr_npy_read of the file agrees with sr_npy_parse of the bytes (st and
 * arr); a gzip file is inflated by the one and not the other, so it is
 * only checked for a clean result. */
static void check_streaming(const uint8_t *data, size_t size, sr_status st,
                            const sr_npy_array *arr)
{
    const char *path = as_file(data, size);
    int gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    sr_npy_array got;
    memset(&got, 0, sizeof got);
    sr_error err;
    memset(&err, 0, sizeof err);
    sr_status st2 = sr_npy_read(path, &got, &err);
    if (st2 != SR_OK)
        fuzz_check_error(st2, &err, path);
    if (!gzip) {
        FUZZ_CHECK(st2 == st);
        if (st == SR_OK) {
            FUZZ_CHECK(got.dtype == arr->dtype && got.ndim == arr->ndim &&
                       got.shape[0] == arr->shape[0] &&
                       got.shape[1] == arr->shape[1] &&
                       got.count == arr->count);
            FUZZ_CHECK(memcmp(got.data, arr->data,
                              arr->count * arr->item_size) == 0);
        }
    }
    sr_npy_array_free(&got);
    sr_dataset *ds = NULL;
    memset(&err, 0, sizeof err);
    st2 = sr_dataset_load_npy(path, NULL, SR_TASK_UNLABELLED, &ds, &err);
    if (st2 == SR_OK)
        sr_dataset_free(ds);
    else
        fuzz_check_error(st2, &err, path);
}

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
        check_streaming(data, size, st, &arr);
        return 0;
    }
    check_streaming(data, size, st, &arr);
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
