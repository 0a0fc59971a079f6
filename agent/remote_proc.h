/* remote_proc.h: under `run`, one fetcher process per remote inbox and one pusher per remote outbox, restarted if they die. */
#ifndef BD_REMOTE_PROC_H
#define BD_REMOTE_PROC_H
#include "conf.h"
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
/* Start every child that is not running and is due; close_fd is closed in the children. */
void bd_children_spawn(bd_children *cs, const bd_config *cfg, int close_fd);
/* Collect exited children and schedule their restart with a back-off. */
void bd_children_reap(bd_children *cs);
/* Seconds until a restart is due, -1 if none. */
double bd_children_next_restart(const bd_children *cs);
/* SIGTERM every child and wait for it (SIGKILL after 10 s). */
void bd_children_stop(bd_children *cs);
void bd_children_free(bd_children *cs);
#endif
