/* name_parse.h: text spans and file-name grammar pieces shared by the AAM plugins: digit runs, suffixes, fields. */
#ifndef BD_PLUGINS_NAME_PARSE_H
#define BD_PLUGINS_NAME_PARSE_H
#include <batchdrop/plugin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---------------------------------------------------------------- spans */

/* A piece of a name or a line: not NUL-terminated. */
typedef struct text_span {
    const char *p;
    size_t n;
} text_span;

static inline text_span span_make(const char *p, size_t n)
{
    text_span s = {p, n};
    return s;
}

static inline text_span span_between(const char *from, const char *to)
{
    return span_make(from, (size_t)(to - from));
}

static inline int span_is_digits(text_span s)
{
    if (s.n == 0)
        return 0;
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return 0;
    return 1;
}

static inline int span_equals(text_span s, const char *word)
{
    size_t n = strlen(word);
    return s.n == n && memcmp(s.p, word, n) == 0;
}

/* ASCII case-insensitive comparison with a lowercase word. */
static inline int span_equals_nocase(text_span s, const char *word)
{
    size_t n = strlen(word);
    if (s.n != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s.p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            return 0;
    }
    return 1;
}

/* Value of a digit run of at most 18 digits. */
static inline int64_t span_number(text_span s)
{
    int64_t v = 0;
    for (size_t i = 0; i < s.n; i++)
        v = v * 10 + (s.p[i] - '0');
    return v;
}

/* out = before + a printable, shortened copy of `about` + after (for error texts). */
void span_describe(char *out, size_t outlen, const char *before, text_span about, const char *after);

/* Split s at every `sep`; stores at most `max` parts and returns how many there are. */
size_t span_split(text_span s, char sep, text_span *parts, size_t max);

/* ---------------------------------------------------------------- file names */

#define NAME_MAX_SUFFIXES 8

/* What follows a name's prefix, cut at its first '.': STEM.SUFFIX.SUFFIX... */
typedef struct name_parts {
    text_span stem;                      /* the '_'-separated fields */
    text_span suffix[NAME_MAX_SUFFIXES]; /* the mode, then [SPLIT][gz|zst] */
    size_t nsuffixes;
} name_parts;

/* Write a reason to why and return -1: `text` as it is, or before + `about` (shortened) + after. */
int name_reject(char *why, size_t whylen, const char *text);
int name_reject_about(char *why, size_t whylen, const char *before, text_span about, const char *after);

/* Cut `rest` (the name after its prefix) into parts and refuse what no AAM file may have: too many
 * or empty suffixes, .zip, PGP encryption, or no suffix at all ("missing mode: expected <modes>
 * after the timestamp", where `modes` is e.g. "'.sync' or '.overwrite'").  Returns 0 or -1. */
int name_cut(const char *rest, const char *modes, name_parts *parts, char *why, size_t whylen);

/* The suffixes after the mode: [.SPLIT][.gz|.zst] and nothing else; sets *split when there is one.
 * `mode_shown` names the mode in the reason ("the mode", ".sync").  Returns 0 or -1. */
int name_parse_tail(const name_parts *parts, const char *mode_shown, int32_t *split, char *why, size_t whylen);

/* A numeric field of at most max_digits digits; `what` names it in the reason ("DPID").  Returns 0 or -1. */
int name_parse_number(text_span field, const char *what, size_t max_digits, int64_t *value, char *why, size_t whylen);

/* A timestamp field: 10 digits; 9-digit ones appear in the docs and are accepted (spec §13.2). */
int name_parse_timestamp(text_span field, int64_t *timestamp, char *why, size_t whylen);

/* A plugin's own name grammar: fills *info, which comes zeroed but for struct_size and with split,
 * target and timestamp at BD_NO_VALUE, or returns -1 with a reason in why. */
typedef int (*name_grammar)(const char *name, bd_file_info *info, char *why, size_t whylen);

/* plugin.h parse_name() around `grammar`: checks the arguments and the size of the host's
 * bd_file_info, fills *info only for a valid name, and words a refusal as
 * "file name '<printable name>': <reason>".  Returns 0 or -1. */
int name_parse_for_host(const char *name, bd_file_info *info, name_grammar grammar, char *err, size_t errlen);

#endif
