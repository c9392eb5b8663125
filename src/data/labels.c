/* What the tabular readers share: options, number parsing, array growth and
 * the mapping of label text to classes (order documented in tabular.h). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../dist/dist.h"
#include "tabular.h"

/* Longest label shown in a message; longer ones are cut. */
#define LABEL_SHOWN 60

void sr_tab_progress(const sr_tabular_options *opt, size_t done, size_t total,
                     size_t *next)
{
    if (!opt->progress || done < *next)
        return;
    /* the first call says the parse starts (done 0: the caller's clock) */
    if (*next == 0)
        done = 0;
    *next = done + (1u << 20);
    sr_progress p = {0, done, total, 0.0, SR_PROGRESS_LOAD};
    opt->progress(&p, opt->progress_user);
}

sr_tabular_options sr_tabular_options_default(void)
{
    sr_tabular_options opt;
    memset(&opt, 0, sizeof opt);
    opt.task = SR_TASK_CLASSIFICATION;
    opt.label_col = NULL;
    opt.header = SR_CSV_HEADER_AUTO;
    opt.delimiter = 0;
    opt.classes = NULL;
    opt.k = 0;
    opt.features = 0;
    return opt;
}

sr_status sr_tabular_options_check(const sr_tabular_options *opt,
                                   sr_error *err)
{
    if (!opt)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "sr_tabular_options_check: NULL options");
    if (opt->task != SR_TASK_CLASSIFICATION && opt->task != SR_TASK_REGRESSION &&
        opt->task != SR_TASK_UNLABELLED)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "task %d is neither classification (0) nor regression (1)",
                       (int)opt->task);
    if (opt->header != SR_CSV_HEADER_AUTO && opt->header != SR_CSV_HEADER_YES &&
        opt->header != SR_CSV_HEADER_NO)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "header %d is not auto (0), yes (1) or no (2)",
                       (int)opt->header);
    char d = opt->delimiter;
    if (d != 0 && d != ',' && d != ';' && d != '\t' && d != ' ')
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "delimiter 0x%02x is not one of ',' ';' tab space, or 0 "
                       "to detect it",
                       (unsigned)(unsigned char)d);
    if (opt->k > 0 && !opt->classes)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "k = %zu reference classes but the class list is NULL",
                       opt->k);
    if (opt->classes && opt->k == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "a reference class list is given with k = 0");
    if (opt->classes && opt->task == SR_TASK_REGRESSION)
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "reference classes apply to classification only, and "
                       "the task is regression");
    if (opt->k > INT32_MAX)
        return sr_fail(err, SR_ERR_TOO_BIG,
                       "k = %zu reference classes: at most %ld are supported",
                       opt->k, (long)INT32_MAX);
    for (size_t c = 0; c < opt->k; c++)
        if (!opt->classes[c] || !opt->classes[c][0])
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "reference class %zu is %s", c,
                           opt->classes[c] ? "empty" : "NULL");
    return SR_OK;
}

const char *sr_tab_parse_float(const char *s, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0')
        return "is not a number";
    if (isnan(v))
        return "is not finite";
    if (isinf(v))
        return errno == ERANGE ? "is out of range" : "is not finite";
    /* Underflow (ERANGE with a tiny result) is accepted: the value is near 0. */
    if (fabs(v) > FLT_MAX)
        return "is out of float32 range";
    *out = (float)v;
    return NULL;
}

void *sr_tab_grow(void *p, size_t used, size_t *cap, size_t need, size_t size,
                  sr_status *why)
{
    if (need <= *cap)
        return p;
    size_t ncap = *cap < 16 ? 16 : *cap;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    size_t bytes;
    if (sr_mul_overflows(ncap, size, &bytes)) {
        *why = SR_ERR_TOO_BIG;
        return NULL;
    }
    void *np = sr_alloc(bytes);
    if (!np) {
        *why = SR_ERR_NOMEM;
        return NULL;
    }
    if (used)
        memcpy(np, p, used * size);
    sr_dealloc(p);
    *cap = ncap;
    return np;
}

/* ---- Label mapping ------------------------------------------------------ */

struct sr_label_entry {
    char *key;      /* the class name: as written, or normalised integer */
    int64_t value;  /* when is_int */
    int is_int;
};

/* Recognises [+-]?[0-9]+(\.0*)? within int64, with its value. */
static int parse_int_label(const char *s, int64_t *value)
{
    const char *p = s;
    int neg = 0;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (*p < '0' || *p > '9')
        return 0;
    uint64_t mag = 0;
    const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned digit = (unsigned)(*p - '0');
        if (mag > (limit - digit) / 10)
            return 0;
        mag = mag * 10 + digit;
    }
    if (*p == '.')
        for (p++; *p == '0'; p++)
            ;
    if (*p != '\0')
        return 0;
    if (neg)
        *value = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    else
        *value = (int64_t)mag;
    return 1;
}

