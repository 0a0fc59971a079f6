/* strutil.h: small string, time and checked-allocation helpers shared by the agent. */
#ifndef BD_STRUTIL_H
#define BD_STRUTIL_H
#include <stddef.h>
#include <stdint.h>
#include <batchdrop/plugin.h>

int bd_strlcpy(char *dst, const char *src, size_t size);       /* -1 (ENAMETOOLONG) if truncated */
int bd_fmt(char *dst, size_t size, const char *fmt, ...) BD_PRINTF(3, 4); /* -1 if truncated */
char *bd_strndup(const char *s, size_t n);                    /* NULL on ENOMEM */
/* A short printable rendering of an ID or key for messages: 64 bytes at most ("..." when cut), '?' for the rest. */
void bd_show_id(char *out, size_t outlen, const char *id, size_t len);
int64_t bd_now_ms(void);                                      /* wall clock, milliseconds */
double bd_monotonic(void);                                    /* seconds */
void bd_format_time(char *out, size_t len, int64_t ms);       /* "YYYY-MM-DD HH:MM:SS" UTC */
void bd_format_iso8601(char *out, size_t len, int64_t ms);    /* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
void bd_hex(char *out, const unsigned char *in, size_t n);    /* out holds 2n+1 */
int bd_valid_partner_name(const char *s);                     /* [A-Za-z0-9_-]+ */
int bd_valid_utf8(const char *s, size_t len);
uint32_t bd_fnv1a(const char *s);                              /* FNV-1a hash of a string, 32 bits */
#endif
