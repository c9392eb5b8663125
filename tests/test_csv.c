/* The CSV reader: good files of every shape the options allow, and every kind
 * of bad input, each refused with a message naming file, line and column. */
#include "testutil.h"

#include <zlib.h>

#include "data/dataset.h"
#include "data/tabular.h"

/* ---- helpers ------------------------------------------------------------ */

/* Parses `text` from an exactly-sized copy (no NUL after it), so reading
 * past the end shows under valgrind and ASan. */
static sr_status parse(const char *text, const sr_tabular_options *opt,
                       sr_dataset **ds, sr_error *err)
{
    size_t len = strlen(text);
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    sr_status st = sr_csv_parse(copy, len, "t.csv", opt, ds, err);
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
    return ds;
}

/* The parse must fail with `code`, a message containing `phrase`, and leave
 * the output alone. */
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

static void assert_row(const sr_dataset *ds, size_t i, const float *want)
{
    for (size_t j = 0; j < ds->n; j++)
        assert_true(ds->x_f32[i * ds->n + j] == want[j]);
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

static void header_auto_detected(void **state)
{
    (void)state;
    sr_dataset *ds = parse_ok("sepal,petal,species\n"
                              "5.1,1.4,setosa\n"
                              "7.0,4.7,versicolor\n",
                              NULL);
    assert_int_equal(ds->m, 2);
    assert_int_equal(ds->n, 2);
    assert_int_equal(ds->layout, SR_FEATURES_F32);
    assert_row(ds, 0, (const float[]){5.1f, 1.4f});
    assert_row(ds, 1, (const float[]){7.0f, 4.7f});
    assert_names(ds, (const char *[]){"setosa", "versicolor"}, 2);
    assert_labels(ds, (const int32_t[]){0, 1});
    assert_null(ds->targets);
    assert_int_equal(ds->t, 0);
    sr_dataset_free(ds);
}

static void no_header_auto_detected(void **state)
{
    (void)state;
    /* String labels in both lines: no column goes from name to number. */
    sr_dataset *ds = parse_ok("5.1,1.4,setosa\n7.0,4.7,versicolor\n", NULL);
    assert_int_equal(ds->m, 2);
    assert_row(ds, 0, (const float[]){5.1f, 1.4f});
    sr_dataset_free(ds);

    /* All numbers: no header. */
    ds = parse_ok("1,2,0\n3,4,1\n", NULL);
    assert_int_equal(ds->m, 2);
    sr_dataset_free(ds);
}

static void header_empty_name_is_header(void **state)
{
    (void)state;
    /* pandas' to_csv writes an unnamed index column. */
    sr_dataset *ds = parse_ok(",x,label\n0,1.5,a\n1,2.5,b\n", NULL);
    assert_int_equal(ds->m, 2);
    assert_int_equal(ds->n, 2);
    assert_row(ds, 1, (const float[]){1.0f, 2.5f});
    sr_dataset_free(ds);
}

static void header_forced(void **state)
{
    (void)state;
    sr_tabular_options opt = sr_tabular_options_default();
    opt.header = SR_CSV_HEADER_YES;
    sr_dataset *ds = parse_ok("1,2,3\n4,5,6\n7,8,9\n", &opt);
    assert_int_equal(ds->m, 2);
    assert_row(ds, 0, (const float[]){4, 5});
    assert_names(ds, (const char *[]){"6", "9"}, 2);
    sr_dataset_free(ds);

    /* Forced "no": a name on the first line is a bad number on line 1. */
    opt.header = SR_CSV_HEADER_NO;
    parse_fails("x,y\n1,2\n", &opt, SR_ERR_FORMAT,
                "t.csv:1: column 1: \"x\" is not a number");
}

static void single_line(void **state)
{
    (void)state;
    sr_dataset *ds = parse_ok("1.5,2.5,a\n", NULL);
    assert_int_equal(ds->m, 1);
    assert_int_equal(ds->k, 1);
    sr_dataset_free(ds);
    parse_fails("a,b,label\n", NULL, SR_ERR_FORMAT,
                "t.csv: no examples: the file holds only a header");
}

static void string_labels_strcmp_order(void **state)
{
    (void)state;
    sr_dataset *ds = parse_ok("f,label\n"
                              "1,virginica\n"
                              "2,setosa\n"
                              "3,Setosa\n"
                              "4,versicolor\n"
                              "5,setosa\n",
                              NULL);
    /* Byte-wise: upper case sorts before lower case. */
    assert_names(ds, (const char *[]){"Setosa", "setosa", "versicolor",
                                      "virginica"},
                 4);
    assert_labels(ds, (const int32_t[]){3, 1, 0, 2, 1});
    sr_dataset_free(ds);

    /* Integers among strings are compared as text too. */
    ds = parse_ok("1,10\n2,9\n3,cat\n4,+9\n", NULL);
    assert_names(ds, (const char *[]){"10", "9", "cat"}, 3);
    assert_labels(ds, (const int32_t[]){0, 1, 2, 1});
    sr_dataset_free(ds);
}

static void integer_labels_numeric_order(void **state)
{
    (void)state;
    sr_dataset *ds = parse_ok("1,10\n2,9\n3,-1\n4,+2\n5,2.0\n6,02\n7,9\n",
                              NULL);
    assert_names(ds, (const char *[]){"-1", "2", "9", "10"}, 4);
    assert_labels(ds, (const int32_t[]){3, 2, 0, 1, 1, 1, 2});
    sr_dataset_free(ds);

    /* MNIST-style digits keep their value as class. */
    ds = parse_ok("0.5,3\n0.5,0\n0.5,9\n0.5,1\n0.5,2\n0.5,4\n0.5,5\n0.5,6\n"
                  "0.5,7\n0.5,8\n",
                  NULL);
    assert_int_equal(ds->k, 10);
    assert_labels(ds, (const int32_t[]){3, 0, 9, 1, 2, 4, 5, 6, 7, 8});
    sr_dataset_free(ds);
}

static void label_column_by_name_and_index(void **state)
{
    (void)state;
    const char *text = "id,label,a\n1,cat,0.5\n2,dog,1.5\n";
    sr_tabular_options opt = sr_tabular_options_default();
    opt.label_col = "label";
    sr_dataset *ds = parse_ok(text, &opt);
    assert_int_equal(ds->n, 2);
    assert_row(ds, 0, (const float[]){1, 0.5f});
    assert_row(ds, 1, (const float[]){2, 1.5f});
    assert_names(ds, (const char *[]){"cat", "dog"}, 2);
    sr_dataset_free(ds);

    opt.label_col = "1";
    ds = parse_ok(text, &opt);
    assert_row(ds, 1, (const float[]){2, 1.5f});
    assert_names(ds, (const char *[]){"cat", "dog"}, 2);
    sr_dataset_free(ds);

    /* The first column, without a header. */
    opt.label_col = "0";
    ds = parse_ok("1,0.5,0.25\n0,1.5,0.75\n", &opt);
    assert_row(ds, 0, (const float[]){0.5f, 0.25f});
    assert_labels(ds, (const int32_t[]){1, 0});
    sr_dataset_free(ds);
}

static void other_delimiters(void **state)
{
    (void)state;
    /* Detected: semicolon, tab, runs of spaces. */
    sr_dataset *ds = parse_ok("a;b;label\n1.5;2;x\n3;4;y\n", NULL);
    assert_int_equal(ds->n, 2);
    assert_row(ds, 0, (const float[]){1.5f, 2});
    sr_dataset_free(ds);

    ds = parse_ok("a b\tc\tlabel\n1\t2\tx\n", NULL);
    assert_int_equal(ds->n, 2);
    assert_row(ds, 0, (const float[]){1, 2});
    sr_dataset_free(ds);

    ds = parse_ok("  1   2 x\n3 4    y  \n", NULL);
    assert_int_equal(ds->m, 2);
    assert_int_equal(ds->n, 2);
    assert_row(ds, 1, (const float[]){3, 4});
    assert_names(ds, (const char *[]){"x", "y"}, 2);
    sr_dataset_free(ds);

    /* Given: ';' although commas are more frequent on the first line. */
    sr_tabular_options opt = sr_tabular_options_default();
    opt.delimiter = ';';
    ds = parse_ok("1;a,b,c\n2;d,e\n", &opt);
    assert_int_equal(ds->n, 1);
    assert_names(ds, (const char *[]){"a,b,c", "d,e"}, 2);
    sr_dataset_free(ds);

    /* A tab delimiter keeps empty fields apart (and they are errors). */
    opt.delimiter = '\t';
    parse_fails("1\t\t2\tx\n", &opt, SR_ERR_FORMAT,
                "t.csv:1: column 2: \"\" is empty");
}

static void crlf_bom_blank_lines_and_spaces(void **state)
{
    (void)state;
    sr_dataset *ds = parse_ok("\xEF\xBB\xBF"
                              "a , b ,label\r\n"
                              "\r\n"
                              " 1 ,  2 , x \r\n"
                              "   \r\n"
                              "3,4,y\r\n"
                              "\r\n",
                              NULL);
    assert_int_equal(ds->m, 2);
    assert_row(ds, 0, (const float[]){1, 2});
    assert_row(ds, 1, (const float[]){3, 4});
    assert_names(ds, (const char *[]){"x", "y"}, 2);
    sr_dataset_free(ds);

    /* No newline at the end, and the label column named with the BOM gone. */
    sr_tabular_options opt = sr_tabular_options_default();
    opt.label_col = "a";
    ds = parse_ok("\xEF\xBB\xBF" "a,b\r\nu,1\r\nv,2", &opt);
    assert_int_equal(ds->m, 2);
    assert_names(ds, (const char *[]){"u", "v"}, 2);
    sr_dataset_free(ds);
}

static void quoted_fields(void **state)
{
    (void)state;
    sr_dataset *ds = parse_ok("\"x\",\"y, z\",\"label\"\n"
                              "\"1.5\", 2 ,\"say \"\"hi\"\", ok\"\n"
                              "3,4,  \"two\nlines\"  \n"
                              "5,6,\"\"\"\"\n",
                              NULL);
    assert_int_equal(ds->m, 3);
    assert_int_equal(ds->n, 2);
    assert_row(ds, 0, (const float[]){1.5f, 2});
    assert_row(ds, 2, (const float[]){5, 6});
    /* strcmp order: '"' < 's' < 't'. */
    assert_names(ds, (const char *[]){"\"", "say \"hi\", ok", "two\nlines"},
                 3);
    assert_labels(ds, (const int32_t[]){1, 2, 0});
    sr_dataset_free(ds);

    /* A quoted field keeps its inner spaces; the quoted newline still
     * counts as a line. */
    ds = parse_ok("a,label\n1,\" padded \"\n", NULL);
    assert_string_equal(ds->class_names[0], " padded ");
    sr_dataset_free(ds);
    parse_fails("a,label\n1,\"x\ny\"\n2,z\n2,w,extra\n", NULL, SR_ERR_FORMAT,
                "t.csv:5: 3 fields, but the header (line 1) has 2");
}

static void regression_targets(void **state)
{
    (void)state;
    sr_tabular_options opt = sr_tabular_options_default();
    opt.task = SR_TASK_REGRESSION;
    opt.label_col = "price";
    sr_dataset *ds = parse_ok("price,rooms,area\n"
                              "250000.5,3,80\n"
                              "-1e3,2,55.5\n",
                              &opt);
    assert_int_equal(ds->m, 2);
    assert_int_equal(ds->n, 2);
    assert_int_equal(ds->t, 1);
    assert_int_equal(ds->k, 0);
    assert_null(ds->y);
    assert_null(ds->class_names);
    assert_non_null(ds->targets);
    assert_true(ds->targets[0] == 250000.5f);
    assert_true(ds->targets[1] == -1000.0f);
    assert_row(ds, 1, (const float[]){2, 55.5f});
    sr_dataset_free(ds);

    parse_fails("price,rooms\n12,3\nfree,2\n", &opt, SR_ERR_FORMAT,
                "t.csv:3: column 1 (\"price\"): target \"free\" is not a "
                "number");
    parse_fails("price,rooms\n12,3\n,2\n", &opt, SR_ERR_FORMAT,
                "t.csv:3: column 1 (\"price\"): target \"\" is empty");
}

static void reference_classes(void **state)
{
    (void)state;
    static const char *const train[] = {"setosa", "versicolor", "virginica"};
    sr_tabular_options opt = sr_tabular_options_default();
    opt.classes = train;
    opt.k = 3;
    sr_dataset *ds = parse_ok("a,species\n1,virginica\n2,setosa\n3,virginica\n",
                              &opt);
    assert_names(ds, train, 3);
    assert_labels(ds, (const int32_t[]){2, 0, 2});
    sr_dataset_free(ds);

    parse_fails("a,species\n1,virginica\n\n2,daisy\n", &opt, SR_ERR_FORMAT,
                "t.csv:4: label \"daisy\" is not one of the 3 reference "
                "classes");

    /* Integer reference names match however the file writes them, and the
     * reference order is kept even when it is not sorted. */
    static const char *const ints[] = {"+1", "-1"};
    opt.classes = ints;
    opt.k = 2;
    ds = parse_ok("0.5,-1\n0.5,1.0\n0.5,01\n", &opt);
    assert_names(ds, (const char *[]){"1", "-1"}, 2);
    assert_labels(ds, (const int32_t[]){1, 0, 0});
    sr_dataset_free(ds);

    static const char *const dup[] = {"1", "+1"};
    opt.classes = dup;
    parse_fails("0.5,1\n", &opt, SR_ERR_INVALID_ARG,
                "reference classes 0 and 1 are the same class \"1\"");
}

/* ---- bad input ------------------------------------------------------------ */

static void bad_numbers(void **state)
{
    (void)state;
    const char *head = "sepal_length,sepal_width,petal_length,species\n"
                       "5.1,3.5,1.4,setosa\n";
    static const struct {
        const char *cell, *phrase;
    } cases[] = {
        {"abc", "t.csv:3: column 3 (\"petal_length\"): \"abc\" is not a number"},
        {"1.5x", "t.csv:3: column 3 (\"petal_length\"): \"1.5x\" is not a number"},
        {"1,2", "t.csv:3: 5 fields, but the header (line 1) has 4"},
        {"NaN", "t.csv:3: column 3 (\"petal_length\"): \"NaN\" is not finite"},
        {"nan", "\"nan\" is not finite"},
        {"inf", "t.csv:3: column 3 (\"petal_length\"): \"inf\" is not finite"},
        {"-inf", "\"-inf\" is not finite"},
        {"-Infinity", "\"-Infinity\" is not finite"},
        {"", "t.csv:3: column 3 (\"petal_length\"): \"\" is empty"},
        {"   ", "t.csv:3: column 3 (\"petal_length\"): \"\" is empty"},
        {"\"\"", "t.csv:3: column 3 (\"petal_length\"): \"\" is empty"},
        {"1e999", "\"1e999\" is out of range"},
        {"1e39", "\"1e39\" is out of float32 range"},
        {"1 2", "\"1 2\" is not a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "%s5.0,3.0,%s,versicolor\n", head,
                 cases[i].cell);
        parse_fails(text, NULL, SR_ERR_FORMAT, cases[i].phrase);
    }
    /* Underflow is near zero, not an error. */
    sr_dataset *ds = parse_ok("1e-60,a\n2,b\n", NULL);
    assert_true(ds->x_f32[0] == 0.0f);
    sr_dataset_free(ds);
    /* Without a header the column is a number only. */
    parse_fails("1,2,x\n1,zz,y\n", NULL, SR_ERR_FORMAT,
                "t.csv:2: column 2: \"zz\" is not a number");
}

static void line_numbers_count_header_and_blank_lines(void **state)
{
    (void)state;
    parse_fails("a,b\n\n1,x\n\n  \n\n2,y\n?,z\n", NULL, SR_ERR_FORMAT,
                "t.csv:8: column 1 (\"a\"): \"?\" is not a number");
    parse_fails("a,b\r\n1,x\r\n\r\n2,y\r\n3\r\n", NULL, SR_ERR_FORMAT,
                "t.csv:5: 1 fields, but the header (line 1) has 2");
}

static void ragged_rows(void **state)
{
    (void)state;
    parse_fails("a,b,c\n1,2,x\n1,2\n", NULL, SR_ERR_FORMAT,
                "t.csv:3: 2 fields, but the header (line 1) has 3");
    parse_fails("1,2,x\n1,2,y,z\n", NULL, SR_ERR_FORMAT,
                "t.csv:2: 4 fields, but the first row (line 1) has 3");
    /* A trailing delimiter is one more (empty) field. */
    parse_fails("\n\n1,2,x\n1,2,y,\n", NULL, SR_ERR_FORMAT,
                "t.csv:4: 4 fields, but the first row (line 3) has 3");
}

static void missing_label_column(void **state)
{
    (void)state;
    sr_tabular_options opt = sr_tabular_options_default();
    opt.label_col = "specie";
    parse_fails("sepal,petal,species\n1,2,x\n", &opt, SR_ERR_INVALID_ARG,
                "t.csv: no label column named \"specie\"; the columns are 0 "
                "\"sepal\", 1 \"petal\", 2 \"species\"");
    opt.label_col = "3";
    parse_fails("sepal,petal,species\n1,2,x\n", &opt, SR_ERR_INVALID_ARG,
                "t.csv: label column 3 is out of range: the file has 3 "
                "columns (0-based); the columns are 0 \"sepal\"");
    opt.label_col = "99999999999999999999999";
    parse_fails("1,2,x\n", &opt, SR_ERR_INVALID_ARG,
                "is out of range: the file has 3 columns (0-based); the file "
                "has no header, so give a 0-based index below 3");
    opt.label_col = "species";
    parse_fails("1,2,x\n", &opt, SR_ERR_INVALID_ARG,
                "no label column named \"species\"; the file has no header");
    opt.label_col = "-1";
    parse_fails("1,2,x\n", &opt, SR_ERR_INVALID_ARG,
                "no label column named \"-1\"");

    /* Many long names: the list is cut, the message stays whole. */
    char text[4096];
    size_t len = 0;
    for (int j = 0; j < 40; j++)
        len += (size_t)snprintf(text + len, sizeof text - len,
                                "%sa_rather_long_column_name_%d",
                                j ? "," : "", j);
    for (int j = 0; j < 40; j++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%s1",
                                j ? "," : "\n");
    snprintf(text + len, sizeof text - len, "\n");
    opt.label_col = "nope";
    parse_fails(text, &opt, SR_ERR_INVALID_ARG, ", ...");
}

static void bad_labels(void **state)
{
    (void)state;
    parse_fails("a,label\n1,x\n2,\n", NULL, SR_ERR_FORMAT,
                "t.csv:3: column 2 (\"label\"): the label is empty");
    parse_fails("a,label\n1,x\n2,\"\"\n", NULL, SR_ERR_FORMAT,
                "t.csv:3: column 2 (\"label\"): the label is empty");
}

static void bad_quotes_and_bytes(void **state)
{
    (void)state;
    parse_fails("a,label\n1,x\n2,\"open\n3,y\n", NULL, SR_ERR_FORMAT,
                "t.csv:3: field 2: the opening quote is never closed");
    parse_fails("a,label\n1,\"x\"y\n", NULL, SR_ERR_FORMAT,
                "t.csv:2: field 2: unexpected text after the closing quote");
    sr_dataset *ds = NULL;
    sr_error err = {SR_OK, ""};
    static const char nul[] = "a,label\n1,x\n2,y\0z\n";
    assert_int_equal(sr_csv_parse(nul, sizeof nul - 1, "t.csv", NULL, &ds,
                                  &err),
                     SR_ERR_FORMAT);
    assert_non_null(strstr(err.message, "t.csv:3: NUL byte"));
    assert_null(ds);
}

static void empty_input(void **state)
{
    (void)state;
    parse_fails("", NULL, SR_ERR_FORMAT, "t.csv: no data: the file is empty");
    parse_fails("\n \r\n\t\n", NULL, SR_ERR_FORMAT,
                "t.csv: no data: the file is empty");
    sr_dataset *ds = NULL;
    sr_error err = {SR_OK, ""};
    assert_int_equal(sr_csv_parse(NULL, 0, NULL, NULL, &ds, &err),
                     SR_ERR_FORMAT);
    assert_non_null(strstr(err.message, "(buffer): no data"));
    assert_int_equal(sr_csv_parse(NULL, 5, "t.csv", NULL, &ds, &err),
                     SR_ERR_INVALID_ARG);
    assert_int_equal(sr_csv_parse("1,a", 3, "t.csv", NULL, NULL, &err),
                     SR_ERR_INVALID_ARG);
}

static void features_expected(void **state)
{
    (void)state;
    sr_tabular_options opt = sr_tabular_options_default();
    opt.features = 2;
    sr_dataset *ds = parse_ok("1,2,a\n", &opt);
    assert_int_equal(ds->n, 2);
    sr_dataset_free(ds);
    opt.features = 3;
    parse_fails("1,2,a\n", &opt, SR_ERR_MISMATCH,
                "t.csv: 2 feature columns, but 3 features are expected");
}

static void bad_options(void **state)
{
    (void)state;
    sr_tabular_options opt = sr_tabular_options_default();
    opt.delimiter = '|';
    parse_fails("1,a\n", &opt, SR_ERR_INVALID_ARG, "delimiter 0x7c");
    opt = sr_tabular_options_default();
    opt.header = (sr_csv_header)7;
    parse_fails("1,a\n", &opt, SR_ERR_INVALID_ARG, "header 7");
    opt = sr_tabular_options_default();
    opt.task = (sr_task)3;
    parse_fails("1,a\n", &opt, SR_ERR_INVALID_ARG, "task 3");
    opt = sr_tabular_options_default();
    opt.k = 2;
    parse_fails("1,a\n", &opt, SR_ERR_INVALID_ARG, "class list is NULL");
    static const char *const names[] = {"a", NULL};
    opt.classes = names;
    parse_fails("1,a\n", &opt, SR_ERR_INVALID_ARG, "reference class 1 is NULL");
    opt.k = 1;
    opt.task = SR_TASK_REGRESSION;
    parse_fails("1,2\n", &opt, SR_ERR_INVALID_ARG,
                "apply to classification only");
}

/* ---- through files -------------------------------------------------------- */

static void load_from_file_and_gzip(void **state)
{
    (void)state;
    static const char text[] = "x1,x2,y\n0.5,1,b\n-2,3.25,a\n";
    char path[256];
    test_write_tmp(path, ".csv", text, sizeof text - 1);
    sr_dataset *ds = NULL;
    sr_error err = {SR_OK, ""};
    assert_int_equal(sr_dataset_load_csv(path, NULL, &ds, &err), SR_OK);
    assert_int_equal(ds->m, 2);
    assert_row(ds, 1, (const float[]){-2, 3.25f});
    assert_names(ds, (const char *[]){"a", "b"}, 2);
    assert_labels(ds, (const int32_t[]){1, 0});
    sr_dataset_free(ds);
    unlink(path);

    /* gzip, with an error whose message names the path. */
    static const char bad[] = "x1,y\n1,a\n\n?,b\n";
    char gz[256];
    test_write_tmp(gz, ".csv.gz", "", 0);
    gzFile f = gzopen(gz, "wb");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, bad, sizeof bad - 1), (int)(sizeof bad - 1));
    assert_int_equal(gzclose(f), Z_OK);
    ds = NULL;
    assert_int_equal(sr_dataset_load_csv(gz, NULL, &ds, &err), SR_ERR_FORMAT);
    assert_null(ds);
    char want[300];
    snprintf(want, sizeof want, "%s:4: column 1 (\"x1\"): \"?\" is not a number",
             gz);
    assert_string_equal(err.message, want);
    unlink(gz);

    assert_int_equal(sr_dataset_load_csv("/nonexistent/x.csv", NULL, &ds, &err),
                     SR_ERR_IO);
    assert_non_null(strstr(err.message, "/nonexistent/x.csv: cannot open"));
    assert_null(ds);
}

