# t_filesystems.sh: claim folders on the inbox's file system; inbox and state_dir on different file systems (EXDEV).
. "${BD_SRCDIR}/tests/e2e/lib.sh"
D="$SAMPLES/demo"

# same file system: claims live under state_dir, out of the partner's reach
new_agent
drop "$D/adobe_id_0_478_1700000000.sync"
once
is "$(r adobe_id_0_478_1700000000.sync .status)" ok "same file system: processed"
ok "$([ -d "$T/state/claims/acme" ] && echo 0 || echo 1)" "claims go to state_dir/claims/<partner>"
ok "$([ ! -e "$T/inbox/.batchdrop" ] && echo 0 || echo 1)" "nothing is created inside the partner's inbox"

# different file systems (tmpfs inbox): claims in a hidden inbox folder, archive moves by copy
if [ -d /dev/shm ] && [ "$(stat -c %d /dev/shm)" != "$(stat -c %d "$T")" ]; then
    SHM=$(mktemp -d /dev/shm/bd-inbox.XXXXXX)
    rm -rf "$T/inbox" "$T/state" "$T/log" "$T/outbox"
    new_agent
    sed -i "s|inbox = \"inbox\"|inbox = \"$SHM\"|" "$T/bd.conf"
    cp "$D/adobe_id_0_478_1700000000.sync" "$D/ftp_dpm_478_1700000100.sync" "$SHM/"
    printf '' > "$SHM/ftp_dpm_478_1700000101.sync"
    once; ok $? "once across file systems"
    is "$(r ftp_dpm_478_1700000100.sync .status)" ok "trait file ok"
    is "$(r ftp_dpm_478_1700000100.sync .stored)" 3 "matched through the ID-sync"
    is "$(r ftp_dpm_478_1700000101.sync .status)" rejected "empty file rejected"
    ok "$([ -d "$SHM/.batchdrop/test" ] && echo 0 || echo 1)" "claims go to <inbox>/.batchdrop/<agent_id>"
    is "$(find "$SHM" -type f | wc -l | tr -d ' ')" 0 "sources left the tmpfs inbox"
    is "$(ls "$T/state/archive/acme" | wc -l | tr -d ' ')" 2 "two sources archived on the other file system"
    is "$(cmp "$T/state/archive/acme/"*~ftp_dpm_478_1700000100.sync "$D/ftp_dpm_478_1700000100.sync" && echo same)" same \
       "the archived copy is byte-identical"
    is "$(ls "$T/state/quarantine/acme" | wc -l | tr -d ' ')" 3 "the rejected file and its two receipts quarantined"
    rm -rf "$SHM"
else
    echo "# skip: no second file system at /dev/shm"
fi
done_testing
