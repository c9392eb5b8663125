/* The report's pictures of a regression: predicted against true, the
 * residuals, and for one input feature the data and the fitted curve. */
#include <math.h>
#include <stdlib.h>

#include "report_sections.h"
#include "svg.h"

/* Predicted against true, the residuals, and for one input feature the
 * data and the fitted curve. */
#define CURVE_POINTS 200

int report_regression(page *pg, const report_input *in)
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
        svg_escape(pg->f, in->eval_name);
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

