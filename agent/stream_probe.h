/* stream_probe.h: the completeness check of a big gzip upload, run in a child process so the agent's loop goes on. */
#ifndef BD_STREAM_PROBE_H
#define BD_STREAM_PROBE_H
#include "decode.h"
#include <stddef.h>
#include <sys/types.h>

/* gzip has no index: proving a stream whole inflates all of it. Under run, streams bigger than this are
 * inflated by a child process while the agent's loop goes on (other partners' files, commits, events). */
#define BD_PROBE_INLINE_MAX ((off_t)4 << 20)

typedef struct bd_probe_child {
    pid_t pid;   /* 0: none running */
    int fd;      /* read end of the pipe that carries the child's reason text */
} bd_probe_child;

/* Fork a child that runs bd_probe_complete_within(input_fd, lim) and reports. 0 started, -1 with errno. */
int bd_probe_child_start(bd_probe_child *p, int input_fd, const bd_decode_limits *lim);
/* Finished? Then its bd_decode_status (why: its reason text) and p->pid = 0; -1 while it still runs. A child
 * that died without a verdict counts as BD_DEC_IO (the check is tried again). */
int bd_probe_child_poll(bd_probe_child *p, char *why, size_t whylen);
/* Kill and reap a running child (its file vanished, or the agent stops). */
void bd_probe_child_stop(bd_probe_child *p);
#endif
