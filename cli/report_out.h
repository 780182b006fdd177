/*
 * Rendering a report for people: the figures the offices are assessed on,
 * as a workbook (libxlsxwriter) or one self-contained HTML page with inline
 * SVG charts, printable on A4. Labels are in the interface language.
 *
 * Everything here reads the finished reports it is given and writes only
 * to the file or stream named; it keeps no state.
 */
#ifndef DK_CLI_REPORT_OUT_H
#define DK_CLI_REPORT_OUT_H

#include <stdint.h>
#include <stdio.h>

#include "node/report/report.h"

#define CLI_TREND_MONTHS_MAX 24

/* Disputes mediated and agreed per month (by the month of the outcome). */
struct cli_trend_month {
  char month[8]; /* "YYYY-MM" */
  uint64_t mediated;
  uint64_t agreed;
};

/* When each office above or below this one last synced (from the peers). */
struct cli_office_sync {
  char office[256];
  uint64_t last_sync_ms; /* 0: never */
};

struct cli_report_view {
  const char *office; /* this node's office path */
  const char *role;   /* its level, as shown */
  const char *period; /* "2026-01-01 to 2026-03-31", as shown */
  const struct dk_report *main;    /* grouped as asked (rows may be none) */
  const struct dk_report *streets; /* --by community: each street's subtotal; else NULL */
  const struct dk_report *kinds;   /* grouped by kind: days to close per kind */
  enum dk_report_group by;
  const struct cli_trend_month *trend;
  size_t trend_count;
  const struct cli_office_sync *syncs;
  size_t syncs_count;
};

/* One figure of the report: its JSON/CSV key, its label (N_()), and how it
 * is shown. */
enum cli_fig_type { CLI_FIG_COUNT, CLI_FIG_RATE, CLI_FIG_DAYS, CLI_FIG_SCORE, CLI_FIG_TIME };
struct cli_fig {
  const char *key;
  const char *label;
  enum cli_fig_type type;
  size_t offset; /* into struct dk_report_figures */
};
extern const struct cli_fig CLI_FIGS[];
extern const size_t CLI_FIGS_COUNT;

/* The figure's value as text ("-" when there is none: a rate of nothing). */
void cli_fig_text(const struct cli_fig *g, const struct dk_report_figures *f, char *out,
                  size_t cap);
/* The figure as a number, NAN when there is none (times: ms). */
double cli_fig_value(const struct cli_fig *g, const struct dk_report_figures *f);

/* Last sync of the office whose cases a row holds: the peer for that office
 * or the nearest one above it. 0 when none is known. */
uint64_t cli_report_last_sync(const struct cli_report_view *v, const char *office);

/* Writes the workbook to path: a sheet per level (the total, the streets'
 * subtotals, the rows as grouped), the days to close per kind and the work
 * log. Returns 0 or prints why and returns 1. */
int cli_report_xlsx(const struct cli_report_view *v, const char *path);

/* Writes the HTML page to f. Returns 0, or 1 after printing why. */
int cli_report_html(const struct cli_report_view *v, FILE *f);

#endif
