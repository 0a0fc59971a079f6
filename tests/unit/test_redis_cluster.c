/* test_redis_cluster.c: the Redis routing layer (agent/redis_cluster.c) against real servers started by tests/e2e/t_redis_layer.sh (TAP). */
#include "config.h"
#include "redis_cluster.h"
#include "redis_slots.h"
#include "tap.h"
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define NKEYS 20000
#define BATCH 5000

static const char *g_password; /* NULL: none */
static const char *g_salt;
static int g_timeout_ms;
static const char *g_seeds[16];
static size_t g_nseeds;

static const char *env(const char *k, const char *dflt)
{
    const char *v = getenv(k);
    return v && *v ? v : dflt;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* REDIS_SEEDS "h:p,h:p,..." into g_seeds (the string is kept) */
static void parse_seeds(char *list)
{
    for (char *tok = strtok(list, ","); tok && g_nseeds < 16; tok = strtok(NULL, ","))
        g_seeds[g_nseeds++] = tok;
}

/* ---------------------------------------------------------------- batches of SET/GET */

typedef struct batch {
    size_t n;
    bd_redis_cmd *cmds;
    const char **argv;
    size_t *argvlen;
    char (*keys)[64];
    char (*vals)[96];
} batch;

static void value_of(char out[96], const char *key)
{
    snprintf(out, 96, "value:%s:%s:%08x", g_salt, key, (unsigned)bd_redis_crc16(key, strlen(key)) * 2654435761u);
}

/* n commands "SET key value" (set=1) or "GET key" over the keys prefix<from>..prefix<from+n-1> */
static batch *batch_new(const char *prefix, size_t from, size_t n, int set)
{
    batch *b = calloc(1, sizeof *b);
    if (!b)
        abort();
    b->n = n;
    b->cmds = calloc(n, sizeof *b->cmds);
    b->argv = calloc(n * 3, sizeof *b->argv);
    b->argvlen = calloc(n * 3, sizeof *b->argvlen);
    b->keys = calloc(n, sizeof *b->keys);
    b->vals = calloc(n, sizeof *b->vals);
    if (!b->cmds || !b->argv || !b->argvlen || !b->keys || !b->vals)
        abort();
    for (size_t i = 0; i < n; i++) {
        snprintf(b->keys[i], 64, "%s%zu", prefix, from + i);
        value_of(b->vals[i], b->keys[i]);
        const char **a = &b->argv[i * 3];
        size_t *l = &b->argvlen[i * 3];
        a[0] = set ? "SET" : "GET";
        a[1] = b->keys[i];
        a[2] = b->vals[i];
        l[0] = 3;
        l[1] = strlen(a[1]);
        l[2] = strlen(a[2]);
        b->cmds[i] = (bd_redis_cmd){.argc = set ? 3 : 2, .argv = a, .argvlen = l, .key_arg = 1};
    }
    return b;
}

static void batch_free(batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->cmds[i].reply)
            freeReplyObject(b->cmds[i].reply);
    free(b->cmds);
    free(b->argv);
    free(b->argvlen);
    free(b->keys);
    free(b->vals);
    free(b);
}

/* How many replies are right: "OK" for a SET, the key's value for a GET. */
static size_t batch_good(const batch *b)
{
    size_t good = 0;
    for (size_t i = 0; i < b->n; i++) {
        const redisReply *r = b->cmds[i].reply;
        if (!r)
            continue;
        if (b->cmds[i].argc == 3)
            good += r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;
        else
            good += r->type == REDIS_REPLY_STRING && strcmp(r->str, b->vals[i]) == 0;
    }
    return good;
}

/* Run SET or GET over count keys in batches; the number of right replies, or -1 (printed) on a failed exec. */
static long run_batches(bd_redis *h, const char *prefix, size_t count, size_t per, int set)
{
    long good = 0;
    for (size_t from = 0; from < count; from += per) {
        batch *b = batch_new(prefix, from, count - from < per ? count - from : per, set);
        int transient = -1;
        char err[512] = "";
        if (bd_redis_exec(h, b->cmds, b->n, &transient, err, sizeof err) != 0) {
            printf("# exec failed (transient %d): %s\n", transient, err);
            batch_free(b);
            return -1;
        }
        good += (long)batch_good(b);
        batch_free(b);
    }
    return good;
}

