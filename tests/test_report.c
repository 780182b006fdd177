/* Unit tests for node/report: figures over a hand-built set of case states
 * whose expected values are worked out by hand below. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "node/cases/fold.h"
#include "node/report/report.h"

#define HOUR (60ull * 60 * 1000)
#define DAY (24 * HOUR)
#define P0 1577836800000ull      /* 2020-01-01 00:00 UTC */
#define P1 (P0 + 31 * DAY - 1)   /* 2020-01-31 23:59:59.999 */
#define DEC19 (P0 - 12 * DAY)    /* 2019-12-20 */
#define NOW (P1 + 10 * DAY)

#define LX "zhanhe/beidu/lanxin"
#define QH "zhanhe/beidu/qinghe"

#define CASES 11

static char *xstrdup(const char *s) {
  char *d = strdup(s);
  assert_non_null(d);
  return d;
}

static void st_open(struct dk_case_state *s, const char *office, enum dk_kind kind,
                    const char *category, uint64_t opened_at) {
  dk_case_state_init(s);
  s->opened = 1;
  s->office = xstrdup(office);
  s->kind = kind;
  s->category = xstrdup(category);
  s->number = xstrdup("");
  s->summary = xstrdup("");
  s->opened_at_ms = opened_at;
}

static void st_outcome(struct dk_case_state *s, enum dk_outcome o, uint64_t at,
                       enum dk_referral refer) {
  s->outcome = o;
  s->outcome_at_ms = at;
  s->referral = refer;
  s->status = o == DK_OUTCOME_AGREED ? DK_STATUS_RESOLVED : DK_STATUS_FAILED;
}

static void st_close(struct dk_case_state *s, uint64_t at) {
  s->closed_at_ms = at;
  s->status = DK_STATUS_CLOSED;
}

static void st_revisit(struct dk_case_state *s, uint64_t at, uint32_t satisfaction) {
  s->revisits = realloc(s->revisits, (s->revisits_count + 1) * sizeof(*s->revisits));
  assert_non_null(s->revisits);
  s->revisits[s->revisits_count].at_ms = at;
  s->revisits[s->revisits_count].satisfaction = satisfaction;
  s->revisits_count++;
}

static void st_contact(struct dk_case_state *s, uint64_t at, const char *who,
                       enum dk_event_type type, uint64_t minutes) {
  s->contacts = realloc(s->contacts, (s->contacts_count + 1) * sizeof(*s->contacts));
  assert_non_null(s->contacts);
  struct dk_contact *c = &s->contacts[s->contacts_count++];
  c->at_ms = at;
  c->person = xstrdup(who);
  c->type = type;
  c->minutes = minutes;
}

