/* receipt.h: the one-per-file receipt: JSON line for the receipts log, AAM-style text for mail. */
#ifndef BD_RECEIPT_H
#define BD_RECEIPT_H
#include "counters.h"
#include <stddef.h>
#include <stdint.h>

#define BD_STATUS_OK "ok"
#define BD_STATUS_REJECTED "rejected"
#define BD_STATUS_FAILED "failed"
#define BD_STATUS_DUPLICATE "duplicate"

typedef struct bd_receipt {
    char id[48];        /* the claim ID of this delivery, unique per agent */
    char agent[72];
    char file[256];     /* base name as the partner dropped it */
    char partner[72];
    char source[4096];  /* where it was found */
    uint64_t bytes;     /* raw size */
    char sha256[65];
    char compression[8];
    char format[64];    /* plugin name, "" when none was chosen */
    char kind[16];      /* "traits", "idsync" or "" */
    const char *status;
    char reason[1024];
    char duplicate_of[48]; /* claim ID of the first delivery, for duplicates */
    bd_counters c;
    bd_samples samples;
    char outbox[2][4096]; /* data file, .info file */
    int noutbox;
    int64_t started_ms, finished_ms;
} bd_receipt;

/* One compact JSON object + "\n"; caller frees. NULL on ENOMEM. */
char *bd_receipt_json_line(const bd_receipt *r);
/* Same, pretty-printed for `batchdrop validate`. */
char *bd_receipt_json_pretty(const bd_receipt *r);
/* The AAM-style text receipt, ready to mail; caller frees. */
char *bd_receipt_text(const bd_receipt *r);
/* Append lines to the receipts log (its folder fsynced when the log is new); bd_receipt_sync makes what was
 * appended durable (the commit does it once for the groups of its deferred tail). -1 with errno on failure. */
int bd_receipt_write(const char *log_path, const char *line);
int bd_receipt_sync(const char *log_path);
void bd_counters_finish(bd_counters *c);
/* Add every counter of from to to (the two halves of a file's processing). */
void bd_counters_add(bd_counters *to, const bd_counters *from);
#endif
