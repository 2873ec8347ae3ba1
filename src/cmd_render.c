/* cmd_render.c - placeholder until the render module lands. */
#include <stdio.h>
#include "commands.h"
int cmd_render(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "krigd render: not built yet\n");
	return 1;
}
