/* readahead.c: decoding on the worker's decoding thread into two alternating chunks while the parser reads. */
#include "config.h"
#include "readahead.h"
#include "helper_thread.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct chunk {
    char *buf;
    size_t len, pos; /* decoded bytes in it; bytes the reader took */
    int full;        /* 1: the reader's turn; 0: the decoder's */
    int end;         /* with the last chunk: 1 the stream ended cleanly, -1 a decode error */
} chunk;

struct bd_readahead {
    bd_decoder *dec;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    chunk c[2];
    int reading; /* the chunk the reader takes next */
    int stop;    /* the reader is done: the decoder stops at its next chunk */
};

/* Fill one chunk: decoded bytes up to its size, or fewer at the end of the stream (end 1) or on an error (-1). */
static void fill_chunk(bd_decoder *dec, chunk *c)
{
    c->len = c->pos = 0;
    c->end = 0;
    while (c->len < BD_READAHEAD_CHUNK) {
        ssize_t n = bd_decoder_read(dec, c->buf + c->len, BD_READAHEAD_CHUNK - c->len);
        if (n <= 0) {
            c->end = n == 0 ? 1 : -1;
            return;
        }
        c->len += (size_t)n;
    }
}

/* The decoding thread: fill the chunks in turn while the reader empties them, until the stream ends or the
 * reader stops. */
static void decode_ahead(void *arg)
{
    bd_readahead *ra = arg;
    for (int next = 0;; next ^= 1) {
        chunk *c = &ra->c[next];
        pthread_mutex_lock(&ra->lock);
        while (c->full && !ra->stop)
            pthread_cond_wait(&ra->changed, &ra->lock);
        int stop = ra->stop;
        pthread_mutex_unlock(&ra->lock);
        if (stop)
            return;
        fill_chunk(ra->dec, c);
        pthread_mutex_lock(&ra->lock);
        c->full = 1;
        pthread_cond_broadcast(&ra->changed);
        pthread_mutex_unlock(&ra->lock);
        if (c->end)
            return;
    }
}

static void readahead_free(bd_readahead *ra)
{
    free(ra->c[0].buf);
    free(ra->c[1].buf);
    free(ra);
}

static uint64_t min_input = BD_READAHEAD_MIN_INPUT;

void bd_readahead_set_min_input(uint64_t bytes)
{
    min_input = bytes;
}

bd_readahead *bd_readahead_open(bd_decoder *dec)
{
    if (!bd_helper_available(BD_HELPER_DECODE) || bd_decoder_input_size(dec) < min_input)
        return NULL;
    bd_readahead *ra = calloc(1, sizeof *ra);
    if (!ra)
        return NULL;
    if (!(ra->c[0].buf = malloc(BD_READAHEAD_CHUNK)) || !(ra->c[1].buf = malloc(BD_READAHEAD_CHUNK)) ||
        pthread_mutex_init(&ra->lock, NULL) != 0) {
        readahead_free(ra);
        return NULL;
    }
    if (pthread_cond_init(&ra->changed, NULL) != 0) {
        pthread_mutex_destroy(&ra->lock);
        readahead_free(ra);
        return NULL;
    }
    ra->dec = dec;
    bd_helper_submit(BD_HELPER_DECODE, decode_ahead, ra);
    return ra;
}

ssize_t bd_readahead_read(bd_readahead *ra, void *buf, size_t len)
{
    if (len == 0)
        return 0;
    for (;;) {
        chunk *c = &ra->c[ra->reading];
        pthread_mutex_lock(&ra->lock);
        while (!c->full)
            pthread_cond_wait(&ra->changed, &ra->lock);
        pthread_mutex_unlock(&ra->lock);
        if (c->pos < c->len) { /* the chunk is the reader's alone until it is handed back */
            size_t n = c->len - c->pos < len ? c->len - c->pos : len;
            memcpy(buf, c->buf + c->pos, n);
            c->pos += n;
            return (ssize_t)n;
        }
        if (c->end) /* drained, and the last: stays so (errors are sticky, like the decoder's) */
            return c->end > 0 ? 0 : -1;
        pthread_mutex_lock(&ra->lock);
        c->full = 0; /* back to the decoder */
        pthread_cond_broadcast(&ra->changed);
        pthread_mutex_unlock(&ra->lock);
        ra->reading ^= 1;
    }
}

void bd_readahead_close(bd_readahead *ra)
{
    if (!ra)
        return;
    pthread_mutex_lock(&ra->lock);
    ra->stop = 1;
    pthread_cond_broadcast(&ra->changed);
    pthread_mutex_unlock(&ra->lock);
    bd_helper_wait(BD_HELPER_DECODE);
    pthread_cond_destroy(&ra->changed);
    pthread_mutex_destroy(&ra->lock);
    readahead_free(ra);
}
