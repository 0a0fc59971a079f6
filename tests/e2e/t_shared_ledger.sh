# t_shared_ledger.sh: the fleet's duplicate ledger on redis (agent/ledger_shared.c): one output for content delivered to two agents, the crash window, abandoned entries.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
. "${BD_SRCDIR}/tests/e2e/redis_cluster.sh"
trap 'redis_stop_all; cleanup' EXIT
D="$SAMPLES/demo"
HOOKS=0
case "$("$BD_BIN" --version)" in *"crash points"*) HOOKS=1 ;; esac

redis_standalone_start; ok $? "standalone redis-server on port ${REDIS_SA_PORT:-?}"
[ -n "${REDIS_SA_PORT:-}" ] || { done_testing; exit 1; }
SA=$REDIS_SA_PORT

# agent DIR ID [NODES]: an agent with its own state, sharing the redis store (and so the ledger)
agent() {
    mkdir -p "$1/inbox"
    nodes=${3:-"\"127.0.0.1:$SA\""}
    cat > "$1/bd.conf" <<CONF
state_dir = "state"; outbox = "outbox"; receipts = "log/receipts.jsonl"; plugin_dir = "$PLUGINS";
agent_id = "$2"; match_map_size = "1G";
match_store = { type = "redis"; nodes = [ $nodes ]; timeout = 1.0; };
partners = ( { name = "acme"; inbox = "inbox"; settle = 0; ids = "ours"; } );
CONF
}
once_in() { bd once -c "$1/bd.conf" 2>>"$1/agent.log"; }
status_in() { jq -r --arg f "$2" 'select(.file == $f) | .status' "$1/log/receipts.jsonl" 2>/dev/null | tr '\n' ' '; }
outputs_in() { find "$1/outbox/acme" -maxdepth 1 -name '*.sync' 2>/dev/null | wc -l | tr -d ' '; }
# a trait file of our own IDs (ids = "ours": no mappings needed), content unique to its seed
trait() { seq 1 20 | awk -v s="$2" '{ printf "%038d\td_sid=%d\n", $1 + s * 100, 24 + $1 % 3 }' > "$1"; }
ledger_key() { echo "bd:f:acme/$(sha256sum "$1" | cut -d' ' -f1)"; }
entry() { rcli "$SA" get "$1"; }

# ---------------------------------------------------------------- one content, two agents, at once
agent "$T/a" a; agent "$T/b" b
F=ftp_dpm_478_1700000100.sync
trait "$T/f1" 1
cp "$T/f1" "$T/a/inbox/$F"; cp "$T/f1" "$T/b/inbox/$F"
once_in "$T/a" & pa=$!
once_in "$T/b" & pb=$!
wait $pa; ra=$?; wait $pb; rb=$?
is "$ra/$rb" "0/0" "two agents run once at the same time on the same content"
is "$(echo $(status_in "$T/a" "$F") $(status_in "$T/b" "$F") | tr ' ' '\n' | sort | paste -sd' ' -)" "duplicate ok" \
    "exactly one of them says ok, the other duplicate"
is "$(( $(outputs_in "$T/a") + $(outputs_in "$T/b") ))" 1 "exactly one outbox file between them"
K=$(ledger_key "$T/f1")
is "$(entry "$K" | jq -r .status)" ok "the shared entry ($K) is final: status ok"
winner=$( [ "$(status_in "$T/a" "$F")" = "ok " ] && echo a || echo b)
is "$(entry "$K" | jq -r .agent)" "$winner" "and names the agent that output it ($winner)"
loser=$( [ "$winner" = a ] && echo b || echo a)
like "$(jq -r .reason "$T/$loser/log/receipts.jsonl")" "same content (sha256)" "the duplicate's receipt says why"
is "$(mdb_stat -s files "$T/a/state/ledger" | awk '/Entries/ { print $2 }')" 0 "the local ledger's files table stays empty"

# the same content again, later, under another name, to the loser: still a duplicate
cp "$T/f1" "$T/$loser/inbox/ftp_dpm_478_1700000999.sync"
once_in "$T/$loser"
is "$(status_in "$T/$loser" ftp_dpm_478_1700000999.sync)" "duplicate " "re-delivered to the other agent later: duplicate"
like "$(jq -r 'select(.file == "ftp_dpm_478_1700000999.sync") | .reason' "$T/$loser/log/receipts.jsonl")" "by agent $winner" \
    "naming the agent that has it"

