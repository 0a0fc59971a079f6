/* commit.c: journaled, crash-redoable publication of a job's outcome: outbox renames, receipt, archive/quarantine. */
#include "config.h"
#include "commit.h"
#include "crashpoint.h"
#include "ledger_shared.h"
#include "fsutil.h"
#include "log.h"
#include "mailer.h"
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

static int append_receipt_once(bd_agent *a, const char *claim_id, const char *line, int fresh)
{
    int have = fresh && tail_checked(a) ? 0 : receipt_already_logged(a->cfg->receipts, claim_id);
    if (have >= 0 && !tail_checked(a)) {
        free(a->receipts_checked);
        a->receipts_checked = strdup(a->cfg->receipts); /* NULL: checked again next time */
    }
    if (have < 0 || (!have && bd_receipt_append(a->cfg->receipts, line) < 0)) {
        log_error("cannot write the receipt for claim %s to %s: %s; the file stays claimed and is retried",
                  claim_id, a->cfg->receipts, strerror(errno));
        return -1;
    }
    return 0;
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

/* The renames made durable: after the receipt (a crash in between replays them, and finds the receipt logged),
 * before anything that deletes or hands off the source. */
static int sync_renames(json_t *renames)
{
    if (!json_array_size(renames))
        return 0;
    const char *last = json_string_value(json_array_get(json_array_get(renames, 0), 1));
    if (last && bd_fsync_parent(last) < 0) {
        log_error("cannot fsync the outbox folder of %s: %s", last, strerror(errno));
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

static int finish_source(json_t *jr)
{
    char claim_buf[PATH_MAX], dest_buf[PATH_MAX];
    const char *claim = jpath_get(jr, "claim", claim_buf, sizeof claim_buf);
    const char *dest = jpath_get(jr, "dest", dest_buf, sizeof dest_buf);
    const char *text = json_string_value(json_object_get(jr, "text"));
    const char *line = json_string_value(json_object_get(jr, "receipt"));
    if (!claim || !dest || !line)
        return -1;
    if (access(claim, F_OK) < 0)
        return errno == ENOENT ? 0 : -1; /* moved before a crash */
    if (!*dest) {
        if (unlink(claim) < 0 || bd_fsync_parent(claim) < 0)
            return -1;
        return 0;
    }
    char dir[PATH_MAX];
    if (bd_dirname(dir, sizeof dir, dest) < 0 || bd_mkdir_p(dir, 0750) < 0)
        return -1;
    if (text && write_sidecars(dest, line, text) < 0)
        return -1;
    return bd_move_durable(claim, dest);
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

/* Hand-offs to the SFTP processes, written once outputs and receipt are durable:
 * the push queue entry (outbox files, and the receipt when pushed) and the
 * "done" marker that lets the remote source be deleted or moved. Idempotent. */
static int write_markers(json_t *jr)
{
    const char *push = json_string_value(json_object_get(jr, "push_marker"));
    const char *push_json = json_string_value(json_object_get(jr, "push"));
    const char *receipt_file = json_string_value(json_object_get(jr, "push_receipt"));
    const char *line = json_string_value(json_object_get(jr, "receipt"));
    char done_buf[PATH_MAX];
    const char *done = jpath_get(jr, "done_marker", done_buf, sizeof done_buf);
    if (receipt_file && line && bd_write_file_durable(receipt_file, line, strlen(line), 0640) < 0)
        return -1;
    if (push && push_json && bd_write_file_durable(push, push_json, strlen(push_json), 0640) < 0)
        return -1;
    if (done && bd_write_file_durable(done, "", 0, 0640) < 0)
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

static int mark_done(bd_agent *a, const char *claim_id, json_t *jr)
{
    char err[256];
    json_object_set_new(jr, "state", json_string("done"));
    char *s = json_dumps(jr, JSON_COMPACT);
    int rc = s ? bd_ledger_journal_put(a->ledger, claim_id, s, NULL, NULL, err, sizeof err) : -1;
    free(s);
    if (rc < 0)
        log_error("claim %s: %s", claim_id, s ? err : "out of memory");
    return rc;
}

/* Carry out a journal entry from its state on. fresh: called right after writing it (not a recovery). */
static int replay(bd_agent *a, const char *claim_id, json_t *jr, int fresh)
{
    char err[256], claim_buf[PATH_MAX];
    const char *state = json_string_value(json_object_get(jr, "state"));
    const char *line = json_string_value(json_object_get(jr, "receipt"));
    if (!state || !line)
        return -1;
    if (strcmp(state, "committing") == 0) {
        if (do_renames(json_object_get(jr, "renames")) < 0)
            return -1;
        bd_crashpoint("after-outbox-rename");
        if (append_receipt_once(a, claim_id, line, fresh) < 0 || sync_renames(json_object_get(jr, "renames")) < 0)
            return -1;
        bd_crashpoint("after-receipt");
        if (write_markers(jr) < 0) {
            log_error("claim %s: cannot queue the remote hand-off: %s", claim_id, strerror(errno));
            return -1;
        }
        bd_crashpoint("after-markers");
        if (finish_shared_entry(a, claim_id, json_object_get(jr, "shared_ledger")) < 0)
            return -1;
        if (mark_done(a, claim_id, jr) < 0)
            return -1;
        bd_crashpoint("before-archive");
    }
    if (finish_source(jr) < 0) {
        log_error("claim %s: cannot archive %s: %s", claim_id,
                  jpath_get(jr, "claim", claim_buf, sizeof claim_buf), strerror(errno));
        return -1;
    }
    bd_crashpoint("after-archive");
    if (bd_ledger_journal_forget(a->ledger, claim_id, err, sizeof err) < 0) {
        log_error("claim %s: %s", claim_id, err);
        return -1;
    }
    return 0;
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

static int journal_intent(bd_agent *a, bd_job *j, const char *claim_id, json_t *jr, int record_sha)
{
    char err[256], key[200];
    char *entry = record_sha ? ledger_entry(j, claim_id) : NULL;
    int rc = -1, shared = record_sha && a->shared_ledger && entry;
    ledger_key(j, key, sizeof key);
    if (shared) { /* the fleet's entry is finalized by the replay once outputs and receipt are durable */
        json_object_set_new(jr, "shared_ledger", json_pack("{s:s,s:s}", "key", key, "entry", entry));
        record_sha = 0;
    }
    char *journal = !shared || json_object_get(jr, "shared_ledger") ? json_dumps(jr, JSON_COMPACT) : NULL;
    if (journal && (!record_sha || entry))
        rc = bd_ledger_journal_put(a->ledger, claim_id, journal, record_sha ? key : NULL, entry, err, sizeof err);
    else
        snprintf(err, sizeof err, "out of memory");
    if (rc < 0)
        log_error("claim %s (%s): %s", claim_id, j->r.file, err);
    free(journal);
    free(entry);
    return rc;
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

int bd_commit_job(bd_agent *a, bd_job *j, const char *claim_id, const char *claim_path)
{
    int was_rejected = 0;
    /* Only files that were processed ok are in the ledger: a rejected file sent
     * again is judged again (it may pass after a config change), and every
     * empty file is "empty", not a duplicate of the first one. */
    int dup = j->r.sha256[0] && strcmp(j->r.status, BD_STATUS_OK) == 0
                  ? check_duplicate(a, j, claim_id, &was_rejected)
                  : 0;
    if (dup < 0) {
        log_error("claim %s: cannot read the ledger", claim_id);
        return -1;
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
        return -1;
    if (ok && j->r.c.id_mappings)
        bd_crashpoint("after-idsync-commit");
    int quarantine = dup ? was_rejected : !ok;
    json_t *jr = build_journal(a, j, claim_id, claim_path, quarantine);
    if (!jr) {
        log_error("claim %s: out of memory building the journal entry", claim_id);
        return -1;
    }
    int rc = journal_intent(a, j, claim_id, jr, ok && j->r.sha256[0]);
    if (rc == 0)
        bd_crashpoint("after-journal");
    if (rc == 0 && replay(a, claim_id, jr, 1) < 0)
        rc = -2;
    json_decref(jr);
    return rc;
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
