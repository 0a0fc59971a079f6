/* worker.c: fork a worker per file, confine it, collect its results, and name what killed it. */
#include "config.h"
#include "worker.h"
#include "crashpoint.h"
#include "fsutil.h"
#include "log.h"
#include "matchstore_open.h"
#include "strutil.h"
#include "worker_sandbox.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_FORBIDDEN 125
#define EXIT_SETUP 124

/* Written by the worker as it goes, read by the supervisor after a crash. */
typedef struct shared_state {
    volatile uint64_t line;
    volatile int32_t forbidden_syscall;
    volatile int32_t out_of_memory;
} shared_state;

/* What a worker sends back: the job's results, flat. */
typedef struct result_msg {
    int32_t outcome;
    int32_t has_outbox;
    int32_t holds_batch; /* an ID-sync transaction waits for the supervisor's word */
    bd_file_info info;
    bd_outbox_result out;
    bd_receipt r;
} result_msg;

typedef struct worker_handle {
    pid_t pid;
    int cmd_fd, res_fd;
    shared_state *sh;
    double deadline; /* monotonic: plugin_timeout from the start */
} worker_handle;

/* ---------------------------------------------------------------- the worker side */

static int read_full(int fd, void *buf, size_t len)
{
    return bd_read_all(fd, buf, len) == (int)len ? 0 : -1;
}

static void finish_batch(bd_job *j, int cmd_fd, int res_fd)
{
    char cmd = 'A', err[768] = "", reply;
    if (read_full(cmd_fd, &cmd, 1) < 0 || cmd != 'C') {
        bd_matchbatch_abort(j->batch);
        j->batch = NULL;
        return;
    }
    bd_crashpoint("worker-idsync-commit");
    reply = bd_matchbatch_commit(j->batch, err, sizeof err) == 0 ? '0' : '1';
    if (reply != '0')
        log_error("partner %s: %s: %s", j->partner->name, j->name, err);
    j->batch = NULL;
    bd_write_all(res_fd, &reply, 1);
}

/* The worker's own store, opened before the sandbox: LMDB, or a redis store with its connections to every node
 * made now (the sandbox makes socket/connect fail with EPERM, so a reconnect later fails transiently and the file
 * is retried). A redis store that reached no server still opens: the job then fails transiently with the reason. */
static bd_matchstore *open_own_store(const bd_config *cfg)
{
    char err[PATH_MAX + 128];
    bd_matchstore *ms = bd_matchstore_open_configured(cfg, 0, err, sizeof err);
    if (!ms)
        log_error("worker: %s", err);
    return ms;
}

static __attribute__((noreturn)) void worker_main(const bd_config *cfg, bd_job *j, shared_state *sh, int res_fd,
                                                  int cmd_fd, pid_t supervisor)
{
    char err[512];
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != supervisor)
        _exit(EXIT_SETUP); /* the supervisor died before we could tie our life to it */
    if (bd_sandbox_limits(cfg, err, sizeof err) < 0) {
        log_error("worker: %s", err);
        _exit(EXIT_SETUP);
    }
    if (j->ms && !(j->ms = open_own_store(cfg))) /* never the supervisor's LMDB handle after fork */
        _exit(EXIT_SETUP);
    j->progress = &sh->line;
    if (bd_sandbox_seccomp(&sh->forbidden_syscall, err, sizeof err) < 0) {
        log_error("worker: %s", err);
        _exit(EXIT_SETUP);
    }
    bd_job_run(j);
    if (j->out_of_memory)
        sh->out_of_memory = 1;
    result_msg *m = calloc(1, sizeof *m);
    if (!m)
        _exit(EXIT_SETUP);
    m->outcome = j->outcome;
    m->has_outbox = j->has_outbox;
    m->holds_batch = j->batch != NULL && j->outcome == BD_JOB_OK;
    m->info = j->info;
    m->out = j->out;
    m->r = j->r;
    int sent = bd_write_all(res_fd, m, sizeof *m) == 0;
    if (sent && m->holds_batch)
        finish_batch(j, cmd_fd, res_fd);
    bd_job_cleanup(j, sent && j->outcome == BD_JOB_OK);
    free(m);
    _exit(0);
}

/* ---------------------------------------------------------------- the supervisor side */

static const char *plugin_name(const bd_job *j)
{
    const char *forced = j->force_format ? j->force_format : j->partner->format;
    const bd_loaded_plugin *lp = forced ? bd_plugins_find(j->plugins, forced)
                                        : bd_plugins_choose(j->plugins, j->name, NULL, 0);
    return lp ? lp->desc->name : "?";
}

