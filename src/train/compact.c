/* Training on the features present (compact.h). */
#include <string.h>

#include "../dist/dist.h"
#include "compact.h"

/* Compaction pays when it leaves at most this share of the features. */
#define KEEP_SHARE 0.5

sr_status sr_compaction_plan(const sr_model *model, const sr_dataset *train,
                             int zero_start, sr_compaction *c, sr_error *err)
{
    memset(c, 0, sizeof *c);
    if (!zero_start || model->kind == SR_MODEL_NN || train->n != model->n)
        return SR_OK;
    return sr_compaction_of_data(train, c, err);
}

/* map[j] = 1 where any rank's rows have feature j. */
static int agree_columns(uint32_t *map, size_t n)
{
    uint64_t *any = sr_alloc_array(n ? n : 1, sizeof *any);
    if (!any)
        return 0;
    for (size_t j = 0; j < n; j++)
        any[j] = map[j];
    sr_dist_reduce_u64(any, n, 1);
    for (size_t j = 0; j < n; j++)
        map[j] = (uint32_t)any[j];
    sr_dealloc(any);
    return 1;
}

sr_status sr_compaction_of_data(const sr_dataset *train, sr_compaction *c,
                                sr_error *err)
{
    memset(c, 0, sizeof *c);
    int u8 = train->layout == SR_FEATURES_U8_SPARSE;
    if (!u8 && train->layout != SR_FEATURES_CSR)
        return SR_OK;
    size_t n = train->n;
    uint32_t *map = sr_alloc_zeroed(n, sizeof *map);
    if (!map)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu features", n);
    size_t nnz = train->row_ptr[train->m] - train->row_ptr[0];
    for (size_t p = train->row_ptr[0]; p < train->row_ptr[0] + nnz; p++)
        map[u8 ? train->col16[p] : train->col[p]] = 1;
    /* a shard keeps the features of any rank's rows */
    if (train->sharded && !agree_columns(map, n)) {
        sr_dealloc(map);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu features",
                       n);
    }
    size_t kept = 0;
    for (size_t j = 0; j < n; j++)
        map[j] = map[j] ? (uint32_t)kept++ : UINT32_MAX;
    if ((double)kept > KEEP_SHARE * (double)n || kept == 0) {
        sr_dealloc(map);
        return SR_OK;
    }
    c->map = map;
    c->n_raw = n;
    c->n = kept;
    return SR_OK;
}

sr_status sr_compaction_data(const sr_compaction *c, const sr_dataset *ds,
                             sr_dataset **out, sr_error *err)
{
    return sr_dataset_remap_columns(ds, c->map, c->n, out, err);
}

sr_status sr_compaction_model(const sr_compaction *c, const sr_model *full,
                              sr_model **out, sr_error *err)
{
    sr_model_spec spec = {full->kind, c->n, full->k, full->d, full->bias};
    return sr_model_create(&spec, out, err);
}

sr_status sr_compaction_model_copy(const sr_compaction *c,
                                   const sr_model *full, sr_model **out,
                                   sr_error *err)
{
    sr_model *m = NULL;
    sr_status st = sr_compaction_model(c, full, &m, err);
    if (st != SR_OK)
        return st;
    size_t w = full->blocks[0].cols;
    const float *src = full->params + full->blocks[0].offset;
    float *dst = m->params + m->blocks[0].offset;
    for (size_t j = 0; j < c->n_raw; j++)
        if (c->map[j] != UINT32_MAX)
            memcpy(dst + (size_t)c->map[j] * w, src + j * w, w * sizeof *dst);
    for (size_t b = 1; b < full->nblocks; b++)
        memcpy(m->params + m->blocks[b].offset,
               full->params + full->blocks[b].offset,
               full->blocks[b].rows * full->blocks[b].cols * sizeof(float));
    *out = m;
    return SR_OK;
}

void sr_compaction_expand(const sr_compaction *c, const sr_model *compact,
                          sr_model *full)
{
    size_t k = full->k;
    float *theta = full->params + full->blocks[0].offset;
    const float *src = compact->params + compact->blocks[0].offset;
    for (size_t j = 0; j < c->n_raw; j++)
        if (c->map[j] != UINT32_MAX)
            memcpy(theta + j * k, src + (size_t)c->map[j] * k,
                   k * sizeof *theta);
    for (size_t b = 1; b < full->nblocks; b++)
        memcpy(full->params + full->blocks[b].offset,
               compact->params + compact->blocks[b].offset,
               full->blocks[b].rows * full->blocks[b].cols * sizeof(float));
}

void sr_compaction_release(sr_compaction *c)
{
    sr_dealloc(c->map);
    memset(c, 0, sizeof *c);
}
