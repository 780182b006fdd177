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

static const char EXPORT_USAGE[] =
    "docket case export --format csv|xlsx [--out FILE] [--from DATE] [--to DATE] [--kind KIND]\n"
    "                   [--lang zh_CN|en] [--json]";

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
  int json = 0;
  for (int i = 1; i < argc; i++) {
    const char **to_set = NULL;
    if (strcmp(argv[i], "--json") == 0) {
      json = 1;
      continue;
    } else if (strcmp(argv[i], "--help") == 0) {
      printf("usage: %s\n\nWrites the ledger of this node's cases: one row per case with the "
             "columns\nthat 'docket case import' reads (docs/ledger-import.md), sorted by number.\n"
             "CSV has a UTF-8 byte order mark so that Excel opens it as UTF-8; XLSX has\n"
             "one sheet. --from and --to (YYYY-MM-DD) select by the opening date, --kind\n"
             "by kind; --lang names the columns in Chinese (zh_CN, the default) or\n"
             "English. Without --out a CSV goes to standard output.\n",
             EXPORT_USAGE);
      return 0;
    } else if (strcmp(argv[i], "--format") == 0)
      to_set = &format;
    else if (strcmp(argv[i], "--out") == 0)
      to_set = &path;
    else if (strcmp(argv[i], "--from") == 0)
      to_set = &from;
    else if (strcmp(argv[i], "--to") == 0)
      to_set = &to;
    else if (strcmp(argv[i], "--kind") == 0)
      to_set = &kind;
    else if (strcmp(argv[i], "--lang") == 0)
      to_set = &lang;
    else
      return cli_usage_error(EXPORT_USAGE, "unexpected argument '%s'", argv[i]);
    if (i + 1 >= argc)
      return cli_usage_error(EXPORT_USAGE, "%s needs a value", argv[i]);
    *to_set = argv[++i];
  }
  if (format == NULL)
    return cli_usage_error(EXPORT_USAGE, "--format csv or --format xlsx?");
  int xlsx = strcmp(format, "xlsx") == 0;
  if (!xlsx && strcmp(format, "csv") != 0)
    return cli_usage_error(EXPORT_USAGE, "--format is csv or xlsx, not '%s'", format);
  if (xlsx && path == NULL)
    return cli_usage_error(EXPORT_USAGE, "an XLSX export needs --out FILE");
  enum ledger_lang lg = LEDGER_ZH;
  if (lang && strcmp(lang, "en") == 0)
    lg = LEDGER_EN;
  else if (lang && strcmp(lang, "zh_CN") != 0 && strcmp(lang, "zh") != 0)
    return cli_usage_error(EXPORT_USAGE, "--lang is zh_CN or en, not '%s'", lang);
  struct export_ctx c;
  memset(&c, 0, sizeof(c));
  c.kind = -1;
  if (kind) {
    enum dk_kind k;
    if (dk_kind_parse(kind, &k) != 0)
      return cli_usage_error(EXPORT_USAGE, "unknown kind '%s'", kind);
    c.kind = (int)k;
  }
  if (from && cli_parse_time(from, &c.from_ms) != 0)
    return cli_usage_error(EXPORT_USAGE, "--from '%s' is not a date (YYYY-MM-DD)", from);
  if (to) {
    if (cli_parse_time(to, &c.to_ms) != 0)
      return cli_usage_error(EXPORT_USAGE, "--to '%s' is not a date (YYYY-MM-DD)", to);
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
    out = cli_fail(rc, "cannot read the cases");
    goto done;
  }
  if (xlsx) {
    rc = ledger_out_write_xlsx(&c.out, path);
  } else {
    FILE *f = path ? fopen(path, "wb") : stdout;
    if (f == NULL) {
      out = cli_error("cannot write %s: %s", path, strerror(errno));
      goto done;
    }
    rc = ledger_out_write_csv(&c.out, f);
    if (path && fclose(f) != 0 && rc == 0)
      rc = DK_EIO;
  }
  if (rc != 0) {
    out = cli_fail(rc, "cannot write the ledger");
    goto done;
  }
  if (json)
    out = cli_print_json(json_pack("{s:I, s:s, s:s?}", "cases", (json_int_t)c.count, "format",
                                   format, "out", path));
  else if (path)
    printf("wrote %zu cases to %s\n", c.count, path);
done:
  ledger_out_release(&c.out);
  dk_node_close(n);
  return out;
}
