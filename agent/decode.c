/* decode.c: streaming plain/gzip/zstd decoder: size limits, raw SHA-256, completeness probe. */
#include "decode.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#define BD_DEC_INBUF (256u * 1024u)
#define BD_DEC_ERRLEN 256

typedef enum { GZ_IN_MEMBER = 0, GZ_BETWEEN, GZ_PADDING } gz_state;

struct bd_decoder {
    int fd;
    int use_pread; /* probe mode: pread at bytes_in, leaves the fd offset alone */
    bd_compression comp;
    bd_decode_limits lim;
    bd_decode_status status;
    int done;
    char err[BD_DEC_ERRLEN];

    unsigned char *inbuf;
    size_t in_pos, in_len;
    int eof;
    uint64_t bytes_in, bytes_out;

    EVP_MD_CTX *md;
    int md_final;
    char sha_hex[65];

    z_stream z;
    int z_init;
    gz_state gz;
    unsigned members;

    ZSTD_DCtx *zd;
    size_t zlast; /* last ZSTD_decompressStream return: 0 = frame complete and flushed */
};

/* ------------------------------------------------------------------ sniffing */

struct magic {
    const char *name;
    const unsigned char *bytes;
    size_t len;
};

static const struct magic unsupported_magics[] = {
    { "zip", (const unsigned char *)"PK\x03\x04", 4 },
    { "zip", (const unsigned char *)"PK\x05\x06", 4 },
    { "zip", (const unsigned char *)"PK\x07\x08", 4 },
    { "xz", (const unsigned char *)"\xfd\x37\x7a\x58\x5a\x00", 6 },
    { "7z", (const unsigned char *)"\x37\x7a\xbc\xaf\x27\x1c", 6 },
    { "lz4", (const unsigned char *)"\x04\x22\x4d\x18", 4 },
    { "compress (.Z)", (const unsigned char *)"\x1f\x9d", 2 },
};

static int has_prefix(const unsigned char *head, size_t len, const unsigned char *m, size_t mlen)
{
    return len >= mlen && memcmp(head, m, mlen) == 0;
}

/* bzip2: "BZh" + block size digit + block magic (pi) or end-of-stream magic (sqrt(pi)). */
static int is_bzip2(const unsigned char *head, size_t len)
{
    static const unsigned char block[6] = { 0x31, 0x41, 0x59, 0x26, 0x53, 0x59 };
    static const unsigned char eos[6] = { 0x17, 0x72, 0x45, 0x38, 0x50, 0x90 };

    if (len < 10 || memcmp(head, "BZh", 3) != 0 || head[3] < '1' || head[3] > '9')
        return 0;
    return memcmp(head + 4, block, 6) == 0 || memcmp(head + 4, eos, 6) == 0;
}

static int is_zstd_magic(const unsigned char *head, size_t len)
{
    static const unsigned char frame[4] = { 0x28, 0xb5, 0x2f, 0xfd };

    if (has_prefix(head, len, frame, 4))
        return 1;
    return len >= 4 && (head[0] & 0xf0) == 0x50 && head[1] == 0x2a && head[2] == 0x4d &&
           head[3] == 0x18;
}

bd_compression bd_sniff(const unsigned char *head, size_t len, const char **unsupported_name)
{
    const char *uns = NULL;
    bd_compression c = BD_COMP_PLAIN;

    if (len >= 2 && head[0] == 0x1f && head[1] == 0x8b) {
        c = BD_COMP_GZIP;
    } else if (is_zstd_magic(head, len)) {
        c = BD_COMP_ZSTD;
    } else if (is_bzip2(head, len)) {
        uns = "bzip2";
    } else {
        for (size_t i = 0; i < sizeof unsupported_magics / sizeof unsupported_magics[0]; i++) {
            const struct magic *m = &unsupported_magics[i];
            if (has_prefix(head, len, m->bytes, m->len)) {
                uns = m->name;
                break;
            }
        }
    }
    if (unsupported_name)
        *unsupported_name = uns;
    return c;
}

