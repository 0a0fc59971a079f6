/* match_index.c: the lookup index: builds, maps and searches the hash table snapshot of the LMDB match store. */
#include "config.h"
#include "match_index.h"
#include "fsutil.h"
#include "idcount.h"
#include "matchstore_lmdb.h"
#include "strutil.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* File layout (native byte order: the file never leaves its host):
 *   [0, 4096)            header
 *   [4096, entries_off)  nslots slots of 8 bytes: 0 empty, else (tag << 32) | (entry offset / 8)
 *   [entries_off, end)   entries, 8-byte aligned: our ID as two 19-digit numbers (u64 hi, u64 lo), the key's
 *                        length (u16), the key (8-byte big-endian DPID + partner ID, as LMDB keys it)
 * A key's home slot comes from the low half of its 64-bit hash, its tag from the high half; collisions probe
 * the next slots. The table is at most 60% full. */
#define MAGIC "BDLKIDX1"
#define HEADER_BYTES 4096u
#define ENTRY_HEAD 18u /* hi, lo, key length */
#define ENTRY_ALIGN 8u
#define MAX_ENTRY_BYTES (((uint64_t)UINT32_MAX + 1) * ENTRY_ALIGN) /* entry offsets are stored / 8 in 32 bits */
#define WRITE_BUFFER (1u << 20)
#define LOOKAHEAD 32 /* keys whose slots and entries are fetched ahead (prefetch) before they are compared */

/* What identifies one state of the store (from a read transaction). */
typedef struct fingerprint {
    uint64_t txnid, entries, depth, branch_pages, leaf_pages, overflow_pages;
} fingerprint;

typedef struct index_header {
    char magic[8];
    uint32_t version, header_bytes;
    fingerprint fp;
    uint64_t nslots, nentries, entries_off, entries_bytes;
} index_header;

struct bd_match_index {
    const unsigned char *map;
    size_t map_len;
    index_header h;
    const uint64_t *slots;
    const unsigned char *entries;
};

static int fingerprint_of(MDB_txn *txn, MDB_dbi dbi, fingerprint *fp)
{
    MDB_stat st;
    if (mdb_stat(txn, dbi, &st))
        return -1;
    *fp = (fingerprint){.txnid = mdb_txn_id(txn), .entries = st.ms_entries, .depth = st.ms_depth,
                                 .branch_pages = st.ms_branch_pages, .leaf_pages = st.ms_leaf_pages,
                                 .overflow_pages = st.ms_overflow_pages};
    return 0;
}

static uint64_t home_slot(uint64_t hash, uint64_t nslots)
{
    return ((hash & 0xffffffffu) * nslots) >> 32; /* nslots < 2^32 */
}

static uint32_t slot_tag(uint64_t hash)
{
    uint32_t t = (uint32_t)(hash >> 32);
    return t ? t : 1; /* a used slot is never 0 */
}

/* ---- building */

typedef struct builder {
    int fd;
    uint64_t *slots, nslots, nentries;
    uint64_t pending_hash[LOOKAHEAD], pending_slot[LOOKAHEAD]; /* a ring: entries whose slots are prefetched */
    size_t npending, next;                                      /* next: the ring's oldest (and next free) */
    unsigned char *buf;
    size_t used;
    uint64_t written; /* entry bytes flushed to the file */
    uint64_t entries_off;
} builder;

static int flush_entries(builder *b)
{
    if (b->used && pwrite(b->fd, b->buf, b->used, (off_t)(b->entries_off + b->written)) != (ssize_t)b->used)
        return -1;
    b->written += b->used;
    b->used = 0;
    return 0;
}

/* "0123...": our 38-digit ID as two 19-digit numbers. -1 when it is not 38 digits. */
static int split_ours(const char *ours, uint64_t *hi, uint64_t *lo)
{
    *hi = *lo = 0;
    for (int i = 0; i < BD_OURID_LEN; i++) {
        if (ours[i] < '0' || ours[i] > '9')
            return -1;
        uint64_t *half = i < BD_OURID_LEN / 2 ? hi : lo;
        *half = *half * 10 + (uint64_t)(ours[i] - '0');
    }
    return 0;
}

static void join_ours(uint64_t hi, uint64_t lo, char ours[BD_OURID_LEN + 1])
{
    for (int i = BD_OURID_LEN / 2 - 1; i >= 0; i--, hi /= 10, lo /= 10) {
        ours[i] = (char)('0' + hi % 10);
        ours[i + BD_OURID_LEN / 2] = (char)('0' + lo % 10);
    }
    ours[BD_OURID_LEN] = '\0';
}

static void place(builder *b, uint64_t hash, uint64_t slot_value)
{
    uint64_t s = home_slot(hash, b->nslots);
    while (b->slots[s])
        s = s + 1 == b->nslots ? 0 : s + 1;
    b->slots[s] = slot_value;
}

