/* dispatch.c: run claimed files in a pool of sandboxed workers and commit their outcomes in the supervisor. */
#include "config.h"
#include "dispatch.h"
#include "claim.h"
#include "commit.h"
#include "daemon.h"
#include "fsutil.h"
#include "job.h"
#include "log.h"
#include "mailer.h"
#include "notify.h"
#include "pstats.h"
#include "strutil.h"
#include "worker.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Small files of one partner share a worker (a batch) and one group commit; a large file runs alone. */
#define BD_BATCH_FILE_MAX (1024 * 1024)
#define BD_BATCH_BYTES_MAX (16 * 1024 * 1024)

typedef struct bd_slot_file {
    int in_hand; /* claimed and not finished: committed, given back or left claimed for a retry */
    char claim_id[BD_CLAIM_ID_MAX], claim_path[PATH_MAX], name[256];
    char done[PATH_MAX], push[PATH_MAX];
    bd_job job;
} bd_slot_file;

/* One worker slot: a batch of one partner's files. Forming while the inbox poll adds files (no worker yet),
 * running once launched; files the worker did not get to run in a new worker in the same slot. */
typedef struct bd_inflight {
    int active;  /* holds files */
    int running; /* a worker has run[0..nrun) */
    bd_inbox *in;
    int nfiles;
    uint64_t bytes;
    int claims_synced;     /* bd_claim_sync ran (at the first launch) */
    int claim_not_durable; /* it failed: no outcome may be committed */
    bd_slot_file *files;   /* BD_BATCH_MAX, allocated on first use */
    bd_job *run[BD_BATCH_MAX];
    int nrun;
    int sealed; /* takes no more files: a large file runs alone */
} bd_inflight;

static bd_slot_file *file_of(bd_job *j)
{
    return (bd_slot_file *)((char *)j - offsetof(bd_slot_file, job));
}

int bd_dispatch_init(bd_agent *a)
{
    a->npool = a->cfg->workers > 0 ? a->cfg->workers : 1;
    a->pool = calloc((size_t)a->npool, sizeof *a->pool);
    return a->pool ? 0 : -1;
}

void bd_dispatch_free(bd_agent *a)
{
    for (int i = 0; i < a->npool; i++)
        free(a->pool[i].files);
    free(a->pool);
    a->pool = NULL;
    a->npool = 0;
}

int bd_dispatch_active(const bd_agent *a)
{
    int n = 0;
    for (int i = 0; i < a->npool; i++)
        n += a->pool[i].active;
    return n;
}

int bd_dispatch_has_claim(const bd_agent *a, const char *claim_id)
{
    for (int i = 0; i < a->npool; i++)
        for (int k = 0; a->pool[i].active && k < a->pool[i].nfiles; k++)
            if (a->pool[i].files[k].in_hand && strcmp(a->pool[i].files[k].claim_id, claim_id) == 0)
                return 1;
    return 0;
}

/* A partner has at most two slots: the batch in a worker (or being committed) and the next one, forming. The next
 * batch starts when the previous one's worker ran all its files (see finish), so that its parsing overlaps that
 * batch's commit; commits stay in the partner's order. */
static bd_inflight *slot_of(const bd_agent *a, const char *partner, int forming)
{
    for (int i = 0; i < a->npool; i++)
        if (a->pool[i].active && (!a->pool[i].running) == forming && strcmp(a->pool[i].in->partner->name, partner) == 0)
            return &a->pool[i];
    return NULL;
}

/* By name: after a reload the partner of a file in flight is the old configuration's. */
int bd_dispatch_partner_active(const bd_agent *a, const char *partner)
{
    int n = 0;
    for (int i = 0; i < a->npool; i++)
        for (int k = 0; a->pool[i].active && k < a->pool[i].nfiles; k++)
            n += a->pool[i].files[k].in_hand && strcmp(a->pool[i].in->partner->name, partner) == 0;
    return n;
}

static bd_inflight *free_slot(bd_agent *a);
static int fits(const bd_agent *a, const bd_inflight *f, uint64_t bytes);

/* Busy: no batch of the partner can take a file now (its next batch is full, or no slot is free for one). */
int bd_dispatch_busy(const bd_agent *a, const bd_partner *p)
{
    const bd_inflight *next = slot_of(a, p->name, 1);
    if (next)
        return !fits(a, next, 0);
    return slot_of(a, p->name, 0) && !free_slot((bd_agent *)a);
}

