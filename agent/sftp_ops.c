/* sftp_ops.c: file operations on a bd_sftp session: list, stat, rename, unlink, mkdir -p, download, upload. */
#include "config.h"
#define BD_SFTP_INTERNAL 1
#include "sftp.h"
#include "fsutil.h"
#include "log.h"
#include "strutil.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

/* libssh2 1.10 pipelines reads and writes in ~30 KB requests up to the buffer size; 256 KiB measured best
 * (409-430 MB/s read, 263-298 MB/s write on loopback). */
#define XFER_BUF (256 * 1024)
#define NAME_BUF 4096

/* An op on a NULL or dead session: report it without touching libssh2. */
static int unusable(bd_sftp *s, const char *op, const char *path, char *err, size_t errlen)
{
    if (s && s->alive && s->sftp)
        return 0;
    bd_fmt(err, errlen, "%s: %s %s: session is closed after an earlier error", s ? s->where : "sftp", op, path);
    return 1;
}

/* Close a handle; a close error only counts when the op itself succeeded. */
static bd_sftp_class close_handle(bd_sftp *s, LIBSSH2_SFTP_HANDLE *h, bd_sftp_class c, const char *op,
                                  const char *path, char *err, size_t errlen)
{
    int rc = libssh2_sftp_close_handle(h);
    if (rc == 0)
        return c;
    if (c != BD_SFTP_OK) {
        bd_sftp_note_rc_(s, rc);
        return c;
    }
    return bd_sftp_fail_(s, rc, op, path, err, errlen);
}

static void fill_entry(bd_sftp_entry *e, const LIBSSH2_SFTP_ATTRIBUTES *a)
{
    e->size = (a->flags & LIBSSH2_SFTP_ATTR_SIZE) ? (uint64_t)a->filesize : 0;
    e->mtime = (a->flags & LIBSSH2_SFTP_ATTR_ACMODTIME) ? (int64_t)a->mtime : 0;
    e->regular = (a->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISREG(a->permissions);
}

/* ---------------------------------------------------------------- list, stat */

typedef struct entries {
    bd_sftp_entry *v;
    size_t n, cap;
} entries;

static int entries_add(entries *l, const char *name, size_t len, const LIBSSH2_SFTP_ATTRIBUTES *a)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 32;
        bd_sftp_entry *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    bd_sftp_entry *e = &l->v[l->n];
    if (!(e->name = bd_strndup(name, len)))
        return -1;
    fill_entry(e, a);
    l->n++;
    return 0;
}

void bd_sftp_entries_free(bd_sftp_entry *e, size_t n)
{
    for (size_t i = 0; e && i < n; i++)
        free(e[i].name);
    free(e);
}

static bd_sftp_class read_dir(bd_sftp *s, LIBSSH2_SFTP_HANDLE *h, const char *dir, entries *l, char *err,
                              size_t errlen)
{
    char name[NAME_BUF];
    LIBSSH2_SFTP_ATTRIBUTES a;
    for (;;) {
        memset(&a, 0, sizeof a);
        int rc = libssh2_sftp_readdir(h, name, sizeof name, &a);
        if (rc == 0)
            return BD_SFTP_OK;
        if (rc < 0)
            return bd_sftp_fail_(s, rc, "list", dir, err, errlen);
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        if (entries_add(l, name, (size_t)rc, &a) < 0) {
            bd_fmt(err, errlen, "%s: list %s: out of memory", s->where, dir);
            return BD_SFTP_FAILURE;
        }
    }
}

bd_sftp_class bd_sftp_list(bd_sftp *s, const char *dir, bd_sftp_entry **out, size_t *n, char *err,
                           size_t errlen)
{
    *out = NULL;
    *n = 0;
    if (unusable(s, "list", dir, err, errlen))
        return BD_SFTP_TRANSIENT;
    LIBSSH2_SFTP_HANDLE *h = libssh2_sftp_opendir(s->sftp, dir);
    if (!h)
        return bd_sftp_fail_(s, 0, "list", dir, err, errlen);
    entries l = {0};
    bd_sftp_class c = read_dir(s, h, dir, &l, err, errlen);
    c = close_handle(s, h, c, "list", dir, err, errlen);
    if (c != BD_SFTP_OK) {
        bd_sftp_entries_free(l.v, l.n);
        return c;
    }
    *out = l.v;
    *n = l.n;
    return BD_SFTP_OK;
}

