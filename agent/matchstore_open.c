/* matchstore_open.c: open the match store the configuration names (match_store type lmdb or redis). */
#include "config.h"
#include "matchstore_open.h"
#include "strutil.h"
#include <limits.h>
#include <stdio.h>

bd_matchstore *bd_matchstore_open_configured(const bd_config *cfg, int readonly, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    err[0] = '\0';
    if (cfg->match_store == BD_STORE_REDIS)
        return bd_matchstore_open_redis(&cfg->redis, readonly, err, errlen);
    if (bd_match_path(cfg, "", dir, sizeof dir) < 0) {
        snprintf(err, errlen, "match store: state_dir is too long");
        return NULL;
    }
    return bd_matchstore_open_lmdb(dir, cfg->match_map_size, readonly, err, errlen);
}

int bd_match_path(const bd_config *cfg, const char *file, char *out, size_t len)
{
    return bd_fmt(out, len, "%s/match%s%s", cfg->state_dir, *file ? "/" : "", file);
}
