/* aam_name.c: aam file-name grammar, ftp_dpm_[odc_]DPID[_TARGET]_TS(.sync|.overwrite)[.SPLIT][.gz|.zst]. */
#include "aam.h"
#include "../common/dpid_ids.h"
#include <stdio.h>
#include <string.h>

#define NAME_PREFIX "ftp_dpm_"
#define ODC_TAG "odc_"
#define MAX_SUFFIXES 8
#define MAX_FIELDS 3
#define DPID_DIGITS_MAX 18
#define SPLIT_DIGITS_MAX 9
#define NAME_SHOWN_MAX 255

/* What a valid name says. */
typedef struct parsed_name {
    int odc;
    int mode;
    int32_t split;
    int64_t dpid;
    int64_t target;
    int64_t timestamp;
} parsed_name;

static int reject(char *why, size_t whylen, const char *text)
{
    snprintf(why, whylen, "%s", text);
    return -1;
}

static int reject_about(char *why, size_t whylen, const char *before, aam_span about, const char *after)
{
    aam_describe(why, whylen, before, about, after);
    return -1;
}

/* Split s at every `sep`; stores at most `max` parts and returns how many there are. */
static size_t split_at(aam_span s, char sep, aam_span *parts, size_t max)
{
    const char *p = s.p, *end = s.p + s.n;
    size_t count = 0;
    for (;;) {
        const char *cut = memchr(p, sep, (size_t)(end - p));
        if (count < max)
            parts[count] = aam_span_between(p, cut ? cut : end);
        count++;
        if (!cut)
            return count;
        p = cut + 1;
    }
}

static int is_compression(aam_span s)
{
    return aam_span_equals(s, "gz") || aam_span_equals(s, "zst");
}

/* .zip and PGP are refused by name: the host could not read them anyway. */
static int refuse_archives_and_encryption(const aam_span *suffix, size_t n, char *why, size_t whylen)
{
    for (size_t i = 0; i < n; i++) {
        if (aam_span_equals(suffix[i], "zip"))
            return reject(why, whylen, "'.zip' archives are not supported (gzip is the only compression AAM allows; "
                                       "batchdrop also takes zstd)");
        if (!aam_span_equals(suffix[i], "pgp") && !aam_span_equals(suffix[i], "gpg"))
            continue;
        if (i > 0 && is_compression(suffix[i - 1])) {
            snprintf(why, whylen,
                     "a file may not be both compressed and PGP-encrypted ('.%.*s.%.*s'), and encrypted files "
                     "are not supported by batchdrop",
                     (int)suffix[i - 1].n, suffix[i - 1].p, (int)suffix[i].n, suffix[i].p);
            return -1;
        }
        return reject(why, whylen, "encrypted files ('.pgp'/'.gpg') are not supported by batchdrop; upload the "
                                   "file decrypted (gzip or zstd compression is fine)");
    }
    return 0;
}

static int parse_mode(aam_span word, parsed_name *pn, char *why, size_t whylen)
{
    if (aam_span_equals(word, "sync"))
        pn->mode = BD_MODE_SYNC;
    else if (aam_span_equals(word, "overwrite"))
        pn->mode = BD_MODE_OVERWRITE;
    else
        return reject_about(why, whylen, "missing mode: expected '.sync' or '.overwrite' after the timestamp, found '.",
                            word, "'");
    return 0;
}

/* After the mode: [.SPLIT][.gz|.zst] and nothing else. */
static int parse_tail(const aam_span *suffix, size_t n, parsed_name *pn, char *why, size_t whylen)
{
    size_t i = 1;
    if (i < n && aam_span_is_digits(suffix[i])) {
        if (suffix[i].n > SPLIT_DIGITS_MAX)
            return reject_about(why, whylen, "split number '", suffix[i], "' has more than 9 digits");
        pn->split = (int32_t)aam_span_number(suffix[i]);
        i++;
    }
    if (i < n && is_compression(suffix[i]))
        i++;
    if (i < n)
        return reject_about(why, whylen, "unexpected suffix '.", suffix[i],
                            "' (after the mode only .SPLIT_NUMBER and then .gz or .zst may follow)");
    return 0;
}

/* Everything after the first '.' of the name (`has_dot` is 0 when there is none). */
static int parse_suffixes(aam_span rest, int has_dot, parsed_name *pn, char *why, size_t whylen)
{
    aam_span suffix[MAX_SUFFIXES];
    size_t n = has_dot ? split_at(rest, '.', suffix, MAX_SUFFIXES) : 0;
    if (n > MAX_SUFFIXES)
        return reject(why, whylen, "too many '.'-separated suffixes");
    for (size_t i = 0; i < n; i++)
        if (suffix[i].n == 0)
            return reject(why, whylen, "empty '.' suffix ('..' or a '.' at the end)");
    if (refuse_archives_and_encryption(suffix, n, why, whylen) < 0)
        return -1;
    if (n == 0)
        return reject(why, whylen, "missing mode: expected '.sync' or '.overwrite' after the timestamp");
    if (parse_mode(suffix[0], pn, why, whylen) < 0)
        return -1;
    return parse_tail(suffix, n, pn, why, whylen);
}

