/* Softmax regression: logits = X theta, theta (n, k). */
#include "model.h"

void sr_softmax_forward(const sr_model *model, const sr_batch *b,
                        sr_workspace *ws, float *logits)
{
    (void)ws;
    sr_x_matmul(logits, b, model->params, model->k);
}

double sr_softmax_batch_grad(const sr_model *model, const sr_batch *b,
                             sr_workspace *ws)
{
    size_t k = model->k;
    const int32_t *y = b->ds->y;
    float *Z = ws->logits;
    sr_x_matmul(Z, b, model->params, k);
    /* The batch's labels, gathered so the fused kernel reads them in order. */
    double loss = 0.0;
    for (size_t i = 0; i < b->count; i++)
        loss += sr_softmax_xent_grad(Z + i * k, y + sr_batch_row(b, i), 1, k);
    /* d theta = X^T (softmax(X theta) - I_y) */
    sr_xt_matmul(ws->grad, b, Z, k);
    return loss;
}
