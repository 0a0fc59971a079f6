/* remote_link.c: connect, log, drop and back off one SFTP link; shared by the fetcher and the pusher. */
#include "config.h"
#include "remote_link.h"
#include "log.h"
#include "shared_stats.h"
#include "strutil.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_MAX 300.0

void bd_link_init(bd_remote_link *l, const bd_config *cfg, const bd_remote *r, const char *partner)
{
    memset(l, 0, sizeof *l);
    l->cfg = cfg;
    l->r = r;
    l->partner = partner;
    l->slot.fd = -1;
}

static void schedule_retry(bd_remote_link *l)
{
    l->backoff = l->backoff <= 0 ? 1 : l->backoff * 2;
    if (l->backoff > BACKOFF_MAX)
        l->backoff = BACKOFF_MAX;
    double jitter = l->backoff * 0.25 * ((double)(random() % 1000) / 1000.0);
    l->next_try = bd_monotonic() + l->backoff + jitter;
}

void bd_link_close(bd_remote_link *l)
{
    bd_sftp_close(l->s);
    l->s = NULL;
    bd_slot_release(&l->slot);
}

void bd_link_drop(bd_remote_link *l)
{
    bd_link_close(l);
    l->failures++;
    schedule_retry(l);
}

bd_sftp_class bd_link_failed(bd_remote_link *l, bd_sftp_class c, const char *what, const char *err)
{
    log_error("partner %s: sftp %s@%s:%d: %s failed (%s): %s", l->partner, l->r->user, l->r->host, l->r->port, what,
              bd_sftp_class_name(c), err);
    bd_shared_sftp_error(l->partner, c, "sftp %s@%s:%d: %s failed (%s): %s", l->r->user, l->r->host, l->r->port,
                         what, bd_sftp_class_name(c), err);
    if (c == BD_SFTP_TRANSIENT || (l->s && !bd_sftp_alive(l->s)))
        bd_link_drop(l);
    return c;
}

int bd_link_up(bd_remote_link *l, int *fresh)
{
    char err[1024];
    bd_sftp_class cls;
    *fresh = 0;
    if (l->s && bd_sftp_alive(l->s))
        return 1;
    if (l->s)
        bd_link_drop(l);
    if (bd_monotonic() < l->next_try)
        return 0;
    int slot = bd_slot_take(&l->slot, l->cfg, l->r);
    if (slot != 0) {
        if (slot < 0)
            log_error("partner %s: cannot take a session slot: %s", l->partner, strerror(errno));
        else if (bd_monotonic() >= l->next_busy_log) {
            log_warn("partner %s: all %d sessions to %s:%d are in use by this agent's other fetchers and pushers; "
                     "waiting (raise max_sessions if this persists)", l->partner, l->r->max_sessions, l->r->host,
                     l->r->port);
            l->next_busy_log = bd_monotonic() + 60;
        }
        l->next_try = bd_monotonic() + 1; /* all max_sessions slots busy: try again soon */
        return 0;
    }
    bd_sftp_endpoint ep = {l->r->host, l->r->port, l->r->user, l->r->key, l->r->passphrase_file,
                           l->r->password_file, l->r->known_hosts, l->r->timeout};
    if (!(l->s = bd_sftp_connect(&ep, &cls, err, sizeof err))) {
        bd_link_drop(l);
        log_error("partner %s: cannot connect to sftp://%s@%s:%d (%s): %s; retrying in %.0f s", l->partner,
                  l->r->user, l->r->host, l->r->port, bd_sftp_class_name(cls), err, l->next_try - bd_monotonic());
        bd_shared_sftp_error(l->partner, cls, "cannot connect to sftp://%s@%s:%d (%s): %s", l->r->user, l->r->host,
                             l->r->port, bd_sftp_class_name(cls), err);
        return 0;
    }
    l->backoff = 0;
    *fresh = 1;
    return 1;
}
