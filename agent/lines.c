/* lines.c: zero-copy line splitter over a bd_decoder (LF or CRLF, bounded line length), decoded ahead when it can be. */
#include "lines.h"
#include "readahead.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BD_LINES_MIN_BUF (1024u * 1024u)

struct bd_lines {
    bd_decoder *dec;
    bd_readahead *ahead; /* the decoding thread's chunks, or NULL: dec is read here */
    char *buf;
    size_t cap, max_line;
    size_t start; /* first byte of the current line */
    size_t scan;  /* where the LF search resumes: [start, scan) holds no LF */
    size_t end;   /* end of the valid data */
    uint64_t lineno;
    int eof, failed;
    int skipping;      /* the current line is too long: its bytes are being dropped */
    uint64_t skip_len; /* bytes of it dropped so far */
    char skip_last;    /* last byte dropped (to exclude a CR before the LF) */
};

int bd_lines_open(bd_lines **out, bd_decoder *dec, size_t max_line)
{
    bd_lines *l;

    if (!out || !dec || max_line > (SIZE_MAX - 2) / 2) {
        errno = EINVAL;
        return -1;
    }
    *out = NULL;
    l = calloc(1, sizeof *l);
    if (!l)
        return -1;
    l->dec = dec;
    l->max_line = max_line;
    l->cap = 2 * max_line + 2;
    if (l->cap < BD_LINES_MIN_BUF)
        l->cap = BD_LINES_MIN_BUF;
    l->buf = malloc(l->cap);
    if (!l->buf) {
        free(l);
        return -1;
    }
    l->ahead = bd_readahead_open(dec);
    *out = l;
    return 0;
}

/* Hand out the line [start, stop); stop is the LF position or the end of the data. */
static bd_line_result emit(bd_lines *l, size_t stop, size_t term, const char **line, size_t *len)
{
    const char *p = l->buf + l->start;
    size_t n = stop - l->start;
    uint64_t total = l->skip_len + n;
    char last = n ? p[n - 1] : l->skip_last;

    l->start = l->scan = stop + term;
    l->lineno++;
    if (total && last == '\r')
        total--;
    if (l->skipping || total > l->max_line) {
        l->skipping = 0;
        l->skip_len = 0;
        *line = NULL;
        *len = (size_t)total;
        return BD_LINE_TOO_LONG;
    }
    *line = p;
    *len = (size_t)total;
    return BD_LINE_OK;
}

/* Start or continue dropping a line that cannot fit (no LF within max_line + 1 bytes). */
static void drop_partial(bd_lines *l)
{
    size_t part = l->end - l->start;

    if (part) {
        l->skip_len += part;
        l->skip_last = l->buf[l->end - 1];
    }
    l->skipping = 1;
    l->start = l->scan = l->end = 0;
}

/* Move the partial line to the front and read more decoded data behind it. */
static int refill(bd_lines *l)
{
    size_t part = l->end - l->start;
    ssize_t n;

    if (l->skipping || part > l->max_line + 1) {
        drop_partial(l);
    } else if (l->start > 0) {
        memmove(l->buf, l->buf + l->start, part);
        l->start = 0;
        l->scan = l->end = part;
    }
    n = l->ahead ? bd_readahead_read(l->ahead, l->buf + l->end, l->cap - l->end)
                 : bd_decoder_read(l->dec, l->buf + l->end, l->cap - l->end);
    if (n < 0) {
        l->failed = 1;
        return -1;
    }
    if (n == 0)
        l->eof = 1;
    l->end += (size_t)n;
    return 0;
}

bd_line_result bd_lines_next(bd_lines *l, const char **line, size_t *len, uint64_t *lineno)
{
    bd_line_result r = BD_LINE_EOF;

    *line = NULL;
    *len = 0;
    for (;;) {
        char *nl;

        if (l->failed) {
            r = BD_LINE_ERROR;
            break;
        }
        nl = memchr(l->buf + l->scan, '\n', l->end - l->scan);
        if (nl) {
            r = emit(l, (size_t)(nl - l->buf), 1, line, len);
            break;
        }
        l->scan = l->end;
        if (l->eof) {
            if (l->start < l->end || l->skipping)
                r = emit(l, l->end, 0, line, len);
            break;
        }
        if (refill(l) < 0) {
            r = BD_LINE_ERROR;
            break;
        }
    }
    *lineno = l->lineno;
    return r;
}

void bd_lines_free(bd_lines *l)
{
    if (!l)
        return;
    bd_readahead_close(l->ahead);
    free(l->buf);
    free(l);
}
