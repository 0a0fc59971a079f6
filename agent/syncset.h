/* syncset.h: staged files made durable together: writeback started as each is written, one sync sweep at the end. */
#ifndef BD_SYNCSET_H
#define BD_SYNCSET_H
#include <stddef.h>

/* Add a staged file to the set, which takes fd over in every case. A small set keeps each fd open for an fsync
 * at the sweep, its writeback started now (sync_file_range). Where syncfs can be used (sync_files.h), a set
 * that grows past BD_SYNCFS_MIN - 1 files keeps one fd per file system and closes the others at once: the
 * sweep's syncfs makes them durable. On error fd is fsynced and closed at once (the same durability, slower).
 * Returns 0, or -1 with errno when that immediate fsync or a close failed. */
int bd_syncset_add(int fd);
/* Make every file of the set durable (an fsync each, or one syncfs per file system for a big set) and close
 * the kept fds. Returns 0, or -1 with errno from the first failure (every fd is still closed). */
int bd_syncset_flush(void);
/* Close every kept fd without fsync (a failed batch: its staged files are removed). */
void bd_syncset_drop(void);
/* Create (or truncate) path with data and add it to the set; removed again on error. For staged files whose
 * later rename (and that folder's fsync) publishes them. */
#include <sys/types.h>
int bd_syncset_write_file(const char *path, const void *data, size_t len, mode_t mode);
#endif
