/* test_sftp.c: the SFTP layer against a real OpenSSH sshd started by tests/e2e/t_sftp_layer.sh (TAP). */
#include "config.h"
#include "sftp.h"
#include "strutil.h"
#include "tap.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#define MIB (1024 * 1024)

static char errbuf[2048];
static const char *g_fix, *g_home, *g_dir;

static const char *env(const char *k)
{
    const char *v = getenv(k);
    return v ? v : "";
}

/* "<dir>/<name>" in one of a few rotating static buffers */
static const char *in(const char *dir, const char *name)
{
    static char bufs[8][1024];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

static char *slurp_line(const char *path)
{
    static char b[512];
    FILE *f = fopen(path, "r");
    b[0] = '\0';
    if (f) {
        if (!fgets(b, sizeof b, f))
            b[0] = '\0';
        fclose(f);
    }
    b[strcspn(b, "\r\n")] = '\0';
    return b;
}

static bd_sftp_endpoint endpoint(void)
{
    bd_sftp_endpoint ep = {.host = "127.0.0.1", .port = atoi(env("SSHD_PORT")), .user = env("SSHD_USER"),
                           .key = env("SSHD_KEY"), .known_hosts = env("SSHD_KNOWN_HOSTS"), .timeout = 10};
    return ep;
}

static bd_sftp *conn(const bd_sftp_endpoint *ep, bd_sftp_class *c)
{
    errbuf[0] = '\0';
    bd_sftp *s = bd_sftp_connect(ep, c, errbuf, sizeof errbuf);
    if (!s)
        printf("# connect: %s: %s\n", bd_sftp_class_name(*c), errbuf);
    return s;
}

/* connect, expect class want, return the session (closed when want is not OK) */
static bd_sftp *expect_connect(const bd_sftp_endpoint *ep, bd_sftp_class want, const char *what)
{
    bd_sftp_class c = BD_SFTP_FAILURE;
    bd_sftp *s = conn(ep, &c);
    TAP_EQ_STR(bd_sftp_class_name(c), bd_sftp_class_name(want), "%s: %s", what, bd_sftp_class_name(want));
    if (s && want != BD_SFTP_OK) {
        bd_sftp_close(s);
        s = NULL;
    }
    return s;
}

static void like(const char *got, const char *want, const char *what)
{
    int ok = strstr(got, want) != NULL;
    TAP_OK(ok, "%s: message has \"%s\"", what, want);
    if (!ok)
        printf("#   message: %s\n", got);
}

static void unlike(const char *got, const char *bad, const char *what)
{
    TAP_OK(!*bad || strstr(got, bad) == NULL, "%s: message does not reveal the secret", what);
}

static int file_sha256(const char *path, char hex[65])
{
    unsigned char buf[65536], d[32];
    unsigned int dl = 0;
    int fd = open(path, O_RDONLY);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (fd < 0 || !md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        if (fd >= 0)
            close(fd);
        EVP_MD_CTX_free(md);
        return -1;
    }
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        EVP_DigestUpdate(md, buf, (size_t)n);
    close(fd);
    EVP_DigestFinal_ex(md, d, &dl);
    EVP_MD_CTX_free(md);
    bd_hex(hex, d, 32);
    return n < 0 ? -1 : 0;
}

static int same_file(const char *a, const char *b)
{
    char ha[65], hb[65];
    return file_sha256(a, ha) == 0 && file_sha256(b, hb) == 0 && strcmp(ha, hb) == 0;
}

static int write_random(const char *path, size_t size)
{
    int r = open("/dev/urandom", O_RDONLY), w = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    char buf[65536];
    int rc = (r < 0 || w < 0) ? -1 : 0;
    while (rc == 0 && size > 0) {
        size_t want = size < sizeof buf ? size : sizeof buf;
        ssize_t n = read(r, buf, want);
        rc = (n <= 0 || write(w, buf, (size_t)n) != n) ? -1 : 0;
        size -= n > 0 ? (size_t)n : 0;
    }
    if (r >= 0)
        close(r);
    if (w >= 0)
        close(w);
    return rc;
}

/* entries of a remote dir whose name looks like an upload temp */
static int temps_in(bd_sftp *s, const char *dir)
{
    bd_sftp_entry *e = NULL;
    size_t n = 0;
    int temps = 0;
    if (bd_sftp_list(s, dir, &e, &n, errbuf, sizeof errbuf) != BD_SFTP_OK)
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(e[i].name);
        temps += e[i].name[0] == '.' && l > 5 && strcmp(e[i].name + l - 5, ".part") == 0;
    }
    bd_sftp_entries_free(e, n);
    return temps;
}

/* ---------------------------------------------------------------- process helpers for the stall test */

