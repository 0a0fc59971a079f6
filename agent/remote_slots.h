/* remote_slots.h: cap this agent's concurrent SFTP sessions per host (max_sessions) with lock files in state_dir/locks. */
#ifndef BD_REMOTE_SLOTS_H
#define BD_REMOTE_SLOTS_H
#include "conf.h"

typedef struct bd_slot {
    int fd; /* the locked slot file, -1 when none is held */
} bd_slot;

/* Take one of r->max_sessions slots for r->host:r->port under state_dir/locks.
 * 0 = held, 1 = all busy (try again later), -1 = error. Works across processes. */
int bd_slot_take(bd_slot *slot, const bd_config *cfg, const bd_remote *r);
void bd_slot_release(bd_slot *slot);
/* Open (creating) the lock file state_dir/locks/<name>, its path into path: an fd, or -1 with errno. */
int bd_lock_file_open(const bd_config *cfg, const char *name, char *path, size_t len);
#endif
