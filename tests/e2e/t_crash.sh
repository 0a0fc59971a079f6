# t_crash.sh: SIGKILL `once` at random moments over a mixed backlog; after recovery every input has exactly one outcome.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
SEED=${BD_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
echo "# seed $SEED (replay with BD_SEED=$SEED)"
KILLS=${BD_KILLS:-60}
rand() { # rand N: set R to the next pseudo-random number in [0, N) from the seeded LCG
    SEED=$(( (SEED * 1103515245 + 12345) % 2147483648 ))
    R=$(( (SEED / 65536) % $1 ))
}

make_inputs() { # make_inputs DIR
    mkdir -p "$1"
    i=0
    while [ $i -lt 250 ]; do
        f="$1/ftp_dpm_478_$((1600000000 + i)).sync"
        printf 'ACME-0001\td_sid=%d,d_sid=7\nACME-0002\td_unsid=%d\nACME-0404\td_sid=1\n' "$i" "$((i % 13))" > "$f"
        [ $((i % 25)) -eq 0 ] && printf 'ACME-0003\tbroken="\n' >> "$f"
        [ $((i % 3)) -eq 0 ] && gzip -n "$f"
        i=$((i + 1))
    done
    i=0
    while [ $i -lt 25 ]; do # duplicates: same bytes as file 100+i under another name
        cp "$1/ftp_dpm_478_$((1600000100 + i)).sync"* "$1/ftp_dpm_478_$((1700000000 + i)).sync" 2>/dev/null ||
            cp "$1/ftp_dpm_478_$((1600000100 + i)).sync.gz" "$1/ftp_dpm_478_$((1700000000 + i)).sync.gz"
        i=$((i + 1))
    done
    i=0
    while [ $i -lt 15 ]; do # rejects
        : > "$1/ftp_dpm_478_$((1800000000 + i)).sync"
        i=$((i + 1))
    done
}

# summary DIR: "file status md5-of-outbox" per receipt
summary() { outcome_summary "$1" names; }

setup() { # setup DIR: an agent with the ID-sync already applied
    mkdir -p "$1/inbox"
    sed "s|\"inbox\"|\"$1/inbox\"|; s|\"state\"|\"$1/state\"|; s|\"outbox\"|\"$1/outbox\"|; s|\"log/|\"$1/log/|" \
        "$T/bd.conf" > "$1/bd.conf"
    cp "$SAMPLES/demo/adobe_id_0_478_1700000000.sync" "$1/inbox/"
    bd once -c "$1/bd.conf" 2>>"$T/agent.log"
    : > "$1/log/receipts.jsonl"
    make_inputs "$1/inbox"
}

new_agent
setup "$T/ref"
bd once -c "$T/ref/bd.conf" 2>>"$T/agent.log"; ok $? "reference run"
setup "$T/crash"
kills=0
while [ $kills -lt "$KILLS" ]; do
    (bd_exec once -c "$T/crash/bd.conf" 2>>"$T/agent.log") &
    pid=$!
    rand 25
    sleep "0.0$(printf %02d "$R")"
    kill -9 $pid 2>/dev/null && kills=$((kills + 1))
    wait $pid 2>/dev/null
    [ "$(find "$T/crash/inbox" -type f | wc -l)" -eq 0 ] && break
done
echo "# $kills kills"
bd once -c "$T/crash/bd.conf" 2>>"$T/agent.log"; ok $? "recovery run exits 0"
is "$(find "$T/crash/inbox" -type f | wc -l | tr -d ' ')" 0 "no input, claim or temp file left in the inbox"
is "$(find "$T/crash/outbox" -path '*/.tmp/*' -type f | wc -l | tr -d ' ')" 0 "no staged outbox file left"
is "$(find "$T/crash/state/archive" "$T/crash/state/quarantine" -name '*.bdtmp.*' | wc -l | tr -d ' ')" 0 "no temp file in archive or quarantine"
is "$(jq -r .file "$T/crash/log/receipts.jsonl" | sort | uniq -d | wc -l | tr -d ' ')" 0 "no input has two receipts"
is "$(jq -r .file "$T/crash/log/receipts.jsonl" | wc -l | tr -d ' ')" 290 "every input has a receipt"
is "$(jq -r 'select(.status == "ok") | .outbox[0]' "$T/crash/log/receipts.jsonl" | sort -u | wc -l | tr -d ' ')" \
   "$(find "$T/crash/outbox/acme" -maxdepth 1 -name '*.sync' | wc -l | tr -d ' ')" "one outbox file per ok receipt, and no other"
summary "$T/ref" > "$T/ref.sum"
summary "$T/crash" > "$T/crash.sum"
is "$(grep -c ' ok ' "$T/crash.sum")" "$(grep -c ' ok ' "$T/ref.sum")" "as many ok files as a clean run"
# duplicates may swap with their originals under crashes: compare content sums as multisets
is "$(awk '{print $3}' "$T/crash.sum" | sort | md5sum)" "$(awk '{print $3}' "$T/ref.sum" | sort | md5sum)" \
   "outbox contents equal a clean run's"
is "$(awk '{print $2}' "$T/crash.sum" | sort | uniq -c | tr -s ' ')" "$(awk '{print $2}' "$T/ref.sum" | sort | uniq -c | tr -s ' ')" \
   "statuses equal a clean run's"
if command -v mdb_stat >/dev/null; then
    files=$(mdb_stat -s files "$T/crash/state/ledger" | awk '/Entries/ {print $2}')
    distinct=$(jq -r 'select(.status == "ok") | .sha256' "$T/crash/log/receipts.jsonl" | sort -u | wc -l)
    is "$files" "$((distinct + 1))" "the ledger holds one entry per distinct content processed ok (+1: the ID-sync file)"
    is "$(mdb_stat -s journal "$T/crash/state/ledger" | awk '/Entries/ {print $2}')" 0 "the commit journal is empty"
fi
is "$(mdb_stat "$T/crash/state/match" | awk '/Entries/ {print $2}')" 5 "the match store holds the 5 mappings"
done_testing
