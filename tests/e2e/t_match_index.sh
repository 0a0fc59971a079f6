# t_match_index.sh: the match store's lookup index: built after ID-sync files (once, and by run's builder), read by trait files, never read when stale.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
SLOW=${BD_SLOW:-1}
IDX="$T/state/match/lookup.idx"
uuid() { printf '%038d' "$((7700000 + $1))"; }
# idsync N OFFSET: PID-1..PID-N mapped to our IDs OFFSET+1..OFFSET+N
idsync() { awk -v n="$1" -v o="$2" 'BEGIN { for (i = 1; i <= n; i++) printf "%038d\tPID-%d\n", 7700000 + o + i, i }'; }
# traits NAME [DIR]: every PID-1..PID-3000 once, then 500 unknown IDs and one named after the file (no two files
# have the same content: that would be a duplicate)
traits() {
    awk -v name="$1" 'BEGIN { for (i = 1; i <= 3000; i++) printf "PID-%d\td_sid=%d,d_sid=%d\n", i, 10 + i % 7, 20 + i % 3
                 for (i = 1; i <= 500; i++) printf "NOPE-%d\td_sid=11\n", i
                 printf "FILE-%s\td_sid=11\n", name }' > "${2:-$T/inbox}/$1"
}
segs='segments = [ 10, 11, 12, 13, 14, 15, 16, 20, 21, 22 ];'
new_agent "$segs" $'match_index_min_entries = 1000;\nlog_level = "debug";' # the seds below edit the log_level line
idsync 2500 0 > "$T/inbox/adobe_id_0_478_1700000000.sync"
once; ok $? "once: the ID-sync file"
like "$(cat "$T/agent.log")" "built the match store's lookup index: 2500 entries" "once builds the index after the store changed"
[ -s "$IDX" ]; ok $? "state/match/lookup.idx exists"

: > "$T/agent.log"
traits ftp_dpm_478_1700000100.sync
once; ok $? "once: a trait file"
F1=ftp_dpm_478_1700000100.sync
is "$(r $F1 '"\(.stored) \(.no_match)"')" "2500 1001" "2500 users matched, 1001 not (500 past the map, 501 unknown)"
like "$(cat "$T/agent.log")" "match store lookups read the lookup index" "the trait file's lookups read the index"
grep -q "built the match store's lookup index" "$T/agent.log"; ok $((! $?)) "an unchanged store is not indexed again"
out1=$(outbox_files "ftp_*.sync" | tail -n 1)
# the same file through the B-tree, in a second agent with match_index = false and a copy of the store
mkdir -p "$T.b/inbox" "$T.b/state" && cp -a "$T/state/match" "$T.b/state/"
sed "s|^log_level|match_index = false; log_level|" "$T/bd.conf" > "$T.b/bd.conf"
traits $F1 "$T.b/inbox"
bd once -c "$T.b/bd.conf" 2>> "$T.b/agent.log"; ok $? "match_index = false: once on the same store and file"
like "$(cat "$T.b/agent.log")" "match store lookups read the LMDB B-tree" "with match_index = false the lookups read the B-tree"
out_b=$(find "$T.b/outbox/acme" -maxdepth 1 -name 'ftp_*.sync' | tail -n 1)
is "$(md5sum < "$out1")" "$(md5sum < "$out_b")" "the index and the B-tree give the same outbox file"
is "$(jq -c 'del(.id, .source, .received, .started, .finished, .agent, .outbox, .duration_ms, .claim_id)' "$T/log/receipts.jsonl" | tail -n 1)" \
    "$(jq -c 'del(.id, .source, .received, .started, .finished, .agent, .outbox, .duration_ms, .claim_id)' "$T.b/log/receipts.jsonl" | tail -n 1)" \
    "and the same receipt"

# a stale index is never read: remap the users with match_index = false (the index is left as it was)
sed -i "s|^log_level|match_index = false; log_level|" "$T/bd.conf"
idsync 3000 100000 > "$T/inbox/adobe_id_0_478_1700000200.sync"
once; ok $? "once (match_index = false): an ID-sync file remaps every user and adds 500"
sed -i "s|^match_index = false; log_level|log_level|" "$T/bd.conf"
: > "$T/agent.log"
traits ftp_dpm_478_1700000300.sync
once; ok $? "once: a trait file against the stale index"
F2=ftp_dpm_478_1700000300.sync
like "$(cat "$T/agent.log")" "match store lookups read the LMDB B-tree" "a stale index is not read: the lookups read the B-tree"
is "$(r $F2 .stored)" 3000 "3000 users matched, the 500 new ones too"
out2=$(outbox_files "ftp_*.sync" | tail -n 1)
grep -q "^$(uuid 100001)[[:space:]]" "$out2"; ok $? "PID-1 has its new ID"
grep -q "^$(uuid 1)[[:space:]]" "$out2"; ok $((! $?)) "and not its old one"
like "$(cat "$T/agent.log")" "built the match store's lookup index: 3000 entries" "the run ends by indexing the changed store"
: > "$T/agent.log"
traits ftp_dpm_478_1700000400.sync
once; ok $? "once: a trait file against the new index"
like "$(cat "$T/agent.log")" "match store lookups read the lookup index" "it reads the new index"
out3=$(outbox_files "ftp_*.sync" | tail -n 1)
is "$(md5sum < "$out3")" "$(md5sum < "$out2")" "and writes what the B-tree gave"