static bd_sftp_class stat_as(bd_sftp *s, const char *path, int how, bd_sftp_entry *out, int *is_dir,
                             const char *op, char *err, size_t errlen)
{
    LIBSSH2_SFTP_ATTRIBUTES a;
    memset(&a, 0, sizeof a);
    int rc = libssh2_sftp_stat_ex(s->sftp, path, (unsigned)strlen(path), how, &a);
    if (rc != 0)
        return bd_sftp_fail_(s, rc, op, path, err, errlen);
    if (out) {
        out->name = NULL;
        fill_entry(out, &a);
    }
    if (is_dir)
        *is_dir = (a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISDIR(a.permissions);
    return BD_SFTP_OK;
}

bd_sftp_class bd_sftp_stat(bd_sftp *s, const char *path, bd_sftp_entry *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (unusable(s, "stat", path, err, errlen))
        return BD_SFTP_TRANSIENT;
    return stat_as(s, path, LIBSSH2_SFTP_STAT, out, NULL, "stat", err, errlen);
}

/* ---------------------------------------------------------------- rename, unlink, mkdir -p */

/* OpenSSH implements SFTP v3 rename with link()+unlink() and answers a plain FAILURE when the target exists
 * (the OVERWRITE flag is ignored; libssh2 1.10 has no posix-rename@openssh.com): find out which case it was. */
static bd_sftp_class rename_failure(bd_sftp *s, const char *from, const char *to, const char *what,
                                    bd_sftp_class c, char *err, size_t errlen)
{
    char probe[256];
    bd_sftp_class t = stat_as(s, to, LIBSSH2_SFTP_LSTAT, NULL, NULL, "rename", probe, sizeof probe);
    if (t == BD_SFTP_OK) {
        bd_fmt(err, errlen, "%s: rename %s: the target exists", s->where, what);
        return BD_SFTP_EXISTS;
    }
    if (t != BD_SFTP_NOT_FOUND && t != BD_SFTP_PERMISSION)
        return t == BD_SFTP_TRANSIENT ? t : c;
    bd_sftp_class f = stat_as(s, from, LIBSSH2_SFTP_LSTAT, NULL, NULL, "rename", probe, sizeof probe);
    if (f == BD_SFTP_NOT_FOUND) {
        bd_fmt(err, errlen, "%s: rename %s: the source is gone", s->where, what);
        return BD_SFTP_NOT_FOUND;
    }
    return f == BD_SFTP_TRANSIENT ? f : c;
}

bd_sftp_class bd_sftp_rename(bd_sftp *s, const char *from, const char *to, char *err, size_t errlen)
{
    size_t wl = strlen(from) + strlen(to) + 5;
    char *what = malloc(wl);
    if (!what) {
        bd_fmt(err, errlen, "sftp: rename %s: out of memory", from);
        return BD_SFTP_FAILURE;
    }
    snprintf(what, wl, "%s -> %s", from, to);
    bd_sftp_class c = BD_SFTP_TRANSIENT;
    if (!unusable(s, "rename", what, err, errlen)) {
        int rc = libssh2_sftp_rename_ex(s->sftp, from, (unsigned)strlen(from), to, (unsigned)strlen(to),
                                        LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE);
        c = rc == 0 ? BD_SFTP_OK : bd_sftp_fail_(s, rc, "rename", what, err, errlen);
        if (c == BD_SFTP_FAILURE && s->alive)
            c = rename_failure(s, from, to, what, c, err, errlen);
    }
    free(what);
    return c;
}

bd_sftp_class bd_sftp_unlink(bd_sftp *s, const char *path, char *err, size_t errlen)
{
    if (unusable(s, "unlink", path, err, errlen))
        return BD_SFTP_TRANSIENT;
    int rc = libssh2_sftp_unlink_ex(s->sftp, path, (unsigned)strlen(path));
    return rc == 0 ? BD_SFTP_OK : bd_sftp_fail_(s, rc, "unlink", path, err, errlen);
}

/* mkdir one level; an existing folder is fine, an existing non-folder is not. */
static bd_sftp_class mkdir_one(bd_sftp *s, const char *dir, int mode, char *err, size_t errlen)
{
    int rc = libssh2_sftp_mkdir_ex(s->sftp, dir, (unsigned)strlen(dir), mode);
    if (rc == 0)
        return BD_SFTP_OK;
    bd_sftp_class c = bd_sftp_fail_(s, rc, "mkdir", dir, err, errlen);
    if (!s->alive)
        return c;
    char probe[256];
    int is_dir = 0;
    bd_sftp_class t = stat_as(s, dir, LIBSSH2_SFTP_STAT, NULL, &is_dir, "mkdir", probe, sizeof probe);
    if (t == BD_SFTP_OK && is_dir)
        return BD_SFTP_OK;
    if (t == BD_SFTP_OK) {
        bd_fmt(err, errlen, "%s: mkdir %s: it exists and is not a folder", s->where, dir);
        return BD_SFTP_FAILURE;
    }
    return t == BD_SFTP_TRANSIENT ? t : c;
}

bd_sftp_class bd_sftp_mkdir_p(bd_sftp *s, const char *path, int mode, char *err, size_t errlen)
{
    if (unusable(s, "mkdir", path, err, errlen))
        return BD_SFTP_TRANSIENT;
    char probe[256];
    int is_dir = 0;
    if (stat_as(s, path, LIBSSH2_SFTP_STAT, NULL, &is_dir, "mkdir", probe, sizeof probe) == BD_SFTP_OK && is_dir)
        return BD_SFTP_OK;
    if (!s->alive)
        return bd_sftp_fail_(s, 0, "mkdir", path, err, errlen);
    char *p = strdup(path);
    if (!p) {
        bd_fmt(err, errlen, "%s: mkdir %s: out of memory", s->where, path);
        return BD_SFTP_FAILURE;
    }
    bd_sftp_class c = BD_SFTP_OK;
    for (char *q = p + 1; c == BD_SFTP_OK; q++) {
        if (*q != '/' && *q != '\0')
            continue;
        char saved = *q;
        *q = '\0';
        if (q[-1] != '/')
            c = mkdir_one(s, p, mode, err, errlen);
        *q = saved;
        if (!saved)
            break;
    }
    free(p);
    return c;
}

/* ---------------------------------------------------------------- download */

/* libssh2 1.10's read requests: at most this many bytes each (MAX_SFTP_READ_SIZE in its sftp.h). */
#define LIBSSH2_READ_REQUEST_MAX 30000

/* How much to ask libssh2_sftp_read for. libssh2 1.10 keeps 4 times that much in read requests ahead of the
 * reader, and past the end of a file each of them costs a reply: with the whole 256 KiB buffer, a 1 KB file
 * sent about 35 requests. So a file whose size is known asks for that size and a little more, and only a big or
 * unknown one for the whole buffer. The first round then holds a request past the end, whose end-of-file reply
 * comes in the same round trip: at least LIBSSH2_READ_REQUEST_MAX / 4 + 1 bytes, so that a small file (whose
 * first request is a whole LIBSSH2_READ_REQUEST_MAX) gets a second one; a smaller size made one request, and
 * the end of the file cost a round trip of its own. */
static size_t read_size(uint64_t expected)
{
    if (expected >= XFER_BUF - 4096)
        return XFER_BUF; /* BD_SFTP_SIZE_UNKNOWN too */
    size_t want = (size_t)expected + 4096;
    return want <= LIBSSH2_READ_REQUEST_MAX / 4 ? LIBSSH2_READ_REQUEST_MAX / 4 + 1 : want;
}

static bd_sftp_class pull(bd_sftp *s, LIBSSH2_SFTP_HANDLE *h, const char *remote, int fd, EVP_MD_CTX *md,
                          char *buf, size_t bufsize, uint64_t *bytes, char *err, size_t errlen)
{
    for (;;) {
        ssize_t n = libssh2_sftp_read(h, buf, bufsize);
        if (n == 0)
            return BD_SFTP_OK;
        if (n < 0)
            return bd_sftp_fail_(s, (int)n, "download", remote, err, errlen);
        if (bd_write_all(fd, buf, (size_t)n) < 0) {
            bd_fmt(err, errlen, "%s: download %s: local write: %s", s->where, remote, strerror(errno));
            return BD_SFTP_FAILURE;
        }
        if (EVP_DigestUpdate(md, buf, (size_t)n) != 1) {
            bd_fmt(err, errlen, "%s: download %s: SHA-256 failed", s->where, remote);
            return BD_SFTP_FAILURE;
        }
        *bytes += (uint64_t)n;
    }
}

bd_sftp_class bd_sftp_download(bd_sftp *s, const char *remote, uint64_t expected, int fd, uint64_t *bytes,
                               char sha256_hex[65], char *err, size_t errlen)
{
    *bytes = 0;
    sha256_hex[0] = '\0';
    if (unusable(s, "download", remote, err, errlen))
        return BD_SFTP_TRANSIENT;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char *buf = malloc(XFER_BUF);
    if (!md || !buf || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        free(buf);
        bd_fmt(err, errlen, "%s: download %s: out of memory", s->where, remote);
        return BD_SFTP_FAILURE;
    }
    bd_sftp_class c;
    LIBSSH2_SFTP_HANDLE *h =
        libssh2_sftp_open_ex(s->sftp, remote, (unsigned)strlen(remote), LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
    if (!h) {
        c = bd_sftp_fail_(s, 0, "download", remote, err, errlen);
    } else {
        c = pull(s, h, remote, fd, md, buf, read_size(expected), bytes, err, errlen);
        c = close_handle(s, h, c, "download", remote, err, errlen);
    }
    unsigned char digest[32];
    unsigned int dl = 0;
    if (c == BD_SFTP_OK && EVP_DigestFinal_ex(md, digest, &dl) == 1 && dl == sizeof digest)
        bd_hex(sha256_hex, digest, sizeof digest);
    else if (c == BD_SFTP_OK) {
        bd_fmt(err, errlen, "%s: download %s: SHA-256 failed", s->where, remote);
        c = BD_SFTP_FAILURE;
    }
    EVP_MD_CTX_free(md);
    free(buf);
    return c;
}

/* ---------------------------------------------------------------- upload */

static bd_sftp_class push(bd_sftp *s, LIBSSH2_SFTP_HANDLE *h, int lfd, const char *local, const char *tmp,
                          char *buf, uint64_t *sent, char *err, size_t errlen)
{
    for (;;) {
        int n = bd_read_all(lfd, buf, XFER_BUF);
        if (n < 0) {
            bd_fmt(err, errlen, "%s: upload %s: local read: %s", s->where, local, strerror(errno));
            return BD_SFTP_FAILURE;
        }
        if (n == 0)
            return BD_SFTP_OK;
        for (size_t off = 0; off < (size_t)n;) {
            ssize_t w = libssh2_sftp_write(h, buf + off, (size_t)n - off);
            if (w < 0)
                return bd_sftp_fail_(s, (int)w, "upload", tmp, err, errlen);
            off += (size_t)w;
        }
        *sent += (uint64_t)n;
    }
}

/* fsync@openssh.com; a server without it still gets the data, only later on its disk. */
static bd_sftp_class sync_remote(bd_sftp *s, LIBSSH2_SFTP_HANDLE *h, const char *tmp, char *err, size_t errlen)
{
    int rc = libssh2_sftp_fsync(h);
    if (rc == 0)
        return BD_SFTP_OK;
    if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && libssh2_sftp_last_error(s->sftp) == LIBSSH2_FX_OP_UNSUPPORTED) {
        log_warn("%s: upload %s: the server does not support fsync; relying on its own flushing", s->where, tmp);
        return BD_SFTP_OK;
    }
    return bd_sftp_fail_(s, rc, "fsync", tmp, err, errlen);
}

static bd_sftp_class write_temp(bd_sftp *s, int lfd, int mode, const char *local, const char *tmp,
                                uint64_t *sent, char *err, size_t errlen)
{
    char *buf = malloc(XFER_BUF);
    if (!buf) {
        bd_fmt(err, errlen, "%s: upload %s: out of memory", s->where, local);
        return BD_SFTP_FAILURE;
    }
    LIBSSH2_SFTP_HANDLE *h = libssh2_sftp_open_ex(s->sftp, tmp, (unsigned)strlen(tmp),
                                                  LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL, mode,
                                                  LIBSSH2_SFTP_OPENFILE);
    bd_sftp_class c;
    if (!h) {
        c = bd_sftp_fail_(s, 0, "upload", tmp, err, errlen);
    } else {
        c = push(s, h, lfd, local, tmp, buf, sent, err, errlen);
        if (c == BD_SFTP_OK)
            c = sync_remote(s, h, tmp, err, errlen);
        c = close_handle(s, h, c, "upload", tmp, err, errlen); /* a close error can mean lost data */
    }
    free(buf);
    return c;
}

/* "<dir>/.<base>.<16 hex>.part" beside remote_final */
static char *temp_name(const char *remote_final)
{
    const char *slash = strrchr(remote_final, '/');
    const char *base = slash ? slash + 1 : remote_final;
    size_t dirlen = slash ? (size_t)(slash - remote_final) + 1 : 0;
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        uint64_t v = (uint64_t)bd_now_ms() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)clock();
        memcpy(rnd, &v, sizeof rnd);
    }
    char hex[17];
    bd_hex(hex, rnd, sizeof rnd);
    size_t len = dirlen + strlen(base) + 32;
    char *t = malloc(len);
    if (t)
        snprintf(t, len, "%.*s.%s.%s.part", (int)dirlen, remote_final, base, hex);
    return t;
}

