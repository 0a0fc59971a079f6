# t_worker_reuse.sh: under run and once, a worker stays for its own partner's next batch only; a crash ends it; nothing is left behind.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
. "${BD_SRCDIR}/tests/e2e/sshd.sh"
sshd_start || { echo "Bail out! cannot start sshd"; exit 1; }
R="$SSHD_HOME/gamma"
mkdir -p "$R" && chown "$SSHD_USER:" "$R"
mkdir -p "$T/plugins" "$T/inbox" "$T/inbox-beta"
cp "$PLUGINS/aam.so" "$BD_BUILDDIR/tests/plugins/.libs/evil.so" "$T/plugins/"
chmod 755 "$T/plugins"; chmod 644 "$T/plugins/"*.so
SLOW=${BD_SLOW:-1}
cat > "$T/bd.conf" <<CONF
state_dir = "state"; outbox = "outbox"; receipts = "log/receipts.jsonl"; plugin_dir = "$T/plugins";
agent_id = "test"; scan_interval = 0.5; match_map_size = "1G"; log_level = "debug";
partners = ( { name = "acme"; inbox = "inbox"; settle = 0; ids = "ours"; },
             { name = "beta"; inbox = "inbox-beta"; settle = 0; ids = "ours"; },
             { name = "gamma"; ids = "ours"; $(sshd_remote "path = \"$R\"; poll = 0.5; settle = 0;") } );
CONF
line() { printf '%038d\td_sid=%d\n' "$1" "$1"; }
# drop INBOX NAME N: a file of N lines (its own content) renamed into INBOX; the test plugin evil crashes at
# line 3 of a *crash* file
NDROPPED=0
drop() {
    NDROPPED=$((NDROPPED + 1))
    for i in $(seq 1 "$3"); do line "$((NDROPPED * 100 + i))"; done > "$T/$2.tmp"
    mv "$T/$2.tmp" "$T/$1/$2"
    WAIT=$((10 * SLOW)) wait_for has_receipt "$2"
}
has_receipt() { [ "$(nreceipts "$1")" -ge 1 ]; }
# taker PARTNER K: "spare <pid>" or "idle <pid>" for the K-th batch the log shows for PARTNER
taker() {
    sed -n "s/.*partner $1: \(the spare worker\|its idle worker\) (pid \([0-9]*\)) takes.*/\1 \2/p" "$T/agent.log" |
        sed -n "${2}p" | sed 's/the spare worker/spare/; s/its idle worker/idle/'
}
pid_of() { echo "${1#* }"; }

(bd_exec run -c "$T/bd.conf" 2>>"$T/agent.log") &
AGENT=$!
BG_PIDS="$BG_PIDS $AGENT"
# the agent's two children: gamma's fetcher and the spare worker (acme's first file must find the spare)
spare_ready() { [ "$(pgrep -P "$AGENT" | wc -l)" -ge 2 ]; }
WAIT=$((5 * SLOW)) wait_for spare_ready

drop inbox evil_1_fine.txt 2
drop inbox evil_2_fine.txt 2
drop inbox evil_3_fine.txt 2
first=$(taker acme 1) second=$(taker acme 2) third=$(taker acme 3)
is "${first%% *}" spare "acme's first file: taken by the spare worker"
is "$second" "idle $(pid_of "$first")" "acme's second file: taken by the same worker, which stayed"
is "$third" "idle $(pid_of "$first")" "acme's third file: the same worker again"
is "$(receipts | jq -r .status | sort | uniq -c | awk '{print $1, $2}')" "3 ok" "the three files are ok"

drop inbox-beta evil_4_fine.txt 2
beta=$(taker beta 1)
is "${beta%% *}" spare "beta's file: taken by a spare, not by acme's idle worker"
ok "$([ -n "$(pid_of "$beta")" ] && [ "$(pid_of "$beta")" != "$(pid_of "$first")" ] && echo 0 || echo 1)" \
    "beta's worker is another process"
drop inbox evil_5_fine.txt 2
is "$(taker acme 4)" "idle $(pid_of "$first")" "acme's next file: its own idle worker still"

