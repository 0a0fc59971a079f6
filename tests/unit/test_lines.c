/* test_lines.c: TAP tests for the zero-copy line splitter over plain, gzip and zstd input (read directly, then ahead on the decoding thread), and the lines' UTF-8 check. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <zlib.h>

#include "decode.h"
#include "helper_thread.h"
#include "lines.h"
#include "readahead.h"
#include "strutil.h"
#include "tap.h"
#include "test_util.h"

#define MIB (1024u * 1024u)

#define DATA_FILE "data" /* what every test writes, in the temporary directory */

/* ------------------------------------------------------------------ reference and comparison */

typedef struct {
    int res; /* bd_line_result */
    size_t off, len;
} ref_line;

/* Straightforward split: LF-terminated, one trailing CR dropped, final line without LF kept. */
static ref_line *reference_split(const unsigned char *p, size_t n, size_t max_line, size_t *count)
{
    size_t cap = 1024, k = 0, pos = 0;
    ref_line *v = xmalloc(cap * sizeof *v);

    while (pos < n) {
        const unsigned char *lf = memchr(p + pos, '\n', n - pos);
        size_t end = lf ? (size_t)(lf - p) : n, len = end - pos;
        if (len > 0 && p[end - 1] == '\r')
            len--;
        if (k == cap) {
            cap *= 2;
            v = xrealloc(v, cap * sizeof *v);
        }
        v[k].res = len > max_line ? BD_LINE_TOO_LONG : BD_LINE_OK;
        v[k].off = pos;
        v[k].len = len;
        k++;
        pos = lf ? end + 1 : n;
    }
    *count = k;
    return v;
}

enum { AS_PLAIN, AS_GZIP, AS_ZSTD };
static const char *const as_name[] = { "plain", "gzip", "zstd" };

typedef struct {
    int fd;
    bd_decoder *dec;
    bd_lines *lines;
} splitter;

static void splitter_open(splitter *s, const unsigned char *data, size_t len, int as,
                          size_t max_line)
{
    buf_t z = { 0 };

    if (as == AS_GZIP)
        gzip_add(&z, data, len, 6, Z_DEFAULT_STRATEGY);
    else if (as == AS_ZSTD)
        zstd_add(&z, data, len, 0);
    else
        buf_add(&z, data, len);
    tmpdir_write_file(DATA_FILE, z.p, z.len);
    free(z.p);
    s->fd = tmpdir_open_file(DATA_FILE);
    if (bd_decoder_open(&s->dec, s->fd, NULL, 0) < 0 ||
        bd_lines_open(&s->lines, s->dec, max_line) < 0)
        bail("open decoder/lines: %s", strerror(errno));
}

static void splitter_close(splitter *s)
{
    bd_lines_free(s->lines);
    bd_decoder_free(s->dec);
    close(s->fd);
}

/* Split data through the decoder and compare every line with the reference; returns mismatches. */
static size_t compare_split(const char *what, const unsigned char *data, size_t n, int as,
                            size_t max_line)
{
    size_t count, bad = 0, i = 0;
    ref_line *ref = reference_split(data, n, max_line, &count);
    splitter s;
    const char *line;
    size_t len;
    uint64_t lineno;
    int r;

    splitter_open(&s, data, n, as, max_line);
    while ((r = bd_lines_next(s.lines, &line, &len, &lineno)) > 0) {
        int ok = i < count && r == ref[i].res && len == ref[i].len && lineno == i + 1 &&
                 (r == BD_LINE_TOO_LONG ? line == NULL : memcmp(line, data + ref[i].off, len) == 0);
        if (!ok && bad++ < 3)
            printf("# %s/%s: line %zu: got r=%d len=%zu lineno=%llu, want r=%d len=%zu\n", what,
                   as_name[as], i + 1, r, len, (unsigned long long)lineno,
                   i < count ? ref[i].res : -9, i < count ? ref[i].len : 0);
        i++;
    }
    if (r != BD_LINE_EOF || i != count) {
        printf("# %s/%s: ended with r=%d after %zu lines, want EOF after %zu\n", what, as_name[as],
               r, i, count);
        bad++;
    }
    splitter_close(&s);
    free(ref);
    return bad;
}

static void check_split(const char *what, const unsigned char *data, size_t n, size_t max_line,
                        size_t *nlines)
{
    size_t count;
    free(reference_split(data, n, max_line, &count));
    *nlines = count;
    for (int as = AS_PLAIN; as <= AS_ZSTD; as++)
        TAP_EQ_INT(compare_split(what, data, n, as, max_line), 0,
                   "%s via %s: %zu lines match the reference split", what, as_name[as], count);
}

