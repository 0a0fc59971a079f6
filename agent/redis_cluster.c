/* redis_cluster.c: a small routing layer on hiredis for one standalone Redis or a Redis Cluster (slots, MOVED/ASK, failover). */
#include "config.h"
#include "redis_cluster.h"
#include "redis_slots.h"
#include "strutil.h"
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PIPELINE_CHUNK 4096 /* commands appended before their replies are read */
#define NO_NODE SIZE_MAX
/* printf arguments for a command's name (argv[0] is binary safe, not NUL-terminated): "%.*s" */
#define NAME(cmd) (int)((cmd)->argvlen[0] < 64 ? (cmd)->argvlen[0] : 64), (cmd)->argv[0]

typedef struct node {
    char *addr;        /* "host:port" */
    redisContext *ctx; /* NULL until first used, and after a connection error */
} node;

struct bd_redis {
    char **seeds;
    size_t nseeds;
    char *password; /* NULL: no AUTH */
    int timeout_ms;
    int is_cluster;
    size_t standalone; /* standalone: the node answering every command */
    bd_redis_slotmap *map; /* cluster: the slot map */
    node *nodes;           /* connections, by address */
    size_t nnodes;
    bd_redis_stats stats;
};

/* The state of one bd_redis_exec call. */
typedef struct exec_state {
    bd_redis_cmd *cmds;
    size_t n;
    size_t *target;         /* node index per command (NO_NODE: none this round) */
    unsigned char *asking;  /* 1: the target came from an ASK redirect */
    int need_refresh;       /* reload the slot map before the next round */
    int backoff;            /* a busy/down answer: wait before the next round */
    int failed, transient;  /* an error was recorded (the last one is in err) */
    char *err;
    size_t errlen;
} exec_state;

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void sleep_ms(double ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)((long long)ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* hiredis connection errors: protocol and out-of-memory are permanent, I/O, EOF and the rest (timeouts,
 * refused, name resolution) may pass. */
static int context_error_is_transient(int hiredis_err)
{
    return hiredis_err != REDIS_ERR_PROTOCOL && hiredis_err != REDIS_ERR_OOM;
}

static int starts_with(const redisReply *rep, const char *prefix)
{
    size_t n = strlen(prefix);
    return rep->len >= n && memcmp(rep->str, prefix, n) == 0;
}

/* An error reply that means the password is missing or wrong. */
static int is_auth_error(const redisReply *rep)
{
    return starts_with(rep, "NOAUTH") || starts_with(rep, "WRONGPASS") || starts_with(rep, "ERR invalid password") ||
           starts_with(rep, "ERR AUTH");
}

/* An error reply worth retrying later (the cluster or the node is busy, loading, failing over). */
static int is_transient_error(const redisReply *rep)
{
    return starts_with(rep, "CLUSTERDOWN") || starts_with(rep, "TRYAGAIN") || starts_with(rep, "LOADING") ||
           starts_with(rep, "MASTERDOWN") || starts_with(rep, "READONLY") || starts_with(rep, "BUSY");
}

/* ---------------------------------------------------------------- connections */

static long node_index(bd_redis *r, const char *addr)
{
    for (size_t i = 0; i < r->nnodes; i++)
        if (strcmp(r->nodes[i].addr, addr) == 0)
            return (long)i;
    node *grown = realloc(r->nodes, (r->nnodes + 1) * sizeof *grown);
    if (!grown)
        return -1;
    r->nodes = grown;
    if (!(grown[r->nnodes].addr = strdup(addr)))
        return -1;
    grown[r->nnodes].ctx = NULL;
    return (long)r->nnodes++;
}

static void drop_connection(node *nd)
{
    if (nd->ctx)
        redisFree(nd->ctx);
    nd->ctx = NULL;
}

/* hiredis reports a read timeout as EAGAIN's text */
static const char *context_error_text(const redisContext *c)
{
    if (!c || !c->errstr[0])
        return "connection lost";
    if (c->err == REDIS_ERR_IO && strstr(c->errstr, "temporarily unavailable"))
        return "timed out";
    return c->errstr;
}

/* One command on a connection; NULL (connection unusable, err set, naming the command by what: never the AUTH
 * argument) or the reply. */
static redisReply *round_trip(redisContext *c, const char *addr, const char *what, int argc, const char **argv,
                              int *transient, char *err, size_t errlen)
{
    redisReply *rep = redisCommandArgv(c, argc, argv, NULL);
    if (!rep) {
        *transient = context_error_is_transient(c->err);
        set_err(err, errlen, "redis %s: %s: %s", addr, what, context_error_text(c));
    }
    return rep;
}

/* A new connection to addr with both timeouts set and AUTH done; NULL with err and *transient. */
static redisContext *connect_node(const bd_redis *r, const char *addr, int *transient, char *err, size_t errlen)
{
    char host[256];
    int port;
    if (bd_redis_split_addr(addr, host, sizeof host, &port) < 0) {
        *transient = 0;
        set_err(err, errlen, "redis %s: not a host:port address", addr);
        return NULL;
    }
    struct timeval tv = {.tv_sec = r->timeout_ms / 1000, .tv_usec = (r->timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (!c) {
        *transient = 0;
        set_err(err, errlen, "redis %s: out of memory for a connection", addr);
        return NULL;
    }
    if (c->err || redisSetTimeout(c, tv) != REDIS_OK) {
        *transient = context_error_is_transient(c->err);
        set_err(err, errlen, "redis %s: connect: %s", addr, c->err ? c->errstr : "cannot set the timeout");
        redisFree(c);
        return NULL;
    }
    if (!r->password)
        return c;
    const char *argv[] = {"AUTH", r->password};
    redisReply *rep = round_trip(c, addr, "AUTH", 2, argv, transient, err, errlen);
    if (rep && rep->type == REDIS_REPLY_ERROR) { /* the server's text names no password */
        *transient = !is_auth_error(rep) && is_transient_error(rep);
        set_err(err, errlen, "redis %s: authentication failed: %s", addr, rep->str);
    }
    int ok = rep && rep->type != REDIS_REPLY_ERROR;
    if (rep)
        freeReplyObject(rep);
    if (!ok) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* The node's connection, made when missing. */
static redisContext *node_connection(bd_redis *r, size_t idx, int *transient, char *err, size_t errlen)
{
    node *nd = &r->nodes[idx];
    if (!nd->ctx) {
        nd->ctx = connect_node(r, nd->addr, transient, err, errlen);
        if (nd->ctx)
            r->stats.connects++;
    }
    return nd->ctx;
}

/* ---------------------------------------------------------------- topology */

enum topology { TOPO_FAILED = -1, TOPO_CLUSTER = 1, TOPO_STANDALONE = 2 };

/* Ask node idx for CLUSTER SLOTS: a new map (cluster), standalone, or failed with err and *transient. */
static enum topology ask_topology(bd_redis *r, size_t idx, bd_redis_slotmap **map, int *transient, char *err,
                                  size_t errlen)
{
    redisContext *c = node_connection(r, idx, transient, err, errlen);
    if (!c)
        return TOPO_FAILED;
    const char *addr = r->nodes[idx].addr;
    const char *argv[] = {"CLUSTER", "SLOTS"};
    redisReply *rep = round_trip(c, addr, "CLUSTER SLOTS", 2, argv, transient, err, errlen);
    if (!rep) {
        drop_connection(&r->nodes[idx]);
        return TOPO_FAILED;
    }
    enum topology t = TOPO_FAILED;
    if (rep->type == REDIS_REPLY_ERROR) {
        if (strstr(rep->str, "cluster support disabled")) {
            t = TOPO_STANDALONE;
        } else {
            *transient = !is_auth_error(rep);
            set_err(err, errlen, "redis %s: CLUSTER SLOTS: %s", addr, rep->str);
        }
    } else {
        char host[256];
        int port;
        *map = bd_redis_slotmap_new();
        *transient = 0;
        if (!*map) {
            set_err(err, errlen, "redis %s: out of memory for the slot map", addr);
        } else if (bd_redis_split_addr(addr, host, sizeof host, &port) < 0 ||
                   bd_redis_slotmap_parse(*map, rep, host, err, errlen) < 0) {
            bd_redis_slotmap_free(*map);
            *map = NULL;
        } else {
            t = TOPO_CLUSTER;
            r->stats.refreshes++;
        }
    }
    freeReplyObject(rep);
    return t;
}

/* Try addr for a fresh cluster slot map: 1 taken, 0 not (err set), -1 permanent failure. */
static int refresh_from(bd_redis *r, const char *addr, int *transient, char *err, size_t errlen)
{
    long idx = node_index(r, addr);
    if (idx < 0) {
        *transient = 0;
        set_err(err, errlen, "redis: out of memory");
        return -1;
    }
    bd_redis_slotmap *map = NULL;
    enum topology t = ask_topology(r, (size_t)idx, &map, transient, err, errlen);
    if (t == TOPO_CLUSTER) {
        bd_redis_slotmap_free(r->map);
        r->map = map;
        return 1;
    }
    if (t == TOPO_STANDALONE) {
        *transient = 1;
        set_err(err, errlen, "redis %s: cluster support disabled on a cluster node", addr);
    }
    return *transient ? 0 : -1;
}

/* Reload the slot map from the known masters, then replicas, then seeds: 0, or -1 with err and *transient. */
static int refresh_map(bd_redis *r, int *transient, char *err, size_t errlen)
{
    int rc;
    *transient = 1;
    set_err(err, errlen, "redis: no node to load the slot map from");
    /* refresh_from replaces r->map only when it returns 1, so the lists stay valid while we walk them */
    for (size_t i = 0; r->map && i < r->map->nmasters; i++)
        if ((rc = refresh_from(r, r->map->masters[i], transient, err, errlen)) != 0)
            return rc > 0 ? 0 : -1;
    for (size_t i = 0; r->map && i < r->map->nreplicas; i++)
        if ((rc = refresh_from(r, r->map->replicas[i], transient, err, errlen)) != 0)
            return rc > 0 ? 0 : -1;
    for (size_t i = 0; i < r->nseeds; i++)
        if ((rc = refresh_from(r, r->seeds[i], transient, err, errlen)) != 0)
            return rc > 0 ? 0 : -1;
    return -1;
}

/* ---------------------------------------------------------------- open / close */

void bd_redis_close(bd_redis *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nnodes; i++) {
        drop_connection(&r->nodes[i]);
        free(r->nodes[i].addr);
    }
    free(r->nodes);
    for (size_t i = 0; i < r->nseeds; i++)
        free(r->seeds[i]);
    free(r->seeds);
    if (r->password) {
        memset(r->password, 0, strlen(r->password));
        free(r->password);
    }
    bd_redis_slotmap_free(r->map);
    free(r);
}

static bd_redis *new_handle(const char *const *seeds, size_t nseeds, const char *password, int timeout_ms)
{
    bd_redis *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->timeout_ms = timeout_ms > 0 ? timeout_ms : 1000;
    r->seeds = calloc(nseeds ? nseeds : 1, sizeof *r->seeds);
    if (!r->seeds || (password && !(r->password = strdup(password)))) {
        bd_redis_close(r);
        return NULL;
    }
    for (; r->nseeds < nseeds; r->nseeds++)
        if (!(r->seeds[r->nseeds] = strdup(seeds[r->nseeds]))) {
            bd_redis_close(r);
            return NULL;
        }
    return r;
}

bd_redis *bd_redis_open(const char *const *seeds, size_t nseeds, const char *password, int timeout_ms,
                        int *transient, char *err, size_t errlen)
{
    *transient = 0;
    if (nseeds == 0) {
        set_err(err, errlen, "redis: no node address given");
        return NULL;
    }
    bd_redis *r = new_handle(seeds, nseeds, password, timeout_ms);
    if (!r) {
        set_err(err, errlen, "redis: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < nseeds; i++) {
        long idx = node_index(r, seeds[i]);
        bd_redis_slotmap *map = NULL;
        if (idx < 0) {
            *transient = 0;
            set_err(err, errlen, "redis: out of memory");
            break;
        }
        enum topology t = ask_topology(r, (size_t)idx, &map, transient, err, errlen);
        if (t == TOPO_CLUSTER || t == TOPO_STANDALONE) {
            r->is_cluster = t == TOPO_CLUSTER;
            r->map = map;
            r->standalone = (size_t)idx;
            return r;
        }
        if (!*transient) /* a bad password or a malformed address fails the same on every seed */
            break;
    }
    bd_redis_close(r);
    return NULL;
}

int bd_redis_is_cluster(const bd_redis *r)
{
    return r->is_cluster;
}

void bd_redis_get_stats(const bd_redis *r, bd_redis_stats *out)
{
    *out = r->stats;
}

/* Connect to addr unless already connected: 0, or -1 with err. */
static int connect_addr(bd_redis *r, const char *addr, char *err, size_t errlen)
{
    int transient;
    long idx = node_index(r, addr);
    if (idx < 0) {
        set_err(err, errlen, "redis: out of memory");
        return -1;
    }
    return node_connection(r, (size_t)idx, &transient, err, errlen) ? 0 : -1;
}

int bd_redis_connect_all(bd_redis *r, char *err, size_t errlen)
{
    int failed = 0;
    char first[512] = "";
    if (!r->is_cluster)
        return connect_addr(r, r->nodes[r->standalone].addr, err, errlen);
    for (size_t i = 0; i < r->map->nmasters + r->map->nreplicas; i++) {
        const char *addr = i < r->map->nmasters ? r->map->masters[i] : r->map->replicas[i - r->map->nmasters];
        if (connect_addr(r, addr, failed ? NULL : first, sizeof first) < 0)
            failed++;
    }
    if (failed)
        set_err(err, errlen, "%s (%d node%s not connected)", first, failed, failed == 1 ? "" : "s");
    return failed ? -1 : 0;
}

/* The integer reply of command on node addr: 0, or -1 with err and *transient. */
static int integer_from(bd_redis *r, const char *addr, const char *command, long long *value, int *transient,
                        char *err, size_t errlen)
{
    long idx = node_index(r, addr);
    if (idx < 0) {
        *transient = 0;
        set_err(err, errlen, "redis: out of memory");
        return -1;
    }
    redisContext *c = node_connection(r, (size_t)idx, transient, err, errlen);
    if (!c)
        return -1;
    const char *argv[] = {command};
    redisReply *rep = round_trip(c, addr, command, 1, argv, transient, err, errlen);
    if (!rep) {
        drop_connection(&r->nodes[idx]);
        return -1;
    }
    int ok = rep->type == REDIS_REPLY_INTEGER;
    if (ok)
        *value = rep->integer;
    else {
        *transient = rep->type == REDIS_REPLY_ERROR && is_transient_error(rep);
        set_err(err, errlen, "redis %s: %s: %s", addr, command,
                rep->type == REDIS_REPLY_ERROR ? rep->str : "not an integer reply");
    }
    freeReplyObject(rep);
    return ok ? 0 : -1;
}

/* A master of the map that still serves a slot (one that lost all its slots to a MOVED stays listed). */
static int serves_slots(const bd_redis_slotmap *m, size_t master)
{
    for (unsigned s = 0; s < BD_REDIS_NSLOTS; s++)
        if (m->owner[s] == (int32_t)master)
            return 1;
    return 0;
}

int bd_redis_sum_masters(bd_redis *r, const char *command, long long *sum, int *transient, char *err,
                         size_t errlen)
{
    long long v = 0;
    *sum = 0;
    *transient = 0;
    if (!r->is_cluster) {
        if (integer_from(r, r->nodes[r->standalone].addr, command, &v, transient, err, errlen) < 0)
            return -1;
        *sum = v;
        return 0;
    }
    for (size_t i = 0; i < r->map->nmasters; i++) {
        if (!serves_slots(r->map, i))
            continue;
        if (integer_from(r, r->map->masters[i], command, &v, transient, err, errlen) < 0)
            return -1;
        *sum += v;
    }
    return 0;
}

/* ---------------------------------------------------------------- exec */

__attribute__((format(printf, 3, 4))) static void record(exec_state *st, int transient, const char *fmt, ...)
{
    va_list ap;
    st->transient = st->failed ? st->transient && transient : transient; /* a permanent error sticks */
    st->failed = 1;
    if (!st->err || st->errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(st->err, st->errlen, fmt, ap);
    va_end(ap);
}

/* Parse "MOVED 3999 host:port" / "ASK 3999 host:port" (an empty host means the node that answered). */
static int parse_redirect(const redisReply *rep, const char *asked, unsigned *slot, char *addr, size_t addrlen)
{
    const char *p = strchr(rep->str, ' ');
    char *end;
    if (!p)
        return -1;
    unsigned long s = strtoul(p + 1, &end, 10);
    if (end == p + 1 || *end != ' ' || s >= BD_REDIS_NSLOTS)
        return -1;
    const char *target = end + 1;
    int n;
    if (target[0] == ':') {
        char host[256];
        int port;
        if (bd_redis_split_addr(asked, host, sizeof host, &port) < 0)
            return -1;
        n = snprintf(addr, addrlen, "%s%s", host, target);
    } else {
        n = snprintf(addr, addrlen, "%s", target);
    }
    *slot = (unsigned)s;
    return n > 0 && (size_t)n < addrlen ? 0 : -1;
}

/* What to do with one reply of command i from node idx: 1 answered, 0 retry later, -1 stop (permanent). */
static int take_reply(bd_redis *r, exec_state *st, size_t i, size_t idx, redisReply *rep)
{
    const char *addr = r->nodes[idx].addr;
    if (rep->type != REDIS_REPLY_ERROR) {
        st->cmds[i].reply = rep;
        return 1;
    }
    int moved = starts_with(rep, "MOVED "), ask = starts_with(rep, "ASK ");
    if (r->is_cluster && (moved || ask)) {
        char target[300];
        unsigned slot;
        long tidx = -1;
        if (parse_redirect(rep, addr, &slot, target, sizeof target) < 0) {
            record(st, 0, "redis %s: malformed redirection: %s", addr, rep->str);
        } else if ((moved && bd_redis_slotmap_assign(r->map, slot, target) < 0) ||
                   (tidx = node_index(r, target)) < 0) {
            record(st, 0, "redis %s: out of memory following %s", addr, moved ? "MOVED" : "ASK");
        } else {
            st->asking[i] = (unsigned char)ask;
            st->target[i] = ask ? (size_t)tidx : NO_NODE;
            r->stats.moved += (unsigned long)moved;
            r->stats.ask += (unsigned long)ask;
            freeReplyObject(rep);
            return 0;
        }
        freeReplyObject(rep);
        return -1;
    }
    if (is_auth_error(rep)) {
        record(st, 0, "redis %s: not authenticated: %s", addr, rep->str);
        freeReplyObject(rep);
        return -1;
    }
    if (is_transient_error(rep)) {
        record(st, 1, "redis %s: %s", addr, rep->str);
        st->need_refresh = 1;
        st->backoff = 1;
        freeReplyObject(rep);
        return 0;
    }
    st->cmds[i].reply = rep; /* WRONGTYPE and friends: the caller's business */
    return 1;
}

/* A connection error on node idx: drop it, reload the map before the next round. */
static void connection_lost(bd_redis *r, exec_state *st, size_t idx, const bd_redis_cmd *cmd)
{
    node *nd = &r->nodes[idx];
    record(st, nd->ctx ? context_error_is_transient(nd->ctx->err) : 1, "redis %s: %.*s: %s", nd->addr, NAME(cmd),
           context_error_text(nd->ctx));
    drop_connection(nd);
    st->need_refresh = 1;
    st->backoff = 1;
}

/* Pipeline up to PIPELINE_CHUNK of node idx's commands from *from on: 1 more to do, 0 done, -1 stop. */
static int pipeline_chunk(bd_redis *r, exec_state *st, size_t idx, size_t *from)
{
    static const char *asking_argv[] = {"ASKING"};
    static const size_t asking_len[] = {6};
    redisContext *c = r->nodes[idx].ctx;
    size_t batch[PIPELINE_CHUNK], nb = 0, i;
    for (i = *from; i < st->n && nb < PIPELINE_CHUNK; i++) {
        if (st->cmds[i].reply || st->target[i] != idx)
            continue;
        bd_redis_cmd *cmd = &st->cmds[i];
        if ((st->asking[i] && redisAppendCommandArgv(c, 1, asking_argv, asking_len) != REDIS_OK) ||
            redisAppendCommandArgv(c, cmd->argc, cmd->argv, cmd->argvlen) != REDIS_OK) {
            record(st, 0, "redis %s: out of memory queueing %.*s", r->nodes[idx].addr, NAME(cmd));
            drop_connection(&r->nodes[idx]);
            return -1;
        }
        batch[nb++] = i;
    }
    *from = i;
    r->stats.round_trips += nb > 0;
    for (size_t k = 0; k < nb; k++) {
        size_t ci = batch[k];
        void *rep = NULL;
        if (st->asking[ci]) {
            if (redisGetReply(c, &rep) != REDIS_OK || !rep) {
                connection_lost(r, st, idx, &st->cmds[ci]);
                return 0;
            }
            freeReplyObject(rep); /* an ASKING refusal shows in the command's own reply */
            rep = NULL;
        }
        if (redisGetReply(c, &rep) != REDIS_OK || !rep) {
            connection_lost(r, st, idx, &st->cmds[ci]);
            return 0;
        }
        if (take_reply(r, st, ci, idx, rep) < 0) {
            drop_connection(&r->nodes[idx]); /* replies of this chunk may be left unread */
            return -1;
        }
    }
    return *from < st->n;
}

/* Send every command routed to node idx: 0, or -1 on a permanent error. */
static int run_node(bd_redis *r, exec_state *st, size_t idx)
{
    int transient = 1;
    char err[512];
    if (!node_connection(r, idx, &transient, err, sizeof err)) {
        st->failed = 1;
        st->transient = transient;
        set_err(st->err, st->errlen, "%s", err);
        st->need_refresh = 1;
        st->backoff = 1;
        return transient ? 0 : -1;
    }
    size_t from = 0;
    int rc;
    while ((rc = pipeline_chunk(r, st, idx, &from)) > 0 && r->nodes[idx].ctx)
        ;
    return rc < 0 ? -1 : 0;
}

/* Route every unanswered command of this round: 0 (some may be unrouted), or -1 when out of memory. */
static int route(bd_redis *r, exec_state *st, size_t *pending)
{
    *pending = 0;
    for (size_t i = 0; i < st->n; i++) {
        if (st->cmds[i].reply)
            continue;
        (*pending)++;
        if (st->asking[i])
            continue;
        if (!r->is_cluster) {
            st->target[i] = r->standalone;
            continue;
        }
        const bd_redis_cmd *cmd = &st->cmds[i];
        unsigned slot = bd_redis_key_slot(cmd->argv[cmd->key_arg], cmd->argvlen[cmd->key_arg]);
        const char *addr = bd_redis_slotmap_master(r->map, slot);
        long idx = addr ? node_index(r, addr) : -1;
        if (addr && idx < 0) {
            record(st, 0, "redis: out of memory routing %.*s", NAME(cmd));
            return -1;
        }
        if (!addr) {
            record(st, 1, "redis: slot %u is not covered by any master (%.*s)", slot, NAME(cmd));
            st->need_refresh = 1;
            st->backoff = 1;
        }
        st->target[i] = addr ? (size_t)idx : NO_NODE;
    }
    return 0;
}

/* One round: route, then each node's pipeline. 0, or -1 on a permanent error. */
static int exec_round(bd_redis *r, exec_state *st, size_t *pending)
{
    if (route(r, st, pending) < 0)
        return -1;
    if (*pending == 0)
        return 0;
    for (size_t idx = 0; idx < r->nnodes; idx++) {
        int used = 0;
        for (size_t i = 0; i < st->n && !used; i++)
            used = !st->cmds[i].reply && st->target[i] == idx;
        if (used && run_node(r, st, idx) < 0)
            return -1;
    }
    return 0;
}

static size_t count_pending(const bd_redis_cmd *cmds, size_t n)
{
    size_t pending = 0;
    for (size_t i = 0; i < n; i++)
        pending += !cmds[i].reply;
    return pending;
}

static int check_commands(const bd_redis_cmd *cmds, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        if (cmds[i].argc < 1 || !cmds[i].argv || !cmds[i].argvlen || cmds[i].key_arg < 0 ||
            cmds[i].key_arg >= cmds[i].argc) {
            set_err(err, errlen, "redis: command %zu has no valid argv/key_arg", i);
            return -1;
        }
    return 0;
}

int bd_redis_exec(bd_redis *r, bd_redis_cmd *cmds, size_t n, int *transient, char *err, size_t errlen)
{
    *transient = 0;
    if (check_commands(cmds, n, err, errlen) < 0)
        return -1;
    exec_state st = {.cmds = cmds, .n = n, .err = err, .errlen = errlen};
    st.target = malloc((n ? n : 1) * sizeof *st.target);
    st.asking = calloc(n ? n : 1, 1);
    if (!st.target || !st.asking) {
        free(st.target);
        free(st.asking);
        set_err(err, errlen, "redis: out of memory for %zu commands", n);
        return -1;
    }
    double deadline = bd_monotonic() * 1000.0 + (double)BD_REDIS_MAX_ROUNDS * r->timeout_ms;
    size_t pending = 0;
    int rc = -1;
    for (int round = 0; round < BD_REDIS_MAX_ROUNDS; round++) {
        st.need_refresh = st.backoff = 0;
        if (exec_round(r, &st, &pending) < 0 || (st.failed && !st.transient))
            break; /* permanent: err is set */
        if ((pending = count_pending(cmds, n)) == 0) {
            rc = 0;
            break;
        }
        double wait = st.backoff ? 50.0 * (1 << round) : 0;
        if (round + 1 == BD_REDIS_MAX_ROUNDS || bd_monotonic() * 1000.0 + wait >= deadline) {
            st.transient = 1;
            if (!st.failed)
                set_err(err, errlen, "redis: %zu commands still unanswered after %d rounds (too many redirects)",
                        pending, round + 1);
            break;
        }
        sleep_ms(wait);
        int rt;
        if (st.need_refresh && r->is_cluster && refresh_map(r, &rt, err, errlen) < 0 && !rt) {
            st.transient = 0;
            break;
        }
    }
    *transient = rc == 0 ? 0 : st.transient;
    free(st.target);
    free(st.asking);
    return rc;
}

/* ---------------------------------------------------------------- check */

__attribute__((format(printf, 4, 5))) static void say(char *report, size_t reportlen, size_t *used,
                                                      const char *fmt, ...)
{
    va_list ap;
    if (*used >= reportlen)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(report + *used, reportlen - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used += (size_t)n < reportlen - *used ? (size_t)n : reportlen - *used - 1;
}

/* PING addr on a new connection (and, for a cluster master, its cluster_state): 0 healthy, -1 not. */
static int check_node(bd_redis *r, const char *addr, const char *role, char *report, size_t reportlen,
                      size_t *used)
{
    int transient;
    char err[512];
    redisContext *c = connect_node(r, addr, &transient, err, sizeof err);
    if (!c) {
        say(report, reportlen, used, "%s %s: unreachable: %s\n", role, addr, err);
        return -1;
    }
    const char *ping[] = {"PING"}, *info[] = {"CLUSTER", "INFO"};
    redisReply *rep = round_trip(c, addr, "PING", 1, ping, &transient, err, sizeof err);
    int ok = rep && rep->type != REDIS_REPLY_ERROR;
    if (!ok)
        say(report, reportlen, used, "%s %s: PING failed: %s\n", role, addr, rep ? rep->str : err);
    if (rep)
        freeReplyObject(rep);
    if (ok && r->is_cluster && strcmp(role, "master") == 0) {
        rep = round_trip(c, addr, "CLUSTER INFO", 2, info, &transient, err, sizeof err);
        ok = rep && rep->type == REDIS_REPLY_STRING && strstr(rep->str, "cluster_state:ok");
        if (!ok)
            say(report, reportlen, used, "master %s: cluster state is not ok%s%s\n", addr, rep ? "" : ": ",
                rep ? "" : err);
        if (rep)
            freeReplyObject(rep);
    }
    if (ok)
        say(report, reportlen, used, "%s %s: ok\n", role, addr);
    redisFree(c);
    return ok ? 0 : -1;
}

/* Report the uncovered slot ranges (at most 10 lines). */
static void report_uncovered(const bd_redis_slotmap *m, char *report, size_t reportlen, size_t *used)
{
    int lines = 0;
    for (unsigned s = 0; s < BD_REDIS_NSLOTS; s++) {
        if (m->owner[s] >= 0)
            continue;
        unsigned e = s;
        while (e + 1 < BD_REDIS_NSLOTS && m->owner[e + 1] < 0)
            e++;
        if (lines++ < 10)
            say(report, reportlen, used, "slots %u-%u: not covered\n", s, e);
        s = e;
    }
}

int bd_redis_check(bd_redis *r, char *report, size_t reportlen)
{
    size_t used = 0;
    int transient, bad = 0;
    char err[512];
    if (reportlen)
        report[0] = '\0';
    if (!r->is_cluster)
        return check_node(r, r->nodes[r->standalone].addr, "standalone", report, reportlen, &used);
    if (refresh_map(r, &transient, err, sizeof err) < 0) {
        say(report, reportlen, &used, "cannot load the slot map: %s\n", err);
        return -1;
    }
    size_t uncovered = bd_redis_slotmap_uncovered(r->map);
    if (uncovered) {
        say(report, reportlen, &used, "%zu of %d slots not covered\n", uncovered, BD_REDIS_NSLOTS);
        report_uncovered(r->map, report, reportlen, &used);
        bad = 1;
    } else {
        say(report, reportlen, &used, "all %d slots covered by %zu masters\n", BD_REDIS_NSLOTS, r->map->nmasters);
    }
    for (size_t i = 0; i < r->map->nmasters; i++)
        bad |= check_node(r, r->map->masters[i], "master", report, reportlen, &used) < 0;
    for (size_t i = 0; i < r->map->nreplicas; i++)
        bad |= check_node(r, r->map->replicas[i], "replica", report, reportlen, &used) < 0;
    return bad ? -1 : 0;
}
