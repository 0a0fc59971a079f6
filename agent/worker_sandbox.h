/* worker_sandbox.h: confine a worker: resource limits, privilege drop, no_new_privs and a seccomp allow-list. */
#ifndef BD_WORKER_SANDBOX_H
#define BD_WORKER_SANDBOX_H
#include "conf.h"
#include <stdint.h>

/* Resource limits and (when root and cfg->user is set) the switch to that user.
 * Before any file is opened for the job. 0 or -1 with err. */
int bd_sandbox_limits(const bd_config *cfg, char *err, size_t errlen);
/* no_new_privs and the seccomp filter: what decoding, parsing, matching and
 * writing the staged outputs need, nothing else. A forbidden call kills the
 * worker with SIGSYS after recording its number in *syscall_out, except socket
 * and connect, which fail with EPERM: a redis match store's reconnect (after a
 * failover) is then a clean transient error and the file is retried. */
int bd_sandbox_seccomp(volatile int32_t *syscall_out, char *err, size_t errlen);
/* "openat", "socket", ... for a syscall number of this architecture */
const char *bd_sandbox_syscall_name(int nr);
#endif
