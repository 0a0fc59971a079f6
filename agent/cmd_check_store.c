/* cmd_check_store.c: `batchdrop check --connect` for a redis match store: slot coverage and every node reachable. */
#include "config.h"
#include "commands.h"
#include "conf.h"
#include "redis_cluster.h"
#include <stdio.h>

static void print_lines(FILE *out, const char *prefix, const char *report)
{
    const char *p = report;
    while (*p) {
        int n = 0;
        while (p[n] && p[n] != '\n')
            n++;
        fprintf(out, "%s%.*s\n", prefix, n, p);
        p += n + (p[n] == '\n');
    }
}

int bd_check_match_store(const bd_config *cfg, int connect)
{
    const bd_redis_store_conf *c = &cfg->redis;
    char err[1024], report[8192], prefix[64];
    int transient = 0;
    if (cfg->match_store != BD_STORE_REDIS || !connect)
        return 0;
    snprintf(prefix, sizeof prefix, "match_store (redis): ");
    bd_redis *r = bd_redis_open((const char *const *)c->nodes, c->nnodes, c->password, (int)(c->timeout * 1000),
                                &transient, err, sizeof err);
    if (!r) {
        fprintf(stderr, "%s: match_store (redis): cannot connect (%s): %s\n", c->source,
                transient ? "no node answered: start the servers or fix 'nodes'"
                          : "fix 'nodes' or 'password_file'", err);
        return -1;
    }
    int rc = bd_redis_check(r, report, sizeof report);
    print_lines(rc == 0 ? stdout : stderr, prefix, report);
    if (rc < 0)
        fprintf(stderr, "%s: match_store (redis): the %s is not healthy (see above)\n", c->source,
                bd_redis_is_cluster(r) ? "cluster" : "server");
    bd_redis_close(r);
    return rc;
}
