/* matchstore.h: the ID-match table interface: (DPID, partner user ID) -> our 38-digit user ID. */
#ifndef BD_MATCHSTORE_H
#define BD_MATCHSTORE_H
#include <stddef.h>
#include <stdint.h>

#define BD_OURID_LEN 38    /* our user IDs are AAM-style UUIDs: 38 decimal digits */
#define BD_MATCH_MAX_ID 400 /* longest partner ID the table keys */
#define BD_MATCH_MAX_HOPS 8 /* links followed when one namespace maps through another */

typedef struct bd_matchstore bd_matchstore;

/* Batched lookups: a key is a partner ID in a DPID's namespace; a result is our ID or no match. */
typedef struct bd_match_key {
    int64_t dpid;
    const char *id;
    size_t id_len;
} bd_match_key;
typedef struct bd_match_result {
    int found; /* 1: ours holds our ID; 0: no match */
    char ours[BD_OURID_LEN + 1];
} bd_match_result;
typedef struct bd_matchreader bd_matchreader;
typedef struct bd_matchbatch bd_matchbatch;

/* A backend implements these; the public functions below dispatch to them. */
typedef struct bd_matchstore_ops {
    const char *name;
    bd_matchreader *(*reader_open)(bd_matchstore *ms, char *err, size_t errlen);
    int (*lookup)(bd_matchreader *r, int64_t dpid, const char *id, size_t len, char ours[BD_OURID_LEN + 1]);
    void (*reader_close)(bd_matchreader *r);
    bd_matchbatch *(*batch_begin)(bd_matchstore *ms, char *err, size_t errlen);
    int (*batch_put)(bd_matchbatch *b, int64_t dpid, const char *id, size_t len, int64_t to_dpid, const char *to,
                     size_t to_len);
    int (*batch_commit)(bd_matchbatch *b, char *err, size_t errlen);
    void (*batch_abort)(bd_matchbatch *b);
    int (*count)(bd_matchstore *ms, uint64_t *entries);
    void (*close)(bd_matchstore *ms);
    /* optional: n lookups at once (sorted, pipelined...); NULL: lookup is called n times */
    int (*lookup_many)(bd_matchreader *r, const bd_match_key *keys, bd_match_result *results, size_t n);
    /* optional: why the reader's last lookup failed ("" or NULL when the backend does not say) */
    const char *(*reader_error)(bd_matchreader *r);
    /* optional: how many keys its lookup_many reads best at once (0 or NULL: BD_MATCH_BATCH_DEFAULT) */
    size_t (*batch_hint)(bd_matchreader *r);
    /* optional: what the reader's lookup_many reads ("lookup index"; NULL: the backend's name) */
    const char *(*reader_source)(bd_matchreader *r);
    /* optional: a read-optimised lookup index (LMDB: match_index.h) */
    int (*index_open)(bd_matchstore *ms);
    int (*index_fresh)(bd_matchstore *ms);
    int (*index_build)(bd_matchstore *ms, uint64_t *entries, char *err, size_t errlen);
} bd_matchstore_ops;

struct bd_matchstore {
    const bd_matchstore_ops *ops;
};

/* LMDB backend: a memory-mapped B-tree under dir, readable by many processes at once. */
bd_matchstore *bd_matchstore_open_lmdb(const char *dir, uint64_t map_size, int readonly, char *err, size_t errlen);

/* Redis backend (standalone or Cluster, through redis_cluster.c): keys "<key_prefix>m:<dpid>:<partner id>", values
 * "U<38 digits>" or "L<dpid>:<id>" (a link), see matchstore_redis.c. Connects at once to every node (the worker
 * calls it before its sandbox, which forbids new sockets). NULL on a permanent failure (bad password, bad
 * address, out of memory) with err. When no server answers (a transient failure) the store is still returned:
 * err then says why (log it as a warning) and the store tries to connect again at its next use; err is ""
 * when all went well. readonly: batch_begin is refused. */
typedef struct bd_redis_store_conf bd_redis_store_conf;
bd_matchstore *bd_matchstore_open_redis(const bd_redis_store_conf *c, int readonly, char *err, size_t errlen);

bd_matchreader *bd_matchreader_open(bd_matchstore *ms, char *err, size_t errlen);
/* 1 = found (ours filled, NUL-terminated), 0 = no match, -1 = store error */
int bd_matchreader_lookup(bd_matchreader *r, int64_t dpid, const char *id, size_t len, char ours[BD_OURID_LEN + 1]);
/* n lookups at once, results in key order: 0 = all filled, -1 = store error (no result usable). */
int bd_matchreader_lookup_many(bd_matchreader *r, const bd_match_key *keys, bd_match_result *results, size_t n);
/* Why the last lookup failed, with context (node, transient or not); "" when the backend does not say. */
const char *bd_matchreader_error(bd_matchreader *r);
void bd_matchreader_close(bd_matchreader *r);
/* How many keys a lookup_many call should carry for this reader's backend to read them best. */
#define BD_MATCH_BATCH_DEFAULT 4096
size_t bd_matchreader_batch_hint(bd_matchreader *r);
/* What its batched lookups read: "lookup index", "LMDB B-tree", or the backend's name (for the log and tests). */
const char *bd_matchreader_source(bd_matchreader *r);

/* All writes of one ID-sync file go into one batch: committed whole or not at all. */
bd_matchbatch *bd_matchbatch_begin(bd_matchstore *ms, char *err, size_t errlen);
/* Map (dpid, id) to (to_dpid, to). to_dpid 0 means `to` is our own ID. Re-putting is idempotent. */
int bd_matchbatch_put(bd_matchbatch *b, int64_t dpid, const char *id, size_t len, int64_t to_dpid, const char *to,
                      size_t to_len);
int bd_matchbatch_commit(bd_matchbatch *b, char *err, size_t errlen);
void bd_matchbatch_abort(bd_matchbatch *b);
int bd_matchstore_count(bd_matchstore *ms, uint64_t *entries);
void bd_matchstore_close(bd_matchstore *ms);

/* The lookup index (match_index = true; LMDB only). A worker maps it before its sandbox: 1 mapped, 0 none (its
 * readers then use it while the store is unchanged since the build). Fresh: 1 it matches the store now, 0 stale
 * or missing, -1 the backend keeps none. Build: 0 built, 1 another build is under way, -1 with err. */
int bd_matchstore_index_open(bd_matchstore *ms);
int bd_matchstore_index_fresh(bd_matchstore *ms);
int bd_matchstore_index_build(bd_matchstore *ms, uint64_t *entries, char *err, size_t errlen);

int bd_is_our_id(const char *id, size_t len); /* exactly 38 ASCII digits */
#endif