const char *bd_compression_name(bd_compression c)
{
    switch (c) {
    case BD_COMP_PLAIN:
        return "plain";
    case BD_COMP_GZIP:
        return "gzip";
    case BD_COMP_ZSTD:
        return "zstd";
    }
    return "unknown";
}

/* ------------------------------------------------------------------ errors and input */

__attribute__((format(printf, 3, 4))) static ssize_t fail(bd_decoder *d, bd_decode_status st,
                                                          const char *fmt, ...)
{
    va_list ap;

    if (d->status != BD_DEC_OK)
        return -1; /* keep the first error */
    d->status = st;
    va_start(ap, fmt);
    vsnprintf(d->err, sizeof d->err, fmt, ap);
    va_end(ap);
    return -1;
}

/* Raw input offset of the next unconsumed byte. */
static unsigned long long consumed(const bd_decoder *d)
{
    return (unsigned long long)(d->bytes_in - (d->in_len - d->in_pos));
}

static ssize_t raw_read(bd_decoder *d, void *buf, size_t n)
{
    if (d->use_pread)
        return pread(d->fd, buf, n, (off_t)d->bytes_in);
    return read(d->fd, buf, n);
}

/* How many bytes the next fill may read: never more than one byte past max_input. */
static size_t fill_want(const bd_decoder *d)
{
    size_t want = BD_DEC_INBUF;

    if (d->lim.max_input) {
        uint64_t room = d->lim.max_input - d->bytes_in; /* bytes_in <= max_input here */
        if (room < want)
            want = (size_t)room + 1;
    }
    return want;
}

static int hash_update(bd_decoder *d, const unsigned char *p, size_t n)
{
    if (!d->md || EVP_DigestUpdate(d->md, p, n) == 1)
        return 0;
    return (int)fail(d, BD_DEC_IO, "sha256: EVP_DigestUpdate failed");
}

/* Refill the (fully consumed) input buffer: read until it is full or EOF. */
static int fill(bd_decoder *d)
{
    size_t want = fill_want(d);

    d->in_pos = d->in_len = 0;
    while (d->in_len < want) {
        ssize_t n = raw_read(d, d->inbuf + d->in_len, want - d->in_len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return (int)fail(d, BD_DEC_IO, "read error after %llu input bytes: %s",
                             (unsigned long long)d->bytes_in, strerror(errno));
        }
        if (n == 0) {
            d->eof = 1;
            break;
        }
        if (hash_update(d, d->inbuf + d->in_len, (size_t)n) < 0)
            return -1;
        d->in_len += (size_t)n;
        d->bytes_in += (uint64_t)n;
    }
    if (d->lim.max_input && d->bytes_in > d->lim.max_input)
        return (int)fail(d, BD_DEC_TOO_BIG, "input size exceeds the limit of %llu bytes",
                         (unsigned long long)d->lim.max_input);
    return 0;
}

/* Output room for one step: at most one byte past max_output (the bomb guard). */
static size_t out_cap(const bd_decoder *d, size_t len)
{
    if (d->lim.max_output) {
        uint64_t room = d->lim.max_output - d->bytes_out; /* bytes_out <= max_output here */
        if (room < len)
            len = (size_t)room + 1;
    }
    return len;
}

/* Account for n freshly decoded bytes and enforce max_output. */
static ssize_t produced(bd_decoder *d, size_t n)
{
    d->bytes_out += n;
    if (d->lim.max_output && d->bytes_out > d->lim.max_output)
        return fail(d, BD_DEC_TOO_BIG, "decoded size exceeds the limit of %llu bytes",
                    (unsigned long long)d->lim.max_output);
    return (ssize_t)n;
}

/* ------------------------------------------------------------------ plain */