/* One numeric name field; `what` names it in the reason. */
static int parse_number_field(aam_span field, const char *what, size_t max_digits, int64_t *value, char *why,
                              size_t whylen)
{
    char before[48];
    if (field.n == 0) {
        snprintf(why, whylen, "empty %s field", what);
        return -1;
    }
    snprintf(before, sizeof before, "%s '", what);
    if (!aam_span_is_digits(field))
        return reject_about(why, whylen, before, field, "' is not a number");
    if (field.n > max_digits) {
        char after[48];
        snprintf(after, sizeof after, "' has more than %zu digits", max_digits);
        return reject_about(why, whylen, before, field, after);
    }
    *value = aam_span_number(field);
    return 0;
}

static int parse_timestamp(aam_span field, parsed_name *pn, char *why, size_t whylen)
{
    if (parse_number_field(field, "timestamp", 10, &pn->timestamp, why, whylen) < 0)
        return -1;
    if (field.n < 9) /* 10 digits per the grammar; 9-digit ones appear in the docs (spec §13.2) */
        return reject_about(why, whylen, "timestamp '", field, "' must have 10 digits (9 are accepted)");
    return 0;
}

/* DPID[_TARGET]_TIMESTAMP: two fields or three, told apart by their count. */
static int parse_fields(aam_span stem, parsed_name *pn, char *why, size_t whylen)
{
    aam_span field[MAX_FIELDS];
    size_t n = split_at(stem, '_', field, MAX_FIELDS);
    if (n > MAX_FIELDS) {
        snprintf(why, whylen, "too many '_'-separated fields (%zu): expected DPID[_TARGET]_TIMESTAMP", n);
        return -1;
    }
    if (n < 2)
        return reject(why, whylen, "expected DPID[_TARGET]_TIMESTAMP before the mode, found one field");
    if (parse_number_field(field[0], "DPID", DPID_DIGITS_MAX, &pn->dpid, why, whylen) < 0)
        return -1;
    if (n == 3 && parse_number_field(field[1], "target", DPID_DIGITS_MAX, &pn->target, why, whylen) < 0)
        return -1;
    if (parse_timestamp(field[n - 1], pn, why, whylen) < 0)
        return -1;
    if (n == 2 && dpid_ids_is_global_device(pn->dpid)) {
        snprintf(why, whylen,
                 "DPID %lld is a global device data source and needs a target data owner "
                 "(ftp_dpm_%lld_TARGET_TIMESTAMP...)",
                 (long long)pn->dpid, (long long)pn->dpid);
        return -1;
    }
    return 0;
}

static int parse(const char *name, parsed_name *pn, char *why, size_t whylen)
{
    size_t prefix_len = strlen(NAME_PREFIX);
    if (strncmp(name, NAME_PREFIX, prefix_len) != 0)
        return reject(why, whylen, "does not start with '" NAME_PREFIX "'");
    const char *p = name + prefix_len;
    if (strncmp(p, ODC_TAG, strlen(ODC_TAG)) == 0) {
        pn->odc = 1;
        p += strlen(ODC_TAG);
    }
    const char *dot = strchr(p, '.');
    const char *end = p + strlen(p);
    aam_span stem = aam_span_between(p, dot ? dot : end);
    aam_span rest = dot ? aam_span_between(dot + 1, end) : aam_span_make(end, 0);
    if (parse_suffixes(rest, dot != NULL, pn, why, whylen) < 0)
        return -1;
    return parse_fields(stem, pn, why, whylen);
}

static void fill_info(const parsed_name *pn, bd_file_info *info)
{
    uint32_t host_size = info->struct_size;
    memset(info, 0, sizeof *info);
    info->struct_size = host_size;
    info->kind = BD_FILE_TRAITS;
    info->mode = pn->mode;
    info->split = pn->split;
    info->dpid = pn->dpid;
    info->target = pn->target;
    info->timestamp = pn->timestamp;
    info->ndpids = 0;
    info->flags = pn->odc ? BD_FILE_F_ODC : 0;
}

int aam_parse_name(const char *name, bd_file_info *info, char *err, size_t errlen)
{
    parsed_name pn = {.split = BD_NO_VALUE, .target = BD_NO_VALUE, .timestamp = BD_NO_VALUE};
    char why[256], shown[NAME_SHOWN_MAX + 4];
    if (!name || !info) {
        snprintf(err, errlen, "file name: no name or no bd_file_info given");
        return -1;
    }
    dpid_ids_snippet(name, strlen(name), NAME_SHOWN_MAX, shown, sizeof shown);
    if (info->struct_size < sizeof *info) {
        snprintf(err, errlen, "file name '%s': the host's bd_file_info (%u bytes) is older than this plugin's",
                 shown, (unsigned)info->struct_size);
        return -1;
    }
    if (parse(name, &pn, why, sizeof why) < 0) {
        snprintf(err, errlen, "file name '%s': %s", shown, why);
        return -1;
    }
    fill_info(&pn, info);
    return 0;
}
