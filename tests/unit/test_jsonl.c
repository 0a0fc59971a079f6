/* test_jsonl.c: TAP tests of the jsonl plugin: names, options, objects, field paths, DPIDs, JSON and type errors. */
#include "plugin_harness.h"
#include "tap.h"
#include "plugin_checks.h"
#include "test_util.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define NAME "partner_20240501.jsonl"
#define FULL_NAME "partner_full_20240501.jsonl.gz"
#define GAID "e4fe9bde-caa0-47b6-908d-ffba3fa184f2"

static const bd_plugin *jsonl;
static ph_fixture fx;

static const ph_record *record_at(size_t i)
{
    return pc_record_at(&fx, i);
}

/* Start over with options given as key, value, ..., NULL (none: the defaults). */
static void options(const char *key, ...)
{
    va_list ap;
    ph_host_clear_options(&fx.host);
    va_start(ap, key);
    for (const char *k = key; k; k = va_arg(ap, const char *))
        ph_host_set_option(&fx.host, k, va_arg(ap, const char *));
    va_end(ap);
}

/* A file whose only bad line is `line`: one error there, of `kind`, whose reason contains `part`. */
static void expect_error_at(const char *text, uint64_t line, int kind, const char *part)
{
    int outcome = ph_fixture_feed(&fx, NAME, text);
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
    expect_error_at(text, 1, BD_ERR_FORMAT, part);
}

static const ph_record *expect_record(const char *name, const char *text, size_t nitems, const char *what)
{
    return pc_expect_record(&fx, name, text, nitems, what);
}

static void expect_open_error(const char *name, const char *part1, const char *part2)
{
    pc_expect_open_error(&fx, name, "{\"id\":\"u1\",\"segments\":[1]}\n", part1, part2);
}

/* ---------------------------------------------------------------- descriptor and names */

static void test_descriptor(void)
{
    static const char *const mine[] = {"a.jsonl",  "a.jsonl.gz", "a.jsonl.zst", "a.ndjson", "a.ndjson.gz",
                                       "a.ndjson.zst", "a.json", "a.json.gz", "a.json.zst"};
    static const char *const others[] = {"a.csv", "ftp_dpm_478_1366545717.sync", "a.json.bz2", "a.jsonx"};
    pc_check_descriptor(jsonl, "jsonl", mine, COUNT_OF(mine), others, COUNT_OF(others));
}

static void test_names(void)
{
    static const struct {
        const char *name;
        int mode;
    } names[] = {
        {NAME, BD_MODE_SYNC},
        {"a.overwrite.jsonl", BD_MODE_OVERWRITE},
        {FULL_NAME, BD_MODE_OVERWRITE},
        {"acme_full.ndjson", BD_MODE_OVERWRITE},
        {"acme_fulfilment.json", BD_MODE_SYNC},
        {"dump.txt", BD_MODE_SYNC},
    };
    for (size_t i = 0; i < COUNT_OF(names); i++) {
        bd_file_info info;
        char err[512];
        int rc = ph_parse_name(jsonl, names[i].name, &info, err, sizeof err);
        TAP_EQ_INT(rc, 0, "%s: accepted (%s)", names[i].name, err);
        TAP_EQ_INT(info.kind, BD_FILE_TRAITS, "%s: kind TRAITS", names[i].name);
        TAP_EQ_INT(info.mode, names[i].mode, "%s: mode", names[i].name);
        TAP_EQ_INT(info.dpid, BD_NO_VALUE, "%s: no DPID", names[i].name);
        TAP_EQ_INT(info.flags, 0, "%s: no flags", names[i].name);
    }
    ph_refusal r;
    ph_refuse_name(jsonl, "", &r);
    TAP_EQ_INT(r.rc, -1, "an empty name is refused");
}

/* ---------------------------------------------------------------- valid objects */

