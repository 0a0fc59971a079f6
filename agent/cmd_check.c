/* cmd_check.c: `batchdrop check`: validate the config, its folders and its plugins, printing FILE:LINE errors. */
#include "config.h"
#include "commands.h"
#include "conf.h"
#include "fsutil.h"
#include "host_api.h"
#include "plugin_loader.h"
#include "strutil.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A folder the agent writes: it exists and is writable, or its nearest existing parent is. */
static int check_writable_dir(const char *where, const char *key, const char *dir)
{
    char probe[PATH_MAX], err[PATH_MAX + 128];
    if (bd_strlcpy(probe, dir, sizeof probe) < 0)
        return -1;
    while (access(probe, F_OK) < 0) {
        char *slash = strrchr(probe, '/');
        if (!slash || slash == probe)
            break;
        *slash = '\0';
    }
    if (bd_dir_writable(probe, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s %s: %s\n", where, key, dir, err);
        return -1;
    }
    return 0;
}

static int check_inbox(const bd_partner *p)
{
    char err[PATH_MAX + 128];
    if (bd_dir_writable(p->inbox, err, sizeof err) < 0) {
        fprintf(stderr, "%s: partner '%s': inbox %s (create it, and let the agent write to it: claims are "
                        "renames inside it)\n", p->source, p->name, err);
        return -1;
    }
    return 0;
}

/* Let the partner's plugin validate its format_options, as open() would with a real file:
 * an incremental trait file, a full one, or an ID-sync file (a plugin may take only some). */
static int try_open(const bd_config *cfg, const bd_partner *p, const bd_loaded_plugin *lp, int kind, int mode,
                    char *err, size_t errlen)
{
    bd_job j = {.cfg = cfg, .partner = p, .name = "", .plugin = lp};
    bd_file_info info = {.struct_size = sizeof info, .kind = kind, .mode = mode, .split = BD_NO_VALUE,
                         .dpid = kind == BD_FILE_IDSYNC ? 0 : BD_NO_VALUE, .target = BD_NO_VALUE,
                         .timestamp = BD_NO_VALUE, .ndpids = kind == BD_FILE_IDSYNC ? 2 : 0};
    info.dpids[1] = 1;
    void *state = NULL;
    if (lp->desc->open(bd_host_api_table(), bd_host_ctx_of(&j), &info, &state, err, errlen) < 0)
        return -1;
    lp->desc->close(state);
    return 0;
}

static int check_options(const bd_config *cfg, const bd_partner *p, const bd_loaded_plugin *lp)
{
    static const int tries[][2] = {{BD_FILE_TRAITS, BD_MODE_SYNC}, {BD_FILE_TRAITS, BD_MODE_OVERWRITE},
                                   {BD_FILE_IDSYNC, BD_MODE_SYNC}};
    char err[512] = "", first[512] = "";
    if (!p->options_source)
        return 0;
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        if (try_open(cfg, p, lp, tries[i][0], tries[i][1], err, sizeof err) == 0)
            return 0;
        if (!first[0])
            snprintf(first, sizeof first, "%s", err[0] ? err : "refused");
    }
    fprintf(stderr, "%s: partner '%s': format_options for plugin %s: %s\n", p->options_source, p->name,
            lp->desc->name, first);
    return -1;
}

static int check_plugins(const bd_config *cfg, size_t *nplugins)
{
    bd_plugins ps;
    char *errors = NULL;
    int rc = bd_plugins_load_dir(&ps, cfg->plugin_dir, &errors) < 0 ? -1 : 0;
    if (errors) {
        for (char *line = strtok(errors, "\n"); line; line = strtok(NULL, "\n"))
            fprintf(stderr, "%s:0: plugin_dir: %s\n", cfg->path, line);
        free(errors);
        rc = -1;
    }
    for (size_t i = 0; i < cfg->npartners; i++) {
        const bd_partner *p = &cfg->partners[i];
        const bd_loaded_plugin *lp = p->format ? bd_plugins_find(&ps, p->format) : NULL;
        if (p->format && !lp) {
            fprintf(stderr, "%s: partner '%s': format \"%s\" is not a plugin in %s\n", p->source, p->name,
                    p->format, cfg->plugin_dir);
            rc = -1;
        } else if (lp && check_options(cfg, p, lp) < 0)
            rc = -1;
    }
    *nplugins = ps.n;
    bd_plugins_free(&ps);
    return rc;
}

int bd_cmd_check(const char *config_path, int connect)
{
    char *errors = NULL;
    bd_config *cfg = bd_config_load(config_path, &errors);
    if (!cfg) {
        fputs(errors ? errors : "out of memory\n", stderr);
        free(errors);
        return 1;
    }
    int rc = 0;
    char where[PATH_MAX + 8];
    snprintf(where, sizeof where, "%s:0", cfg->path);
    rc |= check_writable_dir(where, "state_dir", cfg->state_dir);
    rc |= check_writable_dir(where, "outbox", cfg->outbox);
    char receipts_dir[PATH_MAX];
    if (bd_dirname(receipts_dir, sizeof receipts_dir, cfg->receipts) == 0)
        rc |= check_writable_dir(where, "receipts", receipts_dir);
    if (access(cfg->receipts, F_OK) == 0 && access(cfg->receipts, W_OK) < 0) {
        fprintf(stderr, "%s: receipts %s: not writable by this user: %s\n", where, cfg->receipts, strerror(errno));
        rc = -1;
    }
    for (size_t i = 0; i < cfg->npartners; i++) {
        const bd_partner *p = &cfg->partners[i];
        if (p->inbox)
            rc |= check_inbox(p);
        if (p->remote)
            rc |= bd_check_remote(p->remote, "remote", p->name, connect);
        if (p->remote_outbox)
            rc |= bd_check_remote(p->remote_outbox, "remote_outbox", p->name, connect);
    }
    rc |= bd_check_match_store(cfg, connect);
    size_t nplugins = 0;
    rc |= check_plugins(cfg, &nplugins);
    if (rc == 0)
        printf("%s: OK: %zu partner%s, %zu plugin%s\n", cfg->path, cfg->npartners, cfg->npartners == 1 ? "" : "s",
               nplugins, nplugins == 1 ? "" : "s");
    bd_config_free(cfg);
    return rc ? 1 : 0;
}
