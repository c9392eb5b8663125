/* The report's sections on a classifier's verdicts: the confusion matrix with
 * precision and recall, and the examples it got wrong most confidently. */
#include <stdlib.h>
#include <string.h>

#include "report_sections.h"
#include "svg.h"

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

int report_confusion(page *pg, const report_input *in)
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
        svg_escape(pg->f, in->eval_name);
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
            svg_escape(f, names[c]);
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

static int wrong_examples(page *pg, const report_input *in,
                          const verdicts *v, size_t ih, size_t iw)
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
        svg_escape(f, in->eval_name);
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
                svg_escape(f, name);
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
            svg_escape(f, tool_class_label(in->model, (size_t)v->y[i], t, sizeof t));
            fputs("</td><td class=\"l\">", f);
            svg_escape(f, tool_class_label(in->model, (size_t)v->pred[i], p, sizeof p));
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


int report_wrong(page *pg, const report_input *in, size_t ih, size_t iw)
{
    verdicts v = {0, NULL, NULL, NULL};
    int ok = verdicts_make(in, &v) && wrong_examples(pg, in, &v, ih, iw);
    verdicts_free(&v);
    return ok;
}
