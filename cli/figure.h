/* Where the report's figures go: inline in the page and, with --svg-dir,
 * each into an SVG file of its own (FIGURE draws a figure into both); and
 * sets of pictures (PNG data URIs in the page, an SVG grid in --svg-dir).
 * Shared by the report's sections (cli/report_*.c). */
#ifndef SR_CLI_FIGURE_H
#define SR_CLI_FIGURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tools.h"

/* Where the figures go: the page (inline) and, with --svg-dir, a file per
 * figure. */
typedef struct page {
    FILE *f;             /* the page, or NULL without one */
    const char *svg_dir; /* or NULL */
    int ok;              /* 0 once an SVG file failed (message printed) */
    tool_out svg;        /* the SVG file being written */
} page;

int figure_pass(page *pg, const char *name, int pass, FILE **f,
                int *standalone);

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


/* A set of pictures: in the page a row of <img> (each with the attributes
 * attrs[i], may be NULL), in --svg-dir one SVG grid. */
typedef struct pictures {
    size_t count, w, h;
    uint8_t **rgb;
    char **captions;
    char **attrs;
} pictures;

int pictures_init(pictures *p, size_t count, size_t w, size_t h);
void pictures_free(pictures *p);
/* The set under `name` (the page's element id, the SVG file's name), each
 * picture `cell` pixels wide. */
void pictures_emit(page *pg, const char *name, const char *title,
                   const pictures *p, double cell);

/* The n values x as grey pixels, lo white to hi black (ink on paper). */
void gray_picture(const float *x, size_t n, float lo, float hi, uint8_t *rgb);

#endif