static bd_redis *open_handle(const char *const *seeds, size_t nseeds, const char *password)
{
    int transient = -1;
    char err[512] = "";
    bd_redis *h = bd_redis_open(seeds, nseeds, password, g_timeout_ms, &transient, err, sizeof err);
    if (!h)
        printf("# open failed (transient %d): %s\n", transient, err);
    return h;
}

/* ---------------------------------------------------------------- direct admin connections (plain hiredis) */

static redisContext *admin(const char *addr)
{
    char host[256];
    int port;
    if (bd_redis_split_addr(addr, host, sizeof host, &port) < 0)
        return NULL;
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (!c || c->err) {
        printf("# admin connect %s: %s\n", addr, c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (g_password) {
        redisReply *r = redisCommand(c, "AUTH %s", g_password);
        if (r)
            freeReplyObject(r);
    }
    return c;
}

/* A command on addr; the reply (caller frees) or NULL. */
__attribute__((format(printf, 2, 3))) static redisReply *admin_cmd(const char *addr, const char *fmt, ...)
{
    redisContext *c = admin(addr);
    if (!c)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!r)
        printf("# admin %s: %s\n", addr, c->errstr);
    else if (r->type == REDIS_REPLY_ERROR)
        printf("# admin %s: %s: %s\n", addr, fmt, r->str);
    redisFree(c);
    return r;
}

static int reply_ok(redisReply *r);

/* MIGRATE keys from src to dst in one call (AUTH when there is a password). */
static int migrate(const char *src, const char *dst, const char *const *keys, size_t nkeys)
{
    char host[256], port[16];
    int p, argc = 0;
    const char **argv = calloc(nkeys + 10, sizeof *argv);
    if (!argv || bd_redis_split_addr(dst, host, sizeof host, &p) < 0) {
        free(argv);
        return 0;
    }
    snprintf(port, sizeof port, "%d", p);
    const char *head[] = {"MIGRATE", host, port, "", "0", "5000"};
    for (size_t i = 0; i < 6; i++)
        argv[argc++] = head[i];
    if (g_password) {
        argv[argc++] = "AUTH";
        argv[argc++] = g_password;
    }
    argv[argc++] = "KEYS";
    for (size_t i = 0; i < nkeys; i++)
        argv[argc++] = keys[i];
    redisContext *c = admin(src);
    redisReply *r = c ? redisCommandArgv(c, argc, argv, NULL) : NULL;
    if (c && !r)
        printf("# MIGRATE on %s: %s\n", src, c->errstr);
    else if (r && r->type == REDIS_REPLY_ERROR)
        printf("# MIGRATE on %s: %s\n", src, r->str);
    if (c)
        redisFree(c);
    free(argv);
    return reply_ok(r);
}

/* MIGRATE every key src still holds in slot (CLUSTER GETKEYSINSLOT), as a real resharding does. */
static int migrate_slot(const char *src, const char *dst, unsigned slot)
{
    redisReply *r = admin_cmd(src, "CLUSTER GETKEYSINSLOT %u 100000", slot);
    int ok = 0;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
        const char **keys = calloc(r->elements, sizeof *keys);
        for (size_t i = 0; keys && i < r->elements; i++)
            keys[i] = r->element[i]->str;
        ok = keys && migrate(src, dst, keys, r->elements);
        free(keys);
    }
    if (r)
        freeReplyObject(r);
    return ok;
}

/* Print a multi-line report as TAP comments. */
static void print_report(const char *report)
{
    for (const char *p = report; *p;) {
        size_t len = strcspn(p, "\n");
        printf("#   %.*s\n", (int)len, p);
        p += len + (p[len] == '\n');
    }
}

