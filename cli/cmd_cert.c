/* docket cert: the deployment root, certificates, revocations, auditor grants. */
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/error.h"
#include "crypto/keyfile.h"
#include "node/trust.h"

#define DAY_MS (24ull * 3600 * 1000)
#define DAYS_DEFAULT 365
#define DAYS_MAX (100 * 366)

static char *root_passphrase(int confirm) {
  return cli_passphrase_from("DOCKET_ROOT_PASSPHRASE_FILE", "DOCKET_ROOT_PASSPHRASE", "root ",
                             confirm);
}

static int parse_key(const char *hex, uint8_t key[DK_PK_BYTES]) {
  return hex && strlen(hex) == 64 && dk_unhex(hex, key, DK_PK_BYTES) == DK_PK_BYTES ? 0
                                                                                    : DK_EINVAL;
}

/* Unlocks the root keyfile at path into root (released by the caller). */
static int root_open(const char *path, struct dk_identity *root) {
  struct dk_secrets sec = {0};
  char *pass = root_passphrase(0);
  if (pass == NULL)
    return 1;
  int rc = dk_secrets_init(&sec);
  if (rc == 0)
    rc = dk_keyfile_read(path, pass, strlen(pass), &sec);
  if (rc == 0)
    rc = dk_identity_from_seed(root, sec.seed);
  dk_secrets_release(&sec);
  cli_passphrase_free(pass);
  if (rc == DK_ENOTFOUND)
    return cli_error_code(rc, _("no root keyfile at %s"), path);
  if (rc == DK_EPASSPHRASE)
    return cli_error_code(rc, _("wrong root passphrase, or %s is damaged"), path);
  if (rc != 0)
    return cli_fail(rc, _("cannot open the root key"));
  return 0;
}

