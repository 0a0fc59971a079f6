/* test_aam.c: TAP tests of the aam plugin: file names (§1.4), rows (§3, §10, §11), ID checks (§1.3), spec samples. */
#include "plugin_harness.h"
#include "tap.h"
#include "test_util.h"
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#define SYNC_NAME "ftp_dpm_1234_1445374061.sync"
#define OVERWRITE_NAME "ftp_dpm_1234_1445374061.overwrite"
#define UUID_NAME "ftp_dpm_0_1445374061.sync"
#define ODC_NAME "ftp_dpm_odc_12345_1556223815.sync"
#define AAM_UUID "59767559181262060060278870901087098252"
#define GAID "e4fe9bde-caa0-47b6-908d-ffba3fa184f2"
#define IDFA "6D92078A-8246-4BA4-AE5B-76104861E7DC"

static const bd_plugin *aam;
static ph_fixture fx;

static const ph_record *record_at(size_t i)
{
    return i < fx.host.nrecords ? &fx.host.records[i] : NULL;
}

/* One line that must give one error of `kind` whose reason contains `part`. */
static void expect_error(const char *name, const char *line, int kind, const char *part)
{
    int outcome = ph_fixture_feed(&fx, name, line);
    TAP_EQ_INT(outcome, PH_DONE, "[%s] file still completes", part);
    TAP_EQ_INT(fx.host.nrecords, 0, "[%s] no record emitted", part);
    TAP_EQ_INT(fx.host.nerrors, 1, "[%s] one line error", part);
    TAP_EQ_INT(fx.host.nerrors ? fx.host.errors[0].kind : 0, kind, "[%s] error kind", part);
    TAP_OK(ph_reason_has(&fx.host, 0, part), "[%s] reason: %s", part, ph_reason_at(&fx.host, 0));
}

/* One line that must give one record with n items and no error. */
static const ph_record *expect_record(const char *name, const char *line, size_t nitems, const char *what)
{
    ph_fixture_feed(&fx, name, line);
    TAP_EQ_INT(fx.host.nerrors, 0, "%s: no line error (%s)", what, ph_reason_at(&fx.host, 0));
    TAP_EQ_INT(fx.host.nrecords, 1, "%s: one record", what);
    TAP_EQ_INT(fx.host.nrecords ? fx.host.records[0].nitems : 99, nitems, "%s: %zu items", what, nitems);
    return record_at(0);
}

/* Each case in turn: expect_error(), or for PH_PASSES expect_record() with one item. */
static void expect_lines(const ph_line_case *cases, size_t ncases)
{
    for (size_t i = 0; i < ncases; i++) {
        const ph_line_case *c = &cases[i];
        if (c->kind == PH_PASSES)
            expect_record(c->name, c->line, 1, c->expect);
        else
            expect_error(c->name, c->line, c->kind, c->expect);
    }
}

/* ---------------------------------------------------------------- descriptor */

static void test_descriptor(void)
{
    TAP_EQ_STR(aam->name, "aam", "descriptor name");
    TAP_EQ_INT(aam->abi_major, BD_PLUGIN_ABI_MAJOR, "ABI major");
    TAP_EQ_INT(aam->abi_minor, BD_PLUGIN_ABI_MINOR, "ABI minor");
    TAP_EQ_INT(aam->struct_size, sizeof(bd_plugin), "descriptor struct_size");
    TAP_EQ_STR(aam->patterns[0], "ftp_dpm_*", "pattern ftp_dpm_*");
    TAP_OK(aam->patterns[1] == NULL, "one pattern only");
    TAP_OK(aam->version && *aam->version && aam->description && *aam->description, "version and description set");
    TAP_OK(fnmatch(aam->patterns[0], "adobe_id_0_12345_1476312152.sync", 0) != 0, "does not claim ID-sync files");
}

/* ---------------------------------------------------------------- file names */

typedef struct valid_name {
    const char *name;
    int64_t dpid, target, timestamp;
    int mode, split, flags;
} valid_name;

#define NONE BD_NO_VALUE
static const valid_name valid_names[] = {
    /* spec §1.4, documented vectors */
    {"ftp_dpm_478_1366545717.sync.1.gz", 478, NONE, 1366545717, BD_MODE_SYNC, 1, 0},
    {"ftp_dpm_478_1366545717.sync.2.gz", 478, NONE, 1366545717, BD_MODE_SYNC, 2, 0},
    {"ftp_dpm_478_1366545717.overwrite", 478, NONE, 1366545717, BD_MODE_OVERWRITE, NONE, 0},
    {"ftp_dpm_478_1366545717.sync", 478, NONE, 1366545717, BD_MODE_SYNC, NONE, 0},
    {"ftp_dpm_478_567_1366545717.sync.gz", 478, 567, 1366545717, BD_MODE_SYNC, NONE, 0},
    {"ftp_dpm_1234_1445374061.overwrite", 1234, NONE, 1445374061, BD_MODE_OVERWRITE, NONE, 0},
    {"ftp_dpm_7_901_1368806402.sync", 7, 901, 1368806402, BD_MODE_SYNC, NONE, 0},
    {"ftp_dpm_20914_21_1234567890.sync", 20914, 21, 1234567890, BD_MODE_SYNC, NONE, 0},
    {"ftp_dpm_20915_21_1234567890.sync", 20915, 21, 1234567890, BD_MODE_SYNC, NONE, 0},
    {"ftp_dpm_121963_21_1234567890.sync", 121963, 21, 1234567890, BD_MODE_SYNC, NONE, 0},
    {"ftp_dpm_33_21_1234567890.sync", 33, 21, 1234567890, BD_MODE_SYNC, NONE, 0},
    {"ftp_dpm_odc_12345_1556223815.sync", 12345, NONE, 1556223815, BD_MODE_SYNC, NONE, BD_FILE_F_ODC},
    /* the other global device DPIDs, with their target */
    {"ftp_dpm_389146_21_1234567890.sync", 389146, 21, 1234567890, BD_MODE_SYNC, NONE, 0},
    {"ftp_dpm_963906_21_1234567890.sync", 963906, 21, 1234567890, BD_MODE_SYNC, NONE, 0},
    {"ftp_dpm_488258_21_1234567890.sync", 488258, 21, 1234567890, BD_MODE_SYNC, NONE, 0},
    {"ftp_dpm_1171485_21_1234567890.sync", 1171485, 21, 1234567890, BD_MODE_SYNC, NONE, 0},
    {"ftp_dpm_1171489_21_1234567890.sync", 1171489, 21, 1234567890, BD_MODE_SYNC, NONE, 0},
    /* our extensions and edges: zstd, 9-digit timestamps, DPID 0, 18-digit DPIDs, ODC with everything */
    {"ftp_dpm_478_1366545717.sync.zst", 478, NONE, 1366545717, BD_MODE_SYNC, NONE, 0},
    {"ftp_dpm_478_1366545717.overwrite.3.zst", 478, NONE, 1366545717, BD_MODE_OVERWRITE, 3, 0},
    {"ftp_dpm_100_123456789.sync", 100, NONE, 123456789, BD_MODE_SYNC, NONE, 0},
    {"ftp_dpm_0_1445374061.sync", 0, NONE, 1445374061, BD_MODE_SYNC, NONE, 0},
    {"ftp_dpm_123456789012345678_1445374061.sync", 123456789012345678LL, NONE, 1445374061, BD_MODE_SYNC, NONE, 0},
    {"ftp_dpm_999999_123_1560431657.sync.gz", 999999, 123, 1560431657, BD_MODE_SYNC, NONE, 0},
    {"ftp_dpm_odc_20915_21_1556223815.overwrite.7.gz", 20915, 21, 1556223815, BD_MODE_OVERWRITE, 7, BD_FILE_F_ODC},
    {"ftp_dpm_478_1366545717.sync.123456789", 478, NONE, 1366545717, BD_MODE_SYNC, 123456789, 0},
};

