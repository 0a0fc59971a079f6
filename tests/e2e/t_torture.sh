# t_torture.sh: 500+ mixed files into a local and a remote inbox while `run` or its workers are SIGKILLed 50+ times; exactly one outcome each.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
. "${BD_SRCDIR}/tests/e2e/sshd.sh"
SEED=${BD_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
echo "# seed $SEED (replay with BD_SEED=$SEED)"
KILLS=${BD_KILLS:-50}
SLOW=${BD_SLOW:-1}
rand() { # rand N: R = the next pseudo-random number in [0, N) of the seeded LCG
    SEED=$(( (SEED * 1103515245 + 12345) % 2147483648 ))
    R=$(( (SEED / 65536) % $1 ))
}
sshd_start || { echo "Bail out! cannot start sshd"; exit 1; }
R_IN="$SSHD_HOME/torture"
mkdir -p "$R_IN" && chown "$SSHD_USER:" "$R_IN"

# ---------------------------------------------------------------- inputs (deterministic from the seed)
gen() { # gen DIR KIND I: one input file of acme ("local") or globex ("remote"); its name on stdout
    rand 100
    case $R in
    [0-4]) name="ftp_dpm_478_$((1600000000 + $3)).sync"; : > "$1/$name" ;;                  # 5 % empty: rejected
    [5-6]) name="ftp_dpm_478_$((1600000000 + $3)).sync.gz"; printf 'not gzip\n' > "$1/$name" ;; # 2 % fake .gz
    *)
        rand 10
        lines=$(( R == 0 ? 20000 : (R < 3 ? 2000 : 3 + R) ))                                  # mixed sizes
        name="ftp_dpm_478_$((1600000000 + $3)).sync"
        if [ "$2" = local ]; then
            awk -v n="$lines" -v i="$3" 'BEGIN { for (k = 0; k < n; k++) printf "ACME-%d\td_sid=%d,d_sid=24\n", (k + i) % 200, (k * 7 + i) % 90 }' > "$1/$name"
        else
            awk -v n="$lines" -v i="$3" 'BEGIN { for (k = 0; k < n; k++) printf "%038d\td_sid=%d\n", (k + i) % 5000, (k + i) % 70 }' > "$1/$name"
        fi
        rand 3
        [ $R -eq 1 ] && gzip -n "$1/$name" && name="$name.gz"
        [ $R -eq 2 ] && zstd -q --rm "$1/$name" && name="$name.zst"
        ;;
    esac
    echo "$name"
}
make_inputs() { # make_inputs DIR: $DIR/local/* (acme), $DIR/remote/* (globex), $DIR/order (drop order)
    mkdir -p "$1/local" "$1/remote"
    : > "$1/order.k"
    i=0
    while [ $i -lt 510 ]; do # a third of the stream comes through the remote inbox
        kind=local
        [ $((i % 3)) -eq 2 ] && kind=remote
        echo "$((i * 10)) $kind $(gen "$1/$kind" $kind $i)" >> "$1/order.k"
        i=$((i + 1))
    done
    k=0
    while [ $k -lt 10 ]; do # ID-sync files of other IDs: 50 mappings each, applied under fire
        awk -v k=$k 'BEGIN { for (j = 0; j < 50; j++) printf "%038d\tOTHER-%d-%d\n", 900000 + k * 50 + j, k, j }' \
            > "$1/local/adobe_id_0_478_$((1650000000 + k)).sync"
        echo "$((k * 500 + 255)) local adobe_id_0_478_$((1650000000 + k)).sync" >> "$1/order.k"
        k=$((k + 1))
    done
    k=0
    while [ $k -lt 20 ]; do # duplicates under another name (same bytes as an earlier file)
        src=$(sed -n "$((k * 13 + 2))p" "$1/order.k")
        kind=$(echo "$src" | cut -d' ' -f2)
        f=$(echo "$src" | cut -d' ' -f3)
        dup="ftp_dpm_478_$((1690000000 + k)).sync${f#*.sync}"
        cp "$1/$kind/$f" "$1/$kind/$dup"
        echo "$((k * 250 + 300)) $kind $dup" >> "$1/order.k"
        k=$((k + 1))
    done
    sort -n "$1/order.k" | cut -d' ' -f2- > "$1/order"
}
SEED0=$SEED
make_inputs "$T/in"
total=$(wc -l < "$T/in/order" | tr -d ' ')
echo "# $total inputs"

