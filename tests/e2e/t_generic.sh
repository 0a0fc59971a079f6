# t_generic.sh: the generic delimited (CSV/TSV) and jsonl plugins through `once`: receipts, errors, outbox lines, DPIDs.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
U1=68079982765673198504052656074456196039
U2=67412682083411995725538770443620307584
U3=89159024796760343733111707646026765593
U4=66184778222667870903738139438735041506

# ---------------------------------------------------------------- delimited, our own IDs
new_agent 'format = "delimited"; ids = "ours";
  format_options = { header = true; id_column = "user"; segments_column = "Segments"; removed_column = "removed"; };'
C=acme_20240501.csv
printf '%s\r\n' 'user,segments,removed' "$U1,\"24, 26\",27" "$U2,28," '"broken,1' "$U3,abc," "$U4,,\"24\"" >"$T/$C"
drop "$T/$C"
once; ok $? "once exits 0 on a CSV file with bad lines"
is "$(r $C .status)" ok "CSV status ok"
is "$(r $C .format)" delimited "CSV parsed by the forced delimited plugin"
is "$(r $C .records_received)" 6 "CSV records_received (the header counts as a line)"
is "$(r $C .format_errors)" 2 "CSV format_errors"
is "$(r $C '.errors.format_errors[0].line')" 4 "CSV: the unterminated quote is on line 4"
like "$(r $C '.errors.format_errors[0].reason')" "unterminated quote in column 1" "CSV: line 4 reason"
is "$(r $C '.errors.format_errors[1].line')" 5 "CSV: the bad segment is on line 5"
like "$(r $C '.errors.format_errors[1].reason')" "segment 'abc' in column 2 (segments_column)" "CSV: line 5 reason"
is "$(r $C .stored)" 3 "CSV stored"
is "$(r $C .segments_realized)" 3 "CSV segments_realized"
is "$(r $C .segments_removed)" 2 "CSV segments_removed"
is "$(cat "$(r $C '.outbox[0]')")" "$U1 24,26 27
$U2 28 
$U4  24" "CSV outbox lines: our ID, added, removed"

F=acme_full_20240502.csv.gz
printf '%s\n' 'user,segments,removed' "$U1,30,27" "$U2,\"31,32\"," | gzip -c >"$T/$F"
drop "$T/$F"
once
is "$(r $F .status)" ok "gzip full CSV ok"
is "$(r $F .compression)" gzip "gzip CSV decoded"
FO=$(r $F '.outbox[0]')
case "$(basename "$FO")" in *_full_*) ok 0 "a _full name gives a full outbox file" ;; *) ok 1 "full name: $FO" ;; esac
is "$(cat "$FO")" "$U1 30 
$U2 31,32 " "full CSV: removals ignored"

# ---------------------------------------------------------------- jsonl, our own IDs
new_agent 'format = "jsonl"; ids = "ours"; format_options = { id_field = "user.id"; };'
J=acme_20240503.jsonl
{
    echo "{\"user\":{\"id\":\"$U1\"},\"segments\":[24,\"26\"],\"removed\":[27]}"
    echo ""
    echo "{\"user\":{\"id\":\"$U2\"},\"segments\":[28]}"
    echo "{\"user\":{\"id\":\"$U3\"},\"segments\":\"30\"}"
    echo "{\"user\":{\"id\":\"$U4\"},\"segments\":[30],}"
    echo "{\"segments\":[30]}"
} >"$T/$J"
drop "$T/$J"
once; ok $? "once exits 0 on a JSON Lines file with bad lines"
is "$(r $J .status)" ok "jsonl status ok"
is "$(r $J .format)" jsonl "jsonl parsed by the forced jsonl plugin"
is "$(r $J .records_received)" 5 "jsonl records_received (the blank line is skipped)"
is "$(r $J .format_errors)" 3 "jsonl format_errors"
is "$(r $J '.errors.format_errors[0].line')" 4 "jsonl: the wrong type is on line 4"
like "$(r $J '.errors.format_errors[0].reason')" "field 'segments' is a string, expected an array" "jsonl: line 4 reason"
is "$(r $J '.errors.format_errors[1].line')" 5 "jsonl: the bad JSON is on line 5"
like "$(r $J '.errors.format_errors[1].reason')" "invalid JSON at column" "jsonl: line 5 reason"
is "$(r $J '.errors.format_errors[2].line')" 6 "jsonl: the missing ID is on line 6"
like "$(r $J '.errors.format_errors[2].reason')" "missing field 'user.id'" "jsonl: line 6 reason"
is "$(cat "$(r $J '.outbox[0]')")" "$U1 24,26 27
$U2 28 " "jsonl outbox lines"

# ---------------------------------------------------------------- partner IDs: the DPID from the options
new_agent 'format_options = { dpid_field = "ns"; };'
drop "$SAMPLES/demo/adobe_id_0_478_1700000000.sync"
once
is "$(r adobe_id_0_478_1700000000.sync .status)" ok "ID-sync by name next to the generic plugins"
K=acme_20240504.ndjson
printf '%s\n' '{"id":"ACME-0001","segments":[24],"ns":478}' '{"id":"ACME-0002","segments":[26],"ns":"999"}' \
    '{"id":"ACME-0003","segments":[27]}' >"$T/$K"
drop "$T/$K"
once
is "$(r $K .format)" jsonl "*.ndjson chosen by name"
is "$(r $K .stored)" 1 "dpid_field 478 matches through the ID-sync table"
is "$(r $K .no_match)" 1 "DPID 999 has no match"
like "$(r $K '.errors.no_match[0].reason')" "in DPID 999" "the record's own DPID is used"
is "$(r $K .format_errors)" 1 "a record without its DPID field"
is "$(cat "$(r $K '.outbox[0]')")" "$U1 24 " "jsonl with partner IDs: our ID in the outbox"
new_agent 'format_options = { id_column = 1; segments_column = 2; dpid = 478; };'
T2=acme_20240505.tsv
printf 'ACME-0002\t26\nACME-0003\t27,30\n' >"$T/$T2"
drop "$T/$T2"
once
is "$(r $T2 .format)" delimited "*.tsv chosen by name"
is "$(r $T2 .stored)" 2 "the fixed dpid (478) option maps both TSV rows"
is "$(cat "$(r $T2 '.outbox[0]')")" "$U2 26 
$U3 27,30 " "TSV outbox lines"

is "$(find "$T/inbox" -type f | wc -l | tr -d ' ')" 0 "no claim or temp file left in the inbox"
done_testing
