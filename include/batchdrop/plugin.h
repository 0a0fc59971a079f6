/* batchdrop/plugin.h: the whole contract between batchdrop and a format plugin (ABI 1.1). */
#ifndef BATCHDROP_PLUGIN_H
#define BATCHDROP_PLUGIN_H

/*
 * A format plugin is a shared object that exports one symbol,
 * BD_PLUGIN_ENTRY_SYMBOL, a function returning a pointer to a static
 * bd_plugin descriptor.  The plugin never calls the daemon by link-time
 * symbols: everything it may ask of the host is in the bd_host_api function
 * table handed to open().
 *
 * Versioning (Varnish/nginx style): every struct starts with its size and the
 * descriptor starts with the ABI numbers.  The host refuses a plugin whose
 * major differs from BD_PLUGIN_ABI_MAJOR or whose minor is greater than the
 * host's.  New members are only ever appended (minor bump) and the spare
 * slots keep the layout stable meanwhile.
 *
 * Life of one input file:
 *   parse_name()            validate the file name, fill bd_file_info
 *   open()                  per-file state, options checked here
 *   line() for each line    emit records / id-sync rows, or report errors
 *   finish()                end of input; may still emit
 *   close()                 free the state (always called after open() succeeded)
 * The host does the decompression, the line splitting (LF or CRLF; the
 * terminator is stripped), skips blank lines, and enforces the line length
 * limit.  A line is handed over as bytes that are not NUL-terminated.
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BD_PLUGIN_ABI_MAJOR 1
#define BD_PLUGIN_ABI_MINOR 1 /* 1.1: bd_record.dpid */
#define BD_PLUGIN_ENTRY_SYMBOL "batchdrop_plugin_entry"

#if defined(__GNUC__)
#define BD_PLUGIN_EXPORT __attribute__((visibility("default")))
#define BD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define BD_PLUGIN_EXPORT
#define BD_PRINTF(a, b)
#endif

/* What kind of data a file carries. */
typedef enum bd_file_kind {
    BD_FILE_TRAITS = 1, /* user ID + trait/signal items, goes to the outbox */
    BD_FILE_IDSYNC = 2  /* ID-sync rows, feed the ID-match table */
} bd_file_kind;

/* Update mode of a trait file. */
typedef enum bd_file_mode {
    BD_MODE_SYNC = 0,     /* incremental (.sync) */
    BD_MODE_OVERWRITE = 1 /* full (.overwrite): removals are ignored */
} bd_file_mode;

#define BD_MAX_DPIDS 16 /* most columns an ID-sync file may name */
#define BD_NO_VALUE (-1)

/* What parse_name() learned from a file name. */
typedef struct bd_file_info {
    uint32_t struct_size; /* sizeof(bd_file_info) as the host knows it */
    int32_t kind;         /* bd_file_kind */
    int32_t mode;         /* bd_file_mode (traits only) */
    int32_t split;        /* split number, BD_NO_VALUE if none */
    int64_t dpid;         /* namespace of column-1 user IDs (traits), master DPID (id-sync) */
    int64_t target;       /* DPID_TARGET_DATA_OWNER, BD_NO_VALUE if none */
    int64_t timestamp;    /* seconds, BD_NO_VALUE if none */
    int32_t ndpids;       /* id-sync: DPIDs in the name, one per column */
    int32_t flags;        /* BD_FILE_F_* */
    int64_t dpids[BD_MAX_DPIDS];
    void *spare[4];
} bd_file_info;

#define BD_FILE_F_ODC 0x1 /* Oracle Data Cloud variant (ftp_dpm_odc_...) */
#define BD_FILE_F_C2C 0x2 /* c2c_id_ ID-sync file (DPUUID -> hashed email) */

/* One item of a trait record. */
typedef enum bd_item_kind {
    BD_ITEM_ADD = 1,    /* qualify for trait `trait` (d_sid=N, or a bare ID in ODC files) */
    BD_ITEM_REMOVE = 2, /* remove from trait `trait` (d_unsid=N, N:0, N:-1) */
    BD_ITEM_SIGNAL = 3  /* key/value signal (key=value, ic=value, bare value => key "ic") */
} bd_item_kind;

typedef struct bd_item {
    int32_t kind;  /* bd_item_kind */
    int64_t trait; /* ADD/REMOVE */
    const char *key;
    size_t key_len; /* SIGNAL */
    const char *value;
    size_t value_len; /* SIGNAL */
} bd_item;

