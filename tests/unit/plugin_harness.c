/* plugin_harness.c: test host for format plugins: dlopen, a recording bd_host_api, line feeding like the daemon. */
#include "plugin_harness.h"
#include "test_util.h"
#include <dlfcn.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- memory */

/* Room for `count` elements of `size` bytes. */
static void *xgrow(void *v, size_t count, size_t size)
{
    return xrealloc(v, count * size);
}

static char *copy_bytes(const char *p, size_t n)
{
    char *s = xmalloc(n + 1);
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* ---------------------------------------------------------------- contract checks */

static void violation(ph_host *h, const char *what)
{
    if (h->violations++ == 0)
        snprintf(h->first_violation, sizeof h->first_violation, "line %llu: %s",
                 (unsigned long long)h->current_line, what);
}

/* Note a breach and answer "not well formed". */
static int breach(ph_host *h, const char *what)
{
    violation(h, what);
    return 0;
}

static int item_is_well_formed(const bd_item *it)
{
    if (it->kind == BD_ITEM_ADD || it->kind == BD_ITEM_REMOVE)
        return it->trait >= 0;
    if (it->kind == BD_ITEM_SIGNAL)
        return it->key && it->key_len > 0 && it->value;
    return 0;
}

static int record_is_well_formed(ph_host *h, const bd_record *rec)
{
    if (!rec || rec->struct_size != sizeof(bd_record))
        return breach(h, "emit_record: NULL record or wrong struct_size");
    if (rec->line != h->current_line)
        return breach(h, "emit_record: record carries another line number");
    if (!rec->user_id || rec->user_id_len == 0)
        return breach(h, "emit_record: empty user ID");
    if (rec->nitems && !rec->items)
        return breach(h, "emit_record: nitems > 0 but items is NULL");
    for (size_t i = 0; i < rec->nitems; i++)
        if (!item_is_well_formed(&rec->items[i]))
            return breach(h, "emit_record: malformed item");
    return 1;
}

static int row_is_well_formed(ph_host *h, const bd_idsync_row *row)
{
    if (!row || row->struct_size != sizeof(bd_idsync_row))
        return breach(h, "emit_idsync: NULL row or wrong struct_size");
    if (row->line != h->current_line)
        return breach(h, "emit_idsync: row carries another line number");
    if (row->ncols == 0 || !row->cols || !row->col_lens)
        return breach(h, "emit_idsync: no columns");
    for (size_t i = 0; i < row->ncols; i++)
        if (!row->cols[i])
            return breach(h, "emit_idsync: NULL column");
    return 1;
}

/* ---------------------------------------------------------------- the recording host API */

static int spend_emit_budget(ph_host *h)
{
    if (h->emit_budget < 0)
        return 0;
    if (h->emit_budget == 0)
        return -1;
    h->emit_budget--;
    return 0;
}

static void copy_item(ph_item *to, const bd_item *from)
{
    memset(to, 0, sizeof *to);
    to->kind = from->kind;
    to->trait = from->trait;
    if (from->kind == BD_ITEM_SIGNAL) {
        to->key = copy_bytes(from->key, from->key_len);
        to->key_len = from->key_len;
        to->value = copy_bytes(from->value, from->value_len);
        to->value_len = from->value_len;
    }
}

static int record_emit_record(bd_host_ctx *h, const bd_record *rec)
{
    if (!record_is_well_formed(h, rec))
        return 0;
    if (spend_emit_budget(h) < 0)
        return -1;
    h->records = xgrow(h->records, h->nrecords + 1, sizeof *h->records);
    ph_record *r = &h->records[h->nrecords++];
    r->line = rec->line;
    r->user_id = copy_bytes(rec->user_id, rec->user_id_len);
    r->user_id_len = rec->user_id_len;
    r->nitems = rec->nitems;
    r->flags = rec->struct_size >= offsetof(bd_record, spare) ? rec->flags : 0;
    r->dpid = (r->flags & BD_RECORD_F_DPID) ? rec->dpid : BD_NO_VALUE;
    r->items = xmalloc(rec->nitems * sizeof *r->items);
    for (size_t i = 0; i < rec->nitems; i++)
        copy_item(&r->items[i], &rec->items[i]);
    return 0;
}

static int record_emit_idsync(bd_host_ctx *h, const bd_idsync_row *row)
{
    if (!row_is_well_formed(h, row))
        return 0;
    if (spend_emit_budget(h) < 0)
        return -1;
    h->rows = xgrow(h->rows, h->nrows + 1, sizeof *h->rows);
    ph_idsync_row *r = &h->rows[h->nrows++];
    r->line = row->line;
    r->ncols = row->ncols;
    r->cols = xmalloc(row->ncols * sizeof *r->cols);
    r->col_lens = xmalloc(row->ncols * sizeof *r->col_lens);
    for (size_t i = 0; i < row->ncols; i++) {
        r->cols[i] = copy_bytes(row->cols[i], row->col_lens[i]);
        r->col_lens[i] = row->col_lens[i];
    }
    return 0;
}

static void record_line_error(bd_host_ctx *h, uint64_t line, int kind, const char *reason)
{
    if (line != h->current_line)
        violation(h, "line_error: another line number than the line being fed");
    if (kind != BD_ERR_FORMAT && kind != BD_ERR_INVALID_ID && kind != BD_ERR_OTHER)
        violation(h, "line_error: unknown kind");
    if (!reason || !*reason || strchr(reason, '\n'))
        violation(h, "line_error: reason missing, empty or multi-line");
    h->errors = xgrow(h->errors, h->nerrors + 1, sizeof *h->errors);
    ph_line_error *e = &h->errors[h->nerrors++];
    e->line = line;
    e->kind = kind;
    e->reason = copy_bytes(reason ? reason : "", reason ? strlen(reason) : 0);
}

BD_PRINTF(3, 4) static void record_log(bd_host_ctx *h, int level, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    h->logs = xgrow(h->logs, h->nlogs + 1, sizeof *h->logs);
    h->logs[h->nlogs].level = level;
    h->logs[h->nlogs].text = copy_bytes(text, strlen(text));
    h->nlogs++;
}

static const char *lookup_option(bd_host_ctx *h, const char *key)
{
    for (size_t i = 0; i < h->noptions; i++)
        if (strcmp(h->option_keys[i], key) == 0)
            return h->option_values[i];
    return NULL;
}

void ph_host_init(ph_host *h)
{
    memset(h, 0, sizeof *h);
    h->api.struct_size = sizeof h->api;
    h->api.abi_major = BD_PLUGIN_ABI_MAJOR;
    h->api.abi_minor = BD_PLUGIN_ABI_MINOR;
    h->api.emit_record = record_emit_record;
    h->api.emit_idsync = record_emit_idsync;
    h->api.line_error = record_line_error;
    h->api.log = record_log;
    h->api.option = lookup_option;
    h->emit_budget = -1;
}

static void free_record(ph_record *r)
{
    for (size_t i = 0; i < r->nitems; i++) {
        free(r->items[i].key);
        free(r->items[i].value);
    }
    free(r->items);
    free(r->user_id);
}

static void free_row(ph_idsync_row *r)
{
    for (size_t i = 0; i < r->ncols; i++)
        free(r->cols[i]);
    free(r->cols);
    free(r->col_lens);
}

void ph_host_clear(ph_host *h)
{
    for (size_t i = 0; i < h->nrecords; i++)
        free_record(&h->records[i]);
    for (size_t i = 0; i < h->nrows; i++)
        free_row(&h->rows[i]);
    for (size_t i = 0; i < h->nerrors; i++)
        free(h->errors[i].reason);
    for (size_t i = 0; i < h->nlogs; i++)
        free(h->logs[i].text);
    free(h->records);
    free(h->rows);
    free(h->errors);
    free(h->logs);
    h->records = NULL;
    h->rows = NULL;
    h->errors = NULL;
    h->logs = NULL;
    h->nrecords = h->nrows = h->nerrors = h->nlogs = 0;
    h->violations = 0;
    h->first_violation[0] = '\0';
    h->current_line = 0;
}

void ph_host_free(ph_host *h)
{
    ph_host_clear(h);
    h->noptions = 0;
}

void ph_host_set_option(ph_host *h, const char *key, const char *value)
{
    for (size_t i = 0; i < h->noptions; i++)
        if (strcmp(h->option_keys[i], key) == 0) {
            h->option_values[i] = value;
            return;
        }
    if (h->noptions == PH_MAX_OPTIONS) {
        fprintf(stderr, "plugin_harness: too many options\n");
        abort();
    }
    h->option_keys[h->noptions] = key;
    h->option_values[h->noptions++] = value;
}

void ph_host_clear_options(ph_host *h)
{
    h->noptions = 0;
}

/* ---------------------------------------------------------------- loading */

static int abi_problem(const bd_plugin *d, char *err, size_t errlen)
{
    if (!d)
        snprintf(err, errlen, "entry point returned NULL");
    else if (d->abi_major != BD_PLUGIN_ABI_MAJOR || d->abi_minor > BD_PLUGIN_ABI_MINOR)
        snprintf(err, errlen, "ABI %u.%u, host has %d.%d", d->abi_major, d->abi_minor, BD_PLUGIN_ABI_MAJOR,
                 BD_PLUGIN_ABI_MINOR);
    else if (d->struct_size != sizeof(bd_plugin))
        snprintf(err, errlen, "descriptor struct_size %u, expected %zu", d->struct_size, sizeof(bd_plugin));
    else if (!d->name || !*d->name || !d->patterns || !d->patterns[0])
        snprintf(err, errlen, "descriptor lacks a name or patterns");
    else if (!d->parse_name || !d->open || !d->line || !d->finish || !d->close)
        snprintf(err, errlen, "descriptor lacks a required callback");
    else
        return 0;
    return -1;
}

int ph_plugin_load(ph_plugin *p, const char *file)
{
    char path[4096];
    const char *dir = getenv("BD_PLUGIN_DIR");
    memset(p, 0, sizeof *p);
    if (!dir || !*dir) {
        snprintf(p->error, sizeof p->error, "BD_PLUGIN_DIR is not set (it names the built plugins/.libs)");
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s", dir, file);
    p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!p->handle) {
        snprintf(p->error, sizeof p->error, "dlopen %.200s: %.280s", path, dlerror());
        return -1;
    }
    bd_plugin_entry_fn entry;
    *(void **)&entry = dlsym(p->handle, BD_PLUGIN_ENTRY_SYMBOL);
    p->desc = entry ? entry() : NULL;
    if (!entry || abi_problem(p->desc, p->error, sizeof p->error) < 0) {
        if (!entry)
            snprintf(p->error, sizeof p->error, "%.400s: no %s symbol", path, BD_PLUGIN_ENTRY_SYMBOL);
        ph_plugin_unload(p);
        return -1;
    }
    return 0;
}

void ph_plugin_unload(ph_plugin *p)
{
    if (p->handle)
        dlclose(p->handle);
    p->handle = NULL;
    p->desc = NULL;
}

/* ---------------------------------------------------------------- feeding */

int ph_parse_name(const bd_plugin *p, const char *name, bd_file_info *info, char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    err[0] = '\0';
    return p->parse_name(name, info, err, errlen);
}

/* Hand one line over in an allocation of exactly its size, so reading past it is caught. */
static int feed_line(const bd_plugin *p, void *state, ph_host *h, uint64_t lineno, const char *line, size_t len)
{
    char *copy = xmalloc(len);
    if (len)
        memcpy(copy, line, len);
    h->current_line = lineno;
    int rc = p->line(state, lineno, copy, len);
    free(copy);
    return rc;
}

/* Split like the daemon: LF, optional CR before it, unterminated last line, blank lines skipped. */
static int feed_lines(const bd_plugin *p, void *state, ph_host *h, const char *buf, size_t len, ph_run *run)
{
    const char *at = buf, *end = buf + len;
    uint64_t lineno = 0;
    while (at < end) {
        const char *lf = memchr(at, '\n', (size_t)(end - at));
        const char *stop = lf ? lf : end;
        size_t n = (size_t)(stop - at);
        lineno++;
        if (n && at[n - 1] == '\r')
            n--;
        if (n) {
            run->lines_fed++;
            run->last_line = lineno;
            if (feed_line(p, state, h, lineno, at, n) < 0)
                return -1;
        }
        at = lf ? lf + 1 : end;
    }
    return 0;
}

int ph_feed_buffer(const bd_plugin *p, ph_host *h, const char *name, const char *buf, size_t len, ph_run *run)
{
    void *state = NULL;
    memset(run, 0, sizeof *run);
    if (ph_parse_name(p, name, &run->info, run->err, sizeof run->err) < 0)
        return run->outcome = PH_NAME_REJECTED;
    if (p->open(&h->api, h, &run->info, &state, run->err, sizeof run->err) < 0)
        return run->outcome = PH_OPEN_FAILED;
    run->outcome = PH_DONE;
    if (feed_lines(p, state, h, buf, len, run) < 0)
        run->outcome = PH_ABANDONED;
    else if (p->finish(state, run->err, sizeof run->err) < 0)
        run->outcome = PH_FINISH_FAILED;
    p->close(state);
    return run->outcome;
}

int ph_feed_string(const bd_plugin *p, ph_host *h, const char *name, const char *text, ph_run *run)
{
    return ph_feed_buffer(p, h, name, text, strlen(text), run);
}

static char *read_whole_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t used = 0, cap = 0;
    for (;;) {
        if (used == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = xgrow(buf, cap, 1);
        }
        size_t got = fread(buf + used, 1, cap - used, f);
        used += got;
        if (got == 0)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return NULL;
    }
    *len = used;
    return buf;
}

