/* test_delimited.c: TAP tests of the delimited plugin: names, options, RFC 4180 rows, columns, DPIDs, errors. */
#include "plugin_harness.h"
#include "tap.h"
#include "plugin_checks.h"
#include "test_util.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CSV "partner_20240501.csv"
#define TSV "partner_20240501.tsv"
#define FULL_CSV "partner_full_20240501.csv"
#define GAID "e4fe9bde-caa0-47b6-908d-ffba3fa184f2"
#define PRIVATE_FLAGS 0x30000 /* the plugin's own bd_file_info.flags bits: .tsv / .csv name */

static const bd_plugin *delim;
static ph_fixture fx;

static const ph_record *record_at(size_t i)
{
    return pc_record_at(&fx, i);
}

/* Start over with options given as key, value, ..., NULL. */
static void options(const char *key, ...)
{
    va_list ap;
    ph_host_clear_options(&fx.host);
    va_start(ap, key);
    for (const char *k = key; k; k = va_arg(ap, const char *))
        ph_host_set_option(&fx.host, k, va_arg(ap, const char *));
    va_end(ap);
}

/* The usual two columns: user ID, then segments. */
static void two_columns(void)
{
    options("id_column", "1", "segments_column", "2", NULL);
}

/* A file whose only bad line is `line`: one error there, of `kind`, whose reason contains `part`. */
static void expect_error_at(const char *name, const char *text, uint64_t line, int kind, const char *part)
{
    int outcome = ph_fixture_feed(&fx, name, text);
    const ph_line_error *e = ph_error_on_line(&fx.host, line);
    TAP_EQ_INT(outcome, PH_DONE, "[%s] file still completes (%s)", part, fx.run.err);
    TAP_EQ_INT(fx.host.nerrors, 1, "[%s] one line error", part);
    TAP_OK(e != NULL, "[%s] the error is on line %llu", part, (unsigned long long)line);
    TAP_EQ_INT(e ? e->kind : 0, kind, "[%s] error kind", part);
    TAP_OK(e && strstr(e->reason, part), "[%s] reason: %s", part, e ? e->reason : "(none)");
    for (size_t i = 0; i < fx.host.nrecords; i++)
        TAP_OK(fx.host.records[i].line != line, "[%s] no record from line %llu", part, (unsigned long long)line);
}

static void expect_error(const char *text, const char *part)
{
    expect_error_at(CSV, text, 1, BD_ERR_FORMAT, part);
}

static const ph_record *expect_record(const char *name, const char *text, size_t nitems, const char *what)
{
    return pc_expect_record(&fx, name, text, nitems, what);
}

static void expect_open_error(const char *name, const char *part1, const char *part2)
{
    pc_expect_open_error(&fx, name, "u1,1\n", part1, part2);
}

/* ---------------------------------------------------------------- descriptor and names */

static void test_descriptor(void)
{
    static const char *const mine[] = {"a.csv", "a.tsv", "a.csv.gz", "a.tsv.gz", "a.csv.zst", "a.tsv.zst"};
    static const char *const others[] = {"a.jsonl", "ftp_dpm_478_1366545717.sync", "a.csv.bz2", "a.txt"};
    pc_check_descriptor(delim, "delimited", mine, COUNT_OF(mine), others, COUNT_OF(others));
}

typedef struct name_case {
    const char *name;
    int mode, flags;
} name_case;

static const name_case names[] = {
    {CSV, BD_MODE_SYNC, 0x20000},
    {TSV, BD_MODE_SYNC, 0x10000},
    {"a.tsv.gz", BD_MODE_SYNC, 0x10000},
    {"a.csv.zst", BD_MODE_SYNC, 0x20000},
    {"a.overwrite.csv", BD_MODE_OVERWRITE, 0x20000},
    {"a.sync.csv", BD_MODE_SYNC, 0x20000},
    {FULL_CSV, BD_MODE_OVERWRITE, 0x20000},
    {"acme_full.tsv.gz", BD_MODE_OVERWRITE, 0x10000},
    {"acme_full-1.csv", BD_MODE_OVERWRITE, 0x20000},
    {"acme_fulfilment_2024.csv", BD_MODE_SYNC, 0x20000},
    {"acme_fulfilment_full.csv", BD_MODE_OVERWRITE, 0x20000},
    {"segments.txt", BD_MODE_SYNC, 0},
    {"segments.overwrite", BD_MODE_OVERWRITE, 0},
    {"ftp_dpm_478_1366545717.sync", BD_MODE_SYNC, 0},
};

