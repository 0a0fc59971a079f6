/* sketch.c: the count-min sketch and the HyperLogLog behind bounded-memory per-file ID statistics. */
#include "config.h"
#include "sketch.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CMS_BLOCK_CELLS (BD_CMS_ROWS * BD_CMS_CELLS_PER_ROW) /* 16 counters: 64 bytes */
_Static_assert(BD_CMS_CELLS_PER_ROW == 4, "cms_cell picks a row's cell with 2 bits");
#define CMS_BLOCKS (BD_CMS_ROWS * BD_CMS_WIDTH / CMS_BLOCK_CELLS)

struct bd_cms {
    uint32_t *cells; /* CMS_BLOCKS blocks of CMS_BLOCK_CELLS counters, 64-byte aligned */
};

bd_cms *bd_cms_new(void)
{
    bd_cms *s = calloc(1, sizeof *s);
    size_t bytes = (size_t)CMS_BLOCKS * CMS_BLOCK_CELLS * sizeof(uint32_t);
    if (!s || !(s->cells = aligned_alloc(64, bytes))) {
        free(s);
        return NULL;
    }
    memset(s->cells, 0, bytes);
    return s;
}

/* Row r's counter for h: the block from the hash's low half, the cell of row r's group from 2 bits of the high
 * half each (independent of the block's bits). */
static uint32_t *cms_cell(bd_cms *s, int r, uint64_t h)
{
    uint32_t block = (uint32_t)h & (CMS_BLOCKS - 1), hi = (uint32_t)(h >> 32);
    uint32_t cell = (uint32_t)r * BD_CMS_CELLS_PER_ROW + ((hi >> (2 * r)) & (BD_CMS_CELLS_PER_ROW - 1));
    return &s->cells[(size_t)block * CMS_BLOCK_CELLS + cell];
}

void bd_cms_prefetch(const bd_cms *s, uint64_t h)
{
    __builtin_prefetch(&s->cells[(size_t)((uint32_t)h & (CMS_BLOCKS - 1)) * CMS_BLOCK_CELLS], 1);
}

uint32_t bd_cms_add(bd_cms *s, uint64_t h)
{
    uint32_t *cell[BD_CMS_ROWS], least = UINT32_MAX;
    for (int r = 0; r < BD_CMS_ROWS; r++) {
        cell[r] = cms_cell(s, r, h);
        if (*cell[r] < least)
            least = *cell[r];
    }
    uint32_t next = least < UINT32_MAX ? least + 1 : least;
    for (int r = 0; r < BD_CMS_ROWS; r++) /* conservative update: raise only the counters below the new estimate */
        if (*cell[r] < next)
            *cell[r] = next;
    return next;
}

void bd_cms_free(bd_cms *s)
{
    if (!s)
        return;
    free(s->cells);
    free(s);
}

#define HLL_REGISTERS (1u << BD_HLL_BITS)

struct bd_hll {
    uint8_t reg[HLL_REGISTERS];
};

bd_hll *bd_hll_new(void)
{
    return calloc(1, sizeof(bd_hll));
}

/* The register is chosen by the hash's top bits; it keeps the longest run of leading zeros (+1) of the rest. */
void bd_hll_add(bd_hll *h, uint64_t hash)
{
    uint32_t idx = (uint32_t)(hash >> (64 - BD_HLL_BITS));
    uint64_t rest = (hash << BD_HLL_BITS) | (1ULL << (BD_HLL_BITS - 1)); /* a sentinel bounds the run */
    uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
    if (rank > h->reg[idx])
        h->reg[idx] = rank;
}

/* Flajolet et al.'s estimator, with linear counting while many registers are empty (small cardinalities). */
uint64_t bd_hll_estimate(const bd_hll *h)
{
    const double m = HLL_REGISTERS, alpha = 0.7213 / (1.0 + 1.079 / m);
    double sum = 0;
    unsigned zeros = 0;
    for (uint32_t i = 0; i < HLL_REGISTERS; i++) {
        sum += ldexp(1.0, -(int)h->reg[i]);
        zeros += h->reg[i] == 0;
    }
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros)
        e = m * log(m / zeros);
    return (uint64_t)(e + 0.5);
}

void bd_hll_free(bd_hll *h)
{
    free(h);
}