int ph_feed_file(const bd_plugin *p, ph_host *h, const char *dir, const char *name, ph_run *run)
{
    char path[4096];
    size_t len = 0;
    if (!dir)
        dir = getenv("BD_SPEC_SAMPLES");
    memset(run, 0, sizeof *run);
    if (!dir) {
        snprintf(run->err, sizeof run->err, "BD_SPEC_SAMPLES is not set");
        return run->outcome = PH_INPUT_MISSING;
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *buf = read_whole_file(path, &len);
    if (!buf) {
        snprintf(run->err, sizeof run->err, "cannot read %.480s", path);
        return run->outcome = PH_INPUT_MISSING;
    }
    int outcome = ph_feed_buffer(p, h, name, buf, len, run);
    free(buf);
    return outcome;
}

/* ---------------------------------------------------------------- lookups */

const ph_line_error *ph_error_on_line(const ph_host *h, uint64_t line)
{
    for (size_t i = 0; i < h->nerrors; i++)
        if (h->errors[i].line == line)
            return &h->errors[i];
    return NULL;
}

int ph_item_is_signal(const ph_record *rec, size_t index, const char *key, const char *value)
{
    if (!rec || index >= rec->nitems)
        return 0;
    const ph_item *it = &rec->items[index];
    return it->kind == BD_ITEM_SIGNAL && strcmp(it->key, key) == 0 && strcmp(it->value, value) == 0 &&
           it->key_len == strlen(key) && it->value_len == strlen(value);
}

int ph_item_is_trait(const ph_record *rec, size_t index, int kind, int64_t trait)
{
    if (!rec || index >= rec->nitems)
        return 0;
    return rec->items[index].kind == kind && rec->items[index].trait == trait;
}

int ph_log_contains(const ph_host *h, const char *needle)
{
    for (size_t i = 0; i < h->nlogs; i++)
        if (strstr(h->logs[i].text, needle))
            return 1;
    return 0;
}

const char *ph_reason_at(const ph_host *h, size_t i)
{
    return i < h->nerrors ? h->errors[i].reason : "(no error)";
}

int ph_reason_has(const ph_host *h, size_t i, const char *part)
{
    return i < h->nerrors && strstr(h->errors[i].reason, part) != NULL;
}

/* ---------------------------------------------------------------- probing one call */

int ph_try_open(const bd_plugin *p, const bd_host_api *api, ph_host *h, const bd_file_info *info, char *err,
                size_t errlen)
{
    void *state = NULL;
    int rc = p->open(api, h, info, &state, err, errlen);
    if (rc == 0)
        p->close(state);
    return rc;
}

void ph_refuse_name(const bd_plugin *p, const char *name, ph_refusal *r)
{
    bd_file_info info;
    char prefix[300];
    r->rc = ph_parse_name(p, name, &info, r->err, sizeof r->err);
    snprintf(prefix, sizeof prefix, "file name '%s': ", name);
    r->names_the_file = strncmp(r->err, prefix, strlen(prefix)) == 0;
}

/* ---------------------------------------------------------------- one plugin's test program */

int ph_fixture_open(ph_fixture *fx, const char *file)
{
    memset(fx, 0, sizeof *fx);
    if (ph_plugin_load(&fx->plugin, file) < 0)
        return -1;
    ph_host_init(&fx->host);
    return 0;
}

void ph_fixture_close(ph_fixture *fx)
{
    ph_host_free(&fx->host);
    ph_plugin_unload(&fx->plugin);
}

static void count_violations(ph_fixture *fx)
{
    if (fx->host.violations == 0)
        return;
    fx->violations += fx->host.violations;
    printf("# contract violation: %s\n", fx->host.first_violation);
}

int ph_fixture_feed(ph_fixture *fx, const char *name, const char *text)
{
    ph_host_clear(&fx->host);
    int outcome = ph_feed_string(fx->plugin.desc, &fx->host, name, text, &fx->run);
    count_violations(fx);
    return outcome;
}

int ph_fixture_feed_sample(ph_fixture *fx, const char *name)
{
    ph_host_clear(&fx->host);
    int outcome = ph_feed_file(fx->plugin.desc, &fx->host, NULL, name, &fx->run);
    count_violations(fx);
    return outcome;
}