static ssize_t plain_read(bd_decoder *d, unsigned char *buf, size_t len)
{
    size_t n;

    while (d->in_pos == d->in_len) {
        if (d->eof)
            return 0;
        if (fill(d) < 0)
            return -1;
    }
    n = d->in_len - d->in_pos;
    if (n > len)
        n = len;
    memcpy(buf, d->inbuf + d->in_pos, n);
    d->in_pos += n;
    return produced(d, n);
}

/* ------------------------------------------------------------------ gzip */

static ssize_t gz_error(bd_decoder *d, int ret)
{
    const char *msg = d->z.msg ? d->z.msg : zError(ret);

    if (ret == Z_MEM_ERROR)
        return fail(d, BD_DEC_IO, "gzip: out of memory");
    if (ret == Z_NEED_DICT)
        msg = "preset dictionary required";
    return fail(d, BD_DEC_CORRUPT, "gzip: %s at input offset %llu (member %u)", msg, consumed(d),
                d->members);
}

/* Handle bytes after a member's trailer: another member, zero padding or garbage. */
static ssize_t gz_between(bd_decoder *d)
{
    const unsigned char *p = d->inbuf + d->in_pos;
    size_t avail = d->in_len - d->in_pos;

    if (p[0] == 0) {
        d->gz = GZ_PADDING;
        return 0;
    }
    if (p[0] != 0x1f || (avail >= 2 && p[1] != 0x8b))
        return fail(d, BD_DEC_CORRUPT,
                    "gzip: trailing garbage after member %u at input offset %llu", d->members,
                    consumed(d));
    if (inflateReset(&d->z) != Z_OK)
        return fail(d, BD_DEC_IO, "gzip: inflateReset failed");
    d->members++;
    d->gz = GZ_IN_MEMBER;
    return 0;
}

/* Zero padding after the last member: every remaining byte must be zero. */
static ssize_t gz_padding(bd_decoder *d)
{
    for (; d->in_pos < d->in_len; d->in_pos++)
        if (d->inbuf[d->in_pos] != 0)
            return fail(d, BD_DEC_CORRUPT,
                        "gzip: trailing garbage after the zero padding at input offset %llu",
                        consumed(d));
    return 0;
}

/* One inflate step; returns bytes produced (possibly 0) or -1. */
static ssize_t gz_step(bd_decoder *d, unsigned char *buf, size_t len)
{
    size_t cap = out_cap(d, len > UINT_MAX ? UINT_MAX : len);
    int ret;

    d->z.next_in = d->inbuf + d->in_pos;
    d->z.avail_in = (uInt)(d->in_len - d->in_pos);
    d->z.next_out = buf;
    d->z.avail_out = (uInt)cap;
    ret = inflate(&d->z, Z_NO_FLUSH);
    d->in_pos = d->in_len - d->z.avail_in;
    if (ret == Z_STREAM_END)
        d->gz = GZ_BETWEEN;
    else if (ret != Z_OK && !(ret == Z_BUF_ERROR && d->z.avail_in == 0))
        return gz_error(d, ret);
    return produced(d, cap - d->z.avail_out);
}

static ssize_t gz_read(bd_decoder *d, unsigned char *buf, size_t len)
{
    for (;;) {
        ssize_t n = 0;

        if (d->in_pos == d->in_len) {
            if (!d->eof) {
                if (fill(d) < 0)
                    return -1;
                continue;
            }
            if (d->gz == GZ_IN_MEMBER)
                return fail(d, BD_DEC_TRUNCATED,
                            "gzip stream truncated after %llu input bytes (no trailer)",
                            (unsigned long long)d->bytes_in);
            return 0;
        }
        if (d->gz == GZ_PADDING)
            n = gz_padding(d);
        else if (d->gz == GZ_BETWEEN)
            n = gz_between(d);
        else
            n = gz_step(d, buf, len);
        if (n != 0)
            return n;
    }
}

/* ------------------------------------------------------------------ zstd */

