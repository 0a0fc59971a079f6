/* job.h: processing of one claimed file: decode, parse with its plugin, match, realize, stage the outputs. */
#ifndef BD_JOB_H
#define BD_JOB_H
#include "conf.h"
#include "decode.h"
#include "idcount.h"
#include "matchstore.h"
#include "outbox.h"
#include "plugin_loader.h"
#include "realize.h"
#include "lookup_batch.h"
#include "receipt.h"
#include <limits.h>

typedef enum bd_job_outcome {
    BD_JOB_OK = 0,         /* staged outputs, status ok */
    BD_JOB_REJECTED,       /* bad input: quarantine with a receipt */
    BD_JOB_FAILED,         /* the plugin crashed, hung or ran out of memory: quarantine, status "failed" */
    BD_JOB_INCOMPLETE,     /* the compressed stream ends early: give the file back to the inbox */
    BD_JOB_RETRY,          /* our fault (disk, store): keep it claimed and retry later */
} bd_job_outcome;

/* Why a worker failed a file, for the metrics. */
typedef enum bd_worker_fault {
    BD_FAULT_NONE = 0,
    BD_FAULT_CRASH,
    BD_FAULT_TIMEOUT,
    BD_FAULT_MEMORY,
    BD_FAULT_KILLED /* SIGKILL we did not send (OOM killer, an admin): retried a few times */
} bd_worker_fault;

typedef struct bd_job {
    /* inputs */
    const bd_config *cfg;
    const bd_partner *partner;
    const bd_plugins *plugins;
    bd_matchstore *ms;       /* NULL: matching is skipped (validate without a store) */
    const char *force_format; /* plugin name, overrides the partner's */
    const char *path;        /* the claimed file */
    const char *name;        /* its name as dropped */
    int dry_run;             /* validate: parse and count only */
    const char *done_marker; /* remote source: written once outputs and receipt are durable */
    const char *push_dir;    /* partner has a remote_outbox: queue the outputs there */
    int truncated_is_final;  /* a cut stream is rejected, not given back (BD_TRUNC_* says why) */
    volatile uint64_t *progress; /* worker: the line being parsed, shared with the supervisor */
    int input_fd;                /* > 0: the claimed file, opened by the supervisor (workers may run as `user`) */
    int trace_fd;                /* plugin-test: write every emitted record as a JSON line here (0: off) */
    int64_t names_after_ms;      /* outbox names take a later time (the batch before, staged, not yet published) */

    /* results */
    bd_job_outcome outcome;
    bd_worker_fault fault;
    int ran; /* the worker reported this file's outcome (a batch stops early: see bd_worker_start_batch) */
    bd_receipt r;
    bd_file_info info;
    int has_outbox;
    bd_outbox_result out;
    bd_matchbatch *batch; /* ID-sync writes, committed by the commit step */
    /* Set when the job ran in a worker process, which holds the ID-sync transaction. */
    int (*batch_commit)(struct bd_job *j, char *err, size_t errlen);
    void (*batch_abort)(struct bd_job *j);
    void *worker;
    void *pending; /* a started worker not collected yet */

    /* working state */
    const bd_loaded_plugin *plugin;
    bd_decoder *dec;
    bd_outbox_writer *writer;
    bd_matchreader *reader;
    bd_idcount *per_user, *users;
    bd_realized realized;
    bd_lookup_batch lookups; /* records waiting for their batched match-store lookup */
    bd_lookup_batch handed;  /* the batch the helper thread looks up meanwhile (host_api.c) */
    struct bd_job *lookup_half; /* its counters and errors until merged; NULL: no batch was handed over */
    int host_stop; /* the host asked the plugin to stop (write failure) */
    int out_of_memory; /* host_stop because an allocation failed */
    char host_error[512];
} bd_job;

/* Run the job; fills j->outcome and j->r (status, reason, counters). */
void bd_job_run(bd_job *j);
/* Set the outcome and reason (for outcomes decided outside the job, e.g. a crashed worker). */
void bd_job_fail(bd_job *j, bd_job_outcome outcome, const char *reason);
/* Fill bytes and sha256 of the receipt from the claimed file. */
void bd_job_hash_input(bd_job *j);
/* Remove the staged outbox files a worker left for this job (not published: a duplicate, a failed commit). */
void bd_job_discard_staged(bd_job *j);
/* Free working state; discards staged outputs unless keep_outputs. */
void bd_job_cleanup(bd_job *j, int keep_outputs);
#endif
