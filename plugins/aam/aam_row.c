/* aam_row.c: the aam row tokenizer: user ID, TAB, then comma-separated items read as adds, removals, signals. */
#include "aam.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_CAPACITY 16

static text_span trim_spaces(text_span s)
{
    while (s.n && s.p[0] == ' ')
        s.p++, s.n--;
    while (s.n && s.p[s.n - 1] == ' ')
        s.n--;
    return s;
}

/* Report a format problem that quotes part of the line. */
static int fail(char *reason, size_t reasonlen, const char *before, text_span about, const char *after)
{
    span_describe(reason, reasonlen, before, about, after);
    return AAM_ROW_FORMAT_ERROR;
}

static int fail_plain(char *reason, size_t reasonlen, const char *text)
{
    snprintf(reason, reasonlen, "%s", text);
    return AAM_ROW_FORMAT_ERROR;
}

/* Bytes of the quote mark at p: 1 for '"', 3 for the UTF-8 curly quotes U+201C and U+201D, else 0.
 * The docs print some examples with curly quotes, so they count as '"'. */
static size_t quote_mark_at(const char *p, const char *end)
{
    const unsigned char *u = (const unsigned char *)p;
    if (p < end && *p == '"')
        return 1;
    if (end - p >= 3 && u[0] == 0xE2 && u[1] == 0x80 && (u[2] == 0x9C || u[2] == 0x9D))
        return 3;
    return 0;
}

/* Any quote mark in s; memchr finds the candidates (most lines have none). */
static int has_quote_mark(text_span s)
{
    const char *end = s.p + s.n;
    if (memchr(s.p, '"', s.n))
        return 1;
    for (const char *p = s.p; (p = memchr(p, 0xE2, (size_t)(end - p))) != NULL; p++)
        if (quote_mark_at(p, end))
            return 1;
    return 0;
}

/* First `c` outside quotes in s, or the end of s when there is none.  *quote_open (may be NULL)
 * says whether a quote opened before that point is still open. */
static const char *find_unquoted(text_span s, char c, int *quote_open)
{
    const char *p = s.p, *end = s.p + s.n;
    int quoted = 0;
    while (p < end) {
        size_t q = quote_mark_at(p, end);
        if (q) {
            quoted = !quoted;
            p += q;
            continue;
        }
        if (*p == c && !quoted)
            break;
        p++;
    }
    if (quote_open)
        *quote_open = quoted;
    return p;
}

/* First '=' outside quotes, or NULL. */
static const char *find_unquoted_equals(text_span s)
{
    const char *equals = find_unquoted(s, '=', NULL);
    return equals < s.p + s.n ? equals : NULL;
}

/* Cut the next item off *rest at the first comma outside quotes (any comma when the row is quote-free).
 * Returns -1 when a quote opened in the item is never closed. */
static int next_item(const aam_row *row, text_span *rest, text_span *item)
{
    const char *end = rest->p + rest->n;
    int quote_open = 0;
    const char *p = row->quote_free ? memchr(rest->p, ',', rest->n) : find_unquoted(*rest, ',', &quote_open);
    if (!p)
        p = end;
    *item = span_between(rest->p, p);
    if (quote_open)
        return -1;
    if (p < end)
        p++; /* the comma */
    *rest = span_between(p, end);
    return 0;
}

/* A key or value: trimmed, then either free of quotes or wholly inside one pair of quotes. */
static int unquote(const aam_row *row, text_span raw, text_span *out, char *reason, size_t reasonlen)
{
    text_span s = trim_spaces(raw);
    if (row->quote_free) {
        *out = s;
        return AAM_ROW_OK;
    }
    const char *end = s.p + s.n;
    size_t open_len = quote_mark_at(s.p, end);
    if (!open_len) {
        if (has_quote_mark(s))
            return fail(reason, reasonlen, "stray quote in '", s, "' (quotes must enclose a whole key or value)");
        *out = s;
        return AAM_ROW_OK;
    }
    const char *inner = s.p + open_len, *p = inner;
    size_t close_len = 0;
    while (p < end && !(close_len = quote_mark_at(p, end)))
        p++;
    if (!close_len)
        return fail(reason, reasonlen, "unterminated quote in '", s, "'");
    if (p + close_len != end)
        return fail(reason, reasonlen, "text after the closing quote in '", s, "'");
    *out = span_between(inner, p);
    return AAM_ROW_OK;
}

