/* cmd_check_remote.c: `batchdrop check` for SFTP endpoints: key and known_hosts files, RSA keys, and --connect. */
#include "config.h"
#include "commands.h"
#include "conf.h"
#include "sftp.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A secret file: present, readable by us, and readable by no one but its owner. */
static int check_secret_file(const bd_remote *r, const char *what, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0 || access(path, R_OK) < 0) {
        fprintf(stderr, "%s: %s %s: %s\n", r->source, what, path, strerror(errno));
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        fprintf(stderr, "%s: %s %s is readable by others (mode %04o); chmod 600 it\n", r->source, what, path,
                (unsigned)(st.st_mode & 07777));
        return -1;
    }
    return 0;
}

static int check_key(const bd_remote *r)
{
    if (!r->key)
        return 0;
    if (check_secret_file(r, "key", r->key) < 0)
        return -1;
    if (bd_sftp_key_is_rsa(r->key) == 1) {
        fprintf(stderr,
                "%s: key %s is an RSA key: libssh2 1.10 signs RSA with SHA-1 only, which OpenSSH 8.8 and later "
                "refuse by default; use an ed25519 key (ssh-keygen -t ed25519)\n",
                r->source, r->key);
        return -1;
    }
    return 0;
}

static int check_known_hosts(const bd_remote *r)
{
    struct stat st;
    if (stat(r->known_hosts, &st) < 0 || access(r->known_hosts, R_OK) < 0) {
        fprintf(stderr, "%s: known_hosts %s: %s (create it with ssh-keyscan, then check the fingerprints with "
                        "the partner)\n", r->source, r->known_hosts, strerror(errno));
        return -1;
    }
    if (st.st_size == 0) {
        fprintf(stderr, "%s: known_hosts %s is empty: host keys are never trusted on first use\n", r->source,
                r->known_hosts);
        return -1;
    }
    return 0;
}

static int try_connect(const bd_remote *r, const char *what, const char *partner)
{
    char err[1024];
    bd_sftp_class cls;
    bd_sftp_entry st;
    bd_sftp_endpoint ep = {r->host, r->port, r->user, r->key, r->passphrase_file, r->password_file,
                           r->known_hosts, r->timeout};
    bd_sftp *s = bd_sftp_connect(&ep, &cls, err, sizeof err);
    if (!s) {
        fprintf(stderr, "%s: partner '%s': %s: cannot connect (%s): %s\n", r->source, partner, what,
                bd_sftp_class_name(cls), err);
        return -1;
    }
    cls = bd_sftp_stat(s, r->path, &st, err, sizeof err);
    int rc = 0;
    if (cls != BD_SFTP_OK) {
        fprintf(stderr, "%s: partner '%s': %s: path %s (%s): %s\n", r->source, partner, what, r->path,
                bd_sftp_class_name(cls), err);
        rc = -1;
    } else {
        printf("partner %s: %s sftp://%s@%s:%d%s: connected (host key %s %s)\n", partner, what, r->user, r->host,
               r->port, r->path, bd_sftp_host_key_type(s), bd_sftp_host_fingerprint(s));
    }
    bd_sftp_close(s);
    return rc;
}

int bd_check_remote(const bd_remote *r, const char *what, const char *partner, int connect)
{
    int rc = 0;
    rc |= check_key(r);
    if (r->passphrase_file)
        rc |= check_secret_file(r, "passphrase_file", r->passphrase_file);
    if (r->password_file)
        rc |= check_secret_file(r, "password_file", r->password_file);
    rc |= check_known_hosts(r);
    if (rc == 0 && connect)
        rc |= try_connect(r, what, partner);
    return rc ? -1 : 0;
}