/* The class name of `text`: the normalised integer (written into buf) or the
 * text itself. */
static const char *label_key(const char *text, char *buf, size_t bufsz,
                             int64_t *value, int *is_int)
{
    *is_int = parse_int_label(text, value);
    if (!*is_int)
        return text;
    snprintf(buf, bufsz, "%lld", (long long)*value);
    return buf;
}

static size_t hash_str(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return (size_t)h;
}

/* The slot holding `key`, or the empty slot where it belongs. */
static size_t find_slot(const sr_labels *L, const char *key)
{
    size_t mask = L->nslots - 1;
    for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask) {
        size_t s = L->slots[i];
        if (s == 0 || strcmp(L->entries[s - 1].key, key) == 0)
            return i;
    }
}

/* Keeps the table at most half full. */
static int reserve_slots(sr_labels *L, size_t count)
{
    if (count < L->nslots / 2)
        return 1;
    size_t n = L->nslots ? L->nslots : 16;
    while (count >= n / 2) {
        if (n > SIZE_MAX / 2 / sizeof *L->slots)
            return 0;
        n *= 2;
    }
    size_t *slots = sr_alloc_zeroed(n, sizeof *slots);
    if (!slots)
        return 0;
    sr_dealloc(L->slots);
    L->slots = slots;
    L->nslots = n;
    for (size_t id = 0; id < L->count; id++)
        L->slots[find_slot(L, L->entries[id].key)] = id + 1;
    return 1;
}

/* Appends a new distinct label; `slot` is stale after this. */
static sr_status insert(sr_labels *L, const char *key, int64_t value,
                        int is_int, sr_error *err)
{
    if (L->count >= INT32_MAX)
        return sr_fail(err, SR_ERR_TOO_BIG, "%s: more than %ld distinct labels",
                       L->name, (long)INT32_MAX);
    sr_status why = SR_ERR_NOMEM;
    struct sr_label_entry *e = sr_tab_grow(L->entries, L->count, &L->cap,
                                           L->count + 1, sizeof *e, &why);
    if (!e)
        return sr_fail(err, why, "%s: out of memory for %zu labels", L->name,
                       L->count + 1);
    L->entries = e;
    if (!reserve_slots(L, L->count + 1))
        return sr_fail(err, SR_ERR_NOMEM, "%s: out of memory for %zu labels",
                       L->name, L->count + 1);
    size_t len = strlen(key);
    char *copy = sr_alloc(len + 1);
    if (!copy)
        return sr_fail(err, SR_ERR_NOMEM, "%s: out of memory for a label",
                       L->name);
    memcpy(copy, key, len + 1);
    e[L->count].key = copy;
    e[L->count].value = value;
    e[L->count].is_int = is_int;
    L->slots[find_slot(L, copy)] = L->count + 1;
    L->count++;
    return SR_OK;
}

sr_status sr_labels_init(sr_labels *L, const char *name,
                         const char *const *classes, size_t k, sr_error *err)
{
    memset(L, 0, sizeof *L);
    L->name = name ? name : "(buffer)";
    sr_status st = SR_OK;
    for (size_t c = 0; c < k; c++) {
        char buf[32];
        int64_t value;
        int is_int;
        const char *key = label_key(classes[c], buf, sizeof buf, &value, &is_int);
        if (L->nslots && L->slots[find_slot(L, key)]) {
            st = sr_fail(err, SR_ERR_INVALID_ARG,
                         "reference classes %zu and %zu are the same class "
                         "\"%.*s\"",
                         (size_t)(L->slots[find_slot(L, key)] - 1), c,
                         LABEL_SHOWN, key);
            goto fail;
        }
        st = insert(L, key, value, is_int, err);
        if (st != SR_OK)
            goto fail;
    }
    L->closed = k > 0;
    return SR_OK;
fail:
    sr_labels_free(L);
    return st;
}

sr_status sr_labels_add(sr_labels *L, const char *text, size_t line,
                        int32_t *id, sr_error *err)
{
    char buf[32];
    int64_t value;
    int is_int;
    const char *key = label_key(text, buf, sizeof buf, &value, &is_int);
    if (L->nslots) {
        size_t s = L->slots[find_slot(L, key)];
        if (s) {
            *id = (int32_t)(s - 1);
            return SR_OK;
        }
    }
    if (L->closed)
        return sr_fail(err, SR_ERR_FORMAT,
                       "%s:%zu: label \"%.*s\"%s is not one of the %zu "
                       "reference classes",
                       L->name, line, LABEL_SHOWN, text,
                       strlen(text) > LABEL_SHOWN ? "..." : "", L->count);
    sr_status st = insert(L, key, value, is_int, err);
    if (st != SR_OK)
        return st;
    *id = (int32_t)(L->count - 1);
    return SR_OK;
}

