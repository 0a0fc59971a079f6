/* dispatch.h: the worker pool: up to `workers` batches at once, one batch at a time per partner, committed by the supervisor. */
#ifndef BD_DISPATCH_H
#define BD_DISPATCH_H
#include <poll.h>

struct bd_agent;
struct bd_inbox;
struct bd_partner;

int bd_dispatch_init(struct bd_agent *a);
void bd_dispatch_free(struct bd_agent *a);
/* Is a file of this partner in a worker now? Its next file waits, so that a
 * partner's files (ID-sync before traits) are processed in order. */
int bd_dispatch_busy(const struct bd_agent *a, const struct bd_partner *p);
/* Is a file of this partner left claimed for a retry? Its later files wait until the retry. */
int bd_dispatch_held(const struct bd_agent *a, const struct bd_partner *p);
/* Files of this partner (by name) in a worker now. */
int bd_dispatch_partner_active(const struct bd_agent *a, const char *partner);
/* Does a file in flight run under this configuration (one replaced by a reload)? */
struct bd_config;
int bd_dispatch_uses_config(const struct bd_agent *a, const struct bd_config *cfg);
/* The files in flight under cfg use these plugins (moved into a retired generation). */
struct bd_plugins;
void bd_dispatch_retarget_plugins(struct bd_agent *a, const struct bd_config *cfg, const struct bd_plugins *plugins);
/* Grow the pool to `workers` slots (a reload raised the setting). */
int bd_dispatch_resize(struct bd_agent *a, int workers);
/* Take a claimed file into its partner's batch: small files (up to 1 MiB, 64 files and 16 MiB a batch)
 * share one worker and one group commit; a larger file runs alone. Waits for a free worker (and for the
 * partner's previous batch) first, committing what finishes meanwhile. A batch starts when it is full,
 * at bd_dispatch_launch, or at the next reap. */
void bd_dispatch_start(struct bd_agent *a, struct bd_inbox *in, const char *claim_id, const char *claim_path,
                       const char *name, int truncated_is_final);
/* Keep a spare worker ready (forked and confined ahead: see bd_worker_prefork) for the next batch. Not with a
 * redis match store: a spare's connections could go stale while it waits. */
void bd_dispatch_prefork(struct bd_agent *a);
/* Start every batch still forming (the inbox pass that claimed its files is over). */
void bd_dispatch_launch(struct bd_agent *a);
/* Finish (collect, commit) every worker that is done or past its deadline; block
 * until one is when `block` is set. Returns the number finished. */
int bd_dispatch_reap(struct bd_agent *a, int block);
/* Wait for every file in hand. */
void bd_dispatch_drain(struct bd_agent *a);
int bd_dispatch_active(const struct bd_agent *a);
int bd_dispatch_has_claim(const struct bd_agent *a, const char *claim_id);
/* A claim whose commit failed after its journal entry: it stays claimed, its partner waits, and it is replayed
 * after retry_interval. */
void bd_dispatch_left_for_retry(struct bd_agent *a, const char *partner, const char *claim_id, const char *what);
/* For the event loop: the result pipes to poll, and seconds to the nearest deadline (-1: none). */
int bd_dispatch_pollfds(const struct bd_agent *a, struct pollfd *fds, int max);
double bd_dispatch_next_deadline(const struct bd_agent *a);
#endif
