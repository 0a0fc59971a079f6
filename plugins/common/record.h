/* record.h: trait records of the generic plugins (delimited, jsonl): item array, user ID check, emission. */
#ifndef BD_PLUGINS_RECORD_H
#define BD_PLUGINS_RECORD_H
#include "name_parse.h"
#include <batchdrop/plugin.h>
#include <stddef.h>
#include <stdint.h>

/* The items of the record being built; the array is kept from one record to the next. */
typedef struct item_list {
    bd_item *v;
    size_t n, capacity;
} item_list;

/* Append one item of `kind` (BD_ITEM_ADD, BD_ITEM_REMOVE) for `trait`.  Returns 0, or -1 when out of memory. */
int item_list_add(item_list *l, int kind, int64_t trait);
void item_list_free(item_list *l);

/* A present user ID: without control bytes, and of the format its DPID requires when the DPID is
 * known (dpid != BD_NO_VALUE).  Returns 0, or BD_ERR_INVALID_ID with a reason. */
int record_check_user_id(text_span id, int64_t dpid, char *reason, size_t reasonlen);

/* Emit the record of line `lineno`: user ID `id`, the items of `items`, and the per-record DPID
 * when dpid != BD_NO_VALUE.  Returns 0, or -1 when the host refuses the record. */
int record_emit(const bd_host_api *host, bd_host_ctx *ctx, uint64_t lineno, text_span id, int64_t dpid,
                const item_list *items);

#endif
