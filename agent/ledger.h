/* ledger.h: the durable record of outcomes: SHA-256 duplicate ledger and the per-claim commit journal (LMDB and a log). */
#ifndef BD_LEDGER_H
#define BD_LEDGER_H
#include <stddef.h>

typedef struct bd_ledger bd_ledger;

/* Writes are made durable in a write-ahead log (ledger_wal.h: one flush) and held in memory, where reads see
 * them, until a checkpoint applies them to LMDB in one transaction: when 32 puts or 256 operations are held (at a
 * forget, in the commit's deferred tail), on bd_ledger_flush (an idle agent, a recovery) and at close. Opening
 * applies what the log holds since the last checkpoint (a crash). */
bd_ledger *bd_ledger_open(const char *dir, char *err, size_t errlen);
void bd_ledger_close(bd_ledger *l);

/* Duplicate ledger. Returns 1 and fills entry (JSON, caller frees) when the
 * SHA-256 is known, 0 when not, -1 on error. */
int bd_ledger_lookup(bd_ledger *l, const char *sha256, char **entry);

/* Durably, for several claims at once (one log record: a group commit), all or none: journal[claim_id] =
 * journal_json and, when sha256 is not NULL, ledger[sha256] = ledger_json. */
typedef struct bd_journal_put {
    const char *claim_id, *journal_json, *sha256, *ledger_json; /* sha256 NULL: no ledger entry */
} bd_journal_put;
int bd_ledger_journal_put_many(bd_ledger *l, const bd_journal_put *puts, size_t n, char *err, size_t errlen);
int bd_ledger_journal_get(bd_ledger *l, const char *claim_id, char **journal_json); /* 1/0/-1 */
/* A finished entry: gone for reads at once, deleted from LMDB at the next checkpoint (not logged: a crash before
 * then leaves an entry whose replay finds its work done and forgets it again). -1 when out of memory, or when
 * this forget's checkpoint failed. */
int bd_ledger_journal_forget(bd_ledger *l, const char *claim_id, char *err, size_t errlen);
int bd_ledger_flush(bd_ledger *l, char *err, size_t errlen); /* a checkpoint; 0 also when nothing is held */
int bd_ledger_pending(const bd_ledger *l);                   /* operations held for the next checkpoint */
/* Every journal entry, for recovery (after a checkpoint): callback(claim_id, json, arg). */
int bd_ledger_journal_each(bd_ledger *l, int (*cb)(const char *claim_id, const char *json, void *arg), void *arg);
#endif