/* The slot map as some live seed sees it now. */
static bd_redis_slotmap *current_map(void)
{
    for (size_t i = 0; i < g_nseeds; i++) {
        redisReply *r = admin_cmd(g_seeds[i], "CLUSTER SLOTS");
        bd_redis_slotmap *m = bd_redis_slotmap_new();
        char err[256];
        int ok = r && m && bd_redis_slotmap_parse(m, r, "127.0.0.1", err, sizeof err) == 0;
        if (r)
            freeReplyObject(r);
        if (ok)
            return m;
        bd_redis_slotmap_free(m);
    }
    return NULL;
}

/* The replica address serving slot (first listed), from a fresh CLUSTER SLOTS of node addr. */
static int replica_of_slot(const char *addr, unsigned slot, char *out, size_t outlen)
{
    redisReply *r = admin_cmd(addr, "CLUSTER SLOTS");
    int found = -1;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (e->elements >= 4 && (unsigned)e->element[0]->integer <= slot && slot <= (unsigned)e->element[1]->integer) {
            snprintf(out, outlen, "%s:%lld", e->element[3]->element[0]->str, e->element[3]->element[1]->integer);
            found = 0;
        }
    }
    if (r)
        freeReplyObject(r);
    return found;
}

static char *node_id(const char *addr, char *out, size_t outlen)
{
    redisReply *r = admin_cmd(addr, "CLUSTER MYID");
    snprintf(out, outlen, "%s", r && r->type == REDIS_REPLY_STRING ? r->str : "?");
    if (r)
        freeReplyObject(r);
    return out;
}

static int reply_ok(redisReply *r)
{
    int ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;
    if (r)
        freeReplyObject(r);
    return ok;
}

/* ---------------------------------------------------------------- phases */

static void phase_standalone(void)
{
    bd_redis *h = open_handle(g_seeds, g_nseeds, g_password);
    TAP_OK(h != NULL, "standalone: open");
    if (!h)
        return;
    TAP_EQ_INT(bd_redis_is_cluster(h), 0, "standalone: not a cluster");
    TAP_EQ_INT(run_batches(h, "sa:", NKEYS, BATCH, 1), NKEYS, "standalone: SET %d keys in batches of %d", NKEYS, BATCH);
    TAP_EQ_INT(run_batches(h, "sa:", NKEYS, BATCH, 0), NKEYS, "standalone: GET gives back all %d values", NKEYS);
    bd_redis_stats st;
    bd_redis_get_stats(h, &st);
    TAP_OK(st.round_trips <= 16, "standalone: 40000 commands in %lu pipelined round trips", st.round_trips);
    TAP_EQ_INT(st.connects, 1, "standalone: one connection");

    /* an error reply is the caller's business; a missing key is a nil reply; binary keys and values */
    const char *lpush[] = {"LPUSH", "sa:0", "x"}, *get404[] = {"GET", "sa:no-such-key"};
    const char bkey[] = {'b', 0, 'k'}, bval[] = {'v', 0, '\n', 'w'};
    const char *bset[] = {"SET", bkey, bval}, *bget[] = {"GET", bkey};
    size_t lpush_len[] = {5, 4, 1}, get404_len[] = {3, 14}, bset_len[] = {3, 3, 4}, bget_len[] = {3, 3};
    bd_redis_cmd cmds[] = {{3, lpush, lpush_len, 1, NULL}, {2, get404, get404_len, 1, NULL},
                           {3, bset, bset_len, 1, NULL}, {2, bget, bget_len, 1, NULL}};
    int transient = -1;
    char err[512] = "";
    TAP_EQ_INT(bd_redis_exec(h, cmds, 4, &transient, err, sizeof err), 0, "standalone: a batch of LPUSH on a string, GET of nothing, binary SET/GET runs%s%s", *err ? ": " : "", err);
    TAP_OK(cmds[0].reply && cmds[0].reply->type == REDIS_REPLY_ERROR && strncmp(cmds[0].reply->str, "WRONGTYPE", 9) == 0,
           "standalone: LPUSH on a string gives the WRONGTYPE reply to the caller");
    TAP_OK(cmds[1].reply && cmds[1].reply->type == REDIS_REPLY_NIL, "standalone: a missing key is nil");
    TAP_OK(cmds[3].reply && cmds[3].reply->type == REDIS_REPLY_STRING && cmds[3].reply->len == 4 &&
               memcmp(cmds[3].reply->str, bval, 4) == 0,
           "standalone: binary key and value with NUL bytes round-trip");
    for (size_t i = 0; i < 4; i++)
        if (cmds[i].reply)
            freeReplyObject(cmds[i].reply);

    /* the server drops our connection: the next exec reconnects by itself */
    redisReply *r = admin_cmd(g_seeds[0], "CLIENT KILL TYPE normal SKIPME yes");
    TAP_OK(r && r->type == REDIS_REPLY_INTEGER && r->integer >= 1, "standalone: server closed our connection");
    if (r)
        freeReplyObject(r);
    TAP_EQ_INT(run_batches(h, "sa:", 2000, 2000, 0), 2000, "standalone: reads work again after the connection was killed");
    bd_redis_get_stats(h, &st);
    TAP_EQ_INT(st.connects, 2, "standalone: reconnected once");

    char report[2048];
    TAP_EQ_INT(bd_redis_check(h, report, sizeof report), 0, "standalone: check passes");
    TAP_OK(strstr(report, "standalone 127.0.0.1:") && strstr(report, ": ok"), "standalone: check report: %.*s",
           (int)strcspn(report, "\n"), report);
    bd_redis_close(h);
}

