/* daemon.h: the agent: its configuration, plugins, stores and inboxes, and the run/once loops. */
#ifndef BD_DAEMON_H
#define BD_DAEMON_H
#include <sys/types.h>
#include "conf.h"
#include "diskguard.h"
#include "inbox.h"
#include "ledger.h"
#include "matchstore.h"
#include "plugin_loader.h"
#include "pstats.h"
#include "remote_proc.h"
#include <limits.h>
#include <stdint.h>

typedef struct bd_stats {
    uint64_t ok, rejected, duplicate, retried, incomplete;
} bd_stats;

/* A configuration that was replaced by a reload, kept until its last file in flight is committed. */
typedef struct bd_generation {
    bd_config *cfg;
    bd_plugins plugins;
    bd_inbox *inboxes;
    size_t ninboxes;
    struct bd_generation *next;
} bd_generation;

typedef struct bd_agent {
    bd_config *cfg;
    bd_plugins plugins;
    bd_matchstore *ms;
    bd_ledger *ledger;
    struct bd_shared_ledger *shared_ledger; /* match_store redis: the fleet's duplicate ledger (ledger_shared.c) */
    int store_down;          /* the match store (or shared ledger) failed last time it was used */
    char store_error[512];   /* why, for status and the log */
    int64_t store_error_ms;
    bd_inbox *inboxes;
    size_t ninboxes;
    char archive_dir[PATH_MAX], quarantine_dir[PATH_MAX];
    unsigned seq;
    bd_stats stats;
    int internal_errors; /* files left claimed for a retry, store or disk failures */
    char *receipts_checked; /* the receipts log whose torn tail (if any) was cut in this process */
    unsigned deferred;   /* files left in an inbox this pass because their partner was busy */
    double next_claim_retry; /* monotonic time to revisit files left claimed, 0 = none */
    double last_commit;      /* monotonic time of the last group commit (finished journal entries wait a while) */
    struct bd_commit_tail *tail; /* run: the commits' steps after their receipts, waiting to run as one (commit.c) */
    int sigfd;               /* run: SIGTERM/SIGINT/SIGHUP/SIGCHLD, -1 otherwise */
    bd_children children;    /* run: SFTP fetcher and pusher processes */
    struct bd_inflight *pool; /* files in workers (dispatch.c) */
    int npool;
    int stopping;
    /* operations: status file, metrics, reload (report.c, reload.c) */
    bd_pstats pstats;
    int64_t started_ms;
    double status_written, metrics_written;
    int report_dirty, status_failing, metrics_failing;
    int reload_pending; /* SIGHUPs since the last reload (coalesced into one) */
    int64_t reload_ms;
    int reload_failed;
    char reload_message[512];
    uint64_t reloads_ok, reloads_failed;
    bd_generation *retired;
    struct bd_watch *watch; /* run: the inotify instance */
    struct bd_mailer *mailer;
    bd_disk_state disk; /* the low-disk guard (diskguard.c) */
    pid_t index_pid;         /* run: the lookup index builder (index_builder.c), 0 = none */
    double index_next_check; /* run: monotonic time of its next look at the index */
} bd_agent;

int bd_agent_open(bd_agent *a, bd_config *cfg);
/* The configuration-dependent half of opening: folders, plugins, inboxes, hand-over to `user`.
 * Used by bd_agent_open and, on a candidate agent, by a reload. */
int bd_agent_open_config(bd_agent *a, bd_config *cfg);
/* run: start watching the inboxes that are not watched yet; scan every local inbox. */
void bd_agent_add_watches(bd_agent *a);
void bd_agent_scan_all(bd_agent *a);
/* reload.c: SIGHUP: load, validate, then swap in the configuration file again. */
void bd_agent_reload(bd_agent *a);
/* reload.c: free the replaced configurations no file in flight uses any more. */
void bd_agent_release_retired(bd_agent *a, int all);
void bd_agent_close(bd_agent *a);
/* `batchdrop once`: everything complete now, then return. 0 ok, 1 internal failure. */
int bd_agent_once(bd_agent *a);
/* `batchdrop run`: watch until SIGTERM/SIGINT. */
int bd_agent_run(bd_agent *a);
/* Process one claimed file end to end (job + commit). */
void bd_agent_process_claim(bd_agent *a, bd_inbox *in, const char *claim_id, const char *claim_path,
                            const char *name, int truncated_is_final);
/* The match store (or the shared ledger on it) worked, or failed with why (NULL: it worked): status and metrics. */
void bd_agent_note_store(bd_agent *a, const char *why);
#endif
