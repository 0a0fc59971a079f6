/* shared_stats.c: a MAP_SHARED page of per-partner SFTP counters, written by the fetcher/pusher children, read by the supervisor. */
#include "config.h"
#include "shared_stats.h"
#include "strutil.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static bd_shared_partner *page; /* BD_SHARED_PARTNERS slots */

int bd_shared_stats_open(void)
{
    if (page)
        return 0;
    void *p = mmap(NULL, BD_SHARED_PARTNERS * sizeof *page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED)
        return -1;
    page = p;
    return 0;
}

bd_shared_partner *bd_shared_stats_find(const char *partner)
{
    for (size_t i = 0; page && i < BD_SHARED_PARTNERS && page[i].name[0]; i++)
        if (strcmp(page[i].name, partner) == 0)
            return &page[i];
    return NULL;
}

void bd_shared_stats_register(const char *partner)
{
    if (!page || bd_shared_stats_find(partner))
        return;
    for (size_t i = 0; i < BD_SHARED_PARTNERS; i++)
        if (!page[i].name[0]) {
            snprintf(page[i].name, sizeof page[i].name, "%s", partner);
            return;
        }
}

void bd_shared_sftp_error(const char *partner, bd_sftp_class c, const char *fmt, ...)
{
    bd_shared_partner *sp = bd_shared_stats_find(partner);
    if (!sp || c <= BD_SFTP_OK || c >= BD_SFTP_CLASSES)
        return;
    __atomic_add_fetch(&sp->sftp_errors[c], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&sp->error_seq, 1, __ATOMIC_ACQ_REL); /* odd: writing */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sp->last_error, sizeof sp->last_error, fmt, ap);
    va_end(ap);
    sp->last_error_ms = bd_now_ms();
    __atomic_add_fetch(&sp->error_seq, 1, __ATOMIC_ACQ_REL);
}

void bd_shared_remote_backlog(const char *partner, uint64_t n, int64_t oldest_mtime)
{
    bd_shared_partner *sp = bd_shared_stats_find(partner);
    if (!sp)
        return;
    __atomic_store_n(&sp->remote_backlog, n, __ATOMIC_RELAXED);
    __atomic_store_n(&sp->remote_oldest_mtime, oldest_mtime, __ATOMIC_RELAXED);
}

int64_t bd_shared_last_error(const bd_shared_partner *sp, char *out, size_t len)
{
    for (int tries = 0; tries < 100; tries++) {
        uint64_t before = __atomic_load_n(&sp->error_seq, __ATOMIC_ACQUIRE);
        if (before & 1)
            continue;
        int64_t ms = sp->last_error_ms;
        snprintf(out, len, "%.*s", (int)sizeof sp->last_error - 1, sp->last_error);
        if (__atomic_load_n(&sp->error_seq, __ATOMIC_ACQUIRE) == before)
            return ms;
    }
    if (len)
        out[0] = '\0';
    return 0;
}
