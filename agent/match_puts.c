/* match_puts.c: buffered ID-sync puts sorted by key, with the first 16 key bytes compared as integers. */
#include "config.h"
#include "match_puts.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PREFETCH_AHEAD 8

typedef struct put {
    uint64_t head[2]; /* key bytes 0-15, big-endian, zero-padded: most comparisons end here */
    uint32_t off;     /* into the arena: key bytes, then value bytes */
    uint32_t seq;     /* arrival order: of two puts of one key, the later wins */
    uint16_t klen, vlen;
} put;

struct bd_match_puts {
    put *v;
    size_t n, cap;
    unsigned char *arena;
    size_t used, arena_cap;
    uint32_t seq;
};

bd_match_puts *bd_match_puts_new(void)
{
    return calloc(1, sizeof(bd_match_puts));
}

static uint64_t be_word(const unsigned char *key, size_t klen, size_t from)
{
    uint64_t w = 0;
    for (size_t i = 0; i < 8; i++)
        w = (w << 8) | (from + i < klen ? key[from + i] : 0);
    return w;
}

static int grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap + *cap / 4 : 65536; /* by a quarter: little slack on a buffer of gigabytes */
    while (ncap < need)
        ncap += ncap / 4;
    void *nb = realloc(*buf, ncap * elem);
    if (!nb) {
        errno = ENOMEM;
        return -1;
    }
    *buf = nb;
    *cap = ncap;
    return 0;
}

int bd_match_puts_add(bd_match_puts *p, const void *key, size_t klen, const void *val, size_t vlen)
{
    if (p->used + klen + vlen > UINT32_MAX || klen > UINT16_MAX || vlen > UINT16_MAX) {
        errno = ENOMEM; /* the caller drains long before this */
        return -1;
    }
    if (grow((void **)&p->v, &p->cap, p->n + 1, sizeof *p->v) < 0 ||
        grow((void **)&p->arena, &p->arena_cap, p->used + klen + vlen, 1) < 0)
        return -1;
    memcpy(p->arena + p->used, key, klen);
    memcpy(p->arena + p->used + klen, val, vlen);
    p->v[p->n++] = (put){{be_word(key, klen, 0), be_word(key, klen, 8)}, (uint32_t)p->used, p->seq++,
                         (uint16_t)klen, (uint16_t)vlen};
    p->used += klen + vlen;
    return 0;
}

size_t bd_match_puts_count(const bd_match_puts *p)
{
    return p->n;
}

size_t bd_match_puts_bytes(const bd_match_puts *p)
{
    return p->cap * sizeof *p->v + p->arena_cap;
}

/* Key order; equal keys by arrival. Zero padding plus the length tie-break keep memcmp's prefix rule. */
static int key_cmp(const put *x, const put *y, const unsigned char *arena)
{
    for (int i = 0; i < 2; i++)
        if (x->head[i] != y->head[i])
            return x->head[i] < y->head[i] ? -1 : 1;
    if (x->klen > 16 && y->klen > 16) {
        size_t n = (x->klen < y->klen ? x->klen : y->klen) - 16u;
        int c = memcmp(arena + x->off + 16, arena + y->off + 16, n);
        if (c)
            return c;
    }
    return (x->klen > y->klen) - (x->klen < y->klen);
}

static int by_key_then_seq(const void *a, const void *b, void *arena)
{
    const put *x = a, *y = b;
    int c = key_cmp(x, y, arena);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

int bd_match_puts_drain(bd_match_puts *p, bd_match_put_fn fn, void *arg)
{
    qsort_r(p->v, p->n, sizeof *p->v, by_key_then_seq, p->arena);
    int rc = 0;
    for (size_t i = 0; i < p->n && rc == 0; i++) {
        const put *x = &p->v[i];
        if (i + PREFETCH_AHEAD < p->n) /* key order visits the arena at random: ask for the bytes early */
            __builtin_prefetch(p->arena + p->v[i + PREFETCH_AHEAD].off);
        if (i + 1 < p->n && key_cmp(x, &p->v[i + 1], p->arena) == 0)
            continue; /* a later put of this key follows */
        rc = fn(arg, p->arena + x->off, x->klen, p->arena + x->off + x->klen, x->vlen);
    }
    p->n = p->used = 0;
    p->seq = 0;
    return rc;
}

void bd_match_puts_free(bd_match_puts *p)
{
    if (!p)
        return;
    free(p->v);
    free(p->arena);
    free(p);
}