static pid_t parent_of(pid_t pid)
{
    char p[64], buf[512];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(p, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    int ppid = -1;
    char st;
    if (!rp || sscanf(rp + 1, " %c %d", &st, &ppid) != 2)
        return -1;
    return (pid_t)ppid;
}

/* children, grandchildren... of root into out[] */
static int descendants(pid_t root, pid_t *out, int max)
{
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d)) && n < max) {
        pid_t pid = (pid_t)atoi(de->d_name);
        if (pid > 0 && parent_of(pid) == root)
            out[n++] = pid;
    }
    if (d)
        closedir(d);
    int direct = n;
    for (int i = 0; i < direct && n < max; i++)
        n += descendants(out[i], out + n, max - n);
    return n;
}

static int signal_sessions(int sig)
{
    pid_t kids[64];
    int n = descendants((pid_t)atoi(env("SSHD_PID")), kids, 64);
    for (int i = 0; i < n; i++)
        kill(kids[i], sig);
    return n;
}

/* a TCP port on 127.0.0.1: listening (and never answering) when listen_it, else closed again */
static int local_port(int listen_it, int *fd_out)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || (listen_it && listen(fd, 4) < 0) ||
        getsockname(fd, (struct sockaddr *)&a, &al) < 0)
        return -1;
    if (listen_it)
        *fd_out = fd;
    else
        close(fd);
    return ntohs(a.sin_port);
}

/* ---------------------------------------------------------------- host keys */

static void test_host_keys(void)
{
    bd_sftp_endpoint ep = endpoint();
    const char *fp_ed = slurp_line(in(g_fix, "fp_ed25519"));
    char fp_ed25519[128], fp_ecdsa[128], name[64];
    bd_strlcpy(fp_ed25519, fp_ed, sizeof fp_ed25519);
    bd_strlcpy(fp_ecdsa, slurp_line(in(g_fix, "fp_ecdsa")), sizeof fp_ecdsa);
    snprintf(name, sizeof name, "[127.0.0.1]:%d", ep.port);

    double t0 = bd_monotonic();
    bd_sftp *s = expect_connect(&ep, BD_SFTP_OK, "ed25519 user key, keyscan known_hosts");
    printf("# first connect + auth + sftp init: %.1f ms\n", (bd_monotonic() - t0) * 1000);
    bd_sftp_close(s);
    t0 = bd_monotonic();
    for (int i = 0; i < 5; i++) {
        bd_sftp_class c;
        bd_sftp_close(conn(&ep, &c));
    }
    printf("# connect + auth + sftp init + close, mean of 5: %.1f ms\n", (bd_monotonic() - t0) * 1000 / 5);
    s = expect_connect(&ep, BD_SFTP_OK, "ed25519 user key, again");
    TAP_EQ_STR(bd_sftp_host_key_type(s), "ssh-ed25519", "ed25519 host key preferred when known_hosts has both");
    TAP_EQ_STR(bd_sftp_host_fingerprint(s), fp_ed25519, "fingerprint printed the way OpenSSH does");
    TAP_OK(bd_sftp_alive(s), "session alive");
    bd_sftp_close(s);

    ep.key = in(g_dir, "id_ecdsa");
    bd_sftp_close(expect_connect(&ep, BD_SFTP_OK, "ecdsa user key"));
    ep.key = env("SSHD_KEY");

    ep.known_hosts = in(g_fix, "kh_ed25519");
    s = expect_connect(&ep, BD_SFTP_OK, "known_hosts with only the ed25519 line");
    TAP_EQ_STR(bd_sftp_host_key_type(s), "ssh-ed25519", "negotiated ssh-ed25519 (host key preference)");
    bd_sftp_close(s);

    ep.known_hosts = in(g_fix, "kh_ecdsa");
    s = expect_connect(&ep, BD_SFTP_OK, "known_hosts with only the ecdsa line");
    TAP_EQ_STR(bd_sftp_host_key_type(s), "ecdsa-sha2-nistp256", "negotiated ecdsa-sha2-nistp256");
    TAP_EQ_STR(bd_sftp_host_fingerprint(s), fp_ecdsa, "ecdsa fingerprint");
    bd_sftp_close(s);

    ep.known_hosts = in(g_fix, "kh_hashed");
    bd_sftp_close(expect_connect(&ep, BD_SFTP_OK, "hashed known_hosts (ssh-keygen -H)"));
    ep.known_hosts = in(g_fix, "kh_hashed_ecdsa");
    s = expect_connect(&ep, BD_SFTP_OK, "hashed known_hosts holding only the ecdsa line");
    TAP_EQ_STR(bd_sftp_host_key_type(s), "ecdsa-sha2-nistp256", "key type found through the hashed entry");
    bd_sftp_close(s);

    ep.known_hosts = in(g_fix, "kh_localhost");
    ep.host = "LocalHost";
    bd_sftp_close(expect_connect(&ep, BD_SFTP_OK, "host name matched case-insensitively ([localhost]:port entries)"));
    ep.host = "::1";
    ep.known_hosts = in(g_fix, "kh_v6");
    if (*env("SFTP_V6")) {
        bd_sftp_close(expect_connect(&ep, BD_SFTP_OK, "IPv6 literal ::1 with [::1]:port entries"));
        ep.known_hosts = in(g_fix, "kh_empty");
        expect_connect(&ep, BD_SFTP_HOSTKEY, "IPv6: unknown host");
        snprintf(name, sizeof name, "[::1]:%d", ep.port);
        like(errbuf, name, "IPv6 host named as [::1]:port");
        snprintf(name, sizeof name, "[127.0.0.1]:%d", ep.port);
    } else {
        for (int i = 0; i < 3; i++)
            TAP_OK(1, "# SKIP no IPv6 loopback here");
    }
    ep.host = "127.0.0.1";

    ep.known_hosts = in(g_fix, "kh_empty");
    expect_connect(&ep, BD_SFTP_HOSTKEY, "empty known_hosts (unknown host)");
    like(errbuf, name, "unknown host");
    like(errbuf, "is not in", "unknown host");
    like(errbuf, fp_ed25519, "unknown host (shows the offered fingerprint)");
    like(errbuf, "add it after checking the fingerprint", "unknown host");

    ep.known_hosts = in(g_fix, "kh_changed");
    expect_connect(&ep, BD_SFTP_HOSTKEY, "known_hosts with another key (changed host key)");
    like(errbuf, "HOST KEY CHANGED", "changed host key");
    like(errbuf, fp_ed25519, "changed host key (shows the offered fingerprint)");
    like(errbuf, "refusing to connect", "changed host key");

    ep.known_hosts = in(g_fix, "kh_plainhost");
    expect_connect(&ep, BD_SFTP_HOSTKEY, "a plain '127.0.0.1' entry does not vouch for a non-22 port");

    ep.known_hosts = in(g_fix, "kh_revoked");
    expect_connect(&ep, BD_SFTP_HOSTKEY, "host key marked @revoked");
    like(errbuf, "@revoked", "revoked host key");

    ep.known_hosts = in(g_fix, "kh_missing");
    expect_connect(&ep, BD_SFTP_HOSTKEY, "missing known_hosts file");
    like(errbuf, "cannot read known_hosts", "missing known_hosts");

    ep.known_hosts = NULL;
    expect_connect(&ep, BD_SFTP_FAILURE, "no known_hosts configured");
    like(errbuf, "required", "no known_hosts");
}

