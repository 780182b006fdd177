/* Prints how long a district report over many case states takes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "node/cases/fold.h"
#include "node/report/report.h"

#define DAY (24ull * 60 * 60 * 1000)
#define Y2020 1577836800000ull

static double seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 170000;
  struct dk_case_state *s = calloc(n, sizeof(*s));
  if (s == NULL)
    return 1;
  static const char *const people[] = {"Zhao Lei", "Wang Fang", "Sun Li", "Qian Hui", "Li Na"};
  char office[64];
  unsigned seed = 1;
  for (size_t i = 0; i < n; i++) {
    dk_case_state_init(&s[i]);
    snprintf(office, sizeof(office), "zhanhe/street%zu/community%zu", i % 6, i % 36);
    s[i].opened = 1;
    s[i].office = strdup(office);
    s[i].category = strdup("other");
    s[i].kind = (enum dk_kind)(i % DK_KIND_COUNT);
    s[i].opened_at_ms = Y2020 + (uint64_t)(rand_r(&seed) % 365) * DAY;
    s[i].triage = (enum dk_triage)(i % 3);
    if (i % 4 != 1) {
      s[i].outcome = i % 30 ? DK_OUTCOME_AGREED : DK_OUTCOME_FAILED;
      s[i].outcome_at_ms = s[i].opened_at_ms + 3 * DAY;
      s[i].closed_at_ms = s[i].opened_at_ms + (uint64_t)(rand_r(&seed) % 20) * DAY;
      s[i].status = DK_STATUS_CLOSED;
    } else {
      s[i].deadline_ms = s[i].opened_at_ms + 15 * DAY;
    }
    s[i].revisits = malloc(sizeof(*s[i].revisits));
    s[i].revisits[0].at_ms = s[i].opened_at_ms + 30 * DAY;
    s[i].revisits[0].satisfaction = 4;
    s[i].revisits_count = 1;
    s[i].contacts = malloc(3 * sizeof(*s[i].contacts));
    for (int c = 0; c < 3; c++) {
      s[i].contacts[c].at_ms = s[i].opened_at_ms + (uint64_t)c * DAY;
      s[i].contacts[c].person = strdup(people[(i + (size_t)c) % 5]);
      s[i].contacts[c].type = DK_EVENT_SESSION;
      s[i].contacts[c].minutes = 30;
    }
    s[i].contacts_count = 3;
  }
  double slowest_ms = 0;
  for (int g = 0; g < DK_REPORT_GROUP_COUNT; g++) {
    struct dk_report_params p = {.from_ms = Y2020, .to_ms = Y2020 + 365 * DAY - 1,
                                 .now_ms = Y2020 + 400 * DAY, .group_by = (enum dk_report_group)g};
    struct dk_report r;
    double t0 = seconds();
    dk_report_init(&r, &p);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
      rc = dk_report_add(&r, &s[i]);
    if (rc == 0)
      rc = dk_report_finish(&r);
    double t1 = seconds();
    if (rc != 0) {
      fprintf(stderr, "bench_report: %s\n", dk_strerror(rc));
      return 1;
    }
    printf("report over %zu cases, by %-8s %3zu rows: %.1f ms (mediated %llu, rate %.3f)\n", n,
           dk_report_group_name((enum dk_report_group)g), r.rows_count, (t1 - t0) * 1e3,
           (unsigned long long)r.total.figures.mediated, r.total.figures.success_rate);
    dk_report_release(&r);
    if ((t1 - t0) * 1e3 > slowest_ms)
      slowest_ms = (t1 - t0) * 1e3;
  }
  /* For scripts/bench.sh: the slowest grouping against the yearly district
   * report target (1 s over 1 M events, about 170 000 cases). */
  printf("RESULT\tdistrict report over %zu case states (slowest grouping)\t%.1f\tms\t<=\t1000.0\n",
         n, slowest_ms);
  for (size_t i = 0; i < n; i++)
    dk_case_state_release(&s[i]);
  free(s);
  return 0;
}
