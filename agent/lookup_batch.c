/* lookup_batch.c: the arenas behind batched match-store lookups (records copied in, looked up and written in order). */
#include "config.h"
#include "lookup_batch.h"
#include <stdlib.h>
#include <string.h>

static int reserve(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 4096;
    while (ncap < need)
        ncap *= 2;
    void *nb = realloc(*buf, ncap * elem);
    if (!nb)
        return -1;
    *buf = nb;
    *cap = ncap;
    return 0;
}

void bd_lookup_batch_size_for(bd_lookup_batch *b, size_t want, uint64_t memory_limit)
{
    uint64_t records = memory_limit / BD_LOOKUP_BATCH_MEMORY_SHARE / BD_LOOKUP_BATCH_BYTES_PER_RECORD;
    if (memory_limit == 0 || records > want)
        records = want;
    if (records < BD_LOOKUP_BATCH_RECORDS_MIN)
        records = BD_LOOKUP_BATCH_RECORDS_MIN;
    b->max_records = (size_t)records;
    b->max_bytes = (size_t)records * (BD_LOOKUP_BATCH_BYTES_PER_RECORD / 2);
}

static int ensure_records(bd_lookup_batch *b)
{
    if (b->rec)
        return 0;
    if (!b->max_records)
        bd_lookup_batch_size_for(b, BD_LOOKUP_BATCH_RECORDS_MIN, 0);
    b->rec = malloc(b->max_records * sizeof *b->rec);
    b->keys = malloc(b->max_records * sizeof *b->keys);
    b->results = malloc(b->max_records * sizeof *b->results);
    return b->rec && b->keys && b->results ? 0 : -1;
}

int bd_lookup_batch_add(bd_lookup_batch *b, uint64_t line, int64_t dpid, const char *id, size_t id_len,
                        const bd_realized *r, const bd_counters *deltas)
{
    size_t nsegs = r->added.n + r->removed.n;
    if (ensure_records(b) < 0 || reserve((void **)&b->ids, &b->ids_cap, b->ids_used + id_len + 1, 1) < 0 ||
        reserve((void **)&b->segs, &b->segs_cap, b->segs_used + nsegs, sizeof *b->segs) < 0)
        return -1;
    bd_pending_record *p = &b->rec[b->n];
    *p = (bd_pending_record){.line = line, .id_off = b->ids_used, .seg_off = b->segs_used,
                             .id_len = (uint32_t)id_len, .nadded = (uint32_t)r->added.n,
                             .nremoved = (uint32_t)r->removed.n, .failed_validation = r->failed_validation,
                             .first_failed = r->first_failed, .signals = deltas->signals,
                             .unused_signals = deltas->unused_signals,
                             .segments_failed_validation = deltas->segments_failed_validation};
    memcpy(b->ids + b->ids_used, id, id_len);
    b->ids[b->ids_used + id_len] = '\0';
    b->ids_used += id_len + 1;
    if (r->added.n)
        memcpy(b->segs + b->segs_used, r->added.v, r->added.n * sizeof *b->segs);
    if (r->removed.n)
        memcpy(b->segs + b->segs_used + r->added.n, r->removed.v, r->removed.n * sizeof *b->segs);
    b->segs_used += nsegs;
    b->keys[b->n] = (bd_match_key){.dpid = dpid, .id_len = id_len};
    b->n++;
    return 0;
}

int bd_lookup_batch_full(const bd_lookup_batch *b)
{
    return b->n >= b->max_records || b->ids_used + b->segs_used * sizeof *b->segs >= b->max_bytes;
}

const bd_match_key *bd_lookup_batch_keys(bd_lookup_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        b->keys[i].id = b->ids + b->rec[i].id_off;
    return b->keys;
}

const char *bd_lookup_batch_id(const bd_lookup_batch *b, size_t i)
{
    return b->ids + b->rec[i].id_off;
}

void bd_lookup_batch_segments(const bd_lookup_batch *b, size_t i, bd_segset *added, bd_segset *removed)
{
    const bd_pending_record *p = &b->rec[i];
    *added = (bd_segset){.v = b->segs + p->seg_off, .n = p->nadded, .cap = p->nadded};
    *removed = (bd_segset){.v = b->segs + p->seg_off + p->nadded, .n = p->nremoved, .cap = p->nremoved};
}

void bd_lookup_batch_reset(bd_lookup_batch *b)
{
    b->n = b->ids_used = b->segs_used = 0;
}

void bd_lookup_batch_free(bd_lookup_batch *b)
{
    free(b->rec);
    free(b->keys);
    free(b->results);
    free(b->ids);
    free(b->segs);
    *b = (bd_lookup_batch){.max_records = b->max_records, .max_bytes = b->max_bytes};
}
