/* commit.h: the durable commit of a job's outcome, and replay of interrupted commits after a crash. */
#ifndef BD_COMMIT_H
#define BD_COMMIT_H
#include "daemon.h"
#include "job.h"

/* Publish the outcome of a finished job (status ok, rejected or duplicate):
 *   1. journal the intent (+ the SHA-256 ledger entry) in one LMDB transaction,
 *   2. rename staged outbox files into place and fsync the folder,
 *   3. append the receipt line and fsync it,
 *   4. mark the journal entry done,
 *   5. move the source to archive/ or quarantine/ (or delete it),
 *   6. drop the journal entry.
 * Each step can be redone after a crash. Returns 0; -1 when it failed before
 * the journal was written (staged outputs may be discarded and the file
 * reprocessed); -2 when it failed after (keep the staged outputs: the
 * journal entry drives the retry through bd_commit_replay_claim). */
int bd_commit_job(bd_agent *a, bd_job *j, const char *claim_id, const char *claim_path);
/* Finish the journaled commit of one claim: 1 done, 0 no journal entry, -1 failed. */
int bd_commit_replay_claim(bd_agent *a, const char *claim_id);
/* Replay every journal entry left by a crash. */
int bd_commit_recover(bd_agent *a);
#endif