/* Slots are filled LOOKAHEAD entries late: each entry's home slot is prefetched when it is added and written
 * when LOOKAHEAD more have been added (a random write into the table would otherwise wait on memory). */
static void place_later(builder *b, uint64_t hash, uint64_t slot_value)
{
    __builtin_prefetch(&b->slots[home_slot(hash, b->nslots)], 1);
    if (b->npending == LOOKAHEAD)
        place(b, b->pending_hash[b->next], b->pending_slot[b->next]);
    else
        b->npending++;
    b->pending_hash[b->next] = hash;
    b->pending_slot[b->next] = slot_value;
    b->next = (b->next + 1) % LOOKAHEAD;
}

static void place_pending(builder *b)
{
    for (size_t i = 0; i < b->npending; i++)
        place(b, b->pending_hash[i], b->pending_slot[i]);
    b->npending = 0;
}

static int add_entry(builder *b, const MDB_val *k, const char *ours)
{
    uint64_t hi, lo, pos = b->written + b->used;
    size_t need = (ENTRY_HEAD + k->mv_size + ENTRY_ALIGN - 1) / ENTRY_ALIGN * ENTRY_ALIGN;
    if (split_ours(ours, &hi, &lo) < 0)
        return 0; /* not an ID this code writes: left out (no match) */
    if (k->mv_size > BD_LMDB_KEY_MAX || pos + need > MAX_ENTRY_BYTES || b->nentries >= b->nslots * 3 / 5) {
        errno = EFBIG;
        return -1;
    }
    if (b->used + need > WRITE_BUFFER && flush_entries(b) < 0)
        return -1;
    unsigned char *e = b->buf + b->used;
    uint16_t klen = (uint16_t)k->mv_size;
    memset(e, 0, need);
    memcpy(e, &hi, 8);
    memcpy(e + 8, &lo, 8);
    memcpy(e + 16, &klen, 2);
    memcpy(e + ENTRY_HEAD, k->mv_data, k->mv_size);
    b->used += need;
    uint64_t h = bd_hash64(k->mv_data, k->mv_size);
    place_later(b, h, (uint64_t)slot_tag(h) << 32 | (pos / ENTRY_ALIGN));
    b->nentries++;
    return 0;
}

/* Every entry of the store, its links resolved. */
static int add_all(builder *b, MDB_txn *txn, MDB_dbi dbi, char *err, size_t errlen)
{
    MDB_cursor *cur;
    MDB_val k, v;
    char ours[BD_OURID_LEN + 1];
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc) {
        snprintf(err, errlen, "cannot read the match store: %s", mdb_strerror(rc));
        return -1;
    }
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        int found = bd_lmdb_resolve(txn, dbi, v, ours);
        if (found == 1 && add_entry(b, &k, ours) < 0) {
            snprintf(err, errlen, "cannot write the lookup index: %s", strerror(errno));
            break;
        }
    }
    mdb_cursor_close(cur);
    place_pending(b);
    if (rc != MDB_NOTFOUND && rc != 0) {
        snprintf(err, errlen, "cannot read the match store: %s", mdb_strerror(rc));
        return -1;
    }
    return rc == 0 ? -1 : 0;
}

static int write_tables(builder *b, const fingerprint *fp)
{
    size_t slot_bytes = (size_t)b->nslots * sizeof *b->slots;
    if (flush_entries(b) < 0)
        return -1;
    index_header h = {.version = 1, .header_bytes = HEADER_BYTES, .fp = *fp, .nslots = b->nslots,
                      .nentries = b->nentries, .entries_off = b->entries_off, .entries_bytes = b->written};
    memcpy(h.magic, MAGIC, sizeof h.magic);
    if (ftruncate(b->fd, (off_t)(b->entries_off + b->written)) < 0 ||
        pwrite(b->fd, b->slots, slot_bytes, HEADER_BYTES) != (ssize_t)slot_bytes ||
        pwrite(b->fd, &h, sizeof h, 0) != (ssize_t)sizeof h || fsync(b->fd) < 0)
        return -1;
    return 0;
}

/* The index belongs to whoever owns the store's data.mdb: an agent started as root hands the store to `user`,
 * whose workers must read the index too. 0, or -1 with errno. */
static int own_like_store(int fd, const char *dir)
{
    char data[PATH_MAX];
    struct stat st;
    if (geteuid() != 0)
        return 0;
    if (bd_fmt(data, sizeof data, "%s/data.mdb", dir) < 0 || stat(data, &st) < 0)
        return -1;
    return fchown(fd, st.st_uid, st.st_gid);
}

