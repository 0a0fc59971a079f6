/* child_proc.c: the first steps of a helper process forked by the supervisor (fetcher, pusher, index builder). */
#include "config.h"
#include "child_proc.h"
#include <signal.h>
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