static void phase_cluster(void)
{
    bd_redis *h = open_handle(g_seeds, g_nseeds, g_password);
    TAP_OK(h != NULL, "cluster: open");
    if (!h)
        return;
    TAP_EQ_INT(bd_redis_is_cluster(h), 1, "cluster: is a cluster");
    /* our hashing agrees with the server's CLUSTER KEYSLOT */
    const char *keys[] = {"foo", "bar", "{user1000}.following", "foo{}{bar}", "foo{{bar}}zap", "k:0", "k:19999", "a{b}c", "{}", "x{y"};
    int agree = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        redisReply *r = admin_cmd(g_seeds[0], "CLUSTER KEYSLOT %s", keys[i]);
        agree += r && r->type == REDIS_REPLY_INTEGER && (unsigned)r->integer == bd_redis_key_slot(keys[i], strlen(keys[i]));
        if (r)
            freeReplyObject(r);
    }
    TAP_EQ_INT(agree, 10, "cluster: bd_redis_key_slot agrees with CLUSTER KEYSLOT on 10 keys");
    TAP_EQ_INT(run_batches(h, "k:", NKEYS, BATCH, 1), NKEYS, "cluster: SET %d keys in batches of %d", NKEYS, BATCH);
    TAP_EQ_INT(run_batches(h, "k:", NKEYS, BATCH, 0), NKEYS, "cluster: GET gives back all %d values", NKEYS);
    bd_redis_stats st;
    bd_redis_get_stats(h, &st);
    TAP_EQ_INT(st.moved + st.ask, 0, "cluster: no redirection with a fresh map");
    TAP_OK(st.round_trips <= 3 * 16, "cluster: 40000 commands in %lu pipelined round trips", st.round_trips);
    char report[4096];
    int rc = bd_redis_check(h, report, sizeof report);
    TAP_EQ_INT(rc, 0, "cluster: check passes on the healthy cluster");
    TAP_OK(strstr(report, "all 16384 slots covered by 3 masters") != NULL, "cluster: check reports full coverage");
    int replicas = 0;
    for (const char *p = report; (p = strstr(p, "replica ")); p++)
        replicas++;
    TAP_EQ_INT(replicas, 3, "cluster: check lists 3 replicas");
    TAP_OK(strstr(report, "unreachable") == NULL && strstr(report, "not ok") == NULL, "cluster: every node answers");
    if (rc != 0)
        print_report(report);
    bd_redis_close(h);
}

