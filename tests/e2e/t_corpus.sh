# t_corpus.sh: every case of tests/corpus/cases/ through one `batchdrop run` agent: the expected receipt (or
# log line), the agent still up after each case, a good file processed after all of them, then `batchdrop once`
# over the whole corpus, and a clean SIGTERM. Case layout and the expect syntax: tests/corpus/README.md.
# BD_CORPUS_ONLY=NNN (a case number or folder name, or a space-separated list) runs only those cases.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
SLOW=${BD_SLOW:-1}
CORPUS="$BD_SRCDIR/tests/corpus"
CASES="$CORPUS/cases"
U=68079982765673198504052656074456196039 # a well-formed user ID for the default partner (ids = "ours")


selected() { # selected <case folder name>
    [ -z "${BD_CORPUS_ONLY:-}" ] && return 0
    for s in $BD_CORPUS_ONLY; do
        case "$1" in "$s" | "$s"-*) return 0 ;; esac
    done
    return 1
}

case_list=""
for d in "$CASES"/*/; do
    d=${d%/}
    selected "${d##*/}" && case_list="$case_list ${d##*/}"
done

# The partner of a case: its own (c<number>, inbox in-<number>) when it has a partner.conf, else "corpus".
partner_of() { if [ -f "$CASES/$1/partner.conf" ]; then echo "c${1%%-*}"; else echo corpus; fi; }
inbox_of() { if [ -f "$CASES/$1/partner.conf" ]; then echo "$2/in-${1%%-*}"; else echo "$2/inbox"; fi; }

# write_config DIR: bd.conf with the default partner and one partner per case with a partner.conf
write_config() {
    mkdir -p "$1/inbox"
    {
        cat <<CONF
state_dir = "state";
outbox = "outbox";
receipts = "log/receipts.jsonl";
plugin_dir = "$PLUGINS";
agent_id = "corpus";
scan_interval = 0.5;
retry_interval = 1;
match_map_size = "1G";
max_decoded_size = "64M";
incomplete_timeout = 2;
plugin_timeout = $((30 * SLOW));
partners = (
  { name = "corpus"; inbox = "inbox"; settle = 0; ids = "ours"; }
CONF
        for c in $case_list; do
            [ -f "$CASES/$c/partner.conf" ] || continue
            mkdir -p "$(inbox_of "$c" "$1")"
            printf '  ,{ name = "%s"; inbox = "in-%s"; settle = 0;\n' "$(partner_of "$c")" "${c%%-*}"
            sed 's/^/     /' "$CASES/$c/partner.conf"
            printf '   }\n'
        done
        echo ");"
    } > "$1/bd.conf"
}

# case_name CASE: the file name to drop: the name file with printf %b escapes (\n, \t, \377) expanded
case_name() { printf '%bx' "$(cat "$CASES/$1/name")"; }

# make_input CASE TARGET SCRATCH: create the case's entry at TARGET (any file type), ready to be renamed in
make_input() {
    if [ -f "$CASES/$1/make.sh" ]; then
        (cd "$3" && CORPUS="$CORPUS" CASE_DIR="$CASES/$1" U="$U" sh "$CASES/$1/make.sh" "$2" "$3")
    else
        cp "$CASES/$1/input" "$2"
    fi
}

# ---------------------------------------------------------------- the agent
write_config "$T"
(cd "$T" && bd_exec run -c "$T/bd.conf" 2>>"$T/agent.log") &
AGENT=$!
BG_PIDS="$BG_PIDS $AGENT"
WAIT=$((10 * SLOW)) wait_for grep -q running "$T/agent.log"
ok $? "run starts"

# receipts for FILE of PARTNER, as jq selects them
rsel() { receipts | jq -c --arg f "$1" --arg p "$2" 'select(.file == $f and .partner == $p)'; }
nrec() { rsel "$1" "$2" | wc -l | tr -d ' '; }
has_receipt() { [ "$(nrec "$1" "$2")" -ge 1 ]; }
alive() { kill -0 "$AGENT" 2>/dev/null; }
sentinel_n=0
# sentinel INBOX PARTNER: drop a good file and wait for its receipt (proves the agent moved on)
sentinel() {
    sentinel_n=$((sentinel_n + 1))
    s=$(printf 'ftp_dpm_478_18%08d.sync' "$sentinel_n")
    printf '%s\td_sid=%d\n' "$U" $((9000000 + sentinel_n)) > "$T/stage/$s"
    mv "$T/stage/$s" "$1/$s"
    WAIT=$((10 * SLOW)) wait_for has_receipt "$s" "$2"
    ok $? "  the next good file ($s) gets a receipt"
    is "$(rsel "$s" "$2" | jq -r .status)" ok "  and is processed ok"
}
# in_dir DIR NAME: is there an entry (of any type) named exactly NAME in DIR? (names may hold glob characters)
in_dir() { for e in "$1"/* "$1"/.*; do [ "${e##*/}" = "$2" ] && return 0; done; return 1; }
# in_state KIND PARTNER NAME: is the source under state/KIND/PARTNER/ as <claim>~NAME?
in_state() { # in_state archive|quarantine PARTNER NAME: "<claim>~NAME", or for a long name "<claim>~<its start>#<hash>"
    prefix=$(printf '%.100s' "$3")
    for e in "$T/state/$1/$2"/*; do
        case "${e##*/}" in c*"~$3") return 0 ;; c*"~$prefix"*"#"????????) return 0 ;; esac
    done
    return 1
}

mkdir -p "$T/stage"
t0=$(date +%s)
for c in $case_list; do
    dir="$CASES/$c"
    name=$(case_name "$c"); name=${name%x}
    partner=$(partner_of "$c")
    inbox=$(inbox_of "$c" "$T")
    echo "# case $c ($(($(date +%s) - t0)) s)"
    mkdir -p "$T/stage/$c"
    make_input "$c" "$T/stage/$c/entry" "$T/stage/$c"
    ok $? "$c: input made"
    logoff=$(wc -c < "$T/agent.log")
    mv "$T/stage/$c/entry" "$inbox/$name"
    expect_none=0
    grep -q '^receipt=none' "$dir/expect" && expect_none=1
    cwait=$(sed -n 's/^wait=//p' "$dir/expect")
    if [ $expect_none -eq 1 ]; then
        sleep 0.7 # more than a sweep
        sentinel "$inbox" "$partner"
    else
        WAIT=$(( ${cwait:-10} * SLOW )) wait_for has_receipt "$name" "$partner"
        ok $? "$c: a receipt within $(( ${cwait:-10} * SLOW )) s"
    fi
    log=$(tail -c +$((logoff + 1)) "$T/agent.log")
    last=$(rsel "$name" "$partner" | tail -n 1)
    while IFS= read -r line || [ -n "$line" ]; do
        case "$line" in '' | '#'*) continue ;; esac
        when=""
        case "$line" in root:*) when=root; line=${line#root:} ;; nonroot:*) when=nonroot; line=${line#nonroot:} ;; esac
        if [ "$when" = root ] && [ "$(id -u)" -ne 0 ]; then continue; fi
        if [ "$when" = nonroot ] && [ "$(id -u)" -eq 0 ]; then continue; fi
        case "$line" in
        *'!~='*) key=${line%%!~=*}; want=${line#*!~=}; op='!~' ;;
        *'~='*) key=${line%%~=*}; want=${line#*~=}; op='~' ;;
        *'!='*) key=${line%%!=*}; want=${line#*!=}; op='!' ;;
        *=*) key=${line%%=*}; want=${line#*=}; op='=' ;;
        *) ok 1 "$c: cannot read expectation '$line'"; continue ;;
        esac
        case "$key" in
        wait) continue ;;
        receipt) got=$(nrec "$name" "$partner")
            if [ "$want" = none ]; then [ "$got" -eq 0 ]; else [ "$got" -ge 1 ]; fi
            ok $? "$c: receipt=$want (got $got)"; continue ;;
        receipts) got=$(nrec "$name" "$partner") ;;
        log) got=$log ;;
        inbox) if in_dir "$inbox" "$name"; then got=present; else got=absent; fi ;;
        quarantine | archive) # under run the source moves within 0.2 s of its receipt (the commit's deferred tail)
            [ "$want" = 1 ] && WAIT=$((2 * SLOW)) wait_for in_state "$key" "$partner" "$name"
            if in_state "$key" "$partner" "$name"; then got=1; else got=0; fi ;;
        *) got=$(printf '%s\n' "$last" | jq -r ".$key" 2>&1) ;;
        esac
        case "$op" in
        '=') [ "$got" = "$want" ] ;;
        '!') [ "$got" != "$want" ] ;;
        '~') case "$got" in *"$want"*) true ;; *) false ;; esac ;;
        '!~') case "$got" in *"$want"*) false ;; *) true ;; esac ;;
        esac
        rc=$?
        ok $rc "$c: $key $op $want"
        if [ $rc -ne 0 ] && [ "$key" != log ]; then printf '%s\n' "got: '$(printf '%s' "$got" | head -c 300)'" | sed 's/^/#   /'; fi
        if [ $rc -ne 0 ] && [ "$key" = log ]; then printf '%s\n' "$log" | tail -n 3 | cut -c1-300 | sed 's/^/#   log: /'; fi
    done < "$dir/expect"
    alive; ok $? "$c: the agent is still running"
    if ! alive; then echo "# the agent died; its log:"; tail -n 20 "$T/agent.log" | sed 's/^/#   /'; break; fi
