/* delimited_opts.c: the "delimited" plugin's format options (delimiter, quoting, header, columns, DPID, mode) and header names. */
#include "delimited.h"
#include "../common/options.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- reading one option */

static int is_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* One byte given as itself or by name ("tab", "comma", ...).  Returns the byte, or -1 when the
 * text is neither. */
static int named_char(const char *value)
{
    static const struct {
        const char *name;
        char c;
    } names[] = {{"tab", '\t'},  {"\\t", '\t'},   {"comma", ','}, {"semicolon", ';'},
                 {"pipe", '|'},  {"space", ' '},  {"colon", ':'}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(value, names[i].name) == 0)
            return (unsigned char)names[i].c;
    if (value[0] && !value[1])
        return (unsigned char)value[0];
    return -1;
}

/* A separator byte: printable ASCII or TAB, and never a line break. */
static int read_separator(const opt_reader *r, const char *key, char fallback, char *out)
{
    const char *value = opt_get(r, key);
    if (!value) {
        *out = fallback;
        return 0;
    }
    int c = named_char(value);
    if (c < 0)
        return opt_refuse(r, key, value,
                          "expected one character or one of \"tab\", \"comma\", \"semicolon\", \"pipe\", "
                          "\"space\", \"colon\"");
    if (c != '\t' && (c < 0x20 || c > 0x7e))
        return opt_refuse(r, key, value, "must be a printable ASCII character or a TAB");
    *out = (char)c;
    return 0;
}

static int read_quote(const opt_reader *r, int *quote)
{
    const char *value = opt_get(r, "quote");
    *quote = '"';
    if (!value)
        return 0;
    if (!*value || strcmp(value, "none") == 0) {
        *quote = DELIM_NO_QUOTE;
        return 0;
    }
    int c = (value[0] && !value[1]) ? (unsigned char)value[0] : -1;
    if (c < 0)
        return opt_refuse(r, "quote", value, "expected one character, or \"none\" (or \"\") for no quoting");
    if (c <= 0x20 || c > 0x7e)
        return opt_refuse(r, "quote", value, "must be a printable ASCII character other than a space");
    *quote = c;
    return 0;
}

static int read_bool(const opt_reader *r, const char *key, int *out)
{
    const char *value = opt_get(r, key);
    *out = 0;
    if (!value || strcmp(value, "false") == 0 || strcmp(value, "no") == 0 || strcmp(value, "0") == 0)
        return 0;
    if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 || strcmp(value, "1") == 0) {
        *out = 1;
        return 0;
    }
    return opt_refuse(r, key, value, "expected \"true\" or \"false\"");
}

static int read_column(const opt_reader *r, delim_column *col, const char *key, int required, int header)
{
    const char *value = opt_get(r, key);
    col->option = key;
    col->index = 0;
    col->name = NULL;
    if (!value) {
        if (!required)
            return 0;
        snprintf(r->err, r->errlen,
                 DELIM_PLUGIN_NAME ": format option %s is required (a column number from 1, or a header name "
                                   "with header = \"true\")",
                 key);
        return -1;
    }
    if (is_digits(value)) {
        if (strlen(value) > 6 || atol(value) == 0 || atol(value) > DELIM_COLUMN_MAX)
            return opt_refuse(r, key, value, "column numbers count from 1 and go up to 100000");
        col->index = (size_t)atol(value);
        return 0;
    }
    if (!*value)
        return opt_refuse(r, key, value, "expected a column number from 1, or a header name");
    if (!header)
        return opt_refuse(r, key, value, "not a column number; a column name needs header = \"true\"");
    col->name = strdup(value);
    if (!col->name)
        return opt_no_memory(r);
    return 0;
}

static int same_column(const delim_column *a, const delim_column *b)
{
    if (a->index && b->index)
        return a->index == b->index;
    return a->name && b->name && strcmp(a->name, b->name) == 0;
}

/* Two column options naming one column: -1 with a reason, or 0 when all are distinct. */
static int columns_clash(const delim_options *o, char *reason, size_t reasonlen)
{
    for (size_t i = 0; i < COL_COUNT; i++)
        for (size_t k = i + 1; k < COL_COUNT; k++) {
            const delim_column *a = &o->col[i], *b = &o->col[k];
            if (!same_column(a, b))
                continue;
            if (a->index)
                snprintf(reason, reasonlen, "%s and %s name the same column (%zu)", a->option, b->option,
                         a->index);
            else
                snprintf(reason, reasonlen, "%s and %s name the same column ('%.64s')", a->option, b->option,
                         a->name);
            return -1;
        }
    return 0;
}