static void test_valid_names(void)
{
    for (size_t i = 0; i < COUNT_OF(valid_names); i++) {
        const valid_name *v = &valid_names[i];
        bd_file_info info;
        char err[512];
        int rc = ph_parse_name(aam, v->name, &info, err, sizeof err);
        TAP_EQ_INT(rc, 0, "%s: accepted (%s)", v->name, err);
        TAP_OK(fnmatch(aam->patterns[0], v->name, 0) == 0, "%s: claimed by the pattern", v->name);
        TAP_EQ_INT(info.kind, BD_FILE_TRAITS, "%s: kind TRAITS", v->name);
        TAP_EQ_INT(info.mode, v->mode, "%s: mode", v->name);
        TAP_EQ_INT(info.split, v->split, "%s: split", v->name);
        TAP_EQ_INT(info.dpid, v->dpid, "%s: dpid", v->name);
        TAP_EQ_INT(info.target, v->target, "%s: target", v->name);
        TAP_EQ_INT(info.timestamp, v->timestamp, "%s: timestamp", v->name);
        TAP_EQ_INT(info.flags, v->flags, "%s: flags", v->name);
        TAP_EQ_INT(info.ndpids, 0, "%s: no ID-sync DPIDs", v->name);
        TAP_EQ_INT(info.struct_size, sizeof info, "%s: struct_size kept", v->name);
    }
}

static const ph_invalid_name invalid_names[] = {
    /* spec §1.4 negative vectors */
    {"ftp_dpm_478_1366545717.sync.zip", "'.zip' archives are not supported"},
    {"ftp_dpm_478_1366545717.sync.gz.pgp", "both compressed and PGP-encrypted"},
    {"ftp_dpm_20914_1366545717.sync", "DPID 20914 is a global device data source and needs a target data owner"},
    {"ftp_dpm_478_1366545717.txt", "missing mode: expected '.sync' or '.overwrite' after the timestamp, found '.txt'"},
    /* spec §1.4 vectors valid for AAM but refused by batchdrop: encrypted */
    {"ftp_dpm_100_123456789.sync.pgp", "encrypted files ('.pgp'/'.gpg') are not supported by batchdrop"},
    {"ftp_dpm_100_123456789.overwrite.gpg", "encrypted files ('.pgp'/'.gpg') are not supported by batchdrop"},
    /* spec §1.4 template: TIMESTAMP is a placeholder */
    {"ftp_dpm_999999_123_TIMESTAMP.sync.gz", "timestamp 'TIMESTAMP' is not a number"},
    /* spec §13.3: the legacy global-DPID-without-target form */
    {"ftp_dpm_20914_123456789.sync", "needs a target data owner"},
    {"ftp_dpm_20915_1366545717.sync", "DPID 20915 is a global device data source"},
    {"ftp_dpm_121963_1366545717.sync", "DPID 121963 is a global device data source"},
    {"ftp_dpm_389146_1366545717.sync", "DPID 389146 is a global device data source"},
    {"ftp_dpm_963906_1366545717.sync", "DPID 963906 is a global device data source"},
    {"ftp_dpm_488258_1366545717.sync", "DPID 488258 is a global device data source"},
    {"ftp_dpm_1171485_1366545717.sync", "DPID 1171485 is a global device data source"},
    {"ftp_dpm_1171489_1366545717.sync", "DPID 1171489 is a global device data source"},
    {"ftp_dpm_odc_20914_1556223815.sync", "DPID 20914 is a global device data source"},
    /* non-numeric, empty, too many, too long */
    {"ftp_dpm_abc_1366545717.sync", "DPID 'abc' is not a number"},
    {"ftp_dpm_478_x67_1366545717.sync", "target 'x67' is not a number"},
    {"ftp_dpm_478_13665457l7.sync", "timestamp '13665457l7' is not a number"},
    {"ftp_dpm_1_2_3_1366545717.sync", "too many '_'-separated fields (4)"},
    {"ftp_dpm_478__1366545717.sync", "empty target field"},
    {"ftp_dpm__1366545717.sync", "empty DPID field"},
    {"ftp_dpm_478_.sync", "empty timestamp field"},
    {"ftp_dpm_1234567890123456789_1366545717.sync", "DPID '1234567890123456789' has more than 18 digits"},
    {"ftp_dpm_478_1234567890123456789_1366545717.sync", "target '1234567890123456789' has more than 18 digits"},
    {"ftp_dpm_478_12345678.sync", "timestamp '12345678' must have 10 digits (9 are accepted)"},
    {"ftp_dpm_478_13665457170.sync", "timestamp '13665457170' has more than 10 digits"},
    {"ftp_dpm_478.sync", "expected DPID[_TARGET]_TIMESTAMP"},
    /* suffixes */
    {"ftp_dpm_478_1366545717", "missing mode"},
    {"ftp_dpm_478_1366545717.SYNC", "found '.SYNC'"},
    {"ftp_dpm_478_1366545717.sync.1.gz.x", "unexpected suffix '.x'"},
    {"ftp_dpm_478_1366545717.sync.gz.1", "unexpected suffix '.1'"},
    {"ftp_dpm_478_1366545717.sync.bz2", "unexpected suffix '.bz2'"},
    {"ftp_dpm_478_1366545717.sync..gz", "empty '.' suffix"},
    {"ftp_dpm_478_1366545717.sync.", "empty '.' suffix"},
    {"ftp_dpm_478_1366545717.sync.1234567890", "split number '1234567890' has more than 9 digits"},
    {"ftp_dpm_478_1366545717.sync.1.gpg", "encrypted files"},
    {"ftp_dpm_478_1366545717.sync.zst.pgp", "both compressed and PGP-encrypted"},
    /* other families */
    {"adobe_id_0_12345_1476312152.sync", "does not start with 'ftp_dpm_'"},
    {"s3n://bucket/partner/date=2016-05-09/ftp_dpm_478_1366545717.sync", "does not start with 'ftp_dpm_'"},
    {"FTP_DPM_478_1366545717.sync", "does not start with 'ftp_dpm_'"},
};