/* Move the slot of "{mv}" to another master while a handle with the old map stays open. */
static void phase_moved(void)
{
    bd_redis *h = open_handle(g_seeds, g_nseeds, g_password);
    TAP_OK(h != NULL, "moved: open");
    if (!h)
        return;
    const size_t n = 200;
    TAP_EQ_INT(run_batches(h, "{mv}:", n, n, 1), (long)n, "moved: SET 200 keys of one slot");
    unsigned slot = bd_redis_key_slot("mv", 2);
    bd_redis_slotmap *m = current_map();
    TAP_OK(m && bd_redis_slotmap_master(m, slot), "moved: slot %u has a master", slot);
    if (!m || !bd_redis_slotmap_master(m, slot)) {
        bd_redis_slotmap_free(m);
        bd_redis_close(h);
        return;
    }
    char src[300], dst[300], src_id[64], dst_id[64], dst_host[256];
    int dst_port;
    snprintf(src, sizeof src, "%s", bd_redis_slotmap_master(m, slot));
    snprintf(dst, sizeof dst, "%s", strcmp(m->masters[0], src) ? m->masters[0] : m->masters[1]);
    bd_redis_split_addr(dst, dst_host, sizeof dst_host, &dst_port);
    node_id(src, src_id, sizeof src_id);
    node_id(dst, dst_id, sizeof dst_id);
    printf("# moving slot %u from %s to %s\n", slot, src, dst);
    TAP_OK(reply_ok(admin_cmd(dst, "CLUSTER SETSLOT %u IMPORTING %s", slot, src_id)), "moved: %s IMPORTING", dst);
    TAP_OK(reply_ok(admin_cmd(src, "CLUSTER SETSLOT %u MIGRATING %s", slot, dst_id)), "moved: %s MIGRATING", src);
    /* half the keys move: the rest stay on the source until the end */
    const char *first_half[100];
    for (size_t i = 0; i < n / 2; i++)
        first_half[i] = "";
    batch *names = batch_new("{mv}:", 0, n / 2, 0);
    for (size_t i = 0; i < n / 2; i++)
        first_half[i] = names->keys[i];
    TAP_OK(migrate(src, dst, first_half, n / 2), "moved: MIGRATE 100 of the 200 keys");
    batch_free(names);
    bd_redis_stats before, after;
    bd_redis_get_stats(h, &before);
    TAP_EQ_INT(run_batches(h, "{mv}:", n, n, 0), (long)n, "moved (ASK): all 200 values read while the slot migrates");
    bd_redis_get_stats(h, &after);
    TAP_EQ_INT(after.ask - before.ask, n / 2, "moved (ASK): the 100 moved keys were followed by ASK");
    TAP_EQ_INT(after.moved - before.moved, 0, "moved (ASK): no MOVED, the map is untouched");
    TAP_EQ_INT(run_batches(h, "{mv}:new", 1, 1, 1), 1, "moved (ASK): a new key of the migrating slot is SET (via ASK)");
    TAP_EQ_INT(run_batches(h, "{mv}:new", 1, 1, 0), 1, "moved (ASK): and read back");
    TAP_OK(migrate_slot(src, dst, slot), "moved: MIGRATE the rest of slot %u (our other 100 keys and any k:*)", slot);
    TAP_OK(reply_ok(admin_cmd(dst, "CLUSTER SETSLOT %u NODE %s", slot, dst_id)), "moved: SETSLOT NODE on the target");
    TAP_OK(reply_ok(admin_cmd(src, "CLUSTER SETSLOT %u NODE %s", slot, dst_id)), "moved: SETSLOT NODE on the source");
    for (size_t i = 0; i < m->nmasters; i++)
        if (strcmp(m->masters[i], src) && strcmp(m->masters[i], dst))
            TAP_OK(reply_ok(admin_cmd(m->masters[i], "CLUSTER SETSLOT %u NODE %s", slot, dst_id)),
                   "moved: SETSLOT NODE on the third master");
    before = after;
    bd_redis_get_stats(h, &before);
    TAP_EQ_INT(run_batches(h, "{mv}:", n, n, 0), (long)n, "moved (MOVED): all 200 values read with the stale map");
    bd_redis_get_stats(h, &after);
    TAP_EQ_INT(after.moved - before.moved, n, "moved (MOVED): each of the 200 was redirected once");
    before = after;
    TAP_EQ_INT(run_batches(h, "{mv}:", n, n, 0), (long)n, "moved: read again");
    bd_redis_get_stats(h, &after);
    TAP_EQ_INT(after.moved - before.moved, 0, "moved: no MOVED once the map was updated");
    TAP_EQ_INT(run_batches(h, "k:", NKEYS, BATCH, 0), NKEYS, "moved: the %d other keys still read", NKEYS);
    redisReply *cnt = admin_cmd(dst, "CLUSTER COUNTKEYSINSLOT %u", slot);
    long long in_slot = (long long)n + 1;
    char key[32];
    for (int i = 0; i < NKEYS; i++) {
        snprintf(key, sizeof key, "k:%d", i);
        in_slot += bd_redis_key_slot(key, strlen(key)) == slot;
    }
    TAP_OK(cnt && cnt->type == REDIS_REPLY_INTEGER && cnt->integer == in_slot,
           "moved: the target holds the %lld keys of slot %u", in_slot, slot);
    if (cnt)
        freeReplyObject(cnt);
    bd_redis_slotmap_free(m);
    bd_redis_close(h);
}

