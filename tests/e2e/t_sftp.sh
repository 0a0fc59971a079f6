# t_sftp.sh: remote SFTP inboxes and outboxes against a real OpenSSH sshd: pull, delete/move, truncated gz, push, trust.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
. "${BD_SRCDIR}/tests/e2e/sshd.sh"
D="$SAMPLES/demo"
sshd_start || { echo "Bail out! cannot start sshd"; exit 1; }
R="$SSHD_HOME/outgoing"
mkdir -p "$R" && chown "$SSHD_USER:" "$R"

# remote_conf [extra remote settings] [extra partner settings]
remote_conf() {
    cat > "$T/bd.conf" <<CONF
state_dir = "state";
outbox = "outbox";
receipts = "log/receipts.jsonl";
plugin_dir = "$PLUGINS";
agent_id = "${AGENT:-a1}";
match_map_size = "1G";
partners = (
  { name = "acme";
    remote = { host = "127.0.0.1"; port = $SSHD_PORT; user = "$SSHD_USER"; key = "${KEY:-$SSHD_KEY}";
               known_hosts = "${KNOWN:-$SSHD_KNOWN_HOSTS}"; path = "$R"; poll = 0.5; settle = ${RSETTLE:-0};
               timeout = 5; ${1:-} };
    ${2:-} }
);
CONF
}
put() { cp "$1" "$R/${2:-$(basename "$1")}" && chown "$SSHD_USER:" "$R/${2:-$(basename "$1")}"; }
# put_variant SRC NAME: SRC plus one line that makes its content (and SHA-256) new
put_variant() { { cat "$1"; printf '\nACME-0001\td_sid=%s\n' "$2" | tr -dc '0-9a-zA-Z_=\t\n-'; } > "$T/variant" && put "$T/variant" "$2"; }
remote_left() { find "$R" -type f -not -path "$R/done/*" | wc -l | tr -d ' '; }

# --- pull, process, delete
remote_conf
bd check -c "$T/bd.conf" --connect > "$T/check.out" 2>&1; ok $? "check --connect logs in"
like "$(cat "$T/check.out")" "SHA256:" "and shows the host key fingerprint"
put "$D/adobe_id_0_478_1700000000.sync"
put "$D/ftp_dpm_478_1700000100.sync"
put "$D/ftp_dpm_478_1700000200.sync.1.gz"
once; ok $? "once pulls from the remote inbox"
is "$(r adobe_id_0_478_1700000000.sync .status)" ok "ID-sync pulled and applied"
is "$(r ftp_dpm_478_1700000100.sync .stored)" 3 "trait file matched through it (ID-sync taken first)"
like "$(r ftp_dpm_478_1700000100.sync .source)" "sftp://$SSHD_USER@127.0.0.1:$SSHD_PORT$R/" "receipt source is the sftp URL"
is "$(r ftp_dpm_478_1700000200.sync.1.gz .status)" ok "gzip pulled"
is "$(r ftp_dpm_478_1700000100.sync .sha256)" "$(sha256sum < "$D/ftp_dpm_478_1700000100.sync" | cut -d' ' -f1)" "sha256 of the pulled file"
is "$(remote_left)" 0 "remote sources deleted once processed (claims too)"
is "$(find "$T/state/remote" -type f | wc -l | tr -d ' ')" 0 "no download, queue or marker left locally"

# --- after = "move"
remote_conf 'after = "move"; move_to = "'"$R"'/done";'
put "$D/ftp_dpm_478_1700000300.overwrite.zst"
once
is "$(r ftp_dpm_478_1700000300.overwrite.zst .status)" ok "zstd pulled"
ok "$([ -f "$R/done/ftp_dpm_478_1700000300.overwrite.zst" ] && echo 0 || echo 1)" "moved to move_to after processing"
is "$(find "$R" -maxdepth 1 -type f | wc -l | tr -d ' ')" 0 "and gone from the inbox"

# --- a truncated .gz stays on the server until it is complete; then it is taken
remote_conf
head -c 30000 /dev/urandom | od -An -tx1 | tr -d ' \n' | fold -w 40 | sed 's/^/ACME-0001\tp=/' | gzip -c > "$T/t.gz"
head -c 2000 "$T/t.gz" > "$T/t.part.gz"; put "$T/t.part.gz" ftp_dpm_478_1700000400.sync.gz
once
is "$(nreceipts ftp_dpm_478_1700000400.sync.gz)" 0 "truncated gzip: no receipt"
ok "$([ -f "$R/ftp_dpm_478_1700000400.sync.gz" ] && echo 0 || echo 1)" "truncated gzip given back to the remote inbox"
put "$T/t.gz" ftp_dpm_478_1700000400.sync.gz
once
is "$(r ftp_dpm_478_1700000400.sync.gz .status)" ok "taken once complete"

