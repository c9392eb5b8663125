/* The layout of sr_dataset, shared by the readers, the kernels and training. */
#ifndef SR_DATA_DATASET_H
#define SR_DATA_DATASET_H

#include "../core/internal.h"

typedef enum sr_feature_layout {
    SR_FEATURES_U8 = 0,  /* dense uint8 pixels (m, n), value sr_pixel_scale[v] */
    SR_FEATURES_F32 = 1, /* dense float32 */
    SR_FEATURES_CSR = 2, /* sparse rows: row_ptr, col, val (float32) */
    SR_FEATURES_U8_SPARSE = 3 /* sparse uint8 pixels: row_ptr, col16, val8 */
} sr_feature_layout;

/* Labels: class indices for classification; real targets for regression. */
struct sr_dataset {
    size_t m;            /* examples */
    size_t n;            /* features */
    size_t k;            /* classes: 1 + largest label (0 if no labels) */
    sr_feature_layout layout;

    uint8_t *x_u8;       /* (m, n) when layout == SR_FEATURES_U8 */
    float *x_f32;        /* (m, n) when layout == SR_FEATURES_F32 */
    /* When set, x_f32 or x_u8 lies in this mapping of a file (unmapped,
     * not freed): the page cache's pages, neither copied nor zeroed. */
    void *x_map;
    size_t x_map_len;
    size_t *row_ptr;     /* m + 1 entries when layout == SR_FEATURES_CSR */
    uint32_t *col;       /* column of each stored value, ascending per row */
    float *val;
    /* MNIST's pixels are ~81% zeros: the non-zero ones of every image are
     * listed once, at load, as (uint16 column, uint8 value) pairs, so that
     * products skip the zeros and the data take 27 MB instead of 47. */
    uint16_t *col16;
    uint8_t *val8;

    int32_t *y;          /* (m) class indices in [0, k), or NULL */
    float *targets;      /* (m, t) regression targets, or NULL */
    size_t t;            /* number of regression targets */
    size_t ignored;      /* LIBSVM entries beyond the expected features,
                          * left out */

    char **class_names;  /* k names, or NULL when classes are 0..k-1 */
    /* A CSV file's header: the features' names (n of them) and the label
     * column's name and position among the file's columns, or NULL */
    char **feature_names;
    char *label_name;
    size_t label_col;
    char *labels_file;   /* the file whose row i gave y[i], for messages;
                          * NULL when unknown (a subset, arrays) */
    size_t rows, cols;   /* image shape for IDX data, 0 otherwise */
    /* When set, every array but the columns (col or col16) is that data
     * set's, which must outlive this one (sr_dataset_remap_columns). */
    const sr_dataset *shares;
    /* What lies in the caller's memory (sr_dataset_view_*): neither copied
     * nor freed. */
    unsigned borrows;
    /* Sharded (several MPI processes, shard.c): this process holds rows
     * [row0, row0 + m) of all m_all rows, row0 a multiple of the shard
     * unit; class_counts (k of them) counts every process's
     * rows; bytes_read is what its reader read of the files. */
    int sharded;
    size_t row0, m_all;
    size_t *class_counts;
    uint64_t bytes_read;
    float range[2];      /* every rank's smallest and largest value */
};

/* A shard's rows are whole units (softreg.h's SR_SHARD_UNIT by default),
 * so that every block of a full pass (256 rows dense, 4096 sparse) and
 * every evaluation chunk lies in one process: the blocks stay those of
 * one process. */

/* The rows of every process: m_all when sharded, else m. */
static inline size_t sr_dataset_rows_all(const sr_dataset *ds)
{
    return ds->sharded ? ds->m_all : ds->m;
}

/* This process's rows [*first, *last) of m rows cut into shards (whole
 * units of `unit` rows, 0 meaning SR_SHARD_UNIT, contiguous in rank order, sizes differing by
 * one unit at most, the first ranks taking more). */
void sr_shard_rows(size_t m, size_t unit, size_t *first, size_t *last);

/* Marks ds, holding rows [row0, row0 + m) of every process's rows, as
 * sharded: agrees the total, the classes (k, the largest) and their
 * counts. Every process calls it. */
sr_status sr_dataset_agree_shard(sr_dataset *ds, size_t row0, sr_error *err);

/* The shard fields of `from` copied into `to` (a data set derived from
 * it row for row). */
sr_status sr_dataset_copy_shard(sr_dataset *to, const sr_dataset *from,
                                sr_error *err);

#define SR_BORROWS_FEATURES 1u /* x_f32, x_u8, or row_ptr, col and val */
#define SR_BORROWS_LABELS 2u   /* y or targets */

/* An empty data set with every pointer NULL. */
sr_dataset *sr_dataset_new(sr_error *err);

