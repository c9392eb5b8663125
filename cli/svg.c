/* SVG figures drawn by our own code: axes, line charts, heat maps, scatter
 * plots, histograms. Coordinates are written with %.1f: a figure's size,
 * not its data, sets the precision it needs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "png.h"
#include "svg.h"

void svg_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            /* control characters are not XML */
            fputc((unsigned char)*s < 0x20 && *s != '\t' ? '?' : *s, f);
        }
    }
}

static uint8_t channel(double v)
{
    return (uint8_t)lrint(v < 0 ? 0 : v > 255 ? 255 : v);
}

void svg_diverging(double t, uint8_t rgb[3])
{
    t = t < -1 ? -1 : t > 1 ? 1 : isnan(t) ? 0 : t;
    double a = fabs(t);
    /* white to red (t > 0) or to blue (t < 0) */
    double r = t > 0 ? 255 : 255 * (1 - a) + 33 * a;
    double g = 255 * (1 - a) + (t > 0 ? 40 : 102) * a;
    double b = t > 0 ? 255 * (1 - a) + 40 * a : 255 * (1 - a) + 172 * a;
    rgb[0] = channel(r);
    rgb[1] = channel(g);
    rgb[2] = channel(b);
}

void svg_sequential(double t, uint8_t rgb[3])
{
    t = t < 0 ? 0 : t > 1 ? 1 : isnan(t) ? 0 : t;
    rgb[0] = channel(247 - t * (247 - 8));
    rgb[1] = channel(251 - t * (251 - 48));
    rgb[2] = channel(255 - t * (255 - 107));
}

void svg_begin(FILE *f, int standalone, double w, double h, const char *title)
{
    if (standalone)
        fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
               "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               "font-family=\"sans-serif\" font-size=\"11\">\n",
            w, h, w, h);
    if (title) {
        fputs("<title>", f);
        svg_escape(f, title);
        fputs("</title>\n", f);
    }
}

void svg_end(FILE *f) { fputs("</svg>\n", f); }

static void text(FILE *f, double x, double y, const char *anchor,
                 const char *extra, const char *s)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s>", x, y,
            anchor, extra ? extra : "");
    svg_escape(f, s);
    fputs("</text>\n", f);
}

/* A plot area inside a figure: data [x0, x1] x [y0, y1] onto pixels. */
typedef struct plot {
    double left, top, width, height;
    double x0, x1, y0, y1;
    int log_y;
} plot;

static double px(const plot *p, double x)
{
    return p->left + (x - p->x0) / (p->x1 - p->x0) * p->width;
}

static double py(const plot *p, double y)
{
    if (p->log_y)
        y = log10(y);
    return p->top + p->height - (y - p->y0) / (p->y1 - p->y0) * p->height;
}

/* About `want` round tick values over [lo, hi]. */
static double tick_step(double lo, double hi, int want)
{
    double raw = (hi - lo) / want, mag = pow(10, floor(log10(raw)));
    double r = raw / mag;
    return mag * (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10);
}

static void widen(double *lo, double *hi)
{
    if (!(*hi > *lo)) {
        double d = fabs(*lo) > 0 ? fabs(*lo) * 0.1 : 1;
        *lo -= d;
        *hi += d;
    }
}

