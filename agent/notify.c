/* notify.c: sd_notify(3) messages for systemd: READY, RELOADING, STOPPING, STATUS and the WATCHDOG keep-alive. */
#include "config.h"
#include "notify.h"
#include "log.h"
#include "strutil.h"
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

static double watchdog_period; /* seconds between pings (half of WatchdogSec), 0 = off */
static double last_ping;
static char last_status[512];

static void notify_send(const char *msg)
{
    int rc = sd_notify(0, msg);
    if (rc < 0)
        log_debug("sd_notify(%s) failed: %s", msg, strerror(-rc));
}

void bd_notify_init(void)
{
    uint64_t usec = 0;
    int rc = sd_watchdog_enabled(0, &usec);
    watchdog_period = rc > 0 && usec > 0 ? (double)usec / 2e6 : 0;
    if (rc < 0)
        log_warn("the systemd watchdog settings are unreadable (%s); not sending WATCHDOG=1", strerror(-rc));
    else if (watchdog_period > 0)
        log_info("systemd watchdog: pinging every %.1f s", watchdog_period);
    last_ping = bd_monotonic();
}

void bd_notify_ready(const char *status)
{
    char msg[600];
    snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", status);
    snprintf(last_status, sizeof last_status, "%s", status);
    notify_send(msg);
}

void bd_notify_reloading(void)
{
    notify_send("RELOADING=1\nSTATUS=reloading the configuration");
}

void bd_notify_stopping(void)
{
    notify_send("STOPPING=1\nSTATUS=stopping: finishing the files in hand");
}

void bd_notify_status(const char *status)
{
    char msg[600];
    if (strcmp(status, last_status) == 0)
        return;
    snprintf(last_status, sizeof last_status, "%s", status);
    snprintf(msg, sizeof msg, "STATUS=%s", status);
    notify_send(msg);
}

void bd_notify_watchdog(void)
{
    double now = bd_monotonic();
    if (watchdog_period <= 0 || now - last_ping < watchdog_period)
        return;
    last_ping = now;
    notify_send("WATCHDOG=1");
}

int bd_notify_cap_ms(int ms)
{
    if (watchdog_period <= 0)
        return ms;
    double due = last_ping + watchdog_period - bd_monotonic();
    int due_ms = due <= 0 ? 0 : (int)(due * 1000) + 1;
    return ms < 0 || due_ms < ms ? due_ms : ms;
}