static void test_invalid_names(void)
{
    for (size_t i = 0; i < COUNT_OF(invalid_names); i++) {
        const ph_invalid_name *v = &invalid_names[i];
        ph_refusal r;
        ph_refuse_name(aam, v->name, &r);
        TAP_EQ_INT(r.rc, -1, "%s: rejected", v->name);
        TAP_OK(r.names_the_file, "%s: err starts with the name (%s)", v->name, r.err);
        TAP_OK(strstr(r.err, v->reason_part) != NULL, "%s: err says '%s' (%s)", v->name, v->reason_part, r.err);
    }
}

static void test_name_edges(void)
{
    bd_file_info info;
    char err[512];
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info - 8;
    TAP_EQ_INT(aam->parse_name("ftp_dpm_478_1366545717.sync", &info, err, sizeof err), -1,
               "a host bd_file_info smaller than ours is refused");
    TAP_OK(strstr(err, "older than this plugin") != NULL, "... with a reason (%s)", err);
    TAP_EQ_INT(ph_parse_name(aam, "ftp_dpm_478_1366545717.sync\x01", &info, err, sizeof err), -1,
               "control byte in the name is refused");
    TAP_OK(strstr(err, "file name 'ftp_dpm_478_1366545717.sync?'") != NULL, "control byte shown as '?' (%s)", err);
    char small[24];
    TAP_EQ_INT(ph_parse_name(aam, "ftp_dpm_478_1366545717.zip", &info, small, sizeof small), -1,
               "rejection with a tiny err buffer");
    TAP_EQ_INT(strlen(small), sizeof small - 1, "err is cut to its buffer and NUL-terminated");
}

/* ---------------------------------------------------------------- rows: spec §3.3 examples */

static void test_doc_examples_adds_and_removes(void)
{
    const ph_record *r = expect_record(
        UUID_NAME, AAM_UUID "\td_sid=24,d_sid=26,d_sid=27,d_unsid=28,d_unsid=29", 5, "d_sid/d_unsid line");
    TAP_EQ_STR(r ? r->user_id : NULL, AAM_UUID, "user ID is the AAM UUID");
    TAP_EQ_INT(r ? r->line : 0, 1, "record line 1");
    TAP_OK(ph_item_is_trait(r, 0, BD_ITEM_ADD, 24), "item 0 ADD 24");
    TAP_OK(ph_item_is_trait(r, 1, BD_ITEM_ADD, 26), "item 1 ADD 26");
    TAP_OK(ph_item_is_trait(r, 2, BD_ITEM_ADD, 27), "item 2 ADD 27");
    TAP_OK(ph_item_is_trait(r, 3, BD_ITEM_REMOVE, 28), "item 3 REMOVE 28");
    TAP_OK(ph_item_is_trait(r, 4, BD_ITEM_REMOVE, 29), "item 4 REMOVE 29");

    r = expect_record(UUID_NAME, AAM_UUID "\t28:0, 29:0", 2, "N:0 removals");
    TAP_OK(ph_item_is_trait(r, 0, BD_ITEM_REMOVE, 28) && ph_item_is_trait(r, 1, BD_ITEM_REMOVE, 29),
           "28:0, 29:0 remove 28 and 29");
    r = expect_record(UUID_NAME, AAM_UUID "\t28:-1, 29:-1", 2, "N:-1 removals");
    TAP_OK(ph_item_is_trait(r, 0, BD_ITEM_REMOVE, 28) && ph_item_is_trait(r, 1, BD_ITEM_REMOVE, 29),
           "28:-1, 29:-1 remove 28 and 29");
    r = expect_record(UUID_NAME, AAM_UUID " \t d_sid=24, d_sid=26, d_sid=27", 3, "Ex.1 with spaces around TAB");
    TAP_EQ_STR(r ? r->user_id : NULL, AAM_UUID, "spaces around the user ID are trimmed");
    TAP_OK(ph_item_is_trait(r, 2, BD_ITEM_ADD, 27), "Ex.1 third item ADD 27");
    r = expect_record(UUID_NAME, AAM_UUID " \t d_unsid=24, d_unsid=26, d_unsid=27", 3, "Ex.2 d_unsid");
    TAP_OK(ph_item_is_trait(r, 0, BD_ITEM_REMOVE, 24) && ph_item_is_trait(r, 2, BD_ITEM_REMOVE, 27),
           "Ex.2 removes 24..27");
    r = expect_record(UUID_NAME, AAM_UUID " \t 24:0, 26:0, 27:0", 3, "Ex.2 alt N:0");
    TAP_OK(ph_item_is_trait(r, 1, BD_ITEM_REMOVE, 26), "Ex.2 alt removes 26");
    r = expect_record(UUID_NAME, AAM_UUID " \t 24:-1, 26:-1, 27:-1", 3, "Ex.2 alt N:-1");
    TAP_OK(ph_item_is_trait(r, 2, BD_ITEM_REMOVE, 27), "Ex.2 alt removes 27");
}

static void test_doc_examples_signals(void)
{
    const ph_record *r = expect_record(UUID_NAME, AAM_UUID " \t product = tablet, product = phone", 2, "Ex.3 k/v");
    TAP_OK(ph_item_is_signal(r, 0, "product", "tablet"), "Ex.3 product=tablet");
    TAP_OK(ph_item_is_signal(r, 1, "product", "phone"), "Ex.3 product=phone");
    r = expect_record(UUID_NAME, AAM_UUID " \t \"product\" = \"tablet\", \"product\" = \"phone\"", 2,
                      "Ex.3 quoted k/v");
    TAP_OK(ph_item_is_signal(r, 0, "product", "tablet") && ph_item_is_signal(r, 1, "product", "phone"),
           "quotes stripped from keys and values");
    r = expect_record(UUID_NAME, AAM_UUID " \t 30608,50354,50338,50352,30626", 5, "Ex.4 bare numbers");
    TAP_OK(ph_item_is_signal(r, 0, "ic", "30608"), "bare 30608 is signal ic=30608");
    TAP_OK(ph_item_is_signal(r, 4, "ic", "30626"), "bare 30626 is signal ic=30626");
    r = expect_record(UUID_NAME, AAM_UUID " \t ic=52,ic=55", 2, "Ex.4 ic=");
    TAP_OK(ph_item_is_signal(r, 0, "ic", "52") && ph_item_is_signal(r, 1, "ic", "55"), "ic=52, ic=55");
    r = expect_record(UUID_NAME,
                      AAM_UUID "\t\xE2\x80\x9Cgender\xE2\x80\x9D=\xE2\x80\x9C" "female\xE2\x80\x9D,"
                               "\xE2\x80\x9Cluxury_shopper\xE2\x80\x9D=\xE2\x80\x9Cyes\xE2\x80\x9D",
                      2, "curly quotes as in the doc");
    TAP_OK(ph_item_is_signal(r, 0, "gender", "female"), "curly-quoted gender=female");
    TAP_OK(ph_item_is_signal(r, 1, "luxury_shopper", "yes"), "curly-quoted luxury_shopper=yes");
    r = expect_record(UUID_NAME, AAM_UUID "\t\"gender\"=\"female\",\"luxury_shopper\"=\"yes\"", 2, "straight quotes");
    TAP_OK(ph_item_is_signal(r, 1, "luxury_shopper", "yes"), "straight-quoted luxury_shopper=yes");
}

