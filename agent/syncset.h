/* syncset.h: staged files made durable together: writeback started as each is written, one sync sweep at the end. */
#ifndef BD_SYNCSET_H
#define BD_SYNCSET_H
#include <stddef.h>

/* Start writeback of fd's dirty pages now (sync_file_range) and keep fd open until the next sweep, which
 * syncs it. Takes fd over in every case: on error it is fsynced and closed at once (the same durability,
 * slower). Returns 0, or -1 with errno when that immediate fsync or close failed. */
int bd_syncset_add(int fd);
/* Make every kept fd durable (bd_sync_files: one syncfs for a big set, else an fsync each) and close it. The
 * writeback of all of them started as each was added. Returns 0, or -1 with errno from the first failure
 * (every fd is still closed). */
int bd_syncset_flush(void);
/* Close every kept fd without fsync (a failed batch: its staged files are removed). */
void bd_syncset_drop(void);
/* Create (or truncate) path with data and add it to the set; removed again on error. For staged files whose
 * later rename (and that folder's fsync) publishes them. */
#include <sys/types.h>
int bd_syncset_write_file(const char *path, const void *data, size_t len, mode_t mode);
/* fds kept now. */
size_t bd_syncset_size(void);
#endif