/* ---------------------------------------------------------------- user auth */

static void test_auth(void)
{
    bd_sftp_endpoint ep = endpoint();
    char pass_bad[256];
    bd_strlcpy(pass_bad, slurp_line(in(g_fix, "pass_bad")), sizeof pass_bad);

    ep.key = in(g_fix, "id_wrong");
    expect_connect(&ep, BD_SFTP_AUTH, "ed25519 key not in authorized_keys");
    like(errbuf, "refused public key", "wrong key");
    like(errbuf, "authentication as bdsftp failed", "wrong key");

    ep.key = in(g_dir, "id_rsa");
    double t0 = bd_monotonic();
    expect_connect(&ep, BD_SFTP_AUTH, "RSA user key (OpenSSH format) against stock OpenSSH 9.2");
    printf("# RSA refusal took %.1f ms\n", (bd_monotonic() - t0) * 1000);
    like(errbuf, "RSA keys need a server that accepts ssh-rsa (SHA-1); use an ed25519 key", "RSA key");
    ep.key = in(g_fix, "id_rsa_pem");
    expect_connect(&ep, BD_SFTP_AUTH, "RSA user key (PEM) against stock OpenSSH 9.2");
    like(errbuf, "use an ed25519 key", "RSA PEM key");

    TAP_EQ_INT(bd_sftp_key_is_rsa(in(g_dir, "id_ed25519")), 0, "key_is_rsa: ed25519 -> 0");
    TAP_EQ_INT(bd_sftp_key_is_rsa(in(g_dir, "id_ecdsa")), 0, "key_is_rsa: ecdsa -> 0");
    TAP_EQ_INT(bd_sftp_key_is_rsa(in(g_dir, "id_rsa")), 1, "key_is_rsa: RSA, OpenSSH format -> 1");
    TAP_EQ_INT(bd_sftp_key_is_rsa(in(g_fix, "id_rsa_pem")), 1, "key_is_rsa: RSA, PEM -> 1");
    TAP_EQ_INT(bd_sftp_key_is_rsa(in(g_fix, "id_rsa_pkcs8")), 1, "key_is_rsa: RSA, PKCS#8 -> 1");
    TAP_EQ_INT(bd_sftp_key_is_rsa(in(g_fix, "id_rsa_enc")), 1, "key_is_rsa: RSA, OpenSSH format, encrypted -> 1");
    TAP_EQ_INT(bd_sftp_key_is_rsa(in(g_fix, "id_pass")), 0, "key_is_rsa: encrypted ed25519 -> 0");
    TAP_EQ_INT(bd_sftp_key_is_rsa(in(g_fix, "nope")), -1, "key_is_rsa: missing file -> -1");

    ep.key = in(g_fix, "id_pass");
    ep.passphrase_file = in(g_fix, "pass_ok");
    t0 = bd_monotonic();
    bd_sftp_close(expect_connect(&ep, BD_SFTP_OK, "passphrase-protected ed25519 key with passphrase_file"));
    printf("# with passphrase (bcrypt KDF): %.1f ms\n", (bd_monotonic() - t0) * 1000);
    ep.passphrase_file = in(g_fix, "pass_bad");
    expect_connect(&ep, BD_SFTP_AUTH, "wrong passphrase");
    like(errbuf, "wrong passphrase", "wrong passphrase");
    unlike(errbuf, pass_bad, "wrong passphrase");
    ep.passphrase_file = NULL;
    expect_connect(&ep, BD_SFTP_AUTH, "encrypted key without passphrase_file");

    ep.key = in(g_fix, "no_such_key");
    expect_connect(&ep, BD_SFTP_AUTH, "missing private key file");
    like(errbuf, "cannot read private key", "missing key");

    ep.key = NULL;
    ep.password_file = in(g_fix, "pass_ok");
    expect_connect(&ep, BD_SFTP_AUTH, "password_file but the server accepts no passwords");
    like(errbuf, "does not offer password authentication", "no password auth");
}

