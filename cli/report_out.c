/* Reports for people: workbook and HTML page. See cli/report_out.h. */
#include "cli/report_out.h"

#include <math.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <xlsxwriter.h>

#include "cli/cli.h"

#define F(field) offsetof(struct dk_report_figures, field)

const struct cli_fig CLI_FIGS[] = {
    {"opened", N_("cases opened"), CLI_FIG_COUNT, F(opened)},
    {"closed", N_("cases closed"), CLI_FIG_COUNT, F(closed)},
    {"disputes_mediated", N_("disputes mediated"), CLI_FIG_COUNT, F(mediated)},
    {"agreed", N_("disputes agreed"), CLI_FIG_COUNT, F(agreed)},
    {"failed", N_("disputes failed"), CLI_FIG_COUNT, F(failed)},
    {"success_rate", N_("agreement rate"), CLI_FIG_RATE, F(success_rate)},
    {"referred_legal_aid", N_("failed, referred to legal aid"), CLI_FIG_COUNT,
     F(referrals[DK_REFERRAL_LEGAL_AID])},
    {"referred_litigation", N_("failed, referred to litigation"), CLI_FIG_COUNT,
     F(referrals[DK_REFERRAL_LITIGATION])},
    {"referred_arbitration", N_("failed, referred to arbitration"), CLI_FIG_COUNT,
     F(referrals[DK_REFERRAL_ARBITRATION])},
    {"return_visits", N_("return visits"), CLI_FIG_COUNT, F(revisits)},
    {"major_disputes_closed", N_("major (joint) disputes closed"), CLI_FIG_COUNT, F(major_closed)},
    {"major_disputes_revisited", N_("major disputes revisited"), CLI_FIG_COUNT,
     F(major_revisited)},
    {"major_revisit_rate", N_("return-visit rate of major disputes"), CLI_FIG_RATE,
     F(major_revisit_rate)},
    {"consultations", N_("legal consultations"), CLI_FIG_COUNT, F(consultations)},
    {"advice", N_("opinions given to community committees"), CLI_FIG_COUNT, F(advice)},
    {"meetings", N_("consultation meetings"), CLI_FIG_COUNT, F(meetings)},
    {"meeting_items_decided", N_("items decided at meetings"), CLI_FIG_COUNT, F(meeting_items)},
    {"clinic_opened", N_("clinic cases"), CLI_FIG_COUNT, F(by_class[DK_TRIAGE_CLINIC].opened)},
    {"clinic_agreed", N_("clinic cases agreed"), CLI_FIG_COUNT, F(by_class[DK_TRIAGE_CLINIC].agreed)},
    {"emergency_opened", N_("emergency cases"), CLI_FIG_COUNT,
     F(by_class[DK_TRIAGE_EMERGENCY].opened)},
    {"emergency_agreed", N_("emergency cases agreed"), CLI_FIG_COUNT,
     F(by_class[DK_TRIAGE_EMERGENCY].agreed)},
    {"joint_opened", N_("joint cases"), CLI_FIG_COUNT, F(by_class[DK_TRIAGE_JOINT].opened)},
    {"joint_agreed", N_("joint cases agreed"), CLI_FIG_COUNT, F(by_class[DK_TRIAGE_JOINT].agreed)},
    {"overdue", N_("overdue cases"), CLI_FIG_COUNT, F(overdue)},
    {"median_days_to_close", N_("median days to close"), CLI_FIG_DAYS, F(median_days_to_close)},
    {"mean_satisfaction", N_("mean satisfaction (1-5)"), CLI_FIG_SCORE, F(mean_satisfaction)},
    {"escalated", N_("escalated"), CLI_FIG_COUNT, F(escalated)},
    {"last_entry", N_("latest entry"), CLI_FIG_TIME, F(last_entry_ms)},
};
const size_t CLI_FIGS_COUNT = sizeof(CLI_FIGS) / sizeof(CLI_FIGS[0]);

double cli_fig_value(const struct cli_fig *g, const struct dk_report_figures *f) {
  const char *p = (const char *)f + g->offset;
  switch (g->type) {
  case CLI_FIG_COUNT:
  case CLI_FIG_TIME: {
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return g->type == CLI_FIG_TIME && v == 0 ? NAN : (double)v;
  }
  default: {
    double v;
    memcpy(&v, p, sizeof(v));
    return v;
  }
  }
}

