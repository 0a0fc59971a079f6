/* matchstore_lmdb.c: the LMDB backend of the ID-match table (one environment under state_dir/match). */
#include "config.h"
#include "fsutil.h"
#include "matchstore.h"
#include "matchstore_lmdb.h"
#include "match_index.h"
#include "match_puts.h"
#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define KEY_MAX BD_LMDB_KEY_MAX

typedef struct lmdb_store {
    bd_matchstore base;
    MDB_env *env;
    MDB_dbi dbi;
    int readonly;
    size_t bulk_max; /* buffered bytes a bulk load may hold (read at open: the sandbox forbids getrlimit) */
    bd_match_index *index; /* mapped by index_open (workers), else NULL */
    char dir[PATH_MAX];
} lmdb_store;

typedef struct lmdb_reader {
    bd_matchstore *ms; /* must come first: the dispatcher reads it */
    MDB_txn *txn;
    const bd_match_index *index; /* the store's index when it matches this transaction's snapshot, else NULL */
    MDB_cursor *cur;  /* lookup_many's: positioned where its last key was */
    struct sort_entry *order; /* lookup_many's keys in B-tree order, then as many entries of sort buffer */
    size_t order_cap;
    size_t radix_count[8][256]; /* the radix sort's per-byte histograms */
} lmdb_reader;

/* A batch collects its puts and writes them to the B-tree in key order: sorted inserts touch each page once,
 * random ones fault a page per put (an ID-sync file arrives in the partner's order). Into an empty table the
 * whole batch is sorted and appended (MDB_APPEND: no searches, full pages), up to a third of the process's data
 * limit (the worker's plugin_memory_limit) and at most BULK_MAX_BYTES of buffered puts; otherwise, or past that,
 * a chunk of CHUNK_PUTS is sorted and written at a time, so memory stays bounded. */
#define CHUNK_PUTS 262144
#define BULK_MAX_BYTES ((size_t)3 << 30)

typedef struct lmdb_batch {
    bd_matchstore *ms; /* must come first */
    MDB_txn *txn;
    bd_match_puts *puts;
    int bulk; /* the table was empty: append the whole batch at commit */
} lmdb_batch;

size_t bd_lmdb_make_key(unsigned char *key, int64_t dpid, const char *id, size_t len)
{
    uint64_t d = (uint64_t)dpid;
    for (int i = 7; i >= 0; i--) {
        key[i] = (unsigned char)(d & 0xff);
        d >>= 8;
    }
    memcpy(key + 8, id, len);
    return 8 + len;
}

static bd_matchreader *lmdb_reader_open(bd_matchstore *ms, char *err, size_t errlen)
{
    lmdb_store *s = (lmdb_store *)ms;
    lmdb_reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &r->txn);
    if (rc) {
        snprintf(err, errlen, "match store: cannot start a read transaction: %s", mdb_strerror(rc));
        free(r);
        return NULL;
    }
    r->ms = ms;
    if (bd_match_index_fits(s->index, r->txn, s->dbi))
        r->index = s->index;
    return (bd_matchreader *)r;
}

int bd_lmdb_resolve(MDB_txn *txn, MDB_dbi dbi, MDB_val v, char ours[BD_OURID_LEN + 1])
{
    unsigned char key[KEY_MAX];
    for (int hop = 0; hop < BD_MATCH_MAX_HOPS; hop++) {
        const unsigned char *val = v.mv_data;
        if (v.mv_size == 1 + BD_OURID_LEN && val[0] == 'U') {
            memcpy(ours, val + 1, BD_OURID_LEN);
            ours[BD_OURID_LEN] = '\0';
            return 1;
        }
        if (v.mv_size < 1 + 8 + 1 || v.mv_size > 1 + KEY_MAX || val[0] != 'L')
            return -1; /* not something this code wrote */
        if (hop + 1 == BD_MATCH_MAX_HOPS)
            break; /* the caller's read was the first of BD_MATCH_MAX_HOPS */
        memcpy(key, val + 1, v.mv_size - 1);
        MDB_val k = {v.mv_size - 1, key};
        int rc = mdb_get(txn, dbi, &k, &v);
        if (rc == MDB_NOTFOUND)
            return 0;
        if (rc)
            return -1;
    }
    return 0; /* a chain longer than BD_MATCH_MAX_HOPS (or a loop) resolves to nothing */
}

