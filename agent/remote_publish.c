/* remote_publish.c: downloaded files made durable together, then queued for processing (a fetcher round's group). */
#include "config.h"
#include "remote_publish.h"
#include "fsutil.h"
#include "log.h"
#include "remote_fetch.h"
#include "sync_files.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void drop_part(bd_fetch_part *p)
{
    if (p->fd >= 0)
        close(p->fd);
    free(p->part);
    free(p->ready);
    free(p->name);
    memset(p, 0, sizeof *p);
    p->fd = -1;
}

int bd_fetch_publish_add(bd_fetcher *f, int fd, const char *part, const char *ready, const char *name,
                         uint64_t bytes, const char *sha)
{
    if (f->npending == BD_FETCH_PUBLISH_MAX && bd_fetch_publish(f) < 0)
        log_warn("partner %s: queued downloads may not survive a crash (see above); their claims are recovered",
                 f->p->name);
    bd_fetch_part *p = &f->pending[f->npending];
    *p = (bd_fetch_part){.fd = fd, .part = strdup(part), .ready = strdup(ready), .name = strdup(name),
                         .bytes = bytes};
    snprintf(p->sha, sizeof p->sha, "%.16s", sha);
    if (!p->part || !p->ready || !p->name || sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) < 0) {
        log_error("partner %s: cannot keep the download of %s: %s", f->p->name, name, strerror(errno ? errno : ENOMEM));
        unlink(part);
        drop_part(p);
        return -1;
    }
    f->npending++;
    return 0;
}

/* Queue one part, made durable with its group unless sync_err (an errno) says that failed; 0, or -1 (removed). */
static int queue_part(bd_fetcher *f, bd_fetch_part *p, int sync_err)
{
    int close_err = close(p->fd) < 0 ? errno : 0, err = sync_err ? sync_err : close_err;
    p->fd = -1;
    if (err || bd_rename_noreplace(p->part, p->ready) < 0) {
        log_error("partner %s: cannot queue %s: %s", f->p->name, err ? p->part : p->ready, strerror(err ? err : errno));
        unlink(p->part);
        return -1;
    }
    f->downloads++;
    log_info("partner %s: downloaded %s (%llu bytes, sha256 %s...)", f->p->name, p->name,
             (unsigned long long)p->bytes, p->sha);
    return 0;
}

/* The group's parts made durable together (sync_files.h); 0, or the errno of the failure. */
static int sync_parts(bd_fetcher *f)
{
    int fds[BD_FETCH_PUBLISH_MAX];
    for (size_t i = 0; i < f->npending; i++)
        fds[i] = f->pending[i].fd;
    return bd_sync_files(fds, f->npending) == 0 ? 0 : errno ? errno : EIO;
}

int bd_fetch_publish(bd_fetcher *f)
{
    int queued = 0, rc = 0, sync_err = sync_parts(f);
    for (size_t i = 0; i < f->npending; i++) {
        queued += queue_part(f, &f->pending[i], sync_err) == 0;
        drop_part(&f->pending[i]);
    }
    f->npending = 0;
    if (queued && (bd_fsync_dir(f->ready) < 0 || bd_fsync_dir(f->dl) < 0)) {
        log_error("partner %s: cannot fsync %s or %s: %s", f->p->name, f->ready, f->dl, strerror(errno));
        rc = -1;
    }
    return rc < 0 ? -1 : queued;
}
