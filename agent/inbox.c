/* inbox.c: track candidate files in a local inbox and decide when each is complete (settled and cleanly decodable). */
#include "config.h"
#include "inbox.h"
#include "decode.h"
#include "fsutil.h"
#include "log.h"
#include "strutil.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Claims must be renames, so the claim folder sits on the inbox's file system:
 * under state_dir when it shares that file system (out of the partner's
 * reach), else in a hidden folder inside the inbox. */
static int choose_claim_dir(bd_inbox *in, const bd_config *cfg, const bd_partner *p)
{
    char in_state[PATH_MAX], in_inbox[PATH_MAX];
    if (bd_fmt(in_state, sizeof in_state, "%s/claims/%s", cfg->state_dir, p->name) < 0 ||
        bd_fmt(in_inbox, sizeof in_inbox, "%s/.batchdrop/%s", p->inbox, cfg->agent_id) < 0)
        return -1;
    int shared = bd_mkdir_p(cfg->state_dir, 0750) == 0 && bd_same_filesystem(cfg->state_dir, p->inbox) == 1;
    /* The other place is remembered: claims a crash left there before a move of state_dir are resumed. */
    snprintf(in->claim_dir, sizeof in->claim_dir, "%s", shared ? in_state : in_inbox);
    snprintf(in->alt_claim_dir, sizeof in->alt_claim_dir, "%s", shared ? in_inbox : in_state);
    return 0;
}

int bd_inbox_init(bd_inbox *in, const bd_config *cfg, const bd_partner *p, char *err, size_t errlen)
{
    memset(in, 0, sizeof *in);
    in->partner = p;
    in->wd = -1;
    in->max_file_size = cfg->max_file_size;
    in->max_decoded_size = cfg->max_decoded_size;
    struct stat st;
    if (stat(p->inbox, &st) < 0) {
        snprintf(err, errlen, "partner %s: inbox %s: %s", p->name, p->inbox, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "partner %s: inbox %s: not a directory", p->name, p->inbox);
        return -1;
    }
    if (choose_claim_dir(in, cfg, p) < 0) {
        snprintf(err, errlen, "partner %s: inbox path too long", p->name);
        return -1;
    }
    if (bd_mkdir_p(in->claim_dir, 0750) < 0) {
        snprintf(err, errlen, "partner %s: cannot create the claim folder %s: %s (the agent needs write access "
                 "to it)", p->name, in->claim_dir, strerror(errno));
        return -1;
    }
    return 0;
}

int bd_remote_dir(char *out, size_t len, const bd_config *cfg, const bd_partner *p, const char *what)
{
    return bd_fmt(out, len, "%s/remote/%s/%s", cfg->state_dir, p->name, what);
}

int bd_inbox_init_remote(bd_inbox *in, const bd_config *cfg, const bd_partner *p, char *err, size_t errlen)
{
    static const char *const dirs[] = {"dl", "ready", "done", "push"};
    memset(in, 0, sizeof *in);
    in->partner = p;
    in->wd = -1;
    in->remote = 1;
    in->pending = 1;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char dir[PATH_MAX];
        if (bd_remote_dir(dir, sizeof dir, cfg, p, dirs[i]) < 0 || bd_mkdir_p(dir, 0750) < 0) {
            snprintf(err, errlen, "partner %s: cannot create %s: %s", p->name, dir, strerror(errno));
            return -1;
        }
    }
    return bd_remote_dir(in->claim_dir, sizeof in->claim_dir, cfg, p, "ready");
}

static void forget(bd_candidate *c)
{
    bd_probe_child_stop(&c->probe);
    free(c->name);
}

void bd_inbox_free(bd_inbox *in)
{
    for (size_t i = 0; i < in->n; i++)
        forget(&in->c[i]);
    free(in->c);
    in->c = NULL;
    in->n = in->cap = 0;
    bd_name_index_free(&in->index);
}

