/* libFuzzer target: sr_idx_parse_labels. On success the labels are the
 * body's bytes and `classes` is 1 + the largest. */
#include "fuzz.h"

#include "data/idx.h"

#define NAME "fuzz-labels.idx"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int32_t *labels = NULL;
    size_t m = 0, k = 0;
    sr_error err;
    memset(&err, 0, sizeof err);
    sr_status st = sr_idx_parse_labels(data, size, NAME, &labels, &m, &k, &err);
    if (st != SR_OK) {
        fuzz_check_error(st, &err, NAME);
        FUZZ_CHECK(labels == NULL && m == 0 && k == 0);
        return 0;
    }
    FUZZ_CHECK(m > 0 && size == SR_IDX_LABELS_HEADER + m);
    FUZZ_CHECK(k >= 1 && k <= 256);
    size_t top = 0;
    for (size_t i = 0; i < m; i++) {
        FUZZ_CHECK(labels[i] == data[SR_IDX_LABELS_HEADER + i]);
        if ((size_t)labels[i] > top)
            top = (size_t)labels[i];
    }
    FUZZ_CHECK(k == top + 1);
    sr_dealloc(labels);
    return 0;
}
