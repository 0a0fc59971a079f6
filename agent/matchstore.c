/* matchstore.c: dispatch of the ID-match table interface to its backend, and the our-ID format check. */
#include "config.h"
#include "matchstore.h"
#include <stdio.h>

struct bd_matchreader {
    bd_matchstore *ms;
};
struct bd_matchbatch {
    bd_matchstore *ms;
};

bd_matchreader *bd_matchreader_open(bd_matchstore *ms, char *err, size_t errlen)
{
    return ms->ops->reader_open(ms, err, errlen);
}

int bd_matchreader_lookup(bd_matchreader *r, int64_t dpid, const char *id, size_t len, char ours[BD_OURID_LEN + 1])
{
    return r->ms->ops->lookup(r, dpid, id, len, ours);
}

int bd_matchreader_lookup_many(bd_matchreader *r, const bd_match_key *keys, bd_match_result *results, size_t n)
{
    if (r->ms->ops->lookup_many)
        return r->ms->ops->lookup_many(r, keys, results, n);
    for (size_t i = 0; i < n; i++) {
        int rc = r->ms->ops->lookup(r, keys[i].dpid, keys[i].id, keys[i].id_len, results[i].ours);
        if (rc < 0)
            return -1;
        results[i].found = rc;
    }
    return 0;
}

const char *bd_matchreader_error(bd_matchreader *r)
{
    const char *why = r && r->ms->ops->reader_error ? r->ms->ops->reader_error(r) : NULL;
    return why ? why : "";
}

size_t bd_matchreader_batch_hint(bd_matchreader *r)
{
    size_t n = r->ms->ops->batch_hint ? r->ms->ops->batch_hint(r) : 0;
    return n ? n : BD_MATCH_BATCH_DEFAULT;
}

const char *bd_matchreader_source(bd_matchreader *r)
{
    const char *src = r->ms->ops->reader_source ? r->ms->ops->reader_source(r) : NULL;
    return src ? src : r->ms->ops->name;
}

void bd_matchreader_close(bd_matchreader *r)
{
    if (r)
        r->ms->ops->reader_close(r);
}

bd_matchbatch *bd_matchbatch_begin(bd_matchstore *ms, char *err, size_t errlen)
{
    return ms->ops->batch_begin(ms, err, errlen);
}

int bd_matchbatch_put(bd_matchbatch *b, int64_t dpid, const char *id, size_t len, int64_t to_dpid, const char *to,
                      size_t to_len)
{
    return b->ms->ops->batch_put(b, dpid, id, len, to_dpid, to, to_len);
}

int bd_matchbatch_commit(bd_matchbatch *b, char *err, size_t errlen)
{
    return b->ms->ops->batch_commit(b, err, errlen);
}

void bd_matchbatch_abort(bd_matchbatch *b)
{
    if (b)
        b->ms->ops->batch_abort(b);
}

int bd_matchstore_count(bd_matchstore *ms, uint64_t *entries)
{
    return ms->ops->count(ms, entries);
}

void bd_matchstore_close(bd_matchstore *ms)
{
    if (ms)
        ms->ops->close(ms);
}

int bd_is_our_id(const char *id, size_t len)
{
    if (len != BD_OURID_LEN)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (id[i] < '0' || id[i] > '9')
            return 0;
    return 1;
}

int bd_matchstore_index_open(bd_matchstore *ms)
{
    return ms->ops->index_open ? ms->ops->index_open(ms) : 0;
}

int bd_matchstore_index_fresh(bd_matchstore *ms)
{
    return ms->ops->index_fresh ? ms->ops->index_fresh(ms) : -1;
}

int bd_matchstore_index_build(bd_matchstore *ms, uint64_t *entries, char *err, size_t errlen)
{
    *entries = 0;
    if (ms->ops->index_build)
        return ms->ops->index_build(ms, entries, err, errlen);
    snprintf(err, errlen, "the %s match store keeps no lookup index", ms->ops->name);
    return -1;
}