/* The data set. Period: January 2020. now: 10 February 2020. */
static void build(struct dk_case_state *s) {
  /* 1: joint dispute, agreed, closed, revisited (5). */
  st_open(&s[0], LX, DK_KIND_DISPUTE, "neighbour", P0 + 1 * DAY);
  s[0].triage = DK_TRIAGE_JOINT;
  st_outcome(&s[0], DK_OUTCOME_AGREED, P0 + 5 * DAY, DK_REFERRAL_NONE);
  st_close(&s[0], P0 + 6 * DAY);
  st_revisit(&s[0], P0 + 10 * DAY, 5);
  st_contact(&s[0], P0 + 2 * DAY, "Zhao Lei", DK_EVENT_SESSION, 60);
  st_contact(&s[0], P0 + 5 * DAY, "Zhao Lei", DK_EVENT_RESOLVE, 0);
  st_contact(&s[0], P0 + 10 * DAY, "Wang Fang", DK_EVENT_REVISIT, 0);
  /* 2: clinic dispute, agreed, closed, no revisit. */
  st_open(&s[1], LX, DK_KIND_DISPUTE, "family", P0 + 2 * DAY);
  s[1].triage = DK_TRIAGE_CLINIC;
  st_outcome(&s[1], DK_OUTCOME_AGREED, P0 + 8 * DAY, DK_REFERRAL_NONE);
  st_close(&s[1], P0 + 12 * DAY);
  st_contact(&s[1], P0 + 3 * DAY, "Zhao Lei", DK_EVENT_SESSION, 30);
  /* 3: joint dispute, failed and referred to legal aid, closed, no revisit. */
  st_open(&s[2], QH, DK_KIND_DISPUTE, "labour", P0 + 3 * DAY);
  s[2].triage = DK_TRIAGE_JOINT;
  st_outcome(&s[2], DK_OUTCOME_FAILED, P0 + 9 * DAY, DK_REFERRAL_LEGAL_AID);
  st_close(&s[2], P0 + 10 * DAY);
  st_contact(&s[2], P0 + 4 * DAY, "Sun Li", DK_EVENT_SESSION, 45);
  /* 4: opened in December, escalated and agreed in January, not closed. */
  st_open(&s[3], QH, DK_KIND_DISPUTE, "loan", DEC19);
  s[3].level = DK_LEVEL_STREET;
  s[3].escalated_at_ms = P0 + 3 * DAY;
  st_outcome(&s[3], DK_OUTCOME_AGREED, P0 + 4 * DAY, DK_REFERRAL_NONE);
  st_contact(&s[3], DEC19 + 8 * DAY, "Sun Li", DK_EVENT_SESSION, 20);
  st_contact(&s[3], P0 + 4 * DAY, "Sun Li", DK_EVENT_RESOLVE, 0);
  /* 5: consultation closed two hours after it opened. */
  st_open(&s[4], LX, DK_KIND_CONSULTATION, "", P0 + 1 * DAY);
  st_close(&s[4], P0 + 1 * DAY + 2 * HOUR);
  /* 6, 7: meetings deciding 4 and 2 items, closed after 3 h and 1 h. */
  st_open(&s[5], QH, DK_KIND_MEETING, "parking", P0 + 15 * DAY);
  st_outcome(&s[5], DK_OUTCOME_AGREED, P0 + 15 * DAY + HOUR, DK_REFERRAL_NONE);
  s[5].items = 4;
  st_close(&s[5], P0 + 15 * DAY + 3 * HOUR);
  st_open(&s[6], LX, DK_KIND_MEETING, "property", P0 + 20 * DAY);
  st_outcome(&s[6], DK_OUTCOME_AGREED, P0 + 20 * DAY, DK_REFERRAL_NONE);
  s[6].items = 2;
  st_close(&s[6], P0 + 20 * DAY + HOUR);
  /* 8: hazard triaged as an emergency, deadline passed: overdue. */
  st_open(&s[7], LX, DK_KIND_HAZARD, "fire", P0 + 25 * DAY);
  s[7].triage = DK_TRIAGE_EMERGENCY;
  s[7].status = DK_STATUS_TRIAGED;
  s[7].deadline_ms = P0 + 28 * DAY;
  /* 9: opened in February, overdue now, but after the period. */
  st_open(&s[8], QH, DK_KIND_DISPUTE, "", P1 + 5 * DAY);
  s[8].triage = DK_TRIAGE_EMERGENCY;
  s[8].status = DK_STATUS_TRIAGED;
  s[8].deadline_ms = P1 + 8 * DAY;
  /* 10: closed in 2019, revisited in January (3). */
  st_open(&s[9], LX, DK_KIND_DISPUTE, "other", P0 - 60 * DAY);
  st_outcome(&s[9], DK_OUTCOME_AGREED, P0 - 40 * DAY, DK_REFERRAL_NONE);
  st_close(&s[9], P0 - 39 * DAY);
  st_revisit(&s[9], P0 + 7 * DAY, 3);
  st_contact(&s[9], P0 + 7 * DAY, "Wang Fang", DK_EVENT_REVISIT, 0);
  /* 11: its open event has not arrived: skipped. */
  dk_case_state_init(&s[10]);
  s[10].closed_at_ms = P0 + DAY;
  st_contact(&s[10], P0 + DAY, "Ghost", DK_EVENT_NOTE, 0);
}

static void release_all(struct dk_case_state *s) {
  for (int i = 0; i < CASES; i++)
    dk_case_state_release(&s[i]);
}

static struct dk_report_params january(enum dk_report_group g) {
  struct dk_report_params p = {.from_ms = P0, .to_ms = P1, .now_ms = NOW, .group_by = g};
  return p;
}

