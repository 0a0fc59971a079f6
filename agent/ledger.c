/* ledger.c: LMDB environment under state_dir/ledger with the "files" (SHA-256) and "journal" (claim) tables. */
#include "config.h"
#include "ledger.h"
#include "fsutil.h"
#include "strutil.h"
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORGET_MAX 256 /* journal deletes queued for the next write transaction */
#define CLAIM_KEY_MAX 128

struct bd_ledger {
    MDB_env *env;
    MDB_dbi files, journal;
    int readonly;
    int nforget;
    char forget[FORGET_MAX][CLAIM_KEY_MAX];
};

static int open_dbs(bd_ledger *l)
{
    MDB_txn *txn;
    unsigned flags = l->readonly ? 0 : MDB_CREATE;
    int rc = mdb_txn_begin(l->env, NULL, l->readonly ? MDB_RDONLY : 0, &txn);
    if (rc)
        return rc;
    if (!(rc = mdb_dbi_open(txn, "files", flags, &l->files)) &&
        !(rc = mdb_dbi_open(txn, "journal", flags, &l->journal)))
        return mdb_txn_commit(txn);
    mdb_txn_abort(txn);
    return rc;
}

bd_ledger *bd_ledger_open(const char *dir, int readonly, char *err, size_t errlen)
{
    bd_ledger *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->readonly = readonly;
    if (!readonly && bd_mkdir_p(dir, 0750) < 0) {
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
        rc = mdb_env_open(l->env, dir, MDB_NOTLS | (readonly ? MDB_RDONLY : 0), 0640);
    if (!rc)
        rc = open_dbs(l);
    if (rc) {
        snprintf(err, errlen, "ledger %s: %s", dir, mdb_strerror(rc));
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
    if (bd_ledger_flush(l, err, sizeof err) < 0) /* else the next start replays and deletes them */
        fprintf(stderr, "batchdrop: %s\n", err);
    mdb_env_close(l->env);
    free(l);
}

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

int bd_ledger_lookup(bd_ledger *l, const char *sha256, char **entry)
{
    return get_copy(l, l->files, sha256, entry);
}

int bd_ledger_journal_get(bd_ledger *l, const char *claim_id, char **journal_json)
{
    return get_copy(l, l->journal, claim_id, journal_json);
}

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

/* The queued deletes, in the caller's transaction. */
static int apply_forgotten(bd_ledger *l, MDB_txn *txn)
{
    int rc = 0;
    for (int i = 0; i < l->nforget && rc == 0; i++)
        rc = del_journal(txn, l->journal, l->forget[i]);
    return rc;
}

/* Begin a write transaction that carries the queued deletes; end_write commits it (and empties the queue) or aborts. */
static int begin_write(bd_ledger *l, MDB_txn **txn)
{
    int rc = mdb_txn_begin(l->env, NULL, 0, txn);
    if (rc == 0 && (rc = apply_forgotten(l, *txn)) != 0)
        mdb_txn_abort(*txn);
    return rc;
}

static int end_write(bd_ledger *l, MDB_txn *txn, int rc, char *err, size_t errlen)
{
    if (rc != 0)
        mdb_txn_abort(txn);
    else if ((rc = mdb_txn_commit(txn)) == 0) /* a failed commit frees the transaction too */
        l->nforget = 0;
    if (rc)
        snprintf(err, errlen, "ledger write failed: %s", mdb_strerror(rc));
    return rc ? -1 : 0;
}

int bd_ledger_journal_put_many(bd_ledger *l, const bd_journal_put *puts, size_t n, char *err, size_t errlen)
{
    MDB_txn *txn = NULL;
    int rc = begin_write(l, &txn);
    if (rc) {
        snprintf(err, errlen, "ledger write failed: %s", mdb_strerror(rc));
        return -1;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = put(txn, l->journal, puts[i].claim_id, puts[i].journal_json);
        if (rc == 0 && puts[i].sha256)
            rc = put(txn, l->files, puts[i].sha256, puts[i].ledger_json);
    }
    return end_write(l, txn, rc, err, errlen);
}

int bd_ledger_journal_put(bd_ledger *l, const char *claim_id, const char *journal_json, const char *sha256,
                          const char *ledger_json, char *err, size_t errlen)
{
    bd_journal_put one = {claim_id, journal_json, sha256, ledger_json};
    return bd_ledger_journal_put_many(l, &one, 1, err, errlen);
}

int bd_ledger_journal_delete(bd_ledger *l, const char *claim_id, char *err, size_t errlen)
{
    MDB_txn *txn = NULL;
    int rc = begin_write(l, &txn);
    if (rc) {
        snprintf(err, errlen, "ledger write failed: %s", mdb_strerror(rc));
        return -1;
    }
    return end_write(l, txn, del_journal(txn, l->journal, claim_id), err, errlen);
}

int bd_ledger_journal_forget(bd_ledger *l, const char *claim_id, char *err, size_t errlen)
{
    if (strlen(claim_id) >= CLAIM_KEY_MAX)
        return bd_ledger_journal_delete(l, claim_id, err, errlen);
    if (l->nforget == FORGET_MAX && bd_ledger_flush(l, err, errlen) < 0)
        return -1;
    snprintf(l->forget[l->nforget++], CLAIM_KEY_MAX, "%s", claim_id);
    return 0;
}

int bd_ledger_flush(bd_ledger *l, char *err, size_t errlen)
{
    if (l->nforget == 0 || l->readonly)
        return 0;
    MDB_txn *txn = NULL;
    int rc = begin_write(l, &txn);
    if (rc) {
        snprintf(err, errlen, "ledger write failed: %s", mdb_strerror(rc));
        return -1;
    }
    return end_write(l, txn, 0, err, errlen);
}

int bd_ledger_pending(const bd_ledger *l)
{
    return l->nforget;
}

int bd_ledger_journal_each(bd_ledger *l, int (*cb)(const char *claim_id, const char *json, void *arg), void *arg)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    /* Copy the entries first: the callback may write to the journal. */
    char **keys = NULL, **vals = NULL;
    size_t n = 0;
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

int bd_ledger_count(bd_ledger *l, size_t *files, size_t *journal)
{
    MDB_txn *txn;
    MDB_stat a, b;
    if (mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn))
        return -1;
    int rc = mdb_stat(txn, l->files, &a) || mdb_stat(txn, l->journal, &b);
    mdb_txn_abort(txn);
    if (rc)
        return -1;
    *files = a.ms_entries;
    *journal = b.ms_entries > (size_t)l->nforget ? b.ms_entries - (size_t)l->nforget : 0; /* queued deletes are done */
    return 0;
}
