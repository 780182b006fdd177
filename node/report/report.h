/*
 * Reports: streaming aggregation of case states into the figures offices
 * are assessed on (DESIGN.md §1), per group and in total, plus the work log.
 *
 * Use: dk_report_init(), then dk_report_add() once per case state (in any
 * order; the state is only read during the call, so the caller may reuse or
 * free it right after), then dk_report_finish(), read the results, and
 * dk_report_release(). Memory grows with the number of groups, people and
 * cases closed in the period, not with the number of cases added.
 *
 * Errors are sticky: after an add fails (DK_ENOMEM), every later add and
 * finish returns the same code, so a partial report is never taken for a
 * whole one.
 *
 * Thread-safety: a struct dk_report is used by one thread at a time. No
 * globals, no I/O, no clock: "now" is a parameter.
 *
 * Definitions. "In the period" means from_ms <= t <= to_ms, and a time of 0
 * ("never") is never in it. For each row and for the total:
 *   opened         cases whose open is in the period
 *   closed         cases whose latest close is in the period
 *   mediated       disputes whose latest resolve or fail is in the period;
 *                  agreed and failed split them by that outcome
 *   success_rate   agreed / mediated
 *   referrals[r]   cases of any kind whose latest outcome is a fail in the
 *                  period referred to r (index DK_REFERRAL_NONE stays 0)
 *   revisits       return visits made in the period
 *   major_closed   joint-class disputes closed in the period;
 *                  major_revisited those of them with at least one revisit
 *                  (at any time); major_revisit_rate the ratio
 *   consultations  consultation cases opened in the period
 *   meetings       meeting cases opened in the period; meeting_items the
 *                  items their latest resolve decided
 *   overdue        cases opened by to_ms that are overdue at now_ms
 *                  (dk_case_overdue)
 *   median_days_to_close  median of (closed_at - opened_at) in days over the
 *                  closed_count cases closed in the period (mean of the two
 *                  middle values for an even count)
 *   mean_satisfaction     mean score of the revisits in the period
 *   escalated      cases first escalated in the period
 *   erased         cases erased in the period (their tombstones still count
 *                  in the other figures)
 * A ratio, median or mean whose denominator is 0 is NAN: there is nothing to
 * report, which is not the same as 0 %. Print it as "-" and write JSON null.
 *
 * Work log: per person named in a contact made in the period, the number of
 * contacts and their minutes, over all cases (not per group).
 *
 * Cases never opened (their open event has not arrived) are skipped.
 */
#ifndef DK_REPORT_H
#define DK_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "node/cases/fold.h"

enum dk_report_group {
  DK_REPORT_GROUP_NONE,     /* "none": the total only, no rows */
  DK_REPORT_GROUP_OFFICE,   /* "office": key is the office path */
  DK_REPORT_GROUP_KIND,     /* "kind": key is the kind name */
  DK_REPORT_GROUP_CATEGORY, /* "category": key is "kind/category", "kind/-" for none */
  DK_REPORT_GROUP_STREET,    /* "street": key is the first two segments of the office path */
  DK_REPORT_GROUP_COMMUNITY, /* "community": the first three segments */
  DK_REPORT_GROUP_COUNT
};

/* "none", "office", "kind", "category" <-> enum; DK_EINVAL for others. */
int dk_report_group_parse(const char *name, enum dk_report_group *out);
const char *dk_report_group_name(enum dk_report_group group);

struct dk_report_params {
  uint64_t from_ms; /* first ms of the period, inclusive; 0 for no start */
  uint64_t to_ms;   /* last ms of the period, inclusive; UINT64_MAX for no end */
  uint64_t now_ms;  /* the time overdue is judged at */
  enum dk_report_group group_by;
};

struct dk_report_figures {
  uint64_t opened;
  uint64_t closed;
  uint64_t mediated;
  uint64_t agreed;
  uint64_t failed;
  double success_rate;
  uint64_t referrals[DK_REFERRAL_COUNT];
  uint64_t revisits;
  uint64_t major_closed;
  uint64_t major_revisited;
  double major_revisit_rate;
  uint64_t consultations;
  uint64_t advice; /* opinions given to community committees (advice cases opened) */
  uint64_t opened_by_kind[DK_KIND_COUNT];
  /* Per triage class (clinic, emergency, joint), of the cases opened in the
   * period: how many, and how many of those agreed, failed and closed. */
  struct {
    uint64_t opened, agreed, failed, closed;
  } by_class[DK_TRIAGE_CLASSES];
  uint64_t meetings;
  uint64_t meeting_items;
  uint64_t overdue;
  uint64_t closed_count; /* cases in the median (= closed) */
  double median_days_to_close;
  uint64_t satisfaction_count; /* revisits in the mean (= revisits) */
  double mean_satisfaction;
  uint64_t escalated;
  uint64_t erased;
  uint64_t last_entry_ms; /* latest event time of any case counted (freshness); 0 none */
};

struct dk_report_row {
  char *key; /* owned; NULL for the total */
  struct dk_report_figures figures;
  /* Private accumulators, freed by dk_report_finish(). */
  uint64_t satisfaction_sum;
  uint64_t *close_ms;
  size_t close_cap;
};

struct dk_report_person {
  char *office; /* the office of the cases worked: a person is a name in an office */
  char *name;   /* both point into key, which is owned */
  char *key;
  uint64_t contacts;
  uint64_t minutes;
};

struct dk_report {
  struct dk_report_params params;
  struct dk_report_row total;
  /* After dk_report_finish(): sorted by key, byte order (strcmp). */
  struct dk_report_row *rows;
  size_t rows_count;
  /* After dk_report_finish(): sorted by name, byte order. */
  struct dk_report_person *people;
  size_t people_count;
  uint64_t cases_count; /* states added and counted (opened ones) */

  /* Private. */
  size_t rows_cap;
  size_t people_cap;
  uint32_t *row_slots; /* open addressing: index + 1, 0 = empty */
  size_t row_slots_count;
  uint32_t *person_slots;
  size_t person_slots_count;
  int finished;
  int error;
};

/* Prepares r for a report with params (copied). Cannot fail. */
void dk_report_init(struct dk_report *r, const struct dk_report_params *params);

/* Adds one case state. Returns 0, DK_ENOMEM, or DK_ELIMIT past 2^32 rows or
 * people; errors are sticky. Must not be called after dk_report_finish(). */
int dk_report_add(struct dk_report *r, const struct dk_case_state *s);

/* Computes the ratios, medians and means and sorts rows and people. Returns
 * 0 or the sticky error. Call once. */
int dk_report_finish(struct dk_report *r);

/* Frees everything r owns; r is then zeroed. Safe after a failed add. */
void dk_report_release(struct dk_report *r);

#endif
