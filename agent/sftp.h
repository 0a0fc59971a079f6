/* sftp.h: SFTP client layer over libssh2: strict host keys, key/password auth, classified errors, file ops. */
#ifndef BD_SFTP_H
#define BD_SFTP_H
#include <stddef.h>
#include <stdint.h>

typedef enum bd_sftp_class {
    BD_SFTP_OK = 0,
    BD_SFTP_NOT_FOUND,
    BD_SFTP_PERMISSION,
    BD_SFTP_EXISTS,
    BD_SFTP_TRANSIENT, /* network, timeout, server gone: retry with backoff */
    BD_SFTP_AUTH,
    BD_SFTP_HOSTKEY,
    BD_SFTP_FAILURE /* anything else */
} bd_sftp_class;

/* "ok", "not_found", "permission", "exists", "transient", "auth", "host_key", "failure" */
const char *bd_sftp_class_name(bd_sftp_class c);

typedef struct bd_sftp_endpoint {
    const char *host;
    int port;
    const char *user;
    const char *key;             /* private key file, or NULL */
    const char *passphrase_file; /* optional: first line is the key's passphrase */
    const char *password_file;   /* optional: password auth */
    const char *known_hosts;     /* required */
    double timeout;              /* seconds, every blocking call: connect, handshake, each SFTP op */
} bd_sftp_endpoint;

typedef struct bd_sftp bd_sftp;

typedef struct bd_sftp_entry {
    char *name;
    uint64_t size;
    int64_t mtime;
    int regular;
} bd_sftp_entry;

/* Connect, verify the host key against known_hosts (never trusting on first use), authenticate and start
 * SFTP. NULL on failure with *cls set and a reason in err. Secrets never appear in err or in the log. */
bd_sftp *bd_sftp_connect(const bd_sftp_endpoint *ep, bd_sftp_class *cls, char *err, size_t errlen);
void bd_sftp_close(bd_sftp *s); /* NULL-safe; sends disconnect if the link is alive */
int bd_sftp_alive(bd_sftp *s);  /* 0 once a transient error killed the session */
void bd_sftp_keepalive(bd_sftp *s); /* call regularly; libssh2_keepalive_send */
/* SHA256:base64 fingerprint of the server's host key, as OpenSSH prints it (for messages) */
const char *bd_sftp_host_fingerprint(const bd_sftp *s);
const char *bd_sftp_host_key_type(const bd_sftp *s); /* "ssh-ed25519", "ecdsa-sha2-nistp256", ... */
/* 1 if the private key file holds an RSA key, 0 if it holds another (or an unrecognised) kind, -1 if it
 * cannot be read. Looks at PEM headers, the unencrypted public part of openssh-key-v1 files, PKCS#8, and
 * finally the ".pub" file beside it. */
int bd_sftp_key_is_rsa(const char *key_path);
/* Release libssh2's global state (libssh2_exit) once no session is left; for a clean valgrind run. */
void bd_sftp_global_cleanup(void);

/* Every op returns a bd_sftp_class and writes a human reason into err on failure. */
/* Directory entries as the server sends them (dotfiles included; only "." and ".." are dropped). */
bd_sftp_class bd_sftp_list(bd_sftp *s, const char *dir, bd_sftp_entry **out, size_t *n, char *err,
                           size_t errlen);
void bd_sftp_entries_free(bd_sftp_entry *e, size_t n);
bd_sftp_class bd_sftp_stat(bd_sftp *s, const char *path, bd_sftp_entry *out, char *err,
                           size_t errlen); /* out->name NULL */
/* EXISTS if `to` exists, NOT_FOUND if `from` is gone */
bd_sftp_class bd_sftp_rename(bd_sftp *s, const char *from, const char *to, char *err, size_t errlen);
bd_sftp_class bd_sftp_unlink(bd_sftp *s, const char *path, char *err, size_t errlen);
bd_sftp_class bd_sftp_mkdir_p(bd_sftp *s, const char *path, int mode, char *err, size_t errlen);
/* Download into fd (already open for writing at offset 0): pipelined reads with up to a 256 KiB buffer, sized
 * to `expected` (the size a listing or a stat gave, or BD_SFTP_SIZE_UNKNOWN; a file of any other size still
 * downloads whole); computes the SHA-256 of the bytes and returns their count; the caller fsyncs. */
#define BD_SFTP_SIZE_UNKNOWN UINT64_MAX
bd_sftp_class bd_sftp_download(bd_sftp *s, const char *remote, uint64_t expected, int fd, uint64_t *bytes,
                               char sha256_hex[65], char *err, size_t errlen);
/* Upload a local file to remote_final: write "<dir>/.<base>.<random>.part", fsync it, then rename.
 * If remote_final already exists with the same size, treat as done (an earlier push that crashed before it
 * could record success) and remove the temp; if it exists with another size return EXISTS. */
bd_sftp_class bd_sftp_upload(bd_sftp *s, const char *local, const char *remote_final, char *err,
                             size_t errlen);

#ifdef BD_SFTP_INTERNAL
/* Shared by sftp_session.c and sftp_ops.c only. */
#include <libssh2.h>
#include <libssh2_sftp.h>

struct bd_sftp {
    LIBSSH2_SESSION *ssh;
    LIBSSH2_SFTP *sftp;
    int fd;
    int alive;
    char where[300];      /* "host:port", for messages */
    char fingerprint[64]; /* "SHA256:..." */
    char key_type[32];
};

/* Classify a failed libssh2 call (rc < 0, or the session's last errno when rc is 0), mark the session dead
 * when the link is unusable, and write "<where>: <op> <path>: <reason>" into err. */
bd_sftp_class bd_sftp_fail_(bd_sftp *s, int rc, const char *op, const char *path, char *err, size_t errlen);
/* The SFTP status code of the last SFTP_PROTOCOL failure, mapped to a class (no session change). */
bd_sftp_class bd_sftp_status_class_(unsigned long fx);
/* After a failed libssh2 call whose error is already reported: kill the session unless rc is an SFTP status. */
void bd_sftp_note_rc_(bd_sftp *s, int rc);
#endif
#endif
