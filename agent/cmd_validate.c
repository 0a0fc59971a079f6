/* cmd_validate.c: `batchdrop validate`: a partner's pre-flight: parse files and print receipts, with no side effects. */
#include "config.h"
#include "commands.h"
#include "conf.h"
#include "fsutil.h"
#include "job.h"
#include "strutil.h"
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct validate_opts {
    const char *config, *format, *partner, *plugin_dir;
    int text;
} validate_opts;

static int usage(void)
{
    fprintf(stderr, "usage: batchdrop validate [-c FILE] [--partner NAME] [--format NAME] [--plugin-dir DIR] "
                    "[--text] FILE...\n");
    return 2;
}

static int parse_opts(int argc, char **argv, validate_opts *o)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"partner", required_argument, NULL, 'p'},
                                             {"plugin-dir", required_argument, NULL, 'P'},
                                             {"text", no_argument, NULL, 't'},
                                             {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:f:p:P:t", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'f': o->format = optarg; break;
        case 'p': o->partner = optarg; break;
        case 'P': o->plugin_dir = optarg; break;
        case 't': o->text = 1; break;
        default: return -1;
        }
    }
    return optind < argc ? optind : -1;
}

/* Without a config: the limits of a default agent, and a partner with no rules. */
static bd_config *default_config(const validate_opts *o, bd_partner *p)
{
    bd_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    cfg->plugin_dir = strdup(o->plugin_dir ? o->plugin_dir : getenv("BATCHDROP_PLUGIN_DIR") ? getenv("BATCHDROP_PLUGIN_DIR") : PLUGINDIR);
    cfg->agent_id = strdup("validate");
    bd_config_set_defaults(cfg);
    memset(p, 0, sizeof *p);
    p->name = (char *)"validate";
    p->max_lines_per_user = 200;
    if (!cfg->plugin_dir || !cfg->agent_id) {
        bd_config_free(cfg);
        return NULL;
    }
    return cfg;
}

static const bd_partner *pick_partner(const bd_config *cfg, const validate_opts *o)
{
    if (o->partner)
        return bd_config_partner(cfg, o->partner);
    return cfg->npartners == 1 ? &cfg->partners[0] : NULL;
}

static bd_matchstore *open_store_readonly(const bd_config *cfg)
{
    char dir[PATH_MAX], err[PATH_MAX + 128], data[PATH_MAX];
    if (cfg->match_store == BD_STORE_REDIS) {
        bd_matchstore *ms = bd_matchstore_open_redis(&cfg->redis, 1, err, sizeof err);
        if (!ms || err[0])
            fprintf(stderr, "batchdrop validate: %s%s\n", err, ms ? "" : "; matching is skipped");
        return ms;
    }
    if (bd_fmt(dir, sizeof dir, "%s/match", cfg->state_dir) < 0 ||
        bd_fmt(data, sizeof data, "%s/data.mdb", dir) < 0 || access(data, R_OK) < 0)
        return NULL;
    bd_matchstore *ms = bd_matchstore_open_lmdb(dir, cfg->match_map_size, 1, err, sizeof err);
    if (!ms)
        fprintf(stderr, "batchdrop validate: %s; matching is skipped\n", err);
    return ms;
}

static int validate_file(const bd_config *cfg, const bd_partner *p, const bd_plugins *ps, bd_matchstore *ms,
                         const validate_opts *o, const char *path)
{
    bd_job j = {.cfg = cfg, .partner = p, .plugins = ps, .ms = ms, .force_format = o->format, .path = path,
                .name = bd_basename(path), .dry_run = 1, .truncated_is_final = 1};
    snprintf(j.r.file, sizeof j.r.file, "%s", j.name);
    snprintf(j.r.partner, sizeof j.r.partner, "%s", p->name);
    snprintf(j.r.source, sizeof j.r.source, "%s", path);
    snprintf(j.r.agent, sizeof j.r.agent, "%s", cfg->agent_id);
    bd_job_run(&j);
    bd_job_cleanup(&j, 0);
    char *out = o->text ? bd_receipt_text(&j.r) : bd_receipt_json_pretty(&j.r);
    if (!out) {
        fprintf(stderr, "batchdrop validate: out of memory\n");
        return 1;
    }
    fputs(out, stdout);
    free(out);
    return j.outcome == BD_JOB_OK ? 0 : 1;
}

static bd_config *load_config(const validate_opts *o, bd_partner *dflt, const bd_partner **p)
{
    char *errors = NULL;
    if (!o->config) {
        *p = dflt;
        return default_config(o, dflt);
    }
    bd_config *cfg = bd_config_load(o->config, &errors);
    if (!cfg) {
        fputs(errors ? errors : "out of memory\n", stderr);
        free(errors);
        return NULL;
    }
    if (o->plugin_dir) {
        free(cfg->plugin_dir);
        cfg->plugin_dir = strdup(o->plugin_dir);
    }
    if (!(*p = pick_partner(cfg, o))) {
        fprintf(stderr, "batchdrop validate: name the partner with --partner (the config has %zu)\n",
                cfg->npartners);
        bd_config_free(cfg);
        return NULL;
    }
    return cfg;
}

int bd_cmd_validate(int argc, char **argv)
{
    validate_opts o = {0};
    int first = parse_opts(argc, argv, &o);
    if (first < 0)
        return usage();
    bd_partner dflt;
    const bd_partner *p = NULL;
    bd_config *cfg = load_config(&o, &dflt, &p);
    if (!cfg)
        return 2;
    bd_plugins ps;
    char *errors = NULL;
    if (bd_plugins_load_dir(&ps, cfg->plugin_dir, &errors) < 0) {
        fprintf(stderr, "batchdrop validate: %s", errors ? errors : "cannot load plugins\n");
        free(errors);
        bd_config_free(cfg);
        return 2;
    }
    if (errors)
        fprintf(stderr, "batchdrop validate: plugins refused:\n%s", errors);
    free(errors);
    bd_matchstore *ms = o.config && p->ids == BD_IDS_PARTNER ? open_store_readonly(cfg) : NULL;
    int rc = 0;
    for (int i = first; i < argc; i++)
        rc |= validate_file(cfg, p, &ps, ms, &o, argv[i]);
    bd_matchstore_close(ms);
    bd_plugins_free(&ps);
    if (p == &dflt)
        p = NULL;
    bd_config_free(cfg);
    return rc;
}
