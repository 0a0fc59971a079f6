/* child_proc.h: what every helper process the supervisor forks does first (signals, and dying with its parent). */
#ifndef BD_CHILD_PROC_H
#define BD_CHILD_PROC_H
#include <sys/types.h>

/* Ignore SIGHUP, unblock every signal (the supervisor blocks them for its signalfd) and get SIGTERM when the
 * supervisor dies; _exit(0) at once if parent is gone already. Set SIGTERM's handling before calling it. */
void bd_child_bind_to_parent(pid_t parent);
/* Close every descriptor above 2 except the n in keep (sorted here, in place; repeats and values <= 2 are fine):
 * a child must not hold the supervisor's sockets, locks and inotify watch. */
void bd_close_fds_except(int *keep, int n);
#endif
