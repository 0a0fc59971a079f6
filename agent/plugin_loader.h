/* plugin_loader.h: find, vet (ownership, ABI) and dlopen format plugins, and choose one for a file. */
#ifndef BD_PLUGIN_LOADER_H
#define BD_PLUGIN_LOADER_H
#include <batchdrop/plugin.h>
#include <stddef.h>

typedef struct bd_loaded_plugin {
    const bd_plugin *desc;
    void *handle;
    char *path;
} bd_loaded_plugin;

typedef struct bd_plugins {
    bd_loaded_plugin *v;
    size_t n;
} bd_plugins;

/* Load every *.so in dir. Plugins that are refused are reported through
 * *errors (one line each, caller frees) and skipped; returns -1 only when
 * the folder itself is unusable (then *errors says why). */
int bd_plugins_load_dir(bd_plugins *ps, const char *dir, char **errors);
int bd_plugin_load_file(bd_loaded_plugin *out, const char *path, char *err, size_t errlen);
const bd_loaded_plugin *bd_plugins_find(const bd_plugins *ps, const char *name);
/* Choose by the plugins' name patterns; head (decoded bytes, may be NULL)
 * breaks ties through probe(). NULL when no plugin claims the name. */
const bd_loaded_plugin *bd_plugins_choose(const bd_plugins *ps, const char *basename, const unsigned char *head,
                                          size_t headlen);
int bd_plugins_any_claims(const bd_plugins *ps, const char *basename);
void bd_plugins_patterns(const bd_plugins *ps, char *out, size_t outlen); /* "aam: ftp_dpm_*; ..." */
void bd_plugins_free(bd_plugins *ps);
/* Refuse files and folders that anyone but root or us can write to. */
int bd_path_trusted(const char *path, char *err, size_t errlen);
#endif
