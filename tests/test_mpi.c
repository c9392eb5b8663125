/* The MPI build (make MPI=1: build/mpi/softreg) against the plain one:
 * for np = 1, 2, 3, 4 processes, the same model file, byte for byte, and
 * the same table, for every optimiser: L-BFGS and Newton on MNIST, the
 * course's SGD job and the network (sharded: the model passed from rank
 * to rank), SGD on sparse and dense data, logistic and linear regression on
 * tabular CSV files (L-BFGS, Newton, gradient descent, exact least
 * squares, its QR factors folded across processes); row counts that the processes do not divide, processes with no
 * rows; sharded loading (each process reads its rows alone: IDX and .npy
 * by offset, CSV and LIBSVM from byte ranges cut where rows start, with
 * quoted newlines at the cuts, classes and widths found on one process
 * only); and a failing or killed process stops every process within
 * seconds. Skipped when mpirun or the MPI build is missing. */
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "testutil.h"

static char dir[256], sets[300];
static char out[1 << 18], errs[1 << 16];

static const char *mpi_bin(void)
{
    const char *b = getenv("SOFTREG_MPI_BIN");
    return b ? b : "build/mpi/softreg";
}

/* mpirun and the MPI build are there; else the test is skipped, loudly. */
static int have_mpi(void)
{
    /* make sanitize: the MPI build is the plain one, which make test runs
     * these tests with already; the sanitized library is not in it. */
    const char *b = getenv("BUILD");
    if (b && strstr(b, "sanitize")) {
        print_message("skipped under the sanitizers: make test runs the MPI "
                      "build's tests\n");
        return 0;
    }
    if (system("command -v mpirun >/dev/null 2>&1") != 0) {
        print_message("mpirun is not installed (apt-get install openmpi-bin "
                      "libopenmpi-dev)\n");
        return 0;
    }
    if (access(mpi_bin(), X_OK) != 0) {
        print_message("%s is not built (make MPI=1)\n", mpi_bin());
        return 0;
    }
    return 1;
}

#define NEED_MPI()                                                            \
    do {                                                                      \
        if (!have_mpi())                                                      \
            skip();                                                           \
    } while (0)

/* Runs `cmd` with stdin /dev/null (mpirun forwards stdin to rank 0). */
static int sh(const char *cmd)
{
    char full[8192];
    snprintf(full, sizeof full, "%s </dev/null", cmd);
    return test_run_command(full, out, sizeof out, errs, sizeof errs);
}

/* sh(cmd), which must succeed. */
static void sh_ok(const char *cmd)
{
    if (sh(cmd) != 0) {
        print_error("%s failed:\n%s\n", cmd, errs);
        fail();
    }
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        print_error("cannot read %s\n", path);
        fail();
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* `softreg train <args> --out F` by the plain build, then by the MPI
 * build on np = 1 .. 4 processes: the same model file and the same
 * stdout every time. */
static void same_as_plain(const char *args)
{
    char cmd[4096], model[320];
    snprintf(model, sizeof model, "%s/plain.srm", dir);
    snprintf(cmd, sizeof cmd, "%s train %s --out %s", test_softreg_bin(), args,
             model);
    sh_ok(cmd);
    char *table = strdup(out);
    assert_non_null(table);
    size_t want_len, got_len;
    char *want = read_all(model, &want_len);
    for (int np = 1; np <= 4; np++) {
        snprintf(model, sizeof model, "%s/np%d.srm", dir, np);
        snprintf(cmd, sizeof cmd, "mpirun -np %d %s train %s --out %s", np,
                 mpi_bin(), args, model);
        sh_ok(cmd);
        if (strcmp(out, table) != 0) {
            print_error("np=%d printed\n%s\nthe plain build\n%s\n", np, out,
                        table);
            fail();
        }
        char *got = read_all(model, &got_len);
        if (got_len != want_len || memcmp(got, want, want_len) != 0) {
            print_error("%s: the model differs from the plain build's\n", cmd);
            fail();
        }
        free(got);
        if (np > 1 && !strstr(errs, "processes: ")) {
            print_error("np=%d: no line on the processes in\n%s\n", np, errs);
            fail();
        }
    }
    free(want);
    free(table);
}

/* MNIST's training rows are sparse (blocks of 4096 rows): 10,000 rows are
 * three blocks, which 2 and 4 processes do not divide. */
static void test_lbfgs_mnist(void **state)
{
    (void)state;
    NEED_MPI();
    same_as_plain("--optimizer lbfgs --max-iter 8 --limit 10000");
}

static void test_newton_mnist(void **state)
{
    (void)state;
    NEED_MPI();
    same_as_plain("--optimizer newton --max-iter 3 --limit 5000");
    same_as_plain("--model nn --hidden 16 --optimizer lbfgs --max-iter 4 "
                  "--limit 10000");
}

static void check_shards(const char *what, int np, size_t M,
                         size_t row_bytes, size_t unit);
static int have_sets(void);

/* The course's job and the network, one epoch: each rank holds whole
 * minibatches that are whole evaluation chunks (lcm(100, 256) = 6,400
 * rows), reads their bytes alone, and the model goes from rank to rank. */
static void test_sgd_and_network(void **state)
{
    (void)state;
    NEED_MPI();
    same_as_plain("--limit 6000 --epochs 3");
    same_as_plain("--epochs 2");
    same_as_plain("--model nn --hidden 32 --epochs 1 --limit 3000");
    same_as_plain("--model nn --hidden 20 --epochs 2 --batch 50 --momentum "
                  "0.9 --l2 1e-4");
    for (int np = 2; np <= 4; np += 2) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "mpirun -np %d %s train --epochs 1 "
                                  "--verbose", np, mpi_bin());
        sh_ok(cmd);
        check_shards("training set", np, 60000, 785, 6400);
        if (!strstr(errs, "in whole minibatches")) {
            print_error("np=%d: the processes' line does not say the "
                        "minibatches are shared:\n%s\n", np, errs);
            fail();
        }
    }
}

