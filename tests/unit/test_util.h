/* test_util.h: setup shared by the C unit tests: bailing out, memory, byte buffers, a temp dir, compressed data. */
#ifndef BD_TEST_UTIL_H
#define BD_TEST_UTIL_H
#include <stddef.h>

/* Number of elements of an array (a table of test cases). */
#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

/* Print "Bail out! <message>" (TAP: the whole run failed) and exit 1. */
__attribute__((noreturn, format(printf, 1, 2))) void bail(const char *fmt, ...);

/* malloc() and realloc() that bail when memory runs out; 0 bytes still gives a pointer. */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);

/* ---------------------------------------------------------------- byte buffers */

/* A growable byte buffer: start it as { 0 }, free(b.p) when done; len = 0 empties it. */
typedef struct {
    unsigned char *p;
    size_t len, cap;
} buf_t;

/* Append n bytes of data (n bytes left for the caller to fill when data is NULL). */
void buf_add(buf_t *b, const void *data, size_t n);
/* Append n bytes of value c. */
void buf_fill(buf_t *b, int c, size_t n);

/* ---------------------------------------------------------------- the temporary directory */

/* Create $TMPDIR/<prefix>.XXXXXX (TMPDIR defaults to /tmp); at exit it is removed with the
 * files in it.  Returns its path.  One per test program. */
const char *tmpdir_create(const char *prefix);
/* out = <tmpdir>/<name>; bails when it does not fit. */
void tmpdir_path(char *out, size_t outlen, const char *name);
/* Write len bytes to <tmpdir>/<name>, created or truncated. */
void tmpdir_write_file(const char *name, const void *data, size_t len);
/* Open <tmpdir>/<name> read-only; bails when it cannot. */
int tmpdir_open_file(const char *name);

/* ---------------------------------------------------------------- compressed data */

/* Append one gzip member of data (level and strategy as for deflateInit2, e.g. 6 and Z_DEFAULT_STRATEGY). */
void gzip_add(buf_t *out, const void *data, size_t len, int level, int strategy);
/* Append one zstd frame of data, with a content checksum when checksum is 1. */
void zstd_add(buf_t *out, const void *data, size_t len, int checksum);
/* Append one gzip member (Z_RLE) or one zstd frame of `total` zero bytes, fed in 1 MiB pieces:
 * a compression bomb without the memory to hold it decoded. */
void gzip_zeros(buf_t *out, size_t total);
void zstd_zeros(buf_t *out, size_t total);

#endif
