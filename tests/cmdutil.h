/* Shared by the tests that run the built command (build/softreg, or
 * $SOFTREG_BIN, which may be "valgrind ... softreg"): running it with its
 * output captured, and small file helpers. Include after testutil.h. */
#ifndef SR_CMDUTIL_H
#define SR_CMDUTIL_H

#include <sys/stat.h>
#include <sys/wait.h>

/* The scratch directory of this run (the test fills it in). */
static char dir[256];

static char out[1 << 20], errs[1 << 16];

/* Runs `softreg <args>` with stdout in out[] and stderr in errs[]; returns
 * the exit status, or -1 when the command was killed by a signal. */
static inline int run(const char *fmt, ...)
{
    char args[4096], cmd[8192], errpath[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", dir);
    snprintf(cmd, sizeof cmd, "%s %s 2>%s", test_softreg_bin(), args, errpath);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = '\0';
    int st = pclose(p);
    FILE *e = fopen(errpath, "r");
    assert_non_null(e);
    got = fread(errs, 1, sizeof errs - 1, e);
    errs[got] = '\0';
    fclose(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs and requires the status, printing everything when it differs. */
#define expect_run(status, ...)                                               \
    do {                                                                      \
        int st_ = run(__VA_ARGS__);                                           \
        if (st_ != (status)) {                                                \
            print_error("exit status %d, expected %d\nstdout:\n%.2000s\n"     \
                        "stderr:\n%s\n", st_, (status), out, errs);           \
            fail();                                                           \
        }                                                                     \
    } while (0)

#define assert_contains(text, phrase)                                         \
    do {                                                                      \
        if (!strstr((text), (phrase))) {                                      \
            print_error("expected \"%s\" in:\n%.3000s\n", (phrase), (text));  \
            fail();                                                           \
        }                                                                     \
    } while (0)

static inline void path_in_dir(char *path, size_t size, const char *name)
{
    snprintf(path, size, "%s/%s", dir, name);
}

static inline void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static inline char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

#endif
