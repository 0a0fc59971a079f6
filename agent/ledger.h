/* ledger.h: the durable record of outcomes: SHA-256 duplicate ledger and the per-claim commit journal (LMDB). */
#ifndef BD_LEDGER_H
#define BD_LEDGER_H
#include <stddef.h>

typedef struct bd_ledger bd_ledger;

bd_ledger *bd_ledger_open(const char *dir, int readonly, char *err, size_t errlen);
void bd_ledger_close(bd_ledger *l);

/* Duplicate ledger. Returns 1 and fills entry (JSON, caller frees) when the
 * SHA-256 is known, 0 when not, -1 on error. */
int bd_ledger_lookup(bd_ledger *l, const char *sha256, char **entry);

/* In one transaction: journal[claim_id] = journal_json and, when sha256 is
 * not NULL, ledger[sha256] = ledger_json. */
int bd_ledger_journal_put(bd_ledger *l, const char *claim_id, const char *journal_json, const char *sha256,
                          const char *ledger_json, char *err, size_t errlen);
/* The same for several claims in one transaction (a group commit): all or none. */
typedef struct bd_journal_put {
    const char *claim_id, *journal_json, *sha256, *ledger_json; /* sha256 NULL: no ledger entry */
} bd_journal_put;
int bd_ledger_journal_put_many(bd_ledger *l, const bd_journal_put *puts, size_t n, char *err, size_t errlen);
int bd_ledger_journal_get(bd_ledger *l, const char *claim_id, char **journal_json); /* 1/0/-1 */
int bd_ledger_journal_delete(bd_ledger *l, const char *claim_id, char *err, size_t errlen);
/* Group commit of finished entries: the delete is queued and rides in the next write transaction (or the next
 * bd_ledger_flush, which the agent calls when idle and bd_ledger_close calls). A crash before then leaves an entry
 * whose replay finds its work done and deletes it. -1 only when the queue is full and flushing it failed. */
int bd_ledger_journal_forget(bd_ledger *l, const char *claim_id, char *err, size_t errlen);
int bd_ledger_flush(bd_ledger *l, char *err, size_t errlen); /* 0 also when nothing was queued */
int bd_ledger_pending(const bd_ledger *l);                   /* deletes queued */
/* Every journal entry, for recovery: callback(claim_id, json, arg). */
int bd_ledger_journal_each(bd_ledger *l, int (*cb)(const char *claim_id, const char *json, void *arg), void *arg);
int bd_ledger_count(bd_ledger *l, size_t *files, size_t *journal);
#endif
