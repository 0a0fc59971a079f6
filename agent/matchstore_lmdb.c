/* matchstore_lmdb.c: the LMDB backend of the ID-match table (one environment under state_dir/match). */
#include "config.h"
#include "fsutil.h"
#include "matchstore.h"
#include <errno.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Key: 8-byte big-endian DPID + partner ID bytes.
 * Value: 'U' + our 38-digit ID, or 'L' + key of the entry it links to. */
#define KEY_MAX (8 + BD_MATCH_MAX_ID)

typedef struct lmdb_store {
    bd_matchstore base;
    MDB_env *env;
    MDB_dbi dbi;
    int readonly;
} lmdb_store;

typedef struct lmdb_reader {
    bd_matchstore *ms; /* must come first: the dispatcher reads it */
    MDB_txn *txn;
} lmdb_reader;

/* A batch collects its puts and writes them to the B-tree in key order, a chunk at a time: sorted inserts touch
 * each page once, random ones fault a page per put (an ID-sync file arrives in the partner's order). */
#define BATCH_CHUNK 262144 /* entries sorted and written together: bounded memory whatever the file size */

typedef struct pending_put {
    uint32_t off;  /* into the arena: key bytes, then value bytes */
    uint16_t klen, vlen;
    uint32_t seq;  /* arrival order: of two puts of one key, the later wins */
} pending_put;

typedef struct lmdb_batch {
    bd_matchstore *ms; /* must come first */
    MDB_txn *txn;
    pending_put *puts;
    size_t nputs;
    unsigned char *arena;
    size_t used, cap;
    uint32_t seq;
} lmdb_batch;

static size_t make_key(unsigned char *key, int64_t dpid, const char *id, size_t len)
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
    return (bd_matchreader *)r;
}

static int lmdb_lookup(bd_matchreader *rd, int64_t dpid, const char *id, size_t len, char ours[BD_OURID_LEN + 1])
{
    lmdb_reader *r = (lmdb_reader *)rd;
    lmdb_store *s = (lmdb_store *)r->ms;
    unsigned char key[KEY_MAX];
    if (len == 0 || len > BD_MATCH_MAX_ID)
        return 0;
    MDB_val k = {make_key(key, dpid, id, len), key}, v;
    for (int hop = 0; hop < BD_MATCH_MAX_HOPS; hop++) {
        int rc = mdb_get(r->txn, s->dbi, &k, &v);
        if (rc == MDB_NOTFOUND)
            return 0;
        if (rc)
            return -1;
        const unsigned char *val = v.mv_data;
        if (v.mv_size == 1 + BD_OURID_LEN && val[0] == 'U') {
            memcpy(ours, val + 1, BD_OURID_LEN);
            ours[BD_OURID_LEN] = '\0';
            return 1;
        }
        if (v.mv_size < 1 + 8 + 1 || v.mv_size > 1 + KEY_MAX || val[0] != 'L')
            return -1; /* not something this code wrote */
        memcpy(key, val + 1, v.mv_size - 1);
        k.mv_size = v.mv_size - 1;
        k.mv_data = key;
    }
    return 0; /* a chain longer than BD_MATCH_MAX_HOPS (or a loop) resolves to nothing */
}

static void lmdb_reader_close(bd_matchreader *rd)
{
    lmdb_reader *r = (lmdb_reader *)rd;
    mdb_txn_abort(r->txn);
    free(r);
}

static bd_matchbatch *lmdb_batch_begin(bd_matchstore *ms, char *err, size_t errlen)
{
    lmdb_store *s = (lmdb_store *)ms;
    if (s->readonly) {
        snprintf(err, errlen, "match store is open read-only");
        return NULL;
    }
    lmdb_batch *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int rc = mdb_txn_begin(s->env, NULL, 0, &b->txn);
    if (rc) {
        snprintf(err, errlen, "match store: cannot start a write transaction: %s", mdb_strerror(rc));
        free(b);
        return NULL;
    }
    b->ms = ms;
    return (bd_matchbatch *)b;
}

static const unsigned char *sort_arena; /* for the qsort comparator (one batch flushes at a time) */

static int by_key_then_seq(const void *a, const void *b)
{
    const pending_put *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(sort_arena + x->off, sort_arena + y->off, n);
    if (c == 0 && x->klen != y->klen)
        c = x->klen < y->klen ? -1 : 1;
    if (c == 0)
        c = x->seq < y->seq ? -1 : x->seq > y->seq;
    return c;
}

/* Write the collected puts in key order (LMDB's default key order is memcmp, as here). 0, or an MDB error. */
static int flush_puts(lmdb_batch *b)
{
    lmdb_store *s = (lmdb_store *)b->ms;
    if (!b->nputs)
        return 0;
    sort_arena = b->arena;
    qsort(b->puts, b->nputs, sizeof *b->puts, by_key_then_seq);
    int rc = 0;
    for (size_t i = 0; i < b->nputs && rc == 0; i++) {
        const pending_put *p = &b->puts[i];
        MDB_val k = {p->klen, b->arena + p->off}, v = {p->vlen, b->arena + p->off + p->klen};
        rc = mdb_put(b->txn, s->dbi, &k, &v, 0);
    }
    b->nputs = 0;
    b->used = 0;
    return rc;
}

static int stash_put(lmdb_batch *b, const unsigned char *key, size_t klen, const unsigned char *val, size_t vlen)
{
    if (b->nputs == BATCH_CHUNK) {
        int rc = flush_puts(b);
        if (rc) {
            errno = rc == MDB_MAP_FULL ? ENOSPC : EIO;
            return -1;
        }
    }
    if (!b->puts && !(b->puts = malloc(BATCH_CHUNK * sizeof *b->puts)))
        return -1;
    if (b->used + klen + vlen > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : (size_t)BATCH_CHUNK * 64;
        unsigned char *grown = realloc(b->arena, cap);
        if (!grown)
            return -1;
        b->arena = grown;
        b->cap = cap;
    }
    memcpy(b->arena + b->used, key, klen);
    memcpy(b->arena + b->used + klen, val, vlen);
    b->puts[b->nputs++] = (pending_put){(uint32_t)b->used, (uint16_t)klen, (uint16_t)vlen, b->seq++};
    b->used += klen + vlen;
    return 0;
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
    size_t klen = make_key(key, dpid, id, len);
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
        vlen = 1 + make_key(val + 1, to_dpid, to, to_len);
    }
    return stash_put(b, key, klen, val, vlen);
}

static void free_batch(lmdb_batch *b)
{
    free(b->puts);
    free(b->arena);
    free(b);
}

static int lmdb_batch_commit(bd_matchbatch *bt, char *err, size_t errlen)
{
    lmdb_batch *b = (lmdb_batch *)bt;
    int rc = flush_puts(b);
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

static void lmdb_close(bd_matchstore *ms)
{
    lmdb_store *s = (lmdb_store *)ms;
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

bd_matchstore *bd_matchstore_open_lmdb(const char *dir, uint64_t map_size, int readonly, char *err, size_t errlen)
{
    lmdb_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &lmdb_ops;
    s->readonly = readonly;
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