static pid_t server_pid(const char *addr)
{
    redisReply *r = admin_cmd(addr, "INFO server");
    const char *p = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, "process_id:") : NULL;
    pid_t pid = p ? (pid_t)atol(p + 11) : -1;
    if (r)
        freeReplyObject(r);
    return pid;
}

/* SIGKILL the master of k:0 while the handle is open; exec fails transiently, then works after the failover. */
static void phase_failover(void)
{
    bd_redis *h = open_handle(g_seeds, g_nseeds, g_password);
    TAP_OK(h != NULL, "failover: open");
    if (!h)
        return;
    TAP_EQ_INT(run_batches(h, "k:", NKEYS, BATCH, 0), NKEYS, "failover: all values read before");
    unsigned slot = bd_redis_key_slot("k:0", 3);
    bd_redis_slotmap *m = current_map();
    char master[300] = "?", replica[300] = "?";
    if (m && bd_redis_slotmap_master(m, slot))
        snprintf(master, sizeof master, "%s", bd_redis_slotmap_master(m, slot));
    bd_redis_slotmap_free(m);
    TAP_EQ_INT(replica_of_slot(master, slot, replica, sizeof replica), 0, "failover: %s has replica %s", master, replica);
    redisReply *w = admin_cmd(master, "WAIT 1 2000");
    TAP_OK(w && w->type == REDIS_REPLY_INTEGER && w->integer >= 1, "failover: WAIT 1: the replica has every write");
    if (w)
        freeReplyObject(w);
    pid_t pid = server_pid(master);
    TAP_OK(pid > 1 && kill(pid, SIGKILL) == 0, "failover: SIGKILL master %s (pid %ld)", master, (long)pid);

    batch *b = batch_new("k:", 0, NKEYS, 0);
    double t0 = now_ms(), first_fail_ms = -1, ok_ms = -1;
    int attempts = 0, first_transient = -1, permanent = 0;
    size_t answered_after_first = 0;
    char first_err[512] = "";
    while (now_ms() - t0 < 60000) {
        int transient = -1;
        char err[512] = "";
        int rc = bd_redis_exec(h, b->cmds, b->n, &transient, err, sizeof err);
        attempts++;
        if (rc == 0) {
            ok_ms = now_ms() - t0;
            break;
        }
        if (first_transient < 0) {
            first_transient = transient;
            first_fail_ms = now_ms() - t0;
            snprintf(first_err, sizeof first_err, "%s", err);
            for (size_t i = 0; i < b->n; i++)
                answered_after_first += b->cmds[i].reply != NULL;
        }
        permanent += transient == 0;
        usleep(200 * 1000);
    }
    printf("# first failure after %.0f ms: %s\n", first_fail_ms, first_err);
    printf("# %d attempts, success after %.0f ms\n", attempts, ok_ms);
    TAP_EQ_INT(first_transient, 1, "failover: exec right after the kill fails, transient");
    TAP_OK(first_fail_ms >= 0 && first_fail_ms < 5000, "failover: ... within %.0f ms", first_fail_ms);
    TAP_OK(strstr(first_err, master) != NULL, "failover: the error names the dead node: %s", first_err);
    TAP_OK(answered_after_first > 0 && answered_after_first < NKEYS,
           "failover: the other masters' %zu keys were answered (kept, not re-sent)", answered_after_first);
    TAP_EQ_INT(permanent, 0, "failover: never a permanent error");
    TAP_OK(ok_ms >= 0, "failover: the same handle succeeds again after %d attempts", attempts);
    TAP_EQ_INT(batch_good(b), NKEYS, "failover: all %d values readable, those of the dead master from its replica", NKEYS);
    batch_free(b);
    m = current_map();
    TAP_EQ_STR(m ? bd_redis_slotmap_master(m, slot) : NULL, replica, "failover: the replica now serves slot %u", slot);
    bd_redis_slotmap_free(m);
    TAP_EQ_INT(run_batches(h, "k:", NKEYS, BATCH, 1), NKEYS, "failover: writes work again (to the promoted replica)");
    bd_redis_close(h);
}

