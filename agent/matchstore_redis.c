/* matchstore_redis.c: the Redis / Redis Cluster backend of the ID-match table (pipelined GET and SET via redis_cluster.c). */
#include "config.h"
#include "conf.h"
#include "matchstore.h"
#include "match_puts.h"
#include "redis_cluster.h"
#include "strutil.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Key layout (readable with redis-cli; ids are binary safe):
 *   <key_prefix>m:<dpid>:<partner id>      e.g. bd:m:478:abc123
 * Value: "U" + our 38-digit ID, or for a link to another namespace "L<dpid>:<id>", the entry it maps through
 * (the key of that entry without "<key_prefix>m:"); links are followed up to BD_MATCH_MAX_HOPS.
 * Expiry: with match_ttl_days > 0 every SET carries EX <days * 86400>, so a mapping lives that long after it
 * was last written (re-sent ID-sync rows renew it); 0: no expiry.
 * Writes: an ID-sync file's puts are collected in the worker's memory (a later put of a key wins) and written by
 * the commit as pipelined SETs, CHUNK_SETS per bd_redis_exec. Unlike LMDB a commit is not atomic: a commit that
 * fails (transiently: the file stays claimed and is retried) may have written part of the file. That is harmless:
 * SET is idempotent and the retry writes all of it again, so re-applying a file always gives the same state. */

#define CHUNK_SETS 10000
#define PREFIX_MAX 64                                  /* conf_store.c refuses longer key_prefix values */
#define DPID_TEXT 21                                    /* "-9223372036854775808" + ':' */
#define KEY_CAP (PREFIX_MAX + 2 + DPID_TEXT + BD_MATCH_MAX_ID) /* prefix "m:" dpid ':' id */
#define LINK_MAX (1 + DPID_TEXT + BD_MATCH_MAX_ID)             /* 'L' dpid ':' id */

typedef struct redis_store {
    bd_matchstore base;
    char **nodes;
    size_t nnodes;
    char *password; /* NULL: no AUTH */
    int timeout_ms;
    char *prefix;
    size_t prefix_len;
    long long ttl_seconds; /* 0: no expiry */
    int readonly;
    bd_redis *conn; /* NULL until connected */
    char first_failure[384]; /* why the first of the failed connects since the last success failed */
} redis_store;

typedef struct redis_reader {
    bd_matchstore *ms; /* must come first: the dispatcher reads it */
    char error[768];
    size_t cap;            /* lookups the buffers below hold */
    char *keys[2];         /* this round's and the next round's keys, KEY_CAP bytes each */
    size_t *klen[2];
    size_t *slot[2];       /* the result each key resolves */
    bd_redis_cmd *cmds;
    const char **argv;
    size_t *argvlen;
} redis_reader;

typedef struct redis_batch {
    bd_matchstore *ms; /* must come first */
    bd_match_puts *puts;
} redis_batch;

/* ---------------------------------------------------------------- errors and connection */

/* The class of a failure, for the log: transient or permanent, and the sandbox's part in it. */
static const char *kind_of(int transient, const char *why)
{
    if (strstr(why, "Operation not permitted"))
        return "transient: a sandboxed worker cannot open new connections; the file is retried after "
               "retry_interval by a new worker, which connects first";
    return transient ? "transient: the file is retried after retry_interval"
                     : "permanent: check match_store and the servers; the file is retried after retry_interval";
}

/* Connect when not connected: 0, or -1 with err; *transient (may be NULL) says whether a retry may work. */
static int connect_store(redis_store *s, int *transient, char *err, size_t errlen)
{
    int t = 0;
    char why[384];
    if (transient)
        *transient = 0;
    if (s->conn)
        return 0;
    s->conn = bd_redis_open((const char *const *)s->nodes, s->nnodes, s->password, s->timeout_ms, &t, why,
                            sizeof why);
    if (!s->conn) {
        /* in a worker the first try was made before the sandbox: later ones fail with EPERM, so say both */
        int again = s->first_failure[0] && strcmp(s->first_failure, why) != 0;
        snprintf(err, errlen, "match store (redis): cannot connect: %s%s%s (%s)", again ? s->first_failure : why,
                 again ? "; again now: " : "", again ? why : "", kind_of(t, why));
        if (!s->first_failure[0])
            snprintf(s->first_failure, sizeof s->first_failure, "%s", why);
        if (transient)
            *transient = t;
        return -1;
    }
    s->first_failure[0] = '\0';
    bd_redis_connect_all(s->conn, why, sizeof why); /* best effort: a node down now fails later, if it matters */
    return 0;
}