/* ---------------------------------------------------------------- connection failures */

static void test_unreachable(void)
{
    bd_sftp_endpoint ep = endpoint();
    int lfd = -1;
    ep.port = local_port(0, NULL);
    ep.timeout = 2;
    double t0 = bd_monotonic();
    expect_connect(&ep, BD_SFTP_TRANSIENT, "closed port");
    double dt = bd_monotonic() - t0;
    TAP_OK(dt < 0.5, "closed port fails fast (%.3f s)", dt);
    like(errbuf, "Connection refused", "closed port");

    ep.port = local_port(1, &lfd);
    ep.timeout = 1;
    t0 = bd_monotonic();
    expect_connect(&ep, BD_SFTP_TRANSIENT, "a listener that never sends a banner");
    dt = bd_monotonic() - t0;
    TAP_OK(dt >= 0.9 && dt < 3.0, "handshake gives up after the timeout (%.2f s, timeout 1 s)", dt);
    if (lfd >= 0)
        close(lfd);
}

/* ---------------------------------------------------------------- file operations */

static void test_list_stat(bd_sftp *s)
{
    bd_sftp_entry *e = NULL, st;
    size_t n = 0;
    struct stat lst;
    bd_sftp_class c = bd_sftp_list(s, in(g_home, "list"), &e, &n, errbuf, sizeof errbuf);
    TAP_EQ_STR(bd_sftp_class_name(c), "ok", "list a folder");
    TAP_EQ_INT(n, 3, "three entries (a.txt, .hidden, sub): dotfiles kept, . and .. dropped");
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(e[i].name, "a.txt") == 0) {
            stat(in(g_home, "list/a.txt"), &lst);
            seen |= 1;
            TAP_EQ_INT(e[i].size, 5, "a.txt size");
            TAP_EQ_INT(e[i].mtime, lst.st_mtime, "a.txt mtime");
            TAP_EQ_INT(e[i].mtime, 1577934245, "a.txt mtime is 2020-01-02 03:04:05 UTC");
            TAP_OK(e[i].regular, "a.txt is a regular file");
        } else if (strcmp(e[i].name, ".hidden") == 0) {
            seen |= 2;
            TAP_EQ_INT(e[i].size, 3, ".hidden size");
        } else if (strcmp(e[i].name, "sub") == 0) {
            seen |= 4;
            TAP_OK(!e[i].regular, "sub is not a regular file");
        }
    }
    TAP_EQ_INT(seen, 7, "all three names seen");
    bd_sftp_entries_free(e, n);
    c = bd_sftp_list(s, in(g_home, "no-such-dir"), &e, &n, errbuf, sizeof errbuf);
    TAP_EQ_STR(bd_sftp_class_name(c), "not_found", "list a missing folder");
    like(errbuf, "list ", "list error names the op");
    like(errbuf, "no-such-dir", "list error names the path");
    TAP_OK(e == NULL && n == 0, "no entries on failure");

    c = bd_sftp_stat(s, in(g_home, "list/a.txt"), &st, errbuf, sizeof errbuf);
    TAP_OK(c == BD_SFTP_OK && st.size == 5 && st.mtime == 1577934245 && st.regular && !st.name,
           "stat a file: size, mtime, regular");
    c = bd_sftp_stat(s, in(g_home, "list/nope"), &st, errbuf, sizeof errbuf);
    TAP_EQ_STR(bd_sftp_class_name(c), "not_found", "stat a missing file");
}

