/* sync_files.h: many files made durable at once: one syncfs(2) per file system instead of an fsync per file. */
#ifndef BD_SYNC_FILES_H
#define BD_SYNC_FILES_H
#include <stddef.h>

/* From this many files on, bd_sync_files uses syncfs. */
#define BD_SYNCFS_MIN 8

/* Make the files open as fds[0..n) durable (their data and inodes; their names are the caller's folder fsync).
 * Each fsync costs a device cache flush on ext4 (a journal commit when the inode changed). From BD_SYNCFS_MIN
 * files on, and where syncfs(2) reports writeback errors (Linux 5.8 and later), each file system of the set is
 * synced once instead: one commit, one flush. That also writes back the file system's other dirty data, which
 * the kernel would write within its dirty_expire time anyway. Returns 0, or -1 with errno (then which of the
 * files are durable is unknown); the fds stay open. */
int bd_sync_files(const int *fds, size_t n);
#endif