static void test_valid_objects(void)
{
    options(NULL);
    int outcome = ph_fixture_feed(&fx, NAME,
                                  "{\"id\": \"u1\", \"segments\": [1, 2, \"3\"]}\r\n"
                                  "\r\n"
                                  "  {\"segments\":[],\"id\":12345,\"other\":{\"x\":[1,{}]}}  \n"
                                  "{\"id\":\"u3\",\"segments\":[7],\"removed\":[8,\"9\"]}\n"
                                  "{\"id\":\"u4\",\"removed\":[10]}\n"
                                  "{\"id\":\"u5\",\"segments\":[11],\"removed\":null}\n"
                                  "{\"id\":\"\\u00e9t\\u00e9\",\"segments\":[999999999999999999,0]}");
    TAP_EQ_INT(outcome, PH_DONE, "objects: done");
    TAP_EQ_INT(fx.host.nerrors, 0, "objects: no errors (%s)", ph_reason_at(&fx.host, 0));
    TAP_EQ_INT(fx.host.nrecords, 6, "objects: 6 records");
    const ph_record *r = record_at(0);
    TAP_EQ_STR(r ? r->user_id : NULL, "u1", "u1");
    TAP_OK(ph_item_is_trait(r, 0, BD_ITEM_ADD, 1) && ph_item_is_trait(r, 2, BD_ITEM_ADD, 3),
           "integers and numeric strings are segments");
    TAP_EQ_INT(r ? r->flags : 99, 0, "no DPID option: the host decides the namespace");
    r = record_at(1);
    TAP_EQ_STR(r ? r->user_id : NULL, "12345", "an integer ID as text");
    TAP_EQ_INT(r ? r->line : 0, 3, "line 3 (after a blank line)");
    TAP_EQ_INT(r ? r->nitems : 99, 0, "an empty array gives no items");
    r = record_at(2);
    TAP_EQ_INT(r ? r->nitems : 0, 3, "segments and removals");
    TAP_OK(ph_item_is_trait(r, 1, BD_ITEM_REMOVE, 8) && ph_item_is_trait(r, 2, BD_ITEM_REMOVE, 9), "REMOVE 8, 9");
    r = record_at(3);
    TAP_OK(r && r->nitems == 1 && ph_item_is_trait(r, 0, BD_ITEM_REMOVE, 10), "removals only: no segments needed");
    TAP_EQ_INT(record_at(4) ? record_at(4)->nitems : 0, 1, "removed: null is no removal");
    r = record_at(5);
    TAP_EQ_STR(r ? r->user_id : NULL, "\xC3\xA9t\xC3\xA9", "\\u escapes decoded to UTF-8");
    TAP_OK(ph_item_is_trait(r, 0, BD_ITEM_ADD, 999999999999999999LL) && ph_item_is_trait(r, 1, BD_ITEM_ADD, 0),
           "18-digit and zero segments");
    TAP_EQ_INT(r ? r->line : 0, 7, "last, unterminated line 7");
    r = expect_record(NAME, "\xEF\xBB\xBF{\"id\":\"u1\",\"segments\":[1]}", 1, "a UTF-8 BOM before the first object");
    TAP_EQ_STR(r ? r->user_id : NULL, "u1", "... is skipped");
    expect_error_at("{\"id\":\"u1\",\"segments\":[1]}\n\xEF\xBB\xBF{\"id\":\"u2\",\"segments\":[1]}", 2, BD_ERR_FORMAT,
                    "invalid JSON at column 1");
}

static void test_field_paths(void)
{
    options("id_field", "user.id", "segments_field", "data.segs", "removed_field", "data.gone", NULL);
    const ph_record *r = expect_record(NAME, "{\"user\":{\"id\":\"u1\"},\"data\":{\"segs\":[5],\"gone\":[6]}}", 2,
                                       "dotted paths");
    TAP_EQ_STR(r ? r->user_id : NULL, "u1", "user.id");
    TAP_OK(ph_item_is_trait(r, 0, BD_ITEM_ADD, 5) && ph_item_is_trait(r, 1, BD_ITEM_REMOVE, 6), "data.segs, data.gone");
    r = expect_record(NAME, "{\"user.id\":\"literal\",\"data\":{\"segs\":[1]}}", 1, "a key holding the dots");
    TAP_EQ_STR(r ? r->user_id : NULL, "literal", "the whole path as one key comes first");
    expect_error("{\"user\":\"u1\",\"data\":{\"segs\":[1]}}", "missing field 'user.id'");
    expect_error("{\"user\":{\"id\":\"u1\"},\"data\":[1]}", "missing field 'data.segs'");
    options("id_field", "uid", "segments_field", "s", NULL);
    r = expect_record(NAME, "{\"uid\":\"x\",\"s\":[\"42\"],\"id\":\"not me\"}", 1, "renamed fields");
    TAP_EQ_STR(r ? r->user_id : NULL, "x", "id_field = uid");
}

