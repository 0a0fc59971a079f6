/* claim.h: atomic claims: rename a complete inbox file into the agent's claim folder on the same file system. */
#ifndef BD_CLAIM_H
#define BD_CLAIM_H
#include "inbox.h"
#include <stddef.h>

#define BD_CLAIM_ID_MAX 48
#define BD_CLAIM_SEP '~' /* claimed files are named <claim id>~<original name> */

/* The claimed file's name, "<claim id>~<name>"; a name too long for that (and for the archive's
 * sidecars) is cut and ends in "#<8 hex digits of its hash>" (the receipt keeps the full name). */
int bd_claim_entry(char *out, size_t len, const char *claim_id, const char *name);
/* A new claim ID, unique for this agent across restarts: c<ms>-<pid>-<seq>. */
void bd_claim_new_id(unsigned *seq, char out[BD_CLAIM_ID_MAX]);
/* Claim inbox/name by rename. 1 = claimed (claim_path set), 0 = gone (another agent
 * was faster, or the partner removed it), -1 = error (errno). The rename is not durable yet:
 * bd_claim_sync must succeed before the job's outcome is committed. */
int bd_claim_take(const bd_inbox *in, const char *name, const char *claim_id, char *claim_path, size_t len);
/* Make the inbox's claims durable (fsync of the claim folder and of the inbox). The dispatcher calls it
 * while the worker parses, so it costs no latency. */
int bd_claim_sync(const bd_inbox *in);
/* Give a claimed file back to the inbox under its name (never replacing a newer file). */
int bd_claim_release(const bd_inbox *in, const char *claim_path, const char *name);
/* Split "<id>~<name>"; -1 when the name is not a claim. */
int bd_claim_split(const char *claimed, char id[BD_CLAIM_ID_MAX], const char **name);
/* Call cb for every file in the claim folder (left by a crash). */
int bd_claim_each(const bd_inbox *in,
                  void (*cb)(const bd_inbox *in, const char *claim_id, const char *claim_path, const char *name,
                             void *arg),
                  void *arg);
#endif
