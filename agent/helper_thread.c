/* helper_thread.c: one helper thread in a worker, started before its sandbox, that runs one piece of work at a time. */
/* bd_helper_start returns once the thread runs its own code: a thread still in its start-up (rseq, signal mask)
 * when the seccomp filter is synced to it would die of SIGSYS with the signal blocked. */
#include "config.h"
#include "helper_thread.h"
#include <errno.h>
#include <pthread.h>
#include <stddef.h>

static struct {
    int started, running;
    pthread_mutex_t lock;
    pthread_cond_t wake, idle;
    void (*fn)(void *arg); /* the work handed over, NULL while idle */
    void *arg;
} helper = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .idle = PTHREAD_COND_INITIALIZER};

static void *helper_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&helper.lock);
    helper.running = 1; /* the thread's own start-up system calls are done: the sandbox may close */
    pthread_cond_broadcast(&helper.idle);
    for (;;) {
        while (!helper.fn)
            pthread_cond_wait(&helper.wake, &helper.lock);
        void (*fn)(void *) = helper.fn;
        void *arg = helper.arg;
        pthread_mutex_unlock(&helper.lock);
        fn(arg);
        pthread_mutex_lock(&helper.lock);
        helper.fn = NULL;
        pthread_cond_broadcast(&helper.idle);
    }
    return NULL;
}

int bd_helper_start(void)
{
    pthread_t t;
    pthread_attr_t attr;
    if (helper.started)
        return 0;
    int rc = pthread_attr_init(&attr);
    if (rc == 0 && (rc = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED)) == 0)
        rc = pthread_create(&t, &attr, helper_main, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    pthread_mutex_lock(&helper.lock);
    while (!helper.running)
        pthread_cond_wait(&helper.idle, &helper.lock);
    pthread_mutex_unlock(&helper.lock);
    helper.started = 1;
    return 0;
}

int bd_helper_available(void)
{
    return helper.started;
}

void bd_helper_wait(void)
{
    if (!helper.started)
        return;
    pthread_mutex_lock(&helper.lock);
    while (helper.fn)
        pthread_cond_wait(&helper.idle, &helper.lock);
    pthread_mutex_unlock(&helper.lock);
}

void bd_helper_submit(void (*fn)(void *arg), void *arg)
{
    if (!helper.started) {
        fn(arg);
        return;
    }
    pthread_mutex_lock(&helper.lock);
    while (helper.fn)
        pthread_cond_wait(&helper.idle, &helper.lock);
    helper.fn = fn;
    helper.arg = arg;
    pthread_cond_signal(&helper.wake);
    pthread_mutex_unlock(&helper.lock);
}
