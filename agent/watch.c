/* watch.c: raw inotify (no library): watches on inbox folders, event draining, overflow detection. */
#include "config.h"
#include "watch.h"
#include "log.h"
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB | IN_ONLYDIR | IN_DELETE_SELF | IN_MOVE_SELF)

int bd_watch_open(bd_watch *w)
{
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    return w->fd < 0 ? -1 : 0;
}

int bd_watch_add(bd_watch *w, const char *dir)
{
    int wd = inotify_add_watch(w->fd, dir, WATCH_MASK);
    if (wd < 0 && errno == ENOSPC)
        log_error("cannot watch %s: the inotify watch limit is reached; raise fs.inotify.max_user_watches "
                  "(sysctl). Falling back to the periodic sweep for this inbox", dir);
    return wd;
}

void bd_watch_rm(bd_watch *w, int wd)
{
    if (wd >= 0 && inotify_rm_watch(w->fd, wd) < 0 && errno != EINVAL)
        log_debug("inotify_rm_watch(%d): %s", wd, strerror(errno));
}

int bd_watch_read(bd_watch *w, bd_watch_fn cb, void *arg, int *overflow, int *gone)
{
    char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
    *overflow = *gone = 0;
    for (;;) {
        ssize_t n = read(w->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->mask & IN_Q_OVERFLOW)
                *overflow = 1;
            else if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
                *gone = 1;
            else if (ev->len && !(ev->mask & IN_ISDIR))
                cb(ev->wd, ev->name, (ev->mask & IN_MOVED_TO) != 0, arg);
            p += sizeof *ev + ev->len;
        }
    }
}

void bd_watch_close(bd_watch *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
}
