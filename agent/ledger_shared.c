/* ledger_shared.c: the fleet-wide duplicate ledger on Redis: pending entries by SET NX, takeover by compare-and-set. */
#include "config.h"
#include "ledger_shared.h"
#include "redis_cluster.h"
#include "strutil.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bd_shared_ledger {
    char **nodes; /* copies: a reload frees the configuration the ledger was opened with */
    size_t nnodes;
    char *password;
    int timeout_ms;
    bd_redis *conn; /* NULL until connected, and after a failure */
    char prefix[128];
};

/* Replace KEYS[1] by ARGV[2] only while it still holds ARGV[1]: one agent wins a takeover. */
static const char CAS_SCRIPT[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('SET', KEYS[1], ARGV[2]) else return 0 end";
/* Finalize KEYS[1] with ARGV[2] unless another claim (ARGV[1] is '"id":"<ours>"') took it over meanwhile. */
static const char FINISH_SCRIPT[] = "local v = redis.call('GET', KEYS[1]) "
                                    "if (not v) or string.find(v, ARGV[1], 1, true) then "
                                    "return redis.call('SET', KEYS[1], ARGV[2]) else return 0 end";

bd_shared_ledger *bd_shared_ledger_open(const bd_config *cfg, char *err, size_t errlen)
{
    err[0] = '\0';
    if (cfg->match_store != BD_STORE_REDIS)
        return NULL;
    bd_shared_ledger *sl = calloc(1, sizeof *sl);
    if (!sl) {
        snprintf(err, errlen, "shared ledger: out of memory");
        return NULL;
    }
    const bd_redis_store_conf *c = &cfg->redis;
    int ms = (int)(c->timeout * 1000);
    sl->timeout_ms = ms > 0 ? ms : 2000;
    snprintf(sl->prefix, sizeof sl->prefix, "%sf:", c->key_prefix ? c->key_prefix : "bd:");
    int ok = (sl->nodes = calloc(c->nnodes ? c->nnodes : 1, sizeof *sl->nodes)) != NULL &&
             (!c->password || (sl->password = strdup(c->password)));
    for (size_t i = 0; ok && i < c->nnodes; i++, sl->nnodes++)
        ok = (sl->nodes[i] = strdup(c->nodes[i])) != NULL;
    if (!ok) {
        snprintf(err, errlen, "shared ledger: out of memory");
        bd_shared_ledger_close(sl);
        return NULL;
    }
    return sl;
}

static int connect_ledger(bd_shared_ledger *sl, char *err, size_t errlen)
{
    int transient = 0;
    char why[384];
    if (sl->conn)
        return 0;
    sl->conn = bd_redis_open((const char *const *)sl->nodes, sl->nnodes, sl->password, sl->timeout_ms, &transient,
                             why, sizeof why);
    if (!sl->conn)
        snprintf(err, errlen, "shared ledger (redis): cannot connect: %s", why);
    return sl->conn ? 0 : -1;
}

/* One command; its reply (the caller frees), or NULL with err (the connection is dropped, to be made again). */
static redisReply *run(bd_shared_ledger *sl, int argc, const char **argv, const size_t *lens, int key_arg, char *err,
                       size_t errlen)
{
    int transient;
    char why[512];
    if (connect_ledger(sl, err, errlen) < 0)
        return NULL;
    bd_redis_cmd cmd = {.argc = argc, .argv = argv, .argvlen = lens, .key_arg = key_arg};
    if (bd_redis_exec(sl->conn, &cmd, 1, &transient, why, sizeof why) < 0) {
        snprintf(err, errlen, "shared ledger (redis): %s", why);
        bd_redis_close(sl->conn);
        sl->conn = NULL;
        return NULL;
    }
    if (cmd.reply->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "shared ledger (redis): %s: %s", argv[0], cmd.reply->str);
        freeReplyObject(cmd.reply);
        return NULL;
    }
    return cmd.reply;
}

static int full_key(bd_shared_ledger *sl, const char *key, char *out, size_t outlen)
{
    return bd_fmt(out, outlen, "%s%s", sl->prefix, key);
}

/* SET key value NX: 1 written, 0 exists, -1 error. */
static int set_nx(bd_shared_ledger *sl, const char *k, const char *value, char *err, size_t errlen)
{
    const char *argv[] = {"SET", k, value, "NX"};
    size_t lens[] = {3, strlen(k), strlen(value), 2};
    redisReply *rep = run(sl, 4, argv, lens, 1, err, errlen);
    if (!rep)
        return -1;
    int written = rep->type == REDIS_REPLY_STATUS;
    freeReplyObject(rep);
    return written;
}

