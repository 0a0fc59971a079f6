# t_redis_store.sh: the redis match store (agent/matchstore_redis.c) against a real standalone redis and a 3+3 cluster: same receipts and outbox as LMDB, TTL, idempotent re-apply, outages and failover retried, check --connect.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
. "${BD_SRCDIR}/tests/e2e/redis_cluster.sh"
SLOW=${BD_SLOW:-1}
AGENTS=""
stop_agents() { for p in $AGENTS; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; AGENTS=""; }
trap 'stop_agents; redis_stop_all; cleanup' EXIT
D="$SAMPLES/demo"
PARTNER='segments = [ 24, 26, 27, 28, 30 ]; rules = ( { key = "product"; value = "tablet"; segment = 5001; } );'

# ---------------------------------------------------------------- inputs
IN="$T/input"
mkdir -p "$IN/idsync" "$IN/traits"
cp "$D/adobe_id_0_478_1700000000.sync" "$IN/idsync/"
cp "$D/ftp_dpm_478_1700000100.sync" "$D/ftp_dpm_478_1700000200.sync.1.gz" "$D/ftp_dpm_478_1700000300.overwrite.zst" \
    "$IN/traits/"
# 3000 of our IDs for DPID 478, then 1000 DPID 479 IDs linked through DPID 478 (two hops)
seq 1 3000 | awk '{ printf "6%037d\tID-%05d\n", $1, $1 }' > "$IN/idsync/adobe_id_0_478_1700001000.sync"
seq 1 1000 | awk '{ printf "ID-%05d\tX-%05d\n", $1 * 3, $1 }' > "$IN/idsync/adobe_id_478_479_1700001100.sync"
# trait files: plain, gzip, zstd (4000 lines: the last 1000 have no match), and one through the links
seq 1 4000 | awk '{ printf "ID-%05d\td_sid=%d,d_sid=26\n", $1, ($1 % 2) ? 24 : 27 }' > "$IN/traits/ftp_dpm_478_1700001200.sync"
seq 1 4000 | awk '{ printf "ID-%05d\td_sid=28,d_unsid=%d\n", 4001 - $1, ($1 % 3) ? 24 : 30 }' |
    gzip > "$IN/traits/ftp_dpm_478_1700001300.sync.gz"
seq 1 4000 | awk '{ printf "ID-%05d\td_sid=30\n", $1 * 2 }' | zstd -q > "$IN/traits/ftp_dpm_478_1700001400.sync.zst"
seq 1 1200 | awk '{ printf "X-%05d\td_sid=24\n", $1 }' > "$IN/traits/ftp_dpm_479_1700001500.sync"

# make_agent DIR [STORE SETTINGS] [MORE GLOBAL SETTINGS]: an agent with partner acme in DIR
make_agent() {
    mkdir -p "$1/inbox"
    cat > "$1/bd.conf" <<CONF
state_dir = "state";
outbox = "outbox";
receipts = "log/receipts.jsonl";
plugin_dir = "$PLUGINS";
agent_id = "test";
scan_interval = 0.5;
retry_interval = 1;
match_map_size = "1G";
${2:-}
${3:-}
partners = ( { name = "acme"; inbox = "inbox"; settle = 0; $PARTNER } );
CONF
}
redis_store() { # redis_store SEEDS [more match_store settings]: the match_store group
    printf 'match_store = { type = "redis"; nodes = [ %s ]; %s };' \
        "$(echo "$1" | tr ',' '\n' | sed 's/.*/"&"/' | paste -sd, -)" "${2:-}"
}
once_in() { bd once -c "$1/bd.conf" 2>>"$1/agent.log"; }
# feed DIR: the ID-sync files, then the trait files, each phase one `once`
feed() {
    cp "$IN/idsync/"* "$1/inbox/" && once_in "$1" && cp "$IN/traits/"* "$1/inbox/" && once_in "$1"
}
# summary DIR: per receipt, the file, its status and counters, and the md5 of its outbox file
summary() {
    jq -r '[.file, .status, .records_received, .records_processed, .stored, .no_match, .users, .id_mappings,
            .format_errors, .invalid_ids, .segments_realized, .segments_removed, .signals, .unused_signals] | @tsv' \
        "$1/log/receipts.jsonl" | sort > "$1/counters"
    outcome_summary "$1" names > "$1/outbox.sum"
    cat "$1/counters" "$1/outbox.sum"
}
# dump PORT PATTERN: every key matching PATTERN with its value, sorted
dump() {
    rcli "$1" --scan --pattern "$2" | sort > "$T/dump.keys"
    sed 's/^/GET /' "$T/dump.keys" | rcli "$1" > "$T/dump.vals"
    paste "$T/dump.keys" "$T/dump.vals"
}
has_line() { grep -q "$2" "$1" 2>/dev/null; }
count_lines() { grep -c "$2" "$1" 2>/dev/null || true; }
# for wait_for (which runs its command again and again):
retries_ge() { [ "$(count_lines "$1" "claim .*retried in")" -ge "$2" ]; }
status_of() { jq -r --arg f "$2" 'select(.file == $f) | .status' "$1/log/receipts.jsonl" 2>/dev/null; }
status_is() { [ "$(status_of "$1" "$2")" = "$3" ]; }
trait_receipts() { jq -r 'select(.file | startswith("ftp_")) | .file' "$1/log/receipts.jsonl" 2>/dev/null | wc -l; }
trait_receipts_ge() { [ "$(trait_receipts "$1")" -ge "$2" ]; }

