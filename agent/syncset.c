/* syncset.c: staged files made durable together: writeback started as each is written, one sync sweep at the end. */
#include "config.h"
#include "syncset.h"
#include "fsutil.h"
#include "stage_pool.h"
#include "sync_files.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* One worker stages at most BD_BATCH_MAX files with two outputs each; past this the fds are synced at once. */
#define SYNCSET_MAX 256

static int kept[SYNCSET_MAX];
static size_t nkept;

int bd_syncset_add(int fd)
{
    if (nkept == SYNCSET_MAX || sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) < 0)
        return bd_fsync_close(fd);
    kept[nkept++] = fd;
    return 0;
}

int bd_syncset_flush(void)
{
    int rc = bd_sync_files(kept, nkept), first = errno;
    for (size_t i = 0; i < nkept; i++)
        if (close(kept[i]) < 0 && rc == 0) {
            rc = -1;
            first = errno;
        }
    nkept = 0;
    errno = first;
    return rc;
}

void bd_syncset_drop(void)
{
    for (size_t i = 0; i < nkept; i++)
        close(kept[i]);
    nkept = 0;
}

int bd_syncset_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = bd_stage_open(path, mode);
    if (fd < 0)
        return -1;
    int written = bd_write_all(fd, data, len) == 0;
    int saved = errno;
    if (!written)
        close(fd);
    if (written && bd_syncset_add(fd) == 0) /* takes fd over */
        return 0;
    saved = written ? errno : saved;
    unlink(path);
    errno = saved;
    return -1;
}

size_t bd_syncset_size(void)
{
    return nkept;
}
