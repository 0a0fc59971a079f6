/* notify.h: tell systemd (Type=notify) that the agent is ready, reloading, alive (watchdog) and what it is doing. */
#ifndef BD_NOTIFY_H
#define BD_NOTIFY_H

/* Read WATCHDOG_USEC once; call at start-up in the supervisor. */
void bd_notify_init(void);
void bd_notify_ready(const char *status);
void bd_notify_reloading(void);
void bd_notify_stopping(void);
/* STATUS=: one line, sent only when it changed. */
void bd_notify_status(const char *status);
/* WATCHDOG=1 if half the watchdog interval has passed since the last one. */
void bd_notify_watchdog(void);
/* Milliseconds a poll may sleep before the next watchdog ping is due: min(ms, due); ms < 0 means forever. */
int bd_notify_cap_ms(int ms);
#endif
