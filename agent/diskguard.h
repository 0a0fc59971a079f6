/* diskguard.h: the low-disk guard: no new claims while the outbox or state file system is below min_free_space. */
#ifndef BD_DISKGUARD_H
#define BD_DISKGUARD_H
#include "conf.h"
#include <stdint.h>

typedef struct bd_disk_state {
    int low;                       /* 1: below min_free_space */
    const char *which;             /* "outbox" or "state_dir" (the lower one when low) */
    uint64_t outbox_free, state_free; /* bytes available to the agent */
    double checked;                /* monotonic time of the last statvfs */
} bd_disk_state;

/* Refresh (at most once a second) and return 1 when claiming must pause. Logs each change of state. */
int bd_disk_low(bd_disk_state *d, const bd_config *cfg);
#endif
