/* test_redis_slots.c: unit tests of Redis Cluster key hashing (CRC16, {hash tags}) and CLUSTER SLOTS parsing, no server. */
#include "config.h"
#include "redis_slots.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned slot_of(const char *key)
{
    return bd_redis_key_slot(key, strlen(key));
}

static unsigned crc_slot(const char *s)
{
    return bd_redis_crc16(s, strlen(s)) & 16383;
}

static void test_hashing(void)
{
    TAP_EQ_INT(bd_redis_crc16("123456789", 9), 0x31C3, "crc16(\"123456789\") is 0x31C3 (XMODEM check value)");
    TAP_EQ_INT(bd_redis_crc16("", 0), 0, "crc16 of nothing is 0");
    TAP_EQ_INT(slot_of("foo"), 12182, "slot of foo is 12182");
    TAP_EQ_INT(slot_of("bar"), 5061, "slot of bar is 5061");
    TAP_EQ_INT(slot_of("{user1000}.following"), slot_of("user1000"), "{user1000}.following hashes user1000");
    TAP_EQ_INT(slot_of("{user1000}.followers"), slot_of("{user1000}.following"), "same tag, same slot");
    TAP_EQ_INT(slot_of("foo{}{bar}"), crc_slot("foo{}{bar}"), "foo{}{bar}: empty first tag, the whole key");
    TAP_OK(slot_of("foo{}{bar}") != slot_of("bar"), "foo{}{bar} does not hash bar");
    TAP_EQ_INT(slot_of("foo{{bar}}zap"), crc_slot("{bar"), "foo{{bar}}zap hashes \"{bar\"");
    TAP_EQ_INT(slot_of("foo{bar}{zap}"), slot_of("bar"), "foo{bar}{zap}: only the first tag");
    TAP_EQ_INT(slot_of("foo{bar"), crc_slot("foo{bar"), "an unclosed { hashes the whole key");
    TAP_EQ_INT(slot_of("}foo{bar}"), slot_of("bar"), "a } before the { is ignored");
    TAP_EQ_INT(slot_of("{}"), crc_slot("{}"), "{} alone hashes the whole key");
    const char bin[] = {'a', '\0', '{', 'x', '}', '\0'};
    TAP_EQ_INT(bd_redis_key_slot(bin, 6), slot_of("x"), "binary keys with NUL bytes: the tag still works");
    unsigned max = 0;
    char k[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(k, sizeof k, "key:%d", i);
        if (slot_of(k) > max)
            max = slot_of(k);
    }
    TAP_OK(max <= 16383 && max > 16000, "slots stay in 0..16383 and reach the top (max %u)", max);
}

/* A reply object from RESP text, as hiredis would build it off the wire. */
static redisReply *resp(const char *text)
{
    redisReader *rd = redisReaderCreate();
    void *rep = NULL;
    if (!rd)
        return NULL;
    if (redisReaderFeed(rd, text, strlen(text)) != REDIS_OK || redisReaderGetReply(rd, &rep) != REDIS_OK)
        rep = NULL;
    redisReaderFree(rd);
    return rep;
}

static const char three_masters[] =
    "*3\r\n"
    "*4\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\naa\r\n*0\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:7003\r\n$2\r\nad\r\n*0\r\n"
    "*4\r\n:5461\r\n:10922\r\n*3\r\n$9\r\n127.0.0.1\r\n:7001\r\n$2\r\nab\r\n"
    "*3\r\n$9\r\n127.0.0.1\r\n:7004\r\n$2\r\nae\r\n"
    "*3\r\n:10923\r\n:16383\r\n*3\r\n$0\r\n\r\n:7002\r\n$2\r\nac\r\n";

static int parse(bd_redis_slotmap **m, const char *text, char *err, size_t errlen)
{
    redisReply *rep = resp(text);
    *m = bd_redis_slotmap_new();
    int rc = rep && *m ? bd_redis_slotmap_parse(*m, rep, "10.1.2.3", err, errlen) : -2;
    if (rep)
        freeReplyObject(rep);
    return rc;
}

