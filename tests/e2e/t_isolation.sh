# t_isolation.sh: a plugin that crashes, hangs, hogs memory, makes a forbidden call or spoils its worker's report costs exactly its own file.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
SLOW=${BD_SLOW:-1}
mkdir -p "$T/plugins"
cp "$PLUGINS/aam.so" "$BD_BUILDDIR/tests/plugins/.libs/evil.so" "$T/plugins/"
chmod 755 "$T/plugins"; chmod 644 "$T/plugins/"*.so
PLUGINS="$T/plugins"
new_agent 'ids = "ours";' "plugin_timeout = $((2 * SLOW)); plugin_memory_limit = \"256M\";"
line() { printf '%038d\td_sid=%d\n' "$1" "$1"; }
# An AddressSanitizer build cannot run under a memory limit (test builds only): no hog there.
KINDS="crash hang hog socket abort"
[ -n "${BD_ASAN:-}" ] && KINDS="crash hang socket abort"
for kind in $KINDS; do
    { line 1; line 2; line 3; line 4; } > "$T/inbox/evil_${kind}_1.txt"
done
{ line 5; line 6; } > "$T/inbox/ftp_dpm_478_1700000001.sync"
{ line 7; } > "$T/inbox/ftp_dpm_478_1700000002.sync"
once; ok $? "once exits 0: misbehaving plugins only cost their files"
for kind in $KINDS; do
    is "$(r evil_${kind}_1.txt .status)" failed "$kind: status failed"
    ok "$(ls "$T/state/quarantine/acme/" | grep -c "~evil_${kind}_1.txt\$" | grep -qx 1 && echo 0 || echo 1)" "$kind: quarantined"
done
if [ -z "${BD_ASAN:-}" ]; then
    like "$(r evil_crash_1.txt .reason)" "plugin evil crashed (SIGSEGV) at line 3" "crash: signal and line"
    like "$(r evil_abort_1.txt .reason)" "plugin evil crashed (SIGABRT) at line 3" "abort: signal and line"
else # AddressSanitizer's own crash report makes calls the sandbox forbids: the signal differs there
    like "$(r evil_crash_1.txt .reason)" "at line 3" "crash: the line"
    like "$(r evil_abort_1.txt .reason)" "at line 3" "abort: the line"
fi
like "$(r evil_hang_1.txt .reason)" "plugin evil timed out after" "hang: the wall-clock limit"
like "$(r evil_hang_1.txt .reason)" "at line 3" "hang: the line it hung at"
[ -z "${BD_ASAN:-}" ] && like "$(r evil_hog_1.txt .reason)" "plugin evil crashed (SIGABRT) at line 3" "memory hog: stopped by plugin_memory_limit (malloc fails, the plugin aborts)"
# socket() fails with EPERM in the sandbox (so that a redis match store's reconnect fails cleanly); evil then aborts
like "$(cat "$T/agent.log")" "socket() failed: Operation not permitted" "a socket() call fails with EPERM in the seccomp sandbox"
like "$(r evil_socket_1.txt .reason)" "at line 3" "socket: the plugin that could not get a socket gave up at line 3"
is "$(r evil_crash_1.txt .sha256)" "$(cat "$T/state/quarantine/acme/"*~evil_crash_1.txt | sha256sum | cut -d' ' -f1)" "failed receipts carry the sha256"
is "$(r ftp_dpm_478_1700000001.sync .status)" ok "files after the failures are processed normally"
is "$(r ftp_dpm_478_1700000002.sync .stored)" 1 "with the right counts"
is "$(find "$T/outbox" -path '*/.tmp/*' -type f | wc -l | tr -d ' ')" 0 "no staged output of a dead worker is left"
is "$(pgrep -f "batchdrop once -c $T" | wc -l | tr -d ' ')" 0 "no worker left behind"

# The worker's report crosses a pipe the plugin can reach. forge: the plugin writes a forged report into it and
# goes on; mute: it closes it and waits. Each alone in a run (a batch of its own), so that the blame is certain.
# The agent stops the worker and fails the file, rather than wait for ever (a worker may stay for a next batch).
for kind in forge mute; do
    { line 1; line 2; line 3; line 4; } > "$T/inbox/evil_${kind}_1.txt"
    once; ok $? "$kind: once exits 0"
    is "$(r evil_${kind}_1.txt .status)" failed "$kind: status failed"
done
like "$(r evil_forge_1.txt .reason)" "plugin evil broke the worker's report to the agent (garbled it) at line " \
    "forge: a forged report fails the file, and the worker is stopped"
