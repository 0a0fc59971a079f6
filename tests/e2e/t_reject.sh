# t_reject.sh: bad input gets a receipt and quarantine; incomplete uploads are not taken; duplicates are caught.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
D="$SAMPLES/demo"
new_agent '' 'max_decoded_size = "1M";'

# --- a bad name, an empty file, an unsupported compression, a file no plugin claims
printf 'X\td_sid=1\n' > "$T/inbox/ftp_dpm_478_1366545717.txt"
: > "$T/inbox/ftp_dpm_478_1366545718.sync"
printf 'PK\003\004junkjunk' > "$T/inbox/ftp_dpm_478_1366545719.sync"
printf 'a,b\n' > "$T/inbox/partner-export.xlsx"
once; ok $? "once exits 0 even though every file is rejected"
is "$(r ftp_dpm_478_1366545717.txt .status)" rejected "bad name rejected"
like "$(r ftp_dpm_478_1366545717.txt .reason)" "ftp_dpm_478_1366545717.txt" "bad-name reason names the file"
is "$(r ftp_dpm_478_1366545718.sync .status)" rejected "empty file rejected"
like "$(r ftp_dpm_478_1366545718.sync .reason)" "empty" "empty-file reason"
is "$(r ftp_dpm_478_1366545719.sync .status)" rejected "zip content rejected"
like "$(r ftp_dpm_478_1366545719.sync .reason)" "zip" "zip reason names the format"
is "$(r partner-export.xlsx .status)" rejected "a file no plugin claims is rejected"
like "$(r partner-export.xlsx .reason)" "not claimed by any format plugin" "and says so"
Q="$T/state/quarantine/acme"
is "$(ls "$Q" | grep -c '~ftp_dpm_478_1366545718.sync$')" 1 "empty file quarantined"
is "$(ls "$Q" | grep -c '~ftp_dpm_478_1366545718.sync.receipt.json$')" 1 "its JSON receipt beside it"
like "$(cat "$Q"/*~ftp_dpm_478_1366545718.sync.receipt.txt)" "Records received: 0" "and the AAM-style text receipt"
is "$(jq -r .status "$Q"/*~ftp_dpm_478_1366545718.sync.receipt.json)" rejected "sidecar is the receipt"
is "$(inbox_left)" 0 "rejected files leave the inbox"

# --- truncated gzip and zstd are not taken; a complete one is
head -c 100000 /dev/urandom | od -An -tx1 | tr -d ' \n' | fold -w 60 | sed 's/^/ACME-0001\tproduct=/' > "$T/big.txt"
gzip -c "$T/big.txt" > "$T/big.gz"; zstd -q -c "$T/big.txt" > "$T/big.zst"
head -c $(( $(stat -c %s "$T/big.gz") - 9 )) "$T/big.gz" > "$T/inbox/ftp_dpm_478_1500000001.sync.gz"
head -c $(( $(stat -c %s "$T/big.zst") / 2 )) "$T/big.zst" > "$T/inbox/ftp_dpm_478_1500000002.sync.zst"
once; ok $? "once exits 0 with incomplete uploads present"
is "$(inbox_left)" 2 "truncated gzip and zstd stay in the inbox"
is "$(nreceipts ftp_dpm_478_1500000001.sync.gz)" 0 "no receipt for the truncated gzip"
is "$(nreceipts ftp_dpm_478_1500000002.sync.zst)" 0 "no receipt for the truncated zstd"
cp "$T/big.gz" "$T/inbox/ftp_dpm_478_1500000001.sync.gz"   # the upload completes
once
is "$(r ftp_dpm_478_1500000001.sync.gz .status)" ok "the completed gzip is taken"
is "$(inbox_left)" 1 "the truncated zstd is still waiting"

# --- past incomplete_timeout a truncated file is rejected with a receipt
sed -i 's/^incomplete_timeout = .*/incomplete_timeout = 0;/' "$T/bd.conf"
once
is "$(r ftp_dpm_478_1500000002.sync.zst .status)" rejected "a file truncated for good is rejected"
like "$(r ftp_dpm_478_1500000002.sync.zst .reason)" "incomplete_timeout" "reason says it stayed incomplete"
sed -i 's/^incomplete_timeout = .*/incomplete_timeout = 3600;/' "$T/bd.conf"

