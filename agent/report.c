/* report.c: keep the status file, the metrics file and systemd's STATUS= line current from the agent's state. */
#include "config.h"
#include "report.h"
#include "daemon.h"
#include "dispatch.h"
#include "fsutil.h"
#include "log.h"
#include "notify.h"
#include "shared_stats.h"
#include "strutil.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATUS_MIN_GAP 1.0  /* seconds between two status writes when things change */
#define STATUS_MAX_GAP 10.0 /* ages in the status file go stale: rewrite at least this often */

static double age_of(const struct timespec *t, double now_wall)
{
    double age = now_wall - ((double)t->tv_sec + (double)t->tv_nsec / 1e9);
    return age < 0 ? 0 : age;
}

void bd_report_live(const bd_agent *a, const char *partner, bd_partner_live *out)
{
    memset(out, 0, sizeof *out);
    double now = (double)bd_now_ms() / 1000;
    for (size_t i = 0; i < a->ninboxes; i++) {
        const bd_inbox *in = &a->inboxes[i];
        if (in->remote || strcmp(in->partner->name, partner) != 0)
            continue;
        for (size_t k = 0; k < in->n; k++) {
            if (in->c[k].ignored)
                continue;
            out->backlog++;
            double age = age_of(&in->c[k].mtime, now);
            if (age > out->oldest_waiting)
                out->oldest_waiting = age;
        }
    }
    out->in_flight = (uint64_t)bd_dispatch_partner_active(a, partner);
    const bd_shared_partner *sp = bd_shared_stats_find(partner);
    if (!sp)
        return;
    out->backlog += __atomic_load_n(&sp->remote_backlog, __ATOMIC_RELAXED);
    int64_t oldest = __atomic_load_n(&sp->remote_oldest_mtime, __ATOMIC_RELAXED);
    if (oldest > 0 && now - (double)oldest > out->oldest_waiting)
        out->oldest_waiting = now - (double)oldest;
    for (int c = 0; c < BD_SFTP_CLASSES && c < 8; c++)
        out->sftp_errors[c] = __atomic_load_n(&sp->sftp_errors[c], __ATOMIC_RELAXED);
}

static void write_report_file(const char *path, const char *text, mode_t mode, const char *what, int *failing)
{
    if (!text)
        return;
    if (bd_write_file_atomic(path, text, strlen(text), mode) < 0) {
        if (!*failing)
            log_error("cannot write the %s %s: %s; check the folder's owner and permissions", what, path,
                      strerror(errno));
        *failing = 1;
    } else if (*failing) {
        log_info("the %s %s is written again", what, path);
        *failing = 0;
    }
}

static void notify_status(const bd_agent *a)
{
    uint64_t backlog = 0, flight = 0;
    for (size_t i = 0; i < a->cfg->npartners; i++) {
        bd_partner_live l;
        bd_report_live(a, a->cfg->partners[i].name, &l);
        backlog += l.backlog;
        flight += l.in_flight;
    }
    char s[256];
    snprintf(s, sizeof s, "%zu partners; backlog %llu files, %llu in flight; %llu ok, %llu rejected since start",
             a->cfg->npartners, (unsigned long long)backlog, (unsigned long long)flight,
             (unsigned long long)a->stats.ok, (unsigned long long)(a->stats.rejected));
    bd_notify_status(s);
}

void bd_report_tick(bd_agent *a, int changed)
{
    double now = bd_monotonic();
    a->report_dirty |= changed;
    if ((a->report_dirty && now - a->status_written >= STATUS_MIN_GAP) || now - a->status_written >= STATUS_MAX_GAP) {
        char *json = bd_status_json(a);
        write_report_file(a->cfg->status_file, json, 0640, "status file", &a->status_failing);
        free(json);
        notify_status(a);
        a->status_written = now;
        a->report_dirty = 0;
    }
    if (a->cfg->metrics_file && now - a->metrics_written >= a->cfg->metrics_interval) {
        char *text = bd_metrics_text(a);
        write_report_file(a->cfg->metrics_file, text, 0644, "metrics file", &a->metrics_failing);
        free(text);
        a->metrics_written = now;
    }
}

double bd_report_next(const bd_agent *a)
{
    double now = bd_monotonic();
    double next = a->status_written + (a->report_dirty ? STATUS_MIN_GAP : STATUS_MAX_GAP) - now;
    if (a->cfg->metrics_file) {
        double m = a->metrics_written + a->cfg->metrics_interval - now;
        if (m < next)
            next = m;
    }
    return next < 0 ? 0 : next;
}
