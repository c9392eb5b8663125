/* Exporting a model's parameters for other tools. */
#include <stdio.h>
#include <string.h>

#include "../models/model.h"
#include "npy_write.h"

sr_status sr_model_save_npy(const sr_model *model, const char *dir,
                            sr_error *err)
{
    if (!model || !dir)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_model_save_npy: NULL argument");
    for (size_t b = 0; b < model->nblocks; b++) {
        const sr_param_block *blk = &model->blocks[b];
        char path[4096];
        int len = snprintf(path, sizeof path, "%s/%s.npy", dir, blk->name);
        if (len < 0 || (size_t)len >= sizeof path)
            return sr_fail(err, SR_ERR_INVALID_ARG, "%s: path too long", dir);
        sr_status st = sr_npy_write_f32(path, model->params + blk->offset,
                                        blk->rows, blk->cols, err);
        if (st != SR_OK)
            return st;
    }
    /* the standardisation, as 1-row arrays of the inputs */
    const float *scaling[2] = {model->mean, model->inv_std};
    const char *names[2] = {"mean", "inv_std"};
    for (int s = 0; s < 2 && model->mean; s++) {
        char path[4096];
        int len = snprintf(path, sizeof path, "%s/%s.npy", dir, names[s]);
        if (len < 0 || (size_t)len >= sizeof path)
            return sr_fail(err, SR_ERR_INVALID_ARG, "%s: path too long", dir);
        sr_status st = sr_npy_write_f32(path, scaling[s], 1, model->n, err);
        if (st != SR_OK)
            return st;
    }
    return SR_OK;
}