/* Does remote_final exist already? OK with *done = 1 if it has our size, EXISTS if not, NOT_FOUND = go on. */
static bd_sftp_class existing_final(bd_sftp *s, const char *final, uint64_t size, int *done, char *err,
                                    size_t errlen)
{
    bd_sftp_entry e;
    *done = 0;
    bd_sftp_class c = stat_as(s, final, LIBSSH2_SFTP_LSTAT, &e, NULL, "upload", err, errlen);
    if (c != BD_SFTP_OK)
        return c;
    if (e.regular && e.size == size) {
        log_info("%s: upload %s: already there with the same size (%llu bytes); counting it as done", s->where,
                 final, (unsigned long long)size);
        *done = 1;
        return BD_SFTP_OK;
    }
    bd_fmt(err, errlen, "%s: upload %s: it exists already with %s%llu bytes (ours: %llu); not replacing it",
           s->where, final, e.regular ? "" : "a non-file of ", (unsigned long long)e.size,
           (unsigned long long)size);
    return BD_SFTP_EXISTS;
}

/* Temp written and synced: rename it into place; on a lost race decide by size, and never leave the temp. */
static bd_sftp_class publish(bd_sftp *s, const char *tmp, const char *final, uint64_t sent, char *err,
                             size_t errlen)
{
    char scratch[256];
    bd_sftp_class c = bd_sftp_rename(s, tmp, final, err, errlen);
    if (c == BD_SFTP_OK)
        return c;
    if (c == BD_SFTP_EXISTS) {
        int done = 0;
        c = existing_final(s, final, sent, &done, err, errlen);
        if (c == BD_SFTP_NOT_FOUND) /* gone again in between: report the conflict, the caller retries */
            c = BD_SFTP_EXISTS;
    }
    if (s->alive && bd_sftp_unlink(s, tmp, scratch, sizeof scratch) != BD_SFTP_OK)
        log_warn("%s", scratch);
    return c;
}

