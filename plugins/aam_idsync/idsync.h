/* idsync.h: internals shared by the files of the "aam-idsync" format plugin (file names, rows, plugin glue). */
#ifndef BD_PLUGIN_IDSYNC_H
#define BD_PLUGIN_IDSYNC_H
#include <batchdrop/plugin.h>
#include <stddef.h>

/* Longest ID a column may hold. */
#define IDSYNC_ID_MAX 256

/* Validate an adobe_id_ / c2c_id_ file name and fill *info (plugin.h parse_name contract). */
int idsync_parse_name(const char *name, bd_file_info *info, char *err, size_t errlen);

#endif
