/* fsutil.h: durable file-system helpers: full writes, fsync of files and folders, no-replace renames. */
#ifndef BD_FSUTIL_H
#define BD_FSUTIL_H
#include <stddef.h>
#include <sys/types.h>

int bd_write_all(int fd, const void *buf, size_t len);
int bd_read_all(int fd, void *buf, size_t len); /* bytes read (short only at EOF), -1 on error */
int bd_fsync_dir(const char *dir);
/* fsync fd, then close it in every case; -1 with errno from the first of the two that failed. */
int bd_fsync_close(int fd);
int bd_fdatasync_close(int fd); /* the same with fdatasync */
int bd_fsync_parent(const char *path);
int bd_mkdir_p(const char *path, mode_t mode);
/* rename that fails with EEXIST instead of replacing an existing target */
int bd_rename_noreplace(const char *from, const char *to);
/* rename, then fsync the target's folder (and the source's if it differs) */
int bd_rename_durable(const char *from, const char *to, int noreplace);
/* write a whole file: temp name, fsync, rename, fsync folder */
int bd_write_file_durable(const char *path, const void *data, size_t len, mode_t mode);
/* bd_write_file_durable without the fsyncs: readers never see a partial file, a crash may lose it (status, metrics) */
int bd_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Open a regular file for reading without following a symlink or blocking on a FIFO (O_NOFOLLOW,
 * O_NONBLOCK, then an fstat check; the descriptor is made blocking again). -1 with errno; EFTYPE-like
 * cases (a FIFO, a folder, a device) give EINVAL, a symlink ELOOP. */
int bd_open_regular(const char *path);
int bd_path_join(char *out, size_t outlen, const char *dir, const char *name);
const char *bd_basename(const char *path);
int bd_dirname(char *out, size_t outlen, const char *path);
int bd_same_filesystem(const char *a, const char *b); /* 1 yes, 0 no, -1 error */
int bd_dir_writable(const char *dir, char *err, size_t errlen);
/* Move a file durably, across file systems too (copy, fsync, rename, then unlink the source). */
int bd_move_durable(const char *from, const char *to);
/* The names in dir that keep() accepts, sorted with cmp (strcmp order when NULL); *n entries,
 * each and the array to be freed. NULL with *n = 0 when empty or on error (errno set then). */
char **bd_list_dir(const char *dir, int (*keep)(const char *name), int (*cmp)(const void *, const void *),
                   size_t *n);
#endif