# --- claims left behind: a dead agent's (old) claim is given back; our own interrupted download is resumed
remote_conf
mkdir -p "$R/.batchdrop/deadagent" "$R/.batchdrop/a1"
put_variant "$D/ftp_dpm_478_1700000100.sync" ftp_dpm_478_1700000700.sync
mv "$R/ftp_dpm_478_1700000700.sync" "$R/.batchdrop/deadagent/c1000000000000-1-1~ftp_dpm_478_1700000700.sync"
put_variant "$D/ftp_dpm_478_1700000100.sync" ftp_dpm_478_1700000701.sync
mv "$R/ftp_dpm_478_1700000701.sync" "$R/.batchdrop/a1/c$(date +%s)000-1-1~ftp_dpm_478_1700000701.sync"
chown -R "$SSHD_USER:" "$R/.batchdrop"
once
is "$(r ftp_dpm_478_1700000701.sync .status)" ok "our own claim without a local trace is downloaded again and processed"
is "$(find "$R/.batchdrop/deadagent" -type f | wc -l | tr -d ' ')" 0 "a dead agent's claim older than claim_timeout is given back"
once
is "$(r ftp_dpm_478_1700000700.sync .status)" ok "and then processed"
is "$(remote_left)" 0 "nothing left on the server"

# --- done lists: the commit's list of sources to delete; their claims are never downloaded again
# own_claim SEQ NAME: a claim of this agent on the server (a variant of a trait file), printed as its entry
own_claim() {
    local e="c$(date +%s)000-1-$1~$2"
    put_variant "$D/ftp_dpm_478_1700000100.sync" "$2" && mv "$R/$2" "$R/.batchdrop/a1/$e" &&
        chown "$SSHD_USER:" "$R/.batchdrop/a1/$e" && echo "$e"
}
DONE="$T/state/remote/acme/done"
remote_conf
E1=$(own_claim 11 ftp_dpm_478_1700000711.sync); E2=$(own_claim 12 ftp_dpm_478_1700000712.sync)
E3=$(own_claim 13 ftp_dpm_478_1700000713.sync)
printf '%s\0not-a-claim\0%s\0' "$E1" "$E2" > "$DONE/g1-1-0.list"
: > "$DONE/$E3" # the one-file marker of earlier versions
once; ok $? "once with done lists waiting"
is "$(nreceipts ftp_dpm_478_1700000711.sync)$(nreceipts ftp_dpm_478_1700000712.sync)$(nreceipts ftp_dpm_478_1700000713.sync)" 000 \
    "sources named in a done list or an old marker are not processed again"
is "$(find "$R/.batchdrop/a1" -type f | wc -l | tr -d ' ')" 0 "they are deleted on the server"
is "$(find "$DONE" -type f | wc -l | tr -d ' ')" 0 "the list and the marker are removed"
like "$(grep not-a-claim "$T/agent.log")" "not a claim of this agent; skipped" "a stray entry is skipped, with a warning"
# a list whose moves fail stays, and under `run` its claims are still not downloaded again (the claim recovery)
mkdir -p "$SSHD_HOME/locked"; chmod 755 "$SSHD_HOME/locked" # root's: the sftp user cannot move into it
remote_conf 'after = "move"; move_to = "'"$SSHD_HOME"'/locked";'
E4=$(own_claim 14 ftp_dpm_478_1700000714.sync); E5=$(own_claim 15 ftp_dpm_478_1700000715.sync)
printf '%s\0' "$E4" > "$DONE/g1-1-1.list"
(bd_exec run -c "$T/bd.conf" 2>>"$T/agent.log") & AGENT=$!; BG_PIDS="$BG_PIDS $AGENT"
has_receipt() { [ "$(nreceipts "$1")" -ge 1 ]; } # has_receipt NAME: wait_for runs it afresh each time
WAIT=30 wait_for has_receipt ftp_dpm_478_1700000715.sync
ok $? "under run, the recovered claim gets its receipt"
is "$(r ftp_dpm_478_1700000715.sync .status)" ok "under run, a claim named in no list is recovered: downloaded and processed"
sleep 1.5 # three more passes of the fetcher (poll 0.5 s)
kill -TERM "$AGENT"; wait "$AGENT"; ok $? "the agent stops cleanly"
is "$(nreceipts ftp_dpm_478_1700000714.sync)" 0 "a claim named in a list whose move failed is not downloaded again"
ok "$([ -f "$DONE/g1-1-1.list" ] && [ -f "$R/.batchdrop/a1/$E4" ] && echo 0 || echo 1)" "the list and the claim stay for a retry"
chown "$SSHD_USER:" "$SSHD_HOME/locked"
once
ok "$([ -f "$SSHD_HOME/locked/ftp_dpm_478_1700000714.sync" ] && [ ! -e "$DONE/g1-1-1.list" ] && echo 0 || echo 1)" \
    "once the move works, it is made and the list removed"
