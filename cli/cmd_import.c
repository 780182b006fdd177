/*
 * docket case import FILE.csv: loads an office ledger (台账) kept in a
 * spreadsheet. docs/ledger-import.md documents the columns.
 *
 * Two passes over the file: the first parses and checks every row (fields,
 * dates, the order of steps) and reports each bad row by line number; if
 * any row is bad nothing is written. The second builds the rows' events and
 * loads them in group commits, a few hundred cases at a time, so memory stays
 * bounded whatever the file's size. Rows whose case number is already in the
 * store are skipped, so an import cut short (power loss, kill) is finished by
 * running the same command again.
 */
#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "common/error.h"
#include "common/limits.h"

enum col {
  C_NUMBER, C_KIND, C_CATEGORY, C_OPENED, C_SUMMARY, C_PARTIES, C_CLASS, C_TRIAGED, C_MEDIATOR,
  C_ADVISOR, C_SESSIONS, C_MINUTES, C_ESCALATED, C_OUTCOME, C_OUTCOME_DATE, C_AGREEMENT,
  C_REASON, C_REFER, C_ITEMS, C_CLOSED, C_REVISIT, C_SATISFACTION, C_NOTE, C_COUNT
};

static const char *const COL_NAMES[C_COUNT] = {
    "number",  "kind",     "category", "opened",   "summary",      "parties",
    "class",   "triaged",  "mediator", "advisor",  "sessions",     "minutes",
    "escalated", "outcome", "outcome_date", "agreement", "reason", "refer",
    "items",   "closed",   "revisit",  "satisfaction", "note"};

#define ROWS_PER_LOAD 512
#define SESSIONS_PER_ROW_MAX 50
#define ERRORS_SHOWN_MAX 50

struct row {
  char *f[C_COUNT];
};

/* Empty fields point here, never at memory the parser frees. */
static char EMPTY[1] = "";

struct parser {
  struct csv_parser csv;
  int col_of_field[64]; /* header position -> column, -1 unused */
  size_t fields_in_header;
  int header_done;
  size_t field_index;
  char *fields[64];
  size_t line;       /* current physical line */
  size_t row_line;   /* line where the current row started */
  size_t row_bytes;
  int too_many_fields;
  int (*on_row)(void *ctx, size_t line, struct row *r);
  void *ctx;
  int stop;          /* set by on_row to abort (I/O error) */
  int header_error;
};

static void free_fields(struct parser *p) {
  for (size_t i = 0; i < 64; i++) {
    free(p->fields[i]);
    p->fields[i] = NULL;
  }
  p->field_index = 0;
  p->too_many_fields = 0;
}

static void cb_field(void *data, size_t len, void *arg) {
  struct parser *p = arg;
  if (p->field_index == 0)
    p->row_line = p->line;
  if (p->field_index >= 64) {
    p->too_many_fields = 1;
    return;
  }
  char *s = malloc(len + 1);
  if (s == NULL) {
    p->stop = DK_ENOMEM;
    return;
  }
  memcpy(s, data, len);
  s[len] = 0;
  /* trim spaces, as spreadsheets leave them */
  char *a = s;
  while (*a == ' ' || *a == '\t')
    a++;
  size_t n = strlen(a);
  while (n > 0 && (a[n - 1] == ' ' || a[n - 1] == '\t' || a[n - 1] == '\r'))
    a[--n] = 0;
  memmove(s, a, n + 1);
  p->fields[p->field_index++] = s;
}

