# t_fleet.sh: three agents on one remote SFTP inbox of 300 files sharing a 3+3 Redis Cluster match store: each file once, outboxes equal one LMDB agent's, also across a master failover.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
. "${BD_SRCDIR}/tests/e2e/sshd.sh"
. "${BD_SRCDIR}/tests/e2e/redis_cluster.sh"
SLOW=${BD_SLOW:-1}
AGENTS=""
stop_agents() { for p in $AGENTS; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; AGENTS=""; }
trap 'stop_agents; sshd_stop; redis_stop_all; cleanup' EXIT
N=300
NIDS=5000 # IDs in the ID-sync file; trait lines use IDs up to 6000, so some have no match
IDSYNC=adobe_id_0_478_1700000000.sync

# ---------------------------------------------------------------- inputs
IN="$T/input"
mkdir -p "$IN/idsync" "$IN/traits"
seq 1 $NIDS | awk '{ printf "6%037d\tID-%05d\n", $1 * 7, $1 }' > "$IN/idsync/$IDSYNC"
# 300 trait files: sizes from 1 to ~400 lines (every 60th file 3000 lines), every 25th file has only unmatched
# IDs; one in three stays plain, one is gzip, one zstd
awk -v n=$N -v dir="$IN/traits" 'BEGIN {
    for (i = 0; i < n; i++) {
        f = sprintf("%s/ftp_dpm_478_%d.sync", dir, 1700000100 + i)
        lines = (i % 60 == 7) ? 3000 : 1 + (i * 53) % 400
        for (l = 0; l < lines; l++) {
            id = 1 + (i * 131 + l * 17) % 6000
            if (i % 25 == 3) id = 5001 + (i + l) % 1000
            s = sprintf("ID-%05d\td_sid=%d", id, 100 + (i + l) % 37)
            if (l % 3 == 0) s = s sprintf(",d_sid=%d", 200 + (i * l) % 11)
            if (l % 7 == 0) s = s sprintf(",d_unsid=%d", 100 + l % 37)
            print s > f
        }
        close(f)
    }
}'
i=0
for f in "$IN/traits/"*; do
    case $((i % 3)) in
    1) gzip "$f" ;;
    2) zstd -q --rm "$f" ;;
    esac
    i=$((i + 1))
done
is "$(find "$IN/traits" -type f | wc -l | tr -d ' ')" $N "$N trait files generated ($(find "$IN/traits" -name '*.gz' | wc -l | tr -d ' ') gz, $(find "$IN/traits" -name '*.zst' | wc -l | tr -d ' ') zst)"