static void run(struct dk_report *r, const struct dk_report_params *p, struct dk_case_state *s) {
  dk_report_init(r, p);
  for (int i = 0; i < CASES; i++)
    assert_int_equal(dk_report_add(r, &s[i]), 0);
  assert_int_equal(dk_report_finish(r), 0);
}

static void totals_for_january(void **state) {
  struct dk_case_state s[CASES];
  build(s);
  struct dk_report_params p = january(DK_REPORT_GROUP_NONE);
  struct dk_report r;
  run(&r, &p, s);
  const struct dk_report_figures *f = &r.total.figures;

  assert_int_equal(r.cases_count, 10);
  assert_int_equal(r.rows_count, 0);
  assert_int_equal(f->opened, 7);       /* 1 2 3 5 6 7 8 */
  assert_int_equal(f->closed, 6);       /* 1 2 3 5 6 7 */
  assert_int_equal(f->mediated, 4);     /* disputes 1 2 3 4 */
  assert_int_equal(f->agreed, 3);
  assert_int_equal(f->failed, 1);
  assert_true(f->success_rate == 0.75);
  assert_int_equal(f->referrals[DK_REFERRAL_LEGAL_AID], 1);
  assert_int_equal(f->referrals[DK_REFERRAL_LITIGATION], 0);
  assert_int_equal(f->referrals[DK_REFERRAL_NONE], 0);
  assert_int_equal(f->revisits, 2); /* of cases 1 and 10 */
  assert_int_equal(f->satisfaction_count, 2);
  assert_true(f->mean_satisfaction == 4.0);
  assert_int_equal(f->major_closed, 2); /* joint disputes 1 and 3 */
  assert_int_equal(f->major_revisited, 1);
  assert_true(f->major_revisit_rate == 0.5);
  assert_int_equal(f->consultations, 1);
  assert_int_equal(f->meetings, 2);
  assert_int_equal(f->meeting_items, 6);
  assert_int_equal(f->overdue, 1); /* 8; 9 was opened after the period */
  assert_int_equal(f->escalated, 1);
  /* Times to close: 1 h, 2 h, 3 h, 5 d, 7 d, 10 d: median (3 h + 5 d) / 2. */
  assert_int_equal(f->closed_count, 6);
  assert_true(fabs(f->median_days_to_close - (0.125 + 5.0) / 2) < 1e-12);

  /* Work log, by office and name. Sun Li's December session is outside
   * the period. */
  assert_int_equal(r.people_count, 3);
  assert_string_equal(r.people[0].office, LX);
  assert_string_equal(r.people[0].name, "Wang Fang");
  assert_int_equal(r.people[0].contacts, 2);
  assert_int_equal(r.people[0].minutes, 0);
  assert_string_equal(r.people[1].name, "Zhao Lei");
  assert_int_equal(r.people[1].contacts, 3);
  assert_int_equal(r.people[1].minutes, 90);
  assert_string_equal(r.people[2].office, QH);
  assert_string_equal(r.people[2].name, "Sun Li");
  assert_int_equal(r.people[2].contacts, 2);
  assert_int_equal(r.people[2].minutes, 45);

  dk_report_release(&r);
  release_all(s);
}

