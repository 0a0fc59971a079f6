/* daemon.h: the agent: its configuration, plugins, stores and inboxes, and the run/once loops. */
#ifndef BD_DAEMON_H
#define BD_DAEMON_H
#include "conf.h"
#include "inbox.h"
#include "ledger.h"
#include "matchstore.h"
#include "plugin_loader.h"
#include "remote_proc.h"
#include <limits.h>
#include <stdint.h>

typedef struct bd_stats {
    uint64_t ok, rejected, duplicate, retried, incomplete;
} bd_stats;

typedef struct bd_agent {
    bd_config *cfg;
    bd_plugins plugins;
    bd_matchstore *ms;
    bd_ledger *ledger;
    bd_inbox *inboxes;
    size_t ninboxes;
    char archive_dir[PATH_MAX], quarantine_dir[PATH_MAX];
    unsigned seq;
    bd_stats stats;
    int internal_errors; /* files left claimed for a retry, store or disk failures */
    unsigned deferred;   /* files left in an inbox this pass because their partner was busy */
    double next_claim_retry; /* monotonic time to revisit files left claimed, 0 = none */
    int sigfd;               /* run: SIGTERM/SIGINT/SIGHUP/SIGCHLD, -1 otherwise */
    bd_children children;    /* run: SFTP fetcher and pusher processes */
    struct bd_inflight *pool; /* files in workers (dispatch.c) */
    int npool;
    int stopping;
} bd_agent;

int bd_agent_open(bd_agent *a, bd_config *cfg);
void bd_agent_close(bd_agent *a);
/* `batchdrop once`: everything complete now, then return. 0 ok, 1 internal failure. */
int bd_agent_once(bd_agent *a);
/* `batchdrop run`: watch until SIGTERM/SIGINT. */
int bd_agent_run(bd_agent *a);
/* Process one claimed file end to end (job + commit). */
void bd_agent_process_claim(bd_agent *a, bd_inbox *in, const char *claim_id, const char *claim_path,
                            const char *name, int truncated_is_final);
#endif
