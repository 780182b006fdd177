/* docket cert: the deployment root, certificates, revocations, auditor grants. */
#include <dirent.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/error.h"
#include "common/limits.h"
#include "crypto/keyfile.h"
#include "node/trust/trust.h"

static const char CERT_USAGE[] =
    "docket cert init-root --out FILE\n"
    "       docket cert set-root HEX\n"
    "       docket cert issue --root-key FILE (--key KEY --office PATH --role ROLE |\n"
    "                         --request FILE|DIR...) [--days N] [--json]\n"
    "       docket cert renew --root-key FILE --key KEY [--days N] [--json]\n"
    "       docket cert revoke --root-key FILE --key KEY --reason TEXT\n"
    "       docket cert grant-auditor --root-key FILE --key KEY --subtree PATH [--days N]\n"
    "       docket cert list [--json]";

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

/* ---- issue --request: many requests, one unlock of the root -------------- */

struct request {
  uint8_t key[DK_PK_BYTES];
  char office[DK_NAME_BYTES_MAX];
  char role[16];
  char path[4200];
};

struct batch {
  struct request *r;
  size_t count;
};

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the request at path (checked: signature, office, role). */
static int batch_add(struct batch *b, const char *path) {
  if (b->count == DK_CERT_BATCH_MAX)
    return cli_error(_("more than %d requests at once"), DK_CERT_BATCH_MAX);
  struct request *grown = realloc(b->r, (b->count + 1) * sizeof(*b->r));
  if (grown == NULL)
    return cli_fail(DK_ENOMEM, "cannot read the requests");
  b->r = grown;
  struct request *q = &b->r[b->count];
  memset(q, 0, sizeof(*q));
  snprintf(q->path, sizeof(q->path), "%s", path);
  if (cli_request_read(path, q->key, q->office, q->role) != 0)
    return 1;
  for (size_t i = 0; i < b->count; i++)
    if (memcmp(b->r[i].key, q->key, DK_PK_BYTES) == 0)
      return cli_error(_("%s and %s ask for the same key"), b->r[i].path, path);
  b->count++;
  return 0;
}

/* A directory: every file in it that does not start with '.', by name. */
static int batch_add_dir(struct batch *b, const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return cli_error(_("cannot read %s"), dir);
  char **names = NULL;
  size_t n = 0;
  int out = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    if (n == DK_CERT_BATCH_MAX) {
      out = cli_error(_("more than %d requests in %s"), DK_CERT_BATCH_MAX, dir);
      break;
    }
    char **grown = realloc(names, (n + 1) * sizeof(*names));
    if (grown == NULL || (grown[n] = strdup(e->d_name)) == NULL) {
      if (grown)
        names = grown;
      out = cli_fail(DK_ENOMEM, "cannot read the requests");
      break;
    }
    names = grown;
    n++;
  }
  closedir(d);
  if (out == 0 && n == 0)
    out = cli_error(_("%s holds no requests"), dir);
  if (out == 0)
    qsort(names, n, sizeof(*names), cmp_name);
  for (size_t i = 0; out == 0 && i < n; i++) {
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
      out = batch_add(b, path);
  }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  return out;
}