static int lmdb_lookup(bd_matchreader *rd, int64_t dpid, const char *id, size_t len, char ours[BD_OURID_LEN + 1])
{
    lmdb_reader *r = (lmdb_reader *)rd;
    lmdb_store *s = (lmdb_store *)r->ms;
    unsigned char key[KEY_MAX];
    if (len == 0 || len > BD_MATCH_MAX_ID)
        return 0;
    MDB_val k = {bd_lmdb_make_key(key, dpid, id, len), key}, v;
    int rc = mdb_get(r->txn, s->dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    return rc ? -1 : bd_lmdb_resolve(r->txn, s->dbi, v, ours);
}

/* A batch key's place in B-tree order, near enough: its DPID, then its first 8 ID bytes (big-endian, zero-padded).
 * Keys that share both stay in batch order; the exact order does not matter, only that the cursor moves forward. */
typedef struct sort_entry {
    uint64_t dpid, prefix;
    uint32_t index;
} sort_entry;

static int sort_entry_cmp(const void *a, const void *b)
{
    const sort_entry *x = a, *y = b;
    if (x->dpid != y->dpid)
        return x->dpid < y->dpid ? -1 : 1;
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static uint64_t id_prefix(const char *id, size_t len)
{
    uint64_t p = 0;
    for (size_t i = 0; i < 8; i++)
        p = p << 8 | (i < len ? (unsigned char)id[i] : 0);
    return p;
}

/* LSD radix sort of a[0..n) by prefix, through tmp (n entries), a byte at a time; a byte that all keys share costs
 * no pass. Stable, so equal prefixes stay in batch order. */
static void radix_sort_by_prefix(sort_entry *a, sort_entry *tmp, size_t n, size_t count[8][256])
{
    memset(count, 0, 8 * sizeof count[0]);
    for (size_t i = 0; i < n; i++)
        for (int byte = 0; byte < 8; byte++)
            count[byte][(a[i].prefix >> (8 * byte)) & 0xff]++;
    for (int byte = 0; byte < 8; byte++) {
        size_t *c = count[byte], pos = 0;
        if (c[(a[0].prefix >> (8 * byte)) & 0xff] == n)
            continue; /* one value for every key */
        for (int v = 0; v < 256; v++) {
            size_t k = c[v];
            c[v] = pos;
            pos += k;
        }
        for (size_t i = 0; i < n; i++)
            tmp[c[(a[i].prefix >> (8 * byte)) & 0xff]++] = a[i];
        memcpy(a, tmp, n * sizeof *a);
    }
}

/* The batch's keys sorted in B-tree order: a cursor that moves forward finds the next key in the leaf it is on,
 * or descends through branch pages that the previous key left in the CPU cache. Keys of one DPID (the usual
 * case) are radix-sorted; a batch that mixes DPIDs is sorted with qsort. 0, or -1 out of memory. */
static int sort_batch(lmdb_reader *r, const bd_match_key *keys, size_t n)
{
    if (n == 0)
        return 0;
    if (n > r->order_cap) {
        sort_entry *o = realloc(r->order, 2 * n * sizeof *o); /* the second half: the radix sort's buffer */
        if (!o)
            return -1;
        r->order = o;
        r->order_cap = n;
    }
    int one_dpid = 1;
    for (size_t i = 0; i < n; i++) {
        r->order[i] = (sort_entry){(uint64_t)keys[i].dpid, id_prefix(keys[i].id, keys[i].id_len), (uint32_t)i};
        one_dpid &= keys[i].dpid == keys[0].dpid;
    }
    if (one_dpid)
        radix_sort_by_prefix(r->order, r->order + n, n, r->radix_count);
    else
        qsort(r->order, n, sizeof *r->order, sort_entry_cmp);
    return 0;
}

static int lookup_one_at_cursor(lmdb_reader *r, const bd_match_key *key, bd_match_result *res)
{
    unsigned char kb[KEY_MAX];
    res->found = 0;
    if (key->id_len == 0 || key->id_len > BD_MATCH_MAX_ID)
        return 0;
    MDB_val k = {bd_lmdb_make_key(kb, key->dpid, key->id, key->id_len), kb}, v;
    int rc = mdb_cursor_get(r->cur, &k, &v, MDB_SET);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return -1;
    rc = bd_lmdb_resolve(r->txn, ((lmdb_store *)r->ms)->dbi, v, res->ours);
    res->found = rc == 1;
    return rc < 0 ? -1 : 0;
}

static int lmdb_lookup_many(bd_matchreader *rd, const bd_match_key *keys, bd_match_result *results, size_t n)
{
    lmdb_reader *r = (lmdb_reader *)rd;
    if (r->index) {
        bd_match_index_lookup_many(r->index, keys, results, n);
        return 0;
    }
    if (n > UINT32_MAX || sort_batch(r, keys, n) < 0)
        return -1;
    if (!r->cur && mdb_cursor_open(r->txn, ((lmdb_store *)r->ms)->dbi, &r->cur))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (lookup_one_at_cursor(r, &keys[r->order[i].index], &results[r->order[i].index]) < 0)
            return -1;
    return 0;
}

static void lmdb_reader_close(bd_matchreader *rd)
{
    lmdb_reader *r = (lmdb_reader *)rd;
    if (r->cur)
        mdb_cursor_close(r->cur);
    mdb_txn_abort(r->txn);
    free(r->order);
    free(r);
}

static int table_is_empty(lmdb_store *s, MDB_txn *txn)
{
    MDB_stat st;
    return mdb_stat(txn, s->dbi, &st) == 0 && st.ms_entries == 0;
}

static bd_matchbatch *lmdb_batch_begin(bd_matchstore *ms, char *err, size_t errlen)
{
    lmdb_store *s = (lmdb_store *)ms;
    if (s->readonly) {
        snprintf(err, errlen, "match store is open read-only");
        return NULL;
    }
    lmdb_batch *b = calloc(1, sizeof *b);
    if (!b || !(b->puts = bd_match_puts_new())) {
        snprintf(err, errlen, "out of memory");
        free(b);
        return NULL;
    }
    int rc = mdb_txn_begin(s->env, NULL, 0, &b->txn);
    if (rc) {
        snprintf(err, errlen, "match store: cannot start a write transaction: %s", mdb_strerror(rc));
        bd_match_puts_free(b->puts);
        free(b);
        return NULL;
    }
    b->ms = ms;
    b->bulk = table_is_empty(s, b->txn);
    return (bd_matchbatch *)b;
}

typedef struct put_target {
    MDB_cursor *cur;
    unsigned flags; /* MDB_APPEND for a bulk load */
} put_target;

static int put_one(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    put_target *t = arg;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    return mdb_cursor_put(t->cur, &k, &v, t->flags);
}

/* Write the buffered puts in key order, through one cursor. 0, or an MDB error. */
static int flush_puts(lmdb_batch *b, unsigned flags)
{
    put_target t = {NULL, flags};
    int rc = mdb_cursor_open(b->txn, ((lmdb_store *)b->ms)->dbi, &t.cur);
    if (rc)
        return rc;
    rc = bd_match_puts_drain(b->puts, put_one, &t);
    mdb_cursor_close(t.cur);
    return rc;
}

static int stash_put(lmdb_batch *b, const unsigned char *key, size_t klen, const unsigned char *val, size_t vlen)
{
    int rc = 0;
    if (b->bulk && bd_match_puts_bytes(b->puts) >= ((lmdb_store *)b->ms)->bulk_max) {
        b->bulk = 0; /* too big to hold: the table is still empty, so append what we have; the rest goes in chunks */
        rc = flush_puts(b, MDB_APPEND);
    } else if (!b->bulk && bd_match_puts_count(b->puts) >= CHUNK_PUTS) {
        rc = flush_puts(b, 0);
    }
    if (rc) {
        errno = rc == MDB_MAP_FULL ? ENOSPC : EIO;
        return -1;
    }
    return bd_match_puts_add(b->puts, key, klen, val, vlen);
}

static int lmdb_batch_put(bd_matchbatch *bt, int64_t dpid, const char *id, size_t len, int64_t to_dpid,
                          const char *to, size_t to_len)
{
    lmdb_batch *b = (lmdb_batch *)bt;
    unsigned char key[KEY_MAX], val[1 + KEY_MAX];
    size_t vlen;
    if (len == 0 || len > BD_MATCH_MAX_ID || to_len == 0 || to_len > BD_MATCH_MAX_ID) {
        errno = EINVAL;
        return -1;
    }
    size_t klen = bd_lmdb_make_key(key, dpid, id, len);
    if (to_dpid == 0) {
        if (!bd_is_our_id(to, to_len)) {
            errno = EINVAL;
            return -1;
        }
        val[0] = 'U';
        memcpy(val + 1, to, to_len);
        vlen = 1 + to_len;
    } else {
        val[0] = 'L';
        vlen = 1 + bd_lmdb_make_key(val + 1, to_dpid, to, to_len);
    }
    return stash_put(b, key, klen, val, vlen);
}

static void free_batch(lmdb_batch *b)
{
    bd_match_puts_free(b->puts);
    free(b);
}

static int lmdb_batch_commit(bd_matchbatch *bt, char *err, size_t errlen)
{
    lmdb_batch *b = (lmdb_batch *)bt;
    int rc = flush_puts(b, b->bulk ? MDB_APPEND : 0);
    if (rc)
        mdb_txn_abort(b->txn);
    else
        rc = mdb_txn_commit(b->txn);
    free_batch(b);
    if (rc == MDB_MAP_FULL)
        snprintf(err, errlen, "the match store is full (match_map_size): raise match_map_size and restart the agent");
    else if (rc)
        snprintf(err, errlen, "match store: commit failed: %s", mdb_strerror(rc));
    return rc ? -1 : 0;
}

static void lmdb_batch_abort(bd_matchbatch *bt)
{
    lmdb_batch *b = (lmdb_batch *)bt;
    mdb_txn_abort(b->txn);
    free_batch(b);
}

static int lmdb_count(bd_matchstore *ms, uint64_t *entries)
{
    lmdb_store *s = (lmdb_store *)ms;
    MDB_txn *txn;
    MDB_stat st;
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn))
        return -1;
    int rc = mdb_stat(txn, s->dbi, &st);
    mdb_txn_abort(txn);
    if (rc)
        return -1;
    *entries = st.ms_entries;
    return 0;
}