static void test_doc_examples_device_and_dpuuid(void)
{
    const ph_record *r = expect_record("ftp_dpm_20914_21_1234567890.sync", GAID " \t d_sid=24, d_sid=25, d_sid=26",
                                       3, "Ex.5 GAID");
    TAP_EQ_STR(r ? r->user_id : NULL, GAID, "GAID user ID");
    TAP_OK(ph_item_is_trait(r, 1, BD_ITEM_ADD, 25), "Ex.5 ADD 25");
    r = expect_record("ftp_dpm_20914_21_1234567890.sync", GAID " \t d_unsid=24, d_unsid=25, d_unsid=26", 3,
                      "Ex.6 GAID removal");
    TAP_OK(ph_item_is_trait(r, 2, BD_ITEM_REMOVE, 26), "Ex.6 REMOVE 26");
    r = expect_record("ftp_dpm_20915_21_1234567890.sync", IDFA " \t d_sid=24, d_sid=25, d_sid=26", 3, "Ex.9 IDFA");
    TAP_EQ_STR(r ? r->user_id : NULL, IDFA, "IDFA user ID");
    r = expect_record("ftp_dpm_20915_21_1234567890.sync", IDFA " \t ic=52,ic=55", 2, "Ex.12 IDFA ic");
    TAP_OK(ph_item_is_signal(r, 1, "ic", "55"), "Ex.12 ic=55");
    r = expect_record(SYNC_NAME, "DBwFoc3dhfMNCFBh2M4F9ZkJEXMNnRDh2PXvnI1 \t d_sid=24, d_sid=25, d_sid=26", 3,
                      "Ex.13 DPUUID");
    TAP_EQ_STR(r ? r->user_id : NULL, "DBwFoc3dhfMNCFBh2M4F9ZkJEXMNnRDh2PXvnI1", "DPUUID user ID");
    r = expect_record(SYNC_NAME, "DBwFoc3dhfMNCFBh2M4F9ZkJEXMNnRDh2PXvnI1 \t 30608,50354,50338,50352,30626", 5,
                      "Ex.15 DPUUID bare");
    TAP_OK(ph_item_is_signal(r, 2, "ic", "50338"), "Ex.15 ic=50338");
    r = expect_record(SYNC_NAME,
                      "DBwFoc3dhfMNCFBh2M4F9ZkJEXMNnRDh2PXvnI1 \t \"product\" = \"tablet\", \"product\" = \"phone\"",
                      2, "Ex.16 DPUUID k/v");
    TAP_OK(ph_item_is_signal(r, 0, "product", "tablet"), "Ex.16 product=tablet");
}

static void test_pbd_offline_example(void)
{
    int outcome = ph_fixture_feed(&fx, "ftp_dpm_999999_123_1560431657.sync.gz",
                                  "68079982765673198504052656074456196039\td_sid=12345,d_sid=23456\n"
                                  "67412682083411995725538770443620307584\td_sid=45678\n"
                                  "89159024796760343733111707646026765593\td_sid=11223,d_sid=93342,d_sid=27341\n");
    TAP_EQ_INT(outcome, PH_DONE, "PBD example: done");
    TAP_EQ_INT(fx.host.nrecords, 3, "PBD example: 3 records");
    TAP_EQ_INT(fx.host.nerrors, 0, "PBD example: no errors");
    TAP_EQ_INT(record_at(2) ? record_at(2)->line : 0, 3, "PBD example: third record on line 3");
    TAP_OK(ph_item_is_trait(record_at(0), 1, BD_ITEM_ADD, 23456), "PBD example: first record ADD 23456");
    TAP_OK(ph_item_is_trait(record_at(2), 2, BD_ITEM_ADD, 27341), "PBD example: third record ADD 27341");
    TAP_EQ_INT(record_at(2) ? record_at(2)->nitems : 0, 3, "PBD example: third record has 3 items");
}

/* ---------------------------------------------------------------- rows: item forms */

static void test_item_forms(void)
{
    const ph_record *r = expect_record(SYNC_NAME, "u1\t-product = camera", 1, "leading '-' on a key");
    TAP_OK(ph_item_is_signal(r, 0, "product", "camera"), "-product reads as product");
    r = expect_record(SYNC_NAME, "u1\tkey = \"value\",\"key\" = value", 2, "mixed quoting");
    TAP_OK(ph_item_is_signal(r, 0, "key", "value") && ph_item_is_signal(r, 1, "key", "value"), "both read key=value");
    r = expect_record(SYNC_NAME, "u1\td_sid = 24,\"d_sid\"=\"25\",D_SID=26, d_unsid = \"27\"", 4, "d_sid spellings");
    TAP_OK(ph_item_is_trait(r, 0, BD_ITEM_ADD, 24), "d_sid = 24 with spaces");
    TAP_OK(ph_item_is_trait(r, 1, BD_ITEM_ADD, 25), "quoted \"d_sid\"=\"25\"");
    TAP_OK(ph_item_is_trait(r, 2, BD_ITEM_ADD, 26), "D_SID=26 (reserved key, any case)");
    TAP_OK(ph_item_is_trait(r, 3, BD_ITEM_REMOVE, 27), "d_unsid = \"27\"");
    r = expect_record(SYNC_NAME, "u1\tIC=77,url=a=b", 2, "IC= and '=' inside a value");
    TAP_OK(ph_item_is_signal(r, 0, "ic", "77"), "IC=77 gives key ic");
    TAP_OK(ph_item_is_signal(r, 1, "url", "a=b"), "url=a=b splits at the first '='");
    r = expect_record(SYNC_NAME, "u1\t\"city\"=\"Portland, OR\",d_sid=5", 2, "comma inside quotes");
    TAP_OK(ph_item_is_signal(r, 0, "city", "Portland, OR"), "quoted comma kept in the value");
    TAP_OK(ph_item_is_trait(r, 1, BD_ITEM_ADD, 5), "then ADD 5");
    r = expect_record(SYNC_NAME, "u1\t\"a=b\"=c", 1, "'=' inside a quoted key");
    TAP_OK(ph_item_is_signal(r, 0, "a=b", "c"), "quoted key a=b");
    r = expect_record(SYNC_NAME, "u1\t,d_sid=1,,d_sid=2,  ,", 2, "empty items skipped");
    TAP_OK(ph_item_is_trait(r, 0, BD_ITEM_ADD, 1) && ph_item_is_trait(r, 1, BD_ITEM_ADD, 2), "ADD 1 and ADD 2");
    r = expect_record(SYNC_NAME, "u1\t\"30608\",a:b,28 : 0", 3, "quoted bare, colon value, spaced removal");
    TAP_OK(ph_item_is_signal(r, 0, "ic", "30608"), "quoted bare value is ic");
    TAP_OK(ph_item_is_signal(r, 1, "ic", "a:b"), "a:b is an ic value, not a removal");
    TAP_OK(ph_item_is_trait(r, 2, BD_ITEM_REMOVE, 28), "28 : 0 removes 28");
    r = expect_record(SYNC_NAME, "u1\td_sid=999999999999999999,d_sid=0007,12345678901234567890", 3, "number edges");
    TAP_OK(ph_item_is_trait(r, 0, BD_ITEM_ADD, 999999999999999999LL), "18-digit trait ID");
    TAP_OK(ph_item_is_trait(r, 1, BD_ITEM_ADD, 7), "leading zeros");
    TAP_OK(ph_item_is_signal(r, 2, "ic", "12345678901234567890"), "a long bare number is just an ic value");
    r = expect_record(SYNC_NAME, "u1\tk=\" spaced \"", 1, "quoted value keeps its spaces");
    TAP_OK(ph_item_is_signal(r, 0, "k", " spaced "), "value ' spaced '");
    r = expect_record(SYNC_NAME, "User123\td_sid=1", 1, "case-sensitive user ID");
    TAP_EQ_STR(r ? r->user_id : NULL, "User123", "user ID kept as written");
}

