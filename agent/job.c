/* job.c: process one claimed file: choose the plugin, stream-decode, feed lines, stage outbox or ID-sync writes. */
#include "config.h"
#include "job.h"
#include "fsutil.h"
#include "host_api.h"
#include "lines.h"
#include "log.h"
#include "strutil.h"
#include <errno.h>
#include <openssl/evp.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

__attribute__((format(printf, 3, 4))) static void finish_as(bd_job *j, bd_job_outcome outcome, const char *fmt,
                                                            ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->r.reason, sizeof j->r.reason, fmt, ap);
    va_end(ap);
    j->outcome = outcome;
    j->r.status = outcome == BD_JOB_OK ? BD_STATUS_OK : outcome == BD_JOB_REJECTED ? BD_STATUS_REJECTED
                                                                                     : BD_STATUS_FAILED;
}

void bd_job_fail(bd_job *j, bd_job_outcome outcome, const char *reason)
{
    finish_as(j, outcome, "%s", reason);
}

static const bd_loaded_plugin *choose_plugin(bd_job *j)
{
    const char *forced = j->force_format ? j->force_format : j->partner->format;
    if (forced) {
        const bd_loaded_plugin *lp = bd_plugins_find(j->plugins, forced);
        if (!lp)
            finish_as(j, BD_JOB_RETRY, "format plugin '%s' (set for partner %s) is not loaded from %s", forced,
                      j->partner->name, j->cfg->plugin_dir);
        return lp;
    }
    const bd_loaded_plugin *lp = bd_plugins_choose(j->plugins, j->name, NULL, 0);
    if (!lp) {
        char known[1024];
        bd_plugins_patterns(j->plugins, known, sizeof known);
        finish_as(j, BD_JOB_REJECTED, "file name '%s' is not claimed by any format plugin (%s)", j->name,
                  known[0] ? known : "no plugins loaded");
    }
    return lp;
}

static int check_name(bd_job *j)
{
    char err[512] = "";
    memset(&j->info, 0, sizeof j->info);
    j->info.struct_size = sizeof j->info;
    j->info.split = j->info.target = j->info.timestamp = BD_NO_VALUE;
    if (j->plugin->desc->parse_name(j->name, &j->info, err, sizeof err) < 0) {
        finish_as(j, BD_JOB_REJECTED, "%s", err[0] ? err : "file name rejected by the format plugin");
        return -1;
    }
    if (j->info.kind != BD_FILE_TRAITS && j->info.kind != BD_FILE_IDSYNC) {
        finish_as(j, BD_JOB_RETRY, "plugin %s returned unknown file kind %d", j->plugin->desc->name,
                  j->info.kind);
        return -1;
    }
    if (j->info.kind == BD_FILE_IDSYNC && (j->info.ndpids < 2 || j->info.ndpids > BD_MAX_DPIDS)) {
        finish_as(j, BD_JOB_REJECTED, "ID-sync file name must name 2 to %d DPIDs", BD_MAX_DPIDS);
        return -1;
    }
    snprintf(j->r.kind, sizeof j->r.kind, "%s", j->info.kind == BD_FILE_TRAITS ? "traits" : "idsync");
    return 0;
}

