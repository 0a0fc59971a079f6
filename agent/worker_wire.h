/* worker_wire.h: a batch's files sent to a pre-forked worker over its socket: the job inputs, the input fd. */
#ifndef BD_WORKER_WIRE_H
#define BD_WORKER_WIRE_H
#include "job.h"

/* Send n jobs (their inputs and receipt identity; each input fd by SCM_RIGHTS) on a SOCK_SEQPACKET socket:
 * one message with the count, then one message per job. 0, or -1 with errno. */
int bd_wire_send_jobs(int sock, bd_job **jobs, int n);
/* In the worker: receive them into a new array of n jobs (*n set), filled as the dispatcher prepared them,
 * with cfg, plugins and ms given. NULL on EOF (the agent dropped the spare) or error. */
bd_job *bd_wire_recv_jobs(int sock, const bd_config *cfg, const bd_plugins *plugins, bd_matchstore *ms, int *n);
/* The batch done with: the input descriptors of jobs that did not run (bd_job_run closes its own) closed,
 * and its memory freed. */
void bd_wire_free_jobs(bd_job *jobs, int n);
#endif
