/* counters.h: the AAM-style per-file counters and error samples that every receipt carries. */
#ifndef BD_COUNTERS_H
#define BD_COUNTERS_H
#include <stdint.h>

typedef struct bd_counters {
    uint64_t records_received;   /* non-blank lines handed to the plugin */
    uint64_t format_errors;      /* lines that do not parse (includes lines_too_long) */
    uint64_t invalid_ids;        /* user/device IDs that break their namespace's format */
    uint64_t no_match;           /* IDs with no entry in the ID-match table */
    uint64_t no_segment;         /* records where nothing realized ("No Trait Realized") */
    uint64_t records_processed;  /* received minus lines_over_user_cap */
    uint64_t stored;             /* records written (traits) or rows applied (ID-sync) */
    uint64_t users;              /* distinct users that received data */
    uint64_t signals;            /* items seen on processed records */
    uint64_t unused_signals;     /* key/value signals no rule maps to a segment */
    uint64_t segments_realized;  /* segments added across all records */
    uint64_t segments_removed;   /* segments removed across all records */
    uint64_t segments_failed_validation; /* trait IDs the partner does not own */
    uint64_t users_failed_validation;    /* records with at least one such trait */
    uint64_t lines_too_long;      /* lines over max_line_length (also format errors) */
    uint64_t lines_over_user_cap; /* lines after a user's max_lines_per_user-th */
    uint64_t id_mappings;         /* ID-sync: mappings written to the match table */
} bd_counters;

typedef enum bd_sample_kind {
    BD_SAMPLE_FORMAT = 0,
    BD_SAMPLE_INVALID_ID,
    BD_SAMPLE_NO_MATCH,
    BD_SAMPLE_FAILED_VALIDATION,
    BD_SAMPLE_OVER_USER_CAP,
    BD_SAMPLE_KINDS
} bd_sample_kind;

#define BD_SAMPLES_PER_KIND 10
#define BD_SAMPLE_REASON_MAX 200

typedef struct bd_error_sample {
    uint64_t line;
    char reason[BD_SAMPLE_REASON_MAX];
} bd_error_sample;

typedef struct bd_samples {
    bd_error_sample s[BD_SAMPLE_KINDS][BD_SAMPLES_PER_KIND];
    unsigned n[BD_SAMPLE_KINDS];
} bd_samples;

void bd_samples_add(bd_samples *smp, bd_sample_kind kind, uint64_t line, const char *reason);
const char *bd_sample_kind_name(bd_sample_kind kind);
#endif
