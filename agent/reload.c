/* reload.c: SIGHUP: load and fully validate the configuration again, then swap it in; files in flight finish under the old one. */
#include "config.h"
#include "commit.h"
#include "daemon.h"
#include "dispatch.h"
#include "log.h"
#include "mailer.h"
#include "notify.h"
#include "shared_stats.h"
#include "strutil.h"
#include "watch.h"
#include "worker.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Settings that only a restart can change; "" when none changed. */
static const char *restart_only_change(const bd_config *old, const bd_config *cfg)
{
    if (!same_str(old->state_dir, cfg->state_dir))
        return "state_dir";
    if (!same_str(old->agent_id, cfg->agent_id))
        return "agent_id";
    if (!same_str(old->user, cfg->user))
        return "user";
    if (old->match_map_size != cfg->match_map_size)
        return "match_map_size";
    return bd_config_store_change(old, cfg);
}

static void refuse(bd_agent *a, const char *fmt, ...) BD_PRINTF(2, 3);
static void refuse(bd_agent *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->reload_message, sizeof a->reload_message, fmt, ap);
    va_end(ap);
    a->reload_failed = 1;
    a->reloads_failed++;
    log_error("reload refused: %s; keeping the running configuration (fix it, check it with `batchdrop check -c %s`, "
              "then reload again)", a->reload_message, a->cfg->path);
}

static void free_candidate(bd_agent *c)
{
    for (size_t i = 0; i < c->ninboxes; i++)
        bd_inbox_free(&c->inboxes[i]);
    free(c->inboxes);
    bd_plugins_free(&c->plugins);
    bd_config_free(c->cfg);
}

/* First line of the loader's "FILE:LINE: message" list, and how many there are. */
static void summarize_errors(char *out, size_t len, const char *errors)
{
    size_t n = 0;
    for (const char *p = errors; p && *p; p++)
        n += *p == '\n';
    const char *nl = errors ? strchr(errors, '\n') : NULL;
    snprintf(out, len, "%.*s%s", nl ? (int)(nl - errors) : 300, errors ? errors : "out of memory",
             n > 1 ? " (and more errors)" : "");
}

/* Load and validate everything into `c`; on failure it is freed and the reason given. */
static int build_candidate(bd_agent *a, bd_agent *c)
{
    char *errors = NULL;
    memset(c, 0, sizeof *c);
    c->sigfd = -1;
    bd_config *cfg = bd_config_load(a->cfg->path, &errors);
    if (!cfg) {
        char why[400];
        summarize_errors(why, sizeof why, errors);
        for (char *line = errors ? strtok(errors, "\n") : NULL; line; line = strtok(NULL, "\n"))
            log_error("%s", line);
        free(errors);
        refuse(a, "the configuration has errors: %s", why);
        return -1;
    }
    const char *changed = restart_only_change(a->cfg, cfg);
    if (*changed) {
        bd_config_free(cfg);
        refuse(a, "'%s' changed, and only a restart can change it (systemctl restart batchdrop)", changed);
        return -1;
    }
    bd_log_clear_last_error();
    if (bd_agent_open_config(c, cfg) < 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", *bd_log_last_error() ? bd_log_last_error() : "opening it failed");
        free_candidate(c);
        refuse(a, "%s", why);
        return -1;
    }
    return 0;
}

/* Keep the running configuration for its files in flight. */
static int retire_current(bd_agent *a)
{
    bd_generation *g = calloc(1, sizeof *g);
    if (!g)
        return -1;
    *g = (bd_generation){.cfg = a->cfg, .plugins = a->plugins, .inboxes = a->inboxes, .ninboxes = a->ninboxes,
                         .next = a->retired};
    a->retired = g;
    bd_dispatch_retarget_plugins(a, g->cfg, &g->plugins);
    return 0;
}

static void drop_unused_watches(bd_agent *a, const bd_generation *old)
{
    for (size_t i = 0; a->watch && i < old->ninboxes; i++) {
        int wd = old->inboxes[i].wd, used = 0;
        for (size_t k = 0; k < a->ninboxes && wd >= 0; k++)
            used |= a->inboxes[k].wd == wd;
        if (wd >= 0 && !used)
            bd_watch_rm(a->watch, wd);
    }
}

static void swap_in(bd_agent *a, bd_agent *c)
{
    bd_children_stop(&a->children); /* they hold the old partners; restarted below */
    bd_children_free(&a->children);
    a->cfg = c->cfg;
    bd_worker_drop_spare(); /* forked with the old configuration and plugins */
    a->plugins = c->plugins;
    a->inboxes = c->inboxes;
    a->ninboxes = c->ninboxes;
    bd_log_set_level(a->cfg->log_level);
    for (size_t i = 0; i < a->cfg->npartners; i++)
        bd_shared_stats_register(a->cfg->partners[i].name);
    if (bd_dispatch_resize(a, a->cfg->workers) < 0)
        log_error("out of memory growing the worker pool to %d; keeping %d", a->cfg->workers, a->npool);
    if (bd_children_init(&a->children, a->cfg) < 0)
        log_error("out of memory: the SFTP fetchers and pushers are not restarted");
    if (a->watch) {
        bd_agent_add_watches(a);
        drop_unused_watches(a, a->retired);
        bd_children_spawn(&a->children, a->cfg);
    }
    bd_agent_scan_all(a);
    bd_mailer_kick(a->mailer);
}

void bd_agent_reload(bd_agent *a)
{
    bd_agent c;
    int coalesced = a->reload_pending;
    a->reload_pending = 0;
    a->reload_ms = bd_now_ms();
    bd_notify_reloading();
    log_info("SIGHUP%s: reloading %s", coalesced > 1 ? " (several, coalesced)" : "", a->cfg->path);
    bd_commit_tail_flush(a); /* its receipts log and folders are the running configuration's */
    int ok = build_candidate(a, &c) == 0;
    if (ok && retire_current(a) < 0) {
        free_candidate(&c);
        refuse(a, "out of memory");
        ok = 0;
    }
    if (!ok) {
        bd_notify_ready("running the previous configuration: the reload was refused");
        a->report_dirty = 1;
        return;
    }
    swap_in(a, &c);
    a->reload_failed = 0;
    a->reloads_ok++;
    snprintf(a->reload_message, sizeof a->reload_message, "%zu partners, %zu plugins", a->cfg->npartners,
             a->plugins.n);
    log_info("configuration reloaded from %s: %zu partners, %zu inboxes, %zu plugins; %d files in flight finish "
             "under the previous one", a->cfg->path, a->cfg->npartners, a->ninboxes, a->plugins.n,
             bd_dispatch_active(a));
    bd_agent_release_retired(a, 0);
    bd_notify_ready("running; configuration reloaded");
    a->report_dirty = 1;
}

void bd_agent_release_retired(bd_agent *a, int all)
{
    for (bd_generation **gp = &a->retired; *gp;) {
        bd_generation *g = *gp;
        if (!all && bd_dispatch_uses_config(a, g->cfg)) {
            gp = &g->next;
            continue;
        }
        *gp = g->next;
        for (size_t i = 0; i < g->ninboxes; i++)
            bd_inbox_free(&g->inboxes[i]);
        free(g->inboxes);
        bd_plugins_free(&g->plugins);
        bd_config_free(g->cfg);
        free(g);
    }
}