static void test_names(void)
{
    for (size_t i = 0; i < COUNT_OF(names); i++) {
        bd_file_info info;
        char err[512];
        int rc = ph_parse_name(delim, names[i].name, &info, err, sizeof err);
        TAP_EQ_INT(rc, 0, "%s: accepted (%s)", names[i].name, err);
        TAP_EQ_INT(info.kind, BD_FILE_TRAITS, "%s: kind TRAITS", names[i].name);
        TAP_EQ_INT(info.mode, names[i].mode, "%s: mode", names[i].name);
        TAP_EQ_INT(info.dpid, BD_NO_VALUE, "%s: no DPID", names[i].name);
        TAP_EQ_INT(info.split, BD_NO_VALUE, "%s: no split", names[i].name);
        TAP_EQ_INT(info.timestamp, BD_NO_VALUE, "%s: no timestamp", names[i].name);
        TAP_EQ_INT(info.flags & ~PRIVATE_FLAGS, 0, "%s: no public flag", names[i].name);
        TAP_EQ_INT(info.flags, names[i].flags, "%s: extension flag", names[i].name);
    }
    ph_refusal r;
    ph_refuse_name(delim, "", &r);
    TAP_EQ_INT(r.rc, -1, "an empty name is refused");
    TAP_OK(strstr(r.err, "empty file name") != NULL, "... saying so (%s)", r.err);
    bd_file_info info;
    char err[256];
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info - 8;
    TAP_EQ_INT(delim->parse_name(CSV, &info, err, sizeof err), -1, "an older host bd_file_info is refused");
}

/* ---------------------------------------------------------------- valid files */

static void test_csv_with_header(void)
{
    options("header", "true", "id_column", "user_id", "segments_column", "Segments", "removed_column", "removed",
            NULL);
    int outcome = ph_fixture_feed(&fx, CSV,
                                  "user_id,segments,removed,comment\n"
                                  "u1,\"1,2,3\",,first\n"
                                  "\n"
                                  "u2,4,\"5, 6\",\"the \"\"second\"\", user\"\n");
    TAP_EQ_INT(outcome, PH_DONE, "header CSV: done (%s)", fx.run.err);
    TAP_EQ_INT(fx.host.nerrors, 0, "header CSV: no errors (%s)", ph_reason_at(&fx.host, 0));
    TAP_EQ_INT(fx.host.nrecords, 2, "header CSV: 2 records (the header is no record)");
    const ph_record *r = record_at(0);
    TAP_EQ_STR(r ? r->user_id : NULL, "u1", "header CSV: user u1");
    TAP_EQ_INT(r ? r->line : 0, 2, "header CSV: u1 on line 2");
    TAP_EQ_INT(r ? r->nitems : 0, 3, "header CSV: u1 has 3 items");
    TAP_OK(ph_item_is_trait(r, 0, BD_ITEM_ADD, 1) && ph_item_is_trait(r, 2, BD_ITEM_ADD, 3), "u1 ADD 1..3");
    TAP_EQ_INT(r ? r->flags : 99, 0, "no DPID option: the record leaves the namespace to the host");
    r = record_at(1);
    TAP_EQ_INT(r ? r->line : 0, 4, "header CSV: u2 on line 4 (after a blank line)");
    TAP_EQ_INT(r ? r->nitems : 0, 3, "header CSV: u2 has 3 items");
    TAP_OK(ph_item_is_trait(r, 0, BD_ITEM_ADD, 4), "u2 ADD 4");
    TAP_OK(ph_item_is_trait(r, 1, BD_ITEM_REMOVE, 5) && ph_item_is_trait(r, 2, BD_ITEM_REMOVE, 6), "u2 REMOVE 5, 6");

    options("header", "true", "id_column", "2", "segments_column", "1", NULL);
    outcome = ph_fixture_feed(&fx, CSV, "\xEF\xBB\xBFsegs,id\n7,u7\n");
    TAP_EQ_INT(fx.host.nrecords, 1, "numbered columns with a header: the header is skipped");
    TAP_EQ_STR(record_at(0) ? record_at(0)->user_id : NULL, "u7", "... and the row read");

    options("header", "true", "id_column", "id", "segments_column", "segs", NULL);
    ph_fixture_feed(&fx, CSV, "\xEF\xBB\xBF\"id\" , segs\r\nu8,8\r\n");
    TAP_EQ_INT(fx.host.nerrors, 0, "BOM, quoted and spaced header names (%s)", ph_reason_at(&fx.host, 0));
    TAP_OK(ph_item_is_trait(record_at(0), 0, BD_ITEM_ADD, 8), "... resolve: u8 ADD 8");

    options("header", "true", "id_column", "ID", "segments_column", "segs", NULL);
    outcome = ph_fixture_feed(&fx, CSV, "id,segs\nu9,9\n");
    TAP_EQ_STR(record_at(0) ? record_at(0)->user_id : NULL, "u9", "no exact match: the case-insensitive one");
    options("header", "true", "id_column", "id", "segments_column", "segs", NULL);
    outcome = ph_fixture_feed(&fx, CSV, "ID,id,segs\nx,u10,10\n");
    TAP_EQ_INT(outcome, PH_DONE, "an exact match beats a case-insensitive one");
    TAP_EQ_STR(record_at(0) ? record_at(0)->user_id : NULL, "u10", "... column 2");
}

