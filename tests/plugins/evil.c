/* evil.c: a test-only plugin that misbehaves on purpose (crash, hang, memory hog, forbidden call, a spoiled report) by file name. */
#include <batchdrop/plugin.h>
#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum { EVIL_CRASH, EVIL_HANG, EVIL_HOG, EVIL_SOCKET, EVIL_ABORT, EVIL_FORGE, EVIL_MUTE } evil_kind;

typedef struct evil_state {
    const bd_host_api *host;
    bd_host_ctx *ctx;
    evil_kind kind;
} evil_state;

static const char *const patterns[] = {"evil_*", NULL};

static evil_kind kind_of(const char *name)
{
    if (strstr(name, "hang"))
        return EVIL_HANG;
    if (strstr(name, "hog"))
        return EVIL_HOG;
    if (strstr(name, "socket"))
        return EVIL_SOCKET;
    if (strstr(name, "abort"))
        return EVIL_ABORT;
    if (strstr(name, "forge"))
        return EVIL_FORGE;
    if (strstr(name, "mute"))
        return EVIL_MUTE;
    return EVIL_CRASH;
}

static int evil_parse_name(const char *name, bd_file_info *info, char *err, size_t errlen)
{
    if (fnmatch("evil_*", name, 0) != 0) {
        snprintf(err, errlen, "file name '%s': not an evil_* file", name);
        return -1;
    }
    info->kind = BD_FILE_TRAITS;
    info->mode = BD_MODE_SYNC;
    info->dpid = 478;
    info->split = (int32_t)kind_of(name); /* test-only: open() learns the misbehaviour from the name */
    return 0;
}

static int evil_open(const bd_host_api *host, bd_host_ctx *ctx, const bd_file_info *info, void **state, char *err,
                     size_t errlen)
{
    evil_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    st->host = host;
    st->ctx = ctx;
    st->kind = (evil_kind)info->split;
    *state = st;
    return 0;
}

/* The sandbox makes socket() fail with EPERM (a redis match store must fail cleanly there): say so, then
 * abort, so that the file fails; a socket that opens means no sandbox, and the file then passes. */
static void try_socket(const evil_state *st)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0) {
        close(fd);
        return;
    }
    st->host->log(st->ctx, BD_LOG_ERROR, "socket() failed: %s", strerror(errno));
    abort();
}

/* The worker's report to the agent goes through a pipe the plugin can reach: write a forged report head (one
 * result, 64 bytes of frame) and 64 bytes of junk into every pipe, or close them all and wait; the agent must stop
 * the worker and fail only this file, not wait for it for ever. */
static void spoil_report(int forge)
{
    static const int32_t head[4] = {1, 0, 64, 0}; /* ran, stays, packed (64-bit, little-endian) */
    char junk[64];
    memset(junk, 0xab, sizeof junk);
    for (int fd = 3; fd < 256; fd++) {
        struct stat sb;
        if (fstat(fd, &sb) < 0 || !S_ISFIFO(sb.st_mode))
            continue;
        if (!forge) {
            close(fd);
            continue;
        }
        if (write(fd, head, sizeof head) < 0 || write(fd, junk, sizeof junk) < 0)
            abort();
    }
    while (!forge)
        sleep(1); /* pause(2) is not in the sandbox's allow list */
}

static void misbehave(const evil_state *st)
{
    evil_kind kind = st->kind;
    volatile char *p = NULL;
    switch (kind) {
    case EVIL_CRASH: *p = 1; break;
    case EVIL_HANG: for (;;) ; break;
    case EVIL_HOG:
        for (;;) { /* until the memory limit stops it */
            char *q = malloc(1 << 20);
            if (!q)
                abort();
            memset(q, 1, 1 << 20);
        }
        break;
    case EVIL_SOCKET: try_socket(st); break;
    case EVIL_ABORT: abort();
    case EVIL_FORGE: spoil_report(1); break;
    case EVIL_MUTE: spoil_report(0); break;
    }
}

static int evil_line(void *state, uint64_t lineno, const char *line, size_t len)
{
    evil_state *st = state;
    if (lineno == 3)
        misbehave(st);
    bd_item item = {.kind = BD_ITEM_ADD, .trait = 1};
    bd_record rec = {.struct_size = sizeof rec, .line = lineno, .user_id = line, .user_id_len = len < 38 ? len : 38,
                     .items = &item, .nitems = 1};
    return st->host->emit_record(st->ctx, &rec) < 0 ? -1 : 0;
}

static int evil_finish(void *state, char *err, size_t errlen)
{
    (void)state;
    (void)err;
    (void)errlen;
    return 0;
}

static void evil_close(void *state)
{
    free(state);
}

static const bd_plugin evil_plugin = {
    .struct_size = sizeof(bd_plugin),
    .abi_major = BD_PLUGIN_ABI_MAJOR,
    .abi_minor = BD_PLUGIN_ABI_MINOR,
    .name = "evil",
    .version = "test",
    .description = "misbehaves on purpose; tests only",
    .patterns = patterns,
    .parse_name = evil_parse_name,
    .open = evil_open,
    .line = evil_line,
    .finish = evil_finish,
    .close = evil_close,
};

BD_PLUGIN_EXPORT const bd_plugin *batchdrop_plugin_entry(void)
{
    return &evil_plugin;
}
