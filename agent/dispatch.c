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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bd_inflight {
    int active;
    bd_inbox *in;
    char claim_id[BD_CLAIM_ID_MAX], claim_path[PATH_MAX], name[256];
    char done[PATH_MAX], push[PATH_MAX];
    int claim_not_durable; /* bd_claim_sync failed: the outcome must not be committed */
    bd_job job;
} bd_inflight;

int bd_dispatch_init(bd_agent *a)
{
    a->npool = a->cfg->workers > 0 ? a->cfg->workers : 1;
    a->pool = calloc((size_t)a->npool, sizeof *a->pool);
    return a->pool ? 0 : -1;
}

void bd_dispatch_free(bd_agent *a)
{
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
        if (a->pool[i].active && strcmp(a->pool[i].claim_id, claim_id) == 0)
            return 1;
    return 0;
}

/* By name: after a reload the partner of a file in flight is the old configuration's. */
int bd_dispatch_partner_active(const bd_agent *a, const char *partner)
{
    int n = 0;
    for (int i = 0; i < a->npool; i++)
        n += a->pool[i].active && strcmp(a->pool[i].in->partner->name, partner) == 0;
    return n;
}

int bd_dispatch_busy(const bd_agent *a, const bd_partner *p)
{
    return bd_dispatch_partner_active(a, p->name) > 0;
}

int bd_dispatch_held(const bd_agent *a, const bd_partner *p)
{
    const bd_pstat *ps = bd_pstats_find(&a->pstats, p->name);
    return ps && ps->held;
}

int bd_dispatch_uses_config(const bd_agent *a, const bd_config *cfg)
{
    for (int i = 0; i < a->npool; i++)
        if (a->pool[i].active && a->pool[i].job.cfg == cfg)
            return 1;
    return 0;
}

