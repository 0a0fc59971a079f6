/* options.c: format options and file-name mode shared by the generic trait plugins (delimited, jsonl). */
#include "options.h"
#include "dpid_ids.h"
#include "name_parse.h"
#include <stdio.h>
#include <string.h>

#define SHOWN_SIZE (DPID_IDS_SNIPPET_MAX + 4)

/* ---------------------------------------------------------------- file-name mode */

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

int opt_mode_of_name(const char *name)
{
    size_t n = strlen(name);
    if (strstr(name, ".overwrite.") || ends_with(name, n, ".overwrite"))
        return BD_MODE_OVERWRITE;
    for (const char *p = strstr(name, "_full"); p; p = strstr(p + 1, "_full")) {
        char next = p[5];
        if (next == '\0' || next == '.' || next == '_' || next == '-')
            return BD_MODE_OVERWRITE; /* "_full" as a word: not "acme_fulfilment.csv" */
    }
    return BD_MODE_SYNC;
}

/* ---------------------------------------------------------------- reading options */

const char *opt_get(const opt_reader *r, const char *key)
{
    return r->host->option ? r->host->option(r->ctx, key) : NULL;
}

int opt_refuse(const opt_reader *r, const char *key, const char *value, const char *why)
{
    char shown[SHOWN_SIZE];
    dpid_ids_snippet(value, strlen(value), DPID_IDS_SNIPPET_MAX, shown, sizeof shown);
    snprintf(r->err, r->errlen, "%s: format option %s = \"%s\": %s", r->plugin, key, shown, why);
    return -1;
}

int opt_no_memory(const opt_reader *r)
{
    snprintf(r->err, r->errlen, "%s: out of memory", r->plugin);
    return -1;
}

int opt_read_dpid(const opt_reader *r, int64_t *dpid)
{
    const char *value = opt_get(r, "dpid");
    *dpid = BD_NO_VALUE;
    if (!value)
        return 0;
    size_t n = strlen(value);
    if (!span_is_digits(span_make(value, n)))
        return opt_refuse(r, "dpid", value, "expected a DPID number");
    if (n > OPT_DPID_DIGITS_MAX)
        return opt_refuse(r, "dpid", value, "a DPID has at most 18 digits");
    *dpid = span_number(span_make(value, n));
    return 0;
}

/* The host names the outbox file (full or incremental) from the name before any option is read,
 * so an option cannot change the mode: it can only check it. */
int opt_read_mode(const opt_reader *r, const bd_file_info *info, int *overwrite)
{
    const char *value = opt_get(r, "mode");
    *overwrite = info->mode == BD_MODE_OVERWRITE;
    if (!value)
        return 0;
    int want;
    if (strcmp(value, "sync") == 0)
        want = 0;
    else if (strcmp(value, "overwrite") == 0)
        want = 1;
    else
        return opt_refuse(r, "mode", value, "expected \"sync\" or \"overwrite\"");
    if (want == *overwrite)
        return 0;
    return opt_refuse(r, "mode", value,
                      want ? "the file name does not mark a full file (the mode comes from the name: put "
                             "'.overwrite.' or '_full' in it)"
                           : "the file name marks a full file ('.overwrite.' or '_full'), but the partner sends "
                             "incremental files");
}
