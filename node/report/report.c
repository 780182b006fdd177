#include "node/report/report.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"

#define MS_PER_DAY 86400000.0

static const char *const group_names[DK_REPORT_GROUP_COUNT] = {"none",     "office",
                                                               "kind",     "category",
                                                               "street",   "community"};

int dk_report_group_parse(const char *name, enum dk_report_group *out) {
  if (name == NULL)
    return DK_EINVAL;
  for (int i = 0; i < DK_REPORT_GROUP_COUNT; i++) {
    if (strcmp(group_names[i], name) == 0) {
      *out = (enum dk_report_group)i;
      return 0;
    }
  }
  return DK_EINVAL;
}

const char *dk_report_group_name(enum dk_report_group group) {
  if ((int)group < 0 || group >= DK_REPORT_GROUP_COUNT)
    return "?";
  return group_names[group];
}

void dk_report_init(struct dk_report *r, const struct dk_report_params *params) {
  assert(r != NULL);
  assert(params != NULL);
  assert(params->group_by < DK_REPORT_GROUP_COUNT);
  memset(r, 0, sizeof(*r));
  r->params = *params;
}

/* ---- string-keyed open-addressing index -------------------------------- */

static uint64_t hash_str(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
  for (; *s; s++) {
    h ^= (uint8_t)*s;
    h *= 0x100000001b3ull;
  }
  return h;
}

/* Key of element i of the indexed array. */
typedef const char *(*key_fn)(const void *array, uint32_t i);

static const char *row_key(const void *a, uint32_t i) {
  return ((const struct dk_report_row *)a)[i].key;
}
static const char *person_key(const void *a, uint32_t i) {
  return ((const struct dk_report_person *)a)[i].key;
}

/* Finds key; returns the slot holding it or the empty slot where it goes. */
static size_t slot_find(const uint32_t *slots, size_t slots_count, const void *array, key_fn key,
                        const char *k) {
  assert(slots_count > 0 && (slots_count & (slots_count - 1)) == 0);
  size_t mask = slots_count - 1;
  size_t i = (size_t)hash_str(k) & mask;
  while (slots[i] != 0 && strcmp(key(array, slots[i] - 1), k) != 0)
    i = (i + 1) & mask;
  return i;
}

/* Makes room for one more entry when used entries exist; keeps load <= 1/2. */
static int slots_grow(uint32_t **slots, size_t *slots_count, size_t used, const void *array,
                      key_fn key) {
  if ((used + 1) * 2 <= *slots_count)
    return 0;
  size_t n = *slots_count ? *slots_count * 2 : 64;
  uint32_t *ns = calloc(n, sizeof(uint32_t));
  if (ns == NULL)
    return DK_ENOMEM;
  for (size_t i = 0; i < used; i++)
    ns[slot_find(ns, n, array, key, key(array, (uint32_t)i))] = (uint32_t)i + 1;
  free(*slots);
  *slots = ns;
  *slots_count = n;
  return 0;
}

static int array_grow(void *pp, size_t *cap, size_t count, size_t elem) {
  if (count < *cap)
    return 0;
  size_t n = *cap ? *cap * 2 : 16;
  void *p = realloc(*(void **)pp, n * elem);
  if (p == NULL)
    return DK_ENOMEM;
  *(void **)pp = p;
  *cap = n;
  return 0;
}

static char *dup_str(const char *s) {
  size_t n = strlen(s);
  char *d = malloc(n + 1);
  if (d != NULL)
    memcpy(d, s, n + 1);
  return d;
}

static int row_get(struct dk_report *r, const char *key, struct dk_report_row **out) {
  int rc = slots_grow(&r->row_slots, &r->row_slots_count, r->rows_count, r->rows, row_key);
  if (rc != 0)
    return rc;
  size_t slot = slot_find(r->row_slots, r->row_slots_count, r->rows, row_key, key);
  if (r->row_slots[slot] != 0) {
    *out = &r->rows[r->row_slots[slot] - 1];
    return 0;
  }
  if (r->rows_count >= UINT32_MAX - 1)
    return DK_ELIMIT;
  rc = array_grow(&r->rows, &r->rows_cap, r->rows_count, sizeof(*r->rows));
  if (rc != 0)
    return rc;
  char *k = dup_str(key);
  if (k == NULL)
    return DK_ENOMEM;
  struct dk_report_row *row = &r->rows[r->rows_count];
  memset(row, 0, sizeof(*row));
  row->key = k;
  r->row_slots[slot] = (uint32_t)++r->rows_count;
  *out = row;
  return 0;
}

