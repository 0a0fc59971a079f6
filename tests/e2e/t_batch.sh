# t_batch.sh: small files of a partner share a worker and a group commit: order, duplicates, caps, a crash mid-batch.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
mkdir -p "$T/plugins"
cp "$PLUGINS/aam.so" "$PLUGINS/aam-idsync.so" "$BD_BUILDDIR/tests/plugins/.libs/evil.so" "$T/plugins/"
chmod 755 "$T/plugins"; chmod 644 "$T/plugins/"*.so
PLUGINS="$T/plugins"
new_agent "" 'log_level = "debug";'
uuid() { printf '%038d' "$((7000000 + $1))"; }
# workers_started: the number of files of each worker, one per line, from the debug log
workers_started() { sed -n 's/.*partner acme: a worker for \([0-9]*\) files\{0,1\}$/\1/p' "$T/agent.log"; }

# 1. Two ID-sync files, then 40 trait files whose IDs only the second maps: each ID-sync file ends its
#    worker's batch, so the traits after it are matched against the committed mappings.
cp "$SAMPLES/demo/adobe_id_0_478_1700000000.sync" "$T/inbox/"
for i in $(seq 1 40); do printf '%s\tBATCH-%04d\n' "$(uuid "$i")" "$i"; done > "$T/inbox/adobe_id_0_478_1700000001.sync"
for i in $(seq 1 40); do
    printf 'BATCH-%04d\td_sid=24\nBATCH-9%03d\td_sid=26\n' "$i" "$i" > "$T/inbox/ftp_dpm_478_$((1700000100 + i)).sync"
done
# the same content twice in one batch: the later one is its duplicate
printf 'BATCH-0001\td_sid=26\n' > "$T/inbox/ftp_dpm_478_1700000201.sync"
cp "$T/inbox/ftp_dpm_478_1700000201.sync" "$T/inbox/ftp_dpm_478_1700000202.sync"
once; ok $? "once exits 0"
is "$(receipts | wc -l | tr -d ' ')" 44 "one receipt per file (44)"
is "$(receipts | jq -r .file | sort | uniq -d | wc -l | tr -d ' ')" 0 "no file has two receipts"
is "$(r adobe_id_0_478_1700000001.sync .stored)" 40 "the second ID-sync file stored its 40 mappings"
stored=$(receipts | jq -r 'select(.file | test("^ftp_dpm_478_17000001")) | "\(.status) \(.stored) \(.no_match)"' | sort | uniq -c | awk '{$1=$1; print}')
is "$stored" "40 ok 1 1" "every trait file after the ID-sync files matched its mapped ID (and not the unmapped one)"
is "$(r ftp_dpm_478_1700000201.sync .status)" ok "same content twice in one batch: the first is ok"
is "$(r ftp_dpm_478_1700000202.sync .status)" duplicate "and the second is its duplicate"
is "$(r ftp_dpm_478_1700000202.sync .duplicate_of)" "$(r ftp_dpm_478_1700000201.sync .id)" "duplicate_of names the first"
is "$(outbox_files | wc -l | tr -d ' ')" 41 "41 outbox files (40 traits and the first of the pair)"
is "$(find "$T/inbox" "$T/state/claims" "$T/outbox" -type f \( -path '*/.tmp/*' -o -path '*/claims/*' -o -path '*/inbox/*' \) | wc -l | tr -d ' ')" 0 \
    "no input, claim or staged file left"
most=$(workers_started | sort -n | tail -n 1)
ok "$([ "${most:-0}" -ge 2 ] && echo 0 || echo 1)" "trait files shared a worker (largest batch: ${most:-none} files)"
is "$(workers_started | tr '\n' ' ')" "44 43 42 " "each ID-sync file ended its worker's batch; the files after it went on in a new worker"
is "$(mdb_stat -s journal "$T/state/ledger" | awk '/Entries/ {print $2}')" 0 "the journal is empty"
names=$(outbox_files | xargs -n1 basename | sort | uniq -d | wc -l | tr -d ' ')
is "$names" 0 "outbox names of one batch are distinct"

# 2. A backlog of 150 files: one batch by default (batch_files 256); at most batch_files a batch; every file once.
: > "$T/agent.log"
for i in $(seq 1 150); do printf 'BATCH-%04d\td_sid=%d\n' "$((i % 40 + 1))" "$((1000 + i))" > "$T/inbox/ftp_dpm_478_$((1700001000 + i)).sync"; done
once; ok $? "backlog: once exits 0"
is "$(receipts | jq -r 'select(.file | test("^ftp_dpm_478_17000010|^ftp_dpm_478_17000011")) | .status' | grep -c '^ok$')" 150 \
    "backlog: 150 ok receipts"
is "$(workers_started | tr '\n' ' ')" "150 " "backlog: by default the 150 files run as one batch"
: > "$T/agent.log"
sed -i 's/^scan_interval = 0.5;/scan_interval = 0.5; batch_files = 64;/' "$T/bd.conf"
for i in $(seq 1 150); do printf 'BATCH-%04d\td_sid=%d\n' "$((i % 40 + 1))" "$((3000 + i))" > "$T/inbox/ftp_dpm_478_$((1700003000 + i)).sync"; done
once; ok $? "backlog with batch_files = 64: once exits 0"
is "$(receipts | jq -r 'select(.file | test("^ftp_dpm_478_17000030|^ftp_dpm_478_17000031")) | .status' | grep -c '^ok$')" 150 \
    "backlog with batch_files = 64: 150 ok receipts"
