/* dpid_ids.h: ID format checks by DPID (AAM UUID, global device data sources, DPUUIDs), shared by the AAM plugins. */
#ifndef BD_PLUGINS_DPID_IDS_H
#define BD_PLUGINS_DPID_IDS_H
#include <stddef.h>
#include <stdint.h>

/* DPIDs with a fixed meaning (spec §1.3). */
#define DPID_AAM_UUID 0
#define DPID_GAID 20914
#define DPID_IDFA 20915
#define DPID_ROKU_RIDA 121963
#define DPID_MICROSOFT_MAID 389146
#define DPID_SAMSUNG_TIFA 963906
#define DPID_AMAZON_FIRE_TV 488258
#define DPID_LG_WEBOS_LGUDID 1171485
#define DPID_VIZIO_IFA 1171489

/* Longest ID or field text quoted in an error reason (longer ones end in "..."). */
#define DPID_IDS_SNIPPET_MAX 64

/* 1 when dpid is a global device data source (which needs a target data owner), else 0. */
int dpid_ids_is_global_device(int64_t dpid);

/* Check an ID (len bytes, not NUL-terminated) against the format DPID dpid requires:
 * DPID 0 -> 38 digits; global device DPIDs -> their §1.3 format; any other DPID is a
 * DPUUID namespace whose IDs must not contain ':' or "%3A".  Returns 0 when the ID is
 * well-formed, else -1 with a reason such as "ID 'x' is not a lowercase GAID (DPID 20914)". */
int dpid_ids_check(int64_t dpid, const char *id, size_t len, char *reason, size_t reasonlen);

/* Like dpid_ids_check(), but the reason names `context` (e.g. "ODC ID type idfa")
 * instead of "DPID <dpid>". */
int dpid_ids_check_as(int64_t dpid, const char *context, const char *id, size_t len, char *reason,
                      size_t reasonlen);

/* Write a printable, NUL-terminated copy of s[0..len) for an error text: control bytes and
 * broken UTF-8 become '?', and text beyond `max` bytes is cut at a character boundary and
 * marked with "...".  out must hold at least max + 4 bytes; outlen is its size. */
void dpid_ids_snippet(const char *s, size_t len, size_t max, char *out, size_t outlen);

#endif
