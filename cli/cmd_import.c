/*
 * docket case import FILE: loads an office ledger (台账) kept in a
 * spreadsheet, CSV or XLSX (cli/ledger.c reads them). docs/ledger-import.md
 * documents the columns.
 *
 * The file is read into memory once. A first pass parses and checks every
 * row (fields, dates, the order of steps, case numbers: given twice in the
 * file, or held by a different case in the store) and reports each bad row
 * by its line; if any row is bad nothing is written. Then the rows are
 * loaded in group commits, a few hundred cases at a time: first the rows
 * with a given number, then those that leave it blank, so that an assigned
 * number never takes a number the ledger gives a later row. Rows whose case
 * is already in the store (same number, kind, opening date and summary) are
 * skipped, so an import cut short (power loss, kill) is finished by running
 * the same command again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "cli/ledger.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/utf8.h"

#define ROWS_PER_LOAD 512
#define ERRORS_SHOWN_MAX 50

/* ---- case numbers given in the file --------------------------------------------- */

/* An open-addressing set of the numbers seen in pass 1, with their line. */
struct numset {
  char (*keys)[DK_CASE_NUMBER_BYTES];
  size_t *lines;
  size_t cap, count;
};

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

/* Adds number (found on line); returns 0, or the line it was first seen on. */
static size_t numset_add(struct numset *ns, const char *number, size_t line, int *oom) {
  if (ns->count * 2 >= ns->cap) {
    size_t cap = ns->cap ? ns->cap * 2 : 1024;
    struct numset bigger = {calloc(cap, DK_CASE_NUMBER_BYTES), calloc(cap, sizeof(size_t)), cap,
                            0};
    if (!bigger.keys || !bigger.lines) {
      free(bigger.keys);
      free(bigger.lines);
      *oom = 1;
      return 0;
    }
    for (size_t i = 0; i < ns->cap; i++)
      if (ns->lines[i])
        numset_add(&bigger, ns->keys[i], ns->lines[i], oom);
    free(ns->keys);
    free(ns->lines);
    *ns = bigger;
  }
  size_t i = hash_str(number) & (ns->cap - 1);
  while (ns->lines[i]) {
    if (strcmp(ns->keys[i], number) == 0)
      return ns->lines[i];
    i = (i + 1) & (ns->cap - 1);
  }
  snprintf(ns->keys[i], DK_CASE_NUMBER_BYTES, "%s", number);
  ns->lines[i] = line;
  ns->count++;
  return 0;
}

static void numset_free(struct numset *ns) {
  free(ns->keys);
  free(ns->lines);
  memset(ns, 0, sizeof(*ns));
}

/* ---- pass 1: check ------------------------------------------------------------ */

struct check_ctx {
  dk_node *n;
  uint64_t now;
  FILE *errors; /* NULL: count only */
  int xlsx; /* rows are named as sheet rows, not file lines */
  size_t rows, bad, present;
  struct ledger_error first_bad;
  struct numset numbers;
  struct ledger_built b;
};

static int check_row(void *arg, size_t line, const struct ledger_row *r) {
  struct check_ctx *c = arg;
  struct ledger_error e;
  memset(&e, 0, sizeof(e));
  c->rows++;
  if (c->rows > DK_XLSX_ROWS_MAX)
    return DK_ELIMIT;
  int rc;
  if (r == NULL) {
    snprintf(e.msg, sizeof(e.msg), "%s", _("wrong number of fields for the header"));
    rc = DK_EINVAL;
  } else {
    rc = ledger_build(r, &c->b, c->now, &e);
    if (rc == 0) {
      struct dk_case_plan plan = {c->b.ev, c->b.count, 0};
      rc = dk_node_plan_check(c->n, &plan);
      if (rc == DK_ETRANSITION)
        snprintf(e.msg, sizeof(e.msg), "%s",
                 _("these steps cannot happen in this order (e.g. a dispute closed without an "
                   "outcome, or a revisit before the end)"));
      else if (rc != 0)
        snprintf(e.msg, sizeof(e.msg), _("a field is not valid: %s"), dk_strerror(rc));
      const char *number = r->f[C_NUMBER];
      if (rc == 0 && number[0]) {
        int oom = 0;
        size_t first = numset_add(&c->numbers, number, line, &oom);
        if (oom)
          rc = DK_ENOMEM;
        else if (first) {
          snprintf(e.msg, sizeof(e.msg),
                   c->xlsx ? _("number %s is also on row %zu: a number names one case")
                           : _("number %s is also on line %zu: a number names one case"),
                   number, first);
          rc = DK_ENUMBER;
        }
      }
      if (rc == 0) {
        int present = 0;
        rc = dk_node_plan_number(c->n, &plan, &present);
        if (rc == DK_ENUMBER)
          snprintf(e.msg, sizeof(e.msg),
                   _("number %s is already held by a different case in this node (another "
                     "kind, opening date or summary)"),
                   number);
        else if (rc != 0)
          snprintf(e.msg, sizeof(e.msg), _("cannot check the number: %s"), dk_strerror(rc));
        c->present += present;
      }
      ledger_built_release(&c->b);
    }
  }
  if (rc == DK_ENOMEM)
    return rc;
  if (rc != 0) {
    if (c->bad == 0) {
      c->first_bad.line = line;
      snprintf(c->first_bad.msg, sizeof(c->first_bad.msg), "%s", e.msg);
    }
    if (c->errors && c->bad < ERRORS_SHOWN_MAX) {
      fprintf(c->errors, "docket: %s ", _("error:"));
      fprintf(c->errors, c->xlsx ? _("row %zu: %s\n") : _("line %zu: %s\n"), line, e.msg);
    }
    c->bad++;
  }
  return 0;
}

