# t_sftp_layer.sh: the SFTP client layer (agent/sftp_*.c) against a real OpenSSH sshd on loopback, via tests/unit/test_sftp.
. "${BD_SRCDIR}/tests/e2e/lib.sh"
. "${BD_SRCDIR}/tests/e2e/sshd.sh"
trap 'sshd_stop; cleanup' EXIT
TEST_SFTP="$BD_BUILDDIR/tests/unit/test_sftp"
FIX="$T/fix"
mkdir -p "$FIX"

# run_c PHASE: run the C test (under $SFTP_WRAP, e.g. valgrind, when set) and fold its TAP lines into ours
run_c() {
    SFTP_PHASE=$1 SFTP_FIX=$FIX ${SFTP_WRAP:-} "$TEST_SFTP" > "$T/c_$1.out" 2> "$T/c_$1.err"
    fold_tap "$1" test_sftp $? "$T/c_$1.out" "$T/c_$1.err"
}

# ---------------------------------------------------------------- phase 1: stock server, ed25519 + ecdsa host keys
# also on ::1 when this machine has IPv6 loopback
if ip -6 addr show lo 2>/dev/null | grep -q 'inet6 ::1/'; then
    SFTP_V6=1
    SSHD_EXTRA_CONFIG='ListenAddress ::1'
fi
export SFTP_V6
sshd_start; ok $? "sshd started on 127.0.0.1:${SSHD_PORT:-?}"
[ -n "${SSHD_PID:-}" ] || { done_testing; exit 1; }

# known_hosts variants
D=$SSHD_DIR
ssh-keygen -lf "$D/host_ed25519.pub" | awk '{print $2}' > "$FIX/fp_ed25519"
ssh-keygen -lf "$D/host_ecdsa.pub" | awk '{print $2}' > "$FIX/fp_ecdsa"
grep ' ssh-ed25519 ' "$SSHD_KNOWN_HOSTS" > "$FIX/kh_ed25519"
grep ' ecdsa-sha2-nistp256 ' "$SSHD_KNOWN_HOSTS" > "$FIX/kh_ecdsa"
is "$(wc -l < "$SSHD_KNOWN_HOSTS" | tr -d ' ')" 2 "ssh-keyscan wrote one line per host key type"
cp "$SSHD_KNOWN_HOSTS" "$FIX/kh_hashed"
cp "$FIX/kh_ecdsa" "$FIX/kh_hashed_ecdsa"
ssh-keygen -q -H -f "$FIX/kh_hashed" >/dev/null 2>&1 && ssh-keygen -q -H -f "$FIX/kh_hashed_ecdsa" >/dev/null 2>&1
rm -f "$FIX/kh_hashed.old" "$FIX/kh_hashed_ecdsa.old"
like "$(cat "$FIX/kh_hashed")" "|1|" "hashed known_hosts written"
: > "$FIX/kh_empty"
ssh-keygen -q -t ed25519 -N '' -f "$FIX/other_host"
echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$FIX/other_host.pub")" > "$FIX/kh_changed"
sed "s/^\[127\.0\.0\.1\]:$SSHD_PORT /127.0.0.1 /" "$SSHD_KNOWN_HOSTS" > "$FIX/kh_plainhost"
{ echo "@revoked * $(cut -d' ' -f1,2 "$D/host_ed25519.pub")"; cat "$SSHD_KNOWN_HOSTS"; } > "$FIX/kh_revoked"
sed "s/^\[127\.0\.0\.1\]/[localhost]/" "$SSHD_KNOWN_HOSTS" > "$FIX/kh_localhost"
sed "s/^\[127\.0\.0\.1\]/[::1]/" "$SSHD_KNOWN_HOSTS" > "$FIX/kh_v6"

# client keys: unknown, RSA in other formats (their .pub removed so only the private file tells), passphrase
ssh-keygen -q -t ed25519 -N '' -f "$FIX/id_wrong"
ssh-keygen -q -t rsa -b 2048 -m PEM -N '' -f "$FIX/id_rsa_pem"
ssh-keygen -q -t rsa -b 2048 -m PKCS8 -N '' -f "$FIX/id_rsa_pkcs8"
ssh-keygen -q -t rsa -b 2048 -N 'enc-pass-1' -f "$FIX/id_rsa_enc"
printf 'correct horse 42\n' > "$FIX/pass_ok"
printf 'wrong-passphrase-XYZ\n' > "$FIX/pass_bad"
printf 'not-the-password-Q7\n' > "$FIX/password_bad"
ssh-keygen -q -t ed25519 -N 'correct horse 42' -f "$FIX/id_pass"
cat "$FIX/id_rsa_pem.pub" "$FIX/id_pass.pub" >> "$D/keys/authorized_keys"
rm -f "$FIX/id_rsa_pem.pub" "$FIX/id_rsa_pkcs8.pub" "$FIX/id_rsa_enc.pub"
like "$(head -n 1 "$FIX/id_rsa_pkcs8")" "BEGIN PRIVATE KEY" "PKCS#8 RSA key written"

# the remote tree (local paths: the server runs here)
H=$SSHD_HOME
mkdir -p "$H/list/sub" "$H/ren" "$H/up" "$H/ro"
printf 12345 > "$H/list/a.txt"
printf abc > "$H/list/.hidden"
TZ=UTC touch -d '2020-01-02 03:04:05' "$H/list/a.txt"
printf 1 > "$H/ren/a"
printf 22 > "$H/ren/b"
printf 333 > "$H/ren/c"
head -c 20971520 /dev/urandom > "$H/big.bin"
sha256sum "$H/big.bin" | cut -d' ' -f1 > "$FIX/big.sha"
chown -R "$SSHD_USER:" "$H"
chown root: "$H/ro"
chmod 755 "$H/ro"
echo x > "$H/ro/f"

run_c main
unset SSHD_EXTRA_CONFIG

# ---------------------------------------------------------------- phase 2: the same server with password auth
SSHD_PASSWORD=1 sshd_restart; ok $? "sshd restarted with PasswordAuthentication yes on the same port"
[ -s "$SSHD_DIR/password" ]; ok $? "random password written"
run_c password

# ---------------------------------------------------------------- phase 3: a server with only an RSA host key
sshd_stop
SSHD_DIR=$T/sshd-rsa
SSHD_HOSTKEY_TYPES=rsa
sshd_start; ok $? "RSA-host sshd started on port ${SSHD_PORT:-?}"
run_c rsa-stock
echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$FIX/other_host.pub")" > "$FIX/kh_rsa_other_type"
SSHD_EXTRA_CONFIG='HostKeyAlgorithms +ssh-rsa
PubkeyAcceptedAlgorithms +ssh-rsa'
sshd_restart; ok $? "RSA-host sshd restarted accepting ssh-rsa (SHA-1)"
run_c rsa-legacy
sshd_stop
done_testing
