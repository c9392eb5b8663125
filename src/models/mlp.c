/* The course's two-layer network: logits = ReLU(X W1) W2, W1 (n, d),
 * W2 (d, k), no biases. */
#include "model.h"

void sr_mlp_forward(const sr_model *model, const sr_batch *b,
                    sr_workspace *ws, float *logits)
{
    size_t d = model->d, k = model->k, B = b->count;
    const float *W1 = model->params + model->blocks[0].offset;
    const float *W2 = model->params + model->blocks[1].offset;
    /* Z1 = ReLU(X W1) is (B, d); logits = Z1 W2 is (B, k) */
    sr_x_matmul(ws->hidden, b, W1, d);
    sr_relu(ws->hidden, B * d);
    sr_matmul(logits, ws->hidden, W2, B, d, k);
}

double sr_mlp_batch_grad(const sr_model *model, const sr_batch *b,
                         sr_workspace *ws)
{
    size_t d = model->d, k = model->k, B = b->count;
    const float *W2 = model->params + model->blocks[1].offset;
    float *dW1 = ws->grad + model->blocks[0].offset;
    float *dW2 = ws->grad + model->blocks[1].offset;
    float *Z1 = ws->hidden, *G2 = ws->logits, *G1 = ws->dhidden;
    const int32_t *y = b->ds->y;

    sr_mlp_forward(model, b, ws, G2);
    double loss = 0.0;
    for (size_t i = 0; i < B; i++)
        loss += sr_softmax_xent_grad(G2 + i * k, y + sr_batch_row(b, i), 1, k);
    /* G2 = softmax(Z1 W2) - I_y;  G1 = 1{Z1 > 0} o (G2 W2^T) */
    sr_matmul_nt(G1, G2, W2, B, k, d);
    sr_drelu(G1, Z1, B * d);
    /* dW1 = X^T G1;  dW2 = Z1^T G2 */
    sr_xt_matmul(dW1, b, G1, d);
    sr_matmul_tn(dW2, Z1, G2, B, d, k);
    return loss;
}
