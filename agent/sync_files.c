/* sync_files.c: many files made durable at once: one syncfs(2) per file system instead of an fsync per file. */
#include "config.h"
#include "sync_files.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

/* syncfs reports a writeback error of any file of the file system since Linux 5.8; before, it always succeeds,
 * and an I/O error would go unseen. 1 when this kernel reports them. */
static int syncfs_reports_errors(void)
{
    static int known = -1;
    struct utsname u;
    int major = 0, minor = 0;
    if (known < 0)
        known = uname(&u) == 0 && sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
                (major > 5 || (major == 5 && minor >= 8));
#ifdef BD_TEST_HOOKS
    if (getenv("BD_NO_SYNCFS")) /* test builds: act as on a kernel before 5.8 (every file fsynced) */
        known = 0;
#endif
    return known;
}

static int syncfs_missing; /* syncfs failed with ENOSYS or EPERM: not available in this process */

int bd_syncfs_usable(void)
{
    return !syncfs_missing && syncfs_reports_errors();
}

static int fsync_each(const int *fds, size_t n)
{
    int rc = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (fsync(fds[i]) < 0 && rc == 0) {
            rc = -1;
            first = errno;
        }
    errno = first;
    return rc;
}

/* File systems remembered as synced within one call; past this many a file system may be synced twice (the same
 * durability, one more flush). */
#define SYNCED_FS_MAX 16

static int already_synced(const dev_t *synced, size_t nsynced, dev_t dev)
{
    for (size_t k = 0; k < nsynced; k++)
        if (synced[k] == dev)
            return 1;
    return 0;
}

int bd_syncfs_each(const int *fds, size_t n)
{
    dev_t synced[SYNCED_FS_MAX];
    size_t nsynced = 0;
    int err = 0;
    for (size_t i = 0; i < n && !err; i++) {
        struct stat st;
        if (fstat(fds[i], &st) < 0) {
            err = errno;
        } else if (!already_synced(synced, nsynced, st.st_dev)) {
            if (syncfs(fds[i]) < 0) {
                err = errno;
                syncfs_missing |= err == ENOSYS || err == EPERM;
            } else if (nsynced < SYNCED_FS_MAX) {
                synced[nsynced++] = st.st_dev;
            }
        }
    }
    errno = err;
    return err ? -1 : 0;
}

int bd_sync_files(const int *fds, size_t n)
{
    if (n >= BD_SYNCFS_MIN && bd_syncfs_usable()) {
        if (bd_syncfs_each(fds, n) == 0)
            return 0;
        if (!syncfs_missing)
            return -1;
    }
    return fsync_each(fds, n);
}
