# t_redis_layer.sh: the Redis routing layer (agent/redis_cluster.c) against a real standalone redis-server and a 3+3 Redis Cluster, via tests/unit/test_redis_cluster.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
. "${BD_SRCDIR}/tests/e2e/redis_cluster.sh"
trap 'redis_stop_all; cleanup' EXIT
TEST_REDIS="$BD_BUILDDIR/tests/unit/test_redis_cluster"
# values carry a per-run salt, so data left by an earlier run can never pass for ours
REDIS_SALT=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
export REDIS_SALT

# run_c PHASE SEEDS: run the C test (under $REDIS_WRAP or else $BD_WRAP, e.g. valgrind, when set) and fold its
# TAP lines into ours
run_c() {
    REDIS_PHASE=$1 REDIS_SEEDS=$2 REDIS_PASSWORD=${REDIS_PASSWORD:-} ${REDIS_WRAP:-${BD_WRAP:-}} "$TEST_REDIS" \
        > "$T/c_$1.out" 2> "$T/c_$1.err"
    fold_tap "$1" test_redis_cluster $? "$T/c_$1.out" "$T/c_$1.err"
}

# ---------------------------------------------------------------- standalone, no password
redis_standalone_start; ok $? "standalone redis-server on port ${REDIS_SA_PORT:-?}"
[ -n "${REDIS_SA_PORT:-}" ] || { done_testing; exit 1; }
run_c standalone "127.0.0.1:$REDIS_SA_PORT"
is "$(rcli "$REDIS_SA_PORT" dbsize)" 20001 "standalone: the server holds the 20000 keys + the binary one"

# ---------------------------------------------------------------- nothing reachable
SA=$REDIS_SA_PORT
_redis_stop_port "$SA"
_redis_port_free "$SA"; ok $? "standalone stopped, port $SA closed"
run_c unreachable "127.0.0.1:$SA,127.0.0.1:1"

# ---------------------------------------------------------------- cluster, password
REDIS_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
export REDIS_PASSWORD
redis_cluster_start; ok $? "3+3 cluster with requirepass on ports ${REDIS_CLUSTER_PORTS:-?}"
[ -n "${REDIS_CLUSTER_SEEDS:-}" ] || { done_testing; exit 1; }
redis_ports | sed 's/^/# /'
is "$(redis_masters | wc -l | tr -d ' ')" 3 "3 masters"
run_c cluster "$REDIS_CLUSTER_SEEDS"
total=0
for m in $(redis_masters); do
    n=$(rcli "$m" dbsize)
    [ "${n:-0}" -gt 0 ]; ok $? "cluster: master $m holds keys ($n)"
    total=$((total + ${n:-0}))
done
is "$total" 20000 "cluster: the masters hold the 20000 keys between them"

run_c moved "$REDIS_CLUSTER_SEEDS"
run_c password "$REDIS_CLUSTER_SEEDS"
run_c failover "$REDIS_CLUSTER_SEEDS"
redis_ports | sed 's/^/# /'
is "$(redis_ports | awk '$2 == "down"' | wc -l | tr -d ' ')" 1 "failover: one node down"
is "$(redis_masters | wc -l | tr -d ' ')" 3 "failover: still 3 masters (a replica promoted)"

# a second failover driven from here: a master that still has a live replica
victim=""
for p in $REDIS_CLUSTER_PORTS; do
    if _redis_alive "$p" && rcli "$p" role | head -n 1 | grep -q slave; then
        victim=$(rcli "$p" info replication | tr -d '\r' | awk -F: '$1 == "master_port" { print $2 }')
        break
    fi
done
[ -n "$victim" ]; ok $? "a master with a replica: ${victim:-none}"
redis_kill_master "$victim"; ok $? "SIGKILL master $victim"
redis_wait_failover "$victim" 30; ok $? "its replica took over"
redis_ports | sed 's/^/# /'
# the dead nodes first in the seed list
dead=""
live=""
for p in $REDIS_CLUSTER_PORTS; do
    if _redis_alive "$p"; then live="$live,127.0.0.1:$p"; else dead="$dead,127.0.0.1:$p"; fi
done
run_c reread "${dead#,}$live"
run_c delslots "${live#,}"

redis_stop_all
left=0
for p in $REDIS_CLUSTER_PORTS; do _redis_alive "$p" && left=$((left + 1)); done
is "$left" 0 "every redis-server stopped"
done_testing