/* SGD over MPI on every kind of data and step: a shuffled run (every
 * rank holds every row and runs the whole job), sparse rows with lazy
 * L2 and momentum, an uneven batch; a run that diverges says so in the
 * plain build's words on every process count; and a run resumed from a
 * plain checkpoint on 3 processes ends with the plain model. */
static void test_sgd_everywhere(void **state)
{
    (void)state;
    NEED_MPI();
    same_as_plain("--limit 9000 --epochs 2 --shuffle --seed 7");
    same_as_plain("--limit 9000 --epochs 2 --batch 37 --bias --l2 1e-3 "
                  "--momentum 0.5");
    char path[320], args[1024], cmd[2048];
    snprintf(path, sizeof path, "%s/sgd.svm", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    uint32_t x = 5;
    for (int i = 0; i < 3000; i++) {
        x = x * 1664525u + 1013904223u;
        int c = (int)(x >> 16) % 3;
        fprintf(f, "%d", c);
        for (int j = 1 + c; j <= 3000; j += 1 + (int)((x >> (j % 20)) & 127))
            fprintf(f, " %d:%.2f", j, (double)((x >> (j % 12)) & 15) / 8.0);
        fputs("\n", f);
    }
    fclose(f);
    snprintf(args, sizeof args, "%s --epochs 3 --batch 20 --lr 0.2 --l2 "
                                "1e-3 --momentum 0.9", path);
    same_as_plain(args);
    snprintf(args, sizeof args, "%s --epochs 2 --batch 64 --lr 0.5 --l2 "
                                "1e-2", path);
    same_as_plain(args);
    if (have_sets()) {
        snprintf(args, sizeof args, "%s/digits-train.csv --test "
                                    "%s/digits-test.csv --epochs 3 --batch 16 "
                                    "--lr 0.05", sets, sets);
        same_as_plain(args);
        snprintf(args, sizeof args, "%s/diabetes-train.csv --model linear "
                                    "--epochs 3 --batch 10 --lr 0.01", sets);
        same_as_plain(args);
        snprintf(args, sizeof args, "%s/breast_cancer-train.csv --model "
                                    "logistic --epochs 3 --batch 30 --lr 0.1",
                 sets);
        same_as_plain(args);
        /* no standardisation, a huge step: the loss overflows */
        snprintf(args, sizeof args, "%s/diabetes-train.csv --model linear "
                                    "--epochs 3 --batch 10 --lr 10 "
                                    "--no-standardize", sets);
        snprintf(cmd, sizeof cmd, "%s train %s", test_softreg_bin(), args);
        assert_int_not_equal(sh(cmd), 0);
        const char *said = strstr(errs, "training diverged in epoch");
        assert_non_null(said);
        char want[512];
        snprintf(want, sizeof want, "%.*s", (int)strcspn(said, "\n"), said);
        snprintf(cmd, sizeof cmd, "mpirun -np 3 %s train %s", mpi_bin(),
                 args);
        assert_int_not_equal(sh(cmd), 0);
        if (!strstr(errs, want)) {
            print_error("3 processes did not say\n%s\nbut\n%s\n", want,
                        errs);
            fail();
        }
    }
    /* two epochs by the plain build, two more by 3 processes */
    char ck[320], plain[320], resumed[320];
    snprintf(ck, sizeof ck, "%s/sgd.ck", dir);
    snprintf(plain, sizeof plain, "%s/sgd-plain.srm", dir);
    snprintf(resumed, sizeof resumed, "%s/sgd-resumed.srm", dir);
    snprintf(cmd, sizeof cmd, "%s train --limit 9000 --epochs 2 --momentum "
                              "0.5 --checkpoint %s", test_softreg_bin(), ck);
    assert_int_equal(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "mpirun -np 3 %s train --limit 9000 --epochs 4 "
                              "--momentum 0.5 --resume %s --out %s",
             mpi_bin(), ck, resumed);
    sh_ok(cmd);
    snprintf(cmd, sizeof cmd, "%s train --limit 9000 --epochs 4 --momentum "
                              "0.5 --out %s", test_softreg_bin(), plain);
    assert_int_equal(sh(cmd), 0);
    size_t la, lb;
    char *a = read_all(plain, &la), *b = read_all(resumed, &lb);
    assert_true(la == lb && memcmp(a, b, la) == 0);
    free(a);
    free(b);
}

static int have_sets(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "python3 scripts/tabular-sets %s >/dev/null "
                              "2>&1", sets);
    if (system(cmd) != 0) {
        print_message("python3-sklearn's data sets are not installed\n");
        return 0;
    }
    return 1;
}

