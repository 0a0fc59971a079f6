/* delimited.h: internals shared by the files of the "delimited" format plugin (options, RFC 4180 row splitter). */
#ifndef BD_PLUGIN_DELIMITED_H
#define BD_PLUGIN_DELIMITED_H
#include "../common/name_parse.h"
#include <batchdrop/plugin.h>
#include <stddef.h>
#include <stdint.h>

#define DELIM_PLUGIN_NAME "delimited"

/* Plugin-private bd_file_info.flags bits set by parse_name() for open() (the host never reads flags):
 * the name ends in .tsv / .csv (before .gz/.zst), which picks the default delimiter. */
#define DELIM_F_TSV_NAME 0x10000
#define DELIM_F_CSV_NAME 0x20000

/* Longest trait or DPID number: 18 digits always fit in an int64_t. */
#define DELIM_DIGITS_MAX 18
/* Highest column number an option may give. */
#define DELIM_COLUMN_MAX 100000
#define DELIM_NO_QUOTE (-1)

/* How a line is cut into fields. */
typedef struct delim_syntax {
    char delimiter;
    int quote; /* the quote byte, or DELIM_NO_QUOTE */
    int trim;  /* strip spaces around unquoted fields (not when the delimiter is a space) */
} delim_syntax;

/* The fields of one line.  Unquoted fields point into the line, quoted ones into `scratch`
 * (their "" escapes undone); both stay valid until the next delim_split() on this struct. */
typedef struct delim_fields {
    text_span *v;
    size_t n, capacity;
    char *scratch;
    size_t scratch_capacity;
} delim_fields;

enum { DELIM_OK = 0, DELIM_FORMAT_ERROR = -1, DELIM_NO_MEMORY = -2 };

/* Cut one line (RFC 4180 quoting, no quoted line breaks) into fields.  Returns DELIM_OK,
 * DELIM_FORMAT_ERROR with a reason ("unterminated quote in column 3"), or DELIM_NO_MEMORY. */
int delim_split(const delim_syntax *syn, const char *line, size_t len, delim_fields *out, char *reason,
                size_t reasonlen);
void delim_fields_free(delim_fields *f);

/* ---------------------------------------------------------------- options */

/* A column option: a 1-based number, or a header name resolved at the header line. */
typedef struct delim_column {
    const char *option; /* "id_column", ... */
    size_t index;       /* 1-based; 0 = unset (optional column) or not yet resolved */
    char *name;         /* header name to resolve, or NULL */
} delim_column;

enum { COL_ID = 0, COL_SEGMENTS, COL_REMOVED, COL_DPID, COL_COUNT };

/* Everything the options say, checked. */
typedef struct delim_options {
    delim_syntax syntax;
    char segment_separator;
    int header;      /* skip (and read the names of) the first line */
    int64_t dpid;    /* fixed DPID of every user ID, BD_NO_VALUE when unset */
    int overwrite;   /* the file is a full (.overwrite) file: removals are ignored */
    delim_column col[COL_COUNT];
} delim_options;

/* Read and check every option through host->option; info gives the mode and the name's extension.
 * Returns 0, or -1 with "format option <name> = \"<value>\": why" in err.  Free with delim_options_free(). */
int delim_options_read(const bd_host_api *host, bd_host_ctx *ctx, const bd_file_info *info, delim_options *o,
                       char *err, size_t errlen);
void delim_options_free(delim_options *o);

/* 1 when some column option is a header name still to resolve. */
int delim_options_need_header(const delim_options *o);
/* Resolve the column names against the header fields.  Returns 0, or -1 with a reason. */
int delim_options_resolve(delim_options *o, const delim_fields *header, char *reason, size_t reasonlen);

#endif
