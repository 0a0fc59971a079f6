/* readahead.h: a decoder read ahead on the worker's decoding thread, so that decompression overlaps the parsing. */
#ifndef BD_READAHEAD_H
#define BD_READAHEAD_H
#include "decode.h"
#include <stdint.h>
#include <sys/types.h>

#define BD_READAHEAD_CHUNK (1u << 20) /* bytes decoded per hand-over; two chunks alternate */

typedef struct bd_readahead bd_readahead;

/* Inputs smaller than this (compressed size) are read directly: they decode in less time than the two thread
 * hand-overs take (a small file's latency). bd_readahead_set_min_input changes it (the unit tests set 0). */
#define BD_READAHEAD_MIN_INPUT ((uint64_t)256 << 10)
void bd_readahead_set_min_input(uint64_t bytes);

/* Start decoding dec on the BD_HELPER_DECODE thread. NULL when there is no such thread, the input is small, or
 * there is no memory: read dec directly then. Until bd_readahead_close, only that thread touches dec. */
bd_readahead *bd_readahead_open(bd_decoder *dec);
/* bd_decoder_read's contract: >0 bytes, 0 at the clean end of the stream, -1 on error (bd_decoder_status says
 * why, once closed). */
ssize_t bd_readahead_read(bd_readahead *ra, void *buf, size_t len);
/* Stop the thread (it finishes the chunk in hand) and wait for it: dec is the caller's again. */
void bd_readahead_close(bd_readahead *ra);
#endif
