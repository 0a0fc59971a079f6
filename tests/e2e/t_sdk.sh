# t_sdk.sh: the plugin SDK: install, build the sample plugin out of tree with pkg-config, run it; ABI and permission refusals; `batchdrop plugins`.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
EX="$BD_SRCDIR/examples/plugin-example"
# make from inside `make check`: without the outer make's flags, jobserver and command-line variables
submake() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make "$@"; }
HOST_ABI=$(bd --version | sed -n 's/.*plugin ABI \([0-9]*\.[0-9]*\)).*/\1/p')
HOST_VERSION=$(bd --version | sed -n 's/^batchdrop \([^ ]*\) .*/\1/p')

# ---------------------------------------------------------------- the SDK as installed
submake -C "$BD_BUILDDIR" install DESTDIR="$T/root" > "$T/install.log" 2>&1
ok $? "make install DESTDIR=\$T/root"
PC=$(find "$T/root" -path '*/pkgconfig/batchdrop-plugin.pc' | head -n 1)
like "$PC" "/pkgconfig/batchdrop-plugin.pc" "batchdrop-plugin.pc is installed in a pkgconfig folder"
PKG_CONFIG_PATH=$(dirname "$PC")
PKG_CONFIG_LIBDIR=$PKG_CONFIG_PATH # nothing but the DESTDIR's .pc files
PKG_CONFIG_SYSROOT_DIR="$T/root"
export PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
CFLAGS=$(pkg-config --cflags batchdrop-plugin)
ok $? "pkg-config finds batchdrop-plugin"
like "$CFLAGS" "-I$T/root/" "Cflags point into the DESTDIR (sysroot applied)"
set -- $CFLAGS
INC=${1#-I}
test -f "$INC/batchdrop/plugin.h"
ok $? "Cflags resolve to the installed header"
is "$(pkg-config --modversion batchdrop-plugin)" "$HOST_VERSION" "Version is the package version"
is "$(pkg-config --variable=abi batchdrop-plugin)" "$HOST_ABI" "abi variable is the ABI of the installed batchdrop"
PLUGINDIR=$(pkg-config --variable=plugindir batchdrop-plugin)
case "$PLUGINDIR" in "$T/root"/*) ;; *) PLUGINDIR="$T/root$PLUGINDIR" ;; esac
test -f "$PLUGINDIR/aam.so"
ok $? "plugindir variable is where the built-in plugins are installed"

# ---------------------------------------------------------------- the sample plugin, built out of tree
mkdir -p "$T/ex" && cp "$EX/example.c" "$EX/Makefile" "$T/ex/"
submake -C "$T/ex" > "$T/ex/build.log" 2>&1
ok $? "the sample plugin builds with its Makefile (only the installed header)"
cc -M $CFLAGS "$EX/example.c" > "$T/ex/deps" 2>&1
like "$(cat "$T/ex/deps")" "$INC/batchdrop/plugin.h" "the header it compiles against is the installed one"
cc -fsyntax-only -std=c99 -pedantic -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror \
    $CFLAGS "$EX/example.c" 2> "$T/ex/strict.log"
ok $? "the header and the sample are clean under -std=c99 -pedantic -Wall -Wextra -Werror"

# a fresh plugin folder: ours, 0755, with the built-in plugins beside the sample
P="$T/plugins"
mkdir "$P" && chmod 0755 "$P"
cp "$PLUGINDIR"/*.so "$T/ex/example.so" "$P/" && chmod 0644 "$P"/*.so
NP=$(ls "$P"/*.so | wc -l | tr -d ' ')
PLUGINS="$P"
new_agent 'format = "example"; ids = "ours"; format_options = { dpid = 478; };'
bd check -c "$T/bd.conf" > "$T/check.out" 2>&1
ok $? "bd check accepts the sample plugin"
like "$(cat "$T/check.out")" "OK: 1 partner, $NP plugins" "and counts it"

bd plugins -c "$T/bd.conf" > "$T/plugins.out" 2>&1
ok $? "bd plugins: exit 0 when every plugin loads"
PL=$(cat "$T/plugins.out")
like "$PL" "plugin_dir $P " "lists the configured plugin_dir"
like "$PL" "example 1.0.0 (ABI $HOST_ABI): SDK sample" "name, version, ABI and description"
like "$PL" "files: *.example *.example.gz *.example.zst" "file patterns"
like "$PL" "path:  $P/example.so" "path"
like "$PL" "aam $HOST_VERSION (ABI $HOST_ABI)" "the built-in plugins too"
like "$PL" "$NP plugins loaded, 0 refused" "summary"

# ---------------------------------------------------------------- a file through the agent
F=segs.example
printf '%s\n' \
    "68079982765673198504052656074456196039	24 26 27" \
    "67412682083411995725538770443620307584	5001" \
    "this line has no tab" \
    "12345	24" \
    "bad id	24" \
    "89159024796760343733111707646026765593	24 x7" \
    "89159024796760343733111707646026765593	" > "$T/inbox/$F"
once
ok $? "bd once"
is "$(r $F .status)" ok "receipt: status ok"
is "$(r $F .format)" example "receipt: format example"
is "$(r $F .kind)" traits "receipt: kind traits"
is "$(r $F .records_received)" 7 "records_received"
is "$(r $F .format_errors)" 3 "format_errors (no TAB, bad segment, no segments)"
is "$(r $F .invalid_ids)" 2 "invalid_ids (the plugin's: a space; the host's: not 38 digits)"
is "$(r $F .stored)" 2 "stored"
is "$(r $F .users)" 2 "users"
is "$(r $F .segments_realized)" 4 "segments_realized"
is "$(r $F '.errors.format_errors[0].line')" 3 "a format error's line number"
like "$(r $F '.errors.format_errors[0].reason')" "no TAB between the user ID and the segments" "its reason"
like "$(r $F '.errors.format_errors[1].reason')" "segment 'x7' is not a segment ID" "the bad segment is named"
is "$(r $F '.errors.format_errors[2].reason')" "no segment IDs after the TAB" "an empty segment list"
like "$(r $F '.errors.invalid_ids | map(.reason) | join("|")')" "user ID 'bad id' holds a space" "the plugin's invalid ID"
is "$(cat "$(r $F '.outbox[0]')")" "68079982765673198504052656074456196039 24,26,27 
67412682083411995725538770443620307584 5001 " "outbox lines"

# the dpid option is the namespace of the user IDs (ABI 1.1 record DPID): they are matched in it
new_agent
drop "$SAMPLES/demo/adobe_id_0_478_1700000000.sync" && once
is "$(r adobe_id_0_478_1700000000.sync .id_mappings)" 5 "an ID-sync file maps partner IDs of DPID 478"
new_agent 'format = "example"; format_options = { dpid = 478; };'
printf 'ACME-0001\t24 26\nACME-0009\t27\n' > "$T/inbox/partner.example" && once
is "$(r partner.example .status)" ok "partner IDs: status ok"
is "$(r partner.example .stored)" 1 "the mapped ID is stored"
like "$(r partner.example '.errors.no_match[0].reason')" "'ACME-0009' in DPID 478" "the other is looked up in DPID 478"
is "$(cat "$(r partner.example '.outbox[0]')")" "68079982765673198504052656074456196039 24,26 " "matched to our ID"

new_agent 'format = "example";'
printf 'ACME-0001\t24\n' > "$T/inbox/noopt.example" && once
is "$(r noopt.example .status)" rejected "no dpid option: the file is rejected"
like "$(r noopt.example .reason)" "format option dpid is required" "with the plugin's reason"

# validate, as the guide recommends
bd validate --plugin-dir "$P" --format example "$T/ex/example.c" > "$T/v1.json" 2>&1
is "$?" 1 "validate: a name the plugin refuses"
like "$(jq -r .reason "$T/v1.json")" "expected NAME.example" "the name check's reason"
printf '68079982765673198504052656074456196039\t1 2\n' > "$T/v.example"
bd validate --plugin-dir "$P" "$T/v.example" > "$T/v2.json" 2>&1
like "$(jq -r .reason "$T/v2.json")" "dpid is required" "validate without a config has no options"
new_agent 'format = "example"; ids = "ours"; format_options = { dpid = 478; };'
bd validate -c "$T/bd.conf" "$T/v.example" > "$T/v3.json" 2>&1
ok $? "validate -c with the partner's options: ok"
is "$(jq -r .segments_realized "$T/v3.json")" 2 "and its counters"

# ---------------------------------------------------------------- refusals
cat > "$T/ex/abi2.c" <<'EOF'
#include <batchdrop/plugin.h>
static const char *const patterns[] = {"*.abi2", NULL};
static const bd_plugin abi2 = {.struct_size = sizeof abi2, .abi_major = 2, .abi_minor = 0, .name = "abi2",
                               .version = "2.0", .patterns = patterns};
BD_PLUGIN_EXPORT const bd_plugin *batchdrop_plugin_entry(void) { return &abi2; }
EOF
cc -shared -fPIC $CFLAGS "$T/ex/abi2.c" -o "$T/ex/abi2.so"
ok $? "a plugin of ABI 2.0 builds"
mkdir "$T/bad-abi" && chmod 0755 "$T/bad-abi"
cp "$P"/*.so "$T/ex/abi2.so" "$T/bad-abi/" && chmod 0644 "$T/bad-abi"/*.so
PLUGINS="$T/bad-abi"
new_agent 'format = "example"; ids = "ours"; format_options = { dpid = 478; };'
bd check -c "$T/bd.conf" > "$T/abi.out" 2>&1
is "$?" 1 "bd check: exit 1 with a plugin of another ABI major"
like "$(cat "$T/abi.out")" "abi2.so: plugin ABI 2.0 is not compatible with this batchdrop's ABI $HOST_ABI" \
    "the message names both versions"
bd plugins -c "$T/bd.conf" > "$T/abi-plugins.out" 2>&1
is "$?" 1 "bd plugins: exit 1 when a plugin is refused"
PL=$(cat "$T/abi-plugins.out")
like "$PL" "refused: $T/bad-abi/abi2.so: plugin ABI 2.0 is not compatible" "lists the refused file with why"
like "$PL" "path:  $T/bad-abi/example.so" "and still lists the others"
like "$PL" "$NP plugins loaded, 1 refused" "summary"

mkdir "$T/gw" && chmod 0755 "$T/gw"
cp "$P"/*.so "$T/gw/" && chmod 0644 "$T/gw"/*.so && chmod 0664 "$T/gw/example.so"
PLUGINS="$T/gw"
new_agent 'format = "example"; ids = "ours"; format_options = { dpid = 478; };'
bd check -c "$T/bd.conf" > "$T/gw.out" 2>&1
is "$?" 1 "bd check: exit 1 with a group-writable plugin"
like "$(cat "$T/gw.out")" "$T/gw/example.so is writable by its group" "refused: writable by its group"
like "$(cat "$T/gw.out")" "format \"example\" is not a plugin" "so the partner's format is missing"
bd plugins --plugin-dir "$T/gw" > "$T/gw-plugins.out" 2>&1
is "$?" 1 "bd plugins --plugin-dir: exit 1"
like "$(cat "$T/gw-plugins.out")" "refused: $T/gw/example.so is writable by its group" "with the reason"

chmod 0775 "$T/gw"
bd plugins --plugin-dir "$T/gw" > "$T/gwdir.out" 2>&1
is "$?" 1 "a group-writable folder: exit 1"
like "$(cat "$T/gwdir.out")" "0 plugins loaded, 1 refused" "nothing is loaded from it"
bd plugins --plugin-dir "$T/nope" > /dev/null 2>&1
is "$?" 1 "a missing folder: exit 1"
bd plugins --frobnicate > /dev/null 2>&1
is "$?" 2 "an unknown option: exit 2"
like "$(bd --help)" "plugins  [-c FILE] [--plugin-dir DIR]" "--help lists the command"
done_testing