static int header_setup(struct parser *p) {
  for (size_t i = 0; i < 64; i++)
    p->col_of_field[i] = -1;
  if (p->too_many_fields)
    return cli_error("line %zu: the header has more than 64 columns", p->row_line);
  int seen[C_COUNT] = {0};
  for (size_t i = 0; i < p->field_index; i++) {
    const char *name = p->fields[i];
    /* a UTF-8 byte order mark from spreadsheet exports */
    if (i == 0 && (unsigned char)name[0] == 0xef && (unsigned char)name[1] == 0xbb &&
        (unsigned char)name[2] == 0xbf)
      name += 3;
    int found = -1;
    for (int c = 0; c < C_COUNT; c++)
      if (strcasecmp(name, COL_NAMES[c]) == 0)
        found = c;
    if (found < 0)
      return cli_error("line %zu: unknown column '%s' (see docs/ledger-import.md)", p->row_line,
                       name);
    if (seen[found]++)
      return cli_error("line %zu: column '%s' appears twice", p->row_line, name);
    p->col_of_field[i] = found;
  }
  p->fields_in_header = p->field_index;
  if (!seen[C_KIND] || !seen[C_OPENED] || !seen[C_SUMMARY])
    return cli_error("line %zu: the header must have the columns kind, opened and summary",
                     p->row_line);
  return 0;
}

static void cb_row(int term, void *arg) {
  struct parser *p = arg;
  if (p->stop || p->header_error) {
    free_fields(p);
    return;
  }
  if (!p->header_done) {
    p->header_done = 1;
    if (header_setup(p) != 0)
      p->header_error = 1;
    free_fields(p);
    return;
  }
  /* blank lines in spreadsheets exports */
  int blank = 1;
  for (size_t i = 0; i < p->field_index; i++)
    if (p->fields[i][0])
      blank = 0;
  if (!blank) {
    struct row r;
    memset(&r, 0, sizeof(r));
    for (int c = 0; c < C_COUNT; c++)
      r.f[c] = EMPTY;
    int bad_width = p->field_index != p->fields_in_header || p->too_many_fields;
    for (size_t i = 0; i < p->field_index && i < p->fields_in_header; i++)
      if (p->col_of_field[i] >= 0)
        r.f[p->col_of_field[i]] = p->fields[i];
    int rc = bad_width ? p->on_row(p->ctx, p->row_line, NULL) : p->on_row(p->ctx, p->row_line, &r);
    if (rc != 0)
      p->stop = rc;
  }
  free_fields(p);
  p->row_bytes = 0;
}

/* Parses path, calling on_row per data row (r NULL when the row has the
 * wrong number of fields). Returns 0, 1 after printing an error, or the
 * on_row error. */
