/* stream_probe.c: the completeness check of a big gzip upload, run in a child process so the agent's loop goes on. */
#include "config.h"
#include "stream_probe.h"
#include "child_proc.h"
#include "fsutil.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static __attribute__((noreturn)) void probe_main(pid_t parent, int input_fd, int out_fd, const bd_decode_limits *lim)
{
    char why[256] = "";
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    bd_child_bind_to_parent(parent);
    int keep[] = {input_fd, out_fd};
    bd_close_fds_except(keep, 2);
    bd_decode_status s = bd_probe_complete_within(input_fd, lim, why, sizeof why);
    if (bd_write_all(out_fd, why, strlen(why)) < 0)
        _exit(BD_DEC_IO);
    _exit((int)s);
}

int bd_probe_child_start(bd_probe_child *p, int input_fd, const bd_decode_limits *lim)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
        return -1;
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        close(fds[0]);
        probe_main(parent, input_fd, fds[1], lim);
    }
    int saved = errno;
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        errno = saved;
        return -1;
    }
    p->pid = pid;
    p->fd = fds[0];
    return 0;
}

static void finish(bd_probe_child *p, char *why, size_t whylen)
{
    ssize_t n = why && whylen ? read(p->fd, why, whylen - 1) : -1;
    if (why && whylen)
        why[n > 0 ? n : 0] = '\0';
    close(p->fd);
    p->pid = 0;
    p->fd = -1;
}

int bd_probe_child_poll(bd_probe_child *p, char *why, size_t whylen)
{
    int status;
    pid_t r;
    while ((r = waitpid(p->pid, &status, WNOHANG)) < 0 && errno == EINTR)
        ;
    if (r == 0)
        return -1;
    finish(p, why, whylen);
    if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) > BD_DEC_IO) {
        snprintf(why, whylen, "the checking process %s", r < 0 ? "was lost" : "died");
        return BD_DEC_IO;
    }
    return WEXITSTATUS(status);
}

void bd_probe_child_stop(bd_probe_child *p)
{
    if (p->pid <= 0)
        return;
    kill(p->pid, SIGKILL);
    while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    finish(p, NULL, 0);
}
