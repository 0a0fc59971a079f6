/* plugin_util.c: glue shared by the format plugins: their version, the checks of the host API table and of open(). */
#include "plugin_util.h"
#include <string.h>
#include <stdio.h>

static int has_emit_for(const bd_host_api *host, bd_file_kind kind)
{
    if (kind == BD_FILE_TRAITS)
        return host->emit_record != NULL;
    if (kind == BD_FILE_IDSYNC)
        return host->emit_idsync != NULL;
    return 0;
}

static int host_is_usable(const bd_host_api *host, bd_file_kind kind)
{
    return host && host->struct_size >= offsetof(bd_host_api, spare) && host->abi_major == BD_PLUGIN_ABI_MAJOR &&
           has_emit_for(host, kind) && host->line_error && host->log;
}

int plugin_check_host(const bd_host_api *host, bd_file_kind kind, const char *plugin, char *err, size_t errlen)
{
    if (host_is_usable(host, kind))
        return 0;
    snprintf(err, errlen, "%s: the host API table is incomplete or of another ABI major", plugin);
    return -1;
}

int plugin_check_trait_open(const bd_host_api *host, const bd_file_info *info, const char *plugin, char *err,
                            size_t errlen)
{
    if (plugin_check_host(host, BD_FILE_TRAITS, plugin, err, errlen) < 0)
        return -1;
    if (!info || info->kind != BD_FILE_TRAITS) {
        snprintf(err, errlen, "%s: not a trait file (its name was not parsed by this plugin)", plugin);
        return -1;
    }
    return 0;
}

void plugin_skip_bom(uint64_t lineno, const char **line, size_t *len)
{
    if (lineno == 1 && *len >= 3 && memcmp(*line, "\xEF\xBB\xBF", 3) == 0) {
        *line += 3;
        *len -= 3;
    }
}
