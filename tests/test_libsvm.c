/* The LIBSVM/svmlight reader: sparse rows in CSR, labels mapped to classes,
 * and every kind of bad line refused with file and line in the message. */
#include "testutil.h"

#include <zlib.h>

#include "data/dataset.h"
#include "data/tabular.h"

/* ---- helpers ------------------------------------------------------------ */

/* Parses `text` from an exactly-sized copy (no NUL after it). */
static sr_status parse(const char *text, const sr_tabular_options *opt,
                       sr_dataset **ds, sr_error *err)
{
    size_t len = strlen(text);
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    sr_status st = sr_libsvm_parse(copy, len, "t.svm", opt, ds, err);
    free(copy);
    return st;
}

static sr_dataset *parse_ok(const char *text, const sr_tabular_options *opt)
{
    sr_dataset *ds = NULL;
    sr_error err = {SR_OK, ""};
    sr_status st = parse(text, opt, &ds, &err);
    if (st != SR_OK) {
        print_error("parse failed: %s: %s\n", sr_status_str(st), err.message);
        fail();
    }
    assert_non_null(ds);
    assert_int_equal(ds->layout, SR_FEATURES_CSR);
    return ds;
}

static void parse_fails(const char *text, const sr_tabular_options *opt,
                        sr_status code, const char *phrase)
{
    static sr_dataset *const sentinel = (sr_dataset *)&sentinel;
    sr_dataset *ds = sentinel;
    sr_error err = {SR_OK, ""};
    sr_status st = parse(text, opt, &ds, &err);
    if (st != code || !strstr(err.message, phrase)) {
        print_error("got %s \"%s\"\nexpected %s with \"%s\"\n",
                    sr_status_str(st), err.message, sr_status_str(code),
                    phrase);
        fail();
    }
    assert_ptr_equal(ds, sentinel);
}

/* The CSR arrays must equal the given ones. */
static void assert_csr(const sr_dataset *ds, const size_t *row_ptr,
                       const uint32_t *col, const float *val)
{
    for (size_t i = 0; i <= ds->m; i++)
        assert_int_equal(ds->row_ptr[i], row_ptr[i]);
    for (size_t p = 0; p < row_ptr[ds->m]; p++) {
        assert_int_equal(ds->col[p], col[p]);
        assert_true(ds->val[p] == val[p]);
    }
}

static void assert_names(const sr_dataset *ds, const char *const *want,
                         size_t k)
{
    assert_int_equal(ds->k, k);
    assert_non_null(ds->class_names);
    for (size_t c = 0; c < k; c++)
        assert_string_equal(ds->class_names[c], want[c]);
}

static void assert_labels(const sr_dataset *ds, const int32_t *want)
{
    assert_non_null(ds->y);
    for (size_t i = 0; i < ds->m; i++)
        assert_int_equal(ds->y[i], want[i]);
}

/* ---- good files ---------------------------------------------------------- */

static void binary_plus_minus_one(void **state)
{
    (void)state;
    sr_dataset *ds = parse_ok("+1 1:0.5 3:1\n-1 2:2\n+1 1:-1.25\n", NULL);
    assert_int_equal(ds->m, 3);
    assert_int_equal(ds->n, 3);
    assert_names(ds, (const char *[]){"-1", "1"}, 2);
    assert_labels(ds, (const int32_t[]){1, 0, 1});
    assert_csr(ds, (const size_t[]){0, 2, 3, 4}, (const uint32_t[]){0, 2, 1, 0},
               (const float[]){0.5f, 1, 2, -1.25f});
    assert_null(ds->x_f32);
    assert_null(ds->targets);
    sr_dataset_free(ds);
}

static void comments_blank_lines_crlf_tabs(void **state)
{
    (void)state;
    sr_dataset *ds = parse_ok("# made by hand\n"
                              "\n"
                              "1 1:1 # first\r\n"
                              "   \r\n"
                              "2\t4:0.25\t\t5:1#no space before\n"
                              "#1 9:9\n"
                              "1 2:3",
                              NULL);
    assert_int_equal(ds->m, 3);
    assert_int_equal(ds->n, 5);
    assert_names(ds, (const char *[]){"1", "2"}, 2);
    assert_labels(ds, (const int32_t[]){0, 1, 0});
    assert_csr(ds, (const size_t[]){0, 1, 3, 4}, (const uint32_t[]){0, 3, 4, 1},
               (const float[]){1, 0.25f, 1, 3});
    sr_dataset_free(ds);
}

static void gaps_zeros_and_empty_rows(void **state)
{
    (void)state;
    /* Explicit zeros are dropped but still count towards n. */
    sr_dataset *ds = parse_ok("0 2:1 10:3 12:0\n1\n0 1:0 3:-0.0\n", NULL);
    assert_int_equal(ds->m, 3);
    assert_int_equal(ds->n, 12);
    assert_csr(ds, (const size_t[]){0, 2, 2, 2}, (const uint32_t[]){1, 9},
               (const float[]){1, 3});
    sr_dataset_free(ds);
}

