/* `make install` into a scratch prefix: the README's C example, built
 * against the installed library through pkg-config, runs; the shared
 * library has its SONAME and exports only the header's functions; `make
 * uninstall` leaves nothing behind. Runs in the plain build only (another
 * build's objects would be rebuilt with the plain flags). */
#include "testutil.h"

static char prefix[256];

/* Runs a shell command line; returns its exit status. */
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_install_pkg_config_uninstall(void **state)
{
    (void)state;
    /* the make below is not a child of the one running the tests: its
     * jobserver is not ours to use */
    unsetenv("MAKEFLAGS");
    unsetenv("MFLAGS");
    unsetenv("MAKELEVEL");
    const char *build = getenv("BUILD");
    if (build && strcmp(build, "build") != 0) {
        print_message("install is tested in the plain build only\n");
        skip();
    }
    if (sh("command -v pkg-config >/dev/null") != 0) {
        print_message("pkg-config is missing (apt-get install pkgconf)\n");
        skip();
    }
    snprintf(prefix, sizeof prefix, "/tmp/softreg-test-%ld-prefix",
             (long)getpid());
    assert_int_equal(sh("make -s install PREFIX=%s >/dev/null", prefix), 0);
    /* the example, through pkg-config alone */
    assert_int_equal(
        sh("cc -std=c11 -Wall -Werror examples/train_mnist.c "
           "$(PKG_CONFIG_PATH=%s/lib/pkgconfig pkg-config --cflags --libs "
           "softreg) -Wl,-rpath,%s/lib -o %s/train_mnist",
           prefix, prefix, prefix),
        0);
    assert_int_equal(sh("%s/train_mnist %s 1 > %s/out.txt", prefix,
                        test_mnist_dir(), prefix), 0);
    assert_int_equal(sh("grep -q 'test error 0\\.0' %s/out.txt", prefix), 0);
    /* the program uses the installed shared library */
    assert_int_equal(sh("ldd %s/train_mnist | grep -q '%s/lib/libsoftreg.so.0'",
                        prefix, prefix), 0);
    assert_int_equal(sh("objdump -p %s/lib/libsoftreg.so | "
                        "grep -q 'SONAME *libsoftreg.so.0$'", prefix), 0);
    /* every exported function is declared in the header, and nothing
     * else is exported */
    assert_int_equal(sh("nm -D --defined-only %s/lib/libsoftreg.so | "
                        "awk '{print $3}' | grep -v '^sr_' | grep -q .",
                        prefix), 1);
    assert_int_equal(sh("nm -D --defined-only %s/lib/libsoftreg.so | "
                        "awk '{print $3}' | while read f; do grep -q "
                        "\"\\b$f *(\" include/softreg.h || exit 1; done",
                        prefix), 0);
    assert_int_equal(sh("test -f %s/share/man/man1/softreg.1 && "
                        "%s/bin/softreg help >/dev/null", prefix, prefix), 0);
    /* uninstall: only what we made ourselves is left */
    assert_int_equal(sh("make -s uninstall PREFIX=%s", prefix), 0);
    assert_int_equal(sh("rm %s/train_mnist %s/out.txt", prefix, prefix), 0);
    assert_int_equal(sh("test -z \"$(find %s ! -type d)\"", prefix), 0);
    assert_int_equal(sh("rm -r %s", prefix), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_install_pkg_config_uninstall),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
