/* outbox.h: write one outbox file per input (temp name, optional zstd, md5) plus its .info control file. */
#ifndef BD_OUTBOX_H
#define BD_OUTBOX_H
#include "conf.h"
#include "realize.h"
#include <limits.h>
#include <stdint.h>

typedef struct bd_outbox_writer bd_outbox_writer;

typedef struct bd_outbox_result {
    char tmp_data[PATH_MAX], tmp_info[PATH_MAX];     /* written and fsynced */
    char final_data[PATH_MAX], final_info[PATH_MAX]; /* where commit renames them */
    uint64_t bytes, lines;
    char md5[33];
    int64_t name_ms; /* the time in the final names */
} bd_outbox_result;

/* Final names of later files take a time after ms: the batch before them is staged but not published yet. */
void bd_outbox_names_after(int64_t ms);

/* Open a temp file under <outbox>/<partner>/.tmp/. */
bd_outbox_writer *bd_outbox_open(const bd_config *cfg, const char *partner, const char *claim_id, char *err,
                                 size_t errlen);
/* "OURID<SP>added,...<SP>removed,...\n" */
int bd_outbox_write_record(bd_outbox_writer *w, const char *ourid, const bd_segset *added,
                           const bd_segset *removed);
/* Flush and fsync the data file, choose its final name
 * (ftp_<partner>_<dpid>_<iter|full>_<13-digit ms>.sync[.zst]) and write the
 * .info file beside it, both still under temp names. */
int bd_outbox_finish(bd_outbox_writer *w, int64_t dpid, int full, bd_outbox_result *res, char *err,
                     size_t errlen);
/* Remove the temp files (when the job is abandoned) and free. */
void bd_outbox_discard(bd_outbox_writer *w);
void bd_outbox_free(bd_outbox_writer *w);
#endif
