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
    uint32_t flags; /* bd_record.flags (ABI 1.1), 0 from an older record */
    int64_t dpid;   /* bd_record.dpid, meaningful with BD_RECORD_F_DPID in flags */
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

#define PH_MAX_OPTIONS 16

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
/* Forget every option. */
void ph_host_clear_options(ph_host *h);

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
/* Reason of line error i, or "(no error)". */
const char *ph_reason_at(const ph_host *h, size_t i);
/* 1 when there is a line error i and its reason contains `part`. */
int ph_reason_has(const ph_host *h, size_t i, const char *part);

/* ---------------------------------------------------------------- probing one call */

/* open() with this API table (a broken copy of h->api, say); the state is closed again when
 * open() succeeds.  Returns open()'s result. */
int ph_try_open(const bd_plugin *p, const bd_host_api *api, ph_host *h, const bd_file_info *info, char *err,
                size_t errlen);

/* What parse_name() said about a name it had to refuse. */
typedef struct ph_refusal {
    int rc;             /* parse_name()'s result */
    int names_the_file; /* err starts with "file name '<name>': " */
    char err[512];
} ph_refusal;

void ph_refuse_name(const bd_plugin *p, const char *name, ph_refusal *r);

/* ---------------------------------------------------------------- one plugin's test program */

/* What a plugin's test program works on: the plugin, one recording host, the last run, and
 * the plugin.h contract breaches summed over every feed. */
typedef struct ph_fixture {
    ph_plugin plugin;
    ph_host host;
    ph_run run;
    size_t violations;
} ph_fixture;

/* Load $BD_PLUGIN_DIR/<file> and set up the host.  Returns 0, or -1 with fx->plugin.error set. */
int ph_fixture_open(ph_fixture *fx, const char *file);
void ph_fixture_close(ph_fixture *fx);
/* Drop the previous recordings, feed text as the content of file `name`, and count contract
 * breaches (the first of each feed is printed as a TAP comment).  Returns the outcome. */
int ph_fixture_feed(ph_fixture *fx, const char *name, const char *text);
/* The same with a spec sample read from $BD_SPEC_SAMPLES. */
int ph_fixture_feed_sample(ph_fixture *fx, const char *name);

/* ---------------------------------------------------------------- test cases as data */

/* One line fed as the whole of file `name`, and what must come of it: with kind PH_PASSES no
 * line error (`expect` then says what the line shows), else one line error of that
 * bd_error_kind whose reason contains `expect`. */
#define PH_PASSES 0
typedef struct ph_line_case {
    const char *name;
    const char *line;
    int kind;
    const char *expect;
} ph_line_case;

/* A file name parse_name() must refuse, and a part of the reason it must give. */
typedef struct ph_invalid_name {
    const char *name;
    const char *reason_part;
} ph_invalid_name;

#endif
