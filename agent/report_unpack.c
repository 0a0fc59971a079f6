/* report_unpack.c: a worker's batch report: its zstd frame unpacked one fixed-size record at a time, checked whole. */
#include "config.h"
#include "report_unpack.h"

/* A report of up to BD_BATCH_MAX results of about 41 KB each is under 16 MiB: a frame asking for a larger window
 * did not come from send_chunk. */
#define REPORT_WINDOW_LOG_MAX 24

/* Fill out from the stream; 0 once full, -1 on an error or when the input ends first (or the frame ends short). */
static int fill(ZSTD_DCtx *dctx, ZSTD_inBuffer *in, ZSTD_outBuffer *out, size_t *left)
{
    while (out->pos < out->size) {
        size_t in_before = in->pos, out_before = out->pos;
        *left = ZSTD_decompressStream(dctx, out, in);
        if (ZSTD_isError(*left))
            return -1;
        if (in->pos == in_before && out->pos == out_before)
            return -1; /* no progress: the input is used up, or the frame ended before the record did */
    }
    return 0;
}

/* After the last record: the frame must end, and the input with it. */
static int at_end(ZSTD_DCtx *dctx, ZSTD_inBuffer *in, size_t left)
{
    unsigned char extra;
    while (left != 0) {
        ZSTD_outBuffer out = {&extra, 1, 0};
        size_t in_before = in->pos;
        left = ZSTD_decompressStream(dctx, &out, in);
        if (ZSTD_isError(left) || out.pos != 0 || (left != 0 && in->pos == in_before))
            return -1; /* an error, a byte past the last record, or a frame cut short */
    }
    return in->pos == in->size ? 0 : -1;
}

ZSTD_DCtx *bd_report_unpacker_new(void)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (dctx && ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, REPORT_WINDOW_LOG_MAX))) {
        ZSTD_freeDCtx(dctx);
        dctx = NULL;
    }
    return dctx;
}

int bd_report_unpack(ZSTD_DCtx *dctx, const void *packed, size_t packed_len, size_t n, size_t size, void *rec,
                     void (*each)(void *ctx, size_t i, const void *rec), void *ctx)
{
    if (ZSTD_isError(ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only)))
        return -1;
    ZSTD_inBuffer in = {packed, packed_len, 0};
    size_t left = 1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        ZSTD_outBuffer out = {rec, size, 0};
        rc = fill(dctx, &in, &out, &left);
        if (rc == 0 && each)
            each(ctx, i, rec);
    }
    return rc == 0 ? at_end(dctx, &in, left) : rc;
}