static void test_many_items(void)
{
    size_t n = 5000, cap = n * 16 + 16;
    char *line = malloc(cap);
    if (!line)
        abort();
    size_t used = (size_t)snprintf(line, cap, "u1\t");
    for (size_t i = 1; i <= n; i++)
        used += (size_t)snprintf(line + used, cap - used, "%sd_sid=%zu", i > 1 ? "," : "", i);
    const ph_record *r = expect_record(SYNC_NAME, line, n, "5000 items on one line");
    TAP_OK(ph_item_is_trait(r, n - 1, BD_ITEM_ADD, (int64_t)n), "last item ADD 5000");
    TAP_OK(ph_item_is_trait(r, 0, BD_ITEM_ADD, 1), "first item ADD 1");
    free(line);
}

/* ---------------------------------------------------------------- rows: format errors */

static const ph_line_case format_errors[] = {
    {SYNC_NAME, "u1 d_sid=1", BD_ERR_FORMAT, "no TAB between user ID and items"},
    {SYNC_NAME, "  \td_sid=1", BD_ERR_FORMAT, "empty user ID"},
    {SYNC_NAME, "u1\t", BD_ERR_FORMAT, "no items after the TAB"},
    {SYNC_NAME, "u1\t , ,", BD_ERR_FORMAT, "no items after the TAB"},
    {SYNC_NAME, "u1\td_sid=abc", BD_ERR_FORMAT, "d_sid value 'abc' is not a number"},
    {SYNC_NAME, "u1\td_sid=", BD_ERR_FORMAT, "d_sid has an empty value"},
    {SYNC_NAME, "u1\td_sid=\"\"", BD_ERR_FORMAT, "d_sid has an empty value"},
    {SYNC_NAME, "u1\td_unsid=x1", BD_ERR_FORMAT, "d_unsid value 'x1' is not a number"},
    {SYNC_NAME, "u1\td_sid=-5", BD_ERR_FORMAT, "d_sid value '-5' is not a number"},
    {SYNC_NAME, "u1\td_sid=1234567890123456789", BD_ERR_FORMAT,
     "trait ID '1234567890123456789' has more than 18 digits"},
    {SYNC_NAME, "u1\t1234567890123456789:0", BD_ERR_FORMAT, "has more than 18 digits"},
    {SYNC_NAME, "u1\t=", BD_ERR_FORMAT, "item '=' has neither key nor value"},
    {SYNC_NAME, "u1\td_sid=1, = ", BD_ERR_FORMAT, "item '=' has neither key nor value"},
    {SYNC_NAME, "u1\t=value", BD_ERR_FORMAT, "empty key in item '=value'"},
    {SYNC_NAME, "u1\t\"\"=value", BD_ERR_FORMAT, "empty key"},
    {SYNC_NAME, "u1\tkey=", BD_ERR_FORMAT, "empty value in item 'key='"},
    {SYNC_NAME, "u1\t\"product\"=\"tablet", BD_ERR_FORMAT, "unterminated quote in item"},
    {SYNC_NAME, "u1\t\xE2\x80\x9Cgender\xE2\x80\x9D=\xE2\x80\x9C" "female", BD_ERR_FORMAT, "unterminated quote"},
    {SYNC_NAME, "u1\tpro\"duct\"=x", BD_ERR_FORMAT, "stray quote in 'pro\"duct\"'"},
    {SYNC_NAME, "u1\t\"product\"x=y", BD_ERR_FORMAT, "text after the closing quote in '\"product\"x'"},
    {SYNC_NAME, "u1\td_sid=1\td_sid=2", BD_ERR_FORMAT, "a TAB inside the item list"},
    {SYNC_NAME, "u1\t28:5", BD_ERR_FORMAT, "'28:5' is not a removal: only N:0 and N:-1 are defined"},
    {SYNC_NAME, "u1\t\"\"", BD_ERR_FORMAT, "empty quoted item"},
};

static void test_format_errors(void)
{
    expect_lines(format_errors, COUNT_OF(format_errors));
}

static void test_reason_snippets(void)
{
    char line[400];
    memset(line, 0, sizeof line);
    memcpy(line, "u1\td_sid=", 9);
    memset(line + 9, 'x', 200);
    ph_fixture_feed(&fx, SYNC_NAME, line);
    TAP_EQ_INT(fx.host.nerrors, 1, "long bad value: one error");
    TAP_OK(ph_reason_has(&fx.host, 0, "xxx...' is not a number"), "long value cut with '...' (%s)",
           ph_reason_at(&fx.host, 0));
    TAP_OK(strlen(ph_reason_at(&fx.host, 0)) < 120, "reason stays short (%zu bytes)",
           strlen(ph_reason_at(&fx.host, 0)));
    ph_fixture_feed(&fx, SYNC_NAME, "u1\td_sid=a\x01" "b");
    TAP_OK(ph_reason_has(&fx.host, 0, "'a?b'"), "control byte shown as '?' (%s)", ph_reason_at(&fx.host, 0));
    ph_fixture_feed(&fx, SYNC_NAME, "u1\td_sid=\xC3\xA9t\xE9");
    TAP_OK(ph_reason_has(&fx.host, 0, "'\xC3\xA9t?'"), "valid UTF-8 kept, broken byte shown as '?' (%s)",
           ph_reason_at(&fx.host, 0));
}

/* ---------------------------------------------------------------- rows: ID checks by DPID */

