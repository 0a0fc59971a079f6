/* ledger.c: LMDB "files" (SHA-256) and "journal" (claim) tables under state_dir/ledger, behind a write-ahead log. */
#include "config.h"
#include "ledger.h"
#include "fsutil.h"
#include "ledger_wal.h"
#include "strutil.h"
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define APPLY_AT 32   /* journal puts held in the log before a forget checkpoints them into LMDB */
#define OPS_MAX 256   /* puts and deletes held in memory before a forget checkpoints */
#define WAL_NAME "wal"
#define APPLIED_KEY "applied"

/* A journal put (journal_json set; sha256 and ledger_json too when it has a ledger entry) or a delete (a forgotten
 * claim: journal_json NULL). Held in order until the next checkpoint; reads look here first, newest first. */
typedef struct ledger_op {
    char *claim_id, *journal_json, *sha256, *ledger_json;
} ledger_op;

struct bd_ledger {
    MDB_env *env;
    MDB_dbi files, journal, meta;
    bd_wal *wal;
    ledger_op *ops;
    size_t nops, cap, nputs;
};

static int open_dbs(bd_ledger *l)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(l->env, NULL, 0, &txn);
    if (rc)
        return rc;
    if (!(rc = mdb_dbi_open(txn, "files", MDB_CREATE, &l->files)) &&
        !(rc = mdb_dbi_open(txn, "journal", MDB_CREATE, &l->journal)) &&
        !(rc = mdb_dbi_open(txn, "wal", MDB_CREATE, &l->meta)))
        return mdb_txn_commit(txn);
    mdb_txn_abort(txn);
    return rc;
}

/* The sequence number of the last log record applied to LMDB (0 for none). */
static int applied_seq(bd_ledger *l, uint64_t *seq)
{
    MDB_txn *txn;
    MDB_val k = {sizeof APPLIED_KEY - 1, APPLIED_KEY}, v;
    *seq = 0;
    int rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    rc = mdb_get(txn, l->meta, &k, &v);
    if (rc == 0 && v.mv_size == sizeof *seq)
        memcpy(seq, v.mv_data, sizeof *seq);
    mdb_txn_abort(txn);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---------------------------------------------------------------- operations held until a checkpoint */

static void free_op(ledger_op *op)
{
    free(op->claim_id);
    free(op->journal_json);
    free(op->sha256);
    free(op->ledger_json);
}

static void drop_ops(bd_ledger *l)
{
    for (size_t i = 0; i < l->nops; i++)
        free_op(&l->ops[i]);
    l->nops = l->nputs = 0;
}

static int reserve_ops(bd_ledger *l, size_t more)
{
    if (l->nops + more <= l->cap)
        return 0;
    size_t cap = l->cap ? l->cap : 64;
    while (cap < l->nops + more)
        cap *= 2;
    ledger_op *ops = realloc(l->ops, cap * sizeof *ops);
    if (!ops)
        return -1;
    l->ops = ops;
    l->cap = cap;
    return 0;
}

static char *dup_or_null(const char *s, int *failed)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *failed = 1;
    return d;
}

/* Copies of the puts, added to the held operations: all or none. */
static int hold_puts(bd_ledger *l, const bd_journal_put *puts, size_t n)
{
    if (reserve_ops(l, n) < 0)
        return -1;
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        ledger_op *op = &l->ops[l->nops + i];
        op->claim_id = dup_or_null(puts[i].claim_id, &failed);
        op->journal_json = dup_or_null(puts[i].journal_json, &failed);
        op->sha256 = dup_or_null(puts[i].sha256, &failed);
        op->ledger_json = dup_or_null(puts[i].sha256 ? puts[i].ledger_json : NULL, &failed);
    }
    if (failed) {
        for (size_t i = 0; i < n; i++)
            free_op(&l->ops[l->nops + i]);
        return -1;
    }
    l->nops += n;
    l->nputs += n;
    return 0;
}

static int hold_puts_cb(const bd_journal_put *puts, size_t n, void *arg)
{
    return hold_puts(arg, puts, n);
}

/* The newest held operation on claim_id (journal) or sha256 (ledger), NULL when none. */
static const ledger_op *held_claim(const bd_ledger *l, const char *claim_id)
{
    for (size_t i = l->nops; i-- > 0;)
        if (strcmp(l->ops[i].claim_id, claim_id) == 0)
            return &l->ops[i];
    return NULL;
}

static const ledger_op *held_content(const bd_ledger *l, const char *sha256)
{
    for (size_t i = l->nops; i-- > 0;)
        if (l->ops[i].sha256 && strcmp(l->ops[i].sha256, sha256) == 0)
            return &l->ops[i];
    return NULL;
}

/* ---------------------------------------------------------------- LMDB */