/* Tabular files, dense, in blocks of 256 rows: breast cancer's 398
 * training rows are two blocks (3 and 4 processes leave some with none),
 * digits' 1,257 five. */
static void test_tabular(void **state)
{
    (void)state;
    NEED_MPI();
    if (!have_sets())
        skip();
    char args[1024];
    snprintf(args, sizeof args, "%s/breast_cancer-train.csv --test "
                                "%s/breast_cancer-test.csv", sets, sets);
    same_as_plain(args);
    snprintf(args, sizeof args, "%s/breast_cancer-train.csv --optimizer "
                                "newton", sets);
    same_as_plain(args);
    snprintf(args, sizeof args, "%s/digits-train.csv --test "
                                "%s/digits-test.csv --optimizer gd --epochs 4 "
                                "--lr 0.1", sets, sets);
    same_as_plain(args);
    snprintf(args, sizeof args, "%s/diabetes-train.csv --test "
                                "%s/diabetes-test.csv --model linear "
                                "--optimizer lbfgs", sets, sets);
    same_as_plain(args);
    snprintf(args, sizeof args, "%s/diabetes-train.csv --model linear", sets);
    same_as_plain(args);
}

/* Exact least squares on 20,000 rows (five blocks of 4,096, which 2, 3
 * and 4 processes do not divide): each rank reduces its blocks to their
 * QR factors and the factors fold along the chain; plain, ridge with
 * polynomial features. */
