/* sftp_session.c: libssh2 SFTP sessions: connect with a deadline, strict host keys, auth, keepalive, error classes. */
#include "config.h"
#define BD_SFTP_INTERNAL 1
#include "sftp.h"
#include "log.h"
#include "strutil.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

/*
 * Measured against stock OpenSSH 9.2p1 (Debian 12) with libssh2 1.10.0 (OpenSSL 3), see tests/e2e/t_sftp_layer.sh:
 *   host keys: ssh-ed25519 OK, ecdsa-sha2-nistp256/384/521 OK (256 is libssh2's own first choice, hence the list
 *              below), ssh-rsa FAILS in key exchange (rc -5): OpenSSH >= 8.8 offers only rsa-sha2-256/512 for RSA
 *              host keys and libssh2 1.10 knows only the SHA-1 "ssh-rsa"; works with "HostKeyAlgorithms +ssh-rsa".
 *   user keys: ed25519 OK (passphrase-protected too), ecdsa 256/384/521 OK, RSA (OpenSSH format, PEM, PKCS#8)
 *              FAILS with -18 because libssh2 1.10 signs with ssh-rsa (SHA-1) only; works with
 *              "PubkeyAcceptedAlgorithms +ssh-rsa".
 *   libssh2 1.10 leaks 2 x 56 bytes per authentication with an OpenSSH-format ECDSA user key (a BIGNUM in
 *   gen_publickey_from_ecdsa_openssh_priv_data, libssh2 issue #2079): one more reason to prefer ed25519.
 */

#define DEFAULT_TIMEOUT 30.0
#define KEEPALIVE_INTERVAL 15
/* libssh2 1.10 never consumes the server's replies to want-reply keepalives: each one stays queued in the
 * session until it is freed (libssh2 issue #623). Measured here: +64 bytes of heap per keepalive with
 * want_reply=1 (about 370 KB a day per idle session at 15 s), none with 0. The keepalive still keeps NAT and
 * firewall state fresh, and a dead link still shows up as a send error. */
#define KEEPALIVE_WANT_REPLY 0
#define SECRET_MAX 1024
#define RSA_HINT "RSA keys need a server that accepts ssh-rsa (SHA-1); use an ed25519 key"

/* ---------------------------------------------------------------- classes and global state */

const char *bd_sftp_class_name(bd_sftp_class c)
{
    switch (c) {
    case BD_SFTP_OK: return "ok";
    case BD_SFTP_NOT_FOUND: return "not_found";
    case BD_SFTP_PERMISSION: return "permission";
    case BD_SFTP_EXISTS: return "exists";
    case BD_SFTP_TRANSIENT: return "transient";
    case BD_SFTP_AUTH: return "auth";
    case BD_SFTP_HOSTKEY: return "host_key";
    case BD_SFTP_FAILURE: return "failure";
    }
    return "failure";
}

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_ready;

