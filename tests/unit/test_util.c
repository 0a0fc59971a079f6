/* test_util.c: setup shared by the C unit tests: bailing out, memory, byte buffers, a temp dir, compressed data. */
#include "test_util.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#define MIB (1024u * 1024u)
#define CHUNK 65536

static char tmpdir[PATH_MAX];

void bail(const char *fmt, ...)
{
    va_list ap;

    printf("Bail out! ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    exit(1);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        bail("out of memory (%zu bytes)", n);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *grown = realloc(p, n ? n : 1);

    if (!grown)
        bail("out of memory (%zu bytes)", n);
    return grown;
}

/* ------------------------------------------------------------------ byte buffers */

void buf_add(buf_t *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    if (n && data)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

void buf_fill(buf_t *b, int c, size_t n)
{
    size_t at = b->len;

    buf_add(b, NULL, n);
    memset(b->p + at, c, n);
}

/* ------------------------------------------------------------------ the temporary directory */

static void remove_tmpdir(void)
{
    DIR *dir = opendir(tmpdir);
    struct dirent *e;
    char path[PATH_MAX];

    while (dir && (e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        tmpdir_path(path, sizeof path, e->d_name);
        if (unlink(path) < 0)
            printf("# unlink %s: %s\n", path, strerror(errno));
    }
    if (dir)
        closedir(dir);
    if (rmdir(tmpdir) < 0)
        printf("# rmdir %s: %s\n", tmpdir, strerror(errno));
}

const char *tmpdir_create(const char *prefix)
{
    const char *base = getenv("TMPDIR");

    if (!base || !*base)
        base = "/tmp";
    if ((size_t)snprintf(tmpdir, sizeof tmpdir, "%s/%s.XXXXXX", base, prefix) >= sizeof tmpdir)
        bail("TMPDIR too long");
    if (!mkdtemp(tmpdir))
        bail("mkdtemp %s: %s", tmpdir, strerror(errno));
    if (atexit(remove_tmpdir) != 0)
        bail("atexit failed");
    return tmpdir;
}

void tmpdir_path(char *out, size_t outlen, const char *name)
{
    if ((size_t)snprintf(out, outlen, "%s/%s", tmpdir, name) >= outlen)
        bail("path too long");
}

void tmpdir_write_file(const char *name, const void *data, size_t len)
{
    char path[PATH_MAX];
    const unsigned char *p = data;
    int fd;

    tmpdir_path(path, sizeof path, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        bail("open %s: %s", path, strerror(errno));
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            bail("write %s: %s", path, strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    if (close(fd) < 0)
        bail("close %s: %s", path, strerror(errno));
}

int tmpdir_open_file(const char *name)
{
    char path[PATH_MAX];
    int fd;

    tmpdir_path(path, sizeof path, name);
    fd = open(path, O_RDONLY);
    if (fd < 0)
        bail("open %s: %s", path, strerror(errno));
    return fd;
}

/* ------------------------------------------------------------------ compressed data */

/* deflate() what z holds with `flush`, appending the output, until the input is taken
 * (Z_NO_FLUSH) or the stream has ended (Z_FINISH). */
static void deflate_into(buf_t *out, z_stream *z, int flush)
{
    unsigned char chunk[CHUNK];
    int ret;

    do {
        z->next_out = chunk;
        z->avail_out = sizeof chunk;
        ret = deflate(z, flush);
        if (ret == Z_STREAM_ERROR)
            bail("deflate failed");
        buf_add(out, chunk, sizeof chunk - z->avail_out);
    } while (flush == Z_FINISH ? ret != Z_STREAM_END : z->avail_out == 0);
}

/* A gzip stream (windowBits 15 + 16). */
static void gzip_begin(z_stream *z, int level, int strategy)
{
    memset(z, 0, sizeof *z);
    if (deflateInit2(z, level, Z_DEFLATED, 15 + 16, 8, strategy) != Z_OK)
        bail("deflateInit2 failed");
}

void gzip_add(buf_t *out, const void *data, size_t len, int level, int strategy)
{
    z_stream z;

    gzip_begin(&z, level, strategy);
    z.next_in = (unsigned char *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    deflate_into(out, &z, Z_FINISH);
    deflateEnd(&z);
}

void zstd_add(buf_t *out, const void *data, size_t len, int checksum)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    size_t bound = ZSTD_compressBound(len), r;
    unsigned char *tmp = xmalloc(bound);

    if (!c || ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum)))
        bail("zstd cctx setup failed");
    r = ZSTD_compress2(c, tmp, bound, data, len);
    if (ZSTD_isError(r))
        bail("ZSTD_compress2: %s", ZSTD_getErrorName(r));
    buf_add(out, tmp, r);
    free(tmp);
    ZSTD_freeCCtx(c);
}

void gzip_zeros(buf_t *out, size_t total)
{
    unsigned char *zeros = calloc(1, MIB);
    z_stream z;

    if (!zeros)
        bail("out of memory");
    gzip_begin(&z, 9, Z_RLE);
    for (size_t done = 0; done < total; done += MIB) {
        size_t n = total - done < MIB ? total - done : MIB;
        z.next_in = zeros;
        z.avail_in = (uInt)n;
        deflate_into(out, &z, done + n == total ? Z_FINISH : Z_NO_FLUSH);
    }
    deflateEnd(&z);
    free(zeros);
}

void zstd_zeros(buf_t *out, size_t total)
{
    unsigned char *zeros = calloc(1, MIB), chunk[CHUNK];
    ZSTD_CCtx *c = ZSTD_createCCtx();
    size_t rem;

    if (!zeros || !c)
        bail("zstd setup failed");
    for (size_t done = 0; done < total; done += MIB) {
        ZSTD_EndDirective end = done + MIB >= total ? ZSTD_e_end : ZSTD_e_continue;
        ZSTD_inBuffer in = { zeros, total - done < MIB ? total - done : MIB, 0 };
        do {
            ZSTD_outBuffer o = { chunk, sizeof chunk, 0 };
            rem = ZSTD_compressStream2(c, &o, &in, end);
            if (ZSTD_isError(rem))
                bail("ZSTD_compressStream2: %s", ZSTD_getErrorName(rem));
            buf_add(out, chunk, o.pos);
        } while (in.pos < in.size || (end == ZSTD_e_end && rem != 0));
    }
    ZSTD_freeCCtx(c);
    free(zeros);
}