static void test_rename_unlink_mkdir(bd_sftp *s)
{
    struct stat lst;
    bd_sftp_class c = bd_sftp_rename(s, in(g_home, "ren/a"), in(g_home, "ren/a2"), errbuf, sizeof errbuf);
    TAP_EQ_STR(bd_sftp_class_name(c), "ok", "rename");
    TAP_OK(stat(in(g_home, "ren/a2"), &lst) == 0 && stat(in(g_home, "ren/a"), &lst) != 0, "renamed on disk");
    c = bd_sftp_rename(s, in(g_home, "ren/b"), in(g_home, "ren/c"), errbuf, sizeof errbuf);
    TAP_EQ_STR(bd_sftp_class_name(c), "exists", "rename onto an existing target");
    like(errbuf, "target exists", "rename onto existing");
    TAP_OK(stat(in(g_home, "ren/b"), &lst) == 0 && lst.st_size == 2, "source untouched");
    TAP_OK(stat(in(g_home, "ren/c"), &lst) == 0 && lst.st_size == 3, "target untouched");
    c = bd_sftp_rename(s, in(g_home, "ren/missing"), in(g_home, "ren/x"), errbuf, sizeof errbuf);
    TAP_EQ_STR(bd_sftp_class_name(c), "not_found", "rename a missing file");
    like(errbuf, "ren/missing -> ", "rename error names both paths");
    TAP_OK(bd_sftp_alive(s), "session still alive after SFTP errors");

    c = bd_sftp_unlink(s, in(g_home, "ren/a2"), errbuf, sizeof errbuf);
    TAP_EQ_STR(bd_sftp_class_name(c), "ok", "unlink");
    TAP_OK(stat(in(g_home, "ren/a2"), &lst) != 0, "unlinked on disk");
    c = bd_sftp_unlink(s, in(g_home, "ren/a2"), errbuf, sizeof errbuf);
    TAP_EQ_STR(bd_sftp_class_name(c), "not_found", "unlink a missing file");
    c = bd_sftp_unlink(s, in(g_home, "ro/f"), errbuf, sizeof errbuf);
    TAP_EQ_STR(bd_sftp_class_name(c), "permission", "unlink in a root-owned folder");
    like(errbuf, "permission denied", "unlink permission");

    c = bd_sftp_mkdir_p(s, in(g_home, "mk/x/y/z"), 0750, errbuf, sizeof errbuf);
    TAP_EQ_STR(bd_sftp_class_name(c), "ok", "mkdir_p nested");
    TAP_OK(stat(in(g_home, "mk/x/y/z"), &lst) == 0 && S_ISDIR(lst.st_mode) && (lst.st_mode & 0777) == 0750,
           "folders made with mode 0750");
    c = bd_sftp_mkdir_p(s, in(g_home, "mk/x/y/z/"), 0750, errbuf, sizeof errbuf);
    TAP_EQ_STR(bd_sftp_class_name(c), "ok", "mkdir_p on an existing folder (trailing slash)");
    c = bd_sftp_mkdir_p(s, in(g_home, "list/a.txt/sub"), 0750, errbuf, sizeof errbuf);
    TAP_EQ_STR(bd_sftp_class_name(c), "failure", "mkdir_p through a file");
    like(errbuf, "not a folder", "mkdir_p through a file");
    c = bd_sftp_mkdir_p(s, in(g_home, "ro/new/deeper"), 0750, errbuf, sizeof errbuf);
    TAP_EQ_STR(bd_sftp_class_name(c), "permission", "mkdir_p in a root-owned folder");
}

