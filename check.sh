#!/bin/sh
# check.sh: the test command: install dependencies, build, run every suite (plain, ASan+UBSan, valgrind, distcheck, fuzz, package).
# Ends with the line "N passed, N failed". Usage: ./check.sh [--quick | --deps-only]   (--quick: the plain suite only)
set -u
cd "$(dirname "$0")" || exit 1
TOP=$PWD
QUICK=0
DEPS_ONLY=0
case "${1:-}" in
--quick) QUICK=1 ;;
--deps-only) DEPS_ONLY=1 ;; # used by demo.sh
esac
DEPS="build-essential autoconf automake libtool pkg-config libconfig-dev libzstd-dev zlib1g-dev liblmdb-dev
lmdb-utils libjansson-dev libssl-dev libssh2-1-dev libsystemd-dev libseccomp-dev zstd gzip jq valgrind
openssh-server openssh-client iproute2 exim4-daemon-light prometheus libhiredis-dev redis-server redis-tools"
PASSED=0
FAILED=0

log() { printf '==> %s\n' "$*"; }

install_deps() {
    missing=""
    for p in $DEPS; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "check.sh: missing packages:$missing (run as root, or install them)" >&2
        return 1
    fi
    log "installing:$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# count_log SUITE LOG: add a test-suite.log's totals to ours
count_log() {
    if [ ! -f "$2" ]; then
        echo "$1: no test log (build failed?)"
        FAILED=$((FAILED + 1))
        return
    fi
    p=$(awk '/^# PASS:/ {print $3; exit}' "$2")
    f=$(awk '/^# (FAIL|ERROR|XPASS):/ {s += $3} END {print s + 0}' "$2")
    echo "$1: ${p:-0} passed, $f failed"
    PASSED=$((PASSED + ${p:-0}))
    FAILED=$((FAILED + f))
    [ "$f" -eq 0 ] || grep -E '^(FAIL|ERROR)' "$2" | head -40
}

# one_check SUITE COMMAND...: a whole command counted as one test
one_check() {
    suite=$1
    shift
    if "$@" > "$TOP/_build-$suite.log" 2>&1; then
        echo "$suite: 1 passed, 0 failed"
        PASSED=$((PASSED + 1))
    else
        echo "$suite: 0 passed, 1 failed (see _build-$suite.log)"
        tail -30 "$TOP/_build-$suite.log"
        failed_tests "$TOP/_build-$suite.log"
        FAILED=$((FAILED + 1))
    fi
}

# failed_tests LOG: the tests a make check in LOG failed, and each one's failed checks and last lines. distcheck's
# test logs stay in its tree; printed last, so that a CI log that keeps only its tail still shows them.
failed_tests() {
    grep -E '^(FAIL|ERROR): ' "$1" | awk '{print $2}' | sort -u | while read -r t; do
        for l in "$TOP"/_build-plain/batchdrop-*/_build/sub/"${t%.sh}".log; do
            [ -f "$l" ] || continue
            echo "--- $t"
            grep -E '^(not ok|# |Bail out)' "$l" | head -15
            tail -5 "$l"
        done
    done
}

# suite NAME CONFIGURE-ARGS [MAKE-CHECK-ARGS...]: an out-of-tree build and its make check
suite() {
    name=$1
    cfgargs=$2
    shift 2
    dir="$TOP/_build-$name"
    rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || return
    log "suite $name: configure $cfgargs"
    if eval "../configure $cfgargs" > configure.out 2>&1 && make -j2 > make.out 2>&1; then
        log "suite $name: make check"
        make -j2 check "$@" > check.out 2>&1
    else
        tail -30 configure.out make.out 2>/dev/null
    fi
    count_log "$name" "$dir/test-suite.log"
    cd "$TOP" || exit 1
}

# package_test: the Debian package test (build the .debs, lintian, install, run, reload, purge); needs root.
# Its own dependencies are installed here; output in _build-package.log, its TAP lines counted.
package_test() {
    log "package: tests/package/t_install.sh"
    missing=""
    for p in dpkg-dev debhelper lintian fakeroot systemd man-db libsystemd-dev libseccomp-dev jq; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    if [ -n "$missing" ] && [ "$(id -u)" -eq 0 ]; then
        log "installing:$missing"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    fi
    sh "$TOP/tests/package/t_install.sh" "$TOP" > "$TOP/_build-package.log" 2>&1
    rc=$?
    p=$(grep -c '^ok ' "$TOP/_build-package.log")
    f=$(grep -c '^not ok ' "$TOP/_build-package.log")
    [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || f=1 # died without a failed check
    echo "package: $p passed, $f failed"
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
    [ "$f" -eq 0 ] || grep -E '^not ok|^#' "$TOP/_build-package.log" | head -40
}

# fuzz_check: tests/fuzz/run.sh 30 (each libFuzzer harness 30 s, clang installed like install_deps); its TAP counted
fuzz_check() {
    if ! command -v clang > /dev/null; then
        if [ "$(id -u)" -eq 0 ]; then
            log "installing: clang"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang >/dev/null
        fi
    fi
    log "fuzz: tests/fuzz/run.sh 30"
    "$TOP/tests/fuzz/run.sh" 30 > "$TOP/_build-fuzz.log" 2>&1
    p=$(grep -c '^ok ' "$TOP/_build-fuzz.log")
    f=$(grep -c '^not ok ' "$TOP/_build-fuzz.log")
    [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && f=1 # no TAP at all: run.sh itself failed
    echo "fuzz: $p passed, $f failed"
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
    [ "$f" -eq 0 ] || grep -E '^(not ok|#)' "$TOP/_build-fuzz.log" | head -40
}

install_deps || exit 1
[ "$DEPS_ONLY" -eq 1 ] && exit 0
log "autoreconf"
autoreconf -fi > /dev/null 2>&1 || { echo "autoreconf failed"; echo "0 passed, 1 failed"; exit 1; }

# --enable-test-hooks: the crash points of t_crashpoints.sh (distcheck and the .deb build without them)
suite plain "--enable-test-hooks"
if [ "$QUICK" -eq 0 ]; then
    SAN="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
    suite asan "--enable-test-hooks CFLAGS='$SAN' LDFLAGS='-fsanitize=address,undefined'" \
        BD_SLOW=5 BD_ASAN=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0 \
        LSAN_OPTIONS=suppressions=$TOP/tests/lsan.supp UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --suppressions=$TOP/tests/valgrind.supp"
    suite valgrind "" BD_SLOW=10 "BD_WRAP=$VG" "LOG_COMPILER=$VG" \
        TESTS="tests/unit/test_aam tests/unit/test_idsync tests/unit/test_matchstore tests/unit/test_idcount tests/unit/test_report_unpack tests/unit/test_inbox tests/unit/test_ledger tests/unit/test_redis_slots tests/unit/test_decode tests/unit/test_lines tests/unit/test_realize tests/unit/test_config tests/e2e/t_basic.sh tests/e2e/t_batch.sh tests/e2e/t_worker_reuse.sh tests/e2e/t_pipeline.sh tests/e2e/t_match_index.sh tests/e2e/t_reject.sh tests/e2e/t_validate.sh tests/e2e/t_check.sh tests/e2e/t_sftp.sh tests/e2e/t_sftp_layer.sh tests/e2e/t_ops.sh tests/e2e/t_mail.sh tests/e2e/t_corpus.sh tests/e2e/t_redis_store.sh tests/e2e/t_shared_ledger.sh"
    one_check distcheck make -C "$TOP/_build-plain" distcheck
    fuzz_check
    package_test
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
