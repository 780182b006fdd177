/* docket: the command line entry point. */
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char USAGE[] =
    "usage: docket [--dir DIR] COMMAND [ARGS]\n"
    "\n"
    "An offline-first, signed and encrypted case log for legal-service offices.\n"
    "The node lives in DIR (--dir, or DOCKET_DIR, or the current directory).\n"
    "The passphrase comes from DOCKET_PASSPHRASE_FILE, DOCKET_PASSPHRASE or a prompt.\n"
    "\n"
    "commands:\n"
    "  init      create a node for an office\n"
    "  id        show this node's key, office and role\n"
    "  config    show or change node settings (triage deadlines)\n"
    "  case      open, update, show and list cases; import a ledger\n"
    "  report    figures for a period, by office, kind or category\n"
    "  verify    check every entry: links, signatures, ids, bodies\n"
    "  audit     the signed history of one case; audit bundles and their offline check\n"
    "  peer      pin the offices this node replicates with\n"
    "  serve     run the node: accept peers, keep live links, replicate\n"
    "  sync      replicate once with a peer and exit\n"
    "  export    write what a peer lacks to a bundle file (for a USB stick)\n"
    "  import    read a bundle, with the same checks as the network\n"
    "  network-key  print the deployment's network key\n"
    "  cert      the deployment root: certificates, revocations, auditor grants\n"
    "\n"
    "Run 'docket COMMAND --help' for a command's options.\n";

int main(int argc, char **argv) {
  if (sodium_init() < 0) {
    fprintf(stderr, "docket: error: cannot initialise libsodium\n");
    return 1;
  }
  /* A peer that hangs up must not kill the process on our next write: the
   * write fails with EPIPE and the connection is closed instead. */
  signal(SIGPIPE, SIG_IGN);
  struct cli c = {0};
  c.prog = "docket";
  c.dir = getenv("DOCKET_DIR");
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--dir") == 0 || strcmp(argv[i], "-C") == 0) {
      if (i + 1 >= argc)
        return cli_usage_error("docket [--dir DIR] COMMAND", "--dir needs a directory");
      c.dir = argv[++i];
    } else if (strncmp(argv[i], "--dir=", 6) == 0) {
      c.dir = argv[i] + 6;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(USAGE, stdout);
      return 0;
    } else if (strcmp(argv[i], "--version") == 0) {
      puts("docket 0.1.0");
      return 0;
    } else {
      return cli_usage_error("docket [--dir DIR] COMMAND", "unknown option %s", argv[i]);
    }
  }
  if (c.dir == NULL || c.dir[0] == 0)
    c.dir = ".";
  if (i >= argc) {
    fputs(USAGE, stderr);
    return 2;
  }
  const char *cmd = argv[i];
  int sub_argc = argc - i;
  char **sub_argv = argv + i;
  if (strcmp(cmd, "init") == 0)
    return cmd_init(&c, sub_argc, sub_argv);
  if (strcmp(cmd, "id") == 0)
    return cmd_id(&c, sub_argc, sub_argv);
  if (strcmp(cmd, "config") == 0)
    return cmd_config(&c, sub_argc, sub_argv);
  if (strcmp(cmd, "case") == 0)
    return cmd_case(&c, sub_argc, sub_argv);
  if (strcmp(cmd, "report") == 0)
    return cmd_report(&c, sub_argc, sub_argv);
  if (strcmp(cmd, "verify") == 0)
    return cmd_verify(&c, sub_argc, sub_argv);
  if (strcmp(cmd, "audit") == 0)
    return cmd_audit(&c, sub_argc, sub_argv);
  if (strcmp(cmd, "peer") == 0)
    return cmd_peer(&c, sub_argc, sub_argv);
  if (strcmp(cmd, "serve") == 0)
    return cmd_serve(&c, sub_argc, sub_argv);
  if (strcmp(cmd, "sync") == 0)
    return cmd_sync(&c, sub_argc, sub_argv);
  if (strcmp(cmd, "network-key") == 0)
    return cmd_network_key(&c, sub_argc, sub_argv);
  if (strcmp(cmd, "cert") == 0)
    return cmd_cert(&c, sub_argc, sub_argv);
  if (strcmp(cmd, "export") == 0)
    return cmd_export(&c, sub_argc, sub_argv);
  if (strcmp(cmd, "import") == 0)
    return cmd_import(&c, sub_argc, sub_argv);
  if (strcmp(cmd, "help") == 0) {
    fputs(USAGE, stdout);
    return 0;
  }
  return cli_usage_error(NULL, "unknown command '%s' (see 'docket --help')", cmd);
}
