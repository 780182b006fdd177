/* docket peer, serve, sync, network-key. */
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/config.h"
#include "cli/service.h"
#include "common/error.h"
#include "replication/sync_store.h"
#include "replication/transport.h"

/* ---- network key ----------------------------------------------------------- */

int cli_read_network_key(const char *path, uint8_t key[32]) {
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return cli_error(_("cannot read the network key file %s"), path);
  char hex[130];
  size_t n = fread(hex, 1, sizeof(hex) - 1, f);
  fclose(f);
  int rc = cli_network_key_parse(hex, n, key);
  sodium_memzero(hex, sizeof(hex));
  if (rc != 0)
    return cli_error(_("%s does not hold a network key (64 hex digits)"), path);
  return 0;
}

/* docket network-key rotate: the district publishes the next key. */
static int network_key_rotate(struct cli *c, int argc, char **argv) {
  const char *grace_arg = NULL;
  const struct cli_opt opts[] = {
      CLI_STRING("grace", "DAYS", &grace_arg,
                 N_("days the old key keeps working (default 30, from 1 to 365)")),
      CLI_END};
  static const struct cli_command cmd = {
      "network-key rotate", NULL, 0, 0,
      N_("The district makes a fresh network key and publishes it in its log, sealed\n"
         "to every office that holds a certificate now, so that no one else (a\n"
         "stranger, a courier carrying a bundle) learns it. Each office receives it\n"
         "with its next sync or bundle. For the grace period nodes take the old key\n"
         "and the new one; after it, only the new one: an office that has not\n"
         "received it by then is refused. Run by the district only; the new key is\n"
         "what 'docket network-key' prints from now on."),
      NULL};
  int prc = cli_parse(c, &cmd, opts, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  uint64_t grace = DK_NETKEY_GRACE_DAYS_DEFAULT;
  if (grace_arg && cli_parse_u64(grace_arg, DK_NETKEY_GRACE_DAYS_MIN, DK_NETKEY_GRACE_DAYS_MAX,
                                 &grace) != 0)
    return cli_command_usage_error(&cmd, opts, _("--grace '%s' is not a number of days from %d "
                                                 "to %d"),
                                   grace_arg, DK_NETKEY_GRACE_DAYS_MIN, DK_NETKEY_GRACE_DAYS_MAX);
  dk_node *n = cli_open(c, 1);
  if (n == NULL)
    return 1;
  struct dk_netkey_rotate_result r;
  int rc = dk_node_netkey_rotate(n, grace, &r);
  dk_node_close(n);
  if (rc == DK_ESCOPE)
    return cli_error_code(rc, _("only the district rotates the network key; this node is not "
                                "the district"));
  if (rc == DK_ENOTFOUND)
    return cli_error_code(rc, _("this node has no root key configured: certificates say who "
                                "receives the new key (see 'docket cert')"));
  if (rc == DK_ECERT)
    return cli_error_code(rc, _("this node's key holds no certificate as the district in force "
                                "now: issue one with 'docket cert issue' first"));
  if (rc == DK_EEXIST) {
    char when[32];
    cli_format_time(r.old_until_ms, 0, when, sizeof(when));
    return cli_error_code(rc, _("the last rotation's grace period runs until %s: rotating again "
                                "now would cut off every office that has not synced since; "
                                "rotate after that date"),
                          when);
  }
  if (rc == DK_ELIMIT)
    return cli_error_code(rc, _("more than %d offices hold certificates: too many for one "
                                "rotation"),
                          DK_NETKEY_RECIPIENTS_MAX);
  if (rc != 0)
    return cli_fail(rc, _("cannot rotate the network key"));
  char until[32], iso[32];
  cli_format_time(r.old_until_ms, 0, until, sizeof(until));
  cli_format_iso(r.old_until_ms, iso, sizeof(iso));
  if (c->json)
    return cli_print_json(json_pack("{s:b, s:I, s:I, s:s}", "rotated", 1, "seq",
                                    (json_int_t)r.seq, "recipients", (json_int_t)r.recipients,
                                    "old_key_until", iso));
  printf(_("network key rotated: the new key is sealed to %zu certified offices (entry %llu "
           "of this log)\n"),
         r.recipients, (unsigned long long)r.seq);
  printf(_("the old key stops working after %s: every office must sync (or import a bundle) "
           "before then\n"),
         until);
  return 0;
}

/* docket network-key set --file FILE: an office that missed a rotation. */
static int network_key_set(struct cli *c, int argc, char **argv) {
  const char *file = NULL;
  const struct cli_opt opts[] = {
      CLI_REQUIRED("file", "FILE", &file,
                   N_("the network key (from 'docket network-key' at the street)")),
      CLI_END};
  static const struct cli_command cmd = {
      "network-key set", NULL, 0, 0,
      N_("Gives this node the deployment's current network key by hand: for an office\n"
         "that was offline past the end of a rotation's grace period and is now\n"
         "refused. Take the key from 'docket network-key' at its street and carry it\n"
         "privately. It replaces every network key this node held."),
      NULL};
  int prc = cli_parse(c, &cmd, opts, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  uint8_t key[32];
  if (cli_read_network_key(file, key) != 0)
    return 1;
  dk_node *n = cli_open(c, 1);
  if (n == NULL) {
    sodium_memzero(key, sizeof(key));
    return 1;
  }
  int rc = dk_node_set_network_key(n, key);
  sodium_memzero(key, sizeof(key));
  dk_node_close(n);
  if (rc != 0)
    return cli_fail(rc, _("cannot store the network key"));
  if (c->json)
    return cli_print_json(json_pack("{s:b}", "set", 1));
  printf(_("network key set: this node now uses the key from %s\n"), file);
  return 0;
}

json_t *cli_netkey_status(dk_node *n, uint64_t now) {
  struct dk_netkey_rotation_info r;
  int rc = dk_node_netkey_rotation(n, &r);
  if (rc != 0)
    return json_pack("{s:o}", "rotation", json_null());
  json_t *o = json_pack("{s:I, s:o, s:o, s:b, s:b}", "seq", (json_int_t)r.seq, "published",
                        cli_json_time(r.ts_ms), "old_key_until", cli_json_time(r.old_until_ms),
                        "pending", now <= r.old_until_ms, "have_new_key", r.have_new_key);
  return json_pack("{s:o}", "rotation", o);
}

void cli_netkey_status_print(json_t *nk) {
  json_t *r = json_object_get(nk, "rotation");
  if (r == NULL || json_is_null(r))
    return;
  const char *until = json_string_value(json_object_get(r, "old_key_until"));
  int pending = json_is_true(json_object_get(r, "pending"));
  int have = json_is_true(json_object_get(r, "have_new_key"));
  if (!have)
    printf(_("network key:  ROTATED by the district, but this node did not receive the new key "
             "(it held no certificate then): it is refused after %.10s %.5s UTC\n"),
           until ? until : "", until ? until + 11 : "");
  else if (pending)
    printf(_("network key:  rotated; the old key stops working after %.10s %.5s UTC (offices "
             "that have not synced since must do so before then)\n"),
           until ? until : "", until ? until + 11 : "");
  else
    printf(_("network key:  rotated; only the new key works since %.10s %.5s UTC\n"),
           until ? until : "", until ? until + 11 : "");
}

int cmd_network_key(struct cli *c, int argc, char **argv) {
  /* The first argument that is not an option (nor --lang's value) names
   * the subcommand: 'docket network-key --json rotate' works too. */
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0)
      break;
    if (strcmp(argv[i], "--lang") == 0) {
      i++;
      continue;
    }
    if (argv[i][0] == '-')
      continue;
    if (strcmp(argv[i], "rotate") != 0 && strcmp(argv[i], "set") != 0)
      break;
    char *word = argv[i];
    for (int j = i; j > 1; j--)
      argv[j] = argv[j - 1];
    argv[1] = word; /* rotate's own argv[0] is the word itself */
    return strcmp(word, "rotate") == 0 ? network_key_rotate(c, argc - 1, argv + 1)
                                       : network_key_set(c, argc - 1, argv + 1);
  }
  static const struct cli_command cmd = {
      "network-key", "[rotate | set]", 0, 0,
      N_("Prints this deployment's network key (64 hex digits). Give it to every new\n"
         "office for 'docket init --network-key-file FILE'; keep it from strangers:\n"
         "without it no one can even start a handshake with a node. After a rotation\n"
         "it prints the new key. 'docket network-key rotate' (the district only)\n"
         "publishes a new key; 'docket network-key set --file FILE' gives an office\n"
         "that missed one the current key by hand (see their --help)."),
      NULL};
  int prc = cli_parse(c, &cmd, NULL, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  dk_node *n = cli_open(c, 1);
  if (n == NULL)
    return 1;
  uint8_t key[32];
  int rc = dk_node_network_key(n, key);
  dk_node_close(n);
  if (rc != 0)
    return cli_fail(rc, _("cannot read the network key"));
  char hex[65];
  dk_hex(key, 32, hex);
  sodium_memzero(key, sizeof(key));
  if (json)
    return cli_print_json(json_pack("{s:s}", "network_key", hex));
  puts(hex);
  return 0;
}

/* ---- peers ------------------------------------------------------------------- */

static int name_valid(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n >= 64)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
          (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
      return 0;
  return 1;
}

static int peer_add(struct cli *c, int argc, char **argv) {
  const char *name = NULL, *addr = "", *key = NULL, *office = NULL, *role = NULL;
  const struct cli_opt opts[] = {
      CLI_REQUIRED("name", "NAME", &name, N_("what this node calls the peer")),
      CLI_STRING("addr", "HOST:PORT", &addr, N_("where to dial it (offices above this one)")),
      CLI_REQUIRED("key", "KEY", &key, N_("its public key, from 'docket id' on that node")),
      CLI_REQUIRED("office", "PATH", &office, N_("its office path")),
      CLI_REQUIRED("role", "district|street|community|auditor", &role, N_("its office's level")),
      CLI_END};
  static const struct cli_command cmd = {
      "peer add", NULL, 0, 0,
      N_("Pins a node this office replicates with: its key, office path and role, and\n"
         "for offices above, the address to dial. A peer that is not pinned gets nothing."),
      NULL};
  int prc = cli_parse(c, &cmd, opts, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  struct dk_peer p;
  memset(&p, 0, sizeof(p));
  if (!name_valid(name))
    return cli_command_usage_error(&cmd, opts, _("a peer name is 1-63 letters, digits, '-', '_' or '.'"));
  strcpy(p.name, name);
  if (strlen(key) != 64 || dk_unhex(key, p.key, 32) != 32)
    return cli_command_usage_error(&cmd, opts, _("--key must be the 64 hex digits 'docket id' shows"));
  if (!dk_office_valid(office))
    return cli_command_usage_error(&cmd, opts, _("office path '%s' is not valid"), office);
  strcpy(p.office, office);
  if (dk_office_role_parse(role, &p.role) != 0)
    return cli_command_usage_error(&cmd, opts, _("unknown role '%s'"), role);
  struct sockaddr_storage ss;
  if (addr[0] && dk_net_parse_addr(addr, &ss) != 0)
    return cli_command_usage_error(&cmd, opts, _("--addr '%s' is not HOST:PORT (an IP address or "
                           "localhost)"), addr);
  if (strlen(addr) >= sizeof(p.addr))
    return cli_command_usage_error(&cmd, opts, _("--addr is too long"));
  strcpy(p.addr, addr);
  dk_node *n = cli_open(c, 0);
  if (n == NULL)
    return 1;
  const char *mine = dk_node_config(n)->office;
  int out = 0;
  if (memcmp(p.key, dk_node_pk(n), 32) == 0) {
    out = cli_error(_("that is this node's own key"));
    goto done;
  }
  size_t ml = strlen(mine), pl = strlen(office);
  int above = pl < ml && strncmp(office, mine, pl) == 0 && mine[pl] == '/';
  int below = ml < pl && strncmp(mine, office, ml) == 0 && office[ml] == '/';
  if (!above && !below)
    cli_warn(_("%s is neither above nor below %s: nothing will replicate with it"), office, mine);
  p.added_ms = dk_node_now(n);
  int rc = dk_node_peer_add(n, &p);
  if (rc == DK_EEXIST)
    out = cli_error_code(rc, _("a peer with that name or key is already pinned (see 'docket peer list')"));
  else if (rc != 0)
    out = cli_fail(rc, _("cannot add the peer"));
  else if (c->json)
    out = cli_print_json(json_pack("{s:s, s:o, s:s, s:s, s:s}", "name", name, "addr",
                                   addr[0] ? json_string(addr) : json_null(), "key", key,
                                   "office", office, "role", role));
  else
    printf(_("pinned %s: %s (%s)%s%s\n"), name, office, role, addr[0] ? _(" at ") : "", addr);
done:
  dk_node_close(n);
  return out;
}

struct list_ctx {
  json_t *arr;
  size_t count;
  dk_node *n;
};

static int fork_related(const struct dk_peer *p, const struct dk_fork_info *f);

struct count_forks {
  const struct dk_peer *p;
  uint64_t count;
};

static int count_fork(void *ctx, const struct dk_fork_info *f) {
  struct count_forks *c = ctx;
  c->count += fork_related(c->p, f);
  return 0;
}

static int list_peer(void *ctx, const struct dk_peer *p) {
  struct list_ctx *l = ctx;
  char hex[65], when[32];
  dk_hex(p->key, 32, hex);
  l->count++;
  /* Forked logs this node exchanges with the peer (proofs held here). */
  struct count_forks cf = {p, 0};
  int rc = dk_node_forks(l->n, count_fork, &cf);
  if (rc != 0)
    return rc;
  if (l->arr) {
    json_array_append_new(
        l->arr, json_pack("{s:s, s:o, s:s, s:s, s:s, s:o, s:I, s:I, s:s?, s:o, s:I}", "name",
                          p->name, "addr", p->addr[0] ? json_string(p->addr) : json_null(),
                          "key", hex, "office", p->office, "role",
                          dk_office_role_name(p->role), "last_sync", cli_json_time(p->last_sync_ms),
                          "they_lack", (json_int_t)p->they_lack, "we_lack",
                          (json_int_t)p->we_lack, "last_error",
                          p->last_error[0] ? p->last_error : NULL, "last_error_at",
                          cli_json_time(p->last_error_ms), "forks", (json_int_t)cf.count));
    return 0;
  }
  cli_format_time(p->last_sync_ms, 0, when, sizeof(when));
  printf("%-12s %-26s %-10s %-22s %.16s  %-16s %9llu %9llu%s\n", p->name, p->office,
         dk_office_role_name(p->role), p->addr[0] ? p->addr : "-", hex,
         p->last_sync_ms ? when : "never", (unsigned long long)p->they_lack,
         (unsigned long long)p->we_lack, cf.count ? "  FORKED (see 'docket verify')" : "");
  if (p->last_error[0]) {
    cli_format_time(p->last_error_ms, 0, when, sizeof(when));
    printf("%-12s   last error (%s): %s\n", "", when, p->last_error);
  }
  return 0;
}

static int peer_remove(struct cli *c, int argc, char **argv) {
  static const struct cli_command cmd = {"peer remove", N_("NAME"), 1, 1,
                                         N_("Unpins a peer: it gets nothing more from this node."),
                                         NULL};
  const char *name = NULL;
  int prc = cli_parse(c, &cmd, NULL, argc, argv, &name, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  dk_node *n = cli_open(c, 0);
  if (n == NULL)
    return 1;
  int rc = dk_node_peer_remove(n, name);
  dk_node_close(n);
  if (rc == DK_ENOTFOUND)
    return cli_error_code(rc, _("no peer named '%s'"), name);
  if (rc != 0)
    return cli_fail(rc, _("cannot remove the peer"));
  if (c->json)
    return cli_print_json(json_pack("{s:s, s:b}", "name", name, "removed", 1));
  printf(_("removed %s\n"), name);
  return 0;
}

static int peer_list(struct cli *c, int argc, char **argv) {
  static const struct cli_command cmd = {
      "peer list", NULL, 0, 0,
      N_("Lists the pinned peers, when each last synced and how far behind each side is."),
      NULL};
  int prc = cli_parse(c, &cmd, NULL, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  dk_node *n = cli_open(c, 0);
  if (n == NULL)
    return 1;
  struct list_ctx l = {json ? json_array() : NULL, 0, n};
  if (!json)
    printf("%-12s %-26s %-10s %-22s %-17s %-16s %9s %9s\n", _("NAME"), _("OFFICE"), _("ROLE"),
           _("ADDR"), _("KEY"), _("LAST SYNC"), _("THEY LACK"), _("WE LACK"));
  int rc = dk_node_peer_list(n, list_peer, &l);
  dk_node_close(n);
  if (rc != 0) {
    json_decref(l.arr);
    return cli_fail(rc, _("cannot list peers"));
  }
  return json ? cli_print_json(l.arr) : 0;
}

static const struct cli_sub PEER_SUBS[] = {
    {"add", peer_add, N_("pin a peer")},
    {"list", peer_list, N_("list the pinned peers")},
    {"remove", peer_remove, N_("unpin a peer")},
    {NULL, NULL, NULL}};

int cmd_peer(struct cli *c, int argc, char **argv) {
  return cli_dispatch(c, "docket peer",
                      N_("Pins the nodes this office replicates with: their key (from 'docket "
                         "id' on\nthat node), office path and role, and for offices above, the "
                         "address to dial.\nA peer that is not pinned gets nothing."),
                      PEER_SUBS, argc, argv);
}

/* ---- serve and sync ----------------------------------------------------------- */

int cmd_serve(struct cli *c, int argc, char **argv) {
  const char *listen = NULL, *level_arg = NULL;
  int quiet = 0;
  const struct cli_opt opts[] = {
      CLI_STRING("listen", "HOST:PORT", &listen, N_("where to accept peers (default: from init)")),
      CLI_STRING("log-level", "error|warning|info|debug", &level_arg,
                 N_("how much to log (default info)")),
      CLI_FLAG("quiet", &quiet, N_("log only warnings and errors")), CLI_END};
  static const struct cli_command cmd = {
      "serve", NULL, 0, 0,
      N_("Runs the node: accepts pinned peers on --listen (default: the address given at\n"
         "init), keeps a live link to each pinned office above this one, redialling with\n"
         "backoff, and passes new entries on within a second. Other docket commands may\n"
         "write to the store meanwhile. Stops on SIGINT or SIGTERM.\n"
         "Under systemd it reports readiness, pets the watchdog and logs with journald\n"
         "priorities (see docket@.service)."),
      NULL};
  int prc = cli_parse(c, &cmd, opts, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  enum dk_log_level level = quiet ? DK_LOG_WARN : DK_LOG_INFO;
  if (level_arg && cli_log_level_parse(level_arg, &level) != 0)
    return cli_command_usage_error(&cmd, opts, _("--log-level is error, warning, info or debug"));
  struct cli_config conf;
  if (cli_config_load(c->dir, &conf) != 0)
    return 1;
  if (!level_arg && !quiet && conf.has_log_level)
    level = conf.log_level;
  dk_node *n = cli_open(c, 1);
  if (n == NULL)
    return 1;
  const struct dk_node_config *cfg = dk_node_config(n);
  if (listen == NULL)
    listen = conf.has_listen ? conf.listen : cfg->listen;
  struct sockaddr_storage ss;
  if (listen[0] && dk_net_parse_addr(listen, &ss) != 0) {
    dk_node_close(n);
    return cli_command_usage_error(&cmd, opts, _("--listen '%s' is not HOST:PORT"), listen);
  }
  dk_node_set_log(n, cli_service_log, (void *)cfg->office, level);
  struct cli_service svc;
  long other = 0;
  int rc = cli_service_start(&svc, n, c->dir, listen, &other);
  if (rc != 0) {
    cli_service_stop(&svc);
    dk_node_close(n);
    if (rc == DK_ELOCKED && other > 0)
      return cli_error_code(rc, _("another 'docket serve' (pid %ld) already runs on %s"), other, c->dir);
    if (rc == DK_ELOCKED)
      return cli_error_code(rc, _("another 'docket serve' already runs on %s"), c->dir);
    return cli_fail(rc, _("cannot record the live links in the node directory"));
  }
  struct dk_net_options opt = {.listen = listen, .ctx = &svc};
  opt.on_ready = cli_service_ready;
  opt.on_link = cli_service_link;
  opt.on_tick = cli_service_tick;
  opt.redial_ms_max = conf.has_sync_interval ? conf.sync_interval_s * 1000 : 0;
  struct dk_net_result res;
  rc = dk_net_run(n, &opt, &res);
  cli_service_stop(&svc);
  dk_node_close(n);
  if (rc == DK_ENOKEY)
    return cli_error_code(rc, _("this node has no network key: run 'docket init' with "
                     "--network-key-file, or see 'docket network-key'"));
  if (rc != 0)
    return cli_fail(rc, _("serve stopped"));
  return 0;
}

struct sync_progress {
  int tty;
};

static void show_progress(void *ctx, const struct dk_sync_status *st) {
  struct sync_progress *p = ctx;
  if (!p->tty)
    return;
  fprintf(stderr, "\rsync: sent %llu, received %llu, stored %llu entries",
          (unsigned long long)st->stats.entries_sent,
          (unsigned long long)st->stats.entries_received,
          (unsigned long long)st->stats.entries_stored);
}

/* Is a forked log one this node exchanges with peer (the peer's subtree,
 * or an office above the peer, as its own log is)? */
static int fork_related(const struct dk_peer *p, const struct dk_fork_info *f) {
  return f->office[0] && (dk_office_covers(p->office, f->office) ||
                          dk_office_covers(f->office, p->office));
}

struct forks_ctx {
  const struct dk_peer *peer;
  json_t *arr;
  size_t count;
};

static int related_fork(void *ctx, const struct dk_fork_info *f) {
  struct forks_ctx *c = ctx;
  if (!fork_related(c->peer, f))
    return 0;
  char hex[65];
  dk_hex(f->log, 32, hex);
  c->count++;
  if (c->arr)
    json_array_append_new(c->arr, json_pack("{s:s, s:s, s:I}", "log", hex, "office", f->office,
                                            "seq", (json_int_t)f->seq));
  else
    fprintf(stderr, "FORKED  %s  seq %llu  log %.16s\n", f->office,
            (unsigned long long)f->seq, hex);
  return 0;
}

static int pick_parent(void *ctx, const struct dk_peer *p) {
  struct dk_peer *out = ctx;
  if (p->addr[0] == 0)
    return 0;
  if (out->name[0]) {
    out->name[0] = 0;
    out->key[0] = 1; /* mark: more than one */
    return 1;
  }
  *out = *p;
  return 0;
}

int cmd_sync(struct cli *c, int argc, char **argv) {
  const char *name = NULL, *timeout = NULL;
  uint64_t timeout_s = 60;
  const struct cli_opt opts[] = {
      CLI_STRING("timeout", "SECONDS", &timeout, N_("give up after this long (default 60)")),
      CLI_END};
  static const struct cli_command cmd = {
      "sync", N_("[PEER]"), 0, 1,
      N_("Syncs once with PEER (by default the one pinned peer with an address):\n"
         "sends what it lacks, receives what this node lacks, and exits when both are\n"
         "caught up. Each batch is verified and stored durably before it is acknowledged,\n"
         "so an interrupted sync resumes where it stopped."),
      NULL};
  int prc = cli_parse(c, &cmd, opts, argc, argv, &name, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  if (timeout && cli_parse_u64(timeout, 1, 86400, &timeout_s) != 0)
    return cli_command_usage_error(&cmd, opts, _("--timeout takes seconds (1 to 86400)"));
  dk_node *n = cli_open(c, 1);
  if (n == NULL)
    return 1;
  struct dk_peer peer;
  memset(&peer, 0, sizeof(peer));
  int out = 0, rc;
  if (name) {
    rc = dk_node_peer_get(n, name, &peer);
    if (rc == DK_ENOTFOUND) {
      out = cli_error_code(rc, _("no peer named '%s' (see 'docket peer list')"), name);
      goto done;
    }
  } else {
    rc = dk_node_peer_list(n, pick_parent, &peer);
    if (rc == 1 || peer.name[0] == 0) {
      out = cli_command_usage_error(&cmd, opts, rc == 1 ? "several peers have addresses: name one"
                                           : "no pinned peer has an address: name one");
      goto done;
    }
  }
  if (rc != 0 && rc != 1) {
    out = cli_fail(rc, _("cannot read the peers"));
    goto done;
  }
  if (peer.addr[0] == 0) {
    out = cli_error(_("peer %s has no address to dial (it dials this node)"), peer.name);
    goto done;
  }
  if (!json)
    dk_node_set_log(n, cli_service_log, (void *)dk_node_config(n)->office, DK_LOG_WARN);
  struct sync_progress sp = {!json && cli_progress_tty()};
  struct dk_net_options opt = {
      .peer = &peer, .timeout_ms = timeout_s * 1000, .progress = show_progress, .ctx = &sp};
  struct dk_net_result res;
  struct dk_sync_stats total;
  memset(&total, 0, sizeof(total));
  uint64_t wire_sent = 0, wire_received = 0;
  int idle = 1, rounds = 0;
  /* What arrives can make this node write (grants of its cases to an office
   * above it that it just learnt of): a sync ends when a round leaves
   * nothing new here to send. */
  for (int round = 0; round < 4; round++) {
    struct dk_node_stats before, after;
    dk_node_stats(n, &before);
    rc = dk_net_run(n, &opt, &res);
    total.entries_sent += res.status.stats.entries_sent;
    total.entries_received += res.status.stats.entries_received;
    total.entries_stored += res.status.stats.entries_stored;
    total.duplicates += res.status.stats.duplicates;
    total.forks += res.status.stats.forks;
    total.peer_forks += res.status.stats.peer_forks;
    total.forks_at_peer += res.status.stats.forks_at_peer;
    total.refused += res.status.stats.refused;
    total.refused_by_peer += res.status.stats.refused_by_peer;
    total.bytes_sent += res.status.stats.bytes_sent;
    total.bytes_received += res.status.stats.bytes_received;
    total.messages_sent += res.status.stats.messages_sent;
    total.messages_received += res.status.stats.messages_received;
    wire_sent += res.wire_bytes_sent;
    wire_received += res.wire_bytes_received;
    rounds++;
    if (round == 0)
      idle = res.status.idle;
    if (rc != 0 || dk_node_stats(n, &after) != 0 || after.own_seq == before.own_seq)
      break;
  }
  if (sp.tty)
    fputs("\r\033[K", stderr);
  res.status.idle = idle;
  const struct dk_sync_stats *s = &total;
  if (rc != 0 && res.status.refusal_code) {
    out = cli_error_code(rc, _("sync with %s failed: %s refused this node: %s"), peer.name,
                         peer.office, res.status.refusal_text);
    goto done;
  }
  if (rc != 0) {
    const char *why = rc == DK_ECONN      ? _("peer unreachable or the connection was lost")
                      : rc == DK_EAUTH    ? _("handshake failed: wrong network key, or the peer "
                                              "is not the node pinned under that name")
                      : rc == DK_EREFUSED ? _("the peer closed the handshake: it has not "
                                              "pinned this node, holds no valid certificate "
                                              "for it, or the network keys differ (after a "
                                              "network key rotation, an office that did not "
                                              "receive the new key is refused once the old "
                                              "one stops working: ask the district)")
                                          : dk_strerror(rc);
    out = cli_error_code(rc, _("sync with %s failed: %s"), peer.name, why);
    if (s->entries_stored)
      fprintf(stderr, _("docket: %llu entries were stored before it stopped; they are kept\n"),
              (unsigned long long)s->entries_stored);
    goto done;
  }
  if ((s->refused || s->refused_by_peer) && !(s->forks || s->peer_forks || s->forks_at_peer)) {
    /* The rest was stored; what was refused is named, never silently kept. */
    if (json)
      cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "error", "refused", "peer",
                               peer.name, "entries_sent", (json_int_t)s->entries_sent,
                               "entries_stored", (json_int_t)s->entries_stored,
                               "refused_here", (json_int_t)s->refused, "refused_by_peer",
                               (json_int_t)s->refused_by_peer));
    if (s->refused_by_peer)
      out = cli_error("sync with %s: %s refused %llu entries: their log holds no valid "
                      "certificate for the office it claims (an office nobody enrolled, or a "
                      "revoked key); everything else was stored",
                      peer.name, peer.name, (unsigned long long)s->refused_by_peer);
    if (s->refused)
      out = cli_error("sync with %s: refused %llu entries it sent: their log holds no valid "
                      "certificate for the office it claims, or its key was revoked (named in "
                      "the warnings above); everything else was stored",
                      peer.name, (unsigned long long)s->refused);
    goto done;
  }
  /* A restored or rebuilt node: the sync with its parent brought its own
   * log back; with the parent's witness as evidence it may write again. */
  const char *mine = dk_node_config(n)->office;
  size_t pl = strlen(peer.office);
  int restored = dk_node_restored(n) == 1;
  if (restored && pl < strlen(mine) && strncmp(peer.office, mine, pl) == 0 && mine[pl] == '/') {
    uint64_t have = 0, witnessed = 0;
    int rrc = dk_node_restored_check(n, peer.key, &have, &witnessed);
    if (rrc == DK_ERESTORED) {
      out = cli_error("synced with %s, but this node holds %llu entries of its own log where "
                      "%s witnessed %llu: run 'docket sync' again before writing",
                      peer.name, (unsigned long long)have, peer.name,
                      (unsigned long long)witnessed);
      goto done;
    }
    if (rrc != 0 && rrc != DK_EFORK) {
      out = cli_fail(rrc, "cannot check this node's own log");
      goto done;
    }
    if (rrc == 0 && !json)
      printf("this node's own log is whole again (%llu entries, %s witnessed %llu): it can "
             "write\n", (unsigned long long)have, peer.name, (unsigned long long)witnessed);
  }
  if (s->forks || s->peer_forks || s->forks_at_peer) {
    /* Two different signed entries for one position of a log: never a
     * success, whoever holds the proof. */
    struct forks_ctx fc = {&peer, NULL, 0};
    fc.arr = json ? json_array() : NULL;
    dk_node_forks(n, related_fork, &fc);
    if (json) {
      json_t *o = json_pack("{s:s, s:s, s:o, s:I, s:I, s:I}", "error", "fork", "peer", peer.name,
                            "forks", fc.arr, "proofs_received", (json_int_t)s->forks,
                            "found_comparing_heads", (json_int_t)s->peer_forks,
                            "proofs_kept_by_peer", (json_int_t)s->forks_at_peer);
      cli_print_json(o);
    }
    if (fc.count == 0)
      out = cli_error("sync with %s found a fork: %s holds a different signed entry than this "
                      "node at a position of a log this node sent; its 'docket verify' names "
                      "it. If this node was restored from a copy, stop using it and see "
                      "docs/operations.md",
                      peer.name, peer.name);
    else
      out = cli_error("sync with %s found a fork: two different signed entries for one "
                      "position of a log (listed above; 'docket verify' shows the proofs). If "
                      "this node was restored from a copy, stop using it and see "
                      "docs/operations.md",
                      peer.name);
    goto done;
  }
  if (json)
    out = cli_print_json(json_pack(
        "{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}", "peer",
        peer.name, "idle", res.status.idle, "entries_sent", (json_int_t)s->entries_sent,
        "entries_received", (json_int_t)s->entries_received, "entries_stored",
        (json_int_t)s->entries_stored, "duplicates", (json_int_t)s->duplicates, "forks",
        (json_int_t)s->forks, "bytes_sent", (json_int_t)s->bytes_sent, "bytes_received",
        (json_int_t)s->bytes_received, "messages_sent", (json_int_t)s->messages_sent,
        "messages_received", (json_int_t)s->messages_received, "wire_bytes_sent",
        (json_int_t)wire_sent, "wire_bytes_received", (json_int_t)wire_received, "connections",
        rounds));
  else
    printf(_("synced with %s: sent %llu entries, received %llu (%llu new)%s\n"), peer.name,
           (unsigned long long)s->entries_sent, (unsigned long long)s->entries_received,
           (unsigned long long)s->entries_stored,
           res.status.idle ? "; already in step" : "");
  if (s->forks)
    cli_warn(_("%llu fork proofs received: run 'docket verify'"), (unsigned long long)s->forks);
done:
  dk_node_close(n);
  return out;
}
