/* aam.c: the "aam" format plugin: descriptor and per-file open/line/finish/close for AAM inbound trait files. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "aam.h"
#include "../common/dpid_ids.h"
#include "../common/plugin_util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REASON_SIZE 320

/* ID type of an ODC file, fixed by its first valid line. */
typedef enum odc_id_type { ODC_UNSET = 0, ODC_IDFA, ODC_GAID } odc_id_type;

/* Per-file state. */
typedef struct aam_state {
    const bd_host_api *host;
    bd_host_ctx *ctx;
    int64_t dpid;
    aam_row_rules rules;
    aam_row row;
    odc_id_type odc_type;
    uint64_t odc_type_line; /* the line that fixed odc_type */
    uint64_t dropped_removals;
} aam_state;

/* Option bare_values: "ic" (default, spec §13.6: a bare value is an ic signal) or "traits"
 * (a bare number is a trait ID to ADD, as in ODC files; for partners whose files list trait IDs). */
static int read_bare_values_option(const bd_host_api *host, bd_host_ctx *ctx, int *bare_are_traits, char *err,
                                   size_t errlen)
{
    const char *value = host->option ? host->option(ctx, "bare_values") : NULL;
    *bare_are_traits = 0;
    if (!value || strcmp(value, "ic") == 0)
        return 0;
    if (strcmp(value, "traits") == 0) {
        *bare_are_traits = 1;
        return 0;
    }
    snprintf(err, errlen, "format option bare_values = \"%.64s\": expected \"ic\" or \"traits\"", value);
    return -1;
}

static int aam_open(const bd_host_api *host, bd_host_ctx *ctx, const bd_file_info *info, void **state, char *err,
                    size_t errlen)
{
    int bare_are_traits;
    if (plugin_check_host(host, BD_FILE_TRAITS, "aam", err, errlen) < 0)
        return -1;
    if (!info || info->kind != BD_FILE_TRAITS) {
        snprintf(err, errlen, "aam: not a trait file (its name was not parsed by this plugin)");
        return -1;
    }
    if (read_bare_values_option(host, ctx, &bare_are_traits, err, errlen) < 0)
        return -1;
    aam_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "aam: out of memory");
        return -1;
    }
    st->host = host;
    st->ctx = ctx;
    st->dpid = info->dpid;
    st->rules.odc = (info->flags & BD_FILE_F_ODC) != 0;
    st->rules.bare_are_traits = st->rules.odc || bare_are_traits;
    st->rules.overwrite = info->mode == BD_MODE_OVERWRITE;
    *state = st;
    return 0;
}

static odc_id_type odc_type_of(text_span word)
{
    if (span_equals_nocase(word, "idfa"))
        return ODC_IDFA;
    if (span_equals_nocase(word, "gaid") || span_equals_nocase(word, "android"))
        return ODC_GAID;
    return ODC_UNSET;
}

/* ODC rows name their ID type; it fixes the ID format, and one file holds one type (spec §10). */
static int check_odc_user(aam_state *st, uint64_t lineno, char *reason, size_t reasonlen)
{
    odc_id_type type = odc_type_of(st->row.id_type);
    if (type == ODC_UNSET) {
        span_describe(reason, reasonlen, "unknown ID type '", st->row.id_type, "' (expected idfa, gaid or android)");
        return BD_ERR_FORMAT;
    }
    if (st->odc_type != ODC_UNSET && type != st->odc_type) {
        char after[128];
        snprintf(after, sizeof after, "' in a file of %s IDs (set by line %llu); ODC files never mix ID types",
                 st->odc_type == ODC_IDFA ? "idfa" : "gaid", (unsigned long long)st->odc_type_line);
        span_describe(reason, reasonlen, "ID type '", st->row.id_type, after);
        return BD_ERR_FORMAT;
    }
    const text_span id = st->row.user_id;
    int64_t as_dpid = type == ODC_IDFA ? DPID_IDFA : DPID_GAID;
    const char *context = type == ODC_IDFA ? "ODC ID type idfa" : "ODC ID type gaid";
    if (dpid_ids_check_as(as_dpid, context, id.p, id.n, reason, reasonlen) < 0)
        return BD_ERR_INVALID_ID;
    /* A device DPID in the name must agree with the IDs, e.g. no IDFAs in a 20914 file. */
    if (dpid_ids_is_global_device(st->dpid) && dpid_ids_check(st->dpid, id.p, id.n, reason, reasonlen) < 0)
        return BD_ERR_INVALID_ID;
    if (st->odc_type == ODC_UNSET) {
        st->odc_type = type;
        st->odc_type_line = lineno;
    }
    return 0;
}

