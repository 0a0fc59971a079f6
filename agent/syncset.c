/* syncset.c: staged files made durable together: writeback started as each is written, one sync sweep at the end. */
#include "config.h"
#include "syncset.h"
#include "fsutil.h"
#include "stage_pool.h"
#include "sync_files.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Without syncfs, each file is kept open for its fsync: past this many the next are fsynced at once. */
#define SYNCSET_MAX 256

static int kept[SYNCSET_MAX]; /* open: fsynced by the sweep, or the fds syncfs is called on */
static dev_t kept_dev[SYNCSET_MAX]; /* their file systems (0: unknown) */
static size_t nkept;
static size_t nclosed; /* closed at once without a sync: the sweep's syncfs makes them durable */

/* A set that will be synced with syncfs keeps only the first files open (a small set fsyncs them) and one file of
 * each file system; the others are closed at once: a batch's outputs need no descriptor each (syncfs reports a
 * write error of any file of its file system written after the kept file was opened). */
static int keep_open(dev_t dev)
{
    if (nkept < BD_SYNCFS_MIN - 1 || !bd_syncfs_usable() || dev == 0)
        return 1;
    for (size_t i = 0; i < nkept; i++)
        if (kept_dev[i] == dev)
            return 0;
    return 1;
}

int bd_syncset_add(int fd)
{
    struct stat st;
    dev_t dev = fstat(fd, &st) == 0 ? st.st_dev : 0;
    if (!keep_open(dev)) {
        nclosed++;
        return close(fd);
    }
    /* syncfs writes a big set's pages out in one go: there, starting each file's writeback only costs a call */
    int start_now = nkept < BD_SYNCFS_MIN - 1 || !bd_syncfs_usable();
    if (nkept == SYNCSET_MAX || (start_now && sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) < 0))
        return bd_fsync_close(fd);
    kept_dev[nkept] = dev;
    kept[nkept++] = fd;
    return 0;
}

int bd_syncset_flush(void)
{
    int rc = nclosed ? bd_syncfs_each(kept, nkept) : bd_sync_files(kept, nkept), first = errno;
    for (size_t i = 0; i < nkept; i++)
        if (close(kept[i]) < 0 && rc == 0) {
            rc = -1;
            first = errno;
        }
    nkept = nclosed = 0;
    errno = first;
    return rc;
}

void bd_syncset_drop(void)
{
    for (size_t i = 0; i < nkept; i++)
        close(kept[i]);
    nkept = nclosed = 0;
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
