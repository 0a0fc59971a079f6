/* conf_store.c: parse match_store = { type; nodes; password_file; timeout; key_prefix; } and match_ttl_days. */
#include "config.h"
#include "conf_loader.h"
#include "redis_slots.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const store_keys[] = {"type", "nodes", "password_file", "timeout", "key_prefix", NULL};

#define MAX_TTL_DAYS 36500L     /* 100 years: anything longer is "never" (0) */
#define MAX_KEY_PREFIX 64       /* bytes */
#define MAX_PASSWORD 512        /* bytes of the password file's first line */

void cf_free_match_store(bd_config *cfg)
{
    bd_redis_store_conf *c = &cfg->redis;
    for (size_t i = 0; i < c->nnodes; i++)
        free(c->nodes[i]);
    free(c->nodes);
    free(c->password_file);
    if (c->password) {
        memset(c->password, 0, strlen(c->password));
        free(c->password);
    }
    free(c->key_prefix);
    free(c->source);
    memset(c, 0, sizeof *c);
}

static int load_type(loader *ld, const config_setting_t *g, bd_config *cfg)
{
    const char *type = "lmdb";
    if (cf_string(ld, g, "type", &type) < 0)
        return -1;
    if (strcmp(type, "lmdb") == 0)
        cfg->match_store = BD_STORE_LMDB;
    else if (strcmp(type, "redis") == 0)
        cfg->match_store = BD_STORE_REDIS;
    else {
        cf_error(ld, config_setting_get_member(g, "type"),
                 "match_store 'type' must be \"lmdb\" (embedded, the default) or \"redis\", not \"%.64s\"", type);
        return -1;
    }
    return 0;
}

static int load_nodes(loader *ld, const config_setting_t *g, bd_redis_store_conf *c)
{
    config_setting_t *list = config_setting_get_member(g, "nodes");
    int n = list ? config_setting_length(list) : 0;
    if (!list || !(config_setting_is_array(list) || config_setting_is_list(list)) || n < 1) {
        cf_error(ld, list ? list : g, "match_store type \"redis\" needs 'nodes', the servers to connect to: "
                                      "nodes = [ \"10.0.0.5:7000\", \"10.0.0.6:7000\" ]; (any nodes of a cluster)");
        return -1;
    }
    if (!(c->nodes = calloc((size_t)n, sizeof *c->nodes)))
        return -1;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
        const char *addr = config_setting_get_string(e);
        char host[256];
        int port;
        if (!addr || bd_redis_split_addr(addr, host, sizeof host, &port) < 0 || port < 1 || port > 65535) {
            cf_error(ld, e, "match_store 'nodes': \"%.80s\" is not host:port (e.g. \"10.0.0.5:7000\", "
                            "\"[::1]:6379\")", addr ? addr : "(not a string)");
            return -1;
        }
        if (!(c->nodes[c->nnodes++] = strdup(addr)))
            return -1;
    }
    return 0;
}

