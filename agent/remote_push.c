/* remote_push.c: drain a partner's push queue to its SFTP remote_outbox; a push never blocks inbound processing. */
#include "config.h"
#include "remote_push.h"
#include "fsutil.h"
#include "inbox.h"
#include "remote_lock.h"
#include "log.h"
#include "shared_stats.h"
#include "strutil.h"
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int bd_pusher_init(bd_pusher *u, const bd_config *cfg, const bd_partner *p, const volatile sig_atomic_t *stop)
{
    memset(u, 0, sizeof *u);
    u->lock_fd = -1;
    u->cfg = cfg;
    u->p = p;
    u->r = p->remote_outbox;
    bd_link_init(&u->link, cfg, p->remote_outbox, p->name);
    if (bd_remote_dir(u->queue, sizeof u->queue, cfg, p, "push") < 0)
        return -1;
    if (bd_mkdir_p(u->queue, 0750) < 0)
        return -1;
    u->lock_fd = bd_remote_lock(cfg, p, "push", stop);
    return u->lock_fd < 0 ? -1 : 0;
}

void bd_pusher_free(bd_pusher *u)
{
    bd_link_close(&u->link);
    if (u->lock_fd >= 0)
        close(u->lock_fd);
    u->lock_fd = -1;
}

static int connect_pusher(bd_pusher *u)
{
    char err[1024];
    int fresh;
    if (!bd_link_up(&u->link, &fresh))
        return 0;
    bd_sftp_class cls = fresh ? bd_sftp_mkdir_p(u->link.s, u->r->path, 0750, err, sizeof err) : BD_SFTP_OK;
    if (cls != BD_SFTP_OK) {
        bd_link_failed(&u->link, cls, "creating the push folder", err);
        if (u->link.s)
            bd_link_drop(&u->link); /* not transient (permission, say): back off all the same */
        return 0;
    }
    return 1;
}

static int push_file(bd_pusher *u, const char *local, const char *remote_name)
{
    char remote[PATH_MAX], err[1024];
    if (bd_fmt(remote, sizeof remote, "%s/%s", u->r->path, remote_name) < 0)
        return -1;
    bd_sftp_class c = bd_sftp_upload(u->link.s, local, remote, err, sizeof err);
    if (c == BD_SFTP_OK) {
        log_info("partner %s: pushed %s to sftp://%s:%d%s", u->p->name, remote_name, u->r->host, u->r->port, remote);
        return 0;
    }
    log_error("partner %s: push of %s failed (%s): %s; it stays queued", u->p->name, remote_name,
              bd_sftp_class_name(c), err);
    bd_shared_sftp_error(u->p->name, c, "push of %s to %s:%d failed (%s): %s", remote_name, u->r->host, u->r->port,
                         bd_sftp_class_name(c), err);
    return -1;
}

/* Upload one queue entry: the data file, its .info last (it tells the partner the file is complete),
 * then the receipt. Removes the entry when all are there. */
static int push_entry(bd_pusher *u, const char *marker)
{
    json_t *e = json_load_file(marker, 0, NULL);
    json_t *files = e ? json_object_get(e, "files") : NULL;
    const char *receipt_file = e ? json_string_value(json_object_get(e, "receipt_file")) : NULL;
    const char *receipt_name = e ? json_string_value(json_object_get(e, "receipt_name")) : NULL;
    int rc = e && json_is_array(files) ? 0 : -1;
    if (rc < 0)
        log_error("partner %s: push queue entry %s is unreadable; leaving it for an operator", u->p->name, marker);
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f) {
        const char *local = json_string_value(f);
        if (rc == 0 && local)
            rc = push_file(u, local, bd_basename(local));
    }
    if (rc == 0 && receipt_file && receipt_name && access(receipt_file, F_OK) == 0)
        rc = push_file(u, receipt_file, receipt_name);
    if (rc == 0) {
        if (unlink(marker) < 0 || bd_fsync_dir(u->queue) < 0)
            rc = -1;
        else if (receipt_file)
            unlink(receipt_file); /* after the entry: a crash in between leaves a stray file, not a wedged entry */
        u->pushed++;
    }
    json_decref(e);
    return rc;
}

static int is_queue_entry(const char *name)
{
    size_t n = strlen(name);
    return name[0] == 'c' && n > 5 && strcmp(name + n - 5, ".json") == 0 &&
           (n < 13 || strcmp(name + n - 13, ".receipt.json") != 0);
}

int bd_pusher_round(bd_pusher *u)
{
    size_t n;
    char **names = bd_list_dir(u->queue, is_queue_entry, NULL, &n); /* by claim ID: oldest first */
    size_t done = 0;
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        char marker[PATH_MAX];
        if (!failed && (!connect_pusher(u) || bd_path_join(marker, sizeof marker, u->queue, names[i]) < 0)) {
            failed = 1;
        } else if (!failed && push_entry(u, marker) < 0) {
            /* A dead link stops the round; any other failure (a conflict, a missing
             * local file) only holds this entry back: the next ones still go. */
            failed = !u->link.s || !bd_sftp_alive(u->link.s);
        } else if (!failed)
            done++;
        free(names[i]);
    }
    if (done < n && !failed)
        failed = 1;
    free(names);
    return failed ? -1 : (int)(n - done);
}
