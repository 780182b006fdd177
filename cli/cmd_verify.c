/* docket verify: every entry in the store, checked from the bytes up. */
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "node/ingest/index.h"

struct verify_ctx {
  json_t *problems;
  int tty;
  size_t printed;
};

static void on_problem(void *arg, const struct dk_verify_problem *p) {
  struct verify_ctx *c = arg;
  char log[DK_PK_BYTES * 2 + 1];
  dk_hex(p->log, DK_PK_BYTES, log);
  char cid[DK_HASH_BYTES * 2 + 1] = "";
  if (p->case_id)
    dk_hex(p->case_id, DK_HASH_BYTES, cid);
  const char *number = p->case_number && p->case_number[0] ? p->case_number : NULL;
  if (c->problems) {
    json_array_append_new(c->problems,
                          json_pack("{s:s, s:I, s:s, s:s, s:s?, s:s?}", "log", log, "seq",
                                    (json_int_t)p->seq, "error", dk_errname(p->code), "what",
                                    p->what, "case", number, "case_id", p->case_id ? cid : NULL));
    return;
  }
  if (c->tty)
    fputs("\r\033[K", stderr);
  /* The case by its number where this node can read it, else by its id;
   * always the entry, which is what was damaged. */
  if (number)
    printf(_("DAMAGED  case %s  log %.16s  seq %llu: %s\n"), number, log,
           (unsigned long long)p->seq, p->what);
  else if (p->case_id)
    printf(_("DAMAGED  case id %.16s  log %.16s  seq %llu: %s\n"), cid, log,
           (unsigned long long)p->seq, p->what);
  else
    printf(_("DAMAGED  log %.16s  seq %llu: %s\n"), log, (unsigned long long)p->seq, p->what);
  c->printed++;
}

/* A derived table that does not match a rebuild from the log. */
struct derived_ctx {
  json_t *arr;
  uint64_t printed;
  dk_node *n;
};

static void on_diff(void *arg, const struct dk_index_diff *d) {
  struct derived_ctx *c = arg;
  char cs[DK_HASH_BYTES * 2 + 1] = "";
  char number[DK_CASE_NUMBER_BYTES] = "";
  if (d->case_id) {
    dk_hex(d->case_id, DK_HASH_BYTES, cs);
    dk_node_case_number(c->n, d->case_id, number);
  }
  if (c->arr) {
    json_array_append_new(c->arr, json_pack("{s:s, s:s?, s:s?, s:s}", "table", d->table,
                                            "case_id", d->case_id ? cs : NULL, "case",
                                            number[0] ? number : NULL, "what", d->what));
    return;
  }
  if (c->printed++ >= 100)
    return;
  if (number[0])
    printf(_("DERIVED  table %s  case %s: %s\n"), d->table, number, d->what);
  else
    printf(_("DERIVED  table %s%s%.16s: %s\n"), d->table, d->case_id ? "  case id " : "", cs,
           d->what);
}

/* A page of the store file that does not hold together. */
struct pages_ctx {
  json_t *arr;
  uint64_t printed;
};