static void test_exact_shards(void **state)
{
    (void)state;
    NEED_MPI();
    char path[320], args[1024];
    snprintf(path, sizeof path, "%s/reg.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("a,b,c,d,y\n", f);
    uint32_t x = 9;
    for (int i = 0; i < 20000; i++) {
        double v[4];
        for (int j = 0; j < 4; j++) {
            x = x * 1664525u + 1013904223u;
            v[j] = (double)(x >> 8) / (double)(1u << 24) * (j + 1) - 0.5;
        }
        x = x * 1664525u + 1013904223u;
        double y = 3 * v[0] - 2 * v[1] + 0.5 * v[2] * v[3] + 7 +
                   (double)(x >> 8) / (double)(1u << 24) * 0.1;
        fprintf(f, "%.6f,%.6f,%.6f,%.6f,%.6f\n", v[0], v[1], v[2], v[3], y);
    }
    fclose(f);
    snprintf(args, sizeof args, "%s --model linear", path);
    same_as_plain(args);
    snprintf(args, sizeof args, "%s --model linear --l2 0.01 --poly 2 "
                                "--no-standardize", path);
    same_as_plain(args);
    if (!strstr(errs, "share of the 20000 rows")) {
        print_error("the exact solver's rows were not shared:\n%s\n", errs);
        fail();
    }
    /* wide (300 rows, 500 features): the rows gathered, one SVD */
    snprintf(path, sizeof path, "%s/wide-reg.svm", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 300; i++) {
        x = x * 1664525u + 1013904223u;
        fprintf(f, "%.4f", (double)(x >> 8) / (double)(1u << 24));
        for (int j = 1 + i % 7; j <= 500; j += 3 + (int)((x >> (j % 24)) & 7))
            fprintf(f, " %d:%.3f", j, (double)((x >> (j % 16)) & 255) / 64.0);
        fputs("\n", f);
    }
    fclose(f);
    snprintf(args, sizeof args, "%s --model linear --features 500", path);
    same_as_plain(args);
    if (!strstr(errs, "least squares by SVD")) {
        print_error("the wide problem did not take the direct SVD:\n%s\n",
                    errs);
        fail();
    }
}

/* Fewer rows than processes: 3 rows, 4 processes. */
static void test_more_processes_than_rows(void **state)
{
    (void)state;
    NEED_MPI();
    char path[320], args[512];
    snprintf(path, sizeof path, "%s/three.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("a,b,label\n0.5,1.0,x\n-1.0,0.25,y\n2.0,-0.5,x\n", f);
    fclose(f);
    snprintf(args, sizeof args, "%s --max-iter 5", path);
    same_as_plain(args);
}

/* ---- Sharded loading ---- */

/* An IDX pair of m images of side x side pixels, about `fill` of them
 * non-zero, and labels 0 .. k - 1 (class k - 1 only in the rows from
 * `late` on: it appears on the last ranks alone). */
static void write_idx(const char *images, const char *labels, size_t m,
                      size_t side, double fill, int k, size_t late)
{
    FILE *f = fopen(images, "wb"), *g = fopen(labels, "wb");
    assert_non_null(f);
    assert_non_null(g);
    unsigned char h[16] = {0, 0, 8, 3};
    size_t dims[3] = {m, side, side};
    for (int d = 0; d < 3; d++)
        for (int b = 0; b < 4; b++)
            h[4 + 4 * d + b] = (unsigned char)(dims[d] >> (24 - 8 * b));
    fwrite(h, 1, 16, f);
    h[3] = 1;
    fwrite(h, 1, 8, g);
    uint32_t x = 12345;
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < side * side; j++) {
            x = x * 1664525u + 1013904223u;
            unsigned char v = (double)(x >> 8) / 16777216.0 < fill
                                  ? (unsigned char)(x >> 24 | 1) : 0;
            fputc(v, f);
        }
        x = x * 1664525u + 1013904223u;
        int c = (int)((x >> 16) % (unsigned)(i >= late ? k : k - 1));
        fputc(c, g);
    }
    fclose(f);
    fclose(g);
}

/* The "rank R: rows A..B of M (C rows), N bytes read (what)" lines of
 * --verbose: the ranks' rows follow each other from 0 to M, each starting
 * at a multiple of `unit` (or at M: no rows), and each rank read its
 * rows' bytes and the two headers (16 + 8 bytes), no more: `row_bytes` a
 * row. */
static void check_shards(const char *what, int np, size_t M,
                         size_t row_bytes, size_t unit)
{
    size_t first[16], last[16];
    unsigned long long bytes[16];
    int seen = 0;
    for (const char *p = errs; (p = strstr(p, "rank ")) != NULL; p++) {
        int r;
        size_t a, b, total, rows;
        unsigned long long n;
        char kind[64];
        if (sscanf(p, "rank %d: rows %zu..%zu of %zu (%zu rows), %llu bytes "
                      "read (%63[^)])", &r, &a, &b, &total, &rows, &n,
                   kind) != 7 || strcmp(kind, what) != 0)
            continue;
        assert_true(r >= 0 && r < np && r < 16);
        assert_int_equal(total, M);
        assert_int_equal(b - a, rows);
        first[r] = a;
        last[r] = b;
        bytes[r] = n;
        seen++;
    }
    if (seen != np) {
        print_error("%d of %d ranks said which rows of the %s they read:\n"
                    "%s\n", seen, np, what, errs);
        fail();
    }
    for (int r = 0; r < np; r++) {
        assert_int_equal(first[r], r ? last[r - 1] : 0);
        assert_true(first[r] % unit == 0 || first[r] == M);
        assert_int_equal(bytes[r], 24 + (last[r] - first[r]) * row_bytes);
    }
    assert_int_equal(last[np - 1], M);
}

/* MNIST whole (60,000 rows: 15 blocks of 4096, the last short), read in
 * shards: each rank reads its rows' bytes alone, and the model is the
 * plain build's. */
