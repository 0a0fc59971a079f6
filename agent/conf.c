/* conf.c: load batchdrop.conf with libconfig, reject unknown keys and bad values with FILE:LINE errors. */
#include "config.h"
#include "conf.h"
#include "conf_loader.h"
#include "log.h"
#include "strutil.h"
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>



static const char *const global_keys[] = {"state_dir", "outbox", "receipts", "plugin_dir", "agent_id", "keep_archive",
                                          "outbox_compress", "outbox_zstd_level", "scan_interval",
                                          "incomplete_timeout", "retry_interval", "max_file_size",
                                          "max_decoded_size", "max_line_length", "match_map_size", "match_index",
                                          "match_index_interval", "match_index_min_entries", "match_store",
                                          "match_ttl_days", "log_level",
                                          "workers", "batch_files", "plugin_timeout", "plugin_memory_limit", "user",
                                          "status_file", "min_free_space", "metrics_file", "metrics_interval", "sendmail",
                                          "partners", NULL};
static const char *const partner_keys[] = {"name", "inbox", "settle", "format", "format_options", "ids",
                                           "segments", "rules", "max_lines_per_user", "remote", "remote_outbox",
                                           "remote_receipts", "receipt_mail", NULL};
static const char *const rule_keys[] = {"key", "value", "segment", NULL};

__attribute__((format(printf, 3, 4))) void cf_error(loader *ld, const config_setting_t *s,
                                                            const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file = s && config_setting_source_file(s) ? config_setting_source_file(s) : ld->path;
    int line = s ? (int)config_setting_source_line(s) : 0;
    char entry[1400];
    int n = snprintf(entry, sizeof entry, "%s:%d: %s\n", file, line, msg);
    if (n < 0)
        return;
    char *grown = realloc(ld->errors, ld->errlen + (size_t)n + 1);
    if (!grown)
        return;
    memcpy(grown + ld->errlen, entry, (size_t)n + 1);
    ld->errors = grown;
    ld->errlen += (size_t)n;
    ld->nerrors++;
}

static int key_known(const char *name, const char *const *keys)
{
    for (; *keys; keys++)
        if (strcmp(name, *keys) == 0)
            return 1;
    return 0;
}

/* Edit distance of two short keys, to suggest the one an admin meant. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];
    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

static const char *closest_key(const char *name, const char *const *keys)
{
    const char *best = NULL;
    size_t best_d = 3; /* suggest only near misses */
    for (; *keys; keys++) {
        size_t d = edit_distance(name, *keys);
        if (d < best_d) {
            best = *keys;
            best_d = d;
        }
    }
    return best;
}

void cf_unknown_keys(loader *ld, const config_setting_t *group, const char *const *keys,
                               const char *where)
{
    int n = config_setting_length(group);
    for (int i = 0; i < n; i++) {
        config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);
        if (!name || key_known(name, keys))
            continue;
        const char *near = closest_key(name, keys);
        char hint[96];
        if (near)
            snprintf(hint, sizeof hint, "did you mean '%s'?", near);
        else
            snprintf(hint, sizeof hint, "see batchdrop.conf(5)");
        cf_error(ld, s, "unknown setting '%s'%s%s (%s)", name, where ? " in " : "", where ? where : "", hint);
    }
}

static char *resolve_path(loader *ld, const char *value)
{
    if (value[0] == '/')
        return strdup(value);
    size_t n = strlen(ld->dir) + strlen(value) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", ld->dir, value);
    return p;
}

/* Read an optional string; *out stays as is when absent. Returns -1 on a type error. */
int cf_string(loader *ld, const config_setting_t *group, const char *key, const char **out)
{
    config_setting_t *s = config_setting_get_member(group, key);
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        cf_error(ld, s, "'%s' must be a string (in double quotes)", key);
        return -1;
    }
    *out = config_setting_get_string(s);
    return 0;
}

