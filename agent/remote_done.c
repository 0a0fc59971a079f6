/* remote_done.c: read the done lists a commit leaves in done/, and delete or move their sources on the server. */
#include "config.h"
#include "remote_done.h"
#include "claim.h"
#include "fsutil.h"
#include "log.h"
#include "strutil.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int bd_done_list_path(char *path, size_t len, const char *dir)
{
    static unsigned int seq;
    return bd_fmt(path, len, "%s/g%lld-%ld-%u.list", dir, (long long)bd_now_ms(), (long)getpid(), seq++);
}

/* A done list (bd_done_list_path); a one-file marker is the claim entry itself. */
static int is_list(const char *name)
{
    size_t n = strlen(name);
    return name[0] == 'g' && n > 5 && strcmp(name + n - 5, ".list") == 0;
}

/* The whole list, NUL-terminated after its last entry too; NULL with errno. */
static char *read_list(const char *path, size_t *len)
{
    struct stat st;
    int fd = bd_open_regular(path);
    if (fd < 0)
        return NULL;
    char *buf = fstat(fd, &st) == 0 ? malloc((size_t)st.st_size + 1) : NULL;
    int got = buf ? bd_read_all(fd, buf, (size_t)st.st_size) : -1;
    int saved = errno;
    close(fd);
    if (got < 0) {
        free(buf);
        errno = saved;
        return NULL;
    }
    buf[got] = '\0';
    *len = (size_t)got;
    return buf;
}

static bd_sftp_class finish_one(bd_fetcher *f, const char *entry, const char *name)
{
    char from[PATH_MAX], to[PATH_MAX], err[1024];
    bd_sftp_class c;
    if (bd_fmt(from, sizeof from, "%s/%s", f->rclaims, entry) < 0)
        return BD_SFTP_FAILURE;
    if (!f->r->after_move) {
        c = bd_sftp_unlink(f->link.s, from, err, sizeof err);
        return c == BD_SFTP_NOT_FOUND || c == BD_SFTP_OK ? BD_SFTP_OK : bd_link_failed(&f->link, c, "deleting", err);
    }
    if ((c = bd_sftp_mkdir_p(f->link.s, f->r->move_to, 0750, err, sizeof err)) != BD_SFTP_OK)
        return bd_link_failed(&f->link, c, "creating move_to", err);
    if (bd_fmt(to, sizeof to, "%s/%s", f->r->move_to, name) < 0)
        return BD_SFTP_FAILURE;
    c = bd_sftp_rename(f->link.s, from, to, err, sizeof err);
    if (c == BD_SFTP_EXISTS && bd_fmt(to, sizeof to, "%s/%s", f->r->move_to, entry) == 0)
        c = bd_sftp_rename(f->link.s, from, to, err, sizeof err); /* keep both: the claimed name is unique */
    return c == BD_SFTP_NOT_FOUND || c == BD_SFTP_OK ? BD_SFTP_OK : bd_link_failed(&f->link, c, "moving", err);
}

/* One entry's source deleted or moved (again, after a crash: then it is gone, which is fine). 0, or -1. */
static int finish_entry(bd_fetcher *f, const char *entry)
{
    char id[BD_CLAIM_ID_MAX];
    const char *name;
    if (bd_claim_split(entry, id, &name) < 0) {
        log_warn("partner %s: %s names \"%s\", which is not a claim of this agent; skipped", f->p->name, f->done,
                 entry);
        return 0;
    }
    if (!bd_fetcher_connect(f) || finish_one(f, entry, name) != BD_SFTP_OK)
        return -1;
    log_info("partner %s: %s %s on the server", f->p->name, f->r->after_move ? "moved" : "deleted", name);
    return 0;
}

/* Finish every entry of the list at path, then remove it. 1 = removed, -1 = it stays (retried). */
static int finish_list(bd_fetcher *f, const char *path)
{
    size_t len;
    char *buf = read_list(path, &len);
    if (!buf) {
        log_error("partner %s: cannot read the done list %s: %s", f->p->name, path, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (size_t at = 0; at < len && rc == 0; at += strlen(buf + at) + 1)
        rc = finish_entry(f, buf + at);
    free(buf);
    return rc < 0 || unlink(path) < 0 ? -1 : 1;
}

/* An older version's marker: an empty file named by the entry. */
static int finish_marker(bd_fetcher *f, const char *path, const char *entry)
{
    return finish_entry(f, entry) < 0 || unlink(path) < 0 ? -1 : 1;
}

int bd_fetcher_finish_done(bd_fetcher *f)
{
    if (bd_monotonic() < f->done_retry_at)
        return -1;
    DIR *d = opendir(f->done);
    if (!d)
        return -1;
    struct dirent *de;
    int rc = 0, removed = 0;
    while ((de = readdir(d)) && rc == 0) {
        char path[PATH_MAX], id[BD_CLAIM_ID_MAX];
        const char *name;
        if (de->d_name[0] == '.' || strstr(de->d_name, ".bdtmp.") ||
            bd_path_join(path, sizeof path, f->done, de->d_name) < 0)
            continue; /* dotfiles, and the temp file of a list being written */
        if (is_list(de->d_name))
            rc = finish_list(f, path);
        else if (bd_claim_split(de->d_name, id, &name) == 0)
            rc = finish_marker(f, path, de->d_name);
        if (rc > 0)
            removed++, rc = 0;
        else if (rc < 0)
            f->done_retry_at = bd_monotonic() + (f->r->poll > 5 ? f->r->poll : 5);
    }
    closedir(d);
    if (removed && bd_fsync_dir(f->done) < 0)
        rc = -1;
    return rc;
}

/* entry within a list's NUL-separated entries */
static int list_names(const char *buf, size_t len, const char *entry)
{
    for (size_t at = 0; at < len; at += strlen(buf + at) + 1)
        if (strcmp(buf + at, entry) == 0)
            return 1;
    return 0;
}

int bd_done_has(const bd_fetcher *f, const char *entry)
{
    char path[PATH_MAX];
    if (bd_path_join(path, sizeof path, f->done, entry) == 0 && access(path, F_OK) == 0)
        return 1;
    DIR *d = opendir(f->done);
    if (!d)
        return -1;
    struct dirent *de;
    int found = 0;
    while (!found && (de = readdir(d))) {
        size_t len;
        char *buf;
        if (!is_list(de->d_name) || bd_path_join(path, sizeof path, f->done, de->d_name) < 0)
            continue;
        if ((buf = read_list(path, &len)))
            found = list_names(buf, len, entry);
        else if (errno != ENOENT) /* ENOENT: finished and removed meanwhile */
            found = -1;
        free(buf);
    }
    closedir(d);
    return found;
}