static int read_columns(const opt_reader *r, delim_options *o)
{
    if (read_column(r, &o->col[COL_ID], "id_column", 1, o->header) < 0 ||
        read_column(r, &o->col[COL_SEGMENTS], "segments_column", 1, o->header) < 0 ||
        read_column(r, &o->col[COL_REMOVED], "removed_column", 0, o->header) < 0 ||
        read_column(r, &o->col[COL_DPID], "dpid_column", 0, o->header) < 0)
        return -1;
    char why[200];
    if (columns_clash(o, why, sizeof why) < 0) {
        snprintf(r->err, r->errlen, DELIM_PLUGIN_NAME ": format options %s", why);
        return -1;
    }
    return 0;
}

int delim_options_read(const bd_host_api *host, bd_host_ctx *ctx, const bd_file_info *info, delim_options *o,
                       char *err, size_t errlen)
{
    opt_reader r = {host, ctx, DELIM_PLUGIN_NAME, err, errlen};
    char fallback = (info->flags & DELIM_F_TSV_NAME) ? '\t' : ',';
    memset(o, 0, sizeof *o);
    if (read_separator(&r, "delimiter", fallback, &o->syntax.delimiter) < 0 || read_quote(&r, &o->syntax.quote) < 0)
        return -1;
    if (o->syntax.quote == (unsigned char)o->syntax.delimiter) {
        if (opt_get(&r, "quote"))
            return opt_refuse(&r, "quote", opt_get(&r, "quote"), "the quote character cannot be the delimiter");
        return opt_refuse(&r, "delimiter", opt_get(&r, "delimiter"),
                          "the delimiter cannot be the quote character (set quote to another one or to \"none\")");
    }
    o->syntax.trim = o->syntax.delimiter != ' ';
    if (read_separator(&r, "segment_separator", ',', &o->segment_separator) < 0 ||
        read_bool(&r, "header", &o->header) < 0 || opt_read_dpid(&r, &o->dpid) < 0 ||
        opt_read_mode(&r, info, &o->overwrite) < 0)
        return -1;
    if (read_columns(&r, o) < 0) {
        delim_options_free(o);
        return -1;
    }
    if (o->dpid != BD_NO_VALUE && (o->col[COL_DPID].index || o->col[COL_DPID].name)) {
        snprintf(err, errlen, DELIM_PLUGIN_NAME ": format options dpid and dpid_column are exclusive: give the "
                                                "DPID of every ID, or the column that holds it, not both");
        delim_options_free(o);
        return -1;
    }
    return 0;
}

void delim_options_free(delim_options *o)
{
    for (size_t i = 0; i < COL_COUNT; i++) {
        free(o->col[i].name);
        o->col[i].name = NULL;
    }
}

int delim_options_need_header(const delim_options *o)
{
    for (size_t i = 0; i < COL_COUNT; i++)
        if (o->col[i].name)
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- header names */

static int span_equals_ascii_nocase(text_span s, const char *word)
{
    size_t n = strlen(word);
    if (s.n != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char a = s.p[i], b = word[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z')
            b = (char)(b - 'A' + 'a');
        if (a != b)
            return 0;
    }
    return 1;
}

/* The one header column called `name` (exact match first, else ASCII case-insensitive) into *index. */
static int find_header_column(const delim_column *col, const delim_fields *header, size_t *index, char *reason,
                              size_t reasonlen)
{
    for (int pass = 0; pass < 2; pass++) {
        size_t found = 0;
        for (size_t i = 0; i < header->n; i++) {
            int match = pass == 0 ? span_equals(header->v[i], col->name)
                                  : span_equals_ascii_nocase(header->v[i], col->name);
            if (!match)
                continue;
            if (found) {
                snprintf(reason, reasonlen, "header names column '%.64s' (%s) twice: columns %zu and %zu",
                         col->name, col->option, found, i + 1);
                return -1;
            }
            found = i + 1;
        }
        if (found) {
            *index = found;
            return 0;
        }
    }
    snprintf(reason, reasonlen, "header has no column '%.64s' (%s); it has %zu column%s", col->name, col->option,
             header->n, header->n == 1 ? "" : "s");
    return -1;
}

int delim_options_resolve(delim_options *o, const delim_fields *header, char *reason, size_t reasonlen)
{
    for (size_t i = 0; i < COL_COUNT; i++) {
        delim_column *col = &o->col[i];
        if (!col->name)
            continue;
        if (find_header_column(col, header, &col->index, reason, reasonlen) < 0)
            return -1;
        free(col->name);
        col->name = NULL;
    }
    return columns_clash(o, reason, reasonlen);
}
