/* plugin_util.h: glue shared by the format plugins: their version, the checks of the host API table and of open(). */
#ifndef BD_PLUGINS_PLUGIN_UTIL_H
#define BD_PLUGINS_PLUGIN_UTIL_H
#include <batchdrop/plugin.h>
#include <stddef.h>
#include <stdint.h>

/* The version the plugin descriptors report: the package's, from config.h (which a plugin's .c
 * file includes first), else a fallback for a build without autotools. */
#ifdef PACKAGE_VERSION
#define PLUGIN_VERSION PACKAGE_VERSION
#else
#define PLUGIN_VERSION "0.1.0"
/* Line 1 may open with a UTF-8 byte order mark (spreadsheet and Windows exports): step over it. */
void plugin_skip_bom(uint64_t lineno, const char **line, size_t *len);

#endif

/* 0 when `host` is of this ABI major and offers line_error, log and the emit callback that files
 * of `kind` need (emit_record for BD_FILE_TRAITS, emit_idsync for BD_FILE_IDSYNC); else -1 with
 * "<plugin>: the host API table is incomplete or of another ABI major" in err. */
int plugin_check_host(const bd_host_api *host, bd_file_kind kind, const char *plugin, char *err, size_t errlen);

/* The checks at the start of open() for a trait file: plugin_check_host(), then that `info` was
 * filled by the plugin's parse_name() (kind BD_FILE_TRAITS); else -1 with "<plugin>: not a trait
 * file (its name was not parsed by this plugin)" in err. */
int plugin_check_trait_open(const bd_host_api *host, const bd_file_info *info, const char *plugin, char *err,
                            size_t errlen);

/* Line 1 may open with a UTF-8 byte order mark (spreadsheet and Windows exports): step over it. */
void plugin_skip_bom(uint64_t lineno, const char **line, size_t *len);

#endif