is "$(workers_started | sort -n | tail -n 1)" 64 "backlog: a batch holds at most batch_files (64) files"
is "$(workers_started | awk '{s += $1} END {print s}')" 150 "backlog: each file ran once"

# 3. A file over 1 MiB runs in a worker of its own.
: > "$T/agent.log"
for i in 1 2 3; do printf 'BATCH-0002\td_sid=%d\n' "$((2000 + i))" > "$T/inbox/ftp_dpm_478_$((1700002000 + i)).sync"; done
awk 'BEGIN { for (i = 0; i < 60000; i++) printf "BATCH-0003\td_sid=%d\n", 3000 + i % 500 }' > "$T/inbox/ftp_dpm_478_1700002002.sync"
once; ok $? "large file: once exits 0"
is "$(r ftp_dpm_478_1700002002.sync .status)" ok "large file: ok"
is "$(workers_started | tr '\n' ' ')" "1 1 1 " "large file: it ran in a worker of its own, between the small files before and after it"

# 4. A plugin crash in the middle of a batch costs only its file; the files before it run again, each once.
#    (The test plugin evil misbehaves at line 3: its 2-line files pass.)
new_agent 'ids = "ours";' 'log_level = "debug";'
: > "$T/agent.log"
line() { printf '%038d\td_sid=%d\n' "$1" "$1"; }
for i in 1 2 3 5 6 7; do { line "$((50 + i))"; line "$((60 + i))"; } > "$T/inbox/evil_${i}_fine.txt"; done
{ line 71; line 72; line 73; line 74; } > "$T/inbox/evil_4_crash.txt"
once; ok $? "crash mid-batch: once exits 0"
is "$(r evil_4_crash.txt .status)" failed "crash mid-batch: the crashing file failed"
if [ -z "${BD_ASAN:-}" ]; then
    like "$(r evil_4_crash.txt .reason)" "plugin evil crashed (SIGSEGV) at line 3" "crash mid-batch: with the signal and line"
else # AddressSanitizer's own crash report makes calls the sandbox forbids: the signal differs there
    like "$(r evil_4_crash.txt .reason)" "at line 3" "crash mid-batch: with the line"
fi
is "$(receipts | jq -r 'select(.file | test("^evil_[0-9]_fine")) | .status' | grep -c '^ok$')" 6 \
    "crash mid-batch: the 6 other files are ok"
is "$(receipts | jq -r 'select(.file | test("^evil_")) | .file' | sort | uniq -d | wc -l | tr -d ' ')" 0 \
    "crash mid-batch: no file has two receipts"
is "$(workers_started | tr '\n' ' ')" "7 6 " "crash mid-batch: one worker for the 7 files, then one for the 6 it did not finish"
is "$(find "$T/outbox" -path '*/.tmp/*' -type f | wc -l | tr -d ' ')" 0 "crash mid-batch: no staged output left"

# 5. Under run, a spare worker (forked and confined ahead) takes the next batch; a reload drops it for a new one.
new_agent 'ids = "ours";' 'log_level = "debug";'
: > "$T/agent.log"
SLOW=${BD_SLOW:-1}
(bd_exec run -c "$T/bd.conf" 2>>"$T/agent.log") &
AGENT=$!
BG_PIDS="$BG_PIDS $AGENT"
spare_took() { [ "$(grep -c 'the spare worker (pid [0-9]*) takes' "$T/agent.log")" -ge "$1" ]; }
has_receipt() { [ "$(nreceipts "$1")" -ge 1 ]; }
agent_and_spare() { [ "$(pgrep -f "batchdrop run -c $T/bd.conf" | wc -l)" -ge 2 ]; }
WAIT=$((5 * SLOW)) wait_for agent_and_spare
{ line 81; line 82; } > "$T/evil_81_fine.tmp" && mv "$T/evil_81_fine.tmp" "$T/inbox/evil_81_fine.txt"
WAIT=$((5 * SLOW)) wait_for has_receipt evil_81_fine.txt
is "$(r evil_81_fine.txt .status)" ok "run: a file renamed in is ok"
ok "$(spare_took 1 && echo 0 || echo 1)" "run: the spare worker took it"
kill -HUP "$AGENT"
WAIT=$((5 * SLOW)) wait_for grep -q 'configuration reloaded' "$T/agent.log"
WAIT=$((5 * SLOW)) wait_for agent_and_spare
{ line 83; line 84; } > "$T/evil_83_fine.tmp" && mv "$T/evil_83_fine.tmp" "$T/inbox/evil_83_fine.txt"
WAIT=$((5 * SLOW)) wait_for has_receipt evil_83_fine.txt
is "$(r evil_83_fine.txt .status)" ok "run: after a reload, the next file is ok"
ok "$(spare_took 2 && echo 0 || echo 1)" "run: a new spare worker took it"
{ line 85; line 86; line 87; } > "$T/evil_85_crash.tmp" && mv "$T/evil_85_crash.tmp" "$T/inbox/evil_85_crash.txt"
WAIT=$((5 * SLOW)) wait_for has_receipt evil_85_crash.txt
is "$(r evil_85_crash.txt .status)" failed "run: a plugin crash in a spare worker fails its file"
kill -TERM "$AGENT"
wait "$AGENT"
is $? 0 "run: SIGTERM, exit status 0"
is "$(pgrep -f "batchdrop run -c $T" | wc -l | tr -d ' ')" 0 "run: no worker (spare or not) left behind"
done_testing
