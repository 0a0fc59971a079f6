# t_basic.sh: ID-sync then trait files (plain, gzip, zstd, overwrite) through `once`: outbox lines, receipts, archive.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
D="$SAMPLES/demo"
new_agent 'segments = [ 24, 26, 27, 28, 30 ]; rules = ( { key = "product"; value = "tablet"; segment = 5001; } );'

drop "$D/adobe_id_0_478_1700000000.sync"
once; ok $? "once exits 0 after an ID-sync file"
is "$(r adobe_id_0_478_1700000000.sync .status)" ok "ID-sync receipt status ok"
is "$(r adobe_id_0_478_1700000000.sync .format)" aam-idsync "ID-sync chosen by name"
is "$(r adobe_id_0_478_1700000000.sync .id_mappings)" 5 "5 mappings written"
is "$(r adobe_id_0_478_1700000000.sync '.outbox | length')" 0 "ID-sync has no outbox file"
is "$(inbox_left)" 0 "inbox emptied"
is "$(ls "$T/state/archive/acme" | grep -c 'adobe_id_0_478_1700000000.sync$')" 1 "ID-sync source archived"

drop "$D/ftp_dpm_478_1700000100.sync"
once; ok $? "once exits 0 on a trait file with bad lines"
F=ftp_dpm_478_1700000100.sync
is "$(r $F .status)" ok "trait file status ok"
is "$(r $F .records_received)" 6 "records_received"
is "$(r $F .format_errors)" 1 "format_errors"
is "$(r $F '.errors.format_errors[0].line')" 5 "the bad line's number is in the receipt"
like "$(r $F '.errors.format_errors[0].reason')" "abc" "the bad line's reason names the bad value"
is "$(r $F .no_match)" 1 "no_match"
is "$(r $F '.errors.no_match[0].line')" 4 "no_match sample line"
is "$(r $F .invalid_ids)" 0 "invalid_ids"
is "$(r $F .records_processed)" 6 "records_processed"
is "$(r $F .stored)" 4 "stored"
is "$(r $F .users)" 4 "users"
is "$(r $F .signals)" 10 "signals"
is "$(r $F .unused_signals)" 2 "unused_signals"
is "$(r $F .segments_realized)" 5 "segments_realized"
is "$(r $F .segments_removed)" 3 "segments_removed"
is "$(r $F .sha256)" "$(sha256sum "$D/$F" | cut -d' ' -f1)" "sha256 of the raw file"
is "$(r $F .bytes)" "$(stat -c %s "$D/$F")" "bytes"
OUT=$(r $F '.outbox[0]')
case "$(basename "$OUT")" in ftp_acme_478_iter_[0-9]*.sync) ok 0 "outbox name follows the outbound convention" ;; *) ok 1 "outbox name: $OUT" ;; esac
is "$(cat "$OUT")" "68079982765673198504052656074456196039 24,26,27 28
67412682083411995725538770443620307584 5001 
89159024796760343733111707646026765593 30 
66184778222667870903738139438735041506  24,26" "outbox lines: our ID, added, removed"
INFO=$(r $F '.outbox[1]')
is "$(jq -r '.Files[0].md5' "$INFO")" "$(md5sum "$OUT" | cut -d' ' -f1)" ".info md5 matches the outbox file"
is "$(jq -r '.Totals.TotalNumberLines' "$INFO")" 4 ".info line count"
is "$(jq -r '.Files[0].FileByteSize' "$INFO")" "$(stat -c %s "$OUT")" ".info byte count"

drop "$D/ftp_dpm_478_1700000200.sync.1.gz"
once
G=ftp_dpm_478_1700000200.sync.1.gz
is "$(r $G .status)" ok "gzip trait file ok"
is "$(r $G .compression)" gzip "gzip detected by magic"
is "$(r $G .segments_failed_validation)" 1 "trait 99999 is not the partner's"
is "$(r $G .users_failed_validation)" 1 "users_failed_validation"
is "$(r $G .no_segment)" 1 "the line with only a foreign trait realizes nothing"
is "$(cat "$(r $G '.outbox[0]')")" "68079982765673198504052656074456196039 27 
67412682083411995725538770443620307584 26 " "gzip outbox lines (CRLF input)"

drop "$D/ftp_dpm_478_1700000300.overwrite.zst"
once
Z=ftp_dpm_478_1700000300.overwrite.zst
is "$(r $Z .status)" ok "zstd overwrite file ok"
is "$(r $Z .compression)" zstd "zstd detected by magic"
ZO=$(r $Z '.outbox[0]')
case "$(basename "$ZO")" in ftp_acme_478_full_*.sync) ok 0 "overwrite input gives a full outbox file" ;; *) ok 1 "full name: $ZO" ;; esac
is "$(cat "$ZO")" "68079982765673198504052656074456196039 24 
66552757407517449462805881945288602094 26,27 
66184778222667870903738139438735041506 5001 " "overwrite: removals ignored, unterminated last line read"
is "$(r $Z .segments_removed)" 0 "no removals counted in an overwrite file"

is "$(receipts | wc -l | tr -d ' ')" 4 "one receipt per file"
is "$(find "$T/inbox" -type f | wc -l | tr -d ' ')" 0 "no claim or temp file left in the inbox"
is "$(find "$T/outbox" -path '*/.tmp/*' -type f | wc -l | tr -d ' ')" 0 "no staged outbox file left"
is "$(ls "$T/state/archive/acme" | wc -l | tr -d ' ')" 4 "every source archived"
done_testing
