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
/* Group commit: the same for a batch of one partner's files, in their order, with each step's fsyncs once
 * for the group (one journal transaction, one receipts append, one fsync per folder). A file that fails
 * before its journal entry stops the group there: it and the files after it get rc -1 (their partner's order
 * holds). A file with the content of an earlier file of the group is its duplicate. */
typedef struct bd_commit_item {
    bd_job *job;
    const char *claim_id, *claim_path;
    int rc; /* out: as bd_commit_job returns */
} bd_commit_item;
void bd_commit_jobs(bd_agent *a, bd_commit_item *items, size_t n);
/* Under run, a group commit stops once its outputs are renamed and its receipts written; the rest (fdatasync of
 * the receipts, fsync of the outbox folders, hand-offs, archiving) waits for the groups after it (up to
 * BD_COMMIT_TAIL_WAIT seconds, or 8 files) and runs once for all of them (each entry stays in the journal until
 * then). bd_commit_tail_due: when it is due (monotonic; -1 when nothing waits); bd_commit_tail_flush: run it now
 * (also before a reload, a retry pass, exit). */
#define BD_COMMIT_TAIL_WAIT 0.2
double bd_commit_tail_due(const bd_agent *a);
void bd_commit_tail_flush(bd_agent *a);
void bd_commit_tail_free(bd_agent *a);
/* Finish the journaled commit of one claim: 1 done, 0 no journal entry, -1 failed. */
int bd_commit_replay_claim(bd_agent *a, const char *claim_id);
/* Replay every journal entry left by a crash. */
int bd_commit_recover(bd_agent *a);
#endif
