/* idsync_name.c: ID-sync file names, (adobe_id_|c2c_id_)MASTERDPID_DPID[_DPID...]_TS.sync[.SPLIT][.gz|.zst]. */
#include "idsync.h"
#include "../common/name_parse.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ADOBE_PREFIX "adobe_id_"
#define C2C_PREFIX "c2c_id_"
#define MODES "'.sync'"
#define MAX_FIELDS (BD_MAX_DPIDS + 1) /* the DPIDs and the timestamp */
#define DPID_DIGITS_MAX 18

static int parse_mode(text_span word, char *why, size_t whylen)
{
    if (span_equals(word, "sync"))
        return 0;
    if (span_equals(word, "overwrite"))
        return name_reject(why, whylen, "ID-sync files are full syncs; only .sync is defined");
    return name_reject_about(why, whylen, "missing mode: expected " MODES " after the timestamp, found '.", word, "'");
}

/* .sync[.SPLIT][.gz|.zst] */
static int parse_suffixes(const name_parts *parts, bd_file_info *info, char *why, size_t whylen)
{
    if (parse_mode(parts->suffix[0], why, whylen) < 0)
        return -1;
    return name_parse_tail(parts, ".sync", &info->split, why, whylen);
}

static int check_dpid_count(const bd_file_info *info, size_t ndpids, char *why, size_t whylen)
{
    if (ndpids < 2) {
        snprintf(why, whylen, "names %zu DPID(s); an ID-sync file needs MASTERDPID_DPID[_DPID...]_TIMESTAMP", ndpids);
        return -1;
    }
    if (ndpids > BD_MAX_DPIDS) {
        snprintf(why, whylen, "names %zu DPIDs; at most %d are supported", ndpids, BD_MAX_DPIDS);
        return -1;
    }
    if ((info->flags & BD_FILE_F_C2C) && ndpids != 2) /* c2c_id_<DPUUID DPID>_<hashed email DPID>_TS (spec §6) */
        return name_reject(why, whylen, "a c2c_id_ file maps one DPUUID data source to one hashed-email data source: "
                                        "it names exactly 2 DPIDs");
    return 0;
}

static int check_distinct(const bd_file_info *info, char *why, size_t whylen)
{
    for (int i = 0; i < info->ndpids; i++)
        for (int j = i + 1; j < info->ndpids; j++)
            if (info->dpids[i] == info->dpids[j]) {
                snprintf(why, whylen, "DPID %lld is named twice; each column needs its own namespace",
                         (long long)info->dpids[i]);
                return -1;
            }
    return 0;
}

/* MASTERDPID_DPID[_DPID...]_TIMESTAMP */
static int parse_fields(text_span stem, bd_file_info *info, char *why, size_t whylen)
{
    text_span field[MAX_FIELDS];
    size_t n = span_split(stem, '_', field, MAX_FIELDS);
    size_t ndpids = n - 1;
    if (check_dpid_count(info, ndpids, why, whylen) < 0)
        return -1;
    info->ndpids = (int32_t)ndpids;
    for (size_t i = 0; i < ndpids; i++)
        if (name_parse_number(field[i], i == 0 ? "master DPID" : "DPID", DPID_DIGITS_MAX, &info->dpids[i], why,
                              whylen) < 0)
            return -1;
    if (name_parse_timestamp(field[n - 1], &info->timestamp, why, whylen) < 0)
        return -1;
    info->dpid = info->dpids[0];
    return check_distinct(info, why, whylen);
}

/* The name after its adobe_id_ or c2c_id_ prefix (c2c_id_ sets BD_FILE_F_C2C), or NULL. */
static const char *after_prefix(const char *name, bd_file_info *info)
{
    if (strncmp(name, ADOBE_PREFIX, strlen(ADOBE_PREFIX)) == 0)
        return name + strlen(ADOBE_PREFIX);
    if (strncmp(name, C2C_PREFIX, strlen(C2C_PREFIX)) == 0) {
        info->flags = BD_FILE_F_C2C;
        return name + strlen(C2C_PREFIX);
    }
    return NULL;
}

static int parse_idsync_file_name(const char *name, bd_file_info *info, char *why, size_t whylen)
{
    const char *rest = after_prefix(name, info);
    name_parts parts;
    if (!rest)
        return name_reject(why, whylen, "does not start with '" ADOBE_PREFIX "' or '" C2C_PREFIX "'");
    info->kind = BD_FILE_IDSYNC;
    info->mode = BD_MODE_SYNC;
    if (name_cut(rest, MODES, &parts, why, whylen) < 0 || parse_suffixes(&parts, info, why, whylen) < 0)
        return -1;
    return parse_fields(parts.stem, info, why, whylen);
}

int idsync_parse_name(const char *name, bd_file_info *info, char *err, size_t errlen)
{
    return name_parse_for_host(name, info, parse_idsync_file_name, err, errlen);
}
