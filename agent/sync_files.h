/* sync_files.h: many files made durable at once: one syncfs(2) per file system instead of an fsync per file. */
#ifndef BD_SYNC_FILES_H
#define BD_SYNC_FILES_H
#include <stddef.h>

/* From this many files on, bd_sync_files uses syncfs. */
#define BD_SYNCFS_MIN 8

/* Make the files open as fds[0..n) durable (their data and inodes; their names are the caller's folder fsync).
 * Each fsync costs a device cache flush on ext4 (a journal commit when the inode changed). From BD_SYNCFS_MIN
 * files on, and where syncfs(2) reports writeback errors (Linux 5.8 and later; test builds act as on an older
 * kernel when BD_NO_SYNCFS is set), each file system of the set is
 * synced once instead: one commit, one flush. That also writes back the file system's other dirty data, which
 * the kernel would write within its dirty_expire time anyway. Returns 0, or -1 with errno (then which of the
 * files are durable is unknown); the fds stay open. */
int bd_sync_files(const int *fds, size_t n);
/* 1 when syncfs may stand for the fsyncs of files already closed: the kernel reports writeback errors through
 * it, and it has not failed for want of the system call (ENOSYS, or EPERM from a seccomp filter). */
int bd_syncfs_usable(void);
/* One syncfs for each file system among fds[0..n): 0, or -1 with errno (the first failure). */
int bd_syncfs_each(const int *fds, size_t n);
#endif
