/* Tabular data: CSV and LIBSVM/svmlight readers and the label mapping they
 * share. The first part (options and loaders) is meant for the public
 * header; the rest is internal.
 *
 * Class labels. A label may be any integer or string. A label written as an
 * integer (optional sign, decimal digits, optionally ".0...", within int64)
 * is normalised: "+1", "1" and "1.0" are the same class, named "1"; "-0" is
 * "0". Classes are numbered 0..k-1 in this order:
 *   - if every label is an integer, by numeric value (so LIBSVM's -1/+1
 *     become 0/1, and 0..9 stay 0..9);
 *   - otherwise by byte-wise strcmp of the names (normalised where integer).
 * ds->class_names holds the k names in class order. With a reference class
 * list (sr_tabular_options.classes, e.g. a training set's class_names) the
 * classes are exactly that list, in its order, and a label not in it is an
 * error naming the file, line and label.
 *
 * Numbers are read with strtod (C locale), must fill the whole field, and
 * must be finite and within float32 range; anything else is an error.
 * Line numbers in messages are 1-based and count every line of the file
 * (the header, blank lines). CSV column numbers in messages are 1-based too,
 * like the line numbers; label_col takes a 0-based index.
 */
#ifndef SR_DATA_TABULAR_H
#define SR_DATA_TABULAR_H

#include "dataset.h"

/* The options and loaders are public: see include/softreg.h. */

/* ---- Internal ------------------------------------------------------------ */

/* The readers on a memory buffer buf[0..len) (need not end in NUL); `name`
 * is used in messages (NULL = "(buffer)"). */
sr_status sr_csv_parse(const char *buf, size_t len, const char *name,
                       const sr_tabular_options *opt, sr_dataset **out,
                       sr_error *err);
sr_status sr_libsvm_parse(const char *buf, size_t len, const char *name,
                          const sr_tabular_options *opt, sr_dataset **out,
                          sr_error *err);
/* The same for a part of a file whose first line is line `line0` of it
 * (messages name the file's lines). */
sr_status sr_csv_parse_part(const char *buf, size_t len, const char *name,
                            size_t line0, const sr_tabular_options *opt,
                            sr_dataset **out, sr_error *err);
sr_status sr_libsvm_parse_part(const char *buf, size_t len, const char *name,
                               size_t line0, const sr_tabular_options *opt,
                               sr_dataset **out, sr_error *err);

/* The parse's progress at byte `done` of `total`, when opt asks for it
 * and `done` has reached *next (then moved a megabyte on); the first call
 * (*next = 0) reports byte 0, the start, whatever `done`. */
void sr_tab_progress(const sr_tabular_options *opt, size_t done, size_t total,
                     size_t *next);

/* Reads all of the NUL-terminated, non-empty `s` as a finite float32.
 * Returns NULL, or why not as a phrase to follow the quoted text ("is not a
 * number", "is not finite", "is out of float32 range"). */
const char *sr_tab_parse_float(const char *s, float *out);

/* Returns p (holding `used` elements of `size` bytes) with room for at least
 * `need` elements, growing *cap geometrically: either p itself or a new
 * array with the elements copied and p freed. On failure returns NULL, p is
 * untouched and still owned by the caller, and *why is SR_ERR_TOO_BIG or
 * SR_ERR_NOMEM. */
void *sr_tab_grow(void *p, size_t used, size_t *cap, size_t need, size_t size,
                  sr_status *why);

/* Label text -> class mapping while a file is read. Usage: init, add for
 * every example (giving a provisional id), finish (rewrites the ids to the
 * classes of the documented order and hands over the names), free. */
struct sr_label_entry;
typedef struct sr_labels {
    const char *name;              /* file name for messages */
    struct sr_label_entry *entries; /* distinct labels, by id */
    size_t count, cap;
    size_t *slots;                 /* hash table: id + 1, 0 = empty */
    size_t nslots;                 /* a power of two */
    int closed;                    /* reference classes: no new labels */
} sr_labels;

/* `classes`/`k`: the reference list, or NULL/0. A reference with two names
 * that normalise alike is SR_ERR_INVALID_ARG. On failure nothing is held. */
sr_status sr_labels_init(sr_labels *L, const char *name,
                         const char *const *classes, size_t k, sr_error *err);
/* `text` is the label as written (NUL-terminated, non-empty); `line` is for
 * messages. Sets *id to the label's provisional id. */
sr_status sr_labels_add(sr_labels *L, const char *text, size_t line,
                        int32_t *id, sr_error *err);
/* Maps y[0..m) from provisional ids to classes, and sets *names (k strings,
 * owned by the caller, each and the array freed with sr_dealloc) and *k. On
 * failure y and the outputs are untouched. */
sr_status sr_labels_finish(sr_labels *L, int32_t *y, size_t m, char ***names,
                           size_t *k, sr_error *err);
/* Frees what L still holds; safe after a failed or successful finish. */
void sr_labels_free(sr_labels *L);

/* Sharded loading (text_shard.c): every rank's classes made one list,
 * ordered as sr_labels_finish orders a file's, ds's labels renumbered
 * into it. Every rank calls it. */
sr_status sr_labels_agree(sr_dataset *ds, const char *name, sr_error *err);

/* This process's rows of a CSV (csv != 0) or LIBSVM file, read from its
 * share of the bytes (text_shard.c); SR_TEXT_WHOLE, nothing said: a
 * stream or gzip file, to read whole. Every process calls it. */
#define SR_TEXT_WHOLE ((sr_status)100)
sr_status sr_text_load_shard(const char *path, int csv,
                             const sr_tabular_options *opt, size_t unit,
                             sr_dataset **out, sr_error *err);

/* The delimiter sr_csv_parse detects in buf (its first line). */
char sr_csv_delimiter(const char *buf, size_t len);

#endif