int bd_dispatch_held(const bd_agent *a, const bd_partner *p)
{
    const bd_pstat *ps = bd_pstats_find(&a->pstats, p->name);
    return ps && ps->held;
}

int bd_dispatch_uses_config(const bd_agent *a, const bd_config *cfg)
{
    for (int i = 0; i < a->npool; i++)
        for (int k = 0; a->pool[i].active && k < a->pool[i].nfiles; k++)
            if (a->pool[i].files[k].in_hand && a->pool[i].files[k].job.cfg == cfg)
                return 1;
    return 0;
}

void bd_dispatch_retarget_plugins(bd_agent *a, const bd_config *cfg, const bd_plugins *plugins)
{
    for (int i = 0; i < a->npool; i++)
        for (int k = 0; a->pool[i].active && k < a->pool[i].nfiles; k++)
            if (a->pool[i].files[k].in_hand && a->pool[i].files[k].job.cfg == cfg)
                a->pool[i].files[k].job.plugins = plugins;
}

int bd_dispatch_resize(bd_agent *a, int workers)
{
    if (workers <= a->npool)
        return 0;
    bd_inflight *pool = realloc(a->pool, (size_t)workers * sizeof *pool);
    if (!pool)
        return -1;
    memset(pool + a->npool, 0, (size_t)(workers - a->npool) * sizeof *pool);
    a->pool = pool;
    a->npool = workers;
    return 0;
}

/* ---------------------------------------------------------------- finishing a file */

static void fill_receipt_identity(bd_agent *a, bd_job *j, bd_inbox *in, const char *claim_id, const char *name)
{
    snprintf(j->r.id, sizeof j->r.id, "%s", claim_id);
    snprintf(j->r.agent, sizeof j->r.agent, "%s", a->cfg->agent_id);
    snprintf(j->r.file, sizeof j->r.file, "%s", name);
    snprintf(j->r.partner, sizeof j->r.partner, "%s", in->partner->name);
    const bd_remote *r = in->partner->remote;
    if (in->remote)
        snprintf(j->r.source, sizeof j->r.source, "sftp://%s@%s:%d%s/%s", r->user, r->host, r->port, r->path, name);
    else if (bd_path_join(j->r.source, sizeof j->r.source, in->partner->inbox, name) < 0)
        snprintf(j->r.source, sizeof j->r.source, "%s", name);
}

static void log_outcome(const bd_job *j)
{
    const bd_counters *c = &j->r.c;
    if (strcmp(j->r.status, BD_STATUS_OK) == 0)
        log_info("partner %s: %s: ok, %llu records, %llu stored, %llu no match, %llu format errors%s%s",
                 j->r.partner, j->r.file, (unsigned long long)c->records_received, (unsigned long long)c->stored,
                 (unsigned long long)c->no_match, (unsigned long long)c->format_errors,
                 j->r.noutbox ? " -> " : "", j->r.noutbox ? j->r.outbox[0] : "");
    else
        log_warn("partner %s: %s: %s: %s", j->r.partner, j->r.file, j->r.status, j->r.reason);
}

static void count_outcome(bd_agent *a, const bd_job *j)
{
    if (strcmp(j->r.status, BD_STATUS_OK) == 0)
        a->stats.ok++;
    else if (strcmp(j->r.status, BD_STATUS_DUPLICATE) == 0)
        a->stats.duplicate++;
    else
        a->stats.rejected++;
}

static void leave_for_retry(bd_agent *a, const char *partner, const char *claim_id, const char *what)
{
    bd_pstat *ps = bd_pstats_get(&a->pstats, partner);
    if (ps)
        ps->held = 1; /* its next files wait: an ID-sync file retried must still come before the traits */
    bd_pstats_file(&a->pstats, partner, BD_FS_RETRY);
    bd_pstats_error(&a->pstats, partner, "claim %s: %s; retried in %.0f s", claim_id, what, a->cfg->retry_interval);
    a->report_dirty = 1;
    a->internal_errors++;
    a->stats.retried++;
    a->next_claim_retry = bd_monotonic() + a->cfg->retry_interval;
    if (a->sigfd >= 0)
        log_error("claim %s: %s; the file stays claimed and is retried in %.0f s", claim_id, what,
                  a->cfg->retry_interval);
    else
        log_error("claim %s: %s; the file stays claimed and is retried by the next run", claim_id, what);
}

void bd_dispatch_left_for_retry(bd_agent *a, const char *partner, const char *claim_id, const char *what)
{
    leave_for_retry(a, partner, claim_id, what);
}

