/* The report page: one self-contained XHTML file (inline SVG and CSS,
 * pictures as PNG data: URIs, no script, nothing fetched) and, with
 * --svg-dir, every figure as an SVG file of its own. The page is
 * well-formed XML, so strict parsers read it and tests check it. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "png.h"
#include "report.h"
#include "svg.h"
#include "tools.h"

int report_history_add(report_history *h, const sr_epoch_stats *s)
{
    if (h->count == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        sr_epoch_stats *rows = realloc(h->rows, cap * sizeof *rows);
        if (!rows)
            return 0;
        h->rows = rows;
        h->cap = cap;
    }
    h->rows[h->count++] = *s;
    return 1;
}

void report_history_free(report_history *h)
{
    free(h->rows);
    h->rows = NULL;
    h->count = h->cap = 0;
}

int report_check_outputs(const char *html_path, const char *svg_dir)
{
    if (html_path && !tool_check_output("--report", html_path))
        return 0;
    if (svg_dir) {
        char probe[4200];
        snprintf(probe, sizeof probe, "%s/figure.svg", svg_dir);
        if (!tool_check_output("--svg-dir", probe))
            return 0;
    }
    return 1;
}

/* Where the figures go: the page (inline) and, with --svg-dir, a file per
 * figure. */
typedef struct page {
    FILE *f;             /* the page, or NULL without one */
    const char *svg_dir; /* or NULL */
    int ok;              /* 0 once an SVG file failed (message printed) */
    tool_out svg;        /* the SVG file being written */
} page;

/* Pass 0 draws into the page, pass 1 into "<svg_dir>/<name>.svg"; each
 * call first finishes the previous pass (pass 1: the page's </figure>,
 * pass 2: the SVG file committed) and returns the next pass, or 0 when
 * there is none. Used through FIGURE. */
static int figure_pass(page *pg, const char *name, int pass, FILE **f,
                       int *standalone)
{
    if (pass == 1 && pg->f)
        fputs("</figure>\n", pg->f);
    if (pass == 2 && !tool_out_commit(&pg->svg))
        pg->ok = 0;
    if (pass == 0 && pg->f) {
        fprintf(pg->f, "<figure id=\"fig-%s\">\n", name);
        *f = pg->f;
        *standalone = 0;
        return 1;
    }
    if (pass <= 1 && pg->svg_dir && pg->ok) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s.svg", pg->svg_dir, name);
        if (!tool_out_open(&pg->svg, path)) {
            pg->ok = 0;
            return 0;
        }
        *f = pg->svg.f;
        *standalone = 1;
        return 2;
    }
    return 0;
}

/* Runs the statement once with f = the page (inline) and once with f = the
 * figure's own SVG file (standalone), as far as each exists. */
#define FIGURE(pg, name, stmt)                                                \
    do {                                                                      \
        FILE *f;                                                              \
        int standalone, pass = 0, got;                                        \
        while ((got = figure_pass((pg), (name), pass, &f, &standalone))) {    \
            stmt;                                                             \
            pass = got;                                                       \
        }                                                                     \
    } while (0)

static const char style[] =
    "body{font-family:sans-serif;margin:24px auto;max-width:1160px;color:#222}"
    "h1{font-size:22px}h2{font-size:17px;border-bottom:1px solid #ccc;"
    "padding-bottom:4px;margin-top:28px}"
    "table{border-collapse:collapse;font-size:13px}"
    "td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}"
    "th{background:#f4f4f4}td.l,th.l{text-align:left}"
    ".figs{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}"
    "figure{margin:0}"
    ".pics{display:flex;flex-wrap:wrap;gap:6px}"
    ".pic{text-align:center;font-size:11px}"
    ".pic img{display:block;image-rendering:pixelated;border:1px solid #ccc}"
    "p.note{color:#555;font-size:13px;max-width:900px}"
    "@media print{body{margin:0}figure,.pic,table{break-inside:avoid}}";

static void esc(FILE *f, const char *s) { svg_escape(f, s); }

static void row_text(FILE *f, const char *key, const char *value)
{
    fputs("<tr><th class=\"l\">", f);
    esc(f, key);
    fputs("</th><td class=\"l\">", f);
    esc(f, value);
    fputs("</td></tr>\n", f);
}

static void row_fmt(FILE *f, const char *key, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    row_text(f, key, buf);
}

