/* daemon.c: the agent: open stores and inboxes, recover after a crash, and the `once` and `run` loops. */
#include "config.h"
#include "daemon.h"
#include "index_builder.h"
#include "match_index.h"
#include "ledger_shared.h"
#include "matchstore_open.h"
#include "claim.h"
#include "commit.h"
#include "fsutil.h"
#include "job.h"
#include "log.h"
#include "remote_done.h"
#include "remote_fetch.h"
#include "remote_proc.h"
#include "remote_push.h"
#include "strutil.h"
#include "watch.h"
#include "worker.h"
#include "dispatch.h"
#include "mailer.h"
#include "notify.h"
#include "report.h"
#include "shared_stats.h"
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- opening */

static int make_dirs(bd_agent *a)
{
    const bd_config *cfg = a->cfg;
    char receipts_dir[PATH_MAX];
    if (bd_fmt(a->archive_dir, sizeof a->archive_dir, "%s/archive", cfg->state_dir) < 0 ||
        bd_fmt(a->quarantine_dir, sizeof a->quarantine_dir, "%s/quarantine", cfg->state_dir) < 0 ||
        bd_dirname(receipts_dir, sizeof receipts_dir, cfg->receipts) < 0)
        return -1;
    const char *dirs[] = {cfg->state_dir, cfg->outbox, receipts_dir, a->archive_dir, a->quarantine_dir};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (bd_mkdir_p(dirs[i], 0750) < 0) {
            log_error("cannot create %s: %s", dirs[i], strerror(errno));
            return -1;
        }
    return 0;
}

static int load_plugins(bd_agent *a)
{
    char *errors = NULL;
    int rc = bd_plugins_load_dir(&a->plugins, a->cfg->plugin_dir, &errors);
    if (errors) {
        for (char *line = strtok(errors, "\n"); line; line = strtok(NULL, "\n"))
            log_warn("plugin refused: %s", line);
        free(errors);
    }
    if (rc < 0)
        return -1;
    for (size_t i = 0; i < a->cfg->npartners; i++) {
        const bd_partner *p = &a->cfg->partners[i];
        if (p->format && !bd_plugins_find(&a->plugins, p->format)) {
            log_error("partner %s (%s): format plugin '%s' is not loaded from %s", p->name, p->source, p->format,
                      a->cfg->plugin_dir);
            return -1;
        }
    }
    return 0;
}

static int open_stores(bd_agent *a)
{
    char dir[PATH_MAX], err[PATH_MAX + 256];
    if (!(a->ms = bd_matchstore_open_configured(a->cfg, 0, err, sizeof err))) {
        log_error("%s", err);
        return -1;
    }
    if (err[0]) /* redis not reachable yet: the agent stays up, files are retried until it is */
        log_warn("%s", err);
    if (bd_fmt(dir, sizeof dir, "%s/ledger", a->cfg->state_dir) < 0 ||
        !(a->ledger = bd_ledger_open(dir, err, sizeof err))) {
        log_error("%s", err);
        return -1;
    }
    a->shared_ledger = bd_shared_ledger_open(a->cfg, err, sizeof err);
    if (!a->shared_ledger && err[0]) {
        log_error("%s", err);
        return -1;
    }
    return 0;
}

void bd_agent_note_store(bd_agent *a, const char *why)
{
    a->store_down = why != NULL;
    if (!why)
        return;
    snprintf(a->store_error, sizeof a->store_error, "%s", why);
    a->store_error_ms = bd_now_ms();
    a->report_dirty = 1;
}

/* One bd_inbox per local inbox, and one per remote inbox's download queue. */
static int open_inboxes(bd_agent *a)
{
    char err[PATH_MAX + 256];
    a->inboxes = calloc(2 * a->cfg->npartners + 1, sizeof *a->inboxes);
    if (!a->inboxes)
        return -1;
    for (size_t i = 0; i < a->cfg->npartners; i++) {
        const bd_partner *p = &a->cfg->partners[i];
        if (p->inbox && bd_inbox_init(&a->inboxes[a->ninboxes], a->cfg, p, err, sizeof err) < 0) {
            log_error("%s", err);
            return -1;
        }
        a->ninboxes += p->inbox != NULL;
        if (p->remote && bd_inbox_init_remote(&a->inboxes[a->ninboxes], a->cfg, p, err, sizeof err) < 0) {
            log_error("%s", err);
            return -1;
        }
        a->ninboxes += p->remote != NULL;
    }
    return 0;
}

