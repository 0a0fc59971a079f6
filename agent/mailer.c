/* mailer.c: deliver spooled receipt mails through `sendmail -t -i`, one child at a time, with retries and back-off. */
#include "config.h"
#include "mailer.h"
#include "fsutil.h"
#include "log.h"
#include "pstats.h"
#include "strutil.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAIL_DEADLINE 60.0        /* seconds sendmail may take for one message */
#define MAIL_BACKOFF_MAX 3600.0   /* longest wait after failures in a row */
#define MAIL_GIVE_UP (3 * 86400)  /* a mail still failing after this long is dropped (logged) */

struct bd_mailer {
    pid_t pid; /* running sendmail, 0 = none */
    char path[PATH_MAX];
    char partner[72];
    double deadline, next_try, backoff;
    int spooled; /* a mail may wait in the spool (rescan) */
};

bd_mailer *bd_mailer_new(void)
{
    bd_mailer *m = calloc(1, sizeof *m);
    if (m)
        m->spooled = 1; /* look at the spool once: mails left by the last run */
    return m;
}

void bd_mailer_free(bd_mailer *m)
{
    if (!m)
        return;
    if (m->pid > 0) {
        kill(m->pid, SIGTERM);
        while (waitpid(m->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    free(m);
}

static int is_mail(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".eml") == 0 && strchr(name, '~');
}

/* The spooled mail that waited longest (oldest mtime). 1 found, 0 none. */
static int oldest_mail(const bd_config *cfg, char *path, size_t len, struct stat *st)
{
    char dir[PATH_MAX];
    size_t n = 0;
    if (bd_fmt(dir, sizeof dir, "%s/mail", cfg->state_dir) < 0)
        return 0;
    char **names = bd_list_dir(dir, is_mail, NULL, &n);
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        char p[PATH_MAX];
        struct stat s;
        if (bd_path_join(p, sizeof p, dir, names[i]) == 0 && stat(p, &s) == 0 &&
            (!found || s.st_mtime < st->st_mtime)) {
            found = 1;
            *st = s;
            snprintf(path, len, "%s", p);
        }
        free(names[i]);
    }
    free(names);
    return found;
}

static void partner_of(const char *path, char *out, size_t len)
{
    const char *base = bd_basename(path), *tilde = strchr(base, '~');
    snprintf(out, len, "%.*s", tilde ? (int)(tilde - base) : 0, base);
}

static pid_t start_sendmail(const bd_config *cfg, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        if (dup2(fd, 0) < 0)
            _exit(126);
        unsetenv("NOTIFY_SOCKET"); /* only the agent speaks to systemd */
        unsetenv("WATCHDOG_PID");
        unsetenv("WATCHDOG_USEC");
        execl(cfg->sendmail, cfg->sendmail, "-t", "-i", (char *)NULL);
        fprintf(stderr, "batchdrop: cannot run sendmail %s: %s\n", cfg->sendmail, strerror(errno));
        _exit(127);
    }
    close(fd);
    return pid;
}

/* When the receipt was spooled: the claim ID in the name is "c<milliseconds>-...". */
static int64_t spooled_ms(const char *path)
{
    const char *tilde = strchr(bd_basename(path), '~');
    return tilde && tilde[1] == 'c' ? strtoll(tilde + 2, NULL, 10) : 0;
}

static void failed(bd_mailer *m, struct bd_pstats *ps, const char *why)
{
    m->backoff = m->backoff ? m->backoff * 2 : 10;
    if (m->backoff > MAIL_BACKOFF_MAX)
        m->backoff = MAIL_BACKOFF_MAX;
    m->next_try = bd_monotonic() + m->backoff;
    bd_pstat *p = bd_pstats_get(ps, m->partner);
    if (p)
        p->mail_failures++;
    int64_t since = spooled_ms(m->path);
    if (since > 0 && bd_now_ms() - since > (int64_t)MAIL_GIVE_UP * 1000) {
        log_error("partner %s: receipt mail %s: %s; it kept failing for 3 days: dropped (the receipt itself is in "
                  "the receipts log)", m->partner, m->path, why);
        if (unlink(m->path) < 0)
            log_error("cannot remove %s: %s", m->path, strerror(errno));
        return;
    }
    if (utimensat(AT_FDCWD, m->path, NULL, 0) < 0 && errno != ENOENT) /* to the back of the queue */
        log_debug("cannot touch %s: %s", m->path, strerror(errno));
    log_error("partner %s: receipt mail %s: %s; retrying in %.0f s (check `sendmail` in batchdrop.conf and the "
              "MTA's log)", m->partner, bd_basename(m->path), why, m->backoff);
    bd_pstats_error(ps, m->partner, "receipt mail: %s", why);
}