# --- the zip-bomb guard: decoded size over max_decoded_size (1M here)
head -c 50000000 /dev/zero | tr '\0' 'a' | sed 's/^/x/' | head -c 50000000 | zstd -q -c > "$T/inbox/ftp_dpm_478_1500000003.sync.zst"
once
is "$(r ftp_dpm_478_1500000003.sync.zst .status)" rejected "decompression bomb rejected"
like "$(r ftp_dpm_478_1500000003.sync.zst .reason)" "limit" "reason names the limit"
head -c 50000000 /dev/zero | gzip -c > "$T/inbox/ftp_dpm_478_1500000013.sync.gz"
once
is "$(r ftp_dpm_478_1500000013.sync.gz .status)" rejected "gzip bomb rejected (the completeness probe stops at the limit)"
: > "$T/inbox/ftp_dpm_478_1366545720.sync"
once
is "$(r ftp_dpm_478_1366545720.sync .status)" rejected "a second empty file is rejected as empty..."
like "$(r ftp_dpm_478_1366545720.sync .reason)" "empty" "...not as a duplicate of the first"

# --- a line that is not UTF-8, temp names and dotfiles are never taken
printf 'ACME-0001\td_sid=1\nACME-0002\tproduct=\377\376\n' > "$T/inbox/ftp_dpm_478_1500000004.sync"
printf 'x\td_sid=1\n' > "$T/inbox/ftp_dpm_478_1500000005.sync.part"
printf 'x\td_sid=1\n' > "$T/inbox/.ftp_dpm_478_1500000006.sync"
printf 'x\td_sid=1\n' > "$T/inbox/ftp_dpm_478_1500000007.sync.filepart"
once
is "$(r ftp_dpm_478_1500000004.sync '.errors.format_errors[0].line')" 2 "a non-UTF-8 line is a format error with its number"
is "$(inbox_left)" 3 "*.part, *.filepart and dotfiles are left alone"
rm -f "$T/inbox/"*.part "$T/inbox/"*.filepart "$T/inbox/".ftp*

# --- duplicates: same content under another name is not output twice
drop "$D/ftp_dpm_478_1700000100.sync"
once
FIRST=$(r ftp_dpm_478_1700000100.sync .id)
n_out=$(outbox_files | wc -l)
drop "$D/ftp_dpm_478_1700000100.sync" ftp_dpm_478_1700009999.sync
once
is "$(r ftp_dpm_478_1700009999.sync .status)" duplicate "a re-delivered file is a duplicate"
is "$(r ftp_dpm_478_1700009999.sync .duplicate_of)" "$FIRST" "duplicate_of names the first delivery"
is "$(outbox_files | wc -l)" "$n_out" "no second outbox file"
drop "$D/ftp_dpm_478_1700000100.sync"
once
is "$(nreceipts ftp_dpm_478_1700000100.sync)" 2 "same name again: a second receipt..."
is "$(r ftp_dpm_478_1700000100.sync .status)" duplicate "...saying duplicate"
is "$(inbox_left)" 0 "nothing left in the inbox"

