/* Shared by the libFuzzer targets: the entry point's prototype and a check
 * that aborts (so that libFuzzer records the input) with a message. */
#ifndef SR_FUZZ_H
#define SR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softreg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
                    #cond);                                                   \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* Every failure must come with a code equal to the status and a message
 * naming the input. */
static inline void fuzz_check_error(sr_status st, const sr_error *err,
                                    const char *name)
{
    FUZZ_CHECK(err->code == st);
    FUZZ_CHECK(memchr(err->message, '\0', sizeof err->message) != NULL);
    if (st != SR_ERR_NOMEM && st != SR_ERR_INVALID_ARG)
        FUZZ_CHECK(strstr(err->message, name) != NULL);
}

#endif