/* Wait for the whole result or the worker's end, at most until the deadline. 1 = got it, 0 = no, -1 = timeout. */
static int wait_result(int fd, result_msg *m, double deadline)
{
    size_t got = 0;
    while (got < sizeof *m) {
        double left = deadline - bd_monotonic();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, (int)(left * 1000) + 1);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            continue;
        ssize_t n = read(fd, (char *)m + got, sizeof *m - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        got += (size_t)n;
    }
    return 1;
}

static void remove_staged(const bd_config *cfg, const bd_job *j, pid_t worker)
{
    char path[PATH_MAX];
    if (bd_fmt(path, sizeof path, "%s/%s/.tmp/%s.%ld.data", cfg->outbox, j->partner->name, j->r.id, (long)worker) == 0)
        unlink(path);
    if (bd_fmt(path, sizeof path, "%s/%s/.tmp/%s.%ld.info", cfg->outbox, j->partner->name, j->r.id, (long)worker) == 0)
        unlink(path);
}

static void describe_death(const bd_config *cfg, const bd_job *j, const shared_state *sh, int status, int timed_out,
                           char *why, size_t len)
{
    const char *p = plugin_name(j);
    unsigned long long line = (unsigned long long)sh->line;
    if (timed_out)
        snprintf(why, len, "plugin %s timed out after %.0f s (plugin_timeout) at line %llu", p, cfg->plugin_timeout,
                 line);
    else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_FORBIDDEN)
        snprintf(why, len, "plugin %s made a forbidden system call (%s) at line %llu; the worker sandbox stopped it",
                 p, bd_sandbox_syscall_name(sh->forbidden_syscall), line);
    else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU)
        snprintf(why, len, "plugin %s used more than %.0f s of CPU (plugin_timeout) at line %llu", p,
                 cfg->plugin_timeout, line);
    else if (WIFSIGNALED(status))
        snprintf(why, len, "plugin %s crashed (SIG%s) at line %llu", p, sigabbrev_np(WTERMSIG(status)), line);
    else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SETUP)
        snprintf(why, len, "the worker for plugin %s could not start (see the log)", p);
    else
        snprintf(why, len, "plugin %s ended the worker (exit status %d) at line %llu", p,
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1, line);
}

static void adopt_result(bd_job *j, const result_msg *m, const shared_state *sh, const bd_config *cfg)
{
    char keep_id[sizeof j->r.id];
    snprintf(keep_id, sizeof keep_id, "%s", j->r.id);
    j->outcome = (bd_job_outcome)m->outcome;
    j->has_outbox = m->has_outbox;
    j->info = m->info;
    j->out = m->out;
    j->r = m->r;
    snprintf(j->r.id, sizeof j->r.id, "%s", keep_id);
    j->r.status = j->outcome == BD_JOB_OK ? BD_STATUS_OK : j->outcome == BD_JOB_REJECTED ? BD_STATUS_REJECTED
                                                                                           : BD_STATUS_FAILED;
    if (j->outcome == BD_JOB_RETRY && sh->out_of_memory) {
        char why[512];
        snprintf(why, sizeof why, "plugin %s ran out of memory (plugin_memory_limit %llu bytes) at line %llu",
                 plugin_name(j), (unsigned long long)cfg->plugin_memory_limit, (unsigned long long)sh->line);
        bd_job_fail(j, BD_JOB_FAILED, why);
        j->fault = BD_FAULT_MEMORY;
    }
}

static int worker_commit(bd_job *j, char *err, size_t errlen)
{
    worker_handle *w = j->worker;
    char reply = '1';
    if (!w || bd_write_all(w->cmd_fd, "C", 1) < 0 || bd_read_all(w->res_fd, &reply, 1) != 1 || reply != '0') {
        snprintf(err, errlen, "the worker could not commit the ID-sync transaction");
        return -1;
    }
    return 0;
}

static void worker_abort(bd_job *j)
{
    worker_handle *w = j->worker;
    if (w && w->cmd_fd >= 0) {
        close(w->cmd_fd); /* EOF: the worker aborts the transaction */
        w->cmd_fd = -1;
    }
}

void bd_worker_release(bd_job *j)
{
    worker_handle *w = j->worker;
    if (!w)
        return;
    if (w->cmd_fd >= 0)
        close(w->cmd_fd);
    close(w->res_fd);
    int status;
    while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
        ;
    free(w);
    j->worker = NULL;
    j->batch_commit = NULL;
    j->batch_abort = NULL;
}

