/* docket init, id, config. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"

/* Default case-number code: the first two letters of the office's last
 * path segment, in capitals (lanxin -> LA). */
static void default_code(const char *office, char *code, size_t cap) {
  const char *last = strrchr(office, '/');
  last = last ? last + 1 : office;
  size_t j = 0;
  for (size_t i = 0; last[i] && j < 2 && j + 1 < cap; i++)
    if (last[i] >= 'a' && last[i] <= 'z')
      code[j++] = (char)(last[i] - 'a' + 'A');
  if (j == 0)
    code[j++] = 'X';
  code[j] = 0;
}

static int code_valid(const char *code) {
  size_t n = strlen(code);
  if (n == 0 || n > 8)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((code[i] >= 'A' && code[i] <= 'Z') || (code[i] >= '0' && code[i] <= '9')))
      return 0;
  return 1;
}

int cmd_init(struct cli *c, int argc, char **argv) {
  const char *office = NULL, *role = NULL, *code = NULL, *listen = "", *netkey_file = NULL;
  const char *root_hex = NULL, *key_file = NULL;
  const struct cli_opt opts[] = {
      CLI_REQUIRED("office", "PATH", &office, N_("the office path, such as zhanhe/beidu/lanxin")),
      CLI_REQUIRED("role", "district|street|community|auditor", &role, N_("the office's level")),
      CLI_STRING("code", "CODE", &code, N_("case-number prefix, 1 to 8 capitals or digits")),
      CLI_STRING("listen", "HOST:PORT", &listen, N_("where 'docket serve' accepts peers")),
      CLI_STRING("network-key-file", "FILE", &netkey_file,
                 N_("the deployment's network key (from 'docket network-key')")),
      CLI_STRING("root-pk", "HEX", &root_hex, N_("the deployment root's public key")),
      CLI_STRING("key-file", "KEY", &key_file,
                 N_("rebuild an office whose disk was lost from its old key file")),
      CLI_END};
  static const struct cli_command cmd = {
      "init", NULL, 0, 0,
      N_("Creates a node in --dir: a new key pair sealed under a passphrase,\n"
         "and an empty store. Prints the node's public key. The first node of a\n"
         "deployment (the district) gets a new network key; every other office is\n"
         "given that key with --network-key-file (see 'docket network-key').\n\n"
         "--key-file KEY rebuilds an office whose disk was lost from its key file\n"
         "(the 'key' file of its old node directory, with its passphrase): the same\n"
         "key, a new store. Pin the office above, then run 'docket sync': it brings\n"
         "the office's own log back, and the node writes nothing before that\n"
         "(docs/operations.md)."),
      NULL};
  uint8_t root[DK_PK_BYTES];
  int prc = cli_parse(c, &cmd, opts, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  if (root_hex && (strlen(root_hex) != 64 || dk_unhex(root_hex, root, DK_PK_BYTES) != DK_PK_BYTES))
    return cli_command_usage_error(&cmd, opts, _("--root-pk must be the 64 hex digits of the root key"));
  struct dk_node_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  if (!dk_office_valid(office))
    return cli_command_usage_error(&cmd, opts,
                           _("office path '%s' is not valid: use 1 to 4 lowercase segments "
                           "such as zhanhe/beidu/lanxin"),
                           office);
  if (dk_office_role_parse(role, &cfg.role) != 0)
    return cli_command_usage_error(&cmd, opts, _("unknown role '%s'"), role);
  strcpy(cfg.office, office);
  if (code) {
    if (!code_valid(code))
      return cli_command_usage_error(&cmd, opts, _("--code must be 1 to 8 capital letters or digits"));
    strcpy(cfg.code, code);
  } else {
    default_code(office, cfg.code, sizeof(cfg.code));
  }
  if (strlen(listen) >= sizeof(cfg.listen))
    return cli_command_usage_error(&cmd, opts, _("--listen is too long"));
  strcpy(cfg.listen, listen);

  uint8_t netkey[32];
  if (netkey_file) {
    if (cli_read_network_key(netkey_file, netkey) != 0)
      return 1;
  } else {
    randombytes_buf(netkey, sizeof(netkey));
  }
  char *pass = cli_passphrase(key_file == NULL);
  if (pass == NULL)
    return 1;
  uint8_t pk[DK_PK_BYTES];
  int rc = key_file ? dk_node_rebuild(c->dir, &cfg, key_file, pass, strlen(pass), pk)
                    : dk_node_create(c->dir, &cfg, pass, strlen(pass), pk);
  dk_node *n = NULL;
  if (rc == 0)
    rc = dk_node_open(c->dir, pass, strlen(pass), &n);
  if (rc == 0)
    rc = dk_node_set_network_key(n, netkey);
  if (rc == 0 && root_hex)
    rc = dk_node_set_root(n, root);
  char request[4200];
  snprintf(request, sizeof(request), "%s/enrolment-request", c->dir);
  if (rc == 0 && key_file == NULL)
    rc = cli_request_write(n, request);
  dk_node_close(n);
  sodium_memzero(netkey, sizeof(netkey));
  cli_passphrase_free(pass);
  if (rc == DK_EEXIST)
    return cli_error_code(rc, _("%s already holds a docket node"), c->dir);
  if (rc == DK_EPASSPHRASE && key_file)
    return cli_error_code(rc, _("%s does not open with that passphrase (or is not a docket key file)"),
                          key_file);
  if (rc != 0) {
    char what[4200];
    snprintf(what, sizeof(what), _("cannot create the node in %s"), c->dir);
    return cli_fail(rc, what);
  }
  char hex[DK_PK_BYTES * 2 + 1];
  dk_hex(pk, DK_PK_BYTES, hex);
  if (key_file) {
    if (c->json)
      return cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "key", hex, "office",
                                      office, "role", role, "dir", c->dir, "key_file", key_file,
                                      "rebuilt", 1));
    printf(_("rebuilt %s node for %s in %s from %s\nkey: %s\nnext: pin the office above "
             "('docket peer add'), then run 'docket sync': it brings this office's log back "
             "before anything can be written\n"),
           role, office, c->dir, key_file, hex);
    return 0;
  }
  if (c->json)
    return cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "key", hex, "office",
                                    office, "role", role, "code", cfg.code, "dir", c->dir,
                                    "new_network_key", netkey_file == NULL, "enrolment_request",
                                    request));
  printf(_("created %s node for %s in %s\nkey: %s\ncase numbers: %s-YYYY-NNNN\n%s\n"), role,
         office, c->dir, hex, cfg.code,
         netkey_file ? _("network key: from the file given")
                     : _("network key: new (share it with 'docket network-key')"));
  printf(_("enrolment request: %s (for 'docket cert issue --request')\n"), request);
  return 0;
}

