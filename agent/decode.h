/* decode.h: streaming plain/gzip/zstd decoder: size limits, raw SHA-256, completeness probe. */
#ifndef BD_DECODE_H
#define BD_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum { BD_COMP_PLAIN = 0, BD_COMP_GZIP, BD_COMP_ZSTD } bd_compression;

typedef enum {
    BD_DEC_OK = 0,
    BD_DEC_TRUNCATED,
    BD_DEC_CORRUPT,
    BD_DEC_TOO_BIG,
    BD_DEC_UNSUPPORTED,
    BD_DEC_IO
} bd_decode_status;

/* Limits on raw input and decoded output bytes; 0 means unlimited. */
typedef struct bd_decode_limits {
    uint64_t max_input;
    uint64_t max_output;
} bd_decode_limits;

typedef struct bd_decoder bd_decoder;

/* Why a cut compressed stream is final (bd_job.truncated_is_final): 0 = not final, the file is given back. */
enum { BD_TRUNC_GIVE_BACK = 0, BD_TRUNC_TIMED_OUT = 1, BD_TRUNC_RENAMED = 2 };

/* Sniff magic bytes: gzip 1f8b, zstd 28b52ffd or a skippable frame 0x184D2A5?, else plain.
 * Known but unsupported formats (zip, bzip2, xz, 7z, lz4, compress) return BD_COMP_PLAIN and set
 * *unsupported_name (if not NULL) to the format's name; otherwise it is set to NULL. */
bd_compression bd_sniff(const unsigned char *head, size_t len, const char **unsupported_name);
/* The same for the file open on fd (read with pread: its offset stays). 0, or -1 with errno. */
int bd_sniff_fd(int fd, bd_compression *c, const char **unsupported_name);

/* "plain", "gzip" or "zstd". */
const char *bd_compression_name(bd_compression c);

/* Open a decoder on fd, positioned at 0. It reads with read(2) and never closes fd. lim may be
 * NULL (unlimited). If sha256 is non-zero it hashes the raw input bytes as they are read.
 * Returns 0 with *out set, even when the input is already known to be bad (unsupported format,
 * read error, over the input limit): the first bd_decoder_read() then returns -1 and
 * bd_decoder_status()/bd_decoder_error() say why. Returns -1 (errno set, *out NULL) only when
 * the decoder itself cannot be created (bad arguments, out of memory). */
int bd_decoder_open(bd_decoder **out, int fd, const bd_decode_limits *lim, int sha256);

/* Read up to len decoded bytes. Returns >0 bytes, 0 at a clean end of the stream (all input
 * consumed and every gzip member/zstd frame complete; also when len is 0, like read(2)), or -1
 * on error (see bd_decoder_status). Errors are sticky. */
ssize_t bd_decoder_read(bd_decoder *d, void *buf, size_t len);

bd_decode_status bd_decoder_status(const bd_decoder *d);

/* Human-readable reason for the current status ("" while the status is BD_DEC_OK). */
const char *bd_decoder_error(const bd_decoder *d);

bd_compression bd_decoder_compression(const bd_decoder *d);

/* Raw bytes read so far. */
uint64_t bd_decoder_bytes_in(const bd_decoder *d);
/* The size of the input file (fstat); 0 when it cannot be known. */
uint64_t bd_decoder_input_size(const bd_decoder *d);

/* Decoded bytes produced so far (on BD_DEC_TOO_BIG this is max_output + 1). */
uint64_t bd_decoder_bytes_out(const bd_decoder *d);

/* After a clean end: the SHA-256 of the raw input as 64 lowercase hex chars + NUL. Returns 0,
 * or -1 if hashing was not requested or the stream has not ended cleanly. */
int bd_decoder_sha256_hex(bd_decoder *d, char out[65]);

void bd_decoder_free(bd_decoder *d);

/* Completeness probe used before a file is claimed. Uses pread(2)/mmap(2), so the offset of fd
 * is left alone. plain: always BD_DEC_OK; zstd: walks the frame and block headers and requires
 * the frames to add up exactly to the file size (content is not verified); gzip: inflates to
 * the end, discarding output. Returns BD_DEC_OK, BD_DEC_TRUNCATED if the stream ends early,
 * BD_DEC_CORRUPT, BD_DEC_UNSUPPORTED or BD_DEC_IO; the reason goes to err (may be NULL).
 * The zstd walk maps the file: the file must not be truncated while the probe runs (SIGBUS). */
bd_decode_status bd_probe_complete(int fd, char *err, size_t errlen);
/* The same within limits: a gzip stream over lim->max_output (or input over
 * lim->max_input) stops the probe early and counts as complete, so that the
 * job rejects it with a receipt instead of the probe inflating a bomb. */
bd_decode_status bd_probe_complete_within(int fd, const bd_decode_limits *lim, char *err, size_t errlen);
/* The same for a file whose head bd_sniff_fd already read (c, unsupported_name). */
bd_decode_status bd_probe_sniffed(int fd, bd_compression c, const char *unsupported_name, const bd_decode_limits *lim,
                                  char *err, size_t errlen);

/* Load OpenSSL's configuration and the SHA-256 implementation now, so that forked workers inherit them. */
void bd_crypto_warm_up(void);
#endif
