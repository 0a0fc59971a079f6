/* helper_thread.c: a worker's helper threads, started before its sandbox, each running one piece of work at a time. */
/* bd_helper_start returns once the thread runs its own code: a thread still in its start-up (rseq, signal mask)
 * when the seccomp filter is synced to it would die of SIGSYS with the signal blocked. */
#include "config.h"
#include "helper_thread.h"
#include <errno.h>
#include <pthread.h>
#include <stddef.h>

typedef struct helper {
    int started, running;
    pthread_mutex_t lock;
    pthread_cond_t wake, idle;
    void (*fn)(void *arg); /* the work handed over, NULL while idle */
    void *arg;
} helper;

#define HELPER_INIT {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .idle = PTHREAD_COND_INITIALIZER}
static helper helpers[BD_HELPERS] = {HELPER_INIT, HELPER_INIT};

static void *helper_main(void *arg)
{
    helper *h = arg;
    pthread_mutex_lock(&h->lock);
    h->running = 1; /* the thread's own start-up system calls are done: the sandbox may close */
    pthread_cond_broadcast(&h->idle);
    for (;;) {
        while (!h->fn)
            pthread_cond_wait(&h->wake, &h->lock);
        void (*fn)(void *) = h->fn;
        void *fn_arg = h->arg;
        pthread_mutex_unlock(&h->lock);
        fn(fn_arg);
        pthread_mutex_lock(&h->lock);
        h->fn = NULL;
        pthread_cond_broadcast(&h->idle);
    }
    return NULL;
}

int bd_helper_start(bd_helper_id which)
{
    helper *h = &helpers[which];
    pthread_t t;
    pthread_attr_t attr;
    if (h->started)
        return 0;
    int rc = pthread_attr_init(&attr);
    if (rc == 0 && (rc = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED)) == 0)
        rc = pthread_create(&t, &attr, helper_main, h);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    pthread_mutex_lock(&h->lock);
    while (!h->running)
        pthread_cond_wait(&h->idle, &h->lock);
    pthread_mutex_unlock(&h->lock);
    h->started = 1;
    return 0;
}

int bd_helper_available(bd_helper_id which)
{
    return helpers[which].started;
}

void bd_helper_wait(bd_helper_id which)
{
    helper *h = &helpers[which];
    if (!h->started)
        return;
    pthread_mutex_lock(&h->lock);
    while (h->fn)
        pthread_cond_wait(&h->idle, &h->lock);
    pthread_mutex_unlock(&h->lock);
}

void bd_helper_submit(bd_helper_id which, void (*fn)(void *arg), void *arg)
{
    helper *h = &helpers[which];
    if (!h->started) {
        fn(arg);
        return;
    }
    pthread_mutex_lock(&h->lock);
    while (h->fn)
        pthread_cond_wait(&h->idle, &h->lock);
    h->fn = fn;
    h->arg = arg;
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->lock);
}
