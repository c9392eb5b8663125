/* Layout (little-endian): magic "SRCKPT\r\n", version u32, the config
 * (u32 kind, optimizer, shuffle, seed; u64 m, n, batch; f64 lr, l2,
 * momentum), u64 epoch, u64 next_row, the generator (624 u32, i32 pos,
 * i32 has_gauss, f64 gauss), u64 norder + norder u64, u64 nvelocity +
 * f32s, f64 best_loss, u64 since_best, u64 nbest + f32s, (version 2:)
 * u64 lazy steps, u64 nlazy + nlazy u64, u64 model bytes + a model file,
 * and a CRC-32 of everything before it. Version 3 adds to the config u32
 * class_weight and u32 data_crc (after momentum). Versions 1 (without the
 * lazy counters) and 2 are read too. */
#include <string.h>

#include <zlib.h>

#include "checkpoint.h"
#include "model_file.h"

#define MAGIC "SRCKPT\r\n"
#define VERSION 3u

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
    int failed;
} buf;

static void put(buf *b, const void *src, size_t len)
{
    if (b->failed)
        return;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        uint8_t *p = sr_alloc(cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        if (b->len)
            memcpy(p, b->p, b->len);
        sr_dealloc(b->p);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, len);
    b->len += len;
}

/* Integers and floats little-endian whatever the host. */
static void put_u32(buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                    (uint8_t)(v >> 24)};
    put(b, x, 4);
}