static void fail_job(const bd_config *cfg, bd_job *j, const char *why, pid_t worker)
{
    remove_staged(cfg, j, worker);
    j->r.started_ms = j->r.started_ms ? j->r.started_ms : bd_now_ms();
    bd_job_hash_input(j);
    bd_job_fail(j, BD_JOB_FAILED, why);
    j->r.finished_ms = bd_now_ms();
    log_error("partner %s: %s: %s", j->partner->name, j->name, why);
}

static void collect(const bd_config *cfg, bd_job *j, worker_handle *w, shared_state *sh)
{
    result_msg *m = calloc(1, sizeof *m);
    int got = m ? wait_result(w->res_fd, m, w->deadline) : 0;
    if (got > 0) {
        adopt_result(j, m, sh, cfg);
        if (m->holds_batch) {
            j->worker = w; /* the transaction waits: commit.c finishes it, bd_worker_release reaps */
            j->batch_commit = worker_commit;
            j->batch_abort = worker_abort;
            free(m);
            return;
        }
    }
    if (got < 0)
        kill(w->pid, SIGKILL);
    int status = 0;
    while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got <= 0) {
        char why[512];
        describe_death(cfg, j, sh, status, got < 0, why, sizeof why);
        fail_job(cfg, j, why, w->pid);
        j->fault = got < 0 ? BD_FAULT_TIMEOUT : BD_FAULT_CRASH;
        if (got == 0 && WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SETUP) {
            j->outcome = BD_JOB_RETRY; /* our setup, not the file: keep it claimed and retry */
            j->fault = BD_FAULT_NONE;
        } else if (got == 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
            /* not our timeout: the OOM killer or an admin. Say so; dispatch retries it a few times. */
            snprintf(why, sizeof why, "the worker (plugin %s) was killed by SIGKILL from outside the agent at line %llu "
                     "(the kernel's OOM killer, or an admin)", plugin_name(j), (unsigned long long)sh->line);
            bd_job_fail(j, BD_JOB_RETRY, why);
            j->fault = BD_FAULT_KILLED;
        }
    }
    if (w->cmd_fd >= 0)
        close(w->cmd_fd);
    close(w->res_fd);
    free(w);
    free(m);
}

int bd_worker_start(const bd_config *cfg, bd_job *j)
{
    int res[2], cmd[2];
    shared_state *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    worker_handle *w = calloc(1, sizeof *w);
    if (sh == MAP_FAILED || !w || pipe2(res, O_CLOEXEC) < 0) {
        bd_job_fail(j, BD_JOB_RETRY, "cannot set up a worker process (out of memory or file descriptors)");
        free(w);
        if (sh != MAP_FAILED)
            munmap(sh, sizeof *sh);
        return -1;
    }
    if (pipe2(cmd, O_CLOEXEC) < 0) {
        close(res[0]);
        close(res[1]);
        free(w);
        munmap(sh, sizeof *sh);
        bd_job_fail(j, BD_JOB_RETRY, "cannot set up a worker process (out of file descriptors)");
        return -1;
    }
    fflush(stderr);
    pid_t supervisor = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(res[0]);
        close(cmd[1]);
        worker_main(cfg, j, sh, res[1], cmd[0], supervisor);
    }
    close(res[1]);
    close(cmd[0]);
    if (pid < 0) {
        close(res[0]);
        close(cmd[1]);
        free(w);
        munmap(sh, sizeof *sh);
        bd_job_fail(j, BD_JOB_RETRY, "cannot fork a worker process");
        return -1;
    }
    *w = (worker_handle){.pid = pid, .cmd_fd = cmd[1], .res_fd = res[0], .sh = sh,
                         .deadline = bd_monotonic() + cfg->plugin_timeout};
    j->pending = w;
    return 0;
}

int bd_worker_fd(const bd_job *j)
{
    const worker_handle *w = j->pending;
    return w ? w->res_fd : -1;
}

double bd_worker_deadline(const bd_job *j)
{
    const worker_handle *w = j->pending;
    return w ? w->deadline : 0;
}

void bd_worker_collect(const bd_config *cfg, bd_job *j)
{
    worker_handle *w = j->pending;
    if (!w)
        return;
    j->pending = NULL;
    shared_state *sh = w->sh;
    collect(cfg, j, w, sh);
    munmap(sh, sizeof *sh);
}

void bd_worker_run(const bd_config *cfg, bd_job *j)
{
    if (bd_worker_start(cfg, j) == 0)
        bd_worker_collect(cfg, j);
}
