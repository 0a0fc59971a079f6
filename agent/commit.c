/* commit.c: journaled, crash-redoable publication of a job's outcome: outbox renames, receipt, archive/quarantine. */
#include "config.h"
#include "commit.h"
#include "crashpoint.h"
#include "dispatch.h"
#include "ledger_shared.h"
#include "fsutil.h"
#include "log.h"
#include "mailer.h"
#include "remote_done.h"
#include "strutil.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAIL_MAX (1 << 20)

/* ---------------------------------------------------------------- receipts log */

/* Cut a torn last line (a crash mid-append) and tell whether the log's last
 * MiB holds this claim's receipt. 1 = already there, 0 = not, -1 = error.
 * Commits are serialized, so a receipt not yet marked done sits near the end. */
/* Journal paths hold partners' file names, which need not be UTF-8 (jansson only takes UTF-8):
 * such a path is kept as {"hex": "..."}. */
static json_t *jpath(const char *path)
{
    if (!path)
        return json_null();
    if (bd_valid_utf8(path, strlen(path)))
        return json_string(path);
    size_t n = strlen(path);
    char *hex = malloc(2 * n + 1);
    if (!hex)
        return NULL;
    bd_hex(hex, (const unsigned char *)path, n);
    json_t *o = json_pack("{s:s}", "hex", hex);
    free(hex);
    return o;
}

/* The path of field `key` (NULL when absent or malformed); hex forms are decoded into buf. */
static const char *jpath_get(json_t *jr, const char *key, char *buf, size_t len)
{
    json_t *v = json_object_get(jr, key);
    if (json_is_string(v))
        return json_string_value(v);
    const char *hex = json_string_value(json_object_get(v, "hex"));
    size_t n = hex ? strlen(hex) / 2 : 0;
    if (!hex || n + 1 > len)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned int b;
        if (sscanf(hex + 2 * i, "%2x", &b) != 1)
            return NULL;
        buf[i] = (char)b;
    }
    buf[n] = '\0';
    return buf;
}

/* The text receipt is for people: bytes that are not UTF-8 (from a file name) become '?'. */
static void text_to_utf8(char *text)
{
    if (text && !bd_valid_utf8(text, strlen(text)))
        for (char *c = text; *c; c++)
            if ((unsigned char)*c >= 0x80)
                *c = '?';
}