/* The index reads any batch equally well (16,384 keys keep the helper thread's hand-overs rare). The B-tree, read
 * in key order, gains while more keys of a batch share a leaf: about one key per 40 entries of the store, up to
 * 262,144 (bench case 1 on a 10M-ID store: 262,144 keys a batch took 10.9 s where 4,096 took 15.6). */
#define INDEX_BATCH 16384
#define BTREE_BATCH_MAX 262144
#define BTREE_ENTRIES_PER_KEY 40

static size_t lmdb_batch_hint(bd_matchreader *rd)
{
    lmdb_reader *r = (lmdb_reader *)rd;
    MDB_stat st;
    if (r->index)
        return INDEX_BATCH;
    if (mdb_stat(r->txn, ((lmdb_store *)r->ms)->dbi, &st))
        return 0; /* the default */
    size_t n = st.ms_entries / BTREE_ENTRIES_PER_KEY;
    return n < BTREE_BATCH_MAX ? n : BTREE_BATCH_MAX; /* the caller raises it to its minimum */
}

static const char *lmdb_reader_source(bd_matchreader *rd)
{
    return ((lmdb_reader *)rd)->index ? "lookup index" : "LMDB B-tree";
}

static int lmdb_index_open(bd_matchstore *ms)
{
    lmdb_store *s = (lmdb_store *)ms;
    if (!s->index)
        s->index = bd_match_index_open(s->dir);
    return s->index != NULL;
}

