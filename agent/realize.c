/* realize.c: map trait IDs (checked against the partner's segments) and signals (through its rules) to segments. */
#include "config.h"
#include "realize.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int segset_add(bd_segset *s, int64_t seg)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 16;
        int64_t *nv = realloc(s->v, ncap * sizeof *nv);
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = ncap;
    }
    s->v[s->n++] = seg;
    return 0;
}

static int cmp_seg(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* A line holds a handful of traits: insertion sort beats qsort's setup below this many. */
#define SMALL_SORT 16

static void insertion_sort(int64_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        int64_t x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

static void segset_sort_unique(bd_segset *s)
{
    if (s->n < 2)
        return;
    if (s->n <= SMALL_SORT)
        insertion_sort(s->v, s->n);
    else
        qsort(s->v, s->n, sizeof *s->v, cmp_seg);
    size_t o = 1;
    for (size_t i = 1; i < s->n; i++)
        if (s->v[i] != s->v[o - 1])
            s->v[o++] = s->v[i];
    s->n = o;
}

/* Drop from `removed` what `added` holds: both sorted and unique. */
static void segset_subtract(bd_segset *removed, const bd_segset *added)
{
    size_t o = 0, j = 0;
    for (size_t i = 0; i < removed->n; i++) {
        while (j < added->n && added->v[j] < removed->v[i])
            j++;
        if (j < added->n && added->v[j] == removed->v[i])
            continue;
        removed->v[o++] = removed->v[i];
    }
    removed->n = o;
}

static int rule_matches(const bd_rule *r, const bd_item *it)
{
    return strlen(r->key) == it->key_len && strncasecmp(r->key, it->key, it->key_len) == 0 &&
           strlen(r->value) == it->value_len && memcmp(r->value, it->value, it->value_len) == 0;
}

static int realize_signal(const bd_partner *p, const bd_item *it, bd_realized *out, bd_counters *c)
{
    int used = 0;
    for (size_t i = 0; i < p->nrules; i++) {
        if (!rule_matches(&p->rules[i], it))
            continue;
        if (segset_add(&out->added, p->rules[i].segment) < 0)
            return -1;
        used = 1;
    }
    if (!used)
        c->unused_signals++;
    return 0;
}

static int realize_trait(const bd_partner *p, const bd_item *it, bd_realized *out, bd_counters *c)
{
    if (!bd_partner_owns_segment(p, it->trait)) {
        if (!out->failed_validation++)
            out->first_failed = it->trait;
        c->segments_failed_validation++;
        return 0;
    }
    return segset_add(it->kind == BD_ITEM_ADD ? &out->added : &out->removed, it->trait);
}

int bd_realize(const bd_partner *p, const bd_item *items, size_t nitems, bd_realized *out, bd_counters *c)
{
    out->added.n = out->removed.n = 0;
    out->failed_validation = 0;
    for (size_t i = 0; i < nitems; i++) {
        const bd_item *it = &items[i];
        c->signals++;
        int rc = it->kind == BD_ITEM_SIGNAL ? realize_signal(p, it, out, c) : realize_trait(p, it, out, c);
        if (rc < 0)
            return -1;
    }
    segset_sort_unique(&out->added);
    segset_sort_unique(&out->removed);
    segset_subtract(&out->removed, &out->added);
    return 0;
}

void bd_realized_free(bd_realized *r)
{
    free(r->added.v);
    free(r->removed.v);
    memset(r, 0, sizeof *r);
}
