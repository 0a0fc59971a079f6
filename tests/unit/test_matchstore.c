/* test_matchstore.c: unit tests of the LMDB ID-match table: batches (bulk load, sorted chunks, last put wins), links, batched lookups, the lookup index, abort, a full map. */
#include "config.h"
#include "matchstore.h"
#include "match_index.h"
#include "tap.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/bd-matchstore-XXXXXX";

static void our_id(char out[BD_OURID_LEN + 1], unsigned long n)
{
    snprintf(out, BD_OURID_LEN + 1, "%038lu", n);
}

static int put(bd_matchbatch *b, int64_t dpid, const char *id, const char *ours)
{
    return bd_matchbatch_put(b, dpid, id, strlen(id), 0, ours, strlen(ours));
}

/* The our-ID a lookup gives, or "" (no match) / "ERR". */
static const char *lookup(bd_matchstore *ms, int64_t dpid, const char *id)
{
    static char ours[BD_OURID_LEN + 1];
    char err[256];
    bd_matchreader *r = bd_matchreader_open(ms, err, sizeof err);
    int rc = r ? bd_matchreader_lookup(r, dpid, id, strlen(id), ours) : -1;
    bd_matchreader_close(r);
    return rc < 0 ? "ERR" : rc == 0 ? "" : ours;
}

static void test_last_put_wins_and_links(bd_matchstore *ms)
{
    char err[256], a[BD_OURID_LEN + 1], b[BD_OURID_LEN + 1];
    our_id(a, 1);
    our_id(b, 2);
    bd_matchbatch *bt = bd_matchbatch_begin(ms, err, sizeof err);
    TAP_OK(bt != NULL, "a batch begins");
    TAP_EQ_INT(put(bt, 478, "P-1", a), 0, "put P-1 -> 1");
    TAP_EQ_INT(put(bt, 478, "P-1", b), 0, "put P-1 -> 2 in the same batch");
    TAP_EQ_INT(bd_matchbatch_put(bt, 479, "Q-1", 3, 478, "P-1", 3), 0, "link Q-1 (DPID 479) -> P-1 (DPID 478)");
    TAP_EQ_INT(bd_matchbatch_commit(bt, err, sizeof err), 0, "commit");
    TAP_EQ_STR(lookup(ms, 478, "P-1"), b, "the later put of a key wins");
    TAP_EQ_STR(lookup(ms, 479, "Q-1"), b, "a link is followed");
    TAP_EQ_STR(lookup(ms, 478, "P-404"), "", "an unknown ID has no match");
}

static void test_chunks(bd_matchstore *ms)
{
    char err[256], ours[BD_OURID_LEN + 1], id[32];
    bd_matchbatch *bt = bd_matchbatch_begin(ms, err, sizeof err);
    int bad = 0;
    our_id(ours, 7);
    bad |= put(bt, 500, "EARLY-LATE", ours); /* in the first sorted chunk */
    for (unsigned long i = 0; i < 300000; i++) { /* more than one chunk (262144), in no key order */
        unsigned long k = (i * 2654435761UL) % 300000;
        snprintf(id, sizeof id, "R-%lu", k);
        our_id(ours, 1000000 + k);
        bad |= put(bt, 500, id, ours);
    }
    our_id(ours, 8);
    bad |= put(bt, 500, "EARLY-LATE", ours); /* in the second chunk: must win over the first */
    TAP_EQ_INT(bad, 0, "300002 puts across two sorted chunks");
    TAP_EQ_INT(bd_matchbatch_commit(bt, err, sizeof err), 0, "commit");
    uint64_t n = 0;
    TAP_EQ_INT(bd_matchstore_count(ms, &n), 0, "count");
    TAP_EQ_INT(n, 2 + 1 + 300000, "every distinct key is stored once (P-1, Q-1, EARLY-LATE and the 300000)");
    our_id(ours, 1000000 + 123456);
    TAP_EQ_STR(lookup(ms, 500, "R-123456"), ours, "a key from the first chunk");
    our_id(ours, 1000000 + 299999);
    TAP_EQ_STR(lookup(ms, 500, "R-299999"), ours, "a key from anywhere");
    our_id(ours, 8);
    TAP_EQ_STR(lookup(ms, 500, "EARLY-LATE"), ours, "the later put wins across chunks");
}

/* n keys for lookup_many: "R-<k>" in DPID 500 in shuffled order (every 7th one unknown, every 11th a short or
 * empty ID); with mixed set, also a link, a direct key and an unknown key in other DPIDs. ids holds the text. */