static int receipt_already_logged(const char *log_path, const char *claim_id)
{
    int fd = open(log_path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    struct stat st;
    char *tail = NULL;
    int result = -1;
    if (fstat(fd, &st) < 0)
        goto out;
    size_t n = st.st_size > TAIL_MAX ? TAIL_MAX : (size_t)st.st_size;
    off_t start = st.st_size - (off_t)n;
    if (!(tail = malloc(n + 1)) || pread(fd, tail, n, start) != (ssize_t)n)
        goto out;
    tail[n] = '\0';
    size_t end = n;
    while (end > 0 && tail[end - 1] != '\n')
        end--;
    if (end < n) { /* torn tail: drop it */
        log_warn("receipts log %s: dropping a torn last line (%zu bytes) left by a crash", log_path, n - end);
        if (ftruncate(fd, start + (off_t)end) < 0 || fsync(fd) < 0)
            goto out;
    }
    tail[end] = '\0';
    char needle[128];
    snprintf(needle, sizeof needle, "\"id\":\"%s\"", claim_id);
    result = strstr(tail, needle) != NULL;
out:
    free(tail);
    close(fd);
    return result;
}

/* fresh: the journal entry was written just now, so the log cannot hold this receipt yet. Its tail is still
 * read once per process (and log path), to cut a line torn by a crash before appending after it. */
static int tail_checked(bd_agent *a)
{
    return a->receipts_checked && strcmp(a->receipts_checked, a->cfg->receipts) == 0;
}

/* 1 = the receipt must be appended, 0 = the log has it (a replay), -1 = error. */
static int receipt_needed(bd_agent *a, const char *claim_id, int fresh)
{
    int have = fresh && tail_checked(a) ? 0 : receipt_already_logged(a->cfg->receipts, claim_id);
    if (have >= 0 && !tail_checked(a)) {
        free(a->receipts_checked);
        a->receipts_checked = strdup(a->cfg->receipts); /* NULL: checked again next time */
    }
    return have < 0 ? -1 : !have;
}

/* ---------------------------------------------------------------- journal replay */

static int do_renames(json_t *renames)
{
    size_t i;
    json_t *pair;
    json_array_foreach(renames, i, pair) {
        const char *from = json_string_value(json_array_get(pair, 0));
        const char *to = json_string_value(json_array_get(pair, 1));
        if (!from || !to)
            return -1;
        if (bd_rename_noreplace(from, to) == 0)
            continue;
        if (errno == ENOENT && access(to, F_OK) == 0)
            continue; /* done before a crash */
        log_error("cannot publish %s as %s: %s", from, to, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_sidecars(const char *dest, const char *json_line, const char *text)
{
    char path[PATH_MAX];
    if (bd_fmt(path, sizeof path, "%s.receipt.json", dest) < 0 ||
        bd_write_file_durable(path, json_line, strlen(json_line), 0640) < 0)
        return -1;
    if (bd_fmt(path, sizeof path, "%s.receipt.txt", dest) < 0 ||
        bd_write_file_durable(path, text, strlen(text), 0640) < 0)
        return -1;
    return 0;
}

/* receipt_mail: spool the message for the mailer (a missing spool folder is made). */
static int write_mail(const char *spool, const char *mail)
{
    char dir[PATH_MAX];
    if (access(spool, F_OK) == 0)
        return 0; /* a replay: already spooled (or sent and removed: then at most one more copy) */
    if (bd_dirname(dir, sizeof dir, spool) < 0 || bd_mkdir_p(dir, 0750) < 0)
        return -1;
    return bd_write_file_durable(spool, mail, strlen(mail), 0640);
}

/* Hand-offs to the SFTP processes and the mailer, written once outputs and receipt are durable: the push queue
 * entry (outbox files, and the receipt when pushed) and the mail. The done marker is made by hand_off. Idempotent. */
static int write_markers(json_t *jr)
{
    const char *push = json_string_value(json_object_get(jr, "push_marker"));
    const char *push_json = json_string_value(json_object_get(jr, "push"));
    const char *receipt_file = json_string_value(json_object_get(jr, "push_receipt"));
    const char *line = json_string_value(json_object_get(jr, "receipt"));
    if (receipt_file && line && bd_write_file_durable(receipt_file, line, strlen(line), 0640) < 0)
        return -1;
    if (push && push_json && bd_write_file_durable(push, push_json, strlen(push_json), 0640) < 0)
        return -1;
    const char *mail = json_string_value(json_object_get(jr, "mail"));
    const char *spool = json_string_value(json_object_get(jr, "mail_spool"));
    if (mail && spool && write_mail(spool, mail) < 0)
        return -1;
    return 0;
}

/* The shared ledger's entry becomes final once outputs and receipt are durable (a no-op without one). */
static int finish_shared_entry(bd_agent *a, const char *claim_id, json_t *shared)
{
    char err[768];
    const char *key = json_string_value(json_object_get(shared, "key"));
    const char *entry = json_string_value(json_object_get(shared, "entry"));
    if (!shared)
        return 0;
    if (!key || !entry || !a->shared_ledger) {
        log_error("claim %s: the journal names a shared ledger entry, but %s", claim_id,
                  a->shared_ledger ? "it is malformed" : "match_store is no longer redis; it stays pending");
        return a->shared_ledger ? -1 : 0;
    }
    if (bd_shared_ledger_finish(a->shared_ledger, key, claim_id, entry, err, sizeof err) < 0) {
        log_error("claim %s: %s; retried", claim_id, err);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- group replay */

/* The journal entries of a group commit (or one recovered entry), carried out step by step for all of them,
 * each step's fsyncs once for the group. ok[i] turns 0 when entry i failed; the others go on. */
typedef struct group {
    bd_agent *a;
    size_t n;
    const char **ids;
    json_t **jrs;
    int *ok;
    int fresh; /* the entries were written just now (not a recovery) */
    const char **partners; /* fresh groups: each entry's partner (its tail may be deferred) */
} group;

static int committing(const group *g, size_t i)
{
    const char *state = json_string_value(json_object_get(g->jrs[i], "state"));
    return g->ok[i] && state && strcmp(state, "committing") == 0;
}

static int any_committing(const group *g)
{
    for (size_t i = 0; i < g->n; i++)
        if (committing(g, i))
            return 1;
    return 0;
}

/* Folders to fsync once for the group; a failure fails the entries that needed the folder. */
typedef struct dirset {
    char **dirs;
    size_t n;
} dirset;

static int dirset_add_parent(dirset *d, const char *path)
{
    char dir[PATH_MAX];
    if (bd_dirname(dir, sizeof dir, path) < 0)
        return -1;
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->dirs[i], dir) == 0)
            return 0;
    char **grown = realloc(d->dirs, (d->n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    d->dirs = grown;
    if (!(d->dirs[d->n] = strdup(dir)))
        return -1;
    d->n++;
    return 0;
}

/* fsync every folder and free the set; -1 when one failed (logged). */
static int dirset_sync(dirset *d, const char *what)
{
    int rc = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (rc == 0 && bd_fsync_dir(d->dirs[i]) < 0) {
            log_error("cannot fsync the %s folder %s: %s", what, d->dirs[i], strerror(errno));
            rc = -1;
        }
        free(d->dirs[i]);
    }
    free(d->dirs);
    d->dirs = NULL;
    d->n = 0;
    return rc;
}

static void fail_all(group *g, const int *needed)
{
    for (size_t i = 0; i < g->n; i++)
        if (needed[i])
            g->ok[i] = 0;
}

static void publish_outputs(group *g)
{
    for (size_t i = 0; i < g->n; i++)
        if (committing(g, i)) {
            if (do_renames(json_object_get(g->jrs[i], "renames")) < 0)
                g->ok[i] = 0;
            bd_crashpoint("after-outbox-rename"); /* per file: a crash may leave the group half published */
        }
}

/* The receipts of the group: one append and one fdatasync. */
static void append_receipts(group *g, int *needed)
{
    size_t len = 0;
    char *buf = NULL;
    int any = 0;
    for (size_t i = 0; i < g->n; i++) {
        needed[i] = 0;
        if (!committing(g, i))
            continue;
        int want = receipt_needed(g->a, g->ids[i], g->fresh);
        const char *line = json_string_value(json_object_get(g->jrs[i], "receipt"));
        if (want < 0 || !line) {
            log_error("cannot read the receipts log %s for claim %s: %s; the file stays claimed and is retried",
                      g->a->cfg->receipts, g->ids[i], strerror(errno));
            g->ok[i] = 0;
            continue;
        }
        if (!want)
            continue; /* a replay: the log has it */
        size_t n = strlen(line);
        char *grown = realloc(buf, len + n + 1);
        if (!grown) {
            g->ok[i] = 0;
            continue;
        }
        buf = grown;
        memcpy(buf + len, line, n + 1);
        len += n;
        needed[i] = any = 1;
    }
    if (any && bd_receipt_write(g->a->cfg->receipts, buf) < 0) {
        log_error("cannot write the receipt%s to %s: %s; %s claimed and retried", g->n == 1 ? "" : "s",
                  g->a->cfg->receipts, strerror(errno), g->n == 1 ? "the file stays" : "the files stay");
        fail_all(g, needed);
    }
    free(buf);
}

/* The renames made durable: after the receipts (a crash in between replays them, and finds the receipt
 * logged), before anything that deletes or hands off a source. */
static void sync_renames(group *g, int *needed)
{
    dirset d = {0};
    int rc = 0;
    for (size_t i = 0; i < g->n; i++) {
        json_t *renames = json_object_get(g->jrs[i], "renames");
        const char *to = json_string_value(json_array_get(json_array_get(renames, 0), 1));
        needed[i] = committing(g, i) && to;
        if (needed[i] && dirset_add_parent(&d, to) < 0)
            rc = -1;
    }
    if (dirset_sync(&d, "outbox") < 0 || rc < 0)
        fail_all(g, needed);
}

/* The "done" list that lets the fetcher delete or move remote sources whose outputs and receipts are durable:
 * the claim entries, each ended by a NUL (no file name holds one), in one file per done folder and commit, under
 * a name of its own (bd_done_list_path). */

/* The done entries of g's committing entries whose marker sits in dir, appended to *buf and marked in listed[].
 * -1 when out of memory. */
static int collect_done(group *g, const char *dir, int *listed, char **buf, size_t *len)
{
    char path[PATH_MAX], parent[PATH_MAX];
    for (size_t i = 0; i < g->n; i++) {
        const char *done = committing(g, i) ? jpath_get(g->jrs[i], "done_marker", path, sizeof path) : NULL;
        if (!done || bd_dirname(parent, sizeof parent, done) < 0 || strcmp(parent, dir) != 0)
            continue;
        const char *entry = bd_basename(done);
        size_t add = strlen(entry) + 1;
        char *grown = realloc(*buf, *len + add);
        if (!grown)
            return -1;
        memcpy(grown + *len, entry, add);
        *buf = grown;
        *len += add;
        listed[i] = 1;
    }
    return 0;
}

/* Write the done list of every entry whose marker sits in entry i's folder (durably: temp file, fsync, rename,
 * folder fsync). A failure fails those entries. */
static void write_done_list(group *g, size_t i, int *listed, const char *first)
{
    char dir[PATH_MAX], path[PATH_MAX];
    char *buf = NULL;
    size_t len = 0;
    int *mine = calloc(g->n, sizeof *mine);
    int rc = mine && bd_dirname(dir, sizeof dir, first) == 0 && collect_done(g, dir, mine, &buf, &len) == 0 &&
             bd_done_list_path(path, sizeof path, dir) == 0 && bd_write_file_durable(path, buf, len, 0640) == 0 ? 0 : -1;
    if (rc < 0)
        log_error("claim %s: cannot write the done list of its remote source in %s: %s", g->ids[i], dir,
                  strerror(errno));
    for (size_t k = 0; mine && k < g->n; k++)
        if (mine[k]) {
            listed[k] = 1;
            if (rc < 0)
                g->ok[k] = 0;
        }
    if (!mine)
        g->ok[i] = 0;
    free(mine);
    free(buf);
}

/* Every committing entry's hand-offs: its push marker, then its remote source's entry in a done list (one list
 * per done folder, so a commit costs one file there rather than one per remote file). */
static void write_hand_offs(group *g, int *listed)
{
    char buf[PATH_MAX];
    for (size_t i = 0; i < g->n; i++)
        if (committing(g, i) && write_markers(g->jrs[i]) < 0) {
            log_error("claim %s: cannot queue the remote hand-off: %s", g->ids[i], strerror(errno));
            g->ok[i] = 0;
        }
    for (size_t i = 0; i < g->n; i++) {
        const char *done = committing(g, i) && !listed[i] ? jpath_get(g->jrs[i], "done_marker", buf, sizeof buf) : NULL;
        if (done)
            write_done_list(g, i, listed, done);
    }
}

static void hand_off(group *g)
{
    int *listed = calloc(g->n, sizeof *listed);
    if (listed)
        write_hand_offs(g, listed);
    else
        for (size_t i = 0; i < g->n; i++)
            if (committing(g, i)) {
                log_error("claim %s: cannot queue the remote hand-off: out of memory", g->ids[i]);
                g->ok[i] = 0;
            }
    free(listed);
    bd_crashpoint("after-markers");
    for (size_t i = 0; i < g->n; i++)
        if (committing(g, i) && finish_shared_entry(g->a, g->ids[i], json_object_get(g->jrs[i], "shared_ledger")) < 0)
            g->ok[i] = 0;
}

/* Hand-offs that must not be made twice (a push marker already consumed, a mail already sent): their entries
 * are marked done before the source is archived, so that a replay skips them. An entry without one is
 * redone harmlessly (renames done, receipt found in the log), and saves that transaction. */
static int has_hand_off(json_t *jr)
{
    json_t *done = json_object_get(jr, "done_marker");
    return json_object_get(jr, "push_marker") || (done && !json_is_null(done)) ||
           json_object_get(jr, "mail_spool") || json_object_get(jr, "shared_ledger");
}

/* State "done" for the group's entries with hand-offs, in one transaction. */
static void mark_done(group *g, int *needed)
{
    char err[256];
    bd_journal_put *puts = calloc(g->n, sizeof *puts);
    char **texts = calloc(g->n, sizeof *texts);
    size_t m = 0;
    int rc = puts && texts ? 0 : -1;
    for (size_t i = 0; i < g->n && rc == 0; i++) {
        if (!(needed[i] = committing(g, i) && has_hand_off(g->jrs[i])))
            continue;
        json_object_set_new(g->jrs[i], "state", json_string("done"));
        if (!(texts[m] = json_dumps(g->jrs[i], JSON_COMPACT)))
            rc = -1;
        else
            puts[m] = (bd_journal_put){.claim_id = g->ids[i], .journal_json = texts[m]}, m++;
    }
    if (rc == 0 && m && bd_ledger_journal_put_many(g->a->ledger, puts, m, err, sizeof err) < 0)
        rc = -1;
    if (rc < 0) {
        log_error("cannot mark %zu journal entr%s done: %s", m, m == 1 ? "y" : "ies", texts ? err : "out of memory");
        fail_all(g, needed);
    }
    for (size_t i = 0; texts && i < m; i++)
        free(texts[i]);
    free(texts);
    free(puts);
}

/* Archive, quarantine or delete one source; the folders to fsync go to d. */
static int finish_source(json_t *jr, dirset *d)
{
    char claim_buf[PATH_MAX], dest_buf[PATH_MAX], dir[PATH_MAX];
    const char *claim = jpath_get(jr, "claim", claim_buf, sizeof claim_buf);
    const char *dest = jpath_get(jr, "dest", dest_buf, sizeof dest_buf);
    const char *text = json_string_value(json_object_get(jr, "text"));
    const char *line = json_string_value(json_object_get(jr, "receipt"));
    if (!claim || !dest || !line)
        return -1;
    if (access(claim, F_OK) < 0)
        return errno == ENOENT ? 0 : -1; /* moved before a crash */
    if (!*dest)
        return unlink(claim) < 0 ? -1 : dirset_add_parent(d, claim);
    if (bd_dirname(dir, sizeof dir, dest) < 0 || bd_mkdir_p(dir, 0750) < 0)
        return -1;
    if (text && write_sidecars(dest, line, text) < 0)
        return -1;
    if (rename(claim, dest) == 0)
        return dirset_add_parent(d, dest) < 0 || dirset_add_parent(d, claim) < 0 ? -1 : 0;
    return errno == EXDEV ? bd_move_durable(claim, dest) : -1;
}

static void finish_sources(group *g, int *needed)
{
    char claim_buf[PATH_MAX];
    dirset d = {0};
    for (size_t i = 0; i < g->n; i++) {
        needed[i] = g->ok[i];
        if (g->ok[i] && finish_source(g->jrs[i], &d) < 0) {
            log_error("claim %s: cannot archive %s: %s", g->ids[i],
                      jpath_get(g->jrs[i], "claim", claim_buf, sizeof claim_buf), strerror(errno));
            g->ok[i] = 0;
        }
    }
    if (dirset_sync(&d, "claim or archive") < 0)
        fail_all(g, needed);
}

static void forget_entries(group *g)
{
    char err[256];
    for (size_t i = 0; i < g->n; i++)
        if (g->ok[i] && bd_ledger_journal_forget(g->a->ledger, g->ids[i], err, sizeof err) < 0) {
            log_error("claim %s: %s", g->ids[i], err);
            g->ok[i] = 0;
        }
}

/* The receipts written by append_receipts made durable: one fdatasync for the group. */
static void sync_receipts(group *g, int *needed)
{
    for (size_t i = 0; i < g->n; i++)
        needed[i] = committing(g, i);
    if (bd_receipt_sync(g->a->cfg->receipts) < 0) {
        log_error("cannot fsync the receipts log %s: %s; the files stay claimed and are retried", g->a->cfg->receipts,
                  strerror(errno));
        fail_all(g, needed);
    }
}

/* The steps after the receipts are written: make them and the renames durable, hand off, archive, forget. */
static void finish_group(group *g, int *needed)
{
    if (any_committing(g)) {
        sync_receipts(g, needed);
        sync_renames(g, needed);
        bd_crashpoint("after-receipt");
        hand_off(g);
        mark_done(g, needed);
        bd_crashpoint("before-archive");
    }
    finish_sources(g, needed);
    bd_crashpoint("after-archive");
    forget_entries(g);
}

static int *start_group(group *g)
{
    int *needed = calloc(g->n, sizeof *needed);
    if (!needed) {
        memset(g->ok, 0, g->n * sizeof *g->ok);
        return NULL;
    }
    for (size_t i = 0; i < g->n; i++)
        if (!json_string_value(json_object_get(g->jrs[i], "state")) ||
            !json_string_value(json_object_get(g->jrs[i], "receipt")))
            g->ok[i] = 0;
    return needed;
}

/* Carry out the group's journal entries from their states on. */
static void replay_group(group *g)
{
    int *needed = start_group(g);
    if (!needed)
        return;
    if (any_committing(g)) {
        publish_outputs(g);
        append_receipts(g, needed);
    }
    finish_group(g, needed);
    free(needed);
}

/* ---------------------------------------------------------------- the deferred tail (group commit over time) */

/* Under run, a fresh group stops once its outputs are renamed and its receipts written; the steps after that
 * (fdatasync of the receipts, fsync of the outbox folders, hand-offs, archiving) wait for the groups after it,
 * up to BD_TAIL_WAIT or BD_TAIL_GROUP entries, and then run once for all of them, beside a worker when one runs
 * (daemon.c: run_commit_tail). Until then each entry stays in the journal: a crash replays it. A file that
 * arrives meanwhile is claimed and parsed without waiting for those flushes. */
#define BD_TAIL_WAIT BD_COMMIT_TAIL_WAIT
#define BD_TAIL_MAX 512
#define BD_TAIL_GROUP 8 /* due at once from this many entries on: a tail's unlinks stay short (p99 latency) */

typedef struct bd_commit_tail {
    size_t n;
    char *ids[BD_TAIL_MAX], *partners[BD_TAIL_MAX];
    json_t *jrs[BD_TAIL_MAX];
    double since; /* monotonic time the oldest entry was deferred */
} bd_commit_tail;

double bd_commit_tail_due(const bd_agent *a)
{
    if (!a->tail || !a->tail->n)
        return -1;
    return a->tail->n >= BD_TAIL_GROUP ? a->tail->since : a->tail->since + BD_TAIL_WAIT;
}

static void tail_clear(bd_commit_tail *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->ids[i]);
        free(t->partners[i]);
        json_decref(t->jrs[i]);
    }
    t->n = 0;
}

void bd_commit_tail_flush(bd_agent *a)
{
    bd_commit_tail *t = a->tail;
    if (!t || !t->n)
        return;
    int ok[BD_TAIL_MAX], needed[BD_TAIL_MAX];
    for (size_t i = 0; i < t->n; i++)
        ok[i] = 1;
    group g = {.a = a, .n = t->n, .ids = (const char **)t->ids, .jrs = t->jrs, .ok = ok, .fresh = 0};
    finish_group(&g, needed);
    for (size_t i = 0; i < t->n; i++) {
        if (!ok[i])
            bd_dispatch_left_for_retry(a, t->partners[i], t->ids[i], "committing its outcome failed");
        else if (json_object_get(t->jrs[i], "mail_spool"))
            bd_mailer_note_spooled(a->mailer); /* its receipt mail is in the spool now */
    }
    tail_clear(t);
}

void bd_commit_tail_free(bd_agent *a)
{
    if (a->tail)
        tail_clear(a->tail);
    free(a->tail);
    a->tail = NULL;
}

/* Move the group's entries that are still fine into the tail: 0 done, -1 when the group must finish now. */
static int defer_tail(bd_agent *a, group *g)
{
    if (a->sigfd < 0 || !g->partners || (!a->tail && !(a->tail = calloc(1, sizeof *a->tail))))
        return -1; /* once (no later moment to carry it), a replay, or out of memory */
    bd_commit_tail *t = a->tail;
    if (t->n + g->n > BD_TAIL_MAX)
        bd_commit_tail_flush(a);
    size_t n = t->n;
    for (size_t i = 0; i < g->n; i++) {
        if (!g->ok[i])
            continue; /* reported as failed by the caller */
        t->ids[n] = strdup(g->ids[i]);
        t->partners[n] = strdup(g->partners[i]);
        t->jrs[n] = json_incref(g->jrs[i]);
        if (!t->ids[n++] || !t->partners[n - 1]) {
            for (size_t k = t->n; k < n; k++) {
                free(t->ids[k]);
                free(t->partners[k]);
                json_decref(t->jrs[k]);
            }
            return -1;
        }
    }
    if (!t->n)
        t->since = bd_monotonic();
    t->n = n;
    return 0;
}

/* A fresh group: published and its receipts written now; the rest deferred under run, else done now. */
static void commit_group(group *g)
{
    int *needed = start_group(g);
    if (!needed)
        return;
    publish_outputs(g);
    append_receipts(g, needed);
    if (defer_tail(g->a, g) < 0)
        finish_group(g, needed);
    else if (bd_monotonic() >= bd_commit_tail_due(g->a) + 4 * BD_TAIL_WAIT)
        bd_commit_tail_flush(g->a); /* the loop found no moment for it (see run_loop) */
    free(needed);
}

/* One entry (recovery, or a claim requeued with its journal entry): 0 done, -1 failed. */
static int replay(bd_agent *a, const char *claim_id, json_t *jr, int fresh)
{
    int ok = 1;
    group g = {.a = a, .n = 1, .ids = &claim_id, .jrs = &jr, .ok = &ok, .fresh = fresh};
    replay_group(&g);
    return ok ? 0 : -1;
}

/* ---------------------------------------------------------------- deciding the outcome */

/* The ledger key: one partner's content. The same bytes from two partners are two deliveries. */
static void ledger_key(const bd_job *j, char *key, size_t len)
{
    snprintf(key, len, "%s/%s", j->r.partner, j->r.sha256);
}

/* The shared ledger's entry while this claim is being committed: "pending", with the time it was taken. */
static char *pending_entry(const bd_agent *a, const bd_job *j, const char *claim_id)
{
    char file[sizeof j->r.file];
    snprintf(file, sizeof file, "%s", j->r.file);
    text_to_utf8(file);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "id", claim_id, "file", file, "partner", j->r.partner,
                          "status", "pending", "agent", a->cfg->agent_id, "since_ms", (json_int_t)bd_now_ms());
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* A pending entry older than this belongs to an agent that died before it finished the file. */
static double abandon_after(const bd_job *j)
{
    return j->partner->remote ? j->partner->remote->claim_timeout : BD_SHARED_PENDING_TIMEOUT;
}

/* The content's entry: the local ledger's, or in a fleet the shared one, taken for this claim when free.
 * 1 = *entry holds another delivery's entry, 0 = none (the content is ours), -1 = error. */
static int content_holder(bd_agent *a, bd_job *j, const char *claim_id, const char *key, char **entry)
{
    char err[768];
    *entry = NULL;
    if (!a->shared_ledger)
        return bd_ledger_lookup(a->ledger, key, entry);
    char *pending = pending_entry(a, j, claim_id);
    int rc = pending ? bd_shared_ledger_take(a->shared_ledger, key, claim_id, pending, abandon_after(j), entry, err,
                                             sizeof err)
                     : -1;
    free(pending);
    if (rc < 0)
        log_error("partner %s: %s: %s", j->r.partner, j->r.file, pending ? err : "out of memory");
    bd_agent_note_store(a, rc < 0 ? err : NULL);
    return rc < 0 ? -1 : !rc;
}

static int check_duplicate(bd_agent *a, bd_job *j, const char *claim_id, int *was_rejected)
{
    char *entry = NULL, key[200];
    ledger_key(j, key, sizeof key);
    int rc = content_holder(a, j, claim_id, key, &entry);
    if (rc <= 0)
        return rc;
    json_t *e = json_loads(entry, 0, NULL);
    free(entry);
    const char *first = e ? json_string_value(json_object_get(e, "id")) : NULL;
    const char *file = e ? json_string_value(json_object_get(e, "file")) : NULL;
    const char *status = e ? json_string_value(json_object_get(e, "status")) : NULL;
    const char *when = e ? json_string_value(json_object_get(e, "finished")) : NULL;
    if (!first || !file || !status || strcmp(first, claim_id) == 0) {
        json_decref(e);
        return first ? 0 : -1;
    }
    *was_rejected = strcmp(status, BD_STATUS_REJECTED) == 0;
    j->r.status = BD_STATUS_DUPLICATE;
    snprintf(j->r.duplicate_of, sizeof j->r.duplicate_of, "%s", first);
    const char *agent = json_string_value(json_object_get(e, "agent"));
    if (strcmp(status, "pending") == 0)
        snprintf(j->r.reason, sizeof j->r.reason, "same content (sha256) as %s, being processed by agent %s", file,
                 agent ? agent : "?");
    else
        snprintf(j->r.reason, sizeof j->r.reason, "same content (sha256) as %s, received %s and %s%s%s", file,
                 when ? when : "earlier", status, agent ? " by agent " : "", agent ? agent : "");
    j->r.noutbox = 0;
    json_decref(e);
    return 1;
}

static char *ledger_entry(const bd_job *j, const char *claim_id)
{
    char when[40], file[sizeof j->r.file];
    bd_format_iso8601(when, sizeof when, j->r.finished_ms);
    snprintf(file, sizeof file, "%s", j->r.file);
    text_to_utf8(file);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", claim_id, "file", file, "partner", j->r.partner,
                          "status", j->r.status, "finished", when, "agent", j->r.agent);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* archive/<partner>/<claim entry> (the claimed file's own name: "<claim id>~<name>", cut when long) */
static int dest_path(bd_agent *a, const bd_job *j, const char *claim_path, int quarantine, char *out, size_t n)
{
    if (!quarantine && !a->cfg->keep_archive) {
        out[0] = '\0';
        return 0;
    }
    return bd_fmt(out, n, "%s/%s/%s", quarantine ? a->quarantine_dir : a->archive_dir, j->r.partner,
                  bd_basename(claim_path));
}

/* What the pusher uploads for this file: the outbox files, then the receipt when the partner wants it. */
static int add_push(json_t *jr, const bd_job *j, const char *claim_id, int ok)
{
    char marker[PATH_MAX], receipt_file[PATH_MAX], receipt_name[300];
    const bd_partner *p = j->partner;
    if (!j->push_dir || (!ok && !p->remote_receipts))
        return 0;
    json_t *files = json_array();
    if (ok && j->has_outbox) {
        json_array_append_new(files, json_string(j->out.final_data));
        json_array_append_new(files, json_string(j->out.final_info));
    }
    if (bd_fmt(marker, sizeof marker, "%s/%s.json", j->push_dir, claim_id) < 0 ||
        bd_fmt(receipt_file, sizeof receipt_file, "%s/%s.receipt.json", j->push_dir, claim_id) < 0) {
        json_decref(files);
        return -1;
    }
    snprintf(receipt_name, sizeof receipt_name, "%s.receipt.json",
             ok && j->has_outbox ? bd_basename(j->out.final_data) : j->r.file);
    text_to_utf8(receipt_name);
    json_t *push = json_pack("{s:o,s:s?,s:s}", "files", files, "receipt_file",
                             p->remote_receipts ? receipt_file : NULL, "receipt_name", receipt_name);
    char *text = push ? json_dumps(push, JSON_COMPACT) : NULL;
    json_decref(push);
    int rc = text ? json_object_set_new(jr, "push", json_string(text)) |
                        json_object_set_new(jr, "push_marker", json_string(marker))
                  : -1;
    if (rc == 0 && p->remote_receipts)
        rc = json_object_set_new(jr, "push_receipt", json_string(receipt_file));
    free(text);
    return rc;
}

static int add_mail(json_t *jr, bd_agent *a, const bd_job *j, const char *claim_id)
{
    char spool[PATH_MAX];
    if (!j->partner->receipt_mail)
        return 0;
    char *text = bd_receipt_text(&j->r);
    char *mail = text ? bd_mail_message(a->cfg, j->partner, &j->r, text) : NULL;
    if (mail && !bd_valid_utf8(mail, strlen(mail))) /* a partner's file name: keep the mail, lose the bytes */
        for (char *c = mail; *c; c++)
            if ((unsigned char)*c >= 0x80)
                *c = '?';
    int rc = mail && bd_mail_spool_path(spool, sizeof spool, a->cfg, j->partner->name, claim_id) == 0 &&
                     json_object_set_new(jr, "mail", json_string(mail)) == 0 &&
                     json_object_set_new(jr, "mail_spool", json_string(spool)) == 0
                 ? 0
                 : -1;
    free(text);
    free(mail);
    return rc;
}

static json_t *build_journal(bd_agent *a, bd_job *j, const char *claim_id, const char *claim_path, int quarantine)
{
    char dest[PATH_MAX];
    char *line = bd_receipt_json_line(&j->r);
    char *text = quarantine ? bd_receipt_text(&j->r) : NULL;
    text_to_utf8(text);
    json_t *renames = json_array();
    if (j->has_outbox && strcmp(j->r.status, BD_STATUS_OK) == 0) {
        json_array_append_new(renames, json_pack("[s,s]", j->out.tmp_data, j->out.final_data));
        json_array_append_new(renames, json_pack("[s,s]", j->out.tmp_info, j->out.final_info));
    }
    json_t *jr = NULL;
    if (line && renames && (!quarantine || text) &&
        dest_path(a, j, claim_path, quarantine, dest, sizeof dest) == 0)
        jr = json_pack("{s:s,s:o,s:o,s:O,s:s,s:s?,s:o}", "state", "committing", "claim", jpath(claim_path), "dest",
                       jpath(dest), "renames", renames, "receipt", line, "text", text, "done_marker",
                       jpath(j->done_marker));
    if (jr && add_mail(jr, a, j, claim_id) < 0) {
        json_decref(jr);
        jr = NULL;
    }
    if (jr && add_push(jr, j, claim_id, !quarantine && strcmp(j->r.status, BD_STATUS_OK) == 0) < 0) {
        json_decref(jr);
        jr = NULL;
    }
    json_decref(renames);
    free(line);
    free(text);
    return jr;
}

/* What one file of a group commit writes in the journal transaction. */
typedef struct intent {
    json_t *jr;
    char *journal, *entry; /* the journal's JSON; the ledger entry (NULL: none) */
    char key[200];
} intent;

static void intent_free(intent *in)
{
    json_decref(in->jr);
    free(in->journal);
    free(in->entry);
    memset(in, 0, sizeof *in);
}

/* The journal entry, and the SHA-256 ledger entry when record_sha: local, or in a fleet finalized by the
 * replay once outputs and receipt are durable. */
static int journal_intent(bd_agent *a, bd_job *j, const char *claim_id, intent *in, int record_sha)
{
    char *entry = record_sha ? ledger_entry(j, claim_id) : NULL;
    ledger_key(j, in->key, sizeof in->key);
    if (record_sha && !entry)
        return -1;
    if (entry && a->shared_ledger) {
        json_object_set_new(in->jr, "shared_ledger", json_pack("{s:s,s:s}", "key", in->key, "entry", entry));
        free(entry);
        entry = NULL;
        if (!json_object_get(in->jr, "shared_ledger"))
            return -1;
    }
    in->entry = entry;
    in->journal = json_dumps(in->jr, JSON_COMPACT);
    return in->journal ? 0 : -1;
}

static int commit_idsync(bd_job *j)
{
    char err[256];
    if (j->batch_commit) { /* the worker holds the transaction */
        if (j->batch_commit(j, err, sizeof err) < 0) {
            log_error("partner %s: file %s: %s; the file stays claimed and is retried", j->r.partner, j->r.file, err);
            return -1;
        }
        return 0;
    }
    if (!j->batch)
        return 0;
    bd_matchbatch *b = j->batch;
    j->batch = NULL;
    if (bd_matchbatch_commit(b, err, sizeof err) < 0) {
        log_error("partner %s: file %s: %s; the file stays claimed and is retried", j->r.partner, j->r.file, err);
        return -1;
    }
    return 0;
}

/* Another file of this group with the same content, committed ahead of it: the later one is its duplicate. */
static const bd_commit_item *same_content_ahead(const bd_commit_item *items, size_t i)
{
    const bd_job *j = items[i].job;
    for (size_t k = 0; k < i; k++) {
        const bd_job *o = items[k].job;
        if (items[k].rc == 0 && strcmp(o->r.status, BD_STATUS_OK) == 0 && strcmp(o->r.partner, j->r.partner) == 0 &&
            strcmp(o->r.sha256, j->r.sha256) == 0)
            return &items[k];
    }
    return NULL;
}

static void duplicate_in_group(bd_job *j, const bd_commit_item *first)
{
    char when[40];
    bd_format_iso8601(when, sizeof when, first->job->r.finished_ms);
    j->r.status = BD_STATUS_DUPLICATE;
    snprintf(j->r.duplicate_of, sizeof j->r.duplicate_of, "%s", first->claim_id);
    snprintf(j->r.reason, sizeof j->r.reason, "same content (sha256) as %s, received %s and ok by agent %s",
             first->job->r.file, when, first->job->r.agent);
    j->r.noutbox = 0;
}

/* Decide one file of the group (duplicate or not), commit its ID-sync mappings and build its journal intent.
 * items[i].rc: 0 ready, -1 failed (nothing written). */
static void decide(bd_agent *a, bd_commit_item *items, size_t i, intent *in)
{
    bd_job *j = items[i].job;
    const char *claim_id = items[i].claim_id;
    int was_rejected = 0, dup = 0;
    const bd_commit_item *first = j->r.sha256[0] && strcmp(j->r.status, BD_STATUS_OK) == 0
                                      ? same_content_ahead(items, i)
                                      : NULL;
    items[i].rc = -1;
    /* Only files that were processed ok are in the ledger: a rejected file sent again is judged again (it may
     * pass after a config change), and every empty file is "empty", not a duplicate of the first one. */
    if (first) {
        duplicate_in_group(j, first);
        dup = 1;
    } else if (j->r.sha256[0] && strcmp(j->r.status, BD_STATUS_OK) == 0 &&
               (dup = check_duplicate(a, j, claim_id, &was_rejected)) < 0) {
        log_error("claim %s: cannot read the ledger", claim_id);
        return;
    }
    if (a->shared_ledger && !dup && j->r.sha256[0] && strcmp(j->r.status, BD_STATUS_OK) == 0)
        bd_crashpoint("after-ledger-take"); /* the shared entry is pending, the journal does not know it yet */
    int ok = !dup && strcmp(j->r.status, BD_STATUS_OK) == 0;
    if (dup && j->batch) {
        bd_matchbatch_abort(j->batch);
        j->batch = NULL;
    }
    if (!ok && j->batch_abort)
        j->batch_abort(j);
    if (ok && commit_idsync(j) < 0)
        return;
    if (ok && j->r.c.id_mappings)
        bd_crashpoint("after-idsync-commit");
    in->jr = build_journal(a, j, claim_id, items[i].claim_path, dup ? was_rejected : !ok);
    if (!in->jr || journal_intent(a, j, claim_id, in, ok && j->r.sha256[0]) < 0) {
        log_error("claim %s: out of memory building the journal entry", claim_id);
        return;
    }
    items[i].rc = 0;
}

/* The journal transaction of the group: every ready file's entry (and ledger entry) at once. */
static int write_intents(bd_agent *a, bd_commit_item *items, intent *ins, size_t n)
{
    char err[256];
    bd_journal_put *puts = calloc(n, sizeof *puts);
    size_t m = 0;
    for (size_t i = 0; puts && i < n; i++)
        if (items[i].rc == 0)
            puts[m++] = (bd_journal_put){.claim_id = items[i].claim_id, .journal_json = ins[i].journal,
                                         .sha256 = ins[i].entry ? ins[i].key : NULL, .ledger_json = ins[i].entry};
    int rc = puts ? bd_ledger_journal_put_many(a->ledger, puts, m, err, sizeof err) : -1;
    if (rc < 0)
        log_error("cannot write the journal of %zu file%s: %s; %s retried", m, m == 1 ? "" : "s",
                  puts ? err : "out of memory", m == 1 ? "it is" : "they are");
    free(puts);
    return rc;
}

void bd_commit_jobs(bd_agent *a, bd_commit_item *items, size_t n)
{
    intent *ins = calloc(n, sizeof *ins);
    const char **ids = calloc(n, sizeof *ids), **partners = calloc(n, sizeof *partners);
    json_t **jrs = calloc(n, sizeof *jrs);
    int *ok = calloc(n, sizeof *ok);
    size_t m = 0, i = 0;
    for (; ins && ids && partners && jrs && ok && i < n; i++) {
        decide(a, items, i, &ins[i]);
        if (items[i].rc < 0)
            break; /* the partner's later files wait for this one */
    }
    for (size_t k = i; k < n; k++) {
        items[k].rc = -1;
        if (items[k].job->batch_abort)
            items[k].job->batch_abort(items[k].job);
    }
    if (i > 0 && write_intents(a, items, ins, i) < 0)
        for (size_t k = 0; k < i; k++)
            items[k].rc = -1;
    for (size_t k = 0; k < i; k++)
        if (items[k].rc == 0) {
            ids[m] = items[k].claim_id;
            partners[m] = items[k].job->partner->name;
            jrs[m] = ins[k].jr;
            ok[m++] = 1;
        }
    if (m) {
        bd_crashpoint("after-journal");
        group g = {.a = a, .n = m, .ids = ids, .jrs = jrs, .ok = ok, .fresh = 1, .partners = partners};
        commit_group(&g);
    }
    for (size_t k = 0, r = 0; k < i; k++)
        if (items[k].rc == 0 && !ok[r++])
            items[k].rc = -2;
    for (size_t k = 0; ins && k < n; k++)
        intent_free(&ins[k]);
    free(ins);
    free(ids);
    free(partners);
    free(jrs);
    free(ok);
}

int bd_commit_job(bd_agent *a, bd_job *j, const char *claim_id, const char *claim_path)
{
    bd_commit_item one = {.job = j, .claim_id = claim_id, .claim_path = claim_path};
    bd_commit_jobs(a, &one, 1);
    return one.rc;
}

static int recover_one(const char *claim_id, const char *json, void *arg)
{
    bd_agent *a = arg;
    json_t *jr = json_loads(json, 0, NULL);
    if (!jr) {
        log_error("journal entry for claim %s is not valid JSON; leaving it for an operator", claim_id);
        return 0;
    }
    log_info("recovering the interrupted commit of claim %s", claim_id);
    if (replay(a, claim_id, jr, 0) < 0)
        a->internal_errors++;
    json_decref(jr);
    return 0;
}

int bd_commit_recover(bd_agent *a)
{
    return bd_ledger_journal_each(a->ledger, recover_one, a);
}

int bd_commit_replay_claim(bd_agent *a, const char *claim_id)
{
    char *json = NULL;
    int rc = bd_ledger_journal_get(a->ledger, claim_id, &json);
    if (rc <= 0)
        return rc;
    json_t *jr = json_loads(json, 0, NULL);
    free(json);
    if (!jr)
        return -1;
    rc = replay(a, claim_id, jr, 0) < 0 ? -1 : 1;
    json_decref(jr);
    return rc;
}