static int issue_batch(struct cli *c, const char *root_file, const char **paths, size_t npaths,
                       uint64_t days, int json) {
  if (root_file == NULL)
    return cli_usage_error(CERT_USAGE, "--root-key FILE is required");
  struct batch b = {NULL, 0};
  int out = 0;
  /* Every request is read and checked before the root is unlocked: one bad
   * file and nothing is certified. */
  for (size_t i = 0; out == 0 && i < npaths; i++) {
    struct stat st;
    if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode))
      out = batch_add_dir(&b, paths[i]);
    else
      out = batch_add(&b, paths[i]);
  }
  if (out != 0) {
    free(b.r);
    fprintf(stderr, "docket: no certificate was issued\n");
    return out;
  }
  dk_node *n = cli_open(c, 1);
  if (n == NULL) {
    free(b.r);
    return 1;
  }
  struct dk_identity root = {0};
  struct dk_statement *s = calloc(1, sizeof(*s));
  json_t *arr = json ? json_array() : NULL;
  size_t done = 0;
  if (s == NULL) {
    out = cli_fail(DK_ENOMEM, "cannot build the statements");
    goto close;
  }
  if (dk_node_config(n)->role != DK_OFFICE_DISTRICT) {
    out = cli_error(_("statements go in the district's log: run this on the district node "
                    "(this node is %s)"), dk_office_role_name(dk_node_config(n)->role));
    goto close;
  }
  if (dk_node_root_pk(n, s->root) != 0) {
    out = cli_error(_("no root key configured here: run 'docket cert set-root HEX' first"));
    goto close;
  }
  out = root_open(root_file, &root); /* the one unlock */
  if (out != 0)
    goto close;
  if (memcmp(root.pk, s->root, DK_PK_BYTES) != 0) {
    out = cli_error(_("%s is not the root key this node trusts"), root_file);
    goto close;
  }
  for (size_t i = 0; i < b.count; i++) {
    struct request *q = &b.r[i];
    uint64_t now = dk_node_now(n);
    s->type = DK_ENTRY_CERT;
    memcpy(s->key, q->key, DK_PK_BYTES);
    snprintf(s->office, sizeof(s->office), "%s", q->office);
    snprintf(s->role, sizeof(s->role), "%s", q->role);
    s->not_before_ms = now;
    s->not_after_ms = now + days * DAY_MS;
    s->revoked_at_ms = now;
    int rc = dk_node_statement_append(n, &root, s);
    if (rc != 0) {
      out = cli_fail(rc, q->path);
      fprintf(stderr, "docket: %zu of %zu certificates were issued before it stopped; issuing "
                      "the same requests again is harmless\n", done, b.count);
      goto close;
    }
    done++;
    char hex[DK_PK_BYTES * 2 + 1];
    dk_hex(q->key, DK_PK_BYTES, hex);
    if (arr)
      json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:o}", "request", q->path,
                                           "key", hex, "office", q->office, "role", q->role,
                                           "not_after", cli_json_time(s->not_after_ms)));
    else
      printf(_("certified %s as %s (%s) for %llu days\n"), hex, q->office, q->role,
             (unsigned long long)days);
  }
  if (arr) {
    out = cli_print_json(arr);
    arr = NULL;
  }
close:
  json_decref(arr);
  dk_identity_release(&root);
  dk_node_close(n);
  free(s);
  free(b.r);
  return out;
}

/* ---- renew: a new certificate for the same key and office --------------- */

struct renew_find {
  const uint8_t *key;
  uint64_t now;
  int found;
  struct dk_statement best; /* the certificate in force that lasts longest */
};

static int renew_cb(void *ctx, const struct dk_statement *s) {
  struct renew_find *f = ctx;
  if (s->type != DK_ENTRY_CERT || memcmp(s->key, f->key, DK_PK_BYTES) != 0)
    return 0;
  if (!(s->not_before_ms <= f->now && f->now < s->not_after_ms))
    return 0;
  if (!f->found || s->not_after_ms > f->best.not_after_ms)
    f->best = *s;
  f->found = 1;
  return 0;
}

