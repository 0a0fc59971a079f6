/* cmd_status.c: `batchdrop status [-c FILE] [--json]`: what the running agent reports in its status file. */
#include "config.h"
#include "commands.h"
#include "conf.h"
#include "strutil.h"
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STALE_AFTER_MS 60000 /* the agent rewrites the file at least every 10 s */

enum { STATUS_RUNNING = 0, STATUS_USAGE = 2, STATUS_NOT_RUNNING = 3, STATUS_UNKNOWN = 4 };

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "-";
}

static json_int_t num(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static void print_age(double s)
{
    if (s < 120)
        printf("%7.0f s", s);
    else if (s < 7200)
        printf("%5.0f min", s / 60);
    else
        printf("%7.1f h", s / 3600);
}

static void print_partner(const json_t *p)
{
    const json_t *last = json_object_get(p, "last_receipt");
    printf("%-20s %-5s %8lld %9lld  ", str(p, "name"), str(p, "source"), (long long)num(p, "backlog"),
           (long long)num(p, "in_flight"));
    double oldest = json_number_value(json_object_get(p, "oldest_waiting_seconds"));
    if (oldest > 0)
        print_age(oldest);
    else
        printf("%9s", "-");
    if (json_is_object(last))
        printf("  %s %s %s\n", str(last, "time"), str(last, "status"), str(last, "file"));
    else
        printf("  (none since start)\n");
    const json_t *errs = json_object_get(p, "recent_errors");
    size_t i;
    const json_t *e;
    json_array_foreach(errs, i, e)
        printf("    error %s: %s\n", str(e, "time"), str(e, "message"));
}

static int agent_alive(const json_t *root, int64_t age_ms)
{
    pid_t pid = (pid_t)num(root, "pid");
    if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
        return 0;
    return age_ms < STALE_AFTER_MS;
}

static void print_human(const json_t *root, int alive, int64_t age_ms)
{
    const json_t *rl = json_object_get(root, "reload"), *w = json_object_get(root, "workers");
    printf("batchdrop %s, agent %s, pid %lld: %s\n", str(root, "version"), str(root, "agent_id"),
           (long long)num(root, "pid"), alive ? "running" : "NOT RUNNING (or not updating its status file)");
    printf("config %s, started %s, status updated %.0f s ago\n", str(root, "config"), str(root, "started"),
           (double)age_ms / 1000);
    if (json_is_string(json_object_get(rl, "last")))
        printf("last reload %s: %s (%s)\n", str(rl, "last"), json_is_true(json_object_get(rl, "ok")) ? "ok" : "REFUSED",
               str(rl, "message"));
    printf("workers: %lld of %lld busy\n", (long long)num(w, "busy"), (long long)num(w, "max"));
    const json_t *store = json_object_get(root, "match_store");
    if (store && !json_is_true(json_object_get(store, "ok")))
        printf("MATCH STORE (%s) FAILING since %s: %s; files are retried\n", str(store, "type"),
               str(store, "error_time"), str(store, "error"));
    const json_t *disk = json_object_get(root, "low_disk");
    if (json_is_true(json_object_get(disk, "low")))
        printf("LOW DISK: %s below min_free_space (%lld MB): not claiming new files\n", str(disk, "which"),
               (long long)(num(disk, "min_free_space") >> 20));
    printf("\n");
    printf("%-20s %-5s %8s %9s  %9s  %s\n", "PARTNER", "FROM", "BACKLOG", "IN FLIGHT", "OLDEST", "LAST RECEIPT");
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(root, "partners"), i, p)
        print_partner(p);
}

static void status_usage(FILE *f)
{
    fprintf(f, "usage: batchdrop status [-c FILE] [--json]\n");
}

int bd_cmd_status(int argc, char **argv)
{
    const char *config = BD_DEFAULT_CONFIG;
    int as_json = 0;
    if (bd_parse_config_opts(argc, argv, &config, "json", &as_json, status_usage) < 0)
        return STATUS_USAGE;
    char *errors = NULL;
    bd_config *cfg = bd_config_load(config, &errors);
    if (!cfg) {
        fprintf(stderr, "%sbatchdrop status: the configuration has errors; `batchdrop check -c %s` lists them\n",
                errors ? errors : "", config);
        free(errors);
        return STATUS_USAGE;
    }
    json_error_t jerr;
    json_t *root = json_load_file(cfg->status_file, 0, &jerr);
    if (!root) {
        fprintf(stderr, "batchdrop status: cannot read %s: %s\n(is `batchdrop run` started with this configuration?)\n",
                cfg->status_file, jerr.text);
        bd_config_free(cfg);
        return STATUS_UNKNOWN;
    }
    int64_t age_ms = bd_now_ms() - (int64_t)num(root, "updated_ms");
    int alive = agent_alive(root, age_ms);
    if (as_json) {
        json_object_set_new(root, "running", json_boolean(alive));
        json_object_set_new(root, "age_seconds", json_real((double)age_ms / 1000));
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
    } else
        print_human(root, alive, age_ms);
    json_decref(root);
    bd_config_free(cfg);
    return alive ? STATUS_RUNNING : STATUS_NOT_RUNNING;
}
