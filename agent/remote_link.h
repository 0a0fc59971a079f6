/* remote_link.h: one SFTP connection to a partner's server, with a session slot and capped, jittered reconnect back-off. */
#ifndef BD_REMOTE_LINK_H
#define BD_REMOTE_LINK_H
#include "conf.h"
#include "remote_slots.h"
#include "sftp.h"

typedef struct bd_remote_link {
    const bd_config *cfg;
    const bd_remote *r;
    const char *partner;
    bd_sftp *s;               /* NULL when not connected */
    bd_slot slot;
    double next_try, backoff; /* reconnect schedule: 1 s doubling to 300 s, +0-25% jitter */
    unsigned long failures;
    double next_busy_log;     /* rate limit of the "all slots busy" warning */
} bd_remote_link;

void bd_link_init(bd_remote_link *l, const bd_config *cfg, const bd_remote *r, const char *partner);
/* Connected? Connects when the back-off allows. 1 = up (*fresh = 1 when just connected), 0 = not now. */
int bd_link_up(bd_remote_link *l, int *fresh);
/* Log a failed operation with its class; a transient one (or a dead session) drops the link. Returns c. */
bd_sftp_class bd_link_failed(bd_remote_link *l, bd_sftp_class c, const char *what, const char *err);
/* Close the connection and schedule the reconnect. */
void bd_link_drop(bd_remote_link *l);
/* Close without a back-off (shutting down). */
void bd_link_close(bd_remote_link *l);
#endif