/* ------------------------------------------------------------------ small explicit cases */

typedef struct {
    int res;
    const char *text; /* NULL for TOO_LONG */
    size_t len;
} want_line;

static void expect_lines(const char *what, const char *data, size_t n, size_t max_line,
                         const want_line *want, size_t nwant)
{
    for (int as = AS_PLAIN; as <= AS_ZSTD; as++) {
        splitter s;
        const char *line;
        size_t len, i;
        uint64_t lineno;
        int r = BD_LINE_EOF, ok = 1;

        splitter_open(&s, (const unsigned char *)data, n, as, max_line);
        for (i = 0; i < nwant && ok; i++) {
            r = bd_lines_next(s.lines, &line, &len, &lineno);
            ok = r == want[i].res && len == want[i].len && lineno == i + 1 &&
                 (want[i].text ? line && memcmp(line, want[i].text, len) == 0 : line == NULL);
            if (!ok)
                printf("# %s/%s line %zu: r=%d len=%zu lineno=%llu\n", what, as_name[as], i + 1, r,
                       len, (unsigned long long)lineno);
        }
        TAP_OK(ok, "%s via %s: %zu lines as expected", what, as_name[as], nwant);
        r = bd_lines_next(s.lines, &line, &len, &lineno);
        TAP_OK(r == BD_LINE_EOF && line == NULL && lineno == nwant, "%s via %s: then EOF", what,
               as_name[as]);
        r = bd_lines_next(s.lines, &line, &len, &lineno);
        TAP_EQ_INT(r, BD_LINE_EOF, "%s via %s: EOF again", what, as_name[as]);
        splitter_close(&s);
    }
}

#define L(s) { BD_LINE_OK, s, sizeof(s) - 1 }
#define LONG(n) { BD_LINE_TOO_LONG, NULL, n }
#define EXPECT(what, data, max, ...)                                                            \
    do {                                                                                        \
        static const want_line w_[] = { __VA_ARGS__ };                                          \
        expect_lines(what, data, sizeof(data) - 1, max, w_, sizeof w_ / sizeof w_[0]);          \
    } while (0)

static void test_small(void)
{
    EXPECT("LF", "a\nbb\nccc\n", 100, L("a"), L("bb"), L("ccc"));
    EXPECT("CRLF", "a\r\nbb\r\n", 100, L("a"), L("bb"));
    EXPECT("mixed LF/CRLF", "a\r\nb\nc\r\nd", 100, L("a"), L("b"), L("c"), L("d"));
    EXPECT("no final newline", "a\nlast", 100, L("a"), L("last"));
    EXPECT("final line with CR but no LF", "a\nb\r", 100, L("a"), L("b"));
    EXPECT("blank lines", "\n\na\n\r\n\n", 100, L(""), L(""), L("a"), L(""), L(""));
    EXPECT("CR in the middle kept", "a\rb\r\nc\r\r\n", 100, L("a\rb"), L("c\r"));
    EXPECT("NUL bytes returned as-is", "a\0b\n\0\n", 100, L("a\0b"), L("\0"));
    EXPECT("only LF", "\n", 100, L(""));
    EXPECT("max_line exact / +1", "0123456789\n0123456789X\nok\n", 10, L("0123456789"), LONG(11),
           L("ok"));
    EXPECT("max_line exact / +1 with CRLF", "0123456789\r\n0123456789X\r\nok\r\n", 10,
           L("0123456789"), LONG(11), L("ok"));
    EXPECT("too-long final line without LF", "ok\n0123456789AB", 10, L("ok"), LONG(12));
    EXPECT("max_line 0", "\nx\n\r\n", 0, L(""), LONG(1), L(""));
}

static void test_empty(void)
{
    for (int as = AS_PLAIN; as <= AS_ZSTD; as++) {
        splitter s;
        const char *line = "x";
        size_t len = 9;
        uint64_t lineno = 9;

        splitter_open(&s, (const unsigned char *)"", 0, as, 100);
        TAP_EQ_INT(bd_lines_next(s.lines, &line, &len, &lineno), BD_LINE_EOF, "empty via %s: EOF",
                   as_name[as]);
        TAP_OK(line == NULL && len == 0 && lineno == 0, "empty via %s: no line, lineno 0",
               as_name[as]);
        splitter_close(&s);
    }
}