int cmd_id(struct cli *c, int argc, char **argv) {
  static const struct cli_command cmd = {
      "id", NULL, 0, 0,
      N_("Shows this node's public key, office, role and how much it holds.\n"
         "Needs no passphrase."),
      NULL};
  int prc = cli_parse(c, &cmd, NULL, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  dk_node *n = cli_open(c, 0);
  if (n == NULL)
    return 1;
  const struct dk_node_config *cfg = dk_node_config(n);
  char hex[DK_PK_BYTES * 2 + 1];
  dk_hex(dk_node_pk(n), DK_PK_BYTES, hex);
  struct dk_node_stats st;
  int rc = dk_node_stats(n, &st);
  if (rc != 0) {
    dk_node_close(n);
    return cli_fail(rc, _("cannot read the store"));
  }
  int out = 0;
  if (json) {
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "key", hex,
                          "office", cfg->office, "role", dk_office_role_name(cfg->role), "code",
                          cfg->code, "listen", cfg->listen, "logs", (json_int_t)st.logs,
                          "entries", (json_int_t)st.entries, "cases", (json_int_t)st.cases,
                          "own_seq", (json_int_t)st.own_seq, "index_lag",
                          (json_int_t)st.index_lag);
    out = cli_print_json(o);
  } else {
    printf(_("key:     %s\noffice:  %s\nrole:    %s\ncode:    %s\n"), hex, cfg->office,
           dk_office_role_name(cfg->role), cfg->code);
    if (cfg->listen[0])
      printf(_("listen:  %s\n"), cfg->listen);
    printf(_("holds:   %llu entries in %llu logs, %llu cases\n"), (unsigned long long)st.entries,
           (unsigned long long)st.logs, (unsigned long long)st.cases);
    if (st.index_lag > 0)
      printf(_("         %llu entries not in the case tables yet (indexed when the node is next "
               "unlocked)\n"),
             (unsigned long long)st.index_lag);
  }
  dk_node_close(n);
  return out;
}

struct setting_print {
  json_t *obj;
};

static int print_setting(void *ctx, const char *key, const char *value) {
  struct setting_print *p = ctx;
  if (p->obj)
    json_object_set_new(p->obj, key, json_integer(atoll(value)));
  else
    printf(_("%-20s %s days\n"), key, value);
  return 0;
}

int cmd_config(struct cli *c, int argc, char **argv) {
  static const struct cli_command show_cmd = {
      "config", NULL, 0, 0,
      N_("Shows the node's settings. 'docket config set KEY DAYS' changes one:\n"
         "deadline.clinic, deadline.emergency, deadline.joint are the days allowed\n"
         "after triage (defaults 15, 3 and 30)."),
      NULL};
  static const struct cli_command set_cmd = {
      "config set", N_("KEY DAYS"), 2, 2,
      N_("Changes a setting: deadline.clinic, deadline.emergency or deadline.joint,\n"
         "in days from 1 to 3650."),
      NULL};
  if (argc >= 2 && strcmp(argv[1], "set") == 0) {
    const char *args[2];
    size_t nargs = 0;
    int prc = cli_parse(c, &set_cmd, NULL, argc - 1, argv + 1, args, &nargs);
    if (prc != 0)
      return CLI_EXIT(prc);
    dk_node *n = cli_open(c, 0);
    if (n == NULL)
      return 1;
    int rc = dk_node_setting_set(n, args[0], args[1]);
    dk_node_close(n);
    if (rc == DK_EINVAL)
      return cli_command_usage_error(
          &set_cmd, NULL, _("unknown setting '%s' or bad value '%s' (days from 1 to 3650)"),
          args[0], args[1]);
    if (rc != 0)
      return cli_fail(rc, _("cannot save the setting"));
    if (c->json)
      return cli_print_json(json_pack("{s:s, s:I}", "key", args[0], "days",
                                      (json_int_t)atoll(args[1])));
    printf(_("%s = %s days\n"), args[0], args[1]);
    return 0;
  }
  int prc = cli_parse(c, &show_cmd, NULL, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  dk_node *n = cli_open(c, 0);
  if (n == NULL)
    return 1;
  struct setting_print p = {json ? json_object() : NULL};
  dk_node_setting_list(n, print_setting, &p);
  dk_node_close(n);
  return json ? cli_print_json(p.obj) : 0;
}
