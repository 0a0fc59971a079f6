/* idcount.c: an open-addressing table of 64-bit ID hashes with counts, for per-file ID statistics. */
#include "config.h"
#include "idcount.h"
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    uint64_t hash; /* 0 = empty */
    uint32_t count;
} slot;

struct bd_idcount {
    slot *slots;
    size_t cap, used;
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

bd_idcount *bd_idcount_new(void)
{
    bd_idcount *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cap = 1024;
    c->slots = calloc(c->cap, sizeof *c->slots);
    if (!c->slots) {
        free(c);
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

uint32_t bd_idcount_add(bd_idcount *c, const void *id, size_t len)
{
    if ((c->used + 1) * 10 > c->cap * 7 && grow(c) < 0)
        return 0;
    uint64_t h = bd_hash64(id, len);
    slot *s = find_slot(c->slots, c->cap, h);
    if (!s->hash) {
        s->hash = h;
        c->used++;
    }
    if (s->count < UINT32_MAX)
        s->count++;
    return s->count;
}

size_t bd_idcount_distinct(const bd_idcount *c)
{
    return c->used;
}

void bd_idcount_free(bd_idcount *c)
{
    if (!c)
        return;
    free(c->slots);
    free(c);
}
