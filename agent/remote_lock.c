/* remote_lock.c: one fetcher and one pusher per partner and state_dir at a time, across restarts, as flock(2)ed files. */
#include "config.h"
#include "remote_lock.h"
#include "log.h"
#include "remote_slots.h"
#include "strutil.h"
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

/* Without a stop flag (`once`), how long to wait for the holder before giving up. */
#define BD_REMOTE_LOCK_WAIT_MAX 60

int bd_remote_lock(const bd_config *cfg, const bd_partner *p, const char *role, const volatile sig_atomic_t *stop)
{
    char name[PATH_MAX], path[PATH_MAX] = "";
    int fd = -1;
    if (bd_fmt(name, sizeof name, "%s-%s.lock", role, p->name) == 0)
        fd = bd_lock_file_open(cfg, name, path, sizeof path);
    if (fd < 0) {
        log_error("partner %s: cannot open the %s lock under %s/locks: %s", p->name, role, cfg->state_dir,
                  strerror(errno));
        return -1;
    }
    int waited = 0;
    double give_up = bd_monotonic() + BD_REMOTE_LOCK_WAIT_MAX;
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            log_error("partner %s: cannot lock %s: %s", p->name, path, strerror(errno));
            close(fd);
            return -1;
        }
        if (!waited++)
            log_info("partner %s: waiting for the %s process of a previous run to finish (it holds %s)", p->name,
                     role, path);
        if (stop ? *stop : bd_monotonic() > give_up) {
            if (!stop)
                log_error("partner %s: another process still holds %s after %d s: is a `batchdrop run` using this "
                          "state_dir? Stop it first; the partner's remote files wait for the next run", p->name, path,
                          BD_REMOTE_LOCK_WAIT_MAX);
            close(fd);
            errno = EWOULDBLOCK;
            return -1;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (waited)
        log_info("partner %s: the previous %s process is gone; going on", p->name, role);
    return fd;
}
