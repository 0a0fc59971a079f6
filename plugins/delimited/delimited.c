/* delimited.c: the "delimited" format plugin: CSV/TSV trait files (user ID, segment list columns), descriptor and open/line/finish/close. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "delimited.h"
#include "../common/options.h"
#include "../common/plugin_util.h"
#include "../common/record.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REASON_SIZE 320

/* Per-file state. */
typedef struct delim_state {
    const bd_host_api *host;
    bd_host_ctx *ctx;
    delim_options opt;
    int header_pending; /* the next line is the header */
    int first_line;     /* no line seen yet (a UTF-8 BOM may open it) */
    delim_fields fields;
    item_list items;
    size_t row_dropped;        /* removals of the current row dropped in a full file */
    uint64_t dropped_removals; /* the same for every emitted row */
} delim_state;

/* ---------------------------------------------------------------- file names */

static int has_suffix(const char *name, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(name + n - k, suffix, k) == 0;
}

/* Any name is a delimited file; its extension only picks the default delimiter. */
static int delim_grammar(const char *name, bd_file_info *info, char *why, size_t whylen)
{
    size_t n = strlen(name);
    if (n == 0)
        return name_reject(why, whylen, "empty file name");
    if (has_suffix(name, n, ".gz"))
        n -= 3;
    else if (has_suffix(name, n, ".zst"))
        n -= 4;
    info->kind = BD_FILE_TRAITS;
    info->mode = opt_mode_of_name(name);
    info->dpid = BD_NO_VALUE; /* from the dpid or dpid_column option, or left to the host */
    if (has_suffix(name, n, ".tsv"))
        info->flags |= DELIM_F_TSV_NAME;
    else if (has_suffix(name, n, ".csv"))
        info->flags |= DELIM_F_CSV_NAME;
    return 0;
}

static int delim_parse_name(const char *name, bd_file_info *info, char *err, size_t errlen)
{
    return name_parse_for_host(name, info, delim_grammar, err, errlen);
}

/* ---------------------------------------------------------------- open / close */

static void delim_close(void *state)
{
    delim_state *st = state;
    if (!st)
        return;
    delim_options_free(&st->opt);
    delim_fields_free(&st->fields);
    item_list_free(&st->items);
    free(st);
}

static int delim_open(const bd_host_api *host, bd_host_ctx *ctx, const bd_file_info *info, void **state, char *err,
                      size_t errlen)
{
    if (plugin_check_trait_open(host, info, DELIM_PLUGIN_NAME, err, errlen) < 0)
        return -1;
    delim_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, DELIM_PLUGIN_NAME ": out of memory");
        return -1;
    }
    if (delim_options_read(host, ctx, info, &st->opt, err, errlen) < 0) {
        free(st);
        return -1;
    }
    st->host = host;
    st->ctx = ctx;
    st->header_pending = st->opt.header;
    st->first_line = 1;
    *state = st;
    return 0;
}

/* ---------------------------------------------------------------- one row */

static text_span trim_spaces(text_span s)
{
    while (s.n && s.p[0] == ' ')
        s.p++, s.n--;
    while (s.n && s.p[s.n - 1] == ' ')
        s.n--;
    return s;
}

/* A segment number: digits only, at most 18 of them.  0, or -1 with a reason. */
static int parse_segment(text_span value, const delim_column *col, int64_t *trait, char *reason, size_t reasonlen)
{
    char after[96];
    if (!span_is_digits(value)) {
        snprintf(after, sizeof after, "' in column %zu (%s) is not a non-negative integer", col->index, col->option);
        span_describe(reason, reasonlen, "segment '", value, after);
        return -1;
    }
    if (value.n > DELIM_DIGITS_MAX) {
        snprintf(after, sizeof after, "' in column %zu (%s) has more than 18 digits", col->index, col->option);
        span_describe(reason, reasonlen, "segment '", value, after);
        return -1;
    }
    *trait = span_number(value);
    return 0;
}

enum { ROW_OK = 0, ROW_FORMAT = -1, ROW_NO_MEMORY = -2 };