static void test_idx_shards(void **state)
{
    (void)state;
    NEED_MPI();
    same_as_plain("--optimizer lbfgs --max-iter 2");
    for (int np = 2; np <= 4; np += 2) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "mpirun -np %d %s train --optimizer lbfgs "
                                  "--max-iter 1 --verbose", np, mpi_bin());
        sh_ok(cmd);
        check_shards("training set", np, 60000, 785, 4096);
        check_shards("test set", np, 10000, 785, 4096);
    }
}

/* IDX files of other shapes: 9,000 dense rows (blocks of 256; 3 shards
 * of 4096 that 2 and 4 processes do not divide), a class found in the
 * last rows alone; 300 sparse rows (one shard: every process but one
 * holds none). */
static void test_idx_shapes(void **state)
{
    (void)state;
    NEED_MPI();
    char img[320], lab[320], timg[320], tlab[320], args[2048];
    snprintf(img, sizeof img, "%s/dense-images", dir);
    snprintf(lab, sizeof lab, "%s/dense-labels", dir);
    snprintf(timg, sizeof timg, "%s/small-images", dir);
    snprintf(tlab, sizeof tlab, "%s/small-labels", dir);
    write_idx(img, lab, 9000, 6, 0.8, 4, 8500);
    write_idx(timg, tlab, 300, 6, 0.2, 3, 0);
    snprintf(args, sizeof args, "--train-images %s --train-labels %s "
                                "--test-images %s --test-labels %s --classes 4 "
                                "--optimizer lbfgs --max-iter 5", img, lab,
             timg, tlab);
    same_as_plain(args);
    snprintf(args, sizeof args, "--train-images %s --train-labels %s "
                                "--test-images %s --test-labels %s --classes 4 "
                                "--optimizer gd --epochs 3 --lr 0.5", timg, tlab,
             img, lab);
    same_as_plain(args);
}

/* The --verbose lines of a text file's shards: the ranks' rows follow
 * each other from 0 to M, and every rank read at most its share of the
 * bytes plus `slack` (the first rows, which every rank reads for the
 * header, and the end of its last row). */
static void check_text_shards(int np, size_t M, size_t size, size_t slack)
{
    size_t next = 0;
    for (int r = 0; r < np; r++) {
        char want[32];
        snprintf(want, sizeof want, "rank %d: rows ", r);
        const char *p = strstr(errs, want);
        size_t a, b, total, rows;
        unsigned long long n;
        if (!p || sscanf(p, "rank %*d: rows %zu..%zu of %zu (%zu rows), %llu "
                            "bytes read", &a, &b, &total, &rows, &n) != 5) {
            print_error("rank %d did not say which rows it read:\n%s\n", r,
                        errs);
            fail();
        }
        assert_int_equal(a, next);
        assert_int_equal(total, M);
        assert_true(n <= size / (size_t)np + 1 + slack);
        next = b;
    }
    assert_int_equal(next, M);
}

/* One L-BFGS iteration on `path` by np processes, --verbose: the
 * shards' rows and bytes (check_text_shards; 16 kB of slack: the first
 * rows, read in 4 kB pieces, and a last row's end). */
static void text_shards(const char *path, int np, size_t M)
{
    char cmd[1024];
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    snprintf(cmd, sizeof cmd, "mpirun -np %d %s train %s --max-iter 1 "
                              "--verbose", np, mpi_bin(), path);
    sh_ok(cmd);
    check_text_shards(np, M, (size_t)st.st_size, 16384);
}

/* A CSV file whose string labels are quoted and hold a newline followed
 * by what looks like a row: a shard cut at a newline in quotes would read
 * rows that are not there. One class is in the last rows alone. 9,000
 * rows: three shards of 4096 rows. */
static void test_csv_shards(void **state)
{
    (void)state;
    NEED_MPI();
    char path[320], args[512];
    snprintf(path, sizeof path, "%s/quoted.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("x1,x2,\"the\nlabel\"\n", f);
    uint32_t x = 7;
    for (int i = 0; i < 9000; i++) {
        x = x * 1664525u + 1013904223u;
        int c = (int)(x >> 16) % (i >= 8800 ? 4 : 3);
        static const char *const names[4] = {
            "\"cat\n1,2,\"\"a\"\"\"", "\"dog\n3,4,b\"", "\"eel, \"\"x\"\"\n\"",
            "\"late\nonly\""};
        fprintf(f, "%.3f,%d,%s\n", (double)(x >> 8) / 16777216.0 + c,
                (int)(x >> 28) - c, names[c]);
        if (i % 1000 == 999)
            fputs("\n", f); /* a blank line now and then */
    }
    fclose(f);
    snprintf(args, sizeof args, "%s --max-iter 5", path);
    same_as_plain(args);
    for (int np = 2; np <= 3; np++)
        text_shards(path, np, 9000);
}

