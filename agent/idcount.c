/* idcount.c: per-file ID statistics in bounded memory: exact for the first IDs, sketches past BD_IDCOUNT_EXACT_MAX. */
#include "config.h"
#include "idcount.h"
#include "sketch.h"
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    uint64_t hash; /* 0 = empty */
    uint32_t count;
} slot;

struct bd_idcount {
    slot *slots;
    size_t cap, used;
    bd_cms *overflow_counts; /* IDs first seen once the table is full; made on first need */
    bd_hll *distinct;        /* every ID, for the distinct count past the table's size */
    int counts, overflowed;  /* counts per ID wanted; an ID went past the full table */
};

/* Eight bytes at a time (IDs are 10 to 40 bytes), then a murmur3-style finalizer so close IDs spread well. */
uint64_t bd_hash64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ULL ^ (len * 0x9e3779b97f4a7c15ULL);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h ? h : 1;
}

bd_idcount *bd_idcount_new(int counts)
{
    bd_idcount *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->counts = counts;
    c->cap = 1024;
    c->slots = calloc(c->cap, sizeof *c->slots);
    c->distinct = bd_hll_new();
    if (!c->slots || !c->distinct) {
        bd_idcount_free(c);
        return NULL;
    }
    return c;
}

static slot *find_slot(slot *slots, size_t cap, uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);
    while (slots[i].hash && slots[i].hash != h)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static int grow(bd_idcount *c)
{
    size_t ncap = c->cap * 2;
    slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i].hash)
            *find_slot(ns, ncap, c->slots[i].hash) = c->slots[i];
    free(c->slots);
    c->slots = ns;
    c->cap = ncap;
    return 0;
}

/* The table is full once it holds BD_IDCOUNT_EXACT_MAX IDs; it never grows past that. */
static int table_full(const bd_idcount *c)
{
    return c->used >= BD_IDCOUNT_EXACT_MAX;
}

static uint32_t count_in_sketch(bd_idcount *c, uint64_t h)
{
    c->overflowed = 1;
    if (!c->counts)
        return 1;
    if (!c->overflow_counts && !(c->overflow_counts = bd_cms_new()))
        return 0;
    return bd_cms_add(c->overflow_counts, h);
}

uint64_t bd_idcount_prefetch(const bd_idcount *c, const void *id, size_t len)
{
    uint64_t h = bd_hash64(id, len);
    __builtin_prefetch(&c->slots[(size_t)h & (c->cap - 1)]);
    if (c->overflow_counts)
        bd_cms_prefetch(c->overflow_counts, h);
    return h;
}

uint32_t bd_idcount_add(bd_idcount *c, const void *id, size_t len)
{
    return bd_idcount_add_hash(c, bd_hash64(id, len));
}

uint32_t bd_idcount_add_hash(bd_idcount *c, uint64_t h)
{
    if (!table_full(c) && (c->used + 1) * 10 > c->cap * 7 && grow(c) < 0)
        return 0;
    bd_hll_add(c->distinct, h);
    if (c->overflowed && !c->counts)
        return 1; /* distinct only, past the table: the estimate has it, the table cannot add to it */
    slot *s = find_slot(c->slots, c->cap, h);
    if (!s->hash) {
        if (table_full(c))
            return count_in_sketch(c, h);
        s->hash = h;
        c->used++;
    }
    if (s->count < UINT32_MAX)
        s->count++;
    return s->count;
}

size_t bd_idcount_distinct(const bd_idcount *c)
{
    if (!c->overflowed)
        return c->used; /* every ID is in the table: exact */
    uint64_t estimate = bd_hll_estimate(c->distinct);
    return estimate > c->used ? (size_t)estimate : c->used;
}

int bd_idcount_exact(const bd_idcount *c)
{
    return !c->overflowed;
}

void bd_idcount_free(bd_idcount *c)
{
    if (!c)
        return;
    free(c->slots);
    bd_cms_free(c->overflow_counts);
    bd_hll_free(c->distinct);
    free(c);
}