static void test_tsv_with_numbers(void)
{
    two_columns();
    int outcome = ph_fixture_feed(&fx, TSV, "u1\t1,2\nu2\t 30608 , 50354 \n  u3  \t7\t\textra\n");
    TAP_EQ_INT(outcome, PH_DONE, "TSV: done");
    TAP_EQ_INT(fx.host.nerrors, 0, "TSV: no errors (%s)", ph_reason_at(&fx.host, 0));
    TAP_EQ_INT(fx.host.nrecords, 3, "TSV: 3 records");
    TAP_OK(ph_item_is_trait(record_at(0), 1, BD_ITEM_ADD, 2), "TSV: u1 ADD 2");
    TAP_OK(ph_item_is_trait(record_at(1), 0, BD_ITEM_ADD, 30608) &&
               ph_item_is_trait(record_at(1), 1, BD_ITEM_ADD, 50354),
           "TSV: spaces around segments trimmed");
    TAP_EQ_STR(record_at(2) ? record_at(2)->user_id : NULL, "u3", "TSV: spaces around the ID trimmed");
    TAP_EQ_INT(record_at(2) ? record_at(2)->nitems : 0, 1, "TSV: extra columns ignored");

    options("id_column", "1", "segments_column", "2", "segment_separator", "pipe", NULL);
    const ph_record *r = expect_record("a.tsv.gz", "u1\t1|2|3", 3, "TSV, segment_separator pipe");
    TAP_OK(ph_item_is_trait(r, 2, BD_ITEM_ADD, 3), "pipe-separated segment 3");

    options("id_column", "1", "segments_column", "2", "segment_separator", ";", "delimiter", "comma", NULL);
    r = expect_record(TSV, "u1,1;2", 2, "delimiter comma in a .tsv, separator ';'");
    TAP_OK(ph_item_is_trait(r, 1, BD_ITEM_ADD, 2), "the option beats the extension");
}