# ---------------------------------------------------------------- reference: LMDB
make_agent "$T/lmdb"
feed "$T/lmdb"; ok $? "LMDB agent: once exits 0"
REF=$(summary "$T/lmdb")
is "$(grep -c '	ok	' "$T/lmdb/counters")" 10 "LMDB agent: 10 files ok"
is "$(awk -F'\t' '$1 == "ftp_dpm_479_1700001500.sync" { print $5 "/" $6 }' "$T/lmdb/counters")" 1000/200 \
    "LMDB agent: the links resolve (1000 stored, 200 no match)"

# ---------------------------------------------------------------- standalone redis
redis_standalone_start; ok $? "standalone redis-server on port ${REDIS_SA_PORT:-?}"
[ -n "${REDIS_SA_PORT:-}" ] || { done_testing; exit 1; }
SA=$REDIS_SA_PORT
make_agent "$T/sa" "$(redis_store "127.0.0.1:$SA")"
bd check -c "$T/sa/bd.conf" > "$T/sa/check.out" 2>&1; ok $? "standalone: check accepts the config"
feed "$T/sa"; ok $? "standalone: once exits 0"
is "$(summary "$T/sa")" "$REF" "standalone: receipts (counters) and outbox files equal LMDB's"
is "$(rcli "$SA" --scan --pattern 'bd:m:*' | wc -l | tr -d ' ')" 4005 "standalone: 5 + 3000 + 1000 mapping keys"
is "$(rcli "$SA" get bd:m:478:ID-00007)" "U60000000000000000000000000000000000007" "standalone: key layout bd:m:<dpid>:<id>, value U<our id>"
is "$(rcli "$SA" get bd:m:479:X-00002)" "L478:ID-00006" "standalone: a link is L<dpid>:<id>"
is "$(rcli "$SA" ttl bd:m:478:ID-00007)" -1 "standalone: match_ttl_days 0: no expiry"

# re-apply: another agent sends the same ID-sync rows again, in another order (the same bytes would be a
# duplicate for the whole fleet: the ledger is shared)
dump "$SA" 'bd:m:*' > "$T/before.dump"
make_agent "$T/sa2" "$(redis_store "127.0.0.1:$SA")"
sort -r "$IN/idsync/adobe_id_0_478_1700001000.sync" > "$T/sa2/inbox/adobe_id_0_478_1700009999.sync"
once_in "$T/sa2"; ok $? "re-apply: once exits 0"
is "$(jq -r .status "$T/sa2/log/receipts.jsonl")" ok "re-apply: the rows are applied again (other bytes: not a duplicate)"
is "$(jq -r .id_mappings "$T/sa2/log/receipts.jsonl")" 3000 "re-apply: 3000 mappings written"
dump "$SA" 'bd:m:*' > "$T/after.dump"
is "$(rcli "$SA" --scan --pattern 'bd:m:*' | wc -l | tr -d ' ')" 4005 "re-apply: same number of keys"
cmp -s "$T/before.dump" "$T/after.dump"; ok $? "re-apply: same keys and values"

# match_ttl_days = 120
make_agent "$T/ttl" "$(redis_store "127.0.0.1:$SA" 'key_prefix = "ttl:";')" "match_ttl_days = 120;"
cp "$D/adobe_id_0_478_1700000000.sync" "$T/ttl/inbox/"
once_in "$T/ttl"; ok $? "ttl: once exits 0"
ttl=$(rcli "$SA" ttl ttl:m:478:ACME-0001)
[ "${ttl:-0}" -le $((120 * 86400)) ] && [ "${ttl:-0}" -ge $((120 * 86400 - 60)) ]
ok $? "ttl: match_ttl_days = 120 gives TTL about 120*86400 s (got $ttl)"
is "$(rcli "$SA" --scan --pattern 'ttl:m:*' | wc -l | tr -d ' ')" 5 "ttl: key_prefix ttl: holds the 5 mappings"

