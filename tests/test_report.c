/* End-to-end tests of the report page (softreg train --report, softreg
 * report, --svg-dir) through the built command: the page is well-formed and
 * self-contained (tests/report_check.py), its weight pictures are the
 * model's weights pixel for pixel, its confusion matrix is softreg eval's,
 * and headless Chromium shows the MNIST, tabular, regression and network
 * pages without a console message and with a screenshot of many colours
 * (kept in build/report-shots/). */
#include <zlib.h>

#include "testutil.h"
#include "cmdutil.h"

static char t10k[300], t10k_labels[300], python[64];

/* ---- PNG: the screenshots (filters 0-4, RGB or RGBA) and our pictures -- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Decodes an 8-bit RGB or RGBA PNG into *rgb (w h 3 bytes, malloc'd). */
static void png_decode(const uint8_t *png, size_t len, uint8_t **rgb,
                       size_t *w, size_t *h)
{
    static const uint8_t magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    assert_true(len > 8 && !memcmp(png, magic, 8));
    size_t at = 8, zlen = 0, bpp = 0;
    uint8_t *z = malloc(len);
    assert_non_null(z);
    while (at + 12 <= len) {
        size_t n = be32(png + at);
        const uint8_t *type = png + at + 4, *data = png + at + 8;
        assert_true(at + 12 + n <= len);
        assert_int_equal(be32(data + n), crc32(0, type, (uInt)(n + 4)));
        if (!memcmp(type, "IHDR", 4)) {
            *w = be32(data);
            *h = be32(data + 4);
            assert_int_equal(data[8], 8);
            assert_true(data[9] == 2 || data[9] == 6);
            assert_int_equal(data[12], 0);
            bpp = data[9] == 2 ? 3 : 4;
        } else if (!memcmp(type, "IDAT", 4)) {
            memcpy(z + zlen, data, n);
            zlen += n;
        }
        at += 12 + n;
    }
    assert_true(bpp > 0);
    size_t stride = *w * bpp + 1;
    uLongf rawlen = (uLongf)(stride * *h);
    uint8_t *raw = malloc(rawlen);
    assert_non_null(raw);
    assert_int_equal(uncompress(raw, &rawlen, z, (uLong)zlen), Z_OK);
    assert_int_equal(rawlen, stride * *h);
    *rgb = malloc(*w * *h * 3);
    assert_non_null(*rgb);
    for (size_t r = 0; r < *h; r++) {
        uint8_t *line = raw + r * stride + 1, *up = r ? line - stride : NULL;
        int filter = line[-1];
        assert_true(filter <= 4);
        for (size_t i = 0; i < *w * bpp; i++) {
            int a = i >= bpp ? line[i - bpp] : 0, b = up ? up[i] : 0;
            int c = up && i >= bpp ? up[i - bpp] : 0;
            int add = filter == 1 ? a : filter == 2 ? b
                    : filter == 3 ? (a + b) / 2 : filter == 4 ? paeth(a, b, c) : 0;
            line[i] = (uint8_t)(line[i] + add);
        }
        for (size_t x = 0; x < *w; x++)
            memcpy(*rgb + 3 * (r * *w + x), line + x * bpp, 3);
    }
    free(raw);
    free(z);
}

static size_t base64_decode(const char *s, uint8_t *bytes)
{
    size_t n = 0, bits = 0;
    uint32_t acc = 0;
    for (; *s && *s != '"' && *s != '='; s++) {
        const char *d = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                               "0123456789+/", *s);
        assert_non_null(d);
        acc = acc << 6 | (uint32_t)(d - "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            bytes[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n;
}

/* The picture of the data: URI at `src` (just after src="). */
static void picture_at(const char *src, uint8_t **rgb, size_t *w, size_t *h)
{
    static const char prefix[] = "data:image/png;base64,";
    assert_int_equal(strncmp(src, prefix, sizeof prefix - 1), 0);
    src += sizeof prefix - 1;
    uint8_t *png = malloc(strcspn(src, "\""));
    assert_non_null(png);
    size_t len = base64_decode(src, png);
    png_decode(png, len, rgb, w, h);
    free(png);
}

/* ---- Fixtures ----------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/softreg-report-%ld", (long)getpid());
    if (mkdir(dir, 0777) != 0)
        return -1;
    snprintf(t10k, sizeof t10k, "%s/t10k-images-idx3-ubyte", test_mnist_dir());
    snprintf(t10k_labels, sizeof t10k_labels, "%s/t10k-labels-idx1-ubyte",
             test_mnist_dir());
    snprintf(python, sizeof python, "%s",
             access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* tests/report_check.py on the files: well-formed, self-contained. */
static void check_self_contained(const char *files)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s tests/report_check.py %s 2>&1", python, files);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char msg[2048] = "";
    size_t got = fread(msg, 1, sizeof msg - 1, p);
    msg[got] = '\0';
    int st = pclose(p);
    if (st != 0) {
        print_error("report_check.py: %s\n", msg);
        fail();
    }
}

