/* matchstore_open.h: open the match store the configuration names (match_store type lmdb or redis). */
#ifndef BD_MATCHSTORE_OPEN_H
#define BD_MATCHSTORE_OPEN_H
#include "conf.h"
#include "matchstore.h"

/* LMDB under state_dir/match, or the Redis servers of match_store. NULL with err on failure. A redis store whose
 * servers cannot be reached yet is returned all the same, with err saying why (a warning: it connects again at
 * its next use, and files fail transiently until then); err is "" when nothing is to be said. */
bd_matchstore *bd_matchstore_open_configured(const bd_config *cfg, int readonly, char *err, size_t errlen);
/* state_dir/match/<file> (the LMDB store's folder when file is ""). 0, or -1 when it is too long. */
int bd_match_path(const bd_config *cfg, const char *file, char *out, size_t len);
#endif