/* The frame, grid and tick labels of p, and the axis titles. */
static void axes(FILE *f, const plot *p, const char *x_label,
                 const char *y_label, int integer_x)
{
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
               "fill=\"none\" stroke=\"#888\"/>\n",
            p->left, p->top, p->width, p->height);
    char buf[64];
    double step = tick_step(p->x0, p->x1, 6);
    if (integer_x && step < 1)
        step = 1;
    for (double x = ceil(p->x0 / step) * step; x <= p->x1 + 1e-9 * step;
         x += step) {
        double X = px(p, x);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"#eee\"/>\n", X, p->top, X, p->top + p->height);
        snprintf(buf, sizeof buf, "%g", fabs(x) < 1e-12 * step ? 0.0 : x);
        text(f, X, p->top + p->height + 14, "middle", NULL, buf);
    }
    if (p->log_y) {
        /* powers of ten, and 2 and 5 times them, or every digit, when a
         * range holds fewer than three of them */
        static const double every[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        static const double some[] = {1, 2, 5};
        int span = p->y1 - p->y0 < 1.2;
        const double *mult = span ? every : some;
        size_t nm = span ? 9 : 3;
        if (p->y1 - p->y0 > 3)
            nm = 1;
        /* within a factor of 2, round values as on a linear axis */
        double lo = pow(10, p->y0), hi = pow(10, p->y1), lin = 0;
        if (p->y1 - p->y0 < 0.3) {
            lin = tick_step(lo, hi, 4);
            double ticks = floor(hi / lin) - ceil(lo / lin) + 1;
            nm = ticks > 0 ? (size_t)ticks : 0;
        }
        double first = lin ? ceil(lo / lin) * lin : 0;
        for (double e = lin ? 0 : floor(p->y0); e <= (lin ? 0 : ceil(p->y1));
             e += 1)
            for (size_t i = 0; i < nm; i++) {
                double v = lin ? first + lin * (double)i : mult[i] * pow(10, e);
                double Y = py(p, v);
                if (Y < p->top - 0.5 || Y > p->top + p->height + 0.5)
                    continue;
                fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                           "y2=\"%.1f\" stroke=\"#eee\"/>\n", p->left, Y,
                        p->left + p->width, Y);
                snprintf(buf, sizeof buf, "%g", v);
                text(f, p->left - 4, Y + 4, "end", NULL, buf);
            }
    } else {
        step = tick_step(p->y0, p->y1, 5);
        for (double y = ceil(p->y0 / step) * step; y <= p->y1 + 1e-9 * step;
             y += step) {
            double Y = py(p, y);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                       "stroke=\"#eee\"/>\n", p->left, Y, p->left + p->width, Y);
            snprintf(buf, sizeof buf, "%g", fabs(y) < 1e-12 * step ? 0.0 : y);
            text(f, p->left - 4, Y + 4, "end", NULL, buf);
        }
    }
    text(f, p->left + p->width / 2, p->top + p->height + 30, "middle", NULL,
         x_label);
    char rot[96];
    snprintf(rot, sizeof rot, " transform=\"rotate(-90 %.1f %.1f)\"", 14.0,
             p->top + p->height / 2);
    text(f, 14, p->top + p->height / 2, "middle", rot, y_label);
}

static void heading(FILE *f, double x, const char *title)
{
    text(f, x, 16, "middle", " font-size=\"13\" font-weight=\"bold\"", title);
}