void bd_dispatch_retarget_plugins(bd_agent *a, const bd_config *cfg, const bd_plugins *plugins)
{
    for (int i = 0; i < a->npool; i++)
        if (a->pool[i].active && a->pool[i].job.cfg == cfg)
            a->pool[i].job.plugins = plugins;
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

static void handle_incomplete(bd_agent *a, bd_inflight *f)
{
    a->stats.incomplete++;
    bd_pstats_file(&a->pstats, f->in->partner->name, BD_FS_INCOMPLETE);
    log_info("partner %s: %s is not complete yet (%s); giving it back to the inbox", f->in->partner->name,
             f->job.r.file, f->job.r.reason);
    if (bd_claim_release(f->in, f->claim_path, f->job.r.file) < 0)
        leave_for_retry(a, f->in->partner->name, f->job.r.id, "cannot give an incomplete file back to the inbox");
}

static void commit_outcome(bd_agent *a, bd_inflight *f)
{
    bd_job *j = &f->job;
    int rc = bd_commit_job(a, j, f->claim_id, f->claim_path);
    bd_worker_release(j);
    int published = (rc == 0 || rc == -2) && strcmp(j->r.status, BD_STATUS_OK) == 0;
    if (!published)
        bd_job_discard_staged(j); /* the journal does not name them: nobody else will */
    bd_job_cleanup(j, rc == -2 && strcmp(j->r.status, BD_STATUS_OK) == 0);
    if (rc < 0)
        leave_for_retry(a, f->in->partner->name, f->claim_id, "committing its outcome failed");
    else {
        count_outcome(a, j);
        bd_pstats_outcome(&a->pstats, j);
        log_outcome(j);
        if (j->partner->receipt_mail)
            bd_mailer_note_spooled(a->mailer);
    }
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
static int given_up_after_kills(bd_agent *a, bd_inflight *f)
{
    bd_job *j = &f->job;
    if (j->fault != BD_FAULT_KILLED)
        return 0;
    bd_pstats_fault(&a->pstats, f->in->partner->name, BD_FAULT_KILLED);
    if (!killed_again(f->claim_id))
        return 0;
    char why[sizeof j->r.reason];
    snprintf(why, sizeof why, "%.900s; %d times in a row: given up", j->r.reason, BD_KILLED_ATTEMPTS);
    bd_job_fail(j, BD_JOB_FAILED, why);
    return 1;
}

static void finish(bd_agent *a, bd_inflight *f)
{
    bd_job *j = &f->job;
    bd_worker_collect(j->cfg, j);
    if (j->input_fd > 0)
        close(j->input_fd);
    j->input_fd = 0;
    if (j->outcome == BD_JOB_INCOMPLETE) {
        handle_incomplete(a, f);
        bd_job_cleanup(j, 0);
    } else if (j->outcome == BD_JOB_RETRY && given_up_after_kills(a, f)) {
        commit_outcome(a, f); /* as failed */
    } else if (j->outcome == BD_JOB_RETRY || f->claim_not_durable) {
        if (strstr(j->r.reason, "match store"))
            bd_agent_note_store(a, j->r.reason);
        bd_worker_release(j);
        bd_job_discard_staged(j);
        leave_for_retry(a, f->in->partner->name, f->claim_id,
                        f->claim_not_durable ? "its claim could not be made durable (fsync failed)" : j->r.reason);
        bd_job_cleanup(j, 0);
    } else {
        if (j->outcome == BD_JOB_OK && a->store_down && j->ms && strcmp(j->r.status, BD_STATUS_OK) == 0)
            bd_agent_note_store(a, NULL); /* the worker used the store */
        commit_outcome(a, f);
    }
    f->active = 0;
    a->report_dirty = 1;
    if (a->retired)
        bd_agent_release_retired(a, 0);
}

/* ---------------------------------------------------------------- the pool */

int bd_dispatch_pollfds(const bd_agent *a, struct pollfd *fds, int max)
{
    int n = 0;
    for (int i = 0; i < a->npool && n < max; i++)
        if (a->pool[i].active && bd_worker_fd(&a->pool[i].job) >= 0)
            fds[n++] = (struct pollfd){.fd = bd_worker_fd(&a->pool[i].job), .events = POLLIN};
    return n;
}

double bd_dispatch_next_deadline(const bd_agent *a)
{
    double next = -1, now = bd_monotonic();
    for (int i = 0; i < a->npool; i++) {
        if (!a->pool[i].active)
            continue;
        double w = bd_worker_deadline(&a->pool[i].job) - now;
        w = w < 0 ? 0 : w;
        if (next < 0 || w < next)
            next = w;
    }
    return next;
}

static int ready_now(const bd_inflight *f)
{
    struct pollfd p = {.fd = bd_worker_fd(&f->job), .events = POLLIN};
    return p.fd < 0 || poll(&p, 1, 0) > 0 || bd_monotonic() >= bd_worker_deadline(&f->job);
}

int bd_dispatch_reap(bd_agent *a, int block)
{
    int finished = 0;
    for (;;) {
        for (int i = 0; i < a->npool; i++)
            if (a->pool[i].active && ready_now(&a->pool[i])) {
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

static void prepare(bd_agent *a, bd_inflight *f, int truncated_is_final)
{
    bd_inbox *in = f->in;
    memset(&f->job, 0, sizeof f->job);
    bd_job *j = &f->job;
    *j = (bd_job){.cfg = a->cfg, .partner = in->partner, .plugins = &a->plugins, .ms = a->ms,
                  .path = f->claim_path, .name = f->name, .truncated_is_final = truncated_is_final || in->remote};
    if (in->remote && bd_remote_dir(f->done, sizeof f->done, a->cfg, in->partner, "done") == 0 &&
        bd_fmt(f->done + strlen(f->done), sizeof f->done - strlen(f->done), "/%s", bd_basename(f->claim_path)) == 0)
        j->done_marker = f->done;
    if (in->partner->remote_outbox && bd_remote_dir(f->push, sizeof f->push, a->cfg, in->partner, "push") == 0 &&
        bd_mkdir_p(f->push, 0750) == 0)
        j->push_dir = f->push;
    fill_receipt_identity(a, j, in, f->claim_id, f->name);
    j->r.started_ms = bd_now_ms();
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
    while (bd_dispatch_busy(a, in->partner) || !free_slot(a))
        bd_dispatch_reap(a, 1);
    if (bd_dispatch_held(a, in->partner)) {
        a->next_claim_retry = a->next_claim_retry > 0 ? a->next_claim_retry : bd_monotonic() + a->cfg->retry_interval;
        return; /* the partner's previous file failed meanwhile: this one stays claimed and follows it */
    }
    bd_inflight *f = free_slot(a);
    f->in = in;
    snprintf(f->claim_id, sizeof f->claim_id, "%s", claim_id);
    snprintf(f->claim_path, sizeof f->claim_path, "%s", claim_path);
    snprintf(f->name, sizeof f->name, "%s", name);
    prepare(a, f, truncated_is_final);
    f->active = 1;
    f->job.input_fd = bd_open_regular(f->claim_path); /* <0: the worker reports the error */
    if (f->job.input_fd < 0)
        f->job.input_fd = 0;
    a->report_dirty = 1;
    f->claim_not_durable = 0;
    if (bd_worker_start(a->cfg, &f->job) < 0) {
        finish(a, f); /* could not fork: the job says why (retry) */
        return;
    }
    if (!in->remote && bd_claim_sync(in) < 0) { /* while the worker parses */
        log_error("partner %s: cannot fsync the claim of %s (%s): %s", in->partner->name, name, in->claim_dir,
                  strerror(errno));
        f->claim_not_durable = 1;
    }
}
