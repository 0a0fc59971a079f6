/* outbox.c: buffered, optionally zstd-compressed outbox writer with md5, line count and a .info control file. */
#include "config.h"
#include "outbox.h"
#include "fsutil.h"
#include "strutil.h"
#include "stage_pool.h"
#include "syncset.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define OUT_BUF (1 << 20)

struct bd_outbox_writer {
    const bd_config *cfg;
    char partner_dir[PATH_MAX];
    char tmp_data[PATH_MAX], tmp_info[PATH_MAX];
    int fd;
    char *buf; /* plain bytes waiting to be written or compressed */
    size_t used, cap;
    char *zbuf;
    size_t zcap;
    ZSTD_CCtx *zc;
    EVP_MD_CTX *md5;
    uint64_t bytes, lines;
    int failed;
};

static int write_out(bd_outbox_writer *w, const void *data, size_t len)
{
    if (bd_write_all(w->fd, data, len) < 0)
        return -1;
    w->bytes += len;
    return EVP_DigestUpdate(w->md5, data, len) == 1 ? 0 : (errno = EIO, -1);
}

static int compress_chunk(bd_outbox_writer *w, const void *data, size_t len, ZSTD_EndDirective mode)
{
    ZSTD_inBuffer in = {data, len, 0};
    size_t left;
    do {
        ZSTD_outBuffer out = {w->zbuf, w->zcap, 0};
        left = ZSTD_compressStream2(w->zc, &out, &in, mode);
        if (ZSTD_isError(left)) {
            errno = EIO;
            return -1;
        }
        if (out.pos && write_out(w, w->zbuf, out.pos) < 0)
            return -1;
    } while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
    return 0;
}

static int flush_buf(bd_outbox_writer *w, int last)
{
    int rc = 0;
    if (w->zc)
        rc = compress_chunk(w, w->buf, w->used, last ? ZSTD_e_end : ZSTD_e_continue);
    else if (w->used)
        rc = write_out(w, w->buf, w->used);
    w->used = 0;
    return rc;
}

static int setup_zstd(bd_outbox_writer *w)
{
    w->zc = ZSTD_createCCtx();
    w->zcap = ZSTD_CStreamOutSize();
    w->zbuf = malloc(w->zcap);
    if (!w->zc || !w->zbuf)
        return -1;
    if (ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, w->cfg->outbox_zstd_level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_checksumFlag, 1)))
        return -1;
    return 0;
}

static int open_temp(bd_outbox_writer *w, const char *partner, const char *claim_id, char *err, size_t errlen)
{
    char tmpdir[PATH_MAX];
    if (bd_path_join(w->partner_dir, sizeof w->partner_dir, w->cfg->outbox, partner) < 0 ||
        bd_path_join(tmpdir, sizeof tmpdir, w->partner_dir, ".tmp") < 0 ||
        /* the writer's pid too: a worker orphaned by a crash can never touch another's files */
        bd_fmt(w->tmp_data, sizeof w->tmp_data, "%s/%s.%ld.data", tmpdir, claim_id, (long)getpid()) < 0 ||
        bd_fmt(w->tmp_info, sizeof w->tmp_info, "%s/%s.%ld.info", tmpdir, claim_id, (long)getpid()) < 0) {
        snprintf(err, errlen, "outbox path too long");
        return -1;
    }
    if (bd_mkdir_p(tmpdir, 0750) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmpdir, strerror(errno));
        return -1;
    }
    w->fd = bd_stage_open(w->tmp_data, 0640);
    if (w->fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", w->tmp_data, strerror(errno));
        return -1;
    }
    return 0;
}

bd_outbox_writer *bd_outbox_open(const bd_config *cfg, const char *partner, const char *claim_id, char *err,
                                 size_t errlen)
{
    bd_outbox_writer *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->cfg = cfg;
    w->fd = -1;
    w->buf = malloc(OUT_BUF);
    w->cap = OUT_BUF;
    w->md5 = EVP_MD_CTX_new();
    if (!w->buf || !w->md5 || EVP_DigestInit_ex(w->md5, EVP_md5(), NULL) != 1 ||
        (cfg->outbox_compress == BD_OUT_ZSTD && setup_zstd(w) < 0)) {
        snprintf(err, errlen, "cannot set up the outbox writer (out of memory)");
        bd_outbox_free(w);
        return NULL;
    }
    if (open_temp(w, partner, claim_id, err, errlen) < 0) {
        bd_outbox_free(w);
        return NULL;
    }
    return w;
}

/* Decimal digits of v (a segment ID: never negative here, but handled) without printf: this runs per item. */
static size_t put_int(char *out, int64_t v)
{
    char tmp[24];
    size_t n = 0, o = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (v < 0)
        out[o++] = '-';
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (n)
        out[o++] = tmp[--n];
    return o;
}

static size_t format_list(char *out, const bd_segset *s)
{
    size_t o = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (i)
            out[o++] = ',';
        o += put_int(out + o, s->v[i]);
    }
    return o;
}

