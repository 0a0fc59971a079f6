#!/bin/sh
# tests/fuzz/build.sh: build the libFuzzer harnesses (clang -fsanitize=fuzzer,address,undefined) into OUTDIR. Usage: build.sh OUTDIR
# The project's own configure (run with clang in OUTDIR/cfg) supplies config.h; the needed agent/ and plugins/
# sources are compiled straight into the harnesses (each plugin's entry point renamed, so several fit in one program).
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
SRC=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
CC=${FUZZ_CC:-clang}
SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
PKGS="libconfig libzstd zlib jansson libcrypto hiredis"
command -v "$CC" >/dev/null || { echo "build.sh: $CC not found (apt-get install clang)" >&2; exit 1; }

# ---------------------------------------------------------------- config.h
if [ -f "$SRC/config.h" ]; then
    CFGDIR=$SRC # configured in the source tree
else
    CFGDIR=$OUT/cfg
    if [ ! -f "$SRC/configure" ]; then
        echo "build.sh: autoreconf -fi in $SRC"
        (cd "$SRC" && autoreconf -fi) > "$OUT/autoreconf.log" 2>&1 || { tail -20 "$OUT/autoreconf.log"; exit 1; }
    fi
    if [ ! -f "$CFGDIR/config.h" ] || [ "$SRC/configure" -nt "$CFGDIR/config.h" ]; then
        echo "build.sh: configure CC=$CC in $CFGDIR"
        mkdir -p "$CFGDIR"
        (cd "$CFGDIR" && "$SRC/configure" CC="$CC" --disable-werror) > "$OUT/configure.log" 2>&1 ||
            { tail -20 "$OUT/configure.log"; exit 1; }
    fi
fi

CPPFLAGS="-DHAVE_CONFIG_H -I$CFGDIR -I$SRC/include -I$SRC/agent -I$SRC/tests/unit -I$SRC/tests/fuzz
 -DPLUGINDIR=\"/usr/lib/batchdrop/plugins\" -DSYSCONFDIR=\"/etc\" -DLOCALSTATEDIR=\"/var\"
 $(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS)"

# ---------------------------------------------------------------- objects
mkdir -p "$OUT/obj"
# cc SOURCE [EXTRA-FLAGS...]: compile $SRC/SOURCE to $OUT/obj/<SOURCE with / as _>.o, echo the object
cc() {
    src=$1
    shift
    obj=$OUT/obj/$(echo "$src" | tr / _).o
    if [ ! -f "$obj" ] || [ "$SRC/$src" -nt "$obj" ] || [ "$0" -nt "$obj" ] ||
        find "$SRC/include" "$SRC/agent" "$SRC/plugins" "$SRC/tests/unit" "$SRC/tests/fuzz" -name '*.h' -newer "$obj" |
        grep -q .; then
        # shellcheck disable=SC2086
        $CC $SAN $CPPFLAGS "$@" -c "$SRC/$src" -o "$obj" || exit 1
    fi
    echo "$obj"
}

PLUGIN_OBJS=""
for s in plugins/aam/aam_name.c plugins/aam/aam_row.c plugins/aam_idsync/idsync_name.c \
    plugins/delimited/delimited_opts.c plugins/delimited/delimited_row.c \
    plugins/common/dpid_ids.c plugins/common/name_parse.c plugins/common/plugin_util.c \
    plugins/common/options.c plugins/common/record.c \
    tests/unit/plugin_harness.c tests/unit/test_util.c tests/fuzz/fuzz_host.c; do
    PLUGIN_OBJS="$PLUGIN_OBJS $(cc $s)" || exit 1
done
PLUGIN_OBJS="$PLUGIN_OBJS $(cc plugins/aam/aam.c -Dbatchdrop_plugin_entry=fuzz_entry_aam)"
PLUGIN_OBJS="$PLUGIN_OBJS $(cc plugins/aam_idsync/idsync.c -Dbatchdrop_plugin_entry=fuzz_entry_idsync)"
PLUGIN_OBJS="$PLUGIN_OBJS $(cc plugins/delimited/delimited.c -Dbatchdrop_plugin_entry=fuzz_entry_delimited)"
PLUGIN_OBJS="$PLUGIN_OBJS $(cc plugins/jsonl/jsonl.c -Dbatchdrop_plugin_entry=fuzz_entry_jsonl)"

CONFIG_OBJS=""
for s in agent/conf.c agent/conf_remote.c agent/conf_ops.c agent/conf_store.c agent/redis_slots.c agent/log.c agent/strutil.c; do
    CONFIG_OBJS="$CONFIG_OBJS $(cc $s)" || exit 1
done
DECODE_OBJS=$(cc agent/decode.c)

# ---------------------------------------------------------------- harnesses
# link TARGET OBJECTS...
link() {
    t=$1
    shift
    # shellcheck disable=SC2086
    $CC $SAN "$(cc tests/fuzz/$t.c)" "$@" $LIBS -o "$OUT/$t" || exit 1
    echo "build.sh: $OUT/$t"
}
for t in fuzz_names fuzz_aam fuzz_idsync fuzz_delimited fuzz_jsonl; do
    # shellcheck disable=SC2086
    link $t $PLUGIN_OBJS
done
# shellcheck disable=SC2086
link fuzz_config $CONFIG_OBJS
link fuzz_decode "$DECODE_OBJS"
