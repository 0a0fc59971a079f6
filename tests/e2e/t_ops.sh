# t_ops.sh: day-to-day operations of `run`: SIGHUP reload (validate, then swap), status, Prometheus metrics, sd_notify.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
D="$SAMPLES/demo"
SLOW=${BD_SLOW:-1}
SINK="$BD_BUILDDIR/tests/helpers/notify_sink"
mkdir -p "$T/inbox" "$T/inbox_slow" "$T/inbox_beta" "$T/plugins" "$T/metrics"
cp "$PLUGINS/aam.so" "$PLUGINS/aam-idsync.so" "$BD_BUILDDIR/tests/plugins/.libs/evil.so" "$T/plugins/"

# conf PARTNERS [GLOBALS]: the agent's configuration
conf() {
    cat > "$T/bd.conf.new" <<CONF
state_dir = "${STATE:-state}";
outbox = "outbox";
receipts = "log/receipts.jsonl";
plugin_dir = "$T/plugins";
agent_id = "ops";
scan_interval = 0.5;
match_map_size = "1G";
plugin_timeout = ${PT:-$((3 * SLOW))};
metrics_file = "metrics/batchdrop.prom";
metrics_interval = 1;
${2:-}
partners = (
$1
);
CONF
    mv "$T/bd.conf.new" "$T/bd.conf"
}
ACME='{ name = "acme"; inbox = "inbox"; settle = 0; }'
SLOWP='{ name = "slow"; inbox = "inbox_slow"; settle = 3600; }'
BETA='{ name = "beta"; inbox = "inbox_beta"; settle = 0; }'
put() { cp "$1" "$T/put.tmp" && mv "$T/put.tmp" "$2"; } # put SRC DEST: arrive by rename
has_receipt() { [ "$(nreceipts "$1")" -ge 1 ]; }
log_has() { grep -q "$1" "$T/agent.log"; }
status_json() { bd status -c "$T/bd.conf" --json 2>/dev/null; }
metric() { awk -v k="$1" '$1 == k {print $2}' "$T/metrics/batchdrop.prom"; }
nlog() { grep -c "$1" "$T/agent.log" | tr -d ' '; }
# for wait_for, which runs its command again and again (a "$(...)" argument would be expanded once)
nlog_ge() { [ "$(nlog "$1")" -ge "$2" ]; }
lines_ge() { [ "$(grep -c "$1" "$2")" -ge "$3" ]; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
metric_ge() { [ "$(metric "$1")" -ge "$2" ] 2>/dev/null; }

conf "$ACME, $SLOWP"
"$SINK" "$T/notify.sock" > "$T/notify.out" &
SINK_PID=$!
BG_PIDS="$BG_PIDS $SINK_PID"
wait_for test -S "$T/notify.sock"
# WATCHDOG_PID must be the agent's PID: the shell execs into it
(NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=400000 sh -c \
    'WATCHDOG_PID=$$; export WATCHDOG_PID; exec '"${BD_WRAP:-}"' "$0" run -c "$1"' "$BD_BIN" "$T/bd.conf" \
    2>>"$T/agent.log") &
AGENT=$!
BG_PIDS="$BG_PIDS $AGENT"
wait_for grep -q running "$T/agent.log"
ok $? "run starts"

# --- sd_notify
WAIT=$((5 * SLOW)) wait_for grep -q '^READY=1' "$T/notify.out"
ok $? "READY=1 sent to NOTIFY_SOCKET"
WAIT=$((5 * SLOW)) wait_for lines_ge '^WATCHDOG=1' "$T/notify.out" 3
ok $? "WATCHDOG=1 sent repeatedly (WATCHDOG_USEC=400000)"
like "$(grep '^STATUS=' "$T/notify.out" | tail -n 1)" "backlog" "STATUS= tells the backlog"

# --- status: backlog, in flight, oldest waiting file, last receipt
put "$D/adobe_id_0_478_1700000000.sync" "$T/inbox/adobe_id_0_478_1700000000.sync"
cp "$D/ftp_dpm_478_1700000100.sync" "$T/inbox_slow/" # written in place: held for its settle time (a rename would not be)
WAIT=$((5 * SLOW)) wait_for has_receipt adobe_id_0_478_1700000000.sync
ok $? "a file is processed"
WAIT=$((5 * SLOW)) wait_for sh -c "$(printf '%s' "'$BD_BIN' status -c '$T/bd.conf' --json | jq -e '.partners[] | select(.name == \"slow\") | .backlog == 1'")"
ok $? "status: the slow partner's file (settle 3600) is its backlog"
J=$(status_json); is $? 0 "status --json: exit 0 while the agent runs"
is "$(echo "$J" | jq -r '.partners[] | select(.name == "acme") | .last_receipt.status')" ok "status: acme's last receipt is ok"
is "$(echo "$J" | jq -r '.partners[] | select(.name == "acme") | .last_receipt.file')" adobe_id_0_478_1700000000.sync "status: and names the file"
is "$(echo "$J" | jq -r '.partners[] | select(.name == "slow") | .oldest_waiting_seconds > 0')" true "status: the oldest waiting file has an age"
is "$(echo "$J" | jq -r '.partners[] | select(.name == "acme") | .files.ok')" 1 "status: files by status"
H=$(bd status -c "$T/bd.conf"); is $? 0 "status (text): exit 0"
like "$H" "running" "status (text): says running"
like "$(echo "$H" | grep '^slow')" "1" "status (text): a line per partner"

# --- metrics: valid exposition, the right figures
WAIT=$((5 * SLOW)) wait_for metric_is 'batchdrop_files_total{partner="acme",status="ok"}' 1
ok $? "metrics: files_total{acme,ok} = 1"
is "$(metric 'batchdrop_backlog_files{partner="slow"}')" 1 "metrics: backlog_files{slow} = 1"
is "$(metric 'batchdrop_records_total{partner="acme",outcome="stored"}')" 5 "metrics: records_total{acme,stored} = 5"
is "$(metric batchdrop_match_store_entries)" 5 "metrics: the match store holds the 5 mappings"
if command -v promtool >/dev/null; then
    promtool check metrics < "$T/metrics/batchdrop.prom" > "$T/promtool.out" 2>&1
    ok $? "promtool check metrics accepts the file"
    cat "$T/promtool.out" | sed 's/^/# /'
else
    ok 1 "promtool check metrics (promtool is missing: apt-get install prometheus)"
fi
ls "$T/metrics" | grep -q bdtmp; is $? 1 "metrics: no temp file left beside it"

# --- reload: a broken configuration is refused, the old one keeps running
cp "$T/bd.conf" "$T/bd.conf.good"
printf 'partners = ( { name = "acme"; inbox = "inbox" \n' > "$T/bd.conf"
kill -HUP "$AGENT"
WAIT=$((5 * SLOW)) wait_for log_has "reload refused"
ok $? "SIGHUP with a syntax error: reload refused"
kill -0 "$AGENT"; ok $? "the agent is still running"
put "$D/ftp_dpm_478_1700000100.sync" "$T/inbox/ftp_dpm_478_1700000100.sync"
WAIT=$((5 * SLOW)) wait_for has_receipt ftp_dpm_478_1700000100.sync
ok $? "and still processes files with the old configuration"
WAIT=$((5 * SLOW)) wait_for sh -c "'$BD_BIN' status -c '$T/bd.conf.good' --json | jq -e '.reload.ok == false'"
ok $? "status: the last reload failed, with its reason"
like "$(bd status -c "$T/bd.conf.good" --json | jq -r .reload.message)" "syntax error" "status: the reason names the error"

# a configuration that loads but cannot open: a missing plugin
conf "$ACME, { name = \"beta\"; inbox = \"inbox_beta\"; settle = 0; format = \"nosuch\"; }"
kill -HUP "$AGENT"
WAIT=$((5 * SLOW)) wait_for nlog_ge 'reload refused' 2
ok $? "SIGHUP with an unknown format plugin: refused"
like "$(grep 'reload refused' "$T/agent.log" | tail -n 1)" "nosuch" "the refusal names the missing plugin"
# only a restart can move state_dir
STATE=state2 conf "$ACME"
kill -HUP "$AGENT"
WAIT=$((5 * SLOW)) wait_for nlog_ge 'reload refused' 3
like "$(grep 'reload refused' "$T/agent.log" | tail -n 1)" "state_dir" "a changed state_dir needs a restart: refused"

# --- a good configuration is swapped in; a file in flight finishes under the old one
conf "$ACME, $SLOWP, { name = \"evil\"; inbox = \"inbox_evil\"; settle = 0; format = \"evil\"; }"
mkdir -p "$T/inbox_evil"
kill -HUP "$AGENT"
WAIT=$((5 * SLOW)) wait_for log_has "configuration reloaded"
ok $? "a good configuration is swapped in"
printf 'line 1\nline 2\nline 3\nline 4\n' > "$T/evil.tmp" && mv "$T/evil.tmp" "$T/inbox_evil/evil_hang_1.txt"
WAIT=$((5 * SLOW)) wait_for sh -c "'$BD_BIN' status -c '$T/bd.conf' --json | jq -e '.partners[] | select(.name == \"evil\") | .in_flight == 1'"
ok $? "status: the hanging file is in flight"
PT=100 conf "$ACME, $SLOWP, $BETA"
starts_before=$(nlog 'SIGHUP')
# held stopped while three SIGHUPs arrive, so that they are all pending when it looks (the timing of a busy
# machine must not decide the count)
kill -STOP "$AGENT"; kill -HUP "$AGENT"; kill -HUP "$AGENT"; kill -HUP "$AGENT"; kill -CONT "$AGENT"
WAIT=$((5 * SLOW)) wait_for nlog_ge 'configuration reloaded' 2
ok $? "a reload while a file is in flight"
like "$(grep 'configuration reloaded' "$T/agent.log" | tail -n 1)" "1 files in flight finish under the previous one" "the reload says a file is in flight"
WAIT=$((10 * SLOW)) wait_for has_receipt evil_hang_1.txt
ok $? "the file in flight gets its receipt (its partner is gone from the new configuration)"
like "$(r evil_hang_1.txt .reason)" "timed out" "under the old plugin_timeout (3 s, not the new 100 s)"
put "$D/ftp_dpm_478_1700000200.sync.1.gz" "$T/inbox_beta/ftp_dpm_478_1700000200.sync.1.gz"
WAIT=$((5 * SLOW)) wait_for has_receipt ftp_dpm_478_1700000200.sync.1.gz
ok $? "the new partner's inbox is watched"
is "$(r ftp_dpm_478_1700000200.sync.1.gz .partner)" beta "and its file belongs to it"
sleep 1
n=$(( $(nlog 'SIGHUP') - starts_before ))
is "$n" 1 "three SIGHUPs in a row: coalesced into one reload"
WAIT=$((5 * SLOW)) wait_for grep -q '^RELOADING=1' "$T/notify.out"
ok $? "RELOADING=1 sent on reload"
WAIT=$((5 * SLOW)) wait_for lines_ge '^READY=1' "$T/notify.out" 2
ok $? "READY=1 sent again after it"
WAIT=$((5 * SLOW)) wait_for metric_ge 'batchdrop_config_reloads_total{result="ok"}' 2
ok $? "metrics: config_reloads_total{ok} counts the reloads"
WAIT=$((5 * SLOW)) wait_for grep -q '"status":"failed"' "$T/log/receipts.jsonl"
ok $? "the timed-out file's receipt says failed"

kill -TERM "$AGENT"; wait "$AGENT"; is $? 0 "SIGTERM: exit status 0"
grep -q '^STOPPING=1' "$T/notify.out"; ok $? "STOPPING=1 sent on the way out"
bd status -c "$T/bd.conf" > /dev/null 2>&1; is $? 3 "status after the agent stopped: exit 3 (not running)"
kill -TERM "$SINK_PID"
done_testing
