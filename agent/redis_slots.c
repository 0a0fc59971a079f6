/* redis_slots.c: Redis Cluster key->slot hashing (CRC16/XMODEM, {hash tags}) and the slot map from CLUSTER SLOTS. */
#include "config.h"
#include "redis_slots.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint16_t bd_redis_crc16(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

unsigned bd_redis_key_slot(const void *key, size_t len)
{
    const char *k = key;
    const char *open = memchr(k, '{', len);
    if (open) {
        size_t start = (size_t)(open - k) + 1;
        const char *close = memchr(k + start, '}', len - start);
        if (close && close > k + start) /* a non-empty tag: hash only it */
            return bd_redis_crc16(k + start, (size_t)(close - (k + start))) & (BD_REDIS_NSLOTS - 1);
    }
    return bd_redis_crc16(k, len) & (BD_REDIS_NSLOTS - 1);
}

bd_redis_slotmap *bd_redis_slotmap_new(void)
{
    bd_redis_slotmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    for (size_t i = 0; i < BD_REDIS_NSLOTS; i++)
        m->owner[i] = -1;
    return m;
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

void bd_redis_slotmap_free(bd_redis_slotmap *m)
{
    if (!m)
        return;
    free_list(m->masters, m->nmasters);
    free_list(m->replicas, m->nreplicas);
    free(m);
}

/* Index of addr in list, appending it when absent; -1 when out of memory. */
static long intern(char ***list, size_t *n, const char *addr)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*list)[i], addr) == 0)
            return (long)i;
    char **grown = realloc(*list, (*n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    *list = grown;
    if (!(grown[*n] = strdup(addr)))
        return -1;
    return (long)(*n)++;
}

/* "host:port" of one node entry [ip, port, id, ...] of CLUSTER SLOTS; 0 or -1 when malformed. */
static int node_addr(const redisReply *node, const char *asked_host, char *out, size_t outlen)
{
    if (node->type != REDIS_REPLY_ARRAY || node->elements < 2 || node->element[0]->type != REDIS_REPLY_STRING ||
        node->element[1]->type != REDIS_REPLY_INTEGER)
        return -1;
    const char *ip = node->element[0]->str;
    long long port = node->element[1]->integer;
    if (port <= 0 || port > 65535)
        return -1;
    if (ip[0] == '\0' || strcmp(ip, "?") == 0)
        ip = asked_host;
    int n = strchr(ip, ':') ? snprintf(out, outlen, "[%s]:%lld", ip, port) : snprintf(out, outlen, "%s:%lld", ip, port);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

/* One range entry [start, end, master, replica...]. */
static int parse_range(bd_redis_slotmap *m, const redisReply *e, const char *asked_host, char *err, size_t errlen)
{
    char addr[300];
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 || e->element[0]->type != REDIS_REPLY_INTEGER ||
        e->element[1]->type != REDIS_REPLY_INTEGER) {
        snprintf(err, errlen, "CLUSTER SLOTS: malformed range entry");
        return -1;
    }
    long long lo = e->element[0]->integer, hi = e->element[1]->integer;
    if (lo < 0 || hi < lo || hi >= BD_REDIS_NSLOTS) {
        snprintf(err, errlen, "CLUSTER SLOTS: bad slot range %lld-%lld", lo, hi);
        return -1;
    }
    if (node_addr(e->element[2], asked_host, addr, sizeof addr) < 0) {
        snprintf(err, errlen, "CLUSTER SLOTS: malformed master of slots %lld-%lld", lo, hi);
        return -1;
    }
    long idx = intern(&m->masters, &m->nmasters, addr);
    if (idx < 0) {
        snprintf(err, errlen, "CLUSTER SLOTS: out of memory");
        return -1;
    }
    for (long long s = lo; s <= hi; s++)
        m->owner[s] = (int32_t)idx;
    for (size_t r = 3; r < e->elements; r++) {
        if (node_addr(e->element[r], asked_host, addr, sizeof addr) < 0) {
            snprintf(err, errlen, "CLUSTER SLOTS: malformed replica of slots %lld-%lld", lo, hi);
            return -1;
        }
        if (intern(&m->replicas, &m->nreplicas, addr) < 0) {
            snprintf(err, errlen, "CLUSTER SLOTS: out of memory");
            return -1;
        }
    }
    return 0;
}

int bd_redis_slotmap_parse(bd_redis_slotmap *m, const redisReply *reply, const char *asked_host, char *err,
                           size_t errlen)
{
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "CLUSTER SLOTS: the reply is not an array");
        return -1;
    }
    for (size_t i = 0; i < reply->elements; i++)
        if (parse_range(m, reply->element[i], asked_host, err, errlen) < 0)
            return -1;
    return 0;
}

const char *bd_redis_slotmap_master(const bd_redis_slotmap *m, unsigned slot)
{
    if (slot >= BD_REDIS_NSLOTS || m->owner[slot] < 0)
        return NULL;
    return m->masters[m->owner[slot]];
}

int bd_redis_slotmap_assign(bd_redis_slotmap *m, unsigned slot, const char *addr)
{
    if (slot >= BD_REDIS_NSLOTS)
        return -1;
    long idx = intern(&m->masters, &m->nmasters, addr);
    if (idx < 0)
        return -1;
    m->owner[slot] = (int32_t)idx;
    return 0;
}

size_t bd_redis_slotmap_uncovered(const bd_redis_slotmap *m)
{
    size_t n = 0;
    for (size_t i = 0; i < BD_REDIS_NSLOTS; i++)
        n += m->owner[i] < 0;
    return n;
}

int bd_redis_split_addr(const char *addr, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr)
        return -1;
    const char *h = addr;
    size_t hl = (size_t)(colon - addr);
    if (addr[0] == '[') { /* [v6]:port */
        if (hl < 3 || addr[hl - 1] != ']')
            return -1;
        h = addr + 1;
        hl -= 2;
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || end == colon + 1 || p <= 0 || p > 65535 || hl >= hostlen)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}
