/* remote_done.h: the done lists a commit leaves for a remote inbox's fetcher: the sources to delete or move. */
#ifndef BD_REMOTE_DONE_H
#define BD_REMOTE_DONE_H
#include "remote_fetch.h"

/* Delete or move the remote sources named in done/ (done lists, and the one-file markers of older versions); a
 * list goes once all its entries are finished. 0, or -1 when the server failed (retried after a pause). */
int bd_fetcher_finish_done(bd_fetcher *f);
/* 1 when claim entry `entry` is named in done/ (its source only waits to be deleted or moved), 0 when not, -1 on
 * an error. Reads done/ afresh: call it after finding the entry gone from ready/ (a commit writes the list first). */
int bd_done_has(const bd_fetcher *f, const char *entry);
/* A new done list's path in folder dir: g<ms>-<pid>-<n>.list, new each time, so that a commit's replay adds a list
 * rather than replace one (the fetcher's deletes are idempotent). 0, or -1 when too long. */
int bd_done_list_path(char *path, size_t len, const char *dir);
#endif
