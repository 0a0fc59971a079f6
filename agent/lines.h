/* lines.h: zero-copy line splitter over a bd_decoder (LF or CRLF, bounded line length). */
#ifndef BD_LINES_H
#define BD_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"

typedef struct bd_lines bd_lines;

/* Split the output of dec (not owned: free it after bd_lines_free) into lines of at most
 * max_line bytes (e.g. 102400), not counting the LF or CRLF terminator. Returns 0, or -1 with
 * errno set (EINVAL, ENOMEM). */
int bd_lines_open(bd_lines **out, bd_decoder *dec, size_t max_line);

typedef enum {
    BD_LINE_OK = 1,
    BD_LINE_TOO_LONG = 2,
    BD_LINE_EOF = 0,
    BD_LINE_ERROR = -1
} bd_line_result;

/* Next line without its LF and without a trailing CR; *lineno is its 1-based physical line
 * number. The line stays valid until the next call. Blank lines are returned with *len 0; NUL
 * bytes are returned as-is; a final line without LF is returned normally.
 * BD_LINE_TOO_LONG: the line is longer than max_line and has been skipped entirely (up to and
 * including its LF); *line is NULL and *len is its full length (without LF/CRLF). The next call
 * continues after it. BD_LINE_EOF: clean end. BD_LINE_ERROR: the decoder failed (see
 * bd_decoder_status); later calls return BD_LINE_ERROR again. */
bd_line_result bd_lines_next(bd_lines *l, const char **line, size_t *len, uint64_t *lineno);

void bd_lines_free(bd_lines *l);

#endif