# redis stopped: a trait file is retried, the agent stays up; redis back: processed ok exactly once
make_agent "$T/down" "$(redis_store "127.0.0.1:$SA" 'timeout = 0.5; key_prefix = "down:";')" # its own fleet
cp "$D/adobe_id_0_478_1700000000.sync" "$T/down/inbox/"
once_in "$T/down"
rcli "$SA" save > /dev/null # the server comes back below with what it holds now
(cd "$T/down" && exec ${BD_WRAP:-} "$BD_BIN" run -c "$T/down/bd.conf" 2>>"$T/down/agent.log") &
RUN=$!
AGENTS="$AGENTS $RUN"
WAIT=$((10 * SLOW)) wait_for has_line "$T/down/agent.log" ' running: '; ok $? "down: run starts"
_redis_stop_port "$SA"
F=ftp_dpm_478_1700000100.sync
cp "$D/$F" "$T/down/inbox/"
WAIT=$((15 * SLOW)) wait_for retries_ge "$T/down/agent.log" 2
ok $? "down: the trait file fails transiently and is retried (twice so far)"
like "$(grep 'retried in' "$T/down/agent.log" | tail -n 1)" "127.0.0.1:$SA" "down: the log names the node"
like "$(grep 'retried in' "$T/down/agent.log" | tail -n 1)" "transient" "down: the log says it is transient"
is "$(jq -r --arg f "$F" 'select(.file == $f) | .file' "$T/down/log/receipts.jsonl" | wc -l | tr -d ' ')" 0 "down: no receipt"
is "$(find "$T/down" -name "*~$F" -not -path '*/archive/*' | wc -l | tr -d ' ')" 1 "down: the file stays claimed"
is "$(find "$T/down/state/quarantine" -type f | wc -l | tr -d ' ')" 0 "down: nothing quarantined"
is "$(find "$T/down/outbox" -type f | wc -l | tr -d ' ')" 0 "down: nothing in the outbox (not even staged)"
_pid_alive "$RUN"; ok $? "down: the agent stays up"
store_ok() { [ "$(bd status -c "$T/down/bd.conf" --json 2>/dev/null | jq -r .match_store.ok)" = "$1" ]; }
WAIT=$((5 * SLOW)) wait_for store_ok false; ok $? "down: batchdrop status says the match store fails"
like "$(bd status -c "$T/down/bd.conf" 2>/dev/null)" "MATCH STORE (redis) FAILING" "down: and its text form too"
redis-server "$REDIS_DIR/$SA/redis.conf" > /dev/null 2>&1 &
REDIS_PIDS="$REDIS_PIDS $!"
echo $! > "$REDIS_DIR/$SA/pid"
WAIT=$((20 * SLOW)) wait_for status_is "$T/down" "$F" ok
ok $? "down: redis back (with its saved data): the file is processed"
is "$(jq -r --arg f "$F" 'select(.file == $f) | .status' "$T/down/log/receipts.jsonl" | tr '\n' ' ')" "ok " "down: exactly one receipt, ok"
is "$(jq -r --arg f "$F" 'select(.file == $f) | .stored' "$T/down/log/receipts.jsonl")" 4 "down: with the mappings (4 stored)"
WAIT=$((5 * SLOW)) wait_for store_ok true; ok $? "down: once it works again, status says so"
stop_agents
redis_stop_all

# ---------------------------------------------------------------- the 3+3 cluster, with a password
REDIS_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
export REDIS_PASSWORD
redis_cluster_start; ok $? "3+3 cluster with requirepass on ports ${REDIS_CLUSTER_PORTS:-?}"
[ -n "${REDIS_CLUSTER_SEEDS:-}" ] || { done_testing; exit 1; }
printf '%s\n' "$REDIS_PASSWORD" > "$T/redis.pw"
chmod 600 "$T/redis.pw"
STORE=$(redis_store "$REDIS_CLUSTER_SEEDS" "password_file = \"$T/redis.pw\";")
make_agent "$T/cl" "$STORE"
bd check -c "$T/cl/bd.conf" --connect > "$T/cl/check.out" 2>&1; ok $? "cluster: check --connect ok on the healthy cluster"
like "$(cat "$T/cl/check.out")" "all 16384 slots covered by 3 masters" "cluster: check --connect reports the slots"
is "$(grep -c ': ok$' "$T/cl/check.out")" 6 "cluster: check --connect reaches the 6 nodes"
feed "$T/cl"; ok $? "cluster: once exits 0"
is "$(summary "$T/cl")" "$REF" "cluster: receipts (counters) and outbox files equal LMDB's"
total=0
for m in $(redis_masters); do
    n=$(rcli "$m" --scan --pattern 'bd:m:*' | wc -l | tr -d ' ')
    [ "${n:-0}" -gt 500 ]; ok $? "cluster: master $m holds a share of the keys ($n)"
    total=$((total + ${n:-0}))