int cf_path(loader *ld, const config_setting_t *group, const char *key, char **out, const char *dflt)
{
    const char *v = dflt;
    if (cf_string(ld, group, key, &v) < 0)
        return -1;
    if (!v) {
        *out = NULL;
        return 0;
    }
    if (!*v) {
        cf_error(ld, config_setting_get_member(group, key), "'%s' must not be empty", key);
        return -1;
    }
    *out = resolve_path(ld, v);
    return *out ? 0 : -1;
}

int cf_number(loader *ld, const config_setting_t *group, const char *key, double *out, double min,
                      double max)
{
    config_setting_t *s = config_setting_get_member(group, key);
    if (!s)
        return 0;
    int t = config_setting_type(s);
    double v;
    if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
        v = (double)config_setting_get_int64(s);
    else if (t == CONFIG_TYPE_FLOAT)
        v = config_setting_get_float(s);
    else {
        cf_error(ld, s, "'%s' must be a number", key);
        return -1;
    }
    if (v < min || v > max) {
        cf_error(ld, s, "'%s' = %g is out of range [%g, %g]", key, v, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int cf_bool(loader *ld, const config_setting_t *group, const char *key, int *out)
{
    config_setting_t *s = config_setting_get_member(group, key);
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
        cf_error(ld, s, "'%s' must be true or false", key);
        return -1;
    }
    *out = config_setting_get_bool(s);
    return 0;
}

/* Parse "123", "64K", "3G" (binary multiples) into bytes. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1; /* strtoull would accept "-1" as a huge number */
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    uint64_t mult = 1;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': mult = 1ULL << 10; end++; break;
    case 'm': case 'M': mult = 1ULL << 20; end++; break;
    case 'g': case 'G': mult = 1ULL << 30; end++; break;
    case 't': case 'T': mult = 1ULL << 40; end++; break;
    default: return -1;
    }
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || (v && mult > UINT64_MAX / v))
        return -1;
    *out = v * mult;
    return 0;
}

static int get_size(loader *ld, const config_setting_t *group, const char *key, uint64_t *out)
{
    config_setting_t *s = config_setting_get_member(group, key);
    if (!s)
        return 0;
    int t = config_setting_type(s);
    if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
        long long v = config_setting_get_int64(s);
        if (v <= 0) {
            cf_error(ld, s, "'%s' must be positive", key);
            return -1;
        }
        *out = (uint64_t)v;
        return 0;
    }
    if (t == CONFIG_TYPE_STRING && parse_size(config_setting_get_string(s), out) == 0 && *out > 0)
        return 0;
    cf_error(ld, s, "'%s' must be a size such as 1048576, \"512M\" or \"3G\"", key);
    return -1;
}

/* A size where 0 means "off" (min_free_space). */
static int get_size_or_zero(loader *ld, const config_setting_t *group, const char *key, uint64_t *out)
{
    config_setting_t *s = config_setting_get_member(group, key);
    const char *str = s && config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;
    if (s && ((config_setting_type(s) == CONFIG_TYPE_INT && config_setting_get_int(s) == 0) ||
              (str && strcmp(str, "0") == 0))) {
        *out = 0;
        return 0;
    }
    return get_size(ld, group, key, out);
}