static size_t many_keys(bd_match_key *keys, char (*ids)[32], size_t n, int mixed)
{
    static const struct {
        int64_t dpid;
        const char *id;
    } others[] = {{479, "Q-1"}, {478, "P-1"}, {478, "P-404"}, {1, "R-5"}};
    for (size_t i = 0; i < n; i++) {
        unsigned long k = (i * 2654435761UL) % 300000;
        if (i % 7 == 0)
            snprintf(ids[i], sizeof ids[i], "R-%lu", 300000 + k);
        else if (i % 11 == 0)
            snprintf(ids[i], sizeof ids[i], "%s", i % 22 ? "R" : "");
        else
            snprintf(ids[i], sizeof ids[i], "R-%lu", k);
        keys[i] = (bd_match_key){.dpid = 500, .id = ids[i], .id_len = strlen(ids[i])};
        if (mixed && i % 13 == 0)
            keys[i] = (bd_match_key){.dpid = others[i % 4].dpid, .id = others[i % 4].id,
                                     .id_len = strlen(others[i % 4].id)};
    }
    return n;
}

/* lookup_many gives, in key order, what one lookup per key gives: a batch of one DPID (radix-sorted) and a mixed
 * one (sorted by comparison), each holding links, unknown IDs, short and empty IDs. */
static void test_lookup_many(bd_matchstore *ms)
{
    enum { N = 6000 };
    static bd_match_key keys[N];
    static bd_match_result res[N];
    static char ids[N][32];
    char err[256];
    for (int mixed = 0; mixed < 2; mixed++) {
        size_t n = many_keys(keys, ids, N, mixed), wrong = 0, found = 0;
        bd_matchreader *r = bd_matchreader_open(ms, err, sizeof err);
        int rc = r ? bd_matchreader_lookup_many(r, keys, res, n) : -1;
        TAP_EQ_INT(rc, 0, "lookup_many of %zu keys (%s)", n, mixed ? "mixed DPIDs" : "one DPID");
        for (size_t i = 0; rc == 0 && i < n; i++) {
            char one[BD_OURID_LEN + 1];
            int want = bd_matchreader_lookup(r, keys[i].dpid, keys[i].id, keys[i].id_len, one);
            wrong += want != res[i].found || (want == 1 && strcmp(one, res[i].ours));
            found += res[i].found;
        }
        bd_matchreader_close(r);
        TAP_EQ_INT(wrong, 0, "each result is the single lookup's (%zu found)", found);
        TAP_OK(found > n / 2 && found < n, "some keys are found, some not (%zu of %zu)", found, n);
    }
}

/* lookup_many of both key sets against one lookup per key (which reads the B-tree). Mismatches (with
 * only_false_matches, only the batched matches that are wrong count, not the missed ones), -1 on error;
 * *source: what the reader's batches read. */
static long compare_many(bd_matchstore *ms, const char **source, int only_false_matches)
{
    enum { N = 6000 };
    static bd_match_key keys[N];
    static bd_match_result res[N];
    static char ids[N][32];
    char err[256];
    long wrong = 0;
    for (int mixed = 0; mixed < 2; mixed++) {
        size_t n = many_keys(keys, ids, N, mixed);
        bd_matchreader *r = bd_matchreader_open(ms, err, sizeof err);
        if (!r || bd_matchreader_lookup_many(r, keys, res, n) < 0) {
            bd_matchreader_close(r);
            return -1;
        }
        *source = bd_matchreader_source(r);
        for (size_t i = 0; i < n; i++) {
            char one[BD_OURID_LEN + 1];
            int want = bd_matchreader_lookup(r, keys[i].dpid, keys[i].id, keys[i].id_len, one);
            if (only_false_matches)
                wrong += res[i].found && (want != 1 || strcmp(one, res[i].ours));
            else
                wrong += want != res[i].found || (want == 1 && strcmp(one, res[i].ours));
        }
        bd_matchreader_close(r);
    }
    return wrong;
}

static long many_vs_single(bd_matchstore *ms, const char **source)
{
    return compare_many(ms, source, 0);
}

static bd_matchstore *reopen(bd_matchstore *ms)
{
    char err[512];
    bd_matchstore_close(ms);
    ms = bd_matchstore_open_lmdb(dir, 1ULL << 30, 0, err, sizeof err);
    if (ms)
        bd_matchstore_index_open(ms);
    return ms;
}

/* The lookup index: built from the store, read by batched lookups while the store is unchanged, ignored (the
 * B-tree read instead) once a commit changed the store, and rebuilt. */
