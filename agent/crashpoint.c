/* crashpoint.c: SIGKILL or a pause at a named point, for the crash and race tests (compiled only with --enable-test-hooks). */
#include "config.h"
#include "crashpoint.h"
#ifdef BD_TEST_HOOKS
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

void bd_crashpoint(const char *name)
{
    static long hits;
    const char *spec = getenv("BD_CRASH_AT");
    size_t n = strlen(name);
    if (!spec || strncmp(spec, name, n) != 0 || (spec[n] != '\0' && spec[n] != ':'))
        return;
    long at = spec[n] == ':' ? strtol(spec + n + 1, NULL, 10) : 1;
    if (++hits < at)
        return;
    fprintf(stderr, "batchdrop: crash point %s reached (BD_CRASH_AT): dying\n", name);
    fflush(stderr);
    if (strncmp(name, "worker-", 7) == 0)
        syscall(SYS_exit_group, 137); /* the worker's seccomp allow-list has no kill(2): die at once all the same */
    kill(getpid(), SIGKILL);
}

void bd_pausepoint(const char *name)
{
    const char *spec = getenv("BD_PAUSE_AT");
    size_t n = strlen(name);
    if (!spec || strncmp(spec, name, n) != 0 || spec[n] != ':')
        return;
    unsigned s = (unsigned)strtoul(spec + n + 1, NULL, 10);
    fprintf(stderr, "batchdrop: pause point %s reached (BD_PAUSE_AT): sleeping %u s\n", name, s);
    while (s)
        s = sleep(s);
}
#endif
