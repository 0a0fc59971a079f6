/* options.h: format options and file-name mode shared by the generic trait plugins (delimited, jsonl). */
#ifndef BD_PLUGINS_OPTIONS_H
#define BD_PLUGINS_OPTIONS_H
#include <batchdrop/plugin.h>
#include <stddef.h>
#include <stdint.h>

/* Longest DPID the dpid option takes: 18 digits always fit in an int64_t. */
#define OPT_DPID_DIGITS_MAX 18

/* Where a plugin's open() reads its format options from, and where a refusal is written. */
typedef struct opt_reader {
    const bd_host_api *host;
    bd_host_ctx *ctx;
    const char *plugin; /* the plugin's name, which starts every message */
    char *err;
    size_t errlen;
} opt_reader;

/* The value of option `key`, or NULL when it is not set (or the host offers no options). */
const char *opt_get(const opt_reader *r, const char *key);

/* Writes "<plugin>: format option <key> = "<value>": <why>" (the value shortened and made
 * printable) to r->err; always returns -1. */
int opt_refuse(const opt_reader *r, const char *key, const char *value, const char *why);

/* Writes "<plugin>: out of memory" to r->err; always returns -1. */
int opt_no_memory(const opt_reader *r);

/* Option dpid: the DPID of every user ID of the file (at most 18 digits), BD_NO_VALUE when unset.
 * Returns 0, or -1 with a refusal. */
int opt_read_dpid(const opt_reader *r, int64_t *dpid);

/* Option mode ("sync" or "overwrite"): a check that the file name gives the mode the partner is
 * configured for; *overwrite comes from info->mode either way.  Returns 0, or -1 with a refusal. */
int opt_read_mode(const opt_reader *r, const bd_file_info *info, int *overwrite);

/* The mode a file name implies: BD_MODE_OVERWRITE when it holds ".overwrite." (or ends in
 * ".overwrite") or "_full" followed by '.', '_', '-' or the end; BD_MODE_SYNC otherwise. */
int opt_mode_of_name(const char *name);

#endif