static int load_options(loader *ld, const config_setting_t *group, bd_partner *p)
{
    if (!config_setting_is_group(group)) {
        cf_error(ld, group, "'format_options' must be a group: format_options = { key = \"value\"; }");
        return -1;
    }
    int n = config_setting_length(group);
    char src[PATH_MAX + 32];
    snprintf(src, sizeof src, "%s:%d",
             config_setting_source_file(group) ? config_setting_source_file(group) : ld->path,
             (int)config_setting_source_line(group));
    p->options = calloc((size_t)n + 1, sizeof *p->options);
    if (!p->options || !(p->options_source = strdup(src)))
        return -1;
    for (int i = 0; i < n; i++) {
        config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        char buf[64];
        const char *v = buf;
        switch (config_setting_type(s)) {
        case CONFIG_TYPE_STRING: v = config_setting_get_string(s); break;
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64: snprintf(buf, sizeof buf, "%lld", config_setting_get_int64(s)); break;
        case CONFIG_TYPE_FLOAT: snprintf(buf, sizeof buf, "%g", config_setting_get_float(s)); break;
        case CONFIG_TYPE_BOOL: v = config_setting_get_bool(s) ? "true" : "false"; break;
        default: cf_error(ld, s, "format option '%s' must be a scalar", config_setting_name(s)); return -1;
        }
        p->options[p->noptions].key = strdup(config_setting_name(s));
        p->options[p->noptions].value = strdup(v);
        if (!p->options[p->noptions].key || !p->options[p->noptions].value)
            return -1;
        p->noptions++;
    }
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int load_segments(loader *ld, const config_setting_t *arr, bd_partner *p)
{
    if (!config_setting_is_array(arr) && !config_setting_is_list(arr)) {
        cf_error(ld, arr, "'segments' must be an array of segment IDs: segments = [ 24, 26 ]");
        return -1;
    }
    int n = config_setting_length(arr);
    p->segments = calloc((size_t)n + 1, sizeof *p->segments);
    if (!p->segments)
        return -1;
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(arr, (unsigned)i);
        int t = config_setting_type(e);
        if ((t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) || config_setting_get_int64(e) < 0) {
            cf_error(ld, e, "segment IDs must be non-negative integers");
            return -1;
        }
        p->segments[p->nsegments++] = config_setting_get_int64(e);
    }
    qsort(p->segments, p->nsegments, sizeof *p->segments, cmp_i64);
    return 0;
}

static int get_segment_id(loader *ld, const config_setting_t *r, long long *seg)
{
    config_setting_t *s = config_setting_get_member(r, "segment");
    if (!s)
        return 0;
    int t = config_setting_type(s);
    if ((t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) || config_setting_get_int64(s) < 0) {
        cf_error(ld, s, "'segment' must be a non-negative integer");
        return -1;
    }
    *seg = config_setting_get_int64(s);
    return 0;
}

static int load_rule(loader *ld, const config_setting_t *r, bd_rule *rule)
{
    const char *key = NULL, *value = NULL;
    long long seg = -1;
    if (!config_setting_is_group(r)) {
        cf_error(ld, r, "each rule must be a group: { key = \"product\"; value = \"tablet\"; segment = 123; }");
        return -1;
    }
    cf_unknown_keys(ld, r, rule_keys, "a rule");
    if (cf_string(ld, r, "key", &key) < 0 || cf_string(ld, r, "value", &value) < 0 ||
        get_segment_id(ld, r, &seg) < 0)
        return -1;
    if (!key || !*key || !value || seg < 0) {
        cf_error(ld, r, "a rule needs 'key', 'value' and 'segment'");
        return -1;
    }
    rule->key = strdup(key);
    rule->value = strdup(value);
    rule->segment = (int64_t)seg;
    return rule->key && rule->value ? 0 : -1;
}

static int load_rules(loader *ld, const config_setting_t *list, bd_partner *p)
{
    if (!config_setting_is_list(list)) {
        cf_error(ld, list, "'rules' must be a list: rules = ( { key = ...; value = ...; segment = ...; } )");
        return -1;
    }
    int n = config_setting_length(list);
    p->rules = calloc((size_t)n + 1, sizeof *p->rules);
    if (!p->rules)
        return -1;
    for (int i = 0; i < n; i++) {
        if (load_rule(ld, config_setting_get_elem(list, (unsigned)i), &p->rules[i]) < 0)
            return -1;
        p->nrules++;
    }
    return 0;
}

static int load_ids_mode(loader *ld, const config_setting_t *ps, bd_partner *p)
{
    const char *ids = NULL;
    if (cf_string(ld, ps, "ids", &ids) < 0)
        return -1;
    if (!ids || strcmp(ids, "partner") == 0)
        p->ids = BD_IDS_PARTNER;
    else if (strcmp(ids, "ours") == 0)
        p->ids = BD_IDS_OURS;
    else {
        cf_error(ld, config_setting_get_member(ps, "ids"), "'ids' must be \"partner\" or \"ours\", not \"%s\"",
                  ids);
        return -1;
    }
    return 0;
}

