/* plugin_loader.c: find, vet (ownership, permissions, ABI version) and dlopen format plugins. */
#include "config.h"
#include "plugin_loader.h"
#include "strutil.h"
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int bd_path_trusted(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        snprintf(err, errlen, "%s is owned by uid %u; plugins and their folder must belong to root (chown root)",
                 path, (unsigned)st.st_uid);
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(err, errlen, "%s is writable by %s; refusing to load code from it (chmod go-w)", path,
                 (st.st_mode & S_IWOTH) ? "everyone" : "its group");
        return -1;
    }
    return 0;
}

static int check_abi(const bd_plugin *d, const char *path, char *err, size_t errlen)
{
    if (!d) {
        snprintf(err, errlen, "%s: %s() returned NULL", path, BD_PLUGIN_ENTRY_SYMBOL);
        return -1;
    }
    if (d->abi_major != BD_PLUGIN_ABI_MAJOR || d->abi_minor > BD_PLUGIN_ABI_MINOR) {
        snprintf(err, errlen,
                 "%s: plugin ABI %u.%u is not compatible with this batchdrop's ABI %d.%d "
                 "(major must match, minor must not be newer); rebuild the plugin against this batchdrop",
                 path, d->abi_major, d->abi_minor, BD_PLUGIN_ABI_MAJOR, BD_PLUGIN_ABI_MINOR);
        return -1;
    }
    if (d->struct_size < offsetof(bd_plugin, spare)) {
        snprintf(err, errlen, "%s: plugin descriptor is %u bytes, too small for ABI %u.%u", path, d->struct_size,
                 d->abi_major, d->abi_minor);
        return -1;
    }
    if (!d->name || !*d->name || !d->parse_name || !d->open || !d->line || !d->finish || !d->close ||
        !d->patterns) {
        snprintf(err, errlen, "%s: plugin descriptor lacks a name, patterns or a required callback", path);
        return -1;
    }
    return 0;
}

int bd_plugin_load_file(bd_loaded_plugin *out, const char *path, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (bd_path_trusted(path, err, errlen) < 0)
        return -1;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "%s: cannot load: %s (check its dependencies with ldd)", path, dlerror());
        return -1;
    }
    bd_plugin_entry_fn entry;
    *(void **)&entry = dlsym(h, BD_PLUGIN_ENTRY_SYMBOL);
    if (!entry) {
        snprintf(err, errlen, "%s: not a batchdrop plugin: no %s symbol", path, BD_PLUGIN_ENTRY_SYMBOL);
        dlclose(h);
        return -1;
    }
    const bd_plugin *d = entry();
    if (check_abi(d, path, err, errlen) < 0) {
        dlclose(h);
        return -1;
    }
    out->desc = d;
    out->handle = h;
    out->path = strdup(path);
    if (!out->path) {
        snprintf(err, errlen, "out of memory");
        dlclose(h);
        return -1;
    }
    return 0;
}

static void append_line(char **buf, const char *line)
{
    size_t old = *buf ? strlen(*buf) : 0, add = strlen(line);
    char *grown = realloc(*buf, old + add + 2);
    if (!grown)
        return;
    memcpy(grown + old, line, add);
    grown[old + add] = '\n';
    grown[old + add + 1] = '\0';
    *buf = grown;
}

