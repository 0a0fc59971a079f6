/* redis_cluster.h: a small routing layer on hiredis for one standalone Redis or a Redis Cluster (slots, MOVED/ASK, failover). */
#ifndef BD_REDIS_CLUSTER_H
#define BD_REDIS_CLUSTER_H
#include <stddef.h>
#include <hiredis/hiredis.h>

/* A handle on one standalone Redis or one Redis Cluster: one hiredis connection per node, opened lazily, and
 * (cluster) the slot map. Not thread-safe: one handle per thread. Nothing is printed; errors go to err. */
typedef struct bd_redis bd_redis;

/* Connect to the first reachable seed ("host:port", "[v6]:port"), AUTH with password when it is not NULL, and
 * learn the topology: CLUSTER SLOTS gives the slot map, "cluster support disabled" means standalone (then every
 * command goes to that seed). timeout_ms bounds each connect and every reply.
 * NULL on failure with err (it names the node, never the password) and *transient: 1 when trying again later
 * may work (nothing reachable, timeout, CLUSTERDOWN, LOADING...), 0 when it will not (bad password, protocol
 * error, out of memory, malformed seed). */
bd_redis *bd_redis_open(const char *const *seeds, size_t nseeds, const char *password, int timeout_ms,
                        int *transient, char *err, size_t errlen);
/* 1 for a Redis Cluster, 0 for a standalone server (learned at open). */
int bd_redis_is_cluster(const bd_redis *r);

typedef struct bd_redis_cmd {
    int argc;
    const char **argv;
    const size_t *argvlen; /* the command, binary safe */
    int key_arg;           /* index of the argv holding the routing key (cluster) */
    redisReply *reply;     /* set by bd_redis_exec; owned by the caller (freeReplyObject) */
} bd_redis_cmd;

/* Run the n commands whose reply is NULL (set reply = NULL before the first call; commands already answered are
 * skipped, so the same array can be passed again after a transient failure). Commands are grouped by the node
 * serving their key's slot and pipelined (up to a few thousand per round trip). MOVED updates the slot map and
 * re-sends; ASK sends ASKING + the command to the named node without touching the map. A connection error drops
 * that node's connection, refreshes the map (CLUSTER SLOTS from any reachable node or seed) and retries, in at
 * most BD_REDIS_MAX_ROUNDS rounds within a deadline of BD_REDIS_MAX_ROUNDS * timeout_ms.
 * 0 when every command has a reply (a reply may be a Redis error such as WRONGTYPE: the caller's business).
 * -1 with err (naming the node) when some command has none: *transient = 1 for errors worth retrying later
 * (connection refused/reset, timeout, CLUSTERDOWN, TRYAGAIN, LOADING, MASTERDOWN, slot not covered, too many
 * redirects), 0 for permanent ones (authentication, protocol error, out of memory). On -1 some replies may be
 * set: the caller frees them (or passes the array again). A command whose reply was lost with its connection is
 * sent again, so it may run twice: use idempotent commands (SET, HSET, SADD...), not INCR or RPUSH.
 * A standalone handle always talks to the seed that answered bd_redis_open (other seeds are not failover nodes). */
int bd_redis_exec(bd_redis *r, bd_redis_cmd *cmds, size_t n, int *transient, char *err, size_t errlen);
#define BD_REDIS_MAX_ROUNDS 5

/* Connect now to every node known (cluster: every master and replica of the slot map; standalone: the server),
 * for a process that cannot open sockets later (the worker sandbox forbids socket/connect): after a failover the
 * promoted replica's connection is already there. 0 when every node connected; -1 when some did not, with err
 * naming the first (the others still connected; commands to an unreachable node fail as usual later). */
int bd_redis_connect_all(bd_redis *r, char *err, size_t errlen);

/* Run a command with an integer reply (e.g. DBSIZE) on every master (or the standalone server) and add the
 * replies. 0, or -1 with err naming the node and *transient as for bd_redis_exec. */
int bd_redis_sum_masters(bd_redis *r, const char *command, long long *sum, int *transient, char *err,
                         size_t errlen);

/* For `batchdrop check --connect`. Cluster: a fresh CLUSTER SLOTS must cover all 16384 slots, every master and
 * replica listed must answer PING (a new connection each) and every master must report cluster_state:ok.
 * Standalone: PING. Fills report with one line per finding; 0 when healthy, -1 otherwise. */
int bd_redis_check(bd_redis *r, char *report, size_t reportlen);

/* What the handle did so far (for tests and metrics). */
typedef struct bd_redis_stats {
    unsigned long moved, ask;  /* redirections followed */
    unsigned long refreshes;   /* slot map reloads */
    unsigned long connects;    /* connections opened */
    unsigned long round_trips; /* pipelines flushed */
} bd_redis_stats;
void bd_redis_get_stats(const bd_redis *r, bd_redis_stats *out);

void bd_redis_close(bd_redis *r);
#endif
