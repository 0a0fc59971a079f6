/* ledger_wal.c: the ledger's write-ahead log: fixed-size zero-filled file, checksummed records, one fdatasync each. */
#include "config.h"
#include "ledger_wal.h"
#include "fsutil.h"
#include "strutil.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#define WAL_MAGIC 0x31574442u /* "BDW1" */
#define NO_STRING UINT32_MAX  /* the length of a NULL string (no ledger entry) */

/* A record: this head, then per put four uint32 lengths (each counting its string's NUL) and the four strings. */
typedef struct wal_head {
    uint32_t magic;
    uint32_t len; /* bytes after the head */
    uint64_t seq;
    uint32_t count; /* puts */
    uint32_t crc;   /* CRC-32 of len, seq, count and the bytes after the head */
} wal_head;

struct bd_wal {
    int fd;
    size_t size;   /* of the file: the log's capacity */
    size_t offset; /* where the next record goes */
    uint64_t last_seq;
};

/* ---------------------------------------------------------------- the file */

/* A zero-filled file of size bytes under a temporary name, fsynced, then renamed to path (folder fsynced). */
static int create_zeroed(const char *path, size_t size)
{
    char tmp[4096];
    if (bd_fmt(tmp, sizeof tmp, "%s.new", path) < 0)
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    static const char zeros[64 * 1024];
    int rc = 0;
    for (size_t done = 0; done < size && rc == 0; done += sizeof zeros)
        rc = bd_write_all(fd, zeros, size - done < sizeof zeros ? size - done : sizeof zeros);
    if (bd_fsync_close(fd) < 0 || rc < 0 || bd_rename_durable(tmp, path, 0) < 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        return -1;
    }
    return 0;
}

bd_wal *bd_wal_open(const char *path, size_t size, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) < 0 && (errno != ENOENT || create_zeroed(path, size) < 0)) {
        bd_fmt(err, errlen, "write-ahead log %s: cannot create: %s", path, strerror(errno));
        return NULL;
    }
    bd_wal *w = calloc(1, sizeof *w);
    if (!w) {
        bd_fmt(err, errlen, "write-ahead log %s: out of memory", path);
        return NULL;
    }
    if ((w->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0 || fstat(w->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        bd_fmt(err, errlen, "write-ahead log %s: cannot open: %s", path,
               w->fd >= 0 && !S_ISREG(st.st_mode) ? "not a regular file" : strerror(errno));
        bd_wal_close(w);
        return NULL;
    }
    w->size = (size_t)st.st_size; /* a shorter file (cut by hand) only sends more puts straight to LMDB */
    return w;
}

void bd_wal_close(bd_wal *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    free(w);
}

uint64_t bd_wal_last_seq(const bd_wal *w)
{
    return w->last_seq;
}

void bd_wal_rewind(bd_wal *w)
{
    w->offset = 0;
}

/* ---------------------------------------------------------------- records */

static uint32_t head_crc(const wal_head *h, const unsigned char *body)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, (const Bytef *)&h->len, sizeof h->len);
    crc = crc32(crc, (const Bytef *)&h->seq, sizeof h->seq);
    crc = crc32(crc, (const Bytef *)&h->count, sizeof h->count);
    return (uint32_t)crc32(crc, body, (uInt)h->len);
}

static size_t string_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static const char *const *put_strings(const bd_journal_put *p, const char *out[4])
{
    out[0] = p->claim_id, out[1] = p->journal_json, out[2] = p->sha256, out[3] = p->ledger_json;
    return out;
}

/* The record's body (after the head); *len its size. NULL when out of memory or too big for a record. */
static unsigned char *encode_body(const bd_journal_put *puts, size_t n, size_t *len)
{
    const char *s[4];
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        put_strings(&puts[i], s);
        total += 4 * sizeof(uint32_t);
        for (int k = 0; k < 4; k++)
            total += string_size(s[k]);
    }
    unsigned char *body = total < UINT32_MAX ? malloc(total ? total : 1) : NULL;
    unsigned char *p = body;
    for (size_t i = 0; body && i < n; i++) {
        put_strings(&puts[i], s);
        for (int k = 0; k < 4; k++) {
            uint32_t l = s[k] ? (uint32_t)string_size(s[k]) : NO_STRING;
            memcpy(p, &l, sizeof l), p += sizeof l;
        }
        for (int k = 0; k < 4; k++)
            if (s[k])
                memcpy(p, s[k], string_size(s[k])), p += string_size(s[k]);
    }
    *len = total;
    return body;
}

