/* record.c: trait records of the generic plugins (delimited, jsonl): item array, user ID check, emission. */
#include "record.h"
#include "dpid_ids.h"
#include <stdlib.h>

#define FIRST_CAPACITY 16

int item_list_add(item_list *l, int kind, int64_t trait)
{
    if (l->n == l->capacity) {
        size_t capacity = l->capacity ? l->capacity * 2 : FIRST_CAPACITY;
        if (capacity > SIZE_MAX / sizeof *l->v)
            return -1;
        bd_item *grown = realloc(l->v, capacity * sizeof *grown);
        if (!grown)
            return -1;
        l->v = grown;
        l->capacity = capacity;
    }
    bd_item item = {.kind = kind, .trait = trait};
    l->v[l->n++] = item;
    return 0;
}

void item_list_free(item_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = l->capacity = 0;
}

static int has_control_byte(text_span s)
{
    for (size_t i = 0; i < s.n; i++)
        if ((unsigned char)s.p[i] < 0x20 || s.p[i] == 0x7F)
            return 1;
    return 0;
}

int record_check_user_id(text_span id, int64_t dpid, char *reason, size_t reasonlen)
{
    if (has_control_byte(id)) {
        span_describe(reason, reasonlen, "user ID '", id, "' contains a control character");
        return BD_ERR_INVALID_ID;
    }
    if (dpid != BD_NO_VALUE && dpid_ids_check(dpid, id.p, id.n, reason, reasonlen) < 0)
        return BD_ERR_INVALID_ID;
    return 0;
}

int record_emit(const bd_host_api *host, bd_host_ctx *ctx, uint64_t lineno, text_span id, int64_t dpid,
                const item_list *items)
{
    bd_record rec = {
        .struct_size = sizeof rec,
        .line = lineno,
        .user_id = id.p,
        .user_id_len = id.n,
        .items = items->v,
        .nitems = items->n,
    };
    if (dpid != BD_NO_VALUE) {
        rec.flags = BD_RECORD_F_DPID;
        rec.dpid = dpid;
    }
    return host->emit_record(ctx, &rec) < 0 ? -1 : 0;
}
