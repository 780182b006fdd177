/* docket status: what an office needs to know, in words (docs/operations.md). */
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "cli/cli.h"
#include "cli/service.h"
#include "common/error.h"
#include "node/trust/trust.h"

#define DAY_MS (24ull * 3600 * 1000)
/* A certificate is flagged this long before it expires: enough time to ask
 * the district for 'docket cert renew' and for it to replicate back. */
#define CERT_WARN_DAYS 30

struct cert_find {
  dk_node *n;
  const uint8_t *key;
  uint64_t now;
  int found;              /* any certificate for the key */
  int in_force;           /* one valid now */
  uint64_t not_after_ms;  /* of the one in force that lasts longest, else the latest */
  char office[DK_NAME_BYTES_MAX];
};

static int find_cert(void *ctx, const struct dk_statement *s) {
  struct cert_find *f = ctx;
  if (s->type != DK_ENTRY_CERT || memcmp(s->key, f->key, DK_PK_BYTES) != 0)
    return 0;
  int now_valid = s->not_before_ms <= f->now && f->now < s->not_after_ms;
  if (!f->found || (now_valid && !f->in_force) ||
      (now_valid == f->in_force && s->not_after_ms > f->not_after_ms)) {
    f->not_after_ms = s->not_after_ms;
    snprintf(f->office, sizeof(f->office), "%s", s->office);
    f->in_force = f->in_force || now_valid;
  }
  f->found = 1;
  return 0;
}

struct peers_ctx {
  json_t *arr;
  json_t *live;   /* serve's record: links and errors, NULL when serve is not running */
  int serve;      /* 1 running, 0 not, -1 cannot tell */
};

static json_t *lack(const struct dk_peer *p, uint64_t v) {
  /* Until a sync has measured it, the lag is unknown: never shown as 0. */
  if (p->last_sync_ms == 0 && p->they_lack == 0 && p->we_lack == 0)
    return json_null();
  return json_integer((json_int_t)v);
}

static int peer_cb(void *ctx, const struct dk_peer *p) {
  struct peers_ctx *pc = ctx;
  json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "name", p->name, "office",
                        p->office, "role", dk_office_role_name(p->role), "addr", p->addr,
                        "last_sync", cli_json_time(p->last_sync_ms), "they_lack",
                        lack(p, p->they_lack), "we_lack", lack(p, p->we_lack));
  json_t *link = pc->live ? json_object_get(json_object_get(pc->live, "links"), p->name) : NULL;
  if (pc->serve == 1) {
    json_object_set_new(o, "connected", json_boolean(link != NULL));
    json_object_set_new(o, "connected_since",
                        link ? cli_json_time((uint64_t)json_integer_value(
                                   json_object_get(link, "since")))
                             : json_null());
  } else {
    /* No serve holds the lock: no live link exists (a crashed serve's
     * record is not believed). -1: the lock could not be read. */
    json_object_set_new(o, "connected", pc->serve == 0 ? json_false() : json_null());
    json_object_set_new(o, "connected_since", json_null());
  }
  /* Last error: the peer record's (the transport records refusals, an
   * unreachable peer and failed syncs there, and clears it when a sync
   * catches up); failing that, how serve's last live link with it ended,
   * when that came after the last sync. */
  json_t *err = pc->live ? json_object_get(json_object_get(pc->live, "errors"), p->name) : NULL;
  uint64_t err_at = err ? (uint64_t)json_integer_value(json_object_get(err, "at")) : 0;
  if (p->last_error[0])
    json_object_set_new(o, "last_error",
                        json_pack("{s:o, s:s}", "at", cli_json_time(p->last_error_ms), "error",
                                  p->last_error));
  else if (err && err_at > p->last_sync_ms)
    json_object_set_new(o, "last_error", json_pack("{s:o, s:O}", "at", cli_json_time(err_at),
                                                   "error", json_object_get(err, "error")));
  else
    json_object_set_new(o, "last_error", json_null());
  json_array_append_new(pc->arr, o);
  return 0;
}

static int count_fork(void *ctx, const struct dk_fork_info *f) {
  (*(uint64_t *)ctx)++;
  return 0;
}

static void human_bytes(uint64_t b, char *out, size_t cap) {
  const char *units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)b;
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    u++;
  }
  if (u == 0)
    snprintf(out, cap, _("%llu bytes"), (unsigned long long)b);
  else
    snprintf(out, cap, "%.1f %s", v, units[u]);
}

static const char *lack_text(json_t *v, char *buf, size_t cap) {
  if (json_is_null(v))
    return _("unknown");
  snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
  return buf;
}

