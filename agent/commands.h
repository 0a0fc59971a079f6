/* commands.h: the subcommands of the batchdrop binary. */
#ifndef BD_COMMANDS_H
#define BD_COMMANDS_H

int bd_cmd_check(const char *config_path);
int bd_cmd_validate(int argc, char **argv);
#endif