like "$(r evil_mute_1.txt .reason)" "plugin evil broke the worker's report to the agent (closed it) at line 3" \
    "mute: a closed one too"
line 8 > "$T/inbox/ftp_dpm_478_1700000003.sync"
once; is "$(r ftp_dpm_478_1700000003.sync .status)" ok "the next file is ok"
is "$(pgrep -f "batchdrop once -c $T" | wc -l | tr -d ' ')" 0 "no worker left behind"

# A pool of workers: one partner's hanging file does not hold up another partner's files.
mkdir -p "$T/pool/in_a" "$T/pool/in_b"
cat > "$T/pool/bd.conf" <<CONF
state_dir = "state"; outbox = "outbox"; receipts = "receipts.jsonl"; plugin_dir = "$T/plugins";
match_map_size = "1G"; workers = 2; plugin_timeout = $((3 * SLOW));
partners = ( { name = "a"; inbox = "in_a"; settle = 0; ids = "ours"; },
             { name = "b"; inbox = "in_b"; settle = 0; ids = "ours"; } );
CONF
{ line 1; line 2; line 3; } > "$T/pool/in_a/evil_hang_2.txt"
for k in 1 2 3; do line $k > "$T/pool/in_b/ftp_dpm_478_170000000$k.sync"; done
bd once -c "$T/pool/bd.conf" 2>>"$T/agent.log"; ok $? "once with two workers"
is "$(jq -r .file "$T/pool/receipts.jsonl" | tail -n 1)" evil_hang_2.txt "partner b's files were done while a's file hung (its receipt comes last)"
is "$(jq -r 'select(.partner == "b") | .status' "$T/pool/receipts.jsonl" | sort -u)" ok "and they are ok"

# Started as root with `user`: workers run as that user, the supervisor opens the (0600) input for them.
if [ "$(id -u)" = 0 ] && id nobody > /dev/null 2>&1; then
    mkdir -p "$T/priv/inbox"
    cat > "$T/priv/bd.conf" <<CONF
state_dir = "state"; outbox = "outbox"; receipts = "receipts.jsonl"; plugin_dir = "$T/plugins";
match_map_size = "1G"; user = "nobody";
partners = ( { name = "acme"; inbox = "inbox"; settle = 0; ids = "ours"; } );
CONF
    line 9 > "$T/priv/inbox/ftp_dpm_478_1700000009.sync"
    chmod 600 "$T/priv/inbox/ftp_dpm_478_1700000009.sync"
    bd once -c "$T/priv/bd.conf" 2>>"$T/agent.log"; ok $? "once with user = nobody"
    is "$(jq -r .status "$T/priv/receipts.jsonl")" ok "a 0600 root-owned input is parsed by a worker running as nobody"
    is "$(stat -c %U "$(jq -r '.outbox[0]' "$T/priv/receipts.jsonl")")" nobody "the worker wrote its output as nobody"
fi

# plugin-test: any plugin through the same sandboxed worker, records and receipt on stdout
bd plugin-test "$PLUGINS/aam.so" "$SAMPLES/spec/ftp_dpm_odc_12345_1556223815.sync" > "$T/pt.out" 2>>"$T/agent.log"
ok $? "plugin-test on the ODC sample exits 0"
is "$(grep -c '"kind":"add"' "$T/pt.out")" 8 "8 records printed with their items"
is "$(grep '"status"' "$T/pt.out" | jq -r .records_received)" 8 "and the receipt"
is "$(grep -m1 '"line"' "$T/pt.out" | jq -r .dpid)" 20915 "with each record's DPID"
{ line 1; line 2; line 3; } > "$T/evil_crash_2.txt"
bd plugin-test "$T/plugins/evil.so" "$T/evil_crash_2.txt" > "$T/pt2.out" 2>>"$T/agent.log"
is $? 1 "plugin-test on a crashing plugin exits 1"
is "$(grep -c '"line"' "$T/pt2.out")" 2 "the records before the crash are shown"
like "$(grep '"status"' "$T/pt2.out" | jq -r .reason)" "at line 3" "and the receipt says where it died"

# ABI and ownership checks of the loader
chmod 664 "$T/plugins/evil.so"
bd check -c "$T/bd.conf" > "$T/check.out" 2>&1
like "$(cat "$T/check.out")" "writable by its group" "a group-writable plugin is refused, and the check says why"
chmod 644 "$T/plugins/evil.so"
done_testing
