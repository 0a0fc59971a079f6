/* remote_proc.c: fork, supervise and stop the SFTP fetcher and pusher processes; a dead server only stalls its own. */
#include "config.h"
#include "remote_proc.h"
#include "child_proc.h"
#include "log.h"
#include "remote_done.h"
#include "remote_fetch.h"
#include "remote_push.h"
#include "strutil.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t child_stop;

static void on_stop_signal(int sig)
{
    (void)sig;
    child_stop = 1;
}

int bd_children_init(bd_children *cs, const bd_config *cfg)
{
    memset(cs, 0, sizeof *cs);
    cs->v = calloc(2 * cfg->npartners + 1, sizeof *cs->v);
    if (!cs->v)
        return -1;
    for (size_t i = 0; i < cfg->npartners; i++) {
        const bd_partner *p = &cfg->partners[i];
        if (p->remote)
            cs->v[cs->n++] = (bd_child){.kind = BD_CHILD_FETCH, .p = p};
        if (p->remote_outbox)
            cs->v[cs->n++] = (bd_child){.kind = BD_CHILD_PUSH, .p = p};
    }
    return 0;
}

/* Sleep up to `seconds`, cut short by SIGTERM. */
static void nap(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (!child_stop && nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void fetch_loop(const bd_config *cfg, const bd_partner *p)
{
    bd_fetcher f;
    if (bd_fetcher_init(&f, cfg, p, &child_stop) < 0) {
        if (!child_stop)
            log_error("partner %s: cannot set up the fetcher: %s", p->name, strerror(errno));
        bd_fetcher_free(&f);
        return;
    }
    double next_list = 0;
    while (!child_stop) {
        bd_fetcher_finish_done(&f);
        double now = bd_monotonic();
        if (now >= next_list) {
            bd_fetcher_round(&f);
            double soon = bd_fetcher_next_stable(&f);
            next_list = now + (soon >= 0 && soon < p->remote->poll ? soon + 0.05 : p->remote->poll);
        }
        if (f.link.s)
            bd_sftp_keepalive(f.link.s);
        nap(0.25);
    }
    bd_fetcher_free(&f);
}

static void push_loop(const bd_config *cfg, const bd_partner *p)
{
    bd_pusher u;
    if (bd_pusher_init(&u, cfg, p, &child_stop) < 0) {
        if (!child_stop)
            log_error("partner %s: cannot set up the pusher: %s", p->name, strerror(errno));
        bd_pusher_free(&u);
        return;
    }
    while (!child_stop) {
        bd_pusher_round(&u);
        if (u.link.s)
            bd_sftp_keepalive(u.link.s);
        nap(0.25);
    }
    bd_pusher_free(&u);
}

/* once's pass on a set-up fetcher: finish the done markers, list, download what is stable. */
static int fetch_pass_on(bd_fetcher *f, const volatile sig_atomic_t *stop)
{
    int rc = bd_fetcher_finish_done(f) == 0 && bd_fetcher_round(f) == 0 ? 0 : -1;
    double wait = rc == 0 ? bd_fetcher_next_stable(f) : -1;
    if (wait >= 0 && wait <= f->r->settle) { /* files seen changing: one more listing once they may be stable */
        nap(wait + 0.05);
        if (!(stop && *stop) && bd_fetcher_round(f) < 0)
            rc = -1;
    }
    return rc;
}

int bd_fetch_pass(const bd_config *cfg, const bd_partner *p, const volatile sig_atomic_t *stop)
{
    bd_fetcher f;
    int rc = bd_fetcher_init(&f, cfg, p, stop) == 0 ? fetch_pass_on(&f, stop) : -1;
    bd_fetcher_free(&f); /* queues the last downloads */
    return rc;
}

/* In a new child: none of the supervisor's descriptors but `keep` (-1: none): its store, ledger, inotify and the
 * workers' pipes are not ours, and a spare or idle worker must see its socket close when the agent closes its end
 * (that EOF is what ends it). Signals back to default (SIGTERM stops it), and it dies with the supervisor. */
static void child_setup(pid_t parent, int keep)
{
    int kept[] = {keep};
    bd_close_fds_except(kept, 1);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGCHLD, SIG_DFL);
    bd_child_bind_to_parent(parent);
    srandom((unsigned)getpid() ^ (unsigned)time(NULL));
}

static void child_main(const bd_config *cfg, const bd_child *c, pid_t parent)
{
    child_setup(parent, -1);
    if (c->kind == BD_CHILD_FETCH)
        fetch_loop(cfg, c->p);
    else
        push_loop(cfg, c->p);
    bd_sftp_global_cleanup();
    _exit(0);
}

void bd_children_spawn(bd_children *cs, const bd_config *cfg)
{
    double now = bd_monotonic();
    pid_t parent = getpid();
    for (size_t i = 0; i < cs->n; i++) {
        bd_child *c = &cs->v[i];
        if (c->pid > 0 || now < c->restart_at)
            continue;
        pid_t pid = fork();
        if (pid < 0) {
            log_error("partner %s: cannot start the %s process: %s", c->p->name,
                      c->kind == BD_CHILD_FETCH ? "fetcher" : "pusher", strerror(errno));
            c->restart_at = now + 5;
            continue;
        }
        if (pid == 0)
            child_main(cfg, c, parent);
        c->pid = pid;
        log_info("partner %s: %s process %ld started", c->p->name, c->kind == BD_CHILD_FETCH ? "fetcher" : "pusher",
                 (long)pid);
    }
}

/* The fetch child of `once`: the pass, its result byte, then the done markers (remote deletes and moves) as the
 * supervisor's commits write them, with the same connection, until the supervisor closes its end. */
static void fetch_child_main(const bd_config *cfg, const bd_partner *p, int fd)
{
    bd_fetcher f;
    int set_up = bd_fetcher_init(&f, cfg, p, &child_stop) == 0;
    int rc = set_up ? fetch_pass_on(&f, &child_stop) : -1; /* a round queues its downloads before it returns */
    char result = rc == 0 ? '0' : '1';
    int linked = write(fd, &result, 1) == 1; /* else the supervisor is gone */
    /* even after a failed pass: the files it did download are processed, and their sources finished */
    while (set_up && linked && !child_stop) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        char c;
        bd_fetcher_finish_done(&f); /* a failure is retried after its back-off, and by the last call */
        int ready = poll(&pfd, 1, 50);
        if (ready < 0 && errno != EINTR)
            linked = 0;
        if (ready > 0 && read(fd, &c, 1) <= 0 && errno != EINTR)
            break; /* EOF (the supervisor writes nothing): it processed everything */
    }
    if (set_up && linked && !child_stop) {
        f.done_retry_at = 0;
        if (bd_fetcher_finish_done(&f) < 0)
            rc = -1;
    }
    bd_fetcher_free(&f);
    bd_sftp_global_cleanup();
    _exit(rc == 0 ? 0 : 1);
}