static void features_given(void **state)
{
    (void)state;
    sr_tabular_options opt = sr_tabular_options_default();
    opt.features = 20;
    sr_dataset *ds = parse_ok("1 3:1\n2 20:2\n", &opt);
    assert_int_equal(ds->n, 20);
    assert_csr(ds, (const size_t[]){0, 1, 2}, (const uint32_t[]){2, 19},
               (const float[]){1, 2});
    sr_dataset_free(ds);
    /* beyond the width: left out and counted (a zero stored value is no
     * entry); the order of indices is still checked */
    ds = parse_ok("1 3:1 21:2 25:0\n2 20:2 22:1\n", &opt);
    assert_int_equal(ds->n, 20);
    assert_csr(ds, (const size_t[]){0, 1, 2}, (const uint32_t[]){2, 19},
               (const float[]){1, 2});
    assert_int_equal(sr_dataset_ignored_entries(ds), 2);
    sr_dataset_free(ds);
    parse_fails("1 3:1 22:1 21:2\n", &opt, SR_ERR_FORMAT,
                "t.svm:1: feature index 21 comes after 22");
}

static void multiclass_integer_labels(void **state)
{
    (void)state;
    sr_dataset *ds = parse_ok("3 1:1\n0 1:1\n10 1:1\n1.0 1:1\n+3 1:1\n", NULL);
    assert_names(ds, (const char *[]){"0", "1", "3", "10"}, 4);
    assert_labels(ds, (const int32_t[]){2, 0, 3, 1, 2});
    sr_dataset_free(ds);

    /* Non-integral labels: names compared as text. */
    ds = parse_ok("0.5 1:1\n1 1:1\n-0.5 1:1\n", NULL);
    assert_names(ds, (const char *[]){"-0.5", "0.5", "1"}, 3);
    sr_dataset_free(ds);

    /* One class is fine for the reader. */
    ds = parse_ok("7 1:1\n7 2:1\n", NULL);
    assert_int_equal(ds->k, 1);
    assert_labels(ds, (const int32_t[]){0, 0});
    sr_dataset_free(ds);
}

static void svmlight_qid(void **state)
{
    (void)state;
    sr_dataset *ds = parse_ok("2 qid:1 1:0.5 2:1 # doc a\n1 qid:1 2:2\n", NULL);
    assert_int_equal(ds->n, 2);
    assert_csr(ds, (const size_t[]){0, 2, 3}, (const uint32_t[]){0, 1, 1},
               (const float[]){0.5f, 1, 2});
    sr_dataset_free(ds);
}

static void regression_targets(void **state)
{
    (void)state;
    sr_tabular_options opt = sr_tabular_options_default();
    opt.task = SR_TASK_REGRESSION;
    sr_dataset *ds = parse_ok("0.5 1:1\n-2.25 2:1\n1e3\n", &opt);
    assert_int_equal(ds->m, 3);
    assert_int_equal(ds->t, 1);
    assert_int_equal(ds->k, 0);
    assert_null(ds->y);
    assert_null(ds->class_names);
    assert_true(ds->targets[0] == 0.5f);
    assert_true(ds->targets[1] == -2.25f);
    assert_true(ds->targets[2] == 1000.0f);
    sr_dataset_free(ds);
    parse_fails("0.5 1:1\nnan 2:1\n", &opt, SR_ERR_FORMAT,
                "t.svm:2: label \"nan\" is not finite");
}

static void reference_classes(void **state)
{
    (void)state;
    static const char *const train[] = {"-1", "1"};
    sr_tabular_options opt = sr_tabular_options_default();
    opt.classes = train;
    opt.k = 2;
    /* Only one class present: still k = 2 and the training numbering. */
    sr_dataset *ds = parse_ok("+1 1:1\n1.0 2:1\n", &opt);
    assert_names(ds, train, 2);
    assert_labels(ds, (const int32_t[]){1, 1});
    sr_dataset_free(ds);
    parse_fails("+1 1:1\n\n# c\n2 2:1\n", &opt, SR_ERR_FORMAT,
                "t.svm:4: label \"2\" is not one of the 2 reference classes");
}

/* ---- bad input ------------------------------------------------------------ */