static int load_partner_lists(loader *ld, const config_setting_t *ps, bd_partner *p)
{
    config_setting_t *s;
    if ((s = config_setting_get_member(ps, "format_options")) && load_options(ld, s, p) < 0)
        return -1;
    if ((s = config_setting_get_member(ps, "segments")) && load_segments(ld, s, p) < 0)
        return -1;
    if ((s = config_setting_get_member(ps, "rules")) && load_rules(ld, s, p) < 0)
        return -1;
    return 0;
}

static int load_partner(loader *ld, const config_setting_t *ps, bd_partner *p)
{
    char where[160];
    const char *name = NULL, *format = NULL;
    double settle = 10, cap = 200;
    if (!config_setting_is_group(ps)) {
        cf_error(ld, ps, "each partner must be a group: { name = \"acme\"; inbox = \"...\"; }");
        return -1;
    }
    if (cf_string(ld, ps, "name", &name) < 0)
        return -1;
    if (!name || !bd_valid_partner_name(name)) {
        cf_error(ld, ps, "partner 'name' is required and must match [A-Za-z0-9_-]+ (it names the outbox folder)");
        return -1;
    }
    snprintf(where, sizeof where, "partner '%s'", name);
    cf_unknown_keys(ld, ps, partner_keys, where);
    char src[PATH_MAX + 32];
    snprintf(src, sizeof src, "%s:%d", config_setting_source_file(ps) ? config_setting_source_file(ps) : ld->path,
             (int)config_setting_source_line(ps));
    p->name = strdup(name);
    p->source = strdup(src);
    if (!p->name || !p->source || cf_path(ld, ps, "inbox", &p->inbox, NULL) < 0 ||
        cf_number(ld, ps, "settle", &settle, 0, 86400) < 0 ||
        cf_number(ld, ps, "max_lines_per_user", &cap, 0, 1e9) < 0 || cf_string(ld, ps, "format", &format) < 0 ||
        load_ids_mode(ld, ps, p) < 0 || load_partner_lists(ld, ps, p) < 0 || cf_load_remotes(ld, ps, p) < 0 ||
        cf_bool(ld, ps, "remote_receipts", &p->remote_receipts) < 0 || cf_load_receipt_mail(ld, ps, p) < 0)
        return -1;
    if (!p->inbox && !p->remote) {
        cf_error(ld, ps, "partner '%s' has neither an 'inbox' (a local folder) nor a 'remote' (an SFTP folder)",
                 name);
        return -1;
    }
    if (p->remote_receipts && !p->remote_outbox) {
        cf_error(ld, config_setting_get_member(ps, "remote_receipts"),
                 "'remote_receipts' needs a 'remote_outbox' to push the receipts to");
        return -1;
    }
    p->settle = settle;
    p->max_lines_per_user = (long)cap;
    if (format && !(p->format = strdup(format)))
        return -1;
    return 0;
}

static int same_remote_folder(const bd_remote *a, const bd_remote *b)
{
    return a && b && a->port == b->port && strcasecmp(a->host, b->host) == 0 && strcmp(a->path, b->path) == 0;
}

static void check_partner_clashes(loader *ld, const config_setting_t *list, const bd_config *cfg)
{
    for (size_t i = 0; i < cfg->npartners; i++)
        for (size_t j = 0; j < i; j++) {
            const config_setting_t *s = config_setting_get_elem(list, (unsigned)i);
            if (strcmp(cfg->partners[i].name, cfg->partners[j].name) == 0)
                cf_error(ld, s, "partner name '%s' is used twice (first at %s)", cfg->partners[i].name,
                          cfg->partners[j].source);
            else if (same_remote_folder(cfg->partners[i].remote, cfg->partners[j].remote))
                cf_error(ld, s, "partner '%s' watches the same remote folder as partner '%s': %s:%d%s",
                         cfg->partners[i].name, cfg->partners[j].name, cfg->partners[i].remote->host,
                         cfg->partners[i].remote->port, cfg->partners[i].remote->path);
            else if (cfg->partners[i].inbox && cfg->partners[j].inbox &&
                     strcmp(cfg->partners[i].inbox, cfg->partners[j].inbox) == 0)
                cf_error(ld, s, "partner '%s' uses the same inbox as partner '%s': %s", cfg->partners[i].name,
                          cfg->partners[j].name, cfg->partners[i].inbox);
        }
}