/* A too-long line spanning several buffer refills, then a normal line. */
static void test_long_skip(void)
{
    buf_t b = { 0 };
    size_t n;

    buf_add(&b, "first\n", 6);
    buf_fill(&b, 'x', 3 * MIB + 17);
    buf_add(&b, "\r\nafter\n", 8);
    buf_fill(&b, 'y', 2 * MIB);
    buf_add(&b, "\r", 1);
    check_split("3 MiB line then 2 MiB final line (max_line 1000)", b.p, b.len, 1000, &n);
    TAP_EQ_INT(n, 4, "... 4 physical lines");
    {
        splitter s;
        const char *line;
        size_t len;
        uint64_t lineno;

        splitter_open(&s, b.p, b.len, AS_PLAIN, 1000);
        bd_lines_next(s.lines, &line, &len, &lineno);
        TAP_EQ_INT(bd_lines_next(s.lines, &line, &len, &lineno), BD_LINE_TOO_LONG,
                   "long line: TOO_LONG");
        TAP_OK(line == NULL && len == 3 * MIB + 17 && lineno == 2,
               "long line: total length %zu, line 2", len);
        TAP_EQ_INT(bd_lines_next(s.lines, &line, &len, &lineno), BD_LINE_OK, "next line OK");
        TAP_OK(len == 5 && memcmp(line, "after", 5) == 0 && lineno == 3,
               "next line is \"after\", line 3");
        TAP_EQ_INT(bd_lines_next(s.lines, &line, &len, &lineno), BD_LINE_TOO_LONG,
                   "final long line: TOO_LONG");
        TAP_OK(len == 2 * MIB && lineno == 4, "final long line: length without CR, line 4");
        TAP_EQ_INT(bd_lines_next(s.lines, &line, &len, &lineno), BD_LINE_EOF, "then EOF");
        splitter_close(&s);
    }
    free(b.p);
}

/* Which line shape ends at boundary v (v = 2^t * odd): along the multiples of any power of two
 * (the read sizes), every shape occurs. */
static size_t boundary_case(size_t v)
{
    size_t t = 0;

    while (v % 2 == 0) {
        v /= 2;
        t++;
    }
    return (t + v / 2) % 4;
}

/* Put the LF of lines around max_line just after every 4 KiB boundary, so that some refill sees
 * a partial line of max_line, max_line + 1 (with or without CR) or max_line + 2 bytes whatever
 * the read sizes are. */
static void test_boundaries(void)
{
    const size_t max_line = 100, block = 4096;
    static const size_t tails[4] = { 101, 101, 100, 102 }; /* bytes before the boundary */
    buf_t b = { 0 };
    size_t n;

    for (size_t k = 0; b.len < 3 * MIB + 100; k++) {
        size_t c = boundary_case(k + 1), target = (k + 1) * block - tails[c];
        while (b.len < target) { /* filler lines ending exactly at target */
            size_t room = target - b.len, fill = max_line - k % 7;
            if (fill > room - 1)
                fill = room - 1;
            buf_fill(&b, 'a' + (int)(k % 26), fill);
            buf_add(&b, "\n", 1);
        }
        switch (c) {
        case 0: /* max_line + CR | LF: OK */
            buf_fill(&b, 'm', max_line);
            buf_add(&b, "\r\n", 2);
            break;
        case 1: /* max_line + 1 | LF: TOO_LONG */
            buf_fill(&b, 'n', max_line + 1);
            buf_add(&b, "\n", 1);
            break;
        case 2: /* max_line | CR LF: OK */
            buf_fill(&b, 'o', max_line);
            buf_add(&b, "\r\n", 2);
            break;
        default: /* max_line + 1 + CR | LF: TOO_LONG */
            buf_fill(&b, 'q', max_line + 1);
            buf_add(&b, "\r\n", 2);
            break;
        }
    }
    check_split("lines of max_line/max_line+1 at every 4 KiB boundary", b.p, b.len, max_line, &n);
    TAP_OK(n > 3 * MIB / 101, "... %zu lines", n);
    free(b.p);
}

/* > 3 MiB of random lines: short, blank, CRLF, around max_line and far over it. */
static void test_random(size_t max_line, size_t total)
{
    buf_t b = { 0 };
    uint32_t x = 2463534242u;
    size_t n, too_long = 0;
    char what[96];

    while (b.len < total) {
        size_t len;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        switch (x % 16) {
        case 0: len = 0; break;
        case 1: len = max_line - 1 + (x >> 8) % 3; break; /* max_line-1 .. max_line+1 */
        case 2: len = max_line + (x >> 8) % (max_line / 2 + 1); break;
        case 3: len = (x >> 8) % (max_line + 1); break;
        default: len = (x >> 8) % 120; break;
        }
        too_long += len > max_line;
        buf_add(&b, NULL, len);
        for (size_t i = 0; i < len; i++)
            b.p[b.len - len + i] = (unsigned char)('A' + (x + i) % 26);
        if ((x >> 4) % 3 == 0)
            buf_add(&b, "\r", 1);
        buf_add(&b, "\n", 1);
    }
    buf_add(&b, "tail without newline", 20);
    snprintf(what, sizeof what, "random %zu MiB, max_line %zu", total / MIB, max_line);
    check_split(what, b.p, b.len, max_line, &n);
    TAP_OK(n >= 30 && too_long >= 3, "%s: %zu lines, %zu too long", what, n, too_long);
    free(b.p);
}

