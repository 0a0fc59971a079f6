/* name_parse.c: text spans and file-name grammar pieces shared by the AAM plugins: digit runs, suffixes, fields. */
#include "name_parse.h"
#include "dpid_ids.h"
#include <stdio.h>
#include <string.h>

#define SPLIT_DIGITS_MAX 9
#define TIMESTAMP_DIGITS 10
#define NAME_SHOWN_MAX 255

/* ---------------------------------------------------------------- spans */

void span_describe(char *out, size_t outlen, const char *before, text_span about, const char *after)
{
    char shown[DPID_IDS_SNIPPET_MAX + 4];
    dpid_ids_snippet(about.p, about.n, DPID_IDS_SNIPPET_MAX, shown, sizeof shown);
    snprintf(out, outlen, "%s%s%s", before, shown, after);
}

size_t span_split(text_span s, char sep, text_span *parts, size_t max)
{
    const char *p = s.p, *end = s.p + s.n;
    size_t count = 0;
    for (;;) {
        const char *cut = memchr(p, sep, (size_t)(end - p));
        if (count < max)
            parts[count] = span_between(p, cut ? cut : end);
        count++;
        if (!cut)
            return count;
        p = cut + 1;
    }
}

/* ---------------------------------------------------------------- reasons */

int name_reject(char *why, size_t whylen, const char *text)
{
    snprintf(why, whylen, "%s", text);
    return -1;
}

int name_reject_about(char *why, size_t whylen, const char *before, text_span about, const char *after)
{
    span_describe(why, whylen, before, about, after);
    return -1;
}

/* ---------------------------------------------------------------- suffixes */

static int is_compression(text_span s)
{
    return span_equals(s, "gz") || span_equals(s, "zst");
}

/* .zip and PGP are refused by name: the host could not read them anyway. */
static int refuse_archives_and_encryption(const text_span *suffix, size_t n, char *why, size_t whylen)
{
    for (size_t i = 0; i < n; i++) {
        if (span_equals(suffix[i], "zip"))
            return name_reject(why, whylen, "'.zip' archives are not supported (gzip is the only compression AAM "
                                            "allows; batchdrop also takes zstd)");
        if (!span_equals(suffix[i], "pgp") && !span_equals(suffix[i], "gpg"))
            continue;
        if (i > 0 && is_compression(suffix[i - 1])) {
            snprintf(why, whylen,
                     "a file may not be both compressed and PGP-encrypted ('.%.*s.%.*s'), and encrypted files "
                     "are not supported by batchdrop",
                     (int)suffix[i - 1].n, suffix[i - 1].p, (int)suffix[i].n, suffix[i].p);
            return -1;
        }
        return name_reject(why, whylen, "encrypted files ('.pgp'/'.gpg') are not supported by batchdrop; upload "
                                        "the file decrypted (gzip or zstd compression is fine)");
    }
    return 0;
}

static int check_suffixes(const name_parts *parts, const char *modes, char *why, size_t whylen)
{
    size_t n = parts->nsuffixes;
    if (n > NAME_MAX_SUFFIXES)
        return name_reject(why, whylen, "too many '.'-separated suffixes");
    for (size_t i = 0; i < n; i++)
        if (parts->suffix[i].n == 0)
            return name_reject(why, whylen, "empty '.' suffix ('..' or a '.' at the end)");
    if (refuse_archives_and_encryption(parts->suffix, n, why, whylen) < 0)
        return -1;
    if (n == 0) {
        snprintf(why, whylen, "missing mode: expected %s after the timestamp", modes);
        return -1;
    }
    return 0;
}

int name_cut(const char *rest, const char *modes, name_parts *parts, char *why, size_t whylen)
{
    const char *dot = strchr(rest, '.');
    const char *end = rest + strlen(rest);
    parts->stem = span_between(rest, dot ? dot : end);
    parts->nsuffixes = dot ? span_split(span_between(dot + 1, end), '.', parts->suffix, NAME_MAX_SUFFIXES) : 0;
    return check_suffixes(parts, modes, why, whylen);
}

int name_parse_tail(const name_parts *parts, const char *mode_shown, int32_t *split, char *why, size_t whylen)
{
    const text_span *suffix = parts->suffix;
    size_t i = 1, n = parts->nsuffixes;
    if (i < n && span_is_digits(suffix[i])) {
        if (suffix[i].n > SPLIT_DIGITS_MAX)
            return name_reject_about(why, whylen, "split number '", suffix[i], "' has more than 9 digits");
        *split = (int32_t)span_number(suffix[i]);
        i++;
    }
    if (i < n && is_compression(suffix[i]))
        i++;
    if (i < n) {
        char after[96];
        snprintf(after, sizeof after, "' (after %s only .SPLIT_NUMBER and then .gz or .zst may follow)", mode_shown);
        return name_reject_about(why, whylen, "unexpected suffix '.", suffix[i], after);
    }
    return 0;
}

/* ---------------------------------------------------------------- fields */

int name_parse_number(text_span field, const char *what, size_t max_digits, int64_t *value, char *why, size_t whylen)
{
    char before[48];
    if (field.n == 0) {
        snprintf(why, whylen, "empty %s field", what);
        return -1;
    }
    snprintf(before, sizeof before, "%s '", what);
    if (!span_is_digits(field))
        return name_reject_about(why, whylen, before, field, "' is not a number");
    if (field.n > max_digits) {
        char after[48];
        snprintf(after, sizeof after, "' has more than %zu digits", max_digits);
        return name_reject_about(why, whylen, before, field, after);
    }
    *value = span_number(field);
    return 0;
}

int name_parse_timestamp(text_span field, int64_t *timestamp, char *why, size_t whylen)
{
    if (name_parse_number(field, "timestamp", TIMESTAMP_DIGITS, timestamp, why, whylen) < 0)
        return -1;
    if (field.n < TIMESTAMP_DIGITS - 1)
        return name_reject_about(why, whylen, "timestamp '", field, "' must have 10 digits (9 are accepted)");
    return 0;
}

/* ---------------------------------------------------------------- the parse_name() contract */

/* What a grammar starts from: zeroed, the host's struct_size, and no split, target or timestamp. */
static bd_file_info blank_info(uint32_t struct_size)
{
    bd_file_info info = {
        .struct_size = struct_size,
        .split = BD_NO_VALUE,
        .target = BD_NO_VALUE,
        .timestamp = BD_NO_VALUE,
    };
    return info;
}

int name_parse_for_host(const char *name, bd_file_info *info, name_grammar grammar, char *err, size_t errlen)
{
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
    bd_file_info parsed = blank_info(info->struct_size);
    if (grammar(name, &parsed, why, sizeof why) < 0) {
        snprintf(err, errlen, "file name '%s': %s", shown, why);
        return -1;
    }
    *info = parsed;
    return 0;
}
