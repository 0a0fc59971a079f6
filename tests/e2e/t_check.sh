# t_check.sh: `batchdrop check` on good and broken configs: exit status and FILE:LINE messages.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
new_agent
bd check -c "$T/bd.conf" > "$T/out" 2>&1; ok $? "a good config passes"
like "$(cat "$T/out")" "OK: 1 partner, " "and says what it found"
bd check -c "$SAMPLES/../etc/batchdrop.conf" > "$T/out" 2>&1
like "$(cat "$T/out")" "batchdrop.conf:" "the shipped sample config parses (only its plugin_dir may be missing here)"

# bad_config NAME EXPECTED-LINE EXPECTED-TEXT: config body on stdin
bad_config() {
    cat > "$T/$1.conf"
    bd check -c "$T/$1.conf" > "$T/$1.out" 2>&1
    st=$?
    is "$st" 1 "$1: exit status 1"
    like "$(cat "$T/$1.out")" "$T/$1.conf:$2: " "$1: error carries FILE:LINE ($2)"
    like "$(cat "$T/$1.out")" "$3" "$1: message: $3"
}

bad_config syntax 3 "syntax error" <<'CONF'
state_dir = "s";
outbox = "o";
partners = ( { name = "a" inbox = } );
CONF

bad_config unknown_key 2 "unknown setting 'outbx' (did you mean 'outbox'?)" <<'CONF'
state_dir = "s";
outbx = "o";
CONF

bad_config unknown_partner_key 4 "unknown setting 'setle' in partner 'acme'" <<CONF
plugin_dir = "$PLUGINS";
partners = (
  { name = "acme"; inbox = "$T/inbox";
    setle = 3; }
);
CONF

bad_config bad_type 2 "'settle' must be a number" <<CONF
plugin_dir = "$PLUGINS";
partners = ( { name = "acme"; inbox = "$T/inbox"; settle = "soon"; } );
CONF

bad_config bad_name 3 "must match [A-Za-z0-9_-]+" <<CONF
plugin_dir = "$PLUGINS";
partners = (
  { name = "ac me"; inbox = "$T/inbox"; }
);
CONF

bad_config missing_inbox 2 "inbox $T/nope" <<CONF
plugin_dir = "$PLUGINS";
partners = ( { name = "acme"; inbox = "$T/nope"; } );
CONF

bad_config unknown_format 2 "format \"csv\" is not a plugin" <<CONF
plugin_dir = "$PLUGINS";
partners = ( { name = "acme"; inbox = "$T/inbox"; format = "csv"; } );
CONF

bad_config bad_ids 3 "'ids' must be \"partner\" or \"ours\"" <<CONF
plugin_dir = "$PLUGINS";
partners = ( { name = "acme"; inbox = "$T/inbox";
  ids = "theirs"; } );
CONF

bad_config bad_rule 4 "a rule needs 'key', 'value' and 'segment'" <<CONF
plugin_dir = "$PLUGINS";
partners = ( { name = "acme"; inbox = "$T/inbox";
  rules = (
    { key = "product"; segment = 5; } ); } );
CONF

bad_config bad_size 1 "must be a size" <<'CONF'
max_file_size = "lots";
CONF

bad_config duplicate_partner 3 "partner name 'acme' is used twice" <<CONF
partners = (
  { name = "acme"; inbox = "$T/inbox"; },
  { name = "acme"; inbox = "$T"; } );
CONF

bad_config range 1 "out of range" <<'CONF'
scan_interval = -5;
CONF

bad_config bad_option 3 "format_options for plugin aam: format option bare_values" <<CONF
plugin_dir = "$PLUGINS";
partners = ( { name = "acme"; inbox = "$T/inbox"; format = "aam";
  format_options = { bare_values = "maybe"; }; } );
CONF

mkdir -p "$T/evil" && cp "$PLUGINS/aam.so" "$T/evil/" && chmod 777 "$T/evil"
bad_config writable_plugin_dir 0 "writable by everyone" <<CONF
plugin_dir = "$T/evil";
CONF

bd check -c "$T/does-not-exist.conf" > "$T/nofile.out" 2>&1
is $? 1 "a missing config file: exit status 1"
like "$(cat "$T/nofile.out")" "does-not-exist.conf" "names the file"
done_testing