/* The segments cell of `col` as items of `kind` ("" and empty pieces give none). */
static int add_segments(delim_state *st, const delim_column *col, int kind, char *reason, size_t reasonlen)
{
    text_span cell = st->fields.v[col->index - 1];
    text_span piece;
    const char *p = cell.p, *end = cell.p + cell.n;
    while (p < end) {
        const char *cut = memchr(p, st->opt.segment_separator, (size_t)(end - p));
        const char *stop = cut ? cut : end;
        piece = trim_spaces(span_between(p, stop));
        p = cut ? cut + 1 : end;
        if (piece.n == 0)
            continue; /* "1,,2" and a trailing separator */
        int64_t trait;
        if (parse_segment(piece, col, &trait, reason, reasonlen) < 0)
            return ROW_FORMAT;
        if (kind == BD_ITEM_REMOVE && st->opt.overwrite) {
            st->row_dropped++; /* full files carry no removals */
            continue;
        }
        if (item_list_add(&st->items, kind, trait) < 0)
            return ROW_NO_MEMORY;
    }
    return ROW_OK;
}

/* Every column option must exist in the row. */
static int check_columns(const delim_state *st, char *reason, size_t reasonlen)
{
    size_t n = st->fields.n;
    for (size_t i = 0; i < COL_COUNT; i++) {
        const delim_column *col = &st->opt.col[i];
        if (col->index > n) {
            snprintf(reason, reasonlen, "row has %zu column%s, %s is %zu", n, n == 1 ? "" : "s", col->option,
                     col->index);
            return -1;
        }
    }
    return 0;
}

/* The DPID of the row's user ID: the fixed option, the dpid_column cell, or BD_NO_VALUE. */
static int row_dpid(const delim_state *st, int64_t *dpid, char *reason, size_t reasonlen)
{
    const delim_column *col = &st->opt.col[COL_DPID];
    *dpid = st->opt.dpid;
    if (!col->index)
        return 0;
    text_span cell = st->fields.v[col->index - 1];
    char after[96];
    if (cell.n == 0) {
        snprintf(reason, reasonlen, "empty DPID in column %zu (dpid_column)", col->index);
        return -1;
    }
    if (!span_is_digits(cell) || cell.n > DELIM_DIGITS_MAX) {
        snprintf(after, sizeof after, "' in column %zu (dpid_column) is not a DPID number (at most 18 digits)",
                 col->index);
        span_describe(reason, reasonlen, "DPID '", cell, after);
        return -1;
    }
    *dpid = span_number(cell);
    return 0;
}

/* The user ID: present, printable, and of the format its DPID (when known) requires.
 * 0, or a bd_error_kind with a reason. */
static int check_user(const delim_state *st, text_span id, int64_t dpid, char *reason, size_t reasonlen)
{
    const delim_column *col = &st->opt.col[COL_ID];
    if (id.n == 0) {
        snprintf(reason, reasonlen, "empty user ID in column %zu (id_column)", col->index);
        return BD_ERR_FORMAT;
    }
    return record_check_user_id(id, dpid, reason, reasonlen);
}

/* A split row to a record: 0 with *kind 0 when it may be emitted, else *kind and a reason. */
static int build_row(delim_state *st, text_span *id, int64_t *dpid, int *kind, char *reason, size_t reasonlen)
{
    *kind = BD_ERR_FORMAT;
    st->items.n = 0;
    st->row_dropped = 0;
    if (check_columns(st, reason, reasonlen) < 0 || row_dpid(st, dpid, reason, reasonlen) < 0)
        return ROW_FORMAT;
    *id = st->fields.v[st->opt.col[COL_ID].index - 1];
    if ((*kind = check_user(st, *id, *dpid, reason, reasonlen)) != 0)
        return ROW_FORMAT;
    *kind = BD_ERR_FORMAT;
    int rc = add_segments(st, &st->opt.col[COL_SEGMENTS], BD_ITEM_ADD, reason, reasonlen);
    if (rc == ROW_OK && st->opt.col[COL_REMOVED].index)
        rc = add_segments(st, &st->opt.col[COL_REMOVED], BD_ITEM_REMOVE, reason, reasonlen);
    if (rc == ROW_OK)
        *kind = 0;
    return rc;
}

