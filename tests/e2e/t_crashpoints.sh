# t_crashpoints.sh: die at each dangerous point of the commit (BD_CRASH_AT, test builds); the next run leaves exactly one outcome per file.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
D="$SAMPLES/demo"
SLOW=${BD_SLOW:-1}
case "$("$BD_BIN" --version)" in
*"crash points"*) ;;
*) echo "1..0 # SKIP built without --enable-test-hooks (./check.sh builds with them)"; exit 0 ;;
esac

inputs() { # inputs DIR: ID-sync, traits plain/gz/zst, a duplicate under another name, a reject
    mkdir -p "$1"
    cp "$D/adobe_id_0_478_1700000000.sync" "$D/ftp_dpm_478_1700000100.sync" "$D/ftp_dpm_478_1700000200.sync.1.gz" \
        "$D/ftp_dpm_478_1700000300.overwrite.zst" "$1/"
    cp "$D/ftp_dpm_478_1700000100.sync" "$1/ftp_dpm_478_1700000150.sync"
    : > "$1/ftp_dpm_478_1700000400.sync"
}
conf() { # conf DIR
    cat > "$1/bd.conf" <<CONF
state_dir = "state"; outbox = "outbox"; receipts = "log/receipts.jsonl"; plugin_dir = "$PLUGINS";
agent_id = "cp"; match_map_size = "1G"; retry_interval = 0.1;
partners = ( { name = "acme"; inbox = "inbox"; settle = 0;
  receipt_mail = { to = [ "nobody" ]; }; } );
sendmail = "/bin/true";
CONF
}
summary() { outcome_summary "$1" names; } # "file status md5-of-outbox" per receipt
run_once() { "$BD_BIN" once -c "$1/bd.conf" 2>>"$T/agent.log"; }

mkdir -p "$T/ref"; conf "$T/ref"; inputs "$T/ref/inbox"
run_once "$T/ref"; ok $? "reference run"
summary "$T/ref" > "$T/ref.sum"

check_recovered() { # check_recovered DIR POINT: one outcome per file, nothing left behind
    local W=$1 point=$2
    summary "$W" > "$W.sum"
    is "$(cat "$W.sum")" "$(cat "$T/ref.sum")" "$point: receipts and outbox contents equal a clean run's"
    is "$(jq -r .file "$W/log/receipts.jsonl" | sort | uniq -d | wc -l | tr -d ' ')" 0 "$point: no file has two receipts"
    is "$(find "$W/outbox/acme" -maxdepth 1 -name '*.sync' | wc -l | tr -d ' ')" \
       "$(find "$T/ref/outbox/acme" -maxdepth 1 -name '*.sync' | wc -l | tr -d ' ')" "$point: no extra outbox file"
    is "$(find "$W/inbox" "$W/state/claims" "$W/outbox" -type f \( -path '*/.tmp/*' -o -path '*/claims/*' -o -name '*.bdtmp.*' -o -path '*/inbox/*' \) | wc -l | tr -d ' ')" 0 \
       "$point: no input, claim, staged or temp file left"
    is "$(mdb_stat -s journal "$W/state/ledger" | awk '/Entries/ {print $2}')" 0 "$point: the journal is empty"
    is "$(mdb_stat -s files "$W/state/ledger" | awk '/Entries/ {print $2}')" \
       "$(mdb_stat -s files "$T/ref/state/ledger" | awk '/Entries/ {print $2}')" "$point: the ledger agrees with the receipts"
    is "$(mdb_stat "$W/state/match" | awk '/Entries/ {print $2}')" 5 "$point: the match store holds the 5 mappings"
    is "$(find "$W/state/mail" -name '*.eml' 2>/dev/null | wc -l | tr -d ' ')" 0 "$point: every receipt mail went out"
}

for point in after-idsync-commit after-journal after-outbox-rename after-receipt after-markers before-archive \
    after-archive worker-idsync-commit after-receipt:2 after-outbox-rename:4; do
    W="$T/$(echo "$point" | tr ':' '_')"
    mkdir -p "$W"; conf "$W"; inputs "$W/inbox"
    BD_CRASH_AT=$point run_once "$W"
    rc=$?
    case "$point" in
    worker-*) is "$rc" 1 "$point: the worker dies, the file is left for a retry (exit 1)" ;;
    *) is "$rc" 137 "$point: the agent dies there (SIGKILL)" ;;
    esac
    run_once "$W"; is $? 0 "$point: the next run recovers (exit 0)"
    check_recovered "$W" "$point"
done

# Under run, the steps after the receipts are a deferred tail (they run for several commits at once): die there.
for point in after-outbox-rename after-receipt after-markers before-archive after-archive; do
    W="$T/run_$point"
    mkdir -p "$W"; conf "$W"; inputs "$W/inbox"
    (cd "$W" && BD_CRASH_AT=$point timeout $((30 * SLOW)) "$BD_BIN" run -c "$W/bd.conf" 2>>"$T/agent.log")
    is "$?" 137 "run, $point: the agent dies there (SIGKILL)"
    run_once "$W"; is $? 0 "run, $point: the next run recovers (exit 0)"
    check_recovered "$W" "run, $point"
done
done_testing