static int lmdb_index_fresh(bd_matchstore *ms)
{
    lmdb_store *s = (lmdb_store *)ms;
    MDB_txn *txn;
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn))
        return 0;
    int fits = bd_match_index_file_fits(s->dir, txn, s->dbi);
    mdb_txn_abort(txn);
    return fits;
}

static int lmdb_index_build(bd_matchstore *ms, uint64_t *entries, char *err, size_t errlen)
{
    lmdb_store *s = (lmdb_store *)ms;
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        snprintf(err, errlen, "match store: cannot start a read transaction: %s", mdb_strerror(rc));
        return -1;
    }
    rc = bd_match_index_build(txn, s->dbi, s->dir, entries, err, errlen);
    mdb_txn_abort(txn);
    return rc;
}

static void lmdb_close(bd_matchstore *ms)
{
    lmdb_store *s = (lmdb_store *)ms;
    bd_match_index_close(s->index);
    mdb_env_close(s->env);
    free(s);
}

static const bd_matchstore_ops lmdb_ops = {
    .name = "lmdb",
    .reader_open = lmdb_reader_open,
    .lookup = lmdb_lookup,
    .reader_close = lmdb_reader_close,
    .batch_begin = lmdb_batch_begin,
    .batch_put = lmdb_batch_put,
    .batch_commit = lmdb_batch_commit,
    .batch_abort = lmdb_batch_abort,
    .count = lmdb_count,
    .close = lmdb_close,
    .lookup_many = lmdb_lookup_many,
    .batch_hint = lmdb_batch_hint,
    .reader_source = lmdb_reader_source,
    .index_open = lmdb_index_open,
    .index_fresh = lmdb_index_fresh,
    .index_build = lmdb_index_build,
};