/* GET key: 1 with *value (caller frees), 0 absent, -1 error. */
static int get(bd_shared_ledger *sl, const char *k, char **value, char *err, size_t errlen)
{
    const char *argv[] = {"GET", k};
    size_t lens[] = {3, strlen(k)};
    redisReply *rep = run(sl, 2, argv, lens, 1, err, errlen);
    if (!rep)
        return -1;
    int found = rep->type == REDIS_REPLY_STRING;
    *value = found ? bd_strndup(rep->str, rep->len) : NULL;
    freeReplyObject(rep);
    if (found && !*value) {
        snprintf(err, errlen, "shared ledger: out of memory");
        return -1;
    }
    return found;
}

/* Replace the key's value `seen` by `value` if nobody changed it meanwhile: -1 only on error. */
static int compare_and_set(bd_shared_ledger *sl, const char *k, const char *seen, const char *value, char *err,
                           size_t errlen)
{
    const char *argv[] = {"EVAL", CAS_SCRIPT, "1", k, seen, value};
    size_t lens[] = {4, sizeof CAS_SCRIPT - 1, 1, strlen(k), strlen(seen), strlen(value)};
    redisReply *rep = run(sl, 6, argv, lens, 3, err, errlen);
    if (!rep)
        return -1;
    freeReplyObject(rep);
    return 0;
}

/* What another entry of the key means for this claim: ours (a retry, or a reply lost with its connection),
 * abandoned (pending for longer than abandon_after seconds: its agent died), or held by a live delivery. */
enum holder { HELD, OURS, ABANDONED };

static enum holder judge_holder(const char *json, const char *claim_id, double abandon_after)
{
    json_t *e = json_loads(json, 0, NULL);
    const char *id = json_string_value(json_object_get(e, "id"));
    const char *status = json_string_value(json_object_get(e, "status"));
    json_int_t since = json_integer_value(json_object_get(e, "since_ms"));
    enum holder h = id && strcmp(id, claim_id) == 0 ? OURS
                    : status && strcmp(status, "pending") == 0 && since > 0 &&
                            (double)(bd_now_ms() - (int64_t)since) / 1000.0 > abandon_after
                        ? ABANDONED
                        : HELD;
    json_decref(e);
    return h;
}

int bd_shared_ledger_take(bd_shared_ledger *sl, const char *key, const char *claim_id, const char *pending_json,
                          double abandon_after, char **holder, char *err, size_t errlen)
{
    char k[512];
    *holder = NULL;
    if (full_key(sl, key, k, sizeof k) < 0) {
        snprintf(err, errlen, "shared ledger: key too long");
        return -1;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        int rc = set_nx(sl, k, pending_json, err, errlen);
        if (rc != 0)
            return rc; /* 1: written, ours; -1: error */
        char *seen = NULL;
        if ((rc = get(sl, k, &seen, err, errlen)) <= 0) {
            if (rc == 0)
                continue; /* deleted meanwhile (expired by hand?): try again */
            return -1;
        }
        enum holder h = judge_holder(seen, claim_id, abandon_after);
        if (h == OURS) {
            free(seen);
            return 1;
        }
        if (h == HELD) {
            *holder = seen;
            return 0;
        }
        rc = compare_and_set(sl, k, seen, pending_json, err, errlen); /* then read again: did we win it? */
        free(seen);
        if (rc < 0)
            return -1;
    }
    snprintf(err, errlen, "shared ledger: %s keeps changing under us", key);
    return -1;
}

int bd_shared_ledger_finish(bd_shared_ledger *sl, const char *key, const char *claim_id, const char *final_json,
                            char *err, size_t errlen)
{
    char k[512], mine[160];
    if (full_key(sl, key, k, sizeof k) < 0 || bd_fmt(mine, sizeof mine, "\"id\":\"%s\"", claim_id) < 0) {
        snprintf(err, errlen, "shared ledger: key too long");
        return -1;
    }
    const char *argv[] = {"EVAL", FINISH_SCRIPT, "1", k, mine, final_json};
    size_t lens[] = {4, sizeof FINISH_SCRIPT - 1, 1, strlen(k), strlen(mine), strlen(final_json)};
    redisReply *rep = run(sl, 6, argv, lens, 3, err, errlen);
    if (!rep)
        return -1;
    freeReplyObject(rep);
    return 0;
}

void bd_shared_ledger_close(bd_shared_ledger *sl)
{
    if (!sl)
        return;
    if (sl->conn)
        bd_redis_close(sl->conn);
    for (size_t i = 0; i < sl->nnodes; i++)
        free(sl->nodes[i]);
    free(sl->nodes);
    if (sl->password)
        explicit_bzero(sl->password, strlen(sl->password));
    free(sl->password);
    free(sl);
}
