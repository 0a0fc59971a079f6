/* host_api.c: plugin callbacks: per-user line cap, ID matching, segment realization, outbox and ID-sync writes. */
#include "config.h"
#include "host_api.h"
#include "helper_thread.h"
#include "fsutil.h"
#include "strutil.h"
#include "log.h"
#include <jansson.h>
#include <stdlib.h>
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bd_job *job_of(bd_host_ctx *ctx)
{
    return (bd_job *)ctx;
}

bd_host_ctx *bd_host_ctx_of(bd_job *j)
{
    return (bd_host_ctx *)j;
}

static void host_stop(bd_job *j, const char *what)
{
    if (errno == ENOMEM)
        j->out_of_memory = 1;
    if (!j->host_stop)
        snprintf(j->host_error, sizeof j->host_error, "%s: %s", what, strerror(errno ? errno : EIO));
    j->host_stop = 1;
}

/* The first max_lines_per_user lines of a user count; later ones are discarded. user_hash: from
 * bd_idcount_prefetch on the record's user ID. */
static int over_user_cap(bd_job *j, const bd_record *rec, uint64_t user_hash)
{
    if (j->partner->max_lines_per_user <= 0)
        return 0;
    uint32_t n = bd_idcount_add_hash(j->per_user, user_hash);
    if (n == 0) {
        host_stop(j, "counting lines per user");
        return -1;
    }
    if (n <= (uint32_t)j->partner->max_lines_per_user)
        return 0;
    char id[80], why[200];
    bd_show_id(id, sizeof id, rec->user_id, rec->user_id_len);
    snprintf(why, sizeof why, "more than %ld lines for user '%s'; line discarded", j->partner->max_lines_per_user,
             id);
    j->r.c.lines_over_user_cap++;
    bd_samples_add(&j->r.samples, BD_SAMPLE_OVER_USER_CAP, rec->line, why);
    return 1;
}

/* The namespace of the record's user ID: its own (ABI 1.1) or the file's. */
static int64_t record_dpid(const bd_job *j, const bd_record *rec)
{
    if (j->plugin && j->plugin->desc->abi_minor >= 1 && rec->struct_size >= offsetof(bd_record, spare) &&
        (rec->flags & BD_RECORD_F_DPID))
        return rec->dpid;
    return j->info.dpid;
}

/* What a record's user needs before its segments can be written. */
enum user_check { USER_COUNTED = 0, USER_RESOLVED, USER_LOOKUP };

/* Partners that send our own IDs (or validation without a store) resolve at once; others need a lookup in the
 * record's DPID. USER_COUNTED: the record was counted as an invalid ID or a format error. */
static enum user_check check_user(bd_job *j, const bd_record *rec, char ours[BD_OURID_LEN + 1], int64_t *dpid)
{
    char id[80], why[200];
    if (j->partner->ids == BD_IDS_OURS || !j->ms) {
        if (j->partner->ids == BD_IDS_OURS && !bd_is_our_id(rec->user_id, rec->user_id_len)) {
            bd_show_id(id, sizeof id, rec->user_id, rec->user_id_len);
            snprintf(why, sizeof why, "ID '%s' is not a 38-digit user ID (partner sends ids = \"ours\")", id);
            j->r.c.invalid_ids++;
            bd_samples_add(&j->r.samples, BD_SAMPLE_INVALID_ID, rec->line, why);
            return USER_COUNTED;
        }
        size_t n = rec->user_id_len < BD_OURID_LEN ? rec->user_id_len : BD_OURID_LEN;
        memcpy(ours, rec->user_id, n); /* validate without a store: show the partner's ID */
        ours[n] = '\0';
        return USER_RESOLVED;
    }
    if ((*dpid = record_dpid(j, rec)) < 0) {
        bd_show_id(id, sizeof id, rec->user_id, rec->user_id_len);
        snprintf(why, sizeof why, "no DPID for ID '%s': the file name names none and the record carries none", id);
        j->r.c.format_errors++;
        bd_samples_add(&j->r.samples, BD_SAMPLE_FORMAT, rec->line, why);
        return USER_COUNTED;
    }
    return USER_LOOKUP;
}

static void note_failed_validation(bd_job *j, uint64_t line, unsigned failed, int64_t first_failed)
{
    char why[200];
    j->r.c.users_failed_validation++;
    if (j->r.samples.n[BD_SAMPLE_FAILED_VALIDATION] >= BD_SAMPLES_PER_KIND)
        return;
    snprintf(why, sizeof why, "trait %lld is not one of partner '%s''s segments (%u on this line)",
             (long long)first_failed, j->partner->name, failed);
    bd_samples_add(&j->r.samples, BD_SAMPLE_FAILED_VALIDATION, line, why);
}

