# redis_cluster.sh: throw-away Redis servers on 127.0.0.1 for e2e tests (sourced after lib.sh): a standalone one and a 3+3 cluster.
# redis_standalone_start: one redis-server on a free port; exports REDIS_SA_PORT.
# redis_cluster_start: 6 cluster nodes on free ports (bus ports +10000 free too), `redis-cli --cluster create
#   --cluster-replicas 1` (3 masters, 3 replicas), waits for cluster_state:ok and in-sync replicas; exports
#   REDIS_CLUSTER_PORTS ("p1 p2 ...") and REDIS_CLUSTER_SEEDS ("127.0.0.1:p1,127.0.0.1:p2,...").
#   Knob (set before starting): REDIS_PASSWORD (requirepass + masterauth on every server started after it).
# redis_ports: "port role pid" per cluster node (role: master, slave or down).
# redis_masters: the ports of the live masters.
# redis_kill_master PORT: SIGKILL that node. redis_wait_failover PORT [SECONDS]: wait until the cluster is ok again
#   without it (a replica promoted). redis_wait_ok [SECONDS]: cluster_state:ok on every live node.
# redis_stop_all: stop every server started here (tests call it from their EXIT trap).
# rcli PORT ARGS...: redis-cli on one node with the password. Logs: $REDIS_DIR/<port>/redis.log
REDIS_DIR=${REDIS_DIR:-$T/redis}
REDIS_PIDS=""

rcli() {
    _p=$1
    shift
    if [ -n "${REDIS_PASSWORD:-}" ]; then
        REDISCLI_AUTH=$REDIS_PASSWORD redis-cli -h 127.0.0.1 -p "$_p" "$@"
    else
        redis-cli -h 127.0.0.1 -p "$_p" "$@"
    fi
}

# _redis_port_free PORT: no socket uses it (nor its cluster bus port): not a listener, and not the local port of a
# connection either, even one in TIME-WAIT, since that also makes bind fail
_redis_port_free() {
    [ -z "$(ss -Htan "( sport = :$1 or sport = :$(($1 + 10000)) )" 2>/dev/null)" ]
}

# _redis_free_ports N: print N consecutive free ports (a start derived from our PID, so parallel runs differ). The
# ports and their bus ports stay below the ephemeral range when it leaves room (21000 to 22767 with the default
# 32768), where client connections (thousands in TIME-WAIT after a busy test) would take them.
_redis_free_ports() {
    local eph span base tries=0 i ok
    eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
    span=$((${eph:-0} - 10000 - 21000 - $1))
    [ "$span" -ge 500 ] || span=23000
    base=$((21000 + ($$ * 41 + ${_redis_bump:-0} * 97) % span))
    while [ $tries -lt 50 ]; do
        ok=1
        i=0
        while [ $i -lt "$1" ]; do
            _redis_port_free $((base + i)) || { ok=0; break; }
            i=$((i + 1))
        done
        if [ $ok -eq 1 ]; then
            echo $(seq "$base" $((base + $1 - 1)))
            return 0
        fi
        base=$((21000 + (base - 21000 + 113) % span))
        tries=$((tries + 1))
    done
    return 1
}

# _redis_conf PORT CLUSTER(0/1): the config of one server
_redis_conf() {
    local d=$REDIS_DIR/$1
    echo "port $1"
    echo "bind 127.0.0.1"
    echo "dir $d"
    echo "logfile $d/redis.log"
    echo "pidfile $d/redis.pid"
    echo "daemonize no"
    echo 'save ""'
    echo "appendonly no"
    echo "repl-diskless-sync yes"
    echo "repl-diskless-sync-delay 0"
    if [ "$2" -eq 1 ]; then
        echo "cluster-enabled yes"
        echo "cluster-config-file $d/nodes.conf"
        echo "cluster-node-timeout 1000"
        echo "cluster-replica-validity-factor 0"
    fi
    if [ -n "${REDIS_PASSWORD:-}" ]; then
        echo "requirepass $REDIS_PASSWORD"
        echo "masterauth $REDIS_PASSWORD"
    fi
}

