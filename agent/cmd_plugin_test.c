/* cmd_plugin_test.c: `batchdrop plugin-test PLUGIN.so FILE...`: run a plugin through the real worker and show what it emits. */
#include "config.h"
#include "commands.h"
#include "conf.h"
#include "fsutil.h"
#include "job.h"
#include "plugin_loader.h"
#include "strutil.h"
#include "worker.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPTIONS 32

static int usage(void)
{
    fprintf(stderr, "usage: batchdrop plugin-test [--option KEY=VALUE]... [--timeout SECONDS] PLUGIN.so FILE...\n");
    return 2;
}

typedef struct test_opts {
    bd_option options[MAX_OPTIONS];
    size_t noptions;
    double timeout;
} test_opts;

static int add_option(test_opts *o, char *kv)
{
    char *eq = strchr(kv, '=');
    if (!eq || eq == kv || o->noptions == MAX_OPTIONS)
        return -1;
    *eq = '\0';
    o->options[o->noptions++] = (bd_option){kv, eq + 1};
    return 0;
}

static int parse_opts(int argc, char **argv, test_opts *o)
{
    static const struct option longopts[] = {{"option", required_argument, NULL, 'o'},
                                             {"timeout", required_argument, NULL, 't'},
                                             {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:t:", longopts, NULL)) != -1) {
        if (c == 'o' && add_option(o, optarg) == 0)
            continue;
        if (c == 't' && (o->timeout = strtod(optarg, NULL)) > 0)
            continue;
        return -1;
    }
    return argc - optind >= 2 ? optind : -1;
}

static int test_file(const bd_config *cfg, const bd_partner *p, const bd_plugins *ps, const char *path)
{
    bd_job j = {.cfg = cfg, .partner = p, .plugins = ps, .force_format = ps->v[0].desc->name, .path = path,
                .name = bd_basename(path), .dry_run = 1, .truncated_is_final = 1, .trace_fd = 1};
    snprintf(j.r.file, sizeof j.r.file, "%s", j.name);
    snprintf(j.r.partner, sizeof j.r.partner, "%s", p->name);
    snprintf(j.r.source, sizeof j.r.source, "%s", path);
    snprintf(j.r.agent, sizeof j.r.agent, "plugin-test");
    snprintf(j.r.id, sizeof j.r.id, "plugin-test");
    printf("# %s\n", path);
    fflush(stdout);
    bd_worker_run(cfg, &j); /* the same sandboxed worker the daemon uses */
    bd_worker_release(&j);
    char *out = bd_receipt_json_line(&j.r);
    if (out)
        fputs(out, stdout);
    free(out);
    fflush(stdout);
    return j.outcome == BD_JOB_OK ? 0 : 1;
}

int bd_cmd_plugin_test(int argc, char **argv)
{
    test_opts o = {.timeout = 60};
    int first = parse_opts(argc, argv, &o);
    if (first < 0)
        return usage();
    bd_loaded_plugin lp;
    char err[1024];
    if (bd_plugin_load_file(&lp, argv[first], err, sizeof err) < 0) {
        fprintf(stderr, "batchdrop plugin-test: %s\n", err);
        return 2;
    }
    bd_plugins ps = {.v = &lp, .n = 1};
    bd_config cfg = {.agent_id = (char *)"plugin-test", .outbox = (char *)"/nonexistent",
                     .state_dir = (char *)"/nonexistent"};
    bd_config_set_defaults(&cfg);
    cfg.plugin_timeout = o.timeout;
    bd_partner p = {.name = (char *)"plugin-test", .options = o.options, .noptions = o.noptions,
                    .max_lines_per_user = 200};
    int rc = 0;
    for (int i = first + 1; i < argc; i++)
        rc |= test_file(&cfg, &p, &ps, argv[i]);
    free(lp.path);
    return rc;
}
