/* sketch.h: fixed-memory estimators over 64-bit hashes: a count-min sketch (frequencies) and a HyperLogLog (distinct count). */
#ifndef BD_SKETCH_H
#define BD_SKETCH_H
#include <stddef.h>
#include <stdint.h>

/* Count-min sketch with conservative update: an estimate is never below the true count, and exceeds it only
 * when all of its rows collide with heavier IDs. BD_CMS_ROWS x BD_CMS_WIDTH 32-bit counters (8 MiB), blocked: an
 * ID's counters all lie in one 64-byte block (a cache miss per add, not one per row), a group of
 * BD_CMS_CELLS_PER_ROW cells per row in it. */
#define BD_CMS_ROWS 4
#define BD_CMS_WIDTH (1u << 19)
#define BD_CMS_CELLS_PER_ROW 4
typedef struct bd_cms bd_cms;
bd_cms *bd_cms_new(void);
/* One more occurrence of the ID hashed to h; returns its estimated count (>= 1). */
uint32_t bd_cms_add(bd_cms *s, uint64_t h);
/* Start loading the block of h's counters into the CPU cache (a hint: bd_cms_add then does not wait on memory). */
void bd_cms_prefetch(const bd_cms *s, uint64_t h);
void bd_cms_free(bd_cms *s);

/* HyperLogLog with 2^14 one-byte registers (16 KiB): standard error about 0.8%. */
#define BD_HLL_BITS 14
typedef struct bd_hll bd_hll;
bd_hll *bd_hll_new(void);
void bd_hll_add(bd_hll *h, uint64_t hash);
uint64_t bd_hll_estimate(const bd_hll *h);
void bd_hll_free(bd_hll *h);
#endif