static void test_quoting(void)
{
    two_columns();
    const ph_record *r = expect_record(CSV, "\"user \"\"one\"\", inc\",  \"10, 20\" ,x", 2, "quoted fields");
    TAP_EQ_STR(r ? r->user_id : NULL, "user \"one\", inc", "doubled quotes and a delimiter inside quotes");
    TAP_OK(ph_item_is_trait(r, 0, BD_ITEM_ADD, 10) && ph_item_is_trait(r, 1, BD_ITEM_ADD, 20), "ADD 10, 20");
    r = expect_record(CSV, "\" u1 \",\"\"", 0, "quoted spaces kept, quoted empty segments");
    TAP_EQ_STR(r ? r->user_id : NULL, " u1 ", "spaces inside quotes kept");
    r = expect_record(CSV, "u1,", 0, "empty segments cell: a record without items");
    r = expect_record(CSV, "u1,\"1,,2,\"", 2, "empty pieces in the segments cell are skipped");
    r = expect_record(CSV, "\"\"\"\",1", 1, "a field that is one quote");
    TAP_EQ_STR(r ? r->user_id : NULL, "\"", "\"\"\"\" is '\"'");

    options("id_column", "1", "segments_column", "2", "quote", "'", NULL);
    r = expect_record(CSV, "'u,1','1,2'", 2, "quote option '");
    TAP_EQ_STR(r ? r->user_id : NULL, "u,1", "single-quoted ID");
    options("id_column", "1", "segments_column", "2", "quote", "none", NULL);
    r = expect_record(CSV, "\"u1\",3", 1, "quote none");
    TAP_EQ_STR(r ? r->user_id : NULL, "\"u1\"", "quotes are data without quoting");

    options("id_column", "2", "segments_column", "3", "delimiter", "semicolon", NULL);
    r = expect_record(CSV, "x;u1;\"1,2\";y", 2, "delimiter semicolon");
    TAP_EQ_STR(r ? r->user_id : NULL, "u1", "semicolon: column 2");
    options("id_column", "1", "segments_column", "2", "delimiter", "space", "segment_separator", "|", NULL);
    r = expect_record(CSV, "u1 1|2", 2, "delimiter space");
    options("id_column", "1", "segments_column", "2", "delimiter", "tab", NULL);
    r = expect_record(CSV, "u 1\t\"4\"", 1, "delimiter tab in a .csv");
    TAP_EQ_STR(r ? r->user_id : NULL, "u 1", "inner space kept");
}

static void test_crlf_and_line_numbers(void)
{
    two_columns();
    int outcome = ph_fixture_feed(&fx, CSV, "u1,1\r\n\r\nu2,\"2,3\"\r\nbad,x\r\n\r\nu5,5\r\n,6\r\nu8,8");
    TAP_EQ_INT(outcome, PH_DONE, "CRLF file: done");
    TAP_EQ_INT(fx.host.nrecords, 4, "CRLF file: 4 records");
    TAP_EQ_INT(fx.host.nerrors, 2, "CRLF file: 2 errors");
    TAP_EQ_INT(record_at(1) ? record_at(1)->line : 0, 3, "CRLF: second record on line 3");
    TAP_OK(ph_item_is_trait(record_at(1), 1, BD_ITEM_ADD, 3), "CRLF: no CR left in the last field");
    TAP_EQ_INT(record_at(2) ? record_at(2)->line : 0, 6, "CRLF: third record on line 6");
    TAP_EQ_INT(record_at(3) ? record_at(3)->line : 0, 8, "CRLF: unterminated last line 8");
    const ph_line_error *e4 = ph_error_on_line(&fx.host, 4), *e7 = ph_error_on_line(&fx.host, 7);
    TAP_OK(e4 && strstr(e4->reason, "segment 'x' in column 2"), "line 4: bad segment (%s)", e4 ? e4->reason : "");
    TAP_OK(e7 && strstr(e7->reason, "empty user ID in column 1"), "line 7: empty ID (%s)", e7 ? e7->reason : "");
    TAP_EQ_INT(fx.run.lines_fed, 6, "CRLF: 6 non-blank lines");
}