static ssize_t zstd_error(bd_decoder *d, size_t ret)
{
    ZSTD_ErrorCode code = ZSTD_getErrorCode(ret);
    bd_decode_status st = BD_DEC_CORRUPT;

    if (code == ZSTD_error_memory_allocation)
        st = BD_DEC_IO;
    else if (code == ZSTD_error_frameParameter_windowTooLarge ||
             code == ZSTD_error_frameParameter_unsupported)
        st = BD_DEC_UNSUPPORTED;
    return fail(d, st, "zstd: %s (after reading %llu input bytes)", ZSTD_getErrorName(ret),
                (unsigned long long)d->bytes_in);
}

/* One ZSTD_decompressStream step; returns bytes produced (possibly 0) or -1. */
static ssize_t zstd_step(bd_decoder *d, unsigned char *buf, size_t len)
{
    ZSTD_inBuffer in = { d->inbuf, d->in_len, d->in_pos };
    ZSTD_outBuffer out = { buf, out_cap(d, len), 0 };
    size_t ret = ZSTD_decompressStream(d->zd, &out, &in);

    d->in_pos = in.pos;
    if (ZSTD_isError(ret))
        return zstd_error(d, ret);
    d->zlast = ret;
    return produced(d, out.pos);
}

/* Can a frame after the first start with this byte: a zstd frame (28 b5 2f fd) or a skippable one (5? 2a 4d 18)?
 * libzstd would also decode the legacy formats of before 1.0 (1e-27 b5 2f fd), which the completeness probe
 * (zstd_walk) cannot walk: the decoder refuses them too, so that what decodes is what the probe passes. */
static int zstd_frame_start(unsigned char first)
{
    return first == 0x28 || (first & 0xf0) == 0x50;
}

static ssize_t zstd_read(bd_decoder *d, unsigned char *buf, size_t len)
{
    for (;;) {
        ssize_t n;

        if (d->in_pos == d->in_len && !d->eof) {
            if (fill(d) < 0)
                return -1;
            continue;
        }
        if (d->in_pos == d->in_len && d->zlast == 0)
            return 0; /* never call with empty input after a complete frame */
        if (d->zlast == 0 && !zstd_frame_start(d->inbuf[d->in_pos]))
            return fail(d, BD_DEC_CORRUPT, "zstd: not a valid frame after %llu input bytes",
                        (unsigned long long)(d->bytes_in - (d->in_len - d->in_pos)));
        n = zstd_step(d, buf, len);
        if (n != 0)
            return n;
        /* At EOF mid-frame, an empty-input call that yields nothing means truncation. */
        if (d->in_pos == d->in_len && d->eof && d->zlast != 0)
            return fail(d, BD_DEC_TRUNCATED,
                        "zstd stream truncated after %llu input bytes (frame incomplete)",
                        (unsigned long long)d->bytes_in);
    }
}

/* ------------------------------------------------------------------ decoder object */

static int codec_init(bd_decoder *d)
{
    if (d->comp == BD_COMP_GZIP) {
        if (inflateInit2(&d->z, 15 + 16) != Z_OK)
            return -1;
        d->z_init = 1;
        d->members = 1;
        d->gz = GZ_IN_MEMBER;
    } else if (d->comp == BD_COMP_ZSTD) {
        d->zd = ZSTD_createDCtx();
        if (!d->zd)
            return -1;
        d->zlast = 1; /* nothing decoded yet */
    }
    return 0;
}

/* Read the first buffer, sniff the format and set up the codec. */
static int decoder_start(bd_decoder *d)
{
    const char *uns = NULL;

    if (fill(d) < 0)
        return 0; /* status holds the error; reported by the first read */
    d->comp = bd_sniff(d->inbuf, d->in_len, &uns);
    if (uns) {
        fail(d, BD_DEC_UNSUPPORTED, "unsupported compression format: %s (only gzip and zstd)", uns);
        return 0;
    }
    return codec_init(d);
}

