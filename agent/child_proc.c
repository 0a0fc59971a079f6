/* child_proc.c: the first steps of a helper process forked by the supervisor (fetcher, pusher, index builder). */
#include "config.h"
#include "child_proc.h"
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

void bd_child_bind_to_parent(pid_t parent)
{
    sigset_t none;
    signal(SIGHUP, SIG_IGN);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
        _exit(0); /* the supervisor is gone already */
}

static int by_value(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

void bd_close_fds_except(int *keep, int n)
{
    qsort(keep, (size_t)n, sizeof keep[0], by_value);
    unsigned lo = 3;
    for (int i = 0; i < n; i++) {
        if (keep[i] >= 0 && (unsigned)keep[i] > lo)
            close_range(lo, (unsigned)keep[i] - 1, 0);
        if (keep[i] >= 0 && (unsigned)keep[i] >= lo)
            lo = (unsigned)keep[i] + 1;
    }
    close_range(lo, ~0U, 0);
}
