/* test_idsync.c: TAP tests of the aam-idsync plugin: ID-sync file names and rows (spec §6) and the spec samples. */
#include "plugin_harness.h"
#include "tap.h"
#include "test_util.h"
#include <fnmatch.h>
#include <string.h>

#define UUID_MAP_NAME "adobe_id_0_12345_1476312152.sync"
#define DPUUID_MAP_NAME "adobe_id_12345_67890_1477846458.sync"
#define C2C_NAME "c2c_id_999999_987654_1560431657.sync"
#define AAM_UUID "68079982765673198504052656074456196039"
#define DPUUID "XYZ3017D_2kzkTOXkFYIAgwbajoqWRcqkXl-TTrj6E4njaMR38"
#define EMAIL_HASH "55e79200c1635b37ad31a378c39feb12f120f116625093a19bc32fff15041149"
#define GAID "e4fe9bde-caa0-47b6-908d-ffba3fa184f2"

static const bd_plugin *idsync;
static ph_fixture fx;

static const char *col(size_t row, size_t c)
{
    return row < fx.host.nrows && c < fx.host.rows[row].ncols ? fx.host.rows[row].cols[c] : NULL;
}

/* One row that must give one error of `kind` whose reason contains `part`. */
static void expect_error(const char *name, const char *line, int kind, const char *part)
{
    ph_fixture_feed(&fx, name, line);
    TAP_EQ_INT(fx.host.nrows, 0, "[%s] no row emitted", part);
    TAP_EQ_INT(fx.host.nerrors, 1, "[%s] one line error", part);
    TAP_EQ_INT(fx.host.nerrors ? fx.host.errors[0].kind : 0, kind, "[%s] error kind", part);
    TAP_OK(ph_reason_has(&fx.host, 0, part), "[%s] reason: %s", part, ph_reason_at(&fx.host, 0));
}

static void expect_row(const char *name, const char *line, const char *what)
{
    ph_fixture_feed(&fx, name, line);
    TAP_EQ_INT(fx.host.nerrors, 0, "%s: no error (%s)", what, ph_reason_at(&fx.host, 0));
    TAP_EQ_INT(fx.host.nrows, 1, "%s: one row", what);
}

/* Each case in turn: expect_error(), or for PH_PASSES expect_row(). */
static void expect_lines(const ph_line_case *cases, size_t ncases)
{
    for (size_t i = 0; i < ncases; i++) {
        const ph_line_case *c = &cases[i];
        if (c->kind == PH_PASSES)
            expect_row(c->name, c->line, c->expect);
        else
            expect_error(c->name, c->line, c->kind, c->expect);
    }
}

/* ---------------------------------------------------------------- descriptor */

static void test_descriptor(void)
{
    TAP_EQ_STR(idsync->name, "aam-idsync", "descriptor name");
    TAP_EQ_INT(idsync->abi_major, BD_PLUGIN_ABI_MAJOR, "ABI major");
    TAP_EQ_INT(idsync->abi_minor, BD_PLUGIN_ABI_MINOR, "ABI minor");
    TAP_EQ_INT(idsync->struct_size, sizeof(bd_plugin), "descriptor struct_size");
    TAP_EQ_STR(idsync->patterns[0], "adobe_id_*", "pattern adobe_id_*");
    TAP_EQ_STR(idsync->patterns[1], "c2c_id_*", "pattern c2c_id_*");
    TAP_OK(idsync->patterns[2] == NULL, "two patterns only");
    TAP_OK(idsync->version && *idsync->version && idsync->description && *idsync->description,
           "version and description set");
}

/* ---------------------------------------------------------------- file names */

typedef struct valid_name {
    const char *name;
    int ndpids;
    int64_t dpids[BD_MAX_DPIDS];
    int64_t timestamp;
    int split, flags;
} valid_name;