static int ensure_connected(redis_store *s, char *err, size_t errlen)
{
    return connect_store(s, NULL, err, errlen);
}

static size_t make_key(const redis_store *s, char *key, int64_t dpid, const char *id, size_t len)
{
    int n = snprintf(key, KEY_CAP, "%sm:%lld:", s->prefix, (long long)dpid);
    memcpy(key + n, id, len);
    return (size_t)n + len;
}

/* ---------------------------------------------------------------- lookups */

static void free_reader_buffers(redis_reader *r)
{
    for (int i = 0; i < 2; i++) {
        free(r->keys[i]);
        free(r->klen[i]);
        free(r->slot[i]);
        r->keys[i] = NULL;
        r->klen[i] = NULL;
        r->slot[i] = NULL;
    }
    free(r->cmds);
    free(r->argv);
    free(r->argvlen);
    r->cmds = NULL;
    r->argv = NULL;
    r->argvlen = NULL;
    r->cap = 0;
}

static int reserve_lookups(redis_reader *r, size_t n)
{
    if (n <= r->cap)
        return 0;
    free_reader_buffers(r);
    for (int i = 0; i < 2; i++) {
        r->keys[i] = malloc(n * KEY_CAP);
        r->klen[i] = malloc(n * sizeof *r->klen[i]);
        r->slot[i] = malloc(n * sizeof *r->slot[i]);
    }
    r->cmds = malloc(n * sizeof *r->cmds);
    r->argv = malloc(2 * n * sizeof *r->argv);
    r->argvlen = malloc(2 * n * sizeof *r->argvlen);
    if (!r->keys[0] || !r->keys[1] || !r->klen[0] || !r->klen[1] || !r->slot[0] || !r->slot[1] || !r->cmds ||
        !r->argv || !r->argvlen) {
        free_reader_buffers(r);
        return -1;
    }
    r->cap = n;
    return 0;
}

static bd_matchreader *redis_reader_open(bd_matchstore *ms, char *err, size_t errlen)
{
    redis_store *s = (redis_store *)ms;
    if (ensure_connected(s, err, errlen) < 0)
        return NULL;
    redis_reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "match store (redis): out of memory for a reader");
        return NULL;
    }
    r->ms = ms;
    return (bd_matchreader *)r;
}

static void redis_reader_close(bd_matchreader *rd)
{
    redis_reader *r = (redis_reader *)rd;
    free_reader_buffers(r);
    free(r);
}

static const char *redis_reader_error(bd_matchreader *rd)
{
    return ((redis_reader *)rd)->error;
}

static void free_replies(bd_redis_cmd *cmds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cmds[i].reply) {
            freeReplyObject(cmds[i].reply);
            cmds[i].reply = NULL;
        }
}

/* GET every key of round `cur` (m of them) in one bd_redis_exec: 0, or -1 with r->error. */
static int get_round(redis_reader *r, int cur, size_t m)
{
    redis_store *s = (redis_store *)r->ms;
    for (size_t k = 0; k < m; k++) {
        r->argv[2 * k] = "GET";
        r->argvlen[2 * k] = 3;
        r->argv[2 * k + 1] = r->keys[cur] + k * KEY_CAP;
        r->argvlen[2 * k + 1] = r->klen[cur][k];
        r->cmds[k] = (bd_redis_cmd){.argc = 2, .argv = &r->argv[2 * k], .argvlen = &r->argvlen[2 * k], .key_arg = 1};
    }
    int transient = 0;
    char why[512];
    if (bd_redis_exec(s->conn, r->cmds, m, &transient, why, sizeof why) < 0) {
        free_replies(r->cmds, m);
        snprintf(r->error, sizeof r->error, "match store (redis): lookup of %zu IDs failed: %s (%s)", m, why,
                 kind_of(transient, why));
        return -1;
    }
    return 0;
}

static int is_link(const redisReply *rep)
{
    return rep->len >= 4 && rep->len <= LINK_MAX && rep->str[0] == 'L' && memchr(rep->str + 1, ':', rep->len - 1);
}

