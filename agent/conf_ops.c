/* conf_ops.c: parse the operations settings: status_file, metrics_file/metrics_interval, sendmail and receipt_mail. */
#include "config.h"
#include "conf_loader.h"
#include "strutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const mail_keys[] = {"to", "from", "subject_prefix", NULL};

/* A mail address or local user name that cannot break out of a header line. */
static int address_ok(const char *a)
{
    if (!*a || strlen(a) > 254 || a[0] == '-')
        return 0;
    for (const unsigned char *c = (const unsigned char *)a; *c; c++)
        if (*c <= ' ' || *c >= 0x7f || strchr("\"(),:;<>[\\]`'|&$", *c))
            return 0;
    return 1;
}

/* A value for an error message: one line, control characters as '?'. */
static void printable(char *out, size_t len, const char *in)
{
    size_t k = 0;
    for (; *in && k + 1 < len; in++)
        out[k++] = (unsigned char)*in < 0x20 || *in == 0x7f ? '?' : *in;
    out[k] = '\0';
}

void cf_free_mail(bd_mail *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nto; i++)
        free(m->to[i]);
    free(m->to);
    free(m->from);
    free(m->subject_prefix);
    free(m);
}

static int load_recipients(loader *ld, const config_setting_t *g, bd_mail *m)
{
    config_setting_t *to = config_setting_get_member(g, "to");
    int n = to ? config_setting_length(to) : 0;
    if (!to || !(config_setting_is_array(to) || config_setting_is_list(to)) || n < 1) {
        cf_error(ld, to ? to : g, "receipt_mail needs 'to', a list of addresses: to = [ \"ops@example.com\" ];");
        return -1;
    }
    if (!(m->to = calloc((size_t)n, sizeof *m->to)))
        return -1;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(to, (unsigned)i);
        const char *a = config_setting_get_string(e);
        if (!a || !address_ok(a)) {
            char shown[80];
            printable(shown, sizeof shown, a ? a : "(not a string)");
            cf_error(ld, e, "receipt_mail 'to': \"%s\" is not a mail address (user@host or a local user name)",
                     shown);
            return -1;
        }
        if (!(m->to[m->nto++] = strdup(a)))
            return -1;
    }
    return 0;
}

int cf_load_receipt_mail(loader *ld, const config_setting_t *ps, bd_partner *p)
{
    config_setting_t *g = config_setting_get_member(ps, "receipt_mail");
    if (!g)
        return 0;
    if (!config_setting_is_group(g)) {
        cf_error(ld, g, "'receipt_mail' must be a group: receipt_mail = { to = [ \"ops@example.com\" ]; };");
        return -1;
    }
    cf_unknown_keys(ld, g, mail_keys, "receipt_mail");
    bd_mail *m = calloc(1, sizeof *m);
    const char *from = NULL, *prefix = "[batchdrop]";
    if (!m)
        return -1;
    p->receipt_mail = m;
    if (load_recipients(ld, g, m) < 0 || cf_string(ld, g, "from", &from) < 0 ||
        cf_string(ld, g, "subject_prefix", &prefix) < 0)
        return -1;
    if (from && !address_ok(from)) {
        char shown[80];
        printable(shown, sizeof shown, from);
        cf_error(ld, config_setting_get_member(g, "from"), "receipt_mail 'from': \"%s\" is not a mail address",
                 shown);
        return -1;
    }
    if (strpbrk(prefix, "\r\n")) {
        cf_error(ld, config_setting_get_member(g, "subject_prefix"), "'subject_prefix' must be one line");
        return -1;
    }
    if ((from && !(m->from = strdup(from))) || !(m->subject_prefix = strdup(prefix)))
        return -1;
    return 0;
}

int cf_load_ops(loader *ld, const config_setting_t *root, bd_config *cfg)
{
    double interval = 15;
    char dflt_status[4096];
    int rc = 0;
    if (bd_fmt(dflt_status, sizeof dflt_status, "%s/status.json", cfg->state_dir ? cfg->state_dir : ".") < 0)
        return -1;
    rc |= cf_path(ld, root, "status_file", &cfg->status_file, dflt_status);
    rc |= cf_path(ld, root, "metrics_file", &cfg->metrics_file, NULL);
    rc |= cf_number(ld, root, "metrics_interval", &interval, 1, 3600);
    rc |= cf_path(ld, root, "sendmail", &cfg->sendmail, "/usr/sbin/sendmail");
    cfg->metrics_interval = interval;
    return rc ? -1 : 0;
}
