/* cmd_legend.c - placeholder, see below */
#include "config.h"

#include <stdio.h>

#include "commands.h"

int cmd_legend(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "krigd legend: not yet\n");
	return 1;
}
