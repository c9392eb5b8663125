/* Minibatch SGD's epochs, with checkpoints, interrupts and the evaluation
 * beside the next epoch. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../dist/dist.h"
#include "run.h"

static sr_checkpoint_config config_of(run *R)
{
    const sr_train_params *p = R->p;
    if (!R->data_crc_known) {
        R->data_crc = sr_dataset_crc(R->train);
        R->data_crc_known = 1;
    }
    sr_checkpoint_config c = {(uint32_t)p->model, (uint32_t)p->optimizer,
                              (uint32_t)(p->shuffle != 0), p->seed,
                              sr_dataset_rows_all(R->train), R->train->n, p->batch, p->lr, p->l2,
                              p->momentum, (uint32_t)p->class_weight,
                              R->data_crc, 1};
    return c;
}

/* Writes the state after `next_row` rows of epoch `epoch` (0 = the epoch's
 * start); `order` is that epoch's order when it is shuffled and under way. */
sr_status sr_run_save_checkpoint(run *R, size_t epoch, size_t next_row,
                                 const sr_rng *rng, size_t *order,
                                 sr_error *err)
{
    /* More than one process: every rank holds the same state; rank 0
     * writes it. */
    if (sr_dist_rank() != 0)
        return SR_OK;
    sr_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    ck.config = config_of(R);
    ck.epoch = epoch;
    ck.next_row = next_row;
    ck.rng = *rng;
    ck.order = next_row ? order : NULL;
    ck.norder = R->train->m;
    ck.velocity = R->e.velocity;
    ck.best_loss = R->best ? R->best_loss : 0.0;
    ck.since_best = R->since_best;
    ck.best = R->best;
    ck.lazy_steps = R->e.steps;
    ck.lazy_done = R->e.done;
    ck.nlazy = R->e.done ? R->model->n : 0;
    ck.model = R->model;
    return sr_checkpoint_save(&ck, R->p->checkpoint_path, err);
}

/* Checks that a checkpoint belongs to this run and takes its state. */
sr_status sr_run_restore(run *R, sr_rng *rng, sr_error *err)
{
    const sr_checkpoint *ck = R->resume;
    sr_checkpoint_config want = config_of(R);
    const sr_checkpoint_config *c = &ck->config;
    const sr_model *m = ck->model, *here = R->model;
    /* Every field that differs, named with both values. */
    char diff[768] = "";
    size_t used = 0;
#define DIFFERS(cond, ...)                                                    \
    do {                                                                      \
        if (cond) {                                                           \
            int w_ = snprintf(diff + used, sizeof diff - used, "%s",          \
                              used ? "; " : "");                              \
            if (w_ > 0 && (size_t)w_ < sizeof diff - used)                    \
                used += (size_t)w_;                                           \
            w_ = snprintf(diff + used, sizeof diff - used, __VA_ARGS__);      \
            if (w_ > 0 && (size_t)w_ < sizeof diff - used)                    \
                used += (size_t)w_;                                           \
        }                                                                     \
    } while (0)
    DIFFERS(c->kind != want.kind, "model %s, not %s",
            sr_model_kind_name((sr_model_kind)c->kind),
            sr_model_kind_name((sr_model_kind)want.kind));
    DIFFERS(c->optimizer != want.optimizer, "optimizer number %u, not %u",
            (unsigned)c->optimizer, (unsigned)want.optimizer);
    DIFFERS(c->m != want.m, "%llu training examples, not %llu",
            (unsigned long long)c->m, (unsigned long long)want.m);
    DIFFERS(c->n != want.n, "%llu features, not %llu",
            (unsigned long long)c->n, (unsigned long long)want.n);
    DIFFERS(c->batch != want.batch, "--batch %llu, not %llu",
            (unsigned long long)c->batch, (unsigned long long)want.batch);
    DIFFERS(c->lr != want.lr, "--lr %g, not %g", c->lr, want.lr);
    DIFFERS(c->l2 != want.l2, "--l2 %g, not %g", c->l2, want.l2);
    DIFFERS(c->momentum != want.momentum, "--momentum %g, not %g",
            c->momentum, want.momentum);
    DIFFERS(c->shuffle != want.shuffle, "--shuffle %s, not %s",
            c->shuffle ? "on" : "off", want.shuffle ? "on" : "off");
    DIFFERS(c->seed != want.seed, "--seed %u, not %u", (unsigned)c->seed,
            (unsigned)want.seed);
    DIFFERS(c->has_data && c->class_weight != want.class_weight,
            "--class-weight %s, not %s", c->class_weight ? "balanced" : "none",
            want.class_weight ? "balanced" : "none");
    DIFFERS(c->has_data && c->m == want.m && c->n == want.n &&
                c->data_crc != want.data_crc,
            "other training data (CRC-32 %08lx, not %08lx)",
            (unsigned long)c->data_crc, (unsigned long)want.data_crc);
    DIFFERS(m->bias != here->bias, "biases %s, not %s",
            m->bias ? "on" : "off", here->bias ? "on" : "off");
    DIFFERS(!m->mean != !here->mean, "--standardize %s, not %s",
            m->mean ? "on" : "off", here->mean ? "on" : "off");
    DIFFERS(m->poly != here->poly, "--poly %u, not %u", m->poly,
            here->poly);
    DIFFERS(m->d != here->d, "%zu hidden units, not %zu", m->d, here->d);
    DIFFERS(m->k != here->k, "%zu outputs, not %zu", m->k, here->k);
#undef DIFFERS
    if (used || m->nparams != here->nparams)
        return sr_fail(err, SR_ERR_MISMATCH,
                       "%s was written by another training run: %s (the "
                       "checkpoint's first); resume with the options and "
                       "data that wrote it", R->p->resume_path,
                       used ? diff : "another model shape");
    memcpy(R->model->params, m->params, m->nparams * sizeof *m->params);
    if (ck->velocity && R->e.velocity)
        memcpy(R->e.velocity, ck->velocity, m->nparams * sizeof(float));
    sr_status st = sr_engine_set_lazy(&R->e, ck->lazy_steps, ck->lazy_done,
                                      ck->nlazy, err);
    if (st != SR_OK)
        return st;
    sr_engine_params_changed(&R->e);
    if (ck->best && R->best) {
        memcpy(R->best, ck->best, m->nparams * sizeof(float));
        R->best_loss = ck->best_loss;
        R->since_best = ck->since_best;
    }
    *rng = ck->rng;
    return SR_OK;
}

