/* match_puts.h: the puts of an ID-sync batch, buffered and then handed out in key order (the last put of a key wins). */
#ifndef BD_MATCH_PUTS_H
#define BD_MATCH_PUTS_H
#include <stddef.h>

typedef struct bd_match_puts bd_match_puts;
typedef int (*bd_match_put_fn)(void *arg, const void *key, size_t klen, const void *val, size_t vlen);

bd_match_puts *bd_match_puts_new(void);
/* Copy one put in. -1 when out of memory (errno ENOMEM). */
int bd_match_puts_add(bd_match_puts *p, const void *key, size_t klen, const void *val, size_t vlen);
size_t bd_match_puts_count(const bd_match_puts *p);
size_t bd_match_puts_bytes(const bd_match_puts *p); /* memory held, for the caller's bound */
/* Sort by key (memcmp order, as LMDB's default), call fn once per distinct key with its last value, in key
 * order, and empty the buffer. Stops at fn's first nonzero return and returns it; else 0. */
int bd_match_puts_drain(bd_match_puts *p, bd_match_put_fn fn, void *arg);
void bd_match_puts_free(bd_match_puts *p);
#endif
