/* realize.h: turn one record's trait and signal items into added and removed segments for a partner. */
#ifndef BD_REALIZE_H
#define BD_REALIZE_H
#include "conf.h"
#include "counters.h"
#include <batchdrop/plugin.h>

typedef struct bd_segset {
    int64_t *v;
    size_t n, cap;
} bd_segset;

typedef struct bd_realized {
    bd_segset added, removed;
    unsigned failed_validation; /* trait IDs on this record the partner does not own */
    int64_t first_failed;       /* the first of them, for the error sample */
} bd_realized;

/* Realize the items; updates signals, unused_signals, segments_failed_validation.
 * Returns 0, or -1 when out of memory. Lists come out sorted and unique; a
 * segment both added and removed on one line stays added. */
int bd_realize(const bd_partner *p, const bd_item *items, size_t nitems, bd_realized *out, bd_counters *c);
void bd_realized_free(bd_realized *r);
#endif
