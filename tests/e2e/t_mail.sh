# t_mail.sh: receipt_mail through a real MTA (Debian's exim4, local delivery to /var/mail): content, header safety, retries.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
D="$SAMPLES/demo"
SLOW=${BD_SLOW:-1}
MBOX_USER=bdmailtest
MBOX=/var/mail/$MBOX_USER
if [ "$(id -u)" -ne 0 ] || [ ! -x /usr/sbin/exim4 ]; then
    echo "1..0 # SKIP needs root and exim4 (apt-get install exim4-daemon-light); ./check.sh installs it"
    exit 0
fi
# exim delivers locally only to a user with a home folder
getent passwd "$MBOX_USER" >/dev/null || useradd -m -s /usr/sbin/nologin "$MBOX_USER"
# empty_mbox: as exim wants it (owned by the user: a root-owned mailbox is refused)
empty_mbox() { install -o "$MBOX_USER" -g mail -m 0660 /dev/null "$MBOX"; }
empty_mbox
exim4 -qff >/dev/null 2>&1 # nothing old in the queue for this user

mail_conf() { # mail_conf [sendmail]: partner acme mails its receipts to $MBOX_USER
    new_agent "receipt_mail = { to = [ \"$MBOX_USER\" ]; from = \"batchdrop@localhost\"; };" \
        "${1:+sendmail = \"$1\";} metrics_file = \"metrics.prom\"; metrics_interval = 1;"
}
nmails() { grep -c '^From ' "$MBOX" 2>/dev/null || echo 0; }
nmails_ge() { [ "$(nmails)" -ge "$1" ]; }
spooled() { find "$T/state/mail" -name '*.eml' 2>/dev/null | wc -l | tr -d ' '; }
deliver_queue() { exim4 -qff >/dev/null 2>&1; } # a deferred delivery, if any, now

# --- mail for every file, through sendmail -t -i and exim to the mailbox
mail_conf
drop "$D/adobe_id_0_478_1700000000.sync"
drop "$D/ftp_dpm_478_1700000100.sync"
once; is $? 0 "once processes two files"
WAIT=$((10 * SLOW)) wait_for nmails_ge 2
ok $? "two receipt mails reach the mailbox"
M=$(cat "$MBOX")
like "$M" "Subject: [batchdrop] acme: ok: adobe_id_0_478_1700000000.sync" "subject: prefix, partner, status, file"
like "$M" "From: batchdrop@localhost" "From: as configured"
like "$M" "X-Batchdrop-Receipt: $(r adobe_id_0_478_1700000000.sync .id)" "X-Batchdrop-Receipt: the receipt's ID"
like "$M" "Records received: 5" "body: the AAM-style counters"
like "$M" "Stored Records: 3" "body: the trait file's stored records"
like "$M" "Auto-Submitted: auto-generated" "marked auto-generated (no vacation replies)"
is "$(spooled)" 0 "the spool is empty once sendmail took the mails"

# --- a partner's file name cannot inject headers
empty_mbox
printf 'x\n' > "$T/inbox/$(printf 'bad\nSubject: injected.sync')"
once
WAIT=$((10 * SLOW)) wait_for nmails_ge 1
ok $? "a rejected file's receipt is mailed too"
# the message's header: from the mbox "From " line to the first empty line
HDR=$(awk '/^From / {h = 1; next} h && /^$/ {exit} h' "$MBOX")
like "$HDR" "X-Batchdrop-Status: rejected" "the header is parsed"
echo "$HDR" | grep -q '^Subject: injected'; is $? 1 "a newline in the file name does not start a header"
like "$(echo "$HDR" | grep '^Subject:')" "bad?Subject: injected.sync" "it shows as '?' in the subject"

# --- sendmail failing: processing goes on, the mail stays spooled and is retried
empty_mbox
printf '#!/bin/sh\ncat > /dev/null\necho "sendmail: temporary failure" >&2\nexit 75\n' > "$T/failmail"
chmod +x "$T/failmail"
mail_conf "$T/failmail"
drop "$D/ftp_dpm_478_1700000200.sync.1.gz"
once
is "$(r ftp_dpm_478_1700000200.sync.1.gz .status)" ok "a failing sendmail does not block processing"
grep -q "sendmail exited with status 75" "$T/agent.log"; ok $? "the failure is logged with sendmail's status"
is "$(spooled)" 1 "the mail stays spooled"
mail_conf
once
WAIT=$((10 * SLOW)) wait_for nmails_ge 1
ok $? "the next run delivers the spooled mail"
like "$(cat "$MBOX")" "ftp_dpm_478_1700000200.sync.1.gz" "it is that file's receipt"
is "$(spooled)" 0 "and the spool is empty"

# --- under run: a failing sendmail is retried; a reload that fixes it delivers at once
empty_mbox
mail_conf "$T/failmail"
(bd_exec run -c "$T/bd.conf" 2>>"$T/agent.log") &
AGENT=$!
BG_PIDS="$BG_PIDS $AGENT"
drop "$D/ftp_dpm_478_1700000300.overwrite.zst"
WAIT=$((10 * SLOW)) wait_for grep -q ftp_dpm_478_1700000300 "$T/log/receipts.jsonl"
ok $? "run: the file is processed while sendmail fails"
WAIT=$((10 * SLOW)) wait_for grep -q 'batchdrop_receipt_mails_total{partner="acme",result="failed"} [1-9]' "$T/metrics.prom"
ok $? "metrics: the failed mail is counted"
mail_conf
kill -HUP "$AGENT"
WAIT=$((10 * SLOW)) wait_for nmails_ge 1
ok $? "after a reload with a working sendmail the mail is delivered"
kill -TERM "$AGENT"; wait "$AGENT"; is $? 0 "run stops cleanly"
done_testing