static bd_sftp_class upload_fd(bd_sftp *s, int lfd, const struct stat *st, const char *local, const char *final,
                               char *err, size_t errlen)
{
    int done = 0;
    bd_sftp_class c = existing_final(s, final, (uint64_t)st->st_size, &done, err, errlen);
    if (c != BD_SFTP_NOT_FOUND)
        return c; /* done, a conflict, or an error */
    char *tmp = temp_name(final);
    if (!tmp) {
        bd_fmt(err, errlen, "%s: upload %s: out of memory", s->where, final);
        return BD_SFTP_FAILURE;
    }
    uint64_t sent = 0;
    c = write_temp(s, lfd, (int)(st->st_mode & 0666), local, tmp, &sent, err, errlen);
    if (c == BD_SFTP_OK) {
        c = publish(s, tmp, final, sent, err, errlen);
    } else if (s->alive) {
        char scratch[256];
        if (bd_sftp_unlink(s, tmp, scratch, sizeof scratch) != BD_SFTP_OK)
            log_debug("%s", scratch);
    }
    free(tmp);
    return c;
}

bd_sftp_class bd_sftp_upload(bd_sftp *s, const char *local, const char *remote_final, char *err, size_t errlen)
{
    if (unusable(s, "upload", remote_final, err, errlen))
        return BD_SFTP_TRANSIENT;
    const char *slash = strrchr(remote_final, '/');
    if (!*(slash ? slash + 1 : remote_final)) {
        bd_fmt(err, errlen, "%s: upload %s: the remote path names a folder, not a file", s->where, remote_final);
        return BD_SFTP_FAILURE;
    }
    struct stat st;
    int lfd = open(local, O_RDONLY | O_CLOEXEC);
    int e = errno;
    if (lfd >= 0 && fstat(lfd, &st) != 0)
        e = errno;
    else if (lfd >= 0 && !S_ISREG(st.st_mode))
        e = EINVAL;
    else if (lfd >= 0)
        e = 0;
    if (e != 0) {
        if (lfd >= 0)
            close(lfd);
        bd_fmt(err, errlen, "%s: upload %s: cannot read local file %s: %s", s->where, remote_final, local,
               e == EINVAL ? "not a regular file" : strerror(e));
        return BD_SFTP_FAILURE;
    }
    bd_sftp_class c = upload_fd(s, lfd, &st, local, remote_final, err, errlen);
    close(lfd);
    return c;
}
