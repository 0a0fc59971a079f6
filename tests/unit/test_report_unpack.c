/* test_report_unpack.c: unit tests of the worker report's unpacking: whole frames pass, anything else is refused. */
#include "config.h"
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader */
#include "report_unpack.h"
#include "tap.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define REC 1000

/* n records of REC bytes, record i filled from i (mostly zeros, as real reports are) */
static unsigned char *records(size_t n, size_t size)
{
    unsigned char *r = calloc(n, size);
    for (size_t i = 0; r && i < n; i++)
        for (size_t k = 0; k < 64 && k < size; k++)
            r[i * size + k] = (unsigned char)(i * 31 + k);
    return r;
}

/* the records packed as send_chunk packs them (level 1, one frame) */
static void *pack(const void *raw, size_t len, size_t *packed_len)
{
    size_t cap = ZSTD_compressBound(len);
    void *p = malloc(cap);
    size_t n = p ? ZSTD_compress(p, cap, raw, len, 1) : 0;
    if (!p || ZSTD_isError(n)) {
        free(p);
        return NULL;
    }
    *packed_len = n;
    return p;
}

typedef struct seen {
    const unsigned char *want;
    size_t size, count;
    int in_order_and_same;
} seen;

static void note(void *ctx, size_t i, const void *rec)
{
    seen *s = ctx;
    s->in_order_and_same &= i == s->count && memcmp(rec, s->want + i * s->size, s->size) == 0;
    s->count++;
}

/* unpack as n records of size, counting what each was given */
static int unpack(const void *packed, size_t len, size_t n, size_t size, const unsigned char *want, seen *s)
{
    unsigned char *rec = malloc(size);
    *s = (seen){.want = want, .size = size, .in_order_and_same = 1};
    ZSTD_DCtx *d = bd_report_unpacker_new();
    int rc = rec && d ? bd_report_unpack(d, packed, len, n, size, rec, note, s) : -3;
    ZSTD_freeDCtx(d);
    free(rec);
    return rc;
}

static void test_whole_frames(void)
{
    unsigned char *raw = records(5, REC);
    size_t len = 0;
    void *p = raw ? pack(raw, 5 * REC, &len) : NULL;
    TAP_OK(p != NULL, "5 records packed");
    if (!p)
        return;
    seen s;
    TAP_EQ_INT(unpack(p, len, 5, REC, raw, &s), 0, "a frame of exactly 5 records unpacks");
    TAP_OK(s.count == 5 && s.in_order_and_same, "each record given once, in order, byte for byte (%zu)", s.count);
    unsigned char rec[REC];
    ZSTD_DCtx *d = bd_report_unpacker_new();
    TAP_EQ_INT(d ? bd_report_unpack(d, p, len, 5, REC, rec, NULL, NULL) : -3, 0,
               "and passes the check without a callback");
    TAP_EQ_INT(d ? bd_report_unpack(d, p, len - 3, 5, REC, rec, NULL, NULL) : -3, -1, "a cut frame, with that context:");
    TAP_EQ_INT(d ? bd_report_unpack(d, p, len, 5, REC, rec, NULL, NULL) : -3, 0,
               "after it, the same context unpacks a whole frame again (each unpack starts afresh)");
    ZSTD_freeDCtx(d);
    free(p);
    free(raw);
}

/* send_chunk's largest report: 256 results of about 41 KB */
static void test_a_full_batch(void)
{
    size_t n = 256, size = 42000;
    unsigned char *raw = records(n, size);
    size_t len = 0;
    void *p = raw ? pack(raw, n * size, &len) : NULL;
    seen s = {0};
    TAP_OK(p && unpack(p, len, n, size, raw, &s) == 0 && s.count == n && s.in_order_and_same,
           "a full batch's report (256 records of 42,000 bytes, %zu packed) unpacks within the window limit", len);
    free(p);
    free(raw);
}

static void test_refused(void)
{
    unsigned char *raw = records(5, REC);
    size_t len = 0;
    unsigned char *p = raw ? pack(raw, 5 * REC, &len) : NULL;
    if (!p) {
        TAP_OK(0, "records packed");
        free(raw);
        return;
    }
    seen s;
    TAP_EQ_INT(unpack(p, len, 6, REC, raw, &s), -1, "a frame with fewer records than claimed is refused");
    TAP_EQ_INT((long)s.count, 5, "(its 5 whole records were given before the 6th was found missing)");
    TAP_EQ_INT(unpack(p, len, 4, REC, raw, &s), -1, "a frame with bytes past the claimed records is refused");
    TAP_EQ_INT(unpack(p, len, 5, REC + 1, raw, &s), -1, "records of another size are refused");
    TAP_EQ_INT(unpack(p, len - 3, 5, REC, raw, &s), -1, "a frame cut short is refused");
    TAP_EQ_INT(unpack(p, 0, 5, REC, raw, &s), -1, "no bytes at all are refused");

    unsigned char *two = malloc(2 * len);
    if (two) {
        memcpy(two, p, len);
        memcpy(two + len, p, len);
        TAP_EQ_INT(unpack(two, 2 * len, 5, REC, raw, &s), -1, "a second frame after the records is refused");
        free(two);
    }
    unsigned char *bent = malloc(len);
    if (bent) {
        memcpy(bent, p, len);
        bent[len / 2] ^= 0x5a;
        bent[len / 2 + 1] ^= 0xa5;
        int rc = unpack(bent, len, 5, REC, raw, &s);
        TAP_OK(rc == -1 || !s.in_order_and_same, "flipped bytes in the middle: refused, or not the records sent");
        free(bent);
    }
    const char junk[] = "not a zstd frame at all, just words from a plugin";
    TAP_EQ_INT(unpack(junk, sizeof junk, 5, REC, raw, &s), -1, "bytes that are not a zstd frame are refused");
    TAP_EQ_INT((long)s.count, 0, "and give no record");
    free(p);
    free(raw);
}

/* A frame of unknown size made with a 128 MiB window: a decoder would allocate the window. */
static void test_window_too_large(void)
{
    unsigned char *raw = records(5, REC);
    ZSTD_CCtx *c = ZSTD_createCCtx();
    size_t cap = ZSTD_compressBound(5 * REC) + 64, len = 0;
    unsigned char *p = malloc(cap);
    int made = raw && c && p && !ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, 27)) &&
               !ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0));
    if (made) { /* fed in two calls: given all at once, zstd would size the window to the input */
        ZSTD_inBuffer first = {raw, REC, 0}, rest = {raw + REC, 4 * REC, 0};
        ZSTD_outBuffer out = {p, cap, 0};
        size_t fed = ZSTD_compressStream2(c, &out, &first, ZSTD_e_continue);
        size_t left = ZSTD_isError(fed) ? fed : ZSTD_compressStream2(c, &out, &rest, ZSTD_e_end);
        made = !ZSTD_isError(left) && left == 0;
        len = out.pos;
    }
    ZSTD_frameHeader fh = {0};
    made = made && ZSTD_getFrameHeader(&fh, p, len) == 0;
    TAP_OK(made && fh.windowSize == 128u << 20, "a frame asking for a 128 MiB window made (%llu)",
           (unsigned long long)fh.windowSize);
    seen s;
    TAP_EQ_INT(made ? unpack(p, len, 5, REC, raw, &s) : 0, -1, "it is refused");
    free(p);
    ZSTD_freeCCtx(c);
    free(raw);
}

int main(void)
{
    test_whole_frames();
    test_a_full_batch();
    test_refused();
    test_window_too_large();
    return tap_done();
}
