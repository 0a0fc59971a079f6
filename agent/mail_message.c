/* mail_message.c: the receipt mail: RFC 5322 headers (injection-safe) around the AAM-style text receipt. */
#include "config.h"
#include "mailer.h"
#include "strutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Header text from partner-controlled strings: printable ASCII only, nothing that ends the line. */
static void header_safe(char *out, size_t len, const char *in)
{
    size_t k = 0;
    for (; *in && k + 1 < len; in++)
        out[k++] = (unsigned char)*in >= 0x20 && (unsigned char)*in < 0x7f ? *in : '?';
    out[k] = '\0';
}

static void rfc5322_date(char *out, size_t len, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, len, "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
        snprintf(out, len, "Thu, 01 Jan 1970 00:00:00 +0000");
}

static void recipients(FILE *f, const bd_mail *m)
{
    fputs("To: ", f);
    for (size_t i = 0; i < m->nto; i++)
        fprintf(f, "%s%s", i ? ",\n " : "", m->to[i]);
    fputs("\n", f);
}

char *bd_mail_message(const bd_config *cfg, const bd_partner *p, const bd_receipt *r, const char *text)
{
    const bd_mail *m = p->receipt_mail;
    char file[200], date[64];
    char *out = NULL;
    size_t len = 0;
    if (!m)
        return NULL;
    header_safe(file, sizeof file, r->file);
    rfc5322_date(date, sizeof date, r->finished_ms ? r->finished_ms : bd_now_ms());
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    recipients(f, m);
    if (m->from)
        fprintf(f, "From: %s\n", m->from);
    fprintf(f,
            "Subject: %s %s: %s: %s\n"
            "Date: %s\n"
            "Message-ID: <%s.%s@batchdrop>\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: 8bit\n"
            "Auto-Submitted: auto-generated\n"
            "X-Batchdrop-Partner: %s\n"
            "X-Batchdrop-Status: %s\n"
            "X-Batchdrop-Receipt: %s\n"
            "\n%s",
            m->subject_prefix, p->name, r->status, file, date, r->id, cfg->agent_id, p->name, r->status, r->id,
            text);
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

int bd_mail_spool_path(char *out, size_t len, const bd_config *cfg, const char *partner, const char *claim_id)
{
    return bd_fmt(out, len, "%s/mail/%s~%s.eml", cfg->state_dir, partner, claim_id);
}