/* The puts of a body, pointing into it; -1 when it is not well formed. */
static int decode_body(unsigned char *body, size_t len, bd_journal_put *puts, uint32_t count)
{
    size_t at = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t l[4];
        const char *s[4];
        if (len - at < sizeof l)
            return -1;
        memcpy(l, body + at, sizeof l), at += sizeof l;
        for (int k = 0; k < 4; k++) {
            s[k] = NULL;
            if (l[k] == NO_STRING)
                continue;
            if (l[k] == 0 || len - at < l[k] || body[at + l[k] - 1] != '\0')
                return -1;
            s[k] = (const char *)body + at, at += l[k];
        }
        if (!s[0] || !s[1])
            return -1;
        puts[i] = (bd_journal_put){.claim_id = s[0], .journal_json = s[1], .sha256 = s[2], .ledger_json = s[3]};
    }
    return at == len ? 0 : -1;
}

int bd_wal_append(bd_wal *w, const bd_journal_put *puts, size_t n, char *err, size_t errlen)
{
    size_t len;
    unsigned char *body = encode_body(puts, n, &len);
    if (!body) {
        bd_fmt(err, errlen, "write-ahead log: out of memory");
        return -1;
    }
    if (len > w->size || w->size - len < sizeof(wal_head) || w->offset > w->size - len - sizeof(wal_head)) {
        free(body);
        return 1;
    }
    wal_head h = {.magic = WAL_MAGIC, .len = (uint32_t)len, .seq = ++w->last_seq, .count = (uint32_t)n};
    h.crc = head_crc(&h, body);
    struct iovec iov[2] = {{&h, sizeof h}, {body, len}};
    ssize_t wrote = pwritev(w->fd, iov, 2, (off_t)w->offset);
    int rc = wrote == (ssize_t)(sizeof h + len) && fdatasync(w->fd) == 0 ? 0 : -1;
    if (rc < 0)
        bd_fmt(err, errlen, "write-ahead log: %s", wrote < 0 || wrote == (ssize_t)(sizeof h + len)
                                                       ? strerror(errno) : "short write");
    else
        w->offset += sizeof h + len;
    free(body);
    return rc;
}

/* The next record at *at, when it is whole and follows seq: 1 with its puts (pointing into buf) in *puts and
 * *count, 0 at the end of the log, -1 when out of memory. */
static int next_record(unsigned char *buf, size_t size, size_t *at, uint64_t seq, bd_journal_put **puts,
                       size_t *count)
{
    wal_head h;
    if (size - *at < sizeof h)
        return 0;
    memcpy(&h, buf + *at, sizeof h);
    unsigned char *body = buf + *at + sizeof h;
    if (h.magic != WAL_MAGIC || h.seq != seq + 1 || h.len > size - *at - sizeof h || h.count == 0 ||
        h.count > h.len / (4 * sizeof(uint32_t)) || head_crc(&h, body) != h.crc)
        return 0;
    if (!(*puts = calloc(h.count, sizeof **puts)))
        return -1;
    if (decode_body(body, h.len, *puts, h.count) < 0) {
        free(*puts);
        return 0;
    }
    *at += sizeof h + h.len;
    *count = h.count;
    return 1;
}

static int read_whole(int fd, unsigned char *buf, size_t size)
{
    size_t got = 0;
    while (got < size) {
        ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

int bd_wal_replay(bd_wal *w, uint64_t applied, int (*cb)(const bd_journal_put *puts, size_t n, void *arg),
                  void *arg, char *err, size_t errlen)
{
    unsigned char *buf = malloc(w->size ? w->size : 1);
    if (!buf || read_whole(w->fd, buf, w->size) < 0) {
        bd_fmt(err, errlen, "write-ahead log: cannot read: %s", buf ? strerror(errno) : "out of memory");
        free(buf);
        return -1;
    }
    size_t at = 0, n = 0;
    bd_journal_put *puts = NULL;
    int rc;
    w->last_seq = applied;
    while ((rc = next_record(buf, w->size, &at, w->last_seq, &puts, &n)) == 1) {
        rc = cb(puts, n, arg);
        free(puts);
        if (rc < 0)
            break;
        w->last_seq++;
    }
    if (rc < 0)
        bd_fmt(err, errlen, "write-ahead log: cannot take record %llu: out of memory",
               (unsigned long long)w->last_seq + 1);
    w->offset = at;
    free(buf);
    return rc < 0 ? -1 : 0;
}
