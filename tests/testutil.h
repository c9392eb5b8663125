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
#include <sys/wait.h>

#include <cmocka.h>

#include "softreg.h"

/* Directory holding MNIST; tests that need it fail loudly when it is absent
 * (make test fetches it first). */
static inline const char *test_mnist_dir(void)
{
    const char *d = getenv("SOFTREG_MNIST_DIR");
    return d ? d : "data/mnist";
}

/* A program built by make: "$BUILD/<name>". run.sh gets BUILD from make,
 * which is build/sanitize under `make sanitize`, so the tests exercise the
 * binaries built with the same flags as themselves. */
static inline const char *test_build_path(const char *name)
{
    static char path[4][512];
    static unsigned next;
    const char *b = getenv("BUILD");
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", b && *b ? b : "build", name);
    return p;
}

/* The command under test: $SOFTREG_BIN (which may be "valgrind ... softreg")
 * or the softreg of this build. */
static inline const char *test_softreg_bin(void)
{
    const char *b = getenv("SOFTREG_BIN");
    return b ? b : test_build_path("softreg");
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

/* Runs the shell command `cmd`, capturing stdout and
 * stderr; returns the exit status, or -1 when it was killed by a
 * signal. */
static inline int test_run_command(const char *cmd, char *out, size_t outsz,
                                   char *errs, size_t errsz)
{
    char full[8704], err_path[256];
    snprintf(err_path, sizeof err_path, "/tmp/softreg-test-%ld-stderr.txt",
             (long)getpid());
    snprintf(full, sizeof full, "%s 2>%s", cmd, err_path);
    FILE *p = popen(full, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, outsz - 1, p);
    out[got] = '\0';
    int st = pclose(p);
    FILE *e = fopen(err_path, "r");
    assert_non_null(e);
    got = fread(errs, 1, errsz - 1, e);
    errs[got] = '\0';
    fclose(e);
    remove(err_path);
    if (!WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* Runs `softreg <args>` (args as a shell would split them), as
 * test_run_command. */
static inline int test_run_softreg(const char *args, char *out, size_t outsz,
                                   char *errs, size_t errsz)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s", test_softreg_bin(), args);
    return test_run_command(cmd, out, outsz, errs, errsz);
}

/* rm -rf dir: 0 when done. */
static inline int test_remove_dir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