static int grow_items(aam_row *row)
{
    size_t capacity = row->capacity ? row->capacity * 2 : FIRST_CAPACITY;
    if (capacity > SIZE_MAX / sizeof *row->items)
        return -1;
    bd_item *grown = realloc(row->items, capacity * sizeof *grown);
    if (!grown)
        return -1;
    row->items = grown;
    row->capacity = capacity;
    return 0;
}

static int add_item(const aam_row_rules *rules, aam_row *row, const bd_item *item)
{
    if (item->kind == BD_ITEM_REMOVE && rules->overwrite) {
        row->dropped_removals++; /* spec §2: d_unsid and N:0/N:-1 are ignored in .overwrite files */
        return AAM_ROW_OK;
    }
    if (row->nitems == row->capacity && grow_items(row) < 0)
        return AAM_ROW_NO_MEMORY;
    row->items[row->nitems++] = *item;
    return AAM_ROW_OK;
}

/* An ADD or REMOVE item for trait `value`; `source` is the key it came with ("d_sid"), or NULL for a bare ID. */
static int add_trait(const aam_row_rules *rules, aam_row *row, int kind, text_span value, const char *source,
                     char *reason, size_t reasonlen)
{
    if (value.n == 0) {
        snprintf(reason, reasonlen, "%s has an empty value", source ? source : "trait ID");
        return AAM_ROW_FORMAT_ERROR;
    }
    if (!span_is_digits(value)) {
        char before[32];
        if (source)
            snprintf(before, sizeof before, "%s value '", source);
        else
            snprintf(before, sizeof before, "trait ID '");
        return fail(reason, reasonlen, before, value, "' is not a number");
    }
    if (value.n > AAM_TRAIT_DIGITS_MAX)
        return fail(reason, reasonlen, "trait ID '", value, "' has more than 18 digits");
    bd_item item = {.kind = kind, .trait = span_number(value)};
    return add_item(rules, row, &item);
}

static int add_signal(const aam_row_rules *rules, aam_row *row, text_span key, text_span value)
{
    bd_item item = {.kind = BD_ITEM_SIGNAL, .key = key.p, .key_len = key.n, .value = value.p, .value_len = value.n};
    return add_item(rules, row, &item);
}

/* key=value, "key" = "value", -key=value, d_sid=N, d_unsid=N, ic=V (spec §3.2). */
static int parse_key_value(const aam_row_rules *rules, aam_row *row, text_span item, const char *equals,
                           char *reason, size_t reasonlen)
{
    text_span key_raw = trim_spaces(span_between(item.p, equals));
    text_span value_raw = trim_spaces(span_between(equals + 1, item.p + item.n));
    text_span key, value;
    if (key_raw.n == 0 && value_raw.n == 0)
        return fail(reason, reasonlen, "item '", item, "' has neither key nor value");
    if (key_raw.n && key_raw.p[0] == '-') /* "-product = camera" reads as "product = camera" */
        key_raw = trim_spaces(span_make(key_raw.p + 1, key_raw.n - 1));
    if (unquote(row, key_raw, &key, reason, reasonlen) < 0 || unquote(row, value_raw, &value, reason, reasonlen) < 0)
        return AAM_ROW_FORMAT_ERROR;
    if (key.n == 0)
        return fail(reason, reasonlen, "empty key in item '", item, "'");
    if (span_equals_nocase(key, "d_sid"))
        return add_trait(rules, row, BD_ITEM_ADD, value, "d_sid", reason, reasonlen);
    if (span_equals_nocase(key, "d_unsid"))
        return add_trait(rules, row, BD_ITEM_REMOVE, value, "d_unsid", reason, reasonlen);
    if (value.n == 0)
        return fail(reason, reasonlen, "empty value in item '", item, "'");
    if (span_equals_nocase(key, "ic"))
        key = span_make("ic", 2);
    return add_signal(rules, row, key, value);
}

/* N:0 or N:-1 (spaces around ':' tolerated).  Returns 1 when `value` has that shape
 * (*trait set), 0 when it is something else, -1 for N:M with another number M. */
static int match_removal(text_span value, text_span *trait)
{
    const char *colon = memchr(value.p, ':', value.n);
    if (!colon)
        return 0;
    text_span left = trim_spaces(span_between(value.p, colon));
    text_span right = trim_spaces(span_between(colon + 1, value.p + value.n));
    text_span right_digits = right;
    if (right_digits.n && right_digits.p[0] == '-')
        right_digits = span_make(right.p + 1, right.n - 1);
    if (!span_is_digits(left) || !span_is_digits(right_digits))
        return 0;
    *trait = left;
    return (span_equals(right, "0") || span_equals(right, "-1")) ? 1 : -1;
}

