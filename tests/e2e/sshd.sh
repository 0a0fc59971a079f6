# sshd.sh: a throw-away OpenSSH SFTP server on 127.0.0.1 for e2e tests (sourced after lib.sh; needs root).
# sshd_start: starts /usr/sbin/sshd -D -e on a free high port with its own host keys, user bdsftp and client keys,
#   and exports SSHD_PORT SSHD_PID SSHD_USER SSHD_HOME SSHD_KEY SSHD_KNOWN_HOSTS SSHD_DIR.
#   Knobs (set before calling): SSHD_PASSWORD=1 (password auth; the password goes to $SSHD_DIR/password),
#   SSHD_HOSTKEY_TYPES (default "ed25519 ecdsa"), SSHD_EXTRA_CONFIG (lines appended to sshd_config),
#   SSHD_DIR (default $T/sshd).
# sshd_stop: stops it and its session processes. sshd_restart: the same on the same port and keys (re-reads
#   the knobs, e.g. SSHD_PASSWORD=1 sshd_restart). sshd_sessions: PIDs of all session processes (for SIGSTOP).
# Client keys: $SSHD_DIR/id_ed25519, id_ecdsa, id_rsa (all in authorized_keys; RSA only works against a server
# that accepts ssh-rsa signatures). sshd's log: $SSHD_DIR/sshd.log.
SSHD_USER=bdsftp
SSHD_LOCK=/run/bd-e2e-sshd-user.lock

# The account is shared by every test on this machine: create or unlock it under a lock, never move its home
# (each sshd sets its own start folder with ForceCommand internal-sftp -d).
_sshd_account() {
    (
        flock 9 || exit 1
        if ! id -u "$SSHD_USER" >/dev/null 2>&1; then
            useradd -M -d / -s /usr/sbin/nologin "$SSHD_USER" || exit 1
        fi
        # useradd writes '!' (locked: "account is locked" with UsePAM no); '*' is unlocked but has no password
        case "$(getent shadow "$SSHD_USER" | cut -d: -f2)" in '!'*) usermod -p '*' "$SSHD_USER" || exit 1 ;; esac
        if [ -n "${SSHD_PASSWORD:-}" ]; then
            pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
            echo "$SSHD_USER:$pw" | chpasswd || exit 1
            umask 077
            printf '%s\n' "$pw" > "$SSHD_DIR/password"
        fi
    ) 9>"$SSHD_LOCK"
}

_sshd_keys() {
    local t
    for t in ${SSHD_HOSTKEY_TYPES:-ed25519 ecdsa}; do
        [ -f "$SSHD_DIR/host_$t" ] || ssh-keygen -q -t "$t" -N '' -C "bd-e2e-host" -f "$SSHD_DIR/host_$t" || return 1
    done
    for t in ed25519 ecdsa rsa; do
        [ -f "$SSHD_DIR/id_$t" ] || ssh-keygen -q -t "$t" -N '' -C "bd-e2e-$t" -f "$SSHD_DIR/id_$t" || return 1
    done
    mkdir -p "$SSHD_DIR/keys"
    [ -f "$SSHD_DIR/keys/authorized_keys" ] ||
        cat "$SSHD_DIR/id_ed25519.pub" "$SSHD_DIR/id_ecdsa.pub" "$SSHD_DIR/id_rsa.pub" > "$SSHD_DIR/keys/authorized_keys"
    chmod 755 "$SSHD_DIR/keys"
    chmod 644 "$SSHD_DIR/keys/authorized_keys"
}

_sshd_config() { # _sshd_config PORT
    local t
    {
        echo "Port $1"
        echo "ListenAddress 127.0.0.1"
        for t in ${SSHD_HOSTKEY_TYPES:-ed25519 ecdsa}; do echo "HostKey $SSHD_DIR/host_$t"; done
        echo "PidFile $SSHD_DIR/sshd.pid"
        echo "AuthorizedKeysFile $SSHD_DIR/keys/authorized_keys"
        echo "StrictModes no" # $T is under /tmp (mode 1777)
        echo "UsePAM no"
        echo "PasswordAuthentication $([ -n "${SSHD_PASSWORD:-}" ] && echo yes || echo no)"
        echo "KbdInteractiveAuthentication no"
        echo "PermitRootLogin no"
        echo "AllowUsers $SSHD_USER"
        echo "UseDNS no"
        echo "LogLevel VERBOSE"
        echo "Subsystem sftp internal-sftp"
        echo "ForceCommand internal-sftp -d $SSHD_HOME"
        [ -z "${SSHD_EXTRA_CONFIG:-}" ] || printf '%s\n' "$SSHD_EXTRA_CONFIG"
    } > "$SSHD_DIR/sshd_config"
}