/* The confusion matrix of the page (its cells' data attributes) equals
 * `softreg eval --json MODEL DATA`'s. */
static void check_confusion(const char *page, size_t k, const char *eval_args)
{
    size_t *want = calloc(k * k, sizeof *want), *got = calloc(k * k, sizeof *got);
    assert_non_null(want);
    assert_non_null(got);
    expect_run(0, "eval --json %s", eval_args);
    const char *p = strstr(out, "\"confusion\": [");
    assert_non_null(p);
    p += strlen("\"confusion\": [");
    for (size_t i = 0; i < k * k; i++) {
        p += strcspn(p, "0123456789");
        char *end;
        want[i] = strtoul(p, &end, 10);
        p = end;
    }
    size_t cells = 0;
    for (const char *c = page; (c = strstr(c, "<g class=\"cell\"")); c++) {
        size_t r, col, n;
        assert_int_equal(sscanf(c, "<g class=\"cell\" data-row=\"%zu\" data-col="
                                   "\"%zu\" data-count=\"%zu\"", &r, &col, &n), 3);
        assert_true(r < k && col < k);
        got[r * k + col] = n;
        cells++;
    }
    assert_int_equal(cells, k * k);
    for (size_t i = 0; i < k * k; i++)
        if (got[i] != want[i]) {
            print_error("confusion[%zu][%zu]: page %zu, eval %zu\n", i / k,
                        i % k, got[i], want[i]);
            fail();
        }
    free(want);
    free(got);
}

/* The report's diverging colours, from their definition: white at 0, to
 * (255, 40, 40) at +1 and to (33, 102, 172) at -1, linear in |t|. */
static void expected_colour(double t, int rgb[3])
{
    t = t < -1 ? -1 : t > 1 ? 1 : t;
    double a = fabs(t);
    static const double pos[3] = {255, 40, 40}, neg[3] = {33, 102, 172};
    for (int c = 0; c < 3; c++)
        rgb[c] = (int)lrint(255 * (1 - a) + (t > 0 ? pos[c] : neg[c]) * a);
}

/* Every <img class="weight"> of the page: column `index` (data-class or
 * data-unit) of the model's first weight block as a (28, 28) picture at
 * the page's scale, each pixel within 1 of the colour map. Returns how
 * many there were, their indices in order[]. */
static size_t check_weight_pictures(const char *page, const sr_model *model,
                                    size_t *order, size_t max)
{
    const char *name;
    size_t rows, cols, count = 0;
    const float *W = sr_model_param(model, 0, &name, &rows, &cols);
    assert_non_null(W);
    for (const char *c = page; (c = strstr(c, "<img class=\"weight\" ")); c++) {
        size_t j, w, h;
        double scale;
        char what[8];
        assert_int_equal(sscanf(c, "<img class=\"weight\" data-%5[a-z]=\"%zu\" "
                                   "data-scale=\"%lf\"", what, &j, &scale), 3);
        assert_true(j < cols && scale > 0 && count < max);
        order[count++] = j;
        const char *src = strstr(c, "src=\"");
        assert_non_null(src);
        uint8_t *rgb;
        picture_at(src + 5, &rgb, &w, &h);
        assert_int_equal(w * h, 784);
        for (size_t i = 0; i < 784; i++) {
            int e[3];
            expected_colour((double)W[i * cols + j] / scale, e);
            for (int ch = 0; ch < 3; ch++)
                if (abs(e[ch] - rgb[3 * i + ch]) > 1) {
                    print_error("picture %zu pixel %zu: %d, expected %d (w = %g)\n",
                                j, i, rgb[3 * i + ch], e[ch], (double)W[i * cols + j]);
                    fail();
                }
        }
        free(rgb);
    }
    return count;
}

static sr_model *load_model(const char *path)
{
    sr_model *model = NULL;
    sr_error err;
    if (sr_model_load(path, &model, &err)) {
        print_error("%s\n", err.message);
        fail();
    }
    return model;
}

