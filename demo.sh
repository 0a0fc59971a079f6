#!/bin/sh
# demo.sh: build batchdrop, drop the bundled sample files into a local inbox, run `batchdrop once`, show the results.
set -eu
cd "$(dirname "$0")"
TOP=$PWD
./check.sh --deps-only
B="$TOP/_build-demo"
if [ ! -x "$B/batchdrop" ]; then
    echo "==> building in $B"
    [ -x configure ] || autoreconf -fi > /dev/null 2>&1
    mkdir -p "$B" && cd "$B"
    ../configure > configure.out 2>&1 || { tail -20 configure.out; exit 1; }
    make -j2 > make.out 2>&1 || { tail -30 make.out; exit 1; }
    cd "$TOP"
fi
D=$(mktemp -d /tmp/batchdrop-demo.XXXXXX)
mkdir -p "$D/inbox/acme"
cat > "$D/batchdrop.conf" <<CONF
# A demo agent: relative paths resolve against this file's folder.
state_dir  = "state";
outbox     = "outbox";
receipts   = "log/receipts.jsonl";
plugin_dir = "$B/plugins/.libs";
partners = (
  { name     = "acme";
    inbox    = "inbox/acme";
    settle   = 0;
    segments = [ 24, 26, 27, 28, 30 ];
    rules    = ( { key = "product"; value = "tablet"; segment = 5001; } );
  }
);
CONF
echo "==> config $D/batchdrop.conf"
"$B/batchdrop" check -c "$D/batchdrop.conf"
echo "==> dropping the sample files into $D/inbox/acme:"
cp samples/demo/* "$D/inbox/acme/"
ls -l "$D/inbox/acme" | tail -n +2
echo "==> batchdrop once"
"$B/batchdrop" once -c "$D/batchdrop.conf"
echo
echo "==> receipts ($D/log/receipts.jsonl), one line per file:"
if command -v jq > /dev/null; then
    jq -c '{file, status, reason, format, records_received, format_errors, no_match, stored, users,
            segments_realized, segments_removed, segments_failed_validation, id_mappings, outbox: [.outbox[0]]}' \
        "$D/log/receipts.jsonl"
else
    cat "$D/log/receipts.jsonl"
fi
echo
for f in "$D"/outbox/acme/*.sync; do
    echo "==> head of $f"
    head -n 5 "$f"
done
echo
echo "==> AAM-style text receipt of one file (what a later release mails to partners):"
"$B/batchdrop" validate -c "$D/batchdrop.conf" --text "$TOP/samples/demo/ftp_dpm_478_1700000100.sync" | head -n 24
echo
echo "Everything is in $D (archive and ledger under state/). Remove it with: rm -rf $D"