/* Take one GET reply for result `slot`: 0 resolved (found or not), 1 a link (its key queued in round nxt at *next),
 * -1 a value this code never writes (r->error set). */
static int take_value(redis_reader *r, const redisReply *rep, bd_match_result *res, int nxt, size_t *next,
                      const char *key, size_t klen, size_t slot)
{
    redis_store *s = (redis_store *)r->ms;
    if (rep->type == REDIS_REPLY_NIL) {
        res->found = 0;
        return 0;
    }
    if (rep->type == REDIS_REPLY_STRING && rep->len == 1 + BD_OURID_LEN && rep->str[0] == 'U' &&
        bd_is_our_id(rep->str + 1, BD_OURID_LEN)) {
        memcpy(res->ours, rep->str + 1, BD_OURID_LEN);
        res->ours[BD_OURID_LEN] = '\0';
        res->found = 1;
        return 0;
    }
    if (rep->type == REDIS_REPLY_STRING && is_link(rep)) {
        char *to = r->keys[nxt] + *next * KEY_CAP;
        memcpy(to, s->prefix, s->prefix_len);
        memcpy(to + s->prefix_len, "m:", 2);
        memcpy(to + s->prefix_len + 2, rep->str + 1, rep->len - 1);
        r->klen[nxt][*next] = s->prefix_len + 2 + rep->len - 1;
        r->slot[nxt][(*next)++] = slot;
        return 1;
    }
    char shown[128];
    bd_show_id(shown, sizeof shown, key, klen);
    snprintf(r->error, sizeof r->error, "match store (redis): key '%s' holds %s, not a mapping written by batchdrop "
             "(another program uses key_prefix '%s'?)", shown, rep->type == REDIS_REPLY_ERROR ? rep->str : "a value",
             s->prefix);
    return -1;
}

/* One round of m keys: resolve what can be, queue the links for round nxt. 0, or -1 with r->error. */
static int resolve_round(redis_reader *r, bd_match_result *results, int cur, size_t m, size_t *next)
{
    int nxt = !cur, rc = 0;
    *next = 0;
    if (get_round(r, cur, m) < 0)
        return -1;
    for (size_t k = 0; k < m && rc == 0; k++) {
        size_t slot = r->slot[cur][k];
        if (take_value(r, r->cmds[k].reply, &results[slot], nxt, next, r->keys[cur] + k * KEY_CAP,
                       r->klen[cur][k], slot) < 0)
            rc = -1;
    }
    free_replies(r->cmds, m);
    return rc;
}

