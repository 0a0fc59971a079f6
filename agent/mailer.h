/* mailer.h: receipt_mail: build the receipt mail, spool it durably, hand it to `sendmail -t -i` in the background. */
#ifndef BD_MAILER_H
#define BD_MAILER_H
#include "conf.h"
#include "receipt.h"

typedef struct bd_mailer bd_mailer;
struct bd_pstats;

/* The whole message (headers + AAM-style text receipt); caller frees. NULL on ENOMEM. */
char *bd_mail_message(const bd_config *cfg, const bd_partner *p, const bd_receipt *r, const char *text);
/* state_dir/mail/<partner>~<claim id>.eml: where a receipt's mail is spooled. */
int bd_mail_spool_path(char *out, size_t len, const bd_config *cfg, const char *partner, const char *claim_id);

bd_mailer *bd_mailer_new(void);
void bd_mailer_free(bd_mailer *m);
/* run: start sendmail for the next spooled mail when none runs and the back-off allows;
 * collect the one that finished (or kill it past its deadline). Never blocks. */
void bd_mailer_tick(bd_mailer *m, const bd_config *cfg, struct bd_pstats *ps);
/* A commit spooled a mail: look at the spool on the next tick (the back-off still applies). */
void bd_mailer_note_spooled(bd_mailer *m);
/* Try the spool again now (the configuration was reloaded: `sendmail` may be fixed). */
void bd_mailer_kick(bd_mailer *m);
/* Seconds until bd_mailer_tick has something to do (-1: nothing spooled or running). */
double bd_mailer_next(const bd_mailer *m);
/* once: send everything spooled now, waiting for each sendmail (bounded). */
void bd_mailer_flush(bd_mailer *m, const bd_config *cfg, struct bd_pstats *ps);
#endif