/* Workers that run as `user` (the agent started as root) write the match store and stage outbox files. */
static int hand_over_to_worker_user(bd_agent *a)
{
    if (geteuid() != 0 || !a->cfg->user)
        return 0;
    struct passwd *pw = getpwnam(a->cfg->user);
    if (!pw) {
        log_error("user '%s' (workers run as it) does not exist", a->cfg->user);
        return -1;
    }
    char path[PATH_MAX];
    /* the top folders: traversable by the user's group, nothing more (claims, ledger stay root's) */
    const char *tops[] = {a->cfg->state_dir, a->cfg->outbox};
    for (size_t i = 0; i < 2; i++)
        if (chown(tops[i], (uid_t)-1, pw->pw_gid) < 0 || chmod(tops[i], 0750) < 0) {
            log_error("cannot let user %s into %s: %s", a->cfg->user, tops[i], strerror(errno));
            return -1;
        }
    const char *match_files[] = {"", "/data.mdb", "/lock.mdb", "/" BD_MATCH_INDEX_FILE};
    for (size_t i = 0; i < 4; i++)
        if (bd_fmt(path, sizeof path, "%s/match%s", a->cfg->state_dir, match_files[i]) == 0 &&
            chown(path, pw->pw_uid, pw->pw_gid) < 0 && errno != ENOENT) {
            log_error("cannot hand %s to user %s: %s", path, a->cfg->user, strerror(errno));
            return -1;
        }
    for (size_t i = 0; i < a->cfg->npartners; i++) {
        const char *dirs[] = {"", "/.tmp"};
        for (size_t k = 0; k < 2; k++)
            if (bd_fmt(path, sizeof path, "%s/%s%s", a->cfg->outbox, a->cfg->partners[i].name, dirs[k]) < 0 ||
                bd_mkdir_p(path, 0750) < 0 || chown(path, pw->pw_uid, pw->pw_gid) < 0) {
                log_error("cannot hand %s to user %s: %s", path, a->cfg->user, strerror(errno));
                return -1;
            }
    }
    return 0;
}

int bd_agent_open_config(bd_agent *a, bd_config *cfg)
{
    a->cfg = cfg;
    return make_dirs(a) < 0 || load_plugins(a) < 0 || open_inboxes(a) < 0 || hand_over_to_worker_user(a) < 0
               ? -1
               : 0;
}

int bd_agent_open(bd_agent *a, bd_config *cfg)
{
    memset(a, 0, sizeof *a);
    a->sigfd = -1;
    a->started_ms = bd_now_ms();
    bd_log_set_level(cfg->log_level);
    /* hand over again once the match store's files exist */
    if (bd_agent_open_config(a, cfg) < 0 || open_stores(a) < 0 || hand_over_to_worker_user(a) < 0 ||
        bd_dispatch_init(a) < 0) {
        bd_agent_close(a);
        return -1;
    }
    for (size_t i = 0; i < cfg->npartners; i++)
        bd_shared_stats_register(cfg->partners[i].name);
    return 0;
}

void bd_agent_close(bd_agent *a)
{
    if (a->pool)
        bd_dispatch_drain(a);
    bd_commit_tail_flush(a);
    bd_commit_tail_free(a);
    bd_dispatch_free(a);
    bd_agent_release_retired(a, 1);
    bd_mailer_free(a->mailer);
    a->mailer = NULL;
    bd_pstats_free(&a->pstats);
    for (size_t i = 0; i < a->ninboxes; i++)
        bd_inbox_free(&a->inboxes[i]);
    free(a->inboxes);
    a->inboxes = NULL;
    a->ninboxes = 0;
    bd_ledger_close(a->ledger);
    a->ledger = NULL;
    bd_shared_ledger_close(a->shared_ledger);
    a->shared_ledger = NULL;
    free(a->receipts_checked);
    a->receipts_checked = NULL;
    bd_matchstore_close(a->ms);
    a->ms = NULL;
    bd_plugins_free(&a->plugins);
    if (a->sigfd >= 0)
        close(a->sigfd);
    a->sigfd = -1;
}

