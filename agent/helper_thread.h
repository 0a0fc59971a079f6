/* helper_thread.h: a worker's helper threads, started before its sandbox, each running one piece of work at a time. */
#ifndef BD_HELPER_THREAD_H
#define BD_HELPER_THREAD_H

/* The helpers: one looks trait records up while the plugin parses (host_api.c), one decodes ahead (readahead.c). */
typedef enum { BD_HELPER_LOOKUPS = 0, BD_HELPER_DECODE, BD_HELPERS } bd_helper_id;

/* Start helper `which` (a worker calls it before its seccomp filter, which then covers every thread). 0, or -1
 * with errno: without a helper, its work runs inline. */
int bd_helper_start(bd_helper_id which);
int bd_helper_available(bd_helper_id which);
/* Hand fn(arg) to the helper, after waiting for its previous piece of work. */
void bd_helper_submit(bd_helper_id which, void (*fn)(void *arg), void *arg);
/* Wait until the helper is idle. */
void bd_helper_wait(bd_helper_id which);
#endif