/* ---- pass 2: load ------------------------------------------------------------- */

struct kept_row {
  struct ledger_row r;
  char *mem[C_COUNT];
};

struct load_ctx {
  dk_node *n;
  uint64_t now;
  int phase; /* 0: rows with a number, 1: rows without */
  struct kept_row rows[ROWS_PER_LOAD];
  struct ledger_built *b; /* ROWS_PER_LOAD of them */
  struct dk_case_plan plans[ROWS_PER_LOAD];
  size_t lines[ROWS_PER_LOAD];
  size_t pending;
  size_t total_rows, cases_done, skipped, entries;
  size_t bad_line; /* out: the row a load refused */
  int progress_lines, tty;
};

static void on_progress(void *arg, const struct dk_bulk_progress *p) {
  struct load_ctx *c = arg;
  size_t done = c->cases_done + p->cases_done;
  if (c->progress_lines) {
    printf(_("committed %zu cases %zu entries\n"), done, c->entries + p->entries_committed);
    fflush(stdout);
  }
  if (c->tty) {
    fputc('\r', stderr);
    fprintf(stderr, _("importing: %zu/%zu rows"), done, c->total_rows);
  }
}

static void rows_free(struct load_ctx *c) {
  for (size_t i = 0; i < c->pending; i++) {
    for (int k = 0; k < C_COUNT; k++)
      free(c->rows[i].mem[k]);
    memset(&c->rows[i], 0, sizeof(c->rows[i]));
    ledger_built_release(&c->b[i]);
  }
  c->pending = 0;
}

static int flush(struct load_ctx *c) {
  if (c->pending == 0)
    return 0;
  size_t bad = 0;
  int rc = dk_node_bulk_load(c->n, c->plans, c->pending, on_progress, c, &bad);
  if (rc == 0) {
    for (size_t i = 0; i < c->pending; i++) {
      c->skipped += c->plans[i].skipped;
      if (!c->plans[i].skipped)
        c->entries += c->plans[i].events_count;
    }
    c->cases_done += c->pending;
  } else if (bad < c->pending) {
    c->bad_line = c->lines[bad];
  }
  rows_free(c);
  return rc;
}

static int load_row(void *arg, size_t line, const struct ledger_row *r) {
  struct load_ctx *c = arg;
  if (r == NULL)
    return DK_EFORMAT; /* pass 1 refused this */
  if ((r->f[C_NUMBER][0] == 0) != (c->phase == 1))
    return 0;
  /* Keep the row's strings: the reader frees its own. */
  struct kept_row *keep = &c->rows[c->pending];
  for (int k = 0; k < C_COUNT; k++) {
    keep->r.f[k] = "";
    if (r->f[k][0]) {
      keep->mem[k] = strdup(r->f[k]);
      if (keep->mem[k] == NULL) {
        c->pending++;
        return DK_ENOMEM;
      }
      keep->r.f[k] = keep->mem[k];
    }
  }
  struct ledger_error e;
  int rc = ledger_build(&keep->r, &c->b[c->pending], c->now, &e);
  c->lines[c->pending] = line;
  c->pending++;
  if (rc != 0)
    return DK_EFORMAT; /* pass 1 accepted it: cannot happen */
  c->plans[c->pending - 1].events = c->b[c->pending - 1].ev;
  c->plans[c->pending - 1].events_count = c->b[c->pending - 1].count;
  c->plans[c->pending - 1].skipped = 0;
  if (c->pending == ROWS_PER_LOAD)
    return flush(c);
  return 0;
}

