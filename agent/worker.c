/* worker.c: fork a worker for a batch of files, confine it, collect its results, and name what killed it. */
#include "config.h"
#include "worker.h"
#include "report_unpack.h"
#include "child_proc.h"
#include "crashpoint.h"
#include "fsutil.h"
#include "log.h"
#include "matchstore_open.h"
#include "strutil.h"
#include "stage_pool.h"
#include "syncset.h"
#include "worker_sandbox.h"
#include "match_index.h"
#include "worker_wire.h"
#include "helper_thread.h"
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define EXIT_FORBIDDEN 125
#define EXIT_SETUP 124

/* Written by the worker as it goes, read by the supervisor after a crash. */
typedef struct shared_state {
    volatile uint64_t line;
    volatile int32_t forbidden_syscall;
    volatile int32_t out_of_memory;
    volatile int32_t current; /* the batch's file being parsed (its index) */
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

/* A worker runs the files of a batch in order and reports them in one chunk: a count, then a result_msg each.
 * The chunk ends early after a file that holds an ID-sync transaction (the worker waits for the supervisor's
 * word, then exits: the rest of the batch runs in a new worker, against the committed mappings) or that must
 * be retried (its partner's later files wait for it). */
typedef struct worker_handle {
    pid_t pid;
    int cmd_fd, res_fd;
    shared_state *sh;
    double deadline;      /* monotonic: plugin_timeout from the start of the current file */
    int32_t seen_current; /* sh->current when the deadline was set */
    bd_job **jobs;        /* the batch, in order */
    int njobs;
    /* what a spare or an idle worker was made for: it takes batches of this configuration only, and once it
     * has run one, of this partner only (untrusted input never reaches another partner's files) */
    const bd_config *made_for;
    int with_store;
    ino_t index_ino; /* the lookup index file when it was forked (0: none): the one it mapped, or older */
    const bd_partner *partner;
    double idle_since; /* monotonic: when it reported its last batch */
} worker_handle;

/* What a worker reports first: how many of the batch's files ran, whether it waits for another batch, and the
 * size of the zstd frame that follows: the ran result_msgs. A result_msg is about 41 KB of fixed-size paths and
 * texts, nearly all zeros: raw, each file's went through the pipe 64 KB at a time, the worker and the agent taking
 * turns to sleep. */
typedef struct chunk_head {
    int32_t ran;
    int32_t stays;
    uint64_t packed;
} chunk_head;

/* A worker that ran a whole batch (a spare that took one, or one forked for it) stays for its partner's next batch,
 * so that a file does not pay a fork and a set-up: while it has used less than half of plugin_timeout in CPU
 * (RLIMIT_CPU counts its whole life), run fewer than this many batches, and holds less than this much heap. */
#define REUSE_MAX_BATCHES 1000
#define REUSE_MAX_HEAP ((size_t)64 << 20)
#define IDLE_MAX 8          /* idle workers kept, one per partner at most */
#define IDLE_TIMEOUT 30.0   /* seconds: an idle worker unused this long exits */

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

/* The worker's own store, opened before the sandbox: LMDB (with its lookup index mapped, when there is one), or
 * a redis store with its connections to every node made now (the sandbox makes socket/connect fail with EPERM, so
 * a reconnect later fails transiently and the file is retried). A redis store that reached no server still opens:
 * the job then fails transiently with the reason. */
static bd_matchstore *open_own_store(const bd_config *cfg)
{
    char err[PATH_MAX + 128];
    bd_matchstore *ms = bd_matchstore_open_configured(cfg, 0, err, sizeof err);
    if (!ms)
        log_error("worker: %s", err);
    else if (cfg->match_index)
        bd_matchstore_index_open(ms);
    return ms;
}

static void fill_result(result_msg *m, const bd_job *j)
{
    m->outcome = j->outcome;
    m->has_outbox = j->has_outbox;
    m->holds_batch = j->batch != NULL && j->outcome == BD_JOB_OK;
    m->info = j->info;
    m->out = j->out;
    m->r = j->r;
}

/* Run the batch's files in order until one ends the chunk; returns how many ran. */
static int run_jobs(bd_job **jobs, int n, shared_state *sh, result_msg *msgs)
{
    int i = 0;
    while (i < n) {
        bd_job *j = jobs[i];
        sh->current = i;
        sh->line = 0;
        j->progress = &sh->line;
        bd_outbox_names_after(j->names_after_ms);
        bd_job_run(j);
        if (j->out_of_memory)
            sh->out_of_memory = 1;
        fill_result(&msgs[i], j);
        i++;
        if (msgs[i - 1].holds_batch || j->outcome == BD_JOB_RETRY)
            break;
        bd_job_cleanup(j, j->outcome == BD_JOB_OK);
    }
    return i;
}

/* The staged outputs of the chunk, fsynced in one sweep before any is reported; a failure retries them all. */
static void sync_staged(bd_job **jobs, int ran, result_msg *msgs)
{
    if (bd_syncset_flush() == 0)
        return;
    char why[512];
    snprintf(why, sizeof why, "cannot fsync the staged outbox files: %s", strerror(errno));
    log_error("worker: %s", why);
    for (int i = 0; i < ran; i++)
        if (msgs[i].outcome == BD_JOB_OK && msgs[i].has_outbox) {
            bd_job_fail(jobs[i], BD_JOB_RETRY, why);
            fill_result(&msgs[i], jobs[i]);
            msgs[i].holds_batch = 0;
        }
}

/* Limits, the worker's own store, then the seccomp sandbox; _exit(EXIT_SETUP) on failure. */
static bd_matchstore *worker_setup(const bd_config *cfg, int with_store, shared_state *sh, pid_t supervisor)
{
    char err[512];
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != supervisor)
        _exit(EXIT_SETUP); /* the supervisor died before we could tie our life to it */
    if (bd_sandbox_limits(cfg, err, sizeof err) < 0) {
        log_error("worker: %s", err);
        _exit(EXIT_SETUP);
    }
    bd_matchstore *ms = with_store ? open_own_store(cfg) : NULL; /* never the supervisor's LMDB handle */
    if (with_store && !ms)
        _exit(EXIT_SETUP);
    if (bd_helper_start(BD_HELPER_LOOKUPS) < 0) /* trait lookups overlap the parsing; without it they run inline */
        log_warn("worker: cannot start the lookup thread: %s", strerror(errno));
    if (bd_helper_start(BD_HELPER_DECODE) < 0) /* decoding overlaps the parsing; without it, it runs inline */
        log_warn("worker: cannot start the decoding thread: %s", strerror(errno));
    /* a batch's buffers come from the heap and stay there for the next file: no page faults again */
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
    if (bd_sandbox_seccomp(&sh->forbidden_syscall, err, sizeof err) < 0) {
        log_error("worker: %s", err);
        _exit(EXIT_SETUP);
    }
    return ms;
}

