/* commands.h - the subcommands of the krigd binary (git / sqlite3 style).
 * Each takes argc/argv with argv[0] the subcommand name, parses its own long
 * options, prints errors to stderr and returns the process exit status:
 * 0 success, 1 failure of the work, 2 bad usage.  Only main() exits. */
#ifndef KD_COMMANDS_H
#define KD_COMMANDS_H

int cmd_render(int argc, char **argv);
int cmd_listen(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_drain(int argc, char **argv);
int cmd_serve(int argc, char **argv);
/* jobs, show, retry, cancel, purge, stats: argv[0] says which */
int cmd_ops(int argc, char **argv);
/* legend: the colour legend of an index as a PNG (cmd_legend.c) */
int cmd_legend(int argc, char **argv);
/* config --check: validate the file, print the effective settings */
int cmd_config(int argc, char **argv);

#endif