static void test_slotmap(void)
{
    char err[256] = "";
    bd_redis_slotmap *m;
    TAP_EQ_INT(parse(&m, three_masters, err, sizeof err), 0, "CLUSTER SLOTS of 3 masters parses (%s)", err);
    TAP_EQ_INT(bd_redis_slotmap_uncovered(m), 0, "every slot covered");
    TAP_EQ_INT(m->nmasters, 3, "3 masters");
    TAP_EQ_INT(m->nreplicas, 2, "2 replicas");
    TAP_EQ_STR(bd_redis_slotmap_master(m, 0), "127.0.0.1:7000", "slot 0 -> :7000");
    TAP_EQ_STR(bd_redis_slotmap_master(m, 5460), "127.0.0.1:7000", "slot 5460 -> :7000");
    TAP_EQ_STR(bd_redis_slotmap_master(m, 5461), "127.0.0.1:7001", "slot 5461 -> :7001");
    TAP_EQ_STR(bd_redis_slotmap_master(m, 16383), "10.1.2.3:7002", "an empty IP means the host asked");
    TAP_EQ_STR(m->replicas[0], "127.0.0.1:7003", "replica of the first range");
    TAP_OK(bd_redis_slotmap_master(m, 16384) == NULL, "slot 16384 does not exist");
    TAP_EQ_INT(bd_redis_slotmap_assign(m, 12182, "127.0.0.1:7009"), 0, "MOVED 12182 to a new node");
    TAP_EQ_STR(bd_redis_slotmap_master(m, 12182), "127.0.0.1:7009", "slot 12182 now -> :7009");
    TAP_EQ_STR(bd_redis_slotmap_master(m, 12181), "10.1.2.3:7002", "its neighbour unchanged");
    TAP_EQ_INT(m->nmasters, 4, "the new node joined the masters");
    TAP_EQ_INT(bd_redis_slotmap_assign(m, 12183, "127.0.0.1:7009"), 0, "a second slot to it");
    TAP_EQ_INT(m->nmasters, 4, "no duplicate master entry");
    bd_redis_slotmap_free(m);

    TAP_EQ_INT(parse(&m,
                     "*2\r\n*3\r\n:0\r\n:99\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\naa\r\n"
                     "*3\r\n:200\r\n:200\r\n*3\r\n$9\r\n127.0.0.1\r\n:7001\r\n$2\r\nab\r\n",
                     err, sizeof err),
               0, "a partial map parses");
    TAP_EQ_INT(bd_redis_slotmap_uncovered(m), 16384 - 101, "16283 slots not covered");
    TAP_OK(bd_redis_slotmap_master(m, 100) == NULL, "slot 100 has no master");
    TAP_EQ_STR(bd_redis_slotmap_master(m, 200), "127.0.0.1:7001", "slot 200 -> :7001");
    bd_redis_slotmap_free(m);

    TAP_EQ_INT(parse(&m, "*0\r\n", err, sizeof err), 0, "an empty reply (node not in a cluster yet) parses");
    TAP_EQ_INT(bd_redis_slotmap_uncovered(m), 16384, "and covers nothing");
    bd_redis_slotmap_free(m);
}

static void test_malformed(void)
{
    static const struct {
        const char *resp, *why, *msg;
    } bad[] = {
        {"-ERR This instance has cluster support disabled\r\n", "an error reply", "not an array"},
        {":1\r\n", "an integer", "not an array"},
        {"*1\r\n*3\r\n:10\r\n:5\r\n*2\r\n$1\r\nh\r\n:1\r\n", "end before start", "bad slot range 10-5"},
        {"*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n", "slot 16384", "bad slot range"},
        {"*1\r\n*3\r\n:-1\r\n:5\r\n*2\r\n$1\r\nh\r\n:1\r\n", "negative slot", "bad slot range"},
        {"*1\r\n*2\r\n:0\r\n:5\r\n", "no master", "malformed range"},
        {"*1\r\n*3\r\n:0\r\n:5\r\n*2\r\n$1\r\nh\r\n:0\r\n", "port 0", "malformed master"},
        {"*1\r\n*3\r\n:0\r\n:5\r\n*2\r\n$1\r\nh\r\n:70000\r\n", "port 70000", "malformed master"},
        {"*1\r\n*3\r\n:0\r\n:5\r\n*2\r\n$1\r\nh\r\n$4\r\n7000\r\n", "port as a string", "malformed master"},
        {"*1\r\n*4\r\n:0\r\n:5\r\n*2\r\n$1\r\nh\r\n:1\r\n:3\r\n", "replica not an array", "malformed replica"},
        {"*1\r\n$5\r\nslots\r\n", "range not an array", "malformed range"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        bd_redis_slotmap *m;
        TAP_EQ_INT(parse(&m, bad[i].resp, err, sizeof err), -1, "rejected: %s", bad[i].why);
        TAP_OK(strstr(err, bad[i].msg) != NULL, "  error says \"%s\": %s", bad[i].msg, err);
        bd_redis_slotmap_free(m);
    }
}

static void test_split_addr(void)
{
    char host[64];
    int port = 0;
    TAP_EQ_INT(bd_redis_split_addr("10.0.0.5:7000", host, sizeof host, &port), 0, "10.0.0.5:7000 splits");
    TAP_EQ_STR(host, "10.0.0.5", "  host");
    TAP_EQ_INT(port, 7000, "  port");
    TAP_EQ_INT(bd_redis_split_addr("[::1]:6379", host, sizeof host, &port), 0, "[::1]:6379 splits");
    TAP_EQ_STR(host, "::1", "  v6 host without brackets");
    TAP_EQ_INT(port, 6379, "  port");
    TAP_EQ_INT(bd_redis_split_addr("redis.example:1", host, sizeof host, &port), 0, "a name splits");
    const char *bad[] = {"10.0.0.5", "10.0.0.5:", ":7000", "h:0", "h:65536", "h:7000x", "[::1:7000", "[]:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        TAP_EQ_INT(bd_redis_split_addr(bad[i], host, sizeof host, &port), -1, "\"%s\" rejected", bad[i]);
    TAP_EQ_INT(bd_redis_split_addr("a-very-long-host-name:1", host, 8, &port), -1, "a host too long for the buffer");
}

int main(void)
{
    test_hashing();
    test_slotmap();
    test_malformed();
    test_split_addr();
    return tap_done();
}