void cli_fig_text(const struct cli_fig *g, const struct dk_report_figures *f, char *out,
                  size_t cap) {
  double v = cli_fig_value(g, f);
  if (isnan(v)) {
    snprintf(out, cap, "-");
    return;
  }
  switch (g->type) {
  case CLI_FIG_COUNT:
    snprintf(out, cap, "%.0f", v);
    break;
  case CLI_FIG_RATE:
    snprintf(out, cap, "%.1f%%", v * 100.0);
    break;
  case CLI_FIG_DAYS:
    snprintf(out, cap, "%.1f", v);
    break;
  case CLI_FIG_SCORE:
    snprintf(out, cap, "%.2f", v);
    break;
  case CLI_FIG_TIME:
    cli_format_time((uint64_t)v, 0, out, cap);
    break;
  }
}

uint64_t cli_report_last_sync(const struct cli_report_view *v, const char *office) {
  size_t best_len = 0;
  uint64_t best = 0;
  for (size_t i = 0; i < v->syncs_count; i++) {
    const char *p = v->syncs[i].office;
    size_t n = strlen(p);
    int same = strcmp(p, office) == 0;
    int above = strncmp(p, office, n) == 0 && office[n] == '/';
    int below = strncmp(office, p, strlen(office)) == 0 && p[strlen(office)] == '/';
    if ((same || above || below) && (best == 0 || n >= best_len)) {
      best = v->syncs[i].last_sync_ms;
      best_len = n;
    }
  }
  return best;
}

/* The rows in the order a district reads them: under --by community, each
 * street's subtotal and then its communities. kind: 0 a row of main, 1 a
 * street subtotal. */
struct line {
  const struct dk_report_row *row;
  int subtotal;
};

static size_t ordered(const struct cli_report_view *v, struct line *out, size_t cap) {
  size_t n = 0;
  const struct dk_report *m = v->main;
  if (v->streets == NULL) {
    for (size_t i = 0; i < m->rows_count && n < cap; i++)
      out[n++] = (struct line){&m->rows[i], 0};
    return n;
  }
  for (size_t s = 0; s < v->streets->rows_count && n < cap; s++) {
    const struct dk_report_row *st = &v->streets->rows[s];
    out[n++] = (struct line){st, 1};
    size_t sl = strlen(st->key);
    for (size_t i = 0; i < m->rows_count && n < cap; i++)
      if (strncmp(m->rows[i].key, st->key, sl) == 0 &&
          (m->rows[i].key[sl] == '/' || m->rows[i].key[sl] == 0) &&
          strcmp(m->rows[i].key, st->key) != 0)
        out[n++] = (struct line){&m->rows[i], 0};
  }
  return n;
}

static const char *row_label(const struct cli_report_view *v, const char *key, char *buf,
                             size_t cap) {
  if (v->by == DK_REPORT_GROUP_KIND)
    return cli_label("kind", key);
  if (v->by == DK_REPORT_GROUP_CATEGORY) {
    const char *slash = strchr(key, '/');
    char kind[64];
    snprintf(kind, sizeof(kind), "%.*s", slash ? (int)(slash - key) : (int)strlen(key), key);
    snprintf(buf, cap, "%s/%s", cli_label("kind", kind), slash ? slash + 1 : "");
    return buf;
  }
  return key[0] ? key : "-";
}

/* ---- workbook ----------------------------------------------------------------- */

