# t_backlog.sh: `once` on a backlog of 1,000 files: every file processed exactly once, outputs complete.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
new_agent '' 'keep_archive = false;'
cp "$SAMPLES/demo/adobe_id_0_478_1700000000.sync" "$T/inbox/"
once
N=1000
i=0
while [ $i -lt $N ]; do
    # each file differs (the line with the counter), so none is a duplicate
    printf 'ACME-0001\td_sid=%d\nACME-0002\td_sid=7\nACME-0404\td_sid=1\n' "$i" > "$T/inbox/ftp_dpm_478_$((1600000000 + i)).sync"
    i=$((i + 1))
done
once; ok $? "once exits 0 on a backlog of $N files"
is "$(inbox_left)" 0 "inbox empty"
is "$(receipts | jq -r 'select(.kind == "traits") | .status' | grep -c '^ok$')" $N "$N ok receipts"
is "$(receipts | jq -r .file | sort | uniq -d | wc -l | tr -d ' ')" 0 "no file has two receipts"
is "$(outbox_files | wc -l | tr -d ' ')" $N "$N outbox files"
is "$(outbox_files '*.info' | wc -l | tr -d ' ')" $N "$N .info files"
is "$(cat $(outbox_files) | wc -l | tr -d ' ')" $((2 * N)) "two stored lines per file"
is "$(receipts | jq -s 'map(select(.kind == "traits") | .no_match) | add')" $N "one unmatched line per file"
is "$(find "$T/state/archive" -type f 2>/dev/null | wc -l | tr -d ' ')" 0 "keep_archive = false deletes sources"
is "$(find "$T/state/claims" -type f | wc -l | tr -d ' ')" 0 "no claim left"
once; ok $? "a second once on an empty inbox"
is "$(receipts | wc -l | tr -d ' ')" $((N + 1)) "and it writes nothing"
done_testing