static int decoder_open(bd_decoder **out, int fd, const bd_decode_limits *lim, int sha256,
                        int use_pread)
{
    bd_decoder *d;

    if (!out || fd < 0) {
        errno = EINVAL;
        return -1;
    }
    *out = NULL;
    d = calloc(1, sizeof *d);
    if (!d)
        return -1;
    d->fd = fd;
    d->use_pread = use_pread;
    if (lim)
        d->lim = *lim;
    d->inbuf = malloc(BD_DEC_INBUF);
    if (d->inbuf && sha256) {
        d->md = EVP_MD_CTX_new();
        if (d->md && EVP_DigestInit_ex(d->md, EVP_sha256(), NULL) != 1) {
            EVP_MD_CTX_free(d->md);
            d->md = NULL;
        }
    }
    if (!d->inbuf || (sha256 && !d->md) || decoder_start(d) < 0) {
        bd_decoder_free(d);
        errno = ENOMEM;
        return -1;
    }
    *out = d;
    return 0;
}

int bd_decoder_open(bd_decoder **out, int fd, const bd_decode_limits *lim, int sha256)
{
    return decoder_open(out, fd, lim, sha256, 0);
}

ssize_t bd_decoder_read(bd_decoder *d, void *buf, size_t len)
{
    ssize_t n;

    if (d->status != BD_DEC_OK)
        return -1;
    if (d->done || len == 0)
        return 0;
    if (len > SSIZE_MAX)
        len = SSIZE_MAX;
    if (d->comp == BD_COMP_GZIP)
        n = gz_read(d, buf, len);
    else if (d->comp == BD_COMP_ZSTD)
        n = zstd_read(d, buf, len);
    else
        n = plain_read(d, buf, len);
    if (n == 0)
        d->done = 1;
    return n;
}

bd_decode_status bd_decoder_status(const bd_decoder *d)
{
    return d->status;
}

const char *bd_decoder_error(const bd_decoder *d)
{
    return d->err;
}

bd_compression bd_decoder_compression(const bd_decoder *d)
{
    return d->comp;
}

