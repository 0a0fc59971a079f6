/* jsonl.c: the "jsonl" format plugin: one JSON object per line (user ID, segment arrays), parsed with jansson. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "../common/dpid_ids.h"
#include "../common/name_parse.h"
#include "../common/options.h"
#include "../common/plugin_util.h"
#include "../common/record.h"
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSONL_NAME "jsonl"
#define REASON_SIZE 320
#define SHOWN_SIZE (DPID_IDS_SNIPPET_MAX + 4)
#define DIGITS_MAX 18 /* longest segment or DPID given as a string: always fits an int64_t */

/* A field option: a key, or a dotted path ("user.id") into nested objects. */
typedef struct field_path {
    const char *option; /* "id_field", ... */
    char *text;         /* the whole option value; NULL when the field is not used */
    char **parts;       /* text cut at its dots */
    size_t nparts;
} field_path;

enum { F_ID = 0, F_SEGMENTS, F_REMOVED, F_DPID, F_COUNT };

/* Per-file state. */
typedef struct jsonl_state {
    const bd_host_api *host;
    bd_host_ctx *ctx;
    field_path field[F_COUNT];
    int64_t dpid;  /* fixed DPID of every user ID, BD_NO_VALUE when unset */
    int overwrite; /* full file: removals are ignored */
    item_list items;
    char number_id[24]; /* an integer user ID as text */
    int first_line;     /* no line seen yet (a UTF-8 BOM may open it) */
    size_t row_dropped;        /* removals of the current line dropped in a full file */
    uint64_t dropped_removals; /* the same for every emitted line */
} jsonl_state;

/* ---------------------------------------------------------------- file names */

/* Any name is a JSON Lines file. */
static int jsonl_grammar(const char *name, bd_file_info *info, char *why, size_t whylen)
{
    if (!*name)
        return name_reject(why, whylen, "empty file name");
    info->kind = BD_FILE_TRAITS;
    info->mode = opt_mode_of_name(name);
    info->dpid = BD_NO_VALUE; /* from the dpid or dpid_field option, or left to the host */
    return 0;
}

static int jsonl_parse_name(const char *name, bd_file_info *info, char *err, size_t errlen)
{
    return name_parse_for_host(name, info, jsonl_grammar, err, errlen);
}

/* ---------------------------------------------------------------- options */

static void path_free(field_path *p)
{
    for (size_t i = 0; i < p->nparts; i++)
        free(p->parts[i]);
    free(p->parts);
    free(p->text);
    p->parts = NULL;
    p->text = NULL;
    p->nparts = 0;
}

/* Cut p->text at its dots into p->parts. */
static int path_split(field_path *p)
{
    size_t n = 1;
    for (const char *c = p->text; *c; c++)
        n += *c == '.';
    if (!(p->parts = calloc(n, sizeof *p->parts)))
        return -1;
    const char *from = p->text;
    for (size_t i = 0; i < n; i++) {
        size_t len = strcspn(from, ".");
        if (!(p->parts[i] = malloc(len + 1)))
            return -1;
        p->nparts = i + 1;
        memcpy(p->parts[i], from, len);
        p->parts[i][len] = '\0';
        from += len + 1;
    }
    return 0;
}

static int read_path(const opt_reader *r, field_path *p, const char *key, const char *fallback)
{
    const char *value = opt_get(r, key);
    p->option = key;
    if (!value)
        value = fallback;
    if (!value)
        return 0;
    if (!*value)
        return opt_refuse(r, key, value, "expected a field name or a dotted path such as \"user.id\"");
    if (value[0] == '.' || value[strlen(value) - 1] == '.' || strstr(value, ".."))
        return opt_refuse(r, key, value, "empty part in the dotted path");
    if (!(p->text = strdup(value)) || path_split(p) < 0)
        return opt_no_memory(r);
    return 0;
}

