/* The report page: one self-contained XHTML file (inline SVG and CSS,
 * pictures as PNG data: URIs, no script, nothing fetched) and, with
 * --svg-dir, every figure as an SVG file of its own. The page is
 * well-formed XML, so strict parsers read it and tests check it. This file
 * holds the page, the run and the learning curves; the other sections are
 * cli/report_weights.c, report_classes.c and report_fit.c. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_sections.h"
#include "svg.h"

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

static void row_text(FILE *f, const char *key, const char *value)
{
    fputs("<tr><th class=\"l\">", f);
    svg_escape(f, key);
    fputs("</th><td class=\"l\">", f);
    svg_escape(f, value);
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
        if (isnan(last->test_loss))  /* no test set */
            row_fmt(f, "last epoch", "train loss %.5f, %s %.5f",
                    last->train_loss, e, last->train_err);
        else
            row_fmt(f, "last epoch", "train loss %.5f, %s %.5f; test loss "
                                     "%.5f, %s %.5f", last->train_loss, e,
                    last->train_err, last->test_loss, e, last->test_err);
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

static void page_head(FILE *f, const report_input *in)
{
    fputs("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" "
          "lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>softreg: ",
          f);
    svg_escape(f, sr_model_kind_name(sr_model_kind_of(in->model)));
    fputs(" on ", f);
    svg_escape(f, in->train ? in->train_name : in->eval_name);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>softreg: ",
            style);
    svg_escape(f, sr_model_kind_name(sr_model_kind_of(in->model)));
    fputs(" on ", f);
    svg_escape(f, in->train ? in->train_name : in->eval_name);
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
        ok = report_regression(&pg, in);
    } else {
        if (ih)
            ok = report_weights(&pg, in, ih, iw) && report_means(&pg, in, ih, iw);
        ok = ok && report_confusion(&pg, in) && report_wrong(&pg, in, ih, iw);
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
