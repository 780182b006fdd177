/* docket init, id, config. */
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"

static const char INIT_USAGE[] =
    "docket init --office PATH --role district|street|community|auditor [--code CODE] "
    "[--listen HOST:PORT] [--network-key-file FILE] [--root-pk HEX] [--key-file KEY]";

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
  static const struct option opts[] = {{"office", required_argument, 0, 'o'},
                                       {"role", required_argument, 0, 'r'},
                                       {"code", required_argument, 0, 'c'},
                                       {"listen", required_argument, 0, 'l'},
                                       {"network-key-file", required_argument, 0, 'k'},
                                       {"root-pk", required_argument, 0, 'R'},
                                       {"key-file", required_argument, 0, 'K'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *office = NULL, *role = NULL, *code = NULL, *listen = "", *netkey_file = NULL;
  const char *root_hex = NULL, *key_file = NULL;
  uint8_t root[DK_PK_BYTES];
  int ch;
  optind = 0;
  while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (ch) {
    case 'o': office = optarg; break;
    case 'r': role = optarg; break;
    case 'c': code = optarg; break;
    case 'l': listen = optarg; break;
    case 'k': netkey_file = optarg; break;
    case 'R': root_hex = optarg; break;
    case 'K': key_file = optarg; break;
    case 'h':
      printf("usage: %s\n\nCreates a node in --dir: a new key pair sealed under a passphrase,\n"
             "and an empty store. Prints the node's public key. The first node of a\n"
             "deployment (the district) gets a new network key; every other office is\n"
             "given that key with --network-key-file (see 'docket network-key').\n\n"
             "--key-file KEY rebuilds an office whose disk was lost from its key file\n"
             "(the 'key' file of its old node directory, with its passphrase): the same\n"
             "key, a new store. Pin the office above, then run 'docket sync': it brings\n"
             "the office's own log back, and the node writes nothing before that\n"
             "(docs/operations.md).\n",
             INIT_USAGE);
      return 0;
    default:
      return cli_usage_error(INIT_USAGE, "bad option");
    }
  }
  if (optind != argc)
    return cli_usage_error(INIT_USAGE, "unexpected argument '%s'", argv[optind]);
  if (office == NULL || role == NULL)
    return cli_usage_error(INIT_USAGE, "--office and --role are required");
  if (root_hex && (strlen(root_hex) != 64 || dk_unhex(root_hex, root, DK_PK_BYTES) != DK_PK_BYTES))
    return cli_usage_error(INIT_USAGE, "--root-pk must be the 64 hex digits of the root key");
  struct dk_node_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  if (!dk_office_valid(office))
    return cli_usage_error(INIT_USAGE,
                           "office path '%s' is not valid: use 1 to 4 lowercase segments "
                           "such as zhanhe/beidu/lanxin",
                           office);
  if (dk_office_role_parse(role, &cfg.role) != 0)
    return cli_usage_error(INIT_USAGE, "unknown role '%s'", role);
  strcpy(cfg.office, office);
  if (code) {
    if (!code_valid(code))
      return cli_usage_error(INIT_USAGE, "--code must be 1 to 8 capital letters or digits");
    strcpy(cfg.code, code);
  } else {
    default_code(office, cfg.code, sizeof(cfg.code));
  }
  if (strlen(listen) >= sizeof(cfg.listen))
    return cli_usage_error(INIT_USAGE, "--listen is too long");
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
    return cli_error("%s already holds a docket node", c->dir);
  if (rc == DK_EPASSPHRASE && key_file)
    return cli_error("%s does not open with that passphrase (or is not a docket key file)",
                     key_file);
  if (rc != 0)
    return cli_fail(rc, "cannot create the node");
  char hex[DK_PK_BYTES * 2 + 1];
  dk_hex(pk, DK_PK_BYTES, hex);
  if (key_file) {
    printf("rebuilt %s node for %s in %s from %s\nkey: %s\nnext: pin the office above "
           "('docket peer add'), then run 'docket sync': it brings this office's log back "
           "before anything can be written\n",
           role, office, c->dir, key_file, hex);
    return 0;
  }
  printf("created %s node for %s in %s\nkey: %s\ncase numbers: %s-YYYY-NNNN\n%s\n", role,
         office, c->dir, hex, cfg.code,
         netkey_file ? "network key: from the file given"
                     : "network key: new (share it with 'docket network-key')");
  printf("enrolment request: %s/enrolment-request (for 'docket cert issue --request')\n",
         c->dir);
  return 0;
}

int cmd_id(struct cli *c, int argc, char **argv) {
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0)
      json = 1;
    else if (strcmp(argv[i], "--help") == 0) {
      printf("usage: docket id [--json]\n\nShows this node's public key, office, role and "
             "how much it holds. Needs no passphrase.\n");
      return 0;
    } else
      return cli_usage_error("docket id [--json]", "unexpected argument '%s'", argv[i]);
  }
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
    return cli_fail(rc, "cannot read the store");
  }
  int out = 0;
  if (json) {
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "key", hex, "office",
                          cfg->office, "role", dk_office_role_name(cfg->role), "code", cfg->code,
                          "listen", cfg->listen, "logs", (json_int_t)st.logs, "entries",
                          (json_int_t)st.entries, "cases", (json_int_t)st.cases, "own_seq",
                          (json_int_t)st.own_seq);
    out = cli_print_json(o);
  } else {
    printf("key:     %s\noffice:  %s\nrole:    %s\ncode:    %s\n", hex, cfg->office,
           dk_office_role_name(cfg->role), cfg->code);
    if (cfg->listen[0])
      printf("listen:  %s\n", cfg->listen);
    printf("holds:   %llu entries in %llu logs, %llu cases\n", (unsigned long long)st.entries,
           (unsigned long long)st.logs, (unsigned long long)st.cases);
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
    printf("%-20s %s days\n", key, value);
  return 0;
}

static const char CONFIG_USAGE[] = "docket config [--json] | docket config set KEY DAYS";

int cmd_config(struct cli *c, int argc, char **argv) {
  int json = 0;
  if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
    printf("usage: %s\n\nSettings: deadline.clinic, deadline.emergency, deadline.joint: days "
           "allowed after triage\n(defaults 15, 3 and 30).\n",
           CONFIG_USAGE);
    return 0;
  }
  if (argc >= 2 && strcmp(argv[1], "set") == 0) {
    if (argc != 4)
      return cli_usage_error(CONFIG_USAGE, "config set needs KEY and DAYS");
    dk_node *n = cli_open(c, 0);
    if (n == NULL)
      return 1;
    int rc = dk_node_setting_set(n, argv[2], argv[3]);
    dk_node_close(n);
    if (rc == DK_EINVAL)
      return cli_usage_error(CONFIG_USAGE,
                             "unknown setting '%s' or bad value '%s' (days from 1 to 3650)",
                             argv[2], argv[3]);
    if (rc != 0)
      return cli_fail(rc, "cannot save the setting");
    printf("%s = %s days\n", argv[2], argv[3]);
    return 0;
  }
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0)
      json = 1;
    else
      return cli_usage_error(CONFIG_USAGE, "unexpected argument '%s'", argv[i]);
  }
  dk_node *n = cli_open(c, 0);
  if (n == NULL)
    return 1;
  struct setting_print p = {json ? json_object() : NULL};
  dk_node_setting_list(n, print_setting, &p);
  dk_node_close(n);
  return json ? cli_print_json(p.obj) : 0;
}
