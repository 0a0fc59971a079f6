/* tap.h: a tiny TAP producer for batchdrop's C unit tests (one "ok"/"not ok" line per check). */
#ifndef BD_TAP_H
#define BD_TAP_H
#include <stdio.h>
#include <string.h>
#include <stdint.h>

static int tap_n, tap_failed;

#define TAP_OK(cond, ...) tap_ok_((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)
#define TAP_EQ_INT(got, want, ...) \
    tap_eq_int_((long long)(got), (long long)(want), __FILE__, __LINE__, __VA_ARGS__)
#define TAP_EQ_STR(got, want, ...) tap_eq_str_((got), (want), __FILE__, __LINE__, __VA_ARGS__)

__attribute__((format(printf, 4, 5), unused)) static void tap_ok_(int ok, const char *file, int line,
                                                                 const char *fmt, ...);
#include <stdarg.h>
__attribute__((format(printf, 2, 0))) static void tap_vline_(int ok, const char *fmt, va_list ap)
{
    tap_n++;
    if (!ok)
        tap_failed++;
    printf("%s %d - ", ok ? "ok" : "not ok", tap_n);
    vprintf(fmt, ap);
    printf("\n");
}
static void tap_ok_(int ok, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tap_vline_(ok, fmt, ap);
    va_end(ap);
    if (!ok)
        printf("#   at %s:%d\n", file, line);
}
__attribute__((format(printf, 5, 6), unused)) static void tap_eq_int_(long long got, long long want,
                                                                     const char *file, int line,
                                                                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tap_vline_(got == want, fmt, ap);
    va_end(ap);
    if (got != want)
        printf("#   at %s:%d: got %lld, want %lld\n", file, line, got, want);
}
__attribute__((format(printf, 5, 6), unused)) static void tap_eq_str_(const char *got, const char *want,
                                                                     const char *file, int line,
                                                                     const char *fmt, ...)
{
    va_list ap;
    int ok = (got && want) ? strcmp(got, want) == 0 : got == want;
    va_start(ap, fmt);
    tap_vline_(ok, fmt, ap);
    va_end(ap);
    if (!ok)
        printf("#   at %s:%d: got \"%s\", want \"%s\"\n", file, line, got ? got : "(null)",
               want ? want : "(null)");
}
/* Print the plan and return the exit status (0 when every check passed). */
__attribute__((unused)) static int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}
#endif
