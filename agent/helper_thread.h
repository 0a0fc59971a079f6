/* helper_thread.h: one helper thread in a worker, started before its sandbox, that runs one piece of work at a time. */
#ifndef BD_HELPER_THREAD_H
#define BD_HELPER_THREAD_H

/* Start the helper (a worker calls it before its seccomp filter, which then covers both threads). 0, or -1 with
 * errno: without a helper, work runs inline. */
int bd_helper_start(void);
int bd_helper_available(void);
/* Hand fn(arg) to the helper, after waiting for its previous piece of work. */
void bd_helper_submit(void (*fn)(void *arg), void *arg);
/* Wait until the helper is idle. */
void bd_helper_wait(void);
#endif