int bd_outbox_write_record(bd_outbox_writer *w, const char *ourid, const bd_segset *added,
                           const bd_segset *removed)
{
    size_t need = strlen(ourid) + 3 + (added->n + removed->n) * 21;
    if (w->used + need > w->cap && flush_buf(w, 0) < 0) {
        w->failed = errno ? errno : EIO;
        return -1;
    }
    if (need > w->cap) { /* a record with a huge list: grow the buffer for it */
        char *grown = realloc(w->buf, need);
        if (!grown) {
            w->failed = ENOMEM;
            return -1;
        }
        w->buf = grown;
        w->cap = need;
    }
    char *p = w->buf + w->used;
    size_t o = strlen(ourid);
    memcpy(p, ourid, o);
    p[o++] = ' ';
    o += format_list(p + o, added);
    p[o++] = ' ';
    o += format_list(p + o, removed);
    p[o++] = '\n';
    w->used += o;
    w->lines++;
    return 0;
}

/* The names hold the time in ms. Files of one batch are staged before any is published, so a worker never
 * hands out the same ms twice; a published name is seen by access(), and the names of the batch before, which
 * may still be staged while this one runs, are passed in (bd_outbox_names_after). */
static int64_t last_final_ms;

void bd_outbox_names_after(int64_t ms)
{
    if (ms > last_final_ms)
        last_final_ms = ms;
}

static int choose_final_names(bd_outbox_writer *w, const char *partner, int64_t dpid, int full,
                              bd_outbox_result *res)
{
    const char *ext = w->zc ? ".zst" : "";
    int64_t now = bd_now_ms();
    for (int64_t ms = now > last_final_ms ? now : last_final_ms + 1;; ms++) {
        last_final_ms = ms;
        char root[PATH_MAX], dpid_part[32] = "";
        if (dpid >= 0) /* generic formats may carry the DPID per record only */
            snprintf(dpid_part, sizeof dpid_part, "_%lld", (long long)dpid);
        if (bd_fmt(root, sizeof root, "%s/ftp_%s%s_%s_%013lld", w->partner_dir, partner, dpid_part,
                   full ? "full" : "iter", (long long)ms) < 0 ||
            bd_fmt(res->final_data, sizeof res->final_data, "%s.sync%s", root, ext) < 0 ||
            bd_fmt(res->final_info, sizeof res->final_info, "%s.info", root) < 0)
            return -1;
        if (access(res->final_data, F_OK) < 0 && access(res->final_info, F_OK) < 0) {
            res->name_ms = ms;
            return 0;
        }
    }
}

static char *info_json(const bd_outbox_result *res)
{
    json_t *file = json_pack("{s:I,s:I,s:s,s:i,s:s}", "FileByteSize", (json_int_t)res->bytes, "FileLineCount",
                             (json_int_t)res->lines, "FileName", bd_basename(res->final_data),
                             "FileSequenceNumber", 1, "md5", res->md5);
    json_t *info = json_pack("{s:[o],s:{s:s,s:I,s:i,s:I}}", "Files", file, "Totals", "FileName",
                             bd_basename(res->final_data), "TotalByteSize", (json_int_t)res->bytes,
                             "TotalNumberFiles", 1, "TotalNumberLines", (json_int_t)res->lines);
    if (!info)
        return NULL;
    char *s = json_dumps(info, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(info);
    return s;
}

/* The data is written out now and fsynced with the worker's other staged files (syncset) before the worker
 * reports any of them. */
static int sync_data(bd_outbox_writer *w, char *err, size_t errlen)
{
    if (flush_buf(w, 1) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", w->tmp_data, strerror(errno));
        return -1;
    }
    int fd = w->fd;
    w->fd = -1;
    if (bd_syncset_add(fd) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", w->tmp_data, strerror(errno));
        return -1;
    }
    return 0;
}

int bd_outbox_finish(bd_outbox_writer *w, int64_t dpid, int full, bd_outbox_result *res, char *err,
                     size_t errlen)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (w->failed) {
        snprintf(err, errlen, "cannot write %s: %s", w->tmp_data, strerror(w->failed));
        return -1;
    }
    if (sync_data(w, err, errlen) < 0)
        return -1;
    if (EVP_DigestFinal_ex(w->md5, md, &mdlen) != 1) {
        snprintf(err, errlen, "md5 failed");
        return -1;
    }
    memset(res, 0, sizeof *res);
    bd_hex(res->md5, md, mdlen);
    res->bytes = w->bytes;
    res->lines = w->lines;
    snprintf(res->tmp_data, sizeof res->tmp_data, "%s", w->tmp_data);
    snprintf(res->tmp_info, sizeof res->tmp_info, "%s", w->tmp_info);
    if (choose_final_names(w, bd_basename(w->partner_dir), dpid, full, res) < 0) {
        snprintf(err, errlen, "outbox path too long");
        return -1;
    }
    char *info = info_json(res);
    if (!info || bd_syncset_write_file(w->tmp_info, info, strlen(info), 0640) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", w->tmp_info, info ? strerror(errno) : "out of memory");
        free(info);
        return -1;
    }
    free(info);
    return 0;
}

void bd_outbox_discard(bd_outbox_writer *w)
{
    if (!w)
        return;
    unlink(w->tmp_data);
    unlink(w->tmp_info);
    bd_outbox_free(w);
}

void bd_outbox_free(bd_outbox_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    free(w->buf);
    free(w->zbuf);
    ZSTD_freeCCtx(w->zc);
    EVP_MD_CTX_free(w->md5);
    free(w);
}
