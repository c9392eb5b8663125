/* PNG images for the report page: a small encoder over zlib (8-bit RGB,
 * no filter) and the data: URI that carries one inside the page. */
#ifndef SR_CLI_PNG_H
#define SR_CLI_PNG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A PNG file of the (h, w) RGB image rgb (3 bytes per pixel, row-major) in
 * a new buffer *out of *len bytes (free it). Returns 0 when out of memory
 * or too big. */
int png_encode_rgb(const uint8_t *rgb, size_t w, size_t h, uint8_t **out,
                   size_t *len);

/* Writes "data:image/png;base64,..." of the image to f; returns 0 when out
 * of memory. */
int png_write_data_uri(FILE *f, const uint8_t *rgb, size_t w, size_t h);

#endif
