/* redis_slots.h: Redis Cluster key->slot hashing (CRC16/XMODEM, {hash tags}) and the slot map from CLUSTER SLOTS. */
#ifndef BD_REDIS_SLOTS_H
#define BD_REDIS_SLOTS_H
#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>

#define BD_REDIS_NSLOTS 16384

/* CRC16-CCITT (XMODEM: poly 0x1021, init 0), the checksum of the Redis Cluster spec. */
uint16_t bd_redis_crc16(const void *buf, size_t len);
/* The hash slot (0..16383) of a key: only the part between the first '{' and the next '}' is hashed when that
 * part is non-empty, else the whole key. */
unsigned bd_redis_key_slot(const void *key, size_t len);

/* Which master ("host:port") serves each slot, plus every replica address (for health checks). */
typedef struct bd_redis_slotmap {
    int32_t owner[BD_REDIS_NSLOTS]; /* index into masters, -1 = slot not covered */
    char **masters;                 /* distinct master addresses */
    size_t nmasters;
    char **replicas; /* distinct replica addresses */
    size_t nreplicas;
} bd_redis_slotmap;

/* A new empty map (every slot uncovered); NULL when out of memory. */
bd_redis_slotmap *bd_redis_slotmap_new(void);
void bd_redis_slotmap_free(bd_redis_slotmap *m);
/* Fill an empty map from a CLUSTER SLOTS reply. asked_host replaces a node's empty or "?" IP (a node that does
 * not know its own address reports it so: it means "the host you asked"). 0, or -1 with err (malformed reply,
 * out of memory); on -1 the map may be partly filled. */
int bd_redis_slotmap_parse(bd_redis_slotmap *m, const redisReply *reply, const char *asked_host, char *err,
                           size_t errlen);
/* The master serving slot, or NULL when it is not covered. */
const char *bd_redis_slotmap_master(const bd_redis_slotmap *m, unsigned slot);
/* Point slot at addr (after a MOVED), adding addr to the masters; 0, or -1 when out of memory. */
int bd_redis_slotmap_assign(bd_redis_slotmap *m, unsigned slot, const char *addr);
/* How many slots no master serves. */
size_t bd_redis_slotmap_uncovered(const bd_redis_slotmap *m);

/* Split "host:port" (also "[v6]:port") into host and port; 0, or -1 when malformed or host too long. */
int bd_redis_split_addr(const char *addr, char *host, size_t hostlen, int *port);
#endif