static void sheet_figures(lxw_workbook *wb, lxw_worksheet *ws, const struct cli_report_view *v,
                          const struct line *lines, size_t n, const struct dk_report_row *total,
                          const char *first) {
  lxw_format *head = workbook_add_format(wb);
  format_set_bold(head);
  format_set_text_wrap(head);
  format_set_bg_color(head, 0xDDEBF7);
  lxw_format *pct = workbook_add_format(wb);
  format_set_num_format(pct, "0.0%");
  lxw_format *dec = workbook_add_format(wb);
  format_set_num_format(dec, "0.0");
  lxw_format *bold = workbook_add_format(wb);
  format_set_bold(bold);
  lxw_format *when = workbook_add_format(wb);
  format_set_num_format(when, "yyyy-mm-dd hh:mm");
  worksheet_set_column(ws, 0, 0, 28, NULL);
  worksheet_set_column(ws, 1, (lxw_col_t)(CLI_FIGS_COUNT + 1), 12, NULL);
  worksheet_set_row(ws, 0, 45, NULL);
  worksheet_write_string(ws, 0, 0, first, head);
  for (size_t j = 0; j < CLI_FIGS_COUNT; j++)
    worksheet_write_string(ws, 0, (lxw_col_t)(j + 1), _(CLI_FIGS[j].label), head);
  worksheet_write_string(ws, 0, (lxw_col_t)(CLI_FIGS_COUNT + 1), _("last sync"), head);
  worksheet_freeze_panes(ws, 1, 1);
  lxw_row_t r = 1;
  for (size_t i = 0; i <= n; i++, r++) {
    const struct dk_report_row *row = i < n ? lines[i].row : total;
    int strong = i == n || lines[i].subtotal;
    char buf[300];
    const char *label = i < n ? row_label(v, row->key, buf, sizeof(buf)) : _("total");
    if (i < n && !lines[i].subtotal && v->streets != NULL) {
      snprintf(buf, sizeof(buf), "    %s", row->key);
      label = buf;
    }
    worksheet_write_string(ws, r, 0, label, strong ? bold : NULL);
    for (size_t j = 0; j < CLI_FIGS_COUNT; j++) {
      const struct cli_fig *g = &CLI_FIGS[j];
      double x = cli_fig_value(g, &row->figures);
      lxw_col_t c = (lxw_col_t)(j + 1);
      if (isnan(x)) {
        worksheet_write_string(ws, r, c, "-", NULL);
      } else if (g->type == CLI_FIG_TIME) {
        /* Excel counts days from 1899-12-30; local time, like the text. */
        time_t t = (time_t)(x / 1000);
        struct tm tm;
        localtime_r(&t, &tm);
        lxw_datetime dt = {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                           tm.tm_sec};
        worksheet_write_datetime(ws, r, c, &dt, when);
      } else {
        worksheet_write_number(ws, r, c, x,
                               g->type == CLI_FIG_RATE   ? pct
                               : g->type == CLI_FIG_DAYS ? dec
                                                         : NULL);
      }
    }
    uint64_t ls = i < n && v->by != DK_REPORT_GROUP_KIND && v->by != DK_REPORT_GROUP_CATEGORY
                      ? cli_report_last_sync(v, row->key)
                      : 0;
    char t[32];
    cli_format_time(ls, 0, t, sizeof(t));
    worksheet_write_string(ws, r, (lxw_col_t)(CLI_FIGS_COUNT + 1), ls ? t : "-", NULL);
  }
}

/* Sheet names: at most 31 characters, none of []:*?/\ */
static void sheet_name(const char *s, char *out, size_t cap) {
  char tmp[128];
  size_t j = 0;
  for (size_t i = 0; s[i] && j + 1 < sizeof(tmp); i++)
    tmp[j++] = strchr("[]:*?/\\", s[i]) ? '-' : s[i];
  tmp[j] = 0;
  cli_cut(tmp, 31, 0, out, cap);
}