static int global_init(void)
{
    int rc = 0;
    pthread_mutex_lock(&g_lock);
    if (!g_ready) {
        rc = libssh2_init(0);
        if (rc == 0)
            g_ready = 1;
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

void bd_sftp_global_cleanup(void)
{
    pthread_mutex_lock(&g_lock);
    if (g_ready) {
        libssh2_exit();
        g_ready = 0;
    }
    pthread_mutex_unlock(&g_lock);
}

/* ---------------------------------------------------------------- error classification */

/* libssh2 errors that mean the link (socket, transport, channel) is unusable: retry on a new session. */
static int link_error(int rc)
{
    switch (rc) {
    case LIBSSH2_ERROR_SOCKET_NONE:
    case LIBSSH2_ERROR_BANNER_RECV:
    case LIBSSH2_ERROR_BANNER_SEND:
    case LIBSSH2_ERROR_INVALID_MAC:
    case LIBSSH2_ERROR_SOCKET_SEND:
    case LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE:
    case LIBSSH2_ERROR_TIMEOUT:
    case LIBSSH2_ERROR_DECRYPT:
    case LIBSSH2_ERROR_SOCKET_DISCONNECT:
    case LIBSSH2_ERROR_PROTO:
    case LIBSSH2_ERROR_CHANNEL_FAILURE:
    case LIBSSH2_ERROR_CHANNEL_CLOSED:
    case LIBSSH2_ERROR_CHANNEL_EOF_SENT:
    case LIBSSH2_ERROR_SOCKET_TIMEOUT:
    case LIBSSH2_ERROR_EAGAIN:
    case LIBSSH2_ERROR_SOCKET_RECV:
    case LIBSSH2_ERROR_ENCRYPT:
    case LIBSSH2_ERROR_BAD_SOCKET:
        return 1;
    default:
        return 0;
    }
}

bd_sftp_class bd_sftp_status_class_(unsigned long fx)
{
    switch (fx) {
    case LIBSSH2_FX_OK: return BD_SFTP_OK;
    case LIBSSH2_FX_NO_SUCH_FILE:
    case LIBSSH2_FX_NO_SUCH_PATH: return BD_SFTP_NOT_FOUND;
    case LIBSSH2_FX_PERMISSION_DENIED:
    case LIBSSH2_FX_WRITE_PROTECT: return BD_SFTP_PERMISSION;
    case LIBSSH2_FX_FILE_ALREADY_EXISTS: return BD_SFTP_EXISTS;
    case LIBSSH2_FX_NO_CONNECTION:
    case LIBSSH2_FX_CONNECTION_LOST: return BD_SFTP_TRANSIENT;
    default: return BD_SFTP_FAILURE;
    }
}

static const char *status_text(unsigned long fx)
{
    static const char *const names[] = {
        "ok", "end of file", "no such file", "permission denied", "failure", "bad message",
        "no connection", "connection lost", "operation unsupported", "invalid handle", "no such path",
        "file already exists", "write protected", "no media", "no space on file system", "quota exceeded",
        "unknown principal", "lock conflict", "directory not empty", "not a directory", "invalid file name",
        "link loop"};
    return fx < sizeof(names) / sizeof(names[0]) ? names[fx] : "unknown status";
}

static void mark_dead(bd_sftp *s)
{
    if (s->alive && s->fd >= 0)
        shutdown(s->fd, SHUT_RDWR); /* later libssh2 calls then fail at once instead of waiting */
    s->alive = 0;
}

void bd_sftp_note_rc_(bd_sftp *s, int rc)
{
    if (rc < 0 && rc != LIBSSH2_ERROR_SFTP_PROTOCOL)
        mark_dead(s);
}

bd_sftp_class bd_sftp_fail_(bd_sftp *s, int rc, const char *op, const char *path, char *err, size_t errlen)
{
    char *msg = NULL;
    if (!s->alive) {
        bd_fmt(err, errlen, "%s: %s %s: session is closed after an earlier error", s->where, op, path);
        return BD_SFTP_TRANSIENT;
    }
    if (rc >= 0)
        rc = libssh2_session_last_errno(s->ssh);
    if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && s->sftp) {
        unsigned long fx = libssh2_sftp_last_error(s->sftp);
        bd_sftp_class c = bd_sftp_status_class_(fx);
        if (c == BD_SFTP_OK)
            c = BD_SFTP_FAILURE;
        if (c == BD_SFTP_TRANSIENT)
            mark_dead(s);
        bd_fmt(err, errlen, "%s: %s %s: %s (SFTP status %lu)", s->where, op, path, status_text(fx), fx);
        return c;
    }
    libssh2_session_last_error(s->ssh, &msg, NULL, 0);
    bd_sftp_class c = link_error(rc) ? BD_SFTP_TRANSIENT : BD_SFTP_FAILURE;
    mark_dead(s); /* the transport state is unknown after any non-SFTP error */
    bd_fmt(err, errlen, "%s: %s %s: %s (libssh2 error %d); session closed", s->where, op, path,
           msg && *msg ? msg : "error", rc);
    return c;
}

/* ---------------------------------------------------------------- small helpers */

static double effective_timeout(const bd_sftp_endpoint *ep)
{
    return ep->timeout > 0 ? ep->timeout : DEFAULT_TIMEOUT;
}

static void b64(char *out, size_t outlen, const unsigned char *in, size_t n, int strip_pad)
{
    size_t need = 4 * ((n + 2) / 3) + 1;
    if (outlen < need) {
        if (outlen)
            out[0] = '\0';
        return;
    }
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    if (strip_pad) {
        size_t l = strlen(out);
        while (l && out[l - 1] == '=')
            out[--l] = '\0';
    }
}

/* First line of a secret file into buf (without the line end). The copy lives only in buf. */
static int read_secret(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, len - 1);
    int saved = errno;
    close(fd);
    if (n < 0) {
        errno = saved;
        return -1;
    }
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

static int has_method(const char *list, const char *m)
{
    size_t ml = strlen(m);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == ml && strncmp(p, m, l) == 0)
            return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

/* ---------------------------------------------------------------- TCP */

static int wait_connected(int fd, double deadline)
{
    for (;;) {
        double left = deadline - bd_monotonic();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            continue; /* re-check the deadline */
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            return -1;
        if (soerr) {
            errno = soerr;
            return -1;
        }
        return 0;
    }
}

static int connect_one(const struct addrinfo *ai, double deadline)
{
    int one = 1;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -1;
    /* libssh2 does not set it; without it the handshake takes 60-100 ms instead of 10 ms on loopback */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
        (errno != EINPROGRESS || wait_connected(fd, deadline) < 0)) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static bd_sftp_class tcp_connect(bd_sftp *s, const bd_sftp_endpoint *ep, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", ep->port);
    int rc = getaddrinfo(ep->host, port, &hints, &res);
    if (rc != 0) {
        int transient = rc == EAI_AGAIN || rc == EAI_FAIL || rc == EAI_SYSTEM || rc == EAI_MEMORY;
        bd_fmt(err, errlen, "%s: connect: cannot resolve host: %s", s->where, gai_strerror(rc));
        return transient ? BD_SFTP_TRANSIENT : BD_SFTP_FAILURE;
    }
    double deadline = bd_monotonic() + effective_timeout(ep);
    int fd = -1, last = ETIMEDOUT;
    for (struct addrinfo *ai = res; ai && fd < 0 && bd_monotonic() < deadline; ai = ai->ai_next) {
        fd = connect_one(ai, deadline);
        if (fd < 0)
            last = errno;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        bd_fmt(err, errlen, "%s: connect: %s", s->where, strerror(last));
        return BD_SFTP_TRANSIENT;
    }
    s->fd = fd;
    return BD_SFTP_OK;
}

/* ---------------------------------------------------------------- link setup and teardown */

static void drop_link(bd_sftp *s, int polite)
{
    if (!polite)
        mark_dead(s);
    if (s->sftp) {
        libssh2_sftp_shutdown(s->sftp);
        s->sftp = NULL;
    }
    if (s->ssh) {
        if (s->alive)
            libssh2_session_disconnect(s->ssh, "batchdrop: closing");
        libssh2_session_free(s->ssh);
        s->ssh = NULL;
    }
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    s->alive = 0;
}

static bd_sftp_class open_link(bd_sftp *s, const bd_sftp_endpoint *ep, char *err, size_t errlen)
{
    bd_sftp_class c = tcp_connect(s, ep, err, errlen);
    if (c != BD_SFTP_OK)
        return c;
    s->ssh = libssh2_session_init();
    if (!s->ssh) {
        bd_fmt(err, errlen, "%s: cannot create an SSH session (out of memory)", s->where);
        drop_link(s, 0);
        return BD_SFTP_FAILURE;
    }
    libssh2_session_set_blocking(s->ssh, 1);
    long ms = (long)(effective_timeout(ep) * 1000.0);
    libssh2_session_set_timeout(s->ssh, ms > 0 ? ms : 1);
    return BD_SFTP_OK;
}

/* ---------------------------------------------------------------- known_hosts */

/* Host-key algorithms libssh2 1.10 can verify, in the order OpenSSH prefers them. */
static const struct hk_type {
    const char *method;
    int kh_key;  /* LIBSSH2_KNOWNHOST_KEY_* */
    int hk_type; /* LIBSSH2_HOSTKEY_TYPE_* */
} HK[] = {
    {"ssh-ed25519", LIBSSH2_KNOWNHOST_KEY_ED25519, LIBSSH2_HOSTKEY_TYPE_ED25519},
    {"ecdsa-sha2-nistp256", LIBSSH2_KNOWNHOST_KEY_ECDSA_256, LIBSSH2_HOSTKEY_TYPE_ECDSA_256},
    {"ecdsa-sha2-nistp384", LIBSSH2_KNOWNHOST_KEY_ECDSA_384, LIBSSH2_HOSTKEY_TYPE_ECDSA_384},
    {"ecdsa-sha2-nistp521", LIBSSH2_KNOWNHOST_KEY_ECDSA_521, LIBSSH2_HOSTKEY_TYPE_ECDSA_521},
    {"ssh-rsa", LIBSSH2_KNOWNHOST_KEY_SSHRSA, LIBSSH2_HOSTKEY_TYPE_RSA},
};
#define HK_N (sizeof HK / sizeof HK[0])
#define HK_ALL ((1u << HK_N) - 1)

typedef struct known {
    const char *path;
    char name[300];         /* "[host]:port" (or "host" for port 22), as known_hosts spells it */
    LIBSSH2_KNOWNHOSTS *kh; /* bound to one libssh2 session */
    char **revoked;         /* base64 keys of @revoked lines */
    size_t nrevoked;
    size_t skipped; /* lines libssh2 cannot parse (certificates, patterns, unknown key types) */
} known;

static void known_free(known *k)
{
    if (k->kh)
        libssh2_knownhost_free(k->kh);
    k->kh = NULL;
    for (size_t i = 0; i < k->nrevoked; i++)
        free(k->revoked[i]);
    free(k->revoked);
    k->revoked = NULL;
    k->nrevoked = 0;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static const char *skip_token(const char *p)
{
    while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
        p++;
    return p;
}

/* "@revoked HOSTS KEYTYPE BASE64": remember the key; it is refused for any host. */
static int add_revoked(known *k, const char *p)
{
    p = skip_ws(skip_token(skip_ws(skip_token(skip_ws(p)))));
    const char *e = skip_token(p);
    if (e == p)
        return 0;
    char **grown = realloc(k->revoked, (k->nrevoked + 1) * sizeof *grown);
    if (!grown)
        return -1;
    k->revoked = grown;
    if (!(grown[k->nrevoked] = bd_strndup(p, (size_t)(e - p))))
        return -1;
    k->nrevoked++;
    return 0;
}

static int known_line(known *k, const char *line)
{
    const char *p = skip_ws(line);
    if (!*p || *p == '#' || *p == '\n' || *p == '\r')
        return 0;
    if (strncmp(p, "@revoked", 8) == 0)
        return add_revoked(k, p + 8);
    if (*p == '@' || libssh2_knownhost_readline(k->kh, p, strlen(p), LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0)
        k->skipped++; /* @cert-authority (libssh2 has no certificates) or a line it cannot parse */
    return 0;
}

static bd_sftp_class known_load(known *k, LIBSSH2_SESSION *ssh, char *err, size_t errlen)
{
    k->kh = libssh2_knownhost_init(ssh);
    if (!k->kh) {
        bd_fmt(err, errlen, "cannot set up known_hosts checking (out of memory)");
        return BD_SFTP_FAILURE;
    }
    FILE *f = fopen(k->path, "re");
    if (!f) {
        bd_fmt(err, errlen, "cannot read known_hosts %s: %s; refusing to connect without it", k->path,
               strerror(errno));
        return BD_SFTP_HOSTKEY;
    }
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    while (rc == 0 && getline(&line, &cap, f) >= 0)
        rc = known_line(k, line);
    int rerr = ferror(f);
    free(line);
    fclose(f);
    if (rc != 0 || rerr) {
        bd_fmt(err, errlen, "cannot read known_hosts %s: %s", k->path, rc ? "out of memory" : "read error");
        return rc ? BD_SFTP_FAILURE : BD_SFTP_HOSTKEY;
    }
    return BD_SFTP_OK;
}

/* Key types known_hosts holds for k->name: a probe with a key that cannot match returns MISMATCH exactly when
 * an entry of that type exists for the name (plain or hashed). */
static unsigned known_types(const known *k)
{
    static const char probe[1] = {0};
    unsigned m = 0;
    for (size_t i = 0; i < HK_N; i++) {
        int mask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | HK[i].kh_key;
        if (libssh2_knownhost_checkp(k->kh, k->name, -1, probe, sizeof probe, mask, NULL) ==
            LIBSSH2_KNOWNHOST_CHECK_MISMATCH)
            m |= 1u << i;
    }
    return m;
}

static void types_text(char *out, size_t len, unsigned mask)
{
    out[0] = '\0';
    for (size_t i = 0; i < HK_N; i++) {
        if (!(mask & (1u << i)))
            continue;
        size_t l = strlen(out);
        snprintf(out + l, len - l, "%s%s", l ? "," : "", HK[i].method);
    }
}

static void set_hostkey_pref(bd_sftp *s, unsigned allowed)
{
    char list[200];
    types_text(list, sizeof list, allowed);
    if (libssh2_session_method_pref(s->ssh, LIBSSH2_METHOD_HOSTKEY, list) != 0)
        log_debug("%s: host key preference \"%s\" not accepted by libssh2; using its default", s->where, list);
}

enum { CHECK_REVOKED = 100 };

/* Check the offered key; fills s->key_type and s->fingerprint and the type bit of the offered key. */
static int check_host_key(bd_sftp *s, const known *k, unsigned *bit)
{
    size_t len = 0;
    int type = 0;
    const char *key = libssh2_session_hostkey(s->ssh, &len, &type);
    const unsigned char *sha = (const unsigned char *)libssh2_hostkey_hash(s->ssh, LIBSSH2_HOSTKEY_HASH_SHA256);
    char enc[80];
    b64(enc, sizeof enc, sha ? sha : (const unsigned char *)"", sha ? 32 : 0, 1);
    bd_fmt(s->fingerprint, sizeof s->fingerprint, "SHA256:%s", enc);
    *bit = 0;
    bd_strlcpy(s->key_type, type == LIBSSH2_HOSTKEY_TYPE_DSS ? "ssh-dss" : "unknown", sizeof s->key_type);
    if (!key || !sha)
        return LIBSSH2_KNOWNHOST_CHECK_FAILURE;
    size_t i = 0;
    while (i < HK_N && HK[i].hk_type != type)
        i++;
    if (i == HK_N)
        return LIBSSH2_KNOWNHOST_CHECK_NOTFOUND;
    bd_strlcpy(s->key_type, HK[i].method, sizeof s->key_type);
    *bit = 1u << i;
    char *full = malloc(4 * ((len + 2) / 3) + 1);
    if (!full)
        return LIBSSH2_KNOWNHOST_CHECK_FAILURE;
    b64(full, 4 * ((len + 2) / 3) + 1, (const unsigned char *)key, len, 0);
    int revoked = 0;
    for (size_t r = 0; r < k->nrevoked && !revoked; r++)
        revoked = strcmp(k->revoked[r], full) == 0;
    free(full);
    if (revoked)
        return CHECK_REVOKED;
    int mask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | HK[i].kh_key;
    return libssh2_knownhost_checkp(k->kh, k->name, -1, key, len, mask, NULL);
}

static bd_sftp_class host_key_refused(bd_sftp *s, const known *k, int check, unsigned present, char *err,
                                      size_t errlen)
{
    char types[200];
    types_text(types, sizeof types, present);
    if (check == LIBSSH2_KNOWNHOST_CHECK_MISMATCH)
        bd_fmt(err, errlen,
               "HOST KEY CHANGED for %s (offered %s %s; %s holds another key of that type); refusing to connect",
               k->name, s->key_type, s->fingerprint, k->path);
    else if (check == CHECK_REVOKED)
        bd_fmt(err, errlen, "host key for %s (offered %s %s) is marked @revoked in %s; refusing to connect",
               k->name, s->key_type, s->fingerprint, k->path);
    else if (check == LIBSSH2_KNOWNHOST_CHECK_NOTFOUND && present)
        bd_fmt(err, errlen,
               "host key for %s is not in %s (server offered %s %s; the file has only %s for this host); "
               "add it after checking the fingerprint with the partner",
               k->name, k->path, s->key_type, s->fingerprint, types);
    else if (check == LIBSSH2_KNOWNHOST_CHECK_NOTFOUND)
        bd_fmt(err, errlen,
               "host key for %s is not in %s (server offered %s %s); add it after checking the fingerprint "
               "with the partner",
               k->name, k->path, s->key_type, s->fingerprint);
    else
        bd_fmt(err, errlen, "%s: cannot check the host key (%s %s) against %s", s->where, s->key_type,
               s->fingerprint, k->path);
    return BD_SFTP_HOSTKEY;
}

static bd_sftp_class handshake_failed(bd_sftp *s, int rc, char *err, size_t errlen)
{
    char *msg = NULL;
    libssh2_session_last_error(s->ssh, &msg, NULL, 0);
    if (rc == LIBSSH2_ERROR_KEX_FAILURE) {
        bd_fmt(err, errlen,
               "%s: SSH handshake failed: %s: no algorithm in common with the server; libssh2 1.10 verifies "
               "host keys of type ssh-ed25519, ecdsa-sha2-nistp256/384/521 and ssh-rsa (SHA-1 only, which "
               "OpenSSH 8.8 and later refuse unless HostKeyAlgorithms +ssh-rsa)",
               s->where, msg && *msg ? msg : "key exchange failed");
        return BD_SFTP_FAILURE;
    }
    bd_fmt(err, errlen, "%s: SSH handshake failed: %s (libssh2 error %d)", s->where,
           msg && *msg ? msg : "error", rc);
    return link_error(rc) ? BD_SFTP_TRANSIENT : BD_SFTP_FAILURE;
}

/* One TCP connection + handshake offering `allowed` host-key types, then the known_hosts check.
 * Returns the check result in *check (-1 when the handshake failed, -2 when no algorithm was in common).
 * The libssh2 known-hosts object lives and dies with this session: it is always freed here. */
static bd_sftp_class try_handshake(bd_sftp *s, const bd_sftp_endpoint *ep, known *k, unsigned *allowed,
                                   unsigned *present, int *check, unsigned *bit, char *err, size_t errlen)
{
    *check = -1;
    bd_sftp_class c = open_link(s, ep, err, errlen);
    if (c != BD_SFTP_OK)
        return c;
    c = known_load(k, s->ssh, err, errlen);
    if (c != BD_SFTP_OK) {
        known_free(k);
        drop_link(s, 0);
        return c;
    }
    if (*allowed == 0) {
        *present = known_types(k);
        *allowed = *present ? *present : HK_ALL;
        if (k->skipped)
            log_debug("%s: skipped %zu known_hosts lines libssh2 cannot use", k->path, k->skipped);
    }
    set_hostkey_pref(s, *allowed);
    int rc = libssh2_session_handshake(s->ssh, s->fd);
    if (rc != 0) {
        c = handshake_failed(s, rc, err, errlen);
        known_free(k);
        drop_link(s, 0);
        if (rc == LIBSSH2_ERROR_KEX_FAILURE)
            *check = -2;
        return c;
    }
    s->alive = 1;
    *check = check_host_key(s, k, bit);
    known_free(k);
    return BD_SFTP_OK;
}

/* Handshake until the server shows a key that known_hosts vouches for. Offers only the key types known_hosts
 * holds for this host (so a file with just the ed25519 line works); if the server agrees on a type the file
 * does not vouch for, reconnects offering the others; if it supports none of them, reconnects once offering
 * every type, only to name the key it does have in the refusal. Never trusts on first use. */
static bd_sftp_class connect_verified(bd_sftp *s, const bd_sftp_endpoint *ep, char *err, size_t errlen)
{
    known k = {.path = ep->known_hosts};
    unsigned allowed = 0, present = 0, bit = 0;
    int fell_back = 0;
    char host[256];
    size_t i;
    for (i = 0; ep->host[i] && i + 1 < sizeof host; i++)
        host[i] = (char)tolower((unsigned char)ep->host[i]);
    host[i] = '\0';
    if (ep->port == 22)
        bd_strlcpy(k.name, host, sizeof k.name);
    else
        bd_fmt(k.name, sizeof k.name, "[%s]:%d", host, ep->port);
    for (;;) {
        int check;
        bd_sftp_class c = try_handshake(s, ep, &k, &allowed, &present, &check, &bit, err, errlen);
        if (check == -2 && allowed != HK_ALL && !fell_back) {
            allowed = HK_ALL;
            fell_back = 1;
            continue;
        }
        if (c == BD_SFTP_OK && check == LIBSSH2_KNOWNHOST_CHECK_NOTFOUND && (allowed & ~bit & present) &&
            !fell_back) {
            drop_link(s, 1);
            allowed &= ~bit & present;
            continue;
        }
        if (c == BD_SFTP_OK && check != LIBSSH2_KNOWNHOST_CHECK_MATCH)
            c = host_key_refused(s, &k, check, present, err, errlen);
        return c;
    }
}

/* ---------------------------------------------------------------- authentication */

static void pubkey_attempt(bd_sftp *s, const bd_sftp_endpoint *ep, const char *methods, char *why, size_t len,
                           int *rc_out)
{
    char pass[SECRET_MAX] = "";
    *rc_out = LIBSSH2_ERROR_AUTHENTICATION_FAILED;
    if (access(ep->key, R_OK) != 0) {
        bd_fmt(why, len, "cannot read private key %s: %s", ep->key, strerror(errno));
        return;
    }
    if (!has_method(methods, "publickey")) {
        bd_fmt(why, len, "the server does not offer public key authentication (it offers: %s)", methods);
        return;
    }
    if (ep->passphrase_file && read_secret(ep->passphrase_file, pass, sizeof pass) != 0) {
        bd_fmt(why, len, "cannot read passphrase file %s: %s", ep->passphrase_file, strerror(errno));
        return;
    }
    int rc = libssh2_userauth_publickey_fromfile_ex(s->ssh, ep->user, (unsigned)strlen(ep->user), NULL, ep->key,
                                                    pass);
    explicit_bzero(pass, sizeof pass);
    *rc_out = rc;
    if (rc == LIBSSH2_ERROR_FILE)
        bd_fmt(why, len, "cannot load private key %s (%s, or a format libssh2 cannot read)", ep->key,
               ep->passphrase_file ? "wrong passphrase" : "encrypted and no passphrase_file given");
    else if (rc != 0 && bd_sftp_key_is_rsa(ep->key) == 1)
        bd_fmt(why, len, "the server refused public key %s: " RSA_HINT, ep->key);
    else if (rc != 0)
        bd_fmt(why, len, "the server refused public key %s (not in the account's authorized keys?)", ep->key);
}

static void password_attempt(bd_sftp *s, const bd_sftp_endpoint *ep, const char *methods, char *why,
                             size_t len, int *rc_out)
{
    char pw[SECRET_MAX];
    *rc_out = LIBSSH2_ERROR_AUTHENTICATION_FAILED;
    if (!has_method(methods, "password")) {
        bd_fmt(why, len, "the server does not offer password authentication (it offers: %s)", methods);
        return;
    }
    if (read_secret(ep->password_file, pw, sizeof pw) != 0) {
        bd_fmt(why, len, "cannot read password file %s: %s", ep->password_file, strerror(errno));
        return;
    }
    int rc = libssh2_userauth_password_ex(s->ssh, ep->user, (unsigned)strlen(ep->user), pw,
                                          (unsigned)strlen(pw), NULL);
    explicit_bzero(pw, sizeof pw);
    *rc_out = rc;
    if (rc == LIBSSH2_ERROR_PASSWORD_EXPIRED)
        bd_fmt(why, len, "the password from %s has expired", ep->password_file);
    else if (rc != 0)
        bd_fmt(why, len, "the server refused the password from %s", ep->password_file);
}

static bd_sftp_class auth_link_lost(bd_sftp *s, int rc, char *err, size_t errlen)
{
    char *msg = NULL;
    libssh2_session_last_error(s->ssh, &msg, NULL, 0);
    bd_fmt(err, errlen, "%s: authentication: %s (libssh2 error %d)", s->where, msg && *msg ? msg : "error", rc);
    mark_dead(s);
    return BD_SFTP_TRANSIENT;
}

static bd_sftp_class authenticate(bd_sftp *s, const bd_sftp_endpoint *ep, char *err, size_t errlen)
{
    char kwhy[600] = "", pwhy[400] = "";
    int rc = LIBSSH2_ERROR_AUTHENTICATION_FAILED;
    if (!ep->key && !ep->password_file) {
        bd_fmt(err, errlen, "%s: no private key or password_file configured for %s", s->where, ep->user);
        return BD_SFTP_AUTH;
    }
    const char *methods = libssh2_userauth_list(s->ssh, ep->user, (unsigned)strlen(ep->user));
    if (!methods && libssh2_userauth_authenticated(s->ssh))
        return BD_SFTP_OK;
    if (!methods)
        return auth_link_lost(s, libssh2_session_last_errno(s->ssh), err, errlen);
    if (ep->key) {
        pubkey_attempt(s, ep, methods, kwhy, sizeof kwhy, &rc);
        if (rc == 0)
            return BD_SFTP_OK;
        if (link_error(rc))
            return auth_link_lost(s, rc, err, errlen);
    }
    if (ep->password_file) {
        password_attempt(s, ep, methods, pwhy, sizeof pwhy, &rc);
        if (rc == 0)
            return BD_SFTP_OK;
        if (link_error(rc))
            return auth_link_lost(s, rc, err, errlen);
    }
    bd_fmt(err, errlen, "%s: authentication as %s failed: %s%s%s", s->where, ep->user, kwhy,
           *kwhy && *pwhy ? "; " : "", pwhy);
    return BD_SFTP_AUTH;
}

static bd_sftp_class start_sftp(bd_sftp *s, char *err, size_t errlen)
{
    libssh2_keepalive_config(s->ssh, KEEPALIVE_WANT_REPLY, KEEPALIVE_INTERVAL); /* only now: some servers
                                                                                  reject early keepalives */
    s->sftp = libssh2_sftp_init(s->ssh);
    if (s->sftp)
        return BD_SFTP_OK;
    int rc = libssh2_session_last_errno(s->ssh);
    char *msg = NULL;
    libssh2_session_last_error(s->ssh, &msg, NULL, 0);
    bd_fmt(err, errlen, "%s: cannot start the SFTP subsystem: %s (libssh2 error %d)", s->where,
           msg && *msg ? msg : "error", rc);
    if (link_error(rc)) {
        mark_dead(s);
        return BD_SFTP_TRANSIENT;
    }
    return BD_SFTP_FAILURE;
}

/* ---------------------------------------------------------------- public session API */

static int endpoint_valid(const bd_sftp_endpoint *ep, char *err, size_t errlen)
{
    if (!ep || !ep->host || !*ep->host || !ep->user || !*ep->user) {
        bd_fmt(err, errlen, "sftp: endpoint needs a host and a user");
        return 0;
    }
    if (ep->port < 1 || ep->port > 65535) {
        bd_fmt(err, errlen, "sftp: %s: port %d out of range", ep->host, ep->port);
        return 0;
    }
    if (!ep->known_hosts || !*ep->known_hosts) {
        bd_fmt(err, errlen, "sftp: %s:%d: a known_hosts file is required (host keys are never trusted on first "
               "use)", ep->host, ep->port);
        return 0;
    }
    return 1;
}

bd_sftp *bd_sftp_connect(const bd_sftp_endpoint *ep, bd_sftp_class *cls, char *err, size_t errlen)
{
    bd_sftp_class dummy;
    if (!cls)
        cls = &dummy;
    *cls = BD_SFTP_FAILURE;
    if (!endpoint_valid(ep, err, errlen))
        return NULL;
    if (global_init() != 0) {
        bd_fmt(err, errlen, "sftp: libssh2_init failed");
        return NULL;
    }
    bd_sftp *s = calloc(1, sizeof *s);
    if (!s) {
        bd_fmt(err, errlen, "sftp: out of memory");
        return NULL;
    }
    s->fd = -1;
    bd_fmt(s->where, sizeof s->where, strchr(ep->host, ':') ? "[%s]:%d" : "%s:%d", ep->host, ep->port);
    double t0 = bd_monotonic();
    bd_sftp_class c = connect_verified(s, ep, err, errlen);
    if (c == BD_SFTP_OK)
        c = authenticate(s, ep, err, errlen);
    if (c == BD_SFTP_OK)
        c = start_sftp(s, err, errlen);
    if (c != BD_SFTP_OK) {
        drop_link(s, c != BD_SFTP_TRANSIENT);
        free(s);
        *cls = c;
        return NULL;
    }
    log_debug("%s: SFTP session up as %s (host key %s %s) in %.0f ms", s->where, ep->user, s->key_type,
              s->fingerprint, (bd_monotonic() - t0) * 1000.0);
    *cls = BD_SFTP_OK;
    return s;
}

void bd_sftp_close(bd_sftp *s)
{
    if (!s)
        return;
    drop_link(s, s->alive);
    free(s);
}

int bd_sftp_alive(bd_sftp *s)
{
    return s && s->alive;
}

void bd_sftp_keepalive(bd_sftp *s)
{
    int next = 0;
    if (!s || !s->alive)
        return;
    int rc = libssh2_keepalive_send(s->ssh, &next);
    if (rc != 0) {
        log_warn("%s: keepalive failed (libssh2 error %d); session closed", s->where, rc);
        mark_dead(s);
    }
}

const char *bd_sftp_host_fingerprint(const bd_sftp *s)
{
    return s ? s->fingerprint : "";
}

const char *bd_sftp_host_key_type(const bd_sftp *s)
{
    return s ? s->key_type : "";
}

/* ---------------------------------------------------------------- RSA key detection */

static int get_u32(const unsigned char **p, const unsigned char *end, uint32_t *v)
{
    if (end - *p < 4)
        return -1;
    *v = ((uint32_t)(*p)[0] << 24) | ((uint32_t)(*p)[1] << 16) | ((uint32_t)(*p)[2] << 8) | (*p)[3];
    *p += 4;
    return 0;
}

static int get_str(const unsigned char **p, const unsigned char *end, const unsigned char **s, uint32_t *len)
{
    if (get_u32(p, end, len) < 0 || (size_t)(end - *p) < *len)
        return -1;
    *s = *p;
    *p += *len;
    return 0;
}

/* openssh-key-v1: magic, cipher, kdf, kdf options, key count, then the (unencrypted) first public key blob,
 * which starts with the key type. 1 rsa, 0 other, -1 unparsable. */
static int openssh_blob_is_rsa(const unsigned char *b, size_t n)
{
    static const char magic[] = "openssh-key-v1";
    const unsigned char *p = b + sizeof magic, *end = b + n, *str, *type;
    uint32_t len, nkeys, tlen;
    if (n < sizeof magic || memcmp(b, magic, sizeof magic) != 0)
        return -1;
    for (int i = 0; i < 3; i++)
        if (get_str(&p, end, &str, &len) < 0)
            return -1;
    if (get_u32(&p, end, &nkeys) < 0 || nkeys < 1 || get_str(&p, end, &str, &len) < 0)
        return -1;
    const unsigned char *q = str;
    if (get_str(&q, str + len, &type, &tlen) < 0)
        return -1;
    return tlen == 7 && memcmp(type, "ssh-rsa", 7) == 0;
}

static int openssh_pem_is_rsa(const char *text)
{
    const char *b = strstr(text, "-----BEGIN OPENSSH PRIVATE KEY-----");
    const char *e = b ? strstr(b, "-----END OPENSSH PRIVATE KEY-----") : NULL;
    if (!e)
        return -1;
    b += strlen("-----BEGIN OPENSSH PRIVATE KEY-----");
    size_t n = 0;
    char *clean = malloc((size_t)(e - b) + 1);
    if (!clean)
        return -1;
    for (const char *p = b; p < e; p++)
        if (!isspace((unsigned char)*p))
            clean[n++] = *p;
    clean[n] = '\0';
    unsigned char *bin = malloc(n / 4 * 3 + 3);
    int r = -1;
    if (bin && n % 4 == 0) {
        int got = EVP_DecodeBlock(bin, (const unsigned char *)clean, (int)n);
        if (got > 0)
            r = openssh_blob_is_rsa(bin, (size_t)got);
    }
    free(bin);
    free(clean);
    return r;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1; /* never prompt */
}

static int pkcs8_is_rsa(const char *text)
{
    BIO *bio = BIO_new_mem_buf(text, -1);
    if (!bio)
        return -1;
    EVP_PKEY *pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (!pk)
        return -1;
    int id = EVP_PKEY_base_id(pk);
    EVP_PKEY_free(pk);
    return id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS;
}

static char *slurp(const char *path, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *buf = malloc(max + 1);
    ssize_t n = buf ? read(fd, buf, max) : -1;
    close(fd);
    if (n < 0) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static int pub_file_is_rsa(const char *key_path)
{
    char pub[4096];
    if (bd_fmt(pub, sizeof pub, "%s.pub", key_path) < 0)
        return 0;
    char *text = slurp(pub, 256);
    if (!text)
        return 0;
    int r = strncmp(text, "ssh-rsa ", 8) == 0;
    free(text);
    return r;
}

int bd_sftp_key_is_rsa(const char *key_path)
{
    char *text = key_path ? slurp(key_path, 64 * 1024) : NULL;
    if (!text)
        return -1;
    int r = -1;
    if (strstr(text, "-----BEGIN RSA PRIVATE KEY-----"))
        r = 1;
    else if (strstr(text, "-----BEGIN OPENSSH PRIVATE KEY-----"))
        r = openssh_pem_is_rsa(text);
    else if (strstr(text, "-----BEGIN PRIVATE KEY-----"))
        r = pkcs8_is_rsa(text);
    else if (strstr(text, "-----BEGIN EC PRIVATE KEY-----") || strstr(text, "-----BEGIN DSA PRIVATE KEY-----"))
        r = 0;
    explicit_bzero(text, strlen(text));
    free(text);
    return r >= 0 ? r : pub_file_is_rsa(key_path);
}