static void test_dpids(void)
{
    options("id_column", "1", "segments_column", "2", "dpid_column", "3", NULL);
    int outcome = ph_fixture_feed(&fx, CSV, "u1,1,555\n" GAID ",2,20914\nu3,3, 0777 \n");
    TAP_EQ_INT(outcome, PH_DONE, "dpid_column: done");
    TAP_EQ_INT(fx.host.nerrors, 0, "dpid_column: no errors (%s)", ph_reason_at(&fx.host, 0));
    TAP_EQ_INT(fx.host.nrecords, 3, "dpid_column: 3 records");
    TAP_EQ_INT(record_at(0) ? record_at(0)->flags : 0, BD_RECORD_F_DPID, "record 1 carries its DPID");
    TAP_EQ_INT(record_at(0) ? record_at(0)->dpid : 0, 555, "record 1 DPID 555");
    TAP_EQ_INT(record_at(1) ? record_at(1)->dpid : 0, 20914, "record 2 DPID 20914");
    TAP_EQ_INT(record_at(2) ? record_at(2)->dpid : 0, 777, "record 3 DPID 777 (spaces, leading zero)");

    expect_error_at(CSV, "u1,1,555\nu2,2,abc\n", 2, BD_ERR_FORMAT,
                    "DPID 'abc' in column 3 (dpid_column) is not a DPID number");
    expect_error_at(CSV, "u2,2,\n", 1, BD_ERR_FORMAT, "empty DPID in column 3 (dpid_column)");
    expect_error_at(CSV, "u2,2,-4\n", 1, BD_ERR_FORMAT, "DPID '-4'");
    expect_error_at(CSV, "u2,2,1234567890123456789\n", 1, BD_ERR_FORMAT, "is not a DPID number (at most 18 digits)");
    expect_error_at(CSV, "u1,1,555\nE4FE9BDE-CAA0-47B6-908D-FFBA3FA184F2,2,20914\n", 2, BD_ERR_INVALID_ID,
                    "is not a lowercase GAID (DPID 20914)");
    expect_error_at(CSV, "u1,1\n", 1, BD_ERR_FORMAT, "row has 2 columns, dpid_column is 3");

    options("id_column", "1", "segments_column", "2", "dpid", "20915", NULL);
    const ph_record *r = expect_record(CSV, "6D92078A-8246-4BA4-AE5B-76104861E7DC,1", 1, "fixed dpid");
    TAP_EQ_INT(r ? r->flags : 0, BD_RECORD_F_DPID, "fixed dpid: the record carries it");
    TAP_EQ_INT(r ? r->dpid : 0, 20915, "fixed dpid: 20915");
    expect_error_at(CSV, "u1,1\n", 1, BD_ERR_INVALID_ID, "is not an uppercase IDFA (DPID 20915)");
    options("id_column", "1", "segments_column", "2", "dpid", "478", NULL);
    expect_error_at(CSV, "a:b,1\n", 1, BD_ERR_INVALID_ID, "contains ':'");
    two_columns();
    expect_error_at(CSV, "\"a\tb\",1\n", 1, BD_ERR_INVALID_ID, "contains a control character");
}

static void test_overwrite(void)
{
    options("id_column", "1", "segments_column", "2", "removed_column", "3", NULL);
    int outcome = ph_fixture_feed(&fx, FULL_CSV, "u1,1,2\nu2,,\"3,4\"\nu3,1,\"5,x\"\n");
    TAP_EQ_INT(outcome, PH_DONE, "full file: done");
    TAP_EQ_INT(fx.run.info.mode, BD_MODE_OVERWRITE, "full file: mode overwrite from '_full'");
    TAP_EQ_INT(record_at(0) ? record_at(0)->nitems : 0, 1, "full file: removal dropped");
    TAP_OK(ph_item_is_trait(record_at(0), 0, BD_ITEM_ADD, 1), "full file: ADD 1 kept");
    TAP_EQ_INT(record_at(1) ? record_at(1)->nitems : 99, 0, "full file: only-removal row gives no item");
    TAP_OK(ph_log_contains(&fx.host, "ignored 3 removal(s)"), "full file: dropped removals logged (%s)",
           fx.host.nlogs ? fx.host.logs[0].text : "nothing");
    TAP_EQ_INT(fx.host.nerrors, 1, "full file: a bad removal is still an error (and its row's drops not counted)");
    expect_error_at(FULL_CSV, "u1,1,x\n", 1, BD_ERR_FORMAT, "segment 'x' in column 3 (removed_column)");
    ph_fixture_feed(&fx, CSV, "u1,1,2\n");
    TAP_OK(ph_item_is_trait(record_at(0), 1, BD_ITEM_REMOVE, 2), "sync file: REMOVE 2 kept");
    TAP_EQ_INT(fx.host.nlogs, 0, "sync file: nothing logged");
}

static void test_wide_and_long_rows(void)
{
    size_t n = 5000, cap = n * 8 + 64;
    char *line = xmalloc(cap);
    size_t used = (size_t)snprintf(line, cap, "u1,\"");
    for (size_t i = 1; i <= n; i++)
        used += (size_t)snprintf(line + used, cap - used, "%s%zu", i > 1 ? "," : "", i);
    snprintf(line + used, cap - used, "\"");
    two_columns();
    const ph_record *r = expect_record(CSV, line, n, "5000 segments in one cell");
    TAP_OK(ph_item_is_trait(r, n - 1, BD_ITEM_ADD, (int64_t)n), "last segment 5000");
    used = 0;
    for (size_t i = 1; i <= 300; i++)
        used += (size_t)snprintf(line + used, cap - used, "%sc%zu", i > 1 ? "," : "", i);
    options("id_column", "300", "segments_column", "1", "segment_separator", "c", NULL);
    r = expect_record(CSV, line, 1, "300 columns");
    TAP_EQ_STR(r ? r->user_id : NULL, "c300", "column 300");
    free(line);
}