static int person_get(struct dk_report *r, const char *office, const char *name,
                      struct dk_report_person **out) {
  /* One person is one name in one office: two mediators called 王芳 in
   * two communities are two people. The key is "office<TAB>name". */
  char key[2 * DK_NAME_BYTES_MAX + 2];
  /* As snprintf("%s\t%s") would, cut to the buffer, without its cost on
   * every contact of every case. */
  size_t cap = sizeof(key) - 1, ol = office ? strnlen(office, cap) : 0, at = ol;
  memcpy(key, office ? office : "", ol);
  if (at < cap)
    key[at++] = '\t';
  size_t nl = strnlen(name, cap - at);
  memcpy(key + at, name, nl);
  key[at + nl] = 0;
  int rc = slots_grow(&r->person_slots, &r->person_slots_count, r->people_count, r->people,
                      person_key);
  if (rc != 0)
    return rc;
  size_t slot = slot_find(r->person_slots, r->person_slots_count, r->people, person_key, key);
  if (r->person_slots[slot] != 0) {
    *out = &r->people[r->person_slots[slot] - 1];
    return 0;
  }
  if (r->people_count >= UINT32_MAX - 1)
    return DK_ELIMIT;
  rc = array_grow(&r->people, &r->people_cap, r->people_count, sizeof(*r->people));
  if (rc != 0)
    return rc;
  /* One allocation: the key, then the office and the name it joins. */
  size_t kl = strlen(key);
  char *k = malloc(2 * kl + 2);
  if (k == NULL)
    return DK_ENOMEM;
  memcpy(k, key, kl + 1);
  memcpy(k + kl + 1, key, kl + 1);
  struct dk_report_person *p = &r->people[r->people_count];
  memset(p, 0, sizeof(*p));
  p->key = k;
  p->office = k + kl + 1;
  p->name = strchr(p->office, '\t') + 1;
  p->name[-1] = 0;
  r->person_slots[slot] = (uint32_t)++r->people_count;
  *out = p;
  return 0;
}

/* ---- accumulation ------------------------------------------------------ */

static int in_period(const struct dk_report_params *p, uint64_t t) {
  return t != 0 && t >= p->from_ms && t <= p->to_ms;
}

static int accumulate(struct dk_report_row *row, const struct dk_report_params *p,
                      const struct dk_case_state *s, int overdue) {
  struct dk_report_figures *f = &row->figures;
  int opened_in = in_period(p, s->opened_at_ms);
  int closed_in = in_period(p, s->closed_at_ms);
  int outcome_in = s->outcome != DK_OUTCOME_NONE && in_period(p, s->outcome_at_ms);

  if (closed_in) {
    int rc = array_grow(&row->close_ms, &row->close_cap, f->closed_count, sizeof(uint64_t));
    if (rc != 0)
      return rc;
    row->close_ms[f->closed_count++] =
        s->closed_at_ms > s->opened_at_ms ? s->closed_at_ms - s->opened_at_ms : 0;
    f->closed++;
  }
  f->opened += opened_in;
  if (outcome_in && s->kind == DK_KIND_DISPUTE) {
    f->mediated++;
    f->agreed += s->outcome == DK_OUTCOME_AGREED;
    f->failed += s->outcome == DK_OUTCOME_FAILED;
  }
  if (outcome_in && s->outcome == DK_OUTCOME_FAILED && s->referral != DK_REFERRAL_NONE &&
      s->referral < DK_REFERRAL_COUNT)
    f->referrals[s->referral]++;
  for (size_t i = 0; i < s->revisits_count; i++) {
    if (in_period(p, s->revisits[i].at_ms)) {
      f->revisits++;
      f->satisfaction_count++;
      row->satisfaction_sum += s->revisits[i].satisfaction;
    }
  }
  if (closed_in && s->kind == DK_KIND_DISPUTE && s->triage == DK_TRIAGE_JOINT) {
    f->major_closed++;
    f->major_revisited += s->revisits_count > 0;
  }
  if (opened_in && s->kind == DK_KIND_CONSULTATION)
    f->consultations++;
  if (opened_in && s->kind == DK_KIND_ADVICE)
    f->advice++;
  if (opened_in && s->kind < DK_KIND_COUNT)
    f->opened_by_kind[s->kind]++;
  if (opened_in && s->triage != DK_TRIAGE_NONE && s->triage < DK_TRIAGE_CLASSES) {
    f->by_class[s->triage].opened++;
    f->by_class[s->triage].agreed += s->outcome == DK_OUTCOME_AGREED;
    f->by_class[s->triage].failed += s->outcome == DK_OUTCOME_FAILED;
    f->by_class[s->triage].closed += s->closed_at_ms != 0;
  }
  if (opened_in && s->kind == DK_KIND_MEETING) {
    f->meetings++;
    f->meeting_items += s->items;
  }
  f->overdue += overdue;
  if (s->updated_at_ms > f->last_entry_ms)
    f->last_entry_ms = s->updated_at_ms;
  f->escalated += in_period(p, s->escalated_at_ms);
  f->erased += in_period(p, s->erased_at_ms);
  return 0;
}