static int read_options(const opt_reader *r, const bd_file_info *info, jsonl_state *st)
{
    if (read_path(r, &st->field[F_ID], "id_field", "id") < 0 ||
        read_path(r, &st->field[F_SEGMENTS], "segments_field", "segments") < 0 ||
        read_path(r, &st->field[F_REMOVED], "removed_field", "removed") < 0 ||
        read_path(r, &st->field[F_DPID], "dpid_field", NULL) < 0 || opt_read_dpid(r, &st->dpid) < 0 ||
        opt_read_mode(r, info, &st->overwrite) < 0)
        return -1;
    if (st->dpid != BD_NO_VALUE && st->field[F_DPID].text) {
        snprintf(r->err, r->errlen, JSONL_NAME ": format options dpid and dpid_field are exclusive: give the DPID "
                                               "of every ID, or the field that holds it, not both");
        return -1;
    }
    for (size_t i = 0; i < F_COUNT; i++)
        for (size_t k = i + 1; k < F_COUNT; k++)
            if (st->field[i].text && st->field[k].text && strcmp(st->field[i].text, st->field[k].text) == 0) {
                snprintf(r->err, r->errlen, JSONL_NAME ": format options %s and %s name the same field '%.64s'",
                         st->field[i].option, st->field[k].option, st->field[i].text);
                return -1;
            }
    return 0;
}

/* ---------------------------------------------------------------- open / close */

static void jsonl_close(void *state)
{
    jsonl_state *st = state;
    if (!st)
        return;
    for (size_t i = 0; i < F_COUNT; i++)
        path_free(&st->field[i]);
    item_list_free(&st->items);
    free(st);
}

static int jsonl_open(const bd_host_api *host, bd_host_ctx *ctx, const bd_file_info *info, void **state, char *err,
                      size_t errlen)
{
    if (plugin_check_trait_open(host, info, JSONL_NAME, err, errlen) < 0)
        return -1;
    jsonl_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, JSONL_NAME ": out of memory");
        return -1;
    }
    opt_reader r = {host, ctx, JSONL_NAME, err, errlen};
    if (read_options(&r, info, st) < 0) {
        jsonl_close(st);
        return -1;
    }
    st->host = host;
    st->ctx = ctx;
    st->first_line = 1;
    *state = st;
    return 0;
}

/* ---------------------------------------------------------------- values */

enum { ROW_OK = 0, ROW_FORMAT = -1, ROW_NO_MEMORY = -2 };

/* The value at a field path: the whole text as one key first (keys may hold dots), then the dotted path. */
static json_t *path_get(json_t *root, const field_path *p)
{
    json_t *v = json_object_get(root, p->text);
    if (v || p->nparts < 2)
        return v;
    v = root;
    for (size_t i = 0; i < p->nparts && v; i++)
        v = json_is_object(v) ? json_object_get(v, p->parts[i]) : NULL;
    return v;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number with a fraction or an exponent";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "an unknown JSON value";
}

/* A scalar as the partner wrote it (strings quoted), shortened, for a reason. */
static void show_value(const json_t *v, char *out, size_t outlen)
{
    char shown[SHOWN_SIZE];
    if (json_is_string(v)) {
        dpid_ids_snippet(json_string_value(v), json_string_length(v), DPID_IDS_SNIPPET_MAX, shown, sizeof shown);
        snprintf(out, outlen, "\"%s\"", shown);
        return;
    }
    if (json_is_integer(v)) {
        snprintf(out, outlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return;
    }
    if (json_is_real(v)) {
        int n = snprintf(out, outlen, "%.17g", json_real_value(v));
        if (n > 0 && (size_t)n + 2 < outlen && !strpbrk(out, ".eEni"))
            memcpy(out + n, ".0", 3); /* 1.0 was written with a fraction: do not show it as 1 */
        return;
    }
    snprintf(out, outlen, "%s", type_name(v));
}

/* A non-negative integer from a JSON integer or a string of at most 18 digits. 0, or -1. */
static int natural_number(const json_t *v, int64_t *out)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    text_span s = span_make(json_string_value(v), json_string_length(v));
    if (!span_is_digits(s) || s.n > DIGITS_MAX)
        return -1;
    *out = span_number(s);
    return 0;
}