void svg_line_chart(FILE *f, int standalone, const char *title,
                    const char *x_label, const char *y_label,
                    const svg_series *series, size_t nseries, size_t count,
                    int log_y, size_t mark, const char *mark_label)
{
    plot p = {60, 28, 380, 200, 0, count > 1 ? (double)(count - 1) : 1,
              INFINITY, -INFINITY, log_y};
    for (size_t s = 0; s < nseries; s++)
        for (size_t i = 0; i < count; i++) {
            double v = series[s].y[i];
            if (!isfinite(v) || (log_y && v <= 0))
                continue;
            v = log_y ? log10(v) : v;
            p.y0 = v < p.y0 ? v : p.y0;
            p.y1 = v > p.y1 ? v : p.y1;
        }
    if (!isfinite(p.y0))
        p.y0 = 0, p.y1 = 1;
    if (!log_y && p.y0 > 0 && p.y0 < 0.5 * p.y1)
        p.y0 = 0;
    widen(&p.y0, &p.y1);
    double pad = 0.05 * (p.y1 - p.y0);
    p.y0 -= log_y ? pad : (p.y0 == 0 ? 0 : pad);
    p.y1 += pad;
    svg_begin(f, standalone, 560, 270, title);
    heading(f, p.left + p.width / 2, title);
    axes(f, &p, x_label, y_label, 1);
    if (mark != SIZE_MAX && mark < count) {
        double X = px(&p, (double)mark);
        fprintf(f, "<line class=\"mark\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                   "y2=\"%.1f\" stroke=\"#555\" stroke-dasharray=\"4 3\"/>\n",
                X, p.top, X, p.top + p.height);
        text(f, X + 3, p.top + 10, "start", NULL, mark_label);
    }
    for (size_t s = 0; s < nseries; s++) {
        fprintf(f, "<g class=\"series\" data-name=\"");
        svg_escape(f, series[s].name);
        fprintf(f, "\" stroke=\"%s\" fill=\"%s\">\n<polyline fill=\"none\" "
                   "stroke-width=\"2\" points=\"",
                series[s].colour, series[s].colour);
        for (size_t i = 0; i < count; i++) {
            double v = series[s].y[i];
            if (isfinite(v) && !(log_y && v <= 0))
                fprintf(f, "%.1f,%.1f ", px(&p, (double)i), py(&p, v));
        }
        fputs("\"/>\n", f);
        /* a dot per epoch, whose <title> the browser shows on hover */
        for (size_t i = 0; i < count && count <= 200; i++) {
            double v = series[s].y[i];
            if (!isfinite(v) || (log_y && v <= 0))
                continue;
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"><title>",
                    px(&p, (double)i), py(&p, v));
            svg_escape(f, series[s].name);
            fprintf(f, ", epoch %zu: %.5g</title></circle>\n", i, v);
        }
        fputs("</g>\n", f);
        double Y = p.top + 12 + 16 * (double)s;
        fprintf(f, "<line x1=\"450\" y1=\"%.1f\" x2=\"470\" y2=\"%.1f\" "
                   "stroke=\"%s\" stroke-width=\"2\"/>\n", Y - 4, Y - 4,
                series[s].colour);
        text(f, 474, Y, "start", NULL, series[s].name);
    }
    svg_end(f);
}

void svg_confusion(FILE *f, int standalone, const size_t *counts, size_t k,
                   const char *const *names)
{
    double cell = k <= 12 ? 40 : k <= 30 ? 20 : 480.0 / (double)k;
    /* names wider than a cell are written aslant above the columns */
    size_t longest = 1;
    for (size_t c = 0; c < k; c++)
        longest = strlen(names[c]) > longest ? strlen(names[c]) : longest;
    longest = longest > 24 ? 24 : longest;
    int aslant = 6.0 * (double)longest > cell - 4;
    double left = 20 + 6.5 * (double)longest, side = cell * (double)k;
    double top = aslant ? 50 + 4.6 * (double)longest : 60;
    left = left < 80 ? 80 : left;
    size_t max = 1;
    for (size_t i = 0; i < k * k; i++)
        max = counts[i] > max ? counts[i] : max;
    svg_begin(f, standalone, left + side + 20 + (aslant ? top - 50 : 0),
              top + side + 40,
              "Confusion matrix");
    heading(f, left + side / 2, "Confusion matrix");
    text(f, left + side / 2, 34, "middle", NULL, "predicted class");
    char rot[96];
    snprintf(rot, sizeof rot, " transform=\"rotate(-90 14 %.1f)\"",
             top + side / 2);
    text(f, 14, top + side / 2, "middle", rot, "true class");
    for (size_t c = 0; c < k && cell >= 12; c++) {
        double x = left + cell * ((double)c + 0.5);
        char turn[96] = "";
        if (aslant)
            snprintf(turn, sizeof turn, " transform=\"rotate(-40 %.1f %.1f)\"",
                     x, top - 6);
        text(f, x, top - 6, aslant ? "start" : "middle", turn, names[c]);
        text(f, left - 6, top + cell * ((double)c + 0.5) + 4, "end", NULL,
             names[c]);
    }
    for (size_t r = 0; r < k; r++)
        for (size_t c = 0; c < k; c++) {
            size_t n = counts[r * k + c];
            uint8_t rgb[3];
            /* the square root spreads the small off-diagonal counts */
            svg_sequential(sqrt((double)n / (double)max), rgb);
            double x = left + cell * (double)c, y = top + cell * (double)r;
            fprintf(f, "<g class=\"cell\" data-row=\"%zu\" data-col=\"%zu\" "
                       "data-count=\"%zu\"><rect x=\"%.1f\" y=\"%.1f\" "
                       "width=\"%.1f\" height=\"%.1f\" fill=\"#%02x%02x%02x\">"
                       "<title>true ", r, c, n, x, y, cell, cell, rgb[0],
                    rgb[1], rgb[2]);
            svg_escape(f, names[r]);
            fputs(", predicted ", f);
            svg_escape(f, names[c]);
            fprintf(f, ": %zu</title></rect>", n);
            if (cell >= 20) {
                char buf[32];
                snprintf(buf, sizeof buf, "%zu", n);
                fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                           "font-size=\"%d\" fill=\"%s\">%s</text>",
                        x + cell / 2, y + cell / 2 + 4, cell >= 40 ? 11 : 8,
                        (double)n > 0.3 * (double)max ? "#fff" : "#222", buf);
            }
            fputs("</g>\n", f);
        }
    svg_end(f);
}