static int store_record(bd_job *j, const char *ours, const bd_segset *added, const bd_segset *removed)
{
    j->r.c.segments_realized += added->n;
    j->r.c.segments_removed += removed->n;
    j->r.c.stored++;
    if (bd_idcount_add(j->users, ours, strlen(ours)) == 0) {
        host_stop(j, "counting users");
        return -1;
    }
    if (j->writer && bd_outbox_write_record(j->writer, ours, added, removed) < 0) {
        host_stop(j, "writing the outbox file");
        return -1;
    }
    return 0;
}

static void add_realize_counts(bd_job *j, uint64_t signals, uint64_t unused, uint64_t failed_segments)
{
    j->r.c.signals += signals;
    j->r.c.unused_signals += unused;
    j->r.c.segments_failed_validation += failed_segments;
}

/* A record whose user resolved to ours: count its realization and write it (or count "No Trait Realized"). */
static int finish_record(bd_job *j, uint64_t line, const char *ours, const bd_segset *added, const bd_segset *removed,
                         unsigned failed, int64_t first_failed)
{
    if (failed)
        note_failed_validation(j, line, failed, first_failed);
    if (added->n == 0 && removed->n == 0) {
        j->r.c.no_segment++;
        return 0;
    }
    return store_record(j, ours, added, removed);
}

static void note_no_match(bd_job *j, uint64_t line, const char *user_id, size_t len, int64_t dpid)
{
    char id[80], why[200];
    j->r.c.no_match++;
    if (j->r.samples.n[BD_SAMPLE_NO_MATCH] >= BD_SAMPLES_PER_KIND) /* formatted only while kept */
        return;
    bd_show_id(id, sizeof id, user_id, len);
    snprintf(why, sizeof why, "no ID-match entry for '%s' in DPID %lld", id, (long long)dpid);
    bd_samples_add(&j->r.samples, BD_SAMPLE_NO_MATCH, line, why);
}

/* Look up the held-back records' users in one batch and finish them in line order. j is the sink of the
 * counters, samples and errors: the job itself, or its lookup half on the helper thread (see hand_over). */
static int lookup_flush(bd_job *j, bd_lookup_batch *b)
{
    int rc = j->host_stop ? -1 : 0;
    if (rc == 0 && b->n && bd_matchreader_lookup_many(j->reader, bd_lookup_batch_keys(b), b->results, b->n) < 0) {
        const char *why = bd_matchreader_error(j->reader);
        errno = EIO;
        if (*why) { /* the store's own words: node, transient or not */
            snprintf(j->host_error, sizeof j->host_error, "%s", why);
            j->host_stop = 1;
        } else
            host_stop(j, "match store lookup");
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < b->n; i++) {
        const bd_pending_record *p = &b->rec[i];
        if (!b->results[i].found) {
            note_no_match(j, p->line, bd_lookup_batch_id(b, i), p->id_len, b->keys[i].dpid);
            continue;
        }
        bd_segset added, removed;
        bd_lookup_batch_segments(b, i, &added, &removed);
        add_realize_counts(j, p->signals, p->unused_signals, p->segments_failed_validation);
        rc = finish_record(j, p->line, b->results[i].ours, &added, &removed, p->failed_validation, p->first_failed);
    }
    bd_lookup_batch_reset(b);
    return rc;
}

/* ---- the lookup half on the helper thread: while it looks up and writes one batch, the plugin fills the next.
 * Its counters and samples (no match, failed validation: kinds only this half adds) are merged at the end. */

static void flush_on_helper(void *arg)
{
    bd_job *j = arg;
    lookup_flush(j->lookup_half, &j->handed);
}

static bd_job *new_lookup_half(const bd_job *j)
{
    bd_job *h = calloc(1, sizeof *h);
    if (h)
        *h = (bd_job){.cfg = j->cfg, .partner = j->partner, .plugins = j->plugins, .ms = j->ms, .path = j->path,
                      .name = j->name, .reader = j->reader, .users = j->users, .writer = j->writer};
    return h;
}

static void merge_samples(bd_samples *to, const bd_samples *from, bd_sample_kind kind)
{
    for (unsigned i = 0; i < from->n[kind] && i < BD_SAMPLES_PER_KIND; i++)
        bd_samples_add(to, kind, from->s[kind][i].line, from->s[kind][i].reason);
}

