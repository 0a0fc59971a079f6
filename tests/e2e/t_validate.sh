# t_validate.sh: `batchdrop validate`, the partner's pre-flight: receipts on stdout, exit status, no side effects.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
S="$SAMPLES/spec"
cd "$T" || exit 1
before=$(ls -A "$T" | wc -l)
bd validate --plugin-dir "$PLUGINS" "$S/ftp_dpm_1234_1445374061.overwrite" > out.json 2> err.txt
ok $? "the published sample validates (exit 0)"
is "$(jq -r .status out.json)" ok "status ok"
is "$(jq -r .format out.json)" aam "chosen plugin"
is "$(jq -r .records_received out.json)" 3 "3 records in the sample"
is "$(jq -r .format_errors out.json)" 0 "no format errors (CRLF, empty item, no final newline)"
is "$(jq -r .signals out.json)" "$(grep -o '"="' "$S/ftp_dpm_1234_1445374061.overwrite" | wc -l | tr -d ' ')" "every quoted key=value is a signal"
is "$(jq -r .sha256 out.json)" "$(sha256sum < "$S/ftp_dpm_1234_1445374061.overwrite" | cut -d' ' -f1)" "sha256"
is "$(ls -A "$T" | wc -l)" "$((before + 2))" "no files created besides our redirections"

for f in adobe_id_0_12345_1476312152.sync adobe_id_12345_67890_1477846458.sync c2c_id_999999_987654_1560431657.sync; do
    bd validate --plugin-dir "$PLUGINS" "$S/$f" > v.json
    ok $? "$f validates"
    is "$(jq -r .kind v.json)" idsync "$f is an ID-sync file"
done
is "$(jq -r .records_received v.json)" 3 "c2c sample: 3 rows (CRLF, unterminated)"
bd validate --plugin-dir "$PLUGINS" "$S/adobe_id_0_12345_1476312152.sync" | jq -r .id_mappings > m.txt
is "$(cat m.txt)" 5 "5 mappings would be written"

bd validate --plugin-dir "$PLUGINS" "$S/ftp_dpm_odc_12345_1556223815.sync" > odc.json
ok $? "the ODC sample validates"
is "$(jq -r .records_received odc.json)" 8 "ODC sample: 8 records"
is "$(jq -r .segments_realized odc.json)" 8 "ODC: each bare ID is a trait"

printf 'X\td_sid=1\n' > ftp_dpm_20914_1366545717.sync
bd validate --plugin-dir "$PLUGINS" ftp_dpm_20914_1366545717.sync > bad.json
is $? 1 "a rejected file: exit 1"
like "$(jq -r .reason bad.json)" "20914" "global DPID without a target owner is rejected"

bd validate --plugin-dir "$PLUGINS" --text "$S/ftp_dpm_1234_1445374061.overwrite" > out.txt
like "$(cat out.txt)" "Records received: 3" "--text renders the AAM-style receipt"
like "$(cat out.txt)" "No Trait Realized: 3" "signals without rules realize nothing"

bd validate > /dev/null 2>&1
is $? 2 "no file: usage error"

# with a config, the partner's match store is read (never written)
new_agent
cp "$SAMPLES/demo/adobe_id_0_478_1700000000.sync" "$T/inbox/" && once
bd validate -c "$T/bd.conf" "$SAMPLES/demo/ftp_dpm_478_1700000100.sync" > m.json
is "$(jq -r .no_match m.json)" 1 "with -c, IDs are matched against the store"
printf '68079982765673198504052656074456196039\tB56E68EC-34ED-46D5-AF0C-1D2401F676C9\n' > "$T/inbox/adobe_id_0_20915_1700000001.sync"
once
"$BD_BIN" validate -c "$T/bd.conf" "$S/ftp_dpm_odc_12345_1556223815.sync" > odc2.json
is "$(jq -r .no_match odc2.json)" 7 "ODC rows are matched as IDFAs (DPID 20915), not as IDs of the file's DPID"
is "$(receipts | wc -l | tr -d ' ')" 2 "validate wrote no receipt"
is "$(find "$T/outbox" -name 'ftp_*' | wc -l | tr -d ' ')" 0 "validate wrote no outbox file"
done_testing