static void rows_by_office(void **state) {
  struct dk_case_state s[CASES];
  build(s);
  struct dk_report_params p = january(DK_REPORT_GROUP_OFFICE);
  struct dk_report r;
  /* Add in reverse so that row order cannot come from insertion order. */
  dk_report_init(&r, &p);
  for (int i = CASES - 1; i >= 0; i--)
    assert_int_equal(dk_report_add(&r, &s[i]), 0);
  assert_int_equal(dk_report_finish(&r), 0);

  assert_int_equal(r.rows_count, 2);
  assert_string_equal(r.rows[0].key, LX);
  assert_string_equal(r.rows[1].key, QH);
  assert_null(r.total.key);

  const struct dk_report_figures *lx = &r.rows[0].figures, *qh = &r.rows[1].figures;
  assert_int_equal(lx->opened, 5);
  assert_int_equal(lx->closed, 4);
  assert_int_equal(lx->mediated, 2);
  assert_int_equal(lx->agreed, 2);
  assert_true(lx->success_rate == 1.0);
  assert_int_equal(lx->revisits, 2);
  assert_true(lx->mean_satisfaction == 4.0);
  assert_int_equal(lx->major_closed, 1);
  assert_true(lx->major_revisit_rate == 1.0);
  assert_int_equal(lx->consultations, 1);
  assert_int_equal(lx->meetings, 1);
  assert_int_equal(lx->meeting_items, 2);
  assert_int_equal(lx->overdue, 1);
  assert_int_equal(lx->escalated, 0);
  /* 1 h, 2 h, 5 d, 10 d */
  assert_true(fabs(lx->median_days_to_close - (2.0 / 24 + 5.0) / 2) < 1e-12);

  assert_int_equal(qh->opened, 2);
  assert_int_equal(qh->closed, 2);
  assert_int_equal(qh->mediated, 2);
  assert_int_equal(qh->agreed, 1);
  assert_int_equal(qh->failed, 1);
  assert_true(qh->success_rate == 0.5);
  assert_int_equal(qh->referrals[DK_REFERRAL_LEGAL_AID], 1);
  assert_int_equal(qh->revisits, 0);
  assert_true(isnan(qh->mean_satisfaction));
  assert_int_equal(qh->major_closed, 1);
  assert_int_equal(qh->major_revisited, 0);
  assert_true(qh->major_revisit_rate == 0.0);
  assert_int_equal(qh->meetings, 1);
  assert_int_equal(qh->meeting_items, 4);
  assert_int_equal(qh->overdue, 0);
  assert_int_equal(qh->escalated, 1);
  assert_true(fabs(qh->median_days_to_close - (0.125 + 7.0) / 2) < 1e-12);

  /* Rows add up to the total. */
  assert_int_equal(lx->opened + qh->opened, r.total.figures.opened);
  assert_int_equal(lx->mediated + qh->mediated, r.total.figures.mediated);
  assert_int_equal(r.total.figures.agreed, 3);
  dk_report_release(&r);
  release_all(s);
}

static void rows_by_kind_and_category(void **state) {
  struct dk_case_state s[CASES];
  build(s);
  struct dk_report_params p = january(DK_REPORT_GROUP_KIND);
  struct dk_report r;
  run(&r, &p, s);
  assert_int_equal(r.rows_count, 4);
  assert_string_equal(r.rows[0].key, "consultation");
  assert_string_equal(r.rows[1].key, "dispute");
  assert_string_equal(r.rows[2].key, "hazard");
  assert_string_equal(r.rows[3].key, "meeting");
  assert_int_equal(r.rows[1].figures.opened, 3);
  assert_int_equal(r.rows[1].figures.mediated, 4);
  assert_true(r.rows[1].figures.success_rate == 0.75);
  /* Meetings are agreed but are not disputes: nothing mediated. */
  assert_int_equal(r.rows[3].figures.mediated, 0);
  assert_true(isnan(r.rows[3].figures.success_rate));
  assert_true(isnan(r.rows[2].figures.median_days_to_close));
  assert_int_equal(r.rows[2].figures.overdue, 1);
  dk_report_release(&r);

  p = january(DK_REPORT_GROUP_CATEGORY);
  run(&r, &p, s);
  const char *keys[] = {"consultation/-", "dispute/-",      "dispute/family",  "dispute/labour",
                        "dispute/loan",   "dispute/neighbour", "dispute/other", "hazard/fire",
                        "meeting/parking", "meeting/property"};
  assert_int_equal(r.rows_count, sizeof(keys) / sizeof(keys[0]));
  for (size_t i = 0; i < r.rows_count; i++)
    assert_string_equal(r.rows[i].key, keys[i]);
  assert_int_equal(r.rows[1].figures.opened, 0); /* case 9, opened in February */
  assert_int_equal(r.rows[6].figures.revisits, 1);
  dk_report_release(&r);
  release_all(s);
}

