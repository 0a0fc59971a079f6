# t_pipeline.sh: a trait file of many lookup batches (looked up on the worker's second thread): receipt and outbox as awk computes them.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
# plugin_memory_limit 128M sizes a lookup batch to 8,192 records (lookup_batch.h: 1/32 of it, 512 bytes a record)
new_agent 'segments = [ 24, 26, 27 ]; max_lines_per_user = 3;' 'plugin_memory_limit = "128M";'
uuid() { printf '%038d' "$((9100000 + $1))"; }
# 30,000 partner IDs, the even ones mapped
awk 'BEGIN { for (i = 2; i <= 30000; i += 2) printf "%038d\tPID-%06d\n", 9100000 + i, i }' > "$T/inbox/adobe_id_0_478_1700000000.sync"
once; ok $? "the ID-sync file: once exits 0"
is "$(r adobe_id_0_478_1700000000.sync .stored)" 15000 "15000 mappings stored"

# 50,000 lines (7 lookup batches of 8,192): IDs cycle through 1..20000, so every ID has 2 or 3 lines; every
# 997th line has no tab (a format error); ID 7 gets 4 extra lines (the cap is 3); segment 99 is not the partner's.
awk 'BEGIN {
    for (n = 1; n <= 50000; n++) {
        id = (n - 1) % 20000 + 1
        if (n % 997 == 0) { printf "PID-%06d d_sid=24\n", id; continue }
        printf "PID-%06d\td_sid=24,d_sid=%d\n", id, (n % 5 == 0 ? 99 : 26)
    }
    for (k = 0; k < 4; k++) printf "PID-%06d\td_sid=27\n", 7
}' > "$T/traits.txt"
zstd -q "$T/traits.txt" -o "$T/inbox/ftp_dpm_478_1700000100.sync.zst"
once; ok $? "the trait file: once exits 0"
F=ftp_dpm_478_1700000100.sync.zst
# what the receipt must say, by awk: a line counts toward its user's cap in line order; the 4th and later
# lines of a user are over the cap; the others are format errors (no tab), no match (odd ID) or stored
awk -F'\t' '
    { split($1, a, "-"); id = a[2] + 0; seen[id]++
      if (seen[id] > 3) { over++; next }
      if (NF < 2) { fmt++; next }
      if (id % 2) { nomatch++; next }
      stored++; if ($2 ~ /d_sid=99/) failed++ }
    END { printf "%d %d %d %d %d %d\n", NR, over, fmt, nomatch, stored, failed }' "$T/traits.txt" > "$T/want.counts"
jq -r '"\(.records_received) \(.lines_over_user_cap) \(.format_errors) \(.no_match) \(.stored) \(.users_failed_validation)"' \
    "$T/log/receipts.jsonl" | tail -n 1 > "$T/got.counts"
is "$(cat "$T/got.counts")" "$(cat "$T/want.counts")" "received, over the cap, format errors, no match, stored, failed validation: as awk counts them"
is "$(r $F .status)" ok "status ok"
is "$(r $F '.errors.no_match | length')" 10 "no-match samples kept: 10"
like "$(r $F '.errors.no_match[0].reason')" "PID-000001" "the first no-match sample is the first unmatched line's ID"
is "$(r $F '.errors.no_match[0].line')" 1 "on line 1"
is "$(r $F '.errors.segments_failed_validation[0].line')" 10 "the first failed-validation sample is line 10 (the first even ID with segment 99)"
# the outbox, line for line, by awk (our ID, added segments; no removals)
awk -F'\t' '
    { split($1, a, "-"); id = a[2] + 0; seen[id]++
      if (seen[id] > 3 || NF < 2 || id % 2) next
      seg = ($2 ~ /d_sid=99/) ? "24" : ($2 ~ /d_sid=27/ ? "27" : "24,26")
      printf "%038d %s \n", 9100000 + id, seg }' "$T/traits.txt" | md5sum | cut -d' ' -f1 > "$T/want.md5"
is "$(cat "$(outbox_files 'ftp_acme_478_*.sync')" | md5sum | cut -d' ' -f1)" "$(cat "$T/want.md5")" "the outbox file, line for line, as awk writes it"
is "$(r $F .users)" 10000 "users: the 10000 even IDs"
done_testing
