/* Faults during work: a run killed with SIGKILL and resumed from its last
 * checkpoint ends with the same model, bit for bit, as a run never
 * interrupted; SIGINT and SIGTERM stop after a minibatch, write the
 * checkpoint and exit with 130 and 143; a checkpoint of another run or a
 * damaged one is refused. */
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "testutil.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/softreg-ckpt-%d", (int)getpid());
    mkdir(dir, 0755);
    return 0;
}

/* The training run under test: shuffled, with momentum, so that the order,
 * the generator and the optimiser state all have to be restored. */
#define RUN_ARGS "train --limit 20000 --model nn --hidden 64 --epochs 4 " \
                 "--shuffle --seed 3 --momentum 0.5 --lr 0.1 --quiet"

static pid_t start(const char *extra)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "exec %s " RUN_ARGS " --data %s %s "
             ">/dev/null 2>%s/stderr.txt", test_softreg_bin(), test_mnist_dir(),
             extra, dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int finish(pid_t pid)
{
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFSIGNALED(st))
        return 1000 + WTERMSIG(st);
    return WEXITSTATUS(st);
}

static void wait_for(const char *path)
{
    struct timespec ts = {0, 5000000};
    for (int i = 0; i < 20000 && access(path, F_OK) != 0; i++)
        nanosleep(&ts, NULL);
    assert_int_equal(access(path, F_OK), 0);
}

static void assert_same_file(const char *a, const char *b)
{
    uint8_t *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    assert_non_null(f);
    assert_non_null(g);
    x = malloc(1 << 22);
    y = malloc(1 << 22);
    nx = fread(x, 1, 1 << 22, f);
    ny = fread(y, 1, 1 << 22, g);
    fclose(f);
    fclose(g);
    assert_int_equal(nx, ny);
    assert_memory_equal(x, y, nx);
    free(x);
    free(y);
}

static void test_kill_and_resume(void **state)
{
    (void)state;
    char ref[512], ck[512], out[512], args[2048];
    snprintf(ref, sizeof ref, "%s/reference.srm", dir);
    snprintf(ck, sizeof ck, "%s/killed.ckpt", dir);
    snprintf(out, sizeof out, "%s/resumed.srm", dir);
    snprintf(args, sizeof args, "--out %s", ref);
    assert_int_equal(finish(start(args)), 0);

    /* Killed as soon as the first checkpoint exists: in epoch 1. */
    snprintf(args, sizeof args, "--checkpoint %s", ck);
    pid_t pid = start(args);
    wait_for(ck);
    kill(pid, SIGKILL);
    assert_int_equal(finish(pid), 1000 + SIGKILL);
    snprintf(args, sizeof args, "--resume %s --out %s", ck, out);
    assert_int_equal(finish(start(args)), 0);
    assert_same_file(ref, out);
}

static void interrupt_with(int sig, int status)
{
    char ref[512], ck[512], out[512], args[2048];
    snprintf(ref, sizeof ref, "%s/reference.srm", dir);
    snprintf(ck, sizeof ck, "%s/signal-%d.ckpt", dir, sig);
    snprintf(out, sizeof out, "%s/after-%d.srm", dir, sig);
    snprintf(args, sizeof args, "--checkpoint %s", ck);
    pid_t pid = start(args);
    wait_for(ck); /* the handler is in place once training has begun */
    kill(pid, sig);
    int st = finish(pid);
    /* The run may have ended on its own first; otherwise it stopped. */
    if (st == 0)
        return;
    assert_int_equal(st, status);
    char path[512], msg[4096] = "";
    snprintf(path, sizeof path, "%s/stderr.txt", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t got = fread(msg, 1, sizeof msg - 1, f);
    msg[got] = '\0';
    fclose(f);
    assert_non_null(strstr(msg, "interrupted"));
    assert_non_null(strstr(msg, ck));
    /* The checkpoint written at the stop resumes to the same model. */
    snprintf(args, sizeof args, "--resume %s --out %s", ck, out);
    assert_int_equal(finish(start(args)), 0);
    assert_same_file(ref, out);
}

static void test_sigint(void **state)
{
    (void)state;
    interrupt_with(SIGINT, 130);
}

static void test_sigterm(void **state)
{
    (void)state;
    interrupt_with(SIGTERM, 143);
}

static void test_resume_refusals(void **state)
{
    (void)state;
    char ck[512], args[2048];
    snprintf(ck, sizeof ck, "%s/killed.ckpt", dir);
    /* Another learning rate: not the same run. */
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s " RUN_ARGS " --data %s --lr 0.2 --resume %s "
             ">/dev/null 2>%s/stderr.txt", test_softreg_bin(), test_mnist_dir(),
             ck, dir);
    int st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    /* A changed byte. */
    FILE *f = fopen(ck, "r+b");
    assert_non_null(f);
    fseek(f, 100, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 100, SEEK_SET);
    fputc(c ^ 1, f);
    fclose(f);
    snprintf(args, sizeof args,
             "%s " RUN_ARGS " --data %s --resume %s >/dev/null "
             "2>%s/stderr.txt", test_softreg_bin(), test_mnist_dir(), ck,
             dir);
    st = system(args);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    char path[512], msg[4096] = "";
    snprintf(path, sizeof path, "%s/stderr.txt", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    size_t got = fread(msg, 1, sizeof msg - 1, f);
    msg[got] = '\0';
    fclose(f);
    assert_non_null(strstr(msg, "checksum"));
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_and_resume),
        cmocka_unit_test(test_sigint),
        cmocka_unit_test(test_sigterm),
        cmocka_unit_test(test_resume_refusals),
    };
    return cmocka_run_group_tests_name("checkpoint", tests, setup, teardown) ? 1 : 0;
}
