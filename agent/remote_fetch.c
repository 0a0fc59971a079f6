/* remote_fetch.c: fetch a remote SFTP inbox: stable across listings, claimed by a server-side rename, downloaded whole. */
#include "config.h"
#include "remote_fetch.h"
#include "claim.h"
#include "crashpoint.h"
#include "decode.h"
#include "fsutil.h"
#include "inbox.h"
#include "log.h"
#include "remote_done.h"
#include "remote_lock.h"
#include "remote_publish.h"
#include "shared_stats.h"
#include "strutil.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int bd_fetcher_init(bd_fetcher *f, const bd_config *cfg, const bd_partner *p, const volatile sig_atomic_t *stop)
{
    memset(f, 0, sizeof *f);
    f->lock_fd = -1;
    f->stop = stop;
    f->cfg = cfg;
    f->p = p;
    f->r = p->remote;
    bd_link_init(&f->link, cfg, p->remote, p->name);
    if (bd_remote_dir(f->dl, sizeof f->dl, cfg, p, "dl") < 0 ||
        bd_remote_dir(f->ready, sizeof f->ready, cfg, p, "ready") < 0 ||
        bd_remote_dir(f->done, sizeof f->done, cfg, p, "done") < 0 ||
        bd_fmt(f->rroot, sizeof f->rroot, "%s/.batchdrop", f->r->path) < 0 ||
        bd_fmt(f->rclaims, sizeof f->rclaims, "%s/%s", f->rroot, cfg->agent_id) < 0)
        return -1;
    const char *dirs[] = {f->dl, f->ready, f->done};
    for (size_t i = 0; i < 3; i++)
        if (bd_mkdir_p(dirs[i], 0750) < 0)
            return -1;
    if (!(f->pending = calloc(BD_FETCH_PUBLISH_MAX, sizeof *f->pending)))
        return -1;
    f->lock_fd = bd_remote_lock(cfg, p, "fetch", stop);
    return f->lock_fd < 0 ? -1 : 0;
}

void bd_fetcher_free(bd_fetcher *f)
{
    if (f->npending)
        bd_fetch_publish(f); /* complete downloads: queue them rather than download them again */
    free(f->pending);
    f->pending = NULL;
    bd_link_close(&f->link);
    for (size_t i = 0; i < f->n; i++)
        free(f->items[i].name);
    free(f->items);
    f->items = NULL;
    f->n = f->cap = 0;
    if (f->lock_fd >= 0)
        close(f->lock_fd); /* after the pending downloads are queued: the next fetcher finds them in ready/ */
    f->lock_fd = -1;
}

/* ---------------------------------------------------------------- the session */

static bd_sftp_class failed(bd_fetcher *f, bd_sftp_class c, const char *what, const char *err)
{
    return bd_link_failed(&f->link, c, what, err);
}

int bd_fetcher_connect(bd_fetcher *f)
{
    char err[1024];
    int fresh;
    if (!bd_link_up(&f->link, &fresh))
        return 0;
    if (!fresh)
        return 1;
    bd_sftp_class cls = bd_sftp_mkdir_p(f->link.s, f->rclaims, 0750, err, sizeof err);
    if (cls != BD_SFTP_OK) {
        failed(f, cls, "creating the claim folder", err);
        return 0;
    }
    f->recovered = 0;
    log_info("partner %s: connected to sftp://%s@%s:%d%s", f->p->name, f->r->user, f->r->host, f->r->port,
             f->r->path);
    return 1;
}

/* ---------------------------------------------------------------- taking files */

/* How long a truncated file has been stuck: since we first saw it, or since its
 * mtime (server clock) when that is longer, so that `once` runs and fetcher
 * restarts do not restart the count. */
static double stuck_for(const bd_fetch_item *it, double now)
{
    double seen = now - it->first_seen;
    double by_mtime = (double)(bd_now_ms() / 1000 - it->mtime);
    return by_mtime > seen ? by_mtime : seen;
}


