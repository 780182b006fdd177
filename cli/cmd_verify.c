/* docket verify: every entry in the store, checked from the bytes up. */
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"

struct verify_ctx {
  json_t *problems;
  int tty;
  size_t printed;
};

static void on_problem(void *arg, const struct dk_verify_problem *p) {
  struct verify_ctx *c = arg;
  char log[DK_PK_BYTES * 2 + 1];
  dk_hex(p->log, DK_PK_BYTES, log);
  if (c->problems) {
    json_array_append_new(c->problems, json_pack("{s:s, s:I, s:s, s:s}", "log", log, "seq",
                                                 (json_int_t)p->seq, "error", dk_errname(p->code),
                                                 "what", p->what));
    return;
  }
  if (c->tty)
    fputs("\r\033[K", stderr);
  printf(_("DAMAGED  log %.16s  seq %llu: %s\n"), log, (unsigned long long)p->seq, p->what);
  c->printed++;
}

struct forks_ctx {
  json_t *arr;
};

static int on_fork(void *arg, const struct dk_fork_info *f) {
  struct forks_ctx *c = arg;
  char log[DK_PK_BYTES * 2 + 1], id[DK_HASH_BYTES * 2 + 1];
  dk_hex(f->log, DK_PK_BYTES, log);
  dk_hex(f->proof_id, DK_HASH_BYTES, id);
  if (c->arr) {
    json_array_append_new(c->arr, json_pack("{s:s, s:s, s:I, s:s}", "log", log, "office",
                                            f->office, "seq", (json_int_t)f->seq, "proof", id));
    return 0;
  }
  printf(_("FORKED   log %.16s  %s  seq %llu: two signed entries for this position\n"), log,
         f->office[0] ? f->office : "(office unknown)", (unsigned long long)f->seq);
  return 0;
}

static void on_progress(void *arg, uint64_t done, uint64_t total) {
  struct verify_ctx *c = arg;
  if (c->tty)
    fprintf(stderr, "\rverifying %llu/%llu entries", (unsigned long long)done,
            (unsigned long long)total);
}

int cmd_verify(struct cli *c, int argc, char **argv) {
  static const struct cli_command cmd = {
      "verify", NULL, 0, 0,
      N_("Checks every entry of every log in the store: encoding, entry id, signature,\n"
         "hash-chain link and time order, body hash, and that readable bodies decrypt.\n"
         "Names each damaged entry; exits 1 if any. Lists the logs known to have forked\n"
         "(two signed entries for one position), whether seen here or reported by\n"
         "another office in a fork entry."),
      NULL};
  int prc = cli_parse(c, &cmd, NULL, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  dk_node *n = cli_open(c, 1);
  if (n == NULL)
    return 1;
  struct verify_ctx vc = {json ? json_array() : NULL, !json && cli_progress_tty(), 0};
  struct dk_verify_report rep;
  int rc = dk_node_verify(n, on_problem, on_progress, &vc, &rep);
  struct forks_ctx fc = {json ? json_array() : NULL};
  if (rc == 0) {
    if (vc.tty)
      fputs("\r\033[K", stderr);
    rc = dk_node_forks(n, on_fork, &fc);
  }
  dk_node_close(n);
  if (vc.tty)
    fputs("\r\033[K", stderr);
  if (rc != 0) {
    json_decref(vc.problems);
    json_decref(fc.arr);
    return cli_fail(rc, _("verification could not run to the end"));
  }
  int ok = rep.problems == 0;
  if (json) {
    json_t *o = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "ok", ok, "logs",
                          (json_int_t)rep.logs, "entries", (json_int_t)rep.entries,
                          "bodies_checked", (json_int_t)rep.bodies_checked, "bodies_decrypted",
                          (json_int_t)rep.bodies_decrypted, "bodies_erased",
                          (json_int_t)rep.bodies_erased, "forks", (json_int_t)rep.forks,
                          "problems", vc.problems, "fork_proofs", fc.arr);
    if (cli_print_json(o) != 0)
      return 1;
  } else {
    printf(_("%s: %llu entries in %llu logs; %llu bodies checked, %llu decrypted, %llu erased; "
           "%llu fork proofs; %llu problems\n"),
           ok ? "OK" : "DAMAGED", (unsigned long long)rep.entries, (unsigned long long)rep.logs,
           (unsigned long long)rep.bodies_checked, (unsigned long long)rep.bodies_decrypted,
           (unsigned long long)rep.bodies_erased, (unsigned long long)rep.forks,
           (unsigned long long)rep.problems);
  }
  return ok ? 0 : 1;
}