static const ph_line_case invalid_ids[] = {
    {UUID_NAME, "1234\td_sid=1", BD_ERR_INVALID_ID, "ID '1234' is not a 38-digit AAM UUID (DPID 0)"},
    {UUID_NAME, AAM_UUID "1\td_sid=1", BD_ERR_INVALID_ID, "is not a 38-digit AAM UUID"},
    {UUID_NAME, "5976755918126206006027887090108709825X\td_sid=1", BD_ERR_INVALID_ID, "is not a 38-digit AAM UUID"},
    {"ftp_dpm_20914_21_1234567890.sync", "E4FE9BDE-CAA0-47B6-908D-FFBA3FA184F2\td_sid=1", BD_ERR_INVALID_ID,
     "ID 'E4FE9BDE-CAA0-47B6-908D-FFBA3FA184F2' is not a lowercase GAID (DPID 20914)"},
    {"ftp_dpm_20914_21_1234567890.sync", "55e79200c1635b37ad31a378c39feb12f120f116625093a19bc32fff15041149\td_sid=1",
     BD_ERR_INVALID_ID, "is not a lowercase GAID (DPID 20914)"},
    {"ftp_dpm_20914_21_1234567890.sync", "e4fe9bde-caa0-47b6-908d-ffba3fa184f\td_sid=1", BD_ERR_INVALID_ID,
     "lowercase GAID"},
    {"ftp_dpm_20914_21_1234567890.sync", "e4fe9bde-caa0-47b6-908d_ffba3fa184f2\td_sid=1", BD_ERR_INVALID_ID,
     "lowercase GAID"},
    {"ftp_dpm_20915_21_1234567890.sync", "6d92078a-8246-4ba4-ae5b-76104861e7dc\td_sid=1", BD_ERR_INVALID_ID,
     "is not an uppercase IDFA (DPID 20915)"},
    {"ftp_dpm_20915_21_1234567890.sync", "6D92078A-8246-4BA4-AE5B-76104861E7DG\td_sid=1", BD_ERR_INVALID_ID,
     "uppercase IDFA"},
    {"ftp_dpm_121963_21_1234567890.sync", "FCB2A29C-315A-5E6B-BCFD-D889BA19AADA\td_sid=1", BD_ERR_INVALID_ID,
     "lowercase Roku RIDA (DPID 121963)"},
    {"ftp_dpm_488258_21_1234567890.sync", "not-a-uuid\td_sid=1", BD_ERR_INVALID_ID, "(DPID 488258)"},
    {"ftp_dpm_1171485_21_1234567890.sync", "095F142A-ACE8-AC5D-B86A-92C8BE18B197\td_sid=1", BD_ERR_INVALID_ID,
     "lowercase LG webOS LGUDID (DPID 1171485)"},
    {"ftp_dpm_389146_21_1234567890.sync", "abc-123\td_sid=1", BD_ERR_INVALID_ID,
     "is not an alphanumeric Microsoft advertising ID (DPID 389146)"},
    {"ftp_dpm_963906_21_1234567890.sync", "abc_123\td_sid=1", BD_ERR_INVALID_ID,
     "alphanumeric Samsung TIFA (DPID 963906)"},
    {"ftp_dpm_1171489_21_1234567890.sync", "7XCB-NROQJQPYW\td_sid=1", BD_ERR_INVALID_ID,
     "alphanumeric Vizio IFA (DPID 1171489)"},
    {SYNC_NAME, "user:1\td_sid=1", BD_ERR_INVALID_ID, "ID 'user:1' contains ':', which DPUUIDs must not (DPID 1234)"},
    {SYNC_NAME, "user%3A1\td_sid=1", BD_ERR_INVALID_ID, "contains '%3A' (an encoded ':')"},
    {SYNC_NAME, "user%3a1\td_sid=1", BD_ERR_INVALID_ID, "contains '%3A'"},
};

static void test_invalid_ids(void)
{
    expect_lines(invalid_ids, COUNT_OF(invalid_ids));
}

static const ph_line_case valid_ids[] = {
    {"ftp_dpm_121963_21_1234567890.sync", "fcb2a29c-315a-5e6b-bcfd-d889ba19aada\td_sid=1", PH_PASSES, "Roku RIDA"},
    {"ftp_dpm_488258_21_1234567890.sync", "df07c7dc-cea7-4a89-b328-810ff5acb15d\td_sid=1", PH_PASSES, "Fire TV"},
    {"ftp_dpm_1171485_21_1234567890.sync", "095f142a-ace8-ac5d-b86a-92c8be18b197\td_sid=1", PH_PASSES, "LGUDID"},
    {"ftp_dpm_1171489_21_1234567890.sync", "7XCBNROQJQPYW\td_sid=1", PH_PASSES, "Vizio IFA"},
    {"ftp_dpm_389146_21_1234567890.sync", "ABC123xyz\td_sid=1", PH_PASSES, "Microsoft MAID"},
    {"ftp_dpm_963906_21_1234567890.sync", "tifa0123456789\td_sid=1", PH_PASSES, "Samsung TIFA"},
    {SYNC_NAME, "user%2F1\td_sid=1", PH_PASSES, "a DPUUID may hold other % sequences"},
    {"ftp_dpm_33_21_1234567890.sync", "crm-42@x\td_sid=1", PH_PASSES, "DPUUID with target"},
};

static void test_valid_ids(void)
{
    expect_lines(valid_ids, COUNT_OF(valid_ids));
}

/* ---------------------------------------------------------------- files: lines, overwrite, errors mixed */

static void test_line_numbers_and_mixing(void)
{
    int outcome = ph_fixture_feed(&fx, SYNC_NAME, "\n\nu1\td_sid=1\r\n\r\nbad line\r\nu3\td_sid=3\r\n   \nu4\tk=v");
    TAP_EQ_INT(outcome, PH_DONE, "mixed file: done");
    TAP_EQ_INT(fx.run.lines_fed, 5, "mixed file: 5 non-empty lines fed");
    TAP_EQ_INT(fx.host.nrecords, 3, "mixed file: 3 records");
    TAP_EQ_INT(fx.host.nerrors, 2, "mixed file: 2 errors");
    TAP_EQ_INT(record_at(0) ? record_at(0)->line : 0, 3, "first record on line 3");
    TAP_EQ_INT(record_at(1) ? record_at(1)->line : 0, 6, "second record on line 6");
    TAP_EQ_INT(record_at(2) ? record_at(2)->line : 0, 8, "third record on line 8 (unterminated)");
    TAP_OK(ph_error_on_line(&fx.host, 5) && strstr(ph_error_on_line(&fx.host, 5)->reason, "no TAB"),
           "line 5 has no TAB");
    TAP_OK(ph_error_on_line(&fx.host, 7) && strstr(ph_error_on_line(&fx.host, 7)->reason, "no TAB"),
           "line 7 (spaces only) has no TAB");
    TAP_OK(ph_item_is_signal(record_at(2), 0, "k", "v"), "last line k=v");
}

static void test_overwrite_drops_removals(void)
{
    int outcome = ph_fixture_feed(&fx, OVERWRITE_NAME, "u1\td_sid=1,d_unsid=2,3:0,4:-1,k=v\nu2\td_unsid=5\n");
    TAP_EQ_INT(outcome, PH_DONE, "overwrite: done");
    TAP_EQ_INT(fx.host.nrecords, 2, "overwrite: 2 records");
    TAP_EQ_INT(fx.host.nerrors, 0, "overwrite: no errors");
    const ph_record *r = record_at(0);
    TAP_EQ_INT(r ? r->nitems : 0, 2, "overwrite: removals dropped, 2 items left");
    TAP_OK(ph_item_is_trait(r, 0, BD_ITEM_ADD, 1), "overwrite: ADD 1 kept");
    TAP_OK(ph_item_is_signal(r, 1, "k", "v"), "overwrite: signal kept");
    TAP_EQ_INT(record_at(1) ? record_at(1)->nitems : 99, 0, "overwrite: only-removal line gives a record with 0 items");
    TAP_OK(ph_log_contains(&fx.host, "ignored 4 removal(s)"), "overwrite: the dropped removals are logged");
    ph_fixture_feed(&fx, SYNC_NAME, "u1\td_unsid=2");
    TAP_OK(ph_item_is_trait(record_at(0), 0, BD_ITEM_REMOVE, 2), "sync: removals kept");
    TAP_EQ_INT(fx.host.nlogs, 0, "sync: nothing logged");
    ph_fixture_feed(&fx, OVERWRITE_NAME, "u1\td_unsid=x");
    TAP_EQ_INT(fx.host.nerrors, 1, "overwrite: a malformed removal is still a format error");
}

