/* matchstore_lmdb.h: the LMDB match table's key and value layout, shared by the backend and its lookup index. */
#ifndef BD_MATCHSTORE_LMDB_H
#define BD_MATCHSTORE_LMDB_H
#include "matchstore.h"
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

/* Key: 8-byte big-endian DPID + partner ID bytes.
 * Value: 'U' + our 38-digit ID, or 'L' + key of the entry it links to. */
#define BD_LMDB_KEY_MAX (8 + BD_MATCH_MAX_ID)

size_t bd_lmdb_make_key(unsigned char *key, int64_t dpid, const char *id, size_t len);
/* Follow value v to our ID through at most BD_MATCH_MAX_HOPS links (read with mdb_get in txn).
 * 1 found (ours filled), 0 no match, -1 a store error or a value this code never writes. */
int bd_lmdb_resolve(MDB_txn *txn, MDB_dbi dbi, MDB_val v, char ours[BD_OURID_LEN + 1]);
#endif