/* ---------------------------------------------------------------- one file */

static void process_claim(bd_agent *a, bd_inbox *in, const char *claim_id, const char *claim_path,
                          const char *name, int truncated_is_final)
{
    bd_dispatch_start(a, in, claim_id, claim_path, name, truncated_is_final);
}

void bd_agent_process_claim(bd_agent *a, bd_inbox *in, const char *claim_id, const char *claim_path,
                            const char *name, int truncated_is_final)
{
    process_claim(a, in, claim_id, claim_path, name, truncated_is_final);
}

/* ---------------------------------------------------------------- recovery */

static void requeue_claim(const bd_inbox *cin, const char *claim_id, const char *claim_path, const char *name,
                          void *arg)
{
    bd_agent *a = arg;
    bd_inbox *in = (bd_inbox *)cin;
    struct stat st;
    if (a->stopping || bd_dispatch_has_claim(a, claim_id) || bd_dispatch_held(a, in->partner))
        return; /* already in a worker, or an earlier file of the partner waits for its retry */
    if (lstat(claim_path, &st) < 0 && errno == ENOENT)
        return; /* committed since the folder was listed: taking an earlier claim of the list waited for a worker */
    if (!in->remote)
        log_info("partner %s: resuming %s (claim %s)", in->partner->name, name, claim_id);
    process_claim(a, in, claim_id, claim_path, name, 0);
}

static void requeue_claims(bd_agent *a)
{
    bd_commit_tail_flush(a); /* a claim whose commit is still finishing is not one to resume */
    a->next_claim_retry = 0;
    for (size_t i = 0; i < a->pstats.n; i++)
        a->pstats.v[i].held = 0; /* set again by a file that fails again */
    for (size_t i = 0; i < a->ninboxes && !a->stopping; i++)
        if (bd_claim_each(&a->inboxes[i], requeue_claim, a) < 0)
            log_error("partner %s: cannot list %s: %s", a->inboxes[i].partner->name, a->inboxes[i].claim_dir,
                      strerror(errno));
    bd_dispatch_launch(a);
}

static void flush_finished(bd_agent *a)
{
    char err[256];
    if (bd_ledger_pending(a->ledger) && bd_ledger_flush(a->ledger, err, sizeof err) < 0)
        log_error("cannot checkpoint the ledger's write-ahead log into LMDB (%s); it is tried again, and the log "
                  "keeps every entry meanwhile (check the space and permissions of state_dir/ledger)",
                  err);
}

/* Staged outbox files whose claim has no journal entry belong to an interrupted job: drop them. */
static void clean_staging(bd_agent *a, const char *partner)
{
    char dir[PATH_MAX];
    if (bd_fmt(dir, sizeof dir, "%s/%s/.tmp", a->cfg->outbox, partner) < 0)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        char id[BD_CLAIM_ID_MAX], path[PATH_MAX], *json = NULL;
        const char *dot = strchr(de->d_name, '.');
        if (de->d_name[0] == '.' || !dot || (size_t)(dot - de->d_name) >= sizeof id)
            continue;
        memcpy(id, de->d_name, (size_t)(dot - de->d_name));
        id[dot - de->d_name] = '\0';
        if (bd_ledger_journal_get(a->ledger, id, &json) == 0 && bd_path_join(path, sizeof path, dir, de->d_name) == 0 &&
            unlink(path) == 0)
            log_info("removed staged output %s of an interrupted job", path);
        free(json);
    }
    closedir(d);
}

/* Temp files of an interrupted durable write ("<name>.bdtmp.<pid>"): the write is redone by the journal. */
static void clean_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *t = strstr(de->d_name, ".bdtmp.");
        char path[PATH_MAX];
        if (!t || t[7] < '0' || t[7] > '9' || strspn(t + 7, "0123456789") != strlen(t + 7) ||
            bd_path_join(path, sizeof path, dir, de->d_name) < 0)
            continue;
        if (unlink(path) == 0)
            log_info("removed %s, left by an interrupted write", path);
    }
    closedir(d);
}