/* ---------------------------------------------------------------- broken rows */

static void test_broken_rows(void)
{
    two_columns();
    expect_error("u1,\"1,2", "unterminated quote in column 2");
    expect_error("\"u1,1", "unterminated quote in column 1");
    expect_error("u1,\"1\"x", "text after the closing quote in column 2: 'x'");
    expect_error("u1,\"1\" \"2\"", "text after the closing quote in column 2");
    expect_error("u\"1,1", "stray quote in column 1: 'u\"1'");
    expect_error("u1,1\"", "stray quote in column 2");
    expect_error("u1", "row has 1 column, segments_column is 2");
    expect_error(",1", "empty user ID in column 1 (id_column)");
    expect_error("  ,1", "empty user ID in column 1");
    expect_error("\"\",1", "empty user ID in column 1");
    expect_error("u1,abc", "segment 'abc' in column 2 (segments_column) is not a non-negative integer");
    expect_error("u1,\"1,-5\"", "segment '-5' in column 2 (segments_column) is not a non-negative integer");
    expect_error("u1,1.5", "segment '1.5' in column 2");
    expect_error("u1,+5", "segment '+5'");
    expect_error("u1,\"1 2\"", "segment '1 2'");
    expect_error("u1,1234567890123456789", "segment '1234567890123456789' in column 2 (segments_column) has more "
                                           "than 18 digits");
    options("id_column", "4", "segments_column", "1", NULL);
    expect_error("1,b,c", "row has 3 columns, id_column is 4");
    options("id_column", "1", "segments_column", "2", "removed_column", "5", NULL);
    expect_error("u,1,,", "row has 4 columns, removed_column is 5");
    options("id_column", "1", "segments_column", "2", "delimiter", "tab", NULL);
    expect_error("u1,1", "row has 1 column, segments_column is 2");
    two_columns();
    expect_error_at(CSV, "u1,1\nu2,2\nu3,\"3\nu4,4\n", 3, BD_ERR_FORMAT, "unterminated quote in column 2");
    TAP_EQ_INT(fx.host.nrecords, 3, "the rows around a broken one pass");

    char line[300];
    memset(line, 0, sizeof line);
    memcpy(line, "u1,", 3);
    memset(line + 3, '7', 200);
    line[100] = 'x';
    ph_fixture_feed(&fx, CSV, line);
    TAP_OK(ph_reason_has(&fx.host, 0, "...' in column 2"), "a long bad value is cut (%s)", ph_reason_at(&fx.host, 0));
    TAP_OK(strlen(ph_reason_at(&fx.host, 0)) < 200, "... and the reason stays short");
}

/* ---------------------------------------------------------------- header problems */

