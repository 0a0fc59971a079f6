/* aam_name.c: aam file-name grammar, ftp_dpm_[odc_]DPID[_TARGET]_TS(.sync|.overwrite)[.SPLIT][.gz|.zst]. */
#include "aam.h"
#include "../common/dpid_ids.h"
#include <stdio.h>
#include <string.h>

#define NAME_PREFIX "ftp_dpm_"
#define ODC_TAG "odc_"
#define MODES "'.sync' or '.overwrite'"
#define MAX_FIELDS 3
#define DPID_DIGITS_MAX 18

static int parse_mode(text_span word, bd_file_info *info, char *why, size_t whylen)
{
    if (span_equals(word, "sync"))
        info->mode = BD_MODE_SYNC;
    else if (span_equals(word, "overwrite"))
        info->mode = BD_MODE_OVERWRITE;
    else
        return name_reject_about(why, whylen, "missing mode: expected " MODES " after the timestamp, found '.", word,
                                 "'");
    return 0;
}

/* (.sync|.overwrite)[.SPLIT][.gz|.zst] */
static int parse_suffixes(const name_parts *parts, bd_file_info *info, char *why, size_t whylen)
{
    if (parse_mode(parts->suffix[0], info, why, whylen) < 0)
        return -1;
    return name_parse_tail(parts, "the mode", &info->split, why, whylen);
}

/* DPID[_TARGET]_TIMESTAMP: two fields or three, told apart by their count. */
static int parse_fields(text_span stem, bd_file_info *info, char *why, size_t whylen)
{
    text_span field[MAX_FIELDS];
    size_t n = span_split(stem, '_', field, MAX_FIELDS);
    if (n > MAX_FIELDS) {
        snprintf(why, whylen, "too many '_'-separated fields (%zu): expected DPID[_TARGET]_TIMESTAMP", n);
        return -1;
    }
    if (n < 2)
        return name_reject(why, whylen, "expected DPID[_TARGET]_TIMESTAMP before the mode, found one field");
    if (name_parse_number(field[0], "DPID", DPID_DIGITS_MAX, &info->dpid, why, whylen) < 0)
        return -1;
    if (n == 3 && name_parse_number(field[1], "target", DPID_DIGITS_MAX, &info->target, why, whylen) < 0)
        return -1;
    if (name_parse_timestamp(field[n - 1], &info->timestamp, why, whylen) < 0)
        return -1;
    if (n == 2 && dpid_ids_is_global_device(info->dpid)) {
        snprintf(why, whylen,
                 "DPID %lld is a global device data source and needs a target data owner "
                 "(ftp_dpm_%lld_TARGET_TIMESTAMP...)",
                 (long long)info->dpid, (long long)info->dpid);
        return -1;
    }
    return 0;
}

static int parse_trait_file_name(const char *name, bd_file_info *info, char *why, size_t whylen)
{
    size_t prefix_len = strlen(NAME_PREFIX);
    name_parts parts;
    if (strncmp(name, NAME_PREFIX, prefix_len) != 0)
        return name_reject(why, whylen, "does not start with '" NAME_PREFIX "'");
    const char *rest = name + prefix_len;
    if (strncmp(rest, ODC_TAG, strlen(ODC_TAG)) == 0) {
        info->flags = BD_FILE_F_ODC;
        rest += strlen(ODC_TAG);
    }
    info->kind = BD_FILE_TRAITS;
    if (name_cut(rest, MODES, &parts, why, whylen) < 0 || parse_suffixes(&parts, info, why, whylen) < 0)
        return -1;
    return parse_fields(parts.stem, info, why, whylen);
}

int aam_parse_name(const char *name, bd_file_info *info, char *err, size_t errlen)
{
    return name_parse_for_host(name, info, parse_trait_file_name, err, errlen);
}