int ledger_import(dk_node *n, struct ledger *l, const char *sheet, struct ledger_import *res,
                  FILE *errors) {
  memset(res, 0, sizeof(*res));
  struct check_ctx *cc = calloc(1, sizeof(*cc));
  struct load_ctx *lc = calloc(1, sizeof(*lc));
  if (lc)
    lc->b = calloc(ROWS_PER_LOAD, sizeof(struct ledger_built));
  int rc = 0;
  if (!cc || !lc || !lc->b) {
    rc = DK_ENOMEM;
    snprintf(res->err.msg, sizeof(res->err.msg), "%s", _("out of memory"));
    goto done;
  }
  cc->n = n;
  cc->now = dk_node_now(n);
  cc->errors = errors;
  cc->xlsx = l->xlsx;
  rc = ledger_read(l, sheet, check_row, cc, &res->err);
  res->rows = cc->rows;
  res->bad = cc->bad;
  res->first_bad = cc->first_bad;
  if (rc == DK_ELIMIT && res->err.msg[0] == 0)
    snprintf(res->err.msg, sizeof(res->err.msg), _("more than %d rows"), DK_XLSX_ROWS_MAX);
  if (rc != 0)
    goto done;
  if (cc->bad) {
    rc = DK_EINVAL;
    snprintf(res->err.msg, sizeof(res->err.msg),
             _("%zu of %zu rows are not valid; nothing was imported"), cc->bad, cc->rows);
    goto done;
  }
  if (!dk_node_unlocked(n)) {
    rc = DK_ENOKEY;
    snprintf(res->err.msg, sizeof(res->err.msg), "%s", _("the node is locked"));
    goto done;
  }
  lc->n = n;
  lc->now = cc->now;
  lc->total_rows = cc->rows;
  lc->progress_lines = res->progress_lines;
  lc->tty = res->tty;
  for (lc->phase = 0; lc->phase < 2 && rc == 0; lc->phase++) {
    rc = ledger_read(l, sheet, load_row, lc, &res->err);
    if (rc == 0)
      rc = flush(lc);
    else
      rows_free(lc);
  }
  res->imported = lc->cases_done - lc->skipped;
  res->skipped = lc->skipped;
  res->entries = lc->entries;
  res->cases_done = lc->cases_done;
  if (rc == DK_ENUMBER) {
    res->err.line = lc->bad_line;
    snprintf(res->err.msg, sizeof(res->err.msg), "%s",
             _("the case number is held by a different case (it changed during the import)"));
  } else if (rc != 0 && res->err.msg[0] == 0) {
    snprintf(res->err.msg, sizeof(res->err.msg), "%s", dk_strerror(rc));
  }
done:
  if (lc)
    free(lc->b);
  free(lc);
  if (cc)
    numset_free(&cc->numbers);
  free(cc);
  return rc;
}

/* ---- the command -------------------------------------------------------------- */

int ledger_lang_choose(const char *name, enum ledger_lang *lang) {
  if (name == NULL) {
    /* The interface language: cli_i18n_init has set LANGUAGE to it. */
    const char *ui = getenv("LANGUAGE");
    *lang = ui && strncmp(ui, "zh", 2) == 0 ? LEDGER_ZH : LEDGER_EN;
    return 0;
  }
  if (strcmp(name, "en") == 0 || strncmp(name, "en_", 3) == 0 || strcmp(name, "C") == 0) {
    *lang = LEDGER_EN;
    return 0;
  }
  if (strcmp(name, "zh") == 0 || strncmp(name, "zh_", 3) == 0) {
    *lang = LEDGER_ZH;
    return 0;
  }
  return DK_EINVAL;
}

static int write_template(const char *path, enum ledger_lang lang, int json) {
  size_t len = strlen(path);
  int rc;
  struct ledger_out o;
  ledger_out_init(&o, lang);
  if (len > 5 && strcasecmp(path + len - 5, ".xlsx") == 0) {
    rc = ledger_out_write_xlsx(&o, path);
  } else {
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
      ledger_out_release(&o);
      return cli_error(_("cannot write %s: %s"), path, strerror(errno));
    }
    rc = ledger_out_write_csv(&o, f);
    if (fclose(f) != 0 && rc == 0)
      rc = DK_EIO;
  }
  ledger_out_release(&o);
  if (rc != 0)
    return cli_fail(rc, _("cannot write the template"));
  if (json)
    return cli_print_json(json_pack("{s:s, s:s}", "template", path, "lang",
                                    lang == LEDGER_ZH ? "zh_CN" : "en"));
  printf(lang == LEDGER_ZH ? _("wrote an empty ledger to %s (Chinese column names)\n")
                           : _("wrote an empty ledger to %s (English column names)\n"),
         path);
  return 0;
}

