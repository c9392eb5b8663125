/* Tabular files with no options but their names: softreg's defaults give
 * the models scikit-learn's defaults give, on the real data sets Debian's
 * python3-sklearn ships; training that diverges is refused; every run
 * says how it ended; options as people type them; options that would do
 * nothing are named; classes without an example are refused. */
#include <sys/stat.h>

#include "testutil.h"

static char out[1 << 17], errs[1 << 16];

/* Runs `softreg <args>` (printf's format) into out and errs, and checks
 * its exit status. */
static void expect(int status, const char *fmt, ...)
{
    char args[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    int got = test_run_softreg(args, out, sizeof out, errs, sizeof errs);
    if (got != status) {
        print_error("softreg %s: status %d, expected %d; stderr:\n%s\n", args,
                    got, status, errs);
        fail();
    }
}

/* The last JSON row's value of `key`. */
static double last_json(const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *at = NULL;
    for (const char *p = strstr(out, pattern); p; p = strstr(p + 1, pattern))
        at = p;
    assert_non_null(at);
    return strtod(at + strlen(pattern), NULL);
}

/* scripts/tabular-sets writes the five sets, split 70/30, into a fresh
 * directory; 0 when python3 or python3-sklearn's data files are not
 * installed. */
static int make_sets(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/softreg-test-%ld-tabular", (long)getpid());
    char cmd[512];
    snprintf(cmd, sizeof cmd, "python3 scripts/tabular-sets %s", dir);
    int st = system(cmd);
    /* 3: no sklearn data files; 127: no python3 */
    if (WIFEXITED(st) && (WEXITSTATUS(st) == 3 || WEXITSTATUS(st) == 127))
        return 0;
    assert_int_equal(st, 0);
    return 1;
}

static void remove_sets(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* The test error (RMSE for diabetes) of scikit-learn on the same split:
 *   scripts/tabular-sets DIR && python3 bench/sklearn_tabular.py DIR
 * (scikit-learn 1.2.1, Debian 12): make_pipeline(StandardScaler(),
 * LogisticRegression()) and LinearRegression(). softreg must come within
 * one point of each error and 1% of the RMSE. */
static const struct {
    const char *name, *options;
    double sklearn;
} SETS[] = {
    {"iris", "", 0.0},
    {"wine", "", 0.0},
    {"breast_cancer", "", 0.0235},
    {"digits", "", 0.0372},
    {"diabetes", "--model linear", 55.0160},
};

static void test_defaults_match_sklearn(void **state)
{
    (void)state;
    char dir[256];
    if (!make_sets(dir, sizeof dir)) {
        print_message("python3-sklearn's data sets are not installed\n");
        skip();
    }
    for (size_t i = 0; i < sizeof SETS / sizeof *SETS; i++) {
        expect(0, "train %s/%s-train.csv --test %s/%s-test.csv --label-col "
               "label --json %s", dir, SETS[i].name, dir, SETS[i].name,
               SETS[i].options);
        int linear = strstr(SETS[i].options, "linear") != NULL;
        double got = last_json(linear ? "test_rmse" : "test_err");
        double want = SETS[i].sklearn;
        int ok = linear ? fabs(got - want) <= 0.01 * want
                        : got <= want + 0.01;
        if (!ok) {
            print_error("%s: softreg's test %s %g, scikit-learn's %g\n",
                        SETS[i].name, linear ? "RMSE" : "error", got, want);
            fail();
        }
        /* the summary names the defaults it chose, and the end */
        assert_non_null(strstr(errs, "defaults for a tabular file: --bias "
                                     "--standardize --optimizer"));
        assert_non_null(strstr(errs, "training ended: "));
    }
    remove_sets(dir);
}

/* eval's per-class precision, recall and F1 and their macro average
 * against scikit-learn's on the same predictions (softreg predict's, read
 * from standard input); skipped without python3-sklearn. */
static void test_eval_metrics_match_sklearn(void **state)
{
    (void)state;
    char dir[256], args[2048];
    if (!make_sets(dir, sizeof dir) ||
        system("/usr/bin/python3 -c 'import sklearn' 2>/dev/null") != 0) {
        print_message("python3-sklearn is not installed\n");
        skip();
    }
    expect(0, "train %s/digits-train.csv --label-col label --quiet "
           "--max-iter 5 -o %s/d.srm", dir, dir);
    expect(0, "predict %s/d.srm - < %s/digits-test.csv > %s/pred.csv", dir, dir,
           dir);
    expect(0, "eval %s/d.srm %s/digits-test.csv --json", dir,
           dir);
    double mine[3] = {last_json("macro_precision"), last_json("macro_recall"),
                      last_json("macro_f1")};
    snprintf(args, sizeof args,
             "/usr/bin/python3 -c 'import csv, sys\n"
             "from sklearn.metrics import precision_recall_fscore_support as s\n"
             "y = [r[\"label\"] for r in csv.DictReader(open(sys.argv[1]))]\n"
             "p = [r[\"class\"] for r in csv.DictReader(open(sys.argv[2]))]\n"
             "print(\"%%.9f %%.9f %%.9f\" %% s(y, p, average=\"macro\", "
             "zero_division=0)[:3])' %s/digits-test.csv %s/pred.csv",
             dir, dir);
    FILE *p = popen(args, "r");
    assert_non_null(p);
    double theirs[3];
    assert_int_equal(fscanf(p, "%lf %lf %lf", &theirs[0], &theirs[1],
                            &theirs[2]), 3);
    assert_int_equal(pclose(p), 0);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(mine[i] - theirs[i]) < 1e-6);
    /* a few iterations leave mistakes to score */
    assert_true(theirs[2] < 0.99);

    /* regression: MAE and R^2 of softreg's predictions */
    expect(0, "train %s/diabetes-train.csv --label-col label --model linear "
           "--quiet -o %s/r.srm", dir, dir);
    expect(0, "predict %s/r.srm %s/diabetes-test.csv > %s/rpred.csv", dir, dir,
           dir);
    expect(0, "eval %s/r.srm %s/diabetes-test.csv --json",
           dir, dir);
    double fit[2] = {last_json("mae"), last_json("r2")};
    snprintf(args, sizeof args,
             "/usr/bin/python3 -c 'import csv, sys\n"
             "from sklearn.metrics import mean_absolute_error, r2_score\n"
             "y = [float(r[\"label\"]) for r in "
             "csv.DictReader(open(sys.argv[1]))]\n"
             "p = [float(r[\"y\"]) for r in csv.DictReader(open(sys.argv[2]))]\n"
             "print(\"%%.9f %%.9f\" %% (mean_absolute_error(y, p), "
             "r2_score(y, p)))' %s/diabetes-test.csv %s/rpred.csv", dir, dir);
    p = popen(args, "r");
    assert_non_null(p);
    double want[2];
    assert_int_equal(fscanf(p, "%lf %lf", &want[0], &want[1]), 2);
    assert_int_equal(pclose(p), 0);
    assert_true(fabs(fit[0] - want[0]) < 1e-5 * want[0]);
    assert_true(fabs(fit[1] - want[1]) < 1e-5);
    remove_sets(dir);
}

/* gradcheck on a model trained to convergence, over all its training
 * rows with its own penalty: the gradient is near zero there, a sum of
 * terms that cancel, and must still be judged correct. */
static void test_gradcheck_at_optimum(void **state)
{
    (void)state;
    char dir[256];
    if (!make_sets(dir, sizeof dir)) {
        print_message("python3-sklearn's data sets are not installed\n");
        skip();
    }
    /* C = 1 on 105 rows: l2 = 1 / 105 */
    expect(0, "train %s/iris-train.csv --label-col label --quiet -o %s/i.srm",
           dir, dir);
    expect(0, "gradcheck %s/iris-train.csv --label-col label --model-file "
           "%s/i.srm --rows 105 --l2 0.00952380952", dir, dir);
    assert_non_null(strstr(out, "verdict: ok"));
    remove_sets(dir);
}

/* --cv K: a row per fold and the mean and deviation; no model is kept. */
static void test_cross_validation(void **state)
{
    (void)state;
    char dir[256];
    if (!make_sets(dir, sizeof dir)) {
        print_message("python3-sklearn's data sets are not installed\n");
        skip();
    }
    expect(0, "train %s/iris-train.csv --label-col label --cv 5 --json", dir);
    size_t folds = 0;
    for (const char *p = strstr(out, "{\"fold\": "); p;
         p = strstr(p + 1, "{\"fold\": "))
        folds++;
    assert_int_equal(folds, 5);
    assert_true(last_json("val_err") < 0.15);
    assert_true(last_json("val_err_sd") >= 0.0);
    assert_non_null(strstr(out, "\"folds\": 5"));
    expect(2, "train %s/iris-train.csv --label-col label --cv 5 -o %s/x.srm",
           dir, dir);
    assert_non_null(strstr(errs, "--cv"));
    expect(2, "train %s/iris-train.csv --label-col label --cv 500", dir);
    remove_sets(dir);
}

/* Features on scales of 1 and 1,000 (like wine's): plain SGD at the
 * course's rate diverges. */
static const char *WIDE =
    "a,b,label\n"
    "1.2,1100,x\n0.8,900,y\n1.1,1250,x\n0.9,870,y\n1.3,1190,x\n"
    "0.7,930,y\n1.0,1010,x\n0.95,980,y\n1.15,1300,x\n0.85,850,y\n";

static void test_options_over_defaults(void **state)
{
    (void)state;
    char file[256];
    test_write_tmp(file, ".csv", WIDE, strlen(WIDE));
    /* SGD's options imply SGD, without a penalty */
    expect(0, "train %s --epochs 3", file);
    assert_non_null(strstr(errs, "training: SGD, 3 epochs"));
    assert_non_null(strstr(errs, "defaults for a tabular file: --bias "
                                 "--standardize ("));
    /* --C: L2 = 1 / (C m), m = 10 */
    expect(0, "train %s --C 2 --no-bias --standardise", file);
    assert_non_null(strstr(errs, "l2 0.05 (C 2)"));
    assert_non_null(strstr(errs, "defaults for a tabular file: --optimizer "
                                 "lbfgs --max-iter 1000 ("));
    assert_null(strstr(errs, "with biases"));
    assert_non_null(strstr(errs, "standardised"));
    /* both penalties at once: refused before reading the data */
    expect(2, "train %s --C 2 --l2 0.1", file);
    assert_non_null(strstr(errs, "--C and --l2"));
    /* an iteration limit reached is said so */
    expect(0, "train %s --max-iter 1 --C 1000", file);
    assert_non_null(strstr(errs, "iteration limit"));
    assert_non_null(strstr(errs, "underfit"));
    remove(file);
}

static void test_divergence_refused(void **state)
{
    (void)state;
    char file[256], model[300];
    test_write_tmp(file, ".csv", WIDE, strlen(WIDE));
    snprintf(model, sizeof model, "%s.srm", file);
    expect(1, "train %s --no-standardize --epochs 20 --out %s", file, model);
    assert_non_null(strstr(errs, "diverged"));
    assert_non_null(strstr(errs, "--lr"));
    assert_non_null(strstr(errs, "--standardize"));
    struct stat st;
    assert_int_not_equal(stat(model, &st), 0);
    /* standardised, the same run learns */
    expect(0, "train %s --epochs 20 --out %s --json", file,
           model);
    assert_true(last_json("train_err") < 0.2);
    assert_int_equal(stat(model, &st), 0);
    remove(model);
    remove(file);
}

/* Options as people type them, and options that would do nothing. */
static void test_option_spellings_and_warnings(void **state)
{
    (void)state;
    char file[256], model[300];
    struct stat st;
    test_write_tmp(file, ".csv", WIDE, strlen(WIDE));
    snprintf(model, sizeof model, "%s.srm", file);
    const char *outs[] = {"-o %s", "--out=%s", "--ou %s"};
    for (size_t i = 0; i < 3; i++) {
        char out_opt[400];
        snprintf(out_opt, sizeof out_opt, outs[i], model);
        expect(0, "train %s --quiet %s", file, out_opt);
        assert_int_equal(stat(model, &st), 0);
        remove(model);
    }
    expect(2, "train %s --epocs 3", file);
    assert_non_null(strstr(errs, "did you mean --epochs?"));
    expect(2, "train %s -o", file);
    assert_non_null(strstr(errs, "-o needs a value"));
    expect(0, "train %s --optimizer lbfgs --lr 0.1 --momentum 0.9 --hidden 5",
           file);
    assert_non_null(strstr(errs, "--lr is ignored by --optimizer lbfgs"));
    assert_non_null(strstr(errs, "--momentum is ignored by --optimizer lbfgs"));
    assert_non_null(strstr(errs, "--hidden is ignored by --model softmax"));
    remove(file);
}

/* Labels number the classes from 0 to the largest: the first 5 MNIST
 * images (labels 5 0 4 1 9) leave five of ten classes empty. */
static void test_empty_classes_refused(void **state)
{
    (void)state;
    expect(1, "train --data %s --limit 5 --epochs 1",
           test_mnist_dir());
    assert_non_null(strstr(errs, "5 of the training set's 10 classes have no "
                                 "example: 2, 3, 6, 7, 8"));
    assert_non_null(strstr(errs, "--classes 10"));
    assert_null(strstr(out, "Epoch"));
    expect(0, "train --data %s --limit 5 --epochs 1 --classes 10",
           test_mnist_dir());
}

/* Work is not lost: --out is checked before training; a model that is
 * not written is said so; an interrupt saves the last finished epoch,
 * the very model a run of that many epochs writes; a checkpoint of other
 * options is refused naming each difference. */
static void test_work_not_lost(void **state)
{
    (void)state;
    char file[256], path[512], args[2048];
    struct stat st;
    test_write_tmp(file, ".csv", WIDE, strlen(WIDE));
    snprintf(path, sizeof path, "%s.d/sub/m.srm", file);
    expect(0, "train %s --quiet --out %s", file, path);
    assert_int_equal(stat(path, &st), 0);
    /* a directory as --out: refused before the table */
    snprintf(path, sizeof path, "%s.d/sub", file);
    expect(1, "train %s --out %s", file, path);
    assert_non_null(strstr(errs, "is a directory"));
    assert_null(strstr(out, "Epoch"));
    snprintf(args, sizeof args, "rm -r %s.d", file);
    assert_int_equal(system(args), 0);
    expect(0, "train %s", file);
    assert_non_null(strstr(errs, "the model was not kept (--out FILE keeps "
                                 "it)"));
    remove(file);

    /* SIGINT during training: status 130, the last finished epoch saved */
    char model[256], again[256];
    snprintf(model, sizeof model, "/tmp/softreg-test-%ld-int.srm",
             (long)getpid());
    snprintf(again, sizeof again, "/tmp/softreg-test-%ld-again.srm",
             (long)getpid());
    snprintf(args, sizeof args,
             "sh -c '%s train --data %s --limit 10000 --model nn --hidden 32 "
             "--epochs 100000 --quiet --out %s & pid=$!; sleep 1; "
             "kill -INT $pid; wait $pid; echo status $?'",
             test_softreg_bin(), test_mnist_dir(), model);
    FILE *p = popen(args, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, sizeof out - 1, p), rows = 0, status = 0;
    out[got] = '\0';
    pclose(p);
    /* the table's rows after its header, the first line */
    for (const char *r = strstr(out, "\n|"); r; r = strstr(r + 1, "\n|"))
        rows++;
    const char *s = strstr(out, "status ");
    assert_non_null(s);
    status = strtoul(s + 7, NULL, 10);
    assert_int_equal(status, 130);
    assert_true(rows >= 1);
    expect(0, "train --data %s --limit 10000 --model nn --hidden 32 --epochs "
           "%zu --quiet --out %s", test_mnist_dir(), rows, again);
    /* the same parameters, bit for bit (the files differ in the
     * --epochs their training options record) */
    for (int i = 0; i < 2; i++) {
        expect(0, "export %s --npy %s.npy",
               i ? again : model, i ? again : model);
    }
    snprintf(args, sizeof args, "diff -r %s.npy %s.npy >/dev/null && rm -r "
                                "%s.npy %s.npy", model, again, model, again);
    assert_int_equal(system(args), 0);
    remove(model);
    remove(again);

    /* --resume with other options names each */
    char ckpt[256];
    snprintf(ckpt, sizeof ckpt, "/tmp/softreg-test-%ld.ckpt", (long)getpid());
    expect(0, "train --data %s --limit 1000 --epochs 1 --checkpoint %s --quiet",
           test_mnist_dir(), ckpt);
    expect(1, "train --data %s --limit 1000 --epochs 2 --resume %s --lr 0.1 "
           "--bias --quiet", test_mnist_dir(), ckpt);
    assert_non_null(strstr(errs, "--lr 0.2, not 0.1"));
    assert_non_null(strstr(errs, "biases off, not on"));
    /* the same options on other data of the same size */
    char other[256];
    test_write_tmp(file, ".csv", WIDE, strlen(WIDE));
    char *changed = strdup(WIDE);
    assert_non_null(changed);
    changed[strlen("a,b,label\n1.2,11")] = '5'; /* 1100 -> 1150 */
    test_write_tmp(other, ".csv", changed, strlen(changed));
    free(changed);
    expect(0, "train %s --epochs 2 --lr 0.01 --checkpoint %s --quiet", file,
           ckpt);
    expect(1, "train %s --epochs 3 --lr 0.01 --resume %s --quiet", other, ckpt);
    assert_non_null(strstr(errs, "other training data"));
    expect(0, "train %s --epochs 3 --lr 0.01 --resume %s --quiet", file, ckpt);
    remove(file);
    remove(other);
    remove(ckpt);
}

/* The model keeps the training file's column names: a file with its
 * columns in another order (the label first) is matched by name and gives
 * the same figures; missing and extra columns are named; the model file
 * keeps the names. */
static void test_columns_matched_by_name(void **state)
{
    (void)state;
    char file[256], model[300], moved[256], gone[256];
    test_write_tmp(file, ".csv", WIDE, strlen(WIDE));
    snprintf(model, sizeof model, "%s.srm", file);
    expect(0, "train %s --quiet -o %s", file, model);
    expect(0, "eval %s %s --json", model, file);
    double loss = last_json("loss");
    /* label, b, a: the same rows */
    char text[1024] = "label,b,a\n";
    const char *p = strchr(WIDE, '\n') + 1;
    while (*p) {
        double a, b;
        char lab[8];
        assert_int_equal(sscanf(p, "%lf,%lf,%7[^\n]", &a, &b, lab), 3);
        size_t at = strlen(text);
        snprintf(text + at, sizeof text - at, "%s,%g,%g\n", lab, b, a);
        p = strchr(p, '\n') + 1;
    }
    test_write_tmp(moved, ".csv", text, strlen(text));
    expect(0, "eval %s %s --json", model, moved);
    assert_true(last_json("loss") == loss);
    assert_non_null(strstr(errs, "matched to the model's features by name"));
    /* a column renamed: one missing, one not in the model */
    text[strlen("label,b,")] = 'z';
    test_write_tmp(gone, ".csv", text, strlen(text));
    expect(1, "eval %s %s", model, gone);
    assert_non_null(strstr(errs, "1 missing (\"a\")"));
    assert_non_null(strstr(errs, "1 not in the model (\"z\")"));
    expect(0, "info %s", model);
    assert_non_null(strstr(out, "columns:      a, b; label: label (column 2)"));
    expect(0, "info %s --json", model);
    assert_non_null(strstr(out, "\"feature_names\": [\"a\", \"b\"], "
                                "\"label\": \"label\""));
    expect(0, "info %s --json --label-col label", moved);
    assert_non_null(strstr(out, "\"feature_names\": [\"b\", \"a\"]"));
    assert_non_null(strstr(out, "\"class_names\": [\"x\", \"y\"], "
                                "\"class_counts\": [5, 5]"));
    remove(gone);
    remove(moved);
    remove(model);
    remove(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_match_sklearn),
        cmocka_unit_test(test_eval_metrics_match_sklearn),
        cmocka_unit_test(test_gradcheck_at_optimum),
        cmocka_unit_test(test_cross_validation),
        cmocka_unit_test(test_options_over_defaults),
        cmocka_unit_test(test_divergence_refused),
        cmocka_unit_test(test_option_spellings_and_warnings),
        cmocka_unit_test(test_empty_classes_refused),
        cmocka_unit_test(test_work_not_lost),
        cmocka_unit_test(test_columns_matched_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
