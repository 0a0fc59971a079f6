/* host_api.h: the function table batchdrop hands to format plugins, bound to the job being processed. */
#ifndef BD_HOST_API_H
#define BD_HOST_API_H
#include "job.h"

const bd_host_api *bd_host_api_table(void);
bd_host_ctx *bd_host_ctx_of(bd_job *j);
/* Finish the records held back for a batched lookup: after the plugin's last record, before the outcome is judged.
 * -1 when the job had to stop (j->host_error says why). */
int bd_host_flush(bd_job *j);
/* Wait for the lookup thread and drop the job's lookup half (the job ends, whatever its outcome). */
void bd_host_stop_lookups(bd_job *j);
#endif