static int parse_file(const char *path, int (*on_row)(void *, size_t, struct row *), void *ctx) {
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return cli_error("cannot open %s: %s", path, strerror(errno));
  struct parser p;
  memset(&p, 0, sizeof(p));
  p.on_row = on_row;
  p.ctx = ctx;
  if (csv_init(&p.csv, CSV_STRICT | CSV_STRICT_FINI) != 0) {
    fclose(f);
    return cli_error("out of memory");
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int out = 0;
  while ((len = getline(&line, &cap, f)) >= 0) {
    p.line++;
    p.row_bytes += (size_t)len;
    if (p.row_bytes > DK_CSV_LINE_BYTES_MAX) {
      out = cli_error("%s line %zu: a row longer than %d bytes (an unclosed quote?)", path,
                      p.row_line ? p.row_line : p.line, DK_CSV_LINE_BYTES_MAX);
      break;
    }
    if (csv_parse(&p.csv, line, (size_t)len, cb_field, cb_row, &p) != (size_t)len) {
      out = cli_error("%s line %zu: %s", path, p.line, csv_strerror(csv_error(&p.csv)));
      break;
    }
    if (p.header_error) {
      out = 1;
      break;
    }
    if (p.stop)
      break;
  }
  if (out == 0 && !p.stop && ferror(f))
    out = cli_error("cannot read %s: %s", path, strerror(errno));
  if (out == 0 && !p.stop && csv_fini(&p.csv, cb_field, cb_row, &p) != 0)
    out = cli_error("%s line %zu: %s", path, p.line, csv_strerror(csv_error(&p.csv)));
  if (out == 0 && p.header_error)
    out = 1;
  if (out == 0 && !p.header_done)
    out = cli_error("%s is empty: it needs a header row", path);
  free_fields(&p);
  csv_free(&p.csv);
  free(line);
  fclose(f);
  if (out == 0 && p.stop)
    out = p.stop;
  return out;
}

/* ---- rows to events ---------------------------------------------------------- */

struct built {
  struct dk_event ev[SESSIONS_PER_ROW_MAX + 12];
  size_t count;
  char *parties[DK_PARTIES_MAX];
  size_t parties_count;
  char parties_buf[DK_TEXT_BYTES_MAX];
};

static int date_field(const char *s, uint64_t *ms, uint64_t fallback) {
  if (s[0] == 0) {
    *ms = fallback;
    return 0;
  }
  /* ledgers also write 2020/03/01 */
  char tmp[32];
  if (strlen(s) >= sizeof(tmp))
    return DK_EINVAL;
  strcpy(tmp, s);
  for (char *q = tmp; *q; q++)
    if (*q == '/')
      *q = '-';
  return cli_parse_time(tmp, ms);
}

/* Builds the events of one row into b. On a bad field writes a message into
 * err and returns DK_EINVAL. Strings point into r, which must outlive b. */
static int build_row(struct row *r, struct built *b, uint64_t now, char *err, size_t errcap) {
  memset(b, 0, sizeof(*b));
  uint64_t opened, triaged, outcome_at, closed = 0, revisit = 0, u;
  enum dk_kind kind;
  if (dk_kind_parse(r->f[C_KIND], &kind) != 0) {
    snprintf(err, errcap, "unknown kind '%s'", r->f[C_KIND]);
    return DK_EINVAL;
  }
  if (r->f[C_OPENED][0] == 0 || date_field(r->f[C_OPENED], &opened, 0) != 0) {
    snprintf(err, errcap, "opened '%s' is not a date (YYYY-MM-DD)", r->f[C_OPENED]);
    return DK_EINVAL;
  }
  if (opened > now) {
    snprintf(err, errcap, "opened %s is in the future", r->f[C_OPENED]);
    return DK_EINVAL;
  }
  if (r->f[C_SUMMARY][0] == 0) {
    snprintf(err, errcap, "summary is empty");
    return DK_EINVAL;
  }
  if (dk_category_valid(kind, r->f[C_CATEGORY]) != 0) {
    snprintf(err, errcap, "'%s' is not a category of %s (one of: %s)", r->f[C_CATEGORY],
             dk_kind_name(kind), dk_category_names(kind));
    return DK_EINVAL;
  }
  if (date_field(r->f[C_TRIAGED], &triaged, opened) != 0 || triaged < opened) {
    snprintf(err, errcap, "triaged '%s' is not a date on or after opened", r->f[C_TRIAGED]);
    return DK_EINVAL;
  }
  if (date_field(r->f[C_CLOSED], &closed, 0) != 0 || (closed && closed < opened)) {
    snprintf(err, errcap, "closed '%s' is not a date on or after opened", r->f[C_CLOSED]);
    return DK_EINVAL;
  }
  if (date_field(r->f[C_OUTCOME_DATE], &outcome_at, closed ? closed : opened) != 0 ||
      outcome_at < opened || (closed && outcome_at > closed)) {
    snprintf(err, errcap, "outcome_date '%s' is not a date between opened and closed",
             r->f[C_OUTCOME_DATE]);
    return DK_EINVAL;
  }
  if (date_field(r->f[C_REVISIT], &revisit, 0) != 0 || (revisit && revisit < outcome_at)) {
    snprintf(err, errcap, "revisit '%s' is not a date after the outcome", r->f[C_REVISIT]);
    return DK_EINVAL;
  }
  if (closed > now || outcome_at > now || revisit > now || triaged > now) {
    snprintf(err, errcap, "a date is in the future");
    return DK_EINVAL;
  }

  struct dk_event *ev = &b->ev[b->count++];
  dk_event_init(ev);
  ev->type = DK_EVENT_OPEN;
  ev->at_ms = opened;
  ev->kind = kind;
  ev->category = r->f[C_CATEGORY];
  ev->number = r->f[C_NUMBER];
  ev->text = r->f[C_SUMMARY];
  if (r->f[C_PARTIES][0]) {
    if (strlen(r->f[C_PARTIES]) >= sizeof(b->parties_buf)) {
      snprintf(err, errcap, "parties too long");
      return DK_EINVAL;
    }
    strcpy(b->parties_buf, r->f[C_PARTIES]);
    char *save = NULL;
    for (char *tok = strtok_r(b->parties_buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
      while (*tok == ' ')
        tok++;
      size_t n = strlen(tok);
      while (n && tok[n - 1] == ' ')
        tok[--n] = 0;
      if (n == 0)
        continue;
      if (b->parties_count == DK_PARTIES_MAX) {
        snprintf(err, errcap, "more than %d parties", DK_PARTIES_MAX);
        return DK_EINVAL;
      }
      b->parties[b->parties_count++] = tok;
    }
    ev->parties = b->parties;
    ev->parties_count = b->parties_count;
  }
  const char *mediator = r->f[C_MEDIATOR];
  if (r->f[C_CLASS][0]) {
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_TRIAGE;
    ev->at_ms = triaged;
    if (dk_triage_parse(r->f[C_CLASS], &ev->triage) != 0) {
      snprintf(err, errcap, "unknown class '%s' (clinic, emergency, joint)", r->f[C_CLASS]);
      return DK_EINVAL;
    }
  }
  if (r->f[C_ADVISOR][0]) {
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_ASSIGN;
    ev->at_ms = triaged;
    ev->to = r->f[C_ADVISOR];
    ev->role = DK_ROLE_LEGAL_ADVISOR;
  }
  if (mediator[0]) {
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_ASSIGN;
    ev->at_ms = triaged;
    ev->to = (char *)mediator;
    ev->role = DK_ROLE_MEDIATOR;
  }
  if (r->f[C_ESCALATED][0]) {
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_ESCALATE;
    ev->at_ms = triaged;
    if (dk_level_parse(r->f[C_ESCALATED], &ev->level) != 0 || ev->level == DK_LEVEL_NONE) {
      snprintf(err, errcap, "escalated must be street or district, not '%s'",
               r->f[C_ESCALATED]);
      return DK_EINVAL;
    }
  }
  uint64_t sessions = 0, minutes = 0;
  if (r->f[C_SESSIONS][0] &&
      cli_parse_u64(r->f[C_SESSIONS], 0, SESSIONS_PER_ROW_MAX, &sessions) != 0) {
    snprintf(err, errcap, "sessions must be a number from 0 to %d", SESSIONS_PER_ROW_MAX);
    return DK_EINVAL;
  }
  if (r->f[C_MINUTES][0] && cli_parse_u64(r->f[C_MINUTES], 0, 100000, &minutes) != 0) {
    snprintf(err, errcap, "minutes must be a number");
    return DK_EINVAL;
  }
  for (uint64_t i = 0; i < sessions; i++) {
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_SESSION;
    /* spread sessions between triage and the outcome */
    ev->at_ms = triaged + (outcome_at > triaged ? (outcome_at - triaged) * i / sessions : 0);
    ev->by = (char *)mediator;
    ev->minutes = minutes / sessions + (i < minutes % sessions ? 1 : 0);
    ev->text = "";
  }
  const char *outcome = r->f[C_OUTCOME];
  if (strcmp(outcome, "agreed") == 0) {
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_RESOLVE;
    ev->at_ms = outcome_at;
    ev->by = (char *)mediator;
    ev->text = r->f[C_AGREEMENT];
    if (r->f[C_ITEMS][0] && cli_parse_u64(r->f[C_ITEMS], 0, 1000, &u) != 0) {
      snprintf(err, errcap, "items must be a number");
      return DK_EINVAL;
    }
    ev->items = r->f[C_ITEMS][0] ? u : 0;
  } else if (strcmp(outcome, "failed") == 0) {
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_FAIL;
    ev->at_ms = outcome_at;
    ev->by = (char *)mediator;
    ev->text = r->f[C_REASON];
    if (dk_referral_parse(r->f[C_REFER], &ev->refer) != 0) {
      snprintf(err, errcap, "unknown refer '%s' (legal-aid, litigation, arbitration)",
               r->f[C_REFER]);
      return DK_EINVAL;
    }
  } else if (outcome[0]) {
    snprintf(err, errcap, "outcome must be agreed, failed or empty, not '%s'", outcome);
    return DK_EINVAL;
  }
  if (closed) {
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_CLOSE;
    ev->at_ms = closed;
  }
  if (revisit || r->f[C_SATISFACTION][0]) {
    if (!revisit || cli_parse_u64(r->f[C_SATISFACTION], 1, 5, &u) != 0) {
      snprintf(err, errcap, "a return visit needs both revisit (date) and satisfaction (1-5)");
      return DK_EINVAL;
    }
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_REVISIT;
    ev->at_ms = revisit;
    ev->satisfaction = (uint32_t)u;
    ev->text = "";
  }
  if (r->f[C_NOTE][0]) {
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_NOTE;
    ev->at_ms = revisit ? revisit : closed ? closed : outcome_at;
    ev->text = r->f[C_NOTE];
  }
  return 0;
}

/* ---- pass 1: check ------------------------------------------------------------ */

struct check_ctx {
  dk_node *n;
  uint64_t now;
  size_t rows, bad;
  struct built b;
};

static int check_row(void *arg, size_t line, struct row *r) {
  struct check_ctx *c = arg;
  char err[512];
  c->rows++;
  int rc;
  if (r == NULL) {
    snprintf(err, sizeof(err), "wrong number of fields for the header");
    rc = DK_EINVAL;
  } else {
    rc = build_row(r, &c->b, c->now, err, sizeof(err));
    if (rc == 0) {
      struct dk_case_plan plan = {c->b.ev, c->b.count, 0};
      rc = dk_node_plan_check(c->n, &plan);
      if (rc == DK_ETRANSITION)
        snprintf(err, sizeof(err), "these steps cannot happen in this order (e.g. a dispute "
                                   "closed without an outcome, or a revisit before the end)");
      else if (rc != 0)
        snprintf(err, sizeof(err), "a field is not valid: %s", dk_strerror(rc));
      for (size_t i = 0; i < c->b.count; i++)
        free(c->b.ev[i].deps);
    }
  }
  if (rc != 0) {
    if (c->bad < ERRORS_SHOWN_MAX)
      fprintf(stderr, "docket: error: line %zu: %s\n", line, err);
    c->bad++;
  }
  return 0;
}

/* ---- pass 2: load ------------------------------------------------------------- */

struct load_ctx {
  dk_node *n;
  uint64_t now;
  struct row rows[ROWS_PER_LOAD];
  struct built *b; /* ROWS_PER_LOAD of them */
  struct dk_case_plan plans[ROWS_PER_LOAD];
  size_t pending;
  size_t total_rows, cases_done, skipped, entries;
  int progress_lines, tty;
};

static void on_progress(void *arg, const struct dk_bulk_progress *p) {
  struct load_ctx *c = arg;
  size_t done = c->cases_done + p->cases_done;
  if (c->progress_lines) {
    printf("committed %zu cases %zu entries\n", done, c->entries + p->entries_committed);
    fflush(stdout);
  }
  if (c->tty)
    fprintf(stderr, "\rimporting: %zu/%zu rows", done, c->total_rows);
}

static void rows_free(struct load_ctx *c) {
  for (size_t i = 0; i < c->pending; i++) {
    for (int k = 0; k < C_COUNT; k++)
      if (c->rows[i].f[k] != EMPTY)
        free(c->rows[i].f[k]);
    for (size_t j = 0; j < c->b[i].count; j++)
      free(c->b[i].ev[j].deps);
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
  }
  rows_free(c);
  return rc;
}

static int load_row(void *arg, size_t line, struct row *r) {
  struct load_ctx *c = arg;
  char err[512];
  if (r == NULL)
    return DK_EFORMAT; /* checked in pass 1: the file changed under us */
  /* Keep the row's strings: the parser frees its own. */
  struct row *keep = &c->rows[c->pending];
  for (int k = 0; k < C_COUNT; k++) {
    if (r->f[k][0]) {
      keep->f[k] = strdup(r->f[k]);
      if (keep->f[k] == NULL)
        return DK_ENOMEM;
    } else {
      keep->f[k] = EMPTY;
    }
  }
  int rc = build_row(keep, &c->b[c->pending], c->now, err, sizeof(err));
  if (rc != 0) {
    c->pending++;
    return DK_EFORMAT;
  }
  c->plans[c->pending].events = c->b[c->pending].ev;
  c->plans[c->pending].events_count = c->b[c->pending].count;
  c->plans[c->pending].skipped = 0;
  c->pending++;
  if (c->pending == ROWS_PER_LOAD)
    return flush(c);
  return 0;
}

int cmd_case_import(struct cli *cl, int argc, char **argv) {
  int progress_lines = 0;
  const char *path = NULL;
  const struct cli_opt opts[] = {
      CLI_FLAG("progress", &progress_lines, N_("print a line after every durable commit")),
      CLI_END};
  static const struct cli_command cmd = {
      "case import", N_("FILE.csv"), 1, 1,
      N_("Loads a ledger exported from a spreadsheet as CSV (UTF-8, a header row;\n"
         "columns in docs/ledger-import.md). Every row is checked first: bad rows are\n"
         "listed by line and nothing is written. Rows whose number is already here are\n"
         "skipped, so running an interrupted import again completes it."),
      NULL};
  int prc = cli_parse(cl, &cmd, opts, argc, argv, &path, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = cl->json;
  dk_node *n = cli_open(cl, 1);
  if (n == NULL)
    return 1;
  int out = 0;
  struct check_ctx *cc = calloc(1, sizeof(*cc));
  struct load_ctx *lc = calloc(1, sizeof(*lc));
  if (lc)
    lc->b = calloc(ROWS_PER_LOAD, sizeof(struct built));
  if (!cc || !lc || !lc->b) {
    out = cli_error("out of memory");
    goto done;
  }
  cc->n = n;
  cc->now = dk_node_now(n);
  int rc = parse_file(path, check_row, cc);
  if (rc != 0) {
    out = rc > 0 ? rc : cli_fail(rc, "cannot read the ledger");
    goto done;
  }
  if (cc->bad) {
    if (cc->bad > ERRORS_SHOWN_MAX)
      fprintf(stderr, "docket: error: ... and %zu more\n", cc->bad - ERRORS_SHOWN_MAX);
    out = cli_error("%zu of %zu rows are not valid; nothing was imported", cc->bad, cc->rows);
    goto done;
  }
  lc->n = n;
  lc->now = cc->now;
  lc->total_rows = cc->rows;
  lc->progress_lines = progress_lines;
  lc->tty = !progress_lines && cli_progress_tty();
  rc = parse_file(path, load_row, lc);
  if (rc == 0)
    rc = flush(lc);
  else
    rows_free(lc);
  if (lc->tty)
    fputs("\r\033[K", stderr);
  if (rc == DK_EFORMAT) {
    out = cli_error_code(rc, "%s changed while it was being imported; %zu rows are in, run the import "
                    "again to finish",
                    path, lc->cases_done);
    goto done;
  }
  if (rc != 0) {
    char what[128];
    snprintf(what, sizeof(what), "import stopped after %zu rows (those are stored; run the "
                                 "import again to finish)",
             lc->cases_done);
    out = rc > 0 ? rc : cli_fail(rc, what);
    goto done;
  }
  size_t imported = lc->cases_done - lc->skipped;
  if (json)
    out = cli_print_json(json_pack("{s:I, s:I, s:I, s:I}", "rows", (json_int_t)cc->rows,
                                   "imported", (json_int_t)imported, "skipped",
                                   (json_int_t)lc->skipped, "entries", (json_int_t)lc->entries));
  else
    printf("imported %zu cases (%zu entries) from %s; %zu already present\n", imported,
           lc->entries, path, lc->skipped);
done:
  if (lc)
    free(lc->b);
  free(lc);
  free(cc);
  dk_node_close(n);
  return out;
}
