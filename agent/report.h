/* report.h: what the running agent tells the outside: the status file, the metrics file and systemd's STATUS=. */
#ifndef BD_REPORT_H
#define BD_REPORT_H
#include <stddef.h>
#include <stdint.h>

struct bd_agent;

/* One partner's live view, taken from the inboxes, the worker pool and the shared SFTP page. */
typedef struct bd_partner_live {
    uint64_t backlog;          /* files waiting: local inbox candidates + remote files listed, not claimed */
    uint64_t in_flight;        /* files in a worker */
    double oldest_waiting;     /* seconds since the oldest waiting file last changed, 0 = none */
    uint64_t sftp_errors[8];   /* by bd_sftp_class */
} bd_partner_live;

void bd_report_live(const struct bd_agent *a, const char *partner, bd_partner_live *out);
/* Rewrite what is due: the status file (at most once a second when something changed, else
 * every 10 s), the metrics file (every metrics_interval) and STATUS=. `changed` marks a change. */
void bd_report_tick(struct bd_agent *a, int changed);
/* Seconds until bd_report_tick has something due (for the event loop's timeout). */
double bd_report_next(const struct bd_agent *a);

/* status_json.c: the status file's JSON text (caller frees), NULL on ENOMEM. */
char *bd_status_json(const struct bd_agent *a);
/* metrics.c: the Prometheus text exposition (caller frees), NULL on ENOMEM. */
char *bd_metrics_text(const struct bd_agent *a);
#endif