static void bad_indices(void **state)
{
    (void)state;
    static const struct {
        const char *line, *phrase;
    } cases[] = {
        {"1 0:1", "t.svm:2: feature index 0 is invalid: indices start at 1"},
        {"1 -3:1", "t.svm:2: feature index -3 is invalid: indices start at 1"},
        {"1 2:1 5:1 3:1",
         "t.svm:2: feature index 3 comes after 5: indices must be strictly "
         "increasing"},
        {"1 2:1 2:1", "t.svm:2: feature index 2 appears twice"},
        {"1 2147483648:1",
         "t.svm:2: feature index 2147483648 is too large (at most 2147483647)"},
        {"1 99999999999999999999999:1", "is too large (at most 2147483647)"},
        {"1 1.5:1", "t.svm:2: feature index \"1.5\" is not an integer"},
        {"1 x:1", "t.svm:2: feature index \"x\" is not an integer"},
        {"1 :1", "t.svm:2: feature index \"\" is not an integer"},
        {"1 3", "t.svm:2: \"3\" is not index:value (missing ':')"},
        {"1 -0", "t.svm:2: \"-0\" is not index:value (missing ':')"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "1 1:1\n%s\n", cases[i].line);
        parse_fails(text, NULL, SR_ERR_FORMAT, cases[i].phrase);
    }
    /* The largest index is accepted. */
    sr_dataset *ds = parse_ok("1 2147483647:1\n", NULL);
    assert_int_equal(ds->n, 2147483647u);
    assert_int_equal(ds->col[0], 2147483646u);
    sr_dataset_free(ds);
}

static void bad_values_and_labels(void **state)
{
    (void)state;
    static const struct {
        const char *line, *phrase;
    } cases[] = {
        {"1 4:abc", "t.svm:3: feature 4: value \"abc\" is not a number"},
        {"1 4:1.5.2", "t.svm:3: feature 4: value \"1.5.2\" is not a number"},
        {"1 4:", "t.svm:3: feature 4: value \"\" is empty"},
        {"1 4:nan", "t.svm:3: feature 4: value \"nan\" is not finite"},
        {"1 4:inf", "t.svm:3: feature 4: value \"inf\" is not finite"},
        {"1 4:-inf", "t.svm:3: feature 4: value \"-inf\" is not finite"},
        {"1 4:1e999", "value \"1e999\" is out of range"},
        {"1 4:1e39", "value \"1e39\" is out of float32 range"},
        {"1 4:1:2", "value \"1:2\" is not a number"},
        {"yes 4:1", "t.svm:3: label \"yes\" is not a number"},
        {"inf 4:1", "t.svm:3: label \"inf\" is not finite"},
        {"4:1 5:1", "t.svm:3: label \"4:1\" is not a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "1 1:1\n# x\n%s\n", cases[i].line);
        parse_fails(text, NULL, SR_ERR_FORMAT, cases[i].phrase);
    }
    static const char nul[] = "1 1:1\n1 2:1\0\n";
    sr_dataset *ds = NULL;
    sr_error err = {SR_OK, ""};
    assert_int_equal(sr_libsvm_parse(nul, sizeof nul - 1, "t.svm", NULL, &ds,
                                     &err),
                     SR_ERR_FORMAT);
    assert_non_null(strstr(err.message, "t.svm:2: NUL byte"));
    assert_null(ds);
}

static void empty_input(void **state)
{
    (void)state;
    parse_fails("", NULL, SR_ERR_FORMAT, "t.svm: no examples: the file is empty");
    parse_fails("# only\n\n  # comments\n", NULL, SR_ERR_FORMAT,
                "t.svm: no examples: the file holds only blank lines and "
                "comments");
    sr_dataset *ds = NULL;
    sr_error err = {SR_OK, ""};
    assert_int_equal(sr_libsvm_parse(NULL, 1, "t.svm", NULL, &ds, &err),
                     SR_ERR_INVALID_ARG);
    assert_int_equal(sr_libsvm_parse(NULL, 0, NULL, NULL, &ds, &err),
                     SR_ERR_FORMAT);
    assert_non_null(strstr(err.message, "(buffer): no examples"));
    assert_null(ds);
}

/* ---- through files -------------------------------------------------------- */

static void load_from_file_and_gzip(void **state)
{
    (void)state;
    static const char text[] = "-1 1:0.5 7:2\n+1 3:1\n";
    char path[256];
    test_write_tmp(path, ".svm", text, sizeof text - 1);
    sr_dataset *ds = NULL;
    sr_error err = {SR_OK, ""};
    assert_int_equal(sr_dataset_load_libsvm(path, NULL, &ds, &err), SR_OK);
    assert_int_equal(ds->m, 2);
    assert_int_equal(ds->n, 7);
    assert_labels(ds, (const int32_t[]){0, 1});
    assert_csr(ds, (const size_t[]){0, 2, 3}, (const uint32_t[]){0, 6, 2},
               (const float[]){0.5f, 2, 1});
    sr_dataset_free(ds);
    unlink(path);

    static const char bad[] = "1 1:1\n1 3:1 3:2\n";
    char gz[256];
    test_write_tmp(gz, ".svm.gz", "", 0);
    gzFile f = gzopen(gz, "wb");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, bad, sizeof bad - 1), (int)(sizeof bad - 1));
    assert_int_equal(gzclose(f), Z_OK);
    ds = NULL;
    assert_int_equal(sr_dataset_load_libsvm(gz, NULL, &ds, &err),
                     SR_ERR_FORMAT);
    assert_null(ds);
    char want[300];
    snprintf(want, sizeof want, "%s:2: feature index 3 appears twice", gz);
    assert_string_equal(err.message, want);
    unlink(gz);

    assert_int_equal(sr_dataset_load_libsvm("/nonexistent/x.svm", NULL, &ds,
                                            &err),
                     SR_ERR_IO);
    assert_null(ds);
}

