/* main.c: the batchdrop command line: run, once, check, validate, plugins, --version, --help. */
#include "config.h"
#include "commands.h"
#include "conf.h"
#include "daemon.h"
#include "decode.h"
#include "log.h"
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: batchdrop COMMAND [options]\n"
            "\n"
            "Receive partners' batch data files: claim, decode, parse, match, write the outbox, receipt.\n"
            "\n"
            "commands:\n"
            "  run      [-c FILE]   watch every inbox until SIGTERM or SIGINT (foreground daemon);\n"
            "                       SIGHUP reloads the configuration (validated first, kept on errors)\n"
            "  once     [-c FILE]   process every file that is complete now, then exit\n"
            "  check    [-c FILE] [--connect]\n"
            "                       validate the configuration, its folders, plugins and SFTP key files;\n"
            "                       --connect also logs in to every SFTP endpoint and checks a redis\n"
            "                       match store (every node reachable, every cluster slot covered)\n"
            "  validate [-c FILE] [--partner NAME] [--format NAME] [--plugin-dir DIR] [--text] FILE...\n"
            "                       parse files as the agent would and print their receipts (no side effects)\n"
            "  plugin-test [--option KEY=VALUE]... [--timeout S] PLUGIN.so FILE...\n"
            "                       run a plugin through the sandboxed worker; print its records and receipt\n"
            "  status   [-c FILE] [--json]\n"
            "                       what the running agent reports: per partner the backlog, files in flight,\n"
            "                       the oldest waiting file, the last receipt and recent errors\n"
            "  plugins  [-c FILE] [--plugin-dir DIR]\n"
            "                       list the plugins of plugin_dir (name, version, ABI, file patterns, path)\n"
            "                       and the files refused, with why\n"
            "\n"
            "options:\n"
            "  -c, --config FILE    configuration file (default %s)\n"
            "  -h, --help           this text\n"
            "  -V, --version        print the version\n"
            "\n"
            "See batchdrop(8), batchdrop.conf(5) and batchdrop-plugin(7).\n",
            BD_DEFAULT_CONFIG);
}

int bd_parse_config_opts(int argc, char **argv, const char **config, const char *flag_name, int *flag,
                         void (*help)(FILE *f))
{
    const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                      {flag_name ? flag_name : "config", flag_name ? no_argument : required_argument,
                                       NULL, flag_name ? 'F' : 'c'},
                                      {"help", no_argument, NULL, 'h'},
                                      {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        if (c == 'c')
            *config = optarg;
        else if (c == 'F' && flag)
            *flag = 1;
        else if (c == 'h') {
            help(stdout);
            exit(0);
        } else
            return -1;
    }
    if (optind != argc) {
        fprintf(stderr, "batchdrop %s: unexpected argument '%s'\n", argv[0], argv[optind]);
        return -1;
    }
    return 0;
}

static int run_agent(const char *config, int once)
{
    char *errors = NULL;
    bd_config *cfg = bd_config_load(config, &errors);
    if (!cfg) {
        fputs(errors ? errors : "out of memory\n", stderr);
        fprintf(stderr, "batchdrop: the configuration has errors; `batchdrop check -c %s` lists them\n", config);
        free(errors);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    bd_crypto_warm_up(); /* once here, not in every forked worker (it reads openssl.cnf) */
    bd_agent a;
    if (bd_agent_open(&a, cfg) < 0) {
        bd_config_free(cfg);
        return 2;
    }
    int rc = once ? bd_agent_once(&a) : bd_agent_run(&a);
    bd_config *current = a.cfg; /* a reload may have replaced (and freed) the first one */
    bd_agent_close(&a);
    bd_config_free(current);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("batchdrop %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, BD_PLUGIN_ABI_MAJOR, BD_PLUGIN_ABI_MINOR);
#ifdef BD_TEST_HOOKS
        printf("test build: crash points (BD_CRASH_AT) and pause points (BD_PAUSE_AT) compiled in; not for production\n");
#endif
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "validate"))
        return bd_cmd_validate(argc - 1, argv + 1);
    if (!strcmp(cmd, "plugins"))
        return bd_cmd_plugins(argc - 1, argv + 1);
    if (!strcmp(cmd, "status"))
        return bd_cmd_status(argc - 1, argv + 1);
    if (!strcmp(cmd, "plugin-test"))
        return bd_cmd_plugin_test(argc - 1, argv + 1);
    const char *config = BD_DEFAULT_CONFIG;
    if (strcmp(cmd, "run") && strcmp(cmd, "once") && strcmp(cmd, "check")) {
        fprintf(stderr, "batchdrop: unknown command '%s' (try --help)\n", cmd);
        return 2;
    }
    int connect = 0;
    int is_check = !strcmp(cmd, "check");
    if (bd_parse_config_opts(argc - 1, argv + 1, &config, is_check ? "connect" : NULL, &connect, usage) < 0)
        return 2;
    if (is_check)
        return bd_cmd_check(config, connect);
    return run_agent(config, !strcmp(cmd, "once"));
}
