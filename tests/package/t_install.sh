#!/bin/sh
# t_install.sh: Debian package test (root, Debian 12): build the .debs, lintian, install, run the daemon as the unit would (drops, SIGHUP reload, SIGTERM), purge; TAP.
# Usage: tests/package/t_install.sh [SOURCE-TREE]   (default: the tree this script is in; BD_KEEP=1 keeps the temp folder)
# It installs and purges the batchdrop packages system-wide: it refuses to run when batchdrop is already installed.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

SRC=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
WAIT_RECEIPT=${BD_PKG_WAIT:-20} # seconds to wait for a receipt or a log line
CONF=/etc/batchdrop/batchdrop.conf
RECEIPTS=/var/log/batchdrop/receipts.jsonl
INBOXES=/var/lib/batchdrop/test-inbox
OURID=68079982765673198504052656074456196039 # a 38-digit user ID of ours (partners use ids = "ours")

n=0
failed=0
W=""
DAEMON=""
NOTIFY=""
INSTALLED=0

ok() { # ok STATUS DESCRIPTION: STATUS 0 passes
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
        echo "not ok $n - $2"
        failed=$((failed + 1))
    fi
}
is() { # is GOT WANT DESCRIPTION
    if [ "$1" = "$2" ]; then ok 0 "$3"; else
        ok 1 "$3"
        echo "#   got:  '$1'"
        echo "#   want: '$2'"
    fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
diag() { sed 's/^/#   /'; }
finish() {
    echo "1..$n"
    [ "$failed" -eq 0 ] || echo "# $failed of $n checks failed"
    [ "$failed" -eq 0 ]
    exit $?
}
bail() { # bail DESCRIPTION: a failed step that makes the rest pointless
    ok 1 "$1"
    finish
}

alive() { # alive PID: running, not a zombie
    [ -r "/proc/$1/stat" ] || return 1
    st=$(sed 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f1)
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
pkg_present() { # installed or with config files left
    dpkg-query -W -f='${Status}' batchdrop batchdrop-dev 2>/dev/null | grep -Eq 'installed|config-files|unpacked|half'
}

cleanup() {
    st=$?
    if [ -n "$DAEMON" ] && alive "$DAEMON"; then
        kill -TERM "$DAEMON" 2>/dev/null
        i=0
        while alive "$DAEMON" && [ "$i" -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
        kill -KILL "$DAEMON" 2>/dev/null
    fi
    [ -n "$NOTIFY" ] && kill "$NOTIFY" 2>/dev/null
    if [ "$INSTALLED" -eq 1 ] && pkg_present; then
        echo "# cleanup: purging batchdrop batchdrop-dev"
        apt-get purge -y -qq batchdrop batchdrop-dev >/dev/null 2>&1 || dpkg --purge batchdrop batchdrop-dev >/dev/null 2>&1
    fi
    if [ -n "$W" ]; then
        if [ -n "${BD_KEEP:-}" ]; then echo "# kept $W"; else rm -rf "$W"; fi
    fi
    exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_until CMD...: poll every 0.2 s, for up to WAIT_RECEIPT seconds, until CMD succeeds
wait_until() {
    i=0
    while ! "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -le $((WAIT_RECEIPT * 5)) ] || return 1
        sleep 0.2
    done
}
# receipt FILE FIELD: FIELD of the last receipt for FILE
receipt() { jq -r --arg f "$1" "select(.file == \$f) | $2" "$RECEIPTS" 2>/dev/null | tail -n 1; }
receipt_ok() { [ "$(receipt "$1" .status)" = ok ]; }
log_has() { grep -qF "$1" "$W/daemon.log"; }
# sd_notify messages the daemon sent to our NOTIFY_SOCKET, one "PID MESSAGE" line each (see notify_listener)
notified() { [ -n "$NOTIFY" ] && grep -q "^$DAEMON $1\$" "$W/notify.log"; }
notified_n() { [ -n "$NOTIFY" ] && [ "$(grep -c "^$DAEMON $1\$" "$W/notify.log")" -ge "$2" ]; }
notify_line() { grep -n "^$DAEMON $1\$" "$W/notify.log" | tail -n 1 | cut -d: -f1; } # line number of the last one

# notify_listener: compile and start a stand-in for systemd's notification socket at $W/notify.sock.
# It prints each datagram's sender PID (SCM_CREDENTIALS, as systemd checks for NotifyAccess=main)
# and each of its NAME=VALUE lines, as "PID NAME=VALUE". Sets NOTIFY to its PID.
notify_listener() {
    cat > "$W/notify.c" <<'C'
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
int main(int argc, char **argv) {
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), on = 1;
    if (argc != 2 || fd < 0 || strlen(argv[1]) >= sizeof sa.sun_path) return 1;
    strcpy(sa.sun_path, argv[1]);
    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(argv[1], 0666) < 0) return 1;
    for (;;) {
        char buf[4097], cbuf[CMSG_SPACE(sizeof(struct ucred))];
        struct iovec iov = { buf, sizeof buf - 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
        ssize_t n = recvmsg(fd, &mh, 0);
        if (n < 0) continue;
        buf[n] = 0;
        long pid = -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
                pid = ((struct ucred *)(void *)CMSG_DATA(c))->pid;
        for (char *save, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
            printf("%ld %s\n", pid, l);
        fflush(stdout);
    }
}
C
    cc -std=c99 -O -o "$W/notify" "$W/notify.c" > "$W/notify.cc.log" 2>&1 || { diag < "$W/notify.cc.log"; return 1; }
    : > "$W/notify.log"
    "$W/notify" "$W/notify.sock" >> "$W/notify.log" 2>&1 &
    NOTIFY=$!
    wait_until test -S "$W/notify.sock"
}

# drop PARTNER NAME: an AAM trait file with one line (our ID, traits 24 and one trait per drop, so
# that no two drops have the same content and none is taken for a duplicate), written under a temp
# name in the inbox, then renamed in
ndrops=0
drop() {
    ndrops=$((ndrops + 1))
    printf '%s\td_sid=24,d_sid=%s\n' "$OURID" $((1000 + ndrops)) > "$INBOXES/$1/.$2.part" &&
        mv "$INBOXES/$1/.$2.part" "$INBOXES/$1/$2"
}
# wait_receipt PARTNER NAME WHAT: wait for an ok receipt of NAME, check its partner
wait_receipt() {
    wait_until receipt_ok "$2"
    ok $? "$3: ok receipt for $2 in $RECEIPTS"
    if ! receipt_ok "$2"; then
        echo "#   receipts:"
        jq -c '{file, partner, status, reason}' "$RECEIPTS" 2>&1 | diag
        echo "#   daemon log:"; tail -20 "$W/daemon.log" | diag
    fi
    is "$(receipt "$2" .partner)" "$1" "$3: the receipt names partner $1"
}
# conf PARTNERS...: the shipped conffile with these partners (acme, beta) put in its partners list
conf() {
    awk -v list="$*" -v dir="$INBOXES" '
        $0 == "partners = (" {
            print
            n = split(list, p, " ")
            for (i = 1; i <= n; i++)
                printf "  { name = \"%s\"; inbox = \"%s/%s\"; settle = 1; format = \"aam\"; ids = \"ours\"; }%s\n",
                    p[i], dir, p[i], (i < n ? "," : "")
            next
        }
        { print }' "$W/shipped.conf"
}

# ---------------------------------------------------------------- preconditions
[ "$(id -u)" -eq 0 ] || bail "runs as root (it installs and purges packages)"
if pkg_present; then
    bail "batchdrop is not installed before the test (purge it first: apt-get purge batchdrop batchdrop-dev)"
fi
# the purge at the end deletes these: never run over someone's user or data
for d in /etc/batchdrop /var/lib/batchdrop /var/spool/batchdrop /var/log/batchdrop; do
    [ ! -e "$d" ] || bail "$d does not exist before the test (it would be purged)"
done
if getent passwd batchdrop >/dev/null || getent group batchdrop >/dev/null; then
    bail "no user or group batchdrop before the test (it would be deleted by the purge)"
fi
for t in dpkg-buildpackage lintian jq setpriv apt-get; do
    command -v "$t" >/dev/null 2>&1 || bail "$t is installed (apt-get install dpkg-dev debhelper lintian jq)"
done
[ -f "$SRC/debian/control" ] || bail "$SRC is a source tree with debian/"
W=$(mktemp -d /tmp/bd-pkg.XXXXXX) || bail "a temp folder"
chmod 755 "$W" # apt's _apt user reads the .debs from here

# ---------------------------------------------------------------- a. build and lintian
mkdir "$W/src"
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # the working tree (committed or not), without ignored build products
    (cd "$SRC" && git ls-files -z -c -o --exclude-standard | tar --null --ignore-failed-read -T - -cf - 2>/dev/null) |
        tar -xf - -C "$W/src"
else
    (cd "$SRC" && tar --exclude='./_build*' --exclude='./_sftp' --exclude='./_asan' --exclude=./.git \
        --exclude='./batchdrop-[0-9]*' --exclude=./debian/.debhelper -cf - .) | tar -xf - -C "$W/src"
fi
[ -f "$W/src/debian/rules" ]
ok $? "source tree copied from $SRC"

(cd "$W/src" && dpkg-buildpackage -us -uc -b) > "$W/build.log" 2>&1
st=$?
ok $st "dpkg-buildpackage -us -uc -b"
[ $st -eq 0 ] || { tail -40 "$W/build.log" | diag; bail "the .debs were built"; }
DEB=$(ls "$W"/batchdrop_*.deb 2>/dev/null | head -n 1)
DEVDEB=$(ls "$W"/batchdrop-dev_*.deb 2>/dev/null | head -n 1)
CHANGES=$(ls "$W"/batchdrop_*.changes 2>/dev/null | head -n 1)
[ -n "$DEB" ] && [ -n "$DEVDEB" ] && [ -n "$CHANGES" ]
ok $? "batchdrop and batchdrop-dev .debs and the .changes exist"
if [ -z "$DEB" ] || [ -z "$DEVDEB" ]; then bail "nothing to install"; fi

lintian "$CHANGES" > "$W/lintian.log" 2>&1
lst=$?
grep -v 'running with root privileges is not recommended' "$W/lintian.log" | diag
! grep -Eq '^[EW]: ' "$W/lintian.log"
ok $? "lintian: no errors and no warnings"
[ $lst -eq 0 ] || echo "#   lintian exited with status $lst"

dpkg-deb -c "$DEB" > "$W/contents" 2>&1
! grep -q '\.la$' "$W/contents"
ok $? "no libtool .la files in the package"

# ---------------------------------------------------------------- b. install
INSTALLED=1
apt-get install -y -q "$DEB" "$DEVDEB" > "$W/install.log" 2>&1
st=$?
ok $st "apt-get install ./batchdrop_*.deb ./batchdrop-dev_*.deb"
[ $st -eq 0 ] || { tail -30 "$W/install.log" | diag; bail "the packages were installed"; }
is "$(dpkg-query -W -f='${db:Status-Abbrev}' batchdrop 2>/dev/null | tr -d ' ')" ii "dpkg: batchdrop is installed"
is "$(dpkg-query -W -f='${db:Status-Abbrev}' batchdrop-dev 2>/dev/null | tr -d ' ')" ii "dpkg: batchdrop-dev is installed"

if [ -d /run/systemd/system ]; then
    # systemd is running: the package enabled and started the service; stop it so that the test's
    # own instance is the only agent on /var/lib/batchdrop
    systemctl is-active --quiet batchdrop
    ok $? "systemd: batchdrop.service is active after the install"
    systemctl stop batchdrop
    ok $? "systemd: batchdrop.service stops"
fi

# ---------------------------------------------------------------- c. what the package set up
PW=$(getent passwd batchdrop)
ok $? "user batchdrop exists"
GR=$(getent group batchdrop)
ok $? "group batchdrop exists"
BUID=$(echo "$PW" | cut -d: -f3)
FIRST_SYS=$(sed -n 's/^FIRST_SYSTEM_UID=\([0-9]*\).*/\1/p' /etc/adduser.conf 2>/dev/null)
LAST_SYS=$(sed -n 's/^LAST_SYSTEM_UID=\([0-9]*\).*/\1/p' /etc/adduser.conf 2>/dev/null)
FIRST_SYS=${FIRST_SYS:-100}
LAST_SYS=${LAST_SYS:-999}
[ -n "$BUID" ] && [ "$BUID" -ge "$FIRST_SYS" ] && [ "$BUID" -le "$LAST_SYS" ]
ok $? "batchdrop is a system user (uid $BUID in $FIRST_SYS..$LAST_SYS)"
is "$(echo "$PW" | cut -d: -f7)" /usr/sbin/nologin "batchdrop's shell is /usr/sbin/nologin"
is "$(echo "$PW" | cut -d: -f6)" /var/lib/batchdrop "batchdrop's home is /var/lib/batchdrop"
is "$(echo "$PW" | cut -d: -f4)" "$(echo "$GR" | cut -d: -f3)" "batchdrop's primary group is batchdrop"

for d in /var/lib/batchdrop /var/spool/batchdrop/outbox /var/log/batchdrop; do
    is "$(stat -c '%F %a %U:%G' "$d" 2>&1)" "directory 750 batchdrop:batchdrop" "$d: folder, 0750, batchdrop:batchdrop"
done
is "$(stat -c '%a %U:%G' /var/spool/batchdrop 2>&1)" "755 root:root" "/var/spool/batchdrop stays root:root 0755"

[ -f "$CONF" ]
ok $? "$CONF exists"
dpkg-query -W -f='${Conffiles}\n' batchdrop | grep -q "^ $CONF "
ok $? "$CONF is a conffile of batchdrop"
dpkg-query -W -f='${Conffiles}\n' batchdrop | grep -q '^ /etc/logrotate.d/batchdrop '
ok $? "/etc/logrotate.d/batchdrop is a conffile of batchdrop"
cp "$CONF" "$W/shipped.conf"

MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
PD=/usr/lib/$MA/batchdrop/plugins
batchdrop plugins > "$W/plugins.out" 2>&1
st=$?
ok $st "batchdrop plugins exits 0"
[ $st -eq 0 ] || diag < "$W/plugins.out"
for p in aam aam-idsync delimited jsonl; do
    [ -f "$PD/$p.so" ] && [ "$(stat -c '%U %a' "$PD/$p.so")" = "root 644" ]
    ok $? "plugin $PD/$p.so installed (root, 0644)"
    grep -q "$PD/$p.so" "$W/plugins.out"
    ok $? "batchdrop plugins lists $p from $PD"
done

batchdrop check -c "$CONF" > "$W/check.out" 2>&1
ok $? "batchdrop check -c $CONF (the shipped conffile, as root)"
diag < "$W/check.out"
(cd / && setpriv --reuid=batchdrop --regid=batchdrop --init-groups /usr/bin/batchdrop check) > "$W/check.out" 2>&1
ok $? "batchdrop check as user batchdrop, default configuration path"
diag < "$W/check.out"

for m in batchdrop batchdrop.conf batchdrop-plugin; do
    page=$(man -w "$m" 2>/dev/null)
    [ -n "$page" ] && [ -f "$page" ]
    ok $? "man -w $m finds ${page:-no page}"
done

is "$(pkg-config --variable=plugindir batchdrop-plugin 2>&1)" "$PD" "pkg-config --variable=plugindir batchdrop-plugin"
pkg-config --cflags batchdrop-plugin >/dev/null 2>&1 && [ -f /usr/include/batchdrop/plugin.h ]
ok $? "pkg-config --cflags batchdrop-plugin works and <batchdrop/plugin.h> is installed"

UNIT=/lib/systemd/system/batchdrop.service
[ -f "$UNIT" ] || UNIT=/usr/lib/systemd/system/batchdrop.service
[ -f "$UNIT" ]
ok $? "systemd unit installed ($UNIT)"
if command -v systemd-analyze >/dev/null 2>&1; then
    systemd-analyze security --offline=true "$UNIT" > "$W/security.out" 2>&1
    score=$(sed -n 's/.*Overall exposure level for [^:]*: *\([0-9][0-9.]*\).*/\1/p' "$W/security.out" | head -n 1)
    echo "# systemd-analyze security --offline=true $UNIT: ${score:-no score}"
    [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s + 0 <= 2.9) }'
    ok $? "systemd-analyze security: exposure ${score:-?} <= 2.9"
    [ -n "$score" ] || tail -5 "$W/security.out" | diag
    systemd-analyze verify "$UNIT" > "$W/verify.out" 2>&1
    # verify also complains about other units of the machine; only our unit's lines count
    ! grep -i 'batchdrop' "$W/verify.out"
    ok $? "systemd-analyze verify: no complaint about the batchdrop unit"
else
    skip "systemd-analyze security: exposure <= 2.9" "systemd-analyze not installed (package systemd)"
    skip "systemd-analyze verify" "systemd-analyze not installed (package systemd)"
fi

# ---------------------------------------------------------------- d. run the daemon as the unit would
mkdir -p "$INBOXES/acme" "$INBOXES/beta" &&
    chown batchdrop:batchdrop "$INBOXES" "$INBOXES/acme" "$INBOXES/beta" &&
    chmod 0750 "$INBOXES" "$INBOXES/acme" "$INBOXES/beta"
ok $? "test inboxes $INBOXES/acme and $INBOXES/beta (batchdrop, 0750)"
conf acme > "$CONF"
grep -q "name = \"acme\"; inbox = \"$INBOXES/acme\"" "$CONF"
ok $? "partner acme added to the installed conffile"
batchdrop check -c "$CONF" > "$W/check.out" 2>&1
ok $? "batchdrop check accepts the edited conffile"
diag < "$W/check.out"

notify_listener
ok $? "a stand-in for systemd's notification socket listens at $W/notify.sock"
: > "$W/daemon.log"
# as systemd starts a Type=notify service with a watchdog (WatchdogSec=60s there, 4 s here)
(cd / && umask 0027 && exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    NOTIFY_SOCKET="$W/notify.sock" WATCHDOG_USEC=4000000 \
    setpriv --reuid=batchdrop --regid=batchdrop --init-groups /usr/bin/batchdrop run) >> "$W/daemon.log" 2>&1 &
DAEMON=$!
wait_until log_has " running: "
ok $? "batchdrop run starts (logs 'running')"
alive "$DAEMON"
ok $? "the daemon is alive"
uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$DAEMON/status" 2>/dev/null)
is "$uids" "$BUID $BUID $BUID $BUID" "the daemon runs as user batchdrop (real, effective, saved, fs uid)"
wait_until notified READY=1
ok $? "Type=notify: the daemon sends READY=1 from its main PID"
wait_until notified 'STATUS=.*'
ok $? "Type=notify: the daemon sends STATUS="
wait_until notified_n WATCHDOG=1 2
ok $? "WatchdogSec: the daemon sends WATCHDOG=1 every WATCHDOG_USEC/2 (twice within ${WAIT_RECEIPT} s at 4 s)"

A1=ftp_dpm_478_1700000100.sync
drop acme "$A1"
wait_receipt acme "$A1" "acme drop"
is "$(receipt "$A1" .stored)" 1 "acme drop: one record stored"
OUT=$(receipt "$A1" '.outbox[0]')
case "$OUT" in /var/spool/batchdrop/outbox/acme/ftp_acme_478_*.sync) ok 0 "acme drop: outbox file $OUT" ;; *) ok 1 "acme drop: outbox file in /var/spool/batchdrop/outbox/acme ('$OUT')" ;; esac
is "$(cat "$OUT" 2>&1)" "$OURID 24,1001 " "acme drop: the outbox line (our ID, added traits)"
is "$(stat -c '%a %U:%G' "$OUT" 2>&1)" "640 batchdrop:batchdrop" "acme drop: outbox file batchdrop:batchdrop 0640 (UMask=0027)"
is "$(stat -c '%a %U:%G' "$RECEIPTS" 2>&1)" "640 batchdrop:batchdrop" "receipts log batchdrop:batchdrop 0640"
is "$(find "$INBOXES/acme" -maxdepth 1 -type f | wc -l)" 0 "acme drop: the inbox is empty again"

# ---------------------------------------------------------------- e. reload: refused, then accepted
cp "$CONF" "$W/good.conf"
{ cat "$W/good.conf"; echo 'broken = ;'; } > "$CONF"
batchdrop check -c "$CONF" > "$W/check.out" 2>&1
st=$?
[ $st -ne 0 ] && grep -q 'syntax error' "$W/check.out"
ok $? "the broken conffile is refused by batchdrop check (syntax error)"
diag < "$W/check.out"
kill -HUP "$DAEMON"
wait_until log_has "reload refused"
ok $? "SIGHUP with a broken conffile: the daemon logs 'reload refused'"
grep -F "reload refused" "$W/daemon.log" | head -3 | diag
sleep 0.5
alive "$DAEMON"
ok $? "the daemon is still running after the refused reload"
reloading_answered() { r=$(notify_line RELOADING=1); [ -z "$r" ] || [ "$(notify_line READY=1)" -gt "$r" ]; }
wait_until reloading_answered
ok $? "Type=notify: after the refused reload the daemon is not left RELOADING (READY=1 follows RELOADING=1)"
A2=ftp_dpm_478_1700000200.sync
drop acme "$A2"
wait_receipt acme "$A2" "acme drop after the refused reload"

conf acme beta > "$CONF"
batchdrop check -c "$CONF" > "$W/check.out" 2>&1
ok $? "batchdrop check accepts the conffile with partner beta added"
diag < "$W/check.out"
kill -HUP "$DAEMON"
wait_until log_has "configuration reloaded"
ok $? "SIGHUP with a good conffile: the daemon logs 'configuration reloaded'"
grep -F "configuration reloaded" "$W/daemon.log" | head -3 | diag
alive "$DAEMON"
ok $? "the daemon is still running after the reload"
ready_after_reloading() { r=$(notify_line RELOADING=1); [ -n "$r" ] && [ "$(notify_line READY=1)" -gt "$r" ]; }
wait_until ready_after_reloading
ok $? "Type=notify: the reload is announced with RELOADING=1 and ends with READY=1"
B1=ftp_dpm_479_1700000300.sync
drop beta "$B1"
wait_receipt beta "$B1" "beta drop after the reload"
A3=ftp_dpm_478_1700000400.sync
drop acme "$A3"
wait_receipt acme "$A3" "acme drop after the reload"

kill -TERM "$DAEMON"
(sleep 15; kill -KILL "$DAEMON" 2>/dev/null) &
GUARD=$!
wait "$DAEMON"
st=$?
kill "$GUARD" 2>/dev/null
wait "$GUARD" 2>/dev/null
is "$st" 0 "SIGTERM: the daemon exits with status 0 within 15 s"
alive "$DAEMON" && kill -KILL "$DAEMON" 2>/dev/null
if [ -n "$NOTIFY" ]; then
    others=$(grep -v "^$DAEMON " "$W/notify.log")
    grep -q "^$DAEMON " "$W/notify.log" && [ -z "$others" ]
    ok $? "NotifyAccess=main: notifications came from the main PID $DAEMON only"
    [ -z "$others" ] || echo "$others" | head -5 | diag
    kill "$NOTIFY" 2>/dev/null
    wait "$NOTIFY" 2>/dev/null
    NOTIFY=""
else
    ok 1 "NotifyAccess=main: every notification came from the main PID (no listener)"
fi
DAEMON=""
if grep -Eq ' (error|warning): ' "$W/daemon.log"; then
    echo "# warnings and errors the daemon logged:"
    grep -E ' (error|warning): ' "$W/daemon.log" | head -20 | diag
fi

# ---------------------------------------------------------------- f. purge
apt-get purge -y -q batchdrop batchdrop-dev > "$W/purge.log" 2>&1
st=$?
ok $st "apt-get purge batchdrop batchdrop-dev"
[ $st -eq 0 ] || tail -20 "$W/purge.log" | diag
for f in /etc/batchdrop /var/lib/batchdrop /var/spool/batchdrop /var/log/batchdrop /usr/bin/batchdrop \
    /etc/logrotate.d/batchdrop /usr/include/batchdrop /lib/systemd/system/batchdrop.service \
    /usr/lib/systemd/system/batchdrop.service /etc/systemd/system/multi-user.target.wants/batchdrop.service \
    /usr/share/doc/batchdrop /usr/share/doc/batchdrop-dev; do
    [ ! -e "$f" ] && [ ! -L "$f" ]
    ok $? "purged: no $f"
done
left=$(ls -d /usr/lib/*/batchdrop /usr/lib/batchdrop /usr/lib/*/pkgconfig/batchdrop-plugin.pc 2>/dev/null)
is "$left" "" "purged: no /usr/lib/*/batchdrop, no batchdrop-plugin.pc"
! getent passwd batchdrop >/dev/null
ok $? "purged: no user batchdrop"
! getent group batchdrop >/dev/null
ok $? "purged: no group batchdrop"
for p in batchdrop batchdrop-dev; do
    s=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | tr -d ' ')
    case "$s" in "" | un | pn) ok 0 "dpkg -l $p: not installed" ;; *) ok 1 "dpkg -l $p: not installed (status '$s')" ;; esac
done
! dpkg -l batchdrop 2>/dev/null | grep -Eq '^(ii|rc|i[UFHWt]|h)'
ok $? "dpkg -l batchdrop shows no installed or config-files state"
INSTALLED=0
finish
