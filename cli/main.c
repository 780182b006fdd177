/* docket: the command line entry point. */
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"

static const char ABOUT[] =
    N_("An offline-first, signed and encrypted case log for legal-service offices.\n"
       "The node lives in DIR (--dir, or DOCKET_DIR, or the current directory).\n"
       "The passphrase comes from DOCKET_PASSPHRASE_FILE, DOCKET_PASSPHRASE or a prompt.\n"
       "Options before COMMAND: --dir DIR, --lang zh_CN|en, --json, --version.");

static const struct cli_sub COMMANDS[] = {
    {"init", cmd_init, N_("create a node for an office")},
    {"id", cmd_id, N_("show this node's key, office and role")},
    {"config", cmd_config, N_("show or change node settings (triage deadlines)")},
    {"case", cmd_case, N_("open, update, show and list cases; import a ledger")},
    {"report", cmd_report, N_("figures for a period, by office, kind or category")},
    {"verify", cmd_verify, N_("check every entry: links, signatures, ids, bodies")},
    {"audit", cmd_audit, N_("the signed history of one case; audit bundles and their check")},
    {"peer", cmd_peer, N_("pin the offices this node replicates with")},
    {"serve", cmd_serve, N_("run the node: accept peers, keep live links, replicate")},
    {"sync", cmd_sync, N_("replicate once with a peer and exit")},
    {"export", cmd_export, N_("write what a peer lacks to a bundle file (for a USB stick)")},
    {"import", cmd_import, N_("read a bundle, with the same checks as the network")},
    {"network-key", cmd_network_key, N_("print the deployment's network key")},
    {"cert", cmd_cert, N_("the deployment root: certificates, revocations, auditor grants")},
    {NULL, NULL, NULL}};

int main(int argc, char **argv) {
  cli_i18n_init(argc, argv);
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
        return cli_usage_error("docket [--dir DIR] COMMAND", _("--%s needs a value (%s)"), "dir",
                               "DIR");
      c.dir = argv[++i];
    } else if (strncmp(argv[i], "--dir=", 6) == 0) {
      c.dir = argv[i] + 6;
    } else if (strcmp(argv[i], "--lang") == 0) {
      i++; /* applied by cli_i18n_init */
    } else if (strncmp(argv[i], "--lang=", 7) == 0) {
    } else if (strcmp(argv[i], "--json") == 0) {
      cli_set_json(&c, 1);
    } else if (strcmp(argv[i], "--version") == 0) {
      puts("docket 0.1.0");
      return 0;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      break; /* the command list */
    } else {
      const char *global[] = {"--dir", "--lang", "--json", "--version", "--help"};
      const char *s = cli_suggest(argv[i], global, 5);
      if (s)
        return cli_usage_error("docket [--dir DIR] COMMAND",
                               _("unknown option '%s'; did you mean '%s'?"), argv[i], s);
      return cli_usage_error("docket [--dir DIR] COMMAND", _("unknown option '%s'"), argv[i]);
    }
  }
  if (c.dir == NULL || c.dir[0] == 0)
    c.dir = ".";
  /* argv[i - 1] stands in for the program name, so that cli_dispatch sees
   * the command word in argv[1] as for any group. */
  return cli_dispatch(&c, "docket", ABOUT, COMMANDS, argc - i + 1, argv + i - 1);
}