# _redis_node_start PORT CLUSTER: start one server and wait for PONG; 0, 1 when it died (port taken?), 2 no answer
_redis_node_start() {
    local d=$REDIS_DIR/$1 pid i=0
    rm -rf "$d"
    mkdir -p "$d" || return 2
    _redis_conf "$1" "$2" > "$d/redis.conf"
    redis-server "$d/redis.conf" > "$d/stdout" 2>&1 &
    pid=$!
    REDIS_PIDS="$REDIS_PIDS $pid"
    echo "$pid" > "$d/pid"
    while [ "$(rcli "$1" ping 2>/dev/null)" != PONG ]; do
        _pid_alive "$pid" || { wait "$pid" 2>/dev/null; return 1; }
        i=$((i + 1))
        [ $i -lt 200 ] || return 2
        sleep 0.05
    done
}

# _redis_pid PORT: the PID of our server on PORT
_redis_pid() { cat "$REDIS_DIR/$1/pid" 2>/dev/null; }

redis_standalone_start() {
    local n=0 port
    while [ $n -lt 5 ]; do
        port=$(_redis_free_ports 1) || break
        _redis_node_start $port 0
        case $? in
        0) REDIS_SA_PORT=$port; export REDIS_SA_PORT; return 0 ;;
        1) n=$((n + 1)); _redis_bump=$((${_redis_bump:-0} + n)) ;;
        *) break ;;
        esac
    done
    echo "# standalone redis-server did not start; its log:"
    sed 's/^/#   /' "$REDIS_DIR/$port/redis.log" 2>/dev/null | tail -20
    return 1
}

# redis_cluster_start: 6 nodes, --cluster create with 1 replica each, wait until ok. A try that fails after its
# nodes started (the create, or a wait on a loaded machine) is logged, its nodes stopped, and made again on other
# ports, up to 3 tries: one slow node must not cost a whole test script its cluster.
redis_cluster_start() {
    local try=1 p
    while :; do
        _redis_cluster_try && return 0
        [ $try -lt 3 ] || return 1
        echo "# cluster try $try failed; trying again on other ports"
        for p in ${_redis_try_ports:-}; do _redis_stop_port "$p"; done
        unset REDIS_CLUSTER_PORTS REDIS_CLUSTER_SEEDS
        _redis_bump=$((${_redis_bump:-0} + 7))
        try=$((try + 1))
    done
}

_redis_cluster_try() {
    local n=0 ports p started rc seeds=""
    _redis_try_ports=""
    while [ $n -lt 5 ]; do
        ports=$(_redis_free_ports 6) || break
        started=1
        for p in $ports; do
            _redis_node_start "$p" 1
            rc=$?
            [ $rc -eq 0 ] || { started=0; break; }
        done
        [ $started -eq 1 ] && break
        for p in $ports; do _redis_stop_port "$p"; done
        [ $rc -eq 1 ] || { echo "# cluster node $p did not answer"; return 1; }
        n=$((n + 1))
        _redis_bump=$((${_redis_bump:-0} + n))
    done
    [ "${started:-0}" -eq 1 ] || { echo "# no free ports for 6 cluster nodes"; return 1; }
    _redis_try_ports=$ports
    for p in $ports; do seeds="$seeds 127.0.0.1:$p"; done
    # shellcheck disable=SC2086
    rcli "${ports%% *}" --cluster create $seeds --cluster-replicas 1 --cluster-yes > "$REDIS_DIR/create.log" 2>&1 ||
        { echo "# redis-cli --cluster create failed:"; sed 's/^/#   /' "$REDIS_DIR/create.log" | tail -20; return 1; }
    REDIS_CLUSTER_PORTS=$(echo $ports)
    REDIS_CLUSTER_SEEDS=$(echo $seeds | tr ' ' ',')
    export REDIS_CLUSTER_PORTS REDIS_CLUSTER_SEEDS
    redis_wait_ok 30 || { echo "# the cluster did not reach cluster_state:ok"; return 1; }
    _redis_wait_replicas 30 || { echo "# the replicas did not sync"; return 1; }
    _redis_wait_slots_listing 30 || { echo "# CLUSTER SLOTS does not list all 6 nodes"; return 1; }
}

