/* lookup_batch.h: trait records held back until a batch of their user IDs is looked up in the match store at once. */
#ifndef BD_LOOKUP_BATCH_H
#define BD_LOOKUP_BATCH_H
#include "matchstore.h"
#include "realize.h"
#include <stddef.h>
#include <stdint.h>

/* Records per batch: as many as the store reads best at once (bd_matchreader_batch_hint: the LMDB B-tree, read
 * in key order, gains up to 262,144, where more keys share a leaf), at most 1/BD_LOOKUP_BATCH_MEMORY_SHARE of the
 * process's memory limit at BD_LOOKUP_BATCH_BYTES_PER_RECORD bytes each, and at least BD_LOOKUP_BATCH_RECORDS_MIN. */
#define BD_LOOKUP_BATCH_RECORDS_MIN 4096
#define BD_LOOKUP_BATCH_BYTES_PER_RECORD 512 /* a record's slots, its sort entry and room for its ID and segments */
#define BD_LOOKUP_BATCH_MEMORY_SHARE 32      /* two batches (the helper's and the filling one) and the sort */

/* One realized record: its ID and segments live in the batch's arenas until the flush. */
typedef struct bd_pending_record {
    uint64_t line;
    size_t id_off, seg_off;
    uint32_t id_len, nadded, nremoved;
    unsigned failed_validation;
    int64_t first_failed;
    uint64_t signals, unused_signals, segments_failed_validation; /* counted only if the user resolves */
} bd_pending_record;

typedef struct bd_lookup_batch {
    bd_pending_record *rec;
    bd_match_key *keys;
    bd_match_result *results;
    size_t n;
    char *ids;
    size_t ids_used, ids_cap;
    int64_t *segs;
    size_t segs_used, segs_cap;
    size_t max_records, max_bytes; /* when it is full: records, or copied ID and segment bytes */
} bd_lookup_batch;

/* Size an empty batch: up to want records, for a process limited to memory_limit bytes (0: no limit). */
void bd_lookup_batch_size_for(bd_lookup_batch *b, size_t want, uint64_t memory_limit);

/* Copy a realized record in (deltas: the counters its realization added). -1 when out of memory. */
int bd_lookup_batch_add(bd_lookup_batch *b, uint64_t line, int64_t dpid, const char *id, size_t id_len,
                        const bd_realized *r, const bd_counters *deltas);
int bd_lookup_batch_full(const bd_lookup_batch *b);
/* The batch's lookup keys (their ID pointers set now that the arena no longer moves). */
const bd_match_key *bd_lookup_batch_keys(bd_lookup_batch *b);
const char *bd_lookup_batch_id(const bd_lookup_batch *b, size_t i);
/* Views of record i's segment lists (pointing into the batch; valid until the next reset). */
void bd_lookup_batch_segments(const bd_lookup_batch *b, size_t i, bd_segset *added, bd_segset *removed);
void bd_lookup_batch_reset(bd_lookup_batch *b);
void bd_lookup_batch_free(bd_lookup_batch *b);
#endif