/* Many rows and values, to grow every array several times. */
static void many_rows(void **state)
{
    (void)state;
    size_t m = 3000, cap = m * 80 + 64, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (size_t i = 0; i < m; i++) {
        len += (size_t)snprintf(text + len, cap - len, "%d", i % 2 ? 1 : -1);
        for (size_t j = 1; j <= i % 5; j++)
            len += (size_t)snprintf(text + len, cap - len, " %zu:%zu",
                                    j * 100 + i % 100, j);
        text[len++] = '\n';
    }
    text[len] = '\0';
    sr_dataset *ds = parse_ok(text, NULL);
    free(text);
    assert_int_equal(ds->m, m);
    assert_int_equal(ds->n, 499);
    size_t nnz = 0;
    for (size_t i = 0; i < m; i++) {
        assert_int_equal(ds->row_ptr[i + 1] - ds->row_ptr[i], i % 5);
        for (size_t p = ds->row_ptr[i]; p < ds->row_ptr[i + 1]; p++) {
            size_t j = p - ds->row_ptr[i] + 1;
            assert_int_equal(ds->col[p], j * 100 + i % 100 - 1);
            assert_true(ds->val[p] == (float)j);
        }
        assert_int_equal(ds->y[i], i % 2);
        nnz += i % 5;
    }
    assert_int_equal(ds->row_ptr[m], nnz);
    sr_dataset_free(ds);
}

/* Non-zeros are counted over the stored values, not over m x n: a set
 * 2^31 - 1 features wide is counted at once. */
static void nonzeros_of_sparse_rows(void **state)
{
    (void)state;
    sr_dataset *ds = parse_ok("1 1:0.5 7:0 2147483647:2\n"
                              "0 3:-1\n"
                              "1\n"
                              "0 2:4 5:1e-30\n",
                              NULL);
    assert_int_equal(ds->n, 2147483647u);
    assert_int_equal(sr_dataset_nonzeros(ds), 5);
    /* A stored zero (as a mapped set may hold) is not counted. */
    ds->val[1] = 0.0f;
    assert_int_equal(sr_dataset_nonzeros(ds), 4);
    ds->val[1] = 2.0f;
    /* Rows cut by truncate and taken by subset count alone. */
    sr_error err;
    sr_dataset *sub = NULL;
    assert_int_equal(sr_dataset_subset(ds, (const size_t[]){3, 1}, 2, &sub,
                                       &err),
                     SR_OK);
    assert_int_equal(sr_dataset_nonzeros(sub), 3);
    sr_dataset_free(sub);
    assert_int_equal(sr_dataset_truncate(ds, 2, &err), SR_OK);
    assert_int_equal(sr_dataset_nonzeros(ds), 3);
    sr_dataset_free(ds);
    assert_int_equal(sr_dataset_nonzeros(NULL), 0);

    /* Dense data are counted value by value; -0 is zero. */
    const float X[6] = {0, 1.5f, -0.0f, 3, 0, -2};
    const int32_t y[2] = {0, 1};
    assert_int_equal(sr_dataset_from_arrays(X, 2, 3, y, NULL, 0, &ds, &err),
                     SR_OK);
    assert_int_equal(sr_dataset_nonzeros(ds), 3);
    sr_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(binary_plus_minus_one),
        cmocka_unit_test(comments_blank_lines_crlf_tabs),
        cmocka_unit_test(gaps_zeros_and_empty_rows),
        cmocka_unit_test(features_given),
        cmocka_unit_test(multiclass_integer_labels),
        cmocka_unit_test(svmlight_qid),
        cmocka_unit_test(regression_targets),
        cmocka_unit_test(reference_classes),
        cmocka_unit_test(bad_indices),
        cmocka_unit_test(bad_values_and_labels),
        cmocka_unit_test(empty_input),
        cmocka_unit_test(load_from_file_and_gzip),
        cmocka_unit_test(many_rows),
        cmocka_unit_test(nonzeros_of_sparse_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
