/* dpid_ids.c: ID format checks by DPID (spec §1.3, §3.1, §11 item 5) and safe quoting of IDs in error reasons. */
#include "dpid_ids.h"
#include <stdio.h>
#include <string.h>

typedef enum id_format {
    FMT_AAM_UUID,   /* exactly 38 decimal digits */
    FMT_UUID_LOWER, /* 8-4-4-4-12 lowercase hex */
    FMT_UUID_UPPER, /* 8-4-4-4-12 uppercase hex */
    FMT_ALNUM,      /* [A-Za-z0-9]+ */
    FMT_DPUUID      /* anything without ':' or "%3A" */
} id_format;

typedef struct device_source {
    int64_t dpid;
    id_format format;
    const char *what; /* completes "ID 'x' is not ..." */
} device_source;

static const device_source device_sources[] = {
    {DPID_GAID, FMT_UUID_LOWER, "a lowercase GAID"},
    {DPID_IDFA, FMT_UUID_UPPER, "an uppercase IDFA"},
    {DPID_ROKU_RIDA, FMT_UUID_LOWER, "a lowercase Roku RIDA"},
    {DPID_MICROSOFT_MAID, FMT_ALNUM, "an alphanumeric Microsoft advertising ID"},
    {DPID_SAMSUNG_TIFA, FMT_ALNUM, "an alphanumeric Samsung TIFA"},
    {DPID_AMAZON_FIRE_TV, FMT_UUID_LOWER, "a lowercase Amazon Fire TV advertising ID"},
    {DPID_LG_WEBOS_LGUDID, FMT_UUID_LOWER, "a lowercase LG webOS LGUDID"},
    {DPID_VIZIO_IFA, FMT_ALNUM, "an alphanumeric Vizio IFA"},
};

static const device_source *find_device_source(int64_t dpid)
{
    for (size_t i = 0; i < sizeof device_sources / sizeof device_sources[0]; i++)
        if (device_sources[i].dpid == dpid)
            return &device_sources[i];
    return NULL;
}

int dpid_ids_is_global_device(int64_t dpid)
{
    return find_device_source(dpid) != NULL;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_hex_in_case(unsigned char c, int upper)
{
    if (is_digit(c))
        return 1;
    return upper ? (c >= 'A' && c <= 'F') : (c >= 'a' && c <= 'f');
}

static int is_alnum(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_aam_uuid(const char *id, size_t len)
{
    if (len != 38)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_digit((unsigned char)id[i]))
            return 0;
    return 1;
}

/* 8-4-4-4-12 hex digits of one case, e.g. e4fe9bde-caa0-47b6-908d-ffba3fa184f2. */
static int is_dashed_uuid(const char *id, size_t len, int upper)
{
    if (len != 36)
        return 0;
    for (size_t i = 0; i < len; i++) {
        int dash_position = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash_position ? id[i] != '-' : !is_hex_in_case((unsigned char)id[i], upper))
            return 0;
    }
    return 1;
}

static int is_alnum_id(const char *id, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_alnum((unsigned char)id[i]))
            return 0;
    return 1;
}

static int matches_format(id_format format, const char *id, size_t len)
{
    switch (format) {
    case FMT_AAM_UUID:
        return is_aam_uuid(id, len);
    case FMT_UUID_LOWER:
        return is_dashed_uuid(id, len, 0);
    case FMT_UUID_UPPER:
        return is_dashed_uuid(id, len, 1);
    case FMT_ALNUM:
        return is_alnum_id(id, len);
    case FMT_DPUUID:
        return 1;
    }
    return 0;
}

/* Offset of "%3A" (any case) in id, or -1. */
static long find_encoded_colon(const char *id, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++)
        if (id[i] == '%' && id[i + 1] == '3' && (id[i + 2] == 'A' || id[i + 2] == 'a'))
            return (long)i;
    return -1;
}

static void set_reason(char *reason, size_t reasonlen, const char *id, size_t len, const char *what,
                       const char *context)
{
    char shown[DPID_IDS_SNIPPET_MAX + 4];
    if (!reason || reasonlen == 0)
        return;
    dpid_ids_snippet(id, len, DPID_IDS_SNIPPET_MAX, shown, sizeof shown);
    snprintf(reason, reasonlen, "ID '%s' %s (%s)", shown, what, context);
}

static int check_dpuuid(const char *id, size_t len, const char *context, char *reason, size_t reasonlen)
{
    if (memchr(id, ':', len)) {
        set_reason(reason, reasonlen, id, len, "contains ':', which DPUUIDs must not", context);
        return -1;
    }
    if (find_encoded_colon(id, len) >= 0) {
        set_reason(reason, reasonlen, id, len, "contains '%3A' (an encoded ':'), which DPUUIDs must not", context);
        return -1;
    }
    return 0;
}

int dpid_ids_check_as(int64_t dpid, const char *context, const char *id, size_t len, char *reason,
                      size_t reasonlen)
{
    if (dpid == DPID_AAM_UUID) {
        if (is_aam_uuid(id, len))
            return 0;
        set_reason(reason, reasonlen, id, len, "is not a 38-digit AAM UUID", context);
        return -1;
    }
    const device_source *source = find_device_source(dpid);
    if (!source)
        return check_dpuuid(id, len, context, reason, reasonlen);
    if (matches_format(source->format, id, len))
        return 0;
    char what[96];
    snprintf(what, sizeof what, "is not %s", source->what);
    set_reason(reason, reasonlen, id, len, what, context);
    return -1;
}

int dpid_ids_check(int64_t dpid, const char *id, size_t len, char *reason, size_t reasonlen)
{
    char context[32];
    if (dpid_ids_check_as(dpid, "", id, len, reason, reasonlen) == 0)
        return 0; /* the common case: no reason, so no context to format */
    snprintf(context, sizeof context, "DPID %lld", (long long)dpid);
    return dpid_ids_check_as(dpid, context, id, len, reason, reasonlen);
}

/* Length of the well-formed UTF-8 sequence at s (1..4), or 0 when it is broken. */
static size_t utf8_sequence_length(const unsigned char *s, size_t avail)
{
    size_t n;
    uint32_t min;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        n = 2, min = 0x80;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        n = 3, min = 0x800;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        n = 4, min = 0x10000;
    else
        return 0;
    if (n > avail)
        return 0;
    uint32_t cp = s[0] & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static int is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7F;
}

void dpid_ids_snippet(const char *s, size_t len, size_t max, char *out, size_t outlen)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t in = 0, used = 0;
    if (!out || outlen == 0)
        return;
    if (outlen < 4) {
        out[0] = '\0';
        return;
    }
    while (in < len) {
        size_t seq = utf8_sequence_length(u + in, len - in);
        size_t width = seq ? seq : 1;
        if (used + width > max || used + width + 4 > outlen) {
            memcpy(out + used, "...", 3);
            used += 3;
            break;
        }
        if (seq == 0 || (seq == 1 && is_control(u[in])))
            out[used] = '?';
        else
            memcpy(out + used, s + in, width);
        used += width;
        in += width;
    }
    out[used] = '\0';
}