struct rank_item {
    const struct sr_label_entry *e;
    size_t id;
};

static int by_value(const void *a, const void *b)
{
    int64_t x = ((const struct rank_item *)a)->e->value;
    int64_t y = ((const struct rank_item *)b)->e->value;
    return (x > y) - (x < y);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct rank_item *)a)->e->key,
                  ((const struct rank_item *)b)->e->key);
}

sr_status sr_labels_finish(sr_labels *L, int32_t *y, size_t m, char ***names,
                           size_t *k, sr_error *err)
{
    size_t count = L->count;
    char **nm = sr_alloc_array(count, sizeof *nm);
    struct rank_item *items = sr_alloc_array(count, sizeof *items);
    int32_t *remap = sr_alloc_array(count, sizeof *remap);
    sr_status st = SR_OK;
    if (!nm || !items || !remap) {
        st = sr_fail(err, SR_ERR_NOMEM, "%s: out of memory for %zu classes",
                     L->name, count);
        goto fail;
    }
    int all_int = 1;
    for (size_t id = 0; id < count; id++) {
        items[id].e = &L->entries[id];
        items[id].id = id;
        all_int &= L->entries[id].is_int;
    }
    /* A reference list is already in class order. Keys are distinct, so the
     * order does not depend on qsort's (in)stability. */
    if (!L->closed && count > 1)
        qsort(items, count, sizeof *items, all_int ? by_value : by_name);
    for (size_t c = 0; c < count; c++) {
        remap[items[c].id] = (int32_t)c;
        nm[c] = items[c].e->key;
    }
    for (size_t i = 0; i < m; i++)
        y[i] = remap[y[i]];
    for (size_t id = 0; id < count; id++)
        L->entries[id].key = NULL;
    *names = nm;
    *k = count;
    nm = NULL;
fail:
    sr_dealloc(nm);
    sr_dealloc(items);
    sr_dealloc(remap);
    return st;
}

void sr_labels_free(sr_labels *L)
{
    if (!L)
        return;
    for (size_t id = 0; id < L->count; id++)
        sr_dealloc(L->entries[id].key);
    sr_dealloc(L->entries);
    sr_dealloc(L->slots);
    memset(L, 0, sizeof *L);
}

sr_status sr_labels_agree(sr_dataset *ds, const char *name, sr_error *err)
{
    /* every rank's class names, in rank order, as one list */
    size_t k = ds->k, bytes = 0;
    for (size_t c = 0; c < k; c++)
        bytes += strlen(ds->class_names[c]) + 1;
    char *mine = sr_alloc(bytes ? bytes : 1);
    size_t N = (size_t)sr_dist_size(), r = (size_t)sr_dist_rank();
    uint64_t *lens = sr_alloc_array(N, sizeof *lens);
    int32_t *id = sr_alloc_array(k ? k : 1, sizeof *id);
    uint8_t *all = NULL;
    sr_labels L;
    int ready = 0;
    char **names = NULL;
    size_t count = 0;
    sr_status st = SR_OK;
    if (!mine || !lens || !id) {
        st = sr_fail(err, SR_ERR_NOMEM, "%s: out of memory for %zu classes",
                     name, k);
        goto done;
    }
    for (size_t c = 0, at = 0; c < k; c++) {
        size_t len = strlen(ds->class_names[c]) + 1;
        memcpy(mine + at, ds->class_names[c], len);
        at += len;
    }
    if ((st = sr_dist_allgather_bytes(mine, bytes, &all, lens, err)) != SR_OK ||
        (st = sr_labels_init(&L, name, NULL, 0, err)) != SR_OK)
        goto done;
    ready = 1;
    /* the union, ordered by the rule of one file (sr_labels_finish); this
     * rank's names map to their places in it */
    size_t at = 0;
    for (size_t q = 0; q < N; q++) {
        size_t end = at + (size_t)lens[q], c = 0;
        while (at < end) {
            const char *text = (const char *)all + at;
            int32_t slot;
            if ((st = sr_labels_add(&L, text, 0, &slot, err)) != SR_OK)
                goto done;
            if (q == r)
                id[c++] = slot;
            at += strlen(text) + 1;
        }
    }
    if ((st = sr_labels_finish(&L, id, k, &names, &count, err)) != SR_OK)
        goto done;
    for (size_t i = 0; i < ds->m; i++)
        ds->y[i] = id[ds->y[i]];
    sr_free_strings(ds->class_names, ds->k);
    ds->class_names = names;
    ds->k = count;
done:
    if (ready)
        sr_labels_free(&L);
    sr_dealloc(mine);
    sr_dealloc(lens);
    sr_dealloc(id);
    sr_dealloc(all);
    return st;
}
