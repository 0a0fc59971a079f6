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
int bd_ledger_journal_get(bd_ledger *l, const char *claim_id, char **journal_json); /* 1/0/-1 */
int bd_ledger_journal_delete(bd_ledger *l, const char *claim_id, char *err, size_t errlen);
/* Every journal entry, for recovery: callback(claim_id, json, arg). */
int bd_ledger_journal_each(bd_ledger *l, int (*cb)(const char *claim_id, const char *json, void *arg), void *arg);
int bd_ledger_count(bd_ledger *l, size_t *files, size_t *journal);
#endif
