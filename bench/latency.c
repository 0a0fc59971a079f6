/* latency.c: rename files into an inbox one at a time and time each until a new line appears in a receipts log. */
/*
 * latency SRC_DIR INBOX RECEIPTS WARMUP TIMEOUT_S
 * Takes the regular files of SRC_DIR in name order. For each: note the number of lines in RECEIPTS, take
 * CLOCK_MONOTONIC, rename(2) the file into INBOX (same file system), then wait (inotify on the folder of
 * RECEIPTS, no busy polling) until RECEIPTS holds one more line, and take the clock again. The first WARMUP
 * files are not reported (they show that the watcher is up). Prints one latency per line in microseconds on
 * stdout; exits 1 if a receipt line does not appear within TIMEOUT_S seconds.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static const char *rpath;
static int rfd = -1;
static long lines;

/* read what was appended to the receipts log since the last call; count its line feeds */
static void catch_up(void) {
    char buf[65536];
    ssize_t n;
    if (rfd < 0 && (rfd = open(rpath, O_RDONLY | O_CLOEXEC)) < 0) return;
    while ((n = read(rfd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++) lines += buf[i] == '\n';
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: latency SRC_DIR INBOX RECEIPTS WARMUP TIMEOUT_S\n");
        return 2;
    }
    const char *src = argv[1], *inbox = argv[2];
    rpath = argv[3];
    int warmup = atoi(argv[4]);
    double timeout = atof(argv[5]);
    char *rdir = strdup(rpath);
    rdir = dirname(rdir);

    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (in < 0 || inotify_add_watch(in, rdir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
        perror("inotify");
        return 1;
    }
    DIR *d = opendir(src);
    if (!d) { perror(src); return 1; }
    size_t n = 0, cap = 1024;
    char **names = malloc(cap * sizeof *names);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) names = realloc(names, (cap *= 2) * sizeof *names);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);

    catch_up();
    for (size_t i = 0; i < n; i++) {
        char from[4096], to[4096], ev[8192];
        snprintf(from, sizeof from, "%s/%s", src, names[i]);
        snprintf(to, sizeof to, "%s/%s", inbox, names[i]);
        long want = lines + 1;
        while (read(in, ev, sizeof ev) > 0) {} /* drop stale events */
        double t0 = now();
        if (rename(from, to)) { perror(to); return 1; }
        for (;;) {
            catch_up();
            if (lines >= want) break;
            double left = t0 + timeout - now();
            if (left <= 0) {
                fprintf(stderr, "latency: no receipt line for %s within %.0f s\n", names[i], timeout);
                return 1;
            }
            struct pollfd p = {in, POLLIN, 0};
            int ms = left > 0.1 ? 100 : (int)(left * 1000) + 1; /* re-read at least every 100 ms anyway */
            if (poll(&p, 1, ms) > 0) while (read(in, ev, sizeof ev) > 0) {}
        }
        double t1 = now();
        if ((int)i >= warmup) printf("%.0f\n", (t1 - t0) * 1e6);
        if (lines > want) {
            fprintf(stderr, "latency: %ld receipt lines appeared for one file (%s)\n", lines - want + 1, names[i]);
            return 1;
        }
    }
    return fflush(stdout) ? 1 : 0;
}