/* ---------------------------------------------------------------- lines */

static int out_of_memory(delim_state *st, uint64_t lineno)
{
    st->host->log(st->ctx, BD_LOG_ERROR, DELIM_PLUGIN_NAME ": out of memory at line %llu",
                  (unsigned long long)lineno);
    return -1;
}

/* The header line: skipped, or read for the column names.  A name it lacks fails the whole file. */
static int read_header(delim_state *st, uint64_t lineno, int split_rc, char *reason)
{
    st->header_pending = 0;
    if (!delim_options_need_header(&st->opt))
        return 0;
    if (split_rc == DELIM_OK && delim_options_resolve(&st->opt, &st->fields, reason, REASON_SIZE) == 0)
        return 0;
    char text[REASON_SIZE + 64];
    snprintf(text, sizeof text, "header: %s", reason);
    st->host->line_error(st->ctx, lineno, BD_ERR_FORMAT, text);
    st->host->log(st->ctx, BD_LOG_ERROR, DELIM_PLUGIN_NAME ": line %llu: %s; the file cannot be read",
                  (unsigned long long)lineno, text);
    return -1;
}

static int delim_line(void *state, uint64_t lineno, const char *line, size_t len)
{
    delim_state *st = state;
    char reason[REASON_SIZE] = "";
    if (st->first_line && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
        line += 3; /* a UTF-8 byte order mark, as spreadsheet exports write */
        len -= 3;
    }
    st->first_line = 0;
    int rc = delim_split(&st->opt.syntax, line, len, &st->fields, reason, sizeof reason);
    if (rc == DELIM_NO_MEMORY)
        return out_of_memory(st, lineno);
    if (st->header_pending)
        return read_header(st, lineno, rc, reason);
    if (rc != DELIM_OK) {
        st->host->line_error(st->ctx, lineno, BD_ERR_FORMAT, reason);
        return 0;
    }
    text_span id;
    int64_t dpid;
    int kind;
    rc = build_row(st, &id, &dpid, &kind, reason, sizeof reason);
    if (rc == ROW_NO_MEMORY)
        return out_of_memory(st, lineno);
    if (rc != ROW_OK) {
        st->host->line_error(st->ctx, lineno, kind, reason);
        return 0;
    }
    st->dropped_removals += st->row_dropped;
    return record_emit(st->host, st->ctx, lineno, id, dpid, &st->items);
}

static int delim_finish(void *state, char *err, size_t errlen)
{
    delim_state *st = state;
    (void)err;
    (void)errlen;
    if (st->dropped_removals)
        st->host->log(st->ctx, BD_LOG_INFO,
                      DELIM_PLUGIN_NAME ": ignored %llu removal(s) (removed_column): full files ignore removals",
                      (unsigned long long)st->dropped_removals);
    return 0;
}

static const char *const delim_patterns[] = {"*.csv", "*.tsv", "*.csv.gz", "*.tsv.gz", "*.csv.zst", "*.tsv.zst",
                                             NULL};

static const bd_plugin delim_plugin = {
    .struct_size = sizeof(bd_plugin),
    .abi_major = BD_PLUGIN_ABI_MAJOR,
    .abi_minor = BD_PLUGIN_ABI_MINOR,
    .name = DELIM_PLUGIN_NAME,
    .version = PLUGIN_VERSION,
    .description = "CSV/TSV trait files: a user ID column and segment list columns (RFC 4180 quoting)",
    .patterns = delim_patterns,
    .probe = NULL,
    .parse_name = delim_parse_name,
    .open = delim_open,
    .line = delim_line,
    .finish = delim_finish,
    .close = delim_close,
};

BD_PLUGIN_EXPORT const bd_plugin *batchdrop_plugin_entry(void)
{
    return &delim_plugin;
}
