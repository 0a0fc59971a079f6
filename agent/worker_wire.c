/* worker_wire.c: a batch's files sent to a pre-forked worker over its socket: the job inputs, the input fd. */
#include "config.h"
#include "worker_wire.h"
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RECEIPT_FIELD(f) sizeof(((bd_receipt *)0)->f)

/* What the worker needs of a prepared job (the rest is the supervisor's, for the commit). */
typedef struct job_wire {
    int32_t partner; /* index in cfg->partners */
    int32_t truncated_is_final;
    int64_t started_ms, names_after_ms;
    char path[PATH_MAX], name[256];
    char id[RECEIPT_FIELD(id)], agent[RECEIPT_FIELD(agent)], file[RECEIPT_FIELD(file)];
    char partner_name[RECEIPT_FIELD(partner)], source[RECEIPT_FIELD(source)];
} job_wire;

static void encode(const bd_job *j, job_wire *w)
{
    memset(w, 0, sizeof *w);
    w->partner = (int32_t)(j->partner - j->cfg->partners);
    w->truncated_is_final = j->truncated_is_final;
    w->started_ms = j->r.started_ms;
    w->names_after_ms = j->names_after_ms;
    snprintf(w->path, sizeof w->path, "%s", j->path);
    snprintf(w->name, sizeof w->name, "%s", j->name);
    memcpy(w->id, j->r.id, sizeof w->id);
    memcpy(w->agent, j->r.agent, sizeof w->agent);
    memcpy(w->file, j->r.file, sizeof w->file);
    memcpy(w->partner_name, j->r.partner, sizeof w->partner_name);
    memcpy(w->source, j->r.source, sizeof w->source);
}

static int send_one(int sock, const void *buf, size_t len, int fd)
{
    struct iovec iov = {(void *)buf, len};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd > 0) {
        memset(&ctl, 0, sizeof ctl);
        msg.msg_control = ctl.buf;
        msg.msg_controllen = sizeof ctl.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    ssize_t n;
    while ((n = sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    if (n != (ssize_t)len) {
        if (n >= 0)
            errno = EMSGSIZE;
        return -1;
    }
    return 0;
}

int bd_wire_send_jobs(int sock, bd_job **jobs, int n)
{
    int32_t count = n;
    job_wire *w = malloc(sizeof *w);
    int rc = w ? send_one(sock, &count, sizeof count, 0) : -1;
    for (int i = 0; rc == 0 && i < n; i++) {
        encode(jobs[i], w);
        rc = send_one(sock, w, sizeof *w, jobs[i]->input_fd);
    }
    free(w);
    return rc;
}

/* One message; *fd gets a passed descriptor (0 when none). 1 = got it, 0 = EOF, -1 = error. */
static int recv_one(int sock, void *buf, size_t len, int *fd)
{
    struct iovec iov = {buf, len};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    ssize_t got;
    while ((got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    *fd = 0;
    for (struct cmsghdr *c = got > 0 ? CMSG_FIRSTHDR(&msg) : NULL; c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(fd, CMSG_DATA(c), sizeof *fd);
    if (got == 0)
        return 0;
    return got == (ssize_t)len && !(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ? 1 : -1;
}

/* The job points into w (its path and name), which lives as long as the batch. */
static void decode(bd_job *j, job_wire *w, const bd_config *cfg, const bd_plugins *plugins, bd_matchstore *ms, int fd)
{
    w->path[sizeof w->path - 1] = w->name[sizeof w->name - 1] = '\0';
    *j = (bd_job){.cfg = cfg, .partner = &cfg->partners[w->partner], .plugins = plugins, .ms = ms,
                  .path = w->path, .name = w->name, .truncated_is_final = w->truncated_is_final, .input_fd = fd,
                  .names_after_ms = w->names_after_ms};
    memcpy(j->r.id, w->id, sizeof j->r.id);
    memcpy(j->r.agent, w->agent, sizeof j->r.agent);
    memcpy(j->r.file, w->file, sizeof j->r.file);
    memcpy(j->r.partner, w->partner_name, sizeof j->r.partner);
    memcpy(j->r.source, w->source, sizeof j->r.source);
    j->r.id[sizeof j->r.id - 1] = j->r.agent[sizeof j->r.agent - 1] = j->r.file[sizeof j->r.file - 1] = '\0';
    j->r.partner[sizeof j->r.partner - 1] = j->r.source[sizeof j->r.source - 1] = '\0';
    j->r.started_ms = w->started_ms;
}

bd_job *bd_wire_recv_jobs(int sock, const bd_config *cfg, const bd_plugins *plugins, bd_matchstore *ms, int *n)
{
    int32_t count = 0;
    int fd;
    if (recv_one(sock, &count, sizeof count, &fd) <= 0 || count < 1 || count > 4096)
        return NULL;
    /* one block: the jobs, then the wire records they point into (bd_wire_free_jobs frees both) */
    bd_job *jobs = calloc((size_t)count, sizeof *jobs + sizeof(job_wire));
    if (!jobs)
        return NULL;
    job_wire *wires = (job_wire *)(void *)(jobs + count);
    int32_t i = 0;
    while (i < count && recv_one(sock, &wires[i], sizeof wires[i], &fd) > 0 && wires[i].partner >= 0 &&
           (size_t)wires[i].partner < cfg->npartners) {
        decode(&jobs[i], &wires[i], cfg, plugins, ms, fd);
        i++;
    }
    if (i < count) {
        if (fd > 0)
            close(fd);
        bd_wire_free_jobs(jobs, i);
        return NULL;
    }
    *n = count;
    return jobs;
}

void bd_wire_free_jobs(bd_job *jobs, int n)
{
    for (int i = 0; jobs && i < n; i++)
        if (jobs[i].input_fd > 0)
            close(jobs[i].input_fd);
    free(jobs);
}