# --- under run: a gzip file renamed in is a finished upload (not inflated by the agent to check it: a cut one is
# rejected by its worker, at once); one written in place that is cut waits, as an upload in progress
SLOW=${BD_SLOW:-1}
head -c $(( $(stat -c %s "$T/big.gz") - 9 )) "$T/big.gz" > "$T/cut.gz"
# a gzip stream of over 4 MiB (stream_probe.h): written in place, it is checked by a child process
head -c 3000000 /dev/urandom | od -An -v -tx8 -w8 | awk '{ print "U" $1 "\td_sid=" (NR % 97) }' | gzip -1 > "$T/huge.gz"
head -c $(( $(stat -c %s "$T/huge.gz") - 5 )) "$T/huge.gz" > "$T/hugecut.gz"
sed -i '/max_decoded_size/d' "$T/bd.conf"; echo 'log_level = "debug";' >> "$T/bd.conf"
(cd "$T" && bd_exec run -c "$T/bd.conf" 2>>"$T/agent.log") &
AGENT=$!
BG_PIDS="$BG_PIDS $AGENT"
WAIT=$((10 * SLOW)) wait_for grep -q running "$T/agent.log"
cp "$T/cut.gz" "$T/inbox/ftp_dpm_478_1500000031.sync.gz"
cp "$T/cut.gz" "$T/cut2.gz"; mv "$T/cut2.gz" "$T/inbox/ftp_dpm_478_1500000032.sync.gz"
WAIT=$((10 * SLOW)) wait_for sh -c "[ \$(jq -r 'select(.file == \"ftp_dpm_478_1500000032.sync.gz\") | .status' '$T/log/receipts.jsonl' | head -n 1) = rejected ]"
ok $? "run: a cut gzip renamed into the inbox is rejected at once (incomplete_timeout is an hour)"
like "$(r ftp_dpm_478_1500000032.sync.gz .reason)" "renamed into the inbox" "the reason says the partner sent it cut"
WAIT=$((10 * SLOW)) wait_for grep -q "ftp_dpm_478_1500000031.sync.gz looks like an upload in progress" "$T/agent.log"
ok $? "run: a cut gzip written in place is an upload in progress"
is "$(nreceipts ftp_dpm_478_1500000031.sync.gz)" 0 "and gets no receipt while it waits"
{ cat "$T/big.txt"; printf 'ACME-9999\td_sid=9\n'; } | gzip -c > "$T/big2.gz" # new content: not a duplicate
mv "$T/big2.gz" "$T/inbox/ftp_dpm_478_1500000033.sync.gz"
WAIT=$((10 * SLOW)) wait_for sh -c "jq -r .file '$T/log/receipts.jsonl' | grep -qx ftp_dpm_478_1500000033.sync.gz"
is "$(r ftp_dpm_478_1500000033.sync.gz .status)" ok "run: a whole gzip renamed in is taken"
[ "$(stat -c %s "$T/huge.gz")" -gt $((4 << 20)) ]; ok $? "the big gzip is over 4 MiB ($(stat -c %s "$T/huge.gz") bytes)"
cp "$T/hugecut.gz" "$T/inbox/ftp_dpm_478_1500000034.sync.gz"
WAIT=$((10 * SLOW)) wait_for grep -q "checking the gzip stream of ftp_dpm_478_1500000034.sync.gz in process" "$T/agent.log"
ok $? "run: a big gzip written in place is checked in a child process"
WAIT=$((10 * SLOW)) wait_for grep -q "ftp_dpm_478_1500000034.sync.gz looks like an upload in progress" "$T/agent.log"
ok $? "which finds it cut: an upload in progress"
printf 'ACME-0042\td_sid=42\n' > "$T/inbox/ftp_dpm_478_1500000035.sync"
WAIT=$((10 * SLOW)) wait_for sh -c "jq -r .file '$T/log/receipts.jsonl' | grep -qx ftp_dpm_478_1500000035.sync"
ok $? "a later file of the partner is taken meanwhile"
cat "$T/huge.gz" > "$T/inbox/ftp_dpm_478_1500000034.sync.gz" # the upload completes
WAIT=$((20 * SLOW)) wait_for sh -c "jq -r .file '$T/log/receipts.jsonl' | grep -qx ftp_dpm_478_1500000034.sync.gz"
is "$(r ftp_dpm_478_1500000034.sync.gz .status)" ok "once whole, the child's check lets it be taken"
is "$(r ftp_dpm_478_1500000034.sync.gz .records_received)" 375000 "all of it"
kill -TERM "$AGENT"; wait "$AGENT"
is $? 0 "the agent stops cleanly"
is "$(nreceipts ftp_dpm_478_1500000031.sync.gz)" 0 "the cut gzip written in place is still not taken"
done_testing