/* A CRC-32 of ds's features, labels and targets: whether a checkpoint was
 * written for these data. */
uint32_t sr_dataset_crc(const sr_dataset *ds);

/* A copy of `count` strings (NULL gives NULL); sr_free_strings frees it. */
sr_status sr_copy_strings(char *const *names, size_t count, char ***out,
                          sr_error *err);
void sr_free_strings(char **names, size_t count);

/* Records the file ds's labels came from (for messages naming a bad
 * label's file). */
sr_status sr_dataset_set_labels_file(sr_dataset *ds, const char *path,
                                     sr_error *err);

/* Sets ds's features from dense pixels (m, n), copied: kept dense
 * (SR_FEATURES_U8) when at least half are non-zero, else the non-zero ones
 * listed, as pixel lists (SR_FEATURES_U8_SPARSE) when their columns fit in
 * 16 bits (n <= 65536), or as float CSR (SR_FEATURES_CSR) holding exactly
 * sr_pixel_scale[v]. */
sr_status sr_dataset_set_pixels(sr_dataset *ds, const uint8_t *pixels,
                                size_t m, size_t n, sr_error *err);
/* The same, except that pixels which stay dense stay in the caller's
 * memory (SR_BORROWS_FEATURES). */
sr_status sr_dataset_lend_pixels(sr_dataset *ds, const uint8_t *pixels,
                                 size_t m, size_t n, sr_error *err);
/* The same from the view of a file holding them at `offset`: pixels that
 * stay dense stay in the view's mapping, if it has one, which ds then
 * owns (view->mapped becomes NULL). */
sr_status sr_dataset_set_pixels_from(sr_dataset *ds, sr_file_view *view,
                                     size_t offset, size_t m, size_t n,
                                     sr_error *err);

/* sr_dataset_set_pixels for a shard: the layout is the one every
 * process's rows together ask for (every process calls it). */
sr_status sr_dataset_set_pixels_shard(sr_dataset *ds, const uint8_t *pixels,
                                      size_t m, size_t n, sr_error *err);

/* A new data set holding rows[0..count) of ds, in that order, in the same
 * layout, with their labels and the class names. */
sr_status sr_dataset_subset(const sr_dataset *ds, const size_t *rows,
                            size_t count, sr_dataset **out, sr_error *err);

/* A new sparse data set (CSR or pixel lists, as ds) whose column j is
 * ds's column c where map[c] == j; columns mapped to UINT32_MAX are
 * dropped. n becomes n_new. When no stored entry is dropped, the new set
 * has columns of its own and shares everything else with ds (`shares`),
 * so ds must outlive it; else labels, targets and class names are
 * copied. */
sr_status sr_dataset_remap_columns(const sr_dataset *ds, const uint32_t *map,
                                   size_t n_new, sr_dataset **out,
                                   sr_error *err);

/* Number of stored (possibly non-zero) features of row r. */
size_t sr_dataset_row_nnz(const sr_dataset *ds, size_t r);

/* One example's features as a list of (column, value) entries in
 * increasing column order, for code that walks rows one by one (feature
 * maps, checks); training reads the data through the kernels' views. */
typedef struct sr_row {
    size_t nnz;
    const uint16_t *col16; /* sparse pixels */
    const uint32_t *col32; /* sparse floats */
    const uint8_t *u8;     /* pixel values (sparse or dense) */
    const float *f32;      /* float values (sparse or dense) */
} sr_row;

static inline sr_row sr_dataset_row(const sr_dataset *ds, size_t r)
{
    sr_row x = {0, NULL, NULL, NULL, NULL};
    switch (ds->layout) {
    case SR_FEATURES_U8_SPARSE:
        x.nnz = ds->row_ptr[r + 1] - ds->row_ptr[r];
        x.col16 = ds->col16 + ds->row_ptr[r];
        x.u8 = ds->val8 + ds->row_ptr[r];
        break;
    case SR_FEATURES_CSR:
        x.nnz = ds->row_ptr[r + 1] - ds->row_ptr[r];
        x.col32 = ds->col + ds->row_ptr[r];
        x.f32 = ds->val + ds->row_ptr[r];
        break;
    case SR_FEATURES_F32:
        x.nnz = ds->n;
        x.f32 = ds->x_f32 + r * ds->n;
        break;
    case SR_FEATURES_U8:
        x.nnz = ds->n;
        x.u8 = ds->x_u8 + r * ds->n;
        break;
    }
    return x;
}

static inline size_t sr_row_col(const sr_row *x, size_t p)
{
    return x->col16 ? x->col16[p] : x->col32 ? x->col32[p] : p;
}

static inline float sr_row_val(const sr_row *x, size_t p)
{
    return x->u8 ? sr_pixel_scale[x->u8[p]] : x->f32[p];
}

#endif
