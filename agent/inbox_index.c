/* inbox_index.c: an inbox's candidates found by name in constant time: a hash index over the candidate array.
 * A scan per name made a backlog quadratic: 10,000 waiting files cost 50 million strcmp per inbox sweep. */
#include "config.h"
#include "inbox_index.h"
#include "inbox.h"
#include "strutil.h"
#include <stdlib.h>
#include <string.h>

static size_t home_slot(const char *name, size_t cap)
{
    return (size_t)bd_fnv1a(name) & (cap - 1);
}

static void insert(bd_name_index *x, const bd_candidate *c, size_t pos)
{
    size_t s = home_slot(c[pos].name, x->cap);
    while (x->slot[s])
        s = (s + 1) & (x->cap - 1);
    x->slot[s] = (uint32_t)pos + 1;
}

static int rebuild(bd_name_index *x, const bd_candidate *c, size_t n)
{
    size_t cap = 64;
    while (cap < 2 * (n + 1))
        cap *= 2;
    if (n >= UINT32_MAX)
        return -1;
    if (cap != x->cap) {
        uint32_t *grown = realloc(x->slot, cap * sizeof *grown);
        if (!grown)
            return -1;
        x->slot = grown;
        x->cap = cap;
    }
    memset(x->slot, 0, x->cap * sizeof *x->slot);
    for (size_t i = 0; i < n; i++)
        if (c[i].name)
            insert(x, c, i);
    x->valid = 1;
    return 0;
}

long bd_name_index_find(bd_name_index *x, const bd_candidate *c, size_t n, const char *name)
{
    if (!x->valid && rebuild(x, c, n) < 0) {
        for (size_t i = 0; i < n; i++)
            if (c[i].name && strcmp(c[i].name, name) == 0)
                return (long)i;
        return -1;
    }
    for (size_t s = home_slot(name, x->cap); x->slot[s]; s = (s + 1) & (x->cap - 1)) {
        size_t pos = x->slot[s] - 1;
        if (pos < n && c[pos].name && strcmp(c[pos].name, name) == 0)
            return (long)pos;
    }
    return -1;
}

void bd_name_index_added(bd_name_index *x, const bd_candidate *c, size_t n)
{
    if (x->valid && 2 * n <= x->cap && c[n - 1].name)
        insert(x, c, n - 1);
    else
        x->valid = 0; /* half full (or never built): rebuilt, larger, by the next find */
}

void bd_name_index_free(bd_name_index *x)
{
    free(x->slot);
    *x = (bd_name_index){0};
}
