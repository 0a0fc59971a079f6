/* worker.h: run a job's plugin code in a sandboxed, limited child process; the supervisor only commits. */
#ifndef BD_WORKER_H
#define BD_WORKER_H
#include "conf.h"
#include "job.h"

/* Run j (whose inputs are filled in) in a worker process and copy its results
 * back into j. A crash, a hang past plugin_timeout, a blown memory limit or a
 * forbidden system call ends as outcome BD_JOB_FAILED with a reason naming the
 * plugin, the signal and the line. For an ID-sync file the worker keeps its
 * store transaction open; j->batch_commit/j->batch_abort finish it, and
 * bd_worker_release must follow in every case. */
void bd_worker_run(const bd_config *cfg, bd_job *j);
void bd_worker_release(bd_job *j);
/* The same in two steps, so that several workers can run at once: start (0, or -1 with
 * j->outcome set), wait until bd_worker_fd is readable or bd_worker_deadline passes, collect. */
int bd_worker_start(const bd_config *cfg, bd_job *j);
int bd_worker_fd(const bd_job *j);
double bd_worker_deadline(const bd_job *j, const bd_config *cfg);
void bd_worker_collect(const bd_config *cfg, bd_job *j);
/* A batch of one partner's files in one worker, in order (the handle hangs on jobs[0]: poll and collect it
 * there). After the collect, each job with ->ran set has its outcome; the others did not run (the worker
 * stopped after a file holding an ID-sync transaction or to be retried, or it died on another file) and are
 * run again or left claimed by the caller. plugin_timeout counts per file. On -1, jobs[0] has ->ran and
 * outcome BD_JOB_RETRY. */
int bd_worker_start_batch(const bd_config *cfg, bd_job **jobs, int n);
/* A spare worker: forked, limited, with its own store and its sandbox closed ahead of its batch, which the next
 * bd_worker_start_batch hands it over a socket (its inputs and input fds); a batch then starts without the
 * fork and the setup. A worker from a spare that ran a whole batch of small files may stay: it is kept idle
 * for the next batch of that partner only. For this configuration only: spare and idle workers are dropped
 * when cfg or with_store changes; idle ones also after 30 s unused (checked here, called while idle). 0, or -1
 * when the spare could not be forked (batches fork as before). */
int bd_worker_prefork(const bd_config *cfg, const bd_plugins *plugins, int with_store);
void bd_worker_drop_spare(void); /* the spare and every idle worker (a reload, the exit) */
/* The agent stops: the spare and the idle workers dropped, and every worker on its way out reaped. */
void bd_worker_end_all(void);
/* Reap workers that are exiting after reporting everything (block: wait for all of them). */
void bd_worker_reap_exited(int block);
#endif