static void test_dpids(void)
{
    options("dpid_field", "ns", NULL);
    int outcome = ph_fixture_feed(&fx, NAME,
                                  "{\"id\":\"u1\",\"segments\":[1],\"ns\":555}\n"
                                  "{\"id\":\"" GAID "\",\"segments\":[1],\"ns\":\"20914\"}\n");
    TAP_EQ_INT(outcome, PH_DONE, "dpid_field: done");
    TAP_EQ_INT(fx.host.nerrors, 0, "dpid_field: no errors (%s)", ph_reason_at(&fx.host, 0));
    TAP_EQ_INT(record_at(0) ? record_at(0)->flags : 0, BD_RECORD_F_DPID, "record 1 carries its DPID");
    TAP_EQ_INT(record_at(0) ? record_at(0)->dpid : 0, 555, "record 1 DPID 555");
    TAP_EQ_INT(record_at(1) ? record_at(1)->dpid : 0, 20914, "record 2 DPID 20914 (from a string)");
    expect_error_at("{\"id\":\"u1\",\"segments\":[1],\"ns\":1}\n{\"id\":\"u2\",\"segments\":[1]}\n", 2, BD_ERR_FORMAT,
                    "missing field 'ns' (dpid_field)");
    expect_error("{\"id\":\"u1\",\"segments\":[1],\"ns\":-1}", "field 'ns' is -1, expected a DPID number");
    expect_error("{\"id\":\"u1\",\"segments\":[1],\"ns\":\"x\"}", "field 'ns' is \"x\", expected a DPID number");
    expect_error("{\"id\":\"u1\",\"segments\":[1],\"ns\":2.5}", "field 'ns' is 2.5");
    expect_error_at("{\"id\":\"" GAID "\",\"segments\":[1],\"ns\":20915}", 1, BD_ERR_INVALID_ID,
                    "is not an uppercase IDFA (DPID 20915)");

    options("dpid", "478", NULL);
    const ph_record *r = expect_record(NAME, "{\"id\":\"u1\",\"segments\":[1]}", 1, "fixed dpid");
    TAP_EQ_INT(r ? r->flags : 0, BD_RECORD_F_DPID, "fixed dpid: carried by the record");
    TAP_EQ_INT(r ? r->dpid : 0, 478, "fixed dpid: 478");
    expect_error_at("{\"id\":\"a%3Ab\",\"segments\":[1]}", 1, BD_ERR_INVALID_ID, "contains '%3A'");
    options(NULL);
    expect_error_at("{\"id\":\"a\\nb\",\"segments\":[1]}", 1, BD_ERR_INVALID_ID,
                    "user ID 'a?b' contains a control character");
}

static void test_overwrite(void)
{
    options(NULL);
    int outcome = ph_fixture_feed(&fx, FULL_NAME,
                                  "{\"id\":\"u1\",\"segments\":[1],\"removed\":[2,3]}\n"
                                  "{\"id\":\"u2\",\"segments\":[1],\"removed\":[4,\"x\"]}\n");
    TAP_EQ_INT(outcome, PH_DONE, "full file: done");
    TAP_EQ_INT(record_at(0) ? record_at(0)->nitems : 0, 1, "full file: removals dropped");
    TAP_OK(ph_log_contains(&fx.host, "ignored 2 removal(s) (field 'removed')"), "full file: drop logged");
    expect_error_at("{\"id\":\"u1\",\"segments\":[1],\"removed\":[\"x\"]}", 1, BD_ERR_FORMAT, "field 'removed'[0]");
}

/* ---------------------------------------------------------------- broken lines */

static void test_bad_json(void)
{
    options(NULL);
    expect_error("{\"id\":\"u1\",", "invalid JSON at column");
    expect_error("{\"id\":\"u1\",\"segments\":[1]} x", "end of file expected");
    expect_error("{'id':'u1'}", "invalid JSON at column 2");
    expect_error("{\"id\":\"u1\",\"segments\":[1,]}", "invalid JSON");
    expect_error("{\"id\":\"u1\",\"id\":\"u2\",\"segments\":[1]}", "duplicate object key");
    expect_error("{\"id\":\"u1\\u0000\",\"segments\":[1]}", "\\u0000 is not allowed");
    expect_error("{\"id\":\"u1\",\"segments\":[123456789012345678901234567890]}", "too big integer");
    expect_error("[1,2]", "the line is an array, expected one JSON object per line");
    expect_error("\"u1\"", "invalid JSON");
    expect_error("{\"id\":\"a\tb\",\"segments\":[1]}", "control character");
    TAP_OK(strchr(ph_reason_at(&fx.host, 0), '\t') == NULL, "a raw TAB from jansson's message is shown as '?'");
    expect_error_at("{\"id\":\"u1\",\"segments\":[1]}\n{\"id\":\"u2\",\"segments\":[2]}\n{\"id\":\n"
                    "{\"id\":\"u4\",\"segments\":[4]}\n",
                    3, BD_ERR_FORMAT, "invalid JSON at column");
    TAP_EQ_INT(fx.host.nrecords, 3, "the lines around bad JSON pass");
}