/* 0 when the user ID fits the file's namespace, else a bd_error_kind with a reason. */
static int check_user(aam_state *st, uint64_t lineno, char *reason, size_t reasonlen)
{
    if (st->rules.odc)
        return check_odc_user(st, lineno, reason, reasonlen);
    const text_span id = st->row.user_id;
    if (dpid_ids_check(st->dpid, id.p, id.n, reason, reasonlen) < 0)
        return BD_ERR_INVALID_ID;
    return 0;
}

static int emit(aam_state *st, uint64_t lineno)
{
    bd_record rec = {
        .struct_size = sizeof rec,
        .line = lineno,
        .user_id = st->row.user_id.p,
        .user_id_len = st->row.user_id.n,
        .items = st->row.items,
        .nitems = st->row.nitems,
    };
    if (st->rules.odc && st->odc_type != ODC_UNSET) {
        /* ODC rows carry device IDs: match them in the global device namespace, not the file's DPID. */
        rec.flags = BD_RECORD_F_DPID;
        rec.dpid = st->odc_type == ODC_IDFA ? 20915 : 20914;
    }
    return st->host->emit_record(st->ctx, &rec) < 0 ? -1 : 0;
}

static int aam_line(void *state, uint64_t lineno, const char *line, size_t len)
{
    aam_state *st = state;
    char reason[REASON_SIZE];
    plugin_skip_bom(lineno, &line, &len);
    int rc = aam_row_parse(&st->rules, line, len, &st->row, reason, sizeof reason);
    if (rc == AAM_ROW_NO_MEMORY) {
        st->host->log(st->ctx, BD_LOG_ERROR, "aam: out of memory for the items of line %llu",
                      (unsigned long long)lineno);
        return -1;
    }
    if (rc != AAM_ROW_OK) {
        st->host->line_error(st->ctx, lineno, BD_ERR_FORMAT, reason);
        return 0;
    }
    int error_kind = check_user(st, lineno, reason, sizeof reason);
    if (error_kind) {
        st->host->line_error(st->ctx, lineno, error_kind, reason);
        return 0;
    }
    st->dropped_removals += st->row.dropped_removals;
    return emit(st, lineno);
}

static int aam_finish(void *state, char *err, size_t errlen)
{
    aam_state *st = state;
    (void)err;
    (void)errlen;
    if (st->dropped_removals)
        st->host->log(st->ctx, BD_LOG_INFO,
                      "aam: ignored %llu removal(s) (d_unsid=, N:0, N:-1): .overwrite files ignore removals",
                      (unsigned long long)st->dropped_removals);
    return 0;
}

static void aam_close(void *state)
{
    aam_state *st = state;
    if (!st)
        return;
    aam_row_free(&st->row);
    free(st);
}

static const char *const aam_patterns[] = {"ftp_dpm_*", NULL};

static const bd_plugin aam_plugin = {
    .struct_size = sizeof(bd_plugin),
    .abi_major = BD_PLUGIN_ABI_MAJOR,
    .abi_minor = BD_PLUGIN_ABI_MINOR,
    .name = "aam",
    .version = PLUGIN_VERSION,
    .description = "Adobe Audience Manager inbound trait files (ftp_dpm_..., ODC variant ftp_dpm_odc_...)",
    .patterns = aam_patterns,
    .probe = NULL,
    .parse_name = aam_parse_name,
    .open = aam_open,
    .line = aam_line,
    .finish = aam_finish,
    .close = aam_close,
};

BD_PLUGIN_EXPORT const bd_plugin *batchdrop_plugin_entry(void)
{
    return &aam_plugin;
}
