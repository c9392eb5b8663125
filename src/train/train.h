/* Training internals shared by the loop, the homework functions and tests. */
#ifndef SR_TRAIN_TRAIN_H
#define SR_TRAIN_TRAIN_H

#include "engine.h"

/* Checks that every label of `ds` is below k. */
sr_status sr_check_labels(const sr_dataset *ds, size_t k, const char *what,
                          sr_error *err);

/* The thread count to use for a request of `threads` (0 = all cores). */
size_t sr_thread_count(size_t threads);

#endif