int bd_fetch_child_start(bd_fetch_child *c, const bd_config *cfg, const bd_partner *p)
{
    int sv[2];
    *c = (bd_fetch_child){.pid = -1, .fd = -1, .p = p};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(sv[0]);
        close(sv[1]);
        errno = saved;
        return -1;
    }
    if (pid == 0) {
        child_setup(parent, sv[1]);
        fetch_child_main(cfg, p, sv[1]);
    }
    close(sv[1]);
    c->pid = pid;
    c->fd = sv[0];
    return 0;
}

int bd_fetch_child_fetched(bd_fetch_child *c)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    char result;
    if (c->fetched || poll(&pfd, 1, 0) <= 0)
        return c->fetched;
    ssize_t n = read(c->fd, &result, 1);
    if (n < 0 && errno == EINTR)
        return 0;
    c->fetched = 1;
    c->failed = n != 1 || result != '0'; /* n == 0: it died before its pass ended */
    return 1;
}

int bd_fetch_child_finish(bd_fetch_child *c)
{
    int status = 0;
    if (c->fd >= 0)
        close(c->fd); /* EOF: it finishes the last done markers and exits */
    c->fd = -1;
    while (c->pid > 0 && waitpid(c->pid, &status, 0) < 0)
        if (errno != EINTR) {
            status = 1;
            break;
        }
    c->pid = -1;
    if (WIFSIGNALED(status))
        log_error("partner %s: the fetcher process died of signal %d (%s); its claims are resumed by the next run",
                  c->p->name, WTERMSIG(status), strsignal(WTERMSIG(status)));
    return c->failed || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ? -1 : 0;
}

void bd_children_reap(bd_children *cs)
{
    int status;
    /* Only our own children: worker processes are reaped by the worker code. */
    for (size_t i = 0; i < cs->n; i++) {
        bd_child *c = &cs->v[i];
        pid_t pid = c->pid > 0 ? waitpid(c->pid, &status, WNOHANG) : 0;
        if (pid <= 0)
            continue;
        c->pid = 0;
        c->backoff = c->backoff <= 0 ? 1 : (c->backoff * 2 > 60 ? 60 : c->backoff * 2);
        c->restart_at = bd_monotonic() + c->backoff;
        if (WIFSIGNALED(status))
            log_error("partner %s: %s process %ld died of signal %d (%s); restarting in %.0f s", c->p->name,
                      c->kind == BD_CHILD_FETCH ? "fetcher" : "pusher", (long)pid, WTERMSIG(status),
                      strsignal(WTERMSIG(status)), c->backoff);
        else
            log_warn("partner %s: %s process %ld exited with status %d; restarting in %.0f s", c->p->name,
                     c->kind == BD_CHILD_FETCH ? "fetcher" : "pusher", (long)pid, WEXITSTATUS(status), c->backoff);
    }
}

double bd_children_next_restart(const bd_children *cs)
{
    double next = -1, now = bd_monotonic();
    for (size_t i = 0; i < cs->n; i++) {
        if (cs->v[i].pid > 0)
            continue;
        double w = cs->v[i].restart_at - now;
        w = w < 0 ? 0 : w;
        if (next < 0 || w < next)
            next = w;
    }
    return next;
}

void bd_children_stop(bd_children *cs)
{
    for (size_t i = 0; i < cs->n; i++)
        if (cs->v[i].pid > 0)
            kill(cs->v[i].pid, SIGTERM);
    double deadline = bd_monotonic() + 10;
    for (size_t i = 0; i < cs->n; i++) {
        while (cs->v[i].pid > 0) {
            int status;
            pid_t r = waitpid(cs->v[i].pid, &status, WNOHANG);
            if (r == cs->v[i].pid || (r < 0 && errno == ECHILD)) {
                cs->v[i].pid = 0;
            } else if (bd_monotonic() > deadline) {
                kill(cs->v[i].pid, SIGKILL);
                waitpid(cs->v[i].pid, &status, 0);
                cs->v[i].pid = 0;
            } else {
                struct timespec ts = {0, 20 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
        }
    }
}

void bd_children_free(bd_children *cs)
{
    free(cs->v);
    cs->v = NULL;
    cs->n = 0;
}
