/* remote_fetch.h: the fetcher of a remote SFTP inbox: list, wait for stability, claim on the server, download. */
#ifndef BD_REMOTE_FETCH_H
#define BD_REMOTE_FETCH_H
#include <signal.h>
#include "conf.h"
#include "diskguard.h"
#include "remote_link.h"
#include <limits.h>
#include <stdint.h>

typedef struct bd_fetch_item {
    char *name;
    uint64_t size;
    int64_t mtime;
    double stable_since; /* monotonic: (size, mtime) unchanged across listings since then */
    double first_seen;
    int incomplete; /* the stream ended early at this (size, mtime): wait for a change */
    double retry_at; /* monotonic: a failed claim or download waits until then */
    int seen;
} bd_fetch_item;

typedef struct bd_fetcher {
    const bd_config *cfg;
    const bd_partner *p;
    const bd_remote *r;
    bd_remote_link link;
    char dl[PATH_MAX], ready[PATH_MAX], done[PATH_MAX]; /* local, under state_dir/remote/<partner> */
    char rroot[PATH_MAX];   /* <path>/.batchdrop on the server */
    char rclaims[PATH_MAX]; /* <path>/.batchdrop/<agent_id>: this agent's claims */
    bd_fetch_item *items;
    size_t n, cap;
    int recovered;
    double next_recovery; /* monotonic: when to look for stranded claims again */
    double done_retry_at; /* monotonic: a failed delete/move on the server waits until then */
    unsigned seq;
    unsigned long downloads;
    struct bd_fetch_part *pending; /* downloads waiting for their group's fsyncs (remote_publish.c) */
    size_t npending;
    bd_disk_state disk; /* no downloads while state_dir is below min_free_space */
    const volatile sig_atomic_t *stop; /* set by SIGTERM in a fetcher process: end the round early (NULL: never) */
    int lock_fd;                       /* the partner's fetch lock (remote_lock.h), -1 when not held */
} bd_fetcher;

/* Set up the partner's fetcher; waits for its fetch lock (while a previous run's fetcher finishes, unless *stop
 * becomes set: then -1). bd_fetcher_free is needed after a failure too. */
int bd_fetcher_init(bd_fetcher *f, const bd_config *cfg, const bd_partner *p, const volatile sig_atomic_t *stop);
void bd_fetcher_free(bd_fetcher *f);
/* Connect if needed (respecting the back-off). 1 = connected, 0 = not now. */
int bd_fetcher_connect(bd_fetcher *f);
/* List, and claim and download every file that is stable (queued into ready/ in groups: remote_publish.h);
 * recovers claims first. -1 when the server failed. */
int bd_fetcher_round(bd_fetcher *f);
/* Seconds until a listed file may become stable, -1 if none is waiting. */
double bd_fetcher_next_stable(const bd_fetcher *f);
#endif
