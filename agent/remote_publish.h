/* remote_publish.h: downloaded files made durable together, then queued for processing (a fetcher round's group). */
#ifndef BD_REMOTE_PUBLISH_H
#define BD_REMOTE_PUBLISH_H
#include <stdint.h>

struct bd_fetcher;

/* One small file at a time would cost three syncs each (the file, ready/, dl/); a group of up to this many
 * costs one per file and two in all. */
#define BD_FETCH_PUBLISH_MAX 64

/* A downloaded part: fd open with its writeback started, the paths it goes from and to, for the log. */
typedef struct bd_fetch_part {
    int fd;
    char *part, *ready, *name;
    uint64_t bytes;
    char sha[17];
} bd_fetch_part;

/* Keep a complete download (fd is taken over) until the next bd_fetch_publish; publishes first when the group
 * is full. 0, or -1 (the part is removed: the claim stays on the server and is downloaded again). */
int bd_fetch_publish_add(struct bd_fetcher *f, int fd, const char *part, const char *ready, const char *name,
                         uint64_t bytes, const char *sha);
/* fsync the kept parts, rename each into ready/, then fsync ready/ and dl/ once. Returns how many were queued,
 * -1 when a folder fsync failed (those files are queued but a crash may lose them: the recovery downloads their
 * claims again). */
int bd_fetch_publish(struct bd_fetcher *f);
#endif