static void test_emit_stop(void)
{
    fx.host.emit_budget = 1;
    int outcome = ph_fixture_feed(&fx, SYNC_NAME, "u1\td_sid=1\nu2\td_sid=2\nu3\td_sid=3\n");
    fx.host.emit_budget = -1;
    TAP_EQ_INT(outcome, PH_ABANDONED, "emit_record -1 makes line() return -1");
    TAP_EQ_INT(fx.host.nrecords, 1, "one record accepted before the stop");
    TAP_EQ_INT(fx.run.last_line, 2, "the file stopped at line 2");
}

static void test_open_checks(void)
{
    bd_file_info info;
    char err[256];
    ph_host_clear(&fx.host);
    ph_parse_name(aam, SYNC_NAME, &info, err, sizeof err);
    info.kind = BD_FILE_IDSYNC;
    TAP_EQ_INT(ph_try_open(aam, &fx.host.api, &fx.host, &info, err, sizeof err), -1, "open refuses an ID-sync info");
    info.kind = BD_FILE_TRAITS;
    bd_host_api broken = fx.host.api;
    broken.emit_record = NULL;
    TAP_EQ_INT(ph_try_open(aam, &broken, &fx.host, &info, err, sizeof err), -1,
               "open refuses a host without emit_record");
    broken = fx.host.api;
    broken.abi_major = BD_PLUGIN_ABI_MAJOR + 1;
    TAP_EQ_INT(ph_try_open(aam, &broken, &fx.host, &info, err, sizeof err), -1, "open refuses another ABI major");
    TAP_OK(strstr(err, "host API") != NULL, "... saying why (%s)", err);
    aam->close(NULL);
    TAP_OK(1, "close(NULL) is harmless");
}

/* ---------------------------------------------------------------- option bare_values */

static void test_bare_values_option(void)
{
    ph_host_set_option(&fx.host, "bare_values", "traits");
    const ph_record *r = expect_record(SYNC_NAME, "u1\t30608,50354,ic=7,9:0", 4, "bare_values=traits");
    TAP_OK(ph_item_is_trait(r, 0, BD_ITEM_ADD, 30608), "bare 30608 is ADD 30608");
    TAP_OK(ph_item_is_trait(r, 1, BD_ITEM_ADD, 50354), "bare 50354 is ADD 50354");
    TAP_OK(ph_item_is_signal(r, 2, "ic", "7"), "ic=7 stays a signal");
    TAP_OK(ph_item_is_trait(r, 3, BD_ITEM_REMOVE, 9), "9:0 still removes");
    expect_error(SYNC_NAME, "u1\tabc", BD_ERR_FORMAT, "trait ID 'abc' is not a number");
    expect_error(SYNC_NAME, "u1\t1234567890123456789", BD_ERR_FORMAT, "has more than 18 digits");
    ph_host_set_option(&fx.host, "bare_values", "ic");
    r = expect_record(SYNC_NAME, "u1\t30608", 1, "bare_values=ic");
    TAP_OK(ph_item_is_signal(r, 0, "ic", "30608"), "bare_values=ic keeps ic signals");
    ph_host_set_option(&fx.host, "bare_values", "sids");
    int outcome = ph_fixture_feed(&fx, SYNC_NAME, "u1\t30608");
    TAP_EQ_INT(outcome, PH_OPEN_FAILED, "bare_values=sids: open fails");
    TAP_OK(strstr(fx.run.err, "bare_values") && strstr(fx.run.err, "\"traits\""), "... naming the option (%s)",
           fx.run.err);
    ph_host_free(&fx.host);
    ph_host_init(&fx.host);
}

/* ---------------------------------------------------------------- ODC */

static const ph_line_case odc_errors[] = {
    {ODC_NAME, "imei\t123456\t1", BD_ERR_FORMAT, "unknown ID type 'imei' (expected idfa, gaid or android)"},
    {ODC_NAME, "idfa\t" IDFA, BD_ERR_FORMAT, "no TAB between user ID and items"},
    {ODC_NAME, "idfa " IDFA " 1", BD_ERR_FORMAT, "no TAB after the ID type"},
    {ODC_NAME, "\t" IDFA "\t1", BD_ERR_FORMAT, "empty ID type"},
    {ODC_NAME, "idfa\t" IDFA "\tabc", BD_ERR_FORMAT, "trait ID 'abc' is not a number"},
    {ODC_NAME, "idfa\t" IDFA "\t1\t2", BD_ERR_FORMAT, "a TAB inside the item list"},
    {ODC_NAME, "idfa\t" GAID "\t1", BD_ERR_INVALID_ID, "is not an uppercase IDFA (ODC ID type idfa)"},
    {ODC_NAME, "gaid\t" IDFA "\t1", BD_ERR_INVALID_ID, "is not a lowercase GAID (ODC ID type gaid)"},
    {"ftp_dpm_odc_20914_21_1556223815.sync", "idfa\t" IDFA "\t1", BD_ERR_INVALID_ID,
     "is not a lowercase GAID (DPID 20914)"},
};

static void test_odc_rows(void)
{
    const ph_record *r = expect_record(ODC_NAME, "gaid\t" GAID "\t1,2,3", 3, "ODC gaid row");
    TAP_EQ_STR(r ? r->user_id : NULL, GAID, "ODC user ID is column 2");
    TAP_OK(ph_item_is_trait(r, 0, BD_ITEM_ADD, 1) && ph_item_is_trait(r, 2, BD_ITEM_ADD, 3), "bare IDs are ADDs");
    r = expect_record(ODC_NAME, "android\t" GAID "\t7", 1, "ODC android row");
    r = expect_record(ODC_NAME, " IDFA \t " IDFA " \t 38838, d_sid=5, 6:0, k=v", 4, "ODC IDFA row, other forms");
    TAP_OK(ph_item_is_trait(r, 0, BD_ITEM_ADD, 38838), "ODC ADD 38838");
    TAP_OK(ph_item_is_trait(r, 1, BD_ITEM_ADD, 5), "ODC d_sid=5");
    TAP_OK(ph_item_is_trait(r, 2, BD_ITEM_REMOVE, 6), "ODC 6:0");
    TAP_OK(ph_item_is_signal(r, 3, "k", "v"), "ODC k=v");
    expect_lines(odc_errors, COUNT_OF(odc_errors));
}

