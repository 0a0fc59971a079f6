/* match_index.h: the lookup index: a read-optimised, memory-mapped hash table built from the LMDB match store. */
#ifndef BD_MATCH_INDEX_H
#define BD_MATCH_INDEX_H
#include "matchstore.h"
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

/* The file lives beside the store's data.mdb. It is a cache: it is used only while the store is exactly as it was
 * when the index was built (its fingerprint: last transaction ID, entry count and B-tree page counts), else the
 * lookups go to LMDB. Links are resolved at build time, so a lookup costs two cache misses, not a B-tree descent. */
#define BD_MATCH_INDEX_FILE "lookup.idx"

typedef struct bd_match_index bd_match_index;

/* Build dir/lookup.idx from the store as txn sees it (a read transaction): written to a temporary file, synced,
 * renamed into place. 0, 1 when another build holds the temporary file, -1 with err. *entries: entries indexed. */
int bd_match_index_build(MDB_txn *txn, MDB_dbi dbi, const char *dir, uint64_t *entries, char *err, size_t errlen);

/* 1 when dir/lookup.idx was built from the store state that txn sees (0 also when it is missing or unreadable). */
int bd_match_index_file_fits(const char *dir, MDB_txn *txn, MDB_dbi dbi);

/* Map dir/lookup.idx read-only (NULL when it is missing or malformed: the caller then uses LMDB). */
bd_match_index *bd_match_index_open(const char *dir);
/* 1 when the mapped index was built from the store state that txn sees. */
int bd_match_index_fits(const bd_match_index *ix, MDB_txn *txn, MDB_dbi dbi);
/* n lookups; results in key order. */
void bd_match_index_lookup_many(const bd_match_index *ix, const bd_match_key *keys, bd_match_result *results,
                                size_t n);
void bd_match_index_close(bd_match_index *ix);
#endif
