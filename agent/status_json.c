/* status_json.c: the status file the running agent keeps (JSON), read by `batchdrop status`. */
#include "config.h"
#include "daemon.h"
#include "dispatch.h"
#include "pstats.h"
#include "report.h"
#include "shared_stats.h"
#include "sftp.h"
#include "strutil.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *time_or_null(int64_t ms)
{
    char t[40];
    if (ms <= 0)
        return json_null();
    bd_format_iso8601(t, sizeof t, ms);
    return json_string(t);
}

static json_t *files_json(const bd_pstat *ps)
{
    json_t *o = json_object();
    for (int s = 0; o && s < BD_FS_COUNT; s++)
        json_object_set_new(o, bd_file_status_name((bd_file_status)s), json_integer(ps ? (json_int_t)ps->files[s] : 0));
    return o;
}

static json_t *last_receipt_json(const bd_pstat *ps)
{
    if (!ps || !ps->last_receipt_ms)
        return json_null();
    return json_pack("{s:s, s:s, s:o, s:s}", "file", ps->last_file, "status", ps->last_status, "time",
                     time_or_null(ps->last_receipt_ms), "reason", ps->last_reason);
}

static void add_error(json_t *arr, int64_t ms, const char *msg)
{
    json_t *e = json_pack("{s:o, s:s}", "time", time_or_null(ms), "message", msg);
    if (e)
        json_array_append_new(arr, e);
}

/* Newest first: the supervisor's ring, then the SFTP children's last error. */
static json_t *errors_json(const bd_pstat *ps, const char *partner)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    uint64_t n = ps ? ps->nerrors : 0;
    for (uint64_t k = 0; k < n && k < BD_RECENT_ERRORS; k++) {
        const bd_recent_error *e = &ps->errors[(n - 1 - k) % BD_RECENT_ERRORS];
        add_error(arr, e->ms, e->msg);
    }
    const bd_shared_partner *sp = bd_shared_stats_find(partner);
    char msg[sizeof sp->last_error];
    int64_t ms = sp ? bd_shared_last_error(sp, msg, sizeof msg) : 0;
    if (ms > 0)
        add_error(arr, ms, msg);
    return arr;
}

static json_t *partner_json(const bd_agent *a, const bd_partner *p)
{
    bd_partner_live l;
    bd_report_live(a, p->name, &l);
    const bd_pstat *ps = bd_pstats_find(&a->pstats, p->name);
    json_t *sftp = json_object();
    for (int c = BD_SFTP_NOT_FOUND; sftp && c < BD_SFTP_CLASSES; c++)
        if (l.sftp_errors[c])
            json_object_set_new(sftp, bd_sftp_class_name((bd_sftp_class)c), json_integer((json_int_t)l.sftp_errors[c]));
    return json_pack("{s:s, s:s, s:I, s:I, s:f, s:o, s:o, s:o, s:o, s:o}", "name", p->name,
                     "source", p->inbox ? "local" : "sftp", "backlog", (json_int_t)l.backlog, "in_flight",
                     (json_int_t)l.in_flight, "oldest_waiting_seconds", l.oldest_waiting, "files", files_json(ps),
                     "last_receipt", last_receipt_json(ps), "last_success", time_or_null(ps ? ps->last_success_ms : 0),
                     "sftp_errors", sftp ? sftp : json_object(), "recent_errors", errors_json(ps, p->name));
}

static json_t *reload_json(const bd_agent *a)
{
    return json_pack("{s:o, s:b, s:s, s:I, s:I}", "last", time_or_null(a->reload_ms), "ok", !a->reload_failed,
                     "message", a->reload_message, "succeeded", (json_int_t)a->reloads_ok, "failed",
                     (json_int_t)a->reloads_failed);
}

static json_t *disk_json(const bd_agent *a)
{
    return json_pack("{s:b, s:s?, s:I, s:I, s:I}", "low", a->disk.low, "which", a->disk.low ? a->disk.which : NULL,
                     "outbox_free_bytes", (json_int_t)a->disk.outbox_free, "state_free_bytes",
                     (json_int_t)a->disk.state_free, "min_free_space", (json_int_t)a->cfg->min_free_space);
}

/* The LMDB store's lookup index: off, building, fresh (matches the store) or stale (older, or missing). */
static const char *index_state(const bd_agent *a)
{
    if (!a->cfg->match_index || a->cfg->match_store != BD_STORE_LMDB || !a->ms)
        return "off";
    if (a->index_pid > 0)
        return "building";
    return bd_matchstore_index_fresh(a->ms) == 1 ? "fresh" : "stale";
}

static json_t *store_json(const bd_agent *a)
{
    return json_pack("{s:s, s:b, s:s?, s:o, s:s}", "type", a->cfg->match_store == BD_STORE_REDIS ? "redis" : "lmdb",
                     "ok", !a->store_down, "error", a->store_down ? a->store_error : NULL, "error_time",
                     a->store_down ? time_or_null(a->store_error_ms) : json_null(), "lookup_index", index_state(a));
}

char *bd_status_json(const bd_agent *a)
{
    json_t *parts = json_array();
    for (size_t i = 0; parts && i < a->cfg->npartners; i++) {
        json_t *p = partner_json(a, &a->cfg->partners[i]);
        if (p)
            json_array_append_new(parts, p);
    }
    json_t *root = json_pack("{s:i, s:s, s:I, s:s, s:s, s:o, s:o, s:I, s:o, s:{s:i, s:i}, s:o, s:o}", "format", 1,
                             "version", PACKAGE_VERSION, "pid", (json_int_t)getpid(), "agent_id", a->cfg->agent_id,
                             "config", a->cfg->path, "started", time_or_null(a->started_ms), "updated",
                             time_or_null(bd_now_ms()), "updated_ms", (json_int_t)bd_now_ms(), "reload",
                             reload_json(a), "workers", "max", a->cfg->workers, "busy", bd_dispatch_active(a),
                             "low_disk", disk_json(a), "partners", parts ? parts : json_array());
    if (root)
        json_object_set_new(root, "match_store", store_json(a));
    if (!root)
        return NULL;
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    char *withnl = realloc(text, n + 2);
    if (!withnl) {
        free(text);
        return NULL;
    }
    withnl[n] = '\n';
    withnl[n + 1] = '\0';
    return withnl;
}