static void handle_incomplete(bd_agent *a, bd_inflight *f, bd_slot_file *sf)
{
    a->stats.incomplete++;
    bd_pstats_file(&a->pstats, f->in->partner->name, BD_FS_INCOMPLETE);
    log_info("partner %s: %s is not complete yet (%s); giving it back to the inbox", f->in->partner->name,
             sf->job.r.file, sf->job.r.reason);
    if (bd_claim_release(f->in, sf->claim_path, sf->job.r.file) < 0)
        leave_for_retry(a, f->in->partner->name, sf->job.r.id, "cannot give an incomplete file back to the inbox");
}

/* After the group commit: what became of one file. */
static void committed(bd_agent *a, bd_inflight *f, bd_commit_item *it)
{
    bd_job *j = it->job;
    int rc = it->rc;
    bd_worker_release(j);
    int published = (rc == 0 || rc == -2) && strcmp(j->r.status, BD_STATUS_OK) == 0;
    if (!published)
        bd_job_discard_staged(j); /* the journal does not name them: nobody else will */
    bd_job_cleanup(j, rc == -2 && strcmp(j->r.status, BD_STATUS_OK) == 0);
    if (rc < 0)
        leave_for_retry(a, f->in->partner->name, it->claim_id, "committing its outcome failed");
    else {
        count_outcome(a, j);
        bd_pstats_outcome(&a->pstats, j);
        log_outcome(j);
        if (j->partner->receipt_mail)
            bd_mailer_note_spooled(a->mailer);
    }
}

/* Commit the batch's finished files together, in their order. 1 when one of them must be retried. */
static int commit_outcomes(bd_agent *a, bd_inflight *f, bd_commit_item *items, size_t n)
{
    int failed = 0;
    if (n == 0)
        return 0;
    bd_commit_jobs(a, items, n);
    a->last_commit = bd_monotonic();
    for (size_t i = 0; i < n; i++) {
        committed(a, f, &items[i]);
        failed |= items[i].rc < 0;
    }
    return failed;
}

/* Workers killed from outside, per claim: a file is retried BD_KILLED_ATTEMPTS - 1 times, then fails. */
#define BD_KILLED_ATTEMPTS 3
static struct {
    char claim_id[BD_CLAIM_ID_MAX];
    int kills;
} killed[64];
static unsigned killed_next;

/* Count one more kill of this claim's worker; 1 when it reached BD_KILLED_ATTEMPTS. */
static int killed_again(const char *claim_id)
{
    for (size_t i = 0; i < sizeof killed / sizeof killed[0]; i++)
        if (strcmp(killed[i].claim_id, claim_id) == 0)
            return ++killed[i].kills >= BD_KILLED_ATTEMPTS;
    size_t k = killed_next++ % (sizeof killed / sizeof killed[0]);
    snprintf(killed[k].claim_id, sizeof killed[k].claim_id, "%s", claim_id);
    killed[k].kills = 1;
    return 0;
}

/* A worker killed from outside: retried, unless it was the BD_KILLED_ATTEMPTS-th time (then it fails). */
static int given_up_after_kills(bd_agent *a, bd_slot_file *sf)
{
    bd_job *j = &sf->job;
    if (j->fault != BD_FAULT_KILLED)
        return 0;
    bd_pstats_fault(&a->pstats, j->partner->name, BD_FAULT_KILLED);
    if (!killed_again(sf->claim_id))
        return 0;
    char why[sizeof j->r.reason];
    snprintf(why, sizeof why, "%.900s; %d times in a row: given up", j->r.reason, BD_KILLED_ATTEMPTS);
    bd_job_fail(j, BD_JOB_FAILED, why);
    return 1;
}

static void close_input(bd_job *j)
{
    if (j->input_fd > 0)
        close(j->input_fd);
    j->input_fd = 0;
}

/* A file that waits, still claimed, for an earlier file of its partner to be retried (requeue_claims). */
static void leave_claimed(bd_slot_file *sf)
{
    bd_job *j = &sf->job;
    close_input(j);
    bd_worker_release(j);
    bd_job_discard_staged(j);
    bd_job_cleanup(j, 0);
    sf->in_hand = 0;
}