static void test_odc_no_mixing(void)
{
    int outcome = ph_fixture_feed(&fx, ODC_NAME,
                                  "idfa\tnot-an-idfa\t1\n"
                                  "idfa\t" IDFA "\t1\n"
                                  "gaid\t" GAID "\t2\n"
                                  "idfa\t" IDFA "\t3\n");
    TAP_EQ_INT(outcome, PH_DONE, "mixed ODC file: done");
    TAP_EQ_INT(fx.host.nrecords, 2, "mixed ODC file: the two idfa rows pass");
    TAP_EQ_INT(fx.host.nerrors, 2, "mixed ODC file: 2 errors");
    const ph_line_error *e1 = ph_error_on_line(&fx.host, 1), *e3 = ph_error_on_line(&fx.host, 3);
    TAP_EQ_INT(e1 ? e1->kind : 0, BD_ERR_INVALID_ID, "line 1: invalid IDFA");
    TAP_EQ_INT(e3 ? e3->kind : 0, BD_ERR_FORMAT, "line 3: the other ID type is a format error");
    TAP_OK(e3 && strstr(e3->reason, "ID type 'gaid' in a file of idfa IDs (set by line 2)"),
           "line 3 reason names the type and the line that set it (%s)", e3 ? e3->reason : "");
    TAP_EQ_INT(record_at(1) ? record_at(1)->line : 0, 4, "line 4 passes");
}

/* ---------------------------------------------------------------- spec samples from disk */

static void test_sample_overwrite(void)
{
    int outcome = ph_fixture_feed_sample(&fx, "ftp_dpm_1234_1445374061.overwrite");
    TAP_EQ_INT(outcome, PH_DONE, "sample .overwrite: done (%s)", fx.run.err);
    TAP_EQ_INT(fx.run.info.mode, BD_MODE_OVERWRITE, "sample .overwrite: mode overwrite");
    TAP_EQ_INT(fx.host.nrecords, 3, "sample .overwrite: 3 records");
    TAP_EQ_INT(fx.host.nerrors, 0, "sample .overwrite: no errors (%s)", ph_reason_at(&fx.host, 0));
    TAP_EQ_INT(fx.run.lines_fed, 3, "sample .overwrite: 3 lines (CRLF, no final newline)");
    static const char *const users[] = {"1060413022", "1060413110", "1060413123"};
    for (size_t i = 0; i < 3; i++) {
        const ph_record *r = record_at(i);
        TAP_EQ_STR(r ? r->user_id : NULL, users[i], "sample record %zu user ID", i + 1);
        TAP_EQ_INT(r ? r->line : 0, i + 1, "sample record %zu line", i + 1);
        TAP_EQ_INT(r ? r->nitems : 0, 18, "sample record %zu has 18 items", i + 1);
        int all_signals = r != NULL;
        for (size_t k = 0; r && k < r->nitems; k++)
            all_signals = all_signals && r->items[k].kind == BD_ITEM_SIGNAL;
        TAP_OK(all_signals, "sample record %zu: all items are signals", i + 1);
        TAP_OK(ph_item_is_signal(r, 0, "ACCOUNT_TYPE", "HAC"), "sample record %zu starts with ACCOUNT_TYPE=HAC", i + 1);
    }
    TAP_OK(ph_item_is_signal(record_at(0), 2, "ServiceExpiryDate", "2013-01-26 00:00:00.000"),
           "value with space, ':' and '.'");
    TAP_OK(ph_item_is_signal(record_at(0), 6, "CSAT", "0.000000000000000000000"), "CSAT value");
    TAP_OK(ph_item_is_signal(record_at(0), 17, "Product",
                             "3 Months  Subscription| Free Base Product for PIP Outbound|  Annual Plan with for "
                             "TechSales|  Annual Subscription"),
           "value with pipes and double spaces");
    TAP_OK(ph_item_is_signal(record_at(2), 15, "TotalSalesAmount", "39.99"), "record 3: item before ',,'");
    TAP_OK(ph_item_is_signal(record_at(2), 16, "Calls_Before_Sale", "0"), "record 3: item after ',,'");
    TAP_OK(ph_item_is_signal(record_at(2), 17, "Product",
                             "Free Product for Inbound Sales|  Incident Support for MAC| Partner Trial Account"),
           "record 3: last item, unterminated line");
    TAP_EQ_INT(fx.host.nlogs, 0, "sample .overwrite: no removal to ignore, nothing logged");
}

static void test_sample_odc(void)
{
    int outcome = ph_fixture_feed_sample(&fx, "ftp_dpm_odc_12345_1556223815.sync");
    TAP_EQ_INT(outcome, PH_DONE, "sample ODC: done (%s)", fx.run.err);
    TAP_EQ_INT(fx.run.info.flags, BD_FILE_F_ODC, "sample ODC: ODC flag");
    TAP_EQ_INT(fx.host.nrecords, 8, "sample ODC: 8 records");
    TAP_EQ_INT(fx.host.nerrors, 0, "sample ODC: no errors (%s)", ph_reason_at(&fx.host, 0));
    TAP_EQ_STR(record_at(0) ? record_at(0)->user_id : NULL, "B56E68EC-34ED-46D5-AF0C-1D2401F676C9",
               "sample ODC: first IDFA");
    TAP_EQ_STR(record_at(7) ? record_at(7)->user_id : NULL, "D6A9A99F-FF6D-B24D-FE77-82CD185CA346",
               "sample ODC: last IDFA");
    int all_38838 = fx.host.nrecords == 8;
    for (size_t i = 0; i < fx.host.nrecords; i++)
        all_38838 = all_38838 && fx.host.records[i].nitems == 1 &&
                    ph_item_is_trait(&fx.host.records[i], 0, BD_ITEM_ADD, 38838);
    TAP_OK(all_38838, "sample ODC: every record is exactly ADD 38838");
    TAP_EQ_INT(record_at(7) ? record_at(7)->line : 0, 8, "sample ODC: last record on line 8");
}

int main(void)
{
    if (ph_fixture_open(&fx, "aam.so") < 0) {
        printf("not ok 1 - load aam.so: %s\n1..1\n", fx.plugin.error);
        return 1;
    }
    TAP_OK(1, "aam.so loads and passes the ABI checks");
    aam = fx.plugin.desc;

    test_descriptor();
    test_valid_names();
    test_invalid_names();
    test_name_edges();
    test_doc_examples_adds_and_removes();
    test_doc_examples_signals();
    test_doc_examples_device_and_dpuuid();
    test_pbd_offline_example();
    test_item_forms();
    test_many_items();
    test_format_errors();
    test_reason_snippets();
    test_invalid_ids();
    test_valid_ids();
    test_line_numbers_and_mixing();
    test_overwrite_drops_removals();
    test_emit_stop();
    test_open_checks();
    test_bare_values_option();
    test_odc_rows();
    test_odc_no_mixing();
    test_sample_overwrite();
    test_sample_odc();

    TAP_EQ_INT(fx.violations, 0, "no plugin.h contract violation in any run");
    ph_fixture_close(&fx);
    return tap_done();
}