/* The array at `f` as items of `kind`. */
static int add_segments(jsonl_state *st, const field_path *f, const json_t *list, int kind, char *reason,
                        size_t reasonlen)
{
    char shown[SHOWN_SIZE + 8];
    if (!json_is_array(list)) {
        snprintf(reason, reasonlen, "field '%.64s' is %s, expected an array of non-negative integers", f->text,
                 type_name(list));
        return ROW_FORMAT;
    }
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *v = json_array_get(list, i);
        int64_t trait;
        if (natural_number(v, &trait) < 0) {
            show_value(v, shown, sizeof shown);
            snprintf(reason, reasonlen, "field '%.64s'[%zu] is %s, not a non-negative integer%s", f->text, i, shown,
                     json_is_string(v) ? " (of at most 18 digits)" : "");
            return ROW_FORMAT;
        }
        if (kind == BD_ITEM_REMOVE && st->overwrite) {
            st->row_dropped++; /* full files carry no removals */
            continue;
        }
        if (item_list_add(&st->items, kind, trait) < 0)
            return ROW_NO_MEMORY;
    }
    return ROW_OK;
}

/* The user ID: a non-empty string or a non-negative integer.  0, or a bd_error_kind with a reason. */
static int read_user(jsonl_state *st, json_t *obj, int64_t dpid, text_span *id, char *reason, size_t reasonlen)
{
    const field_path *f = &st->field[F_ID];
    const json_t *v = path_get(obj, f);
    if (!v) {
        snprintf(reason, reasonlen, "missing field '%.64s'", f->text);
        return BD_ERR_FORMAT;
    }
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        snprintf(st->number_id, sizeof st->number_id, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        *id = span_make(st->number_id, strlen(st->number_id));
    } else if (json_is_string(v)) {
        *id = span_make(json_string_value(v), json_string_length(v));
    } else {
        char shown[SHOWN_SIZE + 8];
        show_value(v, shown, sizeof shown);
        snprintf(reason, reasonlen, "field '%.64s' is %s, expected a string or a non-negative integer", f->text,
                 shown);
        return BD_ERR_FORMAT;
    }
    if (id->n == 0) {
        snprintf(reason, reasonlen, "field '%.64s' is an empty string", f->text);
        return BD_ERR_FORMAT;
    }
    return record_check_user_id(*id, dpid, reason, reasonlen);
}

/* The record's DPID: the fixed option, the dpid_field value, or BD_NO_VALUE. */
static int read_dpid_field(const jsonl_state *st, json_t *obj, int64_t *dpid, char *reason, size_t reasonlen)
{
    const field_path *f = &st->field[F_DPID];
    *dpid = st->dpid;
    if (!f->text)
        return 0;
    const json_t *v = path_get(obj, f);
    if (!v) {
        snprintf(reason, reasonlen, "missing field '%.64s' (dpid_field)", f->text);
        return -1;
    }
    if (natural_number(v, dpid) < 0) {
        char shown[SHOWN_SIZE + 8];
        show_value(v, shown, sizeof shown);
        snprintf(reason, reasonlen, "field '%.64s' is %s, expected a DPID number", f->text, shown);
        return -1;
    }
    return 0;
}

/* One parsed object to the record's ID, DPID and items: ROW_OK, ROW_NO_MEMORY, or ROW_FORMAT with *kind. */
static int build_row(jsonl_state *st, json_t *obj, text_span *id, int64_t *dpid, int *kind, char *reason,
                     size_t reasonlen)
{
    *kind = BD_ERR_FORMAT;
    st->items.n = 0;
    st->row_dropped = 0;
    if (read_dpid_field(st, obj, dpid, reason, reasonlen) < 0)
        return ROW_FORMAT;
    if ((*kind = read_user(st, obj, *dpid, id, reason, reasonlen)) != 0)
        return ROW_FORMAT;
    *kind = BD_ERR_FORMAT;
    const json_t *segments = path_get(obj, &st->field[F_SEGMENTS]);
    const json_t *removed = path_get(obj, &st->field[F_REMOVED]);
    if (json_is_null(removed))
        removed = NULL; /* the optional field, present but empty */
    if (!segments && !removed) {
        snprintf(reason, reasonlen, "missing field '%.64s'", st->field[F_SEGMENTS].text);
        return ROW_FORMAT;
    }
    int rc = segments ? add_segments(st, &st->field[F_SEGMENTS], segments, BD_ITEM_ADD, reason, reasonlen) : ROW_OK;
    if (rc == ROW_OK && removed)
        rc = add_segments(st, &st->field[F_REMOVED], removed, BD_ITEM_REMOVE, reason, reasonlen);
    return rc;
}