# _redis_wait_slots_listing SECONDS: CLUSTER SLOTS of the first node lists every node (a replica shows up there
# only once its replication offset has been gossiped)
_redis_wait_slots_listing() {
    local end=$(($(date +%s) + $1)) p out good
    while [ "$(date +%s)" -le "$end" ]; do
        out=$(rcli "${REDIS_CLUSTER_PORTS%% *}" cluster slots 2>/dev/null)
        good=1
        for p in $REDIS_CLUSTER_PORTS; do
            echo "$out" | grep -qx "$p" || { good=0; break; }
        done
        [ $good -eq 1 ] && return 0
        sleep 0.1
    done
    return 1
}

# _pid_alive PID: running (a killed child may linger as a zombie until the shell reaps it)
_pid_alive() {
    local st
    st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)
    [ -n "$st" ] && [ "$st" != Z ]
}
_redis_alive() {
    local pid
    pid=$(_redis_pid "$1")
    [ -n "$pid" ] && _pid_alive "$pid"
}

# redis_wait_ok [SECONDS]: every live node says cluster_state:ok and knows all 6 nodes
redis_wait_ok() {
    local end=$(($(date +%s) + ${1:-20})) p good
    while [ "$(date +%s)" -le "$end" ]; do
        good=1
        for p in $REDIS_CLUSTER_PORTS; do
            _redis_alive "$p" || continue
            rcli "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || { good=0; break; }
        done
        [ $good -eq 1 ] && return 0
        sleep 0.1
    done
    return 1
}

# _redis_wait_replicas SECONDS: every live replica has its master link up
_redis_wait_replicas() {
    local end=$(($(date +%s) + $1)) p good
    while [ "$(date +%s)" -le "$end" ]; do
        good=1
        for p in $REDIS_CLUSTER_PORTS; do
            _redis_alive "$p" || continue
            if rcli "$p" role 2>/dev/null | head -n 1 | grep -q slave; then
                rcli "$p" info replication | grep -q '^master_link_status:up' || { good=0; break; }
            fi
        done
        [ $good -eq 1 ] && return 0
        sleep 0.1
    done
    return 1
}

redis_ports() {
    local p role
    for p in $REDIS_CLUSTER_PORTS; do
        role=down
        _redis_alive "$p" && role=$(rcli "$p" role 2>/dev/null | head -n 1)
        echo "$p ${role:-down} $(_redis_pid "$p")"
    done
}

redis_masters() { redis_ports | awk '$2 == "master" { print $1 }'; }

redis_kill_master() {
    local pid
    pid=$(_redis_pid "$1")
    [ -n "$pid" ] || return 1
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# redis_wait_failover PORT [SECONDS]: a live node flags PORT as failed (not just suspected) and no longer gives
# it any slot (a replica took them over), and every live node is ok again
redis_wait_failover() {
    local end=$(($(date +%s) + ${2:-30})) p
    while [ "$(date +%s)" -le "$end" ]; do
        for p in $REDIS_CLUSTER_PORTS; do
            _redis_alive "$p" && break
        done
        if rcli "$p" cluster nodes 2>/dev/null |
            awk -v a=":$1@" 'index($2, a) && $3 ~ /(^|,)fail(,|$)/ && NF == 8 { found = 1 } END { exit !found }' &&
            redis_wait_ok 1; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

_redis_stop_port() {
    local pid
    pid=$(_redis_pid "$1")
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rm -f "$REDIS_DIR/$1/pid"
}

redis_stop_all() {
    local pid i
    for pid in $REDIS_PIDS; do kill "$pid" 2>/dev/null; done
    for pid in $REDIS_PIDS; do
        i=0
        while _pid_alive "$pid" && [ $i -lt 50 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    REDIS_PIDS=""
}