static void describe_data(FILE *f, const char *key, const char *name,
                          const sr_dataset *ds)
{
    size_t t = sr_dataset_targets(ds), r, c;
    char shape[64] = "";
    if (sr_dataset_image_shape(ds, &r, &c))
        snprintf(shape, sizeof shape, " (%zu x %zu images)", r, c);
    char what[64];
    if (t)
        snprintf(what, sizeof what, "%zu target%s", t, t == 1 ? "" : "s");
    else
        snprintf(what, sizeof what, "%zu classes", sr_dataset_classes(ds));
    row_fmt(f, key, "%s: %zu examples, %zu features%s%s, %s", name,
            sr_dataset_rows(ds), sr_dataset_features(ds), shape,
            sr_dataset_is_sparse(ds) ? " (sparse)" : "", what);
}

static void section_run(FILE *f, const report_input *in)
{
    const sr_model *m = in->model;
    fputs("<h2>The run</h2>\n<table id=\"run\">\n", f);
    sr_model_kind kind = sr_model_kind_of(m);
    if (kind == SR_MODEL_NN)
        row_fmt(f, "model", "network ReLU(X W1) W2, %zu features, %zu hidden "
                            "units, %zu classes%s", sr_model_features(m),
                sr_model_hidden(m), sr_model_classes(m),
                sr_model_has_bias(m) ? ", with biases" : "");
    else
        row_fmt(f, "model", "%s regression, %zu features, %zu %s%s%s%s",
                sr_model_kind_name(kind), sr_model_features(m),
                sr_model_classes(m),
                kind == SR_MODEL_LINEAR ? "target(s)" : "classes",
                sr_model_has_bias(m) ? ", with biases" : "",
                sr_model_poly(m) > 1 ? ", polynomial features" : "",
                sr_model_is_standardized(m) ? ", standardised" : "");
    if (sr_model_poly(m) > 1)
        row_fmt(f, "feature map", "x, x^2, ..., x^%u", sr_model_poly(m));
    if (in->train)
        describe_data(f, "training data", in->train_name, in->train);
    describe_data(f, "evaluated data", in->eval_name, in->eval);
    const char *opts = sr_model_train_options(m);
    if (opts)
        row_text(f, "options", opts);
    if (in->command)
        row_text(f, "command", in->command);
    if (in->stop_reason && in->stop_reason[0])
        row_text(f, "training ended", in->stop_reason);
    if (in->history && in->history->count) {
        const sr_epoch_stats *last = &in->history->rows[in->history->count - 1];
        row_fmt(f, "epochs", "%zu", in->history->count);
        if (in->kept_epoch != SIZE_MAX)
            row_fmt(f, "early stopping", "the parameters of epoch %zu were kept",
                    in->kept_epoch);
        const char *e = kind == SR_MODEL_LINEAR ? "RMSE" : "error";
        row_fmt(f, "last epoch", "train loss %.5f, %s %.5f; test loss %.5f, "
                                 "%s %.5f", last->train_loss, e, last->train_err,
                last->test_loss, e, last->test_err);
    }
    if (in->seconds >= 0)
        row_fmt(f, "time", "%.2f s", in->seconds);
    time_t now = time(NULL);
    char when[64] = "";
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
    row_fmt(f, "made by", "softreg %s, %s", sr_version(), when);
    fputs("</table>\n", f);
}

static void section_curves(page *pg, const report_input *in)
{
    const report_history *h = in->history;
    FILE *pf = pg->f;
    if (pf)
        fputs("<h2>Learning curves</h2>\n", pf);
    if (!h || !h->count) {
        if (pf)
            fputs("<p class=\"note\">No epoch table: a model file keeps no "
                  "history (softreg train --report draws the curves).</p>\n",
                  pf);
        return;
    }
    size_t n = h->count;
    if (n < 2 && pf)
        fputs("<p class=\"note\">One step (an exact solution or a single "
              "epoch): its figures are in the table above; a curve needs "
              "two.</p>\n", pf);
    if (n < 2)
        return;
    double *v = malloc(6 * n * sizeof *v);
    if (!v)
        return;
    static const char *const names[3] = {"train", "validation", "test"};
    static const char *const colours[3] = {"#1f77b4", "#2ca02c", "#d62728"};
    svg_series loss[3], err[3];
    size_t ns = 0;
    for (int s = 0; s < 3; s++) {
        double *l = v + (size_t)(2 * s) * n, *e = l + n;
        int any = 0;
        for (size_t i = 0; i < n; i++) {
            const sr_epoch_stats *r = &h->rows[i];
            l[i] = s == 0 ? r->train_loss : s == 1 ? r->val_loss : r->test_loss;
            e[i] = s == 0 ? r->train_err : s == 1 ? r->val_err : r->test_err;
            any |= isfinite(l[i]);
        }
        if (!any)
            continue;
        loss[ns] = (svg_series){names[s], l, colours[s]};
        err[ns] = (svg_series){names[s], e, colours[s]};
        ns++;
    }
    const char *ename = sr_model_kind_of(in->model) == SR_MODEL_LINEAR
                            ? "RMSE" : "error rate";
    size_t mark = in->kept_epoch;
    if (pf)
        fputs("<div class=\"figs\">\n", pf);
    FIGURE(pg, "loss", svg_line_chart(f, standalone, "Loss", "epoch", "loss",
                                      loss, ns, n, 0, mark, "kept"));
    FIGURE(pg, "loss-log", svg_line_chart(f, standalone, "Loss (log scale)",
                                          "epoch", "loss", loss, ns, n, 1,
                                          mark, "kept"));
    FIGURE(pg, "error", svg_line_chart(f, standalone, ename, "epoch", ename,
                                       err, ns, n, 0, mark, "kept"));
    FIGURE(pg, "error-log", svg_line_chart(f, standalone, "error (log scale)",
                                           "epoch", ename, err, ns, n, 1, mark,
                                           "kept"));
    if (pf)
        fputs("</div>\n", pf);
    free(v);
}