int cli_report_xlsx(const struct cli_report_view *v, const char *path) {
  lxw_workbook *wb = workbook_new(path);
  if (wb == NULL)
    return cli_error_code(-3, _("cannot write %s"), path);
  struct line lines[4096];
  char name[128];
  /* The total: this office's level. */
  sheet_name(_("total"), name, sizeof(name));
  lxw_worksheet *ws = workbook_add_worksheet(wb, name);
  sheet_figures(wb, ws, v, NULL, 0, &v->main->total, v->office);
  if (v->streets) {
    size_t n = 0;
    for (size_t i = 0; i < v->streets->rows_count && n < 4096; i++)
      lines[n++] = (struct line){&v->streets->rows[i], 1};
    sheet_name(_("streets"), name, sizeof(name));
    ws = workbook_add_worksheet(wb, name);
    sheet_figures(wb, ws, v, lines, n, &v->main->total, _("street"));
  }
  if (v->main->rows_count) {
    size_t n = 0;
    for (size_t i = 0; i < v->main->rows_count && n < 4096; i++)
      lines[n++] = (struct line){&v->main->rows[i], 0};
    const char *level = v->by == DK_REPORT_GROUP_COMMUNITY ? _("communities")
                        : v->by == DK_REPORT_GROUP_STREET  ? _("streets")
                        : v->by == DK_REPORT_GROUP_OFFICE  ? _("offices")
                        : v->by == DK_REPORT_GROUP_KIND    ? _("kinds")
                                                           : _("categories");
    sheet_name(level, name, sizeof(name));
    if (v->streets && v->by == DK_REPORT_GROUP_STREET)
      strcat(name, "2");
    ws = workbook_add_worksheet(wb, name);
    struct cli_report_view plain = *v;
    plain.streets = NULL;
    sheet_figures(wb, ws, &plain, lines, n, &v->main->total, level);
  }
  /* Days to close per kind. */
  sheet_name(_("days to close by kind"), name, sizeof(name));
  ws = workbook_add_worksheet(wb, name);
  lxw_format *head = workbook_add_format(wb);
  format_set_bold(head);
  lxw_format *dec = workbook_add_format(wb);
  format_set_num_format(dec, "0.0");
  worksheet_set_column(ws, 0, 2, 18, NULL);
  worksheet_write_string(ws, 0, 0, _("kind"), head);
  worksheet_write_string(ws, 0, 1, _("cases closed"), head);
  worksheet_write_string(ws, 0, 2, _("median days to close"), head);
  for (size_t i = 0; i < v->kinds->rows_count; i++) {
    const struct dk_report_row *row = &v->kinds->rows[i];
    worksheet_write_string(ws, (lxw_row_t)(i + 1), 0, cli_label("kind", row->key), NULL);
    worksheet_write_number(ws, (lxw_row_t)(i + 1), 1, (double)row->figures.closed, NULL);
    if (isnan(row->figures.median_days_to_close))
      worksheet_write_string(ws, (lxw_row_t)(i + 1), 2, "-", NULL);
    else
      worksheet_write_number(ws, (lxw_row_t)(i + 1), 2, row->figures.median_days_to_close, dec);
  }
  /* The work log: a person is a name in an office. */
  sheet_name(_("work log"), name, sizeof(name));
  ws = workbook_add_worksheet(wb, name);
  worksheet_set_column(ws, 0, 1, 26, NULL);
  worksheet_write_string(ws, 0, 0, _("office"), head);
  worksheet_write_string(ws, 0, 1, _("person"), head);
  worksheet_write_string(ws, 0, 2, _("contacts"), head);
  worksheet_write_string(ws, 0, 3, _("minutes"), head);
  for (size_t i = 0; i < v->main->people_count; i++) {
    const struct dk_report_person *p = &v->main->people[i];
    worksheet_write_string(ws, (lxw_row_t)(i + 1), 0, p->office, NULL);
    worksheet_write_string(ws, (lxw_row_t)(i + 1), 1, p->name, NULL);
    worksheet_write_number(ws, (lxw_row_t)(i + 1), 2, (double)p->contacts, NULL);
    worksheet_write_number(ws, (lxw_row_t)(i + 1), 3, (double)p->minutes, NULL);
  }
  lxw_error err = workbook_close(wb);
  if (err != LXW_NO_ERROR)
    return cli_error_code(-3, _("cannot write %s: %s"), path, lxw_strerror(err));
  return 0;
}

static void fixed_days(double v, char *out, size_t cap) {
  if (isnan(v))
    snprintf(out, cap, "-");
  else
    snprintf(out, cap, "%.1f", v);
}

/* ---- HTML --------------------------------------------------------------------- */

static void esc(FILE *f, const char *s) {
  for (; s && *s; s++) {
    switch (*s) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    default: fputc(*s, f);
    }
  }
}