uint64_t bd_decoder_input_size(const bd_decoder *d)
{
    struct stat st;
    return d && fstat(d->fd, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
}

uint64_t bd_decoder_bytes_in(const bd_decoder *d)
{
    return d->bytes_in;
}

uint64_t bd_decoder_bytes_out(const bd_decoder *d)
{
    return d->bytes_out;
}

int bd_decoder_sha256_hex(bd_decoder *d, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (!d->md || !d->done || d->status != BD_DEC_OK)
        return -1;
    if (!d->md_final) {
        if (EVP_DigestFinal_ex(d->md, md, &mdlen) != 1 || mdlen != 32)
            return -1;
        for (unsigned i = 0; i < 32; i++)
            snprintf(d->sha_hex + 2 * i, 3, "%02x", md[i]);
        d->md_final = 1;
    }
    memcpy(out, d->sha_hex, 65);
    return 0;
}

void bd_decoder_free(bd_decoder *d)
{
    if (!d)
        return;
    if (d->z_init)
        inflateEnd(&d->z);
    ZSTD_freeDCtx(d->zd);
    EVP_MD_CTX_free(d->md);
    free(d->inbuf);
    free(d);
}

/* ------------------------------------------------------------------ completeness probe */

__attribute__((format(printf, 4, 5))) static bd_decode_status
probe_result(bd_decode_status st, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* A tail shorter than a magic number: truncated if it could still become a frame. */
static int zstd_magic_prefix(const unsigned char *p, size_t n)
{
    static const unsigned char frame[4] = { 0x28, 0xb5, 0x2f, 0xfd };
    static const unsigned char skip[3] = { 0x2a, 0x4d, 0x18 };

    if (memcmp(p, frame, n) == 0)
        return 1;
    return (p[0] & 0xf0) == 0x50 && (n < 2 || memcmp(p + 1, skip, n - 1) == 0);
}

/* Read exactly n bytes at off: 1 when all were there, 0 when the file ends first, -1 on error. */
static int pread_exact(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        got += (size_t)r;
    }
    return 1;
}

#define ZSTD_TRUNC ((uint64_t)-1)
#define ZSTD_BAD ((uint64_t)-2)
#define ZSTD_IOERR ((uint64_t)-3)

/* Walk one frame's block headers with pread (no mmap: a file truncated under
 * us must not raise SIGBUS). Returns the frame's length or a ZSTD_* code. */
static uint64_t zstd_frame_len(int fd, uint64_t off, uint64_t size)
{
    unsigned char h[18]; /* the longest frame header */
    size_t n = size - off < sizeof h ? (size_t)(size - off) : sizeof h;
    if (pread_exact(fd, h, n, off) != 1)
        return ZSTD_IOERR;
    if (n >= 4 && (h[0] & 0xf0) == 0x50 && h[1] == 0x2a && h[2] == 0x4d && h[3] == 0x18) {
        if (n < 8)
            return ZSTD_TRUNC;
        uint64_t len = 8 + ((uint64_t)h[4] | (uint64_t)h[5] << 8 | (uint64_t)h[6] << 16 | (uint64_t)h[7] << 24);
        return off + len > size ? ZSTD_TRUNC : len;
    }
    /* Frame header (RFC 8878 3.1.1.1): magic, descriptor, window, dictionary ID, content size. */
    if (n < 5)
        return ZSTD_TRUNC;
    if (h[0] != 0x28 || h[1] != 0xb5 || h[2] != 0x2f || h[3] != 0xfd)
        return ZSTD_BAD;
    unsigned fhd = h[4];
    static const unsigned dict_bytes[4] = {0, 1, 2, 4}, fcs_bytes[4] = {0, 2, 4, 8};
    int single_segment = (fhd >> 5) & 1, has_checksum = (fhd >> 2) & 1;
    if (fhd & 0x08)
        return ZSTD_BAD; /* reserved bit */
    size_t hsize = 5 + (single_segment ? 0 : 1) + dict_bytes[fhd & 3] +
                   ((fhd >> 6) == 0 ? (size_t)single_segment : fcs_bytes[fhd >> 6]);
    if (off + hsize > size)
        return ZSTD_TRUNC;
    uint64_t pos = off + hsize;
    for (;;) {
        unsigned char b[3];
        int rc = pos + 3 > size ? 0 : pread_exact(fd, b, 3, pos);
        if (rc < 0)
            return ZSTD_IOERR;
        if (rc == 0)
            return ZSTD_TRUNC;
        uint32_t bh = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16;
        unsigned type = (bh >> 1) & 3;
        if (type == 3)
            return ZSTD_BAD;
        pos += 3 + (type == 1 ? 1 : (bh >> 3));
        if (pos > size)
            return ZSTD_TRUNC;
        if (bh & 1)
            break;
    }
    if (has_checksum)
        pos += 4;
    return pos > size ? ZSTD_TRUNC : pos - off;
}

static bd_decode_status zstd_walk(int fd, uint64_t size, char *err, size_t errlen)
{
    uint64_t off = 0;
    unsigned frame = 0;
    while (off < size) {
        unsigned char tail[4];
        uint64_t rest = size - off;
        frame++;
        if (rest < 4) {
            if (pread_exact(fd, tail, (size_t)rest, off) != 1)
                return probe_result(BD_DEC_IO, err, errlen, "read: %s", strerror(errno ? errno : EIO));
            if (!zstd_magic_prefix(tail, (size_t)rest))
                return probe_result(BD_DEC_CORRUPT, err, errlen,
                                    "zstd: trailing garbage after frame %u at offset %llu", frame - 1,
                                    (unsigned long long)off);
            return probe_result(BD_DEC_TRUNCATED, err, errlen,
                                "zstd stream truncated: frame %u at offset %llu is incomplete (file has %llu bytes)",
                                frame, (unsigned long long)off, (unsigned long long)size);
        }
        uint64_t len = zstd_frame_len(fd, off, size);
        if (len == ZSTD_IOERR)
            return probe_result(BD_DEC_IO, err, errlen, "read: %s", strerror(errno ? errno : EIO));
        if (len == ZSTD_TRUNC)
            return probe_result(BD_DEC_TRUNCATED, err, errlen,
                                "zstd stream truncated: frame %u at offset %llu is incomplete (file has %llu bytes)",
                                frame, (unsigned long long)off, (unsigned long long)size);
        if (len == ZSTD_BAD)
            return probe_result(BD_DEC_CORRUPT, err, errlen, "zstd: not a valid frame (frame %u at offset %llu)",
                                frame, (unsigned long long)off);
        off += len;
    }
    return probe_result(BD_DEC_OK, err, errlen, "%s", "");
}

static bd_decode_status probe_zstd(int fd, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return probe_result(BD_DEC_IO, err, errlen, "fstat: %s", strerror(errno));
    if (st.st_size <= 0)
        return probe_result(BD_DEC_IO, err, errlen, "zstd probe: unexpected file size %lld",
                            (long long)st.st_size);
    return zstd_walk(fd, (uint64_t)st.st_size, err, errlen);
}

/* gzip: decode everything through a pread-based decoder and throw the output away. */
static bd_decode_status probe_gzip(int fd, const bd_decode_limits *lim, char *err, size_t errlen)
{
    bd_decoder *d;
    unsigned char *scratch = malloc(BD_DEC_INBUF);
    ssize_t n = 0;
    bd_decode_status st;

    if (!scratch || decoder_open(&d, fd, lim, 0, 1) < 0) {
        free(scratch);
        return probe_result(BD_DEC_IO, err, errlen, "gzip probe: %s", strerror(ENOMEM));
    }
    do
        n = bd_decoder_read(d, scratch, BD_DEC_INBUF);
    while (n > 0);
    /* Over a limit: no point inflating further; the job rejects it with a receipt. */
    st = probe_result(d->status == BD_DEC_TOO_BIG ? BD_DEC_OK : d->status, err, errlen, "%s", d->err);
    bd_decoder_free(d);
    free(scratch);
    return st;
}

static int pread_head(int fd, unsigned char *buf, size_t len, size_t *got)
{
    *got = 0;
    while (*got < len) {
        ssize_t n = pread(fd, buf + *got, len - *got, (off_t)*got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    return 0;
}

bd_decode_status bd_probe_complete(int fd, char *err, size_t errlen)
{
    return bd_probe_complete_within(fd, NULL, err, errlen);
}

int bd_sniff_fd(int fd, bd_compression *c, const char **unsupported_name)
{
    unsigned char head[16];
    size_t got;
    if (pread_head(fd, head, sizeof head, &got) < 0)
        return -1;
    *c = bd_sniff(head, got, unsupported_name);
    return 0;
}

bd_decode_status bd_probe_complete_within(int fd, const bd_decode_limits *lim, char *err, size_t errlen)
{
    const char *uns = NULL;
    bd_compression c;

    if (bd_sniff_fd(fd, &c, &uns) < 0)
        return probe_result(BD_DEC_IO, err, errlen, "read error: %s", strerror(errno));
    return bd_probe_sniffed(fd, c, uns, lim, err, errlen);
}

bd_decode_status bd_probe_sniffed(int fd, bd_compression c, const char *uns, const bd_decode_limits *lim, char *err,
                                  size_t errlen)
{
    if (uns)
        return probe_result(BD_DEC_UNSUPPORTED, err, errlen,
                            "unsupported compression format: %s (only gzip and zstd)", uns);
    if (c == BD_COMP_ZSTD)
        return probe_zstd(fd, err, errlen);
    if (c == BD_COMP_GZIP)
        return probe_gzip(fd, lim, err, errlen);
    return probe_result(BD_DEC_OK, err, errlen, "%s", "");
}

void bd_crypto_warm_up(void)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    /* best effort: on failure each worker initialises OpenSSL itself, as before */
    if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL) == 1 && md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1)
        EVP_DigestFinal_ex(md, out, &n);
    EVP_MD_CTX_free(md);
}
