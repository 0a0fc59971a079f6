/* log.h: leveled logging to stderr (the journal under systemd); messages carry their own context. */
#ifndef BD_LOG_H
#define BD_LOG_H
#include <stdarg.h>
#include <batchdrop/plugin.h>

void bd_log_set_level(int level);
int bd_log_level_from_name(const char *name); /* -1 if unknown */
void bd_log(int level, const char *fmt, ...) BD_PRINTF(2, 3);
void bd_vlog(int level, const char *fmt, va_list ap);
/* The last error message logged since bd_log_clear_last_error ("" if none). */
const char *bd_log_last_error(void);
void bd_log_clear_last_error(void);

#define log_error(...) bd_log(BD_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) bd_log(BD_LOG_WARNING, __VA_ARGS__)
#define log_info(...) bd_log(BD_LOG_INFO, __VA_ARGS__)
#define log_debug(...) bd_log(BD_LOG_DEBUG, __VA_ARGS__)
#endif