done
is "$total" 4005 "cluster: the masters hold the 4005 mapping keys between them"

# a master killed during a run with many trait files: every file ends with one ok receipt
make_agent "$T/fo" "$STORE" "workers = 2;"
cp "$IN/idsync/adobe_id_0_478_1700001000.sync" "$T/fo/inbox/"
once_in "$T/fo"
mkdir -p "$T/fo/stage"
for i in $(seq 10 49); do
    { cat "$IN/traits/ftp_dpm_478_1700001200.sync"; echo "ID-000$i	d_sid=30"; } > "$T/fo/stage/ftp_dpm_478_17000020$i.sync"
done
(cd "$T/fo" && exec ${BD_WRAP:-} "$BD_BIN" run -c "$T/fo/bd.conf" 2>>"$T/fo/agent.log") &
FO=$!
AGENTS="$AGENTS $FO"
WAIT=$((10 * SLOW)) wait_for has_line "$T/fo/agent.log" ' running: '
victim=""
for p in $REDIS_CLUSTER_PORTS; do
    if _redis_alive "$p" && rcli "$p" role | head -n 1 | grep -q slave; then
        victim=$(rcli "$p" info replication | tr -d '\r' | awk -F: '$1 == "master_port" { print $2 }')
        break
    fi
done
for f in "$T/fo/stage/"*; do mv "$f" "$T/fo/inbox/"; done
WAIT=$((10 * SLOW)) wait_for trait_receipts_ge "$T/fo" 4
BEFORE_KILL=$(trait_receipts "$T/fo")
redis_kill_master "$victim"; ok $? "failover: SIGKILL master $victim during the run"
redis_wait_failover "$victim" 30; ok $? "failover: its replica took over"
WAIT=$((60 * SLOW)) wait_for trait_receipts_ge "$T/fo" 40
ok $? "failover: all 40 trait files have a receipt"
is "$(jq -r 'select(.file | startswith("ftp_")) | .file' "$T/fo/log/receipts.jsonl" | sort | uniq -d | wc -l | tr -d ' ')" 0 \
    "failover: exactly one receipt per file"
is "$(jq -r 'select(.file | startswith("ftp_")) | .status' "$T/fo/log/receipts.jsonl" | sort | uniq -c | tr -s ' ')" " 40 ok" \
    "failover: every file ok"
is "$(jq -r 'select(.file | startswith("ftp_")) | .stored' "$T/fo/log/receipts.jsonl" | sort -u | tr '\n' ' ')" "3001 " \
    "failover: every file found its 3001 mappings"
is "$(find "$T/fo/state/quarantine" -type f | wc -l | tr -d ' ')" 0 "failover: nothing quarantined"
echo "# failover: $(count_lines "$T/fo/agent.log" 'retried in') transient failures retried; trait receipts before the kill: $BEFORE_KILL"
_pid_alive "$FO"; ok $? "failover: the agent stays up"
stop_agents

# check: a world-readable password file is refused; a wrong password fails without printing it
chmod 644 "$T/redis.pw"
bd check -c "$T/cl/bd.conf" > "$T/check.out" 2>&1; is $? 1 "check refuses a world-readable password_file"
like "$(cat "$T/check.out")" "readable by everyone" "and says why"
printf 'wrong-%s\n' "$REDIS_PASSWORD" > "$T/bad.pw"
chmod 600 "$T/bad.pw" "$T/redis.pw"
make_agent "$T/bad" "$(redis_store "$REDIS_CLUSTER_SEEDS" "password_file = \"$T/bad.pw\";")"
bd check -c "$T/bad/bd.conf" --connect > "$T/check.out" 2>&1; is $? 1 "check --connect fails with a wrong password"
like "$(cat "$T/check.out")" "authentication failed" "and says the password is wrong"
grep -q "wrong-" "$T/check.out"; is $? 1 "without printing the password"
redis_stop_all
bd check -c "$T/cl/bd.conf" --connect > "$T/check.out" 2>&1; is $? 1 "check --connect fails once every node is stopped"
like "$(cat "$T/check.out")" "cannot connect" "and says it cannot connect"
sed 's/^/# /' "$T/check.out" | head -3
done_testing