static bd_matchstore *test_index(bd_matchstore *ms)
{
    char err[512] = "", ours[BD_OURID_LEN + 1];
    const char *source = "";
    uint64_t entries = 0, count = 0;
    TAP_EQ_INT(bd_matchstore_index_fresh(ms), 0, "no index yet: not fresh");
    TAP_EQ_INT(bd_matchstore_index_build(ms, &entries, err, sizeof err), 0, "the index builds (%s)", err);
    bd_matchstore_count(ms, &count);
    TAP_EQ_INT(entries, count, "every entry is indexed, the link resolved (%llu)", (unsigned long long)entries);
    TAP_EQ_INT(bd_matchstore_index_fresh(ms), 1, "the index is fresh");
    TAP_EQ_INT(bd_matchstore_index_open(ms), 1, "the index maps");
    TAP_EQ_INT(many_vs_single(ms, &source), 0, "batched lookups through the index give what the B-tree gives");
    TAP_EQ_STR(source, "lookup index", "and they read the index");
    bd_matchbatch *bt = bd_matchbatch_begin(ms, err, sizeof err);
    our_id(ours, 4242);
    put(bt, 478, "P-1", ours); /* remap P-1, which Q-1 (DPID 479) links to */
    put(bt, 500, "R-300007", ours); /* one that many_keys looks up as unknown */
    TAP_EQ_INT(bt ? bd_matchbatch_commit(bt, err, sizeof err) : -1, 0, "a commit changes the store");
    TAP_EQ_INT(bd_matchstore_index_fresh(ms), 0, "the index is stale");
    TAP_EQ_INT(many_vs_single(ms, &source), 0, "batched lookups still give what the B-tree gives");
    TAP_EQ_STR(source, "LMDB B-tree", "they read the B-tree, not the stale index");
    TAP_EQ_INT(bd_matchstore_index_build(ms, &entries, err, sizeof err), 0, "the index builds again (%s)", err);
    ms = reopen(ms);
    TAP_OK(ms != NULL, "the store reopens with the new index");
    if (!ms)
        return NULL;
    TAP_EQ_INT(many_vs_single(ms, &source), 0, "the new index gives the new mappings (the link too)");
    TAP_EQ_STR(source, "lookup index", "read through the new index");
    return ms;
}

/* A damaged index is read safely: with junk over its slots it maps, and the matches it finds are still true
 * ones (each entry's key is compared), though it misses those whose slots the junk replaced (like data.mdb, the
 * file has no checksum); a cut file does not map at all. ASan and valgrind check that no read leaves the file. */
static bd_matchstore *test_damaged_index(bd_matchstore *ms)
{
    char path[600];
    const char *source = "";
    snprintf(path, sizeof path, "%s/%s", dir, BD_MATCH_INDEX_FILE);
    int fd = open(path, O_RDWR);
    TAP_OK(fd >= 0, "the index file opens for damage");
    if (fd < 0)
        return ms;
    unsigned char junk[65536];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 131 + (i >> 7) * 17);
    TAP_EQ_INT(pwrite(fd, junk, sizeof junk, 4096), (long)sizeof junk, "64 KiB of junk over the slots");
    ms = reopen(ms);
    TAP_EQ_INT(ms ? compare_many(ms, &source, 1) : -1, 0, "lookups through the damaged index find no false match");
    TAP_EQ_STR(source, "lookup index", "(they read the damaged index)");
    TAP_EQ_INT(ftruncate(fd, 5000), 0, "the index is cut short");
    ms = reopen(ms);
    TAP_EQ_INT(ms ? many_vs_single(ms, &source) : -1, 0, "lookups are still right");
    TAP_EQ_STR(source, "LMDB B-tree", "a cut index is not mapped");
    close(fd);
    return ms;
}

static void test_abort(bd_matchstore *ms)
{
    char err[256], ours[BD_OURID_LEN + 1];
    our_id(ours, 9);
    bd_matchbatch *bt = bd_matchbatch_begin(ms, err, sizeof err);
    put(bt, 478, "ABORTED", ours);
    bd_matchbatch_abort(bt);
    TAP_EQ_STR(lookup(ms, 478, "ABORTED"), "", "an aborted batch writes nothing");
}

