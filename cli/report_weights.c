/* The report's pictures of a model's weights (each class's column of
 * theta; the network's strongest first-layer filters and its second layer)
 * and of the mean image of each class. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_sections.h"
#include "svg.h"

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
int report_weights(page *pg, const report_input *in, size_t ih,
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

/* The mean image of each class, the features read BLOCK rows at a time. */
#define BLOCK 1024

int report_means(page *pg, const report_input *in, size_t ih,
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
            svg_escape(pg->f, in->train ? "training set" : in->eval_name);
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

