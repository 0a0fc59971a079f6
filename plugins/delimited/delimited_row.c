/* delimited_row.c: the RFC 4180 row splitter of the "delimited" plugin: quoted fields, "" escapes, trimmed spaces. */
#include "delimited.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_CAPACITY 16

static int grow_fields(delim_fields *f)
{
    size_t capacity = f->capacity ? f->capacity * 2 : FIRST_CAPACITY;
    if (capacity > SIZE_MAX / sizeof *f->v)
        return -1;
    text_span *grown = realloc(f->v, capacity * sizeof *grown);
    if (!grown)
        return -1;
    f->v = grown;
    f->capacity = capacity;
    return 0;
}

/* Unquoted text is never longer than the line, so one line-sized scratch buffer holds every field. */
static int reserve_scratch(delim_fields *f, size_t len)
{
    if (len <= f->scratch_capacity && f->scratch)
        return 0;
    char *grown = realloc(f->scratch, len ? len : 1);
    if (!grown)
        return -1;
    f->scratch = grown;
    f->scratch_capacity = len ? len : 1;
    return 0;
}

static const char *skip_spaces(const char *p, const char *end)
{
    while (p < end && *p == ' ')
        p++;
    return p;
}

/* A quoted field starting at the quote at *at: its text (escapes undone) goes to *out at *sp.
 * On return *at is just past the closing quote and any spaces after it. */
static int quoted_field(const delim_syntax *syn, const char **at, const char *end, char **sp, text_span *out,
                        size_t column, char *reason, size_t reasonlen)
{
    const char quote = (char)syn->quote;
    const char *p = *at + 1;
    char *start = *sp, *w = *sp;
    for (;;) {
        if (p == end) {
            snprintf(reason, reasonlen, "unterminated quote in column %zu (a quoted field must end with %c on "
                                        "the same line; quoted line breaks are not supported)",
                     column, quote);
            return DELIM_FORMAT_ERROR;
        }
        if (*p == quote) {
            if (p + 1 < end && p[1] == quote) { /* "" is one quote */
                *w++ = quote;
                p += 2;
                continue;
            }
            p++;
            break;
        }
        *w++ = *p++;
    }
    *out = span_between(start, w);
    *sp = w;
    if (syn->trim)
        p = skip_spaces(p, end);
    if (p < end && *p != syn->delimiter) {
        char before[96];
        snprintf(before, sizeof before, "text after the closing quote in column %zu: '", column);
        span_describe(reason, reasonlen, before, span_between(p, end), "'");
        return DELIM_FORMAT_ERROR;
    }
    *at = p;
    return DELIM_OK;
}

/* An unquoted field from *at to the next delimiter; *at ends on that delimiter or at the end. */
static int plain_field(const delim_syntax *syn, const char **at, const char *end, text_span *out, size_t column,
                       char *reason, size_t reasonlen)
{
    const char *p = *at;
    const char *stop = p < end ? memchr(p, syn->delimiter, (size_t)(end - p)) : NULL;
    if (!stop)
        stop = end;
    text_span s = span_between(p, stop);
    if (syn->trim)
        while (s.n && s.p[s.n - 1] == ' ')
            s.n--;
    if (syn->quote != DELIM_NO_QUOTE && memchr(s.p, syn->quote, s.n)) {
        char before[96], after[96];
        snprintf(before, sizeof before, "stray quote in column %zu: '", column);
        snprintf(after, sizeof after, "' (quote the whole field and double the quotes inside it: %c%c)",
                 syn->quote, syn->quote);
        span_describe(reason, reasonlen, before, s, after);
        return DELIM_FORMAT_ERROR;
    }
    *out = s;
    *at = stop;
    return DELIM_OK;
}

int delim_split(const delim_syntax *syn, const char *line, size_t len, delim_fields *out, char *reason,
                size_t reasonlen)
{
    const char *p = line, *end = line + len;
    out->n = 0;
    if (reserve_scratch(out, len) < 0)
        return DELIM_NO_MEMORY;
    char *sp = out->scratch;
    for (;;) {
        size_t column = out->n + 1;
        text_span field;
        if (syn->trim)
            p = skip_spaces(p, end);
        int rc = (syn->quote != DELIM_NO_QUOTE && p < end && *p == (char)syn->quote)
                     ? quoted_field(syn, &p, end, &sp, &field, column, reason, reasonlen)
                     : plain_field(syn, &p, end, &field, column, reason, reasonlen);
        if (rc != DELIM_OK)
            return rc;
        if (out->n == out->capacity && grow_fields(out) < 0)
            return DELIM_NO_MEMORY;
        out->v[out->n++] = field;
        if (p >= end)
            return DELIM_OK;
        p++; /* the delimiter; a line ending in one has an empty last field */
    }
}

void delim_fields_free(delim_fields *f)
{
    free(f->v);
    free(f->scratch);
    f->v = NULL;
    f->scratch = NULL;
    f->n = f->capacity = f->scratch_capacity = 0;
}
