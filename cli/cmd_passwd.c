/* docket passwd: a new passphrase for the key file. */
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "crypto/keyfile.h"

static const char PASSWD_USAGE[] = "docket passwd [--json]";

int cmd_passwd(struct cli *c, int argc, char **argv) {
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0)
      json = 1;
    else if (strcmp(argv[i], "--help") == 0) {
      printf("usage: %s\n\nChanges the passphrase of this node's key file. The old passphrase "
             "(from\nDOCKET_PASSPHRASE_FILE, DOCKET_PASSPHRASE or a prompt) is checked first; "
             "the new\none comes from DOCKET_NEW_PASSPHRASE_FILE, DOCKET_NEW_PASSPHRASE or a "
             "prompt,\nasked twice. The new file replaces the old one atomically. Update the "
             "service's\ncredential (/etc/docket/NAME.passphrase) to match.\n",
             PASSWD_USAGE);
      return 0;
    } else
      return cli_usage_error(PASSWD_USAGE, "unexpected argument '%s'", argv[i]);
  }
  char path[4200];
  snprintf(path, sizeof(path), "%s/key", c->dir);
  char *old = cli_passphrase(0);
  if (old == NULL)
    return 1;
  char *new_pass = cli_passphrase_from("DOCKET_NEW_PASSPHRASE_FILE", "DOCKET_NEW_PASSPHRASE",
                                       "", 1);
  if (new_pass == NULL) {
    cli_passphrase_free(old);
    return 1;
  }
  int rc = strcmp(old, new_pass) == 0
               ? DK_EEXIST
               : dk_keyfile_rekey(path, old, strlen(old), new_pass, strlen(new_pass));
  cli_passphrase_free(old);
  cli_passphrase_free(new_pass);
  if (rc == DK_EEXIST)
    return cli_error("the new passphrase is the old one: nothing changed");
  if (rc == DK_EPASSPHRASE)
    return cli_error("wrong passphrase: the key file is unchanged");
  if (rc == DK_ENOTFOUND)
    return cli_fail(DK_ENOTINIT, "no key file in this directory");
  if (rc != 0)
    return cli_fail(rc, "cannot change the passphrase; the old key file is unchanged");
  if (json)
    return cli_print_json(json_pack("{s:b}", "changed", 1));
  puts("passphrase changed");
  return 0;
}