static int load_partners(loader *ld, const config_setting_t *root, bd_config *cfg)
{
    config_setting_t *list = config_setting_get_member(root, "partners");
    if (!list)
        return 0; /* an idle agent is a valid configuration */
    if (!config_setting_is_list(list)) {
        cf_error(ld, list, "'partners' must be a list: partners = ( { name = ...; }, ... )");
        return -1;
    }
    int n = config_setting_length(list);
    cfg->partners = calloc((size_t)n + 1, sizeof *cfg->partners);
    if (!cfg->partners)
        return -1;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (load_partner(ld, config_setting_get_elem(list, (unsigned)i), &cfg->partners[cfg->npartners]) < 0)
            rc = -1;
        cfg->npartners++;
    }
    if (rc == 0)
        check_partner_clashes(ld, list, cfg);
    return rc;
}

static int load_compress(loader *ld, const config_setting_t *root, bd_config *cfg)
{
    const char *c = NULL;
    if (cf_string(ld, root, "outbox_compress", &c) < 0)
        return -1;
    if (!c || strcmp(c, "none") == 0)
        cfg->outbox_compress = BD_OUT_PLAIN;
    else if (strcmp(c, "zstd") == 0)
        cfg->outbox_compress = BD_OUT_ZSTD;
    else {
        cf_error(ld, config_setting_get_member(root, "outbox_compress"),
                  "'outbox_compress' must be \"none\" or \"zstd\", not \"%s\"", c);
        return -1;
    }
    return 0;
}

static int load_log_level(loader *ld, const config_setting_t *root, bd_config *cfg)
{
    const char *lvl = NULL;
    if (cf_string(ld, root, "log_level", &lvl) < 0)
        return -1;
    cfg->log_level = lvl ? bd_log_level_from_name(lvl) : BD_LOG_INFO;
    if (cfg->log_level < 0) {
        cf_error(ld, config_setting_get_member(root, "log_level"),
                  "'log_level' must be \"error\", \"warning\", \"info\" or \"debug\"");
        return -1;
    }
    return 0;
}

static int default_agent_id(bd_config *cfg)
{
    char host[256];
    if (gethostname(host, sizeof host) < 0)
        snprintf(host, sizeof host, "agent");
    host[sizeof host - 1] = '\0';
    for (char *c = host; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-'))
            *c = '_';
    cfg->agent_id = strdup(host);
    return cfg->agent_id ? 0 : -1;
}

static double default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (double)n;
}

