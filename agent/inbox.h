/* inbox.h: a partner's local inbox: candidate files, the settle rule and the completeness proof before a claim. */
#ifndef BD_INBOX_H
#define BD_INBOX_H
#include "conf.h"
#include "inbox_index.h"
#include "stream_probe.h"
#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

typedef struct bd_candidate {
    char *name;
    off_t size;
    struct timespec mtime;
    int incomplete; /* the stream ends early: an upload still in progress, or abandoned */
    int seen;                /* mark for the sweep */
    int ignored;             /* not a regular file: reported once, never taken */
    int moved_in;            /* arrived by rename and not written since: complete, no settle wait */
    int complete;            /* its stream was proven whole at this size and mtime */
    bd_probe_child probe;    /* run: the check of a big gzip stream, in a child process */
} bd_candidate;

typedef struct bd_inbox {
    const bd_partner *partner;
    char claim_dir[PATH_MAX]; /* state_dir/claims/<partner> or <inbox>/.batchdrop/<agent_id>: same file system */
    char alt_claim_dir[PATH_MAX]; /* the other possible place, searched for claims left by a crash */
    int wd;                   /* inotify watch, -1 when none */
    int remote;               /* a remote inbox's queue: files the SFTP fetcher downloaded into claim_dir */
    int pending;              /* remote: the queue changed, process it */
    uint64_t max_file_size, max_decoded_size; /* limits of the completeness probe */
    int probe_async;          /* run: big gzip streams are checked in a child process (stream_probe.c) */
    bd_candidate *c;          /* in name order after a sweep; new names are appended */
    size_t n, cap;
    bd_name_index index;      /* c by name (inbox_index.c) */
} bd_inbox;

/* What the ready callback tells the poller. */
typedef enum { BD_READY_DONE = 0, BD_READY_GAVE_BACK = 1, BD_READY_LATER = 2, BD_READY_STOP = -1 } bd_ready_result;
typedef bd_ready_result (*bd_ready_fn)(bd_inbox *in, const char *name, int truncated_is_final, void *arg);

int bd_inbox_init(bd_inbox *in, const bd_config *cfg, const bd_partner *p, char *err, size_t errlen);
/* The queue of a remote inbox: state_dir/remote/<partner>/ready, filled by the fetcher. */
int bd_inbox_init_remote(bd_inbox *in, const bd_config *cfg, const bd_partner *p, char *err, size_t errlen);
/* state_dir/remote/<partner>/<what> ("dl", "ready", "done", "push") */
int bd_remote_dir(char *out, size_t len, const bd_config *cfg, const bd_partner *p, const char *what);
void bd_inbox_free(bd_inbox *in);
/* Dotfiles and upload temp names (*.part, *.tmp, *.filepart) are never taken. */
int bd_inbox_ignored_name(const char *name);
/* List the folder: add new candidates, forget vanished ones. */
int bd_inbox_scan(bd_inbox *in);
/* An inotify event named this file; moved_in when it was a rename into the inbox. */
int bd_inbox_note(bd_inbox *in, const char *name, int moved_in);
/* Offer every candidate that is complete now to `ready`, one at a time.
 * Returns the seconds until a pending candidate may become ready, or -1 if none is pending. */
double bd_inbox_poll(bd_inbox *in, double incomplete_timeout, bd_ready_fn ready, void *arg, int *stopped);
#endif
