/* plugin_harness.h: test host for format plugins: dlopen, a recording bd_host_api, line feeding like the daemon. */
#ifndef BD_PLUGIN_HARNESS_H
#define BD_PLUGIN_HARNESS_H
#include <batchdrop/plugin.h>
#include <stddef.h>
#include <stdint.h>

/* Copies of what a plugin emitted; every string is NUL-terminated (the length is kept too). */
typedef struct ph_item {
    int kind;
    int64_t trait;
    char *key;
    size_t key_len;
    char *value;
    size_t value_len;
} ph_item;

typedef struct ph_record {
    uint64_t line;
    char *user_id;
    size_t user_id_len;
    ph_item *items;
    size_t nitems;
} ph_record;

typedef struct ph_idsync_row {
    uint64_t line;
    char **cols;
    size_t *col_lens;
    size_t ncols;
} ph_idsync_row;

typedef struct ph_line_error {
    uint64_t line;
    int kind;
    char *reason;
} ph_line_error;

typedef struct ph_log {
    int level;
    char *text;
} ph_log;

#define PH_MAX_OPTIONS 8

/* The recording host.  Plugins only ever see it as their opaque bd_host_ctx. */
struct bd_host_ctx {
    bd_host_api api;
    ph_record *records;
    size_t nrecords;
    ph_idsync_row *rows;
    size_t nrows;
    ph_line_error *errors;
    size_t nerrors;
    ph_log *logs;
    size_t nlogs;
    const char *option_keys[PH_MAX_OPTIONS];
    const char *option_values[PH_MAX_OPTIONS];
    size_t noptions;
    long emit_budget;      /* emits accepted before emit_* answers -1 (stop); negative = no limit */
    uint64_t current_line; /* the line being fed; what the plugin reports must carry it */
    size_t violations;     /* breaches of the plugin.h contract seen */
    char first_violation[256];
};
typedef struct bd_host_ctx ph_host;

void ph_host_init(ph_host *h);
/* Forget every recording (options and the emit budget stay). */
void ph_host_clear(ph_host *h);
void ph_host_free(ph_host *h);
/* key and value must outlive the host (string literals in tests). */
void ph_host_set_option(ph_host *h, const char *key, const char *value);

/* A loaded plugin. */
typedef struct ph_plugin {
    void *handle;
    const bd_plugin *desc;
    char error[512]; /* why ph_plugin_load() failed */
} ph_plugin;

/* dlopen $BD_PLUGIN_DIR/<file> (e.g. "aam.so"), find the entry point and check the ABI
 * fields the way the daemon does.  Returns 0, or -1 with p->error set. */
int ph_plugin_load(ph_plugin *p, const char *file);
void ph_plugin_unload(ph_plugin *p);

typedef enum ph_outcome {
    PH_DONE = 0,       /* every line fed, finish() returned 0 */
    PH_NAME_REJECTED,  /* parse_name() returned -1 */
    PH_OPEN_FAILED,    /* open() returned -1 */
    PH_ABANDONED,      /* line() returned -1; close() was still called */
    PH_FINISH_FAILED,  /* finish() returned -1 */
    PH_INPUT_MISSING   /* the file could not be read */
} ph_outcome;

typedef struct ph_run {
    int outcome; /* ph_outcome */
    bd_file_info info;
    char err[512];        /* parse_name/open/finish error text */
    uint64_t lines_fed;   /* non-empty lines handed to line() */
    uint64_t last_line;   /* number of the last line fed */
} ph_run;

/* Run one file through the plugin as the host does: parse_name(name), open(), then
 * the buffer split on LF, a trailing CR stripped, empty lines skipped, each line
 * passed (in its own exactly-sized allocation) with its 1-based line number, then
 * finish() and close().  Returns run->outcome. */
int ph_feed_buffer(const bd_plugin *p, ph_host *h, const char *name, const char *buf, size_t len, ph_run *run);
int ph_feed_string(const bd_plugin *p, ph_host *h, const char *name, const char *text, ph_run *run);
/* Read dir/name from disk and feed it; dir NULL means $BD_SPEC_SAMPLES. */
int ph_feed_file(const bd_plugin *p, ph_host *h, const char *dir, const char *name, ph_run *run);

/* Only parse_name(); returns its result, err gets the reason. */
int ph_parse_name(const bd_plugin *p, const char *name, bd_file_info *info, char *err, size_t errlen);

/* Lookups for assertions. */
const ph_line_error *ph_error_on_line(const ph_host *h, uint64_t line);
/* 1 when record `rec` has a SIGNAL item `index` with exactly this key and value. */
int ph_item_is_signal(const ph_record *rec, size_t index, const char *key, const char *value);
/* 1 when record `rec` has an item `index` of this kind (ADD/REMOVE) and trait. */
int ph_item_is_trait(const ph_record *rec, size_t index, int kind, int64_t trait);
/* 1 when some log message contains `needle`. */
int ph_log_contains(const ph_host *h, const char *needle);

#endif
