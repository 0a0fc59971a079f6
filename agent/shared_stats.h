/* shared_stats.h: counters the SFTP fetcher and pusher processes share with the supervisor (one page per agent). */
#ifndef BD_SHARED_STATS_H
#define BD_SHARED_STATS_H
#include "sftp.h"
#include <batchdrop/plugin.h>
#include <stddef.h>
#include <stdint.h>

#define BD_SHARED_PARTNERS 1024
#define BD_SFTP_CLASSES (BD_SFTP_FAILURE + 1)

typedef struct bd_shared_partner {
    char name[72];                         /* "" = free slot; set by the supervisor only */
    uint64_t sftp_errors[BD_SFTP_CLASSES]; /* by bd_sftp_class */
    uint64_t remote_backlog;               /* files listed in the remote inbox, not yet claimed */
    int64_t remote_oldest_mtime;           /* seconds since the epoch, 0 = none */
    uint64_t error_seq;                    /* odd while last_error is being written */
    int64_t last_error_ms;
    char last_error[240];
} bd_shared_partner;

/* Map the shared page (before the children fork). 0 ok, -1 errno. Idempotent. */
int bd_shared_stats_open(void);
/* The supervisor reserves a slot for each configured partner (again after a reload). */
void bd_shared_stats_register(const char *partner);
/* NULL when the page is not mapped or the partner has no slot. */
bd_shared_partner *bd_shared_stats_find(const char *partner);
/* Child side: count an SFTP error and keep its message for `batchdrop status`. */
void bd_shared_sftp_error(const char *partner, bd_sftp_class c, const char *fmt, ...) BD_PRINTF(3, 4);
void bd_shared_remote_backlog(const char *partner, uint64_t n, int64_t oldest_mtime);
/* Reader side: a consistent copy of the last error message (0 if none). */
int64_t bd_shared_last_error(const bd_shared_partner *sp, char *out, size_t len);
#endif
