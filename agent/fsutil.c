/* fsutil.c: durable file-system helpers (the Redis recipe: temp file, fsync, rename, fsync the folder). */
#include "config.h"
#include "fsutil.h"
#include "strutil.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef HAVE_RENAMEAT2
#include <linux/fs.h>
#endif
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

int bd_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int bd_read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (int)got;
}

int bd_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static int sync_close(int fd, int data_only)
{
    int rc = data_only ? fdatasync(fd) : fsync(fd);
    int saved = errno;
    if (close(fd) < 0 && rc == 0)
        return -1; /* errno from close */
    errno = saved;
    return rc;
}

int bd_fsync_close(int fd)
{
    return sync_close(fd, 0);
}

int bd_fdatasync_close(int fd)
{
    return sync_close(fd, 1);
}

int bd_dirname(char *out, size_t outlen, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return bd_strlcpy(out, ".", outlen);
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= outlen) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(out, path, n);
    out[n] = '\0';
    return 0;
}

const char *bd_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int bd_fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    if (bd_dirname(dir, sizeof dir, path) < 0)
        return -1;
    return bd_fsync_dir(dir);
}

static int is_dir(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* The folder itself first: it nearly always exists (this runs for each file's outputs and claim), and one stat
 * says so. Its parents are walked only when it is missing. */
int bd_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    if (is_dir(path) == 0)
        return 0;
    if (bd_strlcpy(buf, path, sizeof buf) < 0)
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -1;
    return is_dir(buf);
}

int bd_rename_noreplace(const char *from, const char *to)
{
#ifdef HAVE_RENAMEAT2
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
#endif
    /* Fallback for file systems without RENAME_NOREPLACE: link + unlink. */
    if (link(from, to) < 0)
        return -1;
    if (unlink(from) < 0) {
        int saved = errno;
        unlink(to);
        errno = saved;
        return -1;
    }
    return 0;
}

int bd_rename_durable(const char *from, const char *to, int noreplace)
{
    int rc = noreplace ? bd_rename_noreplace(from, to) : rename(from, to);
    if (rc < 0)
        return -1;
    char d1[PATH_MAX], d2[PATH_MAX];
    if (bd_dirname(d1, sizeof d1, from) < 0 || bd_dirname(d2, sizeof d2, to) < 0)
        return -1;
    if (bd_fsync_dir(d2) < 0)
        return -1;
    if (strcmp(d1, d2) != 0 && bd_fsync_dir(d1) < 0)
        return -1;
    return 0;
}

/* durable: fsync the file and its folder. Not durable (status, metrics): the exact mode, whatever the umask
 * (node_exporter reads the metrics as another user); workers only write durably (no fchmod in their sandbox). */
static int write_file(const char *path, const void *data, size_t len, mode_t mode, int durable)
{
    char tmp[PATH_MAX];
    if (bd_fmt(tmp, sizeof tmp, "%s.bdtmp.%ld", path, (long)getpid()) < 0)
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    if (bd_write_all(fd, data, len) < 0 || (durable && fsync(fd) < 0) || (!durable && fchmod(fd, mode) < 0)) {
        int saved = errno;
        close(fd);
        unlink(tmp);
        errno = saved;
        return -1;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        return -1;
    }
    return durable ? bd_fsync_parent(path) : 0;
}

int bd_write_file_durable(const char *path, const void *data, size_t len, mode_t mode)
{
    return write_file(path, data, len, mode, 1);
}

int bd_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    return write_file(path, data, len, mode, 0);
}

int bd_open_regular(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return -1;
    int flags = fcntl(fd, F_GETFL);
    if (fstat(fd, &st) < 0 || flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    return fd;
}

int bd_path_join(char *out, size_t outlen, const char *dir, const char *name)
{
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] == '/';
    return bd_fmt(out, outlen, "%s%s%s", dir, slash ? "" : "/", name);
}

int bd_same_filesystem(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
        return -1;
    return sa.st_dev == sb.st_dev;
}

int bd_dir_writable(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) < 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: not a directory", dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK) < 0) {
        snprintf(err, errlen, "%s: not writable by this user: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int copy_fd(int in, int out)
{
    char buf[1 << 16];
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        if (bd_write_all(out, buf, (size_t)n) < 0)
            return -1;
    }
}

static int copy_durable(const char *from, const char *to)
{
    char tmp[PATH_MAX];
    if (bd_fmt(tmp, sizeof tmp, "%s.bdtmp.%ld", to, (long)getpid()) < 0)
        return -1;
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (out < 0) {
        int saved = errno;
        close(in);
        errno = saved;
        return -1;
    }
    int rc = copy_fd(in, out);
    if (rc == 0)
        rc = fsync(out);
    int saved = errno;
    close(in);
    if (close(out) < 0 && rc == 0) {
        saved = errno;
        rc = -1;
    }
    if (rc == 0 && rename(tmp, to) < 0) {
        saved = errno;
        rc = -1;
    }
    if (rc < 0) {
        unlink(tmp);
        errno = saved;
        return -1;
    }
    return bd_fsync_parent(to);
}

int bd_move_durable(const char *from, const char *to)
{
    if (bd_rename_durable(from, to, 0) == 0)
        return 0;
    if (errno != EXDEV)
        return -1;
    if (copy_durable(from, to) < 0)
        return -1;
    if (unlink(from) < 0)
        return -1;
    return bd_fsync_parent(from);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **bd_list_dir(const char *dir, int (*keep)(const char *name), int (*cmp)(const void *, const void *),
                   size_t *n)
{
    DIR *d = opendir(dir);
    char **v = NULL;
    *n = 0;
    if (!d)
        return NULL;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || (keep && !keep(de->d_name)))
            continue;
        char **nv = realloc(v, (*n + 1) * sizeof *nv);
        if (!nv)
            break;
        v = nv;
        if (!(v[*n] = strdup(de->d_name)))
            break;
        (*n)++;
    }
    closedir(d);
    if (*n > 1)
        qsort(v, *n, sizeof *v, cmp ? cmp : cmp_names);
    if (!*n) {
        free(v);
        v = NULL;
    }
    return v;
}