static void print_text(json_t *st) {
  json_t *cert = json_object_get(st, "certificate");
  printf(_("node:         %s (%s)\nkey:          %s\n"),
         json_string_value(json_object_get(st, "office")),
         cli_label("level", json_string_value(json_object_get(st, "role"))),
         json_string_value(json_object_get(st, "key")));
  const char *cs = json_string_value(json_object_get(cert, "state"));
  const char *until = json_string_value(json_object_get(cert, "not_after"));
  json_int_t days = json_integer_value(json_object_get(cert, "days_left"));
  if (strcmp(cs, "valid") == 0)
    printf(_("certificate:  valid until %.10s (%lld days)\n"), until, (long long)days);
  else if (strcmp(cs, "expired") == 0)
    printf(_("certificate:  EXPIRED on %.10s: peers refuse this node; ask the district for "
           "'docket cert renew'\n"), until);
  else if (strcmp(cs, "revoked") == 0)
    printf(_("certificate:  REVOKED: peers refuse this node (see docs/operations.md)\n"));
  else if (strcmp(cs, "none") == 0)
    printf(_("certificate:  none held here yet (it arrives from the district with the first "
           "sync)\n"));
  else
    printf(_("certificate:  no root configured (pinned peers only)\n"));
  json_t *warn = json_object_get(cert, "warning");
  if (json_is_string(warn))
    printf(_("              warning: %s\n"), json_string_value(warn));
  json_t *serve = json_object_get(st, "serve");
  if (json_is_true(json_object_get(serve, "running")))
    printf(_("serve:        running (pid %lld)\n"),
           (long long)json_integer_value(json_object_get(serve, "pid")));
  else if (json_is_false(json_object_get(serve, "running")))
    printf(_("serve:        not running: no live links (start it: systemctl start docket@NAME)\n"));
  else
    printf(_("serve:        unknown (cannot read its lock)\n"));
  json_t *peers = json_object_get(st, "peers");
  fputs(json_array_size(peers) ? _("peers:\n") : _("peers:        none pinned\n"), stdout);
  size_t i;
  json_t *p;
  json_array_foreach(peers, i, p) {
    json_t *conn = json_object_get(p, "connected");
    char a[24], b[24], when[32];
    snprintf(when, sizeof(when), "%s", _("never"));
    const char *ls = json_string_value(json_object_get(p, "last_sync"));
    if (ls)
      snprintf(when, sizeof(when), "%.10s %.5s UTC", ls, ls + 11);
    printf("  %-12s %-24s %-9s %s\n", json_string_value(json_object_get(p, "name")),
           json_string_value(json_object_get(p, "office")),
           cli_label("level", json_string_value(json_object_get(p, "role"))),
           json_is_true(conn)    ? _("connected")
           : json_is_false(conn) ? _("not connected")
                                 : _("unknown"));
    printf(_("               last sync %s; it lacks %s entries, this node lacks %s\n"), when,
           lack_text(json_object_get(p, "they_lack"), a, sizeof(a)),
           lack_text(json_object_get(p, "we_lack"), b, sizeof(b)));
    json_t *err = json_object_get(p, "last_error");
    if (json_is_object(err)) {
      const char *at = json_string_value(json_object_get(err, "at"));
      printf(_("               last error (%.10s %.5s UTC): %s\n"), at ? at : "", at ? at + 11 : "",
             json_string_value(json_object_get(err, "error")));
    }
  }
  json_int_t forks = json_integer_value(json_object_get(st, "fork_proofs"));
  if (forks)
    printf(_("fork proofs:  %lld: a node signed two histories; run 'docket verify' and tell the "
           "district\n"), (long long)forks);
  else
    printf(_("fork proofs:  none\n"));
  cli_netkey_status_print(json_object_get(st, "network_key"));
  json_t *store = json_object_get(st, "store");
  char sz[32], fr[32];
  human_bytes((uint64_t)json_integer_value(json_object_get(store, "bytes")), sz, sizeof(sz));
  human_bytes((uint64_t)json_integer_value(json_object_get(store, "free_bytes")), fr, sizeof(fr));
  printf(_("store:        %s; %s free on its disk\n"), sz, fr);
  json_int_t lag = json_integer_value(json_object_get(store, "index_lag"));
  if (lag > 0)
    printf(_("              %lld entries not in the case tables yet (serve indexes them between "
             "syncs)\n"),
           (long long)lag);
  json_t *dw = json_object_get(store, "warning");
  if (json_is_string(dw))
    printf(_("              warning: %s\n"), json_string_value(dw));
}

