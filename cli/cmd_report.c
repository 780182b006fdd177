/* docket report: the figures offices are assessed on, for a period. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/error.h"
#include "cli/report_out.h"
#include "node/report/report.h"


static json_t *num_or_null(double v) { return isnan(v) ? json_null() : json_real(v); }

static json_t *figures_json(const struct dk_report_figures *f) {
  json_t *o = json_object();
  json_object_set_new(o, "opened", json_integer((json_int_t)f->opened));
  json_object_set_new(o, "closed", json_integer((json_int_t)f->closed));
  json_object_set_new(o, "disputes_mediated", json_integer((json_int_t)f->mediated));
  json_object_set_new(o, "agreed", json_integer((json_int_t)f->agreed));
  json_object_set_new(o, "failed", json_integer((json_int_t)f->failed));
  json_object_set_new(o, "success_rate", num_or_null(f->success_rate));
  json_t *ref = json_object();
  for (int r = 1; r < DK_REFERRAL_COUNT; r++)
    json_object_set_new(ref, dk_referral_name((enum dk_referral)r),
                        json_integer((json_int_t)f->referrals[r]));
  json_object_set_new(o, "referrals", ref);
  json_object_set_new(o, "return_visits", json_integer((json_int_t)f->revisits));
  json_object_set_new(o, "major_disputes_closed", json_integer((json_int_t)f->major_closed));
  json_object_set_new(o, "major_disputes_revisited", json_integer((json_int_t)f->major_revisited));
  json_object_set_new(o, "major_revisit_rate", num_or_null(f->major_revisit_rate));
  json_object_set_new(o, "consultations", json_integer((json_int_t)f->consultations));
  json_object_set_new(o, "advice", json_integer((json_int_t)f->advice));
  json_t *cls = json_object();
  for (int k = 0; k < DK_TRIAGE_CLASSES; k++)
    json_object_set_new(cls, dk_triage_name((enum dk_triage)k),
                        json_pack("{s:I, s:I, s:I, s:I}", "opened",
                                  (json_int_t)f->by_class[k].opened, "agreed",
                                  (json_int_t)f->by_class[k].agreed, "failed",
                                  (json_int_t)f->by_class[k].failed, "closed",
                                  (json_int_t)f->by_class[k].closed));
  json_object_set_new(o, "by_class", cls);
  json_object_set_new(o, "last_entry", cli_json_time(f->last_entry_ms));
  json_object_set_new(o, "meetings", json_integer((json_int_t)f->meetings));
  json_object_set_new(o, "meeting_items_decided", json_integer((json_int_t)f->meeting_items));
  json_object_set_new(o, "overdue", json_integer((json_int_t)f->overdue));
  json_object_set_new(o, "median_days_to_close", num_or_null(f->median_days_to_close));
  json_object_set_new(o, "mean_satisfaction", num_or_null(f->mean_satisfaction));
  json_object_set_new(o, "escalated", json_integer((json_int_t)f->escalated));
  json_object_set_new(o, "erased", json_integer((json_int_t)f->erased));
  return o;
}

static void pct(char *buf, size_t cap, double v) {
  if (isnan(v))
    snprintf(buf, cap, "-");
  else
    snprintf(buf, cap, "%.1f%%", v * 100.0);
}

static void fixed(char *buf, size_t cap, double v, int digits) {
  if (isnan(v))
    snprintf(buf, cap, "-");
  else
    snprintf(buf, cap, "%.*f", digits, v);
}

static const char *CSV_HEADER =
    "group,opened,closed,disputes_mediated,agreed,failed,success_rate,referred_legal_aid,"
    "referred_litigation,referred_arbitration,return_visits,major_disputes_closed,"
    "major_disputes_revisited,major_revisit_rate,consultations,meetings,meeting_items_decided,"
    "overdue,median_days_to_close,mean_satisfaction,escalated";

static void csv_field(const char *s) {
  if (strpbrk(s, ",\"\n") == NULL) {
    fputs(s, stdout);
    return;
  }
  putchar('"');
  for (; *s; s++) {
    if (*s == '"')
      putchar('"');
    putchar(*s);
  }
  putchar('"');
}

static void csv_row(const char *key, const struct dk_report_figures *f) {
  char a[32], b[32], c[32], d[32];
  fixed(a, sizeof(a), f->success_rate, 4);
  fixed(b, sizeof(b), f->major_revisit_rate, 4);
  fixed(c, sizeof(c), f->median_days_to_close, 1);
  fixed(d, sizeof(d), f->mean_satisfaction, 2);
  csv_field(key);
  printf(",%llu,%llu,%llu,%llu,%llu,%s,%llu,%llu,%llu,%llu,%llu,%llu,%s,%llu,%llu,%llu,%llu,%s,"
         "%s,%llu\n",
         (unsigned long long)f->opened, (unsigned long long)f->closed,
         (unsigned long long)f->mediated, (unsigned long long)f->agreed,
         (unsigned long long)f->failed, isnan(f->success_rate) ? "" : a,
         (unsigned long long)f->referrals[DK_REFERRAL_LEGAL_AID],
         (unsigned long long)f->referrals[DK_REFERRAL_LITIGATION],
         (unsigned long long)f->referrals[DK_REFERRAL_ARBITRATION],
         (unsigned long long)f->revisits, (unsigned long long)f->major_closed,
         (unsigned long long)f->major_revisited, isnan(f->major_revisit_rate) ? "" : b,
         (unsigned long long)f->consultations, (unsigned long long)f->meetings,
         (unsigned long long)f->meeting_items, (unsigned long long)f->overdue,
         isnan(f->median_days_to_close) ? "" : c, isnan(f->mean_satisfaction) ? "" : d,
         (unsigned long long)f->escalated);
}

static void text_block(const char *title, const struct dk_report_figures *f) {
  char rate[16], mrate[16], med[16], sat[16];
  pct(rate, sizeof(rate), f->success_rate);
  pct(mrate, sizeof(mrate), f->major_revisit_rate);
  fixed(med, sizeof(med), f->median_days_to_close, 1);
  fixed(sat, sizeof(sat), f->mean_satisfaction, 2);
  printf("%s\n", title);
  printf(_("  cases opened %-8llu closed %-8llu overdue %-8llu escalated %llu%s"),
         (unsigned long long)f->opened, (unsigned long long)f->closed,
         (unsigned long long)f->overdue, (unsigned long long)f->escalated,
         f->erased ? "" : "\n");
  if (f->erased)
    printf(_("   erased %llu\n"), (unsigned long long)f->erased);
  printf(_("  disputes mediated %llu, agreed %llu, failed %llu; success rate %s\n"),
         (unsigned long long)f->mediated, (unsigned long long)f->agreed,
         (unsigned long long)f->failed, rate);
  printf(_("  referred: legal aid %llu, litigation %llu, arbitration %llu\n"),
         (unsigned long long)f->referrals[DK_REFERRAL_LEGAL_AID],
         (unsigned long long)f->referrals[DK_REFERRAL_LITIGATION],
         (unsigned long long)f->referrals[DK_REFERRAL_ARBITRATION]);
  printf(_("  return visits %llu; major disputes closed %llu, revisited %llu (%s)\n"),
         (unsigned long long)f->revisits, (unsigned long long)f->major_closed,
         (unsigned long long)f->major_revisited, mrate);
  printf(_("  consultations %llu; meetings %llu, items decided %llu\n"),
         (unsigned long long)f->consultations, (unsigned long long)f->meetings,
         (unsigned long long)f->meeting_items);
  printf(_("  median days to close %s; mean satisfaction %s\n"), med, sat);
}

/* A log held with entries this node would not accept today: cases opened
 * in them are left out of the figures. */