static void test_download(bd_sftp *s)
{
    char sha[65], want[65];
    uint64_t bytes = 0;
    bd_strlcpy(want, slurp_line(in(g_fix, "big.sha")), sizeof want);
    int fd = open(in(g_fix, "big.got"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    double t0 = bd_monotonic();
    bd_sftp_class c =
        bd_sftp_download(s, in(g_home, "big.bin"), BD_SFTP_SIZE_UNKNOWN, fd, &bytes, sha, errbuf, sizeof errbuf);
    double dt = bd_monotonic() - t0;
    close(fd);
    TAP_EQ_STR(bd_sftp_class_name(c), "ok", "download 20 MiB");
    TAP_EQ_INT(bytes, 20 * MIB, "byte count");
    TAP_EQ_STR(sha, want, "SHA-256 equals sha256sum");
    TAP_OK(same_file(in(g_fix, "big.got"), in(g_home, "big.bin")), "local copy identical");
    printf("# download: %.3f s, %.0f MB/s\n", dt, 20.0 * MIB / 1e6 / dt);

    /* a size hint is only a hint: a file bigger than its stat said (it grew) still comes whole */
    fd = open(in(g_fix, "big.got"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    c = bd_sftp_download(s, in(g_home, "big.bin"), 1000, fd, &bytes, sha, errbuf, sizeof errbuf);
    close(fd);
    TAP_OK(c == BD_SFTP_OK && bytes == 20 * MIB && strcmp(sha, want) == 0,
           "download with a size hint far too small: all 20 MiB, same SHA-256");

    fd = open(in(g_fix, "none.got"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    c = bd_sftp_download(s, in(g_home, "no-such-file"), 0, fd, &bytes, sha, errbuf, sizeof errbuf);
    close(fd);
    TAP_EQ_STR(bd_sftp_class_name(c), "not_found", "download a missing file");
    TAP_OK(bytes == 0 && sha[0] == '\0', "no bytes, no hash");
}

/* Files around libssh2's read request size (30,000 bytes), each downloaded with its exact size as the hint: the
 * end of the file comes in the first round or after it, and every file arrives whole. */
static void test_download_sizes(bd_sftp *s)
{
    static const size_t sizes[] = {0, 1, 1000, 3403, 3404, 3405, 7500, 7501, 29999, 30000, 30001, 60000, 65536,
                                   258047, 258048, 262144};
    static unsigned char data[262144];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 2654435761u >> 13);
    int whole = 0, n = (int)(sizeof sizes / sizeof sizes[0]);
    for (int k = 0; k < n; k++) {
        char name[64], want[65] = "", got_sha[65] = "", remote[1024], local[1024];
        uint64_t bytes = 0;
        snprintf(name, sizeof name, "size-%zu.bin", sizes[k]);
        bd_strlcpy(remote, in(g_home, name), sizeof remote);
        bd_strlcpy(local, in(g_fix, "size.got"), sizeof local);
        int fd = open(remote, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int made = fd >= 0 && (sizes[k] == 0 || write(fd, data, sizes[k]) == (ssize_t)sizes[k]);
        if (fd >= 0)
            close(fd);
        fd = open(local, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        bd_sftp_class c = made && fd >= 0 ? bd_sftp_download(s, remote, sizes[k], fd, &bytes, got_sha, errbuf,
                                                              sizeof errbuf)
                                          : BD_SFTP_FAILURE;
        if (fd >= 0)
            close(fd);
        int ok = c == BD_SFTP_OK && bytes == sizes[k] && file_sha256(remote, want) == 0 &&
                 strcmp(want, got_sha) == 0 && same_file(local, remote);
        if (!ok)
            printf("# %zu bytes: %s, %llu bytes came: %s\n", sizes[k], bd_sftp_class_name(c),
                   (unsigned long long)bytes, errbuf);
        whole += ok;
        unlink(remote);
    }
    TAP_EQ_INT(whole, n, "%d files of 0 to 256 KiB around the read request size, each with its size as the hint: "
               "all whole, same SHA-256", n);
}

static void test_upload(bd_sftp *s)
{
    char local[1024], other[1024], remote[1024], sha[65], want[65];
    bd_strlcpy(local, in(g_fix, "up.bin"), sizeof local);
    bd_strlcpy(other, in(g_fix, "other.bin"), sizeof other);
    bd_strlcpy(remote, in(g_home, "up/file.bin"), sizeof remote);
    uint64_t bytes = 0;
    write_random(local, 3 * MIB + 12345);
    write_random(other, 1000);
    double t0 = bd_monotonic();
    bd_sftp_class c = bd_sftp_upload(s, local, remote, errbuf, sizeof errbuf);
    double dt = bd_monotonic() - t0;
    TAP_EQ_STR(bd_sftp_class_name(c), "ok", "upload 3 MiB");
    printf("# upload (incl. fsync and rename): %.3f s, %.0f MB/s\n", dt, (3.0 * MIB + 12345) / 1e6 / dt);
    TAP_OK(same_file(local, remote), "remote file identical");
    TAP_EQ_INT(temps_in(s, in(g_home, "up")), 0, "no temp file left");
    int fd = open(in(g_fix, "up.got"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    c = bd_sftp_download(s, remote, 3 * MIB + 12345, fd, &bytes, sha, errbuf, sizeof errbuf);
    close(fd);
    file_sha256(local, want);
    TAP_OK(c == BD_SFTP_OK && bytes == 3 * MIB + 12345 && strcmp(sha, want) == 0, "round trip: same bytes back");

    c = bd_sftp_upload(s, local, remote, errbuf, sizeof errbuf);
    TAP_EQ_STR(bd_sftp_class_name(c), "ok", "upload onto an existing same-size file counts as done");
    TAP_EQ_INT(temps_in(s, in(g_home, "up")), 0, "no temp file left");
    c = bd_sftp_upload(s, other, remote, errbuf, sizeof errbuf);
    TAP_EQ_STR(bd_sftp_class_name(c), "exists", "upload onto an existing file of another size");
    like(errbuf, "exists already", "upload conflict");
    TAP_OK(same_file(local, remote), "existing file untouched");
    TAP_EQ_INT(temps_in(s, in(g_home, "up")), 0, "no temp file left");

    c = bd_sftp_upload(s, local, in(g_home, "ro/file.bin"), errbuf, sizeof errbuf);
    TAP_EQ_STR(bd_sftp_class_name(c), "permission", "upload into a root-owned folder");
    c = bd_sftp_upload(s, local, in(g_home, "no-dir/file.bin"), errbuf, sizeof errbuf);
    TAP_EQ_STR(bd_sftp_class_name(c), "not_found", "upload into a missing folder");
    c = bd_sftp_upload(s, in(g_fix, "no-local"), in(g_home, "up/x"), errbuf, sizeof errbuf);
    TAP_EQ_STR(bd_sftp_class_name(c), "failure", "upload of a missing local file");
    TAP_OK(bd_sftp_alive(s), "session alive after all that");
}

static void test_ops(void)
{
    bd_sftp_endpoint ep = endpoint();
    bd_sftp_class c;
    bd_sftp *s = conn(&ep, &c);
    TAP_OK(s != NULL, "connect for the file operations");
    if (!s)
        return;
    test_list_stat(s);
    test_rename_unlink_mkdir(s);
    test_download(s);
    test_download_sizes(s);
    test_upload(s);
    bd_sftp_keepalive(s);
    bd_sftp_entry st;
    TAP_EQ_STR(bd_sftp_class_name(bd_sftp_stat(s, g_home, &st, errbuf, sizeof errbuf)), "ok",
               "keepalive leaves the session usable");
    bd_sftp_close(s);
}

/* ---------------------------------------------------------------- stalls and drops */

static void test_stall(void)
{
    bd_sftp_endpoint ep = endpoint();
    bd_sftp_class c;
    bd_sftp_entry st;
    ep.timeout = 2;
    bd_sftp *s = conn(&ep, &c);
    TAP_OK(s != NULL, "connect with timeout 2 s");
    if (!s)
        return;
    int n = signal_sessions(SIGSTOP);
    TAP_OK(n >= 1, "stopped the session's sshd processes (%d)", n);
    double t0 = bd_monotonic();
    c = bd_sftp_stat(s, in(g_home, "list/a.txt"), &st, errbuf, sizeof errbuf);
    double dt = bd_monotonic() - t0;
    TAP_EQ_STR(bd_sftp_class_name(c), "transient", "stat against a stalled server");
    TAP_OK(dt >= 1.5 && dt < 4.0, "gave up after the timeout (%.2f s, timeout 2 s)", dt);
    like(errbuf, "list/a.txt", "stall error names the path");
    TAP_OK(!bd_sftp_alive(s), "session marked dead");
    t0 = bd_monotonic();
    c = bd_sftp_stat(s, g_home, &st, errbuf, sizeof errbuf);
    TAP_OK(c == BD_SFTP_TRANSIENT && bd_monotonic() - t0 < 0.1, "later ops on the dead session fail at once");
    t0 = bd_monotonic();
    bd_sftp_close(s);
    dt = bd_monotonic() - t0;
    TAP_OK(dt < 0.5, "closing a dead session does not wait (%.3f s)", dt);
    signal_sessions(SIGCONT);

    s = conn(&ep, &c);
    TAP_OK(s != NULL, "reconnect after the stall");
    n = signal_sessions(SIGTERM);
    usleep(200 * 1000);
    t0 = bd_monotonic();
    c = s ? bd_sftp_stat(s, g_home, &st, errbuf, sizeof errbuf) : BD_SFTP_FAILURE;
    dt = bd_monotonic() - t0;
    TAP_EQ_STR(bd_sftp_class_name(c), "transient", "server session killed (%d processes): transient", n);
    TAP_OK(dt < 1.0, "noticed at once (%.3f s)", dt);
    TAP_OK(!bd_sftp_alive(s), "session marked dead");
    bd_sftp_keepalive(s); /* no-op on a dead session */
    bd_sftp_close(s);
    s = conn(&ep, &c);
    TAP_OK(s != NULL, "reconnect after the kill");
    bd_sftp_close(s);
}

/* Stop the server's session processes `ms` into a transfer (from a thread), so the stall hits a transfer
 * in flight. */
static void *stopper(void *arg)
{
    usleep((useconds_t)(*(int *)arg) * 1000);
    signal_sessions(SIGSTOP);
    return NULL;
}

static pthread_t stop_sessions_after(int *ms)
{
    pthread_t t;
    if (pthread_create(&t, NULL, stopper, ms) != 0) {
        printf("# pthread_create failed\n");
        exit(1);
    }
    return t;
}

static void test_stall_in_flight(void)
{
    bd_sftp_endpoint ep = endpoint();
    bd_sftp_class c;
    uint64_t bytes = 0;
    char sha[65], local[1024];
    ep.timeout = 2;
    bd_sftp *s = conn(&ep, &c);
    int fd = open(in(g_fix, "stall.got"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int delay = 30;
    pthread_t kid = stop_sessions_after(&delay);
    double t0 = bd_monotonic();
    c = s ? bd_sftp_download(s, in(g_home, "big.bin"), 20 * MIB, fd, &bytes, sha, errbuf, sizeof errbuf)
          : BD_SFTP_FAILURE;
    double dt = bd_monotonic() - t0;
    close(fd);
    pthread_join(kid, NULL);
    TAP_EQ_STR(bd_sftp_class_name(c), "transient", "server stalled mid-download: transient");
    TAP_OK(bytes > 0 && bytes < 20 * MIB && sha[0] == '\0', "part of the file came (%llu bytes), no hash",
           (unsigned long long)bytes);
    TAP_OK(dt < 4.5, "within timeout + 2 s (%.2f s)", dt);
    TAP_OK(!bd_sftp_alive(s), "session marked dead");
    bd_sftp_close(s); /* frees the open handle on a dead link */
    signal_sessions(SIGCONT);

    bd_strlcpy(local, in(g_fix, "big.up"), sizeof local);
    write_random(local, 20 * MIB);
    s = conn(&ep, &c);
    kid = stop_sessions_after(&delay);
    t0 = bd_monotonic();
    c = s ? bd_sftp_upload(s, local, in(g_home, "up/stalled.bin"), errbuf, sizeof errbuf) : BD_SFTP_FAILURE;
    dt = bd_monotonic() - t0;
    pthread_join(kid, NULL);
    TAP_EQ_STR(bd_sftp_class_name(c), "transient", "server stalled mid-upload: transient");
    TAP_OK(dt < 4.5, "within timeout + 2 s (%.2f s)", dt);
    bd_sftp_close(s);
    signal_sessions(SIGCONT);
    struct stat lst;
    TAP_OK(stat(in(g_home, "up/stalled.bin"), &lst) != 0, "no final file from the stalled upload");
}

/* ---------------------------------------------------------------- other phases */

static void test_password(void)
{
    bd_sftp_endpoint ep = endpoint();
    char bad[256];
    bd_sftp_entry st;
    bd_strlcpy(bad, slurp_line(in(g_fix, "password_bad")), sizeof bad);
    ep.key = NULL;
    ep.password_file = in(g_dir, "password");
    bd_sftp *s = expect_connect(&ep, BD_SFTP_OK, "password auth via password_file");
    TAP_OK(s && bd_sftp_stat(s, g_home, &st, errbuf, sizeof errbuf) == BD_SFTP_OK, "and the session works");
    bd_sftp_close(s);
    ep.password_file = in(g_fix, "password_bad");
    expect_connect(&ep, BD_SFTP_AUTH, "wrong password");
    like(errbuf, "refused the password", "wrong password");
    unlike(errbuf, bad, "wrong password");
    ep.key = in(g_fix, "id_wrong");
    ep.password_file = in(g_dir, "password");
    bd_sftp_close(expect_connect(&ep, BD_SFTP_OK, "refused key, then the password works"));
    ep.password_file = in(g_fix, "password_bad");
    expect_connect(&ep, BD_SFTP_AUTH, "refused key and wrong password");
    like(errbuf, "refused public key", "both refused (key part)");
    like(errbuf, "refused the password", "both refused (password part)");
}

static void test_rsa_host_stock(void)
{
    bd_sftp_endpoint ep = endpoint();
    expect_connect(&ep, BD_SFTP_FAILURE, "RSA-only host key on stock OpenSSH 9.2");
    like(errbuf, "HostKeyAlgorithms +ssh-rsa", "RSA-only host");
}

static void test_rsa_host_legacy(void)
{
    bd_sftp_endpoint ep = endpoint();
    bd_sftp *s = expect_connect(&ep, BD_SFTP_OK, "RSA host key with HostKeyAlgorithms +ssh-rsa");
    TAP_EQ_STR(bd_sftp_host_key_type(s), "ssh-rsa", "negotiated ssh-rsa");
    bd_sftp_close(s);
    ep.key = in(g_dir, "id_rsa");
    bd_sftp_close(expect_connect(&ep, BD_SFTP_OK, "RSA user key with PubkeyAcceptedAlgorithms +ssh-rsa"));
    ep.key = env("SSHD_KEY");
    ep.known_hosts = in(g_fix, "kh_rsa_other_type");
    expect_connect(&ep, BD_SFTP_HOSTKEY, "known_hosts has only an ed25519 key, server only RSA");
    like(errbuf, "server offered ssh-rsa", "type fallback names the offered key");
    like(errbuf, "has only ssh-ed25519", "type fallback names what the file has");
}

int main(void)
{
    const char *phase = getenv("SFTP_PHASE");
    if (!phase || !getenv("SSHD_PORT")) {
        printf("1..0 # SKIP needs the sshd that tests/e2e/t_sftp_layer.sh starts\n");
        return 0;
    }
    g_fix = env("SFTP_FIX");
    g_home = env("SSHD_HOME");
    g_dir = env("SSHD_DIR");
    if (strcmp(phase, "main") == 0) {
        test_host_keys();
        test_auth();
        test_unreachable();
        test_ops();
        test_stall();
        test_stall_in_flight();
    } else if (strcmp(phase, "password") == 0) {
        test_password();
    } else if (strcmp(phase, "rsa-stock") == 0) {
        test_rsa_host_stock();
    } else if (strcmp(phase, "rsa-legacy") == 0) {
        test_rsa_host_legacy();
    }
    bd_sftp_global_cleanup();
    return tap_done();
}