static void on_page(void *arg, const char *table, uint64_t page, const char *what) {
  struct pages_ctx *c = arg;
  if (c->arr) {
    json_array_append_new(c->arr, json_pack("{s:s, s:I, s:s}", "table", table, "page",
                                            (json_int_t)page, "what", what));
    return;
  }
  if (c->printed++ < 100)
    printf(_("DAMAGED  store page %llu (table %s): %s\n"), (unsigned long long)page, table, what);
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

static void on_check_progress(void *arg, uint64_t done, uint64_t total) {
  (void)arg;
  fprintf(stderr, _("\rchecking derived state: %llu/%llu entries indexed again"),
          (unsigned long long)done, (unsigned long long)total);
}

int cmd_verify(struct cli *c, int argc, char **argv) {
  int repair = 0;
  const struct cli_opt opts[] = {
      CLI_FLAG("repair", &repair, N_("replace the derived tables with the rebuild")), CLI_END};
  static const struct cli_command cmd = {
      "verify", NULL, 0, 0,
      N_("Checks every entry of every log in the store: encoding, entry id, signature,\n"
         "hash-chain link and time order, body hash, and that readable bodies decrypt.\n"
         "Names each damaged entry; exits 1 if any. Lists the logs known to have forked\n"
         "(two signed entries for one position), whether seen here or reported by\n"
         "another office in a fork entry. Then rebuilds what is derived from the log (case\n"
         "states, case index, numbers, grants) aside and names every table and case\n"
         "that differs; --repair replaces the derived tables with the rebuild."),
      NULL};
  int prc = cli_parse(c, &cmd, opts, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  /* The pages first: LMDB trusts them, and the checks below read every
   * table and rebuild the derived ones in a write transaction, which must
   * never run on pages that do not hold together. */
  struct pages_ctx pc = {json ? json_array() : NULL, 0};
  uint64_t npages = 0;
  int rc = dk_node_check_pages(c->dir, on_page, &pc, &npages);
  if (rc == 0 && npages > 0) {
    if (json) {
      json_t *o = json_pack("{s:b, s:I, s:o}", "ok", 0, "damaged_pages", (json_int_t)npages,
                            "pages", pc.arr);
      cli_print_json(o);
    }
    return cli_error_code(
        DK_EDAMAGED,
        _("the store file is damaged: %llu pages do not hold together, so no entry in it can "
          "be trusted and nothing may be written to it. Restore data.mdb from a backup "
          "('docket restore'), or rebuild this office's log from its street (a new node with "
          "the office's key file, 'docket init --key-file', then 'docket sync'; see "
          "docs/operations.md)"),
        (unsigned long long)npages);
  }
  json_decref(pc.arr);
  if (rc != 0) {
    char what[4200];
    snprintf(what, sizeof(what), _("cannot open the node in %s"), c->dir);
    return cli_fail(rc, what);
  }
  dk_node *n = cli_open(c, 1);
  if (n == NULL)
    return 1;
  struct verify_ctx vc = {json ? json_array() : NULL, !json && cli_progress_tty(), 0};
  struct dk_verify_report rep;
  rc = dk_node_verify(n, on_problem, on_progress, &vc, &rep);
  struct forks_ctx fc = {json ? json_array() : NULL};
  if (rc == 0) {
    if (vc.tty)
      fputs("\r\033[K", stderr);
    rc = dk_node_forks(n, on_fork, &fc);
  }
  /* Derived state against a rebuild from the log. */
  struct derived_ctx dc = {json ? json_array() : NULL, 0, n};
  uint64_t ndiff = 0, after = 0;
  int repaired = 0;
  if (rc == 0)
    rc = dk_node_index_check(n, on_diff, vc.tty ? on_check_progress : NULL, &dc, &ndiff);
  if (rc == 0 && repair && ndiff > 0) {
    rc = dk_node_index_rebuild(n);
    if (rc == 0)
      rc = dk_node_index_check(n, NULL, NULL, NULL, &after);
    repaired = rc == 0 && after == 0;
  }
  dk_node_close(n);
  if (vc.tty)
    fputs("\r\033[K", stderr);
  if (rc != 0) {
    json_decref(vc.problems);
    json_decref(fc.arr);
    json_decref(dc.arr);
    return cli_fail(rc, _("verification could not run to the end"));
  }
  int ok = rep.problems == 0 && (ndiff == 0 || repaired);
  if (json) {
    json_t *o = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:I, s:o, s:b}", "ok",
                          ok, "logs", (json_int_t)rep.logs, "entries", (json_int_t)rep.entries,
                          "bodies_checked", (json_int_t)rep.bodies_checked, "bodies_decrypted",
                          (json_int_t)rep.bodies_decrypted, "bodies_erased",
                          (json_int_t)rep.bodies_erased, "forks", (json_int_t)rep.forks,
                          "problems", vc.problems, "fork_proofs", fc.arr, "derived_differences",
                          (json_int_t)ndiff, "derived", dc.arr, "repaired", repaired);
    if (cli_print_json(o) != 0)
      return 1;
  } else {
    printf(_("%s: %llu entries in %llu logs; %llu bodies checked, %llu decrypted, %llu erased; "
           "%llu fork proofs; %llu problems\n"),
           ok ? "OK" : "DAMAGED", (unsigned long long)rep.entries, (unsigned long long)rep.logs,
           (unsigned long long)rep.bodies_checked, (unsigned long long)rep.bodies_decrypted,
           (unsigned long long)rep.bodies_erased, (unsigned long long)rep.forks,
           (unsigned long long)rep.problems);
    if (ndiff > 0)
      printf(repaired ? _("%llu rows of derived state differed from the log; rebuilt from the "
                          "log (repaired)\n")
             : repair ? _("%llu rows of derived state differ from the log; the rebuild did not "
                          "mend them\n")
                      : _("%llu rows of derived state differ from the log: run 'docket verify "
                          "--repair'\n"),
             (unsigned long long)ndiff);
  }
  return ok ? 0 : 1;
}