/* May this worker take another batch after this one (the limits above REUSE_MAX_BATCHES)? */
static int can_stay(const bd_config *cfg, const shared_state *sh, const result_msg *last, int ran, int n)
{
    static int batches;
    struct timespec cpu;
    struct mallinfo2 heap = mallinfo2();
    return ran == n && !last->holds_batch && last->outcome != BD_JOB_RETRY && !sh->out_of_memory &&
           ++batches < REUSE_MAX_BATCHES && heap.arena + heap.hblkhd < REUSE_MAX_HEAP &&
           clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0 &&
           (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9 < cfg->plugin_timeout / 2;
}

/* Write the chunk: its head, then the results packed. 0, or -1 when the pipe failed (the supervisor is gone). */
static int send_chunk(int res_fd, chunk_head *head, const result_msg *msgs)
{
    static ZSTD_CCtx *zc; /* kept by a worker that stays */
    size_t raw = (size_t)head->ran * sizeof *msgs, cap = ZSTD_compressBound(raw);
    char *packed = malloc(cap);
    if (!zc)
        zc = ZSTD_createCCtx();
    size_t n = packed && zc ? ZSTD_compressCCtx(zc, packed, cap, msgs, raw, 1) : 0;
    if (n == 0 || ZSTD_isError(n))
        _exit(EXIT_SETUP); /* out of memory: the supervisor keeps the files claimed and retries them */
    head->packed = n;
    int rc = bd_write_all(res_fd, head, sizeof *head) == 0 && bd_write_all(res_fd, packed, n) == 0 ? 0 : -1;
    free(packed);
    return rc;
}

/* Run the batch and report it (send_chunk); 1 when the worker stays for another batch (stay_ok: may_stay()), 0
 * when it is to exit. */
static int worker_run(const bd_config *cfg, bd_job **jobs, int n, shared_state *sh, int res_fd, int cmd_fd,
                      int stay_ok)
{
    result_msg *msgs = calloc((size_t)n, sizeof *msgs);
    if (!msgs)
        _exit(EXIT_SETUP);
    chunk_head head = {.ran = run_jobs(jobs, n, sh, msgs)};
    sync_staged(jobs, head.ran, msgs);
    bd_job *last = jobs[head.ran - 1];
    int ok = msgs[head.ran - 1].outcome == BD_JOB_OK, holds = msgs[head.ran - 1].holds_batch;
    if (!holds) /* its staged outputs stay for the supervisor, which removes them if the report does not come */
        bd_job_cleanup(last, ok);
    head.stays = stay_ok && can_stay(cfg, sh, &msgs[head.ran - 1], head.ran, n);
    int sent = send_chunk(res_fd, &head, msgs) == 0;
    if (holds) { /* the ID-sync transaction waits for the supervisor's word */
        if (sent)
            finish_batch(last, cmd_fd, res_fd);
        bd_job_cleanup(last, sent && ok);
    }
    free(msgs);
    return sent && head.stays;
}

/* While it waits, the next batch's outputs get their inodes ahead (stage_pool.c). */
static void fill_stage_pool(const bd_config *cfg, const bd_partner *partner)
{
    char staging[PATH_MAX];
    if (bd_fmt(staging, sizeof staging, "%s/%s/.tmp", cfg->outbox, partner->name) == 0)
        bd_stage_pool_fill(staging);
}

/* Whether a worker may stay for its partner's next batch at all: not for a file run by hand (a forced format, a
 * dry run or a trace), whose settings the next batch would not share. */
static int may_stay(const bd_job *first)
{
    return !first->force_format && !first->dry_run && first->trace_fd <= 0;
}

/* After a batch it stays for: wait on the socket for the next one (bd_wire_send_jobs), run it, and so on while
 * it may stay (the agent closing the socket ends it). */
static __attribute__((noreturn)) void serve_batches(const bd_config *cfg, const bd_plugins *plugins,
                                                    bd_matchstore *ms, shared_state *sh, int res_fd, int cmd_fd)
{
    for (;;) {
        int n = 0;
        bd_job *jobs = bd_wire_recv_jobs(cmd_fd, cfg, plugins, ms, &n);
        bd_job **ptrs = jobs ? calloc((size_t)n, sizeof *ptrs) : NULL;
        if (!ptrs) {
            bd_matchstore_close(ms);
            _exit(jobs ? EXIT_SETUP : 0); /* no batch: the agent dropped this worker */
        }
        for (int i = 0; i < n; i++)
            ptrs[i] = &jobs[i];
        int stays = worker_run(cfg, ptrs, n, sh, res_fd, cmd_fd, 1);
        if (stays)
            fill_stage_pool(cfg, jobs[0].partner);
        free(ptrs);
        bd_wire_free_jobs(jobs, n);
        if (!stays)
            _exit(0);
    }
}

/* A worker forked for a batch: it runs it, and then stays for the partner's next ones when it may. */
static __attribute__((noreturn)) void worker_main(const bd_config *cfg, bd_job **jobs, int n, shared_state *sh,
                                                  int res_fd, int cmd_fd, pid_t supervisor)
{
    bd_matchstore *ms = worker_setup(cfg, jobs[0]->ms != NULL, sh, supervisor);
    for (int i = 0; i < n; i++)
        jobs[i]->ms = ms;
    if (!worker_run(cfg, jobs, n, sh, res_fd, cmd_fd, may_stay(jobs[0])))
        _exit(0);
    fill_stage_pool(cfg, jobs[0]->partner);
    serve_batches(cfg, jobs[0]->plugins, ms, sh, res_fd, cmd_fd);
}

/* A spare: set up and confined ahead, it waits on its socket for a first batch. */
static __attribute__((noreturn)) void spare_main(const bd_config *cfg, const bd_plugins *plugins, int with_store,
                                                 shared_state *sh, int res_fd, int cmd_fd, pid_t supervisor)
{
    serve_batches(cfg, plugins, worker_setup(cfg, with_store, sh, supervisor), sh, res_fd, cmd_fd);
}

/* ---------------------------------------------------------------- the supervisor side */

static const char *plugin_name(const bd_job *j)
{
    const char *forced = j->force_format ? j->force_format : j->partner->format;
    const bd_loaded_plugin *lp = forced ? bd_plugins_find(j->plugins, forced)
                                        : bd_plugins_choose(j->plugins, j->name, NULL, 0);
    return lp ? lp->desc->name : "?";
}

/* plugin_timeout counts from the start of the file the worker is on. */
static double current_deadline(worker_handle *w, const bd_config *cfg)
{
    int32_t cur = w->sh->current;
    if (cur != w->seen_current) {
        w->seen_current = cur;
        w->deadline = bd_monotonic() + cfg->plugin_timeout;
    }
    return w->deadline;
}

/* Read len bytes or see the worker's end, at most until the deadline. 1 = got them, 0 = no, -1 = timeout. */
static int wait_bytes(worker_handle *w, const bd_config *cfg, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        double left = current_deadline(w, cfg) - bd_monotonic();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = w->res_fd, .events = POLLIN};
        int rc = poll(&p, 1, (int)(left * 1000) + 1);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            continue;
        ssize_t n = read(w->res_fd, (char *)buf + got, len - got);
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

/* broke: how the worker's report was spoiled ("garbled", "closed") when the agent stopped it for that, else NULL. */
static void describe_death(const bd_config *cfg, const bd_job *j, const shared_state *sh, int status, int timed_out,
                           const char *broke, char *why, size_t len)
{
    const char *p = plugin_name(j);
    unsigned long long line = (unsigned long long)sh->line;
    if (broke)
        snprintf(why, len, "plugin %s broke the worker's report to the agent (%s it) at line %llu; the worker was "
                 "stopped", p, broke, line);
    else if (timed_out)
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

static void adopt_result(bd_job *j, const result_msg *m, const shared_state *sh, const bd_config *cfg, int last)
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
    if (j->outcome == BD_JOB_RETRY && sh->out_of_memory && last) {
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

static void free_handle(worker_handle *w);

/* Workers that reported everything and are on their way out: reaped later, so that committing their files
 * does not wait for the kernel to tear a worker down. */
#define EXITING_MAX 64
static pid_t exiting[EXITING_MAX];
static int nexiting;

static void reap_later(pid_t pid)
{
    pid_t r;
    while ((r = waitpid(pid, NULL, WNOHANG)) < 0 && errno == EINTR)
        ;
    if (r != 0)
        return; /* gone (or not our child any more) */
    if (nexiting == EXITING_MAX)
        bd_worker_reap_exited(1);
    exiting[nexiting++] = pid;
}

void bd_worker_reap_exited(int block)
{
    int kept = 0;
    for (int i = 0; i < nexiting; i++) {
        pid_t r;
        while ((r = waitpid(exiting[i], NULL, block ? 0 : WNOHANG)) < 0 && errno == EINTR)
            ;
        if (r == 0)
            exiting[kept++] = exiting[i];
    }
    nexiting = kept;
}

void bd_worker_release(bd_job *j)
{
    worker_handle *w = j->worker;
    if (!w)
        return;
    if (w->cmd_fd >= 0)
        close(w->cmd_fd);
    w->cmd_fd = -1;
    reap_later(w->pid);
    free_handle(w);
    j->worker = NULL;
    j->batch_commit = NULL;
    j->batch_abort = NULL;
}

/* The file a dead worker was on fails (its staged files are already removed with the batch's). */
static void fail_job(bd_job *j, const char *why)
{
    j->r.started_ms = j->r.started_ms ? j->r.started_ms : bd_now_ms();
    bd_job_hash_input(j);
    bd_job_fail(j, BD_JOB_FAILED, why);
    j->r.finished_ms = bd_now_ms();
    log_error("partner %s: %s: %s", j->partner->name, j->name, why);
}

static void free_handle(worker_handle *w)
{
    if (w->cmd_fd >= 0)
        close(w->cmd_fd);
    close(w->res_fd);
    munmap(w->sh, sizeof *w->sh);
    free(w->jobs);
    free(w);
}

/* The worker's status once its report is lost. kill_now (a timeout, or a report that made no sense): it is
 * stopped at once. Else it died, or ends within a moment (its pipe closes as it exits); one still running after
 * that closed its report itself (a plugin can reach the pipe) and is stopped, since the agent would otherwise wait
 * for it for ever (a worker may stay after a batch). Returns 1 when it had to be stopped so. */
static int reap_reporter(worker_handle *w, int kill_now, int *status)
{
    for (int tries = 0; !kill_now && tries < 50; tries++) { /* up to 0.5 s */
        pid_t r = waitpid(w->pid, status, WNOHANG);
        if (r == w->pid || (r < 0 && errno != EINTR))
            return 0;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(w->pid, SIGKILL);
    while (waitpid(w->pid, status, 0) < 0 && errno == EINTR)
        ;
    return !kill_now;
}

/* The worker died, hung, or broke its report (garbled: bytes came that made no sense): the file it was on
 * failed; the others did not run. */
static void judge_death(const bd_config *cfg, worker_handle *w, int timed_out, int garbled)
{
    int32_t cur = w->sh->current;
    bd_job *j = w->jobs[cur >= 0 && cur < w->njobs ? cur : 0];
    int status = 0, stopped = reap_reporter(w, timed_out || garbled, &status);
    const char *broke = garbled ? "garbled" : stopped ? "closed" : NULL;
    for (int i = 0; i < w->njobs; i++)
        remove_staged(cfg, w->jobs[i], w->pid);
    char why[512];
    describe_death(cfg, j, w->sh, status, timed_out, broke, why, sizeof why);
    fail_job(j, why);
    j->ran = 1;
    j->fault = timed_out ? BD_FAULT_TIMEOUT : BD_FAULT_CRASH;
    if (broke)
        return; /* the SIGKILL was ours */
    if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SETUP) {
        j->outcome = BD_JOB_RETRY; /* our setup, not the file: keep it claimed and retry */
        j->fault = BD_FAULT_NONE;
    } else if (!timed_out && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
        /* not our timeout: the OOM killer or an admin. Say so; dispatch retries it a few times. */
        snprintf(why, sizeof why, "the worker (plugin %s) was killed by SIGKILL from outside the agent at line %llu "
                 "(the kernel's OOM killer, or an admin)", plugin_name(j), (unsigned long long)w->sh->line);
        bd_job_fail(j, BD_JOB_RETRY, why);
        j->fault = BD_FAULT_KILLED;
    }
}

/* The chunk's packed results (the worker is untrusted: the frame must be within the bound of what it packs).
 * NULL when the pipe ended first or on ENOMEM, or when the size made no sense (*garbled set). */
static void *receive_packed(const bd_config *cfg, worker_handle *w, const chunk_head *head, int *garbled)
{
    size_t raw = (size_t)head->ran * sizeof(result_msg);
    if (head->packed == 0 || head->packed > ZSTD_compressBound(raw)) {
        *garbled = 1;
        return NULL;
    }
    char *packed = malloc(head->packed);
    if (packed && wait_bytes(w, cfg, packed, head->packed) <= 0) {
        free(packed);
        packed = NULL;
    }
    return packed;
}

typedef struct adoption {
    const bd_config *cfg;
    worker_handle *w;
    size_t ran;
    int holds; /* the last result holds an ID-sync transaction */
} adoption;

static void adopt_one(void *ctx, size_t i, const void *rec)
{
    adoption *a = ctx;
    const result_msg *m = rec;
    adopt_result(a->w->jobs[i], m, a->w->sh, a->cfg, i == a->ran - 1);
    a->w->jobs[i]->ran = 1;
    if (i == a->ran - 1)
        a->holds = m->holds_batch;
}

/* Adopt the chunk's results; 1 when the last one holds an ID-sync transaction (the worker waits), -1 when they
 * did not come whole (*garbled: they came, and made no sense). The frame is unpacked twice, one result at a time:
 * first to check that it holds exactly ran results, then to adopt them (a whole batch's results unpacked at once
 * took about 41 KB a file of the supervisor's memory). */
static int adopt_chunk(const bd_config *cfg, worker_handle *w, const chunk_head *head, int *garbled)
{
    static ZSTD_DCtx *unpacker; /* kept for the agent's life: its buffers serve every report */
    void *packed = receive_packed(cfg, w, head, garbled);
    result_msg *m = packed ? malloc(sizeof *m) : NULL;
    adoption a = {.cfg = cfg, .w = w, .ran = (size_t)head->ran};
    int rc = -1;
    if (m && !unpacker)
        unpacker = bd_report_unpacker_new();
    if (m && unpacker) { /* else out of memory: a torn chunk, not a garbled one */
        *garbled = bd_report_unpack(unpacker, packed, head->packed, a.ran, sizeof *m, m, NULL, NULL) < 0;
        if (!*garbled && bd_report_unpack(unpacker, packed, head->packed, a.ran, sizeof *m, m, adopt_one, &a) == 0)
            rc = a.holds;
    }
    free(m);
    free(packed);
    return rc;
}

static int keep_idle(worker_handle *w, const bd_partner *partner);

static void collect(const bd_config *cfg, worker_handle *w)
{
    chunk_head head = {0};
    int got = wait_bytes(w, cfg, &head, sizeof head);
    int32_t ran = head.ran;
    int garbled = got > 0 && (ran < 1 || ran > w->njobs);
    int holds = got > 0 && !garbled ? adopt_chunk(cfg, w, &head, &garbled) : -1;
    if (holds == 0 && head.stays && keep_idle(w, w->jobs[0]->partner))
        return;
    if (holds > 0) {
        bd_job *j = w->jobs[ran - 1];
        j->worker = w; /* the transaction waits: commit.c finishes it, bd_worker_release reaps */
        j->batch_commit = worker_commit;
        j->batch_abort = worker_abort;
        return;
    }
    if (holds < 0) {
        for (int i = 0; i < w->njobs; i++)
            w->jobs[i]->ran = 0; /* a torn chunk: judged as a death */
        judge_death(cfg, w, got < 0, garbled);
    } else {
        reap_later(w->pid);
    }
    free_handle(w);
}

static void fail_start(bd_job **jobs, int n, const char *why)
{
    bd_job_fail(jobs[0], BD_JOB_RETRY, why);
    jobs[0]->ran = 1;
    for (int i = 1; i < n; i++)
        jobs[i]->ran = 0;
}

static void close_other_fds(int res_fd, int cmd_fd, bd_job **jobs, int n)
{
    int keep[2 + 2 * BD_BATCH_MAX], nk = 0;
    if (n > BD_BATCH_MAX)
        return; /* not a dispatcher batch: keep everything */
    keep[nk++] = res_fd;
    keep[nk++] = cmd_fd;
    for (int i = 0; i < n; i++) {
        if (jobs[i]->input_fd > 2)
            keep[nk++] = jobs[i]->input_fd;
        if (jobs[i]->trace_fd > 2)
            keep[nk++] = jobs[i]->trace_fd;
    }
    bd_close_fds_except(keep, nk);
}

/* A new worker process (shared page, result pipe, command socket), running jobs now or, without jobs, a spare
 * waiting for them. NULL with errno. */
static worker_handle *spawn(const bd_config *cfg, bd_job **jobs, int n, const bd_plugins *plugins, int with_store)
{
    int res[2] = {-1, -1}, cmd[2] = {-1, -1};
    shared_state *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    worker_handle *w = calloc(1, sizeof *w);
    pid_t pid = -1;
    if (sh != MAP_FAILED && w && pipe2(res, O_CLOEXEC) == 0 &&
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, cmd) == 0) {
        fflush(stderr);
        pid_t supervisor = getpid();
        pid = fork();
        if (pid == 0) {
            free(w); /* the supervisor's handle */
            close(res[0]);
            close(cmd[1]);
            close_other_fds(res[1], cmd[0], jobs, jobs ? n : 0);
            if (jobs)
                worker_main(cfg, jobs, n, sh, res[1], cmd[0], supervisor);
            spare_main(cfg, plugins, with_store, sh, res[1], cmd[0], supervisor);
        }
    }
    int saved = errno;
    for (int i = 0; i < 2; i++) {
        if (res[i] >= 0 && (pid < 0 || i == 1))
            close(res[i]);
        if (cmd[i] >= 0 && (pid < 0 || i == 0))
            close(cmd[i]);
    }
    if (pid < 0) {
        free(w);
        if (sh != MAP_FAILED)
            munmap(sh, sizeof *sh);
        errno = saved;
        return NULL;
    }
    *w = (worker_handle){.pid = pid, .cmd_fd = cmd[1], .res_fd = res[0], .sh = sh};
    return w;
}

/* ---------------------------------------------------------------- the spare and the idle workers */

static worker_handle *spare;          /* forked ahead, bound to no partner yet */
static worker_handle *idle[IDLE_MAX]; /* each stayed after a batch of its partner's */
static int nidle;

/* The lookup index file's inode now, 0 when there is none (or no index is kept): a rebuilt index is a new file. */
static ino_t index_inode(const bd_config *cfg)
{
    char path[PATH_MAX];
    struct stat st;
    if (!cfg->match_index || cfg->match_store != BD_STORE_LMDB ||
        bd_match_path(cfg, BD_MATCH_INDEX_FILE, path, sizeof path) < 0 || stat(path, &st) < 0)
        return 0;
    return st.st_ino;
}

/* The worker no longer fits: another configuration, store or not, or the lookup index was rebuilt since it
 * mapped it (it would read the store's B-tree instead, and keep the old file's disk space). */
static int outdated(const worker_handle *w, const bd_config *cfg, int with_store)
{
    return w->made_for != cfg || w->with_store != with_store || (with_store && index_inode(cfg) != w->index_ino);
}

/* An idle worker or the spare ended: its socket closed (EOF ends it), and SIGKILL too, since it holds nothing
 * (no batch, no read transaction) and another process could still hold a copy of the agent's end of the socket;
 * reaped later. */
static void drop(worker_handle *w)
{
    close(w->cmd_fd);
    w->cmd_fd = -1;
    kill(w->pid, SIGKILL);
    reap_later(w->pid);
    free_handle(w);
}

static void drop_idle(int i)
{
    drop(idle[i]);
    idle[i] = idle[--nidle];
}

void bd_worker_drop_spare(void)
{
    if (spare)
        drop(spare);
    spare = NULL;
    while (nidle > 0)
        drop_idle(nidle - 1);
}

void bd_worker_end_all(void)
{
    bd_worker_drop_spare();
    bd_worker_reap_exited(1);
}

/* A worker that reported a whole batch and stays: kept for its partner's next batch (0: not kept). */
static int keep_idle(worker_handle *w, const bd_partner *partner)
{
    if (!w->made_for || nidle == IDLE_MAX)
        return 0;
    for (int i = 0; i < nidle; i++)
        if (idle[i]->partner == partner)
            return 0; /* one is enough */
    free(w->jobs);
    w->jobs = NULL;
    w->njobs = 0;
    w->partner = partner;
    w->idle_since = bd_monotonic();
    idle[nidle++] = w;
    return 1;
}

int bd_worker_prefork(const bd_config *cfg, const bd_plugins *plugins, int with_store)
{
    double now = bd_monotonic();
    for (int i = nidle - 1; i >= 0; i--)
        if (now - idle[i]->idle_since > IDLE_TIMEOUT || outdated(idle[i], cfg, with_store))
            drop_idle(i);
    if (spare && outdated(spare, cfg, with_store)) {
        drop(spare);
        spare = NULL;
    }
    if (spare)
        return 0;
    ino_t index = with_store ? index_inode(cfg) : 0;
    worker_handle *w = spawn(cfg, NULL, 0, plugins, with_store);
    if (!w)
        return -1;
    w->made_for = cfg;
    w->with_store = with_store;
    w->index_ino = index;
    spare = w;
    return 0;
}

/* The batch's partner's idle worker, else the spare, when made for this configuration and still current. */
static worker_handle *take_ready(const bd_config *cfg, const bd_job *first, const char **which)
{
    int with_store = first->ms != NULL;
    for (int i = 0; i < nidle; i++) {
        if (idle[i]->partner != first->partner)
            continue;
        worker_handle *w = idle[i];
        if (outdated(w, cfg, with_store)) {
            drop_idle(i);
            break;
        }
        idle[i] = idle[--nidle];
        *which = "its idle worker";
        return w;
    }
    if (!spare || spare->made_for != cfg || spare->with_store != with_store)
        return NULL; /* not this batch's (another configuration's spare stays for that one's batches) */
    if (outdated(spare, cfg, with_store)) { /* the lookup index was rebuilt */
        drop(spare);
        spare = NULL;
        return NULL;
    }
    worker_handle *w = spare;
    spare = NULL;
    *which = "the spare worker";
    return w;
}

/* An idle worker or the spare takes the batch; NULL: fork a worker instead. */
static worker_handle *use_ready(const bd_config *cfg, bd_job **jobs, int n)
{
    const char *which = "";
    if (!may_stay(jobs[0]))
        return NULL;
    worker_handle *w = take_ready(cfg, jobs[0], &which);
    if (!w)
        return NULL;
    w->sh->current = 0;
    w->sh->line = 0;
    w->seen_current = 0;
    if (bd_wire_send_jobs(w->cmd_fd, jobs, n) == 0) {
        log_debug("partner %s: %s (pid %ld) takes %d file%s", jobs[0]->partner->name, which, (long)w->pid, n,
                  n == 1 ? "" : "s");
        return w;
    }
    log_warn("%s did not take its batch (%s); starting a new worker", which, strerror(errno));
    kill(w->pid, SIGKILL);
    reap_later(w->pid);
    free_handle(w);
    return NULL;
}

int bd_worker_start_batch(const bd_config *cfg, bd_job **jobs, int n)
{
    bd_job **copy = calloc((size_t)n, sizeof *copy);
    worker_handle *w = copy ? use_ready(cfg, jobs, n) : NULL;
    if (copy && !w && (w = spawn(cfg, jobs, n, NULL, 0)) && may_stay(jobs[0])) {
        w->made_for = cfg; /* it may stay for the partner's next batch, like a spare that took one */
        w->with_store = jobs[0]->ms != NULL;
        w->index_ino = w->with_store ? index_inode(cfg) : 0;
    }
    if (!w) {
        fail_start(jobs, n, copy ? "cannot fork a worker process" : "cannot set up a worker process (out of memory)");
        free(copy);
        return -1;
    }
    memcpy(copy, jobs, (size_t)n * sizeof *copy);
    w->jobs = copy;
    w->njobs = n;
    w->deadline = bd_monotonic() + cfg->plugin_timeout;
    for (int i = 0; i < n; i++)
        jobs[i]->ran = 0;
    jobs[0]->pending = w;
    return 0;
}

int bd_worker_start(const bd_config *cfg, bd_job *j)
{
    return bd_worker_start_batch(cfg, &j, 1);
}

int bd_worker_fd(const bd_job *j)
{
    const worker_handle *w = j->pending;
    return w ? w->res_fd : -1;
}

double bd_worker_deadline(const bd_job *j, const bd_config *cfg)
{
    worker_handle *w = j->pending;
    return w ? current_deadline(w, cfg) : 0;
}

void bd_worker_collect(const bd_config *cfg, bd_job *j)
{
    worker_handle *w = j->pending;
    if (!w)
        return;
    j->pending = NULL;
    collect(cfg, w);
}

void bd_worker_run(const bd_config *cfg, bd_job *j)
{
    if (bd_worker_start(cfg, j) == 0)
        bd_worker_collect(cfg, j);
}