/* A set of pictures: in the page a row of <img> (each with the attributes
 * attrs[i], may be NULL), in --svg-dir one SVG grid. */
typedef struct pictures {
    size_t count, w, h;
    uint8_t **rgb;
    char **captions;
    char **attrs;
} pictures;

static int pictures_init(pictures *p, size_t count, size_t w, size_t h)
{
    p->count = count;
    p->w = w;
    p->h = h;
    p->rgb = calloc(count ? count : 1, sizeof *p->rgb);
    p->captions = calloc(count ? count : 1, sizeof *p->captions);
    p->attrs = calloc(count ? count : 1, sizeof *p->attrs);
    if (!p->rgb || !p->captions || !p->attrs)
        return 0;
    for (size_t i = 0; i < count; i++)
        if (!(p->rgb[i] = malloc(3 * w * h)) ||
            !(p->captions[i] = calloc(1, 96)) || !(p->attrs[i] = calloc(1, 96)))
            return 0;
    return 1;
}

static void pictures_free(pictures *p)
{
    for (size_t i = 0; p->rgb && i < p->count; i++) {
        free(p->rgb[i]);
        if (p->captions)
            free(p->captions[i]);
        if (p->attrs)
            free(p->attrs[i]);
    }
    free(p->rgb);
    free(p->captions);
    free(p->attrs);
}

static void pictures_emit(page *pg, const char *name, const char *title,
                          const pictures *p, double cell)
{
    if (pg->f) {
        fprintf(pg->f, "<div class=\"pics\" id=\"%s\">\n", name);
        double scale = cell / (double)p->w;
        for (size_t i = 0; i < p->count; i++) {
            fprintf(pg->f, "<div class=\"pic\"><img %s width=\"%.0f\" "
                           "height=\"%.0f\" alt=\"", p->attrs[i], cell,
                    scale * (double)p->h);
            esc(pg->f, p->captions[i]);
            fputs("\" src=\"", pg->f);
            png_write_data_uri(pg->f, p->rgb[i], p->w, p->h);
            fputs("\"/>", pg->f);
            esc(pg->f, p->captions[i]);
            fputs("</div>\n", pg->f);
        }
        fputs("</div>\n", pg->f);
    }
    if (pg->svg_dir) {
        page only_svg = {NULL, pg->svg_dir, pg->ok, TOOL_OUT_INIT};
        FIGURE(&only_svg, name,
               svg_picture_grid(f, standalone, title,
                                (const uint8_t *const *)p->rgb,
                                (const char *const *)p->captions, p->count,
                                p->w, p->h, cell));
        pg->ok = only_svg.ok;
    }
}

/* Column j of the (rows, cols) matrix M as a diverging picture at `scale`. */
static void column_picture(const float *M, size_t cols, size_t j, size_t n,
                           double scale, uint8_t *rgb)
{
    for (size_t i = 0; i < n; i++)
        svg_diverging((double)M[i * cols + j] / scale, rgb + 3 * i);
}

static void colour_bar(page *pg, double scale)
{
    FIGURE(pg, "weight-scale", svg_colour_bar(f, standalone, scale));
}