static const char CSS[] =
    "body{font-family:'Noto Sans CJK SC','WenQuanYi Micro Hei','Microsoft YaHei',"
    "'PingFang SC',sans-serif;margin:24px;color:#222;font-size:11pt}"
    "h1{font-size:18pt;margin:0 0 4px}h2{font-size:13pt;margin:20px 0 6px;"
    "border-bottom:2px solid #2f5597}p.meta{color:#555;margin:0 0 12px}"
    "table{border-collapse:collapse;margin:6px 0 12px;font-size:9.5pt}"
    "th,td{border:1px solid #999;padding:3px 6px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}th{background:#ddebf7}"
    ".subtotal{font-weight:bold;background:#f2f2f2}.total{font-weight:bold;"
    "background:#e2efda}svg{display:block;margin:6px 0}"
    ".legend span{display:inline-block;margin-right:14px}"
    ".sw{display:inline-block;width:10px;height:10px;margin-right:4px}"
    "@page{size:A4;margin:12mm}"
    "@media print{body{margin:0;font-size:9pt}h2{break-after:avoid}"
    "table,svg{break-inside:avoid}}";

/* The last segment of an office path: what a column has room for. */
static const char *short_label(const struct cli_report_view *v, const char *key, char *buf,
                               size_t cap) {
  const char *l = row_label(v, key, buf, cap);
  if (v->by == DK_REPORT_GROUP_KIND || v->by == DK_REPORT_GROUP_CATEGORY)
    return l;
  const char *slash = strrchr(l, '/');
  return slash ? slash + 1 : l;
}

static void html_table(FILE *f, const struct cli_report_view *v, const struct line *lines,
                       size_t n) {
  /* Figures down the side, one column per row of the report (a street's
   * subtotal before its communities) and the total last: fits A4. */
  fputs("<table class=\"figures\"><thead><tr><th></th>", f);
  for (size_t i = 0; i <= n; i++) {
    char buf[300];
    fprintf(f, "<th class=\"%s\" title=\"", i == n ? "total" : lines[i].subtotal ? "subtotal" : "");
    esc(f, i < n ? lines[i].row->key : _("total"));
    fputs("\">", f);
    esc(f, i < n ? short_label(v, lines[i].row->key, buf, sizeof(buf)) : _("total"));
    fputs("</th>", f);
  }
  fputs("</tr></thead><tbody>\n", f);
  for (size_t j = 0; j < CLI_FIGS_COUNT; j++) {
    const struct cli_fig *g = &CLI_FIGS[j];
    fputs("<tr><td>", f);
    esc(f, _(g->label));
    fputs("</td>", f);
    for (size_t i = 0; i <= n; i++) {
      const struct dk_report_row *row = i < n ? lines[i].row : &v->main->total;
      char val[64];
      cli_fig_text(g, &row->figures, val, sizeof(val));
      fprintf(f, "<td class=\"%s\">", i == n ? "total" : lines[i].subtotal ? "subtotal" : "");
      esc(f, val);
      fputs("</td>", f);
    }
    fputs("</tr>\n", f);
  }
  if (v->syncs_count && v->by != DK_REPORT_GROUP_KIND && v->by != DK_REPORT_GROUP_CATEGORY) {
    fputs("<tr><td>", f);
    esc(f, _("last sync"));
    fputs("</td>", f);
    for (size_t i = 0; i <= n; i++) {
      char t[32];
      uint64_t ls = i < n ? cli_report_last_sync(v, lines[i].row->key) : 0;
      cli_format_time(ls, 0, t, sizeof(t));
      fputs("<td>", f);
      esc(f, ls ? t : "-");
      fputs("</td>", f);
    }
    fputs("</tr>\n", f);
  }
  fputs("</tbody></table>\n", f);
}

