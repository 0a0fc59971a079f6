/* index_builder.h: when the agent rebuilds the match store's lookup index (match_index = true, LMDB store). */
#ifndef BD_INDEX_BUILDER_H
#define BD_INDEX_BUILDER_H
#include "daemon.h"

/* once: rebuild the index in this process if the store changed during the run (or has none yet). */
void bd_index_after_once(bd_agent *a);
/* run: reap a finished build; at most every match_index_interval seconds, start one in a child process when the
 * index is stale and no file is in a worker. */
void bd_index_tick(bd_agent *a);
/* run, at stop: end a build under way (its temporary file is left for the next build to overwrite). */
void bd_index_stop(bd_agent *a);
#endif