static void test_header_errors(void)
{
    options("header", "true", "id_column", "user", "segments_column", "segs", NULL);
    int outcome = ph_fixture_feed(&fx, CSV, "id,segs\nu1,1\n");
    TAP_EQ_INT(outcome, PH_ABANDONED, "a header without the named column abandons the file");
    TAP_OK(ph_error_on_line(&fx.host, 1) && ph_reason_has(&fx.host, 0, "header has no column 'user' (id_column)"),
           "line 1 error names the column (%s)", ph_reason_at(&fx.host, 0));
    TAP_EQ_INT(fx.host.nrecords, 0, "... and nothing is emitted");
    TAP_OK(ph_log_contains(&fx.host, "the file cannot be read"), "... and logged");

    options("header", "true", "id_column", "USER", "segments_column", "segs", NULL);
    outcome = ph_fixture_feed(&fx, CSV, "\n\nuser,segs,User\nu1,1\n");
    TAP_EQ_INT(outcome, PH_ABANDONED, "a name given twice abandons the file");
    TAP_OK(ph_error_on_line(&fx.host, 3) && ph_reason_has(&fx.host, 0, "header names column 'USER' (id_column) twice"),
           "... on line 3, the first non-blank line (%s)", ph_reason_at(&fx.host, 0));
    options("header", "true", "id_column", "user", "segments_column", "segs", NULL);
    outcome = ph_fixture_feed(&fx, CSV, "user,segs,user\nu1,1\n");
    TAP_OK(ph_reason_has(&fx.host, 0, "columns 1 and 3"), "exact duplicates too (%s)", ph_reason_at(&fx.host, 0));
    outcome = ph_fixture_feed(&fx, CSV, "\"user,segs\nu1,1\n");
    TAP_EQ_INT(outcome, PH_ABANDONED, "a broken header abandons the file");
    TAP_OK(ph_reason_has(&fx.host, 0, "header: unterminated quote in column 1"), "... saying why (%s)",
           ph_reason_at(&fx.host, 0));
    options("header", "true", "id_column", "user", "segments_column", "user", NULL);
    expect_open_error(CSV, "id_column and segments_column name the same column ('user')", NULL);
    options("header", "true", "id_column", "user", "segments_column", "segs", "removed_column", "3", NULL);
    outcome = ph_fixture_feed(&fx, CSV, "a,user,segs\n");
    TAP_EQ_INT(outcome, PH_ABANDONED, "a name resolving to a numbered column abandons the file");
    TAP_OK(ph_reason_has(&fx.host, 0, "segments_column and removed_column name the same column (3)"), "... (%s)",
           ph_reason_at(&fx.host, 0));
    options("header", "true", "id_column", "user", "segments_column", "segs", NULL);
    outcome = ph_fixture_feed(&fx, CSV, "");
    TAP_EQ_INT(outcome, PH_DONE, "an empty file with header names is just empty");
    options("header", "true", "id_column", "1", "segments_column", "2", NULL);
    outcome = ph_fixture_feed(&fx, CSV, "\"broken,header\nu1,1\n");
    TAP_EQ_INT(fx.host.nrecords, 1, "a broken header is skipped when no name is needed");
    TAP_EQ_INT(fx.host.nerrors, 0, "... without an error");
}

/* ---------------------------------------------------------------- options checked by open() */

typedef struct option_case {
    const char *keys[8];
    const char *values[8];
    const char *part1, *part2;
} option_case;

static const option_case bad_options[] = {
    {{"segments_column"}, {"2"}, "format option id_column is required", NULL},
    {{"id_column"}, {"1"}, "format option segments_column is required", NULL},
    {{"id_column", "segments_column"}, {"0", "2"}, "id_column = \"0\"", "count from 1"},
    {{"id_column", "segments_column"}, {"1", "100001"}, "segments_column = \"100001\"", "up to 100000"},
    {{"id_column", "segments_column"}, {"user", "2"}, "id_column = \"user\"", "needs header = \"true\""},
    {{"id_column", "segments_column"}, {"", "2"}, "id_column = \"\"", "column number"},
    {{"id_column", "segments_column"}, {"2", "2"}, "id_column and segments_column name the same column (2)", NULL},
    {{"id_column", "segments_column", "dpid_column"}, {"1", "2", "1"}, "id_column and dpid_column", NULL},
    {{"id_column", "segments_column", "delimiter"}, {"1", "2", "ab"}, "format option delimiter = \"ab\"",
     "one character"},
    {{"id_column", "segments_column", "delimiter"}, {"1", "2", "\n"}, "format option delimiter = \"?\"",
     "printable ASCII"},
    {{"id_column", "segments_column", "delimiter"}, {"1", "2", "\xC3\xA9"}, "delimiter", "one character"},
    {{"id_column", "segments_column", "delimiter"}, {"1", "2", "\""}, "delimiter = \"\"\"", "quote character"},
    {{"id_column", "segments_column", "quote"}, {"1", "2", ","}, "quote = \",\"", "cannot be the delimiter"},
    {{"id_column", "segments_column", "quote"}, {"1", "2", "''"}, "quote = \"''\"", "one character"},
    {{"id_column", "segments_column", "quote"}, {"1", "2", " "}, "quote = \" \"", "other than a space"},
    {{"id_column", "segments_column", "header"}, {"1", "2", "maybe"}, "header = \"maybe\"", "\"true\" or \"false\""},
    {{"id_column", "segments_column", "segment_separator"}, {"1", "2", "::"}, "segment_separator = \"::\"", NULL},
    {{"id_column", "segments_column", "dpid"}, {"1", "2", "x1"}, "dpid = \"x1\"", "DPID number"},
    {{"id_column", "segments_column", "dpid"}, {"1", "2", "-1"}, "dpid = \"-1\"", "DPID number"},
    {{"id_column", "segments_column", "dpid"}, {"1", "2", "1234567890123456789"}, "dpid", "at most 18 digits"},
    {{"id_column", "segments_column", "dpid", "dpid_column"}, {"1", "2", "5", "3"}, "dpid and dpid_column",
     "not both"},
    {{"id_column", "segments_column", "mode"}, {"1", "2", "full"}, "mode = \"full\"", "\"sync\" or \"overwrite\""},
    {{"id_column", "segments_column", "mode"}, {"1", "2", "overwrite"}, "mode = \"overwrite\"",
     "does not mark a full file"},
};

