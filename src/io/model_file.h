/* The softreg model file (.srm): a versioned little-endian binary format
 * holding a model's kind, sizes, feature map, class names and parameters,
 * closed by a CRC-32. docs/model-format.md gives the byte layout. */
#ifndef SR_IO_MODEL_FILE_H
#define SR_IO_MODEL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "../models/model.h"

#define SR_MODEL_FILE_VERSION 2u

/* Writes `model` to `path` atomically: the file is built in memory, written
 * to a temporary file beside `path`, flushed and renamed over it, so `path`
 * holds either its old content or the complete new model. */
sr_status sr_model_save(const sr_model *model, const char *path,
                        sr_error *err);

/* Parses a whole model file held in memory. `name` (e.g. the path; NULL =
 * "(buffer)") appears in every message. Every size is checked against the
 * buffer before anything is allocated. On failure `*out` is untouched. */
/* The file's bytes in a new buffer (sr_dealloc); `path` names the model in
 * messages. */
sr_status sr_model_serialize(const sr_model *model, const char *path,
                             uint8_t **data, size_t *len, sr_error *err);

sr_status sr_model_parse(const uint8_t *buf, size_t len, const char *name,
                         sr_model **out, sr_error *err);

/* Reads and parses `path` (a gzip-compressed file is accepted too). */
sr_status sr_model_load(const char *path, sr_model **out, sr_error *err);

#endif