/* The page of an MNIST model: `pictures` weight pictures (their columns in
 * order[]) equal to the model's weights, and the confusion matrix of
 * t10k equal to eval's. */
static void check_mnist_page(const char *html, const char *model,
                             size_t pictures, size_t *order, size_t max)
{
    sr_model *m = load_model(model);
    assert_int_equal(check_weight_pictures(html, m, order, max), pictures);
    char args[1000];
    snprintf(args, sizeof args, "%s %s --labels %s", model, t10k, t10k_labels);
    check_confusion(html, 10, args);
    sr_model_free(m);
}

/* ---- Tests -------------------------------------------------------------- */

/* softreg train --report on MNIST: one weight picture per class equal to
 * theta's columns, a confusion matrix equal to eval's, < 2 MB, and the same
 * figures in --svg-dir. */
static void test_mnist_page(void **state)
{
    (void)state;
    char page[300], model[300], svg[300], files[1600];
    path_in_dir(page, sizeof page, "mnist.html");
    path_in_dir(model, sizeof model, "mnist.srm");
    path_in_dir(svg, sizeof svg, "svg");
    expect_run(0, "train --epochs 3 --quiet -o %s --report %s --svg-dir %s",
               model, page, svg);
    size_t len;
    char *html = read_all(page, &len);
    assert_true(len < 2000000);
    assert_non_null(strstr(html, "id=\"fig-loss\""));
    assert_non_null(strstr(html, "id=\"fig-error-log\""));
    assert_non_null(strstr(html, "id=\"means\""));
    snprintf(files, sizeof files, "%s %s/loss.svg %s/weights.svg "
             "%s/confusion.svg %s/wrong.svg", page, svg, svg, svg, svg);
    check_self_contained(files);
    size_t order[64];
    check_mnist_page(html, model, 10, order, 64);
    for (size_t c = 0; c < 10; c++)
        assert_int_equal(order[c], c);
    /* 24 confidently wrong examples, most confident first */
    size_t wrong = 0;
    for (const char *c = html; (c = strstr(c, "<img class=\"wrong\"")); c++)
        wrong++;
    assert_int_equal(wrong, 24);
    free(html);
}

/* The learning curves hold the table's numbers (each point's hover title
 * against the printed row), the validation set's among them, and the
 * early-stopping epoch is marked. */
static void test_curves_early_stopping(void **state)
{
    (void)state;
    char page[300];
    path_in_dir(page, sizeof page, "stopped.html");
    expect_run(0, "train --limit 3000 --epochs 15 --val-split 0.3 "
                  "--early-stop 2 --lr 3 --report %s", page);
    assert_contains(errs, "early stopping");
    char *html = read_all(page, NULL);
    check_self_contained(page);
    assert_contains(html, "<line class=\"mark\"");
    assert_contains(html, "data-name=\"validation\"");
    size_t epochs = 0;
    for (const char *row = strstr(out, "\n|"); row; row = strstr(row + 1, "\n|")) {
        size_t epoch;
        double train_loss, train_err, val_loss;
        if (sscanf(row, "\n| %zu | %lf | %lf | %lf |", &epoch, &train_loss,
                   &train_err, &val_loss) != 4)
            continue;
        assert_int_equal(epoch, epochs);
        char key[64];
        /* the first chart is the loss's */
        snprintf(key, sizeof key, "train, epoch %zu: ", epoch);
        const char *t = strstr(html, key);
        assert_non_null(t);
        assert_close(strtod(t + strlen(key), NULL), train_loss, 1e-5);
        snprintf(key, sizeof key, "validation, epoch %zu: ", epoch);
        assert_non_null(t = strstr(html, key));
        assert_close(strtod(t + strlen(key), NULL), val_loss, 1e-5);
        epochs++;
    }
    assert_true(epochs >= 3 && epochs < 15);
    free(html);
}

/* softreg report MODEL DATA: the same pictures from a saved model; by
 * default beside the model, MODEL.html. */
static void test_report_command(void **state)
{
    (void)state;
    char model[300], page[300];
    path_in_dir(model, sizeof model, "small.srm");
    path_in_dir(page, sizeof page, "small.html");
    expect_run(0, "train --epochs 1 --limit 3000 --quiet -o %s", model);
    expect_run(0, "report %s %s --labels %s", model, t10k, t10k_labels);
    char *html = read_all(page, NULL);
    check_self_contained(page);
    assert_non_null(strstr(html, "No epoch table"));
    size_t order[64];
    check_mnist_page(html, model, 10, order, 64);
    free(html);
}