static void range_of(const float *v, size_t count, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < count; i++)
        if (isfinite(v[i])) {
            *lo = v[i] < *lo ? v[i] : *lo;
            *hi = v[i] > *hi ? v[i] : *hi;
        }
    if (!isfinite(*lo))
        *lo = 0, *hi = 1;
}

static void pad_range(double *lo, double *hi)
{
    widen(lo, hi);
    double d = 0.05 * (*hi - *lo);
    *lo -= d;
    *hi += d;
}

void svg_scatter(FILE *f, int standalone, const char *title,
                 const char *x_label, const char *y_label, const float *x,
                 const float *y, size_t count, int diagonal, const float *cx,
                 const float *cy, size_t ccount)
{
    plot p = {60, 28, 360, 300, 0, 0, 0, 0, 0};
    range_of(x, count, &p.x0, &p.x1);
    range_of(y, count, &p.y0, &p.y1);
    if (diagonal) { /* the same range on both axes */
        p.x0 = p.y0 = fmin(p.x0, p.y0);
        p.x1 = p.y1 = fmax(p.x1, p.y1);
    }
    pad_range(&p.x0, &p.x1);
    pad_range(&p.y0, &p.y1);
    if (diagonal)
        p.y0 = p.x0, p.y1 = p.x1;
    svg_begin(f, standalone, 440, 370, title);
    heading(f, p.left + p.width / 2, title);
    axes(f, &p, x_label, y_label, 0);
    /* an id of the title's: unique in the page, the same in every run */
    unsigned long id = 5381;
    for (const char *c = title; *c; c++)
        id = id * 33 + (unsigned char)*c;
    fprintf(f, "<clipPath id=\"clip-%lx\"><rect x=\"%.1f\" y=\"%.1f\" "
               "width=\"%.1f\" height=\"%.1f\"/></clipPath>\n<g clip-path=\""
               "url(#clip-%lx)\">\n", id, p.left, p.top, p.width, p.height, id);
    if (diagonal)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n",
                px(&p, p.x0), py(&p, p.x0), px(&p, p.x1), py(&p, p.x1));
    /* at most 5000 points: a figure of a big set stays light */
    size_t stride = count > 5000 ? (count + 4999) / 5000 : 1;
    fputs("<g fill=\"#1f77b4\" fill-opacity=\"0.5\">", f);
    for (size_t i = 0; i < count; i += stride)
        if (isfinite(x[i]) && isfinite(y[i]))
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/>",
                    px(&p, x[i]), py(&p, y[i]));
    fputs("</g>\n", f);
    if (ccount) {
        fputs("<polyline class=\"fit\" fill=\"none\" stroke=\"#d62728\" "
              "stroke-width=\"2\" points=\"", f);
        for (size_t i = 0; i < ccount; i++)
            if (isfinite(cy[i]))
                fprintf(f, "%.1f,%.1f ", px(&p, cx[i]), py(&p, cy[i]));
        fputs("\"/>\n", f);
    }
    fputs("</g>\n", f);
    svg_end(f);
}

