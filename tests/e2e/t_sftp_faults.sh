# t_sftp_faults.sh: a slow OpenSSH `sftp put` is not taken early; sshd killed and restarted mid-run; a stalled server times out.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
. "${BD_SRCDIR}/tests/e2e/sshd.sh"
SLOW=${BD_SLOW:-1}
sshd_start || { echo "Bail out! cannot start sshd"; exit 1; }
R="$SSHD_HOME/outgoing"
mkdir -p "$R" && chown "$SSHD_USER:" "$R"
cat > "$T/bd.conf" <<CONF
state_dir = "state"; outbox = "outbox"; receipts = "log/receipts.jsonl";
plugin_dir = "$PLUGINS"; agent_id = "f1"; match_map_size = "1G"; scan_interval = 1;
partners = ( { name = "acme"; ids = "ours";
  $(sshd_remote "path = \"$R\"; poll = 0.3; settle = 3; timeout = 2;") } );
CONF
(bd_exec run -c "$T/bd.conf" 2>>"$T/agent.log") &
AGENT=$!
BG_PIDS="$BG_PIDS $AGENT"
has_receipt() { [ "$(nreceipts "$1")" -ge 1 ]; }
mkfile() { # mkfile NAME LINES: a trait file with our IDs, in $T/src
    mkdir -p "$T/src"
    awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%038d\td_sid=%d\n", i, i % 50 }' > "$T/src/$1"
}

# --- a slow upload through OpenSSH's own sftp client, rate-limited, is taken only when complete.
# `sftp -l` writes a burst every second or so and then pauses: settle (3 s) must exceed such pauses.
mkfile ftp_dpm_478_1700000001.sync 40000
lines=$(wc -l < "$T/src/ftp_dpm_478_1700000001.sync")
printf 'put %s %s/ftp_dpm_478_1700000001.sync\n' "$T/src/ftp_dpm_478_1700000001.sync" "$R" > "$T/batch"
sftp -q -b "$T/batch" -P "$SSHD_PORT" -i "$SSHD_KEY" -l 2000 -o UserKnownHostsFile="$SSHD_KNOWN_HOSTS" \
    -o StrictHostKeyChecking=yes -o BatchMode=yes "$SSHD_USER@127.0.0.1" > "$T/sftp.out" 2>&1
ok $? "sftp put (rate-limited) finished"
WAIT=$((10 * SLOW)) wait_for has_receipt ftp_dpm_478_1700000001.sync
ok $? "the slow upload is processed"
is "$(nreceipts ftp_dpm_478_1700000001.sync)" 1 "once"
is "$(r ftp_dpm_478_1700000001.sync .records_received)" "$lines" "whole: every line was there when it was taken"

# --- sshd killed and restarted mid-run, several times: nothing lost, nothing twice
n=0
for round in 1 2 3 4 5 6 7 8 9 10; do
    for k in 1 2 3 4 5; do
        f="ftp_dpm_478_$((1800000000 + round * 10 + k)).sync"
        mkfile "$f" 300
        cp "$T/src/$f" "$R/" && chown "$SSHD_USER:" "$R/$f"
        n=$((n + 1))
    done
    sleep 0.$((round % 5 + 2))
    sshd_stop
    sleep 0.3
    sshd_restart || { echo "Bail out! sshd did not restart"; exit 1; }
done
all_in() { [ "$(receipts | jq -r 'select(.file | startswith("ftp_dpm_478_18")) | .file' | sort -u | wc -l)" -ge $n ] &&
           [ "$(find "$R" -type f | wc -l)" -eq 0 ]; }
WAIT=$((60 * SLOW)) wait_for all_in
ok $? "after 10 sshd kills, all $n files processed and the server is clean"
is "$(receipts | jq -r 'select(.file | startswith("ftp_dpm_478_18")) | .file' | sort | uniq -d | wc -l | tr -d ' ')" 0 "none twice"
like "$(cat "$T/agent.log")" "transient" "the disconnections were logged as transient"