static int by_value(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The colour scale of the columns order[0 .. count) of W: the 99.5th
 * percentile of their |w|, so that a few large weights do not wash out
 * every picture (colours saturate beyond it); *largest = the largest |w|.
 * The largest itself when out of memory. */
static double shared_scale(const float *W, size_t cols, const size_t *order,
                           size_t count, size_t n, double *largest)
{
    size_t total = count * n;
    float *a = malloc((total ? total : 1) * sizeof *a);
    *largest = 0;
    for (size_t c = 0; c < count; c++)
        for (size_t i = 0; i < n; i++) {
            float v = fabsf(W[i * cols + order[c]]);
            *largest = fmax(*largest, v);
            if (a)
                a[c * n + i] = v;
        }
    if (!a || !total) {
        free(a);
        return *largest;
    }
    qsort(a, total, sizeof *a, by_value);
    double s = a[(size_t)(0.995 * (double)(total - 1))];
    free(a);
    return s;
}

/* Class c's weights (column c of theta), one shared scale. */
static int section_weights(page *pg, const report_input *in, size_t ih,
                           size_t iw)
{
    const char *pname;
    size_t rows, cols, n = ih * iw;
    const float *W = sr_model_param(in->model, 0, &pname, &rows, &cols);
    if (!W || rows < n)
        return 1;
    int nn = sr_model_kind_of(in->model) == SR_MODEL_NN;
    /* the network's filters: the 64 columns of W1 of the largest norm */
    size_t count = nn ? (cols < 64 ? cols : 64) : cols;
    size_t *order = malloc((cols ? cols : 1) * sizeof *order);
    double *norm = malloc((cols ? cols : 1) * sizeof *norm);
    pictures p;
    int ok = order && norm && pictures_init(&p, count, iw, ih);
    if (!ok)
        goto done;
    for (size_t j = 0; j < cols; j++) {
        order[j] = j;
        norm[j] = 0;
        for (size_t i = 0; i < n; i++)
            norm[j] += (double)W[i * cols + j] * W[i * cols + j];
    }
    if (nn) /* selection by norm, largest first; ties by column */
        for (size_t a = 0; a < count; a++)
            for (size_t b = a + 1; b < cols; b++)
                if (norm[order[b]] > norm[order[a]]) {
                    size_t t = order[a];
                    order[a] = order[b];
                    order[b] = t;
                }
    double largest, scale = shared_scale(W, cols, order, count, n, &largest);
    if (!(scale > 0))
        scale = 1;
    for (size_t a = 0; a < count; a++) {
        size_t j = order[a];
        column_picture(W, cols, j, n, scale, p.rgb[a]);
        char label[64];
        if (nn)
            snprintf(p.captions[a], 96, "unit %zu", j);
        else
            snprintf(p.captions[a], 96, "%s",
                     tool_class_label(in->model, sr_model_kind_of(in->model) ==
                                      SR_MODEL_LOGISTIC ? 1 : j, label,
                                      sizeof label));
        snprintf(p.attrs[a], 96, "class=\"weight\" data-%s=\"%zu\" "
                                 "data-scale=\"%.9g\"", nn ? "unit" : "class",
                 j, scale);
    }
    if (pg->f) {
        fputs(nn ? "<h2>First layer: the 64 filters of largest norm</h2>\n"
                 : "<h2>Weights</h2>\n", pg->f);
        fprintf(pg->f, "<p class=\"note\">Each %s's weights as a %zu x %zu "
                       "picture: red pixels raise its score, blue lower it. "
                       "One scale for all: the colours saturate at |w| = "
                       "%.4g (99.5%% of the weights are smaller; the largest "
                       "is %.4g).</p>\n",
                nn ? "hidden unit" : "class", ih, iw, scale, largest);
    }
    colour_bar(pg, scale);
    pictures_emit(pg, nn ? "filters" : "weights",
                  nn ? "First-layer filters" : "Weights", &p, 84);
    if (nn) {
        /* the second layer, W2 (d, k), as a heat map: a row per class */
        size_t d = 0, k = 0, r, c;
        const float *W2 = NULL;
        for (size_t blk = 1; blk < sr_model_param_count(in->model); blk++) {
            const float *B = sr_model_param(in->model, blk, &pname, &r, &c);
            if (!strcmp(pname, "W2")) {
                W2 = B;
                d = r;
                k = c;
            }
        }
        if (W2) {
            pictures q;
            if (!(ok = pictures_init(&q, 1, d, k))) {
                pictures_free(&q);
                goto done;
            }
            double s2 = 0;
            for (size_t i = 0; i < d * k; i++)
                s2 = fmax(s2, fabs((double)W2[i]));
            for (size_t cls = 0; cls < k; cls++)
                for (size_t j = 0; j < d; j++)
                    svg_diverging(W2[j * k + cls] / (s2 > 0 ? s2 : 1),
                                  q.rgb[0] + 3 * (cls * d + j));
            snprintf(q.captions[0], 96, "W2: a row per class, a column per "
                                        "unit, |w| up to %.3g", s2);
            snprintf(q.attrs[0], 96, "class=\"layer2\" data-scale=\"%.9g\"", s2);
            if (pg->f)
                fputs("<h2>Second layer</h2>\n", pg->f);
            pictures_emit(pg, "layer2", "Second layer W2", &q,
                          d * 10 < 1000 ? (double)d * 10 : 1000);
            pictures_free(&q);
        }
    }
    pictures_free(&p);
done:
    if (!ok)
        fprintf(stderr, "softreg: out of memory for the weight pictures\n");
    free(order);
    free(norm);
    return ok;
}

/* Features of rows [first, first + count) of ds, read in blocks. */
#define BLOCK 1024

static void gray_picture(const float *x, size_t n, float lo, float hi,
                         uint8_t *rgb)
{
    double span = hi > lo ? (double)hi - lo : 1;
    for (size_t i = 0; i < n; i++) {
        /* dark ink on white paper */
        double t = ((double)x[i] - lo) / span;
        uint8_t g = (uint8_t)lrint(255 * (1 - (t < 0 ? 0 : t > 1 ? 1 : t)));
        rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = g;
    }
}

static int section_means(page *pg, const report_input *in, size_t ih,
                         size_t iw)
{
    const sr_dataset *ds = in->train ? in->train : in->eval;
    size_t m = sr_dataset_rows(ds), n = ih * iw, k = sr_model_classes(in->model);
    if (sr_dataset_targets(ds) || !k)
        return 1;
    double *sum = calloc(k * n, sizeof *sum);
    size_t *cnt = calloc(k, sizeof *cnt);
    float *x = malloc(BLOCK * n * sizeof *x), lo, hi;
    int32_t *y = malloc(BLOCK * sizeof *y);
    pictures p = {0, 0, 0, NULL, NULL, NULL};
    int ok = sum && cnt && x && y && pictures_init(&p, k, iw, ih);
    sr_error err;
    for (size_t first = 0; ok && first < m; first += BLOCK) {
        size_t b = m - first < BLOCK ? m - first : BLOCK;
        if (sr_dataset_copy_features(ds, first, b, x, &err) ||
            sr_dataset_copy_labels(ds, first, b, y, &err)) {
            cli_error(&err, NULL);
            ok = -1;
            break;
        }
        for (size_t r = 0; r < b; r++) {
            if (y[r] < 0 || (size_t)y[r] >= k)
                continue;
            cnt[y[r]]++;
            for (size_t i = 0; i < n; i++)
                sum[(size_t)y[r] * n + i] += x[r * n + i];
        }
    }
    if (ok == 1) {
        sr_dataset_value_range(ds, &lo, &hi);
        for (size_t c = 0; c < k; c++) {
            for (size_t i = 0; i < n; i++)
                x[i] = cnt[c] ? (float)(sum[c * n + i] / (double)cnt[c]) : 0;
            gray_picture(x, n, lo, hi, p.rgb[c]);
            char label[64];
            snprintf(p.captions[c], 96, "%s (%zu)",
                     tool_class_label(in->model, c, label, sizeof label), cnt[c]);
            snprintf(p.attrs[c], 96, "class=\"mean\" data-class=\"%zu\"", c);
        }
        if (pg->f) {
            fputs("<h2>Mean image of each class</h2>\n<p class=\"note\">Of the ",
                  pg->f);
            esc(pg->f, in->train ? "training set" : in->eval_name);
            fputs(", with each class's number of examples.</p>\n", pg->f);
        }
        pictures_emit(pg, "means", "Mean image of each class", &p, 64);
    } else if (!ok) {
        fprintf(stderr, "softreg: out of memory for the mean images\n");
    }
    pictures_free(&p);
    free(sum);
    free(cnt);
    free(x);
    free(y);
    return ok == 1;
}

/* The predicted class, its probability and the true class of every
 * example of the evaluated set. */
typedef struct verdicts {
    size_t m;
    int32_t *y, *pred;
    float *prob;
} verdicts;

static int verdicts_make(const report_input *in, verdicts *v)
{
    const sr_dataset *ds = in->eval;
    size_t m = sr_dataset_rows(ds), k = sr_model_outputs(in->model);
    int logistic = sr_model_kind_of(in->model) == SR_MODEL_LOGISTIC;
    size_t width = logistic ? 1 : k;
    v->m = m;
    v->y = malloc((m ? m : 1) * sizeof *v->y);
    v->pred = malloc((m ? m : 1) * sizeof *v->pred);
    v->prob = malloc((m ? m : 1) * sizeof *v->prob);
    float *P = malloc((m ? m : 1) * width * sizeof *P);
    sr_error err;
    int ok = 0;
    if (!v->y || !v->pred || !v->prob || !P) {
        fprintf(stderr, "softreg: out of memory for the probabilities of "
                        "%zu examples\n", m);
        goto done;
    }
    if (sr_dataset_copy_labels(ds, 0, m, v->y, &err) ||
        sr_model_predict_proba(in->model, ds, P, &err)) {
        cli_error(&err, NULL);
        goto done;
    }
    for (size_t i = 0; i < m; i++) {
        if (logistic) {
            v->pred[i] = P[i] >= 0.5f;
            v->prob[i] = v->pred[i] ? P[i] : 1 - P[i];
            continue;
        }
        size_t best = 0; /* the first maximum, as sr_model_predict */
        for (size_t c = 1; c < k; c++)
            if (P[i * k + c] > P[i * k + best])
                best = c;
        v->pred[i] = (int32_t)best;
        v->prob[i] = P[i * k + best];
    }
    ok = 1;
done:
    free(P);
    return ok;
}

static void verdicts_free(verdicts *v)
{
    free(v->y);
    free(v->pred);
    free(v->prob);
}

static int section_confusion(page *pg, const report_input *in)
{
    int done_ok = 0;
    size_t k = sr_model_classes(in->model);
    size_t *counts = calloc(k * k, sizeof *counts);
    char **names = calloc(k, sizeof *names);
    int ok = counts && names;
    for (size_t c = 0; ok && c < k; c++)
        ok = (names[c] = malloc(64)) != NULL;
    sr_error err;
    if (!ok) {
        fprintf(stderr, "softreg: out of memory for the confusion matrix\n");
        goto done;
    }
    if (sr_model_confusion(in->model, in->eval, counts, &err)) {
        cli_error(&err, NULL);
        goto done;
    }
    for (size_t c = 0; c < k; c++) {
        const char *l = tool_class_label(in->model, c, names[c], 64);
        if (l != names[c])
            snprintf(names[c], 64, "%s", l);
    }
    if (pg->f) {
        fputs("<h2>Confusion matrix</h2>\n<p class=\"note\">Of the ", pg->f);
        esc(pg->f, in->eval_name);
        fputs(": rows are the true classes, columns the predicted ones.</p>\n"
              "<div class=\"figs\">\n", pg->f);
    }
    FIGURE(pg, "confusion", svg_confusion(f, standalone, counts, k,
                                          (const char *const *)names));
    FILE *f = pg->f;
    if (f) {
        fputs("<table id=\"scores\"><tr><th class=\"l\">class</th>"
              "<th>precision</th><th>recall</th><th>support</th></tr>\n", f);
        for (size_t c = 0; c < k; c++) {
            size_t tp = counts[c * k + c], col = 0, row = 0;
            for (size_t j = 0; j < k; j++) {
                col += counts[j * k + c];
                row += counts[c * k + j];
            }
            fputs("<tr><td class=\"l\">", f);
            esc(f, names[c]);
            fprintf(f, "</td><td>%.4f</td><td>%.4f</td><td>%zu</td></tr>\n",
                    col ? (double)tp / (double)col : 0.0,
                    row ? (double)tp / (double)row : 0.0, row);
        }
        fputs("</table>\n</div>\n", f);
    }
    done_ok = 1;
done:
    for (size_t c = 0; names && c < k; c++)
        free(names[c]);
    free(names);
    free(counts);
    return done_ok;
}

/* The most confidently wrong examples, most confident first. */
#define WRONG_SHOWN 24

static size_t most_wrong(const verdicts *v, size_t *pick)
{
    size_t count = 0;
    for (size_t i = 0; i < v->m; i++) {
        if (v->pred[i] == v->y[i])
            continue;
        size_t at = count < WRONG_SHOWN ? count++ : WRONG_SHOWN;
        if (at == WRONG_SHOWN && !(v->prob[i] > v->prob[pick[at - 1]]))
            continue;
        if (at == WRONG_SHOWN)
            at--;
        while (at > 0 && v->prob[i] > v->prob[pick[at - 1]]) {
            pick[at] = pick[at - 1];
            at--;
        }
        pick[at] = i;
    }
    return count;
}

/* The features of row i of ds into x; prints the error and returns 0. */
static int example(const sr_dataset *ds, size_t i, float *x)
{
    sr_error err;
    if (sr_dataset_copy_features(ds, i, 1, x, &err)) {
        cli_error(&err, NULL);
        return 0;
    }
    return 1;
}

static int section_wrong(page *pg, const report_input *in, const verdicts *v,
                         size_t ih, size_t iw)
{
    size_t pick[WRONG_SHOWN], count = most_wrong(v, pick);
    size_t n = sr_dataset_features(in->eval);
    float *x = malloc((n ? n : 1) * sizeof *x), lo, hi;
    char t[64], p[64];
    if (!x) {
        fprintf(stderr, "softreg: out of memory\n");
        return 0;
    }
    FILE *f = pg->f;
    if (f) {
        fprintf(f, "<h2>The most confidently wrong examples</h2>\n<p class="
                   "\"note\">The %zu of the ", count);
        esc(f, in->eval_name);
        fputs(" the model got wrong with the highest probability: true class, "
              "predicted class, its probability.</p>\n", f);
    }
    int ok = 1;
    if (ih) {
        pictures pics;
        sr_dataset_value_range(in->eval, &lo, &hi);
        if (!pictures_init(&pics, count, iw, ih)) {
            pictures_free(&pics);
            free(x);
            fprintf(stderr, "softreg: out of memory\n");
            return 0;
        }
        for (size_t a = 0; ok && a < count; a++) {
            size_t i = pick[a];
            if (!(ok = example(in->eval, i, x)))
                break;
            gray_picture(x, n, lo, hi, pics.rgb[a]);
            snprintf(pics.captions[a], 96, "#%zu: %s as %s %.2f", i,
                     tool_class_label(in->model, (size_t)v->y[i], t, sizeof t),
                     tool_class_label(in->model, (size_t)v->pred[i], p, sizeof p),
                     (double)v->prob[i]);
            snprintf(pics.attrs[a], 96, "class=\"wrong\" data-row=\"%zu\"", i);
        }
        if (ok)
            pictures_emit(pg, "wrong", "Most confidently wrong", &pics, 64);
        pictures_free(&pics);
    } else if (f) {
        size_t shown = n < 8 ? n : 8;
        fputs("<table id=\"wrong\"><tr><th>row</th><th class=\"l\">true</th>"
              "<th class=\"l\">predicted</th><th>probability</th>", f);
        for (size_t j = 0; j < shown; j++) {
            const char *name = sr_model_feature_name(in->model, j);
            fputs("<th>", f);
            if (name)
                esc(f, name);
            else
                fprintf(f, "x%zu", j);
            fputs("</th>", f);
        }
        fputs(n > shown ? "<th>...</th></tr>\n" : "</tr>\n", f);
        for (size_t a = 0; ok && a < count; a++) {
            size_t i = pick[a];
            if (!(ok = example(in->eval, i, x)))
                break;
            fprintf(f, "<tr><td>%zu</td><td class=\"l\">", i);
            esc(f, tool_class_label(in->model, (size_t)v->y[i], t, sizeof t));
            fputs("</td><td class=\"l\">", f);
            esc(f, tool_class_label(in->model, (size_t)v->pred[i], p, sizeof p));
            fprintf(f, "</td><td>%.4f</td>", (double)v->prob[i]);
            for (size_t j = 0; j < shown; j++)
                fprintf(f, "<td>%.4g</td>", (double)x[j]);
            fputs(n > shown ? "<td/></tr>\n" : "</tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    free(x);
    return ok;
}

/* Predicted against true, the residuals, and for one input feature the
 * data and the fitted curve. */
#define CURVE_POINTS 200

static int section_regression(page *pg, const report_input *in)
{
    const sr_dataset *ds = in->eval;
    size_t m = sr_dataset_rows(ds), t = sr_dataset_targets(ds);
    size_t k = sr_model_outputs(in->model);
    float *z = malloc((m ? m : 1) * k * sizeof *z);
    float *tg = malloc((m ? m : 1) * t * sizeof *tg);
    float *pred = malloc((m ? m : 1) * sizeof *pred);
    float *truth = malloc((m ? m : 1) * sizeof *truth);
    float *res = malloc((m ? m : 1) * sizeof *res);
    float *x = NULL, *gx = NULL, *gy = NULL, *gt = NULL;
    sr_dataset *grid = NULL;
    sr_error err;
    int ok = 0;
    if (!z || !tg || !pred || !truth || !res) {
        fprintf(stderr, "softreg: out of memory\n");
        goto done;
    }
    if (sr_model_logits(in->model, ds, z, &err) ||
        sr_dataset_copy_targets(ds, 0, m, tg, &err)) {
        cli_error(&err, NULL);
        goto done;
    }
    for (size_t i = 0; i < m; i++) {
        pred[i] = z[i * k];
        truth[i] = tg[i * t];
        res[i] = pred[i] - truth[i];
    }
    if (pg->f) {
        fputs("<h2>Predictions</h2>\n<p class=\"note\">Of the ", pg->f);
        esc(pg->f, in->eval_name);
        fputs(k > 1 ? " (the first target).</p>\n" : ".</p>\n", pg->f);
        fputs("<div class=\"figs\">\n", pg->f);
    }
    FIGURE(pg, "predicted", svg_scatter(f, standalone, "Predicted against true",
                                        "true", "predicted", truth, pred, m, 1,
                                        NULL, NULL, 0));
    FIGURE(pg, "residuals", svg_histogram(f, standalone, "Residuals",
                                          "predicted - true", res, m, 30));
    if (sr_model_features(in->model) == 1 && sr_dataset_features(ds) == 1) {
        x = malloc((m ? m : 1) * sizeof *x);
        gx = malloc(CURVE_POINTS * sizeof *gx);
        gy = malloc(CURVE_POINTS * k * sizeof *gy);
        gt = calloc(CURVE_POINTS, sizeof *gt);
        if (!x || !gx || !gy || !gt) {
            fprintf(stderr, "softreg: out of memory\n");
            goto done;
        }
        if (sr_dataset_copy_features(ds, 0, m, x, &err))
            goto fail;
        float lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < m; i++) {
            lo = fminf(lo, x[i]);
            hi = fmaxf(hi, x[i]);
        }
        for (size_t i = 0; i < CURVE_POINTS; i++)
            gx[i] = lo + (hi - lo) * (float)i / (CURVE_POINTS - 1);
        if (sr_dataset_from_arrays(gx, CURVE_POINTS, 1, NULL, gt, 1, &grid,
                                   &err) ||
            sr_model_logits(in->model, grid, gy, &err))
            goto fail;
        for (size_t i = 0; i < CURVE_POINTS; i++)
            gy[i] = gy[i * k];
        const char *xn = sr_model_feature_name(in->model, 0);
        const char *yn = sr_model_label_name(in->model);
        FIGURE(pg, "fit", svg_scatter(f, standalone, "The data and the fit",
                                      xn ? xn : "x", yn ? yn : "y", x, truth,
                                      m, 0, gx, gy, CURVE_POINTS));
    }
    if (pg->f)
        fputs("</div>\n", pg->f);
    ok = 1;
    goto done;
fail:
    cli_error(&err, NULL);
done:
    sr_dataset_free(grid);
    free(z);
    free(tg);
    free(pred);
    free(truth);
    free(res);
    free(x);
    free(gx);
    free(gy);
    free(gt);
    return ok;
}

static void page_head(FILE *f, const report_input *in)
{
    fputs("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" "
          "lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>softreg: ",
          f);
    esc(f, sr_model_kind_name(sr_model_kind_of(in->model)));
    fputs(" on ", f);
    esc(f, in->train ? in->train_name : in->eval_name);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>softreg: ",
            style);
    esc(f, sr_model_kind_name(sr_model_kind_of(in->model)));
    fputs(" on ", f);
    esc(f, in->train ? in->train_name : in->eval_name);
    fputs("</h1>\n", f);
}

int report_write(const report_input *in, const char *html_path,
                 const char *svg_dir)
{
    page pg = {NULL, svg_dir, 1, TOOL_OUT_INIT};
    tool_out html = TOOL_OUT_INIT;
    if (html_path) {
        if (!tool_out_open(&html, html_path))
            return 0;
        pg.f = html.f;
        page_head(pg.f, in);
        section_run(pg.f, in);
    }
    int ok = 1;
    section_curves(&pg, in);
    size_t ih = 0, iw = 0;
    const sr_dataset *shape_of = in->train ? in->train : in->eval;
    if (!sr_dataset_image_shape(shape_of, &ih, &iw) ||
        sr_dataset_features(in->eval) != ih * iw)
        ih = iw = 0;
    sr_model_kind kind = sr_model_kind_of(in->model);
    if (kind == SR_MODEL_LINEAR) {
        ok = section_regression(&pg, in);
    } else {
        if (ih)
            ok = section_weights(&pg, in, ih, iw) && section_means(&pg, in, ih, iw);
        ok = ok && section_confusion(&pg, in);
        verdicts v = {0, NULL, NULL, NULL};
        ok = ok && verdicts_make(in, &v) && section_wrong(&pg, in, &v, ih, iw);
        verdicts_free(&v);
    }
    ok = ok && pg.ok;
    if (pg.f) {
        fputs("</body>\n</html>\n", pg.f);
        if (!ok) {
            tool_out_abort(&html);
            return 0;
        }
        return tool_out_commit(&html);
    }
    return ok;
}
