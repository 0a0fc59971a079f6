/* conf_loader.h: the config loader's shared state and typed getters, for conf.c and conf_remote.c. */
#ifndef BD_CONF_LOADER_H
#define BD_CONF_LOADER_H
#include "conf.h"
#include <batchdrop/plugin.h>
#include <libconfig.h>
#include <stddef.h>

typedef struct loader {
    const char *path;
    char *dir; /* folder of the config file: relative paths are resolved against it */
    char *errors;
    size_t errlen;
    int nerrors;
} loader;

void cf_error(loader *ld, const config_setting_t *s, const char *fmt, ...) BD_PRINTF(3, 4);
void cf_unknown_keys(loader *ld, const config_setting_t *group, const char *const *keys, const char *where);
int cf_string(loader *ld, const config_setting_t *group, const char *key, const char **out);
int cf_path(loader *ld, const config_setting_t *group, const char *key, char **out, const char *dflt);
int cf_number(loader *ld, const config_setting_t *group, const char *key, double *out, double min, double max);
int cf_bool(loader *ld, const config_setting_t *group, const char *key, int *out);
/* remote = { ... } and remote_outbox = { ... } of a partner (conf_remote.c) */
int cf_load_remotes(loader *ld, const config_setting_t *ps, bd_partner *p);
void cf_free_remote(bd_remote *r);
/* status_file, metrics_*, sendmail (conf_ops.c) */
int cf_load_ops(loader *ld, const config_setting_t *root, bd_config *cfg);
/* a partner's receipt_mail = { ... } (conf_ops.c) */
int cf_load_receipt_mail(loader *ld, const config_setting_t *ps, bd_partner *p);
void cf_free_mail(bd_mail *m);
/* match_store = { ... } and match_ttl_days (conf_store.c) */
int cf_load_match_store(loader *ld, const config_setting_t *root, bd_config *cfg);
void cf_free_match_store(bd_config *cfg);
#endif
