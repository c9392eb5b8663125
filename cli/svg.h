/* SVG figures for the report page and --svg-dir: charts drawn by our own
 * code. Every figure is one <svg> element, written inline in the page or,
 * `standalone`, as a file of its own (with its XML declaration and
 * namespace). Text is escaped for XML, so the page parses as XHTML. */
#ifndef SR_CLI_SVG_H
#define SR_CLI_SVG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes s with & < > " escaped. */
void svg_escape(FILE *f, const char *s);

/* The diverging colour map: t in [-1, 1] (clamped) to blue, white at 0,
 * red: rgb[3]. Written once here, used by every weight picture. */
void svg_diverging(double t, uint8_t rgb[3]);
/* The sequential map of the heat maps: t in [0, 1] from white to blue. */
void svg_sequential(double t, uint8_t rgb[3]);

void svg_begin(FILE *f, int standalone, double w, double h, const char *title);
void svg_end(FILE *f);

/* A line chart of up to 3 series over x = 0 .. count-1 (NaN points are
 * left out), log scale on y when `log_y` (points <= 0 left out); a dashed
 * vertical line at x = `mark` unless mark is SIZE_MAX. */
typedef struct svg_series {
    const char *name;
    const double *y;
    const char *colour;
} svg_series;
void svg_line_chart(FILE *f, int standalone, const char *title,
                    const char *x_label, const char *y_label,
                    const svg_series *series, size_t nseries, size_t count,
                    int log_y, size_t mark, const char *mark_label);

/* A heat map of the (k, k) counts with their numbers (when they fit),
 * class names on both axes; cells carry data-row, data-col, data-count. */
void svg_confusion(FILE *f, int standalone, const size_t *counts, size_t k,
                   const char *const *names);

/* Points (x[i], y[i]); a line y = x when `diagonal`; a curve (cx, cy) of
 * ccount points when ccount > 0. */
void svg_scatter(FILE *f, int standalone, const char *title,
                 const char *x_label, const char *y_label, const float *x,
                 const float *y, size_t count, int diagonal, const float *cx,
                 const float *cy, size_t ccount);

/* A histogram of `count` values in `bins` bins. */
void svg_histogram(FILE *f, int standalone, const char *title,
                   const char *x_label, const float *v, size_t count,
                   size_t bins);

/* The colour scale of the weight pictures: -scale blue .. 0 white ..
 * +scale red. */
void svg_colour_bar(FILE *f, int standalone, double scale);

/* A picture of (h, w) RGB pixels as an SVG <image> of a PNG, drawn
 * width x height, for --svg-dir's weight figures. */
void svg_picture_grid(FILE *f, int standalone, const char *title,
                      const uint8_t *const *rgb, const char *const *captions,
                      size_t count, size_t w, size_t h, double cell);

#endif