int dk_report_add(struct dk_report *r, const struct dk_case_state *s) {
  assert(r != NULL);
  assert(s != NULL);
  assert(!r->finished);
  int rc = r->error;
  if (rc != 0)
    goto out;
  if (!s->opened)
    goto out;
  const struct dk_report_params *p = &r->params;
  int overdue = s->opened_at_ms <= p->to_ms && dk_case_overdue(s, p->now_ms);

  struct dk_report_row *row = NULL;
  char key[DK_NAME_BYTES_MAX + 32];
  switch (p->group_by) {
  case DK_REPORT_GROUP_OFFICE:
    rc = row_get(r, s->office != NULL ? s->office : "", &row);
    break;
  case DK_REPORT_GROUP_KIND:
    rc = row_get(r, dk_kind_name(s->kind), &row);
    break;
  case DK_REPORT_GROUP_STREET:
  case DK_REPORT_GROUP_COMMUNITY: {
    /* district/street/community: the first 2 or 3 segments of the path, so
     * a community's cases roll up into its street. */
    const char *o = s->office != NULL ? s->office : "";
    int want = p->group_by == DK_REPORT_GROUP_STREET ? 2 : 3, seen = 0;
    size_t n = 0;
    for (; o[n] && n < sizeof(key) - 1; n++)
      if (o[n] == '/' && ++seen == want)
        break;
    memcpy(key, o, n);
    key[n] = 0;
    rc = row_get(r, key, &row);
    break;
  }
  case DK_REPORT_GROUP_CATEGORY: {
    const char *kind = dk_kind_name(s->kind);
    const char *cat = s->category != NULL && s->category[0] != 0 ? s->category : "-";
    size_t kl = strlen(kind), cl = strnlen(cat, DK_NAME_BYTES_MAX);
    memcpy(key, kind, kl);
    key[kl] = '/';
    memcpy(key + kl + 1, cat, cl);
    key[kl + 1 + cl] = 0;
    rc = row_get(r, key, &row);
    break;
  }
  default:
    break;
  }
  if (rc != 0)
    goto out;
  rc = accumulate(&r->total, p, s, overdue);
  if (rc != 0)
    goto out;
  if (row != NULL && (rc = accumulate(row, p, s, overdue)) != 0)
    goto out;

  for (size_t i = 0; i < s->contacts_count; i++) {
    const struct dk_contact *c = &s->contacts[i];
    if (!in_period(p, c->at_ms) || c->person == NULL || c->person[0] == 0)
      continue;
    struct dk_report_person *who;
    rc = person_get(r, s->office, c->person, &who);
    if (rc != 0)
      goto out;
    who->contacts++;
    who->minutes += c->minutes;
  }
  r->cases_count++;
out:
  if (rc != 0)
    r->error = rc;
  return rc;
}

/* ---- finish ------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int cmp_row(const void *a, const void *b) {
  return strcmp(((const struct dk_report_row *)a)->key, ((const struct dk_report_row *)b)->key);
}

static int cmp_person(const void *a, const void *b) {
  const struct dk_report_person *x = a, *y = b;
  int c = strcmp(x->office, y->office);
  return c != 0 ? c : strcmp(x->name, y->name);
}

static double ratio(uint64_t num, uint64_t den) {
  return den == 0 ? NAN : (double)num / (double)den;
}

static void row_finish(struct dk_report_row *row) {
  struct dk_report_figures *f = &row->figures;
  f->success_rate = ratio(f->agreed, f->mediated);
  f->major_revisit_rate = ratio(f->major_revisited, f->major_closed);
  f->mean_satisfaction = ratio(row->satisfaction_sum, f->satisfaction_count);
  size_t n = f->closed_count;
  if (n == 0) {
    f->median_days_to_close = NAN;
  } else {
    qsort(row->close_ms, n, sizeof(uint64_t), cmp_u64);
    double mid = n % 2 ? (double)row->close_ms[n / 2]
                       : ((double)row->close_ms[n / 2 - 1] + (double)row->close_ms[n / 2]) / 2.0;
    f->median_days_to_close = mid / MS_PER_DAY;
  }
  free(row->close_ms);
  row->close_ms = NULL;
  row->close_cap = 0;
}

int dk_report_finish(struct dk_report *r) {
  assert(r != NULL);
  assert(!r->finished);
  if (r->error != 0)
    return r->error;
  row_finish(&r->total);
  for (size_t i = 0; i < r->rows_count; i++)
    row_finish(&r->rows[i]);
  if (r->rows_count > 1)
    qsort(r->rows, r->rows_count, sizeof(*r->rows), cmp_row);
  if (r->people_count > 1)
    qsort(r->people, r->people_count, sizeof(*r->people), cmp_person);
  /* The indexes point into the unsorted order: drop them. */
  free(r->row_slots);
  free(r->person_slots);
  r->row_slots = r->person_slots = NULL;
  r->row_slots_count = r->person_slots_count = 0;
  r->finished = 1;
  return 0;
}

void dk_report_release(struct dk_report *r) {
  assert(r != NULL);
  free(r->total.key);
  free(r->total.close_ms);
  for (size_t i = 0; i < r->rows_count; i++) {
    free(r->rows[i].key);
    free(r->rows[i].close_ms);
  }
  free(r->rows);
  for (size_t i = 0; i < r->people_count; i++)
    free(r->people[i].key);
  free(r->people);
  free(r->row_slots);
  free(r->person_slots);
  memset(r, 0, sizeof(*r));
}
