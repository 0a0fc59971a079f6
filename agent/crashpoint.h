/* crashpoint.h: test builds only (--enable-test-hooks): die (BD_CRASH_AT) or pause (BD_PAUSE_AT) at a named point. */
#ifndef BD_CRASHPOINT_H
#define BD_CRASHPOINT_H

#ifdef BD_TEST_HOOKS
/* BD_CRASH_AT="name" or "name:N": SIGKILL this process at the N-th (default first) pass through `name`. */
void bd_crashpoint(const char *name);
/* BD_PAUSE_AT="name:S": sleep S seconds at each pass through `name` (a test changes something meanwhile). */
void bd_pausepoint(const char *name);
#else
#define bd_crashpoint(name) ((void)0)
#define bd_pausepoint(name) ((void)0)
#endif
#endif
