/* example.c: a complete, small out-of-tree batchdrop format plugin, the SDK's sample.
 *
 * Format "example": files named NAME.example (optionally .gz or .zst: the host
 * decompresses), one record per line:
 *
 *     USERID<TAB>SEGMENT SEGMENT ...
 *
 * where each SEGMENT is a decimal segment ID, separated by single or repeated
 * spaces.  The partner's format_options must set `dpid`, the data provider ID
 * (namespace) of the user IDs:
 *
 *     partners = ( { name = "acme"; inbox = "/srv/inbox/acme"; format = "example";
 *                    format_options = { dpid = 478; }; } );
 *
 * It builds against the installed header only:
 *     cc -shared -fPIC $(pkg-config --cflags batchdrop-plugin) example.c -o example.so
 * See batchdrop-plugin(7).
 */
#include <batchdrop/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXAMPLE_VERSION "1.0.0"
#define SUFFIX ".example"
#define MAX_USER_ID 256 /* longer user IDs are invalid */
#define MAX_DIGITS 18 /* segment IDs and DPIDs: fits an int64_t */
#define REASON_SIZE 256

/* Everything about one file lives here: no globals, so that the host may
 * parse several files at once with the same plugin. */
typedef struct example_state {
    const bd_host_api *host;
    bd_host_ctx *ctx;
    int64_t dpid;    /* from format_options */
    bd_item *items;  /* the items of the current line, reused */
    size_t items_cap;
    uint64_t errors; /* bad lines, for the summary in finish() */
} example_state;

/* ----------------------------------------------------------------- helpers */

/* A short printable copy of `p` for a reason text (the host adds the line number). */
static void show(char *out, size_t outlen, const char *p, size_t n)
{
    size_t max = n < 40 ? n : 40, o = 0;
    for (size_t i = 0; i < max && o + 1 < outlen; i++)
        out[o++] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
    if (n > max && o + 4 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* A decimal number of 1..max_digits digits, nothing else. 0 or -1. */
static int parse_number(const char *p, size_t n, size_t max_digits, int64_t *out)
{
    int64_t v = 0;
    if (n == 0 || n > max_digits)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

/* This format's own rule for user IDs (the host may apply more: ids = "ours" wants 38 digits).
 * NULL when the ID is fine, else what is wrong with it. */
static const char *user_id_problem(const char *id, size_t n)
{
    if (n > MAX_USER_ID)
        return "is too long (at most 256 bytes)";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] == 0x7f)
            return "holds a space or a control character";
    return NULL;
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* ----------------------------------------------------------------- callbacks */

/* NAME.example[.gz|.zst]: a trait file in sync mode. The name carries no DPID:
 * the records carry it (ABI 1.1, BD_RECORD_F_DPID), from the dpid option. */
static int example_parse_name(const char *name, bd_file_info *info, char *err, size_t errlen)
{
    size_t n = strlen(name);
    if (ends_with(name, n, ".gz"))
        n -= 3;
    else if (ends_with(name, n, ".zst"))
        n -= 4;
    if (!ends_with(name, n, SUFFIX)) {
        snprintf(err, errlen, "file name '%s': expected NAME" SUFFIX " (optionally .gz or .zst)", name);
        return -1;
    }
    if (n == strlen(SUFFIX)) {
        snprintf(err, errlen, "file name '%s': empty NAME before '" SUFFIX "'", name);
        return -1;
    }
    /* The host zeroed *info and set struct_size, split, target and timestamp;
     * only touch the members this ABI's struct has. */
    info->kind = BD_FILE_TRAITS;
    info->mode = BD_MODE_SYNC;
    info->dpid = BD_NO_VALUE;
    return 0;
}

static int example_open(const bd_host_api *host, bd_host_ctx *ctx, const bd_file_info *info, void **state,
                        char *err, size_t errlen)
{
    /* The table may come from a newer host (bigger), never from another major. */
    if (!host || host->abi_major != BD_PLUGIN_ABI_MAJOR || host->struct_size < offsetof(bd_host_api, spare) ||
        !host->emit_record || !host->line_error || !host->log || !host->option) {
        snprintf(err, errlen, "example: the host API table is incomplete or of another ABI major");
        return -1;
    }
    if (!info || info->kind != BD_FILE_TRAITS) {
        snprintf(err, errlen, "example: not a trait file (its name was not parsed by this plugin)");
        return -1;
    }
    const char *dpid = host->option(ctx, "dpid");
    int64_t v;
    if (!dpid) {
        snprintf(err, errlen, "example: format option dpid is required (format_options = { dpid = N; })");
        return -1;
    }
    if (parse_number(dpid, strlen(dpid), MAX_DIGITS, &v) < 0) {
        snprintf(err, errlen, "example: format option dpid = \"%.40s\": expected a data provider ID (digits)", dpid);
        return -1;
    }
    example_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "example: out of memory");
        return -1;
    }
    st->host = host;
    st->ctx = ctx;
    st->dpid = v;
    *state = st;
    return 0;
}