static bd_sftp_class put_back(bd_fetcher *f, const char *entry, const char *name)
{
    char from[PATH_MAX], to[PATH_MAX], err[1024];
    if (bd_fmt(from, sizeof from, "%s/%s", f->rclaims, entry) < 0 || bd_fmt(to, sizeof to, "%s/%s", f->r->path, name) < 0)
        return BD_SFTP_FAILURE;
    bd_sftp_class c = bd_sftp_rename(f->link.s, from, to, err, sizeof err);
    if (c == BD_SFTP_EXISTS)
        log_warn("partner %s: cannot put %s back: the partner uploaded a new file under that name; the old one "
                 "stays claimed and is retried", f->p->name, name);
    else if (c != BD_SFTP_OK)
        failed(f, c, "putting a file back", err);
    return c;
}

static int local_has(const char *dir, const char *entry)
{
    char path[PATH_MAX];
    return bd_path_join(path, sizeof path, dir, entry) == 0 && access(path, F_OK) == 0;
}

/* Download <claims>/<entry> into dl/, check its size and stream, and publish it into ready/. `listed` is its
 * size and mtime in the listing it was claimed from (a claim moves the same file): any other size at the end of
 * the download means it changed since, and it goes back. 1 = queued, 0 = not complete (given back or kept),
 * -1 = failure. */
static int download_claimed(bd_fetcher *f, const char *entry, const char *name, int truncated_is_final,
                            bd_fetch_item *item, bd_sftp_entry listed)
{
    char remote[PATH_MAX], part[PATH_MAX], ready[PATH_MAX], err[1024], sha[65], why[256];
    uint64_t bytes = 0;
    if (bd_fmt(remote, sizeof remote, "%s/%s", f->rclaims, entry) < 0 ||
        bd_fmt(part, sizeof part, "%s/%s.part", f->dl, entry) < 0 || bd_path_join(ready, sizeof ready, f->ready, entry) < 0)
        return -1;
    int fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        log_error("partner %s: cannot create %s: %s", f->p->name, part, strerror(errno));
        return -1;
    }
    bd_sftp_class c = bd_sftp_download(f->link.s, remote, listed.size, fd, &bytes, sha, err, sizeof err);
    if (c != BD_SFTP_OK) {
        close(fd);
        unlink(part);
        failed(f, c, "download", err);
        return -1;
    }
    if (bytes != listed.size) {
        close(fd);
        log_warn("partner %s: %s changed while it was downloaded (%llu of %llu bytes); giving it back", f->p->name,
                 name, (unsigned long long)bytes, (unsigned long long)listed.size);
        unlink(part);
        put_back(f, entry, name);
        return 0;
    }
    int rfd = open(part, O_RDONLY | O_CLOEXEC);
    bd_decode_status ds = rfd < 0 ? BD_DEC_IO : bd_probe_complete(rfd, why, sizeof why);
    if (rfd >= 0)
        close(rfd);
    if (ds == BD_DEC_TRUNCATED && !truncated_is_final) {
        close(fd);
        log_info("partner %s: %s looks like an upload in progress (%s); giving it back", f->p->name, name, why);
        unlink(part);
        if (item)
            item->incomplete = 1; /* at its listed size and mtime: it waits for a change */
        put_back(f, entry, name);
        return 0;
    }
    return bd_fetch_publish_add(f, fd, part, ready, name, bytes, sha) == 0 ? 1 : -1;
}

static int take_file(bd_fetcher *f, bd_fetch_item *it)
{
    char id[BD_CLAIM_ID_MAX], entry[PATH_MAX], from[PATH_MAX], to[PATH_MAX], err[1024];
    bd_claim_new_id(&f->seq, id);
    if (bd_claim_entry(entry, sizeof entry, id, it->name) < 0 ||
        bd_fmt(from, sizeof from, "%s/%s", f->r->path, it->name) < 0 ||
        bd_fmt(to, sizeof to, "%s/%s", f->rclaims, entry) < 0)
        return -1;
    bd_pausepoint("fetch-claim"); /* between the listing and the claim */
    bd_sftp_class c = bd_sftp_rename(f->link.s, from, to, err, sizeof err);
    if (c == BD_SFTP_NOT_FOUND) {
        log_debug("partner %s: %s was taken by another agent", f->p->name, it->name);
        return 0;
    }
    if (c != BD_SFTP_OK)
        return failed(f, c, "claiming", err), -1;
    int final = stuck_for(it, bd_monotonic()) >= f->cfg->incomplete_timeout;
    return download_claimed(f, entry, it->name, final, it, (bd_sftp_entry){.size = it->size, .mtime = it->mtime});
}