int bd_inbox_ignored_name(const char *name)
{
    static const char *const temp_globs[] = {"*.part", "*.tmp", "*.filepart", NULL};
    if (name[0] == '.' || name[0] == '\0')
        return 1;
    for (const char *const *g = temp_globs; *g; g++)
        if (fnmatch(*g, name, 0) == 0)
            return 1;
    return 0;
}

static bd_candidate *find(bd_inbox *in, const char *name)
{
    long i = bd_name_index_find(&in->index, in->c, in->n, name);
    return i < 0 ? NULL : &in->c[i];
}

static bd_candidate *add(bd_inbox *in, const char *name)
{
    if (in->n == in->cap) {
        size_t ncap = in->cap ? in->cap * 2 : 64;
        bd_candidate *nc = realloc(in->c, ncap * sizeof *nc);
        if (!nc)
            return NULL;
        in->c = nc;
        in->cap = ncap;
    }
    bd_candidate *c = &in->c[in->n];
    memset(c, 0, sizeof *c);
    if (!(c->name = strdup(name)))
        return NULL;
    in->n++;
    bd_name_index_added(&in->index, in->c, in->n);
    return c;
}

/* Forget candidate i; it stays in the array, without a name, until compact() (one pass for a whole poll: a
 * memmove per file made a backlog quadratic). */
static void drop(bd_inbox *in, size_t i)
{
    forget(&in->c[i]);
    in->c[i].name = NULL;
}

static void compact(bd_inbox *in)
{
    size_t kept = 0;
    for (size_t i = 0; i < in->n; i++)
        if (in->c[i].name)
            in->c[kept++] = in->c[i];
    if (kept != in->n)
        in->index.valid = 0;
    in->n = kept;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const bd_candidate *)a)->name, ((const bd_candidate *)b)->name);
}

/* The candidate of this name, added if new and marked seen; NULL for an ignored name (*err on ENOMEM). */
static bd_candidate *touch(bd_inbox *in, const char *name, int *err)
{
    *err = 0;
    if (bd_inbox_ignored_name(name))
        return NULL;
    bd_candidate *c = find(in, name);
    if (!c && !(c = add(in, name))) {
        *err = -1;
        return NULL;
    }
    c->seen = 1;
    return c;
}

int bd_inbox_note(bd_inbox *in, const char *name, int moved_in)
{
    int err;
    bd_candidate *c = touch(in, name, &err);
    if (c && moved_in && !c->moved_in) { /* a sweep saw it first: what was found then no longer applies */
        bd_probe_child_stop(&c->probe);
        c->complete = c->incomplete = 0;
    }
    if (c)
        c->moved_in = moved_in; /* a later close_write (written again) clears it */
    return err;
}


int bd_inbox_scan(bd_inbox *in)
{
    DIR *d = opendir(in->partner->inbox);
    if (!d) {
        log_error("partner %s: cannot list the inbox %s: %s", in->partner->name, in->partner->inbox,
                  strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < in->n; i++)
        in->c[i].seen = 0;
    struct dirent *de;
    int rc = 0, err;
    while ((de = readdir(d))) {
        touch(in, de->d_name, &err); /* the sweep keeps what events said of a name */
        if (err < 0)
            rc = -1;
    }
    closedir(d);
    size_t kept = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (in->c[i].seen)
            in->c[kept++] = in->c[i];
        else
            forget(&in->c[i]);
    }
    in->n = kept;
    /* Name order: ID-sync files (adobe_id_, c2c_id_) come before trait files
     * (ftp_dpm_), and one partner's files in timestamp order. */
    if (in->n > 1)
        qsort(in->c, in->n, sizeof *in->c, by_name);
    in->index.valid = 0;
    return rc;
}

