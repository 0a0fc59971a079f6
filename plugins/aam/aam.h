/* aam.h: internals shared by the files of the "aam" format plugin (file names, row tokenizer, plugin glue). */
#ifndef BD_PLUGIN_AAM_H
#define BD_PLUGIN_AAM_H
#include <batchdrop/plugin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Longest trait ID: 18 digits always fit in an int64_t. */
#define AAM_TRAIT_DIGITS_MAX 18

/* A piece of a line: not NUL-terminated. */
typedef struct aam_span {
    const char *p;
    size_t n;
} aam_span;

/* How the row tokenizer reads a line. */
typedef struct aam_row_rules {
    int odc;             /* <ID type><TAB><user ID><TAB><items> instead of <user ID><TAB><items> */
    int bare_are_traits; /* a bare number is an ADD trait ID, not an "ic" signal */
    int overwrite;       /* .overwrite file: removals are dropped (counted, not emitted) */
} aam_row_rules;

/* One tokenized line.  Spans and item strings point into the line; the items
 * array is reused from line to line (aam_row_free() releases it). */
typedef struct aam_row {
    aam_span id_type; /* ODC only */
    aam_span user_id;
    bd_item *items;
    size_t nitems;
    size_t capacity;
    size_t dropped_removals; /* removals this line had in an .overwrite file */
} aam_row;

static inline aam_span aam_span_make(const char *p, size_t n)
{
    aam_span s = {p, n};
    return s;
}

static inline aam_span aam_span_between(const char *from, const char *to)
{
    return aam_span_make(from, (size_t)(to - from));
}

static inline int aam_span_is_digits(aam_span s)
{
    if (s.n == 0)
        return 0;
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return 0;
    return 1;
}

static inline int aam_span_equals(aam_span s, const char *word)
{
    size_t n = strlen(word);
    return s.n == n && memcmp(s.p, word, n) == 0;
}

/* ASCII case-insensitive comparison with a lowercase word. */
static inline int aam_span_equals_nocase(aam_span s, const char *word)
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
static inline int64_t aam_span_number(aam_span s)
{
    int64_t v = 0;
    for (size_t i = 0; i < s.n; i++)
        v = v * 10 + (s.p[i] - '0');
    return v;
}

/* out = before + a printable, shortened copy of `about` + after (for error texts). */
void aam_describe(char *out, size_t outlen, const char *before, aam_span about, const char *after);

enum { AAM_ROW_OK = 0, AAM_ROW_FORMAT_ERROR = -1, AAM_ROW_NO_MEMORY = -2 };

/* Validate an ftp_dpm_ file name and fill *info (plugin.h parse_name contract). */
int aam_parse_name(const char *name, bd_file_info *info, char *err, size_t errlen);

/* Tokenize one line (spec §3, §10, §11 item 4).  Returns AAM_ROW_OK,
 * AAM_ROW_FORMAT_ERROR with a reason, or AAM_ROW_NO_MEMORY. */
int aam_row_parse(const aam_row_rules *rules, const char *line, size_t len, aam_row *row, char *reason,
                  size_t reasonlen);
void aam_row_free(aam_row *row);

#endif
