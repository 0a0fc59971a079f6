/* stage_pool.c: unnamed files a worker opens ahead between batches, so that staging an output needs no new inode. */
#include "config.h"
#include "stage_pool.h"
#include "fsutil.h"
#include "strutil.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define POOL_SIZE 2 /* a file's two outputs: the data and its .info */
#define POOL_MODE 0640

static int pool[POOL_SIZE];
static int npool;
static int broken; /* a link failed for another reason than a taken name (no /proc?): create by name only */
static char pool_dir[PATH_MAX];

/* Close the waiting files (their inodes are freed). */
static void drain(void)
{
    while (npool > 0)
        close(pool[--npool]);
}

void bd_stage_pool_fill(const char *dir)
{
    if (strcmp(dir, pool_dir) != 0) {
        drain();
        if (bd_fmt(pool_dir, sizeof pool_dir, "%s", dir) < 0) {
            pool_dir[0] = '\0';
            return;
        }
    }
    while (!broken && npool < POOL_SIZE) {
        int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, POOL_MODE);
        if (fd < 0)
            return; /* not supported here, or no such folder yet: outputs are created by name */
        pool[npool++] = fd;
    }
}

/* Link a waiting unnamed file at path; its fd, or -1 (none waits, or the link failed: the file is closed). */
static int take_pooled(const char *path)
{
    char dir[PATH_MAX], proc[64];
    if (npool == 0 || bd_dirname(dir, sizeof dir, path) < 0 || strcmp(dir, pool_dir) != 0)
        return -1;
    int fd = pool[--npool];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
        return fd;
    if (errno != EEXIST)
        broken = 1;
    close(fd);
    return -1;
}

int bd_stage_open(const char *path, mode_t mode)
{
    int fd = mode == POOL_MODE ? take_pooled(path) : -1;
    return fd >= 0 ? fd : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
}