static int init_root(struct cli *c, int argc, char **argv) {
  const char *out = NULL;
  const struct cli_opt opts[] = {
      CLI_REQUIRED("out", "FILE", &out, N_("where to write the root keyfile")), CLI_END};
  static const struct cli_command cmd = {
      "cert init-root", NULL, 0, 0,
      N_("Creates the deployment's root key, sealed under the root passphrase. Keep the\n"
         "file offline; every node learns its public key once."),
      NULL};
  int prc = cli_parse(c, &cmd, opts, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  struct stat st;
  if (stat(out, &st) == 0)
    return cli_error(_("%s exists: a deployment has one root key; not overwriting it"), out);
  char *pass = root_passphrase(1);
  if (pass == NULL)
    return 1;
  struct dk_secrets sec = {0};
  struct dk_identity root = {0};
  int rc = dk_secrets_init(&sec);
  if (rc == 0) {
    /* The storage-key half of the keyfile is unused for a root: random. */
    randombytes_buf(sec.seed, DK_SEED_BYTES);
    randombytes_buf(sec.storage_key, DK_SYMKEY_BYTES);
    rc = dk_identity_from_seed(&root, sec.seed);
  }
  if (rc == 0)
    rc = dk_keyfile_write(out, pass, strlen(pass), &sec);
  dk_secrets_release(&sec);
  cli_passphrase_free(pass);
  if (rc != 0) {
    dk_identity_release(&root);
    return cli_fail(rc, _("cannot create the root key"));
  }
  char hex[DK_PK_BYTES * 2 + 1];
  dk_hex(root.pk, DK_PK_BYTES, hex);
  dk_identity_release(&root);
  if (c->json)
    return cli_print_json(json_pack("{s:s, s:s}", "file", out, "root", hex));
  printf(_("root key written to %s (keep it offline)\nroot public key: %s\n"), out, hex);
  return 0;
}

static int set_root(struct cli *c, int argc, char **argv) {
  static const struct cli_command cmd = {
      "cert set-root", "HEX", 1, 1,
      N_("Makes this node trust the deployment's root public key (64 hex digits)."), NULL};
  const char *hex = NULL;
  int prc = cli_parse(c, &cmd, NULL, argc, argv, &hex, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  uint8_t root[DK_PK_BYTES];
  if (parse_key(hex, root) != 0)
    return cli_command_usage_error(&cmd, NULL,
                                   _("set-root needs the root public key (64 hex digits)"));
  dk_node *n = cli_open(c, 1);
  if (n == NULL)
    return 1;
  int rc = dk_node_set_root(n, root);
  dk_node_close(n);
  if (rc == DK_EEXIST)
    return cli_error_code(rc, _("this node already trusts another root key"));
  if (rc != 0)
    return cli_fail(rc, _("cannot set the root key"));
  if (c->json)
    return cli_print_json(json_pack("{s:s}", "root", hex));
  printf(_("root key set: %s\n"), hex);
  return 0;
}

/* issue, revoke, grant-auditor: build, sign and append a statement. */
static int append(struct cli *c, uint64_t type, int argc, char **argv) {
  const char *root_file = NULL, *key = NULL, *office = NULL, *role = NULL, *reason = NULL;
  const char *request = NULL, *days_s = NULL;
  char req_key[DK_PK_BYTES * 2 + 1], req_office[DK_NAME_BYTES_MAX], req_role[16];
  uint64_t days = DAYS_DEFAULT;
  const struct cli_opt issue_opts[] = {
      CLI_REQUIRED("root-key", "FILE", &root_file, N_("the root keyfile")),
      CLI_STRING("request", "FILE", &request,
                 N_("an office's enrolment request (instead of --key, --office, --role)")),
      CLI_STRING("key", "KEY", &key, N_("the node's public key (64 hex digits)")),
      CLI_STRING("office", "PATH", &office, N_("the office the key speaks for")),
      CLI_STRING("role", "district|street|community|auditor", &role, N_("the office's level")),
      CLI_STRING("days", "N", &days_s, N_("how long the certificate holds (default 365)")),
      CLI_END};
  const struct cli_opt revoke_opts[] = {
      CLI_REQUIRED("root-key", "FILE", &root_file, N_("the root keyfile")),
      CLI_REQUIRED("key", "KEY", &key, N_("the node's public key (64 hex digits)")),
      CLI_REQUIRED("reason", "TEXT", &reason, N_("why")),
      CLI_END};
  const struct cli_opt grant_opts[] = {
      CLI_REQUIRED("root-key", "FILE", &root_file, N_("the root keyfile")),
      CLI_REQUIRED("key", "KEY", &key, N_("the auditor's public key (64 hex digits)")),
      CLI_REQUIRED("subtree", "PATH", &office, N_("the offices whose cases it may read")),
      CLI_STRING("days", "N", &days_s, N_("how long the grant holds (default 365)")),
      CLI_END};
  static const struct cli_command issue_cmd = {
      "cert issue", NULL, 0, 0,
      N_("Certifies a node key for an office and role, signed by the root key into\n"
         "the district's log. Run on the district node."),
      NULL};
  static const struct cli_command revoke_cmd = {
      "cert revoke", NULL, 0, 0,
      N_("Revokes a node key: its entries after now are refused everywhere."), NULL};
  static const struct cli_command grant_cmd = {
      "cert grant-auditor", NULL, 0, 0,
      N_("Lets an auditor's key read the cases of an office subtree."), NULL};
  const struct cli_command *cmd = type == DK_ENTRY_CERT     ? &issue_cmd
                                  : type == DK_ENTRY_REVOKE ? &revoke_cmd
                                                            : &grant_cmd;
  const struct cli_opt *opts = type == DK_ENTRY_CERT     ? issue_opts
                               : type == DK_ENTRY_REVOKE ? revoke_opts
                                                         : grant_opts;
  int prc = cli_parse(c, cmd, opts, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  if (days_s && cli_parse_u64(days_s, 1, DAYS_MAX, &days) != 0)
    return cli_command_usage_error(cmd, opts, _("--days must be 1 to %d"), DAYS_MAX);
  if (request) {
    /* The office's own signed request names the key, office and role. */
    if (type != DK_ENTRY_CERT || key || office || role)
      return cli_command_usage_error(cmd, opts, _("--request goes with 'issue', instead of --key, "
                                         "--office and --role"));
    uint8_t k[DK_PK_BYTES];
    if (cli_request_read(request, k, req_office, req_role) != 0)
      return 1;
    dk_hex(k, DK_PK_BYTES, req_key);
    key = req_key;
    office = req_office;
    role = req_role;
  }
  struct dk_statement *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return cli_fail(DK_ENOMEM, _("cannot build the statement"));
  int out = 0;
  s->type = type;
  if (root_file == NULL || parse_key(key, s->key) != 0) {
    out = cli_command_usage_error(cmd, opts, _("--root-key FILE and --key (64 hex digits) are required"));
    goto free_s;
  }
  if (type == DK_ENTRY_REVOKE) {
    if (reason == NULL || strlen(reason) >= sizeof(s->reason)) {
      out = cli_command_usage_error(cmd, opts, _("revoke needs --reason TEXT (under %d bytes)"),
                            DK_REASON_BYTES_MAX);
      goto free_s;
    }
    strcpy(s->reason, reason);
  } else {
    enum dk_office_role r;
    if (office == NULL || !dk_office_valid(office)) {
      out = cli_command_usage_error(cmd, opts, _("%s needs a valid office path"),
                            type == DK_ENTRY_CERT ? "--office" : "--subtree");
      goto free_s;
    }
    strcpy(s->office, office);
    if (type == DK_ENTRY_CERT) {
      if (role == NULL || dk_office_role_parse(role, &r) != 0) {
        out = cli_command_usage_error(cmd, opts, _("--role must be district, street, community or "
                                          "auditor"));
        goto free_s;
      }
      strcpy(s->role, role);
    }
  }
  dk_node *n = cli_open(c, 1);
  if (n == NULL) {
    out = 1;
    goto free_s;
  }
  struct dk_identity root = {0};
  if (dk_node_config(n)->role != DK_OFFICE_DISTRICT) {
    out = cli_error(_("statements go in the district's log: run this on the district node "
                    "(this node is %s)"), dk_office_role_name(dk_node_config(n)->role));
    goto close;
  }
  if (dk_node_root_pk(n, s->root) != 0) {
    out = cli_error(_("no root key configured here: run 'docket cert set-root HEX' first"));
    goto close;
  }
  out = root_open(root_file, &root);
  if (out != 0)
    goto close;
  if (memcmp(root.pk, s->root, DK_PK_BYTES) != 0) {
    out = cli_error(_("%s is not the root key this node trusts"), root_file);
    goto close;
  }
  uint64_t now = dk_node_now(n);
  s->not_before_ms = now;
  s->not_after_ms = now + days * DAY_MS;
  s->revoked_at_ms = now;
  int rc = dk_node_statement_append(n, &root, s);
  if (rc != 0) {
    out = cli_fail(rc, _("cannot append the statement"));
    goto close;
  }
  if (c->json) {
    json_t *o = json_pack("{s:s, s:s}", "statement",
                          type == DK_ENTRY_CERT     ? "cert"
                          : type == DK_ENTRY_REVOKE ? "revoke"
                                                    : "auditor",
                          "key", key);
    if (type != DK_ENTRY_REVOKE) {
      json_object_set_new(o, type == DK_ENTRY_CERT ? "office" : "subtree", json_string(office));
      json_object_set_new(o, "role", type == DK_ENTRY_CERT ? json_string(role) : json_null());
      json_object_set_new(o, "not_after", cli_json_time(s->not_after_ms));
    } else {
      json_object_set_new(o, "reason", json_string(reason));
    }
    out = cli_print_json(o);
  } else if (type == DK_ENTRY_CERT)
    printf(_("certified %s as %s (%s) for %llu days\n"), key, office, role,
           (unsigned long long)days);
  else if (type == DK_ENTRY_REVOKE)
    printf(_("revoked %s\n"), key);
  else
    printf(_("auditor %s may read %s for %llu days\n"), key, office, (unsigned long long)days);
close:
  dk_identity_release(&root);
  dk_node_close(n);
free_s:
  free(s);
  return out;
}

struct list_ctx {
  dk_node *n;
  uint64_t now;
  json_t *arr;
};

static const char *status_of(struct list_ctx *l, const struct dk_statement *s) {
  uint64_t r;
  if (s->type == DK_ENTRY_REVOKE)
    return "revoked";
  if (dk_node_revoked_at(l->n, s->key, &r) == 0 && dk_revoked_by(1, r, l->now))
    return "revoked";
  if (l->now < s->not_before_ms)
    return "not yet valid";
  if (l->now >= s->not_after_ms)
    return "expired";
  return "valid";
}

static int list_cb(void *ctx, const struct dk_statement *s) {
  struct list_ctx *l = ctx;
  char hex[DK_PK_BYTES * 2 + 1];
  dk_hex(s->key, DK_PK_BYTES, hex);
  const char *kind = s->type == DK_ENTRY_CERT ? "cert" : s->type == DK_ENTRY_REVOKE ? "revoke"
                                                                                    : "auditor";
  const char *status = status_of(l, s);
  if (l->arr) {
    json_t *o = json_pack("{s:s, s:s, s:s}", "kind", kind, "key", hex, "status", status);
    if (s->type == DK_ENTRY_REVOKE) {
      json_object_set_new(o, "revoked_at", cli_json_time(s->revoked_at_ms));
      json_object_set_new(o, "reason", json_string(s->reason));
    } else {
      json_object_set_new(o, s->type == DK_ENTRY_CERT ? "office" : "subtree",
                          json_string(s->office));
      if (s->type == DK_ENTRY_CERT)
        json_object_set_new(o, "role", json_string(s->role));
      json_object_set_new(o, "not_before", cli_json_time(s->not_before_ms));
      json_object_set_new(o, "not_after", cli_json_time(s->not_after_ms));
    }
    json_array_append_new(l->arr, o);
    return 0;
  }
  char a[32], b[32];
  if (s->type == DK_ENTRY_REVOKE) {
    cli_format_time(s->revoked_at_ms, 0, a, sizeof(a));
    printf(_("revoke   %.16s...  at %s: %s\n"), hex, a, s->reason);
  } else {
    cli_format_time(s->not_before_ms, 1, a, sizeof(a));
    cli_format_time(s->not_after_ms, 1, b, sizeof(b));
    printf(_("%-8s %.16s...  %s%s%s  %s to %s  %s\n"), kind, hex, s->office,
           s->type == DK_ENTRY_CERT ? " " : "", s->type == DK_ENTRY_CERT ? s->role : "", a, b,
           status);
  }
  return 0;
}

static int list(struct cli *c, int argc, char **argv) {
  static const struct cli_command cmd = {
      "cert list", NULL, 0, 0,
      N_("Lists the root key and every statement: certificates, revocations and\n"
         "auditor grants, with whether each holds now."),
      NULL};
  int prc = cli_parse(c, &cmd, NULL, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  dk_node *n = cli_open(c, 0);
  if (n == NULL)
    return 1;
  struct list_ctx l = {n, dk_node_now(n), json ? json_array() : NULL};
  uint8_t root[DK_PK_BYTES];
  int has_root = dk_node_root_pk(n, root) == 0;
  char hex[DK_PK_BYTES * 2 + 1] = "";
  if (has_root)
    dk_hex(root, DK_PK_BYTES, hex);
  if (!json)
    printf(_("root: %s\n"), has_root ? hex : "(none: pinned peers only)");
  int rc = dk_node_statement_list(n, list_cb, &l);
  dk_node_close(n);
  if (rc != 0) {
    json_decref(l.arr);
    return cli_fail(rc, _("cannot list the statements"));
  }
  if (json)
    return cli_print_json(json_pack("{s:o, s:o}", "root", has_root ? json_string(hex) : json_null(),
                                    "statements", l.arr));
  return 0;
}

static int issue(struct cli *c, int argc, char **argv) {
  return append(c, DK_ENTRY_CERT, argc, argv);
}
static int revoke(struct cli *c, int argc, char **argv) {
  return append(c, DK_ENTRY_REVOKE, argc, argv);
}
static int grant_auditor(struct cli *c, int argc, char **argv) {
  return append(c, DK_ENTRY_AUDITOR, argc, argv);
}

static const struct cli_sub CERT_SUBS[] = {
    {"init-root", init_root, N_("create the deployment's root key")},
    {"set-root", set_root, N_("trust the root public key")},
    {"issue", issue, N_("certify a node key for an office")},
    {"revoke", revoke, N_("revoke a node key")},
    {"grant-auditor", grant_auditor, N_("let an auditor read a subtree's cases")},
    {"list", list, N_("list the root key and the statements")},
    {NULL, NULL, NULL}};

int cmd_cert(struct cli *c, int argc, char **argv) {
  return cli_dispatch(
      c, "docket cert",
      N_("The district keeps the deployment's root key (init-root, offline if it\n"
         "can) and signs statements into its own log: certificates for node keys,\n"
         "revocations and auditor grants. They replicate to every office. Every node\n"
         "learns the root public key once (init --root-pk or set-root). The root\n"
         "passphrase comes from DOCKET_ROOT_PASSPHRASE_FILE, DOCKET_ROOT_PASSPHRASE or\n"
         "a prompt."),
      CERT_SUBS, argc, argv);
}
