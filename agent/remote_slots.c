/* remote_slots.c: per-host session slots as flock(2)ed files, shared by the agent's fetcher and pusher processes. */
#include "config.h"
#include "remote_slots.h"
#include "fsutil.h"
#include "strutil.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <unistd.h>

int bd_slot_take(bd_slot *slot, const bd_config *cfg, const bd_remote *r)
{
    char dir[PATH_MAX], path[PATH_MAX];
    slot->fd = -1;
    if (bd_fmt(dir, sizeof dir, "%s/locks", cfg->state_dir) < 0 || bd_mkdir_p(dir, 0750) < 0)
        return -1;
    for (int i = 0; i < r->max_sessions; i++) {
        if (bd_fmt(path, sizeof path, "%s/sftp-%s-%d.%d", dir, r->host, r->port, i) < 0)
            return -1;
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0)
            return -1;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            slot->fd = fd; /* released by close, or by the kernel when the process dies */
            return 0;
        }
        int saved = errno;
        close(fd);
        if (saved != EWOULDBLOCK) {
            errno = saved;
            return -1;
        }
    }
    return 1;
}

void bd_slot_release(bd_slot *slot)
{
    if (slot->fd >= 0)
        close(slot->fd);
    slot->fd = -1;
}
