/* docket passwd: a new passphrase for the key file. */
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "crypto/keyfile.h"

int cmd_passwd(struct cli *c, int argc, char **argv) {
  static const struct cli_opt opts[] = {CLI_END};
  static const struct cli_command cmd = {
      "passwd", NULL, 0, 0,
      N_("Changes the passphrase of this node's key file. The old passphrase (from\n"
         "DOCKET_PASSPHRASE_FILE, DOCKET_PASSPHRASE or a prompt) is checked first;\n"
         "the new one comes from DOCKET_NEW_PASSPHRASE_FILE, DOCKET_NEW_PASSPHRASE or\n"
         "a prompt, asked twice. The new file replaces the old one atomically. Update\n"
         "the service's credential (/etc/docket/NAME.passphrase) to match."),
      NULL};
  int prc = cli_parse(c, &cmd, opts, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
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
    return cli_error(_("the new passphrase is the old one: nothing changed"));
  if (rc == DK_EPASSPHRASE)
    return cli_error(_("wrong passphrase: the key file is unchanged"));
  if (rc == DK_ENOTFOUND)
    return cli_fail(DK_ENOTINIT, _("no key file in this directory"));
  if (rc != 0)
    return cli_fail(rc, _("cannot change the passphrase; the old key file is unchanged"));
  if (json)
    return cli_print_json(json_pack("{s:b}", "changed", 1));
  puts(_("passphrase changed"));
  return 0;
}