# ---------------------------------------------------------------- the crash window: entry taken, journal not written
if [ "$HOOKS" -eq 1 ]; then
    agent "$T/c" c
    trait "$T/f2" 2
    cp "$T/f2" "$T/c/inbox/$F"
    BD_CRASH_AT=after-ledger-take bd once -c "$T/c/bd.conf" 2>>"$T/c/agent.log"
    is $? 137 "crash after the shared entry is taken, before the journal (SIGKILL)"
    K2=$(ledger_key "$T/f2")
    is "$(entry "$K2" | jq -r .status)" pending "the shared entry is left pending"
    once_in "$T/c"; ok $? "the next run recovers"
    is "$(status_in "$T/c" "$F")" "ok " "the file is processed once, ok (its own pending entry is not a duplicate)"
    is "$(outputs_in "$T/c")" 1 "one outbox file"
    is "$(entry "$K2" | jq -r .status)" ok "the entry is final"
    for point in after-journal after-receipt after-markers; do
        agent "$T/c-$point" "c-$point"
        trait "$T/f-$point" "$(printf '%s' "$point" | cksum | cut -c1-5)"
        cp "$T/f-$point" "$T/c-$point/inbox/$F"
        BD_CRASH_AT=$point bd once -c "$T/c-$point/bd.conf" 2>>"$T/c-$point/agent.log"
        is $? 137 "$point: dies there"
        once_in "$T/c-$point"
        is "$(status_in "$T/c-$point" "$F")/$(outputs_in "$T/c-$point")" "ok /1" "$point: after recovery one ok receipt and one output"
        is "$(entry "$(ledger_key "$T/f-$point")" | jq -r .status)" ok "$point: the replay made the entry final"
    done
else
    echo "# SKIP the crash window (built without --enable-test-hooks)"
fi

# ---------------------------------------------------------------- abandoned and live pending entries of other agents
agent "$T/d" d
trait "$T/f3" 3
K3=$(ledger_key "$T/f3")
old=$(( $(date +%s) * 1000 - 2 * 3600 * 1000 ))
rcli "$SA" set "$K3" "{\"id\":\"c0-ghost-1\",\"file\":\"x\",\"partner\":\"acme\",\"status\":\"pending\",\"agent\":\"ghost\",\"since_ms\":$old}" > /dev/null
cp "$T/f3" "$T/d/inbox/$F"
once_in "$T/d"
is "$(status_in "$T/d" "$F")" "ok " "a pending entry two hours old (its agent died) is taken over: ok"
is "$(entry "$K3" | jq -r '.agent + " " + .status')" "d ok" "the entry is now this agent's, final"
trait "$T/f4" 4
K4=$(ledger_key "$T/f4")
now=$(( $(date +%s) * 1000 ))
rcli "$SA" set "$K4" "{\"id\":\"c0-busy-1\",\"file\":\"y\",\"partner\":\"acme\",\"status\":\"pending\",\"agent\":\"busy\",\"since_ms\":$now}" > /dev/null
cp "$T/f4" "$T/d/inbox/ftp_dpm_478_1700000200.sync"
once_in "$T/d"
is "$(status_in "$T/d" ftp_dpm_478_1700000200.sync)" "duplicate " "a fresh pending entry of a live agent: duplicate"
like "$(jq -r 'select(.file == "ftp_dpm_478_1700000200.sync") | .reason' "$T/d/log/receipts.jsonl")" "being processed by agent busy" \
    "saying which agent is processing it"

# ---------------------------------------------------------------- redis down at the commit: retried, then once
agent "$T/e" e
trait "$T/f5" 5
cp "$T/f5" "$T/e/inbox/$F"
redis_stop_all
once_in "$T/e"
is "$(status_in "$T/e" "$F")" "" "redis down: no receipt (the file stays claimed for a retry)"
like "$(cat "$T/e/agent.log")" "cannot connect" "the log says redis cannot be reached"
redis_standalone_start > /dev/null; SA=$REDIS_SA_PORT
agent "$T/e" e # the restarted server may have another port
once_in "$T/e"
is "$(status_in "$T/e" "$F")/$(outputs_in "$T/e")" "ok /1" "redis back: processed once, ok"
redis_stop_all

# ---------------------------------------------------------------- the same on a 3+3 cluster: one output for two agents
redis_cluster_start; ok $? "3+3 cluster on ports ${REDIS_CLUSTER_PORTS:-?}"
if [ -n "${REDIS_CLUSTER_SEEDS:-}" ]; then
    NODES=$(echo "$REDIS_CLUSTER_SEEDS" | tr ',' '\n' | sed 's/.*/"&"/' | paste -sd, -)
    agent "$T/ca" ca "$NODES"; agent "$T/cb" cb "$NODES"
    for k in 1 2 3 4 5 6 7 8; do # contents spread over the cluster's slots
        trait "$T/g$k" $((10 + k))
        cp "$T/g$k" "$T/ca/inbox/ftp_dpm_478_170000100$k.sync"; cp "$T/g$k" "$T/cb/inbox/ftp_dpm_478_170000100$k.sync"
    done
    once_in "$T/ca" & pa=$!
    once_in "$T/cb" & pb=$!
    wait $pa; wait $pb
    is "$(cat "$T/ca/log/receipts.jsonl" "$T/cb/log/receipts.jsonl" | jq -r .status | sort | uniq -c | awk '{ print $1 " " $2 }' | paste -sd' ' -)" \
        "8 duplicate 8 ok" "cluster: 8 contents to two agents at once: 8 ok, 8 duplicate"
    is "$(( $(outputs_in "$T/ca") + $(outputs_in "$T/cb") ))" 8 "cluster: 8 outbox files between them"
fi
done_testing