static int load_scalars(loader *ld, const config_setting_t *root, bd_config *cfg)
{
    double lvl = 3, scan = 30, incomplete = 3600, retry = 60, linemax = 102400, workers = default_workers(),
           ptimeout = 600, index_interval = 60, index_min = 1000000, batch = BD_BATCH_MAX;
    const char *user = NULL;
    int rc = 0;
    const char *agent = NULL;
    rc |= cf_path(ld, root, "state_dir", &cfg->state_dir, LOCALSTATEDIR "/lib/batchdrop");
    rc |= cf_path(ld, root, "outbox", &cfg->outbox, LOCALSTATEDIR "/spool/batchdrop/outbox");
    rc |= cf_path(ld, root, "receipts", &cfg->receipts, LOCALSTATEDIR "/log/batchdrop/receipts.jsonl");
    rc |= cf_path(ld, root, "plugin_dir", &cfg->plugin_dir, PLUGINDIR);
    rc |= cf_bool(ld, root, "keep_archive", &cfg->keep_archive);
    rc |= load_compress(ld, root, cfg);
    rc |= cf_number(ld, root, "outbox_zstd_level", &lvl, 1, 19);
    rc |= cf_number(ld, root, "scan_interval", &scan, 0.1, 86400);
    rc |= cf_number(ld, root, "incomplete_timeout", &incomplete, 0, 30 * 86400);
    rc |= cf_number(ld, root, "retry_interval", &retry, 0.1, 86400);
    rc |= cf_number(ld, root, "max_line_length", &linemax, 64, 64 << 20);
    rc |= cf_number(ld, root, "workers", &workers, 1, 256);
    rc |= cf_number(ld, root, "batch_files", &batch, 1, BD_BATCH_MAX);
    rc |= cf_number(ld, root, "plugin_timeout", &ptimeout, 1, 86400);
    rc |= get_size(ld, root, "plugin_memory_limit", &cfg->plugin_memory_limit);
    rc |= cf_string(ld, root, "user", &user);
    rc |= get_size(ld, root, "max_file_size", &cfg->max_file_size);
    rc |= get_size(ld, root, "max_decoded_size", &cfg->max_decoded_size);
    rc |= get_size(ld, root, "match_map_size", &cfg->match_map_size);
    rc |= cf_bool(ld, root, "match_index", &cfg->match_index);
    rc |= cf_number(ld, root, "match_index_interval", &index_interval, 1, 86400);
    rc |= cf_number(ld, root, "match_index_min_entries", &index_min, 0, 1e12);
    rc |= get_size_or_zero(ld, root, "min_free_space", &cfg->min_free_space);
    rc |= load_log_level(ld, root, cfg);
    rc |= cf_string(ld, root, "agent_id", &agent);
    if (agent && !bd_valid_partner_name(agent)) {
        cf_error(ld, config_setting_get_member(root, "agent_id"), "'agent_id' must match [A-Za-z0-9_-]+");
        rc = -1;
    }
    cfg->outbox_zstd_level = (int)lvl;
    cfg->scan_interval = scan;
    cfg->match_index_interval = index_interval;
    cfg->match_index_min_entries = (uint64_t)index_min;
    cfg->incomplete_timeout = incomplete;
    cfg->retry_interval = retry;
    cfg->max_line_length = (size_t)linemax;
    cfg->workers = (int)workers;
    cfg->batch_files = (int)batch;
    cfg->plugin_timeout = ptimeout;
    if (rc == 0 && user && *user && !(cfg->user = strdup(user)))
        return -1;
    if (rc == 0 && agent && !(cfg->agent_id = strdup(agent)))
        return -1;
    if (rc == 0 && !agent && default_agent_id(cfg) < 0)
        return -1;
    return rc ? -1 : 0;
}

void bd_config_set_defaults(bd_config *cfg)
{
    cfg->keep_archive = 1;
    cfg->match_index = 1;
    cfg->max_line_length = 102400;       /* spec: longer lines are dropped */
    cfg->plugin_timeout = 600;
    cfg->workers = 1;
    cfg->batch_files = BD_BATCH_MAX;
    cfg->max_file_size = 3ULL << 30;     /* spec: 3 GB compressed */
    cfg->max_decoded_size = 5ULL << 30;  /* spec: 5 GB uncompressed */
    cfg->match_map_size = 64ULL << 30;   /* LMDB map: virtual, the file grows as needed */
    cfg->plugin_memory_limit = 4ULL << 30;
    cfg->min_free_space = 100ULL << 20; /* room for the commit's small writes and the receipts */
}

static int make_dir_of(loader *ld, const char *path)
{
    char real[PATH_MAX];
    if (!realpath(path, real))
        return -1;
    char *slash = strrchr(real, '/');
    if (slash == real)
        slash[1] = '\0';
    else
        *slash = '\0';
    ld->dir = strdup(real);
    return ld->dir ? 0 : -1;
}

