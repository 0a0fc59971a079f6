/* idcount.h: counts occurrences of IDs within one file (per-user line cap, distinct users) in bounded memory. */
#ifndef BD_IDCOUNT_H
#define BD_IDCOUNT_H
#include <stddef.h>
#include <stdint.h>

/* The first BD_IDCOUNT_EXACT_MAX distinct IDs of a file are counted exactly (a table of 64-bit hashes, at most
 * 2 MiB). IDs first seen after that are counted in a count-min sketch (8 MiB, made when first needed), which never
 * under-counts (only when asked for counts), and the distinct count becomes a HyperLogLog estimate (16 KiB, about 0.8% standard error).
 * So memory does not grow with the file. */
#define BD_IDCOUNT_EXACT_MAX 65536

typedef struct bd_idcount bd_idcount;
/* counts: 1 to count occurrences per ID (the sketch); 0 when only the distinct count matters (then IDs past the
 * table return 1 whatever their count, and no sketch is made). */
bd_idcount *bd_idcount_new(int counts);
/* Count one more occurrence; returns the new count (1 the first time), 0 when out of memory.
 * IDs are kept as 64-bit hashes: two IDs collide with probability ~n^2/2^65. */
uint32_t bd_idcount_add(bd_idcount *c, const void *id, size_t len);
/* The same in two steps, so that other work can run while the counters are fetched from memory: the ID's hash
 * (its table slot and sketch block start loading into the cache), then the count. */
uint64_t bd_idcount_prefetch(const bd_idcount *c, const void *id, size_t len);
uint32_t bd_idcount_add_hash(bd_idcount *c, uint64_t h);
/* Distinct IDs counted: exact while bd_idcount_exact() says so, an estimate after. */
size_t bd_idcount_distinct(const bd_idcount *c);
int bd_idcount_exact(const bd_idcount *c);
void bd_idcount_free(bd_idcount *c);
uint64_t bd_hash64(const void *data, size_t len);
#endif