static int open_env(lmdb_store *s, const char *dir, uint64_t map_size, char *err, size_t errlen)
{
    int rc = mdb_env_create(&s->env);
    if (!rc)
        rc = mdb_env_set_mapsize(s->env, (size_t)map_size);
    if (!rc)
        rc = mdb_env_open(s->env, dir, MDB_NOTLS | (s->readonly ? MDB_RDONLY : 0), 0640);
    if (rc) {
        snprintf(err, errlen, "match store %s: %s", dir, mdb_strerror(rc));
        return -1;
    }
    MDB_txn *txn;
    rc = mdb_txn_begin(s->env, NULL, s->readonly ? MDB_RDONLY : 0, &txn);
    if (!rc)
        rc = mdb_dbi_open(txn, NULL, 0, &s->dbi);
    if (!rc)
        rc = s->readonly ? (mdb_txn_abort(txn), 0) : mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    if (rc) {
        snprintf(err, errlen, "match store %s: %s", dir, mdb_strerror(rc));
        return -1;
    }
    return 0;
}

static size_t bulk_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_DATA, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur / 3 > BULK_MAX_BYTES)
        return BULK_MAX_BYTES;
    return (size_t)(rl.rlim_cur / 3);
}

bd_matchstore *bd_matchstore_open_lmdb(const char *dir, uint64_t map_size, int readonly, char *err, size_t errlen)
{
    lmdb_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &lmdb_ops;
    s->readonly = readonly;
    if (snprintf(s->dir, sizeof s->dir, "%s", dir) >= (int)sizeof s->dir) {
        snprintf(err, errlen, "match store path too long: %s", dir);
        free(s);
        return NULL;
    }
    s->bulk_max = bulk_limit();
    if (!readonly && bd_mkdir_p(dir, 0750) < 0) {
        snprintf(err, errlen, "match store %s: cannot create: %s", dir, strerror(errno));
        free(s);
        return NULL;
    }
    if (open_env(s, dir, map_size, err, errlen) < 0) {
        if (s->env)
            mdb_env_close(s->env);
        free(s);
        return NULL;
    }
    return &s->base;
}
