/* test_inbox.c: unit tests of the inbox's completeness rules: a gzip file renamed in is taken as sent, even after a sweep judged it first. */
#include "config.h"
#include "decode.h"
#include "inbox.h"
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

int main(void)
{
    char dir[] = "/tmp/bd-test-inbox.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    if (mkdir(a, 0700) < 0 || mkdir(b, 0700) < 0) {
        perror("mkdir");
        return 1;
    }
    test_renamed_gzip_after_a_sweep(a);
    test_written_in_place_waits(b);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "# cannot remove %s\n", dir);
    return tap_done();
}