static void collect(bd_mailer *m, struct bd_pstats *ps, int status)
{
    m->pid = 0;
    m->spooled = 1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (unlink(m->path) < 0 && errno != ENOENT)
            log_error("receipt mail %s was sent but cannot be removed: %s", m->path, strerror(errno));
        bd_pstat *p = bd_pstats_get(ps, m->partner);
        if (p)
            p->mails_sent++;
        log_info("partner %s: receipt mail %s handed to %s", m->partner, bd_basename(m->path), "sendmail");
        m->backoff = 0;
        return;
    }
    char why[128];
    if (WIFEXITED(status))
        snprintf(why, sizeof why, "sendmail exited with status %d", WEXITSTATUS(status));
    else
        snprintf(why, sizeof why, "sendmail was killed by signal %d", WTERMSIG(status));
    failed(m, ps, why);
}

static void reap(bd_mailer *m, struct bd_pstats *ps, int block)
{
    int status;
    pid_t r;
    while ((r = waitpid(m->pid, &status, block ? 0 : WNOHANG)) < 0 && errno == EINTR)
        ;
    if (r == m->pid)
        collect(m, ps, status);
    else if (r < 0) {
        m->pid = 0;
        failed(m, ps, strerror(errno));
    } else if (bd_monotonic() >= m->deadline) {
        kill(m->pid, SIGKILL);
        while (waitpid(m->pid, &status, 0) < 0 && errno == EINTR)
            ;
        m->pid = 0;
        failed(m, ps, "sendmail took longer than 60 s and was killed");
    }
}

static void start_next(bd_mailer *m, const bd_config *cfg, struct bd_pstats *ps)
{
    struct stat st;
    if (!m->spooled || bd_monotonic() < m->next_try)
        return;
    if (!oldest_mail(cfg, m->path, sizeof m->path, &st)) {
        m->spooled = 0;
        return;
    }
    partner_of(m->path, m->partner, sizeof m->partner);
    m->pid = start_sendmail(cfg, m->path);
    if (m->pid < 0) {
        m->pid = 0;
        failed(m, ps, strerror(errno));
        return;
    }
    m->deadline = bd_monotonic() + MAIL_DEADLINE;
}

void bd_mailer_tick(bd_mailer *m, const bd_config *cfg, struct bd_pstats *ps)
{
    if (!m)
        return;
    if (m->pid > 0)
        reap(m, ps, 0);
    if (m->pid == 0)
        start_next(m, cfg, ps);
}

void bd_mailer_note_spooled(bd_mailer *m)
{
    if (m)
        m->spooled = 1;
}

void bd_mailer_kick(bd_mailer *m)
{
    if (!m)
        return;
    m->spooled = 1;
    m->next_try = 0;
    m->backoff = 0;
}

double bd_mailer_next(const bd_mailer *m)
{
    if (!m || (!m->pid && !m->spooled))
        return -1;
    double now = bd_monotonic();
    double t = m->pid ? m->deadline - now : m->next_try - now;
    if (m->pid && t > 1)
        t = 1; /* SIGCHLD wakes the loop too; this is the safety net */
    return t < 0 ? 0 : t;
}

void bd_mailer_flush(bd_mailer *m, const bd_config *cfg, struct bd_pstats *ps)
{
    if (!m)
        return;
    m->spooled = 1;
    m->next_try = 0;
    for (int sent = 0; sent < 10000; sent++) {
        start_next(m, cfg, ps);
        if (!m->pid)
            return;
        while (m->pid > 0) {
            reap(m, ps, 0);
            if (m->pid > 0)
                usleep(20000);
        }
        if (m->backoff)
            return; /* failing: the next run retries */
    }
}
