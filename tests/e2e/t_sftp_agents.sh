# t_sftp_agents.sh: three agents (separate processes and state folders) on one remote inbox of 300 files: each file once.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
. "${BD_SRCDIR}/tests/e2e/sshd.sh"
SLOW=${BD_SLOW:-1}
sshd_start || { echo "Bail out! cannot start sshd"; exit 1; }
R="$SSHD_HOME/outgoing"
mkdir -p "$R" "$SSHD_HOME/staging" && chown "$SSHD_USER:" "$R" "$SSHD_HOME/staging"
N=300
i=0
while [ $i -lt $N ]; do
    printf '%038d\td_sid=%d,d_sid=7\n%038d\td_sid=8\n' "$i" "$i" "$((i + 1000))" > "$SSHD_HOME/staging/ftp_dpm_478_$((1600000000 + i)).sync"
    i=$((i + 1))
done
chown -R "$SSHD_USER:" "$SSHD_HOME/staging"
for a in 1 2 3; do
    mkdir -p "$T/a$a"
    cat > "$T/a$a/bd.conf" <<CONF
state_dir = "state"; outbox = "outbox"; receipts = "log/receipts.jsonl";
plugin_dir = "$PLUGINS"; agent_id = "agent$a"; match_map_size = "1G"; scan_interval = 1;
partners = ( { name = "acme"; ids = "ours";
  $(sshd_remote "path = \"$R\"; poll = 0.3; settle = 0.5; timeout = 10;") } );
CONF
    (bd_exec run -c "$T/a$a/bd.conf" 2>>"$T/a$a/agent.log") &
    BG_PIDS="$BG_PIDS $!"
    eval "PID$a=$!"
done
mv "$SSHD_HOME/staging/"* "$R/"   # renames: every file appears complete
total() { cat "$T"/a?/log/receipts.jsonl 2>/dev/null | wc -l | tr -d ' '; }
all_done() { [ "$(total)" -ge $N ] && [ "$(find "$R" -type f | wc -l)" -eq 0 ]; }
WAIT=$((90 * SLOW)) wait_for all_done
ok $? "three agents drained the remote inbox"
for a in 1 2 3; do eval "kill -TERM \$PID$a; wait \$PID$a"; done
is "$(total)" $N "$N receipts in all"
is "$(cat "$T"/a?/log/receipts.jsonl | jq -r .file | sort -u | wc -l | tr -d ' ')" $N "every file has a receipt"
is "$(cat "$T"/a?/log/receipts.jsonl | jq -r .file | sort | uniq -d | wc -l | tr -d ' ')" 0 "no file processed twice"
is "$(cat "$T"/a?/log/receipts.jsonl | jq -r .status | sort -u)" ok "all ok"
is "$(find "$T"/a?/outbox/acme -maxdepth 1 -name '*.sync' | wc -l | tr -d ' ')" $N "one outbox file per input across the agents"
is "$(cat "$T"/a?/outbox/acme/*.sync | wc -l | tr -d ' ')" $((2 * N)) "every line out once"
busy=0
for a in 1 2 3; do [ "$(wc -l < "$T/a$a/log/receipts.jsonl" 2>/dev/null || echo 0)" -gt 0 ] && busy=$((busy + 1)); done
echo "# agents that took files: $busy; per agent: $(for a in 1 2 3; do wc -l < "$T/a$a/log/receipts.jsonl" 2>/dev/null; done | tr '\n' ' ')"
is "$(find "$R" -type f | wc -l | tr -d ' ')" 0 "no claim left on the server"
done_testing
