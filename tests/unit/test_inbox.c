/* test_inbox.c: unit tests of the inbox: completeness rules (a gzip file renamed in is taken as sent, even after a sweep judged it first), and a big backlog's bookkeeping. */
#include "config.h"
#include "decode.h"
#include "inbox.h"
#include "inbox_index.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

typedef struct offer {
    int n, final;
    char name[64];
} offer;

static bd_ready_result take(bd_inbox *in, const char *name, int truncated_is_final, void *arg)
{
    offer *o = arg;
    (void)in;
    o->n++;
    o->final = truncated_is_final;
    snprintf(o->name, sizeof o->name, "%s", name);
    return BD_READY_DONE;
}

/* A gzip stream of some lines, cut before its trailer, written as dir/name. */
static int write_cut_gzip(const char *dir, const char *name)
{
    char path[512], tmp[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    gzFile g = gzopen(tmp, "wb");
    if (!g)
        return -1;
    for (int i = 0; i < 2000; i++)
        gzprintf(g, "ACME-%04d\td_sid=%d\n", i, i % 50);
    if (gzclose(g) != Z_OK)
        return -1;
    FILE *f = fopen(tmp, "r+");
    if (!f || fseek(f, 0, SEEK_END) < 0) {
        if (f)
            fclose(f);
        return -1;
    }
    long size = ftell(f);
    int rc = size > 16 && ftruncate(fileno(f), size - 9) == 0 ? 0 : -1;
    fclose(f);
    return rc == 0 ? rename(tmp, path) : -1;
}

/* A partner whose inbox is dir (no settle time), a cut gzip file in it, and what the inbox offered. */
typedef struct fixture {
    bd_partner p;
    bd_inbox in;
    offer o;
} fixture;

static void set_up(fixture *f, const char *dir, const char *name)
{
    memset(f, 0, sizeof *f);
    f->p = (bd_partner){.name = "acme", .inbox = (char *)dir, .settle = 0};
    f->in = (bd_inbox){.partner = &f->p, .wd = -1, .max_file_size = 1 << 30, .max_decoded_size = 1 << 30};
    TAP_OK(write_cut_gzip(dir, name) == 0, "a cut gzip file %s is made", name);
}

/* One pass of the inbox: how many files it has offered so far. */
static int offered_after_poll(fixture *f, double incomplete_timeout)
{
    int stopped = 0;
    bd_inbox_poll(&f->in, incomplete_timeout, take, &f->o, &stopped);
    return f->o.n;
}

static void test_renamed_gzip_after_a_sweep(const char *dir)
{
    const char *name = "ftp_dpm_478_1500000001.sync.gz";
    fixture f;
    set_up(&f, dir, name);
    TAP_EQ_INT(bd_inbox_scan(&f.in), 0, "the sweep lists it (before any inotify event)");
    TAP_EQ_INT(offered_after_poll(&f, 3600), 0,
               "seen by the sweep alone, the cut stream is an upload in progress: not offered");
    TAP_EQ_INT(offered_after_poll(&f, 3600), 0, "and not offered again while it is unchanged");
    TAP_EQ_INT(bd_inbox_note(&f.in, name, 1), 0, "then its rename event comes");
    TAP_EQ_INT(offered_after_poll(&f, 3600), 1, "renamed in, it is a finished upload: offered at once");
    TAP_EQ_INT(f.o.final, BD_TRUNC_RENAMED, "and a cut stream is final, because it was renamed in");
    bd_inbox_free(&f.in);
}

static void test_written_in_place_waits(const char *dir)
{
    const char *name = "ftp_dpm_478_1500000002.sync.gz";
    fixture f;
    set_up(&f, dir, name);
    TAP_EQ_INT(bd_inbox_note(&f.in, name, 0), 0, "an event says it was written");
    TAP_EQ_INT(offered_after_poll(&f, 3600), 0, "written in place and cut: an upload in progress, not offered");
    TAP_EQ_INT(offered_after_poll(&f, 0), 1, "past incomplete_timeout it is offered");
    TAP_EQ_INT(f.o.final, BD_TRUNC_TIMED_OUT, "to be rejected because it stayed cut");
    bd_inbox_free(&f.in);
}


/* ---------------------------------------------------------------- a big backlog */

#define BACKLOG 3000

typedef struct backlog {
    int taken[BACKLOG], given_back[BACKLOG], offers_this_poll, out_of_order;
    long last_taken;
} backlog;

static long number_of(const char *name)
{
    long n = -1;
    return sscanf(name, "ftp_dpm_478_%ld.sync", &n) == 1 ? n : -1;
}

/* Takes 64 files a poll (moving each away, as a claim does), then says the partner is busy; gives every 7th file
 * back the first time. */
static bd_ready_result take_some(bd_inbox *in, const char *name, int truncated_is_final, void *arg)
{
    backlog *b = arg;
    long k = number_of(name);
    (void)truncated_is_final;
    if (k < 0 || k >= BACKLOG || b->offers_this_poll == 64)
        return BD_READY_LATER;
    b->offers_this_poll++;
    if (k % 7 == 0 && !b->given_back[k]) {
        b->given_back[k] = 1;
        return BD_READY_GAVE_BACK;
    }
    if (k % 7 != 0) { /* the others come again at the head of a later poll */
        b->out_of_order += k < b->last_taken;
        b->last_taken = k;
    }
    b->taken[k]++;
    char path[700];
    snprintf(path, sizeof path, "%s/%s", in->partner->inbox, name);
    return unlink(path) == 0 ? BD_READY_DONE : BD_READY_STOP; /* the claim moves it away */
}

static void test_backlog(const char *dir)
{
    static backlog b;
    bd_partner p = {.name = "acme", .inbox = (char *)dir, .settle = 0};
    bd_inbox in = {.partner = &p, .wd = -1, .max_file_size = 1 << 30, .max_decoded_size = 1 << 30};
    char path[700], name[64];
    int made = 0, noted = 0;
    for (int i = 0; i < BACKLOG; i++) {
        int k = (int)(((long)i * 1237) % BACKLOG); /* created out of name order */
        snprintf(name, sizeof name, "ftp_dpm_478_%010d.sync", k);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        FILE *f = fopen(path, "w");
        made += f && fprintf(f, "ACME-%04d\td_sid=1\n", k) > 0 && fclose(f) == 0;
        noted += bd_inbox_note(&in, name, i % 2) == 0 && bd_inbox_note(&in, name, i % 2) == 0; /* twice */
    }
    TAP_EQ_INT(made, BACKLOG, "%d files made in the inbox, out of name order", BACKLOG);
    TAP_EQ_INT(noted, BACKLOG, "each noted twice by events");
    TAP_EQ_INT((long)in.n, BACKLOG, "one candidate per file, however often it was noted");
    TAP_EQ_INT(bd_inbox_scan(&in), 0, "the sweep lists them");
    TAP_EQ_INT((long)in.n, BACKLOG, "and still one candidate per file");
    b.last_taken = -1;
    int polls = 0, stopped = 0;
    while (in.n > 0 && polls++ < 2 * BACKLOG / 64 + 10) {
        b.offers_this_poll = 0;
        bd_inbox_poll(&in, 3600, take_some, &b, &stopped);
        if (polls == 3) /* a new event for a file already taken, and one still waiting: no double */
            noted = bd_inbox_note(&in, "ftp_dpm_478_0000002999.sync", 1) + bd_inbox_note(&in, "ftp_dpm_478_0000000001.sync", 1);
    }
    int once = 0, twice = 0;
    for (int k = 0; k < BACKLOG; k++)
        once += b.taken[k] == 1, twice += b.taken[k] > 1;
    TAP_EQ_INT(once, BACKLOG, "every file taken once");
    TAP_EQ_INT(twice, 0, "none twice, though an event came for a file already taken");
    TAP_EQ_INT(b.out_of_order, 0, "taken in name order (leaving aside the files given back)");
    TAP_EQ_INT(noted, 0, "the late events were noted");
    TAP_EQ_INT((long)in.n, 0, "nothing left in the inbox's bookkeeping");
    bd_inbox_free(&in);
}

/* The index alone: growth past half full, gone entries, a rebuild after the array is reordered. */
static void test_name_index(void)
{
    enum { N = 1000 };
    static bd_candidate c[N];
    static char names[N][32];
    bd_name_index x = {0};
    int found = 0;
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        c[i].name = names[i];
        bd_name_index_added(&x, c, (size_t)i + 1);
        found += bd_name_index_find(&x, c, (size_t)i + 1, names[i / 2]) == i / 2;
    }
    TAP_EQ_INT(found, N, "each name found at its position while %d are appended (the index grows)", N);
    TAP_EQ_INT(bd_name_index_find(&x, c, N, "f1000"), -1, "a name never added is not found");
    c[10].name = NULL;
    TAP_EQ_INT(bd_name_index_find(&x, c, N, "f10"), -1, "a gone candidate is not found");
    TAP_EQ_INT(bd_name_index_find(&x, c, N, "f11"), 11, "its neighbour still is");
    c[10] = c[N - 1]; /* reordered, as a compaction does */
    x.valid = 0;
    TAP_EQ_INT(bd_name_index_find(&x, c, N - 1, "f999"), 10, "after a reorder the index is rebuilt: f999 at 10");
    TAP_EQ_INT(bd_name_index_find(&x, c, N - 1, "f10"), -1, "and f10 is gone");
    bd_name_index_free(&x);
}

int main(void)
{
    char dir[] = "/tmp/bd-test-inbox.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char a[600], b[600], c[600];
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    snprintf(c, sizeof c, "%s/c", dir);
    if (mkdir(a, 0700) < 0 || mkdir(b, 0700) < 0 || mkdir(c, 0700) < 0) {
        perror("mkdir");
        return 1;
    }
    test_renamed_gzip_after_a_sweep(a);
    test_written_in_place_waits(b);
    test_backlog(c);
    test_name_index();
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "# cannot remove %s\n", dir);
    return tap_done();
}