# _sshd_try PORT: start sshd there; 0 when it answers, 1 if the port is taken, 2 on any other failure
_sshd_try() {
    local off i
    _sshd_config "$1"
    /usr/sbin/sshd -t -f "$SSHD_DIR/sshd_config" 2>>"$SSHD_DIR/sshd.log" || return 2
    off=$(wc -c < "$SSHD_DIR/sshd.log")
    /usr/sbin/sshd -D -e -f "$SSHD_DIR/sshd_config" 2>>"$SSHD_DIR/sshd.log" &
    SSHD_PID=$!
    i=0
    while :; do
        if ! kill -0 "$SSHD_PID" 2>/dev/null; then
            wait "$SSHD_PID" 2>/dev/null
            tail -c +$((off + 1)) "$SSHD_DIR/sshd.log" | grep -q 'Address already in use\|Cannot bind' && return 1
            return 2
        fi
        # every type must answer (a loaded machine can drop one with a short timeout)
        if ssh-keyscan -T 5 -t "$(_sshd_scan_types)" -p "$1" 127.0.0.1 > "$SSHD_DIR/known_hosts.new" 2>/dev/null &&
            [ "$(grep -c . "$SSHD_DIR/known_hosts.new")" -eq "$(echo ${SSHD_HOSTKEY_TYPES:-ed25519 ecdsa} | wc -w)" ]; then
            return 0
        fi
        i=$((i + 1))
        [ $i -lt 100 ] || { kill "$SSHD_PID"; wait "$SSHD_PID" 2>/dev/null; return 2; }
        sleep 0.05
    done
}

_sshd_scan_types() {
    local out="" t
    for t in ${SSHD_HOSTKEY_TYPES:-ed25519 ecdsa}; do out="$out${out:+,}$t"; done
    echo "$out"
}

# every key ssh-keyscan saw must be one of ours (proves the answer came from our sshd)
_sshd_check_scan() {
    local _h kt kb found t
    while read -r _h kt kb; do
        found=0
        for t in ${SSHD_HOSTKEY_TYPES:-ed25519 ecdsa}; do
            [ "$(cut -d' ' -f1,2 "$SSHD_DIR/host_$t.pub")" = "$kt $kb" ] && found=1
        done
        [ $found -eq 1 ] || return 1
    done < "$SSHD_DIR/known_hosts.new"
}

_sshd_launch() { # _sshd_launch FIRST_PORT TRIES
    local port=$1 n=0
    while [ $n -lt "$2" ]; do
        _sshd_try "$port"
        case $? in
        0) break ;;
        1) n=$((n + 1)); port=$((port + 1)) ;;
        *) echo "# sshd failed to start; its log:"; sed 's/^/#   /' "$SSHD_DIR/sshd.log"; return 1 ;;
        esac
    done
    [ $n -lt "$2" ] || { echo "# no free port for sshd"; return 1; }
    _sshd_check_scan || { echo "# ssh-keyscan on port $port did not show our host keys"; sshd_stop; return 1; }
    sort "$SSHD_DIR/known_hosts.new" > "$SSHD_DIR/known_hosts"
    rm -f "$SSHD_DIR/known_hosts.new"
    SSHD_PORT=$port
    BG_PIDS="$BG_PIDS $SSHD_PID"
    export SSHD_PORT SSHD_PID SSHD_USER SSHD_HOME SSHD_KEY SSHD_KNOWN_HOSTS SSHD_DIR
}

sshd_start() {
    SSHD_DIR=${SSHD_DIR:-$T/sshd}
    SSHD_HOME=$SSHD_DIR/home
    SSHD_KEY=$SSHD_DIR/id_ed25519
    SSHD_KNOWN_HOSTS=$SSHD_DIR/known_hosts
    mkdir -p "$SSHD_HOME" || return 1
    chmod 755 "$SSHD_DIR"
    install -d -m 0755 -o root -g root /run/sshd || return 1 # privilege separation folder
    _sshd_keys || return 1
    _sshd_account || { echo "# cannot set up user $SSHD_USER"; return 1; }
    chown "$SSHD_USER:" "$SSHD_HOME"
    _sshd_launch $((20000 + ($$ * 37) % 40000)) 20
}

# _sshd_descendants PID: its children, grandchildren, ...
_sshd_descendants() {
    local c
    for c in $(pgrep -P "$1"); do
        echo "$c"
        _sshd_descendants "$c"
    done
}

# sshd_sessions: PIDs of every per-connection process ([priv] monitor, @notty child, internal-sftp). To stall a
# session stop them all (kill -STOP $(sshd_sessions)): the network I/O runs in the grandchildren, so stopping
# only `pgrep -P $SSHD_PID` (the monitors) stalls nothing.
sshd_sessions() {
    [ -z "${SSHD_PID:-}" ] || _sshd_descendants "$SSHD_PID"
}

sshd_stop() {
    local kids k
    [ -n "${SSHD_PID:-}" ] || return 0
    kids=$(_sshd_descendants "$SSHD_PID")
    kill "$SSHD_PID" 2>/dev/null
    for k in $kids; do kill -CONT "$k" 2>/dev/null; kill "$k" 2>/dev/null; done
    wait "$SSHD_PID" 2>/dev/null
    BG_PIDS=$(echo " $BG_PIDS " | sed "s/ $SSHD_PID / /")
    SSHD_PID=""
}

sshd_restart() {
    local port=${SSHD_PORT:?sshd_restart needs a started sshd} i=0
    sshd_stop
    _sshd_account || return 1
    # the old listener may take a moment to release the port
    until _sshd_launch "$port" 1 >/dev/null; do
        i=$((i + 1))
        [ $i -lt 20 ] || { echo "# sshd could not get port $port back"; return 1; }
        sleep 0.1
    done
}

# sshd_remote SETTINGS: a partner's `remote = { ... };` group for this sshd, SETTINGS appended inside it
sshd_remote() {
    printf 'remote = { host = "127.0.0.1"; port = %s; user = "%s"; key = "%s"; known_hosts = "%s"; %s };' \
        "$SSHD_PORT" "$SSHD_USER" "$SSHD_KEY" "$SSHD_KNOWN_HOSTS" "$1"
}