/* The helper is idle: fold its half into the job. -1 when it had to stop. */
static int merge_lookup_half(bd_job *j)
{
    bd_job *h = j->lookup_half;
    bd_counters_add(&j->r.c, &h->r.c);
    memset(&h->r.c, 0, sizeof h->r.c);
    merge_samples(&j->r.samples, &h->r.samples, BD_SAMPLE_NO_MATCH);
    merge_samples(&j->r.samples, &h->r.samples, BD_SAMPLE_FAILED_VALIDATION);
    memset(&h->r.samples, 0, sizeof h->r.samples);
    if (h->host_stop && !j->host_stop) {
        j->host_stop = 1;
        j->out_of_memory |= h->out_of_memory;
        snprintf(j->host_error, sizeof j->host_error, "%s", h->host_error);
    }
    return j->host_stop ? -1 : 0;
}

/* A full batch: to the helper thread when there is one (after it finished the previous batch), else now. */
static int hand_over(bd_job *j)
{
    if (!bd_helper_available(BD_HELPER_LOOKUPS) || !j->reader)
        return lookup_flush(j, &j->lookups);
    if (!j->lookup_half && !(j->lookup_half = new_lookup_half(j))) {
        errno = ENOMEM;
        host_stop(j, "starting the lookup thread");
        return -1;
    }
    bd_helper_wait(BD_HELPER_LOOKUPS);
    if (j->lookup_half->host_stop)
        return merge_lookup_half(j);
    bd_lookup_batch swap = j->handed; /* emptied by its flush */
    j->handed = j->lookups;
    j->lookups = swap;
    bd_helper_submit(BD_HELPER_LOOKUPS, flush_on_helper, j);
    return 0;
}

int bd_host_flush(bd_job *j)
{
    if (!j->lookup_half)
        return lookup_flush(j, &j->lookups);
    bd_helper_wait(BD_HELPER_LOOKUPS);
    int rc = lookup_flush(j->lookup_half, &j->lookups);
    return merge_lookup_half(j) < 0 || rc < 0 ? -1 : 0;
}

void bd_host_stop_lookups(bd_job *j)
{
    if (!j->lookup_half)
        return;
    bd_helper_wait(BD_HELPER_LOOKUPS);
    free(j->lookup_half);
    j->lookup_half = NULL;
}

/* plugin-test: one JSON object per line on the trace fd; takes the reference. */
static void write_trace(bd_job *j, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (s) {
        bd_write_all(j->trace_fd, s, strlen(s));
        bd_write_all(j->trace_fd, "\n", 1);
    }
    free(s);
    json_decref(o);
}

/* plugin-test: what the plugin emitted, as it emitted it. */
static void trace_record(bd_job *j, const bd_record *rec)
{
    json_t *items = json_array();
    for (size_t i = 0; items && i < rec->nitems; i++) {
        const bd_item *it = &rec->items[i];
        json_t *o = it->kind == BD_ITEM_SIGNAL
                        ? json_pack("{s:s,s:s%,s:s%}", "kind", "signal", "key", it->key, it->key_len, "value",
                                    it->value, it->value_len)
                        : json_pack("{s:s,s:I}", "kind", it->kind == BD_ITEM_ADD ? "add" : "remove", "trait",
                                    (json_int_t)it->trait);
        json_array_append_new(items, o);
    }
    json_t *o = json_pack("{s:I,s:s%,s:I,s:o}", "line", (json_int_t)rec->line, "user_id", rec->user_id,
                          rec->user_id_len, "dpid", (json_int_t)record_dpid(j, rec), "items", items);
    write_trace(j, o);
}

static int host_emit_record(bd_host_ctx *ctx, const bd_record *rec)
{
    bd_job *j = job_of(ctx);
    if (j->trace_fd > 0)
        trace_record(j, rec);
    char ours[BD_OURID_LEN + 1];
    int64_t dpid = -1;
    if (j->host_stop || j->info.kind != BD_FILE_TRAITS)
        return -1;
    /* The segments are realized before the cap is checked: that work overlaps the fetch of the user's counter
     * from memory (a line over the cap, which is rare, wastes it). */
    uint64_t user_hash = j->partner->max_lines_per_user > 0
                             ? bd_idcount_prefetch(j->per_user, rec->user_id, rec->user_id_len) : 0;
    bd_counters deltas = {0};
    if (bd_realize(j->partner, rec->items, rec->nitems, &j->realized, &deltas) < 0) {
        errno = ENOMEM;
        host_stop(j, "realizing segments");
        return -1;
    }
    int rc = over_user_cap(j, rec, user_hash);
    if (rc)
        return rc < 0 ? -1 : 0;
    enum user_check user = check_user(j, rec, ours, &dpid);
    if (user == USER_COUNTED)
        return 0;
    if (user == USER_RESOLVED) {
        add_realize_counts(j, deltas.signals, deltas.unused_signals, deltas.segments_failed_validation);
        return finish_record(j, rec->line, ours, &j->realized.added, &j->realized.removed,
                             j->realized.failed_validation, j->realized.first_failed);
    }
    if (bd_lookup_batch_add(&j->lookups, rec->line, dpid, rec->user_id, rec->user_id_len, &j->realized, &deltas) <
        0) {
        errno = ENOMEM;
        host_stop(j, "holding records for a batched lookup");
        return -1;
    }
    return bd_lookup_batch_full(&j->lookups) ? hand_over(j) : 0;
}

