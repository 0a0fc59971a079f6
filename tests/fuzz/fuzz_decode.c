/* fuzz_decode.c: libFuzzer harness: the decoder front end (magic sniffing, gzip/zstd streaming under size limits, completeness probe). */
#include "config.h"
#include "decode.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define KiB 1024u
#define MiB (1024u * 1024u)

static int fd = -1;
static unsigned char *out;

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_decode: %s (%s)\n", what, detail ? detail : "");
    abort();
}

/* The input as a file: a memfd, read with read(2) and pread(2) like an inbox file. */
static void put_input(const uint8_t *data, size_t size)
{
    if (fd < 0 && (fd = memfd_create("fuzz_decode", 0)) < 0)
        fail("memfd_create", NULL);
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
        fail("cannot write the input", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t chunks[] = {64 * KiB, 1, 4 * KiB, 3, 256 * KiB};
    const char *uns;
    char err[256];

    if (size > MiB)
        return 0;
    if (!out && !(out = malloc(256 * KiB)))
        fail("out of memory", NULL);
    for (size_t n = 0; n <= size && n <= 16; n++)
        bd_compression_name(bd_sniff(data, n, &uns));

    /* Limits vary with the input: the output one always (bombs stay cheap), the input one sometimes. */
    bd_decode_limits lim = {
        .max_input = size % 4 == 3 ? size / 2 : 0,
        .max_output = size % 2 ? MiB : 64 * KiB,
    };
    put_input(data, size);
    bd_decode_status probe = bd_probe_complete_within(fd, &lim, err, sizeof err);
    if (!memchr(err, '\0', sizeof err))
        fail("probe reason not NUL-terminated", NULL);
    if (lseek(fd, 0, SEEK_CUR) != 0)
        fail("the probe moved the file offset", NULL);

    bd_decoder *d;
    if (bd_decoder_open(&d, fd, &lim, 1) < 0)
        fail("bd_decoder_open failed", NULL);
    uint64_t total = 0;
    ssize_t n;
    size_t i = 0;
    while ((n = bd_decoder_read(d, out, chunks[i++ % (sizeof chunks / sizeof chunks[0])])) > 0)
        total += (uint64_t)n;
    bd_decode_status st = bd_decoder_status(d);
    if (n == 0) {
        char hex[65];
        if (st != BD_DEC_OK)
            fail("clean end with a bad status", bd_decoder_error(d));
        if (bd_decoder_bytes_out(d) != total)
            fail("bytes_out differs from the bytes read", NULL);
        if (bd_decoder_bytes_in(d) != size)
            fail("clean end before all input was read", NULL);
        if (lim.max_output && total > lim.max_output)
            fail("clean end over max_output", NULL);
        if (bd_decoder_sha256_hex(d, hex) != 0 || strlen(hex) != 64)
            fail("no SHA-256 after a clean end", NULL);
        /* What decodes cleanly is complete: the probe must not hold it back or call it corrupt. */
        if (probe != BD_DEC_OK)
            fail("decoder ends cleanly but the completeness probe says", err);
    } else {
        if (st == BD_DEC_OK)
            fail("read error with status OK", NULL);
        if (!bd_decoder_error(d)[0])
            fail("read error without a reason", NULL);
        if (st == BD_DEC_TOO_BIG && bd_decoder_bytes_out(d) > lim.max_output + 1 && lim.max_output)
            fail("went more than one byte past max_output", NULL);
        if (bd_decoder_read(d, out, 16) != -1)
            fail("an error was not sticky", NULL);
    }
    bd_decoder_free(d);
    return 0;
}