static void open_period(void **state) {
  struct dk_case_state s[CASES];
  build(s);
  struct dk_report_params p = {.from_ms = 0, .to_ms = UINT64_MAX, .now_ms = NOW,
                               .group_by = DK_REPORT_GROUP_NONE};
  struct dk_report r;
  run(&r, &p, s);
  const struct dk_report_figures *f = &r.total.figures;
  assert_int_equal(f->opened, 10);
  assert_int_equal(f->closed, 7);
  assert_int_equal(f->mediated, 5);
  assert_int_equal(f->agreed, 4);
  assert_true(f->success_rate == 0.8);
  assert_int_equal(f->overdue, 2); /* now 8 and 9 */
  assert_string_equal(r.people[2].name, "Sun Li");
  assert_int_equal(r.people[2].contacts, 3); /* Sun Li's December session counts */
  assert_int_equal(r.people[2].minutes, 65);
  dk_report_release(&r);

  /* An empty report: nothing to divide. */
  dk_report_init(&r, &p);
  assert_int_equal(dk_report_finish(&r), 0);
  assert_int_equal(r.total.figures.mediated, 0);
  assert_true(isnan(r.total.figures.success_rate));
  assert_true(isnan(r.total.figures.major_revisit_rate));
  assert_true(isnan(r.total.figures.median_days_to_close));
  assert_true(isnan(r.total.figures.mean_satisfaction));
  dk_report_release(&r);
  release_all(s);
}

/* The report over states folded from real events agrees with the model. */
static void report_over_folded_cases(void **state) {
  struct dk_case_config cfg = dk_case_config_default();
  struct dk_report_params p = january(DK_REPORT_GROUP_OFFICE);
  struct dk_report r;
  dk_report_init(&r, &p);
  for (int c = 0; c < 4; c++) {
    struct dk_event e[3];
    for (int i = 0; i < 3; i++)
      dk_event_init(&e[i]);
    e[0].type = DK_EVENT_OPEN;
    e[0].at_ms = P0 + (uint64_t)c * DAY;
    e[0].id[0] = (uint8_t)c;
    e[0].id[1] = 0;
    e[0].office = xstrdup(LX);
    e[1].type = c == 3 ? DK_EVENT_FAIL : DK_EVENT_RESOLVE;
    e[1].at_ms = e[0].at_ms + DAY;
    e[1].id[0] = (uint8_t)c;
    e[1].id[1] = 1;
    e[1].by = xstrdup("Zhao Lei");
    e[1].deps = malloc(32);
    memcpy(e[1].deps[0], e[0].id, 32);
    e[1].deps_count = 1;
    e[2].type = DK_EVENT_CLOSE;
    e[2].at_ms = e[1].at_ms + DAY;
    e[2].id[0] = (uint8_t)c;
    e[2].id[1] = 2;
    e[2].deps = malloc(32);
    memcpy(e[2].deps[0], e[1].id, 32);
    e[2].deps_count = 1;
    struct dk_case_state s;
    dk_case_state_init(&s);
    assert_int_equal(dk_case_fold(e, 3, &cfg, &s), 0);
    assert_int_equal(s.conflicts_count, 0);
    assert_int_equal(dk_report_add(&r, &s), 0);
    dk_case_state_release(&s); /* the report keeps nothing of it */
    for (int i = 0; i < 3; i++)
      dk_event_release(&e[i]);
  }
  assert_int_equal(dk_report_finish(&r), 0);
  assert_int_equal(r.rows_count, 1);
  assert_int_equal(r.total.figures.mediated, 4);
  assert_int_equal(r.total.figures.agreed, 3);
  assert_true(r.total.figures.success_rate == 0.75);
  assert_int_equal(r.total.figures.closed, 4);
  assert_true(r.total.figures.median_days_to_close == 2.0);
  assert_int_equal(r.people_count, 1);
  assert_int_equal(r.people[0].contacts, 4);
  dk_report_release(&r);
}

/* The roll-up along the hierarchy, the figures added for the assessment,
 * and the work log keyed by office and name. */
