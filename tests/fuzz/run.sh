#!/bin/sh
# tests/fuzz/run.sh: build the libFuzzer harnesses and run each for SECONDS; prints TAP, exits non-zero on any crash.
# Usage: tests/fuzz/run.sh SECONDS [TARGET...]
# Environment: FUZZ_OUT      build and log folder (default TOP/_build-fuzz)
#              FUZZ_CORPUS   persistent corpus root, one folder per target (default: a fresh one per run)
#              FUZZ_FINDINGS where crashing inputs are left (default FUZZ_OUT/findings), one folder per target
# Seeds: tests/fuzz/seeds/TARGET, tests/fuzz/regressions/TARGET (past crashes), and tests/corpus/**/input when
# that folder exists (raw for fuzz_decode; decompressed behind a header line for the plugin harnesses).
set -u
[ $# -ge 1 ] && [ "$1" -gt 0 ] 2>/dev/null || { echo "usage: $0 SECONDS [TARGET...]" >&2; exit 2; }
SECS=$1
shift
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT=${FUZZ_OUT:-$TOP/_build-fuzz}
FINDINGS=${FUZZ_FINDINGS:-$OUT/findings}
ALL="fuzz_names fuzz_aam fuzz_idsync fuzz_delimited fuzz_jsonl fuzz_config fuzz_decode"
TARGETS=${*:-$ALL}
mkdir -p "$OUT/logs" "$FINDINGS" || exit 1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bd-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT INT TERM

set -- $TARGETS
echo "1..$#"

if ! "$HERE/build.sh" "$OUT/bin" > "$OUT/logs/build.log" 2>&1; then
    tail -30 "$OUT/logs/build.log"
    k=0
    for t in $TARGETS; do
        k=$((k + 1))
        echo "not ok $k - $t: build failed (see $OUT/logs/build.log)"
    done
    exit 1
fi

# ---------------------------------------------------------------- extra seeds from tests/corpus
# Default header line (fuzz_host.h) for a corpus input that has no sibling `name` file.
default_header() {
    case $1 in
    fuzz_aam) echo "ftp_dpm_1234_1445374061.sync" ;;
    fuzz_idsync) echo "adobe_id_12345_67890_1477846458.sync" ;;
    fuzz_delimited) printf 'acme.csv\tid_column=1\tsegments_column=2\n' ;;
    fuzz_jsonl) echo "acme.jsonl" ;;
    esac
}

decompressed() {
    case $(od -An -tx1 -N4 "$1" | tr -d ' \n') in
    1f8b*) gzip -dc "$1" 2>/dev/null ;;
    28b52ffd) zstd -dcq "$1" 2>/dev/null ;;
    *) cat "$1" ;;
    esac
}

if [ -d "$TOP/tests/corpus" ]; then
    i=0
    find "$TOP/tests/corpus" -type f -name input | while read -r f; do
        i=$((i + 1))
        mkdir -p "$WORK/extra/fuzz_decode"
        cp "$f" "$WORK/extra/fuzz_decode/corpus-$i"
        for t in fuzz_aam fuzz_idsync fuzz_delimited fuzz_jsonl; do
            mkdir -p "$WORK/extra/$t"
            if [ -f "$(dirname "$f")/name" ]; then head -1 "$(dirname "$f")/name"; else default_header $t; fi \
                > "$WORK/extra/$t/corpus-$i"
            decompressed "$f" >> "$WORK/extra/$t/corpus-$i"
        done
        if [ -f "$(dirname "$f")/name" ]; then
            mkdir -p "$WORK/extra/fuzz_names"
            head -1 "$(dirname "$f")/name" | tr -d '\n' > "$WORK/extra/fuzz_names/corpus-$i"
        fi
    done
fi

# ---------------------------------------------------------------- run
LSAN_OPTIONS="suppressions=$TOP/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS UBSAN_OPTIONS

k=0
bad=0
for t in $TARGETS; do
    k=$((k + 1))
    if [ ! -x "$OUT/bin/$t" ]; then
        echo "not ok $k - $t: no such harness"
        bad=$((bad + 1))
        continue
    fi
    corpus=${FUZZ_CORPUS:+$FUZZ_CORPUS/$t}
    corpus=${corpus:-$WORK/corpus/$t}
    found=$FINDINGS/$t
    mkdir -p "$corpus" "$found"
    touch "$WORK/start-$t" # earlier findings stay; this run's are the newer files
    set -- "$corpus" "$HERE/seeds/$t"
    for d in "$HERE/regressions/$t" "$WORK/extra/$t"; do
        [ -d "$d" ] && set -- "$@" "$d"
    done
    dict=""
    [ -f "$HERE/dict/$t.dict" ] && dict="-dict=$HERE/dict/$t.dict"
    log=$OUT/logs/$t.log
    # fuzz_config: libconfig 1.5 leaks on many malformed files (tests/lsan.supp), and every input that leaks,
    # even suppressed, costs libFuzzer a full leak scan (about 40x slower).  So it fuzzes without the per-input
    # check (LSan still checks the whole run at exit), then replays its corpus with the per-input check on.
    leaks=""
    [ "$t" = fuzz_config ] && leaks="-detect_leaks=0"
    # shellcheck disable=SC2086
    "$OUT/bin/$t" -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
        -artifact_prefix="$found/" $leaks $dict "$@" > "$log" 2>&1
    rc=$?
    if [ -n "$leaks" ] && [ "$rc" -eq 0 ]; then
        "$OUT/bin/$t" -runs=0 -detect_leaks=1 -rss_limit_mb=2048 -timeout=20 -artifact_prefix="$found/" "$@" \
            > "$OUT/logs/$t.leaks.log" 2>&1
        rc=$?
        [ "$rc" -eq 0 ] || cat "$OUT/logs/$t.leaks.log" >> "$log"
    fi
    execs=$(awk '/^stat::number_of_executed_units:/ {n = $2} END {print n + 0}' "$log")
    secs=$(awk '/^Done [0-9]+ runs in/ {s = $5} END {print s}' "$log")
    crashes=$(find "$found" -type f -newer "$WORK/start-$t" | wc -l)
    echo "fuzz $t: $execs execs, $crashes crashes"
    if [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ]; then
        echo "ok $k - $t: $execs execs in ${secs:-$SECS} s, no crash"
    else
        bad=$((bad + 1))
        echo "not ok $k - $t: exit $rc after $execs execs, $crashes crashing input(s) (log: $log)"
        find "$found" -type f -newer "$WORK/start-$t" | sed 's/^/#   input: /'
        grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz_|fuzz:)|runtime error' "$log" | head -5 | sed 's/^/#   /'
    fi
done
[ "$bad" -eq 0 ]