drop inbox evil_6_crash.txt 3
is "$(r evil_6_crash.txt .status)" failed "a crash in a worker that stayed fails its file"
# AddressSanitizer's own crash report makes calls the sandbox forbids: the signal differs there
want='crashed (SIGSEGV) at line 3'
[ -n "${BD_ASAN:-}" ] && want='at line 3'
ok "$(r evil_6_crash.txt .reason | grep -qF "$want" && echo 0 || echo 1)" "with the signal and the line"
drop inbox evil_7_fine.txt 2
is "$(r evil_7_fine.txt .status)" ok "acme's file after the crash is ok"
after=$(taker acme 6)
ok "$([ "$(pid_of "$after")" != "$(pid_of "$first")" ] && echo 0 || echo 1)" "it ran in another worker (the crashed one is gone)"
# an idle worker killed from outside (the OOM killer, an admin): the partner's next file does not suffer
drop inbox evil_8_fine.txt 2
idle_pid=$(pid_of "$(taker acme 7)")
kill -KILL "$idle_pid" 2>/dev/null; ok $? "acme's idle worker (pid $idle_pid) killed from outside"
gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
WAIT=$((5 * SLOW)) wait_for gone "$idle_pid" # dead (a zombie until the agent reaps it), its socket closed
drop inbox evil_9_fine.txt 2
is "$(r evil_9_fine.txt .status)" ok "the next file is ok all the same"
is "$(grep -c 'its idle worker did not take its batch' "$T/agent.log")" 1 "the agent said why it started another worker"
is "$(receipts | jq -r 'select(.status == "ok") | .outbox[]' | while read -r f; do [ -s "$f" ] && echo x; done | wc -l | tr -d ' ')" \
    "$(receipts | jq -r 'select(.status == "ok") | .outbox[]' | wc -l | tr -d ' ')" "every ok file's outbox files are there"
is "$(find "$T/outbox" -path '*/.tmp/*' | wc -l | tr -d ' ')" 0 "no staged or spare file left in the staging folders"

# gamma's SFTP fetcher restarts after acme's worker stayed: the new fetcher must not hold a copy of the agent's
# end of that worker's socket (the agent then waited for ever at exit, for a worker that never saw its EOF)
drop inbox evil_10_fine.txt 2
fetcher=$(sed -n 's/.*partner gamma: fetcher process \([0-9]*\) started.*/\1/p' "$T/agent.log" | tail -n 1)
kill -KILL "$fetcher" 2>/dev/null; ok $? "gamma's fetcher (pid $fetcher) killed"
restarted() { [ "$(grep -c 'partner gamma: fetcher process [0-9]* started' "$T/agent.log")" -ge 2 ]; }
WAIT=$((10 * SLOW)) wait_for restarted; ok $? "the agent restarted gamma's fetcher"
kill -TERM "$AGENT"
agent_gone() { ! kill -0 "$AGENT" 2>/dev/null; }
WAIT=$((20 * SLOW)) wait_for agent_gone; ok $? "SIGTERM: the agent exits, with an idle worker and a restarted fetcher"
agent_gone || kill -KILL "$AGENT" 2>/dev/null
wait "$AGENT"
is $? 0 "SIGTERM: exit status 0"
is "$(pgrep -f "batchdrop run -c $T" | wc -l | tr -d ' ')" 0 "no worker (spare, idle or busy) left behind"

# --- once, on a backlog: each partner's batches (up to 64 files each: batch_files) run in one worker, which stays
# for the partner's next batch; beta's never go to acme's worker.
sed -i 's/scan_interval = 0.5;/scan_interval = 0.5; batch_files = 64;/' "$T/bd.conf"
grep -q 'batch_files = 64' "$T/bd.conf" || echo "Bail out! cannot set batch_files"
for i in $(seq 1 150); do line "$((900000 + i))" > "$T/inbox/ftp_dpm_478_1800000$((100 + i)).sync"; done
for i in $(seq 1 70); do line "$((800000 + i))" > "$T/inbox-beta/ftp_dpm_478_1800000$((100 + i)).sync"; done
(cd "$T" && bd once -c "$T/bd.conf" 2>"$T/once.log"); is $? 0 "once over 150 + 70 files: exit 0"
ok_for() { receipts | jq -r --arg p "$1" 'select(.partner == $p and (.file | startswith("ftp_dpm_478_18")) and .status == "ok") | .file' | wc -l | tr -d ' '; }
is "$(ok_for acme)/$(ok_for beta)" 150/70 "every file is ok"
takers() { sed -n "s/.*partner $1: \(the spare worker\|its idle worker\) (pid \([0-9]*\)) takes.*/\2/p" "$T/once.log"; }
ok "$([ "$(takers acme | wc -l)" -ge 3 ] && echo 0 || echo 1)" "acme's batches (3 or more) went to a ready worker, not a fork each"
is "$(takers acme | sort -u | wc -l | tr -d ' ')" 1 "all of them to the same one"
is "$(takers beta | sort -u | wc -l | tr -d ' ')" 1 "beta's to one worker too"
ok "$([ "$(takers acme | head -n 1)" != "$(takers beta | head -n 1)" ] && echo 0 || echo 1)" "not acme's"
is "$(pgrep -f "batchdrop once -c $T" | wc -l | tr -d ' ')" 0 "no worker left after once"
done_testing
