/* inbox_index.h: an inbox's candidates found by name in constant time: a hash index over the candidate array. */
#ifndef BD_INBOX_INDEX_H
#define BD_INBOX_INDEX_H
#include <stddef.h>
#include <stdint.h>

struct bd_candidate;

typedef struct bd_name_index {
    uint32_t *slot; /* position + 1 in the candidate array, 0 = empty; open addressing, at most half full */
    size_t cap;     /* slots, a power of two */
    int valid;      /* built for the array's current order (0 after a sort or a compaction) */
} bd_name_index;

/* The position of the candidate called name among c[0..n) (a NULL name is a gone one, never found), or -1.
 * Rebuilds the index first when it is not valid; without memory for it, scans the array. */
long bd_name_index_find(bd_name_index *x, const struct bd_candidate *c, size_t n, const char *name);
/* c[n - 1] was just appended. */
void bd_name_index_added(bd_name_index *x, const struct bd_candidate *c, size_t n);
void bd_name_index_free(bd_name_index *x);
#endif
