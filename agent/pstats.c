/* pstats.c: per-partner totals (files by status, records by outcome, bytes, plugin faults) and recent errors. */
#include "config.h"
#include "pstats.h"
#include "job.h"
#include "strutil.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const file_status_names[BD_FS_COUNT] = {"ok", "rejected", "failed", "duplicate", "incomplete",
                                                           "retry"};
static const char *const record_outcome_names[BD_RO_COUNT] = {"received", "stored", "no_match", "invalid",
                                                              "format_error"};

const char *bd_file_status_name(bd_file_status st)
{
    return st < BD_FS_COUNT ? file_status_names[st] : "unknown";
}

const char *bd_record_outcome_name(bd_record_outcome o)
{
    return o < BD_RO_COUNT ? record_outcome_names[o] : "unknown";
}

const bd_pstat *bd_pstats_find(const bd_pstats *ps, const char *partner)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->v[i].name, partner) == 0)
            return &ps->v[i];
    return NULL;
}

bd_pstat *bd_pstats_get(bd_pstats *ps, const char *partner)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->v[i].name, partner) == 0)
            return &ps->v[i];
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? 2 * ps->cap : 16;
        bd_pstat *v = realloc(ps->v, cap * sizeof *v);
        if (!v)
            return NULL;
        ps->v = v;
        ps->cap = cap;
    }
    bd_pstat *p = &ps->v[ps->n++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", partner);
    return p;
}

void bd_pstats_free(bd_pstats *ps)
{
    free(ps->v);
    memset(ps, 0, sizeof *ps);
}

static bd_file_status status_of(const char *status)
{
    if (strcmp(status, BD_STATUS_OK) == 0)
        return BD_FS_OK;
    if (strcmp(status, BD_STATUS_DUPLICATE) == 0)
        return BD_FS_DUPLICATE;
    if (strcmp(status, BD_STATUS_FAILED) == 0)
        return BD_FS_FAILED;
    return BD_FS_REJECTED;
}

static void count_fault(bd_pstat *p, bd_worker_fault fault)
{
    if (fault == BD_FAULT_CRASH)
        p->plugin_crashes++;
    else if (fault == BD_FAULT_TIMEOUT)
        p->plugin_timeouts++;
    else if (fault == BD_FAULT_MEMORY)
        p->plugin_out_of_memory++;
    else if (fault == BD_FAULT_KILLED)
        p->workers_killed++;
}

void bd_pstats_fault(bd_pstats *ps, const char *partner, int fault)
{
    bd_pstat *p = bd_pstats_get(ps, partner);
    if (p)
        count_fault(p, (bd_worker_fault)fault);
}

void bd_pstats_outcome(bd_pstats *ps, const bd_job *j)
{
    bd_pstat *p = bd_pstats_get(ps, j->r.partner);
    if (!p)
        return;
    bd_file_status st = status_of(j->r.status);
    const bd_counters *c = &j->r.c;
    p->files[st]++;
    p->records[BD_RO_RECEIVED] += c->records_received;
    p->records[BD_RO_STORED] += c->stored;
    p->records[BD_RO_NO_MATCH] += c->no_match;
    p->records[BD_RO_INVALID] += c->invalid_ids;
    p->records[BD_RO_FORMAT_ERROR] += c->format_errors;
    p->bytes_in += j->r.bytes;
    if (j->fault != BD_FAULT_KILLED) /* counted when it happened (bd_pstats_fault) */
        count_fault(p, j->fault);
    p->last_receipt_ms = bd_now_ms();
    snprintf(p->last_file, sizeof p->last_file, "%s", j->r.file);
    snprintf(p->last_status, sizeof p->last_status, "%s", j->r.status);
    snprintf(p->last_reason, sizeof p->last_reason, "%.*s", (int)sizeof p->last_reason - 1, j->r.reason);
    if (st == BD_FS_OK)
        p->last_success_ms = p->last_receipt_ms;
    else if (st != BD_FS_DUPLICATE)
        bd_pstats_error(ps, j->r.partner, "%s: %s: %s", j->r.file, j->r.status, j->r.reason);
}

void bd_pstats_file(bd_pstats *ps, const char *partner, bd_file_status st)
{
    bd_pstat *p = bd_pstats_get(ps, partner);
    if (p && st < BD_FS_COUNT)
        p->files[st]++;
}

void bd_pstats_error(bd_pstats *ps, const char *partner, const char *fmt, ...)
{
    bd_pstat *p = bd_pstats_get(ps, partner);
    if (!p)
        return;
    bd_recent_error *e = &p->errors[p->nerrors++ % BD_RECENT_ERRORS];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->ms = bd_now_ms();
}