static int put(MDB_txn *txn, MDB_dbi dbi, const char *key, const char *value)
{
    MDB_val k = {strlen(key), (void *)key}, v = {strlen(value), (void *)value};
    return mdb_put(txn, dbi, &k, &v, 0);
}

static int del_journal(MDB_txn *txn, MDB_dbi dbi, const char *claim_id)
{
    MDB_val k = {strlen(claim_id), (void *)claim_id};
    int rc = mdb_del(txn, dbi, &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int apply_op(bd_ledger *l, MDB_txn *txn, const ledger_op *op)
{
    if (!op->journal_json)
        return del_journal(txn, l->journal, op->claim_id);
    int rc = put(txn, l->journal, op->claim_id, op->journal_json);
    return rc == 0 && op->sha256 ? put(txn, l->files, op->sha256, op->ledger_json) : rc;
}

/* One transaction: the held operations in order, then `puts` (those too big for the log), and the log's last
 * sequence number as applied. On success the operations are dropped and the log starts again. */
static int checkpoint(bd_ledger *l, const bd_journal_put *puts, size_t n, char *err, size_t errlen)
{
    MDB_txn *txn = NULL;
    uint64_t seq = bd_wal_last_seq(l->wal);
    MDB_val k = {sizeof APPLIED_KEY - 1, APPLIED_KEY}, v = {sizeof seq, &seq};
    int rc = mdb_txn_begin(l->env, NULL, 0, &txn);
    for (size_t i = 0; rc == 0 && i < l->nops; i++)
        rc = apply_op(l, txn, &l->ops[i]);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        ledger_op op = {(char *)puts[i].claim_id, (char *)puts[i].journal_json, (char *)puts[i].sha256,
                        (char *)puts[i].ledger_json};
        rc = apply_op(l, txn, &op);
    }
    if (rc == 0)
        rc = mdb_put(txn, l->meta, &k, &v, 0);
    if (rc == 0)
        rc = mdb_txn_commit(txn); /* a failed commit frees the transaction too */
    else if (txn)
        mdb_txn_abort(txn);
    if (rc) {
        bd_fmt(err, errlen, "ledger write failed: %s", mdb_strerror(rc));
        return -1;
    }
    drop_ops(l);
    bd_wal_rewind(l->wal);
    return 0;
}

/* ---------------------------------------------------------------- open, close */

/* The log: made when missing, its records since the last checkpoint applied to LMDB. */
static int open_wal(bd_ledger *l, const char *dir, char *err, size_t errlen)
{
    char path[4096];
    uint64_t applied;
    int rc = applied_seq(l, &applied);
    if (rc) {
        bd_fmt(err, errlen, "ledger %s: %s", dir, mdb_strerror(rc));
        return -1;
    }
    if (bd_fmt(path, sizeof path, "%s/%s", dir, WAL_NAME) < 0) {
        bd_fmt(err, errlen, "ledger %s: path too long", dir);
        return -1;
    }
    if (!(l->wal = bd_wal_open(path, BD_WAL_SIZE, err, errlen)) ||
        bd_wal_replay(l->wal, applied, hold_puts_cb, l, err, errlen) < 0)
        return -1;
    return l->nops ? checkpoint(l, NULL, 0, err, errlen) : 0;
}

bd_ledger *bd_ledger_open(const char *dir, char *err, size_t errlen)
{
    bd_ledger *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (bd_mkdir_p(dir, 0750) < 0) {
        snprintf(err, errlen, "ledger %s: cannot create: %s", dir, strerror(errno));
        free(l);
        return NULL;
    }
    int rc = mdb_env_create(&l->env);
    if (!rc)
        rc = mdb_env_set_maxdbs(l->env, 4);
    if (!rc)
        rc = mdb_env_set_mapsize(l->env, (size_t)4 << 30); /* ~20 million files */
    if (!rc)
        rc = mdb_env_open(l->env, dir, MDB_NOTLS, 0640);
    if (!rc)
        rc = open_dbs(l);
    if (rc)
        snprintf(err, errlen, "ledger %s: %s", dir, mdb_strerror(rc));
    if (rc || open_wal(l, dir, err, errlen) < 0) {
        drop_ops(l);
        free(l->ops);
        bd_wal_close(l->wal);
        if (l->env)
            mdb_env_close(l->env);
        free(l);
        return NULL;
    }
    return l;
}

void bd_ledger_close(bd_ledger *l)
{
    char err[256];
    if (!l)
        return;
    if (bd_ledger_flush(l, err, sizeof err) < 0) /* else the next start applies the log again */
        fprintf(stderr, "batchdrop: %s\n", err);
    drop_ops(l);
    free(l->ops);
    bd_wal_close(l->wal);
    mdb_env_close(l->env);
    free(l);
}

/* ---------------------------------------------------------------- reads */

static int get_copy(bd_ledger *l, MDB_dbi dbi, const char *key, char **out)
{
    MDB_txn *txn;
    MDB_val k = {strlen(key), (void *)key}, v;
    *out = NULL;
    if (mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn))
        return -1;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == 0)
        *out = bd_strndup(v.mv_data, v.mv_size);
    mdb_txn_abort(txn);
    if (rc == MDB_NOTFOUND)
        return 0;
    return rc == 0 && *out ? 1 : -1;
}

