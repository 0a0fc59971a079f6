/* receipt_text.c: render a receipt as the AAM-style "Server-To-Server Processing Result" text, for mail. */
#include "config.h"
#include "receipt.h"
#include "strutil.h"
#include <stdio.h>
#include <stdlib.h>

char *bd_receipt_text(const bd_receipt *r)
{
    char started[32], finished[32];
    bd_format_time(started, sizeof started, r->started_ms);
    bd_format_time(finished, sizeof finished, r->finished_ms);
    const bd_counters *c = &r->c;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    fprintf(f,
            "Subject: batchdrop Server-To-Server Processing Result: %s\n"
            "Dear Partner: (ID:%s)\n"
            "We have received your Server-To-Server file delivery\n"
            "File name:\n%s\n"
            "Status: %s%s%s\n",
            r->file, r->partner, r->file, r->status, r->reason[0] ? " - " : "", r->reason);
    fprintf(f,
            "Records received: %llu\nFormat Errors: %llu\nInvalid AAM ID: %llu\nNo Matching AAM ID: %llu\n"
            "No Trait Realized: %llu\nRecords processed: %llu\nStored Records: %llu\nTotal devices: %llu\n"
            "Total signals: %llu\nTotal unused signals: %llu\nTotal realized traits: %llu\n"
            "Total removed traits: %llu\nTotal traits failed validation: %llu\n"
            "Total users that have traits which failed validation: %llu\n",
            (unsigned long long)c->records_received, (unsigned long long)c->format_errors,
            (unsigned long long)c->invalid_ids, (unsigned long long)c->no_match,
            (unsigned long long)c->no_segment, (unsigned long long)c->records_processed,
            (unsigned long long)c->stored, (unsigned long long)c->users, (unsigned long long)c->signals,
            (unsigned long long)c->unused_signals, (unsigned long long)c->segments_realized,
            (unsigned long long)c->segments_removed, (unsigned long long)c->segments_failed_validation,
            (unsigned long long)c->users_failed_validation);
    fprintf(f, "Job start time: %s\nJob end time: %s\n", started, finished);
    for (int k = 0; k < BD_SAMPLE_KINDS; k++)
        for (unsigned i = 0; i < r->samples.n[k]; i++)
            fprintf(f, "Error sample (%s) line %llu: %s\n", bd_sample_kind_name((bd_sample_kind)k),
                    (unsigned long long)r->samples.s[k][i].line, r->samples.s[k][i].reason);
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}