/* The network: the 64 first-layer filters of largest norm, largest first,
 * and the second layer. */
static void test_network_page(void **state)
{
    (void)state;
    char model[300], page[300];
    path_in_dir(model, sizeof model, "nn.srm");
    path_in_dir(page, sizeof page, "nn.html");
    expect_run(0, "train --model nn --hidden 80 --epochs 2 --limit 5000 "
                  "--quiet -o %s --report %s", model, page);
    char *html = read_all(page, NULL);
    check_self_contained(page);
    size_t order[80];
    check_mnist_page(html, model, 64, order, 80);
    sr_model *m = load_model(model);
    const char *name;
    size_t rows, cols;
    const float *W1 = sr_model_param(m, 0, &name, &rows, &cols);
    double norm[80];
    for (size_t j = 0; j < cols; j++) {
        norm[j] = 0;
        for (size_t i = 0; i < rows; i++)
            norm[j] += (double)W1[i * cols + j] * W1[i * cols + j];
    }
    for (size_t a = 1; a < 64; a++)
        assert_true(norm[order[a]] <= norm[order[a - 1]]);
    for (size_t j = 0, shown; j < cols; j++) { /* none left out is larger */
        shown = 0;
        for (size_t a = 0; a < 64; a++)
            shown |= order[a] == j;
        if (!shown)
            assert_true(norm[j] <= norm[order[63]]);
    }
    assert_non_null(strstr(html, "<img class=\"layer2\""));
    sr_model_free(m);
    free(html);
}

/* A small CSV classifier (three named classes) and a one-feature
 * regression, written here. */
static void write_tabular(char *train, char *test, char *reg)
{
    path_in_dir(train, 300, "flowers.csv");
    path_in_dir(test, 300, "flowers-test.csv");
    path_in_dir(reg, 300, "sine.csv");
    FILE *f[2] = {fopen(train, "w"), fopen(test, "w")};
    static const char *const names[3] = {"iris", "rose", "tulip"};
    for (int s = 0; s < 2; s++) {
        assert_non_null(f[s]);
        fprintf(f[s], "length,width,height,colour,label\n");
        for (int i = 0; i < 90; i++) {
            int c = i % 3;
            /* overlapping classes: some rows are confidently wrong */
            double u = sin(i * 1.7 + s), v = cos(i * 2.3 + 3 * s);
            fprintf(f[s], "%.4f,%.4f,%.4f,%.4f,%s\n", c + 1.2 * u, c - 0.9 * v,
                    u * v, 2.0 * c + u, names[c]);
        }
        assert_int_equal(fclose(f[s]), 0);
    }
    FILE *r = fopen(reg, "w");
    assert_non_null(r);
    fprintf(r, "x,t\n");
    for (int i = 0; i < 40; i++) {
        double x = i / 39.0;
        fprintf(r, "%.5f,%.5f\n", x, sin(6.283185307179586 * x) + 0.2 * sin(i * 12.9898));
    }
    assert_int_equal(fclose(r), 0);
}

static void test_tabular_page(void **state)
{
    (void)state;
    char train[300], test[300], reg[300], page[300], model[300];
    write_tabular(train, test, reg);
    path_in_dir(page, sizeof page, "flowers.html");
    path_in_dir(model, sizeof model, "flowers.srm");
    expect_run(0, "train %s --test %s --quiet -o %s --report %s", train, test,
               model, page);
    char *html = read_all(page, NULL);
    check_self_contained(page);
    /* no pictures of weights for tabular data, a table of wrong rows */
    assert_null(strstr(html, "class=\"weight\""));
    assert_non_null(strstr(html, "<table id=\"wrong\">"));
    assert_non_null(strstr(html, "<th>length</th>"));
    assert_non_null(strstr(html, ">tulip<"));
    char args[700];
    snprintf(args, sizeof args, "%s %s", model, test);
    check_confusion(html, 3, args);
    free(html);
}

