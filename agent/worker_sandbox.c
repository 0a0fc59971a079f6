/* worker_sandbox.c: the worker's confinement: setrlimit, user switch, PR_SET_NO_NEW_PRIVS and a libseccomp allow-list. */
#include "config.h"
#include "worker_sandbox.h"
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define BD_HAVE_VALGRIND_H 1
#endif
#endif

/* What a worker may call once it is confined (documented in batchdrop(8), SANDBOX):
 * reading the claimed file and decoding it, parsing, reading (and for ID-sync
 * files writing) the LMDB match store or a redis one over the connections made
 * before the sandbox (read/write on them), and writing the staged outbox files.
 * socket and connect are not allowed but fail with EPERM (see add_rules). */
static const char *const allowed[] = {
    /* files: the input, the staged outputs, the store */
    "read", "write", "pread64", "pwrite64", "readv", "writev", "lseek", "close", "openat", "open", "fstat",
    "newfstatat", "stat", "lstat", "statx", "access", "faccessat", "faccessat2", "fcntl", "fsync", "fdatasync",
    "sync_file_range", "syncfs",
    "recvmsg", /* a spare worker receives its batch and the input fds from the agent (worker_wire.c) */
    "ftruncate", "fallocate", "rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat",
    "linkat", /* an unnamed staged file (stage_pool.c) given its name */
    "getdents64", "msync",
    /* memory */
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
    /* threads of libraries, locks, time, identity */
    "futex", "set_robust_list", "sched_yield", "clock_gettime", "gettimeofday", "nanosleep", "clock_nanosleep",
    "getpid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getrandom", "uname",
    "sysinfo", /* glibc qsort asks it for the memory size (the match store sorts ID-sync puts) */
    /* signals and the end */
    "rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "sigaltstack", /* the latter: sanitizer runtimes, per thread */
    "exit", "exit_group", NULL};

static int set_limit(int resource, rlim_t value)
{
    struct rlimit rl = {value, value};
    return setrlimit(resource, &rl);
}

static int switch_user(const char *user, char *err, size_t errlen)
{
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(err, errlen, "user '%s' does not exist%s%s", user, errno ? ": " : "", errno ? strerror(errno) : "");
        return -1;
    }
    if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
        snprintf(err, errlen, "cannot switch to user '%s': %s", user, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0) {
        snprintf(err, errlen, "switched to user '%s' but could regain root; refusing to go on", user);
        return -1;
    }
    return 0;
}

#if defined(__SANITIZE_ADDRESS__)
#define BD_ASAN_BUILD 1 /* AddressSanitizer maps huge regions: a data limit breaks it (test builds only) */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BD_ASAN_BUILD 1
#endif
#endif

static int set_memory_limit(const bd_config *cfg)
{
#ifdef BD_ASAN_BUILD
    (void)cfg;
    return 0;
#else
    return set_limit(RLIMIT_DATA, (rlim_t)cfg->plugin_memory_limit);
#endif
}

int bd_sandbox_limits(const bd_config *cfg, char *err, size_t errlen)
{
    rlim_t cpu = 2 * (rlim_t)cfg->plugin_timeout + 1; /* two threads: the parsing and the lookups */
    if (set_limit(RLIMIT_CPU, cpu) < 0 || set_memory_limit(cfg) < 0 || set_limit(RLIMIT_CORE, 0) < 0) {
        snprintf(err, errlen, "setrlimit: %s", strerror(errno));
        return -1;
    }
    if (geteuid() == 0 && cfg->user && switch_user(cfg->user, err, errlen) < 0)
        return -1;
    return 0;
}

static volatile int32_t *forbidden_call;

static void on_sigsys(int sig, siginfo_t *info, void *ctx)
{
    (void)sig;
    (void)ctx;
    if (forbidden_call)
        *forbidden_call = info->si_syscall ? info->si_syscall : -1;
    _exit(125);
}

static int add_rules(scmp_filter_ctx ctx, char *err, size_t errlen)
{
    int rc;
    for (const char *const *name = allowed; *name; name++) {
        int nr = seccomp_syscall_resolve_name(*name);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not a system call on this architecture (e.g. "open" on arm64) */
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        if (rc < 0) {
            snprintf(err, errlen, "seccomp rule for %s: %s", *name, strerror(-rc));
            return -1;
        }
    }
    /* abort() and raise() signal the worker itself, and nothing else */
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
    if (rc < 0) {
        snprintf(err, errlen, "seccomp rule for tgkill: %s", strerror(-rc));
        return -1;
    }
    /* socket and connect fail with EPERM instead of killing the worker: a redis match store reconnecting inside
     * the sandbox (after a failover to a node it had no connection to) then fails transiently and the file is
     * retried by a new worker, which connects before its sandbox. No new socket can be made either way. */
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 0);
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(connect), 0);
    if (rc < 0) {
        snprintf(err, errlen, "seccomp rule for socket/connect: %s", strerror(-rc));
        return -1;
    }
    /* stdio may ask whether a stream is a terminal; nothing else goes through ioctl */
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, TCGETS));
    if (rc < 0) {
        snprintf(err, errlen, "seccomp rule for ioctl: %s", strerror(-rc));
        return -1;
    }
    return 0;
}

int bd_sandbox_seccomp(volatile int32_t *syscall_out, char *err, size_t errlen)
{
#ifdef BD_HAVE_VALGRIND_H
    if (RUNNING_ON_VALGRIND) {
        /* valgrind cannot run seccomp filters; this is a test run, not production */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
            snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
            return -1;
        }
        return 0;
    }
#endif
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    forbidden_call = syscall_out;
    if (sigaction(SIGSYS, &sa, NULL) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
        return -1;
    }
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    if (!ctx) {
        snprintf(err, errlen, "seccomp_init failed");
        return -1;
    }
    /* TSYNC: the worker's lookup thread (started before the sandbox) gets the same filter */
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc < 0)
        snprintf(err, errlen, "seccomp thread sync: %s", strerror(-rc));
    if (rc == 0)
        rc = add_rules(ctx, err, errlen);
    if (rc == 0 && (rc = seccomp_load(ctx)) < 0)
        snprintf(err, errlen, "seccomp_load: %s", strerror(-rc));
    seccomp_release(ctx);
    return rc < 0 ? -1 : 0;
}

const char *bd_sandbox_syscall_name(int nr)
{
    static char buf[32];
    char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    snprintf(buf, sizeof buf, "%s", name ? name : "?");
    free(name);
    return buf;
}