static int open_input(bd_job *j, int *fd)
{
    struct stat st;
    /* The supervisor may have opened the file for a worker that runs as another user. */
    *fd = j->input_fd > 0 ? j->input_fd : bd_open_regular(j->path); /* ours to close (a worker's copy) */
    if (*fd < 0 && (errno == EACCES || errno == EPERM)) {
        finish_as(j, BD_JOB_REJECTED, "cannot read the file: %s (the agent's user needs read access: check the "
                  "partner's upload umask or the inbox's group)", strerror(errno));
        return -1;
    }
    if (*fd < 0 && errno == ENOENT) {
        finish_as(j, BD_JOB_FAILED, "the claimed file is gone: something deleted it from the claim folder before "
                  "it could be read");
        return -1;
    }
    if (*fd < 0 && (errno == ELOOP || errno == EINVAL)) {
        finish_as(j, BD_JOB_REJECTED, "not a regular file (a symbolic link, FIFO or folder took its place)");
        return -1;
    }
    if (*fd < 0 || fstat(*fd, &st) < 0) {
        finish_as(j, BD_JOB_RETRY, "cannot open %s: %s", j->path, strerror(errno));
        return -1;
    }
    j->r.bytes = (uint64_t)st.st_size;
    if (!S_ISREG(st.st_mode)) {
        finish_as(j, BD_JOB_REJECTED, "not a regular file");
        return -1;
    }
    if (j->r.bytes > j->cfg->max_file_size) {
        finish_as(j, BD_JOB_REJECTED, "file is %llu bytes, over max_file_size (%llu)",
                  (unsigned long long)j->r.bytes, (unsigned long long)j->cfg->max_file_size);
        return -1;
    }
    bd_decode_limits lim = {.max_input = j->cfg->max_file_size, .max_output = j->cfg->max_decoded_size};
    if (bd_decoder_open(&j->dec, *fd, &lim, 1) < 0) {
        finish_as(j, BD_JOB_RETRY, "cannot set up the decoder: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int setup_outputs(bd_job *j)
{
    char err[512];
    j->per_user = bd_idcount_new(1);
    j->users = bd_idcount_new(0);
    if (!j->per_user || !j->users) {
        finish_as(j, BD_JOB_RETRY, "out of memory");
        return -1;
    }
    int traits = j->info.kind == BD_FILE_TRAITS;
    if (traits && j->ms && j->partner->ids == BD_IDS_PARTNER && !(j->reader = bd_matchreader_open(j->ms, err, sizeof err))) {
        finish_as(j, BD_JOB_RETRY, "%s", err);
        return -1;
    }
    if (j->reader) {
        size_t want = bd_matchreader_batch_hint(j->reader);
        bd_lookup_batch_size_for(&j->lookups, want, j->cfg->plugin_memory_limit);
        bd_lookup_batch_size_for(&j->handed, want, j->cfg->plugin_memory_limit);
        log_debug("partner %s: file %s: match store lookups read the %s, in batches of up to %zu", j->partner->name,
                  j->name, bd_matchreader_source(j->reader), j->lookups.max_records);
    }
    if (j->dry_run)
        return 0;
    if (traits && !(j->writer = bd_outbox_open(j->cfg, j->partner->name, j->r.id, err, sizeof err))) {
        finish_as(j, BD_JOB_RETRY, "%s", err);
        return -1;
    }
    if (!traits && !(j->batch = bd_matchbatch_begin(j->ms, err, sizeof err))) {
        finish_as(j, BD_JOB_RETRY, "%s", err);
        return -1;
    }
    return 0;
}

static int is_blank(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t')
            return 0;
    return 1;
}

static void count_bad_line(bd_job *j, uint64_t lineno, const char *why)
{
    j->r.c.records_received++;
    j->r.c.format_errors++;
    bd_samples_add(&j->r.samples, BD_SAMPLE_FORMAT, lineno, why);
}

/* Feed every line to the plugin. Returns 0 at the end of the stream, -1 when the job is over. */
static int feed_lines(bd_job *j, void *state)
{
    bd_lines *lines;
    if (bd_lines_open(&lines, j->dec, j->cfg->max_line_length) < 0) {
        finish_as(j, BD_JOB_RETRY, "out of memory");
        return -1;
    }
    const char *line;
    size_t len;
    uint64_t lineno;
    bd_line_result lr;
    char why[128];
    while ((lr = bd_lines_next(lines, &line, &len, &lineno)) > 0) {
        if (lr == BD_LINE_TOO_LONG) {
            j->r.c.lines_too_long++;
            snprintf(why, sizeof why, "line longer than %zu bytes; dropped", j->cfg->max_line_length);
            count_bad_line(j, lineno, why);
        } else if (is_blank(line, len)) {
            continue;
        } else if (!bd_valid_utf8(line, len)) {
            count_bad_line(j, lineno, "line is not valid UTF-8 (or holds a NUL byte); files must be ASCII or UTF-8");
        } else {
            j->r.c.records_received++;
            if (j->progress)
                *j->progress = lineno;
            if (j->plugin->desc->line(state, lineno, line, len) < 0 || j->host_stop)
                break;
        }
    }
    bd_lines_free(lines);
    if (j->host_stop) {
        finish_as(j, BD_JOB_RETRY, "%s", j->host_error);
        return -1;
    }
    if (lr > 0) {
        finish_as(j, BD_JOB_REJECTED, "plugin %s gave up at line %llu", j->plugin->desc->name,
                  (unsigned long long)lineno);
        return -1;
    }
    return lr == BD_LINE_EOF ? 0 : -1;
}

static void classify_decode_error(bd_job *j)
{
    const char *why = bd_decoder_error(j->dec);
    switch (bd_decoder_status(j->dec)) {
    case BD_DEC_TRUNCATED:
        if (j->truncated_is_final == BD_TRUNC_RENAMED)
            finish_as(j, BD_JOB_REJECTED, "%s; the file was renamed into the inbox, which marks an upload as "
                      "finished: the partner sent it cut", why);
        else if (j->truncated_is_final)
            finish_as(j, BD_JOB_REJECTED, "%s; the file stayed incomplete for incomplete_timeout (%.0f s)", why,
                      j->cfg->incomplete_timeout);
        else
            finish_as(j, BD_JOB_INCOMPLETE, "%s", why);
        break;
    case BD_DEC_IO: finish_as(j, BD_JOB_RETRY, "%s", why); break;
    default: finish_as(j, BD_JOB_REJECTED, "%s", why); break;
    }
}

static int parse_content(bd_job *j)
{
    char err[512] = "";
    void *state = NULL;
    if (j->plugin->desc->open(bd_host_api_table(), bd_host_ctx_of(j), &j->info, &state, err, sizeof err) < 0) {
        finish_as(j, BD_JOB_REJECTED, "plugin %s refused the file: %s", j->plugin->desc->name, err);
        return -1;
    }
    int rc = feed_lines(j, state);
    if (rc == 0 && j->plugin->desc->finish(state, err, sizeof err) < 0) {
        finish_as(j, BD_JOB_REJECTED, "plugin %s: %s", j->plugin->desc->name, err);
        rc = -1;
    }
    if (rc == 0 && bd_host_flush(j) < 0) { /* the records still waiting for their lookup */
        finish_as(j, BD_JOB_RETRY, "%s", j->host_error);
        rc = -1;
    }
    j->plugin->desc->close(state);
    if (rc < 0 && j->outcome == BD_JOB_OK && bd_decoder_status(j->dec) != BD_DEC_OK)
        classify_decode_error(j);
    return rc;
}

static int judge_content(bd_job *j)
{
    const bd_counters *c = &j->r.c;
    if (c->records_received == 0) {
        finish_as(j, BD_JOB_REJECTED, "empty file: no records");
        return -1;
    }
    if (c->lines_too_long == c->records_received) {
        finish_as(j, BD_JOB_REJECTED, "every line is longer than max_line_length (%zu bytes): %llu line(s) dropped",
                  j->cfg->max_line_length, (unsigned long long)c->lines_too_long);
        return -1;
    }
    if (c->format_errors == c->records_received) {
        finish_as(j, BD_JOB_REJECTED, "no line could be parsed (%llu format errors); is this a %s file?",
                  (unsigned long long)c->format_errors, j->plugin->desc->name);
        return -1;
    }
    return 0;
}

static int stage_outbox(bd_job *j)
{
    char err[512];
    if (!j->writer)
        return 0;
    if (bd_outbox_finish(j->writer, j->info.dpid, j->info.mode == BD_MODE_OVERWRITE, &j->out, err, sizeof err) <
        0) {
        finish_as(j, BD_JOB_RETRY, "%s", err);
        return -1;
    }
    j->has_outbox = 1;
    snprintf(j->r.outbox[0], sizeof j->r.outbox[0], "%s", j->out.final_data);
    snprintf(j->r.outbox[1], sizeof j->r.outbox[1], "%s", j->out.final_info);
    j->r.noutbox = 2;
    return 0;
}

static void run_steps(bd_job *j, int fd)
{
    if (!(j->plugin = choose_plugin(j)))
        return;
    snprintf(j->r.format, sizeof j->r.format, "%s", j->plugin->desc->name);
    if (check_name(j) < 0 || setup_outputs(j) < 0)
        return;
    (void)fd;
    if (parse_content(j) < 0)
        return;
    bd_counters_finish(&j->r.c);
    j->r.c.users = bd_idcount_distinct(j->users);
    if (judge_content(j) < 0)
        return;
    if (bd_decoder_sha256_hex(j->dec, j->r.sha256) < 0) {
        finish_as(j, BD_JOB_RETRY, "sha256 failed");
        return;
    }
    if (!j->dry_run && stage_outbox(j) < 0)
        return;
    finish_as(j, BD_JOB_OK, "%s", "");
}

static void hash_whole_file(bd_job *j, int fd)
{
    /* Rejected before the stream was read through: still record what was received. */
    if (fd < 0 || j->r.sha256[0])
        return;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char buf[65536], digest[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    off_t off = 0;
    ssize_t n = 0;
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        goto out;
    while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
        if (EVP_DigestUpdate(md, buf, (size_t)n) != 1)
            goto out;
        off += n;
    }
    if (n == 0 && EVP_DigestFinal_ex(md, digest, &dlen) == 1)
        bd_hex(j->r.sha256, digest, dlen);
out:
    EVP_MD_CTX_free(md);
}

void bd_job_run(bd_job *j)
{
    int fd = -1;
    j->r.started_ms = bd_now_ms();
    j->outcome = BD_JOB_OK;
    if (open_input(j, &fd) == 0) {
        snprintf(j->r.compression, sizeof j->r.compression, "%s",
                 bd_compression_name(bd_decoder_compression(j->dec)));
        run_steps(j, fd);
    }
    if (j->outcome == BD_JOB_REJECTED)
        hash_whole_file(j, fd);
    j->r.finished_ms = bd_now_ms();
    if (fd >= 0)
        close(fd);
    j->input_fd = 0; /* a descriptor given with the job was its own: closed above */
}

void bd_job_hash_input(bd_job *j)
{
    int fd = open(j->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) == 0)
        j->r.bytes = (uint64_t)st.st_size;
    hash_whole_file(j, fd);
    close(fd);
}

void bd_job_cleanup(bd_job *j, int keep_outputs)
{
    bd_host_stop_lookups(j); /* the helper thread may still write with the job's writer */
    if (keep_outputs)
        bd_outbox_free(j->writer);
    else
        bd_outbox_discard(j->writer);
    j->writer = NULL;
    if (!keep_outputs) {
        bd_matchbatch_abort(j->batch);
        j->batch = NULL;
    }
    bd_matchreader_close(j->reader);
    j->reader = NULL;
    bd_decoder_free(j->dec);
    j->dec = NULL;
    bd_idcount_free(j->per_user);
    bd_idcount_free(j->users);
    j->per_user = j->users = NULL;
    bd_realized_free(&j->realized);
    bd_lookup_batch_free(&j->lookups);
    bd_lookup_batch_free(&j->handed);
}

void bd_job_discard_staged(bd_job *j)
{
    if (!j->has_outbox)
        return;
    unlink(j->out.tmp_data);
    unlink(j->out.tmp_info);
    j->has_outbox = 0;
}