/* One file the worker reported. Returns 1 when it must be retried (its partner's later files then wait). */
static int judge(bd_agent *a, bd_inflight *f, bd_slot_file *sf, bd_commit_item *items, size_t *ni)
{
    bd_job *j = &sf->job;
    close_input(j);
    if (j->outcome == BD_JOB_INCOMPLETE) {
        handle_incomplete(a, f, sf);
        bd_job_cleanup(j, 0);
        sf->in_hand = 0;
        return 0;
    }
    int given_up = j->outcome == BD_JOB_RETRY && given_up_after_kills(a, sf);
    if (!given_up && (j->outcome == BD_JOB_RETRY || f->claim_not_durable)) {
        if (strstr(j->r.reason, "match store"))
            bd_agent_note_store(a, j->r.reason);
        bd_worker_release(j);
        bd_job_discard_staged(j);
        leave_for_retry(a, f->in->partner->name, sf->claim_id,
                        f->claim_not_durable ? "its claim could not be made durable (fsync failed)" : j->r.reason);
        bd_job_cleanup(j, 0);
        sf->in_hand = 0;
        return 1;
    }
    if (j->outcome == BD_JOB_OK && a->store_down && j->ms && strcmp(j->r.status, BD_STATUS_OK) == 0)
        bd_agent_note_store(a, NULL); /* the worker used the store */
    items[(*ni)++] = (bd_commit_item){.job = j, .claim_id = sf->claim_id, .claim_path = sf->claim_path};
    sf->in_hand = 0;
    return 0;
}

static void launch(bd_agent *a, bd_inflight *f);

/* The partner's next batch, not started: its files wait, claimed, for the retry of an earlier one. */
static void dissolve_next(bd_agent *a, const char *partner)
{
    bd_inflight *next = slot_of(a, partner, 1);
    for (int k = 0; next && k < next->nfiles; k++)
        if (next->files[k].in_hand)
            leave_claimed(&next->files[k]);
    if (next)
        next->active = 0;
}

/* The worker ran its whole batch and holds no ID-sync transaction: the partner's next batch may parse while this
 * one is committed (the commits stay in order). */
static void start_next_early(bd_agent *a, bd_inflight *f, int held, int nre, size_t ni, const bd_commit_item *items)
{
    if (held || nre || (ni && items[ni - 1].job->worker))
        return;
    bd_inflight *next = slot_of(a, f->in->partner->name, 1);
    if (!next)
        return;
    int64_t names = 0; /* this batch's outbox names are not published yet: the next batch's come after them */
    for (size_t i = 0; i < ni; i++)
        if (items[i].job->has_outbox && items[i].job->out.name_ms > names)
            names = items[i].job->out.name_ms;
    for (int i = 0; i < next->nrun; i++)
        next->run[i]->names_after_ms = names;
    launch(a, next);
}

/* The worker is done (or past its deadline): commit what it finished, in order, and run what it did not get
 * to in a new worker, unless a file must be retried first (or an earlier batch failed to commit meanwhile). */
static void finish(bd_agent *a, bd_inflight *f)
{
    bd_commit_item items[BD_BATCH_MAX];
    bd_job *rerun[BD_BATCH_MAX];
    size_t ni = 0;
    int nre = 0, held = bd_dispatch_held(a, f->in->partner);
    bd_worker_collect(f->run[0]->cfg, f->run[0]);
    for (int i = 0; i < f->nrun; i++) {
        bd_job *j = f->run[i];
        if (!j->ran)
            rerun[nre++] = j;
        else if (held)
            leave_claimed(file_of(j));
        else
            held = judge(a, f, file_of(j), items, &ni);
    }
    start_next_early(a, f, held, nre, ni, items);
    held |= commit_outcomes(a, f, items, ni);
    f->nrun = 0;
    for (int i = 0; i < nre; i++)
        if (held)
            leave_claimed(file_of(rerun[i]));
        else
            f->run[f->nrun++] = rerun[i];
    if (held)
        dissolve_next(a, f->in->partner->name);
    if (f->nrun)
        launch(a, f);
    else
        f->active = f->running = 0;
    a->report_dirty = 1;
    if (a->retired)
        bd_agent_release_retired(a, 0);
}

/* ---------------------------------------------------------------- the pool */

int bd_dispatch_pollfds(const bd_agent *a, struct pollfd *fds, int max)
{
    int n = 0;
    for (int i = 0; i < a->npool && n < max; i++)
        if (a->pool[i].running && bd_worker_fd(a->pool[i].run[0]) >= 0)
            fds[n++] = (struct pollfd){.fd = bd_worker_fd(a->pool[i].run[0]), .events = POLLIN};
    return n;
}