static void test_bad_options(void)
{
    for (size_t i = 0; i < COUNT_OF(bad_options); i++) {
        const option_case *c = &bad_options[i];
        ph_host_clear_options(&fx.host);
        for (size_t k = 0; k < 8 && c->keys[k]; k++)
            ph_host_set_option(&fx.host, c->keys[k], c->values[k]);
        expect_open_error(CSV, c->part1, c->part2);
    }
    options("id_column", "1", "segments_column", "2", "mode", "sync", NULL);
    expect_open_error(FULL_CSV, "mode = \"sync\"", "marks a full file");
    int outcome = ph_fixture_feed(&fx, CSV, "u1,1\n");
    TAP_EQ_INT(outcome, PH_DONE, "mode = sync on a sync name is fine");
    options("id_column", "1", "segments_column", "2", "mode", "overwrite", NULL);
    outcome = ph_fixture_feed(&fx, "a.overwrite.csv", "u1,1\n");
    TAP_EQ_INT(outcome, PH_DONE, "mode = overwrite on an .overwrite. name is fine");
    options("id_column", "1", "segments_column", "2", "header", "false", "quote", "", NULL);
    outcome = ph_fixture_feed(&fx, CSV, "\"u1,1\n");
    TAP_EQ_INT(fx.host.nrecords, 1, "quote = \"\" turns quoting off");
}

static void test_open_checks_and_stop(void)
{
    bd_file_info info;
    char err[256];
    two_columns();
    ph_host_clear(&fx.host);
    ph_parse_name(delim, CSV, &info, err, sizeof err);
    info.kind = BD_FILE_IDSYNC;
    TAP_EQ_INT(ph_try_open(delim, &fx.host.api, &fx.host, &info, err, sizeof err), -1, "open refuses ID-sync");
    info.kind = BD_FILE_TRAITS;
    bd_host_api broken = fx.host.api;
    broken.emit_record = NULL;
    TAP_EQ_INT(ph_try_open(delim, &broken, &fx.host, &info, err, sizeof err), -1, "open refuses no emit_record");
    TAP_OK(strstr(err, "host API") != NULL, "... saying why (%s)", err);
    broken = fx.host.api;
    broken.option = NULL;
    TAP_EQ_INT(ph_try_open(delim, &broken, &fx.host, &info, err, sizeof err), -1,
               "no option callback: the required columns are missing");
    delim->close(NULL);
    TAP_OK(1, "close(NULL) is harmless");

    fx.host.emit_budget = 1;
    int outcome = ph_fixture_feed(&fx, CSV, "u1,1\nu2,2\nu3,3\n");
    fx.host.emit_budget = -1;
    TAP_EQ_INT(outcome, PH_ABANDONED, "emit_record -1 makes line() return -1");
    TAP_EQ_INT(fx.host.nrecords, 1, "one record accepted before the stop");
    TAP_EQ_INT(fx.run.last_line, 2, "the file stopped at line 2");
}

int main(void)
{
    if (ph_fixture_open(&fx, "delimited.so") < 0) {
        printf("not ok 1 - load delimited.so: %s\n1..1\n", fx.plugin.error);
        return 1;
    }
    TAP_OK(1, "delimited.so loads and passes the ABI checks");
    delim = fx.plugin.desc;

    test_descriptor();
    test_names();
    test_csv_with_header();
    test_tsv_with_numbers();
    test_quoting();
    test_crlf_and_line_numbers();
    test_dpids();
    test_overwrite();
    test_wide_and_long_rows();
    test_broken_rows();
    test_header_errors();
    test_bad_options();
    test_open_checks_and_stop();

    TAP_EQ_INT(fx.violations, 0, "no plugin.h contract violation in any run");
    ph_fixture_close(&fx);
    return tap_done();
}