/* A fresh handle after the shell killed another master: some seeds are dead, every value still there. */
static void phase_reread(void)
{
    bd_redis *h = open_handle(g_seeds, g_nseeds, g_password);
    TAP_OK(h != NULL, "reread: open with dead seeds in the list");
    if (!h)
        return;
    TAP_EQ_INT(run_batches(h, "k:", NKEYS, BATCH, 0), NKEYS, "reread: all %d values", NKEYS);
    TAP_EQ_INT(run_batches(h, "{mv}:", 200, 200, 0), 200, "reread: the 200 migrated keys");
    char report[4096];
    int rc = bd_redis_check(h, report, sizeof report);
    TAP_EQ_INT(rc, 0, "reread: check passes (3 masters, dead nodes no longer listed)");
    if (rc)
        print_report(report);
    bd_redis_close(h);
}

static void phase_password(void)
{
    const char *wrong = "Wr0ng-Pa55word-XYZ";
    int transient = -1;
    char err[512] = "";
    bd_redis *h = bd_redis_open(g_seeds, g_nseeds, wrong, g_timeout_ms, &transient, err, sizeof err);
    TAP_OK(h == NULL, "password: a wrong password fails open");
    TAP_EQ_INT(transient, 0, "password: ... permanently");
    TAP_OK(strstr(err, "authentication failed") != NULL && strstr(err, g_seeds[0]) != NULL,
           "password: ... with a clear message naming the node: %s", err);
    TAP_OK(strstr(err, wrong) == NULL && strstr(err, g_password) == NULL, "password: the message has no password");
    bd_redis_close(h);
    transient = -1;
    h = bd_redis_open(g_seeds, g_nseeds, NULL, g_timeout_ms, &transient, err, sizeof err);
    TAP_OK(h == NULL && transient == 0, "password: no password fails open permanently");
    TAP_OK(strstr(err, "NOAUTH") != NULL, "password: ... saying so: %s", err);
    bd_redis_close(h);
    h = open_handle(g_seeds, g_nseeds, g_password);
    TAP_OK(h != NULL, "password: the right password opens");
    TAP_EQ_INT(h ? run_batches(h, "k:", 1000, 1000, 0) : -1, 1000, "password: ... and reads");
    bd_redis_close(h);
}