static int held_copy(const char *value, char **out)
{
    *out = value ? strdup(value) : NULL;
    return !value ? 0 : *out ? 1 : -1;
}

int bd_ledger_lookup(bd_ledger *l, const char *sha256, char **entry)
{
    const ledger_op *op = held_content(l, sha256);
    return op ? held_copy(op->ledger_json, entry) : get_copy(l, l->files, sha256, entry);
}

int bd_ledger_journal_get(bd_ledger *l, const char *claim_id, char **journal_json)
{
    const ledger_op *op = held_claim(l, claim_id);
    return op ? held_copy(op->journal_json, journal_json) : get_copy(l, l->journal, claim_id, journal_json);
}

/* ---------------------------------------------------------------- writes */

int bd_ledger_journal_put_many(bd_ledger *l, const bd_journal_put *puts, size_t n, char *err, size_t errlen)
{
    if (n == 0)
        return 0;
    if (reserve_ops(l, n) < 0) {
        bd_fmt(err, errlen, "ledger write failed: out of memory");
        return -1;
    }
    int rc = bd_wal_append(l->wal, puts, n, err, errlen);
    if (rc == 1 && checkpoint(l, NULL, 0, err, errlen) == 0) /* the log is full: empty it and try again */
        rc = bd_wal_append(l->wal, puts, n, err, errlen);
    if (rc == 1) /* bigger than the log: straight into LMDB */
        return checkpoint(l, puts, n, err, errlen);
    if (rc < 0) { /* a record that reached the disk all the same is dropped by its sequence number */
        char more[256];
        if (checkpoint(l, NULL, 0, more, sizeof more) < 0)
            bd_fmt(err + strlen(err), errlen - strlen(err), "; %s", more);
        return -1;
    }
    if (hold_puts(l, puts, n) == 0)
        return 0;
    /* durable in the log but not held for reads: apply it now, or fail the commit (it is replayed at start) */
    return checkpoint(l, puts, n, err, errlen);
}

int bd_ledger_journal_forget(bd_ledger *l, const char *claim_id, char *err, size_t errlen)
{
    char *id = strdup(claim_id);
    if (!id || reserve_ops(l, 1) < 0) {
        free(id);
        bd_fmt(err, errlen, "ledger: out of memory");
        return -1;
    }
    l->ops[l->nops++] = (ledger_op){.claim_id = id};
    if (l->nputs >= APPLY_AT || l->nops >= OPS_MAX)
        return bd_ledger_flush(l, err, errlen);
    return 0;
}

int bd_ledger_flush(bd_ledger *l, char *err, size_t errlen)
{
    return l->nops ? checkpoint(l, NULL, 0, err, errlen) : 0;
}

int bd_ledger_pending(const bd_ledger *l)
{
    return (int)l->nops;
}

int bd_ledger_journal_each(bd_ledger *l, int (*cb)(const char *claim_id, const char *json, void *arg), void *arg)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    /* Copy the entries first: the callback may write to the journal. */
    char **keys = NULL, **vals = NULL, err[256];
    size_t n = 0;
    if (bd_ledger_flush(l, err, sizeof err) < 0) /* the held operations first */
        return -1;
    int rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return -1;
    if ((rc = mdb_cursor_open(txn, l->journal, &cur)) == 0) {
        while (mdb_cursor_get(cur, &k, &v, n ? MDB_NEXT : MDB_FIRST) == 0) {
            char **nk = realloc(keys, (n + 1) * sizeof *nk);
            if (nk)
                keys = nk;
            char **nv = realloc(vals, (n + 1) * sizeof *nv);
            if (nv)
                vals = nv;
            if (!nk || !nv || !(keys[n] = bd_strndup(k.mv_data, k.mv_size))) {
                rc = ENOMEM;
                break;
            }
            if (!(vals[n] = bd_strndup(v.mv_data, v.mv_size))) {
                free(keys[n]);
                rc = ENOMEM;
                break;
            }
            n++;
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    int result = rc ? -1 : 0;
    for (size_t i = 0; i < n; i++) {
        if (result == 0 && cb(keys[i], vals[i], arg) < 0)
            result = -1;
        free(keys[i]);
        free(vals[i]);
    }
    free(keys);
    free(vals);
    return result;
}
