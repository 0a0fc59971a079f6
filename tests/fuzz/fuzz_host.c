/* fuzz_host.c: shared by the plugin fuzz harnesses: header line to name and options, a feed through plugin_harness. */
#include "fuzz_host.h"
#include "plugin_harness.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_MAX 4096

/* Cut `header` (NUL-terminated, writable) at its TABs: the name, then KEY=VALUE options. */
static const char *read_header(ph_host *h, char *header)
{
    char *name = header, *field = strchr(header, '\t');
    if (field)
        *field++ = '\0';
    while (field) {
        char *next = strchr(field, '\t');
        if (next)
            *next++ = '\0';
        char *eq = strchr(field, '=');
        if (eq && eq != field) {
            *eq = '\0';
            if (strcmp(field, "@budget") == 0)
                h->emit_budget = strtol(eq + 1, NULL, 10);
            else if (h->noptions < PH_MAX_OPTIONS)
                ph_host_set_option(h, field, eq + 1);
        }
        field = next;
    }
    return name;
}

int fuzz_feed_plugin(const bd_plugin *p, const uint8_t *data, size_t size)
{
    const uint8_t *lf = memchr(data, '\n', size);
    size_t hlen = lf ? (size_t)(lf - data) : size;
    if (hlen > HEADER_MAX)
        return 0;
    char *header = malloc(hlen + 1);
    if (!header)
        return 0;
    memcpy(header, data, hlen);
    header[hlen] = '\0'; /* a NUL inside the header just ends the name or option there */
    if (hlen && header[hlen - 1] == '\r')
        header[hlen - 1] = '\0';

    ph_host host;
    ph_run run;
    ph_host_init(&host);
    const char *name = read_header(&host, header);
    const uint8_t *body = lf ? lf + 1 : data + size;
    ph_feed_buffer(p, &host, name, (const char *)body, (size_t)(data + size - body), &run);
    if (host.violations) {
        fprintf(stderr, "fuzz: plugin %s broke the plugin.h contract: %s\n", p->name, host.first_violation);
        abort();
    }
    if (run.outcome == PH_NAME_REJECTED && strncmp(run.err, "file name", 9) != 0) {
        fprintf(stderr, "fuzz: plugin %s refused a name without the 'file name ...' reason: %s\n", p->name, run.err);
        abort();
    }
    if ((run.outcome == PH_OPEN_FAILED || run.outcome == PH_FINISH_FAILED) && !run.err[0]) {
        fprintf(stderr, "fuzz: plugin %s failed open() or finish() without a reason\n", p->name);
        abort();
    }
    ph_host_free(&host);
    free(header);
    return 0;
}