# summary DIR...: per receipt of the agents in DIR...: file, status, counters, md5 of its outbox data file; sorted
summary() {
    for d in "$@"; do
        jq -r '[.file, .status, .records_received, .stored, .no_match, .users, .segments_realized, .segments_removed,
                ((.outbox // []) | map(select(endswith(".sync"))) | .[0] // "-")] | @tsv' "$d/log/receipts.jsonl"
    done | while IFS="$(printf '\t')" read -r file status rr st nm us sr srm out; do
        sum=-
        [ "$out" = - ] || sum=$(md5sum < "$out" | cut -c1-32)
        echo "$file $status $rr $st $nm $us $sr $srm $sum"
    done | sort
}
# union DIR...: the sorted lines of every outbox data file of the agents in DIR...
union() { for d in "$@"; do find "$d/outbox" -type f -name '*.sync' -exec cat {} +; done | sort; }

# ---------------------------------------------------------------- reference: one agent, LMDB, local inbox
mkdir -p "$T/ref/inbox"
cat > "$T/ref/bd.conf" <<CONF
state_dir = "state"; outbox = "outbox"; receipts = "log/receipts.jsonl";
plugin_dir = "$PLUGINS"; agent_id = "ref"; match_map_size = "1G";
partners = ( { name = "acme"; inbox = "inbox"; settle = 0; } );
CONF
cp "$IN/idsync/$IDSYNC" "$T/ref/inbox/" && bd once -c "$T/ref/bd.conf" 2>>"$T/ref/agent.log" &&
    cp "$IN/traits/"* "$T/ref/inbox/" && bd once -c "$T/ref/bd.conf" 2>>"$T/ref/agent.log"
ok $? "reference: one LMDB agent processes the ID-sync file, then the trait files"
is "$(jq -r .status "$T/ref/log/receipts.jsonl" | sort | uniq -c | tr -s ' ')" " $((N + 1)) ok" "reference: $((N + 1)) receipts, all ok"
summary "$T/ref" | grep -v "^$IDSYNC " > "$T/ref.summary"
union "$T/ref" > "$T/ref.union"
REF_LINES=$(wc -l < "$T/ref.union" | tr -d ' ')
REF_NOMATCH=$(jq -s 'map(.no_match) | add' "$T/ref/log/receipts.jsonl")
[ "$REF_LINES" -gt 1000 ] && [ "$REF_NOMATCH" -gt 0 ]
ok $? "reference: $REF_LINES outbox lines, $REF_NOMATCH records with no match"

# ---------------------------------------------------------------- servers
sshd_start || { echo "Bail out! cannot start sshd"; exit 1; }
R="$SSHD_HOME/outgoing"
mkdir -p "$R" && chown "$SSHD_USER:" "$R"
REDIS_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
export REDIS_PASSWORD
redis_cluster_start || { echo "Bail out! cannot start the redis cluster"; exit 1; }
printf '%s\n' "$REDIS_PASSWORD" > "$T/redis.pw"
chmod 600 "$T/redis.pw"
NODES=$(echo "$REDIS_CLUSTER_SEEDS" | tr ',' '\n' | sed 's/.*/"&"/' | paste -sd, -)
echo "# sshd on port $SSHD_PORT; cluster on ports $REDIS_CLUSTER_PORTS"

# fleet_agent DIR ID PREFIX: an agent in DIR (agent_id ID) on the remote inbox, with the cluster store (key_prefix PREFIX)
fleet_agent() {
    mkdir -p "$1"
    cat > "$1/bd.conf" <<CONF
state_dir = "state"; outbox = "outbox"; receipts = "log/receipts.jsonl";
plugin_dir = "$PLUGINS"; agent_id = "$2"; scan_interval = 1; retry_interval = 1;
match_store = { type = "redis"; nodes = [ $NODES ]; password_file = "$T/redis.pw"; key_prefix = "$3"; };
partners = ( { name = "acme";
  $(sshd_remote "path = \"$R\"; poll = 0.1; settle = 0; timeout = 10;") } );
CONF
}
# to_server SRC...: onto the server, complete: copied into a staging folder, then renamed into the inbox
to_server() {
    rm -rf "$SSHD_HOME/staging"
    mkdir -p "$SSHD_HOME/staging"
    cp "$@" "$SSHD_HOME/staging/"
    chown -R "$SSHD_USER:" "$SSHD_HOME/staging"
    mv "$SSHD_HOME/staging/"* "$R/"
}
server_left() { find "$R" -type f | wc -l | tr -d ' '; }
# keys PREFIX: keys under PREFIX summed over the masters
keys() {
    n=0
    for m in $(redis_masters); do n=$((n + $(rcli "$m" --scan --pattern "$1*" | wc -l))); done
    echo $n
}
# replicas_synced: every live master's replicas acknowledged its whole replication stream
replicas_synced() {
    for m in $(redis_masters); do
        rcli "$m" info replication | tr -d '\r' | awk -F'[:,=]' '
            $1 == "master_repl_offset" { mo = $2 }
            $1 ~ /^slave[0-9]/ { for (i = 2; i < NF; i++) if ($i == "offset") o = $(i + 1); n++ }
            END { exit !(n > 0 && o == mo) }' || return 1
    done
}
has_line() { grep -q "$2" "$1" 2>/dev/null; }
# fleet RUN PREFIX: 3 agents $T/RUN1..3 (agent_id RUN1..3); the first loads the ID-sync file through the server
fleet_setup() {
    for a in 1 2 3; do fleet_agent "$T/$1$a" "$1$a" "$2"; done
    to_server "$IN/idsync/$IDSYNC"
    bd once -c "$T/${1}1/bd.conf" 2>>"$T/${1}1/agent.log"
    ok $? "$1: agent $1""1 (once) pulls the ID-sync file from the server"
    is "$(jq -r '[.file, .status, .id_mappings] | @tsv' "$T/${1}1/log/receipts.jsonl" | tr '\t' ' ')" "$IDSYNC ok $NIDS" \
        "$1: ID-sync applied, $NIDS mappings"
    is "$(keys "${2}m:")" $NIDS "$1: the cluster's masters hold the $NIDS mappings under ${2}m:"
    WAIT=$((10 * SLOW)) wait_for replicas_synced; ok $? "$1: the replicas have them too"
    for a in 1 2 3; do
        (bd_exec run -c "$T/$1$a/bd.conf" 2>>"$T/$1$a/agent.log") &
        AGENTS="$AGENTS $!"
        eval "PID_$1$a=$!"
    done
    up=0
    for a in 1 2 3; do WAIT=$((10 * SLOW)) wait_for has_line "$T/$1$a/agent.log" ' running: ' && up=$((up + 1)); done
    is $up 3 "$1: three agents running"
    # each fetcher on the server before the files come (the first agent's log already has its `once`'s line):
    # under load a slow handshake could leave one agent out of a quick drain
    up=0
    for a in 1 2 3; do
        want=1; [ "$a" -eq 1 ] && want=2
        WAIT=$((20 * SLOW)) wait_for lines_ge "$T/$1$a/agent.log" 'connected to sftp://' "$want" && up=$((up + 1))
    done
    is $up 3 "$1: the three fetchers are connected"
}
lines_ge() { [ "$(grep -c "$2" "$1" 2>/dev/null || true)" -ge "$3" ]; }
# traits_of DIR...: the receipts of trait files in those agents' logs (the ID-sync file's is left out)
traits_of() { cat "$@" 2>/dev/null | jq -c 'select(.file | startswith("ftp_"))'; }
total() { traits_of "$T/$1"?/log/receipts.jsonl | wc -l | tr -d ' '; }
total_ge() { [ "$(total "$1")" -ge "$2" ]; }
all_done() { [ "$(total "$1")" -ge $N ] && [ "$(server_left)" -eq 0 ]; }
# fleet_checks RUN: exactly one ok receipt per input across the agents, nothing quarantined, outboxes = reference
fleet_checks() {
    traits_of "$T/$1"?/log/receipts.jsonl > "$T/$1.receipts"
    is "$(jq -r .file "$T/$1.receipts" | sort -u | wc -l | tr -d ' ')" $N "$1: every input has a receipt"
    is "$(jq -r .file "$T/$1.receipts" | sort | uniq -d | wc -l | tr -d ' ')" 0 "$1: no input has two receipts"
    is "$(find "$IN/traits" -type f -printf '%f\n' | sort)" "$(jq -r .file "$T/$1.receipts" | sort -u)" \
        "$1: the receipts name exactly the inputs"
    is "$(jq -r .status "$T/$1.receipts" | sort | uniq -c | tr -s ' ')" " $N ok" "$1: all $N ok"
    is "$(find "$T/$1"?/state/quarantine -type f 2>/dev/null | wc -l | tr -d ' ')" 0 "$1: nothing quarantined"
    union "$T/$1"1 "$T/$1"2 "$T/$1"3 > "$T/$1.union"
    cmp -s "$T/ref.union" "$T/$1.union"
    rc=$?
    ok $rc "$1: the union of the outboxes ($(wc -l < "$T/$1.union" | tr -d ' ') lines) equals the LMDB reference's ($REF_LINES)"
    [ $rc -eq 0 ] || diff "$T/ref.union" "$T/$1.union" | head -5 | sed 's/^/#   /'
    summary "$T/$1"1 "$T/$1"2 "$T/$1"3 | grep -v "^$IDSYNC " > "$T/$1.summary"
    cmp -s "$T/ref.summary" "$T/$1.summary"
    rc=$?
    ok $rc "$1: per input, the counters and the outbox file equal the reference's"
    [ $rc -eq 0 ] || diff "$T/ref.summary" "$T/$1.summary" | head -5 | sed 's/^/#   /'
    is "$(server_left)" 0 "$1: no file, claim or temp file left on the server"
    split="" busy=0
    for a in 1 2 3; do
        n=$(traits_of "$T/$1$a/log/receipts.jsonl" | wc -l | tr -d ' ')
        split="$split $n"
        [ "$n" -gt 0 ] && busy=$((busy + 1))
    done
    echo "# $1: files per agent:$split"
    is $busy 3 "$1: each agent processed some files"
}
agents_alive() { n=0; for a in 1 2 3; do eval "_pid_alive \$PID_$1$a" && n=$((n + 1)); done; echo $n; }
retried_claims() { cat "$T/$1"?/agent.log | grep 'retried in' | sed -n 's/.*claim \([^:]*\):.*/\1/p' | sort -u | wc -l | tr -d ' '; }
retry_lines() { cat "$T/$1"?/agent.log | grep -c 'retried in' || true; }

# ---------------------------------------------------------------- plain: three agents share the cluster
fleet_setup plain "plain:"
to_server "$IN/traits/"*
WAIT=$((90 * SLOW)) wait_for all_done plain
ok $? "plain: the three agents drained the remote inbox"
is "$(agents_alive plain)" 3 "plain: the agents stayed up"
stop_agents
fleet_checks plain
echo "# plain: $(retry_lines plain) retry messages in the logs"

# ---------------------------------------------------------------- failover: a master SIGKILLed mid-run
fleet_setup fo "fo:"
victim=$(redis_masters | head -n 1)
# half of the files first, the rest after the kill: however fast the agents are, the kill comes mid-run
ls "$IN/traits/" | sort > "$T/fo.order"
to_server $(head -n $((N / 2)) "$T/fo.order" | sed "s#^#$IN/traits/#")
WAIT=$((60 * SLOW)) wait_for total_ge fo $((N / 3))
ok $? "fo: a third of the files processed"
before=$(total fo)
redis_kill_master "$victim"
to_server $(tail -n +$((N / 2 + 1)) "$T/fo.order" | sed "s#^#$IN/traits/#")
[ "$before" -lt $N ]; ok $? "fo: master $victim SIGKILLed mid-run ($before of $N receipts)"
redis_wait_failover "$victim" $((30 * SLOW)); ok $? "fo: its replica took over"
is "$(redis_masters | wc -l | tr -d ' ')" 3 "fo: three masters again"
WAIT=$((120 * SLOW)) wait_for all_done fo
ok $? "fo: the three agents drained the remote inbox after the failover"
is "$(agents_alive fo)" 3 "fo: the agents stayed up"
stop_agents
fleet_checks fo
echo "# fo: $before receipts before the kill; $(retried_claims fo) files retried ($(retry_lines fo) retry messages)"
grep -h 'retried in' "$T"/fo?/agent.log | head -n 2 | sed 's/^/#   /'
done_testing
