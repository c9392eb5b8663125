/* Shared by the tests: cmocka and small helpers. Include first. */
#ifndef SR_TESTUTIL_H
#define SR_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "softreg.h"

/* Directory holding MNIST; tests that need it fail loudly when it is absent
 * (make test fetches it first). */
static inline const char *test_mnist_dir(void)
{
    const char *d = getenv("SOFTREG_MNIST_DIR");
    return d ? d : "data/mnist";
}

#define assert_close(a, b, tol)                                               \
    do {                                                                      \
        double a_ = (a), b_ = (b);                                            \
        if (!(fabs(a_ - b_) <= (tol))) {                                      \
            print_error("%s = %.9g, expected %.9g (tolerance %g)\n", #a, a_,  \
                        b_, (double)(tol));                                   \
            fail();                                                           \
        }                                                                     \
    } while (0)

#define assert_sr_ok(expr)                                                    \
    do {                                                                      \
        sr_error e_ = {SR_OK, ""};                                            \
        (void)e_;                                                             \
        sr_status s_ = (expr);                                                \
        if (s_ != SR_OK) {                                                    \
            print_error("%s failed: %s\n", #expr, sr_status_str(s_));         \
            fail();                                                           \
        }                                                                     \
    } while (0)

/* Writes `len` bytes to a fresh file under /tmp and returns its path in
 * `path` (size >= 256). */
static inline void test_write_tmp(char *path, const char *suffix,
                                  const void *data, size_t len)
{
    static unsigned counter;
    snprintf(path, 256, "/tmp/softreg-test-%ld-%u%s", (long)getpid(),
             counter++, suffix);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

#endif