int cmd_status(struct cli *c, int argc, char **argv) {
  static const struct cli_opt opts[] = {CLI_END};
  static const struct cli_command cmd = {
      "status", NULL, 0, 0,
      N_("What needs attention on this node: identity, office and role; certificate\n"
         "expiry (a warning from 30 days before); each peer, connected or not, last\n"
         "sync, last error and how many entries each side lacks (unknown until\n"
         "measured); fork proofs; store size and free disk. Needs no passphrase."),
      NULL};
  _Static_assert(CERT_WARN_DAYS == 30, "the help text says 30 days");
  int prc = cli_parse(c, &cmd, opts, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  dk_node *n = cli_open(c, 0);
  if (n == NULL)
    return 1;
  int out = 0, rc;
  const struct dk_node_config *cfg = dk_node_config(n);
  uint64_t now = dk_node_now(n);
  char hex[DK_PK_BYTES * 2 + 1];
  dk_hex(dk_node_pk(n), DK_PK_BYTES, hex);
  json_t *st = json_pack("{s:s, s:s, s:s}", "key", hex, "office", cfg->office, "role",
                         dk_office_role_name(cfg->role));

  /* the certificate */
  json_t *cert = json_object();
  uint8_t root[DK_PK_BYTES];
  if (dk_node_root_pk(n, root) != 0) {
    json_object_set_new(cert, "state", json_string("no root"));
  } else {
    struct cert_find f = {n, dk_node_pk(n), now, 0, 0, 0, ""};
    rc = dk_node_statement_list(n, find_cert, &f);
    if (rc != 0) {
      out = cli_fail(rc, _("cannot read the certificates"));
      goto done;
    }
    uint64_t revoked;
    int is_revoked = dk_node_revoked_at(n, dk_node_pk(n), &revoked) == 0 && revoked <= now;
    const char *state = is_revoked ? "revoked" : !f.found ? "none" : f.in_force ? "valid"
                                                                                : "expired";
    json_object_set_new(cert, "state", json_string(state));
    json_object_set_new(cert, "not_after", f.found ? cli_json_time(f.not_after_ms) : json_null());
    if (f.in_force && !is_revoked) {
      uint64_t left_ms = f.not_after_ms - now;
      uint64_t days = left_ms / DAY_MS;
      json_object_set_new(cert, "days_left", json_integer((json_int_t)days));
      if (left_ms < CERT_WARN_DAYS * DAY_MS) {
        char w[160];
        snprintf(w, sizeof(w),
                 ngettext("the certificate expires in %llu day: ask the district for "
                          "'docket cert renew'",
                          "the certificate expires in %llu days: ask the district for "
                          "'docket cert renew'",
                          (unsigned long)days),
                 (unsigned long long)days);
        json_object_set_new(cert, "warning", json_string(w));
      }
    }
  }
  json_object_set_new(st, "certificate", cert);

  /* serve and the peers */
  json_t *live = NULL;
  int serve = cli_service_read(c->dir, &live);
  json_t *sv = json_pack("{s:o}", "running", serve == 1 ? json_true() : serve == 0 ? json_false()
                                                                                  : json_null());
  if (live)
    json_object_set(sv, "pid", json_object_get(live, "pid"));
  json_object_set_new(st, "serve", sv);
  struct peers_ctx pc = {json_array(), live, serve};
  rc = dk_node_peer_list(n, peer_cb, &pc);
  json_decref(live);
  json_object_set_new(st, "peers", pc.arr);
  if (rc != 0) {
    out = cli_fail(rc, _("cannot list the peers"));
    goto done;
  }

  uint64_t forks = 0;
  rc = dk_node_forks(n, count_fork, &forks);
  if (rc != 0) {
    out = cli_fail(rc, _("cannot read the fork proofs"));
    goto done;
  }
  json_object_set_new(st, "fork_proofs", json_integer((json_int_t)forks));
  json_object_set_new(st, "network_key", cli_netkey_status(n, now));

  /* the store and its disk */
  char path[4200];
  snprintf(path, sizeof(path), "%s/data.mdb", c->dir);
  struct stat sb;
  struct statvfs vfs;
  uint64_t bytes = stat(path, &sb) == 0 ? (uint64_t)sb.st_blocks * 512u : 0;
  uint64_t free_bytes = statvfs(c->dir, &vfs) == 0 ? (uint64_t)vfs.f_bavail * vfs.f_frsize : 0;
  json_t *store = json_pack("{s:I, s:I}", "bytes", (json_int_t)bytes, "free_bytes",
                            (json_int_t)free_bytes);
  /* Below this a sync or an import may fail with a full disk. */
  if (free_bytes < 256ull * 1024 * 1024)
    json_object_set_new(store, "warning",
                        json_string(_("less than 256 MiB free: a sync or import may fail; free "
                                    "some space")));
  struct dk_node_stats ns;
  if (dk_node_stats(n, &ns) == 0)
    json_object_set_new(store, "index_lag", json_integer((json_int_t)ns.index_lag));
  json_object_set_new(st, "store", store);

  if (json) {
    out = cli_print_json(st);
    st = NULL;
  } else {
    print_text(st);
  }
done:
  json_decref(st);
  dk_node_close(n);
  return out;
}