static void recover(bd_agent *a)
{
    char dir[PATH_MAX];
    for (size_t i = 0; i < a->cfg->npartners; i++) {
        const bd_partner *p = &a->cfg->partners[i];
        if (bd_fmt(dir, sizeof dir, "%s/%s", a->archive_dir, p->name) == 0)
            clean_temp_files(dir);
        if (bd_fmt(dir, sizeof dir, "%s/%s", a->quarantine_dir, p->name) == 0)
            clean_temp_files(dir);
        /* the commit's hand-off markers (remote done/ and push/) are written by temp name and rename too */
        const char *handoffs[] = {"done", "push"};
        for (size_t k = 0; k < 2; k++)
            if (bd_remote_dir(dir, sizeof dir, a->cfg, p, handoffs[k]) == 0)
                clean_temp_files(dir);
    }
    if (bd_fmt(dir, sizeof dir, "%s/mail", a->cfg->state_dir) == 0)
        clean_temp_files(dir);
    if (bd_commit_recover(a) < 0)
        log_error("cannot read the commit journal");
    flush_finished(a); /* clean_staging keeps what the journal still names */
    for (size_t i = 0; i < a->cfg->npartners; i++)
        clean_staging(a, a->cfg->partners[i].name);
    requeue_claims(a);
}

/* ---------------------------------------------------------------- the loops */

static void process_remote_queues(bd_agent *a, int all);
/* once: how often the ready/ folders are listed while fetcher processes download into them */
#define BD_ONCE_QUEUE_POLL_MS 20

static int stop_requested(bd_agent *a)
{
    if (a->stopping)
        return 1;
    if (a->sigfd < 0)
        return 0;
    struct signalfd_siginfo si;
    while (read(a->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            log_info("received %s; finishing the file in hand, then exiting", strsignal((int)si.ssi_signo));
            a->stopping = 1;
        } else if (si.ssi_signo == SIGCHLD) {
            bd_children_reap(&a->children);
        } else if (si.ssi_signo == SIGHUP) {
            a->reload_pending++; /* several in a row: one reload */
        }
    }
    return a->stopping;
}

static bd_ready_result on_ready(bd_inbox *in, const char *name, int truncated_is_final, void *arg)
{
    bd_agent *a = arg;
    char claim_id[BD_CLAIM_ID_MAX], claim_path[PATH_MAX];
    if (stop_requested(a))
        return BD_READY_STOP;
    if (bd_dispatch_held(a, in->partner))
        return BD_READY_LATER; /* an earlier file waits for its retry: keep the partner's order */
    if (bd_dispatch_busy(a, in->partner)) {
        a->deferred++; /* the partner's previous file is still in a worker: keep its order */
        return BD_READY_LATER;
    }
    bd_claim_new_id(&a->seq, claim_id);
    int rc = bd_claim_take(in, name, claim_id, claim_path, sizeof claim_path);
    if (rc < 0) {
        log_error("partner %s: cannot claim %s: %s", in->partner->name, name, strerror(errno));
        a->internal_errors++;
        return BD_READY_DONE;
    }
    if (rc == 0) {
        log_debug("partner %s: %s was taken by another agent", in->partner->name, name);
        return BD_READY_DONE;
    }
    process_claim(a, in, claim_id, claim_path, name, truncated_is_final);
    return BD_READY_DONE;
}

static double poll_inboxes(bd_agent *a)
{
    double next = -1;
    if (bd_disk_low(&a->disk, a->cfg)) {
        a->report_dirty = 1;
        return 1.0; /* look at the free space again in a second */
    }
    for (size_t i = 0; i < a->ninboxes && !a->stopping; i++) {
        int stopped;
        if (a->inboxes[i].remote || bd_dispatch_held(a, a->inboxes[i].partner))
            continue; /* held: not even probed until the retry */
        a->inboxes[i].probe_async = a->sigfd >= 0; /* run: a big gzip stream is checked beside the loop */
        double w = bd_inbox_poll(&a->inboxes[i], a->cfg->incomplete_timeout, on_ready, a, &stopped);
        if (w >= 0 && (next < 0 || w < next))
            next = w;
    }
    bd_dispatch_launch(a); /* the batches this pass formed */
    return next;
}

void bd_agent_scan_all(bd_agent *a)
{
    for (size_t i = 0; i < a->ninboxes; i++)
        if (!a->inboxes[i].remote)
            bd_inbox_scan(&a->inboxes[i]);
}

