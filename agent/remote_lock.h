/* remote_lock.h: one fetcher and one pusher per partner and state_dir at a time, across restarts, as flock(2)ed files. */
#ifndef BD_REMOTE_LOCK_H
#define BD_REMOTE_LOCK_H
#include "conf.h"
#include <signal.h>

/* Take state_dir/locks/<role>-<partner>.lock (role "fetch" or "push"), waiting while another process holds it:
 * the fetcher of a supervisor that was killed finishes its round after the new one has started, and the two
 * must not download the same claims. Returns the held fd (closed, or the process's death, releases it), or -1
 * on error or when *stop became set while waiting. Without stop (`once`) it gives up after a minute. */
int bd_remote_lock(const bd_config *cfg, const bd_partner *p, const char *role, const volatile sig_atomic_t *stop);
#endif
