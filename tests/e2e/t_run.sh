# t_run.sh: `batchdrop run` as a daemon: inotify pick-up within a second, slow uploads not taken early, clean SIGTERM.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
D="$SAMPLES/demo"
SLOW=${BD_SLOW:-1} # sanitizer and valgrind runs stretch the time limits

runs_ge() { [ "$(grep -c ' running: ' "$T/agent.log" 2>/dev/null)" -ge "$1" ]; }
start_agent() { # waits for this agent's own "running" line (the log keeps the earlier agents' lines)
    before=$(grep -c ' running: ' "$T/agent.log" 2>/dev/null)
    (bd_exec run -c "$T/bd.conf" 2>>"$T/agent.log") &
    AGENT=$!
    BG_PIDS="$BG_PIDS $AGENT"
    wait_for runs_ge $((${before:-0} + 1))
}
stop_agent() {
    kill -TERM "$AGENT"
    wait "$AGENT"
}
has_receipt() { [ "$(nreceipts "$1")" -ge 1 ]; }

# --- settle = 0: a file is taken as soon as it is closed or renamed in
SETTLE=0 new_agent
start_agent; ok $? "run starts"
cp "$D/adobe_id_0_478_1700000000.sync" "$T/adobe.tmp" && mv "$T/adobe.tmp" "$T/inbox/adobe_id_0_478_1700000000.sync"
WAIT=$((1 * SLOW)) wait_for has_receipt adobe_id_0_478_1700000000.sync
ok $? "a file renamed into the inbox is processed within a second"
cp "$D/ftp_dpm_478_1700000100.sync" "$T/inbox/"
WAIT=$((1 * SLOW)) wait_for has_receipt ftp_dpm_478_1700000100.sync
ok $? "a file written in place (close_write) is processed within a second"
is "$(r ftp_dpm_478_1700000100.sync .stored)" 3 "the ID-sync applied in run mode is used for matching"
stop_agent; is $? 0 "SIGTERM: exit status 0"
like "$(tail -n 1 "$T/agent.log")" "stopped" "logs that it stopped"

# --- settle = 1: a file appended in pieces over 3 s is not taken before it stops changing
rm -rf "$T/inbox" "$T/log"
SETTLE=1 new_agent
start_agent
F="$T/inbox/ftp_dpm_478_1700000500.sync"
early=0
for i in 1 2 3 4 5 6; do
    printf 'ACME-000%d\td_sid=%d\n' "$i" "$i" >> "$F"
    sleep 0.5
    has_receipt ftp_dpm_478_1700000500.sync && early=1
done
is "$early" 0 "a file still being appended to is not taken"
WAIT=$((4 * SLOW)) wait_for has_receipt ftp_dpm_478_1700000500.sync
ok $? "taken once it has been still for the settle time"
is "$(r ftp_dpm_478_1700000500.sync .records_received)" 6 "all six appended lines were read"

# --- a compressed upload that stops half-way is not taken until it is complete
head -c 20000 /dev/urandom | od -An -tx1 | tr -d ' \n' | fold -w 50 | sed 's/^/ACME-0001\tp=/' | gzip -c > "$T/full.gz"
head -c 3000 "$T/full.gz" > "$T/inbox/ftp_dpm_478_1700000600.sync.gz"
sleep $((2 * SLOW))
is "$(nreceipts ftp_dpm_478_1700000600.sync.gz)" 0 "a truncated gzip upload is not taken"
cat "$T/full.gz" > "$T/inbox/ftp_dpm_478_1700000600.sync.gz"
WAIT=$((4 * SLOW)) wait_for has_receipt ftp_dpm_478_1700000600.sync.gz
ok $? "taken once the gzip stream is complete"
is "$(r ftp_dpm_478_1700000600.sync.gz .status)" ok "and processed ok"

# --- settle = 30: a file renamed into the inbox is a finished upload and is not held for the settle time;
# one written in place is
kill -TERM "$AGENT"; wait "$AGENT"
rm -rf "$T/inbox" "$T/log"
SETTLE=30 new_agent
start_agent
cp "$D/ftp_dpm_478_1700000100.sync" "$T/inbox/"
cp "$D/ftp_dpm_478_1700000200.sync.1.gz" "$T/moved.tmp" && mv "$T/moved.tmp" "$T/inbox/ftp_dpm_478_1700000200.sync.1.gz"
WAIT=$((2 * SLOW)) wait_for has_receipt ftp_dpm_478_1700000200.sync.1.gz
ok $? "settle 30: a file that arrives by rename is taken at once"
is "$(nreceipts ftp_dpm_478_1700000100.sync)" 0 "a file written in place still waits for the settle time"

# --- SIGINT behaves like SIGTERM
kill -INT "$AGENT"; wait "$AGENT"; is $? 0 "SIGINT: exit status 0"
done_testing