/* A LIBSVM file whose largest feature index is in its last row alone,
 * and one class in the last rows alone; comments and blank lines. */
static void test_libsvm_shards(void **state)
{
    (void)state;
    NEED_MPI();
    char path[320], args[512];
    snprintf(path, sizeof path, "%s/wide.svm", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("# a comment first\n", f);
    uint32_t x = 11;
    for (int i = 0; i < 10000; i++) {
        x = x * 1664525u + 1013904223u;
        int c = (int)(x >> 16) % (i >= 9500 ? 3 : 2);
        fprintf(f, "%d", c ? 2 * c + 1 : -1);
        for (int j = 1 + (int)(x >> 29); j <= 40; j += 1 + (int)(x >> 28) % 7)
            fprintf(f, " %d:%.2f", j, (double)((x >> (j % 16)) & 255) / 64.0 - c);
        if (i == 9999)
            fputs(" 5000:1.5", f);
        fputs(i % 777 == 0 ? " # note\n\n" : "\n", f);
    }
    fclose(f);
    snprintf(args, sizeof args, "%s --max-iter 5", path);
    same_as_plain(args);
    text_shards(path, 4, 10000);
    if (!strstr(errs, "5000 features")) {
        print_error("the width is not the largest index:\n%s\n", errs);
        fail();
    }
}

/* An .npy file (version 1.0, little-endian) of `count` items of `size`
 * bytes; its header padded so that the data start at byte 128. */
static void write_npy(const char *path, const char *descr, size_t rows,
                      size_t cols, const void *data, size_t size)
{
    char dict[128], shape[64];
    if (cols)
        snprintf(shape, sizeof shape, "(%zu, %zu)", rows, cols);
    else
        snprintf(shape, sizeof shape, "(%zu,)", rows);
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': "
                                          "False, 'shape': %s, }", descr, shape);
    assert_true(len > 0 && len < 117);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118, 0};
    fwrite(pre, 1, 10, f);
    fprintf(f, "%-117s\n", dict);
    fwrite(data, size, rows * (cols ? cols : 1), f);
    fclose(f);
}

/* .npy features and labels, read by offset: 9,000 rows of 20 floats, a
 * class in the last rows alone; each rank reads the two headers and its
 * rows (80 + 8 bytes each), and the model is the plain build's. */
static void test_npy_shards(void **state)
{
    (void)state;
    NEED_MPI();
    enum { M = 9000, N = 20 };
    float *X = malloc(M * N * sizeof *X);
    int64_t *y = malloc(M * sizeof *y);
    assert_non_null(X);
    assert_non_null(y);
    uint32_t x = 3;
    for (int i = 0; i < M; i++) {
        x = x * 1664525u + 1013904223u;
        y[i] = i >= 8800 && (x >> 31) ? 7 : (int64_t)((x >> 16) % 3);
        for (int j = 0; j < N; j++) {
            x = x * 1664525u + 1013904223u;
            X[i * N + j] = (float)((double)(x >> 8) / 16777216.0 - 0.5) +
                           (j == 0 ? (float)y[i] : 0.0f);
        }
    }
    /* the same features as float32 and as float64 (converted as they are
     * read, the bytes read twice as many) */
    double *X8 = malloc(M * N * sizeof *X8);
    assert_non_null(X8);
    for (int i = 0; i < M * N; i++)
        X8[i] = X[i];
    char xp[320], x8p[320], yp[320], args[1024], cmd[1280];
    snprintf(xp, sizeof xp, "%s/X.npy", dir);
    snprintf(x8p, sizeof x8p, "%s/X8.npy", dir);
    snprintf(yp, sizeof yp, "%s/y.npy", dir);
    write_npy(xp, "<f4", M, N, X, sizeof *X);
    write_npy(x8p, "<f8", M, N, X8, sizeof *X8);
    write_npy(yp, "<i8", M, 0, y, sizeof *y);
    for (int f8 = 0; f8 <= 1; f8++) {
        snprintf(args, sizeof args, "%s --labels %s --max-iter 5",
                 f8 ? x8p : xp, yp);
        same_as_plain(args);
        snprintf(cmd, sizeof cmd, "mpirun -np 3 %s train %s --verbose",
                 mpi_bin(), args);
        sh_ok(cmd);
        /* check_shards' 24 header bytes are IDX's: here 2 x 128 */
        int seen = 0;
        for (const char *p = errs; (p = strstr(p, "rank ")) != NULL; p++) {
            size_t a, b, total, rows;
            unsigned long long n;
            if (sscanf(p, "rank %*d: rows %zu..%zu of %zu (%zu rows), %llu "
                          "bytes", &a, &b, &total, &rows, &n) != 5)
                continue;
            assert_int_equal(total, M);
            assert_int_equal(n, 256 + rows * (N * (f8 ? 8 : 4) + 8));
            seen++;
        }
        assert_int_equal(seen, 3);
    }
    /* a float64 beyond float32's range on the last rank's rows: the plain
     * build's message, naming the element of the whole file */
    X8[8500 * N + 3] = 1e300;
    write_npy(x8p, "<f8", M, N, X8, sizeof *X8);
    snprintf(cmd, sizeof cmd, "%s train %s --labels %s", test_softreg_bin(),
             x8p, yp);
    assert_int_not_equal(sh(cmd), 0);
    char want[512];
    const char *said = strstr(errs, "X8.npy");
    assert_non_null(said);
    snprintf(want, sizeof want, "%.*s", (int)strcspn(said, "\n"), said);
    assert_non_null(strstr(want, "8500"));
    snprintf(cmd, sizeof cmd, "mpirun -np 3 %s train %s --labels %s",
             mpi_bin(), x8p, yp);
    assert_int_not_equal(sh(cmd), 0);
    if (!strstr(errs, want)) {
        print_error("3 processes did not say\n%s\nbut\n%s\n", want, errs);
        fail();
    }
    free(X);
    free(X8);
    free(y);
}