void svg_histogram(FILE *f, int standalone, const char *title,
                   const char *x_label, const float *v, size_t count,
                   size_t bins)
{
    plot p = {60, 28, 360, 220, 0, 0, 0, 0, 0};
    range_of(v, count, &p.x0, &p.x1);
    widen(&p.x0, &p.x1);
    size_t *n = calloc(bins, sizeof *n), top = 1;
    if (!n)
        return;
    double w = (p.x1 - p.x0) / (double)bins;
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(v[i]))
            continue;
        size_t b = (size_t)((v[i] - p.x0) / w);
        n[b < bins ? b : bins - 1]++;
    }
    for (size_t b = 0; b < bins; b++)
        top = n[b] > top ? n[b] : top;
    p.y1 = (double)top * 1.05;
    svg_begin(f, standalone, 440, 290, title);
    heading(f, p.left + p.width / 2, title);
    axes(f, &p, x_label, "examples", 0);
    for (size_t b = 0; b < bins; b++) {
        double x = px(&p, p.x0 + w * (double)b);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                   "fill=\"#1f77b4\" stroke=\"#fff\"><title>%.4g to %.4g: %zu"
                   "</title></rect>\n",
                x, py(&p, (double)n[b]), p.width / (double)bins,
                p.top + p.height - py(&p, (double)n[b]), p.x0 + w * (double)b,
                p.x0 + w * (double)(b + 1), n[b]);
    }
    svg_end(f);
    free(n);
}

void svg_colour_bar(FILE *f, int standalone, double scale)
{
    svg_begin(f, standalone, 300, 44, "Colour scale of the weights");
    fputs("<defs><linearGradient id=\"diverging\">", f);
    for (int i = 0; i <= 8; i++) {
        uint8_t rgb[3];
        svg_diverging(-1 + i / 4.0, rgb);
        fprintf(f, "<stop offset=\"%.3f\" stop-color=\"#%02x%02x%02x\"/>",
                i / 8.0, rgb[0], rgb[1], rgb[2]);
    }
    fputs("</linearGradient></defs>\n", f);
    fputs("<rect x=\"40\" y=\"4\" width=\"220\" height=\"16\" "
          "fill=\"url(#diverging)\" stroke=\"#888\"/>\n", f);
    char buf[64];
    snprintf(buf, sizeof buf, "%.3g", -scale);
    text(f, 40, 36, "middle", NULL, buf);
    text(f, 150, 36, "middle", NULL, "0");
    snprintf(buf, sizeof buf, "%.3g", scale);
    text(f, 260, 36, "middle", NULL, buf);
    svg_end(f);
}

void svg_picture_grid(FILE *f, int standalone, const char *title,
                      const uint8_t *const *rgb, const char *const *captions,
                      size_t count, size_t w, size_t h, double cell)
{
    size_t per_row = count < 10 ? count : 10;
    double cw = cell, ch = cell * (double)h / (double)w + 16;
    size_t rows = (count + per_row - 1) / (per_row ? per_row : 1);
    svg_begin(f, standalone, cw * (double)per_row + 8, ch * (double)rows + 28,
              title);
    heading(f, (cw * (double)per_row + 8) / 2, title);
    for (size_t i = 0; i < count; i++) {
        double x = 4 + cw * (double)(i % per_row);
        double y = 24 + ch * (double)(i / per_row);
        fprintf(f, "<image x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                   "style=\"image-rendering:pixelated\" href=\"",
                x + 2, y, cw - 4, ch - 16);
        png_write_data_uri(f, rgb[i], w, h);
        fputs("\"/>\n", f);
        text(f, x + cw / 2, y + ch - 4, "middle", NULL, captions[i]);
    }
    svg_end(f);
}
