/* log.c: leveled logging to stderr, with systemd's <N> priority prefix when stderr is the journal. */
#include "config.h"
#include "log.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int log_level = BD_LOG_INFO;
static int log_to_journal = -1; /* -1: not decided yet */
static char last_error[512];     /* for a refused reload's reason */

const char *bd_log_last_error(void)
{
    return last_error;
}

void bd_log_clear_last_error(void)
{
    last_error[0] = '\0';
}

void bd_log_set_level(int level)
{
    log_level = level;
}

int bd_log_level_from_name(const char *name)
{
    static const struct { const char *name; int level; } names[] = {
        {"error", BD_LOG_ERROR}, {"warning", BD_LOG_WARNING}, {"info", BD_LOG_INFO}, {"debug", BD_LOG_DEBUG}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0)
            return names[i].level;
    return -1;
}

static const char *level_name(int level)
{
    switch (level) {
    case BD_LOG_ERROR: return "error";
    case BD_LOG_WARNING: return "warning";
    case BD_LOG_INFO: return "info";
    default: return "debug";
    }
}

void bd_vlog(int level, const char *fmt, va_list ap)
{
    if (level > log_level)
        return;
    if (log_to_journal < 0)
        log_to_journal = getenv("JOURNAL_STREAM") != NULL;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    for (char *c = msg; *c; c++) /* one event, one line: a partner's file name cannot forge log lines */
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    if (level == BD_LOG_ERROR)
        snprintf(last_error, sizeof last_error, "%.*s", (int)sizeof last_error - 1, msg);
    if (log_to_journal) {
        fprintf(stderr, "<%d>%s\n", level, msg);
    } else {
        struct timespec ts;
        struct tm tm;
        char when[32] = "";
        if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && localtime_r(&ts.tv_sec, &tm))
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        fprintf(stderr, "%s batchdrop %s: %s\n", when, level_name(level), msg);
    }
}

void bd_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bd_vlog(level, fmt, ap);
    va_end(ap);
}