struct unauth_range {
  uint8_t log[32];
  uint64_t first_seq;
};

#define MONTHS_KEPT 36

struct collect {
  dk_node *n;
  const struct unauth_range *unauth;
  size_t unauth_count;
  uint64_t excluded; /* cases left out: opened by an unauthorised entry */
  struct dk_report *main, *streets, *kinds;
  struct cli_trend_month trend[CLI_TREND_MONTHS_MAX];
  size_t trend_count;
  uint64_t from_ms, to_ms;
  /* trend_add's local months met, with their bounds [lo, hi). */
  struct {
    uint64_t lo_ms, hi_ms;
    char name[8];
  } months[MONTHS_KEPT];
  size_t months_count, months_next;
};

/* Disputes mediated and agreed, by the month of their outcome (the last
 * CLI_TREND_MONTHS_MAX months that have any). */
static void trend_add(struct collect *c, const struct dk_case_state *s) {
  if (s->kind != DK_KIND_DISPUTE || s->outcome == DK_OUTCOME_NONE || s->outcome_at_ms == 0 ||
      s->outcome_at_ms < c->from_ms || s->outcome_at_ms > c->to_ms)
    return;
  char month[8];
  uint64_t at = s->outcome_at_ms;
  size_t m = 0;
  while (m < c->months_count && !(at >= c->months[m].lo_ms && at < c->months[m].hi_ms))
    m++;
  if (m < c->months_count) {
    memcpy(month, c->months[m].name, sizeof(month));
  } else {
    /* localtime_r per case was most of this function's cost: the local
     * months met are kept with their bounds (the cases of a walk come in
     * no order of time, so one month is not enough). */
    time_t t = (time_t)(at / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(month, sizeof(month), "%Y-%m", &tm);
    struct tm lo = {0}, hi = {0};
    lo.tm_year = hi.tm_year = tm.tm_year;
    lo.tm_mon = tm.tm_mon;
    hi.tm_mon = tm.tm_mon + 1; /* mktime carries December into January */
    lo.tm_mday = hi.tm_mday = 1;
    lo.tm_isdst = hi.tm_isdst = -1;
    time_t tlo = mktime(&lo), thi = mktime(&hi);
    if (tlo != (time_t)-1 && thi != (time_t)-1 && tlo <= t && t < thi) {
      size_t k = c->months_count < MONTHS_KEPT ? c->months_count++ : c->months_next++ % MONTHS_KEPT;
      c->months[k].lo_ms = (uint64_t)tlo * 1000;
      c->months[k].hi_ms = (uint64_t)thi * 1000;
      memcpy(c->months[k].name, month, sizeof(month));
    }
  }
  size_t i = 0;
  while (i < c->trend_count && strcmp(c->trend[i].month, month) < 0)
    i++;
  if (i == c->trend_count || strcmp(c->trend[i].month, month) != 0) {
    if (c->trend_count == CLI_TREND_MONTHS_MAX) {
      if (i == 0)
        return; /* older than every month kept */
      memmove(&c->trend[0], &c->trend[1], (i - 1) * sizeof(c->trend[0]));
      i--;
    } else {
      memmove(&c->trend[i + 1], &c->trend[i], (c->trend_count - i) * sizeof(c->trend[0]));
      c->trend_count++;
    }
    memset(&c->trend[i], 0, sizeof(c->trend[i]));
    memcpy(c->trend[i].month, month, sizeof(month));
  }
  c->trend[i].mediated++;
  c->trend[i].agreed += s->outcome == DK_OUTCOME_AGREED;
}

static int collect_case(void *ctx, const struct dk_case_state *s) {
  struct collect *c = ctx;
  if (c->unauth_count) {
    uint8_t log[32];
    uint64_t seq;
    if (dk_node_case_origin(c->n, s->id, log, &seq) == 0)
      for (size_t i = 0; i < c->unauth_count; i++)
        if (memcmp(c->unauth[i].log, log, 32) == 0 && seq >= c->unauth[i].first_seq) {
          c->excluded++;
          return 0;
        }
  }
  int rc = dk_report_add(c->main, s);
  if (rc == 0 && c->streets)
    rc = dk_report_add(c->streets, s);
  if (rc == 0)
    rc = dk_report_add(c->kinds, s);
  if (rc == 0)
    trend_add(c, s);
  return rc;
}

struct sync_list {
  struct cli_office_sync items[64];
  size_t count;
};

static int collect_peer(void *ctx, const struct dk_peer *p) {
  struct sync_list *l = ctx;
  if (l->count < sizeof(l->items) / sizeof(l->items[0])) {
    snprintf(l->items[l->count].office, sizeof(l->items[l->count].office), "%s", p->office);
    l->items[l->count].last_sync_ms = p->last_sync_ms;
    l->count++;
  }
  return 0;
}

static void text_extra(const struct cli_report_view *v) {
  const struct dk_report_figures *f = &v->main->total.figures;
  printf(_("  opinions given to community committees %llu\n"), (unsigned long long)f->advice);
  for (int k = 0; k < DK_TRIAGE_CLASSES; k++)
    printf(_("  %s: %llu cases, %llu agreed, %llu failed, %llu closed\n"),
           cli_label("class", dk_triage_name((enum dk_triage)k)),
           (unsigned long long)f->by_class[k].opened, (unsigned long long)f->by_class[k].agreed,
           (unsigned long long)f->by_class[k].failed, (unsigned long long)f->by_class[k].closed);
  if (v->kinds->rows_count) {
    printf(_("\nMedian days to close, by kind\n"));
    for (size_t i = 0; i < v->kinds->rows_count; i++) {
      const struct dk_report_row *row = &v->kinds->rows[i];
      char med[16];
      fixed(med, sizeof(med), row->figures.median_days_to_close, 1);
      printf("  ");
      cli_cell(cli_label("kind", row->key), 14);
      printf(_(" %6s days (%llu closed)\n"), med, (unsigned long long)row->figures.closed);
    }
  }
  if (v->by == DK_REPORT_GROUP_OFFICE || v->by == DK_REPORT_GROUP_STREET ||
      v->by == DK_REPORT_GROUP_COMMUNITY) {
    printf(_("\nFreshness: latest entry and last sync, by office\n"));
    for (size_t i = 0; i < v->main->rows_count; i++) {
      const struct dk_report_row *row = &v->main->rows[i];
      char a[32], b[32];
      uint64_t ls = cli_report_last_sync(v, row->key);
      cli_format_time(row->figures.last_entry_ms, 0, a, sizeof(a));
      cli_format_time(ls, 0, b, sizeof(b));
      printf("  ");
      cli_cell(row->key, 28);
      printf(_(" latest entry %s, last sync %s\n"), a, ls ? b : _("never"));
    }
  }
}

struct unauth_ctx {
  json_t *arr;
  size_t count;
  struct unauth_range *ranges;
  int nomem;
};

static int on_unauth(void *ctx, const struct dk_unauthorised_log *u) {
  struct unauth_ctx *c = ctx;
  char hex[65];
  dk_hex(u->log, 32, hex);
  struct unauth_range *more = realloc(c->ranges, (c->count + 1) * sizeof(*more));
  if (more == NULL) {
    c->nomem = 1;
    return DK_ENOMEM;
  }
  c->ranges = more;
  memcpy(c->ranges[c->count].log, u->log, 32);
  c->ranges[c->count].first_seq = u->first_seq;
  c->count++;
  if (c->arr)
    json_array_append_new(c->arr, json_pack("{s:s, s:s, s:I, s:s}", "log", hex, "office",
                                            u->office, "from_seq", (json_int_t)u->first_seq,
                                            "why", dk_errname(u->why)));
  else
    cli_warn(_("log %.16s (%s) holds entries from seq %llu that are not authorised here (%s): "
               "the cases it opened there are left out of the figures below; run 'docket verify'"),
             hex, u->office, (unsigned long long)u->first_seq, dk_strerror(u->why));
  return 0;
}

int cmd_report(struct cli *c, int argc, char **argv) {
  struct dk_report_params p = {0, UINT64_MAX, 0, DK_REPORT_GROUP_NONE};
  int csv = 0;
  const char *from = NULL, *to = NULL, *by = NULL, *format = NULL, *out_path = NULL;
  const struct cli_opt opts[] = {
      CLI_STRING("from", "DATE", &from, N_("first day of the period (YYYY-MM-DD)")),
      CLI_STRING("to", "DATE", &to, N_("last day of the period, included")),
      CLI_STRING("by", "office|street|community|kind|category", &by,
                 N_("a row of figures for each")),
      CLI_STRING("format", "table|csv|xlsx|html", &format, N_("how to write it (default table)")),
      CLI_STRING("out", "FILE", &out_path, N_("write to FILE (needed for xlsx)")),
      CLI_FLAG("csv", &csv, N_("the same as --format csv")), CLI_END};
  static const struct cli_command cmd = {
      "report", NULL, 0, 0,
      N_("Figures over the cases this node can read: disputes mediated, agreed and the\n"
         "agreement rate, failures by referral, return visits and the return-visit rate\n"
         "of major (joint) disputes, consultations, opinions given to community\n"
         "committees, meetings and items decided, counts and outcomes per triage class,\n"
         "overdue cases, median days to close (also per kind), mean satisfaction, the\n"
         "latest entry and last sync per office, and the work log per person.\n"
         "--by community shows each street's subtotal with its communities below it.\n"
         "--format xlsx writes a workbook, html one page with charts, printable on A4.\n"
         "Dates are YYYY-MM-DD, both inclusive."),
      NULL};
  int prc = cli_parse(c, &cmd, opts, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  if (by && dk_report_group_parse(by, &p.group_by) != 0)
    return cli_command_usage_error(
        &cmd, opts, _("--by takes office, street, community, kind or category, not '%s'"), by);
  enum { FMT_TABLE, FMT_CSV, FMT_XLSX, FMT_HTML } fmt = csv ? FMT_CSV : FMT_TABLE;
  if (format) {
    if (strcmp(format, "table") == 0 && !csv)
      fmt = FMT_TABLE;
    else if (strcmp(format, "csv") == 0)
      fmt = FMT_CSV;
    else if (strcmp(format, "xlsx") == 0 && !csv)
      fmt = FMT_XLSX;
    else if (strcmp(format, "html") == 0 && !csv)
      fmt = FMT_HTML;
    else
      return cli_command_usage_error(&cmd, opts,
                                     _("--format takes table, csv, xlsx or html, not '%s'"),
                                     format);
  }
  if (json && (csv || format))
    return cli_command_usage_error(&cmd, opts, _("choose --json or --format"));
  if (fmt == FMT_XLSX && out_path == NULL)
    return cli_command_usage_error(&cmd, opts, _("--format xlsx needs --out FILE"));
  if (from && cli_parse_time(from, &p.from_ms) != 0)
    return cli_command_usage_error(&cmd, opts, _("--from '%s' is not a date"), from);
  if (to) {
    if (cli_parse_time(to, &p.to_ms) != 0)
      return cli_command_usage_error(&cmd, opts, _("--to '%s' is not a date"), to);
    if (strchr(to, 'T') == NULL && strchr(to, ' ') == NULL)
      p.to_ms += 86400000ull - 1; /* a whole day */
  }
  if (p.to_ms < p.from_ms)
    return cli_command_usage_error(&cmd, opts, _("--to is before --from"));

  dk_node *n = cli_open(c, 1);
  if (n == NULL)
    return 1;
  p.now_ms = dk_node_now(n);
  struct dk_report r, streets, kinds;
  struct dk_report_params sp = p, kp = p;
  sp.group_by = DK_REPORT_GROUP_STREET;
  kp.group_by = DK_REPORT_GROUP_KIND;
  dk_report_init(&r, &p);
  dk_report_init(&streets, &sp);
  dk_report_init(&kinds, &kp);
  struct collect col;
  memset(&col, 0, sizeof(col));
  col.main = &r;
  col.streets = p.group_by == DK_REPORT_GROUP_COMMUNITY ? &streets : NULL;
  col.kinds = &kinds;
  col.from_ms = p.from_ms;
  col.to_ms = p.to_ms;
  /* Logs held here that this node would not accept today (stored before it
   * had a root or learnt of a revocation): flagged, and the cases they
   * opened left out of the figures, never silently summed. */
  struct unauth_ctx uc = {json ? json_array() : NULL, 0, NULL, 0};
  int rc = dk_node_unauthorised_logs(n, on_unauth, &uc);
  col.n = n;
  col.unauth = uc.ranges;
  col.unauth_count = uc.count;
  if (rc == 0)
    rc = dk_node_report_foreach(n, collect_case, &col);
  if (rc == 0)
    rc = dk_report_finish(&r);
  if (rc == 0)
    rc = dk_report_finish(&streets);
  if (rc == 0)
    rc = dk_report_finish(&kinds);
  struct sync_list syncs;
  syncs.count = 0;
  if (rc == 0)
    rc = dk_node_peer_list(n, collect_peer, &syncs);
  const struct dk_node_config *cfg = dk_node_config(n);
  int out = 0;
  FILE *f = stdout;
  if (rc != 0) {
    json_decref(uc.arr);
    uc.arr = NULL;
    out = cli_fail(rc, _("cannot compute the report"));
    goto done;
  }
  if (col.excluded && !json)
    cli_warn(_("%llu cases opened by entries not authorised here are left out of the figures"),
             (unsigned long long)col.excluded);
  char period[160], a[32], b[32];
  cli_format_time(p.from_ms, 1, a, sizeof(a));
  cli_format_time(p.to_ms == UINT64_MAX ? 0 : p.to_ms, 1, b, sizeof(b));
  snprintf(period, sizeof(period), _("%s to %s"), from ? a : _("the beginning"),
           to ? b : _("now"));
  struct cli_report_view view = {cfg->office,
                                 cli_label("level", dk_office_role_name(cfg->role)),
                                 period,
                                 &r,
                                 col.streets,
                                 &kinds,
                                 p.group_by,
                                 col.trend,
                                 col.trend_count,
                                 syncs.items,
                                 syncs.count};
  if (fmt == FMT_XLSX) {
    out = cli_report_xlsx(&view, out_path);
    if (out == 0 && !json)
      fprintf(stderr, _("wrote %s\n"), out_path);
    goto done;
  }
  if (out_path && !json) {
    f = fopen(out_path, "w");
    if (f == NULL) {
      out = cli_error_code(DK_EIO, _("cannot write %s"), out_path);
      f = stdout;
      goto done;
    }
  }
  if (fmt == FMT_HTML) {
    out = cli_report_html(&view, f);
    goto done;
  }
  if (f != stdout) {
    /* table and csv go to the file as they would to the terminal */
    fflush(stdout);
    if (dup2(fileno(f), 1) < 0) {
      out = cli_error_code(DK_EIO, _("cannot write %s"), out_path);
      goto done;
    }
  }
  if (json) {
    json_t *o = json_object();
    json_object_set_new(o, "office", json_string(cfg->office));
    json_object_set_new(o, "from", from ? cli_json_time(p.from_ms) : json_null());
    json_object_set_new(o, "to", to ? cli_json_time(p.to_ms) : json_null());
    json_object_set_new(o, "by", json_string(dk_report_group_name(p.group_by)));
    json_object_set_new(o, "cases", json_integer((json_int_t)r.cases_count));
    json_object_set_new(o, "total", figures_json(&r.total.figures));
    json_t *rows = json_array();
    for (size_t i = 0; i < r.rows_count; i++) {
      json_t *row = figures_json(&r.rows[i].figures);
      json_object_set_new(row, "group", json_string(r.rows[i].key));
      if (p.group_by == DK_REPORT_GROUP_OFFICE || p.group_by == DK_REPORT_GROUP_STREET ||
          p.group_by == DK_REPORT_GROUP_COMMUNITY)
        json_object_set_new(row, "last_sync", cli_json_time(cli_report_last_sync(&view, r.rows[i].key)));
      json_array_append_new(rows, row);
    }
    json_object_set_new(o, "groups", rows);
    json_t *subs = json_array();
    for (size_t i = 0; col.streets && i < streets.rows_count; i++) {
      json_t *row = figures_json(&streets.rows[i].figures);
      json_object_set_new(row, "group", json_string(streets.rows[i].key));
      json_array_append_new(subs, row);
    }
    json_object_set_new(o, "street_subtotals", col.streets ? subs : (json_decref(subs), json_null()));
    json_t *med = json_object();
    for (size_t i = 0; i < kinds.rows_count; i++)
      json_object_set_new(med, kinds.rows[i].key,
                          num_or_null(kinds.rows[i].figures.median_days_to_close));
    json_object_set_new(o, "median_days_to_close_by_kind", med);
    json_t *trend = json_array();
    for (size_t i = 0; i < col.trend_count; i++)
      json_array_append_new(trend, json_pack("{s:s, s:I, s:I}", "month", col.trend[i].month,
                                             "disputes_mediated", (json_int_t)col.trend[i].mediated,
                                             "agreed", (json_int_t)col.trend[i].agreed));
    json_object_set_new(o, "monthly", trend);
    json_t *people = json_array();
    for (size_t i = 0; i < r.people_count; i++)
      json_array_append_new(people, json_pack("{s:s, s:s, s:I, s:I}", "office",
                                              r.people[i].office, "person", r.people[i].name,
                                              "contacts", (json_int_t)r.people[i].contacts,
                                              "minutes", (json_int_t)r.people[i].minutes));
    json_object_set_new(o, "work_log", people);
    json_object_set_new(o, "unauthorised_logs", uc.arr);
    uc.arr = NULL;
    json_object_set_new(o, "excluded_cases", json_integer((json_int_t)col.excluded));
    out = cli_print_json(o);
  } else if (fmt == FMT_CSV) {
    puts(CSV_HEADER);
    for (size_t i = 0; i < r.rows_count; i++)
      csv_row(r.rows[i].key, &r.rows[i].figures);
    csv_row("total", &r.total.figures);
  } else {
    printf(_("Report for %s (%s), %s; %llu cases\n\n"), cfg->office,
           cli_label("level", dk_office_role_name(cfg->role)), period,
           (unsigned long long)r.cases_count);
    for (size_t s = 0; col.streets && s < streets.rows_count; s++) {
      const struct dk_report_row *st = &streets.rows[s];
      char title[300];
      snprintf(title, sizeof(title), "%s %s", st->key, _("(street subtotal)"));
      text_block(title, &st->figures);
      size_t sl = strlen(st->key);
      for (size_t i = 0; i < r.rows_count; i++)
        if (strncmp(r.rows[i].key, st->key, sl) == 0 && r.rows[i].key[sl] == '/')
          text_block(r.rows[i].key, &r.rows[i].figures);
    }
    for (size_t i = 0; !col.streets && i < r.rows_count; i++) {
      const char *key = r.rows[i].key;
      text_block(p.group_by == DK_REPORT_GROUP_KIND ? cli_label("kind", key) : key,
                 &r.rows[i].figures);
    }
    text_block(r.rows_count ? _("TOTAL") : _("All cases"), &r.total.figures);
    text_extra(&view);
    if (r.people_count) {
      printf(_("\nWork log (contacts in the period)\n"));
      for (size_t i = 0; i < r.people_count; i++) {
        printf("  ");
        cli_cell(r.people[i].office, 26);
        fputc(' ', stdout);
        cli_cell(r.people[i].name, 14);
        printf(_(" %6llu contacts %8llu minutes\n"), (unsigned long long)r.people[i].contacts,
               (unsigned long long)r.people[i].minutes);
      }
    }
  }
done:
  json_decref(uc.arr);
  free(uc.ranges);
  if (f != stdout)
    if (fclose(f) != 0 && out == 0)
      out = cli_error_code(DK_EIO, _("cannot write %s"), out_path);
  dk_report_release(&r);
  dk_report_release(&streets);
  dk_report_release(&kinds);
  dk_node_close(n);
  return out;
}
