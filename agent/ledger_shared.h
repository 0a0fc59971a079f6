/* ledger_shared.h: the duplicate ledger shared by a fleet of agents on Redis (SET NX per content key). */
#ifndef BD_LEDGER_SHARED_H
#define BD_LEDGER_SHARED_H
#include "conf.h"
#include <stddef.h>
#include <stdint.h>

/* With match_store type "redis", the "files" part of the ledger (partner/sha256 -> first delivery) lives in Redis
 * under <key_prefix>f:<partner>/<sha256>, so that a file delivered again to another agent is still a duplicate.
 * The commit journal stays local. An entry is written "pending" (with its claim ID and time) before the local
 * journal entry, and made final (status "ok") by the journaled commit once outputs and receipt are durable:
 *  - a crash before the journal entry: the claim is processed again under the same claim ID, finds its own
 *    pending entry and goes on (no loss, one output);
 *  - a crash after it: the journal replay publishes and then finalizes (one output);
 *  - an agent that never comes back: its pending entry is taken over (compare-and-set) by the next agent to
 *    see the content once it is older than abandon_after seconds (no loss; if that agent had already published
 *    before it died, the content is output a second time: the one case of a duplicate output). */
typedef struct bd_shared_ledger bd_shared_ledger;

/* abandon_after for partners with a local inbox (remote inboxes use their claim_timeout): seconds */
#define BD_SHARED_PENDING_TIMEOUT 3600.0

/* NULL with err "" when the configuration has no shared ledger (LMDB store); NULL with err on failure. Servers that
 * cannot be reached yet are not a failure: each call connects again. */
bd_shared_ledger *bd_shared_ledger_open(const bd_config *cfg, char *err, size_t errlen);

/* Take key (partner/sha256) for claim_id, writing pending_json (which holds "id": claim_id).
 * 1: ours (new, our own earlier entry, or an abandoned one taken over); 0: another delivery holds it
 *    (*holder = its JSON, the caller frees); -1: Redis failed (err; retry later). */
int bd_shared_ledger_take(bd_shared_ledger *sl, const char *key, const char *claim_id, const char *pending_json,
                          double abandon_after, char **holder, char *err, size_t errlen);
/* Replace our entry (the one holding claim_id) with its final form; idempotent, and an entry another claim took
 * over is left alone. 0, or -1 with err. */
int bd_shared_ledger_finish(bd_shared_ledger *sl, const char *key, const char *claim_id, const char *final_json,
                            char *err, size_t errlen);
void bd_shared_ledger_close(bd_shared_ledger *sl);
#endif
