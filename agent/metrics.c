/* metrics.c: the Prometheus text exposition of the agent's counters, for node_exporter's textfile collector. */
#include "config.h"
#include "matchstore_open.h"
#include "daemon.h"
#include "dispatch.h"
#include "pstats.h"
#include "report.h"
#include "sftp.h"
#include "shared_stats.h"
#include "strutil.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct buf {
    char *s;
    size_t n, cap;
    int oom;
} buf;

static void out(buf *b, const char *fmt, ...) BD_PRINTF(2, 3);
static void out(buf *b, const char *fmt, ...)
{
    for (int pass = 0; pass < 2 && !b->oom; pass++) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = 1;
            return;
        }
        if (b->s && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = (b->cap + (size_t)k + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

static void head(buf *b, const char *name, const char *type, const char *help)
{
    out(b, "# HELP batchdrop_%s %s\n# TYPE batchdrop_%s %s\n", name, help, name, type);
}

static const bd_pstat *stat_of(const bd_agent *a, size_t i)
{
    return bd_pstats_find(&a->pstats, a->cfg->partners[i].name);
}

static void files_and_records(buf *b, const bd_agent *a)
{
    head(b, "files_total", "counter", "Files finished, by partner and status (since the agent started).");
    for (size_t i = 0; i < a->cfg->npartners; i++)
        for (int s = 0; s < BD_FS_COUNT; s++)
            out(b, "batchdrop_files_total{partner=\"%s\",status=\"%s\"} %llu\n", a->cfg->partners[i].name,
                bd_file_status_name((bd_file_status)s),
                (unsigned long long)(stat_of(a, i) ? stat_of(a, i)->files[s] : 0));
    head(b, "records_total", "counter", "Records by outcome: received, stored, no_match, invalid, format_error.");
    for (size_t i = 0; i < a->cfg->npartners; i++)
        for (int o = 0; o < BD_RO_COUNT; o++)
            out(b, "batchdrop_records_total{partner=\"%s\",outcome=\"%s\"} %llu\n", a->cfg->partners[i].name,
                bd_record_outcome_name((bd_record_outcome)o),
                (unsigned long long)(stat_of(a, i) ? stat_of(a, i)->records[o] : 0));
    head(b, "bytes_in_total", "counter", "Bytes of partner files finished (as dropped, before decompression).");
    for (size_t i = 0; i < a->cfg->npartners; i++)
        out(b, "batchdrop_bytes_in_total{partner=\"%s\"} %llu\n", a->cfg->partners[i].name,
            (unsigned long long)(stat_of(a, i) ? stat_of(a, i)->bytes_in : 0));
}

static void plugin_faults(buf *b, const bd_agent *a)
{
    head(b, "plugin_failures_total", "counter",
         "Workers that crashed, timed out (plugin_timeout), ran out of memory (plugin_memory_limit) or were killed "
         "from outside (SIGKILL: retried).");
    static const char *const kinds[] = {"crash", "timeout", "memory", "killed"};
    for (size_t i = 0; i < a->cfg->npartners; i++) {
        const bd_pstat *ps = stat_of(a, i);
        uint64_t v[4] = {ps ? ps->plugin_crashes : 0, ps ? ps->plugin_timeouts : 0,
                         ps ? ps->plugin_out_of_memory : 0, ps ? ps->workers_killed : 0};
        for (int k = 0; k < 4; k++)
            out(b, "batchdrop_plugin_failures_total{partner=\"%s\",kind=\"%s\"} %llu\n", a->cfg->partners[i].name,
                kinds[k], (unsigned long long)v[k]);
    }
}

static void live(buf *b, const bd_agent *a)
{
    bd_partner_live *l = calloc(a->cfg->npartners + 1, sizeof *l);
    if (!l) {
        b->oom = 1;
        return;
    }
    for (size_t i = 0; i < a->cfg->npartners; i++)
        bd_report_live(a, a->cfg->partners[i].name, &l[i]);
    head(b, "backlog_files", "gauge", "Files waiting in the partner's inboxes (local, and remote listed).");
    for (size_t i = 0; i < a->cfg->npartners; i++)
        out(b, "batchdrop_backlog_files{partner=\"%s\"} %llu\n", a->cfg->partners[i].name,
            (unsigned long long)l[i].backlog);
    head(b, "oldest_waiting_seconds", "gauge", "Age of the oldest waiting file (0 when none waits).");
    for (size_t i = 0; i < a->cfg->npartners; i++)
        out(b, "batchdrop_oldest_waiting_seconds{partner=\"%s\"} %.3f\n", a->cfg->partners[i].name,
            l[i].oldest_waiting);
    head(b, "in_flight_files", "gauge", "Files being processed by a worker now.");
    for (size_t i = 0; i < a->cfg->npartners; i++)
        out(b, "batchdrop_in_flight_files{partner=\"%s\"} %llu\n", a->cfg->partners[i].name,
            (unsigned long long)l[i].in_flight);
    head(b, "sftp_errors_total", "counter", "SFTP errors of the partner's fetcher and pusher, by class.");
    for (size_t i = 0; i < a->cfg->npartners; i++) {
        if (!a->cfg->partners[i].remote && !a->cfg->partners[i].remote_outbox)
            continue;
        for (int c = BD_SFTP_NOT_FOUND; c < BD_SFTP_CLASSES; c++)
            out(b, "batchdrop_sftp_errors_total{partner=\"%s\",class=\"%s\"} %llu\n", a->cfg->partners[i].name,
                bd_sftp_class_name((bd_sftp_class)c), (unsigned long long)l[i].sftp_errors[c]);
    }
    free(l);
}

static void success_and_mail(buf *b, const bd_agent *a)
{
    head(b, "last_success_timestamp_seconds", "gauge", "When the partner's last ok file finished (0: none since start).");
    for (size_t i = 0; i < a->cfg->npartners; i++)
        out(b, "batchdrop_last_success_timestamp_seconds{partner=\"%s\"} %.3f\n", a->cfg->partners[i].name,
            stat_of(a, i) ? (double)stat_of(a, i)->last_success_ms / 1000 : 0.0);
    head(b, "receipt_mails_total", "counter", "Receipt mails handed to sendmail, by result.");
    for (size_t i = 0; i < a->cfg->npartners; i++) {
        const bd_pstat *ps = stat_of(a, i);
        out(b, "batchdrop_receipt_mails_total{partner=\"%s\",result=\"sent\"} %llu\n", a->cfg->partners[i].name,
            (unsigned long long)(ps ? ps->mails_sent : 0));
        out(b, "batchdrop_receipt_mails_total{partner=\"%s\",result=\"failed\"} %llu\n", a->cfg->partners[i].name,
            (unsigned long long)(ps ? ps->mail_failures : 0));
    }
}

static void agent_wide(buf *b, const bd_agent *a)
{
    uint64_t entries = 0;
    char path[4096];
    struct stat st;
    head(b, "match_store_entries", "gauge", "Entries in the ID-match table (redis: keys of the whole database).");
    int counted = a->ms && bd_matchstore_count(a->ms, &entries) == 0;
    if (counted)
        out(b, "batchdrop_match_store_entries %llu\n", (unsigned long long)entries);
    head(b, "match_store_up", "gauge", "0 while the match store (or the shared ledger) fails: files are retried.");
    out(b, "batchdrop_match_store_up %d\n", a->ms && counted && !a->store_down);
    head(b, "match_store_bytes", "gauge", "Disk space used by the ID-match table's file.");
    if (bd_match_path(a->cfg, "data.mdb", path, sizeof path) == 0 && stat(path, &st) == 0)
        out(b, "batchdrop_match_store_bytes %llu\n", (unsigned long long)st.st_blocks * 512ULL);
    head(b, "low_disk", "gauge", "1 while the outbox or state file system is below min_free_space (no new claims).");
    out(b, "batchdrop_low_disk %d\n", a->disk.low);
    head(b, "free_bytes", "gauge", "Bytes available to the agent on the outbox and state_dir file systems.");
    out(b, "batchdrop_free_bytes{dir=\"outbox\"} %llu\n", (unsigned long long)a->disk.outbox_free);
    out(b, "batchdrop_free_bytes{dir=\"state_dir\"} %llu\n", (unsigned long long)a->disk.state_free);
    head(b, "workers_busy", "gauge", "Worker processes busy now.");
    out(b, "batchdrop_workers_busy %d\n", bd_dispatch_active(a));
    head(b, "workers_max", "gauge", "The workers setting.");
    out(b, "batchdrop_workers_max %d\n", a->cfg->workers);
    head(b, "config_reloads_total", "counter", "SIGHUP reloads, by result.");
    out(b, "batchdrop_config_reloads_total{result=\"ok\"} %llu\n", (unsigned long long)a->reloads_ok);
    out(b, "batchdrop_config_reloads_total{result=\"failed\"} %llu\n", (unsigned long long)a->reloads_failed);
    head(b, "start_time_seconds", "gauge", "When the agent started (seconds since the epoch).");
    out(b, "batchdrop_start_time_seconds %.3f\n", (double)a->started_ms / 1000);
    head(b, "info", "gauge", "The agent's version and ID (always 1).");
    out(b, "batchdrop_info{version=\"%s\",agent_id=\"%s\"} 1\n", PACKAGE_VERSION, a->cfg->agent_id);
}

char *bd_metrics_text(const bd_agent *a)
{
    buf b = {0};
    files_and_records(&b, a);
    plugin_faults(&b, a);
    live(&b, a);
    success_and_mail(&b, a);
    agent_wide(&b, a);
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
