/* report_unpack.h: a worker's batch report: its zstd frame unpacked one fixed-size record at a time, checked whole. */
#ifndef BD_REPORT_UNPACK_H
#define BD_REPORT_UNPACK_H
#include <stddef.h>
#include <zstd.h>

/* A decoding context for bd_report_unpack, configured for reports (their window limit); kept across reports,
 * its buffers are reused. NULL when memory ran out. Free it with ZSTD_freeDCtx. */
ZSTD_DCtx *bd_report_unpacker_new(void);

/* Unpack, with dctx, a zstd frame that must hold exactly n records of size bytes each, one at a time into rec
 * (size bytes), calling each(ctx, i, rec) for every record as it completes (each may be NULL: only check). The
 * frame comes from an untrusted worker: it must end right after the n-th record, with no bytes after it, and may
 * not ask for a window larger than its records need. 0, or -1 when it is anything else (the records given to each
 * before it went wrong were whole, but the report as a whole is not to be trusted: check first, then unpack
 * again). Memory: dctx's stream of at most a 16 MiB window, not the whole report. */
int bd_report_unpack(ZSTD_DCtx *dctx, const void *packed, size_t packed_len, size_t n, size_t size, void *rec,
                     void (*each)(void *ctx, size_t i, const void *rec), void *ctx);
#endif
