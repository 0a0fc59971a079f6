/* idsync.c: the "aam-idsync" format plugin: descriptor and per-file open/line/finish/close for AAM ID-sync files. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "idsync.h"
#include "../common/dpid_ids.h"
#include "../common/plugin_util.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REASON_SIZE 320
#define SHOWN_SIZE (DPID_IDS_SNIPPET_MAX + 4)
#define SHA256_HEX_LEN 64

/* Per-file state. */
typedef struct idsync_state {
    const bd_host_api *host;
    bd_host_ctx *ctx;
    int c2c;
    size_t ndpids;
    int64_t dpids[BD_MAX_DPIDS];
    const char *cols[BD_MAX_DPIDS];
    size_t col_lens[BD_MAX_DPIDS];
} idsync_state;

static int idsync_open(const bd_host_api *host, bd_host_ctx *ctx, const bd_file_info *info, void **state,
                       char *err, size_t errlen)
{
    if (plugin_check_host(host, BD_FILE_IDSYNC, "aam-idsync", err, errlen) < 0)
        return -1;
    if (!info || info->kind != BD_FILE_IDSYNC || info->ndpids < 2 || info->ndpids > BD_MAX_DPIDS) {
        snprintf(err, errlen, "aam-idsync: not an ID-sync file (its name was not parsed by this plugin)");
        return -1;
    }
    idsync_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "aam-idsync: out of memory");
        return -1;
    }
    st->host = host;
    st->ctx = ctx;
    st->c2c = (info->flags & BD_FILE_F_C2C) != 0;
    st->ndpids = (size_t)info->ndpids;
    memcpy(st->dpids, info->dpids, sizeof st->dpids);
    *state = st;
    return 0;
}

static int is_hex_digit(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_lower_hex_digit(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* '%' followed by two hex digits, e.g. %3A or %40. */
static int looks_url_encoded(const char *id, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++)
        if (id[i] == '%' && is_hex_digit((unsigned char)id[i + 1]) && is_hex_digit((unsigned char)id[i + 2]))
            return 1;
    return 0;
}

static int has_control_byte(const char *id, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)id[i] < 0x20 || id[i] == 0x7F)
            return 1;
    return 0;
}

/* Split the row at TABs into st->cols; returns the number of columns (may exceed BD_MAX_DPIDS). */
static size_t split_columns(idsync_state *st, const char *line, size_t len)
{
    const char *p = line, *end = line + len;
    size_t count = 0;
    for (;;) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        const char *stop = tab ? tab : end;
        if (count < BD_MAX_DPIDS) {
            st->cols[count] = p;
            st->col_lens[count] = (size_t)(stop - p);
        }
        count++;
        if (!tab)
            return count;
        p = tab + 1;
    }
}

static void describe_column(char *reason, size_t reasonlen, size_t col, const char *id, size_t len,
                            const char *what)
{
    char shown[SHOWN_SIZE];
    dpid_ids_snippet(id, len, DPID_IDS_SNIPPET_MAX, shown, sizeof shown);
    snprintf(reason, reasonlen, "column %zu: ID '%s' %s", col + 1, shown, what);
}

/* Shape problems of one column (BD_ERR_FORMAT), before any namespace check. */
static int check_column_format(const char *id, size_t len, size_t col, char *reason, size_t reasonlen)
{
    if (len == 0) {
        snprintf(reason, reasonlen, "column %zu is empty", col + 1);
        return -1;
    }
    if (id[0] == ' ' || id[len - 1] == ' ') {
        describe_column(reason, reasonlen, col, id, len, "has a leading or trailing space");
        return -1;
    }
    if (len > IDSYNC_ID_MAX) {
        snprintf(reason, reasonlen, "column %zu: ID is %zu bytes, longer than the %d allowed", col + 1, len,
                 IDSYNC_ID_MAX);
        return -1;
    }
    if (has_control_byte(id, len)) {
        describe_column(reason, reasonlen, col, id, len, "contains a control character");
        return -1;
    }
    if (looks_url_encoded(id, len)) {
        describe_column(reason, reasonlen, col, id, len, "is URL-encoded; IDs must not be URL-encoded");
        return -1;
    }
    return 0;
}

