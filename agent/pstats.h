/* pstats.h: per-partner running totals and recent events of the supervisor, for the status file and the metrics. */
#ifndef BD_PSTATS_H
#define BD_PSTATS_H
#include <stddef.h>
#include <stdint.h>
#include <batchdrop/plugin.h>

struct bd_job;

typedef enum bd_file_status {
    BD_FS_OK = 0, BD_FS_REJECTED, BD_FS_FAILED, BD_FS_DUPLICATE, BD_FS_INCOMPLETE, BD_FS_RETRY, BD_FS_COUNT
} bd_file_status;

typedef enum bd_record_outcome {
    BD_RO_RECEIVED = 0, BD_RO_STORED, BD_RO_NO_MATCH, BD_RO_INVALID, BD_RO_FORMAT_ERROR, BD_RO_COUNT
} bd_record_outcome;

#define BD_RECENT_ERRORS 5

typedef struct bd_recent_error {
    int64_t ms;
    char msg[300];
} bd_recent_error;

typedef struct bd_pstat {
    char name[72];
    uint64_t files[BD_FS_COUNT];
    uint64_t records[BD_RO_COUNT];
    uint64_t bytes_in;
    uint64_t plugin_crashes, plugin_timeouts, plugin_out_of_memory, workers_killed;
    uint64_t mails_sent, mail_failures;
    int64_t last_success_ms; /* 0 = never (since start) */
    char last_file[256], last_status[16], last_reason[300];
    int64_t last_receipt_ms;
    bd_recent_error errors[BD_RECENT_ERRORS]; /* ring, newest at (nerrors - 1) % BD_RECENT_ERRORS */
    uint64_t nerrors;
    int held; /* a file of this partner is left claimed for a retry: its later files wait (order) */
} bd_pstat;

typedef struct bd_pstats {
    bd_pstat *v;
    size_t n, cap;
} bd_pstats;

/* Find or add (NULL on ENOMEM). Entries survive reloads, so counters never go back. */
bd_pstat *bd_pstats_get(bd_pstats *ps, const char *partner);
/* Find only (NULL if the partner had no event yet). */
const bd_pstat *bd_pstats_find(const bd_pstats *ps, const char *partner);
void bd_pstats_free(bd_pstats *ps);
/* A file's final outcome (after its commit). */
void bd_pstats_outcome(bd_pstats *ps, const struct bd_job *j);
/* A file given back (incomplete) or left claimed for a retry. */
void bd_pstats_file(bd_pstats *ps, const char *partner, bd_file_status st);
/* A worker failed a file (crash, timeout, memory, killed from outside), whatever the file's outcome. */
void bd_pstats_fault(bd_pstats *ps, const char *partner, int fault);
void bd_pstats_error(bd_pstats *ps, const char *partner, const char *fmt, ...) BD_PRINTF(3, 4);
const char *bd_file_status_name(bd_file_status st);
const char *bd_record_outcome_name(bd_record_outcome o);
#endif
