/* sync_files.c: many files made durable at once: one syncfs(2) per file system instead of an fsync per file. */
#include "config.h"
#include "sync_files.h"
#include <errno.h>
#include <stdio.h>
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
    return known;
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

/* One syncfs for each file system among fds; 1 when done, 0 when syncfs is not available here, -1 on error. */
static int syncfs_each(const int *fds, size_t n)
{
    dev_t done[8];
    size_t ndone = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (fstat(fds[i], &st) < 0)
            return -1;
        size_t k = 0;
        while (k < ndone && done[k] != st.st_dev)
            k++;
        if (k < ndone)
            continue;
        if (ndone == sizeof done / sizeof done[0])
            return 0; /* files spread over many file systems: fsync each */
        if (syncfs(fds[i]) < 0)
            return errno == ENOSYS || errno == EPERM ? 0 : -1;
        done[ndone++] = st.st_dev;
    }
    return 1;
}

int bd_sync_files(const int *fds, size_t n)
{
    if (n >= BD_SYNCFS_MIN && syncfs_reports_errors()) {
        int rc = syncfs_each(fds, n);
        if (rc != 0)
            return rc > 0 ? 0 : -1;
    }
    return fsync_each(fds, n);
}