static int add_item(example_state *st, size_t n, int64_t segment)
{
    if (n == st->items_cap) {
        size_t cap = st->items_cap ? 2 * st->items_cap : 16;
        bd_item *grown = realloc(st->items, cap * sizeof *grown);
        if (!grown)
            return -1;
        st->items = grown;
        st->items_cap = cap;
    }
    memset(&st->items[n], 0, sizeof st->items[n]);
    st->items[n].kind = BD_ITEM_ADD;
    st->items[n].trait = segment;
    return 0;
}

/* Report a bad line and carry on: the file goes on, the receipt counts it. */
static int bad_line(example_state *st, uint64_t lineno, int kind, const char *reason)
{
    st->errors++;
    st->host->line_error(st->ctx, lineno, kind, reason);
    return 0;
}

static int example_line(void *state, uint64_t lineno, const char *line, size_t len)
{
    example_state *st = state;
    char reason[REASON_SIZE], shown[64];
    const char *tab = memchr(line, '\t', len);
    if (!tab) {
        show(shown, sizeof shown, line, len);
        snprintf(reason, sizeof reason, "no TAB between the user ID and the segments in '%s'", shown);
        return bad_line(st, lineno, BD_ERR_FORMAT, reason);
    }
    size_t id_len = (size_t)(tab - line);
    if (id_len == 0)
        return bad_line(st, lineno, BD_ERR_FORMAT, "empty user ID before the TAB");
    const char *problem = user_id_problem(line, id_len);
    if (problem) {
        show(shown, sizeof shown, line, id_len);
        snprintf(reason, sizeof reason, "user ID '%s' %s", shown, problem);
        return bad_line(st, lineno, BD_ERR_INVALID_ID, reason);
    }

    size_t nitems = 0;
    const char *p = tab + 1, *end = line + len;
    while (p < end) {
        if (*p == ' ') {
            p++;
            continue;
        }
        const char *word = p;
        while (p < end && *p != ' ')
            p++;
        int64_t segment;
        if (parse_number(word, (size_t)(p - word), MAX_DIGITS, &segment) < 0) {
            show(shown, sizeof shown, word, (size_t)(p - word));
            snprintf(reason, sizeof reason, "segment '%s' is not a segment ID (1 to %d digits)", shown,
                     MAX_DIGITS);
            return bad_line(st, lineno, BD_ERR_FORMAT, reason);
        }
        if (add_item(st, nitems, segment) < 0) {
            st->host->log(st->ctx, BD_LOG_ERROR, "example: out of memory for the segments of line %llu",
                          (unsigned long long)lineno);
            return -1; /* give up: the host rejects the file ("plugin example gave up at line N") */
        }
        nitems++;
    }
    if (nitems == 0)
        return bad_line(st, lineno, BD_ERR_FORMAT, "no segment IDs after the TAB");

    bd_record rec;
    memset(&rec, 0, sizeof rec); /* zeroed: spare slots and unknown flags stay 0 */
    rec.struct_size = sizeof rec;
    rec.line = lineno;
    rec.user_id = line;
    rec.user_id_len = id_len;
    rec.items = st->items;
    rec.nitems = nitems;
    rec.flags = BD_RECORD_F_DPID; /* ABI 1.1: the user IDs are in namespace `dpid` */
    rec.dpid = st->dpid;
    /* The host copies what it keeps; -1 means it is abandoning the file. */
    return st->host->emit_record(st->ctx, &rec) < 0 ? -1 : 0;
}

static int example_finish(void *state, char *err, size_t errlen)
{
    example_state *st = state;
    (void)err;
    (void)errlen;
    if (st->errors)
        st->host->log(st->ctx, BD_LOG_INFO, "example: %llu bad line(s); see the receipt",
                      (unsigned long long)st->errors);
    return 0;
}

static void example_close(void *state)
{
    example_state *st = state;
    if (!st)
        return;
    free(st->items);
    free(st);
}

/* ----------------------------------------------------------------- descriptor */

static const char *const example_patterns[] = {"*" SUFFIX, "*" SUFFIX ".gz", "*" SUFFIX ".zst", NULL};

static const bd_plugin example_plugin = {
    .struct_size = sizeof(bd_plugin),
    .abi_major = BD_PLUGIN_ABI_MAJOR,
    .abi_minor = BD_PLUGIN_ABI_MINOR,
    .name = "example",
    .version = EXAMPLE_VERSION,
    .description = "SDK sample: USERID<TAB>segment IDs, in NAME.example files (option dpid)",
    .patterns = example_patterns,
    .probe = NULL, /* chosen by name only */
    .parse_name = example_parse_name,
    .open = example_open,
    .line = example_line,
    .finish = example_finish,
    .close = example_close,
};

BD_PLUGIN_EXPORT const bd_plugin *batchdrop_plugin_entry(void)
{
    return &example_plugin;
}
