/* cmd_plugins.c: `batchdrop plugins`: the plugins in plugin_dir as the daemon would load them, and the refused files. */
#include "config.h"
#include "commands.h"
#include "conf.h"
#include "plugin_loader.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE *f)
{
    fprintf(f, "usage: batchdrop plugins [-c FILE] [--plugin-dir DIR]\n");
    return 2;
}

static void print_plugin(const bd_loaded_plugin *lp)
{
    const bd_plugin *d = lp->desc;
    printf("%s %s (ABI %u.%u)", d->name, d->version && *d->version ? d->version : "(no version)",
           (unsigned)d->abi_major, (unsigned)d->abi_minor);
    if (d->description && *d->description)
        printf(": %s", d->description);
    printf("\n    files:");
    for (const char *const *p = d->patterns; *p; p++)
        printf(" %s", *p);
    printf("\n    path:  %s\n", lp->path);
}

/* The loader's refusals, one per line, each starting with the file or folder it is about. */
static size_t print_refused(char *errors)
{
    size_t n = 0;
    for (char *line = strtok(errors, "\n"); line; line = strtok(NULL, "\n")) {
        printf("refused: %s\n", line);
        n++;
    }
    return n;
}

static int list_dir(const char *dir)
{
    bd_plugins ps;
    char *errors = NULL;
    int dir_ok = bd_plugins_load_dir(&ps, dir, &errors) == 0;
    printf("plugin_dir %s (batchdrop %s, plugin ABI %d.%d)\n", dir, PACKAGE_VERSION, BD_PLUGIN_ABI_MAJOR,
           BD_PLUGIN_ABI_MINOR);
    for (size_t i = 0; i < ps.n; i++)
        print_plugin(&ps.v[i]);
    size_t refused = errors ? print_refused(errors) : 0;
    free(errors);
    printf("%zu plugin%s loaded, %zu refused\n", ps.n, ps.n == 1 ? "" : "s", refused);
    bd_plugins_free(&ps);
    return dir_ok && refused == 0 ? 0 : 1;
}

int bd_cmd_plugins(int argc, char **argv)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"plugin-dir", required_argument, NULL, 'P'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *config = BD_DEFAULT_CONFIG, *plugin_dir = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:P:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'P': plugin_dir = optarg; break;
        case 'h': usage(stdout); return 0;
        default: return usage(stderr);
        }
    }
    if (optind != argc) {
        fprintf(stderr, "batchdrop plugins: unexpected argument '%s'\n", argv[optind]);
        return usage(stderr);
    }
    if (plugin_dir)
        return list_dir(plugin_dir);
    char *errors = NULL;
    bd_config *cfg = bd_config_load(config, &errors);
    if (!cfg) {
        fputs(errors ? errors : "out of memory\n", stderr);
        free(errors);
        return 1;
    }
    int rc = list_dir(cfg->plugin_dir);
    bd_config_free(cfg);
    return rc;
}