static void test_full_map(void)
{
    char sub[600], err[512], ours[BD_OURID_LEN + 1], id[32];
    snprintf(sub, sizeof sub, "%s/small", dir);
    bd_matchstore *ms = bd_matchstore_open_lmdb(sub, 256 * 1024, 0, err, sizeof err);
    TAP_OK(ms != NULL, "a 256 KiB store opens");
    if (!ms)
        return;
    bd_matchbatch *bt = bd_matchbatch_begin(ms, err, sizeof err);
    int rc = 0;
    for (unsigned long i = 0; i < 20000 && rc == 0; i++) {
        snprintf(id, sizeof id, "F-%lu", i);
        our_id(ours, i);
        rc = put(bt, 478, id, ours);
    }
    rc = rc == 0 ? bd_matchbatch_commit(bt, err, sizeof err) : (bd_matchbatch_abort(bt), rc);
    TAP_EQ_INT(rc, -1, "20000 mappings do not fit");
    TAP_OK(strstr(err, "the match store is full") != NULL, "the error says the store is full (%s)", err);
    bd_matchstore_close(ms);
}

/* A bulk load (an empty table is appended to in one sorted pass): keys that are prefixes of each other, cross
 * the 16 bytes compared as integers, hold 0x00 and 0xff bytes, in two DPIDs, in shuffled order, some twice. */
static void test_bulk_load_order(void)
{
    char err[512], bulk_dir[] = "/tmp/bd-matchstore-bulk-XXXXXX";
    if (!mkdtemp(bulk_dir))
        return;
    bd_matchstore *ms = bd_matchstore_open_lmdb(bulk_dir, 1ULL << 28, 0, err, sizeof err);
    TAP_OK(ms != NULL, "a fresh store opens for a bulk load");
    if (!ms)
        return;
    static const char *const stems[] = {"A", "AB", "A0", "ABCDEFG", "ABCDEFGH", "ABCDEFGHI", "ABCDEFGH\x01",
                                        "ABCDEFGH\xff", "\xff", "ABCDEFGH\x01Z", "ZZZZZZZZZZZZZZZZZZZZ"};
    const size_t nstems = sizeof stems / sizeof stems[0], n = 4000;
    char ours[BD_OURID_LEN + 1], id[64];
    bd_matchbatch *bt = bd_matchbatch_begin(ms, err, sizeof err);
    int bad = 0;
    for (size_t k = 0; k < n; k++) { /* k*7919 mod n visits every i once, out of order */
        size_t i = (k * 7919) % n;
        int len = snprintf(id, sizeof id, "%s%c%zu", stems[i % nstems], i % 3 ? '\0' : '-', i / nstems);
        our_id(ours, i);
        bad |= bd_matchbatch_put(bt, i % 2 ? 478 : 1234567, id, (size_t)len, 0, ours, BD_OURID_LEN);
        if (i % 5 == 0) { /* the same key again, later: this one must win */
            our_id(ours, i + 100000);
            bad |= bd_matchbatch_put(bt, i % 2 ? 478 : 1234567, id, (size_t)len, 0, ours, BD_OURID_LEN);
        }
    }
    TAP_EQ_INT(bad, 0, "4000 keys (and 800 later puts of the same keys) into an empty table");
    TAP_EQ_INT(bd_matchbatch_commit(bt, err, sizeof err), 0, "the bulk load commits (keys appended in order)");
    int wrong = 0;
    bd_matchreader *r = bd_matchreader_open(ms, err, sizeof err);
    for (size_t i = 0; r && i < n; i++) {
        char got[BD_OURID_LEN + 1];
        int len = snprintf(id, sizeof id, "%s%c%zu", stems[i % nstems], i % 3 ? '\0' : '-', i / nstems);
        our_id(ours, i % 5 == 0 ? i + 100000 : i);
        wrong += bd_matchreader_lookup(r, i % 2 ? 478 : 1234567, id, (size_t)len, got) != 1 || strcmp(got, ours);
    }
    bd_matchreader_close(r);
    TAP_EQ_INT(wrong, 0, "every key reads back its last value");
    uint64_t count = 0;
    TAP_EQ_INT(bd_matchstore_count(ms, &count) == 0 ? (long)count : -1, (long)n, "4000 entries, no duplicates");
    bd_matchstore_close(ms);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", bulk_dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", bulk_dir);
}

int main(void)
{
    char err[512];
    if (!mkdtemp(dir))
        return 1;
    bd_matchstore *ms = bd_matchstore_open_lmdb(dir, 1ULL << 30, 0, err, sizeof err);
    TAP_OK(ms != NULL, "the store opens (%s)", ms ? "ok" : err);
    if (!ms)
        return tap_done();
    test_last_put_wins_and_links(ms);
    test_chunks(ms);
    test_lookup_many(ms);
    ms = test_index(ms);
    if (ms)
        ms = test_damaged_index(ms);
    if (!ms)
        return tap_done();
    test_abort(ms);
    bd_matchstore_close(ms);
    test_full_map();
    test_bulk_load_order();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return tap_done();
}
