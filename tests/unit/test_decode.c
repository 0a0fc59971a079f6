/* test_decode.c: TAP tests for the decoder: formats, damage, limits, SHA-256, probe. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "decode.h"
#include "tap.h"
#include "test_util.h"

#define MIB (1024u * 1024u)

static const char *tmpdir;

/* ------------------------------------------------------------------ test data */

/* Deterministic pseudo-random text: lines of hex digits (compresses about 2:1). */
static unsigned char *make_text(size_t len, uint32_t seed)
{
    unsigned char *p = xmalloc(len);
    uint32_t x = seed ? seed : 1;

    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (x % 61 == 0) ? '\n' : "0123456789abcdef"[x & 15];
    }
    return p;
}

/* A zstd skippable frame (magic 0x184D2A5?) with n payload bytes. */
static void zstd_skippable_add(buf_t *out, unsigned variant, size_t n)
{
    unsigned char hdr[8] = { (unsigned char)(0x50 | (variant & 15)), 0x2a, 0x4d, 0x18,
                             (unsigned char)n, (unsigned char)(n >> 8), (unsigned char)(n >> 16),
                             (unsigned char)(n >> 24) };
    unsigned char *payload = make_text(n, 77);

    buf_add(out, hdr, sizeof hdr);
    buf_add(out, payload, n);
    free(payload);
}