sr_status sr_run_interrupted(run *R, size_t epoch, size_t row, sr_error *err)
{
    if (R->p->checkpoint_path)
        return sr_fail(err, SR_ERR_INTERRUPTED,
                       "interrupted in epoch %zu after %zu examples; the "
                       "training state is in %s (continue with --resume %s)",
                       epoch, row, R->p->checkpoint_path,
                       R->p->checkpoint_path);
    return sr_fail(err, SR_ERR_INTERRUPTED,
                   "interrupted in epoch %zu after %zu examples", epoch, row);
}

/* The engine's minibatch hook, as the public progress callback. */
static void progress(void *user, size_t done)
{
    run *R = user;
    sr_progress pr = {R->progress_epoch, done, sr_dataset_rows_all(R->train),
                      sr_run_seconds() - R->progress_t0, SR_PROGRESS_EPOCH};
    R->p->progress(&pr, R->p->progress_user);
}

sr_status sr_run_sgd(run *R, sr_error *err)
{
    const sr_train_params *p = R->p;
    /* every rank's rows: a shard's epoch runs them all (engine.h) */
    size_t m = sr_dataset_rows_all(R->train);
    size_t batch = p->batch < m ? p->batch : m;
    size_t *order = NULL;
    sr_rng rng;
    sr_rng_seed(&rng, p->seed);
    if (p->shuffle && !(order = sr_alloc_array(m, sizeof *order)))
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for the shuffled order");
    sr_step step = {p->lr, p->l2, p->momentum};
    sr_status st = SR_OK;
    size_t epoch = 0, start = 0;
    if (R->resume) {
        if ((st = sr_run_restore(R, &rng, err)) != SR_OK)
            goto done;
        epoch = R->resume->epoch;
        start = R->resume->next_row;
        if (start && order && R->resume->order)
            memcpy(order, R->resume->order, m * sizeof *order);
    }
    for (; epoch < p->epochs && !R->stop; epoch++, start = 0) {
        double t0 = sr_run_seconds(), loss;
        size_t end = m;
        /* Mid-epoch resumes keep the epoch's order, already drawn. */
        if (order && start == 0)
            sr_rng_permutation(&rng, order, m);
        if (p->progress) {
            R->e.progress = progress;
            R->e.progress_user = R;
            R->progress_epoch = epoch;
            R->progress_t0 = t0;
        }
        st = sr_engine_sgd_epoch_from(&R->e, R->model, R->train, order, batch,
                                      &step, epoch, start, p->interrupt, &end,
                                      &loss, err);
        /* The epoch before is reported first, whatever happened since. */
        if (sr_overlap_finish(R) && st == SR_OK && R->stop) {
            /* The callback stopped at the epoch before: its parameters,
             * as a run without the overlap would end (its checkpoint is
             * already the last written). */
            memcpy(R->model->params, sr_overlap_params(R),
                   R->model->nparams * sizeof(float));
            break;
        }
        if (st != SR_OK)
            break;
        if (end < m) {
            if (p->checkpoint_path &&
                (st = sr_run_save_checkpoint(R, epoch, end, &rng, order, err)) != SR_OK)
                break;
            st = sr_run_interrupted(R, epoch, end, err);
            break;
        }
        R->finished = epoch + 1;
        if (R->epoch_params)
            memcpy(R->epoch_params, R->model->params,
                   R->model->nparams * sizeof(float));
        int full = start == 0;
        /* The last epoch's evaluation has no SGD to go beside: it runs
         * here, on every thread. */
        if (epoch + 1 < p->epochs &&
            sr_overlap_decide(R, full, p->epochs - epoch - 1,
                              sr_run_seconds() - t0)) {
            sr_overlap_start(R, epoch, sr_run_seconds() - t0);
        } else {
            double t1 = sr_run_seconds();
            size_t sgd_threads = sr_overlap_all_threads(R);
            sr_run_end_epoch(R, epoch, t1 - t0);
            R->e.team.threads_now = sgd_threads;
            sr_overlap_measured(R, full, sr_run_seconds() - t1);
        }
        if (p->checkpoint_path &&
            (st = sr_run_save_checkpoint(R, epoch + 1, 0, &rng, order, err)) != SR_OK)
            break;
    }
    sr_overlap_finish(R);
done:
    sr_dealloc(order);
    return st;
}