static void put_u64(buf *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_f64(buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    put_u64(b, u);
}

static void put_f32s(buf *b, const float *x, size_t count)
{
    put_u64(b, x ? count : 0);
    for (size_t i = 0; x && i < count; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        put_u32(b, u);
    }
}

sr_status sr_checkpoint_save(const sr_checkpoint *ck, const char *path,
                             sr_error *err)
{
    buf b = {NULL, 0, 0, 0};
    uint8_t *model = NULL;
    size_t model_len = 0;
    sr_status st = sr_model_serialize(ck->model, path, &model, &model_len, err);
    if (st != SR_OK)
        return st;
    const sr_checkpoint_config *c = &ck->config;
    put(&b, MAGIC, 8);
    put_u32(&b, VERSION);
    put_u32(&b, c->kind);
    put_u32(&b, c->optimizer);
    put_u32(&b, c->shuffle);
    put_u32(&b, c->seed);
    put_u64(&b, c->m);
    put_u64(&b, c->n);
    put_u64(&b, c->batch);
    put_f64(&b, c->lr);
    put_f64(&b, c->l2);
    put_f64(&b, c->momentum);
    put_u32(&b, c->class_weight);
    put_u32(&b, c->data_crc);
    put_u64(&b, ck->epoch);
    put_u64(&b, ck->next_row);
    for (size_t i = 0; i < 624; i++)
        put_u32(&b, ck->rng.key[i]);
    put_u32(&b, (uint32_t)ck->rng.pos);
    put_u32(&b, (uint32_t)ck->rng.has_gauss);
    put_f64(&b, ck->rng.gauss);
    put_u64(&b, ck->order ? ck->norder : 0);
    for (size_t i = 0; ck->order && i < ck->norder; i++)
        put_u64(&b, ck->order[i]);
    put_f32s(&b, ck->velocity, ck->model->nparams);
    put_f64(&b, ck->best_loss);
    put_u64(&b, ck->since_best);
    put_f32s(&b, ck->best, ck->model->nparams);
    put_u64(&b, ck->lazy_steps);
    put_u64(&b, ck->lazy_done ? ck->nlazy : 0);
    for (size_t i = 0; ck->lazy_done && i < ck->nlazy; i++)
        put_u64(&b, ck->lazy_done[i]);
    put_u64(&b, model_len);
    put(&b, model, model_len);
    sr_dealloc(model);
    if (!b.failed)
        put_u32(&b, (uint32_t)crc32(0L, b.p, (uInt)b.len));
    if (b.failed) {
        sr_dealloc(b.p);
        return sr_fail(err, SR_ERR_NOMEM, "%s: out of memory for the checkpoint",
                       path);
    }
    st = sr_write_file_atomic(path, b.p, b.len, err);
    sr_dealloc(b.p);
    return st;
}

typedef struct rd {
    const uint8_t *p;
    size_t len, pos;
    int short_read;
} rd;

static const uint8_t *take(rd *r, size_t n)
{
    if (r->short_read || r->len - r->pos < n) {
        r->short_read = 1;
        return NULL;
    }
    const uint8_t *at = r->p + r->pos;
    r->pos += n;
    return at;
}

static uint32_t get_u32(rd *r)
{
    const uint8_t *x = take(r, 4);
    return x ? (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 |
                   (uint32_t)x[3] << 24
             : 0;
}

static uint64_t get_u64(rd *r)
{
    uint64_t lo = get_u32(r);
    return lo | (uint64_t)get_u32(r) << 32;
}

static double get_f64(rd *r)
{
    uint64_t u = get_u64(r);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

/* count (must be 0 or `want`) then that many floats, into a new array. */
static sr_status get_f32s(rd *r, size_t want, float **out, const char *name,
                          const char *what, sr_error *err)
{
    uint64_t count = get_u64(r);
    *out = NULL;
    if (count == 0 || r->short_read)
        return SR_OK;
    if (count != want || r->len - r->pos < count * 4)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: %s holds %llu values, expected %zu", name, what,
                       (unsigned long long)count, want);
    if (!(*out = sr_alloc_array(count, sizeof **out)))
        return sr_fail(err, SR_ERR_NOMEM, "%s: out of memory", name);
    for (size_t i = 0; i < count; i++) {
        uint32_t u = get_u32(r);
        memcpy(&(*out)[i], &u, 4);
    }
    return SR_OK;
}

sr_status sr_checkpoint_parse(const uint8_t *data, size_t len, const char *name,
                              sr_checkpoint *out, sr_error *err)
{
    if (len < 12 || memcmp(data, MAGIC, 8) != 0)
        return sr_fail(err, SR_ERR_FORMAT, "%s: not a softreg checkpoint", name);
    rd r = {data, len - 4, 8, 0};
    uint32_t version = get_u32(&r);
    if (version < 1 || version > VERSION)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: checkpoint version %u is not one this softreg "
                       "reads (1 to %u)", name, version, VERSION);
    const uint8_t *t = data + len - 4;
    uint32_t stored = (uint32_t)t[0] | (uint32_t)t[1] << 8 |
                      (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
    if (stored != (uint32_t)crc32(0L, data, (uInt)(len - 4)))
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s: checksum mismatch: the checkpoint is corrupted", name);
    sr_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    sr_checkpoint_config *c = &ck.config;
    c->kind = get_u32(&r);
    c->optimizer = get_u32(&r);
    c->shuffle = get_u32(&r);
    c->seed = get_u32(&r);
    c->m = get_u64(&r);
    c->n = get_u64(&r);
    c->batch = get_u64(&r);
    c->lr = get_f64(&r);
    c->l2 = get_f64(&r);
    c->momentum = get_f64(&r);
    if (version >= 3) {
        c->class_weight = get_u32(&r);
        c->data_crc = get_u32(&r);
        c->has_data = 1;
    }
    ck.epoch = get_u64(&r);
    ck.next_row = get_u64(&r);
    for (size_t i = 0; i < 624; i++)
        ck.rng.key[i] = get_u32(&r);
    ck.rng.pos = (int)get_u32(&r);
    ck.rng.has_gauss = (int)get_u32(&r);
    ck.rng.gauss = get_f64(&r);
    sr_status st = SR_OK;
    uint64_t norder = get_u64(&r);
    if (norder) {
        if (norder != c->m || (r.len - r.pos) / 8 < norder) {
            st = sr_fail(err, SR_ERR_FORMAT, "%s: bad example order", name);
            goto fail;
        }
        if (!(ck.order = sr_alloc_array(norder, sizeof *ck.order))) {
            st = sr_fail(err, SR_ERR_NOMEM, "%s: out of memory", name);
            goto fail;
        }
        ck.norder = norder;
        for (size_t i = 0; i < norder; i++)
            if ((ck.order[i] = get_u64(&r)) >= c->m) {
                st = sr_fail(err, SR_ERR_FORMAT, "%s: bad example order", name);
                goto fail;
            }
    }
    /* The model comes last; its size tells the parameter count, so read
     * the arrays after it is known. Remember where they are. */
    size_t arrays_at = r.pos;
    uint64_t nv = get_u64(&r);
    if (nv > (r.len - r.pos) / 4)
        goto truncated;
    r.pos += nv * 4;
    (void)get_f64(&r);
    (void)get_u64(&r);
    uint64_t nb = get_u64(&r);
    if (nb > (r.len - r.pos) / 4)
        goto truncated;
    r.pos += nb * 4;
    if (version >= 2) {
        (void)get_u64(&r);
        uint64_t nl = get_u64(&r);
        if (nl > (r.len - r.pos) / 8)
            goto truncated;
        r.pos += nl * 8;
    }
    uint64_t model_len = get_u64(&r);
    if (r.short_read || model_len != r.len - r.pos)
        goto truncated;
    if ((st = sr_model_parse(r.p + r.pos, model_len, name, &ck.model, err)) != SR_OK)
        goto fail;
    if (ck.next_row > c->m || (ck.order && c->m != norder)) {
        st = sr_fail(err, SR_ERR_FORMAT, "%s: position %llu beyond %llu examples",
                     name, (unsigned long long)ck.next_row,
                     (unsigned long long)c->m);
        goto fail;
    }
    r.pos = arrays_at;
    size_t np = ck.model->nparams;
    if ((st = get_f32s(&r, np, &ck.velocity, name, "the momentum", err)) != SR_OK)
        goto fail;
    ck.best_loss = get_f64(&r);
    ck.since_best = get_u64(&r);
    if ((st = get_f32s(&r, np, &ck.best, name, "the best parameters", err)) != SR_OK)
        goto fail;
    if (version >= 2) {
        ck.lazy_steps = get_u64(&r);
        uint64_t nl = get_u64(&r);
        if (nl && nl != ck.model->n) {
            st = sr_fail(err, SR_ERR_FORMAT,
                         "%s: %llu lazy counters for %zu features", name,
                         (unsigned long long)nl, ck.model->n);
            goto fail;
        }
        if (nl && !(ck.lazy_done = sr_alloc_array(nl, sizeof *ck.lazy_done))) {
            st = sr_fail(err, SR_ERR_NOMEM, "%s: out of memory", name);
            goto fail;
        }
        ck.nlazy = nl;
        for (size_t i = 0; i < nl; i++)
            if ((ck.lazy_done[i] = get_u64(&r)) > ck.lazy_steps) {
                st = sr_fail(err, SR_ERR_FORMAT,
                             "%s: a lazy counter beyond the steps taken", name);
                goto fail;
            }
    }
    if (r.short_read)
        goto truncated;
    *out = ck;
    return SR_OK;
truncated:
    st = sr_fail(err, SR_ERR_FORMAT, "%s: the checkpoint is truncated", name);
fail:
    sr_checkpoint_release(&ck);
    return st;
}

sr_status sr_checkpoint_load(const char *path, sr_checkpoint *ck, sr_error *err)
{
    uint8_t *data;
    size_t len;
    sr_status st = sr_read_file(path, &data, &len, err);
    if (st != SR_OK)
        return st;
    st = sr_checkpoint_parse(data, len, path, ck, err);
    sr_dealloc(data);
    return st;
}

void sr_checkpoint_release(sr_checkpoint *ck)
{
    sr_dealloc(ck->order);
    sr_dealloc(ck->velocity);
    sr_dealloc(ck->best);
    sr_dealloc(ck->lazy_done);
    sr_model_free(ck->model);
    memset(ck, 0, sizeof *ck);
}
