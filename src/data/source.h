/* A file read front to back in pieces the caller places, raw or
 * gzip-compressed (told apart by the gzip magic bytes, as sr_read_file
 * does), so that a reader can put a file's payload straight where it will
 * stay instead of holding the whole file in a buffer first. Messages name
 * the file and match sr_read_file's. */
#ifndef SR_DATA_SOURCE_H
#define SR_DATA_SOURCE_H

#include "../core/internal.h"

struct sr_inflate;

typedef struct sr_source {
    const char *path;        /* for messages; not copied */
    int fd;
    int regular;             /* a regular file, whose size is known */
    uint64_t size;           /* that size in bytes (as stored: compressed) */
    uint8_t head[2];         /* bytes read to tell gzip apart, still to */
    size_t head_len, head_pos; /* be delivered (raw files) */
    struct sr_inflate *z;    /* gzip state, or NULL for a raw file */
    size_t offset;           /* bytes delivered so far */
} sr_source;

/* Opens `path` for reading. On failure nothing is held. */
sr_status sr_source_open(const char *path, sr_source *src, sr_error *err);

/* Reads the next `want` bytes into dst; *got < want only at the end of
 * the data. A cut-off or corrupt gzip stream is SR_ERR_FORMAT. */
sr_status sr_source_read(sr_source *src, void *dst, size_t want, size_t *got,
                         sr_error *err);

/* Reads on to the end, counting the bytes left (into *rest). */
sr_status sr_source_skip_rest(sr_source *src, size_t *rest, sr_error *err);

/* At most how many bytes are still to come: exact for a raw regular file
 * (unless it changes while read), 1032 times its stored size for a gzip
 * one (deflate's largest ratio), SIZE_MAX for pipes and other streams.
 * Readers check a size a header announces against it before allocating. */
size_t sr_source_bound(const sr_source *src);

/* Releases what the source holds; accepts a zeroed or closed source. */
void sr_source_close(sr_source *src);

#endif