static void sha256_hex_of(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        bail("EVP_Digest failed");
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ------------------------------------------------------------------ decoding helper */

typedef struct {
    int open_rc;
    ssize_t last; /* last bd_decoder_read return: 0 clean end, -1 error */
    bd_decode_status st;
    bd_compression comp;
    buf_t out;
    uint64_t bytes_in, bytes_out;
    char err[256];
    char sha[65];
    int sha_rc;
} result_t;

static void result_free(result_t *r)
{
    free(r->out.p);
    memset(r, 0, sizeof *r);
}

static void decode_fd(int fd, const bd_decode_limits *lim, size_t chunk, result_t *r)
{
    bd_decoder *d = NULL;
    unsigned char *tmp = xmalloc(chunk);

    memset(r, 0, sizeof *r);
    r->open_rc = bd_decoder_open(&d, fd, lim, 1);
    if (r->open_rc < 0) {
        free(tmp);
        return;
    }
    while ((r->last = bd_decoder_read(d, tmp, chunk)) > 0) {
        if ((size_t)r->last > chunk)
            bail("bd_decoder_read returned more than asked");
        buf_add(&r->out, tmp, (size_t)r->last);
    }
    r->st = bd_decoder_status(d);
    r->comp = bd_decoder_compression(d);
    r->bytes_in = bd_decoder_bytes_in(d);
    r->bytes_out = bd_decoder_bytes_out(d);
    snprintf(r->err, sizeof r->err, "%s", bd_decoder_error(d));
    r->sha_rc = bd_decoder_sha256_hex(d, r->sha);
    bd_decoder_free(d);
    free(tmp);
}

static void decode_file(const char *name, const bd_decode_limits *lim, size_t chunk, result_t *r)
{
    int fd = tmpdir_open_file(name);

    decode_fd(fd, lim, chunk, r);
    close(fd);
}

static bd_decode_status probe_file(const char *name, char *err, size_t errlen)
{
    int fd = tmpdir_open_file(name);
    bd_decode_status st = bd_probe_complete(fd, err, errlen);
    off_t pos = lseek(fd, 0, SEEK_CUR);

    if (pos != 0)
        printf("# probe moved the file offset to %lld\n", (long long)pos);
    close(fd);
    return pos == 0 ? st : (bd_decode_status)99;
}

/* Decode file "f" and require a clean end producing exactly want/wantlen (and the raw SHA). */
static void expect_ok(const char *what, const void *raw, size_t rawlen, const void *want,
                      size_t wantlen, bd_compression comp, size_t chunk)
{
    result_t r;
    char sha[65];

    tmpdir_write_file("f", raw, rawlen);
    decode_file("f", NULL, chunk, &r);
    sha256_hex_of(raw, rawlen, sha);
    TAP_EQ_INT(r.last, 0, "%s (chunk %zu): read ends with 0", what, chunk);
    TAP_EQ_INT(r.st, BD_DEC_OK, "%s: status OK (%s)", what, r.err);
    TAP_EQ_INT(r.comp, comp, "%s: detected as %s", what, bd_compression_name(comp));
    TAP_OK(r.out.len == wantlen && (wantlen == 0 || memcmp(r.out.p, want, wantlen) == 0),
           "%s: decoded %zu bytes match (want %zu)", what, r.out.len, wantlen);
    TAP_EQ_INT(r.bytes_in, rawlen, "%s: bytes_in", what);
    TAP_EQ_INT(r.bytes_out, wantlen, "%s: bytes_out", what);
    TAP_OK(r.sha_rc == 0 && strcmp(r.sha, sha) == 0, "%s: raw sha256 %s", what, sha);
    TAP_EQ_INT(probe_file("f", NULL, 0), BD_DEC_OK, "%s: probe complete", what);
    result_free(&r);
}

/* Decode raw bytes and require a failure status whose reason contains needle. */
static void expect_fail(const char *what, const void *raw, size_t rawlen, bd_decode_status st,
                        const char *needle, int probe_too)
{
    result_t r;
    char err[256] = "unset";

    tmpdir_write_file("f", raw, rawlen);
    decode_file("f", NULL, 65536, &r);
    TAP_EQ_INT(r.last, -1, "%s: read returns -1", what);
    TAP_EQ_INT(r.st, st, "%s: status %d (%s)", what, (int)st, r.err);
    TAP_OK(strstr(r.err, needle) != NULL, "%s: reason \"%s\" mentions \"%s\"", what, r.err, needle);
    TAP_EQ_INT(r.sha_rc, -1, "%s: no sha256 after a failure", what);
    if (probe_too) {
        bd_decode_status pst = probe_file("f", err, sizeof err);
        TAP_EQ_INT(pst, st, "%s: probe status (%s)", what, err);
        TAP_OK(pst == BD_DEC_OK || err[0] != '\0', "%s: probe gives a reason", what);
    }
    result_free(&r);
}

/* ------------------------------------------------------------------ tests */

static void test_sniff(void)
{
    const char *name = "x";
    static const unsigned char zst[] = { 0x28, 0xb5, 0x2f, 0xfd };
    static const unsigned char skip[] = { 0x5e, 0x2a, 0x4d, 0x18 };

    TAP_EQ_INT(bd_sniff((const unsigned char *)"", 0, &name), BD_COMP_PLAIN, "sniff empty: plain");
    TAP_OK(name == NULL, "sniff empty: no unsupported name");
    TAP_EQ_INT(bd_sniff((const unsigned char *)"\x1f", 1, &name), BD_COMP_PLAIN, "sniff 1f alone");
    TAP_EQ_INT(bd_sniff((const unsigned char *)"\x1f\x8b", 2, &name), BD_COMP_GZIP, "sniff gzip");
    TAP_EQ_INT(bd_sniff(zst, 4, &name), BD_COMP_ZSTD, "sniff zstd");
    TAP_EQ_INT(bd_sniff(zst, 3, &name), BD_COMP_PLAIN, "sniff partial zstd magic");
    TAP_EQ_INT(bd_sniff(skip, 4, &name), BD_COMP_ZSTD, "sniff zstd skippable frame");
    TAP_EQ_INT(bd_sniff((const unsigned char *)"PK\3\4xx", 6, &name), BD_COMP_PLAIN, "sniff zip");
    TAP_EQ_STR(name, "zip", "sniff zip: named");
    bd_sniff((const unsigned char *)"BZh91AY&SYxx", 12, &name);
    TAP_EQ_STR(name, "bzip2", "sniff bzip2: named");
    bd_sniff((const unsigned char *)"BZh is text\n", 12, &name);
    TAP_OK(name == NULL, "sniff: text starting with BZh is plain");
    bd_sniff((const unsigned char *)"\xfd\x37\x7a\x58\x5a\x00\x00", 7, &name);
    TAP_EQ_STR(name, "xz", "sniff xz: named");
    bd_sniff((const unsigned char *)"7z\xbc\xaf\x27\x1c", 6, &name);
    TAP_EQ_STR(name, "7z", "sniff 7z: named");
    TAP_EQ_INT(bd_sniff((const unsigned char *)"a\tb\n", 4, NULL), BD_COMP_PLAIN,
               "sniff TSV, NULL name");
    TAP_EQ_STR(bd_compression_name(BD_COMP_PLAIN), "plain", "name plain");
    TAP_EQ_STR(bd_compression_name(BD_COMP_GZIP), "gzip", "name gzip");
    TAP_EQ_STR(bd_compression_name(BD_COMP_ZSTD), "zstd", "name zstd");
}

static void test_good_streams(const unsigned char *a, size_t alen, const unsigned char *b,
                              size_t blen)
{
    buf_t ab = { 0 }, g = { 0 }, z = { 0 };

    buf_add(&ab, a, alen);
    buf_add(&ab, b, blen);
    expect_ok("plain", a, alen, a, alen, BD_COMP_PLAIN, 65536);
    expect_ok("plain, 1 MiB reads", a, alen, a, alen, BD_COMP_PLAIN, MIB);

    gzip_add(&g, a, alen, 6, Z_DEFAULT_STRATEGY);
    TAP_OK(g.len > 256 * 1024, "gzip input spans several 256 KiB reads (%zu bytes)", g.len);
    expect_ok("gzip single member", g.p, g.len, a, alen, BD_COMP_GZIP, 65536);
    expect_ok("gzip single member", g.p, g.len, a, alen, BD_COMP_GZIP, 7);
    gzip_add(&g, b, blen, 1, Z_DEFAULT_STRATEGY);
    expect_ok("gzip two members", g.p, g.len, ab.p, ab.len, BD_COMP_GZIP, 65536);
    g.len = 0;
    gzip_add(&g, "", 0, 6, Z_DEFAULT_STRATEGY);
    gzip_add(&g, b, 5000, 6, Z_DEFAULT_STRATEGY);
    gzip_add(&g, "", 0, 6, Z_DEFAULT_STRATEGY);
    expect_ok("gzip empty+data+empty members", g.p, g.len, b, 5000, BD_COMP_GZIP, 1);
    buf_add(&g, "\0\0\0\0\0\0\0\0", 8);
    expect_ok("gzip with trailing zero padding", g.p, g.len, b, 5000, BD_COMP_GZIP, 4096);

    zstd_add(&z, a, alen, 0);
    expect_ok("zstd single frame", z.p, z.len, a, alen, BD_COMP_ZSTD, 65536);
    zstd_add(&z, b, blen, 1);
    expect_ok("zstd two frames", z.p, z.len, ab.p, ab.len, BD_COMP_ZSTD, 65536);
    expect_ok("zstd two frames", z.p, z.len, ab.p, ab.len, BD_COMP_ZSTD, 4093);
    z.len = 0;
    zstd_add(&z, b, 20000, 0);
    expect_ok("zstd small frame without checksum, 1-byte reads", z.p, z.len, b, 20000,
              BD_COMP_ZSTD, 1);
    z.len = 0;
    zstd_add(&z, b, 20000, 1);
    zstd_add(&z, b + 20000, 20000, 0);
    expect_ok("zstd two small frames, 3-byte reads", z.p, z.len, b, 40000, BD_COMP_ZSTD, 3);
    z.len = 0;
    zstd_skippable_add(&z, 0, 16);
    zstd_add(&z, a, alen, 1);
    zstd_skippable_add(&z, 7, 0);
    zstd_add(&z, b, blen, 0);
    zstd_skippable_add(&z, 15, 300000);
    expect_ok("zstd with skippable frames", z.p, z.len, ab.p, ab.len, BD_COMP_ZSTD, 65536);
    z.len = 0;
    zstd_skippable_add(&z, 1, 100);
    expect_ok("zstd skippable frame only", z.p, z.len, "", 0, BD_COMP_ZSTD, 65536);
    z.len = 0;
    zstd_add(&z, "", 0, 1);
    expect_ok("zstd empty frame", z.p, z.len, "", 0, BD_COMP_ZSTD, 65536);
    free(ab.p);
    free(g.p);
    free(z.p);
}

static void test_empty_and_sha(void)
{
    result_t r;
    bd_decoder *d;
    char hex[65];
    unsigned char c;
    int fd;

    expect_ok("empty file", "", 0, "", 0, BD_COMP_PLAIN, 65536);
    tmpdir_write_file("f", "", 0);
    decode_file("f", NULL, 100, &r);
    TAP_EQ_STR(r.sha, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
               "sha256 of the empty file");
    result_free(&r);
    tmpdir_write_file("f", "abc", 3);
    decode_file("f", NULL, 100, &r);
    TAP_EQ_STR(r.sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
               "sha256(\"abc\") fixed vector");
    result_free(&r);

    fd = tmpdir_open_file("f");
    TAP_EQ_INT(bd_decoder_open(&d, fd, NULL, 0), 0, "open without hashing");
    TAP_EQ_INT(bd_decoder_read(d, &c, 1), 1, "read 1 byte");
    TAP_EQ_INT(bd_decoder_read(d, &c, 0), 0, "read with len 0 returns 0");
    TAP_EQ_INT(bd_decoder_sha256_hex(d, hex), -1, "no sha256 when not requested");
    bd_decoder_free(d);
    if (lseek(fd, 0, SEEK_SET) != 0)
        bail("lseek: %s", strerror(errno));
    TAP_EQ_INT(bd_decoder_open(&d, fd, NULL, 1), 0, "open with hashing");
    TAP_EQ_INT(bd_decoder_read(d, &c, 1), 1, "read 1 byte");
    TAP_EQ_INT(bd_decoder_sha256_hex(d, hex), -1, "no sha256 before the end");
    bd_decoder_free(d);
    close(fd);
    TAP_EQ_INT(bd_decoder_open(&d, -1, NULL, 0), -1, "open rejects a negative fd");
    TAP_EQ_INT(errno, EINVAL, "... with EINVAL");
}

/* The stream cut after each of cuts[] bytes must fail as truncated, with needle in the reason. */
static void expect_cuts(const char *compression, const buf_t *stream, const size_t *cuts, size_t ncuts,
                        const char *needle)
{
    char what[96];

    for (size_t i = 0; i < ncuts; i++) {
        snprintf(what, sizeof what, "%s cut at %zu of %zu", compression, cuts[i], stream->len);
        expect_fail(what, stream->p, cuts[i], BD_DEC_TRUNCATED, needle, 1);
    }
}

static void test_truncated(const unsigned char *a, size_t alen)
{
    buf_t g = { 0 }, z = { 0 }, zc = { 0 };
    size_t first;

    gzip_add(&g, a, alen, 6, Z_DEFAULT_STRATEGY);
    {
        const size_t cuts[] = { 2, 5, 10, 11, g.len / 2, g.len - 8, g.len - 4, g.len - 1 };
        expect_cuts("gzip", &g, cuts, COUNT_OF(cuts), "gzip stream truncated");
    }
    first = g.len;
    gzip_add(&g, a, 1000, 6, Z_DEFAULT_STRATEGY);
    expect_fail("gzip 2nd member: just its first byte", g.p, first + 1, BD_DEC_TRUNCATED,
                "truncated", 1);
    expect_fail("gzip 2nd member: header only", g.p, first + 10, BD_DEC_TRUNCATED, "truncated", 1);
    expect_fail("gzip 2nd member: no trailer", g.p, g.len - 8, BD_DEC_TRUNCATED, "(no trailer)", 1);

    zstd_add(&z, a, alen, 0);
    zstd_add(&zc, a, alen, 1);
    {
        const size_t cuts[] = { 4, 6, z.len / 2, z.len - 1 };
        expect_cuts("zstd", &z, cuts, COUNT_OF(cuts), "zstd stream truncated");
    }
    expect_fail("zstd with checksum, checksum missing", zc.p, zc.len - 4, BD_DEC_TRUNCATED,
                "truncated", 1);
    expect_fail("zstd with checksum, half a checksum", zc.p, zc.len - 2, BD_DEC_TRUNCATED,
                "truncated", 1);
    first = z.len;
    zstd_add(&z, a, 1000, 0);
    expect_fail("zstd 2nd frame: 2 bytes of magic", z.p, first + 2, BD_DEC_TRUNCATED, "truncated",
                1);
    expect_fail("zstd 2nd frame: header only", z.p, first + 6, BD_DEC_TRUNCATED, "truncated", 1);
    z.len = 0;
    zstd_add(&z, a, 1000, 0);
    zstd_skippable_add(&z, 3, 1000);
    expect_fail("zstd skippable frame cut short", z.p, z.len - 1, BD_DEC_TRUNCATED, "truncated", 1);
    free(g.p);
    free(z.p);
    free(zc.p);
}

/* Bytes appended to a whole stream, and what the reason must then mention. */
typedef struct {
    const char *what;
    const char *bytes;
    size_t len;
    const char *needle;
} trailing_case;

#define TRAILING(what, lit, needle) { what, lit, sizeof(lit) - 1, needle }

static const trailing_case gzip_trailing[] = {
    TRAILING("gzip trailing garbage", "garbage\n", "trailing garbage after member 1"),
    TRAILING("gzip trailing 1f 00", "\x1f\x00", "trailing garbage"),
    TRAILING("gzip zero padding then garbage", "\0\0\0\0x", "zero padding"),
    TRAILING("gzip member after zero padding", "\0\x1f\x8b", "zero padding"),
};

static const trailing_case zstd_trailing[] = {
    TRAILING("zstd trailing garbage", "garbage\n", "zstd: "),
    TRAILING("zstd one trailing newline", "\n", "zstd: "),
    TRAILING("zstd trailing zeros", "\0\0\0\0\0\0\0\0", "zstd: "),
};

/* The stream followed by each case's bytes must fail as corrupt. */
static void expect_trailing(const buf_t *stream, const trailing_case *cases, size_t ncases)
{
    buf_t c = { 0 };

    for (size_t i = 0; i < ncases; i++) {
        c.len = 0;
        buf_add(&c, stream->p, stream->len);
        buf_add(&c, cases[i].bytes, cases[i].len);
        expect_fail(cases[i].what, c.p, c.len, BD_DEC_CORRUPT, cases[i].needle, 1);
    }
    free(c.p);
}

/* Size of a zstd frame header (magic + descriptor + window + dictID + content size). */
static size_t zstd_header_size(const unsigned char *p)
{
    static const size_t did[4] = { 0, 1, 2, 4 }, fcs[4] = { 0, 2, 4, 8 };
    unsigned fhd = p[4], single = (fhd >> 5) & 1, fcs_id = fhd >> 6;

    return 5 + !single + did[fhd & 3] + (fcs_id == 0 ? single : fcs[fcs_id]);
}

static void test_corrupt(const unsigned char *a, size_t alen)
{
    buf_t g = { 0 }, z = { 0 };
    unsigned char *c;
    size_t fhs;

    gzip_add(&g, a, alen, 6, Z_DEFAULT_STRATEGY);
    c = xmalloc(g.len);
    memcpy(c, g.p, g.len);
    for (size_t i = 0; i < 4; i++)
        c[g.len / 2 + i] ^= 0xa5;
    expect_fail("gzip flipped bytes mid-stream", c, g.len, BD_DEC_CORRUPT, "gzip: ", 1);
    memcpy(c, g.p, g.len);
    c[g.len - 8] ^= 0x01;
    expect_fail("gzip flipped CRC", c, g.len, BD_DEC_CORRUPT, "incorrect data check", 1);
    memcpy(c, g.p, g.len);
    c[g.len - 2] ^= 0x01;
    expect_fail("gzip flipped ISIZE", c, g.len, BD_DEC_CORRUPT, "incorrect length check", 1);
    memcpy(c, g.p, g.len);
    c[2] = 7;
    expect_fail("gzip unknown method", c, g.len, BD_DEC_CORRUPT, "gzip: ", 1);
    expect_trailing(&g, gzip_trailing, COUNT_OF(gzip_trailing));
    free(c);

    zstd_add(&z, a, alen, 1);
    c = xmalloc(z.len);
    memcpy(c, z.p, z.len);
    for (size_t i = 0; i < 4; i++)
        c[z.len / 2 + i] ^= 0xa5;
    expect_fail("zstd flipped bytes mid-frame", c, z.len, BD_DEC_CORRUPT, "zstd: ", 0);
    TAP_EQ_INT(probe_file("f", NULL, 0), BD_DEC_OK,
               "zstd probe is structural: content corruption is left to the decoder");
    memcpy(c, z.p, z.len);
    c[z.len - 1] ^= 0x01;
    expect_fail("zstd flipped checksum", c, z.len, BD_DEC_CORRUPT, "checksum", 0);
    fhs = zstd_header_size(z.p);
    TAP_OK(fhs >= 6 && fhs <= 18, "zstd frame header size %zu", fhs);
    memcpy(c, z.p, z.len);
    c[fhs] |= 0x06; /* block type 3: reserved */
    expect_fail("zstd reserved block type", c, z.len, BD_DEC_CORRUPT, "zstd: ", 1);
    expect_trailing(&z, zstd_trailing, COUNT_OF(zstd_trailing));
    free(c);
    /* found by fuzz_decode: a skippable frame, then a frame of zstd's pre-1.0 format (magic 26 b5 2f fd, v0.6),
     * which libzstd decodes but the probe cannot walk: both call it corrupt */
    static const unsigned char legacy[] = {0x50, 0x2a, 0x4d, 0x18, 0x04, 0x00, 0x00, 0x00, 0x39, 0x62, 0x63, 0x64,
                                           0x26, 0xb5, 0x2f, 0xfd, 0xd0, 0xd0, 0x01, 0x8e, 0xd7, 0x3e, 0xff, 0xff,
                                           0xff, 0xff, 0x7f, 0x06};
    expect_fail("zstd legacy frame after a skippable one", legacy, sizeof legacy, BD_DEC_CORRUPT,
                "not a valid frame", 1);
    free(g.p);
    free(z.p);
}

static void test_unsupported(void)
{
    static const struct {
        const char *name;
        const char *bytes;
        size_t len;
    } cases[] = {
#define CASE(name, lit) { name, lit, sizeof(lit) - 1 }
        CASE("zip", "PK\3\4\x14\0\0\0\x08\0payload"),
        CASE("bzip2", "BZh91AY&SY\x12\x34\x56\x78payload"),
        CASE("xz", "\xfd\x37\x7a\x58\x5a\x00\x00\x04payload"),
        CASE("7z", "7z\xbc\xaf\x27\x1c\x00\x04payload"),
#undef CASE
    };
    char what[64];

    for (size_t i = 0; i < COUNT_OF(cases); i++) {
        snprintf(what, sizeof what, "%s magic", cases[i].name);
        expect_fail(what, cases[i].bytes, cases[i].len, BD_DEC_UNSUPPORTED, cases[i].name, 1);
    }
}

static void expect_too_big(const char *what, const bd_decode_limits *lim, size_t chunk,
                           const char *needle, uint64_t max_out)
{
    result_t r;

    decode_file("f", lim, chunk, &r);
    TAP_EQ_INT(r.last, -1, "%s: read returns -1", what);
    TAP_EQ_INT(r.st, BD_DEC_TOO_BIG, "%s: TOO_BIG (%s)", what, r.err);
    TAP_OK(strstr(r.err, needle) != NULL, "%s: reason \"%s\"", what, r.err);
    if (max_out) {
        TAP_OK(r.out.len <= max_out, "%s: caller got %zu <= %llu bytes", what, r.out.len,
               (unsigned long long)max_out);
        TAP_OK(r.bytes_out > max_out && r.bytes_out <= max_out + chunk,
               "%s: stopped early, bytes_out %llu within limit + one buffer", what,
               (unsigned long long)r.bytes_out);
        TAP_EQ_INT(r.bytes_out, max_out + 1, "%s: bytes_out is exactly limit + 1 (documented)",
                   what);
    }
    result_free(&r);
}

/* 64 MiB of zeros made by make_bomb: it really decodes to 64 MiB, yet a 1 MiB output limit
 * stops it early whatever the read size. */
static void expect_bomb_stopped(const char *compression, const char *decodes, void (*make_bomb)(buf_t *, size_t))
{
    bd_decode_limits lim = { 0, MIB };
    buf_t bomb = { 0 };
    result_t r;
    char what[64];

    make_bomb(&bomb, 64 * MIB);
    printf("# 64 MiB of zeros as %s: %zu bytes\n", compression, bomb.len);
    tmpdir_write_file("f", bomb.p, bomb.len);
    free(bomb.p);
    decode_file("f", NULL, MIB, &r);
    TAP_OK(r.st == BD_DEC_OK && r.bytes_out == 64ull * MIB, "%s bomb really %s to 64 MiB", compression, decodes);
    result_free(&r);
    snprintf(what, sizeof what, "%s bomb, 64 KiB reads", compression);
    expect_too_big(what, &lim, 65536, "decoded size exceeds the limit of 1048576 bytes", MIB);
    snprintf(what, sizeof what, "%s bomb, 4 MiB reads", compression);
    expect_too_big(what, &lim, 4 * MIB, "decoded size exceeds", MIB);
}

static void test_bombs(void)
{
    expect_bomb_stopped("gzip", "inflates", gzip_zeros);
    expect_bomb_stopped("zstd", "decodes", zstd_zeros);
}

static void test_limits(const unsigned char *a, size_t alen)
{
    buf_t g = { 0 };
    bd_decode_limits lim;
    result_t r;

    tmpdir_write_file("f", a, 1000);
    lim = (bd_decode_limits){ 999, 0 };
    expect_too_big("plain 1000 bytes, max_input 999", &lim, 65536,
                   "input size exceeds the limit of 999 bytes", 0);
    decode_file("f", &lim, 65536, &r);
    TAP_EQ_INT(r.bytes_in, 1000, "max_input: reads only one byte past the limit");
    result_free(&r);
    lim = (bd_decode_limits){ 500, 0 };
    decode_file("f", &lim, 65536, &r);
    TAP_OK(r.st == BD_DEC_TOO_BIG && r.bytes_in == 501 && r.out.len == 0,
           "max_input 500 on 1000 bytes: stops after reading 501 (read %llu)",
           (unsigned long long)r.bytes_in);
    result_free(&r);
    lim = (bd_decode_limits){ 1000, 1000 };
    decode_file("f", &lim, 100, &r);
    TAP_OK(r.st == BD_DEC_OK && r.last == 0 && r.out.len == 1000,
           "plain 1000 bytes at both limits exactly: OK");
    result_free(&r);
    lim = (bd_decode_limits){ 0, 999 };
    expect_too_big("plain 1000 bytes, max_output 999", &lim, 100,
                   "decoded size exceeds the limit of 999 bytes", 999);

    gzip_add(&g, a, alen, 6, Z_DEFAULT_STRATEGY);
    tmpdir_write_file("f", g.p, g.len);
    lim = (bd_decode_limits){ g.len - 1, 0 };
    expect_too_big("gzip, max_input one short", &lim, 65536, "input size exceeds", 0);
    lim = (bd_decode_limits){ g.len, alen };
    decode_file("f", &lim, 65536, &r);
    TAP_OK(r.st == BD_DEC_OK && r.out.len == alen, "gzip at both limits exactly: OK (%s)", r.err);
    result_free(&r);
    lim = (bd_decode_limits){ 0, alen - 1 };
    expect_too_big("gzip, max_output one short", &lim, 65536, "decoded size exceeds", alen - 1);
    free(g.p);
}

static void test_io_error(void)
{
    result_t r;
    char err[256] = "";
    int fd = open(tmpdir, O_RDONLY | O_DIRECTORY);

    if (fd < 0)
        bail("open %s: %s", tmpdir, strerror(errno));
    decode_fd(fd, NULL, 100, &r);
    TAP_EQ_INT(r.open_rc, 0, "open on a directory fd succeeds");
    TAP_EQ_INT(r.last, -1, "read on a directory fails");
    TAP_EQ_INT(r.st, BD_DEC_IO, "directory: BD_DEC_IO (%s)", r.err);
    TAP_OK(strstr(r.err, strerror(EISDIR)) != NULL, "directory: reason has strerror");
    TAP_EQ_INT(bd_probe_complete(fd, err, sizeof err), BD_DEC_IO, "probe on a directory: IO (%s)",
               err);
    result_free(&r);
    close(fd);
}

/* Decode a gzip stream from a pipe fed by dd in 999-byte writes (short reads). */
static void test_pipe(const unsigned char *a, size_t alen)
{
    buf_t g = { 0 };
    result_t r;
    char path[PATH_MAX], ifarg[PATH_MAX + 3];
    int pfd[2], status = 0;
    pid_t pid;

    gzip_add(&g, a, alen, 6, Z_DEFAULT_STRATEGY);
    tmpdir_write_file("g", g.p, g.len);
    tmpdir_path(path, sizeof path, "g");
    snprintf(ifarg, sizeof ifarg, "if=%s", path);
    if (pipe(pfd) < 0)
        bail("pipe: %s", strerror(errno));
    fflush(stdout);
    pid = fork();
    if (pid < 0)
        bail("fork: %s", strerror(errno));
    if (pid == 0) { /* exec at once: nothing of this process image survives (valgrind-friendly) */
        if (dup2(pfd[1], STDOUT_FILENO) >= 0 && close(pfd[0]) == 0)
            execlp("dd", "dd", ifarg, "bs=999", "status=none", (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    decode_fd(pfd[0], NULL, 65536, &r);
    close(pfd[0]);
    if (waitpid(pid, &status, 0) < 0)
        bail("waitpid: %s", strerror(errno));
    TAP_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "dd writer finished (status %d)", status);
    TAP_OK(r.st == BD_DEC_OK && r.last == 0 && r.out.len == alen && memcmp(r.out.p, a, alen) == 0,
           "gzip through a pipe with short reads decodes exactly (%s)", r.err);
    TAP_EQ_INT(r.bytes_in, g.len, "pipe: bytes_in");
    result_free(&r);
    free(g.p);
}

int main(void)
{
    size_t alen = MIB + 12345, blen = 300000;
    unsigned char *a = make_text(alen, 12345), *b = make_text(blen, 999);

    tmpdir = tmpdir_create("test_decode");
    test_sniff();
    test_good_streams(a, alen, b, blen);
    test_empty_and_sha();
    test_truncated(a, alen);
    test_corrupt(a, alen);
    test_unsupported();
    test_limits(a, alen);
    test_bombs();
    test_io_error();
    test_pipe(a, alen);
    free(a);
    free(b);
    return tap_done();
}