/* Mediated and agreed per row, as bars. */
static void svg_bars(FILE *f, const struct cli_report_view *v, const struct line *lines,
                     size_t n) {
  uint64_t max = 1;
  for (size_t i = 0; i < n; i++)
    if (lines[i].row->figures.mediated > max)
      max = lines[i].row->figures.mediated;
  const int w = 640, left = 170, bar = 9, gap = 8, top = 8;
  int h = top + (int)n * (2 * bar + gap) + 24;
  fprintf(f, "<svg class=\"chart-mediated\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
             "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\"><title>",
          w, h, w, h);
  esc(f, _("disputes mediated and agreed"));
  fputs("</title>\n", f);
  for (size_t i = 0; i < n; i++) {
    const struct dk_report_figures *g = &lines[i].row->figures;
    int y = top + (int)i * (2 * bar + gap);
    double scale = (double)(w - left - 50) / (double)max;
    char buf[300];
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\"%s>", left - 6,
            y + bar + 4, lines[i].subtotal ? " font-weight=\"bold\"" : "");
    esc(f, row_label(v, lines[i].row->key, buf, sizeof(buf)));
    fputs("</text>\n", f);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#5b9bd5\"/>"
               "<text x=\"%.1f\" y=\"%d\" font-size=\"9\">%llu</text>\n",
            left, y, (double)g->mediated * scale, bar, left + (double)g->mediated * scale + 3,
            y + bar - 1, (unsigned long long)g->mediated);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#70ad47\"/>"
               "<text x=\"%.1f\" y=\"%d\" font-size=\"9\">%llu</text>\n",
            left, y + bar, (double)g->agreed * scale, bar, left + (double)g->agreed * scale + 3,
            y + 2 * bar - 1, (unsigned long long)g->agreed);
  }
  fputs("</svg>\n<div class=\"legend\"><span><i class=\"sw\" style=\"background:#5b9bd5\"></i>",
        f);
  esc(f, _("disputes mediated"));
  fputs("</span><span><i class=\"sw\" style=\"background:#70ad47\"></i>", f);
  esc(f, _("disputes agreed"));
  fputs("</span></div>\n", f);
}

/* The agreement rate per row against the 97 % line. */
static void svg_rate(FILE *f, const struct cli_report_view *v, const struct line *lines,
                     size_t n) {
  const int w = 640, left = 170, bar = 12, gap = 6, top = 16;
  int h = top + (int)n * (bar + gap) + 20;
  int span = w - left - 60;
  fprintf(f, "<svg class=\"chart-rate\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
             "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\"><title>",
          w, h, w, h);
  esc(f, _("agreement rate against the 97 percent line"));
  fputs("</title>\n", f);
  for (size_t i = 0; i < n; i++) {
    const struct dk_report_figures *g = &lines[i].row->figures;
    int y = top + (int)i * (bar + gap);
    char buf[300];
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">", left - 6,
            y + bar - 2);
    esc(f, row_label(v, lines[i].row->key, buf, sizeof(buf)));
    fputs("</text>\n", f);
    if (isnan(g->success_rate)) {
      fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"9\">-</text>\n", left + 3, y + bar - 2);
      continue;
    }
    const char *color = g->success_rate >= 0.97 ? "#70ad47" : "#ed7d31";
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>"
               "<text x=\"%.1f\" y=\"%d\" font-size=\"9\">%.1f%%</text>\n",
            left, y, g->success_rate * span, bar, color, left + g->success_rate * span + 3,
            y + bar - 2, g->success_rate * 100.0);
  }
  double x97 = left + 0.97 * span;
  fprintf(f, "<line class=\"target\" x1=\"%.1f\" y1=\"4\" x2=\"%.1f\" y2=\"%d\" stroke=\"#c00000\" "
             "stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/><text x=\"%.1f\" y=\"12\" "
             "font-size=\"9\" fill=\"#c00000\">97%%</text>\n</svg>\n",
          x97, x97, h - 4, x97 + 3);
}

/* Disputes mediated and agreed per month. */
static void svg_trend(FILE *f, const struct cli_report_view *v) {
  const int w = 640, h = 200, left = 40, right = 20, top = 14, bottom = 34;
  uint64_t max = 1;
  for (size_t i = 0; i < v->trend_count; i++)
    if (v->trend[i].mediated > max)
      max = v->trend[i].mediated;
  fprintf(f, "<svg class=\"chart-trend\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
             "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\"><title>",
          w, h, w, h);
  esc(f, _("monthly trend"));
  fputs("</title>\n", f);
  fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n", left,
          h - bottom, w - right, h - bottom);
  double step = v->trend_count > 1 ? (double)(w - left - right) / (double)(v->trend_count - 1)
                                   : 0;
  for (int series = 0; series < 2; series++) {
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
            series ? "#70ad47" : "#5b9bd5");
    for (size_t i = 0; i < v->trend_count; i++) {
      uint64_t val = series ? v->trend[i].agreed : v->trend[i].mediated;
      fprintf(f, "%.1f,%.1f ", left + step * (double)i,
              (double)(h - bottom) - (double)val * (h - bottom - top) / (double)max);
    }
    fputs("\"/>\n", f);
  }
  for (size_t i = 0; i < v->trend_count; i++) {
    double x = left + step * (double)i;
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"9\" text-anchor=\"middle\">%s</text>\n", x,
            h - bottom + 14, v->trend[i].month);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"middle\">%llu</text>\n",
            x, (double)(h - bottom) - (double)v->trend[i].mediated * (h - bottom - top) / (double)max - 4,
            (unsigned long long)v->trend[i].mediated);
  }
  fputs("</svg>\n", f);
}