# --- a stalled server: operations time out, the agent reconnects once the server moves again
descendants() { for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done; }
before=$(wc -l < "$T/agent.log")
# the listener too: a fetcher that is reconnecting (after the restarts above) must stall as well
# ...and whatever holds the server side of a connection to our port: a session forked while an earlier sshd was
# being stopped survives it, orphaned, outside the new listener's tree
holders=$(ss -Htnp state established "( sport = :$SSHD_PORT )" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u)
stopped="$SSHD_PID $(descendants "$SSHD_PID" | tr '\n' ' ') $(echo $holders)"
for p in $stopped; do kill -STOP "$p" 2>/dev/null; done
new_transient() { tail -n +"$((before + 1))" "$T/agent.log" | grep -q transient; }
WAIT=$((15 * SLOW)) wait_for new_transient # timeout = 2 s: well before this on a quiet machine
ok $? "a stalled session fails with a transient error instead of hanging"
for p in $stopped; do kill -CONT "$p" 2>/dev/null; done
mkfile ftp_dpm_478_1900000001.sync 10
cp "$T/src/ftp_dpm_478_1900000001.sync" "$R/" && chown "$SSHD_USER:" "$R/ftp_dpm_478_1900000001.sync"
WAIT=$((20 * SLOW)) wait_for has_receipt ftp_dpm_478_1900000001.sync
ok $? "after the stall, new files flow again"
# --- a remote file deleted between the listing and the claim (settle 3 s: it is listed, then it goes)
mkfile ftp_dpm_478_1900000002.sync 10
cp "$T/src/ftp_dpm_478_1900000002.sync" "$R/" && chown "$SSHD_USER:" "$R/ftp_dpm_478_1900000002.sync"
sleep 1
rm -f "$R/ftp_dpm_478_1900000002.sync"
mkfile ftp_dpm_478_1900000003.sync 10
cp "$T/src/ftp_dpm_478_1900000003.sync" "$R/" && chown "$SSHD_USER:" "$R/ftp_dpm_478_1900000003.sync"
WAIT=$((20 * SLOW)) wait_for has_receipt ftp_dpm_478_1900000003.sync
ok $? "a file deleted between listing and claim: the next file flows"
is "$(nreceipts ftp_dpm_478_1900000002.sync)" 0 "the deleted file has no receipt (there is nothing to process)"
kill -0 "$AGENT"; ok $? "the agent stays up"

# --- permission denied on the claim rename: a root-owned file in a root-owned sticky inbox cannot be renamed by the login
chown root: "$R" && chmod 1777 "$R"
mkfile ftp_dpm_478_1900000004.sync 10
cp "$T/src/ftp_dpm_478_1900000004.sync" "$R/" && chown root: "$R/ftp_dpm_478_1900000004.sync"
mkfile ftp_dpm_478_1900000005.sync 10
cp "$T/src/ftp_dpm_478_1900000005.sync" "$R/" && chown "$SSHD_USER:" "$R/ftp_dpm_478_1900000005.sync"
WAIT=$((20 * SLOW)) wait_for has_receipt ftp_dpm_478_1900000005.sync
ok $? "permission denied on one file's rename: the others flow"
WAIT=$((10 * SLOW)) wait_for grep -q "claiming failed (permission)" "$T/agent.log"
ok $? "the refused rename is logged as a permission error"
is "$(nreceipts ftp_dpm_478_1900000004.sync)" 0 "the file stays on the server, untaken"
[ -f "$R/ftp_dpm_478_1900000004.sync" ]; ok $? "and untouched"
chown "$SSHD_USER:" "$R/ftp_dpm_478_1900000004.sync"
WAIT=$((30 * SLOW)) wait_for has_receipt ftp_dpm_478_1900000004.sync
ok $? "once the login may rename it, it is taken (retried after the back-off)"
chown "$SSHD_USER:" "$R" && chmod 755 "$R"
kill -TERM "$AGENT"; wait "$AGENT"; is $? 0 "agent stops cleanly"
done_testing
