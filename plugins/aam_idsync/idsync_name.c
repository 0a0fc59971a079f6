/* idsync_name.c: ID-sync file names, (adobe_id_|c2c_id_)MASTERDPID_DPID[_DPID...]_TS.sync[.SPLIT][.gz|.zst]. */
#include "idsync.h"
#include "../common/dpid_ids.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ADOBE_PREFIX "adobe_id_"
#define C2C_PREFIX "c2c_id_"
#define MAX_FIELDS (BD_MAX_DPIDS + 1) /* the DPIDs and the timestamp */
#define MAX_SUFFIXES 8
#define DPID_DIGITS_MAX 18
#define SPLIT_DIGITS_MAX 9
#define NAME_SHOWN_MAX 255

/* A piece of the name, not NUL-terminated. */
typedef struct name_part {
    const char *p;
    size_t n;
} name_part;

/* What a valid name says. */
typedef struct parsed_name {
    int c2c;
    int32_t split;
    int ndpids;
    int64_t dpids[BD_MAX_DPIDS];
    int64_t timestamp;
} parsed_name;

static name_part part_between(const char *from, const char *to)
{
    name_part part = {from, (size_t)(to - from)};
    return part;
}

static int part_is(name_part part, const char *word)
{
    return part.n == strlen(word) && memcmp(part.p, word, part.n) == 0;
}

static int part_is_digits(name_part part)
{
    if (part.n == 0)
        return 0;
    for (size_t i = 0; i < part.n; i++)
        if (part.p[i] < '0' || part.p[i] > '9')
            return 0;
    return 1;
}

static int64_t part_number(name_part part)
{
    int64_t v = 0;
    for (size_t i = 0; i < part.n; i++)
        v = v * 10 + (part.p[i] - '0');
    return v;
}

static int reject(char *why, size_t whylen, const char *text)
{
    snprintf(why, whylen, "%s", text);
    return -1;
}

/* why = before + a printable copy of `about` + after. */
static int reject_about(char *why, size_t whylen, const char *before, name_part about, const char *after)
{
    char shown[DPID_IDS_SNIPPET_MAX + 4];
    dpid_ids_snippet(about.p, about.n, DPID_IDS_SNIPPET_MAX, shown, sizeof shown);
    snprintf(why, whylen, "%s%s%s", before, shown, after);
    return -1;
}

/* Split s at every `sep`; stores at most `max` parts and returns how many there are. */
static size_t split_at(name_part s, char sep, name_part *parts, size_t max)
{
    const char *p = s.p, *end = s.p + s.n;
    size_t count = 0;
    for (;;) {
        const char *cut = memchr(p, sep, (size_t)(end - p));
        if (count < max)
            parts[count] = part_between(p, cut ? cut : end);
        count++;
        if (!cut)
            return count;
        p = cut + 1;
    }
}

static int is_compression(name_part part)
{
    return part_is(part, "gz") || part_is(part, "zst");
}

