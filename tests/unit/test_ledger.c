/* test_ledger.c: unit tests of the ledger's write-ahead log: what a crash leaves is applied once, and only that. */
#include "config.h"
#include "ledger.h"
#include "ledger_wal.h"
#include "tap.h"
#include "test_util.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[512];
static int case_no;

/* A fresh ledger folder for one case. */
static void end_case(void);
static void new_case(void)
{
    char name[32];
    if (case_no)
        end_case();
    snprintf(name, sizeof name, "ledger%d", ++case_no);
    tmpdir_path(dir, sizeof dir, name);
}

/* The case's folder removed (tmpdir_create removes files only). */
static void end_case(void)
{
    static const char *const files[] = {"data.mdb", "lock.mdb", "wal", "wal.new"};
    char path[600];
    for (size_t i = 0; i < COUNT_OF(files); i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static bd_ledger *open_ledger(void)
{
    char err[512];
    bd_ledger *l = bd_ledger_open(dir, err, sizeof err);
    if (!l)
        bail("cannot open the ledger %s: %s", dir, err);
    return l;
}

static int put1(bd_ledger *l, const char *claim, const char *json, const char *sha, const char *entry)
{
    char err[512];
    bd_journal_put p = {claim, json, sha, entry};
    return bd_ledger_journal_put_many(l, &p, 1, err, sizeof err);
}

static int forget(bd_ledger *l, const char *claim)
{
    char err[512];
    return bd_ledger_journal_forget(l, claim, err, sizeof err);
}

static int flush(bd_ledger *l)
{
    char err[512];
    return bd_ledger_flush(l, err, sizeof err);
}

/* What a read gave, in a static buffer: its JSON, "" when there was none, "?" on an error. */
static const char *shown(int rc, char *json)
{
    static char out[256];
    snprintf(out, sizeof out, "%s", rc < 0 ? "?" : rc == 0 ? "" : json);
    free(json);
    return out;
}

static const char *journal(bd_ledger *l, const char *claim)
{
    char *json = NULL;
    int rc = bd_ledger_journal_get(l, claim, &json);
    return shown(rc, json);
}

static const char *content(bd_ledger *l, const char *sha)
{
    char *json = NULL;
    int rc = bd_ledger_lookup(l, sha, &json);
    return shown(rc, json);
}

/* Run steps(l) in a child that then dies by SIGKILL without closing the ledger: a crash after those writes. */
static void crash_after(void (*steps)(bd_ledger *l))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        bail("fork failed");
    if (pid == 0) {
        static bd_ledger *volatile crashing; /* still reachable when it dies: no leak report from valgrind */
        crashing = open_ledger();
        steps(crashing);
        kill(getpid(), SIGKILL);
        _exit(1);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        bail("the crashing child failed before its crash");
}

static void log_path(char *out, size_t len)
{
    snprintf(out, len, "%s/wal", dir);
}

/* ---------------------------------------------------------------- cases */

static void test_held_writes_are_read(void)
{
    new_case();
    bd_ledger *l = open_ledger();
    char wal[600];
    struct stat st;
    log_path(wal, sizeof wal);
    TAP_OK(stat(wal, &st) == 0 && (size_t)st.st_size == BD_WAL_SIZE, "a new ledger has a zero-filled log of %zu bytes",
           BD_WAL_SIZE);
    TAP_EQ_INT(put1(l, "c1", "{\"n\":1}", "sha-a", "{\"first\":\"c1\"}"), 0, "a put is durable");
    TAP_EQ_STR(journal(l, "c1"), "{\"n\":1}", "its journal entry is read before any checkpoint");
    TAP_EQ_STR(content(l, "sha-a"), "{\"first\":\"c1\"}", "its ledger entry too");
    TAP_EQ_INT(put1(l, "c1", "{\"n\":2}", NULL, NULL), 0, "a second put on the same claim");
    TAP_EQ_STR(journal(l, "c1"), "{\"n\":2}", "the newest entry wins");
    TAP_EQ_INT(forget(l, "c1"), 0, "forget");
    TAP_EQ_STR(journal(l, "c1"), "", "a forgotten entry is gone at once");
    TAP_EQ_STR(content(l, "sha-a"), "{\"first\":\"c1\"}", "its content stays known");
    TAP_EQ_INT(bd_ledger_pending(l), 3, "three operations are held");
    TAP_EQ_INT(flush(l), 0, "checkpoint");
    TAP_EQ_INT(bd_ledger_pending(l), 0, "nothing held after it");
    TAP_EQ_STR(journal(l, "c1"), "", "the entry stays deleted in LMDB");
    TAP_EQ_STR(content(l, "sha-a"), "{\"first\":\"c1\"}", "the content is in LMDB");
    bd_ledger_close(l);
}

static void two_puts(bd_ledger *l)
{
    put1(l, "c1", "{\"n\":1}", "sha-a", "{\"first\":\"c1\"}");
    put1(l, "c2", "{\"n\":2}", NULL, NULL);
}

static void test_crash_replays_the_log(void)
{
    new_case();
    crash_after(two_puts);
    bd_ledger *l = open_ledger();
    TAP_EQ_INT(bd_ledger_pending(l), 0, "crash: opening applies the log to LMDB");
    TAP_EQ_STR(journal(l, "c1"), "{\"n\":1}", "crash: the first record's journal entry is back");
    TAP_EQ_STR(content(l, "sha-a"), "{\"first\":\"c1\"}", "crash: and its ledger entry");
    TAP_EQ_STR(journal(l, "c2"), "{\"n\":2}", "crash: the second record's entry is back");
    bd_ledger_close(l);
}

/* Records 1 (c1) and 2 (c2) applied and deleted by a checkpoint; record 3 (c3, the same size as record 1) then
 * lies over record 1 at the log's start, with record 2 whole behind it. */
static void checkpoint_then_put(bd_ledger *l)
{
    two_puts(l);
    forget(l, "c1");
    forget(l, "c2");
    flush(l);
    put1(l, "c3", "{\"n\":3}", "sha-b", "{\"first\":\"c3\"}");
}

static void test_stale_records_stay_dead(void)
{
    new_case();
    crash_after(checkpoint_then_put);
    bd_ledger *l = open_ledger();
    TAP_EQ_STR(journal(l, "c3"), "{\"n\":3}", "rewound log: the record written after the checkpoint is applied");
    TAP_EQ_STR(journal(l, "c2"), "", "rewound log: an older record behind it is not applied again");
    TAP_EQ_STR(journal(l, "c1"), "", "rewound log: nor the one it overwrote");
    bd_ledger_close(l);
}

static void test_torn_record_is_dropped(void)
{
    new_case();
    crash_after(two_puts);
    char wal[600];
    log_path(wal, sizeof wal);
    FILE *f = fopen(wal, "r+b");
    unsigned char rec[64];
    /* the second record starts where the first ends: find its head by the magic after offset 0 */
    long second = -1;
    for (long at = 4; f && second < 0 && at < 4096; at++)
        if (fseek(f, at, SEEK_SET) == 0 && fread(rec, 1, 4, f) == 4 && memcmp(rec, "BDW1", 4) == 0)
            second = at;
    int c = -1;
    if (second >= 0 && fseek(f, second + 48, SEEK_SET) == 0 && (c = fgetc(f)) != EOF && fseek(f, second + 48, SEEK_SET) == 0)
        fputc(c ^ 0x20, f);
    TAP_OK(f && second > 0 && c >= 0 && fclose(f) == 0, "a byte of the second record is changed (a torn write)");
    bd_ledger *l = open_ledger();
    TAP_EQ_STR(journal(l, "c1"), "{\"n\":1}", "torn: the whole first record is applied");
    TAP_EQ_STR(journal(l, "c2"), "", "torn: the record that fails its CRC is not");
    TAP_EQ_INT(put1(l, "c4", "{\"n\":4}", NULL, NULL), 0, "torn: the log takes new records");
    bd_ledger_close(l);
    l = open_ledger();
    TAP_EQ_STR(journal(l, "c4"), "{\"n\":4}", "torn: and they last");
    bd_ledger_close(l);
}

static char *big_json(size_t size, char fill)
{
    char *s = xmalloc(size + 1);
    memset(s, fill, size);
    s[0] = '"', s[size - 1] = '"', s[size] = '\0';
    return s;
}

/* 30 puts of 100 KB: the 2 MiB log fills and is checkpointed on the way; then one put bigger than the log. */
static void fill_the_log(bd_ledger *l)
{
    char *json = big_json(100 * 1024, 'x'), claim[32];
    for (int i = 0; i < 30; i++) {
        snprintf(claim, sizeof claim, "big%02d", i);
        if (put1(l, claim, json, NULL, NULL) < 0)
            _exit(1);
    }
    free(json);
    json = big_json(3 * 1024 * 1024, 'y');
    if (put1(l, "huge", json, "sha-h", "{\"first\":\"huge\"}") < 0)
        _exit(1);
    free(json);
}

static void test_full_log(void)
{
    new_case();
    crash_after(fill_the_log);
    bd_ledger *l = open_ledger();
    int found = 0;
    char claim[32];
    for (int i = 0; i < 30; i++) {
        char *json = NULL;
        snprintf(claim, sizeof claim, "big%02d", i);
        found += bd_ledger_journal_get(l, claim, &json) == 1 && strlen(json) == 100 * 1024;
        free(json);
    }
    TAP_EQ_INT(found, 30, "full log: all 30 entries of 100 KB last, across a checkpoint the full log forced");
    char *json = NULL;
    TAP_OK(bd_ledger_journal_get(l, "huge", &json) == 1 && strlen(json) == 3 * 1024 * 1024,
           "full log: an entry bigger than the log went straight to LMDB");
    free(json);
    TAP_EQ_STR(content(l, "sha-h"), "{\"first\":\"huge\"}", "full log: with its ledger entry");
    bd_ledger_close(l);
}

static void test_short_log(void)
{
    new_case();
    bd_ledger_close(open_ledger());
    char wal[600];
    log_path(wal, sizeof wal);
    TAP_OK(truncate(wal, 100) == 0, "a log cut to 100 bytes by hand");
    crash_after(two_puts);
    bd_ledger *l = open_ledger();
    TAP_EQ_STR(journal(l, "c1"), "{\"n\":1}", "short log: puts that do not fit still last (written to LMDB)");
    TAP_EQ_STR(journal(l, "c2"), "{\"n\":2}", "short log: every one");
    bd_ledger_close(l);
}

int main(void)
{
    tmpdir_create("bd-ledger");
    test_held_writes_are_read();
    test_crash_replays_the_log();
    test_stale_records_stay_dead();
    test_torn_record_is_dropped();
    test_full_log();
    test_short_log();
    end_case();
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}