static int has_so_suffix(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && strcmp(name + n - 3, ".so") == 0 && name[0] != '.';
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_plugin(bd_plugins *ps, const char *path, char **errors)
{
    char err[PATH_MAX + 512];
    bd_loaded_plugin lp;
    if (bd_plugin_load_file(&lp, path, err, sizeof err) < 0) {
        append_line(errors, err);
        return 0;
    }
    if (bd_plugins_find(ps, lp.desc->name)) {
        snprintf(err, sizeof err, "%s: a plugin named '%s' is already loaded; skipping this one", path,
                 lp.desc->name);
        append_line(errors, err);
        dlclose(lp.handle);
        free(lp.path);
        return 0;
    }
    bd_loaded_plugin *grown = realloc(ps->v, (ps->n + 1) * sizeof *grown);
    if (!grown) {
        dlclose(lp.handle);
        free(lp.path);
        return -1;
    }
    ps->v = grown;
    ps->v[ps->n++] = lp;
    return 0;
}

static int list_plugin_files(const char *dir, char ***names, size_t *n, char **errors)
{
    DIR *d = opendir(dir);
    if (!d) {
        char err[PATH_MAX + 128];
        snprintf(err, sizeof err, "plugin_dir %s: %s", dir, strerror(errno));
        append_line(errors, err);
        return -1;
    }
    struct dirent *de;
    *names = NULL;
    *n = 0;
    while ((de = readdir(d))) {
        if (!has_so_suffix(de->d_name))
            continue;
        char **grown = realloc(*names, (*n + 1) * sizeof *grown);
        if (!grown || !(grown[*n] = strdup(de->d_name))) {
            free(grown ? grown : *names);
            *names = NULL;
            closedir(d);
            return -1;
        }
        *names = grown;
        (*n)++;
    }
    closedir(d);
    qsort(*names, *n, sizeof **names, cmp_names);
    return 0;
}

int bd_plugins_load_dir(bd_plugins *ps, const char *dir, char **errors)
{
    char err[PATH_MAX + 256];
    memset(ps, 0, sizeof *ps);
    *errors = NULL;
    if (bd_path_trusted(dir, err, sizeof err) < 0) {
        append_line(errors, err);
        return -1;
    }
    char **names;
    size_t n;
    if (list_plugin_files(dir, &names, &n, errors) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        if (rc == 0 && bd_fmt(path, sizeof path, "%s/%s", dir, names[i]) == 0)
            rc = add_plugin(ps, path, errors);
        free(names[i]);
    }
    free(names);
    return rc;
}

const bd_loaded_plugin *bd_plugins_find(const bd_plugins *ps, const char *name)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->v[i].desc->name, name) == 0)
            return &ps->v[i];
    return NULL;
}

static int claims_name(const bd_plugin *d, const char *basename)
{
    for (const char *const *p = d->patterns; *p; p++)
        if (fnmatch(*p, basename, 0) == 0)
            return 1;
    return 0;
}

int bd_plugins_any_claims(const bd_plugins *ps, const char *basename)
{
    for (size_t i = 0; i < ps->n; i++)
        if (claims_name(ps->v[i].desc, basename))
            return 1;
    return 0;
}

const bd_loaded_plugin *bd_plugins_choose(const bd_plugins *ps, const char *basename, const unsigned char *head,
                                          size_t headlen)
{
    const bd_loaded_plugin *best = NULL;
    int best_score = -1;
    for (size_t i = 0; i < ps->n; i++) {
        const bd_plugin *d = ps->v[i].desc;
        if (!claims_name(d, basename))
            continue;
        int score = (d->probe && head) ? d->probe(head, headlen) : 50;
        if (score > best_score) {
            best = &ps->v[i];
            best_score = score;
        }
    }
    return best;
}

void bd_plugins_patterns(const bd_plugins *ps, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < ps->n && used < outlen; i++) {
        const bd_plugin *d = ps->v[i].desc;
        int n = snprintf(out + used, outlen - used, "%s%s:", i ? "; " : "", d->name);
        for (const char *const *p = d->patterns; n > 0 && *p && used + (size_t)n < outlen; p++) {
            int m = snprintf(out + used + n, outlen - used - (size_t)n, " %s", *p);
            if (m < 0)
                break;
            n += m;
        }
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

void bd_plugins_free(bd_plugins *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        dlclose(ps->v[i].handle);
        free(ps->v[i].path);
    }
    free(ps->v);
    ps->v = NULL;
    ps->n = 0;
}