/* A value without '=': N:0 / N:-1, else a trait ID (ODC, bare_values=traits) or an "ic" signal. */
static int parse_bare(const aam_row_rules *rules, aam_row *row, text_span item, char *reason, size_t reasonlen)
{
    text_span value, trait;
    if (unquote(row, item, &value, reason, reasonlen) < 0)
        return AAM_ROW_FORMAT_ERROR;
    if (value.n == 0)
        return fail(reason, reasonlen, "empty quoted item '", item, "'");
    int removal = match_removal(value, &trait);
    if (removal < 0)
        return fail(reason, reasonlen, "'", value, "' is not a removal: only N:0 and N:-1 are defined");
    if (removal > 0)
        return add_trait(rules, row, BD_ITEM_REMOVE, trait, NULL, reason, reasonlen);
    if (rules->bare_are_traits)
        return add_trait(rules, row, BD_ITEM_ADD, value, NULL, reason, reasonlen);
    return add_signal(rules, row, span_make("ic", 2), value); /* spec §3.2 / §13.6: bare values are ic */
}

static int parse_item(const aam_row_rules *rules, aam_row *row, text_span item, char *reason, size_t reasonlen)
{
    const char *equals = row->quote_free ? memchr(item.p, '=', item.n) : find_unquoted_equals(item);
    if (equals)
        return parse_key_value(rules, row, item, equals, reason, reasonlen);
    return parse_bare(rules, row, item, reason, reasonlen);
}

static int parse_items(const aam_row_rules *rules, aam_row *row, text_span rest, char *reason, size_t reasonlen)
{
    size_t seen = 0;
    row->quote_free = !has_quote_mark(rest);
    while (rest.n > 0) {
        text_span item;
        if (next_item(row, &rest, &item) < 0)
            return fail(reason, reasonlen, "unterminated quote in item '", trim_spaces(item), "'");
        item = trim_spaces(item);
        if (item.n == 0)
            continue; /* ",," (the official sample has one) and a trailing ',' */
        seen++;
        int rc = parse_item(rules, row, item, reason, reasonlen);
        if (rc != AAM_ROW_OK)
            return rc;
    }
    if (seen == 0)
        return fail_plain(reason, reasonlen, "no items after the TAB");
    return AAM_ROW_OK;
}

/* Cut the ODC ID type column off *rest. */
static int split_id_type(text_span *rest, aam_row *row, char *reason, size_t reasonlen)
{
    const char *tab = memchr(rest->p, '\t', rest->n);
    if (!tab)
        return fail_plain(reason, reasonlen,
                          "no TAB after the ID type (ODC rows are <ID type><TAB><user ID><TAB><trait IDs>)");
    row->id_type = trim_spaces(span_between(rest->p, tab));
    if (row->id_type.n == 0)
        return fail_plain(reason, reasonlen, "empty ID type");
    *rest = span_between(tab + 1, rest->p + rest->n);
    return AAM_ROW_OK;
}

static int split_user_id(text_span *rest, aam_row *row, char *reason, size_t reasonlen)
{
    const char *tab = memchr(rest->p, '\t', rest->n);
    if (!tab)
        return fail_plain(reason, reasonlen, "no TAB between user ID and items");
    row->user_id = trim_spaces(span_between(rest->p, tab));
    if (row->user_id.n == 0)
        return fail_plain(reason, reasonlen, "empty user ID");
    *rest = span_between(tab + 1, rest->p + rest->n);
    if (memchr(rest->p, '\t', rest->n))
        return fail_plain(reason, reasonlen,
                          "a TAB inside the item list (only one TAB may follow the user ID; keys and values "
                          "must not contain TABs)");
    return AAM_ROW_OK;
}

int aam_row_parse(const aam_row_rules *rules, const char *line, size_t len, aam_row *row, char *reason,
                  size_t reasonlen)
{
    text_span rest = span_make(line, len);
    row->id_type = span_make(NULL, 0);
    row->user_id = span_make(NULL, 0);
    row->nitems = 0;
    row->dropped_removals = 0;
    int rc = rules->odc ? split_id_type(&rest, row, reason, reasonlen) : AAM_ROW_OK;
    if (rc == AAM_ROW_OK)
        rc = split_user_id(&rest, row, reason, reasonlen);
    if (rc == AAM_ROW_OK)
        rc = parse_items(rules, row, rest, reason, reasonlen);
    return rc;
}

void aam_row_free(aam_row *row)
{
    free(row->items);
    row->items = NULL;
    row->nitems = row->capacity = 0;
}