/* What a plugin emits must still fit the store: otherwise it is the row's fault, not ours. */
static int idsync_row_storable(bd_job *j, const bd_idsync_row *row, int64_t to_dpid)
{
    const char *why = NULL;
    for (size_t i = 0; i < row->ncols && !why; i++)
        if (row->col_lens[i] == 0 || row->col_lens[i] > BD_MATCH_MAX_ID)
            why = "an ID is empty or longer than the match table keys (400 bytes)";
    if (!why && to_dpid == 0 && !bd_is_our_id(row->cols[0], row->col_lens[0]))
        why = "column 1 must hold 38-digit user IDs when the master DPID is 0";
    if (!why)
        return 1;
    j->r.c.invalid_ids++;
    bd_samples_add(&j->r.samples, BD_SAMPLE_INVALID_ID, row->line, why);
    return 0;
}

static void trace_idsync(bd_job *j, const bd_idsync_row *row)
{
    json_t *ids = json_array();
    for (size_t i = 0; ids && i < row->ncols; i++)
        json_array_append_new(ids, json_stringn(row->cols[i], row->col_lens[i]));
    json_t *o = json_pack("{s:I,s:o}", "line", (json_int_t)row->line, "ids", ids);
    write_trace(j, o);
}

static int host_emit_idsync(bd_host_ctx *ctx, const bd_idsync_row *row)
{
    bd_job *j = job_of(ctx);
    if (j->trace_fd > 0)
        trace_idsync(j, row);
    if (j->host_stop || j->info.kind != BD_FILE_IDSYNC || row->ncols != (size_t)j->info.ndpids || row->ncols < 2)
        return -1;
    int64_t to_dpid = j->info.dpids[0]; /* master DPID; 0 means column 1 holds our own IDs */
    if (!idsync_row_storable(j, row, to_dpid))
        return 0;
    for (size_t i = 1; i < row->ncols; i++) {
        if (j->batch && bd_matchbatch_put(j->batch, j->info.dpids[i], row->cols[i], row->col_lens[i], to_dpid,
                                          row->cols[0], row->col_lens[0]) < 0) {
            if (errno == ENOSPC) { /* MDB_MAP_FULL: the map, not the disk */
                char what[160];
                snprintf(what, sizeof what, "the match store is full (match_map_size %llu bytes): raise "
                         "match_map_size and restart the agent", (unsigned long long)j->cfg->match_map_size);
                host_stop(j, what);
            } else
                host_stop(j, "writing the match store");
            return -1;
        }
        j->r.c.id_mappings++;
    }
    j->r.c.stored++;
    if (bd_idcount_add(j->users, row->cols[0], row->col_lens[0]) == 0) {
        host_stop(j, "counting users");
        return -1;
    }
    return 0;
}

static void host_line_error(bd_host_ctx *ctx, uint64_t line, int kind, const char *reason)
{
    bd_job *j = job_of(ctx);
    if (kind == BD_ERR_INVALID_ID) {
        j->r.c.invalid_ids++;
        bd_samples_add(&j->r.samples, BD_SAMPLE_INVALID_ID, line, reason);
    } else {
        j->r.c.format_errors++;
        bd_samples_add(&j->r.samples, BD_SAMPLE_FORMAT, line, reason);
    }
}

static void host_log(bd_host_ctx *ctx, int level, const char *fmt, ...)
{
    bd_job *j = job_of(ctx);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bd_log(level, "plugin %s: partner %s: file %s: %s", j->plugin ? j->plugin->desc->name : "?",
           j->partner->name, j->name, msg);
}

static const char *host_option(bd_host_ctx *ctx, const char *key)
{
    return bd_partner_option(job_of(ctx)->partner, key);
}

static const bd_host_api host_table = {
    .struct_size = sizeof(bd_host_api),
    .abi_major = BD_PLUGIN_ABI_MAJOR,
    .abi_minor = BD_PLUGIN_ABI_MINOR,
    .emit_record = host_emit_record,
    .emit_idsync = host_emit_idsync,
    .line_error = host_line_error,
    .log = host_log,
    .option = host_option,
};

const bd_host_api *bd_host_api_table(void)
{
    return &host_table;
}
