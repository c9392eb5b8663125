/* The report's figures into the page and the --svg-dir files, and its
 * sets of pictures. */
#include <math.h>
#include <stdlib.h>

#include "figure.h"
#include "png.h"
#include "svg.h"

/* Pass 0 draws into the page, pass 1 into "<svg_dir>/<name>.svg"; each
 * call first finishes the previous pass (pass 1: the page's </figure>,
 * pass 2: the SVG file committed) and returns the next pass, or 0 when
 * there is none. Used through FIGURE. */
int figure_pass(page *pg, const char *name, int pass, FILE **f,
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

int pictures_init(pictures *p, size_t count, size_t w, size_t h)
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

void pictures_free(pictures *p)
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

void pictures_emit(page *pg, const char *name, const char *title,
                          const pictures *p, double cell)
{
    if (pg->f) {
        fprintf(pg->f, "<div class=\"pics\" id=\"%s\">\n", name);
        double scale = cell / (double)p->w;
        for (size_t i = 0; i < p->count; i++) {
            fprintf(pg->f, "<div class=\"pic\"><img %s width=\"%.0f\" "
                           "height=\"%.0f\" alt=\"", p->attrs[i], cell,
                    scale * (double)p->h);
            svg_escape(pg->f, p->captions[i]);
            fputs("\" src=\"", pg->f);
            png_write_data_uri(pg->f, p->rgb[i], p->w, p->h);
            fputs("\"/>", pg->f);
            svg_escape(pg->f, p->captions[i]);
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

void gray_picture(const float *x, size_t n, float lo, float hi,
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

