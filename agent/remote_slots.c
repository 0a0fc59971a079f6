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

int bd_lock_file_open(const bd_config *cfg, const char *name, char *path, size_t len)
{
    char dir[PATH_MAX];
    if (bd_fmt(dir, sizeof dir, "%s/locks", cfg->state_dir) < 0 || bd_mkdir_p(dir, 0750) < 0 ||
        bd_fmt(path, len, "%s/%s", dir, name) < 0)
        return -1;
    return open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
}

int bd_slot_take(bd_slot *slot, const bd_config *cfg, const bd_remote *r)
{
    char name[PATH_MAX], path[PATH_MAX];
    slot->fd = -1;
    for (int i = 0; i < r->max_sessions; i++) {
        if (bd_fmt(name, sizeof name, "sftp-%s-%d.%d", r->host, r->port, i) < 0)
            return -1;
        int fd = bd_lock_file_open(cfg, name, path, sizeof path);
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
