/* docket export and import: offline bundles. */
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "replication/bundle.h"

int cmd_export(struct cli *c, int argc, char **argv) {
  const char *out_path = NULL, *peer_name = NULL;
  const struct cli_opt opts[] = {
      CLI_REQUIRED("out", "FILE", &out_path, N_("the bundle file to write")),
      CLI_STRING("peer", "PEER", &peer_name, N_("only what this pinned peer lacks")),
      CLI_END};
  static const struct cli_command cmd = {
      "export", NULL, 0, 0,
      N_("Writes a bundle file to carry to an office the network does not reach.\n"
         "With --peer, it holds what that peer lacks since the last sync that caught it\n"
         "up, and only logs in its scope; without, everything this node holds. The\n"
         "bundle is sealed with the deployment's network key."),
      NULL};
  int prc = cli_parse(c, &cmd, opts, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  dk_node *n = cli_open(c, 1);
  if (n == NULL)
    return 1;
  struct dk_peer peer;
  int out = 0, rc = 0;
  if (peer_name) {
    rc = dk_node_peer_get(n, peer_name, &peer);
    if (rc == DK_ENOTFOUND) {
      out = cli_error_code(rc, _("no peer named '%s'"), peer_name);
      goto done;
    }
    if (rc != 0) {
      out = cli_fail(rc, _("cannot read the peer"));
      goto done;
    }
  }
  struct dk_bundle_stats st;
  rc = dk_bundle_export(n, peer_name ? &peer : NULL, out_path, &st);
  if (rc != 0) {
    out = cli_fail(rc, _("cannot write the bundle"));
    goto done;
  }
  if (json)
    out = cli_print_json(json_pack("{s:s, s:I, s:I, s:I}", "file", out_path, "logs",
                                   (json_int_t)st.logs, "entries", (json_int_t)st.entries,
                                   "bytes", (json_int_t)st.bytes));
  else
    printf(_("wrote %s: %llu entries of %llu logs, %llu bytes\n"), out_path,
           (unsigned long long)st.entries, (unsigned long long)st.logs,
           (unsigned long long)st.bytes);
done:
  dk_node_close(n);
  return out;
}

static void import_progress(void *ctx, const struct dk_bundle_stats *st) {
  if (*(int *)ctx)
    fprintf(stderr, "\rimporting: %llu entries, %llu new", (unsigned long long)st->entries,
            (unsigned long long)st->stored);
}

int cmd_import(struct cli *c, int argc, char **argv) {
  static const struct cli_command cmd = {
      "import", N_("FILE"), 1, 1,
      N_("Reads a bundle written by 'docket export' on a pinned peer. The whole file is\n"
         "checked against the network key first; then every entry goes through the same\n"
         "checks as over the network. A damaged or foreign bundle stores nothing.\n"
         "(For a CSV ledger, see 'docket case import'.)"),
      NULL};
  const char *path = NULL;
  int prc = cli_parse(c, &cmd, NULL, argc, argv, &path, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  dk_node *n = cli_open(c, 1);
  if (n == NULL)
    return 1;
  struct dk_bundle_stats st;
  uint8_t log[DK_PK_BYTES];
  uint64_t seq = 0;
  int tty = !json && cli_progress_tty();
  int rc = dk_bundle_import(n, path, import_progress, &tty, &st, log, &seq);
  if (tty)
    fputs("\r\033[K", stderr);
  dk_node_close(n);
  int out = 0;
  if (rc == DK_EAUTH)
    out = cli_error_code(rc, _("%s is damaged or from another deployment (its seal does not verify); "
                    "nothing was stored"), path);
  else if (rc == DK_EFORMAT)
    out = cli_error_code(rc, _("%s is not a docket bundle, or is malformed; nothing invalid was stored"),
                    path);
  else if (rc == DK_EREFUSED)
    out = cli_error_code(rc, _("%s comes from a node this office has not pinned (see 'docket peer add')"),
                    path);
  else if (rc == DK_ESCOPE)
    out = cli_error_code(rc, _("%s carries logs this office must not receive from its sender"), path);
  else if (rc == DK_ENOTFOUND && seq) {
    char hex[17];
    dk_hex(log, 8, hex);
    out = cli_error(_("%s continues log %s... from entry %llu, which this node does not hold "
                    "yet: import the earlier bundle first, or sync"),
                    path, hex, (unsigned long long)seq);
  } else if (rc == DK_ENOTFOUND)
    out = cli_error_code(rc, _("cannot open %s"), path);
  else if (rc != 0)
    out = cli_fail(rc, _("import stopped (what was stored before is valid and kept)"));
  if (rc != 0)
    return out;
  if (json)
    out = cli_print_json(json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "file", path, "entries",
                                   (json_int_t)st.entries, "stored", (json_int_t)st.stored,
                                   "duplicates", (json_int_t)st.duplicates, "forks",
                                   (json_int_t)st.forks, "refused", (json_int_t)st.refused));
  if (st.refused)
    return cli_error_code(DK_EUNAUTH,
                          _("%s: refused %llu entries of a log not authorised here (%s): its key "
                            "holds no valid certificate for the office it claims, or was revoked; "
                            "the rest (%llu new) was stored"),
                          path, (unsigned long long)st.refused,
                          st.refused_office[0] ? st.refused_office : _("its first entry is not held"),
                          (unsigned long long)st.stored);
  if (json)
    return out;
  printf(_("imported %s: %llu entries, %llu new, %llu already here\n"), path,
         (unsigned long long)st.entries, (unsigned long long)st.stored,
         (unsigned long long)st.duplicates);
  if (st.forks)
    cli_warn(_("%llu fork proofs: run 'docket verify'"), (unsigned long long)st.forks);
  return 0;
}