static double file_age(const struct stat *st)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    const struct timespec *t = &st->st_mtim;
    if (st->st_ctim.tv_sec > t->tv_sec || (st->st_ctim.tv_sec == t->tv_sec && st->st_ctim.tv_nsec > t->tv_nsec))
        t = &st->st_ctim; /* a client may set an old mtime; the ctime it cannot fake */
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static int same_version(const bd_candidate *c, const struct stat *st)
{
    return c->size == st->st_size && c->mtime.tv_sec == st->st_mtim.tv_sec &&
           c->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* What a check found for this version of the file: 1 whole (or bad in a way the job will report), 0 cut (an
 * upload in progress until incomplete_timeout), -1 could not read it. */
static int verdict(bd_inbox *in, bd_candidate *c, const struct stat *st, bd_decode_status s, const char *why)
{
    if (s == BD_DEC_IO)
        return -1;
    int again = c->incomplete && same_version(c, st);
    c->size = st->st_size;
    c->mtime = st->st_mtim;
    if (s != BD_DEC_TRUNCATED) {
        c->complete = 1;
        c->incomplete = 0;
        return 1;
    }
    c->complete = 0;
    if (!again)
        log_info("partner %s: %s looks like an upload in progress (%s); waiting", in->partner->name, c->name, why);
    c->incomplete = 1;
    return 0;
}

/* The child checking this candidate: its verdict when it is done, else 0 with *wait set. */
#define BD_PROBE_POLL 0.05
static int probe_done(bd_inbox *in, bd_candidate *c, const struct stat *probed, double *wait)
{
    char why[256] = "";
    int s = bd_probe_child_poll(&c->probe, why, sizeof why);
    if (s < 0) {
        *wait = BD_PROBE_POLL;
        return 0;
    }
    int rc = verdict(in, c, probed, (bd_decode_status)s, why);
    if (rc < 0) {
        log_warn("partner %s: cannot check %s: %s; trying again in a second", in->partner->name, c->name, why);
        *wait = 1.0;
    }
    return rc < 0 ? 0 : rc;
}

/* Start checking a big gzip stream in a child (see stream_probe.h): 0 started (*wait set), -1 check it here. */
static int probe_in_child(bd_inbox *in, bd_candidate *c, int fd, const struct stat *st, double *wait)
{
    bd_decode_limits lim = {.max_input = in->max_file_size, .max_output = in->max_decoded_size};
    if (bd_probe_child_start(&c->probe, fd, &lim) < 0) {
        log_warn("partner %s: cannot fork to check %s (%s); checking it here", in->partner->name, c->name,
                 strerror(errno));
        return -1;
    }
    log_debug("partner %s: checking the gzip stream of %s in process %ld", in->partner->name, c->name,
              (long)c->probe.pid);
    c->size = st->st_size; /* the version being checked */
    c->mtime = st->st_mtim;
    c->incomplete = c->complete = 0;
    *wait = BD_PROBE_POLL;
    return 0;
}

/* Does the stream decode to a clean end? 1 yes (or bad in a way the job will report), 2 a gzip file renamed in
 * (a finished upload, not inflated here: its worker rejects a cut stream), 0 not yet (or still being checked:
 * *wait set), -1 error. */
static int stream_complete(bd_inbox *in, bd_candidate *c, const char *path, const struct stat *st, double *wait)
{
    char why[256] = "";
    bd_decode_limits lim = {.max_input = in->max_file_size, .max_output = in->max_decoded_size};
    if (c->probe.pid > 0) {
        struct stat probed = {.st_size = c->size, .st_mtim = c->mtime};
        int rc = probe_done(in, c, &probed, wait);
        if (c->probe.pid <= 0 && !same_version(c, st)) { /* changed while it was checked: check it again */
            *wait = 0;
            return 0;
        }
        return rc;
    }
    int fd = bd_open_regular(path); /* no symlink, and no FIFO that would block the agent */
    if (fd < 0)
        return errno == ENOENT ? 0 : errno == EACCES || errno == EPERM || errno == EINVAL || errno == ELOOP ? 1 : -1;
    bd_compression comp = BD_COMP_PLAIN;
    const char *uns = NULL;
    int sniffed = bd_sniff_fd(fd, &comp, &uns) == 0, gzip = sniffed && comp == BD_COMP_GZIP, rc;
    if (gzip && c->moved_in)
        rc = 2;
    else if (gzip && in->probe_async && st->st_size > BD_PROBE_INLINE_MAX && probe_in_child(in, c, fd, st, wait) == 0)
        rc = 0;
    else
        rc = verdict(in, c, st, sniffed ? bd_probe_sniffed(fd, comp, uns, &lim, why, sizeof why) : BD_DEC_IO, why);
    close(fd);
    return rc;
}

/* 1 = ready, 0 = not yet (*wait set when a time is known), -1 = forget it.
 * A truncated stream counts as an upload in progress until the file has been
 * unchanged for incomplete_timeout; then it is taken, and rejected. The file's
 * own age measures that, so it holds across restarts and `once` runs. */
static int check_ready(bd_inbox *in, bd_candidate *c, double incomplete_timeout, int *final, double *wait)
{
    char path[PATH_MAX];
    struct stat st;
    *final = 0;
    if (bd_path_join(path, sizeof path, in->partner->inbox, c->name) < 0 || lstat(path, &st) < 0)
        return -1;
    if (!S_ISREG(st.st_mode)) { /* folders, symlinks, fifos: never taken, said once */
        if (!c->ignored)
            log_warn("partner %s: ignoring %s in the inbox: %s", in->partner->name, c->name,
                     S_ISLNK(st.st_mode) ? "a symbolic link (never followed; drop the file itself)"
                     : S_ISFIFO(st.st_mode) ? "a FIFO (only regular files are taken)"
                     : S_ISDIR(st.st_mode) ? "a folder (inboxes are not searched recursively)"
                                           : "not a regular file");
        c->ignored = 1;
        return 0;
    }
    c->ignored = 0;
    double age = file_age(&st);
    if (age < in->partner->settle && !c->moved_in) { /* a rename is a finished upload: no settle wait */
        *wait = in->partner->settle - age;
        return 0;
    }
    int known = (c->incomplete || c->complete) && same_version(c, &st) && c->probe.pid <= 0;
    int rc = known ? c->complete : stream_complete(in, c, path, &st, wait);
    if (rc < 0) {
        log_warn("partner %s: cannot read %s: %s", in->partner->name, path, strerror(errno));
        return 0;
    }
    if (rc == 2) {
        *final = BD_TRUNC_RENAMED;
        return 1;
    }
    if (rc == 0 && c->incomplete) {
        if (age >= incomplete_timeout) {
            *final = BD_TRUNC_TIMED_OUT;
            return 1;
        }
        *wait = incomplete_timeout - age;
    }
    return rc;
}

static double earliest(double a, double b)
{
    return a < 0 ? b : (b < a ? b : a);
}

double bd_inbox_poll(bd_inbox *in, double incomplete_timeout, bd_ready_fn ready, void *arg, int *stopped)
{
    double next = -1;
    *stopped = 0;
    for (size_t i = 0; i < in->n; i++) {
        int final = 0;
        double wait = -1;
        int rc = check_ready(in, &in->c[i], incomplete_timeout, &final, &wait);
        if (rc < 0) {
            drop(in, i);
            continue;
        }
        if (rc == 0) {
            if (wait >= 0)
                next = earliest(next, wait);
            continue;
        }
        char *name = in->c[i].name;
        in->c[i].name = NULL;
        bd_ready_result r = ready(in, name, final, arg);
        in->c[i].name = name;
        if (r == BD_READY_LATER)
            break; /* the partner is busy: the rest of this inbox waits; its worker's end wakes us */
        if (r == BD_READY_GAVE_BACK)
            continue;
        drop(in, i);
        if (r == BD_READY_STOP) {
            *stopped = 1;
            break;
        }
    }
    compact(in);
    return next;
}