static int refuse_archives_and_encryption(const name_part *suffix, size_t n, char *why, size_t whylen)
{
    for (size_t i = 0; i < n; i++) {
        if (part_is(suffix[i], "zip"))
            return reject(why, whylen, "'.zip' archives are not supported (gzip is the only compression AAM allows; "
                                       "batchdrop also takes zstd)");
        if (!part_is(suffix[i], "pgp") && !part_is(suffix[i], "gpg"))
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

static int parse_mode(name_part word, char *why, size_t whylen)
{
    if (part_is(word, "sync"))
        return 0;
    if (part_is(word, "overwrite"))
        return reject(why, whylen, "ID-sync files are full syncs; only .sync is defined");
    return reject_about(why, whylen, "missing mode: expected '.sync' after the timestamp, found '.", word, "'");
}

/* After .sync: [.SPLIT][.gz|.zst] and nothing else. */
static int parse_tail(const name_part *suffix, size_t n, parsed_name *pn, char *why, size_t whylen)
{
    size_t i = 1;
    if (i < n && part_is_digits(suffix[i])) {
        if (suffix[i].n > SPLIT_DIGITS_MAX)
            return reject_about(why, whylen, "split number '", suffix[i], "' has more than 9 digits");
        pn->split = (int32_t)part_number(suffix[i]);
        i++;
    }
    if (i < n && is_compression(suffix[i]))
        i++;
    if (i < n)
        return reject_about(why, whylen, "unexpected suffix '.", suffix[i],
                            "' (after .sync only .SPLIT_NUMBER and then .gz or .zst may follow)");
    return 0;
}

static int parse_suffixes(name_part rest, int has_dot, parsed_name *pn, char *why, size_t whylen)
{
    name_part suffix[MAX_SUFFIXES];
    size_t n = has_dot ? split_at(rest, '.', suffix, MAX_SUFFIXES) : 0;
    if (n > MAX_SUFFIXES)
        return reject(why, whylen, "too many '.'-separated suffixes");
    for (size_t i = 0; i < n; i++)
        if (suffix[i].n == 0)
            return reject(why, whylen, "empty '.' suffix ('..' or a '.' at the end)");
    if (refuse_archives_and_encryption(suffix, n, why, whylen) < 0)
        return -1;
    if (n == 0)
        return reject(why, whylen, "missing mode: expected '.sync' after the timestamp");
    if (parse_mode(suffix[0], why, whylen) < 0)
        return -1;
    return parse_tail(suffix, n, pn, why, whylen);
}

static int parse_number_field(name_part field, const char *what, size_t max_digits, int64_t *value, char *why,
                              size_t whylen)
{
    char before[48], after[48];
    if (field.n == 0) {
        snprintf(why, whylen, "empty %s field", what);
        return -1;
    }
    snprintf(before, sizeof before, "%s '", what);
    if (!part_is_digits(field))
        return reject_about(why, whylen, before, field, "' is not a number");
    snprintf(after, sizeof after, "' has more than %zu digits", max_digits);
    if (field.n > max_digits)
        return reject_about(why, whylen, before, field, after);
    *value = part_number(field);
    return 0;
}

static int check_dpid_count(const parsed_name *pn, size_t ndpids, char *why, size_t whylen)
{
    if (ndpids < 2) {
        snprintf(why, whylen, "names %zu DPID(s); an ID-sync file needs MASTERDPID_DPID[_DPID...]_TIMESTAMP", ndpids);
        return -1;
    }
    if (ndpids > BD_MAX_DPIDS) {
        snprintf(why, whylen, "names %zu DPIDs; at most %d are supported", ndpids, BD_MAX_DPIDS);
        return -1;
    }
    if (pn->c2c && ndpids != 2) /* c2c_id_<DPUUID DPID>_<hashed email DPID>_TS (spec §6) */
        return reject(why, whylen, "a c2c_id_ file maps one DPUUID data source to one hashed-email data source: "
                                   "it names exactly 2 DPIDs");
    return 0;
}

static int check_distinct(const parsed_name *pn, char *why, size_t whylen)
{
    for (int i = 0; i < pn->ndpids; i++)
        for (int j = i + 1; j < pn->ndpids; j++)
            if (pn->dpids[i] == pn->dpids[j]) {
                snprintf(why, whylen, "DPID %lld is named twice; each column needs its own namespace",
                         (long long)pn->dpids[i]);
                return -1;
            }
    return 0;
}

static int parse_timestamp(name_part field, parsed_name *pn, char *why, size_t whylen)
{
    if (parse_number_field(field, "timestamp", 10, &pn->timestamp, why, whylen) < 0)
        return -1;
    if (field.n < 9) /* 10 digits per the docs; 9 accepted as for trait files (spec §13.2) */
        return reject_about(why, whylen, "timestamp '", field, "' must have 10 digits (9 are accepted)");
    return 0;
}

/* MASTERDPID_DPID[_DPID...]_TIMESTAMP */
static int parse_fields(name_part stem, parsed_name *pn, char *why, size_t whylen)
{
    name_part field[MAX_FIELDS];
    size_t n = split_at(stem, '_', field, MAX_FIELDS);
    size_t ndpids = n - 1;
    if (check_dpid_count(pn, ndpids, why, whylen) < 0)
        return -1;
    pn->ndpids = (int)ndpids;
    for (size_t i = 0; i < ndpids; i++)
        if (parse_number_field(field[i], i == 0 ? "master DPID" : "DPID", DPID_DIGITS_MAX, &pn->dpids[i], why,
                               whylen) < 0)
            return -1;
    if (parse_timestamp(field[n - 1], pn, why, whylen) < 0)
        return -1;
    return check_distinct(pn, why, whylen);
}

static int parse(const char *name, parsed_name *pn, char *why, size_t whylen)
{
    const char *p;
    if (strncmp(name, ADOBE_PREFIX, strlen(ADOBE_PREFIX)) == 0) {
        p = name + strlen(ADOBE_PREFIX);
    } else if (strncmp(name, C2C_PREFIX, strlen(C2C_PREFIX)) == 0) {
        p = name + strlen(C2C_PREFIX);
        pn->c2c = 1;
    } else {
        return reject(why, whylen, "does not start with '" ADOBE_PREFIX "' or '" C2C_PREFIX "'");
    }
    const char *dot = strchr(p, '.');
    const char *end = p + strlen(p);
    name_part stem = part_between(p, dot ? dot : end);
    name_part rest = dot ? part_between(dot + 1, end) : part_between(end, end);
    if (parse_suffixes(rest, dot != NULL, pn, why, whylen) < 0)
        return -1;
    return parse_fields(stem, pn, why, whylen);
}

static void fill_info(const parsed_name *pn, bd_file_info *info)
{
    uint32_t host_size = info->struct_size;
    memset(info, 0, sizeof *info);
    info->struct_size = host_size;
    info->kind = BD_FILE_IDSYNC;
    info->mode = BD_MODE_SYNC;
    info->split = pn->split;
    info->dpid = pn->dpids[0];
    info->target = BD_NO_VALUE;
    info->timestamp = pn->timestamp;
    info->ndpids = pn->ndpids;
    info->flags = pn->c2c ? BD_FILE_F_C2C : 0;
    memcpy(info->dpids, pn->dpids, sizeof info->dpids);
}

int idsync_parse_name(const char *name, bd_file_info *info, char *err, size_t errlen)
{
    parsed_name pn = {.split = BD_NO_VALUE, .timestamp = BD_NO_VALUE};
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
