/* diskguard.c: statvfs of the outbox and state_dir against min_free_space; logged once per change of state. */
#include "config.h"
#include "diskguard.h"
#include "log.h"
#include "strutil.h"
#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>

static int free_bytes(const char *dir, uint64_t *out)
{
    struct statvfs st;
    if (statvfs(dir, &st) < 0)
        return -1;
    *out = (uint64_t)st.f_bavail * (uint64_t)st.f_frsize;
    return 0;
}

int bd_disk_low(bd_disk_state *d, const bd_config *cfg)
{
    double now = bd_monotonic();
    if (!cfg->min_free_space) {
        d->low = 0;
        return 0;
    }
    if (d->checked > 0 && now - d->checked < 1.0)
        return d->low;
    d->checked = now;
    if (free_bytes(cfg->outbox, &d->outbox_free) < 0 || free_bytes(cfg->state_dir, &d->state_free) < 0) {
        log_error("cannot read the free space of %s or %s: %s", cfg->outbox, cfg->state_dir, strerror(errno));
        return d->low; /* keep the last verdict */
    }
    int was = d->low;
    d->which = d->outbox_free <= d->state_free ? "outbox" : "state_dir";
    uint64_t least = d->outbox_free <= d->state_free ? d->outbox_free : d->state_free;
    d->low = least < cfg->min_free_space;
    if (d->low && !was)
        log_error("low disk: %s (%s) has %llu MB free, below min_free_space (%llu MB); not claiming new files "
                  "until space is freed (files in flight finish)",
                  d->which, d->outbox_free <= d->state_free ? cfg->outbox : cfg->state_dir,
                  (unsigned long long)(least >> 20), (unsigned long long)(cfg->min_free_space >> 20));
    else if (!d->low && was)
        log_info("disk space is back above min_free_space (%llu MB free); claiming again",
                 (unsigned long long)(least >> 20));
    return d->low;
}
