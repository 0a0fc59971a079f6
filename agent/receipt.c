/* receipt.c: build the JSON receipt with jansson and append it durably to the receipts log. */
#include "config.h"
#include "receipt.h"
#include "fsutil.h"
#include "strutil.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void bd_samples_add(bd_samples *smp, bd_sample_kind kind, uint64_t line, const char *reason)
{
    if (kind >= BD_SAMPLE_KINDS || smp->n[kind] >= BD_SAMPLES_PER_KIND)
        return;
    bd_error_sample *s = &smp->s[kind][smp->n[kind]++];
    s->line = line;
    snprintf(s->reason, sizeof s->reason, "%s", reason);
}

const char *bd_sample_kind_name(bd_sample_kind kind)
{
    static const char *const names[BD_SAMPLE_KINDS] = {"format_errors", "invalid_ids", "no_match",
                                                       "segments_failed_validation", "lines_over_user_cap"};
    return kind < BD_SAMPLE_KINDS ? names[kind] : "?";
}

void bd_counters_add(bd_counters *to, const bd_counters *from)
{
    to->records_received += from->records_received;
    to->format_errors += from->format_errors;
    to->invalid_ids += from->invalid_ids;
    to->no_match += from->no_match;
    to->no_segment += from->no_segment;
    to->records_processed += from->records_processed;
    to->stored += from->stored;
    to->users += from->users;
    to->signals += from->signals;
    to->unused_signals += from->unused_signals;
    to->segments_realized += from->segments_realized;
    to->segments_removed += from->segments_removed;
    to->segments_failed_validation += from->segments_failed_validation;
    to->users_failed_validation += from->users_failed_validation;
    to->lines_too_long += from->lines_too_long;
    to->lines_over_user_cap += from->lines_over_user_cap;
    to->id_mappings += from->id_mappings;
}

void bd_counters_finish(bd_counters *c)
{
    /* `stored` is counted as records are written; by construction it equals
     * processed - format_errors - invalid_ids - no_match - no_segment. */
    c->records_processed = c->records_received - c->lines_over_user_cap;
}

/* Length of the UTF-8 sequence a lead byte starts, 1 for bytes that cannot lead one. */
static size_t utf8_seq_len(unsigned char c)
{
    return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
}

/* jansson wants UTF-8: replace every invalid byte of partner-supplied text with U+FFFD. */
static json_t *json_text(const char *s)
{
    size_t len = strlen(s);
    if (bd_valid_utf8(s, len))
        return json_stringn(s, len);
    char *clean = malloc(len * 3 + 1);
    if (!clean)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq_len((unsigned char)s[i]);
        if ((unsigned char)s[i] < 0x80 || (i + n <= len && n > 1 && bd_valid_utf8(s + i, n))) {
            memcpy(clean + o, s + i, n);
            o += n;
            i += n;
        } else {
            memcpy(clean + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    json_t *j = json_stringn(clean, o);
    free(clean);
    return j;
}

static int set_counters(json_t *o, const bd_counters *c)
{
    struct { const char *name; uint64_t v; } f[] = {
        {"records_received", c->records_received},
        {"format_errors", c->format_errors},
        {"invalid_ids", c->invalid_ids},
        {"no_match", c->no_match},
        {"no_segment", c->no_segment},
        {"records_processed", c->records_processed},
        {"stored", c->stored},
        {"users", c->users},
        {"signals", c->signals},
        {"unused_signals", c->unused_signals},
        {"segments_realized", c->segments_realized},
        {"segments_removed", c->segments_removed},
        {"segments_failed_validation", c->segments_failed_validation},
        {"users_failed_validation", c->users_failed_validation},
        {"lines_too_long", c->lines_too_long},
        {"lines_over_user_cap", c->lines_over_user_cap},
        {"id_mappings", c->id_mappings},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (json_object_set_new(o, f[i].name, json_integer((json_int_t)f[i].v)) < 0)
            return -1;
    return 0;
}

static json_t *samples_json(const bd_samples *smp)
{
    json_t *errs = json_object();
    for (int k = 0; errs && k < BD_SAMPLE_KINDS; k++) {
        if (!smp->n[k])
            continue;
        json_t *arr = json_array();
        for (unsigned i = 0; arr && i < smp->n[k]; i++) {
            json_t *e = json_pack("{s:I,s:o}", "line", (json_int_t)smp->s[k][i].line, "reason",
                                  json_text(smp->s[k][i].reason));
            if (!e || json_array_append_new(arr, e) < 0) {
                json_decref(arr);
                arr = NULL;
            }
        }
        if (!arr || json_object_set_new(errs, bd_sample_kind_name((bd_sample_kind)k), arr) < 0) {
            json_decref(errs);
            return NULL;
        }
    }
    return errs;
}

static int set_text(json_t *o, const char *key, const char *value)
{
    return json_object_set_new(o, key, json_text(value ? value : ""));
}

static json_t *receipt_json(const bd_receipt *r)
{
    char started[40], finished[40];
    bd_format_iso8601(started, sizeof started, r->started_ms);
    bd_format_iso8601(finished, sizeof finished, r->finished_ms);
    json_t *o = json_object();
    json_t *outbox = json_array();
    if (!o || !outbox) {
        json_decref(o);
        json_decref(outbox);
        return NULL;
    }
    for (int i = 0; i < r->noutbox; i++)
        json_array_append_new(outbox, json_text(r->outbox[i]));
    int rc = set_text(o, "file", r->file) | set_text(o, "partner", r->partner) | set_text(o, "source", r->source) |
             json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes)) |
             set_text(o, "sha256", r->sha256) | set_text(o, "compression", r->compression) |
             set_text(o, "format", r->format) | set_text(o, "kind", r->kind) | set_text(o, "status", r->status) |
             set_text(o, "reason", r->reason) | set_counters(o, &r->c) |
             json_object_set_new(o, "errors", samples_json(&r->samples)) |
             json_object_set_new(o, "outbox", outbox) | set_text(o, "started", started) |
             set_text(o, "finished", finished) | set_text(o, "id", r->id) | set_text(o, "agent", r->agent);
    if (rc == 0 && r->duplicate_of[0])
        rc = set_text(o, "duplicate_of", r->duplicate_of);
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static char *dump(const bd_receipt *r, size_t flags, int newline)
{
    json_t *o = receipt_json(r);
    if (!o)
        return NULL;
    char *s = json_dumps(o, flags | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s || !newline)
        return s;
    size_t n = strlen(s);
    char *line = realloc(s, n + 2);
    if (!line) {
        free(s);
        return NULL;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    return line;
}

char *bd_receipt_json_line(const bd_receipt *r)
{
    return dump(r, JSON_COMPACT, 1);
}

char *bd_receipt_json_pretty(const bd_receipt *r)
{
    return dump(r, JSON_INDENT(2), 1);
}

int bd_receipt_write(const char *log_path, const char *line)
{
    int created = access(log_path, F_OK) < 0;
    int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    int rc = bd_write_all(fd, line, strlen(line));
    int saved = errno;
    if (close(fd) < 0 && rc == 0)
        return -1;
    errno = saved;
    if (rc == 0 && created)
        rc = bd_fsync_parent(log_path);
    return rc;
}

int bd_receipt_sync(const char *log_path)
{
    int fd = open(log_path, O_WRONLY | O_APPEND | O_CLOEXEC);
    return fd < 0 ? -1 : bd_fdatasync_close(fd);
}
