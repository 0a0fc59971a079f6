/* remote_push.h: push outbox files (and receipts) to a partner's remote_outbox: temp name, fsync, rename. */
#ifndef BD_REMOTE_PUSH_H
#define BD_REMOTE_PUSH_H
#include "conf.h"
#include "remote_link.h"
#include <limits.h>

typedef struct bd_pusher {
    const bd_config *cfg;
    const bd_partner *p;
    const bd_remote *r;
    bd_remote_link link;
    char queue[PATH_MAX]; /* state_dir/remote/<partner>/push: one <claim>.json per file to push */
    unsigned long pushed;
} bd_pusher;

int bd_pusher_init(bd_pusher *u, const bd_config *cfg, const bd_partner *p);
void bd_pusher_free(bd_pusher *u);
/* Push every queued entry, oldest first. Returns the entries left (0 = all pushed), -1 on a failure
 * (they stay queued and are retried after a back-off). */
int bd_pusher_round(bd_pusher *u);
#endif