/* The temporary file, locked (another build may be writing it: then 1). 0, or -1 with errno. */
static int open_temp(const char *tmp, const char *dir, int *fd)
{
    *fd = open(tmp, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (*fd < 0)
        return -1;
    if (flock(*fd, LOCK_EX | LOCK_NB) == 0 && ftruncate(*fd, 0) == 0 && own_like_store(*fd, dir) == 0)
        return 0;
    int e = errno; /* EWOULDBLOCK comes only from flock */
    close(*fd);
    *fd = -1;
    errno = e;
    return e == EWOULDBLOCK ? 1 : -1;
}

static int build_into(builder *b, MDB_txn *txn, MDB_dbi dbi, const fingerprint *fp, char *err,
                      size_t errlen)
{
    if (add_all(b, txn, dbi, err, errlen) < 0)
        return -1;
    if (write_tables(b, fp) < 0) {
        snprintf(err, errlen, "cannot write the lookup index: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int bd_match_index_build(MDB_txn *txn, MDB_dbi dbi, const char *dir, uint64_t *entries, char *err, size_t errlen)
{
    char tmp[PATH_MAX], final[PATH_MAX];
    fingerprint fp;
    if (fingerprint_of(txn, dbi, &fp) < 0 || fp.entries >= (uint64_t)UINT32_MAX / 2) {
        snprintf(err, errlen, "cannot index the match store: no statistics, or over 2^31 entries");
        return -1;
    }
    if (bd_fmt(tmp, sizeof tmp, "%s/%s.tmp", dir, BD_MATCH_INDEX_FILE) < 0 ||
        bd_fmt(final, sizeof final, "%s/%s", dir, BD_MATCH_INDEX_FILE) < 0) {
        snprintf(err, errlen, "match store path too long: %s", dir);
        return -1;
    }
    builder b = {.nslots = fp.entries * 5 / 3 + 64};
    b.entries_off = (HEADER_BYTES + b.nslots * 8 + 4095) / 4096 * 4096;
    int locked = open_temp(tmp, dir, &b.fd);
    if (locked != 0) {
        if (locked < 0)
            snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return locked;
    }
    int rc = -1;
    if (!(b.slots = calloc(b.nslots, sizeof *b.slots)) || !(b.buf = malloc(WRITE_BUFFER)))
        snprintf(err, errlen, "out of memory for the lookup index (%llu slots)", (unsigned long long)b.nslots);
    else if (build_into(&b, txn, dbi, &fp, err, errlen) == 0) {
        if (bd_rename_durable(tmp, final, 0) < 0)
            snprintf(err, errlen, "cannot rename %s into place: %s", tmp, strerror(errno));
        else
            rc = 0;
    }
    if (rc < 0)
        unlink(tmp);
    close(b.fd); /* releases the lock */
    free(b.slots);
    free(b.buf);
    *entries = b.nentries;
    return rc;
}

/* ---- reading */

static int header_sane(const index_header *h, uint64_t file_bytes)
{
    return memcmp(h->magic, MAGIC, sizeof h->magic) == 0 && h->version == 1 && h->header_bytes == HEADER_BYTES &&
           h->nslots > 0 && h->nslots < ((uint64_t)1 << 32) && h->nentries < h->nslots &&
           h->entries_off >= HEADER_BYTES + h->nslots * 8 && h->entries_bytes <= MAX_ENTRY_BYTES &&
           h->entries_off + h->entries_bytes == file_bytes;
}

static int read_header(int fd, index_header *h, uint64_t *file_bytes)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)HEADER_BYTES ||
        pread(fd, h, sizeof *h, 0) != (ssize_t)sizeof *h || !header_sane(h, (uint64_t)st.st_size))
        return -1;
    *file_bytes = (uint64_t)st.st_size;
    return 0;
}

static int open_index_file(const char *dir)
{
    char path[PATH_MAX];
    if (bd_fmt(path, sizeof path, "%s/%s", dir, BD_MATCH_INDEX_FILE) < 0)
        return -1;
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* 1 when h was built from the store state that txn sees. */
static int header_fits(const index_header *h, MDB_txn *txn, MDB_dbi dbi)
{
    fingerprint now;
    return fingerprint_of(txn, dbi, &now) == 0 && memcmp(&h->fp, &now, sizeof now) == 0;
}

int bd_match_index_file_fits(const char *dir, MDB_txn *txn, MDB_dbi dbi)
{
    index_header h;
    uint64_t bytes;
    int fd = open_index_file(dir);
    if (fd < 0)
        return 0;
    int rc = read_header(fd, &h, &bytes);
    close(fd);
    return rc == 0 && header_fits(&h, txn, dbi);
}

bd_match_index *bd_match_index_open(const char *dir)
{
    bd_match_index *ix = calloc(1, sizeof *ix);
    uint64_t bytes = 0;
    int fd = open_index_file(dir);
    if (!ix || fd < 0 || read_header(fd, &ix->h, &bytes) < 0 || bytes > SIZE_MAX) {
        if (fd >= 0)
            close(fd);
        free(ix);
        return NULL;
    }
    void *m = mmap(NULL, (size_t)bytes, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        free(ix);
        return NULL;
    }
    (void)madvise(m, (size_t)bytes, MADV_RANDOM); /* advice only */
    ix->map = m;
    ix->map_len = (size_t)bytes;
    ix->slots = (const uint64_t *)(ix->map + HEADER_BYTES);
    ix->entries = ix->map + ix->h.entries_off;
    return ix;
}

int bd_match_index_fits(const bd_match_index *ix, MDB_txn *txn, MDB_dbi dbi)
{
    return ix && header_fits(&ix->h, txn, dbi);
}

/* The entry a slot names, if it lies inside the file (a damaged file gives no match, never a bad read). */
static const unsigned char *slot_entry(const bd_match_index *ix, uint64_t slot)
{
    uint64_t off = (slot & 0xffffffffu) * ENTRY_ALIGN;
    if (off + ENTRY_HEAD > ix->h.entries_bytes)
        return NULL;
    uint16_t klen;
    memcpy(&klen, ix->entries + off + 16, 2);
    return off + ENTRY_HEAD + klen <= ix->h.entries_bytes ? ix->entries + off : NULL;
}

static int entry_has_key(const unsigned char *e, const unsigned char *key, size_t klen)
{
    uint16_t elen;
    memcpy(&elen, e + 16, 2);
    return elen == klen && memcmp(e + ENTRY_HEAD, key, klen) == 0;
}

/* A key being looked up: its bytes, hash, and the slot probed. */
typedef struct probe {
    unsigned char key[BD_LMDB_KEY_MAX];
    size_t klen;
    uint64_t hash, slot;
} probe;

static void start_probe(const bd_match_index *ix, const bd_match_key *k, probe *p)
{
    p->klen = k->id_len && k->id_len <= BD_MATCH_MAX_ID ? bd_lmdb_make_key(p->key, k->dpid, k->id, k->id_len) : 0;
    p->hash = bd_hash64(p->key, p->klen);
    p->slot = home_slot(p->hash, ix->h.nslots);
    __builtin_prefetch(&ix->slots[p->slot]);
}

/* Move the probe to the first slot from its position with its tag (or to an empty one), and fetch that entry. */
static void seek_tag(const bd_match_index *ix, probe *p, uint64_t *probed)
{
    uint32_t tag = slot_tag(p->hash);
    for (; *probed < ix->h.nslots; (*probed)++, p->slot = p->slot + 1 == ix->h.nslots ? 0 : p->slot + 1) {
        uint64_t s = ix->slots[p->slot];
        if (!s)
            return;
        const unsigned char *e = (uint32_t)(s >> 32) == tag ? slot_entry(ix, s) : NULL;
        if (e) {
            __builtin_prefetch(e);
            return;
        }
    }
}

static void finish_probe(const bd_match_index *ix, probe *p, bd_match_result *res)
{
    uint64_t probed = 0;
    res->found = 0;
    if (!p->klen)
        return;
    for (seek_tag(ix, p, &probed); probed < ix->h.nslots && ix->slots[p->slot]; seek_tag(ix, p, &probed)) {
        const unsigned char *e = slot_entry(ix, ix->slots[p->slot]);
        if (e && entry_has_key(e, p->key, p->klen)) {
            uint64_t hi, lo;
            memcpy(&hi, e, 8);
            memcpy(&lo, e + 8, 8);
            join_ours(hi, lo, res->ours);
            res->found = 1;
            return;
        }
        probed++; /* a tag collision: go on past it */
        p->slot = p->slot + 1 == ix->h.nslots ? 0 : p->slot + 1;
    }
}

/* LOOKAHEAD keys at a time: hash each and prefetch its slot, then find each tag and prefetch its entry, then
 * compare: the memory reads of one group overlap instead of waiting one after another. */
void bd_match_index_lookup_many(const bd_match_index *ix, const bd_match_key *keys, bd_match_result *results,
                                size_t n)
{
    probe group[LOOKAHEAD];
    for (size_t base = 0; base < n; base += LOOKAHEAD) {
        size_t m = n - base < LOOKAHEAD ? n - base : LOOKAHEAD;
        for (size_t i = 0; i < m; i++)
            start_probe(ix, &keys[base + i], &group[i]);
        for (size_t i = 0; i < m; i++) {
            uint64_t probed = 0;
            seek_tag(ix, &group[i], &probed);
        }
        for (size_t i = 0; i < m; i++)
            finish_probe(ix, &group[i], &results[base + i]);
    }
}

void bd_match_index_close(bd_match_index *ix)
{
    if (!ix)
        return;
    munmap((void *)ix->map, ix->map_len);
    free(ix);
}
