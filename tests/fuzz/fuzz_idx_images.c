/* libFuzzer target: sr_idx_parse_images, then the loader's next step
 * (sr_dataset_set_pixels, which lists the non-zero pixels) and a round trip
 * back to floats that must equal the scaled pixels. */
#include "fuzz.h"

#include "data/dataset.h"
#include "data/idx.h"

#define NAME "fuzz-images.idx"
/* Round trips of larger inputs cost more than they find; this bound
 * still reaches images of more than 65536 pixels (float CSR). */
#define MAX_CHECKED (1u << 17)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *pixels = NULL;
    size_t m = 0, rows = 0, cols = 0;
    sr_error err;
    memset(&err, 0, sizeof err);
    sr_status st = sr_idx_parse_images(data, size, NAME, &pixels, &m, &rows,
                                       &cols, &err);
    if (st != SR_OK) {
        fuzz_check_error(st, &err, NAME);
        FUZZ_CHECK(pixels == NULL && m == 0 && rows == 0 && cols == 0);
        return 0;
    }
    /* The check must have proved header + m * rows * cols == size. */
    FUZZ_CHECK(m > 0 && rows > 0 && cols > 0);
    FUZZ_CHECK(size >= SR_IDX_IMAGES_HEADER);
    size_t body = size - SR_IDX_IMAGES_HEADER;
    FUZZ_CHECK(body / m / rows / cols == 1 && body == m * rows * cols);
    FUZZ_CHECK(memcmp(pixels, data + SR_IDX_IMAGES_HEADER, body) == 0);

    size_t n = rows * cols;
    if (body <= MAX_CHECKED) {
        sr_dataset *ds = sr_dataset_new(&err);
        FUZZ_CHECK(ds != NULL);
        ds->m = m;
        ds->n = n;
        ds->rows = rows;
        ds->cols = cols;
        FUZZ_CHECK(sr_dataset_set_pixels(ds, pixels, m, n, &err) == SR_OK);
        float *row = malloc(n * sizeof *row);
        FUZZ_CHECK(row != NULL);
        for (size_t i = 0; i < m; i++) {
            FUZZ_CHECK(sr_dataset_copy_features(ds, i, 1, row, &err) == SR_OK);
            for (size_t j = 0; j < n; j++)
                FUZZ_CHECK(row[j] == sr_pixel_scale[pixels[i * n + j]]);
        }
        free(row);
        sr_dataset_free(ds);
    }
    sr_dealloc(pixels);
    return 0;
}