static void test_missing_and_wrong_fields(void)
{
    options(NULL);
    expect_error("{\"segments\":[1]}", "missing field 'id'");
    expect_error("{\"id\":\"u1\"}", "missing field 'segments'");
    expect_error("{\"id\":\"u1\",\"removed\":null}", "missing field 'segments'");
    expect_error("{\"id\":\"\",\"segments\":[1]}", "field 'id' is an empty string");
    expect_error("{\"id\":true,\"segments\":[1]}", "field 'id' is a boolean, expected a string or a non-negative integer");
    expect_error("{\"id\":null,\"segments\":[1]}", "field 'id' is null");
    expect_error("{\"id\":[\"u1\"],\"segments\":[1]}", "field 'id' is an array");
    expect_error("{\"id\":{},\"segments\":[1]}", "field 'id' is an object");
    expect_error("{\"id\":-3,\"segments\":[1]}", "field 'id' is -3");
    expect_error("{\"id\":1.5,\"segments\":[1]}", "field 'id' is 1.5");
    expect_error("{\"id\":\"u1\",\"segments\":5}", "field 'segments' is an integer, expected an array of non-negative "
                                                   "integers");
    expect_error("{\"id\":\"u1\",\"segments\":\"1,2\"}", "field 'segments' is a string, expected an array");
    expect_error("{\"id\":\"u1\",\"segments\":null}", "field 'segments' is null, expected an array");
    expect_error("{\"id\":\"u1\",\"segments\":{\"a\":1}}", "field 'segments' is an object");
    expect_error("{\"id\":\"u1\",\"segments\":[1,-5]}", "field 'segments'[1] is -5, not a non-negative integer");
    expect_error("{\"id\":\"u1\",\"segments\":[1.0]}", "field 'segments'[0] is 1.0, not a non-negative integer");
    expect_error("{\"id\":\"u1\",\"segments\":[2.5e3]}", "field 'segments'[0] is 2500.0, not");
    expect_error("{\"id\":\"u1\",\"segments\":[\"abc\"]}", "field 'segments'[0] is \"abc\", not a non-negative integer "
                                                          "(of at most 18 digits)");
    expect_error("{\"id\":\"u1\",\"segments\":[\" 5\"]}", "field 'segments'[0] is \" 5\"");
    expect_error("{\"id\":\"u1\",\"segments\":[\"1234567890123456789\"]}", "is \"1234567890123456789\"");
    expect_error("{\"id\":\"u1\",\"segments\":[null]}", "field 'segments'[0] is null");
    expect_error("{\"id\":\"u1\",\"segments\":[[1]]}", "field 'segments'[0] is an array");
    expect_error("{\"id\":\"u1\",\"segments\":[true]}", "field 'segments'[0] is a boolean");
    expect_error("{\"id\":\"u1\",\"segments\":[1],\"removed\":7}", "field 'removed' is an integer, expected an array");
}

static void test_many_segments(void)
{
    size_t n = 5000, cap = n * 8 + 64;
    char *line = xmalloc(cap);
    size_t used = (size_t)snprintf(line, cap, "{\"id\":\"u1\",\"segments\":[");
    for (size_t i = 1; i <= n; i++)
        used += (size_t)snprintf(line + used, cap - used, "%s%zu", i > 1 ? "," : "", i);
    snprintf(line + used, cap - used, "]}");
    options(NULL);
    const ph_record *r = expect_record(NAME, line, n, "5000 segments");
    TAP_OK(ph_item_is_trait(r, n - 1, BD_ITEM_ADD, (int64_t)n), "last segment 5000");
    free(line);
}

/* ---------------------------------------------------------------- options checked by open() */