static int read_config_file(loader *ld, config_t *lc)
{
    config_init(lc);
    config_set_include_dir(lc, ld->dir); /* @include resolves like other relative paths */
    if (config_read_file(lc, ld->path) == CONFIG_TRUE)
        return 0;
    char msg[PATH_MAX + 256];
    if (config_error_type(lc) == CONFIG_ERR_FILE_IO)
        snprintf(msg, sizeof msg, "%s:0: cannot read the file: %s\n", ld->path, strerror(errno));
    else
        snprintf(msg, sizeof msg, "%s:%d: %s\n",
                 config_error_file(lc) ? config_error_file(lc) : ld->path, config_error_line(lc),
                 config_error_text(lc));
    ld->errors = strdup(msg);
    return -1;
}

bd_config *bd_config_load(const char *path, char **errors)
{
    loader ld = {.path = path};
    config_t lc;
    bd_config *cfg = calloc(1, sizeof *cfg);
    *errors = NULL;
    if (!cfg || make_dir_of(&ld, path) < 0) {
        if (!cfg || !(*errors = malloc(PATH_MAX + 64)) ||
            snprintf(*errors, PATH_MAX + 64, "%s:0: cannot read the file: %s\n", path, strerror(errno)) < 0) {
        }
        free(cfg);
        free(ld.dir);
        return NULL;
    }
    bd_config_set_defaults(cfg);
    int rc = read_config_file(&ld, &lc);
    if (rc == 0) {
        config_setting_t *root = config_root_setting(&lc);
        cf_unknown_keys(&ld, root, global_keys, NULL);
        rc |= load_scalars(&ld, root, cfg);
        rc |= cf_load_ops(&ld, root, cfg);
        rc |= cf_load_match_store(&ld, root, cfg);
        rc |= load_partners(&ld, root, cfg);
        cfg->path = realpath(path, NULL);
    }
    config_destroy(&lc);
    free(ld.dir);
    if (rc < 0 || ld.nerrors > 0 || !cfg->path) {
        if (!ld.errors)
            ld.errors = strdup("out of memory while loading the configuration\n");
        *errors = ld.errors;
        bd_config_free(cfg);
        return NULL;
    }
    return cfg;
}

static void free_partner(bd_partner *p)
{
    cf_free_remote(p->remote);
    cf_free_remote(p->remote_outbox);
    cf_free_mail(p->receipt_mail);
    free(p->name);
    free(p->inbox);
    free(p->format);
    free(p->source);
    for (size_t i = 0; i < p->noptions; i++) {
        free(p->options[i].key);
        free(p->options[i].value);
    }
    free(p->options);
    free(p->options_source);
    free(p->segments);
    for (size_t i = 0; i < p->nrules; i++) {
        free(p->rules[i].key);
        free(p->rules[i].value);
    }
    free(p->rules);
}

void bd_config_free(bd_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->npartners; i++)
        free_partner(&cfg->partners[i]);
    free(cfg->partners);
    free(cfg->path);
    free(cfg->state_dir);
    free(cfg->outbox);
    free(cfg->receipts);
    free(cfg->plugin_dir);
    free(cfg->agent_id);
    free(cfg->user);
    free(cfg->status_file);
    free(cfg->metrics_file);
    free(cfg->sendmail);
    cf_free_match_store(cfg);
    free(cfg);
}

const bd_partner *bd_config_partner(const bd_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->npartners; i++)
        if (strcmp(cfg->partners[i].name, name) == 0)
            return &cfg->partners[i];
    return NULL;
}

const char *bd_partner_option(const bd_partner *p, const char *key)
{
    for (size_t i = 0; i < p->noptions; i++)
        if (strcmp(p->options[i].key, key) == 0)
            return p->options[i].value;
    return NULL;
}

int bd_partner_owns_segment(const bd_partner *p, int64_t segment)
{
    if (!p->segments)
        return 1;
    return bsearch(&segment, p->segments, p->nsegments, sizeof segment, cmp_i64) != NULL;
}
