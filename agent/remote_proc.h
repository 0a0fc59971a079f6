/* remote_proc.h: under `run`, one fetcher process per remote inbox and one pusher per remote outbox, restarted if they die. */
#ifndef BD_REMOTE_PROC_H
#define BD_REMOTE_PROC_H
#include "conf.h"
#include <signal.h>
#include <sys/types.h>

typedef enum { BD_CHILD_FETCH = 0, BD_CHILD_PUSH = 1 } bd_child_kind;

typedef struct bd_child {
    bd_child_kind kind;
    const bd_partner *p;
    pid_t pid;         /* 0 when not running */
    double restart_at; /* monotonic */
    double backoff;
} bd_child;

typedef struct bd_children {
    bd_child *v;
    size_t n;
} bd_children;

int bd_children_init(bd_children *cs, const bd_config *cfg);
/* Start every child that is not running and is due (each closes every descriptor it inherits). */
void bd_children_spawn(bd_children *cs, const bd_config *cfg);
/* Collect exited children and schedule their restart with a back-off. */
void bd_children_reap(bd_children *cs);
/* Seconds until a restart is due, -1 if none. */
double bd_children_next_restart(const bd_children *cs);
/* SIGTERM every child and wait for it (SIGKILL after 10 s). */
void bd_children_stop(bd_children *cs);
void bd_children_free(bd_children *cs);

/* One fetch pass of a remote inbox (`once`): finish the done markers, list, download what is stable (listing again
 * after at most `settle` when files were seen changing). 0, or -1 when something failed (logged). stop may be NULL. */
int bd_fetch_pass(const bd_config *cfg, const bd_partner *p, const volatile sig_atomic_t *stop);
/* The same in a child process (`once`), so that the supervisor processes the downloads meanwhile. After its pass
 * the child writes one result byte, then deletes or moves the remote files whose done markers appear, with the
 * same connection, until the supervisor closes its end (bd_fetch_child_finish). */
typedef struct bd_fetch_child {
    const bd_partner *p;
    pid_t pid;
    int fd;      /* the supervisor's end of the socket pair */
    int fetched; /* its pass ended (or it died) */
    int failed;  /* the pass failed, or it died */
} bd_fetch_child;
/* 0, or -1 with errno (nothing started). */
int bd_fetch_child_start(bd_fetch_child *c, const bd_config *cfg, const bd_partner *p);
/* 1 once its pass ended (all its downloads are in ready/), 0 while it is still downloading; never blocks. */
int bd_fetch_child_fetched(bd_fetch_child *c);
/* Let it finish the done markers, and wait for it: 0, or -1 when its pass or the markers failed (logged). */
int bd_fetch_child_finish(bd_fetch_child *c);
#endif