static const valid_name valid_names[] = {
    /* spec §6 name vectors */
    {"adobe_id_111_222_333_444_1454442149.sync", 4, {111, 222, 333, 444}, 1454442149, BD_NO_VALUE, 0},
    {"adobe_id_123_898_456_1454442149.sync.1.gz", 3, {123, 898, 456}, 1454442149, 1, 0},
    {"adobe_id_123_898_456_1454442149.sync.2.gz", 3, {123, 898, 456}, 1454442149, 2, 0},
    {"c2c_id_123_898_1454442149.sync.gz", 2, {123, 898}, 1454442149, BD_NO_VALUE, BD_FILE_F_C2C},
    {"c2c_id_999999_987654_1560431657.sync", 2, {999999, 987654}, 1560431657, BD_NO_VALUE, BD_FILE_F_C2C},
    {"adobe_id_0_12345_1476312152.sync", 2, {0, 12345}, 1476312152, BD_NO_VALUE, 0},
    {"adobe_id_12345_67890_1476312876.sync", 2, {12345, 67890}, 1476312876, BD_NO_VALUE, 0},
    {"adobe_id_12345_67890_1477846458.sync", 2, {12345, 67890}, 1477846458, BD_NO_VALUE, 0},
    /* zstd, 9-digit timestamp, split + zstd, the most DPIDs */
    {"adobe_id_0_12345_1476312152.sync.zst", 2, {0, 12345}, 1476312152, BD_NO_VALUE, 0},
    {"adobe_id_0_12345_147631215.sync", 2, {0, 12345}, 147631215, BD_NO_VALUE, 0},
    {"c2c_id_1_2_1476312152.sync.12.zst", 2, {1, 2}, 1476312152, 12, BD_FILE_F_C2C},
    {"adobe_id_1_2_3_4_5_6_7_8_9_10_11_12_13_14_15_16_1476312152.sync", 16,
     {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, 1476312152, BD_NO_VALUE, 0},
};

static void test_valid_names(void)
{
    for (size_t i = 0; i < COUNT_OF(valid_names); i++) {
        const valid_name *v = &valid_names[i];
        bd_file_info info;
        char err[512];
        int rc = ph_parse_name(idsync, v->name, &info, err, sizeof err);
        TAP_EQ_INT(rc, 0, "%s: accepted (%s)", v->name, err);
        TAP_OK(fnmatch(idsync->patterns[0], v->name, 0) == 0 || fnmatch(idsync->patterns[1], v->name, 0) == 0,
               "%s: claimed by a pattern", v->name);
        TAP_EQ_INT(info.kind, BD_FILE_IDSYNC, "%s: kind IDSYNC", v->name);
        TAP_EQ_INT(info.dpid, v->dpids[0], "%s: dpid is the master DPID", v->name);
        TAP_EQ_INT(info.ndpids, v->ndpids, "%s: ndpids", v->name);
        TAP_OK(memcmp(info.dpids, v->dpids, (size_t)v->ndpids * sizeof info.dpids[0]) == 0, "%s: dpids[]", v->name);
        TAP_EQ_INT(info.timestamp, v->timestamp, "%s: timestamp", v->name);
        TAP_EQ_INT(info.split, v->split, "%s: split", v->name);
        TAP_EQ_INT(info.flags, v->flags, "%s: flags", v->name);
        TAP_EQ_INT(info.target, BD_NO_VALUE, "%s: no target", v->name);
    }
}

static const ph_invalid_name invalid_names[] = {
    {"adobe_id_0_12345_1476312152.overwrite", "ID-sync files are full syncs; only .sync is defined"},
    {"adobe_id_0_12345_1476312152.txt", "missing mode: expected '.sync' after the timestamp, found '.txt'"},
    {"adobe_id_0_12345_1476312152", "missing mode"},
    {"adobe_id_0_1476312152.sync", "names 1 DPID(s)"},
    {"adobe_id_1_2_3_4_5_6_7_8_9_10_11_12_13_14_15_16_17_1476312152.sync", "names 17 DPIDs; at most 16"},
    {"c2c_id_1_2_3_1476312152.sync", "exactly 2 DPIDs"},
    {"adobe_id_0_12345_1476312152.sync.zip", "'.zip' archives are not supported"},
    {"adobe_id_0_12345_1476312152.sync.pgp", "encrypted files ('.pgp'/'.gpg') are not supported by batchdrop"},
    {"adobe_id_0_12345_1476312152.sync.gz.pgp", "both compressed and PGP-encrypted ('.gz.pgp')"},
    {"adobe_id_0_12345_TIMESTAMP.sync", "timestamp 'TIMESTAMP' is not a number"},
    {"adobe_id_0_abc_1476312152.sync", "DPID 'abc' is not a number"},
    {"adobe_id_x_12345_1476312152.sync", "master DPID 'x' is not a number"},
    {"adobe_id_0__1476312152.sync", "empty DPID field"},
    {"adobe_id_0_12345_.sync", "empty timestamp field"},
    {"adobe_id_0_12345_14763121.sync", "timestamp '14763121' must have 10 digits (9 are accepted)"},
    {"adobe_id_0_1234567890123456789_1476312152.sync", "DPID '1234567890123456789' has more than 18 digits"},
    {"adobe_id_0_0_1476312152.sync", "DPID 0 is named twice"},
    {"adobe_id_0_12345_1476312152.sync.1.gz.x", "unexpected suffix '.x'"},
    {"adobe_id_0_12345_1476312152.sync..gz", "empty '.' suffix"},
    {"ftp_dpm_478_1366545717.sync", "does not start with 'adobe_id_' or 'c2c_id_'"},
};

static void test_invalid_names(void)
{
    for (size_t i = 0; i < COUNT_OF(invalid_names); i++) {
        const ph_invalid_name *v = &invalid_names[i];
        ph_refusal r;
        ph_refuse_name(idsync, v->name, &r);
        TAP_EQ_INT(r.rc, -1, "%s: rejected", v->name);
        TAP_OK(r.names_the_file, "%s: err starts with the name (%s)", v->name, r.err);
        TAP_OK(strstr(r.err, v->reason_part) != NULL, "%s: err says '%s' (%s)", v->name, v->reason_part, r.err);
    }
}

/* ---------------------------------------------------------------- spec samples */

static void test_sample_uuid_map(void)
{
    int outcome = ph_fixture_feed_sample(&fx, UUID_MAP_NAME);
    TAP_EQ_INT(outcome, PH_DONE, "%s: done (%s)", UUID_MAP_NAME, fx.run.err);
    TAP_EQ_INT(fx.host.nrows, 5, "%s: 5 rows", UUID_MAP_NAME);
    TAP_EQ_INT(fx.host.nerrors, 0, "%s: no errors (%s)", UUID_MAP_NAME, ph_reason_at(&fx.host, 0));
    TAP_EQ_INT(fx.host.nrows ? fx.host.rows[0].ncols : 0, 2, "%s: 2 columns", UUID_MAP_NAME);
    TAP_EQ_STR(col(0, 0), AAM_UUID, "%s: row 1 column 1 is the AAM UUID", UUID_MAP_NAME);
    TAP_EQ_STR(col(0, 1), DPUUID, "%s: row 1 column 2 is the DPUUID", UUID_MAP_NAME);
    TAP_EQ_STR(col(4, 1), "XYZ3017q9r60kuHPOca_Ek-btCN2iu1HyVaUe0rd412TzbyCMw", "%s: row 5 column 2", UUID_MAP_NAME);
    TAP_EQ_INT(fx.host.nrows == 5 ? fx.host.rows[4].line : 0, 5, "%s: row 5 on line 5", UUID_MAP_NAME);
}

static void test_sample_dpuuid_map(void)
{
    int outcome = ph_fixture_feed_sample(&fx, DPUUID_MAP_NAME);
    TAP_EQ_INT(outcome, PH_DONE, "%s: done (%s)", DPUUID_MAP_NAME, fx.run.err);
    TAP_EQ_INT(fx.host.nrows, 5, "%s: 5 rows", DPUUID_MAP_NAME);
    TAP_EQ_INT(fx.host.nerrors, 0, "%s: no errors (%s)", DPUUID_MAP_NAME, ph_reason_at(&fx.host, 0));
    TAP_EQ_STR(col(0, 0), DPUUID, "%s: row 1 column 1", DPUUID_MAP_NAME);
    TAP_EQ_STR(col(0, 1), "4598060374", "%s: row 1 column 2", DPUUID_MAP_NAME);
    TAP_EQ_STR(col(4, 1), "4601584763", "%s: row 5 column 2", DPUUID_MAP_NAME);
}

static void test_sample_c2c(void)
{
    int outcome = ph_fixture_feed_sample(&fx, C2C_NAME);
    TAP_EQ_INT(outcome, PH_DONE, "%s: done (%s)", C2C_NAME, fx.run.err);
    TAP_EQ_INT(fx.run.info.flags, BD_FILE_F_C2C, "%s: c2c flag", C2C_NAME);
    TAP_EQ_INT(fx.host.nrows, 3, "%s: 3 rows (CRLF, unterminated last line)", C2C_NAME);
    TAP_EQ_INT(fx.host.nerrors, 0, "%s: no errors (%s)", C2C_NAME, ph_reason_at(&fx.host, 0));
    TAP_EQ_STR(col(0, 1), EMAIL_HASH, "%s: row 1 hash without the CR", C2C_NAME);
    TAP_EQ_INT(fx.host.nrows == 3 ? fx.host.rows[0].col_lens[1] : 0, 64, "%s: hash is 64 bytes", C2C_NAME);
    TAP_EQ_STR(col(2, 1), "feec5debcea411f54462a345a0d90c9975415d2d4862745ff8af00c49b6b4ae6",
               "%s: row 3 hash (unterminated last line)", C2C_NAME);
    TAP_EQ_STR(col(2, 0), "89159024796760343733111707646026765593", "%s: row 3 DPUUID", C2C_NAME);
    TAP_EQ_INT(fx.host.nrows == 3 ? fx.host.rows[2].line : 0, 3, "%s: row 3 on line 3", C2C_NAME);
}

/* ---------------------------------------------------------------- rows */

static const ph_line_case row_shapes[] = {
    {UUID_MAP_NAME, AAM_UUID "\t" DPUUID, PH_PASSES, "two columns"},
    {UUID_MAP_NAME, AAM_UUID "\t" DPUUID "\tX", BD_ERR_FORMAT, "row has 3 columns, file name names 2 DPIDs"},
    {UUID_MAP_NAME, AAM_UUID, BD_ERR_FORMAT, "row has 1 columns, file name names 2 DPIDs"},
    {"adobe_id_111_222_333_444_1454442149.sync", "abc123\tdef456\tghi789", BD_ERR_FORMAT,
     "row has 3 columns, file name names 4 DPIDs"},
    {UUID_MAP_NAME, AAM_UUID "\t" DPUUID "\t", BD_ERR_FORMAT, "row ends in a TAB or space"},
    {UUID_MAP_NAME, AAM_UUID "\t" DPUUID " ", BD_ERR_FORMAT, "row ends in a TAB or space"},
    {UUID_MAP_NAME, "\t" DPUUID, BD_ERR_FORMAT, "column 1 is empty"},
    {"adobe_id_111_222_333_1454442149.sync", "a\t\tb", BD_ERR_FORMAT, "column 2 is empty"},
    {UUID_MAP_NAME, AAM_UUID "\t " DPUUID, BD_ERR_FORMAT, "column 2: ID ' XYZ3017D"},
    {UUID_MAP_NAME, AAM_UUID " \t" DPUUID, BD_ERR_FORMAT, "has a leading or trailing space"},
    {UUID_MAP_NAME, AAM_UUID "\tabc\x01" "def", BD_ERR_FORMAT, "column 2: ID 'abc?def' contains a control"},
};

static void test_row_shapes(void)
{
    expect_lines(row_shapes, COUNT_OF(row_shapes));
    ph_fixture_feed(&fx, "adobe_id_111_222_333_444_1454442149.sync", "abc123\tdef456\tghi789\txyz987");
    TAP_EQ_INT(fx.host.nrows, 1, "doc-string example: 4 columns pass");
    TAP_EQ_STR(col(0, 3), "xyz987", "doc-string example: column 4");
}

static void test_id_length(void)
{
    char line[600];
    size_t n = (size_t)snprintf(line, sizeof line, "%s\t", AAM_UUID);
    memset(line + n, 'a', 256);
    line[n + 256] = '\0';
    expect_row(UUID_MAP_NAME, line, "a 256-byte ID");
    TAP_EQ_INT(fx.host.nrows ? fx.host.rows[0].col_lens[1] : 0, 256, "256-byte ID kept whole");
    line[n + 256] = 'a';
    line[n + 257] = '\0';
    expect_error(UUID_MAP_NAME, line, BD_ERR_FORMAT, "column 2: ID is 257 bytes, longer than the 256 allowed");
}

static const ph_line_case url_encodings[] = {
    {UUID_MAP_NAME, AAM_UUID "\tuser%3A1", BD_ERR_FORMAT, "column 2: ID 'user%3A1' is URL-encoded"},
    {UUID_MAP_NAME, AAM_UUID "\tjoe%40example.com", BD_ERR_FORMAT, "IDs must not be URL-encoded"},
    {UUID_MAP_NAME, AAM_UUID "\tuser%2f1", BD_ERR_FORMAT, "is URL-encoded"},
    {UUID_MAP_NAME, AAM_UUID "\t100%", PH_PASSES, "a '%' not followed by two hex digits"},
    {UUID_MAP_NAME, AAM_UUID "\t50%off", PH_PASSES, "'%of' is not an encoding"},
};

static void test_url_encoding(void)
{
    expect_lines(url_encodings, COUNT_OF(url_encodings));
}

static const ph_line_case id_namespaces[] = {
    {UUID_MAP_NAME, "1234\t" DPUUID, BD_ERR_INVALID_ID, "column 1: ID '1234' is not a 38-digit AAM UUID (DPID 0)"},
    {UUID_MAP_NAME, AAM_UUID "9\t" DPUUID, BD_ERR_INVALID_ID, "is not a 38-digit AAM UUID"},
    {UUID_MAP_NAME, "6807998276567319850405265607445619603x\t" DPUUID, BD_ERR_INVALID_ID,
     "column 1: ID '6807998276567319850405265607445619603x'"},
    {UUID_MAP_NAME, AAM_UUID "\tuser:1", BD_ERR_INVALID_ID,
     "column 2: ID 'user:1' contains ':', which DPUUIDs must not (DPID 12345)"},
    {"adobe_id_20914_12345_1476312152.sync", "E4FE9BDE-CAA0-47B6-908D-FFBA3FA184F2\tcrm1", BD_ERR_INVALID_ID,
     "column 1: ID 'E4FE9BDE-CAA0-47B6-908D-FFBA3FA184F2' is not a lowercase GAID"},
    {"adobe_id_20914_12345_1476312152.sync", GAID "\tcrm1", PH_PASSES, "GAID master column"},
    {"adobe_id_12345_0_1476312152.sync", "crm1\t123", BD_ERR_INVALID_ID,
     "column 2: ID '123' is not a 38-digit AAM UUID (DPID 0)"},
    {UUID_MAP_NAME, "1234\tuser%3A1", BD_ERR_FORMAT, "URL-encoded"},
};

static void test_id_namespaces(void)
{
    expect_lines(id_namespaces, COUNT_OF(id_namespaces));
}

static const ph_line_case c2c_hashes[] = {
    {C2C_NAME, AAM_UUID "\t" EMAIL_HASH, PH_PASSES, "c2c lowercase SHA-256"},
    {C2C_NAME, AAM_UUID "\tjoe@example.com", BD_ERR_INVALID_ID,
     "column 2: ID 'joe@example.com' is not a SHA-256 hashed email"},
    {C2C_NAME, AAM_UUID "\t55E79200C1635B37AD31A378C39FEB12F120F116625093A19BC32FFF15041149", BD_ERR_INVALID_ID,
     "64 lowercase hex digits"},
    {C2C_NAME, AAM_UUID "\t55e79200c1635b37ad31a378c39feb12f120f116625093a19bc32fff1504114", BD_ERR_INVALID_ID,
     "is not a SHA-256 hashed email"},
    {"c2c_id_999999_987654_1560431657.sync", "crm-7\t" EMAIL_HASH, PH_PASSES, "c2c DPUUID in column 1"},
};

static void test_c2c_hashes(void)
{
    expect_lines(c2c_hashes, COUNT_OF(c2c_hashes));
}

static void test_mixed_file(void)
{
    int outcome =
        ph_fixture_feed(&fx, UUID_MAP_NAME, "\r\n" AAM_UUID "\t" DPUUID "\r\nbad\r\n\r\n" AAM_UUID "\tX2\r\n");
    TAP_EQ_INT(outcome, PH_DONE, "mixed file: done");
    TAP_EQ_INT(fx.host.nrows, 2, "mixed file: 2 rows");
    TAP_EQ_INT(fx.host.nerrors, 1, "mixed file: 1 error");
    TAP_EQ_INT(fx.host.nrows == 2 ? fx.host.rows[0].line : 0, 2, "mixed file: first row on line 2");
    TAP_EQ_INT(fx.host.nrows == 2 ? fx.host.rows[1].line : 0, 5, "mixed file: second row on line 5");
    TAP_OK(ph_error_on_line(&fx.host, 3) != NULL, "mixed file: the error is on line 3");
}

static void test_emit_stop(void)
{
    fx.host.emit_budget = 2;
    int outcome = ph_fixture_feed_sample(&fx, UUID_MAP_NAME);
    fx.host.emit_budget = -1;
    TAP_EQ_INT(outcome, PH_ABANDONED, "emit_idsync -1 makes line() return -1");
    TAP_EQ_INT(fx.host.nrows, 2, "two rows accepted before the stop");
    TAP_EQ_INT(fx.run.last_line, 3, "the file stopped at line 3");
}

static void test_open_checks(void)
{
    bd_file_info info;
    char err[256];
    ph_host_clear(&fx.host);
    ph_parse_name(idsync, UUID_MAP_NAME, &info, err, sizeof err);
    info.kind = BD_FILE_TRAITS;
    TAP_EQ_INT(ph_try_open(idsync, &fx.host.api, &fx.host, &info, err, sizeof err), -1,
               "open refuses a trait-file info");
    info.kind = BD_FILE_IDSYNC;
    info.ndpids = BD_MAX_DPIDS + 1;
    TAP_EQ_INT(ph_try_open(idsync, &fx.host.api, &fx.host, &info, err, sizeof err), -1, "open refuses too many DPIDs");
    info.ndpids = 2;
    bd_host_api broken = fx.host.api;
    broken.emit_idsync = NULL;
    TAP_EQ_INT(ph_try_open(idsync, &broken, &fx.host, &info, err, sizeof err), -1,
               "open refuses a host without emit_idsync");
}

int main(void)
{
    if (ph_fixture_open(&fx, "aam-idsync.so") < 0) {
        printf("not ok 1 - load aam-idsync.so: %s\n1..1\n", fx.plugin.error);
        return 1;
    }
    TAP_OK(1, "aam-idsync.so loads and passes the ABI checks");
    idsync = fx.plugin.desc;

    test_descriptor();
    test_valid_names();
    test_invalid_names();
    test_sample_uuid_map();
    test_sample_dpuuid_map();
    test_sample_c2c();
    test_row_shapes();
    test_id_length();
    test_url_encoding();
    test_id_namespaces();
    test_c2c_hashes();
    test_mixed_file();
    test_emit_stop();
    test_open_checks();

    TAP_EQ_INT(fx.violations, 0, "no plugin.h contract violation in any run");
    ph_fixture_close(&fx);
    return tap_done();
}