/* A larger file, to grow every array several times. */
static void many_rows_and_labels(void **state)
{
    (void)state;
    size_t m = 5000, cap = m * 40 + 64, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text + len, cap - len, "a,b,c,label\n");
    for (size_t i = 0; i < m; i++)
        len += (size_t)snprintf(text + len, cap - len, "%zu,%zu.5,-%zu,L%zu\n",
                                i, i % 7, i % 3, (i * 7919) % 1000);
    sr_dataset *ds = parse_ok(text, NULL);
    free(text);
    assert_int_equal(ds->m, m);
    assert_int_equal(ds->n, 3);
    assert_int_equal(ds->k, 1000);
    for (size_t c = 1; c < ds->k; c++)
        assert_true(strcmp(ds->class_names[c - 1], ds->class_names[c]) < 0);
    for (size_t i = 0; i < m; i += 997) {
        char want[32];
        snprintf(want, sizeof want, "L%zu", (i * 7919) % 1000);
        assert_string_equal(ds->class_names[ds->y[i]], want);
        assert_true(ds->x_f32[i * 3] == (float)i);
    }
    sr_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_auto_detected),
        cmocka_unit_test(no_header_auto_detected),
        cmocka_unit_test(header_empty_name_is_header),
        cmocka_unit_test(header_forced),
        cmocka_unit_test(single_line),
        cmocka_unit_test(string_labels_strcmp_order),
        cmocka_unit_test(integer_labels_numeric_order),
        cmocka_unit_test(label_column_by_name_and_index),
        cmocka_unit_test(other_delimiters),
        cmocka_unit_test(crlf_bom_blank_lines_and_spaces),
        cmocka_unit_test(quoted_fields),
        cmocka_unit_test(regression_targets),
        cmocka_unit_test(reference_classes),
        cmocka_unit_test(bad_numbers),
        cmocka_unit_test(line_numbers_count_header_and_blank_lines),
        cmocka_unit_test(ragged_rows),
        cmocka_unit_test(missing_label_column),
        cmocka_unit_test(bad_labels),
        cmocka_unit_test(bad_quotes_and_bytes),
        cmocka_unit_test(empty_input),
        cmocka_unit_test(features_expected),
        cmocka_unit_test(bad_options),
        cmocka_unit_test(load_from_file_and_gzip),
        cmocka_unit_test(many_rows_and_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
