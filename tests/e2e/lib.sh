# lib.sh: shared helpers for batchdrop's end-to-end tests: temp agent setup, TAP output, receipt queries.
# Sourced by tests/e2e/t_*.sh; they run the real binary and real plugins on real folders.
set -u
BD_BIN="${BD_BUILDDIR:?run through make check}/batchdrop"
# bd ARGS: run the binary, under $BD_WRAP (e.g. valgrind) when set
bd() { ${BD_WRAP:-} "$BD_BIN" "$@"; }
# bd_exec ARGS: the same in place of the calling (sub)shell, so that `bd_exec run ... &` gives the agent's PID
bd_exec() { exec ${BD_WRAP:-} "$BD_BIN" "$@"; }
PLUGINS="${BD_PLUGIN_DIR:?}"
SAMPLES="${BD_SRCDIR:?}/samples"
T=$(mktemp -d /tmp/bd-e2e.XXXXXX)
chmod 755 "$T"
tap_n=0
tap_failed=0
BG_PIDS=""

cleanup() {
    for p in $BG_PIDS; do kill "$p" 2>/dev/null || true; done
    if [ "$tap_failed" -eq 0 ] && [ -z "${BD_KEEP:-}" ]; then rm -rf "$T"; else echo "# kept $T"; fi
}
trap cleanup EXIT

ok() { # ok <exit status or 0/1 truth> <description>
    tap_n=$((tap_n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $tap_n - $2"; else
        echo "not ok $tap_n - $2"
        tap_failed=$((tap_failed + 1))
    fi
}
is() { # is <got> <want> <description>
    if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3"; echo "#   got:  '$1'"; echo "#   want: '$2'"; fi
}
like() { # like <got> <substring> <description>
    case "$1" in *"$2"*) ok 0 "$3" ;; *) ok 1 "$3"; echo "#   '$1' lacks '$2'" ;; esac
}
# fold_tap PHASE NAME STATUS OUT ERR: fold the TAP lines of C test NAME (run for PHASE, exit STATUS, stdout in
# OUT, stderr in ERR) into ours, and check that it ran and passed
fold_tap() {
    plan=0
    while IFS= read -r line; do
        case $line in
        "ok "*) ok 0 "[$1] ${line#* - }" ;;
        "not ok "*) ok 1 "[$1] ${line#* - }" ;;
        1..*) plan=${line#1..} ;;
        *) echo "$line" ;;
        esac
    done < "$4"
    is "$3" 0 "[$1] $2 exit status"
    [ "$plan" -gt 0 ]; ok $? "[$1] $2 ran $plan checks"
    [ ! -s "$5" ] || sed 's/^/# stderr: /' "$5"
}

done_testing() {
    echo "1..$tap_n"
    [ "$tap_failed" -eq 0 ]
}

# new_agent [extra partner settings] [extra global settings]: one partner "acme" with inbox $T/inbox
new_agent() {
    mkdir -p "$T/inbox"
    cat > "$T/bd.conf" <<CONF
state_dir = "state";
outbox = "outbox";
receipts = "log/receipts.jsonl";
plugin_dir = "$PLUGINS";
agent_id = "test";
scan_interval = 0.5;
match_map_size = "1G";
incomplete_timeout = ${INCOMPLETE_TIMEOUT:-3600};
${2:-}
partners = (
  { name = "acme"; inbox = "inbox"; settle = ${SETTLE:-0}; ${1:-} }
);
CONF
}

once() { bd once -c "$T/bd.conf" 2>>"$T/agent.log"; }
# outcome_summary DIR [names]: "status md5-of-outbox" per receipt of DIR/log/receipts.jsonl, sorted; with
# "names", each line starts with the file name (crash tests compare these against a clean run's)
outcome_summary() {
    jq -r '[.file, .status, (.outbox[0] // "-")] | @tsv' "$1/log/receipts.jsonl" |
        while IFS="$(printf '\t')" read -r file status out; do
            sum=-
            [ "$out" != - ] && sum=$(md5sum < "$out" | cut -c1-32)
            if [ "${2:-}" = names ]; then echo "$file $status $sum"; else echo "$status $sum"; fi
        done | sort
}
receipts() { cat "$T/log/receipts.jsonl" 2>/dev/null; }
# r FILE FIELD: a field of the last receipt for FILE
r() { receipts | jq -r --arg f "$1" "select(.file == \$f) | $2" | tail -n 1; }
nreceipts() { receipts | jq -r --arg f "$1" 'select(.file == $f) | .file' | wc -l | tr -d ' '; }
outbox_files() { find "$T/outbox/acme" -maxdepth 1 -type f -name "${1:-*.sync*}" | sort; }
inbox_left() { find "$T/inbox" -maxdepth 1 -type f | wc -l | tr -d ' '; }
drop() { cp "$1" "$T/inbox/${2:-$(basename "$1")}"; }
# wait_for CMD...: poll up to ${WAIT:-10} s for CMD to succeed
wait_for() {
    i=0
    while ! "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt $((${WAIT:-10} * 20)) ] || return 1
        sleep 0.05
    done
}
