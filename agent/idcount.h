/* idcount.h: counts occurrences of IDs within one file (per-user line cap, distinct users) in 12 bytes an ID. */
#ifndef BD_IDCOUNT_H
#define BD_IDCOUNT_H
#include <stddef.h>
#include <stdint.h>

typedef struct bd_idcount bd_idcount;
bd_idcount *bd_idcount_new(void);
/* Count one more occurrence; returns the new count (1 the first time), 0 when out of memory.
 * IDs are kept as 64-bit hashes: two IDs collide with probability ~n^2/2^65. */
uint32_t bd_idcount_add(bd_idcount *c, const void *id, size_t len);
size_t bd_idcount_distinct(const bd_idcount *c);
void bd_idcount_free(bd_idcount *c);
uint64_t bd_hash64(const void *data, size_t len);
#endif