/* ---------------------------------------------------------------- lines */

static void report(jsonl_state *st, uint64_t lineno, int kind, char *reason)
{
    for (char *c = reason; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7F)
            *c = '?'; /* jansson quotes the bad token as it is */
    st->host->line_error(st->ctx, lineno, kind, reason);
}

static int jsonl_line(void *state, uint64_t lineno, const char *line, size_t len)
{
    jsonl_state *st = state;
    char reason[REASON_SIZE];
    json_error_t jerr;
    if (st->first_line && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
        line += 3; /* a UTF-8 byte order mark */
        len -= 3;
    }
    st->first_line = 0;
    json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
#if JANSSON_VERSION_HEX >= 0x020B00
    if (!obj && json_error_code(&jerr) == json_error_out_of_memory) {
        st->host->log(st->ctx, BD_LOG_ERROR, JSONL_NAME ": out of memory at line %llu", (unsigned long long)lineno);
        return -1;
    }
#endif
    if (!obj) {
        if (jerr.column > 0)
            snprintf(reason, sizeof reason, "invalid JSON at column %d: %s", jerr.column, jerr.text);
        else
            snprintf(reason, sizeof reason, "invalid JSON: %s", jerr.text);
        report(st, lineno, BD_ERR_FORMAT, reason);
        return 0;
    }
    if (!json_is_object(obj)) {
        snprintf(reason, sizeof reason, "the line is %s, expected one JSON object per line", type_name(obj));
        json_decref(obj);
        report(st, lineno, BD_ERR_FORMAT, reason);
        return 0;
    }
    text_span id;
    int64_t dpid;
    int kind;
    int result = 0;
    int rc = build_row(st, obj, &id, &dpid, &kind, reason, sizeof reason);
    if (rc == ROW_OK) {
        st->dropped_removals += st->row_dropped;
        /* id may point into obj: emit before the decref */
        result = record_emit(st->host, st->ctx, lineno, id, dpid, &st->items);
    } else if (rc == ROW_FORMAT) {
        report(st, lineno, kind, reason);
    } else {
        st->host->log(st->ctx, BD_LOG_ERROR, JSONL_NAME ": out of memory at line %llu", (unsigned long long)lineno);
        result = -1;
    }
    json_decref(obj);
    return result;
}

static int jsonl_finish(void *state, char *err, size_t errlen)
{
    jsonl_state *st = state;
    (void)err;
    (void)errlen;
    if (st->dropped_removals)
        st->host->log(st->ctx, BD_LOG_INFO,
                      JSONL_NAME ": ignored %llu removal(s) (field '%.64s'): full files ignore removals",
                      (unsigned long long)st->dropped_removals, st->field[F_REMOVED].text);
    return 0;
}

static const char *const jsonl_patterns[] = {"*.jsonl", "*.jsonl.gz", "*.jsonl.zst", "*.ndjson", "*.ndjson.gz",
                                             "*.ndjson.zst", "*.json", "*.json.gz", "*.json.zst", NULL};

static const bd_plugin jsonl_plugin = {
    .struct_size = sizeof(bd_plugin),
    .abi_major = BD_PLUGIN_ABI_MAJOR,
    .abi_minor = BD_PLUGIN_ABI_MINOR,
    .name = JSONL_NAME,
    .version = PLUGIN_VERSION,
    .description = "JSON Lines trait files: one object per line with a user ID and segment arrays",
    .patterns = jsonl_patterns,
    .probe = NULL,
    .parse_name = jsonl_parse_name,
    .open = jsonl_open,
    .line = jsonl_line,
    .finish = jsonl_finish,
    .close = jsonl_close,
};

BD_PLUGIN_EXPORT const bd_plugin *batchdrop_plugin_entry(void)
{
    return &jsonl_plugin;
}