static void test_bad_options(void)
{
    options("id_field", "", NULL);
    expect_open_error(NAME, "format option id_field = \"\"", "dotted path");
    options("segments_field", "a..b", NULL);
    expect_open_error(NAME, "segments_field = \"a..b\"", "empty part");
    options("removed_field", ".x", NULL);
    expect_open_error(NAME, "removed_field = \".x\"", "empty part");
    options("dpid_field", "x.", NULL);
    expect_open_error(NAME, "dpid_field = \"x.\"", "empty part");
    options("dpid", "abc", NULL);
    expect_open_error(NAME, "dpid = \"abc\"", "DPID number");
    options("dpid", "1234567890123456789", NULL);
    expect_open_error(NAME, "dpid = \"1234567890123456789\"", "at most 18 digits");
    options("dpid", "5", "dpid_field", "ns", NULL);
    expect_open_error(NAME, "dpid and dpid_field are exclusive", NULL);
    options("segments_field", "id", NULL);
    expect_open_error(NAME, "id_field and segments_field name the same field 'id'", NULL);
    options("dpid_field", "removed", NULL);
    expect_open_error(NAME, "removed_field and dpid_field name the same field", NULL);
    options("mode", "full", NULL);
    expect_open_error(NAME, "mode = \"full\"", "\"sync\" or \"overwrite\"");
    options("mode", "overwrite", NULL);
    expect_open_error(NAME, "mode = \"overwrite\"", "does not mark a full file");
    options("mode", "sync", NULL);
    expect_open_error(FULL_NAME, "mode = \"sync\"", "marks a full file");
    int outcome = ph_fixture_feed(&fx, NAME, "{\"id\":\"u1\",\"segments\":[1]}");
    TAP_EQ_INT(outcome, PH_DONE, "mode = sync on a sync name is fine");
    options("mode", "overwrite", NULL);
    outcome = ph_fixture_feed(&fx, FULL_NAME, "{\"id\":\"u1\",\"segments\":[1]}");
    TAP_EQ_INT(outcome, PH_DONE, "mode = overwrite on a _full name is fine");
}

static void test_open_checks_and_stop(void)
{
    bd_file_info info;
    char err[256];
    options(NULL);
    ph_host_clear(&fx.host);
    ph_parse_name(jsonl, NAME, &info, err, sizeof err);
    info.kind = BD_FILE_IDSYNC;
    TAP_EQ_INT(ph_try_open(jsonl, &fx.host.api, &fx.host, &info, err, sizeof err), -1, "open refuses ID-sync");
    info.kind = BD_FILE_TRAITS;
    bd_host_api broken = fx.host.api;
    broken.abi_major = BD_PLUGIN_ABI_MAJOR + 1;
    TAP_EQ_INT(ph_try_open(jsonl, &broken, &fx.host, &info, err, sizeof err), -1, "open refuses another ABI major");
    TAP_OK(strstr(err, "host API") != NULL, "... saying why (%s)", err);
    broken = fx.host.api;
    broken.option = NULL;
    TAP_EQ_INT(ph_try_open(jsonl, &broken, &fx.host, &info, err, sizeof err), 0,
               "no option callback: the defaults apply");
    jsonl->close(NULL);
    TAP_OK(1, "close(NULL) is harmless");

    fx.host.emit_budget = 1;
    int outcome = ph_fixture_feed(&fx, NAME,
                                  "{\"id\":\"u1\",\"segments\":[1]}\n{\"id\":\"u2\",\"segments\":[2]}\n"
                                  "{\"id\":\"u3\",\"segments\":[3]}\n");
    fx.host.emit_budget = -1;
    TAP_EQ_INT(outcome, PH_ABANDONED, "emit_record -1 makes line() return -1");
    TAP_EQ_INT(fx.host.nrecords, 1, "one record accepted before the stop");
    TAP_EQ_INT(fx.run.last_line, 2, "the file stopped at line 2");
}

int main(void)
{
    if (ph_fixture_open(&fx, "jsonl.so") < 0) {
        printf("not ok 1 - load jsonl.so: %s\n1..1\n", fx.plugin.error);
        return 1;
    }
    TAP_OK(1, "jsonl.so loads and passes the ABI checks");
    jsonl = fx.plugin.desc;

    test_descriptor();
    test_names();
    test_valid_objects();
    test_field_paths();
    test_dpids();
    test_overwrite();
    test_bad_json();
    test_missing_and_wrong_fields();
    test_many_segments();
    test_bad_options();
    test_open_checks_and_stop();

    TAP_EQ_INT(fx.violations, 0, "no plugin.h contract violation in any run");
    ph_fixture_close(&fx);
    return tap_done();
}