# a damaged index file is not mapped (its header is checked): the lookups read the B-tree, and the results hold
printf 'garbage' | dd of="$IDX" bs=1 seek=0 conv=notrunc 2> /dev/null
: > "$T/agent.log"
traits ftp_dpm_478_1700000500.sync
once; ok $? "once: a trait file with a scribbled index header"
like "$(cat "$T/agent.log")" "match store lookups read the LMDB B-tree" "the scribbled index is not read"
is "$(md5sum < "$(outbox_files "ftp_*.sync" | tail -n 1)")" "$(md5sum < "$out2")" "and the outbox is the same"

# run: the builder indexes the store in the background once it changed and the workers are idle
rm -f "$IDX"
sed -i "s|^log_level|match_index_interval = 1; log_level|" "$T/bd.conf"
: > "$T/agent.log"
(bd_exec run -c "$T/bd.conf" 2>> "$T/agent.log") &
AGENT=$!
BG_PIDS="$BG_PIDS $AGENT"
WAIT=$((10 * SLOW)) wait_for grep -q "index builder: built the match store's lookup index: 3000 entries" "$T/agent.log"
ok $? "run: the builder indexes a store that has no index"
idsync 3000 200000 > "$T/inbox/adobe_id_0_478_1700000600.sync.tmp" && mv "$T/inbox/adobe_id_0_478_1700000600.sync.tmp" "$T/inbox/adobe_id_0_478_1700000600.sync"
WAIT=$((10 * SLOW)) wait_for grep -q "index builder: built the match store's lookup index: 3000 entries.*" "$T/agent.log"
built_twice() { [ "$(grep -c "index builder: built the match store's lookup index" "$T/agent.log")" -ge 2 ]; }
WAIT=$((10 * SLOW)) wait_for built_twice
ok $? "run: and again after an ID-sync file changed it"
traits ftp_dpm_478_1700000700.sync.tmp && mv "$T/inbox/ftp_dpm_478_1700000700.sync.tmp" "$T/inbox/ftp_dpm_478_1700000700.sync"
has_receipt() { [ "$(nreceipts "$1")" -ge 1 ]; }
WAIT=$((10 * SLOW)) wait_for has_receipt ftp_dpm_478_1700000700.sync
is "$(r ftp_dpm_478_1700000700.sync .stored)" 3000 "run: the trait file after it: 3000 matched"
like "$(grep 'ftp_dpm_478_1700000700' "$T/agent.log")" "match store lookups read the lookup index" "through the new index"
grep -q "^$(uuid 200001)[[:space:]]" "$(outbox_files "ftp_*.sync" | tail -n 1)"; ok $? "with PID-1's newest ID"
index_state() { jq -r .match_store.lookup_index "$T/state/status.json" 2> /dev/null; }
index_is() { [ "$(index_state)" = "$1" ]; }
WAIT=$((10 * SLOW)) wait_for index_is fresh
is "$(index_state)" fresh "run: the status file says the lookup index is fresh"
kill -TERM "$AGENT"
wait "$AGENT" 2> /dev/null
ok $? "run: stops cleanly"
[ ! -e "$IDX.tmp" ] || ! fuser "$IDX.tmp" > /dev/null 2>&1; ok $? "no builder is left holding the temporary file"

# match_index = false: no index is built
T2="$T/off"
mkdir -p "$T2/inbox" && sed "s|^match_index_interval = 1; log_level|match_index = false; log_level|" "$T/bd.conf" > "$T2/bd.conf"
idsync 10 0 > "$T2/inbox/adobe_id_0_478_1700000000.sync"
bd once -c "$T2/bd.conf" 2>> "$T2/agent.log"; ok $? "match_index = false: once on an ID-sync file"
[ -d "$T2/state/match" ] && [ ! -e "$T2/state/match/lookup.idx" ]; ok $? "no lookup.idx is written"
# a store below match_index_min_entries (1000 here) keeps no index
T3="$T/small"
mkdir -p "$T3/inbox" && sed "s|^match_index_interval = 1; log_level|log_level|" "$T/bd.conf" > "$T3/bd.conf"
idsync 999 0 > "$T3/inbox/adobe_id_0_478_1700000000.sync"
bd once -c "$T3/bd.conf" 2>> "$T3/agent.log"; ok $? "match_index_min_entries 1000: once on an ID-sync file of 999 IDs"
[ -d "$T3/state/match" ] && [ ! -e "$T3/state/match/lookup.idx" ]; ok $? "999 entries: no lookup.idx is written"
idsync 1000 0 > "$T3/inbox/adobe_id_0_478_1700000100.sync"
bd once -c "$T3/bd.conf" 2>> "$T3/agent.log"; ok $? "once on an ID-sync file of 1000 IDs"
[ -s "$T3/state/match/lookup.idx" ]; ok $? "1000 entries: the index is built"
# started as root with `user`: the index belongs to the store's owner, so that the workers (that user) read it
if [ "$(id -u)" = 0 ] && id nobody > /dev/null 2>&1; then
    T4="$T/priv"
    mkdir -p "$T4/inbox" && sed "s|^log_level|user = \"nobody\"; log_level|" "$T3/bd.conf" > "$T4/bd.conf"
    idsync 1500 0 > "$T4/inbox/adobe_id_0_478_1700000000.sync"
    bd once -c "$T4/bd.conf" 2>> "$T4/agent.log"; ok $? "user = nobody: once on an ID-sync file"
    is "$(stat -c %U "$T4/state/match/lookup.idx" 2> /dev/null)" nobody "the index belongs to nobody, like data.mdb"
    traits ftp_dpm_478_1700000100.sync "$T4/inbox"
    bd once -c "$T4/bd.conf" 2>> "$T4/agent.log"; ok $? "user = nobody: once on a trait file"
    like "$(cat "$T4/agent.log")" "match store lookups read the lookup index" "a worker running as nobody reads it"
fi
rm -rf "$T.b"
done_testing