double bd_dispatch_next_deadline(const bd_agent *a)
{
    double next = -1, now = bd_monotonic();
    for (int i = 0; i < a->npool; i++) {
        if (!a->pool[i].active)
            continue;
        double w = a->pool[i].running ? bd_worker_deadline(a->pool[i].run[0], a->cfg) - now : 0; /* forming: now */
        w = w < 0 ? 0 : w;
        if (next < 0 || w < next)
            next = w;
    }
    return next;
}

static int ready_now(const bd_agent *a, const bd_inflight *f)
{
    struct pollfd p = {.fd = bd_worker_fd(f->run[0]), .events = POLLIN};
    return p.fd < 0 || poll(&p, 1, 0) > 0 || bd_monotonic() >= bd_worker_deadline(f->run[0], a->cfg);
}

void bd_dispatch_prefork(bd_agent *a)
{
    if (a->cfg->match_store == BD_STORE_LMDB && bd_worker_prefork(a->cfg, &a->plugins, a->ms != NULL) < 0)
        log_warn("cannot fork a spare worker (%s); files start their workers themselves", strerror(errno));
}

void bd_dispatch_launch(bd_agent *a)
{
    for (int i = 0; i < a->npool; i++)
        if (a->pool[i].active && !a->pool[i].running && !slot_of(a, a->pool[i].in->partner->name, 0))
            launch(a, &a->pool[i]);
}

int bd_dispatch_reap(bd_agent *a, int block)
{
    int finished = 0;
    bd_dispatch_launch(a);
    bd_worker_reap_exited(0);
    for (;;) {
        for (int i = 0; i < a->npool; i++)
            if (a->pool[i].running && ready_now(a, &a->pool[i])) {
                finish(a, &a->pool[i]);
                finished++;
            }
        if (finished || !block || !bd_dispatch_active(a))
            return finished;
        struct pollfd fds[256];
        int n = bd_dispatch_pollfds(a, fds, 256);
        double wait = bd_dispatch_next_deadline(a);
        int ms = bd_notify_cap_ms(wait < 0 ? -1 : (int)(wait * 1000) + 1);
        if (poll(fds, (nfds_t)n, ms) < 0 && errno != EINTR)
            return finished;
        bd_notify_watchdog(); /* a long file in every worker must not look like a hung agent */
    }
}

void bd_dispatch_drain(bd_agent *a)
{
    while (bd_dispatch_active(a))
        bd_dispatch_reap(a, 1);
    bd_worker_reap_exited(1);
}

static bd_inflight *free_slot(bd_agent *a)
{
    if (bd_dispatch_active(a) >= a->cfg->workers)
        return NULL; /* a reload lowered `workers` */
    for (int i = 0; i < a->npool; i++)
        if (!a->pool[i].active)
            return &a->pool[i];
    return NULL;
}

static void prepare(bd_agent *a, bd_inbox *in, bd_slot_file *sf, int truncated_is_final)
{
    bd_job *j = &sf->job;
    memset(j, 0, sizeof *j);
    *j = (bd_job){.cfg = a->cfg, .partner = in->partner, .plugins = &a->plugins, .ms = a->ms,
                  .path = sf->claim_path, .name = sf->name,
                  .truncated_is_final = in->remote ? BD_TRUNC_TIMED_OUT : truncated_is_final};
    if (in->remote && bd_remote_dir(sf->done, sizeof sf->done, a->cfg, in->partner, "done") == 0 &&
        bd_fmt(sf->done + strlen(sf->done), sizeof sf->done - strlen(sf->done), "/%s", bd_basename(sf->claim_path)) == 0)
        j->done_marker = sf->done;
    if (in->partner->remote_outbox && bd_remote_dir(sf->push, sizeof sf->push, a->cfg, in->partner, "push") == 0 &&
        bd_mkdir_p(sf->push, 0750) == 0)
        j->push_dir = sf->push;
    fill_receipt_identity(a, j, in, sf->claim_id, sf->name);
    j->r.started_ms = bd_now_ms();
}

/* Start the slot's run list in a worker (files read from their start: a worker that died may have read some). */
static void launch(bd_agent *a, bd_inflight *f)
{
    for (int i = 0; i < f->nrun; i++)
        if (f->run[i]->input_fd > 0 && lseek(f->run[i]->input_fd, 0, SEEK_SET) < 0)
            log_warn("cannot rewind %s: %s", f->run[i]->path, strerror(errno));
    a->report_dirty = 1;
    f->running = 1;
    if (bd_worker_start_batch(f->run[0]->cfg, f->run, f->nrun) < 0) { /* the configuration it was claimed under */
        finish(a, f); /* could not fork: the first file says why (retry), the others wait */
        return;
    }
    log_debug("partner %s: a worker for %d file%s", f->in->partner->name, f->nrun, f->nrun == 1 ? "" : "s");
    if (!f->claims_synced && !f->in->remote && bd_claim_sync(f->in) < 0) { /* while the worker parses */
        log_error("partner %s: cannot fsync the claims of %d file%s (%s): %s", f->in->partner->name, f->nrun,
                  f->nrun == 1 ? "" : "s", f->in->claim_dir, strerror(errno));
        f->claim_not_durable = 1;
    }
    f->claims_synced = 1;
}

