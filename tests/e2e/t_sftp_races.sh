# t_sftp_races.sh: a remote inbox's races: a file committed while its queue is listed, a fetcher left by a killed supervisor, a file changed between its listing and its claim, and deaths around the done markers.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
. "${BD_SRCDIR}/tests/e2e/sshd.sh"
SLOW=${BD_SLOW:-1}
sshd_start || { echo "Bail out! cannot start sshd"; exit 1; }
R="$SSHD_HOME/outgoing"
mkdir -p "$R" "$T/plugins" && chown "$SSHD_USER:" "$R"
cp "$PLUGINS"/*.so "$BD_BUILDDIR/tests/plugins/.libs/evil.so" "$T/plugins/"
chmod 755 "$T/plugins"; chmod 644 "$T/plugins/"*.so
put() { cp "$1" "$R/.up" && chown "$SSHD_USER:" "$R/.up" && mv "$R/.up" "$R/$2"; }
conf() { # conf WORKERS
    cat > "$T/bd.conf" <<CONF
state_dir = "$T/state"; outbox = "$T/outbox"; receipts = "$T/log/receipts.jsonl"; plugin_dir = "$T/plugins";
agent_id = "r1"; match_map_size = "1G"; workers = $1; plugin_timeout = $((3 * SLOW)); scan_interval = 1;
partners = ( { name = "acme"; ids = "ours";
  $(sshd_remote "path = \"$R\"; poll = 0.2; settle = 0; timeout = 5;") } );
CONF
}
start_run() { (bd_exec run -c "$T/bd.conf" 2>>"$T/agent.log") & AGENT=$!; BG_PIDS="$BG_PIDS $AGENT"; }
stop_run() { kill -TERM "$AGENT" 2>/dev/null; wait "$AGENT"; }
has_receipt() { [ "$(nreceipts "$1")" -ge 1 ]; }
in_ready() { [ -n "$(find "$T/state/remote/acme/ready" -name "*~$1" 2>/dev/null)" ]; }
printf '%038d\td_sid=1\n' 1 2 3 > "$T/hang"
printf '%038d\tACME-1\n' 7 > "$T/idsync"

# --- One worker, busy with a file that hangs until plugin_timeout. Two ID-sync files that sort before it arrive
# meanwhile, a small one and one over 1 MiB (a batch of its own): the listing of the queue names all three. Taking
# the first waits for the worker and commits the hanging file; taking the second commits the first, whose journal
# transaction also drops the hanging file's finished entry. The listing's last name is gone by then, and must not
# run again (it did: a second receipt, "the claimed file is gone").
conf 1
start_run
put "$T/hang" evil_hang_1.txt
WAIT=$((10 * SLOW)) wait_for in_ready evil_hang_1.txt
ok $? "the hanging file is downloaded and queued"
sleep 1 # its worker starts within milliseconds; it hangs for plugin_timeout (3 s)
awk 'BEGIN { for (i = 0; i < 30000; i++) printf "%038d\tACME-%d\n", 100 + i, 100 + i }' > "$T/big"
cp "$T/idsync" "$R/.a" && cp "$T/big" "$R/.b" && chown "$SSHD_USER:" "$R/.a" "$R/.b"
mv "$R/.a" "$R/adobe_id_0_478_1700000000.sync" && mv "$R/.b" "$R/adobe_id_0_478_1700000001.sync"
WAIT=$((30 * SLOW)) wait_for has_receipt adobe_id_0_478_1700000001.sync
ok $? "the files that arrived while the worker was busy are processed"
is "$(r evil_hang_1.txt .status)" failed "the hanging file failed (timed out)"
is "$(r adobe_id_0_478_1700000000.sync .status)" ok "the small ID-sync file is ok"
is "$(r adobe_id_0_478_1700000001.sync .id_mappings)" 30000 "the large one is ok"
sleep 1 # a second run of the hanging file would be quick: no plugin runs for a claim that is gone
is "$(nreceipts evil_hang_1.txt)" 1 "the hanging file has one receipt, not a second one from the stale listing"
is "$(grep -c 'claimed file is gone' "$T/log/receipts.jsonl")" 0 "no receipt says its claimed file is gone"
stop_run; is $? 0 "the agent stops cleanly"

# --- The fetcher of a killed supervisor finishes its round after the new one started: the two must not download the
# same claims. The lock it holds (state_dir/locks/fetch-<partner>.lock) is held here by flock(1) instead.
LOCK="$T/state/locks/fetch-acme.lock"
(exec 9>"$LOCK" && flock -x 9 && exec sleep 600) &
HOLDER=$!
BG_PIDS="$BG_PIDS $HOLDER"
lock_held() { ! flock -n "$LOCK" true; }
wait_for lock_held # the holder has it before the agent starts (else the agent may win, under load)
start_run
printf '%038d\td_sid=2\n' 1 > "$T/traits"
put "$T/traits" ftp_dpm_478_1700000001.sync
WAIT=$((10 * SLOW)) wait_for grep -q "waiting for the fetch process of a previous run" "$T/agent.log"
ok $? "the new fetcher waits for the lock, and says so"
sleep 1
is "$(find "$R" -maxdepth 1 -type f -name 'ftp_*' | wc -l | tr -d ' ')" 1 "while it waits, the remote file is not taken"
kill "$HOLDER"; wait "$HOLDER" 2>/dev/null
WAIT=$((20 * SLOW)) wait_for has_receipt ftp_dpm_478_1700000001.sync
ok $? "once the lock is free, the file is fetched and processed"
is "$(r ftp_dpm_478_1700000001.sync .stored)" 1 "matched through the earlier ID-sync"
like "$(cat "$T/agent.log")" "the previous fetch process is gone; going on" "and the log says it went on"
stop_run; is $? 0 "the agent stops cleanly"

case "$("$BD_BIN" --version)" in
*"pause points"*) test_build=1 ;;
*) test_build=0; echo "# SKIP the pause and crash points below: built without --enable-test-hooks" ;;
esac
if [ "$test_build" -eq 1 ]; then
    # --- A file written in place grows between the listing and the claim (BD_PAUSE_AT holds the fetcher there):
    # its download has more bytes than the listing said, so it goes back to the inbox rather than being processed
    # while it may still be written. The pass lists again and, finding it unchanged since, processes it whole, once.
    printf '%038d\td_sid=3\n' 1 2 > "$T/grows"
    put "$T/grows" ftp_dpm_478_1700000002.sync
    (sleep "$SLOW"; printf '%038d\td_sid=3\n' 3 4 >> "$R/ftp_dpm_478_1700000002.sync") &
    BG_PIDS="$BG_PIDS $!"
    BD_PAUSE_AT=fetch-claim:$((2 * SLOW)) bd once -c "$T/bd.conf" 2>>"$T/agent.log"
    like "$(grep ftp_dpm_478_1700000002 "$T/agent.log")" \
        "ftp_dpm_478_1700000002.sync changed while it was downloaded (188 of 94 bytes); giving it back" \
        "a file that grew after its listing: its download is longer than listed, and it goes back"
    is "$(nreceipts ftp_dpm_478_1700000002.sync)" 1 "the next listing finds it stable: processed once"
    is "$(r ftp_dpm_478_1700000002.sync .bytes)" 188 "whole: all 188 bytes"
    is "$(r ftp_dpm_478_1700000002.sync .status)" ok "and ok"

    # --- The agent dies (SIGKILL) right after a group's done markers were made, or before it made them: the next run
    # deletes the sources on the server, and no file gets a second receipt or is left behind.
    k=0
    for point in after-markers after-receipt; do
        k=$((k + 1)) # contents no earlier file had: not duplicates
        for i in 1 2 3; do printf '%038d\td_sid=%d\n' "$i" "$((100 + k))" > "$T/m$i"; put "$T/m$i" "ftp_dpm_478_18000000$i.sync"; done
        (cd "$T" && BD_CRASH_AT=$point exec ${BD_WRAP:-} "$BD_BIN" once -c "$T/bd.conf" 2>>"$T/agent.log")
        is $? 137 "$point, remote: the agent dies there"
        bd once -c "$T/bd.conf" 2>>"$T/agent.log"; is $? 0 "$point, remote: the next run recovers"
        is "$(find "$R" -maxdepth 1 -name 'ftp_dpm_478_18*' | wc -l | tr -d ' ')" 0 "$point, remote: the sources are gone from the server"
        is "$(for i in 1 2 3; do nreceipts "ftp_dpm_478_18000000$i.sync"; done | tr -d '\n')" 111 "$point, remote: one receipt each"
        is "$(for i in 1 2 3; do r "ftp_dpm_478_18000000$i.sync" .status; done | sort -u)" ok "$point, remote: all ok (none a duplicate)"
        is "$(find "$T/state/remote/acme" -type f | wc -l | tr -d ' ')" 0 "$point, remote: no download, queue entry or marker left"
        rm -f "$T/log/receipts.jsonl"
    done
fi # test_build

done_testing
