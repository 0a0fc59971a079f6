/* ledger_wal.h: the ledger's write-ahead log: a commit's journal puts made durable by one write and one fdatasync. */
#ifndef BD_LEDGER_WAL_H
#define BD_LEDGER_WAL_H
#include "ledger.h"
#include <stddef.h>
#include <stdint.h>

/*
 * A fixed-size file, filled with zeros when it is made, so that appending a record rewrites blocks that already
 * exist: its fdatasync is one flush, with no file-system journal commit (LMDB's commit takes two flushes and
 * writes several pages). Each record holds the puts of one call, a sequence number and a CRC-32; the ledger
 * applies the records to LMDB later, in one transaction for many (a checkpoint), stores the last applied
 * sequence number there, and then starts the log again from its start.
 *
 * Reading stops at the first record that is not whole (a torn write), fails its CRC, or does not carry the next
 * sequence number: that is where the records written since the last checkpoint end, and older ones begin.
 * Numbers are in the host's byte order: the log never leaves its machine.
 */
typedef struct bd_wal bd_wal;

#define BD_WAL_SIZE ((size_t)2 << 20)

/* Open path, creating it (zero-filled, size bytes, made durable) when missing. */
bd_wal *bd_wal_open(const char *path, size_t size, char *err, size_t errlen);
void bd_wal_close(bd_wal *w);

/* The records after sequence number `applied`, in order: cb(puts, n, arg) for each; stops at the first record
 * that does not follow (see above). 0, or -1 when reading failed or cb returned -1. The next append follows the
 * last record read. */
int bd_wal_replay(bd_wal *w, uint64_t applied, int (*cb)(const bd_journal_put *puts, size_t n, void *arg),
                  void *arg, char *err, size_t errlen);

/* Write one record and fdatasync it. 0 when durable; 1 when it does not fit in what is left of the log (nothing
 * written); -1 on an error (err): its sequence number is used up all the same, so a record that reached the disk
 * is dropped by the next checkpoint (bd_wal_last_seq). */
int bd_wal_append(bd_wal *w, const bd_journal_put *puts, size_t n, char *err, size_t errlen);

/* The last sequence number written or read: what a checkpoint stores as applied. */
uint64_t bd_wal_last_seq(const bd_wal *w);

/* After a checkpoint: the next record is written at the start of the log again. */
void bd_wal_rewind(bd_wal *w);
#endif