static int redis_lookup_many(bd_matchreader *rd, const bd_match_key *keys, bd_match_result *results, size_t n)
{
    redis_reader *r = (redis_reader *)rd;
    redis_store *s = (redis_store *)r->ms;
    size_t m = 0, next = 0;
    r->error[0] = '\0';
    if (n == 0)
        return 0;
    if (reserve_lookups(r, n) < 0) {
        snprintf(r->error, sizeof r->error, "match store (redis): out of memory for %zu lookups", n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        results[i].found = 0;
        if (keys[i].id_len == 0 || keys[i].id_len > BD_MATCH_MAX_ID)
            continue; /* never stored: no match */
        r->klen[0][m] = make_key(s, r->keys[0] + m * KEY_CAP, keys[i].dpid, keys[i].id, keys[i].id_len);
        r->slot[0][m++] = i;
    }
    if (!s->conn && ensure_connected(s, r->error, sizeof r->error) < 0)
        return -1;
    int cur = 0;
    for (int hop = 0; hop < BD_MATCH_MAX_HOPS && m > 0; hop++) {
        if (resolve_round(r, results, cur, m, &next) < 0)
            return -1;
        cur = !cur;
        m = next;
    }
    return 0; /* a chain longer than BD_MATCH_MAX_HOPS (or a loop) resolves to nothing */
}

static int redis_lookup(bd_matchreader *rd, int64_t dpid, const char *id, size_t len, char ours[BD_OURID_LEN + 1])
{
    bd_match_key key = {dpid, id, len};
    bd_match_result res;
    if (redis_lookup_many(rd, &key, &res, 1) < 0)
        return -1;
    if (res.found)
        memcpy(ours, res.ours, BD_OURID_LEN + 1);
    return res.found;
}

/* ---------------------------------------------------------------- ID-sync batches */

static bd_matchbatch *redis_batch_begin(bd_matchstore *ms, char *err, size_t errlen)
{
    redis_store *s = (redis_store *)ms;
    if (s->readonly) {
        snprintf(err, errlen, "match store is open read-only");
        return NULL;
    }
    if (ensure_connected(s, err, errlen) < 0) /* fail now rather than after parsing the whole file */
        return NULL;
    redis_batch *b = calloc(1, sizeof *b);
    if (!b || !(b->puts = bd_match_puts_new())) {
        snprintf(err, errlen, "match store (redis): out of memory for a batch");
        free(b);
        return NULL;
    }
    b->ms = ms;
    return (bd_matchbatch *)b;
}

static int redis_batch_put(bd_matchbatch *bt, int64_t dpid, const char *id, size_t len, int64_t to_dpid,
                           const char *to, size_t to_len)
{
    redis_batch *b = (redis_batch *)bt;
    redis_store *s = (redis_store *)b->ms;
    char key[KEY_CAP], val[LINK_MAX + 1];
    size_t vlen;
    if (len == 0 || len > BD_MATCH_MAX_ID || to_len == 0 || to_len > BD_MATCH_MAX_ID) {
        errno = EINVAL;
        return -1;
    }
    if (to_dpid == 0) {
        if (!bd_is_our_id(to, to_len)) {
            errno = EINVAL;
            return -1;
        }
        val[0] = 'U';
        memcpy(val + 1, to, to_len);
        vlen = 1 + to_len;
    } else {
        int n = snprintf(val, sizeof val, "L%lld:", (long long)to_dpid);
        memcpy(val + n, to, to_len);
        vlen = (size_t)n + to_len;
    }
    size_t klen = make_key(s, key, dpid, id, len);
    return bd_match_puts_add(b->puts, key, klen, val, vlen);
}

/* The commit's SETs, CHUNK_SETS per bd_redis_exec, filled in key order by bd_match_puts_drain. Their key and value
 * pointers point into the batch's buffer, which stays put until the batch is freed. */
typedef struct set_chunk {
    redis_store *s;
    bd_redis_cmd cmds[CHUNK_SETS];
    const char *argv[5 * CHUNK_SETS];
    size_t argvlen[5 * CHUNK_SETS];
    size_t m, written;
    char ttl[32];
    int ttl_len, transient;
    char why[512];
} set_chunk;

/* Every reply must be +OK: 0, or -1 with why naming the key and the server's answer. */
static int check_set_replies(set_chunk *c)
{
    for (size_t k = 0; k < c->m; k++) {
        const redisReply *rep = c->cmds[k].reply;
        if (rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "OK") == 0)
            continue;
        char shown[128];
        bd_show_id(shown, sizeof shown, c->argv[5 * k + 1], c->argvlen[5 * k + 1]);
        snprintf(c->why, sizeof c->why, "SET %s: %s", shown,
                 rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
        return -1;
    }
    return 0;
}

static int send_chunk(set_chunk *c)
{
    if (c->m == 0)
        return 0;
    int rc = bd_redis_exec(c->s->conn, c->cmds, c->m, &c->transient, c->why, sizeof c->why) < 0 ||
                     check_set_replies(c) < 0
                 ? -1
                 : 0;
    if (rc == 0)
        c->written += c->m;
    free_replies(c->cmds, c->m);
    c->m = 0;
    return rc;
}

static int add_set(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    set_chunk *c = arg;
    const char **a = &c->argv[5 * c->m];
    size_t *l = &c->argvlen[5 * c->m];
    a[0] = "SET", l[0] = 3;
    a[1] = key, l[1] = klen;
    a[2] = val, l[2] = vlen;
    a[3] = "EX", l[3] = 2;
    a[4] = c->ttl, l[4] = (size_t)c->ttl_len;
    c->cmds[c->m] = (bd_redis_cmd){.argc = c->ttl_len ? 5 : 3, .argv = a, .argvlen = l, .key_arg = 1};
    return ++c->m == CHUNK_SETS ? send_chunk(c) : 0;
}

static void free_batch(redis_batch *b)
{
    bd_match_puts_free(b->puts);
    free(b);
}

static int redis_batch_commit(bd_matchbatch *bt, char *err, size_t errlen)
{
    redis_batch *b = (redis_batch *)bt;
    redis_store *s = (redis_store *)b->ms;
    size_t total = bd_match_puts_count(b->puts);
    set_chunk *c = calloc(1, sizeof *c);
    int rc = c ? ensure_connected(s, err, errlen) : -1;
    if (!c)
        snprintf(err, errlen, "match store (redis): out of memory for %d SET commands", CHUNK_SETS);
    if (rc == 0) {
        c->s = s;
        c->transient = 1;
        c->ttl_len = s->ttl_seconds > 0 ? snprintf(c->ttl, sizeof c->ttl, "%lld", s->ttl_seconds) : 0;
        rc = bd_match_puts_drain(b->puts, add_set, c) || send_chunk(c) ? -1 : 0;
        if (rc < 0)
            snprintf(err, errlen, "match store (redis): %s; %zu of %zu puts were written before the failure, the "
                     "retry writes them all again (%s)", c->why, c->written, total, kind_of(c->transient, c->why));
    }
    free(c);
    free_batch(b);
    return rc;
}

static void redis_batch_abort(bd_matchbatch *bt)
{
    free_batch((redis_batch *)bt);
}

/* ---------------------------------------------------------------- store */

/* DBSIZE summed over the masters: every key of the database, not only this store's. */
static int redis_count(bd_matchstore *ms, uint64_t *entries)
{
    redis_store *s = (redis_store *)ms;
    char err[1024];
    int transient;
    long long sum = 0;
    if (ensure_connected(s, err, sizeof err) < 0 ||
        bd_redis_sum_masters(s->conn, "DBSIZE", &sum, &transient, err, sizeof err) < 0)
        return -1;
    *entries = (uint64_t)sum;
    return 0;
}

static void redis_close(bd_matchstore *ms)
{
    redis_store *s = (redis_store *)ms;
    bd_redis_close(s->conn);
    for (size_t i = 0; i < s->nnodes; i++)
        free(s->nodes[i]);
    free(s->nodes);
    if (s->password) {
        memset(s->password, 0, strlen(s->password));
        free(s->password);
    }
    free(s->prefix);
    free(s);
}

static const bd_matchstore_ops redis_ops = {
    .name = "redis",
    .reader_open = redis_reader_open,
    .lookup = redis_lookup,
    .reader_close = redis_reader_close,
    .batch_begin = redis_batch_begin,
    .batch_put = redis_batch_put,
    .batch_commit = redis_batch_commit,
    .batch_abort = redis_batch_abort,
    .count = redis_count,
    .close = redis_close,
    .lookup_many = redis_lookup_many,
    .reader_error = redis_reader_error,
};

static int copy_conf(redis_store *s, const bd_redis_store_conf *c)
{
    if (!(s->nodes = calloc(c->nnodes ? c->nnodes : 1, sizeof *s->nodes)))
        return -1;
    for (; s->nnodes < c->nnodes; s->nnodes++)
        if (!(s->nodes[s->nnodes] = strdup(c->nodes[s->nnodes])))
            return -1;
    if (c->password && !(s->password = strdup(c->password)))
        return -1;
    if (!(s->prefix = strdup(c->key_prefix ? c->key_prefix : "bd:")))
        return -1;
    s->prefix_len = strlen(s->prefix);
    s->timeout_ms = c->timeout > 0 ? (int)(c->timeout * 1000) : 2000;
    s->ttl_seconds = (long long)c->ttl_days * 86400;
    return 0;
}

bd_matchstore *bd_matchstore_open_redis(const bd_redis_store_conf *c, int readonly, char *err, size_t errlen)
{
    redis_store *s = calloc(1, sizeof *s);
    err[0] = '\0';
    if (s)
        s->base.ops = &redis_ops;
    if (!s || copy_conf(s, c) < 0) {
        snprintf(err, errlen, "match store (redis): out of memory");
        if (s)
            redis_close(&s->base);
        return NULL;
    }
    if (s->prefix_len > PREFIX_MAX) {
        snprintf(err, errlen, "match store (redis): key_prefix is longer than %d bytes", PREFIX_MAX);
        redis_close(&s->base);
        return NULL;
    }
    s->readonly = readonly;
    int transient = 0;
    if (connect_store(s, &transient, err, errlen) < 0 && !transient) {
        redis_close(&s->base);
        return NULL;
    }
    return &s->base;
}
