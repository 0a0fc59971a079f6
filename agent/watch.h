/* watch.h: inotify on the inbox folders (close_write, moved_to), with overflow reported for a rescan. */
#ifndef BD_WATCH_H
#define BD_WATCH_H

typedef struct bd_watch {
    int fd;
} bd_watch;

/* moved_in: the name arrived by a rename (IN_MOVED_TO), so its writer is done with it. */
typedef void (*bd_watch_fn)(int wd, const char *name, int moved_in, void *arg);

int bd_watch_open(bd_watch *w);
int bd_watch_add(bd_watch *w, const char *dir); /* the watch descriptor, -1 on error (errno) */
void bd_watch_rm(bd_watch *w, int wd);
/* Drain pending events. *overflow is set when events were lost (rescan everything);
 * *gone is set when a watched folder disappeared (re-add it later). */
int bd_watch_read(bd_watch *w, bd_watch_fn cb, void *arg, int *overflow, int *gone);
void bd_watch_close(bd_watch *w);
#endif
