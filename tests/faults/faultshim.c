/* faultshim.c: LD_PRELOAD fault injector for the tests: make open/write/fsync/syncfs/rename fail with a chosen errno on matching paths. */
/*
 * Control file: $BD_FAULTS_FILE, re-read when it changes (checked at most every 20 ms; replace it by a
 * rename so that the change is seen whatever the time stamp granularity), one rule a line:
 *     OP PATH-SUBSTRING ERRNO-NAME [COUNT]
 * OP is open (for writing), write, fsync (of files opened for writing, and of folders), syncfs (matched on the path of
 * its fd) or rename (matched on either path). COUNT limits the
 * failures per process (default: every call). An empty or missing file injects nothing.
 * Example:  write /outbox/ ENOSPC        fsync /receipts EIO 1        rename /archive/ EXDEV
 * Every injected failure is appended as "pid op path errno" to $BD_FAULTS_FILE.log.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_RULES 16
#define MAX_FDS 4096

typedef struct rule {
    char op[16], path[256];
    int err;
    long left; /* -1: unlimited */
} rule;

static rule rules[MAX_RULES];
static int nrules;
static struct timespec control_mtime;
static ino_t control_ino;
static off_t control_size;
static double last_check;
static char *fd_path[MAX_FDS]; /* what each fd we saw opened for writing names */

static const struct { const char *name; int value; } errnos[] = {
    {"ENOSPC", ENOSPC}, {"EIO", EIO}, {"EDQUOT", EDQUOT}, {"EACCES", EACCES}, {"EPERM", EPERM},
    {"EROFS", EROFS}, {"EXDEV", EXDEV}, {"ENOENT", ENOENT}, {"EMFILE", EMFILE}, {"EFBIG", EFBIG}};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int errno_of(const char *name)
{
    for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
        if (strcmp(errnos[i].name, name) == 0)
            return errnos[i].value;
    return atoi(name);
}

static void load_rules(const char *file)
{
    int (*real_open)(const char *, int, ...) = dlsym(RTLD_NEXT, "open");
    nrules = 0;
    int fd = real_open ? real_open(file, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0)
        return;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line && nrules < MAX_RULES;
         line = strtok_r(NULL, "\n", &save)) {
        char op[16], path[256], err[32];
        long count = -1;
        if (sscanf(line, "%15s %255s %31s %ld", op, path, err, &count) >= 3 && op[0] != '#') {
            rule *r = &rules[nrules++];
            snprintf(r->op, sizeof r->op, "%s", op);
            snprintf(r->path, sizeof r->path, "%s", path);
            r->err = errno_of(err);
            r->left = count;
        }
    }
}

static void refresh(void)
{
    const char *file = getenv("BD_FAULTS_FILE");
    double t = now();
    if (!file || t - last_check < 0.02)
        return;
    last_check = t;
    struct stat st;
    if (stat(file, &st) < 0) {
        nrules = 0;
        memset(&control_mtime, 0, sizeof control_mtime);
        return;
    }
    if (st.st_mtim.tv_sec == control_mtime.tv_sec && st.st_mtim.tv_nsec == control_mtime.tv_nsec &&
        st.st_ino == control_ino && st.st_size == control_size)
        return;
    control_mtime = st.st_mtim;
    control_ino = st.st_ino;
    control_size = st.st_size;
    load_rules(file);
}

static void note(const char *op, const char *path, int err)
{
    const char *file = getenv("BD_FAULTS_FILE");
    char log[512], line[600];
    int (*real_open)(const char *, int, ...) = dlsym(RTLD_NEXT, "open");
    ssize_t (*real_write)(int, const void *, size_t) = dlsym(RTLD_NEXT, "write");
    if (!file || !real_open || !real_write || snprintf(log, sizeof log, "%s.log", file) >= (int)sizeof log)
        return;
    int fd = real_open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    int n = snprintf(line, sizeof line, "%ld %s %s %d\n", (long)getpid(), op, path, err);
    if (n > 0 && real_write(fd, line, (size_t)n) < 0)
        n = 0;
    close(fd);
}