is "$(nreceipts ftp_dpm_478_1700000714.sync)" 0 "still without a receipt"

# --- push: outbox files and the receipt go to remote_outbox under a temp name, then renamed
OUTR="$SSHD_HOME/incoming"
remote_conf '' 'remote_outbox = { host = "127.0.0.1"; port = '"$SSHD_PORT"'; user = "'"$SSHD_USER"'"; key = "'"$SSHD_KEY"'"; known_hosts = "'"$SSHD_KNOWN_HOSTS"'"; path = "'"$OUTR"'"; timeout = 5; }; remote_receipts = true;'
put_variant "$D/ftp_dpm_478_1700000100.sync" ftp_dpm_478_1700000500.sync
once; ok $? "once with a remote_outbox"
OUT=$(r ftp_dpm_478_1700000500.sync '.outbox[0]')
is "$(cmp "$OUT" "$OUTR/$(basename "$OUT")" && echo same)" same "outbox file pushed, byte for byte"
ok "$([ -f "$OUTR/$(basename "$(r ftp_dpm_478_1700000500.sync '.outbox[1]')")" ] && echo 0 || echo 1)" ".info pushed"
is "$(jq -r .file "$OUTR/$(basename "$OUT").receipt.json")" ftp_dpm_478_1700000500.sync "receipt pushed beside it"
is "$(find "$OUTR" -name '*.part' | wc -l | tr -d ' ')" 0 "no temp name left on the server"
is "$(find "$T/state/remote/acme/push" -type f | wc -l | tr -d ' ')" 0 "push queue drained"

# --- trust: unknown and changed host keys are refused, wrong client keys too
: > "$T/empty_known_hosts"
KNOWN="$T/empty_known_hosts" remote_conf
put_variant "$D/ftp_dpm_478_1700000100.sync" ftp_dpm_478_1700000600.sync
bd check -c "$T/bd.conf" > "$T/c1" 2>&1
is $? 1 "check refuses an empty known_hosts"
ssh-keygen -q -t ed25519 -N '' -f "$T/otherhost"
printf 'otherhost.example %s\n' "$(cut -d' ' -f1,2 "$T/otherhost.pub")" > "$T/unknown_kh"
KNOWN="$T/unknown_kh" remote_conf
bd check -c "$T/bd.conf" --connect > "$T/c2" 2>&1
is $? 1 "unknown host key: check --connect fails"
like "$(cat "$T/c2")" "SHA256:" "the message carries the offered key's fingerprint"
once; is $? 1 "unknown host key: once exits 1 (the work could not be done)"
is "$(nreceipts ftp_dpm_478_1700000600.sync)" 0 "and takes nothing"
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 "$T/otherhost.pub")" > "$T/changed_kh"
KNOWN="$T/changed_kh" remote_conf
bd check -c "$T/bd.conf" --connect > "$T/c3" 2>&1
is $? 1 "changed host key refused"
like "$(cat "$T/c3")" "CHANGED" "and called a changed key"
ssh-keygen -q -t ed25519 -N '' -f "$T/wrongkey"
KEY="$T/wrongkey" remote_conf
bd check -c "$T/bd.conf" --connect > "$T/c4" 2>&1
is $? 1 "a key the server does not know is refused"
like "$(cat "$T/c4")" "auth" "classified as an auth failure"
chmod 644 "$SSHD_KEY"; remote_conf
bd check -c "$T/bd.conf" > "$T/c5" 2>&1
like "$(cat "$T/c5")" "chmod 600" "check refuses a key readable by others"
chmod 600 "$SSHD_KEY"
remote_conf
once
is "$(r ftp_dpm_478_1700000600.sync .status)" ok "with the right trust, the waiting file is taken"
done_testing