done

# ---------------------------------------------------------------- after every case: a good file, then SIGTERM
if alive; then
    printf '%s\td_sid=24\n%s\td_sid=26\n' "$U" "$U" > "$T/stage/final"
    mv "$T/stage/final" "$T/inbox/ftp_dpm_478_1899999999.sync"
    WAIT=$((10 * SLOW)) wait_for has_receipt ftp_dpm_478_1899999999.sync corpus
    ok $? "after the whole corpus, a good file gets a receipt"
    is "$(rsel ftp_dpm_478_1899999999.sync corpus | jq -r .status)" ok "and is processed ok"
    is "$(rsel ftp_dpm_478_1899999999.sync corpus | jq -r .stored)" 2 "with both records stored"
fi
receipts | jq -e . > /dev/null 2>&1
ok $? "the receipts log is valid JSON, one object per line"
alive; ok $? "the agent is still running after the corpus"
kill -TERM "$AGENT" 2>/dev/null
wait "$AGENT"
is $? 0 "SIGTERM: exit status 0"

echo "# run: $(($(date +%s) - t0)) s"
# ---------------------------------------------------------------- `batchdrop once` over the whole corpus at once
O="$T/once"
write_config "$O"
mkdir -p "$O/stage"
for c in $case_list; do
    name=$(case_name "$c"); name=${name%x}
    mkdir -p "$O/stage/$c"
    make_input "$c" "$O/stage/$c/entry" "$O/stage/$c" && mv "$O/stage/$c/entry" "$(inbox_of "$c" "$O")/$name"
done
(cd "$O" && timeout $((60 * SLOW)) sh -c "$(printf '%s ' ${BD_WRAP:-}) \"\$0\" once -c \"\$1\"" "$BD_BIN" "$O/bd.conf" \
    2>>"$O/once.log")
rc=$?
echo "# once: $(($(date +%s) - t0)) s"
[ $rc -le 1 ]; ok $? "once over the whole corpus exits without crashing or hanging (status $rc)"
n=$(jq -c . "$O/log/receipts.jsonl" 2>/dev/null | wc -l | tr -d ' ')
[ "$n" -ge 1 ]; ok $? "and writes receipts ($n)"
done_testing