static int is_sha256_hex(const char *id, size_t len)
{
    if (len != SHA256_HEX_LEN)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_lower_hex_digit((unsigned char)id[i]))
            return 0;
    return 1;
}

/* Namespace problems of one column (BD_ERR_INVALID_ID). */
static int check_column_id(const idsync_state *st, size_t col, char *reason, size_t reasonlen)
{
    const char *id = st->cols[col];
    size_t len = st->col_lens[col];
    char why[REASON_SIZE - 64];
    if (dpid_ids_check(st->dpids[col], id, len, why, sizeof why) < 0) {
        snprintf(reason, reasonlen, "column %zu: %s", col + 1, why);
        return -1;
    }
    /* c2c_id_ column 2 holds SHA-256 hashed emails in lowercase hex (spec §6); anything else may be raw PII. */
    if (st->c2c && col == 1 && !is_sha256_hex(id, len)) {
        describe_column(reason, reasonlen, col, id, len,
                        "is not a SHA-256 hashed email (64 lowercase hex digits) as c2c_id_ files require");
        return -1;
    }
    return 0;
}

/* 0 when the row is good, else a bd_error_kind with a reason. */
static int check_row(idsync_state *st, const char *line, size_t len, char *reason, size_t reasonlen)
{
    if (len > 0 && (line[len - 1] == '\t' || line[len - 1] == ' ')) {
        snprintf(reason, reasonlen, "row ends in a TAB or space (such rows are not processed)");
        return BD_ERR_FORMAT;
    }
    size_t ncols = split_columns(st, line, len);
    if (ncols != st->ndpids) {
        snprintf(reason, reasonlen, "row has %zu columns, file name names %zu DPIDs", ncols, st->ndpids);
        return BD_ERR_FORMAT;
    }
    for (size_t col = 0; col < ncols; col++)
        if (check_column_format(st->cols[col], st->col_lens[col], col, reason, reasonlen) < 0)
            return BD_ERR_FORMAT;
    for (size_t col = 0; col < ncols; col++)
        if (check_column_id(st, col, reason, reasonlen) < 0)
            return BD_ERR_INVALID_ID;
    return 0;
}

static int idsync_line(void *state, uint64_t lineno, const char *line, size_t len)
{
    idsync_state *st = state;
    char reason[REASON_SIZE];
    plugin_skip_bom(lineno, &line, &len);
    int error_kind = check_row(st, line, len, reason, sizeof reason);
    if (error_kind) {
        st->host->line_error(st->ctx, lineno, error_kind, reason);
        return 0;
    }
    bd_idsync_row row = {
        .struct_size = sizeof row,
        .line = lineno,
        .cols = st->cols,
        .col_lens = st->col_lens,
        .ncols = st->ndpids,
    };
    return st->host->emit_idsync(st->ctx, &row) < 0 ? -1 : 0;
}

static int idsync_finish(void *state, char *err, size_t errlen)
{
    (void)state;
    (void)err;
    (void)errlen;
    return 0;
}

static void idsync_close(void *state)
{
    free(state);
}

static const char *const idsync_patterns[] = {"adobe_id_*", "c2c_id_*", NULL};

static const bd_plugin idsync_plugin = {
    .struct_size = sizeof(bd_plugin),
    .abi_major = BD_PLUGIN_ABI_MAJOR,
    .abi_minor = BD_PLUGIN_ABI_MINOR,
    .name = "aam-idsync",
    .version = PLUGIN_VERSION,
    .description = "Adobe Audience Manager file-based ID synchronization (adobe_id_..., c2c_id_...)",
    .patterns = idsync_patterns,
    .probe = NULL,
    .parse_name = idsync_parse_name,
    .open = idsync_open,
    .line = idsync_line,
    .finish = idsync_finish,
    .close = idsync_close,
};

BD_PLUGIN_EXPORT const bd_plugin *batchdrop_plugin_entry(void)
{
    return &idsync_plugin;
}
