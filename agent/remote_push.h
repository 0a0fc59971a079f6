/* remote_push.h: push outbox files (and receipts) to a partner's remote_outbox: temp name, fsync, rename. */
#ifndef BD_REMOTE_PUSH_H
#define BD_REMOTE_PUSH_H
#include "conf.h"
#include "remote_link.h"
#include <signal.h>
#include <limits.h>

typedef struct bd_pusher {
    const bd_config *cfg;
    const bd_partner *p;
    const bd_remote *r;
    bd_remote_link link;
    char queue[PATH_MAX]; /* state_dir/remote/<partner>/push: one <claim>.json per file to push */
    unsigned long pushed;
    int lock_fd; /* the partner's push lock (remote_lock.h), -1 when not held */
} bd_pusher;

/* Set up the partner's pusher; waits for its push lock like bd_fetcher_init. bd_pusher_free is needed after a
 * failure too. */
int bd_pusher_init(bd_pusher *u, const bd_config *cfg, const bd_partner *p, const volatile sig_atomic_t *stop);
void bd_pusher_free(bd_pusher *u);
/* Push every queued entry, oldest first. Returns the entries left (0 = all pushed), -1 on a failure
 * (they stay queued and are retried after a back-off). */
int bd_pusher_round(bd_pusher *u);
#endif