/* The first line of the password file, which only its owner (and group) may read. */
static int read_password(loader *ld, const config_setting_t *g, bd_redis_store_conf *c)
{
    const config_setting_t *s = config_setting_get_member(g, "password_file");
    struct stat st;
    FILE *f = fopen(c->password_file, "r");
    if (!f || fstat(fileno(f), &st) < 0) {
        cf_error(ld, s, "match_store 'password_file' %s: %s", c->password_file, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    if (st.st_mode & S_IRWXO) {
        cf_error(ld, s, "match_store 'password_file' %s is readable by everyone (mode %04o): chmod o-rwx it "
                        "(e.g. chmod 600, or 640 with the agent's group)", c->password_file,
                 (unsigned)(st.st_mode & 07777));
        fclose(f);
        return -1;
    }
    char line[MAX_PASSWORD + 2];
    int got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    size_t len = got ? strcspn(line, "\r\n") : 0;
    line[len] = '\0';
    if (len == 0 || len > MAX_PASSWORD) {
        cf_error(ld, s, "match_store 'password_file' %s: the first line must hold the password (1 to %d bytes)",
                 c->password_file, MAX_PASSWORD);
        memset(line, 0, sizeof line);
        return -1;
    }
    c->password = strdup(line);
    memset(line, 0, sizeof line);
    return c->password ? 0 : -1;
}

static int load_key_prefix(loader *ld, const config_setting_t *g, bd_redis_store_conf *c)
{
    const char *prefix = "bd:";
    if (cf_string(ld, g, "key_prefix", &prefix) < 0)
        return -1;
    if (strlen(prefix) > MAX_KEY_PREFIX || strpbrk(prefix, "{} \t\r\n")) {
        cf_error(ld, config_setting_get_member(g, "key_prefix"),
                 "match_store 'key_prefix' must be at most %d bytes without spaces or braces (a {hash tag} would "
                 "put every mapping in one cluster slot)", MAX_KEY_PREFIX);
        return -1;
    }
    c->key_prefix = strdup(prefix);
    return c->key_prefix ? 0 : -1;
}

static int load_redis(loader *ld, const config_setting_t *g, bd_redis_store_conf *c)
{
    double timeout = 2.0;
    int rc = 0;
    rc |= load_nodes(ld, g, c);
    rc |= cf_path(ld, g, "password_file", &c->password_file, NULL);
    rc |= cf_number(ld, g, "timeout", &timeout, 0.01, 60);
    rc |= load_key_prefix(ld, g, c);
    c->timeout = timeout;
    if (rc == 0 && c->password_file && read_password(ld, g, c) < 0)
        rc = -1;
    return rc ? -1 : 0;
}

/* Settings that only a redis store uses, given with the lmdb one: say so rather than ignore them. */
static int refuse_redis_only(loader *ld, const config_setting_t *g)
{
    static const char *const redis_only[] = {"nodes", "password_file", "timeout", "key_prefix", NULL};
    int rc = 0;
    for (const char *const *k = redis_only; *k; k++) {
        const config_setting_t *s = config_setting_get_member(g, *k);
        if (s) {
            cf_error(ld, s, "match_store '%s' is a redis setting: add type = \"redis\"; or remove it", *k);
            rc = -1;
        }
    }
    return rc;
}

static int load_ttl(loader *ld, const config_setting_t *root, bd_config *cfg)
{
    double days = 0;
    const config_setting_t *s = config_setting_get_member(root, "match_ttl_days");
    if (cf_number(ld, root, "match_ttl_days", &days, 0, (double)MAX_TTL_DAYS) < 0)
        return -1;
    if (days != (double)(long)days) {
        cf_error(ld, s, "'match_ttl_days' must be a whole number of days (0 = mappings never expire)");
        return -1;
    }
    if (days > 0 && cfg->match_store != BD_STORE_REDIS) {
        cf_error(ld, s, "'match_ttl_days' needs match_store = { type = \"redis\"; ... }: LMDB entries never expire "
                        "(remove match_ttl_days or set it to 0)");
        return -1;
    }
    cfg->redis.ttl_days = (long)days;
    return 0;
}

static char *source_of(loader *ld, const config_setting_t *s)
{
    const char *file = config_setting_source_file(s) ? config_setting_source_file(s) : ld->path;
    char buf[4200];
    snprintf(buf, sizeof buf, "%s:%u", file, config_setting_source_line(s));
    return strdup(buf);
}

int cf_load_match_store(loader *ld, const config_setting_t *root, bd_config *cfg)
{
    config_setting_t *g = config_setting_get_member(root, "match_store");
    int rc = 0;
    cfg->match_store = BD_STORE_LMDB;
    if (g && !config_setting_is_group(g)) {
        cf_error(ld, g, "'match_store' must be a group: match_store = { type = \"redis\"; nodes = [ "
                        "\"10.0.0.5:7000\" ]; };");
        return -1;
    }
    if (g) {
        cf_unknown_keys(ld, g, store_keys, "match_store");
        if (load_type(ld, g, cfg) < 0)
            return -1;
        if (!(cfg->redis.source = source_of(ld, g)))
            return -1;
        if (cfg->match_store == BD_STORE_REDIS)
            rc |= load_redis(ld, g, &cfg->redis);
        else
            rc |= refuse_redis_only(ld, g);
    }
    rc |= load_ttl(ld, root, cfg);
    return rc ? -1 : 0;
}

static int same_string(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_nodes(const bd_redis_store_conf *a, const bd_redis_store_conf *b)
{
    if (a->nnodes != b->nnodes)
        return 0;
    for (size_t i = 0; i < a->nnodes; i++)
        if (strcmp(a->nodes[i], b->nodes[i]) != 0)
            return 0;
    return 1;
}

const char *bd_config_store_change(const bd_config *old, const bd_config *cfg)
{
    const bd_redis_store_conf *a = &old->redis, *b = &cfg->redis;
    if (a->ttl_days != b->ttl_days)
        return "match_ttl_days";
    if (old->match_store != cfg->match_store || !same_nodes(a, b) || !same_string(a->password_file, b->password_file) ||
        !same_string(a->password, b->password) || !same_string(a->key_prefix, b->key_prefix) ||
        a->timeout != b->timeout)
        return "match_store";
    return "";
}