/* once: download what is complete now on every remote inbox, one fetcher process per partner, and process the
 * downloads as they are queued into ready/ (the commits run here while the fetchers download the next files).
 * A partner whose fetcher cannot be forked is fetched here first (c->pid < 0). */
static void once_fetch(bd_agent *a, bd_fetch_child *kids, size_t *nkids)
{
    size_t waiting;
    for (size_t i = 0; i < a->cfg->npartners; i++) {
        const bd_partner *p = &a->cfg->partners[i];
        bd_fetch_child *c = &kids[*nkids];
        if (!p->remote)
            continue;
        (*nkids)++;
        if (bd_fetch_child_start(c, a->cfg, p) == 0)
            continue;
        log_warn("partner %s: cannot fork a fetcher process (%s); fetching first, then processing", p->name,
                 strerror(errno));
        if (bd_fetch_pass(a->cfg, p, NULL) < 0)
            a->internal_errors++;
    }
    do {
        bd_dispatch_prefork(a); /* as in bd_agent_once */
        process_remote_queues(a, 1);
        bd_dispatch_reap(a, 0);
        waiting = 0;
        for (size_t i = 0; i < *nkids; i++)
            waiting += kids[i].pid > 0 && !bd_fetch_child_fetched(&kids[i]);
        if (waiting) {
            struct timespec ts = {0, BD_ONCE_QUEUE_POLL_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
    } while (waiting);
}

/* once: after processing, delete or move the remote sources and push the outbox. */
static void once_finish_remote(bd_agent *a, bd_fetch_child *kids, size_t nkids)
{
    for (size_t i = 0; i < nkids; i++) {
        bd_fetcher f;
        if (kids[i].pid > 0) {
            if (bd_fetch_child_finish(&kids[i]) < 0)
                a->internal_errors++;
            continue;
        }
        if (bd_fetcher_init(&f, a->cfg, kids[i].p, NULL) < 0 || bd_fetcher_finish_done(&f) < 0)
            a->internal_errors++;
        bd_fetcher_free(&f);
    }
    for (size_t i = 0; i < a->cfg->npartners; i++) {
        const bd_partner *p = &a->cfg->partners[i];
        bd_pusher u;
        if (!p->remote_outbox)
            continue;
        if (bd_pusher_init(&u, a->cfg, p, NULL) < 0) {
            log_error("partner %s: cannot set up the pusher: %s; the outbox stays queued for the next run", p->name,
                      strerror(errno));
            a->internal_errors++;
            bd_pusher_free(&u);
            continue;
        }
        if (bd_pusher_round(&u) != 0) {
            log_error("partner %s: some outbox files could not be pushed; they stay queued for the next run",
                      p->name);
            a->internal_errors++;
        }
        bd_pusher_free(&u);
    }
}

int bd_agent_once(bd_agent *a)
{
    size_t nkids = 0;
    bd_fetch_child *kids = calloc(a->cfg->npartners + 1, sizeof *kids);
    if (!kids)
        return 1;
    recover(a);
    once_fetch(a, kids, &nkids);
    bd_agent_scan_all(a);
    for (;;) { /* passes until no file waits for its partner's previous one */
        a->deferred = 0;
        bd_dispatch_prefork(a); /* a spare takes a partner's first batch, then stays for its next ones */
        poll_inboxes(a);
        if (!a->deferred)
            break;
        bd_dispatch_reap(a, 1);
    }
    process_remote_queues(a, 1);
    bd_dispatch_drain(a);
    bd_worker_end_all();
    once_finish_remote(a, kids, nkids);
    free(kids);
    bd_index_after_once(a);
    if ((a->mailer = bd_mailer_new()))
        bd_mailer_flush(a->mailer, a->cfg, &a->pstats);
    log_info("once: %llu ok, %llu rejected, %llu duplicate, %llu incomplete, %llu left for retry",
             (unsigned long long)a->stats.ok, (unsigned long long)a->stats.rejected,
             (unsigned long long)a->stats.duplicate, (unsigned long long)a->stats.incomplete,
             (unsigned long long)a->stats.retried);
    return a->internal_errors ? 1 : 0;
}

static int setup_signals(bd_agent *a)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    a->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return a->sigfd < 0 ? -1 : 0;
}

typedef struct watch_ctx {
    bd_agent *a;
} watch_ctx;

static void on_event(int wd, const char *name, int moved_in, void *arg)
{
    bd_agent *a = ((watch_ctx *)arg)->a;
    for (size_t i = 0; i < a->ninboxes; i++) {
        if (a->inboxes[i].wd != wd)
            continue;
        if (a->inboxes[i].remote)
            a->inboxes[i].pending = 1;
        else if (bd_inbox_note(&a->inboxes[i], name, moved_in) < 0)
            log_error("out of memory tracking %s", name);
    }
}

/* A local inbox is watched for drops; a remote inbox's queue for the fetcher's downloads. */
static const char *watched_dir(const bd_inbox *in)
{
    return in->remote ? in->claim_dir : in->partner->inbox;
}

void bd_agent_add_watches(bd_agent *a)
{
    bd_watch *w = a->watch;
    for (size_t i = 0; i < a->ninboxes; i++)
        if (a->inboxes[i].wd < 0 && (a->inboxes[i].wd = bd_watch_add(w, watched_dir(&a->inboxes[i]))) < 0 &&
            errno != ENOSPC)
            log_error("partner %s: cannot watch %s: %s; relying on the sweep every %.0f s",
                      a->inboxes[i].partner->name, watched_dir(&a->inboxes[i]), strerror(errno),
                      a->cfg->scan_interval);
}

/* Process what the fetchers downloaded (already claimed, already complete). */
static void process_remote_queues(bd_agent *a, int all)
{
    for (size_t i = 0; i < a->ninboxes && !a->stopping; i++) {
        bd_inbox *in = &a->inboxes[i];
        if (!in->remote || (!all && !in->pending))
            continue;
        in->pending = 0;
        if (bd_claim_each(in, requeue_claim, a) < 0)
            log_error("partner %s: cannot list %s: %s", in->partner->name, in->claim_dir, strerror(errno));
    }
    bd_dispatch_launch(a);
}

static void drain_events(bd_agent *a, bd_watch *w)
{
    watch_ctx ctx = {a};
    int overflow = 0, gone = 0;
    if (bd_watch_read(w, on_event, &ctx, &overflow, &gone) < 0)
        log_error("inotify read failed: %s", strerror(errno));
    if (overflow) {
        log_warn("inotify queue overflowed; rescanning every inbox");
        bd_agent_scan_all(a);
    }
    if (gone) {
        for (size_t i = 0; i < a->ninboxes; i++)
            a->inboxes[i].wd = -1; /* re-added (or reported) on the next sweep */
    }
}

/* What the ledger holds in memory and in its log (journal entries, finished ones to delete) is checkpointed into
 * LMDB once the agent has been idle this long after its last commit, and the commits' deferred tail has run. */
#define BD_FLUSH_IDLE 0.2
static double flush_due(const bd_agent *a)
{
    return bd_ledger_pending(a->ledger) && bd_commit_tail_due(a) < 0 ? a->last_commit + BD_FLUSH_IDLE : -1;
}

/* When the commits' deferred tail (commit.c) runs (-1: none waits): once due, beside a worker that was just
 * started or still runs (its flushes then do not hold up a file's claim), else when overdue (an idle agent). */
static double commit_tail_time(bd_agent *a)
{
    double due = bd_commit_tail_due(a);
    return due < 0 || bd_dispatch_active(a) ? due : due + BD_COMMIT_TAIL_WAIT;
}

static int wait_timeout_ms(bd_agent *a, double next_poll, double next_sweep, double now)
{
    double flush = flush_due(a), tail = commit_tail_time(a);
    if (tail >= 0 && (flush < 0 || tail < flush))
        flush = tail;
    double cand[] = {next_poll, bd_children_next_restart(&a->children), bd_dispatch_next_deadline(a),
                     a->next_claim_retry > 0 ? a->next_claim_retry - now : -1, bd_report_next(a),
                     bd_mailer_next(a->mailer), flush >= 0 ? (flush > now ? flush - now : 0) : -1};
    double t = next_sweep - now;
    for (size_t i = 0; i < sizeof cand / sizeof cand[0]; i++)
        if (cand[i] >= 0 && cand[i] < t)
            t = cand[i];
    if (t < 0)
        t = 0;
    return bd_notify_cap_ms((int)(t * 1000) + 1);
}

static void flush_when_idle(bd_agent *a)
{
    double due = flush_due(a);
    if (!bd_dispatch_active(a) && due >= 0 && bd_monotonic() >= due)
        flush_finished(a);
}

static void run_commit_tail(bd_agent *a)
{
    double at = commit_tail_time(a);
    if (at >= 0 && bd_monotonic() >= at)
        bd_commit_tail_flush(a);
}

static int run_loop(bd_agent *a, bd_watch *w)
{
    double next_sweep = bd_monotonic() + a->cfg->scan_interval;
    double next_poll = poll_inboxes(a);
    while (!stop_requested(a)) {
        struct pollfd fds[2 + 256] = {{.fd = a->sigfd, .events = POLLIN}, {.fd = w->fd, .events = POLLIN}};
        int nfds = 2 + bd_dispatch_pollfds(a, fds + 2, 256);
        flush_when_idle(a);
        bd_dispatch_prefork(a); /* while idle: the next file's worker is ready when it arrives */
        int timeout = wait_timeout_ms(a, next_poll, next_sweep, bd_monotonic());
        if (poll(fds, (nfds_t)nfds, timeout) < 0 && errno != EINTR) {
            log_error("poll failed: %s; exiting so that the service manager restarts the agent", strerror(errno));
            return 1;
        }
        bd_notify_watchdog();
        bd_dispatch_reap(a, 0); /* commit what the workers finished */
        if (stop_requested(a))
            break;
        if (a->reload_pending) {
            bd_agent_reload(a);
            next_sweep = 0; /* sweep the new configuration's inboxes now */
        }
        if (fds[1].revents & POLLIN)
            drain_events(a, w);
        bd_children_spawn(&a->children, a->cfg);
        double now = bd_monotonic();
        if (now >= next_sweep) {
            bd_agent_add_watches(a);
            bd_agent_scan_all(a);
            process_remote_queues(a, 1);
            next_sweep = now + a->cfg->scan_interval;
        }
        process_remote_queues(a, 0);
        if (a->next_claim_retry > 0 && now >= a->next_claim_retry)
            requeue_claims(a);
        next_poll = poll_inboxes(a);
        run_commit_tail(a);
        bd_mailer_tick(a->mailer, a->cfg, &a->pstats);
        bd_report_tick(a, 0);
        bd_index_tick(a);
    }
    return 0;
}

int bd_agent_run(bd_agent *a)
{
    bd_watch w = {-1};
    bd_notify_init();
    if (setup_signals(a) < 0 || bd_watch_open(&w) < 0) {
        log_error("cannot set up signals or inotify: %s", strerror(errno));
        return 1;
    }
    a->watch = &w;
    if (bd_shared_stats_open() < 0)
        log_warn("cannot map the shared SFTP counters (%s); status and metrics show no SFTP errors", strerror(errno));
    for (size_t i = 0; i < a->cfg->npartners; i++)
        bd_shared_stats_register(a->cfg->partners[i].name);
    if (!(a->mailer = bd_mailer_new()) || bd_children_init(&a->children, a->cfg) < 0) {
        log_error("out of memory");
        return 1;
    }
    bd_agent_add_watches(a);
    bd_children_spawn(&a->children, a->cfg);
    log_info("batchdrop %s running: agent %s, %zu inboxes, %zu plugins", PACKAGE_VERSION, a->cfg->agent_id,
             a->ninboxes, a->plugins.n);
    recover(a);
    bd_agent_scan_all(a);
    bd_notify_ready("running");
    bd_report_tick(a, 1);
    int rc = run_loop(a, &w);
    bd_notify_stopping();
    bd_index_stop(a);
    bd_dispatch_drain(a); /* finish the files in hand */
    bd_commit_tail_flush(a);
    bd_worker_end_all();
    bd_children_stop(&a->children);
    bd_children_free(&a->children);
    a->status_written = a->metrics_written = -1e9; /* the final figures, whatever the rate limits */
    bd_report_tick(a, 1);
    a->watch = NULL;
    bd_watch_close(&w);
    log_info("stopped: %llu ok, %llu rejected, %llu duplicate, %llu retries", (unsigned long long)a->stats.ok,
             (unsigned long long)a->stats.rejected, (unsigned long long)a->stats.duplicate,
             (unsigned long long)a->stats.retried);
    return rc;
}