/* ---------------------------------------------------------------- recovery */

/* SIGTERM (the supervisor stops, or died): claims not downloaded yet are recovered by the next fetcher. */
static int stopping(const bd_fetcher *f)
{
    return f->stop && *f->stop;
}

static int64_t claim_ms(const char *id)
{
    return id[0] == 'c' ? strtoll(id + 1, NULL, 10) : 0;
}

/* Our claims with no local trace: a download a crash interrupted. */
static int recover_own(bd_fetcher *f)
{
    bd_sftp_entry *e;
    size_t n;
    char err[1024];
    bd_sftp_class c = bd_sftp_list(f->link.s, f->rclaims, &e, &n, err, sizeof err);
    if (c != BD_SFTP_OK)
        return failed(f, c, "listing the claim folder", err), -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc >= 0 && !stopping(f); i++) {
        char id[BD_CLAIM_ID_MAX];
        const char *name;
        if (!e[i].regular || bd_claim_split(e[i].name, id, &name) < 0 || local_has(f->ready, e[i].name))
            continue;
        int done = bd_done_has(f, e[i].name); /* after ready/: a commit lists the entry before it leaves ready/ */
        if (done < 0) {
            log_error("partner %s: cannot read the done lists in %s: %s", f->p->name, f->done, strerror(errno));
            rc = -1;
            break;
        }
        if (done)
            continue;
        log_info("partner %s: resuming the download of %s (claim %s)", f->p->name, name, id);
        int final = (double)(bd_now_ms() - claim_ms(id)) / 1000.0 >= f->cfg->incomplete_timeout;
        rc = download_claimed(f, e[i].name, name, final, NULL, e[i]);
    }
    bd_sftp_entries_free(e, n);
    return rc < 0 ? -1 : 0;
}

/* Claims of other agents older than claim_timeout: their agent died; give the files back to the inbox. */
static void recover_dead_folder(bd_fetcher *f, const char *agent)
{
    char dir[PATH_MAX], err[1024];
    bd_sftp_entry *e;
    size_t n;
    if (bd_fmt(dir, sizeof dir, "%s/%s", f->rroot, agent) < 0 ||
        bd_sftp_list(f->link.s, dir, &e, &n, err, sizeof err) != BD_SFTP_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        char id[BD_CLAIM_ID_MAX], from[PATH_MAX], to[PATH_MAX];
        const char *name;
        if (!e[i].regular || bd_claim_split(e[i].name, id, &name) < 0 ||
            (double)(bd_now_ms() - claim_ms(id)) / 1000.0 < f->r->claim_timeout)
            continue;
        if (bd_fmt(from, sizeof from, "%s/%s", dir, e[i].name) < 0 || bd_fmt(to, sizeof to, "%s/%s", f->r->path, name) < 0)
            continue;
        if (bd_sftp_rename(f->link.s, from, to, err, sizeof err) == BD_SFTP_OK)
            log_warn("partner %s: agent %s claimed %s over %.0f s ago and never finished; gave it back to the inbox",
                     f->p->name, agent, name, f->r->claim_timeout);
    }
    bd_sftp_entries_free(e, n);
}

static void recover_dead(bd_fetcher *f)
{
    bd_sftp_entry *e;
    size_t n;
    char err[1024];
    if (bd_sftp_list(f->link.s, f->rroot, &e, &n, err, sizeof err) != BD_SFTP_OK)
        return;
    for (size_t i = 0; i < n; i++)
        if (!e[i].regular && e[i].name[0] != '.' && strcmp(e[i].name, f->cfg->agent_id) != 0)
            recover_dead_folder(f, e[i].name);
    bd_sftp_entries_free(e, n);
}

/* ---------------------------------------------------------------- listing */