static int renew(struct cli *c, int argc, char **argv) {
  const char *root_file = NULL, *key = NULL, *days_s = NULL;
  uint64_t days = DAYS_DEFAULT;
  const struct cli_opt opts[] = {
      CLI_REQUIRED("root-key", "FILE", &root_file, N_("the root keyfile")),
      CLI_REQUIRED("key", "KEY", &key, N_("the node's public key (64 hex digits)")),
      CLI_STRING("days", "N", &days_s, N_("how long the certificate holds (default 365)")),
      CLI_END};
  static const struct cli_command cmd = {
      "cert renew", NULL, 0, 0,
      N_("Issues a new certificate for a key that holds a valid one, for the same office\n"
         "and role."),
      NULL};
  int prc = cli_parse(c, &cmd, opts, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  if (days_s && cli_parse_u64(days_s, 1, DAYS_MAX, &days) != 0)
    return cli_command_usage_error(&cmd, opts, _("--days must be 1 to %d"), DAYS_MAX);
  uint8_t k[DK_PK_BYTES];
  if (root_file == NULL || parse_key(key, k) != 0)
    return cli_command_usage_error(&cmd, opts,
                                   _("renew needs --root-key FILE and --key (64 hex digits)"));
  dk_node *n = cli_open(c, 1);
  if (n == NULL)
    return 1;
  struct dk_identity root = {0};
  struct renew_find *f = calloc(1, sizeof(*f));
  int out = 0;
  if (f == NULL) {
    out = cli_fail(DK_ENOMEM, "cannot renew");
    goto close;
  }
  f->key = k;
  f->now = dk_node_now(n);
  int rc = dk_node_statement_list(n, renew_cb, f);
  if (rc != 0) {
    out = cli_fail(rc, _("cannot read the certificates"));
    goto close;
  }
  uint64_t revoked;
  if (dk_node_revoked_at(n, k, &revoked) == 0) {
    out = cli_error(_("that key is revoked: enrol a new key instead (docs/operations.md)"));
    goto close;
  }
  if (!f->found) {
    out = cli_error(_("no certificate in force for that key here: renew works before expiry; "
                    "after it, issue one again with 'docket cert issue'"));
    goto close;
  }
  if (dk_node_config(n)->role != DK_OFFICE_DISTRICT ||
      dk_node_root_pk(n, f->best.root) != 0) {
    out = cli_error(_("run this on the district node, which holds the root key's statements"));
    goto close;
  }
  out = root_open(root_file, &root);
  if (out != 0)
    goto close;
  if (memcmp(root.pk, f->best.root, DK_PK_BYTES) != 0) {
    out = cli_error(_("%s is not the root key this node trusts"), root_file);
    goto close;
  }
  struct dk_statement *s = &f->best; /* same key, office and role */
  uint64_t old_after = s->not_after_ms;
  s->not_before_ms = f->now;
  s->not_after_ms = f->now + days * DAY_MS;
  s->revoked_at_ms = f->now;
  rc = dk_node_statement_append(n, &root, s);
  if (rc != 0) {
    out = cli_fail(rc, _("cannot append the certificate"));
    goto close;
  }
  if (json)
    out = cli_print_json(json_pack("{s:s, s:s, s:s, s:o, s:o}", "key", key, "office", s->office,
                                   "role", s->role, "previous_not_after",
                                   cli_json_time(old_after), "not_after",
                                   cli_json_time(s->not_after_ms)));
  else {
    char a[32], b2[32];
    cli_format_time(old_after, 1, a, sizeof(a));
    cli_format_time(s->not_after_ms, 1, b2, sizeof(b2));
    printf(_("renewed %s as %s (%s): valid until %s (was %s)\n"), key, s->office, s->role, b2, a);
  }
close:
  dk_identity_release(&root);
  dk_node_close(n);
  free(f);
  return out;
}

/* issue, revoke, grant-auditor: build, sign and append a statement. */
static int append(struct cli *c, uint64_t type, int argc, char **argv) {
  const char *root_file = NULL, *key = NULL, *office = NULL, *role = NULL, *reason = NULL;
  const char *days_s = NULL;
  const char *request_items[DK_CERT_BATCH_MAX];
  struct cli_list requests = {request_items, 0, DK_CERT_BATCH_MAX};
  uint64_t days = DAYS_DEFAULT;
  const struct cli_opt issue_opts[] = {
      CLI_REQUIRED("root-key", "FILE", &root_file, N_("the root keyfile")),
      CLI_LIST("request", "FILE|DIR", &requests,
               N_("an office's enrolment request, or a directory of them (instead of --key, "
                  "--office, --role)")),
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
  if (requests.count > 0) {
    /* The offices' own signed requests name the keys, offices and roles. */
    if (type != DK_ENTRY_CERT || key || office || role)
      return cli_command_usage_error(cmd, opts, _("--request goes with 'issue', instead of --key, "
                                                  "--office and --role"));
    if (root_file == NULL)
      return cli_command_usage_error(cmd, opts, _("--%s is required"), "root-key");
    return issue_batch(c, root_file, request_items, requests.count, days, c->json);
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
    {"renew", renew, N_("renew a node key's certificate")},
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
