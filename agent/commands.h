/* commands.h: the subcommands of the batchdrop binary. */
#ifndef BD_COMMANDS_H
#define BD_COMMANDS_H

#include "conf.h"
#include <stdio.h>

/* -c/--config FILE, an optional boolean --FLAG (flag_name NULL: none) and -h/--help (prints `usage`, exits 0).
 * 0 ok, -1 on a usage error (message on stderr). */
int bd_parse_config_opts(int argc, char **argv, const char **config, const char *flag_name, int *flag,
                         void (*usage)(FILE *f));
int bd_cmd_check(const char *config_path, int connect);
/* Check one SFTP endpoint's files (and the connection when connect is set). 0 ok, -1 with messages on stderr. */
int bd_check_remote(const bd_remote *r, const char *what, const char *partner, int connect);
/* check --connect with a redis match store: its servers answer and (cluster) cover every slot; 0 or -1. */
int bd_check_match_store(const bd_config *cfg, int connect);
int bd_cmd_validate(int argc, char **argv);
/* `batchdrop plugins [-c FILE] [--plugin-dir DIR]`: 0 when every plugin file loads, 1 otherwise, 2 on usage. */
int bd_cmd_plugins(int argc, char **argv);
/* Run one plugin .so through the sandboxed worker on files; print records and receipts. */
int bd_cmd_plugin_test(int argc, char **argv);
/* `batchdrop status [-c FILE] [--json]`: 0 running, 3 not running (stale status), 4 no status file, 2 usage. */
int bd_cmd_status(int argc, char **argv);
#endif