static void hierarchy_and_assessment(void **state) {
  struct dk_case_state s[4];
  st_open(&s[0], LX, DK_KIND_DISPUTE, "", P0 + DAY);
  s[0].triage = DK_TRIAGE_JOINT;
  st_outcome(&s[0], DK_OUTCOME_AGREED, P0 + 2 * DAY, DK_REFERRAL_NONE);
  st_contact(&s[0], P0 + DAY, "Wang Fang", DK_EVENT_SESSION, 30);
  st_open(&s[1], QH, DK_KIND_ADVICE, "contract", P0 + DAY);
  st_contact(&s[1], P0 + DAY, "Wang Fang", DK_EVENT_SESSION, 10);
  st_open(&s[2], "zhanhe/nanyuan/xinhe", DK_KIND_DISPUTE, "", P0 + DAY);
  s[2].triage = DK_TRIAGE_CLINIC;
  st_outcome(&s[2], DK_OUTCOME_FAILED, P0 + 3 * DAY, DK_REFERRAL_LITIGATION);
  st_contact(&s[2], P0 + 2 * DAY, "Wang Fang", DK_EVENT_SESSION, 20);
  st_contact(&s[2], P0 + 3 * DAY, "Wang Fang", DK_EVENT_FAIL, 5);
  st_open(&s[3], "zhanhe/beidu", DK_KIND_CONSULTATION, "", P0 + DAY);

  struct dk_report_params p = january(DK_REPORT_GROUP_STREET);
  struct dk_report r;
  dk_report_init(&r, &p);
  for (int i = 0; i < 4; i++)
    assert_int_equal(dk_report_add(&r, &s[i]), 0);
  assert_int_equal(dk_report_finish(&r), 0);
  assert_int_equal(r.rows_count, 2);
  assert_string_equal(r.rows[0].key, "zhanhe/beidu");
  assert_string_equal(r.rows[1].key, "zhanhe/nanyuan");
  assert_int_equal(r.rows[0].figures.opened, 3); /* both communities and the street itself */
  assert_int_equal(r.rows[1].figures.opened, 1);
  assert_int_equal(r.total.figures.advice, 1);
  assert_int_equal(r.total.figures.by_class[DK_TRIAGE_JOINT].opened, 1);
  assert_int_equal(r.total.figures.by_class[DK_TRIAGE_JOINT].agreed, 1);
  assert_int_equal(r.total.figures.by_class[DK_TRIAGE_CLINIC].failed, 1);
  assert_int_equal(r.total.figures.opened_by_kind[DK_KIND_DISPUTE], 2);
  /* Three offices with a Wang Fang: three people, sorted by office. */
  assert_int_equal(r.people_count, 3);
  assert_string_equal(r.people[0].office, LX);
  assert_string_equal(r.people[0].name, "Wang Fang");
  assert_int_equal(r.people[0].minutes, 30);
  assert_string_equal(r.people[1].office, QH);
  assert_string_equal(r.people[2].office, "zhanhe/nanyuan/xinhe");
  assert_int_equal(r.people[2].contacts, 2);
  assert_int_equal(r.people[2].minutes, 25);
  dk_report_release(&r);

  p.group_by = DK_REPORT_GROUP_COMMUNITY;
  dk_report_init(&r, &p);
  for (int i = 0; i < 4; i++)
    assert_int_equal(dk_report_add(&r, &s[i]), 0);
  assert_int_equal(dk_report_finish(&r), 0);
  assert_int_equal(r.rows_count, 4);
  assert_string_equal(r.rows[0].key, "zhanhe/beidu");
  assert_string_equal(r.rows[1].key, LX);
  assert_string_equal(r.rows[2].key, QH);
  assert_string_equal(r.rows[3].key, "zhanhe/nanyuan/xinhe");
  dk_report_release(&r);
  for (int i = 0; i < 4; i++)
    dk_case_state_release(&s[i]);
}

static void group_names(void **state) {
  for (int g = 0; g < DK_REPORT_GROUP_COUNT; g++) {
    enum dk_report_group out;
    assert_int_equal(dk_report_group_parse(dk_report_group_name(g), &out), 0);
    assert_int_equal(out, g);
  }
  enum dk_report_group out;
  assert_int_equal(dk_report_group_parse("hamlet", &out), DK_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(totals_for_january),
      cmocka_unit_test(rows_by_office),
      cmocka_unit_test(rows_by_kind_and_category),
      cmocka_unit_test(open_period),
      cmocka_unit_test(report_over_folded_cases),
      cmocka_unit_test(hierarchy_and_assessment),
      cmocka_unit_test(group_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
