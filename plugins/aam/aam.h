/* aam.h: internals shared by the files of the "aam" format plugin (file names, row tokenizer, plugin glue). */
#ifndef BD_PLUGIN_AAM_H
#define BD_PLUGIN_AAM_H
#include "../common/name_parse.h"
#include <batchdrop/plugin.h>
#include <stddef.h>
#include <stdint.h>

/* Longest trait ID: 18 digits always fit in an int64_t. */
#define AAM_TRAIT_DIGITS_MAX 18

/* How the row tokenizer reads a line. */
typedef struct aam_row_rules {
    int odc;             /* <ID type><TAB><user ID><TAB><items> instead of <user ID><TAB><items> */
    int bare_are_traits; /* a bare number is an ADD trait ID, not an "ic" signal */
    int overwrite;       /* .overwrite file: removals are dropped (counted, not emitted) */
} aam_row_rules;

/* One tokenized line.  Spans and item strings point into the line; the items
 * array is reused from line to line (aam_row_free() releases it). */
typedef struct aam_row {
    text_span id_type; /* ODC only */
    text_span user_id;
    bd_item *items;
    size_t nitems;
    size_t capacity;
    size_t dropped_removals; /* removals this line had in an .overwrite file */
    int quote_free;          /* the item list holds no quote mark: items split and trim without a quote scan */
} aam_row;

enum { AAM_ROW_OK = 0, AAM_ROW_FORMAT_ERROR = -1, AAM_ROW_NO_MEMORY = -2 };

/* Validate an ftp_dpm_ file name and fill *info (plugin.h parse_name contract). */
int aam_parse_name(const char *name, bd_file_info *info, char *err, size_t errlen);

/* Tokenize one line (spec §3, §10, §11 item 4).  Returns AAM_ROW_OK,
 * AAM_ROW_FORMAT_ERROR with a reason, or AAM_ROW_NO_MEMORY. */
int aam_row_parse(const aam_row_rules *rules, const char *line, size_t len, aam_row *row, char *reason,
                  size_t reasonlen);
void aam_row_free(aam_row *row);

#endif