/* A decoder failure surfaces as BD_LINE_ERROR after the good lines. */
static void test_error(void)
{
    buf_t g = { 0 };
    splitter s;
    const char *line;
    size_t len, good = 0;
    uint64_t lineno;
    int r, fd;

    gzip_add(&g, "one\ntwo\nthree\n", 14, 6, Z_DEFAULT_STRATEGY);
    tmpdir_write_file(DATA_FILE, g.p, g.len - 8);
    fd = tmpdir_open_file(DATA_FILE);
    if (bd_decoder_open(&s.dec, fd, NULL, 0) < 0 ||
        bd_lines_open(&s.lines, s.dec, 100) < 0)
        bail("open: %s", strerror(errno));
    s.fd = fd;
    while ((r = bd_lines_next(s.lines, &line, &len, &lineno)) == BD_LINE_OK)
        good++;
    TAP_EQ_INT(r, BD_LINE_ERROR, "truncated gzip: BD_LINE_ERROR");
    TAP_EQ_INT(bd_decoder_status(s.dec), BD_DEC_TRUNCATED,
               "truncated gzip: decoder says TRUNCATED");
    TAP_EQ_INT(bd_lines_next(s.lines, &line, &len, &lineno), BD_LINE_ERROR, "error is sticky");
    printf("# %zu lines before the error\n", good);
    splitter_close(&s);
    free(g.p);
    TAP_EQ_INT(bd_lines_open(&s.lines, NULL, 10), -1, "bd_lines_open rejects a NULL decoder");
}

/* bd_valid_utf8 reads ASCII 8 bytes at a time: one byte of each kind at every offset of lines of 0 to 40 bytes,
 * so that it falls in every place of a word and of the tail. */
static void test_utf8(void)
{
    static const struct {
        const char *bytes;
        int valid;
        const char *what;
    } kinds[] = {
        {"a", 1, "ASCII"},           {"\x7f", 1, "DEL"},          {"\xc3\xa9", 1, "2-byte"},
        {"\xe2\x82\xac", 1, "3-byte"}, {"\xf0\x90\x8d\x88", 1, "4-byte"}, {"\x80", 0, "a lone continuation"},
        {"\xc3", 0, "a cut sequence"}, {"\xc0\xaf", 0, "an overlong"}, {"\xed\xa0\x80", 0, "a surrogate"},
        {"\xff", 0, "0xff"},
    };
    char line[64];
    int wrong = 0, cases = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (size_t len = 0; len <= 40; len++)
            for (size_t at = 0; at <= len; at++) {
                size_t blen = strlen(kinds[k].bytes);
                memset(line, 'x', len);
                memcpy(line + at, kinds[k].bytes, blen);
                memset(line + at + blen, 'y', len - at);
                wrong += bd_valid_utf8(line, len + blen) != kinds[k].valid;
                cases++;
            }
    TAP_EQ_INT(wrong, 0, "UTF-8 check: %d lines, each kind of byte at every offset", cases);
    int nul_wrong = 0;
    for (size_t len = 1; len <= 40; len++)
        for (size_t at = 0; at < len; at++) {
            memset(line, 'q', len);
            line[at] = '\0';
            nul_wrong += bd_valid_utf8(line, len) != 0;
        }
    TAP_EQ_INT(nul_wrong, 0, "a NUL anywhere makes a line invalid");
    TAP_EQ_INT(bd_valid_utf8("", 0), 1, "an empty line is valid");
}

/* Every splitter test (run twice: the decoder read directly, then read ahead on the decoding thread). */
static void test_splitter(void)
{
    test_small();
    test_empty();
    test_long_skip();
    test_boundaries();
    test_random(100, 3 * MIB + 12345);
    test_random(102400, 4 * MIB);
    test_random(700000, 6 * MIB);
    test_error();
}

int main(void)
{
    tmpdir_create("test_lines");
    test_utf8();
    test_splitter();
    /* the splitter then reads the decoder through readahead.c */
    bd_readahead_set_min_input(0); /* the tests' inputs are small: read every one of them ahead */
    TAP_EQ_INT(bd_helper_start(BD_HELPER_DECODE), 0, "the decoding thread starts: the same tests read ahead");
    test_splitter();
    return tap_done();
}