conf() { # conf DIR REMOTE(1/0): globex is remote (torture) or a local inbox (reference)
    if [ "$2" = 1 ]; then
        g="remote = { host = \"127.0.0.1\"; port = $SSHD_PORT; user = \"$SSHD_USER\"; key = \"$SSHD_KEY\";
              known_hosts = \"$SSHD_KNOWN_HOSTS\"; path = \"$R_IN\"; poll = 0.2; settle = 0.3; timeout = 5; };"
    else
        g="inbox = \"$1/ginbox\"; settle = 0;"
    fi
    mkdir -p "$1/inbox" "$1/ginbox"
    cat > "$1/bd.conf" <<CONF
state_dir = "$1/state"; outbox = "$1/outbox"; receipts = "$1/log/receipts.jsonl"; plugin_dir = "$PLUGINS";
agent_id = "torture"; match_map_size = "1G"; retry_interval = 0.2; scan_interval = 0.5; workers = 2;
min_free_space = 0;
partners = ( { name = "acme"; inbox = "$1/inbox"; settle = 0; },
             { name = "globex"; ids = "ours"; $g } );
CONF
    # the ID-sync every acme trait file is matched through: applied before the stream
    awk 'BEGIN { for (j = 0; j < 200; j++) printf "%038d\tACME-%d\n", 7000 + j, j }' > "$1/inbox/adobe_id_0_478_1500000000.sync"
    bd once -c "$1/bd.conf" 2>>"$T/agent.log"
    : > "$1/log/receipts.jsonl"
}

# ---------------------------------------------------------------- the reference: one clean run
conf "$T/ref" 0
while read -r kind f; do
    if [ "$kind" = local ]; then cp "$T/in/local/$f" "$T/ref/inbox/"; else cp "$T/in/remote/$f" "$T/ref/ginbox/"; fi
done < "$T/in/order"
bd once -c "$T/ref/bd.conf" 2>>"$T/agent.log"; ok $? "reference run"

# ---------------------------------------------------------------- the torture
conf "$T/tor" 1
# Test builds (--enable-test-hooks): every other restart also arms a crash point at a random pass through one of
# the commit's dangerous points, so the torture hits them exactly, not only by chance.
HOOKS=0
case "$("$BD_BIN" --version)" in *"crash points"*) HOOKS=1 ;; esac
HOOKS_BUILT=$HOOKS
POINTS="after-idsync-commit after-journal after-outbox-rename after-receipt after-markers before-archive after-archive"
point_kills=0
# The first agent of a test build dies at its first commit's journal write for sure (the loop waits for it): random
# arming alone gave no crash-point death at all in a slow run (1 run in about 110, under load).
FORCE_POINT=$HOOKS
start_agent() {
    CRASH_AT=""
    if [ $FORCE_POINT -eq 1 ]; then
        CRASH_AT="after-journal:1"
    elif [ $HOOKS -eq 1 ]; then
        rand 2
        if [ $R -eq 1 ]; then
            rand 7
            set -- $POINTS
            shift $R
            rand 5
            CRASH_AT="$1:$((R + 1))"
        fi
    fi
    (BD_CRASH_AT=$CRASH_AT bd_exec run -c "$T/tor/bd.conf" 2>>"$T/tor.log") &
    AGENT=$!
}
feed() { # feed N: the next N inputs of the order, by rename (local) or by upload-then-rename (remote)
    k=0
    while [ $k -lt "$1" ] && read -r kind f <&3; do
        if [ "$kind" = local ]; then
            cp "$T/in/local/$f" "$T/tor/inbox/.up" && mv "$T/tor/inbox/.up" "$T/tor/inbox/$f"
        else
            cp "$T/in/remote/$f" "$R_IN/.up" && chown "$SSHD_USER:" "$R_IN/.up" && mv "$R_IN/.up" "$R_IN/$f"
        fi
        k=$((k + 1))
    done
}
exec 3< "$T/in/order"
start_agent
kills=0 worker_kills=0
agent_gone() { ! kill -0 "$AGENT" 2>/dev/null; }
while [ $kills -lt "$KILLS" ]; do
    feed 11
    rand 40
    sleep "0.$(printf %02d $((R + 5)))"
    if [ $FORCE_POINT -eq 1 ]; then
        WAIT=$((30 * SLOW)) wait_for agent_gone # it commits what was just fed, and dies at its crash point
        ok $? "the first agent died at its first journal write (BD_CRASH_AT=after-journal:1)"
        FORCE_POINT=0
    fi
    rand 10
    victim=$AGENT
    if [ $R -lt 3 ]; then # a worker or an SFTP helper
        kids=$(pgrep -P "$AGENT" | tr '\n' ' ')
        if [ -n "$kids" ]; then
            set -- $kids
            rand $#
            shift $R
            victim=$1
        fi
    fi
    if ! kill -0 "$AGENT" 2>/dev/null; then # it died at its armed crash point
        victim=$AGENT
        kills=$((kills + 1))
        point_kills=$((point_kills + 1))
    else
        kill -9 "$victim" 2>/dev/null && kills=$((kills + 1))
    fi
    if [ "$victim" = "$AGENT" ]; then
        wait "$AGENT" 2>/dev/null
        start_agent
    else
        worker_kills=$((worker_kills + 1))
    fi