static bd_fetch_item *item_for(bd_fetcher *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->items[i].name, name) == 0)
            return &f->items[i];
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 64;
        bd_fetch_item *ni = realloc(f->items, ncap * sizeof *ni);
        if (!ni)
            return NULL;
        f->items = ni;
        f->cap = ncap;
    }
    bd_fetch_item *it = &f->items[f->n];
    memset(it, 0, sizeof *it);
    if (!(it->name = strdup(name)))
        return NULL;
    it->first_seen = it->stable_since = bd_monotonic();
    it->size = UINT64_MAX;
    f->n++;
    return it;
}

static void forget_unseen(bd_fetcher *f)
{
    size_t kept = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (f->items[i].seen)
            f->items[kept++] = f->items[i];
        else
            free(f->items[i].name);
    }
    f->n = kept;
}

static void observe(bd_fetcher *f, const bd_sftp_entry *e)
{
    bd_fetch_item *it = item_for(f, e->name);
    if (!it)
        return;
    it->seen = 1;
    if (it->size != e->size || it->mtime != e->mtime) {
        it->stable_since = bd_monotonic();
        it->incomplete = 0;
    }
    it->size = e->size;
    it->mtime = e->mtime;
}

static int list_inbox(bd_fetcher *f)
{
    bd_sftp_entry *e;
    size_t n;
    char err[1024];
    bd_sftp_class c = bd_sftp_list(f->link.s, f->r->path, &e, &n, err, sizeof err);
    if (c != BD_SFTP_OK)
        return failed(f, c, "listing", err), -1;
    for (size_t i = 0; i < f->n; i++)
        f->items[i].seen = 0;
    for (size_t i = 0; i < n; i++)
        if (e[i].regular && !bd_inbox_ignored_name(e[i].name))
            observe(f, &e[i]);
    bd_sftp_entries_free(e, n);
    forget_unseen(f);
    int64_t oldest = 0;
    for (size_t i = 0; i < f->n; i++)
        if (!oldest || f->items[i].mtime < oldest)
            oldest = f->items[i].mtime;
    bd_shared_remote_backlog(f->p->name, f->n, oldest);
    return 0;
}

static int ready(const bd_fetcher *f, const bd_fetch_item *it, double now)
{
    if (now < it->retry_at)
        return 0;
    if (it->incomplete)
        return stuck_for(it, now) >= f->cfg->incomplete_timeout;
    return now - it->stable_since >= f->r->settle;
}

double bd_fetcher_next_stable(const bd_fetcher *f)
{
    double next = -1, now = bd_monotonic();
    for (size_t i = 0; i < f->n; i++) {
        if (f->items[i].incomplete || f->items[i].retry_at > now)
            continue;
        double w = f->items[i].stable_since + f->r->settle - now;
        if (w < 0)
            w = 0;
        if (next < 0 || w < next)
            next = w;
    }
    return next;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const bd_fetch_item *)a)->name, ((const bd_fetch_item *)b)->name);
}

int bd_fetcher_round(bd_fetcher *f)
{
    if (!bd_fetcher_connect(f))
        return -1;
    if (!f->recovered || bd_monotonic() >= f->next_recovery) {
        if (recover_own(f) < 0)
            return -1;
        recover_dead(f);
        f->recovered = 1;
        f->next_recovery = bd_monotonic() + 60; /* also catches claims left by failed downloads */
    }
    if (list_inbox(f) < 0)
        return -1;
    if (f->n > 1)
        qsort(f->items, f->n, sizeof *f->items, by_name); /* ID-sync files before trait files */
    if (bd_disk_low(&f->disk, f->cfg))
        return 0; /* listed (the backlog stays visible), not downloaded */
    double now = bd_monotonic();
    int rc = 0;
    for (size_t i = 0; i < f->n && rc == 0 && !stopping(f); i++) {
        if (!ready(f, &f->items[i], now))
            continue;
        if (take_file(f, &f->items[i]) >= 0)
            continue;
        if (!f->link.s)
            rc = -1; /* the session died: try again after the back-off */
        f->items[i].retry_at = now + (f->r->poll > 5 ? f->r->poll : 5); /* a permanent error: not 4 times a second */
    }
    if (f->npending && bd_fetch_publish(f) < 0)
        log_warn("partner %s: queued downloads may not survive a crash (see above); their claims are recovered",
                 f->p->name);
    return rc;
}
