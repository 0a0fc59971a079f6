/* claim.c: claim inbox files by rename into <inbox>/.batchdrop/<agent>/, give them back, and list leftovers. */
#include "config.h"
#include "claim.h"
#include "fsutil.h"
#include "log.h"
#include "strutil.h"
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void bd_claim_new_id(unsigned *seq, char out[BD_CLAIM_ID_MAX])
{
    snprintf(out, BD_CLAIM_ID_MAX, "c%013lld-%ld-%u", (long long)bd_now_ms(), (long)getpid(), ++*seq);
}

/* The longest claim entry: its archive sidecar "<entry>.receipt.json.bdtmp.<pid>" must fit in NAME_MAX. */
#define CLAIM_ENTRY_MAX (255 - 13 - 7 - 10)

int bd_claim_entry(char *out, size_t len, const char *claim_id, const char *name)
{
    size_t idlen = strlen(claim_id), nlen = strlen(name);
    if (idlen + 1 + nlen <= CLAIM_ENTRY_MAX)
        return bd_fmt(out, len, "%s%c%s", claim_id, BD_CLAIM_SEP, name);
    int keep = (int)(CLAIM_ENTRY_MAX - idlen - 1 - 9);
    return bd_fmt(out, len, "%s%c%.*s#%08x", claim_id, BD_CLAIM_SEP, keep, name, (unsigned)bd_fnv1a(name));
}

int bd_claim_take(const bd_inbox *in, const char *name, const char *claim_id, char *claim_path, size_t len)
{
    char from[PATH_MAX], entry[NAME_MAX + 1];
    if (bd_path_join(from, sizeof from, in->partner->inbox, name) < 0 ||
        bd_claim_entry(entry, sizeof entry, claim_id, name) < 0 ||
        bd_path_join(claim_path, len, in->claim_dir, entry) < 0)
        return -1;
    if (rename(from, claim_path) < 0)
        return errno == ENOENT ? 0 : -1;
    return 1;
}

int bd_claim_sync(const bd_inbox *in)
{
    return bd_fsync_dir(in->claim_dir) < 0 || bd_fsync_dir(in->partner->inbox) < 0 ? -1 : 0;
}

int bd_claim_release(const bd_inbox *in, const char *claim_path, const char *name)
{
    char to[PATH_MAX];
    if (bd_path_join(to, sizeof to, in->partner->inbox, name) < 0)
        return -1;
    return bd_rename_durable(claim_path, to, 1);
}

int bd_claim_split(const char *claimed, char id[BD_CLAIM_ID_MAX], const char **name)
{
    const char *sep = strchr(claimed, BD_CLAIM_SEP);
    if (!sep || sep == claimed || (size_t)(sep - claimed) >= BD_CLAIM_ID_MAX || !sep[1] || claimed[0] != 'c')
        return -1;
    memcpy(id, claimed, (size_t)(sep - claimed));
    id[sep - claimed] = '\0';
    *name = sep + 1;
    return 0;
}

/* Order claims by the name the partner gave (ID-sync files before trait files), then by claim. */
static int by_original_name(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    const char *nx = strchr(x, BD_CLAIM_SEP), *ny = strchr(y, BD_CLAIM_SEP);
    int c = strcmp(nx ? nx + 1 : x, ny ? ny + 1 : y);
    return c ? c : strcmp(x, y);
}

static int not_hidden(const char *name)
{
    return name[0] != '.';
}

static int claim_each_in(const bd_inbox *in, const char *dir,
                         void (*cb)(const bd_inbox *in, const char *claim_id, const char *claim_path,
                                    const char *name, void *arg),
                         void *arg)
{
    size_t n;
    errno = 0;
    char **names = bd_list_dir(dir, not_hidden, by_original_name, &n);
    if (!names && errno && errno != ENOENT)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char id[BD_CLAIM_ID_MAX], path[PATH_MAX];
        const char *name;
        if (bd_claim_split(names[i], id, &name) < 0 || bd_path_join(path, sizeof path, dir, names[i]) < 0)
            log_warn("partner %s: %s/%s is not a claim of this agent; leaving it alone", in->partner->name, dir,
                     names[i]);
        else
            cb(in, id, path, name, arg);
        free(names[i]);
    }
    free(names);
    return 0;
}

int bd_claim_each(const bd_inbox *in,
                  void (*cb)(const bd_inbox *in, const char *claim_id, const char *claim_path, const char *name,
                             void *arg),
                  void *arg)
{
    int rc = claim_each_in(in, in->claim_dir, cb, arg);
    if (in->alt_claim_dir[0] && claim_each_in(in, in->alt_claim_dir, cb, arg) < 0)
        rc = -1;
    return rc;
}