static void test_regression_page(void **state)
{
    (void)state;
    char train[300], test[300], reg[300], page[300], svg[300], files[1600];
    write_tabular(train, test, reg);
    path_in_dir(page, sizeof page, "sine.html");
    path_in_dir(svg, sizeof svg, "sine-svg");
    expect_run(0, "train %s --model linear --poly 3 --quiet --report %s "
                  "--svg-dir %s", reg, page, svg);
    char *html = read_all(page, NULL);
    snprintf(files, sizeof files, "%s %s/fit.svg %s/residuals.svg "
             "%s/predicted.svg", page, svg, svg, svg);
    check_self_contained(files);
    assert_non_null(strstr(html, "id=\"fig-predicted\""));
    assert_non_null(strstr(html, "id=\"fig-residuals\""));
    assert_non_null(strstr(html, "<polyline class=\"fit\""));
    assert_null(strstr(html, "Confusion"));
    free(html);
}

/* Bad input: a clear message naming the option or file, a non-zero exit
 * and no page, not even a partial one. */
static void test_bad_input(void **state)
{
    (void)state;
    char page[300], blocker[300], model[300];
    path_in_dir(page, sizeof page, "never.html");
    path_in_dir(blocker, sizeof blocker, "a-file");
    write_text(blocker, "x");
    /* a directory where the page should go */
    expect_run(1, "train --epochs 1 --limit 100 --quiet --report %s", dir);
    assert_contains(errs, "--report");
    assert_contains(errs, "directory");
    /* a page under a regular file */
    expect_run(1, "train --epochs 1 --limit 100 --quiet --report %s/p.html",
               blocker);
    assert_contains(errs, "--report");
    expect_run(1, "train --epochs 1 --limit 100 --quiet --svg-dir %s", blocker);
    assert_contains(errs, "--svg-dir");
    /* a model that is not one; data that do not fit the model */
    expect_run(1, "report %s %s --labels %s --out %s", blocker, t10k,
               t10k_labels, page);
    assert_contains(errs, blocker);
    char train[300], test[300], reg[300];
    write_tabular(train, test, reg);
    path_in_dir(model, sizeof model, "flowers-bad.srm");
    expect_run(0, "train %s --quiet -o %s", train, model);
    expect_run(1, "report %s %s --labels %s --out %s", model, t10k,
               t10k_labels, page);
    assert_contains(errs, "features");
    expect_run(2, "report %s", model);
    expect_run(2, "train --epochs 1 --cv 3 --report %s %s", page, train);
    struct stat st;
    assert_int_equal(stat(page, &st), -1);
    /* no temporary file left behind either */
    expect_run(0, "report --help");
    assert_contains(out, "--svg-dir");
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char n[16] = "";
    assert_non_null(fgets(n, sizeof n, p));
    pclose(p);
    assert_int_equal(atoi(n), 0);
}

/* ---- The progress bar ----------------------------------------------------- */