static bd_inflight *new_slot(bd_agent *a, bd_inbox *in)
{
    bd_inflight *f = free_slot(a);
    if (!f->files && !(f->files = calloc(BD_BATCH_MAX, sizeof *f->files)))
        return NULL;
    f->active = 1;
    f->running = 0;
    f->in = in;
    f->nfiles = f->nrun = 0;
    f->sealed = 0;
    f->bytes = 0;
    f->claim_not_durable = f->claims_synced = 0;
    return f;
}

static uint64_t claimed_size(const char *claim_path)
{
    struct stat st;
    return stat(claim_path, &st) == 0 ? (uint64_t)st.st_size : UINT64_MAX;
}

/* Does this file join the partner's forming batch? */
static int fits(const bd_agent *a, const bd_inflight *f, uint64_t bytes)
{
    return !f->sealed && f->nfiles < a->cfg->batch_files && f->nfiles < BD_BATCH_MAX && bytes <= BD_BATCH_FILE_MAX &&
           f->bytes + bytes <= BD_BATCH_BYTES_MAX;
}

/* The partner's batch to add to: its forming one, or a new one when the partner has at most one batch in a worker
 * and a slot is free (committing what finishes meanwhile). NULL: the partner is held (or out of memory). */
static bd_inflight *batch_for(bd_agent *a, bd_inbox *in, uint64_t bytes)
{
    const char *p = in->partner->name;
    for (;;) {
        bd_inflight *next = slot_of(a, p, 1);
        if (next && fits(a, next, bytes))
            return next;
        if (next && !slot_of(a, p, 0)) {
            launch(a, next); /* full (or sealed), and nothing before it */
            continue;
        }
        if (!next && free_slot(a))
            break;
        bd_dispatch_reap(a, 1);
    }
    if (bd_dispatch_held(a, in->partner)) {
        a->next_claim_retry = a->next_claim_retry > 0 ? a->next_claim_retry : bd_monotonic() + a->cfg->retry_interval;
        return NULL; /* the partner's previous file failed meanwhile: this one stays claimed and follows it */
    }
    bd_inflight *f = new_slot(a, in);
    if (!f)
        log_error("partner %s: out of memory for a worker batch; the file stays claimed", p);
    return f;
}

void bd_dispatch_start(bd_agent *a, bd_inbox *in, const char *claim_id, const char *claim_path, const char *name,
                       int truncated_is_final)
{
    /* a journaled commit left by a crash: finish it, there is nothing to parse */
    int replayed = bd_commit_replay_claim(a, claim_id);
    if (replayed != 0) {
        if (replayed < 0)
            leave_for_retry(a, in->partner->name, claim_id, "finishing its journaled commit failed");
        return;
    }
    uint64_t bytes = claimed_size(claim_path);
    bd_inflight *f = batch_for(a, in, bytes);
    if (!f)
        return;
    bd_slot_file *sf = &f->files[f->nfiles++];
    sf->in_hand = 1;
    snprintf(sf->claim_id, sizeof sf->claim_id, "%s", claim_id);
    snprintf(sf->claim_path, sizeof sf->claim_path, "%s", claim_path);
    snprintf(sf->name, sizeof sf->name, "%s", name);
    prepare(a, in, sf, truncated_is_final);
    sf->job.input_fd = bd_open_regular(sf->claim_path); /* <0: the worker reports the error */
    if (sf->job.input_fd < 0)
        sf->job.input_fd = 0;
    f->run[f->nrun++] = &sf->job;
    f->bytes += bytes == UINT64_MAX ? BD_BATCH_BYTES_MAX : bytes;
    a->report_dirty = 1;
    if (bytes > BD_BATCH_FILE_MAX)
        f->sealed = 1; /* a large file runs alone */
    if (!fits(a, f, 0) && !slot_of(a, in->partner->name, 0))
        launch(a, f); /* full, and nothing before it; else it starts when the batch before it has run */
}