/* DELSLOTS one slot on every node: check reports it, exec of a key there fails transiently. */
static void phase_delslots(void)
{
    bd_redis *h = open_handle(g_seeds, g_nseeds, g_password);
    TAP_OK(h != NULL, "delslots: open");
    if (!h)
        return;
    unsigned slot = bd_redis_key_slot("k:7", 3);
    int deleted = 0;
    for (size_t i = 0; i < g_nseeds; i++) {
        redisReply *r = admin_cmd(g_seeds[i], "CLUSTER DELSLOTS %u", slot);
        deleted += reply_ok(r);
    }
    TAP_OK(deleted >= 4, "delslots: slot %u forgotten by the %d live nodes", slot, deleted);
    char report[4096];
    TAP_EQ_INT(bd_redis_check(h, report, sizeof report), -1, "delslots: check fails");
    print_report(report);
    char want[64];
    snprintf(want, sizeof want, "slots %u-%u: not covered", slot, slot);
    TAP_OK(strstr(report, "1 of 16384 slots not covered") && strstr(report, want), "delslots: check names slot %u", slot);
    batch *b = batch_new("k:", 7, 1, 0);
    int transient = -1;
    char err[512] = "";
    TAP_EQ_INT(bd_redis_exec(h, b->cmds, 1, &transient, err, sizeof err), -1, "delslots: GET of a key there fails");
    TAP_EQ_INT(transient, 1, "delslots: ... transiently: %s", err);
    batch_free(b);
    bd_redis_close(h);
}

/* A TCP listener that never answers (connect works, no reply ever comes). */
static int silent_listener(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 8) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static void phase_unreachable(void)
{
    int transient = -1;
    char err[512] = "";
    double t0 = now_ms();
    bd_redis *h = bd_redis_open(g_seeds, g_nseeds, g_password, g_timeout_ms, &transient, err, sizeof err);
    double took = now_ms() - t0;
    TAP_OK(h == NULL, "unreachable: open fails with every seed down");
    TAP_EQ_INT(transient, 1, "unreachable: ... transiently: %s", err);
    TAP_OK(took < g_timeout_ms, "unreachable: ... at once (%.0f ms, refused)", took);
    bd_redis_close(h);

    int port = 0, fd = silent_listener(&port);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    const char *seeds[] = {addr};
    transient = -1;
    t0 = now_ms();
    h = bd_redis_open(seeds, 1, NULL, 500, &transient, err, sizeof err);
    took = now_ms() - t0;
    TAP_OK(fd >= 0 && h == NULL && transient == 1, "unreachable: a server that never answers: open fails, transient: %s", err);
    TAP_OK(took >= 400 && took < 1500, "unreachable: ... after the 500 ms timeout (%.0f ms)", took);
    bd_redis_close(h);
    if (fd >= 0)
        close(fd);
}

int main(void)
{
    const char *phase = getenv("REDIS_PHASE");
    if (!phase) {
        printf("1..0 # SKIP needs the servers that tests/e2e/t_redis_layer.sh starts\n");
        return 0;
    }
    static char seeds[4096];
    snprintf(seeds, sizeof seeds, "%s", env("REDIS_SEEDS", ""));
    parse_seeds(seeds);
    g_password = getenv("REDIS_PASSWORD") && *getenv("REDIS_PASSWORD") ? getenv("REDIS_PASSWORD") : NULL;
    g_salt = env("REDIS_SALT", "nosalt");
    g_timeout_ms = atoi(env("REDIS_TIMEOUT_MS", "2000"));
    static const struct {
        const char *name;
        void (*run)(void);
    } phases[] = {{"standalone", phase_standalone}, {"cluster", phase_cluster},   {"moved", phase_moved},
                  {"failover", phase_failover},     {"reread", phase_reread},     {"password", phase_password},
                  {"delslots", phase_delslots},     {"unreachable", phase_unreachable}};
    for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++)
        if (strcmp(phase, phases[i].name) == 0) {
            if (g_nseeds == 0)
                TAP_OK(0, "REDIS_SEEDS is set");
            else
                phases[i].run();
            return tap_done();
        }
    TAP_OK(0, "known REDIS_PHASE %s", phase);
    return tap_done();
}