int cmd_case_import(struct cli *cl, int argc, char **argv) {
  int progress_lines = 0;
  const char *path = NULL, *sheet = NULL, *template = NULL, *lang = NULL;
  const struct cli_opt opts[] = {
      CLI_STRING("sheet", "NAME", &sheet, N_("the sheet of an .xlsx workbook (default: the first)")),
      CLI_FLAG("progress", &progress_lines, N_("print a line after every durable commit")),
      CLI_STRING("template", "FILE", &template,
                 N_("write an empty ledger (CSV, or XLSX by the extension) instead")),
      CLI_STRING("ledger-lang", "zh_CN|en", &lang,
                 N_("the template's column names (default: the interface language)")),
      CLI_END};
  static const struct cli_command cmd = {
      "case import", N_("FILE"), 0, 1,
      N_("Loads a ledger kept in a spreadsheet: CSV (UTF-8 with or without BOM, or\n"
         "GB18030/GBK as Chinese Windows saves it) or an .xlsx workbook (the first\n"
         "sheet, or --sheet NAME). A header row names the columns, in English or\n"
         "Chinese (docs/ledger-import.md). Every row is checked first: bad rows are\n"
         "listed by line and nothing is written. Rows whose case is already here are\n"
         "skipped, so running an interrupted import again completes it.\n\n"
         "--template FILE writes an empty ledger instead, its column names in the\n"
         "interface language (--lang zh_CN|en), or in the one --ledger-lang names."),
      NULL};
  int prc = cli_parse(cl, &cmd, opts, argc, argv, &path, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = cl->json;
  if (template != NULL) {
    if (path != NULL || sheet != NULL)
      return cli_command_usage_error(&cmd, opts, _("--template writes a file; it imports nothing"));
    enum ledger_lang lg;
    if (ledger_lang_choose(lang, &lg) != 0)
      return cli_command_usage_error(&cmd, opts, _("--%s is zh_CN or en, not '%s'"),
                                     "ledger-lang", lang);
    return write_template(template, lg, json);
  }
  if (lang != NULL)
    return cli_command_usage_error(&cmd, opts,
                                   _("--ledger-lang goes with --template: an import reads "
                                     "either language"));
  if (path == NULL)
    return cli_command_usage_error(&cmd, opts, _("which file?"));
  struct ledger l;
  struct ledger_error e;
  int rc = ledger_load_file(&l, path, &e);
  if (rc != 0) {
    if (e.line)
      return cli_error(_("%s line %zu: %s"), path, e.line, e.msg);
    return cli_error("%s", e.msg);
  }
  if (!l.xlsx && sheet != NULL) {
    ledger_release(&l);
    return cli_command_usage_error(&cmd, opts, _("--sheet is for .xlsx files"));
  }
  dk_node *n = cli_open(cl, 1);
  if (n == NULL) {
    ledger_release(&l);
    return 1;
  }
  struct ledger_import res;
  memset(&res, 0, sizeof(res));
  int out = 0;
  if (!json && !l.xlsx)
    fprintf(stderr, _("reading %s as %s\n"), path, l.encoding);
  res.progress_lines = progress_lines;
  res.tty = !progress_lines && cli_progress_tty();
  /* Under --json stderr carries one JSON error: the rows are not listed. */
  rc = ledger_import(n, &l, sheet, &res, json ? NULL : stderr);
  if (res.tty)
    fputs("\r\033[K", stderr);
  if (rc != 0) {
    if (!json && res.bad > ERRORS_SHOWN_MAX) {
      fprintf(stderr, "docket: %s ", _("error:"));
      fprintf(stderr, _("... and %zu more\n"), res.bad - ERRORS_SHOWN_MAX);
    }
    if (res.cases_done > 0) {
      char what[512];
      snprintf(what, sizeof(what),
               _("import stopped after %zu rows (those are stored; run the import again to "
                 "finish)%s%s"),
               res.cases_done, res.err.msg[0] ? ": " : "", res.err.msg);
      out = cli_error("%s", what);
    } else if (json && res.bad > 0 && res.first_bad.line) {
      /* One JSON error: the first bad row, then how many there are. */
      out = cli_error(l.xlsx ? _("%s row %zu: %s (%s)") : _("%s line %zu: %s (%s)"), path,
                      res.first_bad.line, res.first_bad.msg, res.err.msg);
    } else if (res.err.line) {
      out = cli_error(l.xlsx ? _("%s row %zu: %s") : _("%s line %zu: %s"), path, res.err.line,
                      res.err.msg);
    } else {
      out = cli_error("%s", res.err.msg[0] ? res.err.msg : dk_strerror(rc));
    }
    goto done;
  }
  if (json)
    out = cli_print_json(json_pack("{s:I, s:I, s:I, s:I, s:s, s:s?}", "rows", (json_int_t)res.rows,
                                   "imported", (json_int_t)res.imported, "skipped",
                                   (json_int_t)res.skipped, "entries", (json_int_t)res.entries,
                                   "encoding", l.encoding, "sheet",
                                   l.xlsx ? l.sheet : NULL));
  else
    printf(_("imported %zu cases (%zu entries) from %s; %zu already present\n"), res.imported,
           res.entries, path, res.skipped);
done:
  ledger_release(&l);
  dk_node_close(n);
  return out;
}
