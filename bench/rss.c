/* rss.c: run a command and report the peak RSS of that process (the supervisor) and of its descendants (workers). */
/*
 * rss CMD [ARGS...]   prints on stderr, after CMD exits:
 *   rss: sup_hwm_kb=N sup_anon_kb=N worker_hwm_kb=N worker_anon_kb=N workers_seen=N tree_maxrss_kb=N status=N
 * sup_hwm_kb: the last VmHWM (peak RSS, kernel-kept) read from /proc for CMD's process; worker_hwm_kb: the largest
 * VmHWM read for any descendant; *_anon_kb: the largest RssAnon sampled (heap and other private memory, without
 * the file pages of mmapped files such as the LMDB match store). /proc is read every 2 ms; VmHWM is a high-water
 * mark, so only growth in a process's last 2 ms can be missed. tree_maxrss_kb is getrusage's ru_maxrss over CMD
 * and every descendant it waited for (what GNU time -f %M shows), as a cross-check: it is at least the larger
 * of the two peaks. Exits with CMD's status.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long sup_hwm, sup_anon, w_hwm, w_anon;
static int seen[65536], nseen;

static void status_of(int pid, long *hwm, long *anon) {
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/%d/status", pid);
    FILE *f = fopen(p, "r");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        long v;
        if (sscanf(line, "VmHWM: %ld", &v) == 1 && v > *hwm) *hwm = v;
        if (sscanf(line, "RssAnon: %ld", &v) == 1 && v > *anon) *anon = v;
    }
    fclose(f);
}

static void walk(int pid, int depth) {
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/task/%d/children", pid, pid);
    if (depth == 0) status_of(pid, &sup_hwm, &sup_anon);
    else {
        status_of(pid, &w_hwm, &w_anon);
        int k;
        for (k = 0; k < nseen && seen[k] != pid; k++) {}
        if (k == nseen && nseen < 65536) seen[nseen++] = pid;
    }
    FILE *f = fopen(p, "r");
    if (!f) return;
    int c;
    while (fscanf(f, "%d", &c) == 1) walk(c, depth + 1);
    fclose(f);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: rss CMD [ARGS...]\n"); return 2; }
    pid_t pid = fork();
    if (pid == 0) { execvp(argv[1], argv + 1); perror(argv[1]); _exit(127); }
    int st = 0;
    struct rusage ru;
    for (;;) {
        walk(pid, 0);
        pid_t r = wait4(pid, &st, WNOHANG, &ru);
        if (r == pid) break;
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, 0);
    }
    fprintf(stderr, "rss: sup_hwm_kb=%ld sup_anon_kb=%ld worker_hwm_kb=%ld worker_anon_kb=%ld workers_seen=%d tree_maxrss_kb=%ld status=%d\n",
            sup_hwm, sup_anon, w_hwm, w_anon, nseen, ru.ru_maxrss, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