/* The first "softreg: " line of errs (copied into line). */
static void first_message(char *line, size_t size)
{
    const char *p = strstr(errs, "softreg: ");
    assert_non_null(p);
    size_t n = strcspn(p, "\n");
    snprintf(line, size, "%.*s", (int)n, p);
}

/* A bad value in a row that a later process reads: every process stops,
 * and the message names the file's line as one process does. */
static void test_shard_errors(void **state)
{
    (void)state;
    NEED_MPI();
    char path[320], cmd[1024], want[512], got[512];
    snprintf(path, sizeof path, "%s/bad.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("a,b,label\n", f);
    for (int i = 0; i < 9000; i++)
        fprintf(f, i == 8498 ? "abc,%d,\"x\ny\"\n" : "%d.5,1,\"x\ny\"\n", i % 7);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s train %s", test_softreg_bin(), path);
    assert_int_not_equal(sh(cmd), 0);
    first_message(want, sizeof want);
    assert_non_null(strstr(want, "bad.csv:16998:"));
    snprintf(cmd, sizeof cmd, "timeout 30 mpirun -np 3 %s train %s",
             mpi_bin(), path);
    int st = sh(cmd);
    assert_true(st != 0 && st != 124);
    first_message(got, sizeof got);
    assert_string_equal(got, want);
}

static void nap(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One process fails: rank 0, which alone writes --out and cannot; rank 1,
 * given a data file that is not there (mpirun's A : B runs a different
 * command line per rank): every process stops, non-zero, naming the
 * rank, rather than wait for the failed one. */
static void test_failing_rank(void **state)
{
    (void)state;
    NEED_MPI();
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "timeout 30 mpirun -np 3 %s train --optimizer "
                              "lbfgs --max-iter 1000 --out /proc/none/m.srm",
             mpi_bin());
    double t0 = seconds();
    int st = sh(cmd);
    assert_true(st != 0 && st != 124);
    assert_true(seconds() - t0 < 10.0);
    if (!strstr(errs, "rank 0 of 3")) {
        print_error("no rank named in\n%s\n", errs);
        fail();
    }
    snprintf(cmd, sizeof cmd, "timeout 30 mpirun -np 1 %s train --optimizer "
                              "lbfgs --max-iter 1000 : -np 1 %s train "
                              "%s/missing.csv", mpi_bin(), mpi_bin(), dir);
    t0 = seconds();
    st = sh(cmd);
    assert_true(st != 0 && st != 124);
    assert_true(seconds() - t0 < 10.0);
    if (!strstr(errs, "rank 1 of 2") || !strstr(errs, "missing.csv")) {
        print_error("no rank or file named in\n%s\n", errs);
        fail();
    }
}

/* A process killed in the middle of gradient descent with --checkpoint:
 * mpirun and every other process exit within 10 s, mpirun non-zero; then
 * --resume on another process count ends with the model of the plain
 * build's uninterrupted run. */
#define GD_JOB "train --optimizer gd --epochs 600 --lr 0.5 --limit 10000"
static void test_killed_rank(void **state)
{
    (void)state;
    NEED_MPI();
    char ck[320], cmd2[2048], plain[320], resumed[320];
    snprintf(ck, sizeof ck, "%s/gd.ck", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setpgid(0, 0);
        if (!freopen("/dev/null", "w", stdout) ||
            !freopen("/dev/null", "w", stderr))
            _exit(126);
        execlp("mpirun", "mpirun", "-np", "3", mpi_bin(), "train",
               "--optimizer", "gd", "--epochs", "600", "--lr", "0.5",
               "--limit", "10000", "--checkpoint", ck, (char *)NULL);
        _exit(127);
    }
    /* the ranks: mpirun's children, once they are training */
    char cmd[128], line[64];
    long ranks[8];
    int nranks = 0;
    snprintf(cmd, sizeof cmd, "pgrep -P %ld", (long)pid);
    for (int tries = 0; tries < 100 && nranks < 3; tries++) {
        nap(0.1);
        nranks = 0;
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        while (nranks < 8 && fgets(line, sizeof line, p))
            ranks[nranks++] = strtol(line, NULL, 10);
        pclose(p);
    }
    assert_int_equal(nranks, 3);
    sleep(1);
    assert_int_equal(kill((pid_t)ranks[1], SIGKILL), 0);
    double t0 = seconds();
    int status = 0, done = 0;
    while (seconds() - t0 < 10.0) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            done = 1;
            break;
        }
        nap(0.05);
    }
    if (!done) {
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
        print_error("mpirun still ran 10 s after a rank was killed\n");
        fail();
    }
    assert_true(!WIFEXITED(status) || WEXITSTATUS(status) != 0);
    /* no rank outlives mpirun for long */
    for (int i = 0; i < nranks; i++) {
        int alive = 1;
        for (int w = 0; w < 50 && alive; w++) {
            alive = kill((pid_t)ranks[i], 0) == 0;
            if (alive)
                nap(0.1);
        }
        assert_false(alive);
    }
    if (access(ck, R_OK) != 0) {
        print_error("no checkpoint %s before the kill\n", ck);
        fail();
    }
    snprintf(resumed, sizeof resumed, "%s/resumed.srm", dir);
    snprintf(cmd2, sizeof cmd2, "mpirun -np 2 %s " GD_JOB " --resume %s "
                                "--out %s", mpi_bin(), ck, resumed);
    if (sh(cmd2) != 0) {
        print_error("%s failed:\n%s\n", cmd2, errs);
        fail();
    }
    snprintf(plain, sizeof plain, "%s/uninterrupted.srm", dir);
    snprintf(cmd2, sizeof cmd2, "%s " GD_JOB " --out %s", test_softreg_bin(),
             plain);
    assert_int_equal(sh(cmd2), 0);
    size_t la, lb;
    char *a = read_all(plain, &la), *b = read_all(resumed, &lb);
    assert_true(la == lb && memcmp(a, b, la) == 0);
    free(a);
    free(b);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/softreg-test-%ld-mpi", (long)getpid());
    snprintf(sets, sizeof sets, "%s/sets", dir);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", sets);
    if (system(cmd) != 0)
        return -1;
    /* loopback runs as any user, more processes than cores */
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 0);
    /* make test-portable: the plain build has the portable kernels alone;
     * the MPI build (with the x86 kernels) is told to use them too */
    const char *b = getenv("BUILD");
    if (b && strstr(b, "portable"))
        setenv("SOFTREG_ARCH", "ref", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return test_remove_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lbfgs_mnist),
        cmocka_unit_test(test_newton_mnist),
        cmocka_unit_test(test_sgd_and_network),
        cmocka_unit_test(test_sgd_everywhere),
        cmocka_unit_test(test_tabular),
        cmocka_unit_test(test_exact_shards),
        cmocka_unit_test(test_more_processes_than_rows),
        cmocka_unit_test(test_idx_shards),
        cmocka_unit_test(test_idx_shapes),
        cmocka_unit_test(test_csv_shards),
        cmocka_unit_test(test_libsvm_shards),
        cmocka_unit_test(test_npy_shards),
        cmocka_unit_test(test_shard_errors),
        cmocka_unit_test(test_failing_rank),
        cmocka_unit_test(test_killed_rank),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
