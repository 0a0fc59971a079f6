/* index_builder.c: rebuilds the match store's lookup index: at the end of `once`, or in a child process under `run`. */
#include "config.h"
#include "index_builder.h"
#include "child_proc.h"
#include "dispatch.h"
#include "log.h"
#include "matchstore_open.h"
#include "strutil.h"
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int wanted(const bd_agent *a)
{
    return a->cfg->match_index && a->cfg->match_store == BD_STORE_LMDB && a->ms;
}

/* Stores below match_index_min_entries (and empty ones) keep no index: their B-tree stays in the CPU caches. */
static int big_enough(const bd_agent *a)
{
    uint64_t entries = 0;
    uint64_t least = a->cfg->match_index_min_entries ? a->cfg->match_index_min_entries : 1;
    return bd_matchstore_count(a->ms, &entries) == 0 && entries >= least;
}

/* The index is smaller than the store's data.mdb (about 60 against 80 bytes an entry): a build needs that much
 * free space in state_dir on top of min_free_space. 1 there is room (or it cannot be told), 0 not (logged). */
static int room_for_index(const bd_config *cfg, const char *who)
{
    char data[PATH_MAX];
    struct stat st;
    struct statvfs fs;
    if (bd_match_path(cfg, "data.mdb", data, sizeof data) < 0 || stat(data, &st) < 0 ||
        statvfs(cfg->state_dir, &fs) < 0)
        return 1;
    uint64_t free_bytes = (uint64_t)fs.f_bavail * fs.f_frsize, need = (uint64_t)st.st_size + cfg->min_free_space;
    if (free_bytes >= need)
        return 1;
    log_warn("%s: not building the lookup index: %s has %llu MB free, and the index needs about %llu MB besides "
             "min_free_space; trait files are looked up in the store itself (slower) until there is room",
             who, cfg->state_dir, (unsigned long long)(free_bytes >> 20), (unsigned long long)(st.st_size >> 20));
    return 0;
}

/* Build with ms, log the outcome. 0 built (or another build runs), -1 failed. */
static int build_and_log(bd_matchstore *ms, const char *who)
{
    char err[512] = "";
    uint64_t entries = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = bd_matchstore_index_build(ms, &entries, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (rc == 0)
        log_info("%s: built the match store's lookup index: %llu entries in %.1f s", who,
                 (unsigned long long)entries, secs);
    else if (rc == 1)
        log_info("%s: another process is building the lookup index; leaving it to that one", who);
    else
        log_warn("%s: %s; trait files are looked up in the store itself (slower) until a build succeeds, or set "
                 "match_index = false", who, err);
    return rc < 0 ? -1 : 0;
}

void bd_index_after_once(bd_agent *a)
{
    if (wanted(a) && big_enough(a) && bd_matchstore_index_fresh(a->ms) == 0 && room_for_index(a->cfg, "once"))
        build_and_log(a->ms, "once");
}

static void child_build(const bd_config *cfg, pid_t parent)
{
    char err[512];
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    bd_child_bind_to_parent(parent);
    close_range(3, ~0U, 0); /* not the supervisor's sockets and locks: a spare worker sees its socket close */
    if (setpriority(PRIO_PROCESS, 0, 10) < 0)
        log_debug("index builder: cannot lower its priority: %s", strerror(errno));
    bd_matchstore *ms = bd_matchstore_open_configured(cfg, 1, err, sizeof err); /* never the parent's handle */
    if (!ms) {
        log_warn("index builder: %s", err);
        _exit(1);
    }
    int rc = build_and_log(ms, "index builder");
    bd_matchstore_close(ms);
    _exit(rc < 0 ? 1 : 0);
}

static void reap(bd_agent *a, int block)
{
    int status;
    pid_t r;
    while ((r = waitpid(a->index_pid, &status, block ? 0 : WNOHANG)) < 0 && errno == EINTR)
        ;
    if (r == 0)
        return;
    if (r > 0 && WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
        log_warn("index builder: killed by signal %d; the next check starts another", WTERMSIG(status));
    a->index_pid = 0;
}

void bd_index_tick(bd_agent *a)
{
    if (a->index_pid > 0)
        reap(a, 0);
    double now = bd_monotonic();
    if (a->index_pid > 0 || !wanted(a) || now < a->index_next_check || bd_dispatch_active(a))
        return;
    a->index_next_check = now + a->cfg->match_index_interval;
    if (!big_enough(a) || bd_matchstore_index_fresh(a->ms) != 0 || !room_for_index(a->cfg, "index builder"))
        return;
    pid_t parent = getpid(), pid = fork();
    if (pid < 0)
        log_warn("cannot start the index builder: %s; trying again in %.0f s", strerror(errno),
                 a->cfg->match_index_interval);
    else if (pid == 0)
        child_build(a->cfg, parent);
    else
        a->index_pid = pid;
}

void bd_index_stop(bd_agent *a)
{
    if (a->index_pid <= 0)
        return;
    kill(a->index_pid, SIGTERM);
    reap(a, 1);
}
