/*
 * docket case export --format csv|xlsx: the ledger back, one row per case
 * with the columns `case import` reads (cli/ledger.c), so that an export
 * imports into a fresh node. Erased cases are left out: their text is gone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/ledger.h"
#include "common/error.h"

struct export_ctx {
  struct ledger_out out;
  int kind;
  uint64_t from_ms, to_ms; /* opened in [from, to] (to: the whole day) */
  size_t count;
  int rc;
};

static int export_one(void *arg, const struct dk_case_state *s) {
  struct export_ctx *c = arg;
  if (s->erased_at_ms != 0 || !s->opened)
    return 0;
  if (c->kind >= 0 && (int)s->kind != c->kind)
    return 0;
  if (s->opened_at_ms < c->from_ms || (c->to_ms && s->opened_at_ms > c->to_ms))
    return 0;
  int rc = ledger_out_add(&c->out, s);
  if (rc != 0)
    return rc;
  c->count++;
  return 0;
}

int cmd_case_export(struct cli *cl, int argc, char **argv) {
  const char *format = NULL, *path = NULL, *from = NULL, *to = NULL, *kind = NULL, *lang = NULL;
  const struct cli_opt opts[] = {
      CLI_REQUIRED("format", "csv|xlsx", &format, N_("the file format")),
      CLI_STRING("out", "FILE", &path,
                 N_("the file to write (a CSV goes to standard output without it)")),
      CLI_STRING("from", "DATE", &from, N_("cases opened on or after DATE (YYYY-MM-DD)")),
      CLI_STRING("to", "DATE", &to, N_("cases opened on or before DATE (YYYY-MM-DD)")),
      CLI_STRING("kind", "KIND", &kind, N_("cases of one kind only")),
      CLI_STRING("ledger-lang", "zh_CN|en", &lang,
                 N_("the language of the column names (default: the interface language)")),
      CLI_END};
  static const struct cli_command cmd = {
      "case export", NULL, 0, 0,
      N_("Writes the ledger of this node's cases: one row per case with the columns\n"
         "that 'docket case import' reads (docs/ledger-import.md), sorted by number.\n"
         "CSV has a UTF-8 byte order mark so that Excel opens it as UTF-8; XLSX has\n"
         "one sheet. --from and --to select by the opening date, --kind by kind.\n"
         "The column names are in the interface language (--lang), or in the one\n"
         "--ledger-lang names."),
      NULL};
  int prc = cli_parse(cl, &cmd, opts, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = cl->json;
  int xlsx = strcmp(format, "xlsx") == 0;
  if (!xlsx && strcmp(format, "csv") != 0)
    return cli_command_usage_error(&cmd, opts, _("--format is csv or xlsx, not '%s'"), format);
  if (xlsx && path == NULL)
    return cli_command_usage_error(&cmd, opts, _("an XLSX export needs --out FILE"));
  enum ledger_lang lg;
  if (ledger_lang_choose(lang, &lg) != 0)
    return cli_command_usage_error(&cmd, opts, _("--%s is zh_CN or en, not '%s'"), "ledger-lang",
                                   lang);
  struct export_ctx c;
  memset(&c, 0, sizeof(c));
  c.kind = -1;
  if (kind) {
    enum dk_kind k;
    if (dk_kind_parse(kind, &k) != 0)
      return cli_command_usage_error(&cmd, opts, _("unknown kind '%s'"), kind);
    c.kind = (int)k;
  }
  if (from && cli_parse_time(from, &c.from_ms) != 0)
    return cli_command_usage_error(&cmd, opts, _("--from '%s' is not a date (YYYY-MM-DD)"), from);
  if (to) {
    if (cli_parse_time(to, &c.to_ms) != 0)
      return cli_command_usage_error(&cmd, opts, _("--to '%s' is not a date (YYYY-MM-DD)"), to);
    if (strlen(to) == 10)
      c.to_ms += 86400000ull - 1; /* the whole day */
  }
  dk_node *n = cli_open(cl, 1);
  if (n == NULL)
    return 1;
  ledger_out_init(&c.out, lg);
  int out = 0;
  int rc = dk_node_case_foreach(n, export_one, &c);
  if (rc != 0) {
    out = cli_fail(rc, _("cannot read the cases"));
    goto done;
  }
  if (xlsx) {
    rc = ledger_out_write_xlsx(&c.out, path);
  } else {
    FILE *f = path ? fopen(path, "wb") : stdout;
    if (f == NULL) {
      out = cli_error(_("cannot write %s: %s"), path, strerror(errno));
      goto done;
    }
    rc = ledger_out_write_csv(&c.out, f);
    if (path && fclose(f) != 0 && rc == 0)
      rc = DK_EIO;
  }
  if (rc != 0) {
    out = cli_fail(rc, _("cannot write the ledger"));
    goto done;
  }
  if (json)
    out = cli_print_json(json_pack("{s:I, s:s, s:s?}", "cases", (json_int_t)c.count, "format",
                                   format, "out", path));
  else if (path)
    printf(_("wrote %zu cases to %s\n"), c.count, path);
done:
  ledger_out_release(&c.out);
  dk_node_close(n);
  return out;
}