/* The output of `sh -c cmd` under a pseudo-terminal (script(1)), in out[]. */
static void run_in_terminal(const char *cmd)
{
    char line[4096];
    snprintf(line, sizeof line, "script -qec '%s' /dev/null", cmd);
    FILE *p = popen(line, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = '\0';
    assert_int_equal(pclose(p), 0);
}

/* Under a terminal the bar shows within the epochs (SOFTREG_PROGRESS_AFTER=0
 * shows it at once) and each row replaces it; never in a pipe, nor with
 * --quiet or --json. */
static void test_progress_bar(void **state)
{
    (void)state;
    if (system("command -v script >/dev/null 2>&1") != 0) {
        print_error("script(1) is missing (apt-get install bsdutils)\n");
        fail();
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "SOFTREG_PROGRESS_AFTER=0 %s train --epochs 2 "
             "--limit 5000", test_softreg_bin());
    run_in_terminal(cmd);
    assert_contains(out, "epoch 0 [");
    assert_contains(out, "/5000 examples");
    assert_contains(out, "examples/s");
    /* the bar's line is cleared before the row */
    assert_contains(out, "\r\033[K| ");
    assert_contains(out, "|     1 |");
    snprintf(cmd, sizeof cmd, "SOFTREG_PROGRESS_AFTER=0 %s train --epochs 2 "
             "--limit 5000 --quiet", test_softreg_bin());
    run_in_terminal(cmd);
    assert_null(strstr(out, "examples/s"));
    snprintf(cmd, sizeof cmd, "SOFTREG_PROGRESS_AFTER=0 %s train --epochs 2 "
             "--limit 5000 --json", test_softreg_bin());
    run_in_terminal(cmd);
    assert_null(strstr(out, "examples/s"));
    /* a CSV file over a megabyte shows its parse */
    char csv[300];
    path_in_dir(csv, sizeof csv, "big.csv");
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fputs("a,b,c,label\n", f);
    for (int i = 0; i < 60000; i++)
        fprintf(f, "%d.25,%d.5,%d,%c\n", i % 97, i % 13, i % 7, "xyz"[i % 3]);
    assert_int_equal(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "SOFTREG_PROGRESS_AFTER=0 %s train %s "
             "--epochs 1", test_softreg_bin(), csv);
    run_in_terminal(cmd);
    assert_contains(out, "loading [");
    assert_contains(out, " MB");
    /* a pipe: stderr is not a terminal */
    setenv("SOFTREG_PROGRESS_AFTER", "0", 1);
    expect_run(0, "train --epochs 2 --limit 5000");
    assert_null(strstr(errs, "examples/s"));
    expect_run(0, "train %s --epochs 1", csv);
    unsetenv("SOFTREG_PROGRESS_AFTER");
    assert_null(strstr(errs, "loading ["));
    assert_contains(errs, "training set");
}

/* ---- Headless Chromium ---------------------------------------------------- */

/* Opens the page, requires no console message, and keeps a screenshot in
 * build/report-shots/<name>.png that has many colours and ink. */
static void browser_check(const char *page, const char *name)
{
    char shot[300], log[300], cmd[2000];
    snprintf(shot, sizeof shot, "%s/report-shots/%s.png",
             getenv("BUILD") && *getenv("BUILD") ? getenv("BUILD") : "build", name);
    path_in_dir(log, sizeof log, "chromium.log");
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname %s)\" && rm -f %s && "
             "timeout 120 chromium --headless --no-sandbox --disable-gpu "
             "--enable-logging=stderr --v=0 --hide-scrollbars "
             "--screenshot=%s --window-size=1200,3000 file://%s >%s 2>&1",
             shot, shot, shot, page, log);
    int st = system(cmd);
    char *text = read_all(log, NULL);
    if (st != 0) {
        print_error("chromium failed on %s:\n%.3000s\n", page, text);
        fail();
    }
    if (strstr(text, ":CONSOLE")) {
        print_error("console message on %s:\n%.3000s\n", page, text);
        fail();
    }
    free(text);
    size_t len, w, h;
    uint8_t *png = (uint8_t *)read_all(shot, &len), *rgb;
    png_decode(png, len, &rgb, &w, &h);
    assert_int_equal(w, 1200);
    /* distinct colours (of 4096 bins) and pixels that are not white */
    static unsigned char seen[4096];
    memset(seen, 0, sizeof seen);
    size_t colours = 0, ink = 0;
    for (size_t i = 0; i < w * h; i++) {
        const uint8_t *c = rgb + 3 * i;
        unsigned bin = (unsigned)(c[0] >> 4) << 8 | (unsigned)(c[1] >> 4) << 4 | (c[2] >> 4);
        colours += !seen[bin];
        seen[bin] = 1;
        ink += c[0] < 200 || c[1] < 200 || c[2] < 200;
    }
    print_message("%s: %zu x %zu, %zu bytes, %zu colours, %.1f%% ink\n", shot,
                  w, h, len, colours, 100.0 * (double)ink / (double)(w * h));
    assert_true(colours >= 20);
    assert_true(ink > w * h / 200);
    free(rgb);
    free(png);
}

static void test_browser(void **state)
{
    (void)state;
    if (system("command -v chromium >/dev/null 2>&1") != 0) {
        print_error("chromium is not installed: the report pages cannot be "
                    "opened in a browser (apt-get install chromium; CI "
                    "installs it)\n");
        fail();
    }
    static const char *const pages[][2] = {
        {"mnist.html", "mnist"}, {"flowers.html", "tabular"},
        {"sine.html", "regression"}, {"nn.html", "network"}};
    for (size_t i = 0; i < 4; i++) {
        char page[300];
        path_in_dir(page, sizeof page, pages[i][0]);
        struct stat st;
        if (stat(page, &st) != 0) {
            print_error("%s is missing: its test failed before\n", page);
            fail();
        }
        browser_check(page, pages[i][1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mnist_page),
        cmocka_unit_test(test_curves_early_stopping),
        cmocka_unit_test(test_report_command),
        cmocka_unit_test(test_network_page),
        cmocka_unit_test(test_tabular_page),
        cmocka_unit_test(test_regression_page),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_progress_bar),
        cmocka_unit_test(test_browser),
    };
    return cmocka_run_group_tests_name("report", tests, setup, teardown) ? 1 : 0;
}
