/* docket report: the figures offices are assessed on, for a period. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "node/report.h"

static int add_case(void *ctx, const struct dk_case_state *s) {
  return dk_report_add(ctx, s);
}

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

int cmd_report(struct cli *c, int argc, char **argv) {
  struct dk_report_params p = {0, UINT64_MAX, 0, DK_REPORT_GROUP_NONE};
  int csv = 0;
  const char *from = NULL, *to = NULL, *by = NULL;
  const struct cli_opt opts[] = {
      CLI_STRING("from", "DATE", &from, N_("first day of the period (YYYY-MM-DD)")),
      CLI_STRING("to", "DATE", &to, N_("last day of the period, included")),
      CLI_STRING("by", "office|kind|category", &by, N_("a row of figures for each")),
      CLI_FLAG("csv", &csv, N_("print CSV")), CLI_END};
  static const struct cli_command cmd = {
      "report", NULL, 0, 0,
      N_("Figures over the cases this node can read: opened, closed, disputes mediated,\n"
         "agreed and the success rate, referrals, return visits and the return-visit rate\n"
         "of major (joint) disputes, consultations, meetings and items decided, overdue\n"
         "cases, median days to close, mean satisfaction; and the work log per person.\n"
         "Dates are YYYY-MM-DD, both inclusive."),
      NULL};
  int prc = cli_parse(c, &cmd, opts, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  if (by && dk_report_group_parse(by, &p.group_by) != 0)
    return cli_command_usage_error(&cmd, opts, _("--by takes office, kind or category, not '%s'"),
                                   by);
  if (json && csv)
    return cli_command_usage_error(&cmd, opts, _("choose --json or --csv"));
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
  struct dk_report r;
  dk_report_init(&r, &p);
  int rc = dk_node_case_foreach(n, add_case, &r);
  if (rc == 0)
    rc = dk_report_finish(&r);
  const struct dk_node_config *cfg = dk_node_config(n);
  int out = 0;
  if (rc != 0) {
    out = cli_fail(rc, _("cannot compute the report"));
    goto done;
  }
  char period[80], a[32], b[32];
  cli_format_time(p.from_ms, 1, a, sizeof(a));
  cli_format_time(p.to_ms == UINT64_MAX ? 0 : p.to_ms, 1, b, sizeof(b));
  snprintf(period, sizeof(period), "%s to %s", from ? a : "the beginning", to ? b : "now");
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
      json_array_append_new(rows, row);
    }
    json_object_set_new(o, "groups", rows);
    json_t *people = json_array();
    for (size_t i = 0; i < r.people_count; i++)
      json_array_append_new(people, json_pack("{s:s, s:I, s:I}", "person", r.people[i].name,
                                              "contacts", (json_int_t)r.people[i].contacts,
                                              "minutes", (json_int_t)r.people[i].minutes));
    json_object_set_new(o, "work_log", people);
    out = cli_print_json(o);
  } else if (csv) {
    puts(CSV_HEADER);
    for (size_t i = 0; i < r.rows_count; i++)
      csv_row(r.rows[i].key, &r.rows[i].figures);
    csv_row("total", &r.total.figures);
  } else {
    printf(_("Report for %s (%s), %s; %llu cases\n\n"), cfg->office, dk_office_role_name(cfg->role),
           period, (unsigned long long)r.cases_count);
    for (size_t i = 0; i < r.rows_count; i++)
      text_block(r.rows[i].key, &r.rows[i].figures);
    text_block(r.rows_count ? "TOTAL" : "All cases", &r.total.figures);
    if (r.people_count) {
      printf(_("\nWork log (contacts in the period)\n"));
      for (size_t i = 0; i < r.people_count; i++)
        printf(_("  %-24s %6llu contacts %8llu minutes\n"), r.people[i].name,
               (unsigned long long)r.people[i].contacts, (unsigned long long)r.people[i].minutes);
    }
  }
done:
  dk_report_release(&r);
  dk_node_close(n);
  return out;
}