/* Should OP on PATH fail? Sets errno and returns 1 when it should. */
static int inject(const char *op, const char *path)
{
    if (!path)
        return 0;
    refresh();
    for (int i = 0; i < nrules; i++) {
        rule *r = &rules[i];
        if (strcmp(r->op, op) != 0 || !strstr(path, r->path) || r->left == 0)
            continue;
        if (r->left > 0)
            r->left--;
        note(op, path, r->err);
        errno = r->err;
        return 1;
    }
    return 0;
}

static void remember(int fd, const char *path, int flags)
{
    if (fd < 0 || fd >= MAX_FDS)
        return;
    free(fd_path[fd]);
    fd_path[fd] = (flags & (O_WRONLY | O_RDWR | O_DIRECTORY)) ? strdup(path) : NULL; /* folders: for fsync */
}

static int do_open(const char *fn, int dirfd, const char *path, int flags, mode_t mode)
{
    if ((flags & (O_WRONLY | O_RDWR)) && inject("open", path))
        return -1;
    int fd;
    if (dirfd == -1) {
        int (*real)(const char *, int, ...) = dlsym(RTLD_NEXT, fn);
        fd = real(path, flags, mode);
    } else {
        int (*real)(int, const char *, int, ...) = dlsym(RTLD_NEXT, fn);
        fd = real(dirfd, path, flags, mode);
    }
    remember(fd, path, flags);
    return fd;
}

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_arg(flags, ap);
    va_end(ap);
    return do_open("open", -1, path, flags, m);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_arg(flags, ap);
    va_end(ap);
    return do_open("open64", -1, path, flags, m);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_arg(flags, ap);
    va_end(ap);
    return do_open("openat", dirfd == -1 ? AT_FDCWD : dirfd, path, flags, m);
}

static const char *path_of(int fd)
{
    return fd >= 0 && fd < MAX_FDS ? fd_path[fd] : NULL;
}

ssize_t write(int fd, const void *buf, size_t len)
{
    static ssize_t (*real)(int, const void *, size_t);
    if (!real)
        real = dlsym(RTLD_NEXT, "write");
    if (inject("write", path_of(fd)))
        return -1;
    return real(fd, buf, len);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real)
        real = dlsym(RTLD_NEXT, "pwrite64");
    if (inject("write", path_of(fd)))
        return -1;
    return real(fd, buf, len, off);
}

int fsync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = dlsym(RTLD_NEXT, "fsync");
    if (inject("fsync", path_of(fd)))
        return -1;
    return real(fd);
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = dlsym(RTLD_NEXT, "fdatasync");
    if (inject("fsync", path_of(fd)))
        return -1;
    return real(fd);
}

int syncfs(int fd)
{
    static int (*real)(int);
    if (!real)
        real = dlsym(RTLD_NEXT, "syncfs");
    if (inject("syncfs", path_of(fd)))
        return -1;
    return real(fd);
}

int close(int fd)
{
    static int (*real)(int);
    if (!real)
        real = dlsym(RTLD_NEXT, "close");
    if (fd >= 0 && fd < MAX_FDS && fd_path[fd]) {
        free(fd_path[fd]);
        fd_path[fd] = NULL;
    }
    return real(fd);
}

int rename(const char *from, const char *to)
{
    static int (*real)(const char *, const char *);
    if (!real)
        real = dlsym(RTLD_NEXT, "rename");
    if (inject("rename", from) || inject("rename", to))
        return -1;
    return real(from, to);
}

int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned flags)
{
    static int (*real)(int, const char *, int, const char *, unsigned);
    if (!real)
        real = dlsym(RTLD_NEXT, "renameat2");
    if (inject("rename", from) || inject("rename", to))
        return -1;
    return real(fromfd, from, tofd, to, flags);
}