done
feed 100000
exec 3<&-
if [ -n "$CRASH_AT" ]; then # the last agent must drain the stream: one without an armed crash point
    kill -9 "$AGENT" 2>/dev/null
    wait "$AGENT" 2>/dev/null
    HOOKS=0
    start_agent
fi
echo "# $kills kills ($worker_kills of a worker or SFTP helper, $point_kills at an armed crash point)"
if [ $HOOKS_BUILT -eq 1 ]; then
    [ $point_kills -gt 0 ]; ok $? "some of the kills happened at exact crash points ($point_kills)"
fi
BG_PIDS="$BG_PIDS $AGENT"
all_done() { [ "$(jq -r .file "$T/tor/log/receipts.jsonl" | sort -u | wc -l)" -ge "$total" ] &&
             [ -z "$(find "$T/tor/inbox" "$R_IN" "$T/tor/state/claims" "$T/tor/state/remote" -type f 2>/dev/null)" ]; }
WAIT=$((180 * SLOW)) wait_for all_done
ok $? "after $kills kills, every input is processed and nothing is left waiting"
kill -TERM "$AGENT"; wait "$AGENT"; is $? 0 "the last agent stops cleanly"

# ---------------------------------------------------------------- invariants
# "status md5-of-outbox" per receipt (no names: duplicates may swap with their originals)
summary() { outcome_summary "$1"; }
L="$T/tor/log/receipts.jsonl"
is "$(jq -r .file "$L" | sort | uniq -d | wc -l | tr -d ' ')" 0 "no input has two receipts"
is "$(jq -r .file "$L" | wc -l | tr -d ' ')" "$total" "every input has a receipt"
summary "$T/ref" > "$T/ref.sum"
summary "$T/tor" > "$T/tor.sum"
is "$(cat "$T/tor.sum" | md5sum)" "$(cat "$T/ref.sum" | md5sum)" "statuses and outbox contents equal a clean run's"
diff "$T/ref.sum" "$T/tor.sum" | head -5 | sed 's/^/# /'
for p in acme globex; do
    is "$(jq -r --arg p $p 'select(.partner == $p and .status == "ok" and (.outbox | length) > 0) | .outbox[0]' "$L" | sort -u | wc -l | tr -d ' ')" \
       "$(find "$T/tor/outbox/$p" -maxdepth 1 -name '*.sync' | wc -l | tr -d ' ')" "$p: one outbox file per ok receipt, and no other"
done
is "$(find "$T/tor" "$R_IN" -name '*.bdtmp.*' -o -name '*.part' -o -path '*/.tmp/*' -type f | wc -l | tr -d ' ')" 0 \
   "no temp, partial or staged file left"
is "$(find "$R_IN" -type f | wc -l | tr -d ' ')" 0 "the remote inbox and its claim folders are empty"
is "$(mdb_stat -s journal "$T/tor/state/ledger" | awk '/Entries/ {print $2}')" 0 "the commit journal is empty"
distinct=$(jq -r 'select(.status == "ok") | "\(.partner)/\(.sha256)"' "$L" | sort -u | wc -l)
is "$(mdb_stat -s files "$T/tor/state/ledger" | awk '/Entries/ {print $2}')" "$((distinct + 1))" \
   "the ledger holds one entry per partner and content processed ok (+1: the setup ID-sync)"
is "$(mdb_stat "$T/tor/state/match" | awk '/Entries/ {print $2}')" 700 "the match store opens and holds the 200 + 10 x 50 mappings"
is "$(grep -c 'given up' "$L")" 0 "no file was given up after worker kills"
done_testing