int cli_report_html(const struct cli_report_view *v, FILE *f) {
  static struct line lines[4096];
  size_t n = ordered(v, lines, 4096);
  const char *lang = strncmp(_("usage:"), "usage:", 6) == 0 ? "en" : "zh-CN";
  fprintf(f, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
             "<meta name=\"viewport\" content=\"width=device-width\"><title>",
          lang);
  esc(f, _("Report"));
  fputs(" ", f);
  esc(f, v->office);
  fprintf(f, "</title><style>%s</style></head><body>\n<h1>", CSS);
  esc(f, _("Report"));
  fputs(": ", f);
  esc(f, v->office);
  fputs("</h1>\n<p class=\"meta\">", f);
  esc(f, v->role);
  fputs(" · ", f);
  esc(f, v->period);
  char made[32];
  cli_format_time(v->main->params.now_ms, 0, made, sizeof(made));
  fputs(" · ", f);
  esc(f, _("made"));
  fputs(" ", f);
  esc(f, made);
  fputs("</p>\n<h2>", f);
  esc(f, _("Figures"));
  fputs("</h2>\n", f);
  html_table(f, v, lines, n);
  struct line total_line = {&v->main->total, 0};
  const struct line *chart = n ? lines : &total_line;
  size_t chart_n = n ? n : 1;
  struct dk_report_row total_named = v->main->total;
  total_named.key = (char *)v->office;
  total_line.row = &total_named;
  fputs("<h2>", f);
  esc(f, _("disputes mediated and agreed"));
  fputs("</h2>\n", f);
  svg_bars(f, v, chart, chart_n);
  fputs("<h2>", f);
  esc(f, _("agreement rate against the 97 percent line"));
  fputs("</h2>\n", f);
  svg_rate(f, v, chart, chart_n);
  fputs("<h2>", f);
  esc(f, _("monthly trend"));
  fputs("</h2>\n", f);
  svg_trend(f, v);
  /* Days to close per kind, and the work log. */
  fputs("<h2>", f);
  esc(f, _("median days to close"));
  fputs("</h2>\n<table class=\"kinds\"><thead><tr><th>", f);
  esc(f, _("kind"));
  fputs("</th><th>", f);
  esc(f, _("cases closed"));
  fputs("</th><th>", f);
  esc(f, _("median days to close"));
  fputs("</th></tr></thead><tbody>\n", f);
  for (size_t i = 0; i < v->kinds->rows_count; i++) {
    const struct dk_report_row *row = &v->kinds->rows[i];
    char med[32];
    fixed_days(row->figures.median_days_to_close, med, sizeof(med));
    fputs("<tr><td>", f);
    esc(f, cli_label("kind", row->key));
    fprintf(f, "</td><td>%llu</td><td>%s</td></tr>\n", (unsigned long long)row->figures.closed,
            med);
  }
  fputs("</tbody></table>\n<h2>", f);
  esc(f, _("work log"));
  fputs("</h2>\n<table class=\"worklog\"><thead><tr><th>", f);
  esc(f, _("office"));
  fputs("</th><th>", f);
  esc(f, _("person"));
  fputs("</th><th>", f);
  esc(f, _("contacts"));
  fputs("</th><th>", f);
  esc(f, _("minutes"));
  fputs("</th></tr></thead><tbody>\n", f);
  for (size_t i = 0; i < v->main->people_count; i++) {
    const struct dk_report_person *p = &v->main->people[i];
    fputs("<tr><td>", f);
    esc(f, p->office);
    fputs("</td><td>", f);
    esc(f, p->name);
    fprintf(f, "</td><td>%llu</td><td>%llu</td></tr>\n", (unsigned long long)p->contacts,
            (unsigned long long)p->minutes);
  }
  fputs("</tbody></table>\n</body></html>\n", f);
  return ferror(f) ? cli_error_code(-3, _("cannot write the report")) : 0;
}