/* One trait record: a user and the items of one line. */
typedef struct bd_record {
    uint32_t struct_size;
    uint64_t line; /* 1-based line number in the decoded file */
    const char *user_id;
    size_t user_id_len;
    const bd_item *items;
    size_t nitems;
    /* ABI 1.1: with BD_RECORD_F_DPID in flags, dpid is the namespace of user_id
     * (a DPID column, the device IDs of an ODC file) instead of bd_file_info.dpid.
     * A zeroed record means "the file's DPID". Read only from ABI 1.1+ plugins. */
    uint32_t flags;
    int64_t dpid;
    void *spare[2];
} bd_record;

#define BD_RECORD_F_DPID 0x1

/* One ID-sync row: ncols IDs, column i in namespace info->dpids[i]. */
typedef struct bd_idsync_row {
    uint32_t struct_size;
    uint64_t line;
    const char *const *cols;
    const size_t *col_lens;
    size_t ncols;
    void *spare[4];
} bd_idsync_row;

/* Kinds of per-line errors; each maps to a receipt counter. */
typedef enum bd_error_kind {
    BD_ERR_FORMAT = 1,     /* the line does not parse: format_errors */
    BD_ERR_INVALID_ID = 2, /* the user/device ID breaks its namespace's format: invalid_ids */
    BD_ERR_OTHER = 3       /* counted as a format error, reported with its own reason */
} bd_error_kind;

typedef enum bd_log_level { BD_LOG_ERROR = 3, BD_LOG_WARNING = 4, BD_LOG_INFO = 6, BD_LOG_DEBUG = 7 } bd_log_level;

typedef struct bd_host_ctx bd_host_ctx; /* opaque, owned by the host */

/* What the host offers a plugin; handed to open(). */
typedef struct bd_host_api {
    uint32_t struct_size;
    uint16_t abi_major, abi_minor;
    /* Emit one parsed record; the host copies what it needs before returning.
     * Returns 0, or -1 when the host wants the plugin to stop (the file is
     * being abandoned); the plugin should then return -1 from line(). */
    int (*emit_record)(bd_host_ctx *ctx, const bd_record *rec);
    int (*emit_idsync)(bd_host_ctx *ctx, const bd_idsync_row *row);
    /* Report a bad line. `reason` is a short human text without the line number. */
    void (*line_error)(bd_host_ctx *ctx, uint64_t line, int kind, const char *reason);
    void (*log)(bd_host_ctx *ctx, int level, const char *fmt, ...) BD_PRINTF(3, 4);
    /* A partner's format_options value as a string, or NULL when unset. */
    const char *(*option)(bd_host_ctx *ctx, const char *key);
    void *spare[8];
} bd_host_api;

/* The plugin descriptor. The first three members never move. */
typedef struct bd_plugin {
    uint32_t struct_size; /* sizeof(bd_plugin) the plugin was built with */
    uint16_t abi_major;   /* BD_PLUGIN_ABI_MAJOR */
    uint16_t abi_minor;   /* BD_PLUGIN_ABI_MINOR */
    const char *name;     /* [a-z0-9-]+, what `format = "..."` names */
    const char *version;
    const char *description;
    const char *const *patterns; /* NULL-terminated fnmatch(3) globs on the base name */

    /* Optional: how sure the plugin is that the decoded head is its format,
     * 0 (not mine) .. 100 (certain).  NULL means "decide by name only". */
    int (*probe)(const unsigned char *head, size_t len);

    /* Validate a base name (compression suffixes included) and fill *info.
     * Returns 0, or -1 with a reason in err ("file name ...: why"). */
    int (*parse_name)(const char *name, bd_file_info *info, char *err, size_t errlen);

    /* Start parsing one file.  Returns 0 and sets *state, or -1 with err. */
    int (*open)(const bd_host_api *host, bd_host_ctx *ctx, const bd_file_info *info, void **state, char *err,
                size_t errlen);
    /* One line without its terminator.  Returns 0, or -1 to abandon the file. */
    int (*line)(void *state, uint64_t lineno, const char *line, size_t len);
    /* End of input.  Returns 0, or -1 with err to fail the file. */
    int (*finish)(void *state, char *err, size_t errlen);
    void (*close)(void *state);

    void *spare[8];
} bd_plugin;

typedef const bd_plugin *(*bd_plugin_entry_fn)(void);

/* Every plugin defines this, e.g.
 *   BD_PLUGIN_EXPORT const bd_plugin *batchdrop_plugin_entry(void) { return &my_plugin; } */
BD_PLUGIN_EXPORT const bd_plugin *batchdrop_plugin_entry(void);

#ifdef __cplusplus
}
#endif
#endif
