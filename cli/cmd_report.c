#include "cli/cli.h"
int cmd_report(struct cli *c, int argc, char **argv) { return cli_error("report: not yet"); }
