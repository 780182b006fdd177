#include "node/case.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"
#include "common/mp.h"
#include "common/utf8.h"
#include "crypto/crypto.h"

_Static_assert(DK_CASE_ID_BYTES == DK_HASH_BYTES, "a case id is an entry id");

#define MS_PER_DAY (24ull * 60 * 60 * 1000)

/* ---- name tables ------------------------------------------------------- */

static const char *const event_type_names[DK_EVENT_TYPE_COUNT] = {
    "open", "triage", "assign", "session", "escalate", "resolve",
    "fail", "close",  "reopen", "revisit", "note",
};
static const char *const kind_names[DK_KIND_COUNT] = {
    "dispute", "hazard", "task", "service", "consultation", "legal_aid", "advice", "meeting",
};
static const char *const triage_names[DK_TRIAGE_CLASSES] = {"clinic", "emergency", "joint"};
static const char *const role_names[DK_ROLE_COUNT] = {
    "legal-advisor", "chief-advisor", "mediator", "grid-worker",
};
static const char *const level_names[DK_LEVEL_COUNT] = {"", "street", "district"};
static const char *const referral_names[DK_REFERRAL_COUNT] = {
    "", "legal-aid", "litigation", "arbitration",
};
static const char *const status_names[DK_STATUS_COUNT] = {
    "open", "triaged", "mediating", "resolved", "failed", "closed",
};
static const char *const outcome_names[DK_OUTCOME_COUNT] = {"", "agreed", "failed"};

/* Category tables: every list ends with "other" and NULL. */
static const char *const cat_dispute[] = {"neighbour", "family", "tenancy", "property", "labour",
                                          "traffic",   "loan",   "damages", "other",    NULL};
static const char *const cat_hazard[] = {"fire", "building", "traffic", "electrical", "other", NULL};
static const char *const cat_task[] = {"publicity", "inspection", "survey", "stability", "other", NULL};
static const char *const cat_service[] = {"elderly",  "disability", "housing",
                                          "employment", "welfare",  "other", NULL};
static const char *const cat_consultation[] = {"family",  "labour",      "property", "contract",
                                               "tenancy", "inheritance", "other",    NULL};
static const char *const cat_legal_aid[] = {"family", "labour",   "injury",
                                            "loan",   "criminal", "other", NULL};
static const char *const cat_advice[] = {"contract", "regulation", "governance", "other", NULL};
static const char *const cat_meeting[] = {"property", "environment", "parking",
                                          "facilities", "other", NULL};

static const struct {
  const char *const *names;
  size_t count;
  const char *joined;
} categories[DK_KIND_COUNT] = {
    {cat_dispute, 9, "neighbour, family, tenancy, property, labour, traffic, loan, damages, other"},
    {cat_hazard, 5, "fire, building, traffic, electrical, other"},
    {cat_task, 5, "publicity, inspection, survey, stability, other"},
    {cat_service, 6, "elderly, disability, housing, employment, welfare, other"},
    {cat_consultation, 7, "family, labour, property, contract, tenancy, inheritance, other"},
    {cat_legal_aid, 6, "family, labour, injury, loan, criminal, other"},
    {cat_advice, 4, "contract, regulation, governance, other"},
    {cat_meeting, 5, "property, environment, parking, facilities, other"},
};

static int table_parse(const char *const *names, int count, const char *name, int *out) {
  if (name == NULL || name[0] == 0)
    return DK_EINVAL;
  for (int i = 0; i < count; i++) {
    if (names[i][0] != 0 && strcmp(names[i], name) == 0) {
      *out = i;
      return 0;
    }
  }
  return DK_EINVAL;
}

static const char *table_name(const char *const *names, int count, int v) {
  if (v < 0 || v >= count)
    return "?";
  return names[v];
}

#define DEFINE_NAMES(fn, enumtype, table, count)                                                   \
  int dk_##fn##_parse(const char *name, enum enumtype *out) {                                     \
    int v = 0;                                                                                     \
    int rc = table_parse(table, (int)(count), name, &v);                                           \
    if (rc == 0)                                                                                   \
      *out = (enum enumtype)v;                                                                     \
    return rc;                                                                                     \
  }                                                                                                \
  const char *dk_##fn##_name(enum enumtype v) { return table_name(table, (int)(count), (int)v); }

DEFINE_NAMES(event_type, dk_event_type, event_type_names, DK_EVENT_TYPE_COUNT)
DEFINE_NAMES(kind, dk_kind, kind_names, DK_KIND_COUNT)
DEFINE_NAMES(role, dk_role, role_names, DK_ROLE_COUNT)
DEFINE_NAMES(level, dk_level, level_names, DK_LEVEL_COUNT)
DEFINE_NAMES(status, dk_status, status_names, DK_STATUS_COUNT)

int dk_triage_parse(const char *name, enum dk_triage *out) {
  int v = 0;
  int rc = table_parse(triage_names, DK_TRIAGE_CLASSES, name, &v);
  if (rc == 0)
    *out = (enum dk_triage)v;
  return rc;
}

const char *dk_triage_name(enum dk_triage triage) {
  if (triage == DK_TRIAGE_NONE)
    return "";
  return table_name(triage_names, DK_TRIAGE_CLASSES, (int)triage);
}

int dk_referral_parse(const char *name, enum dk_referral *out) {
  if (name != NULL && name[0] == 0) {
    *out = DK_REFERRAL_NONE;
    return 0;
  }
  int v = 0;
  int rc = table_parse(referral_names, DK_REFERRAL_COUNT, name, &v);
  if (rc == 0)
    *out = (enum dk_referral)v;
  return rc;
}

const char *dk_referral_name(enum dk_referral referral) {
  return table_name(referral_names, DK_REFERRAL_COUNT, (int)referral);
}

const char *dk_outcome_name(enum dk_outcome outcome) {
  return table_name(outcome_names, DK_OUTCOME_COUNT, (int)outcome);
}

int dk_category_valid(enum dk_kind kind, const char *category) {
  if ((int)kind < 0 || kind >= DK_KIND_COUNT || category == NULL)
    return DK_EINVAL;
  if (category[0] == 0)
    return 0;
  for (const char *const *p = categories[kind].names; *p != NULL; p++)
    if (strcmp(*p, category) == 0)
      return 0;
  return DK_EINVAL;
}

const char *const *dk_category_list(enum dk_kind kind, size_t *count) {
  if ((int)kind < 0 || kind >= DK_KIND_COUNT) {
    if (count != NULL)
      *count = 0;
    return NULL;
  }
  if (count != NULL)
    *count = categories[kind].count;
  return categories[kind].names;
}

const char *dk_category_names(enum dk_kind kind) {
  if ((int)kind < 0 || kind >= DK_KIND_COUNT)
    return "";
  return categories[kind].joined;
}

/* ---- small helpers ----------------------------------------------------- */

/* Lists grow by one element at a time; their capacity is implied by their
 * count: max(4, next power of two >= count). Shrinking never reallocates, so
 * the real capacity is at least the implied one. */
static size_t implied_cap(size_t count) {
  size_t cap = 4;
  while (cap < count)
    cap *= 2;
  return cap;
}

/* Makes room for element number count (0-based) of a list of elem bytes. */
static int list_grow(void *pp, size_t count, size_t elem) {
  void **p = (void **)pp;
  size_t cap;
  if (count == 0 || *p == NULL)
    cap = implied_cap(count + 1);
  else if (count >= 4 && (count & (count - 1)) == 0)
    cap = count * 2;
  else
    return 0;
  void *n = realloc(*p, cap * elem);
  if (n == NULL)
    return DK_ENOMEM;
  *p = n;
  return 0;
}

static char *dup_str(const char *s) {
  if (s == NULL)
    s = "";
  size_t n = strlen(s);
  char *d = malloc(n + 1);
  if (d != NULL)
    memcpy(d, s, n + 1);
  return d;
}

static const char *str_or_empty(const char *s) { return s != NULL ? s : ""; }

static void free_strv(char **v, size_t n) {
  if (v == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* 0 when s (NULL is "") is at most max bytes, else DK_ELIMIT. */
static int check_len(const char *s, size_t max) {
  if (s == NULL)
    return 0;
  return strnlen(s, max + 1) > max ? DK_ELIMIT : 0;
}

static int id_cmp(const uint8_t *a, const uint8_t *b) { return memcmp(a, b, DK_CASE_ID_BYTES); }

/* Binary search in an ascending id array; returns the index where id is or
 * would be inserted, and sets *found. */
static size_t id_search(const uint8_t (*ids)[DK_CASE_ID_BYTES], size_t n, const uint8_t *id,
                        int *found) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = id_cmp(ids[mid], id);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = 0;
  return lo;
}

/* ---- event layout ------------------------------------------------------ */

enum field {
  F_END,
  F_KIND,
  F_CATEGORY,
  F_NUMBER,
  F_OFFICE,
  F_TEXT,
  F_PARTIES,
  F_CLASS,
  F_TO,
  F_ROLE,
  F_MINUTES,
  F_LEVEL,
  F_ITEMS,
  F_REFER,
  F_SATISFACTION,
};

static const char *const field_keys[] = {
    "",     "kind", "category", "number", "office", "text",  "parties",
    "class", "to",  "role",     "minutes", "level", "items", "refer", "satisfaction",
};

#define FIELDS_MAX 6
#define COMMON_KEYS 4

/* The keys after t, at, deps, by for each type, in canonical order. */
static const enum field type_fields[DK_EVENT_TYPE_COUNT][FIELDS_MAX + 1] = {
    [DK_EVENT_OPEN] = {F_KIND, F_CATEGORY, F_NUMBER, F_OFFICE, F_TEXT, F_PARTIES, F_END},
    [DK_EVENT_TRIAGE] = {F_CLASS, F_END},
    [DK_EVENT_ASSIGN] = {F_TO, F_ROLE, F_END},
    [DK_EVENT_SESSION] = {F_MINUTES, F_TEXT, F_END},
    [DK_EVENT_ESCALATE] = {F_LEVEL, F_TEXT, F_END},
    [DK_EVENT_RESOLVE] = {F_TEXT, F_ITEMS, F_END},
    [DK_EVENT_FAIL] = {F_TEXT, F_REFER, F_END},
    [DK_EVENT_CLOSE] = {F_END},
    [DK_EVENT_REOPEN] = {F_TEXT, F_END},
    [DK_EVENT_REVISIT] = {F_SATISFACTION, F_TEXT, F_END},
    [DK_EVENT_NOTE] = {F_TEXT, F_END},
};

static size_t type_fields_count(enum dk_event_type type) {
  size_t n = 0;
  while (type_fields[type][n] != F_END)
    n++;
  return n;
}

void dk_event_init(struct dk_event *ev) {
  memset(ev, 0, sizeof(*ev));
  ev->type = DK_EVENT_NOTE;
  ev->kind = DK_KIND_DISPUTE;
  ev->triage = DK_TRIAGE_NONE;
  ev->role = DK_ROLE_MEDIATOR;
  ev->level = DK_LEVEL_NONE;
  ev->refer = DK_REFERRAL_NONE;
}

void dk_event_release(struct dk_event *ev) {
  free(ev->deps);
  free(ev->by);
  free(ev->category);
  free(ev->number);
  free(ev->office);
  free(ev->text);
  free_strv(ev->parties, ev->parties_count);
  free(ev->to);
  dk_event_init(ev);
}

static int validate_field(const struct dk_event *ev, enum field f) {
  switch (f) {
  case F_KIND:
    return ((int)ev->kind < 0 || ev->kind >= DK_KIND_COUNT) ? DK_EINVAL : 0;
  case F_CATEGORY:
    if (check_len(ev->category, DK_NAME_BYTES_MAX) != 0)
      return DK_ELIMIT;
    return dk_category_valid(ev->kind, str_or_empty(ev->category));
  case F_NUMBER:
    return check_len(ev->number, DK_NAME_BYTES_MAX);
  case F_OFFICE:
    return check_len(ev->office, DK_NAME_BYTES_MAX);
  case F_TEXT:
    return check_len(ev->text, DK_TEXT_BYTES_MAX);
  case F_PARTIES:
    if (ev->parties_count > DK_PARTIES_MAX)
      return DK_ELIMIT;
    if (ev->parties_count > 0 && ev->parties == NULL)
      return DK_EINVAL;
    for (size_t i = 0; i < ev->parties_count; i++) {
      if (ev->parties[i] == NULL || ev->parties[i][0] == 0)
        return DK_EINVAL;
      if (check_len(ev->parties[i], DK_NAME_BYTES_MAX) != 0)
        return DK_ELIMIT;
    }
    return 0;
  case F_CLASS:
    return ((int)ev->triage < 0 || ev->triage >= DK_TRIAGE_CLASSES) ? DK_EINVAL : 0;
  case F_TO:
    if (ev->to == NULL || ev->to[0] == 0)
      return DK_EINVAL;
    return check_len(ev->to, DK_NAME_BYTES_MAX);
  case F_ROLE:
    return ((int)ev->role < 0 || ev->role >= DK_ROLE_COUNT) ? DK_EINVAL : 0;
  case F_MINUTES:
    return ev->minutes > DK_SESSION_MINUTES_MAX ? DK_ELIMIT : 0;
  case F_LEVEL:
    return (ev->level == DK_LEVEL_STREET || ev->level == DK_LEVEL_DISTRICT) ? 0 : DK_EINVAL;
  case F_ITEMS:
    return ev->items > DK_MEETING_ITEMS_MAX ? DK_ELIMIT : 0;
  case F_REFER:
    return ((int)ev->refer < 0 || ev->refer >= DK_REFERRAL_COUNT) ? DK_EINVAL : 0;
  case F_SATISFACTION:
    return (ev->satisfaction >= 1 && ev->satisfaction <= 5) ? 0 : DK_EINVAL;
  case F_END:
    break;
  }
  return DK_EINVAL;
}

int dk_event_validate(const struct dk_event *ev) {
  assert(ev != NULL);
  if ((int)ev->type < 0 || ev->type >= DK_EVENT_TYPE_COUNT)
    return DK_EINVAL;
  if (ev->at_ms == 0)
    return DK_EINVAL;
  if (ev->deps_count > DK_DEPS_MAX)
    return DK_ELIMIT;
  if (ev->deps_count > 0 && (ev->deps == NULL || ev->type == DK_EVENT_OPEN))
    return DK_EINVAL;
  for (size_t i = 1; i < ev->deps_count; i++)
    if (id_cmp(ev->deps[i - 1], ev->deps[i]) >= 0)
      return DK_EINVAL;
  if (check_len(ev->by, DK_NAME_BYTES_MAX) != 0)
    return DK_ELIMIT;
  for (const enum field *f = type_fields[ev->type]; *f != F_END; f++) {
    int rc = validate_field(ev, *f);
    if (rc != 0)
      return rc;
  }
  return 0;
}

int dk_event_check_new(const struct dk_event *ev) {
  assert(ev != NULL);
  int rc = dk_text_check(ev->by, DK_TEXT_LINE);
  for (const enum field *f = type_fields[ev->type]; *f != F_END && rc == 0; f++) {
    switch (*f) {
    case F_CATEGORY:
      rc = dk_text_check(ev->category, DK_TEXT_LINE);
      break;
    case F_NUMBER:
      rc = dk_text_check(ev->number, DK_TEXT_LINE);
      /* the numbers table and every reader hold a number in this */
      if (rc == 0 && ev->number != NULL && strlen(ev->number) >= DK_CASE_NUMBER_BYTES)
        rc = DK_ELIMIT;
      break;
    case F_OFFICE:
      rc = dk_text_check(ev->office, DK_TEXT_LINE);
      break;
    case F_TEXT:
      rc = dk_text_check(ev->text, DK_TEXT_MULTILINE);
      break;
    case F_TO:
      rc = dk_text_check(ev->to, DK_TEXT_LINE);
      break;
    case F_PARTIES:
      for (size_t i = 0; i < ev->parties_count && rc == 0; i++)
        rc = dk_text_check(ev->parties[i], DK_TEXT_LINE);
      break;
    default:
      break;
    }
  }
  return rc;
}

/* ---- encoding ---------------------------------------------------------- */

static int pack_u64(msgpack_packer *pk, uint64_t v) {
  return msgpack_pack_uint64(pk, v) == 0 ? 0 : DK_ENOMEM;
}

static int pack_field(msgpack_packer *pk, const struct dk_event *ev, enum field f) {
  int rc = dk_mp_pack_str(pk, field_keys[f]);
  if (rc != 0)
    return rc;
  switch (f) {
  case F_KIND:
    return dk_mp_pack_str(pk, dk_kind_name(ev->kind));
  case F_CATEGORY:
    return dk_mp_pack_str(pk, str_or_empty(ev->category));
  case F_NUMBER:
    return dk_mp_pack_str(pk, str_or_empty(ev->number));
  case F_OFFICE:
    return dk_mp_pack_str(pk, str_or_empty(ev->office));
  case F_TEXT:
    return dk_mp_pack_str(pk, str_or_empty(ev->text));
  case F_PARTIES:
    if (msgpack_pack_array(pk, ev->parties_count) != 0)
      return DK_ENOMEM;
    for (size_t i = 0; i < ev->parties_count; i++) {
      rc = dk_mp_pack_str(pk, ev->parties[i]);
      if (rc != 0)
        return rc;
    }
    return 0;
  case F_CLASS:
    return dk_mp_pack_str(pk, dk_triage_name(ev->triage));
  case F_TO:
    return dk_mp_pack_str(pk, str_or_empty(ev->to));
  case F_ROLE:
    return dk_mp_pack_str(pk, dk_role_name(ev->role));
  case F_MINUTES:
    return pack_u64(pk, ev->minutes);
  case F_LEVEL:
    return dk_mp_pack_str(pk, dk_level_name(ev->level));
  case F_ITEMS:
    return pack_u64(pk, ev->items);
  case F_REFER:
    return dk_mp_pack_str(pk, dk_referral_name(ev->refer));
  case F_SATISFACTION:
    return pack_u64(pk, ev->satisfaction);
  case F_END:
    break;
  }
  assert(0 && "unknown field");
  return DK_EINVAL;
}

int dk_event_encode(const struct dk_event *ev, struct dk_buf *out) {
  assert(ev != NULL);
  assert(out != NULL);
  size_t len0 = out->len;
  int rc = dk_event_validate(ev);
  if (rc != 0)
    goto out;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, dk_buf_msgpack_write);
  rc = DK_ENOMEM;
  if (msgpack_pack_map(&pk, COMMON_KEYS + type_fields_count(ev->type)) != 0)
    goto out;
  if ((rc = dk_mp_pack_str(&pk, "t")) != 0 ||
      (rc = dk_mp_pack_str(&pk, dk_event_type_name(ev->type))) != 0)
    goto out;
  if ((rc = dk_mp_pack_str(&pk, "at")) != 0 || (rc = pack_u64(&pk, ev->at_ms)) != 0)
    goto out;
  if ((rc = dk_mp_pack_str(&pk, "deps")) != 0)
    goto out;
  rc = DK_ENOMEM;
  if (msgpack_pack_array(&pk, ev->deps_count) != 0)
    goto out;
  for (size_t i = 0; i < ev->deps_count; i++)
    if ((rc = dk_mp_pack_bin(&pk, ev->deps[i], DK_CASE_ID_BYTES)) != 0)
      goto out;
  if ((rc = dk_mp_pack_str(&pk, "by")) != 0 ||
      (rc = dk_mp_pack_str(&pk, str_or_empty(ev->by))) != 0)
    goto out;
  for (const enum field *f = type_fields[ev->type]; *f != F_END; f++)
    if ((rc = pack_field(&pk, ev, *f)) != 0)
      goto out;
  rc = 0;
out:
  if (rc != 0)
    out->len = len0;
  return rc;
}

/* ---- decoding ---------------------------------------------------------- */

static int key_is(const msgpack_object *k, const char *key) {
  size_t n = strlen(key);
  return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
         memcmp(k->via.str.ptr, key, n) == 0;
}

/* Copies a msgpack str of at most max bytes, without NULs, to a new heap
 * string. */
static int get_str_dup(const msgpack_object *o, size_t max, char **out) {
  const char *p;
  size_t n;
  int rc = dk_mp_get_str_view(o, &p, &n);
  if (rc != 0)
    return rc;
  if (n > max)
    return DK_ELIMIT;
  if (n > 0 && memchr(p, 0, n) != NULL)
    return DK_EFORMAT;
  char *d = malloc(n + 1);
  if (d == NULL)
    return DK_ENOMEM;
  if (n > 0)
    memcpy(d, p, n);
  d[n] = 0;
  *out = d;
  return 0;
}

/* Parses a str holding an enum name with the given parser. */
#define GET_ENUM(o, parser, dst)                                                                   \
  do {                                                                                             \
    char tmp_[32];                                                                                 \
    int r_ = dk_mp_get_str((o), tmp_, sizeof(tmp_));                                               \
    if (r_ == DK_ELIMIT)                                                                           \
      r_ = DK_EFORMAT;                                                                             \
    if (r_ == 0 && parser(tmp_, (dst)) != 0)                                                       \
      r_ = DK_EFORMAT;                                                                             \
    if (r_ != 0)                                                                                   \
      return r_;                                                                                   \
  } while (0)

static int decode_field(const msgpack_object *v, struct dk_event *ev, enum field f) {
  int rc = 0;
  uint64_t u = 0;
  switch (f) {
  case F_KIND:
    GET_ENUM(v, dk_kind_parse, &ev->kind);
    return 0;
  case F_CATEGORY:
    return get_str_dup(v, DK_NAME_BYTES_MAX, &ev->category);
  case F_NUMBER:
    return get_str_dup(v, DK_NAME_BYTES_MAX, &ev->number);
  case F_OFFICE:
    return get_str_dup(v, DK_NAME_BYTES_MAX, &ev->office);
  case F_TEXT:
    return get_str_dup(v, DK_TEXT_BYTES_MAX, &ev->text);
  case F_PARTIES:
    if (v->type != MSGPACK_OBJECT_ARRAY)
      return DK_EFORMAT;
    if (v->via.array.size > DK_PARTIES_MAX)
      return DK_ELIMIT;
    if (v->via.array.size == 0)
      return 0;
    ev->parties = calloc(v->via.array.size, sizeof(char *));
    if (ev->parties == NULL)
      return DK_ENOMEM;
    for (uint32_t i = 0; i < v->via.array.size; i++) {
      rc = get_str_dup(&v->via.array.ptr[i], DK_NAME_BYTES_MAX, &ev->parties[i]);
      if (rc != 0)
        return rc;
      ev->parties_count = i + 1;
    }
    return 0;
  case F_CLASS:
    GET_ENUM(v, dk_triage_parse, &ev->triage);
    return 0;
  case F_TO:
    return get_str_dup(v, DK_NAME_BYTES_MAX, &ev->to);
  case F_ROLE:
    GET_ENUM(v, dk_role_parse, &ev->role);
    return 0;
  case F_MINUTES:
    if ((rc = dk_mp_get_u64(v, &ev->minutes)) != 0)
      return rc;
    return ev->minutes > DK_SESSION_MINUTES_MAX ? DK_ELIMIT : 0;
  case F_LEVEL:
    GET_ENUM(v, dk_level_parse, &ev->level);
    return 0;
  case F_ITEMS:
    if ((rc = dk_mp_get_u64(v, &ev->items)) != 0)
      return rc;
    return ev->items > DK_MEETING_ITEMS_MAX ? DK_ELIMIT : 0;
  case F_REFER:
    GET_ENUM(v, dk_referral_parse, &ev->refer);
    return 0;
  case F_SATISFACTION:
    if ((rc = dk_mp_get_u64(v, &u)) != 0)
      return rc;
    if (u < 1 || u > 5)
      return DK_EFORMAT;
    ev->satisfaction = (uint32_t)u;
    return 0;
  case F_END:
    break;
  }
  return DK_EFORMAT;
}

static int decode_map(const msgpack_object *root, struct dk_event *ev) {
  if (root->type != MSGPACK_OBJECT_MAP || root->via.map.size < COMMON_KEYS)
    return DK_EFORMAT;
  const msgpack_object_kv *kv = root->via.map.ptr;
  if (!key_is(&kv[0].key, "t"))
    return DK_EFORMAT;
  GET_ENUM(&kv[0].val, dk_event_type_parse, &ev->type);
  if (root->via.map.size != COMMON_KEYS + type_fields_count(ev->type))
    return DK_EFORMAT;

  if (!key_is(&kv[1].key, "at") || dk_mp_get_u64(&kv[1].val, &ev->at_ms) != 0)
    return DK_EFORMAT;

  if (!key_is(&kv[2].key, "deps") || kv[2].val.type != MSGPACK_OBJECT_ARRAY)
    return DK_EFORMAT;
  const msgpack_object_array *deps = &kv[2].val.via.array;
  if (deps->size > DK_DEPS_MAX)
    return DK_ELIMIT;
  if (deps->size > 0) {
    ev->deps = malloc(deps->size * sizeof(*ev->deps));
    if (ev->deps == NULL)
      return DK_ENOMEM;
    for (uint32_t i = 0; i < deps->size; i++)
      if (dk_mp_get_bin_fixed(&deps->ptr[i], ev->deps[i], DK_CASE_ID_BYTES) != 0)
        return DK_EFORMAT;
    ev->deps_count = deps->size;
  }

  if (!key_is(&kv[3].key, "by"))
    return DK_EFORMAT;
  int rc = get_str_dup(&kv[3].val, DK_NAME_BYTES_MAX, &ev->by);
  if (rc != 0)
    return rc;

  size_t i = COMMON_KEYS;
  for (const enum field *f = type_fields[ev->type]; *f != F_END; f++, i++) {
    if (!key_is(&kv[i].key, field_keys[*f]))
      return DK_EFORMAT;
    rc = decode_field(&kv[i].val, ev, *f);
    if (rc != 0)
      return rc;
  }
  return 0;
}

int dk_event_decode(const uint8_t *data, size_t len, struct dk_event *ev) {
  assert(ev != NULL);
  assert(data != NULL || len == 0);
  msgpack_unpacked u;
  int have_u = 0;
  struct dk_buf again;
  dk_buf_init(&again);
  dk_event_release(ev);

  int rc = DK_ELIMIT;
  if (len > DK_EVENT_BYTES_MAX)
    goto out;
  rc = dk_mp_parse(data, len, &u);
  if (rc != 0)
    goto out;
  have_u = 1;
  rc = decode_map(&u.data, ev);
  if (rc != 0)
    goto out;
  rc = dk_event_validate(ev);
  if (rc == DK_EINVAL)
    rc = DK_EFORMAT;
  if (rc != 0)
    goto out;
  /* Canonical form: the bytes must be exactly what the encoder writes (the
   * shortest integer and length headers, nothing else). */
  rc = dk_event_encode(ev, &again);
  if (rc != 0)
    goto out;
  if (again.len != len || memcmp(again.data, data, len) != 0)
    rc = DK_EFORMAT;
out:
  if (have_u)
    msgpack_unpacked_destroy(&u);
  dk_buf_release(&again);
  if (rc != 0)
    dk_event_release(ev);
  return rc;
}

/* ---- case state -------------------------------------------------------- */

struct dk_case_config dk_case_config_default(void) {
  struct dk_case_config c;
  c.deadline_ms[DK_TRIAGE_CLINIC] = 15 * MS_PER_DAY;
  c.deadline_ms[DK_TRIAGE_EMERGENCY] = 3 * MS_PER_DAY;
  c.deadline_ms[DK_TRIAGE_JOINT] = 30 * MS_PER_DAY;
  return c;
}

void dk_case_state_init(struct dk_case_state *s) {
  memset(s, 0, sizeof(*s));
  s->kind = DK_KIND_DISPUTE;
  s->status = DK_STATUS_OPEN;
  s->triage = DK_TRIAGE_NONE;
  s->level = DK_LEVEL_NONE;
  s->outcome = DK_OUTCOME_NONE;
  s->referral = DK_REFERRAL_NONE;
}

void dk_case_state_release(struct dk_case_state *s) {
  free(s->number);
  free(s->category);
  free(s->office);
  free(s->summary);
  free_strv(s->parties, s->parties_count);
  free(s->outcome_text);
  for (int r = 0; r < DK_ROLE_COUNT; r++)
    free(s->assignees[r].name);
  free(s->revisits);
  for (size_t i = 0; i < s->contacts_count; i++)
    free(s->contacts[i].person);
  free(s->contacts);
  for (size_t i = 0; i < s->conflicts_count; i++)
    free(s->conflicts[i].text);
  free(s->conflicts);
  free(s->frontier);
  free(s->erased_by);
  free(s->erase_reason);
  dk_case_state_init(s);
}

static int status_active(enum dk_status st) {
  return st == DK_STATUS_OPEN || st == DK_STATUS_TRIAGED || st == DK_STATUS_MEDIATING;
}

static int status_ended(enum dk_status st) {
  return st == DK_STATUS_RESOLVED || st == DK_STATUS_FAILED || st == DK_STATUS_CLOSED;
}

int dk_case_check(const struct dk_case_state *s, const struct dk_event *ev) {
  assert(s != NULL);
  assert(ev != NULL);
  if (ev->type == DK_EVENT_OPEN)
    return s->opened ? DK_ETRANSITION : 0;
  if (!s->opened)
    return DK_ETRANSITION;
  int ok = 0;
  switch (ev->type) {
  case DK_EVENT_TRIAGE:
  case DK_EVENT_SESSION:
  case DK_EVENT_RESOLVE:
  case DK_EVENT_FAIL:
    ok = status_active(s->status);
    break;
  case DK_EVENT_ASSIGN:
  case DK_EVENT_ESCALATE:
    ok = s->status != DK_STATUS_CLOSED;
    break;
  case DK_EVENT_CLOSE:
    ok = s->status == DK_STATUS_RESOLVED || s->status == DK_STATUS_FAILED ||
         (s->kind != DK_KIND_DISPUTE && status_active(s->status));
    break;
  case DK_EVENT_REOPEN:
    ok = s->status == DK_STATUS_CLOSED;
    break;
  case DK_EVENT_REVISIT:
    ok = status_ended(s->status);
    break;
  case DK_EVENT_NOTE:
    ok = 1;
    break;
  default:
    assert(0 && "event type out of range");
  }
  return ok ? 0 : DK_ETRANSITION;
}

static int replace_str(char **dst, const char *src) {
  char *d = dup_str(src);
  if (d == NULL)
    return DK_ENOMEM;
  free(*dst);
  *dst = d;
  return 0;
}

static uint64_t add_saturating(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

static int apply_open(struct dk_case_state *s, const struct dk_event *ev) {
  int rc = 0;
  char **parties = NULL;
  if (ev->parties_count > 0) {
    parties = calloc(ev->parties_count, sizeof(char *));
    if (parties == NULL)
      return DK_ENOMEM;
    for (size_t i = 0; i < ev->parties_count; i++) {
      parties[i] = dup_str(ev->parties[i]);
      if (parties[i] == NULL) {
        free_strv(parties, i);
        return DK_ENOMEM;
      }
    }
  }
  if ((rc = replace_str(&s->number, ev->number)) != 0 ||
      (rc = replace_str(&s->category, ev->category)) != 0 ||
      (rc = replace_str(&s->office, ev->office)) != 0 ||
      (rc = replace_str(&s->summary, ev->text)) != 0) {
    free_strv(parties, ev->parties_count);
    return rc;
  }
  free_strv(s->parties, s->parties_count);
  s->parties = parties;
  s->parties_count = ev->parties_count;
  memcpy(s->id, ev->id, DK_CASE_ID_BYTES);
  s->kind = ev->kind;
  s->opened = 1;
  s->status = DK_STATUS_OPEN;
  s->opened_at_ms = ev->at_ms;
  return 0;
}

static int apply_step(struct dk_case_state *s, const struct dk_case_config *cfg,
                      const struct dk_event *ev) {
  int rc = 0;
  switch (ev->type) {
  case DK_EVENT_OPEN:
    return apply_open(s, ev);
  case DK_EVENT_TRIAGE:
    assert(ev->triage < DK_TRIAGE_CLASSES);
    if (s->status == DK_STATUS_OPEN)
      s->status = DK_STATUS_TRIAGED;
    s->triage = ev->triage;
    s->triaged_at_ms = ev->at_ms;
    s->deadline_ms = add_saturating(ev->at_ms, cfg->deadline_ms[ev->triage]);
    return 0;
  case DK_EVENT_ASSIGN:
    assert(ev->role < DK_ROLE_COUNT);
    rc = replace_str(&s->assignees[ev->role].name, ev->to);
    if (rc == 0)
      s->assignees[ev->role].at_ms = ev->at_ms;
    return rc;
  case DK_EVENT_SESSION:
    s->status = DK_STATUS_MEDIATING;
    s->sessions_count++;
    s->minutes_total += ev->minutes;
    return 0;
  case DK_EVENT_ESCALATE:
    if (ev->level > s->level)
      s->level = ev->level;
    if (s->escalated_at_ms == 0)
      s->escalated_at_ms = ev->at_ms;
    return 0;
  case DK_EVENT_RESOLVE:
  case DK_EVENT_FAIL:
    rc = replace_str(&s->outcome_text, ev->text);
    if (rc != 0)
      return rc;
    if (ev->type == DK_EVENT_RESOLVE) {
      s->status = DK_STATUS_RESOLVED;
      s->outcome = DK_OUTCOME_AGREED;
      s->items = ev->items;
      s->referral = DK_REFERRAL_NONE;
    } else {
      s->status = DK_STATUS_FAILED;
      s->outcome = DK_OUTCOME_FAILED;
      s->items = 0;
      s->referral = ev->refer;
    }
    s->outcome_at_ms = ev->at_ms;
    return 0;
  case DK_EVENT_CLOSE:
    s->status = DK_STATUS_CLOSED;
    s->closed_at_ms = ev->at_ms;
    return 0;
  case DK_EVENT_REOPEN:
    s->status = DK_STATUS_OPEN;
    s->deadline_ms = 0;
    s->reopen_count++;
    return 0;
  case DK_EVENT_REVISIT:
    if (s->revisits_count >= DK_CASE_LIST_MAX) {
      s->dropped_count++;
      return 0;
    }
    rc = list_grow(&s->revisits, s->revisits_count, sizeof(*s->revisits));
    if (rc != 0)
      return rc;
    s->revisits[s->revisits_count].at_ms = ev->at_ms;
    s->revisits[s->revisits_count].satisfaction = ev->satisfaction;
    s->revisits_count++;
    return 0;
  case DK_EVENT_NOTE:
    return 0;
  default:
    break;
  }
  assert(0 && "event type out of range");
  return DK_EINVAL;
}

static int add_conflict(struct dk_case_state *s, const struct dk_event *ev) {
  if (s->conflicts_count >= DK_CASE_LIST_MAX) {
    s->dropped_count++;
    return 0;
  }
  const char *reason;
  char status_reason[64];
  if (!s->opened) {
    reason = "case not opened";
  } else if (ev->type == DK_EVENT_OPEN) {
    reason = "case already opened";
  } else if (status_ended(s->status)) {
    snprintf(status_reason, sizeof(status_reason), "case already %s", dk_status_name(s->status));
    reason = status_reason;
  } else if (ev->type == DK_EVENT_CLOSE) {
    reason = "dispute not yet resolved or failed";
  } else {
    snprintf(status_reason, sizeof(status_reason), "case is %s", dk_status_name(s->status));
    reason = status_reason;
  }
  char who[DK_NAME_BYTES_MAX + 16];
  if (ev->by != NULL && ev->by[0] != 0) {
    snprintf(who, sizeof(who), "%s", ev->by);
  } else {
    char hex[2 * DK_CASE_ID_BYTES + 1];
    dk_hex(ev->author, DK_CASE_ID_BYTES, hex);
    snprintf(who, sizeof(who), "author %.8s", hex);
  }
  size_t need = strlen(who) + strlen(reason) + 48;
  char *text = malloc(need);
  if (text == NULL)
    return DK_ENOMEM;
  snprintf(text, need, "%s by %s conflicts: %s", dk_event_type_name(ev->type), who, reason);
  int rc = list_grow(&s->conflicts, s->conflicts_count, sizeof(*s->conflicts));
  if (rc != 0) {
    free(text);
    return rc;
  }
  memcpy(s->conflicts[s->conflicts_count].event_id, ev->id, DK_CASE_ID_BYTES);
  s->conflicts[s->conflicts_count].text = text;
  s->conflicts_count++;
  return 0;
}

static int add_contact(struct dk_case_state *s, const struct dk_event *ev) {
  if (s->contacts_count >= DK_CASE_LIST_MAX) {
    s->dropped_count++;
    return 0;
  }
  char *person = dup_str(ev->by);
  if (person == NULL)
    return DK_ENOMEM;
  int rc = list_grow(&s->contacts, s->contacts_count, sizeof(*s->contacts));
  if (rc != 0) {
    free(person);
    return rc;
  }
  struct dk_contact *c = &s->contacts[s->contacts_count++];
  c->at_ms = ev->at_ms;
  c->person = person;
  c->type = ev->type;
  c->minutes = ev->type == DK_EVENT_SESSION ? ev->minutes : 0;
  return 0;
}

static int frontier_update(struct dk_case_state *s, const struct dk_event *ev) {
  int found;
  for (size_t i = 0; i < ev->deps_count; i++) {
    size_t at = id_search((const uint8_t(*)[DK_CASE_ID_BYTES])s->frontier, s->frontier_count,
                          ev->deps[i], &found);
    if (found) {
      memmove(s->frontier[at], s->frontier[at + 1],
              (s->frontier_count - at - 1) * DK_CASE_ID_BYTES);
      s->frontier_count--;
    }
  }
  size_t at = id_search((const uint8_t(*)[DK_CASE_ID_BYTES])s->frontier, s->frontier_count,
                        ev->id, &found);
  if (found)
    return 0;
  int rc = list_grow(&s->frontier, s->frontier_count, DK_CASE_ID_BYTES);
  if (rc != 0)
    return rc;
  memmove(s->frontier[at + 1], s->frontier[at], (s->frontier_count - at) * DK_CASE_ID_BYTES);
  memcpy(s->frontier[at], ev->id, DK_CASE_ID_BYTES);
  s->frontier_count++;
  return 0;
}

int dk_case_apply(struct dk_case_state *s, const struct dk_case_config *cfg,
                  const struct dk_event *ev) {
  assert(s != NULL);
  assert(cfg != NULL);
  assert(ev != NULL);
  assert(ev->type < DK_EVENT_TYPE_COUNT);
  int rc;
  if (dk_case_check(s, ev) == 0)
    rc = apply_step(s, cfg, ev);
  else
    rc = add_conflict(s, ev);
  if (rc != 0)
    goto out;
  if (ev->by != NULL && ev->by[0] != 0) {
    rc = add_contact(s, ev);
    if (rc != 0)
      goto out;
  }
  rc = frontier_update(s, ev);
  if (rc != 0)
    goto out;
  s->events_count++;
  if (ev->at_ms > s->updated_at_ms)
    s->updated_at_ms = ev->at_ms;
out:
  return rc;
}

int dk_case_deps_match_frontier(const struct dk_case_state *s, const struct dk_event *ev) {
  assert(s != NULL);
  assert(ev != NULL);
  if (ev->deps_count != s->frontier_count)
    return 0;
  for (size_t i = 0; i < ev->deps_count; i++) {
    if (i > 0 && id_cmp(ev->deps[i - 1], ev->deps[i]) >= 0)
      return 0; /* not a set in canonical order */
    int found;
    id_search((const uint8_t(*)[DK_CASE_ID_BYTES])s->frontier, s->frontier_count, ev->deps[i],
              &found);
    if (!found)
      return 0;
  }
  return 1;
}

int dk_case_overdue(const struct dk_case_state *s, uint64_t now_ms) {
  assert(s != NULL);
  return s->opened && s->deadline_ms != 0 && now_ms > s->deadline_ms && !status_ended(s->status);
}

/* ---- fold -------------------------------------------------------------- */

struct fold {
  const struct dk_event *events;
  size_t *by_id;   /* unique event indices, ascending by id */
  size_t *rank;    /* rank[node] = position in (at, ts, id) order */
  size_t *by_key;  /* nodes in (at, ts, id) order */
  size_t *indeg;
  size_t *succ_start; /* CSR successors: succ[succ_start[v] .. succ_start[v+1]) */
  size_t *succ;
  unsigned char *done;
  size_t *heap;
  size_t heap_count;
};

/* qsort has no context argument; sort pairs carrying what they compare. */
struct id_item {
  const struct dk_event *ev;
  size_t index;
};

static int cmp_key(const struct dk_event *a, const struct dk_event *b) {
  if (a->at_ms != b->at_ms)
    return a->at_ms < b->at_ms ? -1 : 1;
  if (a->ts_ms != b->ts_ms)
    return a->ts_ms < b->ts_ms ? -1 : 1;
  return id_cmp(a->id, b->id);
}

static int cmp_id_item(const void *pa, const void *pb) {
  const struct id_item *a = pa, *b = pb;
  int c = id_cmp(a->ev->id, b->ev->id);
  if (c != 0)
    return c;
  /* Equal ids should mean equal events; if a log lies, still pick one
   * independently of the input order. */
  if (a->ev->at_ms != b->ev->at_ms)
    return a->ev->at_ms < b->ev->at_ms ? -1 : 1;
  if (a->ev->ts_ms != b->ev->ts_ms)
    return a->ev->ts_ms < b->ev->ts_ms ? -1 : 1;
  if (a->ev->type != b->ev->type)
    return a->ev->type < b->ev->type ? -1 : 1;
  return 0;
}

static int cmp_key_item(const void *pa, const void *pb) {
  const struct id_item *a = pa, *b = pb;
  return cmp_key(a->ev, b->ev);
}

static void heap_push(struct fold *f, size_t node) {
  size_t i = f->heap_count++;
  f->heap[i] = node;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (f->rank[f->heap[p]] <= f->rank[f->heap[i]])
      break;
    size_t t = f->heap[p];
    f->heap[p] = f->heap[i];
    f->heap[i] = t;
    i = p;
  }
}

static size_t heap_pop(struct fold *f) {
  assert(f->heap_count > 0);
  size_t top = f->heap[0];
  f->heap[0] = f->heap[--f->heap_count];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < f->heap_count && f->rank[f->heap[l]] < f->rank[f->heap[m]])
      m = l;
    if (r < f->heap_count && f->rank[f->heap[r]] < f->rank[f->heap[m]])
      m = r;
    if (m == i)
      break;
    size_t t = f->heap[m];
    f->heap[m] = f->heap[i];
    f->heap[i] = t;
    i = m;
  }
  return top;
}

/* Finds the node (index into by_id) of an event id, or SIZE_MAX. */
static size_t node_of(const struct fold *f, size_t m, const uint8_t *id) {
  size_t lo = 0, hi = m;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = id_cmp(f->events[f->by_id[mid]].id, id);
    if (c == 0)
      return mid;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return SIZE_MAX;
}

static void emit_successors(struct fold *f, size_t v, int push) {
  for (size_t k = f->succ_start[v]; k < f->succ_start[v + 1]; k++) {
    size_t w = f->succ[k];
    assert(f->indeg[w] > 0);
    if (--f->indeg[w] == 0 && push && !f->done[w])
      heap_push(f, w);
  }
}

int dk_case_fold(const struct dk_event *events, size_t n, const struct dk_case_config *cfg,
                 struct dk_case_state *out) {
  assert(events != NULL || n == 0);
  assert(cfg != NULL);
  assert(out != NULL);
  struct fold f;
  memset(&f, 0, sizeof(f));
  f.events = events;
  struct id_item *items = NULL;
  size_t m = 0, edges = 0;
  int rc = 0;

  dk_case_state_release(out);
  if (n > DK_CASE_EVENTS_MAX) {
    rc = DK_ELIMIT;
    goto out;
  }
  if (n == 0)
    goto out;

  rc = DK_ENOMEM;
  items = malloc(n * sizeof(*items));
  f.by_id = malloc(n * sizeof(size_t));
  f.rank = malloc(n * sizeof(size_t));
  f.by_key = malloc(n * sizeof(size_t));
  f.indeg = calloc(n, sizeof(size_t));
  f.succ_start = calloc(n + 1, sizeof(size_t));
  f.done = calloc(n, 1);
  f.heap = malloc(n * sizeof(size_t));
  if (!items || !f.by_id || !f.rank || !f.by_key || !f.indeg || !f.succ_start || !f.done || !f.heap)
    goto out;

  /* Unique events by id. */
  for (size_t i = 0; i < n; i++) {
    items[i].ev = &events[i];
    items[i].index = i;
  }
  qsort(items, n, sizeof(*items), cmp_id_item);
  for (size_t i = 0; i < n; i++)
    if (m == 0 || id_cmp(events[f.by_id[m - 1]].id, items[i].ev->id) != 0)
      f.by_id[m++] = items[i].index;

  /* Ranks in (at, ts, id) order; from here on nodes are 0..m-1. */
  for (size_t v = 0; v < m; v++) {
    items[v].ev = &events[f.by_id[v]];
    items[v].index = v;
  }
  qsort(items, m, sizeof(*items), cmp_key_item);
  for (size_t r = 0; r < m; r++) {
    f.by_key[r] = items[r].index;
    f.rank[items[r].index] = r;
  }

  /* Edges dep -> event for the deps that are present. */
  for (size_t v = 0; v < m; v++) {
    const struct dk_event *ev = &events[f.by_id[v]];
    for (size_t d = 0; d < ev->deps_count; d++) {
      size_t u = node_of(&f, m, ev->deps[d]);
      if (u != SIZE_MAX && u != v) {
        f.succ_start[u + 1]++;
        f.indeg[v]++;
        edges++;
      }
    }
  }
  for (size_t v = 0; v < m; v++)
    f.succ_start[v + 1] += f.succ_start[v];
  f.succ = malloc((edges > 0 ? edges : 1) * sizeof(size_t));
  if (f.succ == NULL)
    goto out;
  /* The heap is empty until the walk starts: use it as the fill cursors. */
  for (size_t v = 0; v < m; v++)
    f.heap[v] = f.succ_start[v];
  for (size_t v = 0; v < m; v++) {
    const struct dk_event *ev = &events[f.by_id[v]];
    for (size_t d = 0; d < ev->deps_count; d++) {
      size_t u = node_of(&f, m, ev->deps[d]);
      if (u != SIZE_MAX && u != v)
        f.succ[f.heap[u]++] = v;
    }
  }

  /* The open event first: the earliest, if several. */
  size_t open_node = SIZE_MAX;
  for (size_t r = 0; r < m && open_node == SIZE_MAX; r++)
    if (events[f.by_id[f.by_key[r]]].type == DK_EVENT_OPEN)
      open_node = f.by_key[r];

  size_t folded = 0, cursor = 0;
  if (open_node != SIZE_MAX) {
    rc = dk_case_apply(out, cfg, &events[f.by_id[open_node]]);
    if (rc != 0)
      goto out;
    f.done[open_node] = 1;
    folded++;
    emit_successors(&f, open_node, 0);
  }
  for (size_t v = 0; v < m; v++)
    if (!f.done[v] && f.indeg[v] == 0)
      heap_push(&f, v);

  while (folded < m) {
    if (f.heap_count == 0) {
      /* Only a cycle of deps gets here, which ids (hashes over the deps)
       * make impossible unless a log lies: break it at the earliest event
       * left, deterministically. */
      while (f.done[f.by_key[cursor]])
        cursor++;
      heap_push(&f, f.by_key[cursor]);
    }
    size_t v = heap_pop(&f);
    if (f.done[v])
      continue;
    rc = dk_case_apply(out, cfg, &events[f.by_id[v]]);
    if (rc != 0)
      goto out;
    f.done[v] = 1;
    folded++;
    emit_successors(&f, v, 1);
  }
  rc = 0;
out:
  free(items);
  free(f.by_id);
  free(f.rank);
  free(f.by_key);
  free(f.indeg);
  free(f.succ_start);
  free(f.succ);
  free(f.done);
  free(f.heap);
  if (rc != 0)
    dk_case_state_release(out);
  return rc;
}

/* ---- state encoding ---------------------------------------------------- */

#define STATE_VERSION 1
#define STATE_FIELDS 36
/* States written before erasure existed lack its three trailing fields. */
#define STATE_FIELDS_V1_0 33

static int pack_str_or_nil(msgpack_packer *pk, const char *s) {
  if (s == NULL)
    return msgpack_pack_nil(pk) == 0 ? 0 : DK_ENOMEM;
  return dk_mp_pack_str(pk, s);
}

static int pack_array(msgpack_packer *pk, size_t n) {
  return msgpack_pack_array(pk, n) == 0 ? 0 : DK_ENOMEM;
}

static int state_pack(msgpack_packer *pk, const struct dk_case_state *s) {
  int rc;
#define P(expr)                                                                                    \
  do {                                                                                             \
    if ((rc = (expr)) != 0)                                                                        \
      return rc;                                                                                   \
  } while (0)
  P(pack_array(pk, STATE_FIELDS));
  P(pack_u64(pk, STATE_VERSION));
  P(dk_mp_pack_bin(pk, s->id, DK_CASE_ID_BYTES));
  P(pack_u64(pk, s->opened ? 1 : 0));
  P(pack_str_or_nil(pk, s->number));
  P(pack_u64(pk, (uint64_t)s->kind));
  P(pack_str_or_nil(pk, s->category));
  P(pack_str_or_nil(pk, s->office));
  P(pack_str_or_nil(pk, s->summary));
  P(pack_array(pk, s->parties_count));
  for (size_t i = 0; i < s->parties_count; i++)
    P(dk_mp_pack_str(pk, s->parties[i]));
  P(pack_u64(pk, (uint64_t)s->status));
  P(pack_u64(pk, (uint64_t)s->triage));
  P(pack_u64(pk, s->deadline_ms));
  P(pack_u64(pk, s->opened_at_ms));
  P(pack_u64(pk, s->triaged_at_ms));
  P(pack_u64(pk, s->outcome_at_ms));
  P(pack_u64(pk, s->closed_at_ms));
  P(pack_u64(pk, s->escalated_at_ms));
  P(pack_u64(pk, (uint64_t)s->level));
  P(pack_u64(pk, (uint64_t)s->outcome));
  P(pack_str_or_nil(pk, s->outcome_text));
  P(pack_u64(pk, (uint64_t)s->referral));
  P(pack_u64(pk, s->items));
  P(pack_array(pk, DK_ROLE_COUNT));
  for (int r = 0; r < DK_ROLE_COUNT; r++) {
    P(pack_array(pk, 2));
    P(pack_str_or_nil(pk, s->assignees[r].name));
    P(pack_u64(pk, s->assignees[r].at_ms));
  }
  P(pack_u64(pk, s->sessions_count));
  P(pack_u64(pk, s->minutes_total));
  P(pack_array(pk, s->revisits_count));
  for (size_t i = 0; i < s->revisits_count; i++) {
    P(pack_array(pk, 2));
    P(pack_u64(pk, s->revisits[i].at_ms));
    P(pack_u64(pk, s->revisits[i].satisfaction));
  }
  P(pack_array(pk, s->contacts_count));
  for (size_t i = 0; i < s->contacts_count; i++) {
    P(pack_array(pk, 4));
    P(pack_u64(pk, s->contacts[i].at_ms));
    P(dk_mp_pack_str(pk, s->contacts[i].person));
    P(pack_u64(pk, (uint64_t)s->contacts[i].type));
    P(pack_u64(pk, s->contacts[i].minutes));
  }
  P(pack_array(pk, s->conflicts_count));
  for (size_t i = 0; i < s->conflicts_count; i++) {
    P(pack_array(pk, 2));
    P(dk_mp_pack_bin(pk, s->conflicts[i].event_id, DK_CASE_ID_BYTES));
    P(dk_mp_pack_str(pk, s->conflicts[i].text));
  }
  P(pack_u64(pk, s->dropped_count));
  P(dk_mp_pack_bin(pk, s->frontier != NULL ? s->frontier[0] : (const uint8_t *)"",
                   s->frontier_count * DK_CASE_ID_BYTES));
  P(pack_u64(pk, s->events_count));
  P(pack_u64(pk, s->reopen_count));
  P(pack_u64(pk, s->updated_at_ms));
  P(pack_u64(pk, s->erased_at_ms));
  P(pack_str_or_nil(pk, s->erased_by));
  P(pack_str_or_nil(pk, s->erase_reason));
#undef P
  return 0;
}

int dk_case_state_encode(const struct dk_case_state *s, struct dk_buf *out) {
  assert(s != NULL);
  assert(out != NULL);
  size_t len0 = out->len;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, dk_buf_msgpack_write);
  int rc = state_pack(&pk, s);
  if (rc != 0)
    out->len = len0;
  return rc;
}

/* Reads a uint no greater than max. */
static int get_u64_max(const msgpack_object *o, uint64_t max, uint64_t *out) {
  uint64_t v;
  if (dk_mp_get_u64(o, &v) != 0 || v > max)
    return DK_EFORMAT;
  *out = v;
  return 0;
}

static int get_str_or_nil(const msgpack_object *o, size_t max, char **out) {
  if (o->type == MSGPACK_OBJECT_NIL)
    return 0;
  return get_str_dup(o, max, out);
}

/* An array of exactly n elements (n == SIZE_MAX: any count up to max). */
static int get_array(const msgpack_object *o, size_t n, size_t max,
                     const msgpack_object_array **out) {
  if (o->type != MSGPACK_OBJECT_ARRAY)
    return DK_EFORMAT;
  if (n != SIZE_MAX && o->via.array.size != n)
    return DK_EFORMAT;
  if (o->via.array.size > max)
    return DK_ELIMIT;
  *out = &o->via.array;
  return 0;
}

/* Allocates a list for count elements with the capacity list_grow expects. */
static int list_alloc(void *pp, size_t count, size_t elem) {
  if (count == 0)
    return 0;
  void *p = calloc(implied_cap(count), elem);
  if (p == NULL)
    return DK_ENOMEM;
  *(void **)pp = p;
  return 0;
}

static int state_unpack(const msgpack_object *root, struct dk_case_state *s) {
  int rc;
  uint64_t u;
  const msgpack_object_array *a, *e;
#define R(expr)                                                                                    \
  do {                                                                                             \
    if ((rc = (expr)) != 0)                                                                        \
      return rc;                                                                                   \
  } while (0)

  if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size < 1)
    return DK_EFORMAT;
  const msgpack_object *f = root->via.array.ptr;
  if (dk_mp_get_u64(&f[0], &u) != 0)
    return DK_EFORMAT;
  if (u != STATE_VERSION)
    return DK_EVERSION;
  if (root->via.array.size != STATE_FIELDS && root->via.array.size != STATE_FIELDS_V1_0)
    return DK_EFORMAT;

  R(dk_mp_get_bin_fixed(&f[1], s->id, DK_CASE_ID_BYTES));
  R(get_u64_max(&f[2], 1, &u));
  s->opened = (int)u;
  R(get_str_or_nil(&f[3], DK_NAME_BYTES_MAX, &s->number));
  R(get_u64_max(&f[4], DK_KIND_COUNT - 1, &u));
  s->kind = (enum dk_kind)u;
  R(get_str_or_nil(&f[5], DK_NAME_BYTES_MAX, &s->category));
  R(get_str_or_nil(&f[6], DK_NAME_BYTES_MAX, &s->office));
  R(get_str_or_nil(&f[7], DK_TEXT_BYTES_MAX, &s->summary));
  if (s->opened && (!s->number || !s->category || !s->office || !s->summary))
    return DK_EFORMAT;
  R(get_array(&f[8], SIZE_MAX, DK_PARTIES_MAX, &a));
  if (a->size > 0) {
    s->parties = calloc(a->size, sizeof(char *));
    if (s->parties == NULL)
      return DK_ENOMEM;
    for (uint32_t i = 0; i < a->size; i++) {
      R(get_str_dup(&a->ptr[i], DK_NAME_BYTES_MAX, &s->parties[i]));
      s->parties_count = i + 1;
    }
  }
  R(get_u64_max(&f[9], DK_STATUS_COUNT - 1, &u));
  s->status = (enum dk_status)u;
  R(get_u64_max(&f[10], DK_TRIAGE_NONE, &u));
  s->triage = (enum dk_triage)u;
  R(dk_mp_get_u64(&f[11], &s->deadline_ms));
  R(dk_mp_get_u64(&f[12], &s->opened_at_ms));
  R(dk_mp_get_u64(&f[13], &s->triaged_at_ms));
  R(dk_mp_get_u64(&f[14], &s->outcome_at_ms));
  R(dk_mp_get_u64(&f[15], &s->closed_at_ms));
  R(dk_mp_get_u64(&f[16], &s->escalated_at_ms));
  R(get_u64_max(&f[17], DK_LEVEL_COUNT - 1, &u));
  s->level = (enum dk_level)u;
  R(get_u64_max(&f[18], DK_OUTCOME_COUNT - 1, &u));
  s->outcome = (enum dk_outcome)u;
  R(get_str_or_nil(&f[19], DK_TEXT_BYTES_MAX, &s->outcome_text));
  R(get_u64_max(&f[20], DK_REFERRAL_COUNT - 1, &u));
  s->referral = (enum dk_referral)u;
  R(get_u64_max(&f[21], DK_MEETING_ITEMS_MAX, &s->items));

  R(get_array(&f[22], DK_ROLE_COUNT, DK_ROLE_COUNT, &a));
  for (int r = 0; r < DK_ROLE_COUNT; r++) {
    R(get_array(&a->ptr[r], 2, 2, &e));
    R(get_str_or_nil(&e->ptr[0], DK_NAME_BYTES_MAX, &s->assignees[r].name));
    R(dk_mp_get_u64(&e->ptr[1], &s->assignees[r].at_ms));
  }
  R(get_u64_max(&f[23], DK_CASE_EVENTS_MAX, &s->sessions_count));
  R(get_u64_max(&f[24], (uint64_t)DK_CASE_EVENTS_MAX * DK_SESSION_MINUTES_MAX, &s->minutes_total));

  R(get_array(&f[25], SIZE_MAX, DK_CASE_LIST_MAX, &a));
  R(list_alloc(&s->revisits, a->size, sizeof(*s->revisits)));
  for (uint32_t i = 0; i < a->size; i++) {
    R(get_array(&a->ptr[i], 2, 2, &e));
    R(dk_mp_get_u64(&e->ptr[0], &s->revisits[i].at_ms));
    R(get_u64_max(&e->ptr[1], 5, &u));
    if (u < 1)
      return DK_EFORMAT;
    s->revisits[i].satisfaction = (uint32_t)u;
    s->revisits_count = i + 1;
  }

  R(get_array(&f[26], SIZE_MAX, DK_CASE_LIST_MAX, &a));
  R(list_alloc(&s->contacts, a->size, sizeof(*s->contacts)));
  for (uint32_t i = 0; i < a->size; i++) {
    struct dk_contact *c = &s->contacts[i];
    R(get_array(&a->ptr[i], 4, 4, &e));
    R(dk_mp_get_u64(&e->ptr[0], &c->at_ms));
    R(get_str_dup(&e->ptr[1], DK_NAME_BYTES_MAX, &c->person));
    s->contacts_count = i + 1;
    R(get_u64_max(&e->ptr[2], DK_EVENT_TYPE_COUNT - 1, &u));
    c->type = (enum dk_event_type)u;
    R(get_u64_max(&e->ptr[3], DK_SESSION_MINUTES_MAX, &c->minutes));
  }

  R(get_array(&f[27], SIZE_MAX, DK_CASE_LIST_MAX, &a));
  R(list_alloc(&s->conflicts, a->size, sizeof(*s->conflicts)));
  for (uint32_t i = 0; i < a->size; i++) {
    R(get_array(&a->ptr[i], 2, 2, &e));
    R(dk_mp_get_bin_fixed(&e->ptr[0], s->conflicts[i].event_id, DK_CASE_ID_BYTES));
    R(get_str_dup(&e->ptr[1], DK_TEXT_BYTES_MAX, &s->conflicts[i].text));
    s->conflicts_count = i + 1;
  }
  R(dk_mp_get_u64(&f[28], &s->dropped_count));

  const uint8_t *fp;
  size_t fl;
  R(dk_mp_get_bin_view(&f[29], &fp, &fl));
  if (fl % DK_CASE_ID_BYTES != 0)
    return DK_EFORMAT;
  if (fl / DK_CASE_ID_BYTES > DK_CASE_EVENTS_MAX)
    return DK_ELIMIT;
  size_t fc = fl / DK_CASE_ID_BYTES;
  R(list_alloc(&s->frontier, fc, DK_CASE_ID_BYTES));
  if (fc > 0)
    memcpy(s->frontier, fp, fl);
  s->frontier_count = fc;
  for (size_t i = 1; i < fc; i++)
    if (id_cmp(s->frontier[i - 1], s->frontier[i]) >= 0)
      return DK_EFORMAT; /* lookups rely on a strictly ascending frontier */

  R(get_u64_max(&f[30], DK_CASE_EVENTS_MAX, &s->events_count));
  R(get_u64_max(&f[31], DK_CASE_EVENTS_MAX, &s->reopen_count));
  R(dk_mp_get_u64(&f[32], &s->updated_at_ms));
  if (root->via.array.size == STATE_FIELDS) {
    R(dk_mp_get_u64(&f[33], &s->erased_at_ms));
    R(get_str_or_nil(&f[34], DK_NAME_BYTES_MAX, &s->erased_by));
    R(get_str_or_nil(&f[35], DK_TEXT_BYTES_MAX, &s->erase_reason));
  }
#undef R
  return 0;
}

int dk_case_state_decode(const uint8_t *data, size_t len, struct dk_case_state *s) {
  assert(s != NULL);
  assert(data != NULL || len == 0);
  msgpack_unpacked u;
  dk_case_state_release(s);
  int rc = dk_mp_parse(data, len, &u);
  if (rc != 0)
    goto out;
  rc = state_unpack(&u.data, s);
  msgpack_unpacked_destroy(&u);
out:
  if (rc != 0)
    dk_case_state_release(s);
  return rc;
}

/* ---- report rows ------------------------------------------------------- */

/* Version 1: u8 version, u8 opened, u8 kind, u8 triage, u8 outcome,
 * u8 referral, u8 status, then be64 deadline, opened, outcome, closed,
 * escalated, erased and updated times, be32 items, the id (32 bytes),
 * office and category (be16 length, bytes), be32 revisit count and per
 * revisit be64 time and u8 score, be32 contact count and per contact be64
 * time, be32 minutes, u8 event type, be16 length and the person. */
#define REPORT_ROW_VERSION 1
#define REPORT_ROW_FIXED (7 + 7 * 8 + 4 + DK_CASE_ID_BYTES)

static int put_u8(struct dk_buf *b, unsigned v) {
  uint8_t x = (uint8_t)v;
  return dk_buf_append(b, &x, 1);
}

static int put_be(struct dk_buf *b, uint64_t v, int bytes) {
  uint8_t x[8];
  for (int i = 0; i < bytes; i++)
    x[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
  return dk_buf_append(b, x, (size_t)bytes);
}

static int put_str16(struct dk_buf *b, const char *s) {
  size_t n = s != NULL ? strlen(s) : 0;
  if (n > DK_NAME_BYTES_MAX)
    return DK_ELIMIT;
  int rc = put_be(b, n, 2);
  return rc != 0 || n == 0 ? rc : dk_buf_append(b, s, n);
}

int dk_case_report_encode(const struct dk_case_state *s, struct dk_buf *out) {
  assert(s != NULL);
  assert(out != NULL);
  size_t len0 = out->len;
  int rc = 0;
#define W(expr)                                                                                    \
  do {                                                                                             \
    if ((rc = (expr)) != 0)                                                                        \
      goto out;                                                                                    \
  } while (0)
  if (s->revisits_count > DK_CASE_LIST_MAX || s->contacts_count > DK_CASE_LIST_MAX) {
    rc = DK_ELIMIT;
    goto out;
  }
  W(put_u8(out, REPORT_ROW_VERSION));
  W(put_u8(out, s->opened ? 1 : 0));
  W(put_u8(out, (unsigned)s->kind));
  W(put_u8(out, (unsigned)s->triage));
  W(put_u8(out, (unsigned)s->outcome));
  W(put_u8(out, (unsigned)s->referral));
  W(put_u8(out, (unsigned)s->status));
  const uint64_t times[7] = {s->deadline_ms,     s->opened_at_ms, s->outcome_at_ms,
                             s->closed_at_ms,    s->escalated_at_ms, s->erased_at_ms,
                             s->updated_at_ms};
  for (int i = 0; i < 7; i++)
    W(put_be(out, times[i], 8));
  W(put_be(out, s->items, 4));
  W(dk_buf_append(out, s->id, DK_CASE_ID_BYTES));
  W(put_str16(out, s->office));
  W(put_str16(out, s->category));
  W(put_be(out, s->revisits_count, 4));
  for (size_t i = 0; i < s->revisits_count; i++) {
    W(put_be(out, s->revisits[i].at_ms, 8));
    W(put_u8(out, s->revisits[i].satisfaction));
  }
  W(put_be(out, s->contacts_count, 4));
  for (size_t i = 0; i < s->contacts_count; i++) {
    const struct dk_contact *c = &s->contacts[i];
    if (c->minutes > UINT32_MAX) {
      rc = DK_ELIMIT;
      goto out;
    }
    W(put_be(out, c->at_ms, 8));
    W(put_be(out, c->minutes, 4));
    W(put_u8(out, (unsigned)c->type));
    W(put_str16(out, c->person));
  }
#undef W
out:
  if (rc != 0)
    out->len = len0;
  return rc;
}

struct row_reader {
  const uint8_t *p, *end;
};

static int get_be(struct row_reader *r, int bytes, uint64_t *v) {
  if ((size_t)(r->end - r->p) < (size_t)bytes)
    return DK_EFORMAT;
  uint64_t x = 0;
  for (int i = 0; i < bytes; i++)
    x = x << 8 | r->p[i];
  r->p += bytes;
  *v = x;
  return 0;
}

/* A be16-length string, copied and NUL-terminated; an empty one stays NULL
 * unless keep_empty. */
static int get_str16(struct row_reader *r, int keep_empty, char **out) {
  uint64_t n;
  int rc = get_be(r, 2, &n);
  if (rc != 0)
    return rc;
  if (n > DK_NAME_BYTES_MAX || (size_t)(r->end - r->p) < n || memchr(r->p, 0, n) != NULL)
    return DK_EFORMAT;
  if (n == 0 && !keep_empty)
    return 0;
  char *s = malloc(n + 1);
  if (s == NULL)
    return DK_ENOMEM;
  memcpy(s, r->p, n);
  s[n] = 0;
  r->p += n;
  *out = s;
  return 0;
}

int dk_case_report_decode(const uint8_t *data, size_t len, struct dk_case_state *s) {
  assert(s != NULL);
  assert(data != NULL || len == 0);
  dk_case_state_release(s);
  struct row_reader r = {data, data + len};
  uint64_t u;
  int rc = 0;
#define G(expr)                                                                                    \
  do {                                                                                             \
    if ((rc = (expr)) != 0)                                                                        \
      goto out;                                                                                    \
  } while (0)
  if (len < REPORT_ROW_FIXED) {
    rc = DK_EFORMAT;
    goto out;
  }
  if (data[0] != REPORT_ROW_VERSION) {
    rc = DK_EVERSION;
    goto out;
  }
  if (data[1] > 1 || data[2] >= DK_KIND_COUNT || data[3] > DK_TRIAGE_NONE ||
      data[4] >= DK_OUTCOME_COUNT || data[5] >= DK_REFERRAL_COUNT || data[6] >= DK_STATUS_COUNT) {
    rc = DK_EFORMAT;
    goto out;
  }
  s->opened = data[1];
  s->kind = (enum dk_kind)data[2];
  s->triage = (enum dk_triage)data[3];
  s->outcome = (enum dk_outcome)data[4];
  s->referral = (enum dk_referral)data[5];
  s->status = (enum dk_status)data[6];
  r.p += 7;
  uint64_t *const times[7] = {&s->deadline_ms,     &s->opened_at_ms, &s->outcome_at_ms,
                              &s->closed_at_ms,    &s->escalated_at_ms, &s->erased_at_ms,
                              &s->updated_at_ms};
  for (int i = 0; i < 7; i++)
    G(get_be(&r, 8, times[i]));
  G(get_be(&r, 4, &u));
  if (u > DK_MEETING_ITEMS_MAX) {
    rc = DK_EFORMAT;
    goto out;
  }
  s->items = u;
  memcpy(s->id, r.p, DK_CASE_ID_BYTES);
  r.p += DK_CASE_ID_BYTES;
  G(get_str16(&r, s->opened, &s->office));
  G(get_str16(&r, s->opened, &s->category));
  G(get_be(&r, 4, &u));
  /* Each revisit takes 9 bytes: a count the rest cannot hold is false. */
  if (u > DK_CASE_LIST_MAX || u > (uint64_t)(r.end - r.p) / 9) {
    rc = DK_EFORMAT;
    goto out;
  }
  G(list_alloc(&s->revisits, (size_t)u, sizeof(*s->revisits)));
  for (uint64_t i = 0, n = u; i < n; i++) {
    uint64_t at, score;
    G(get_be(&r, 8, &at));
    G(get_be(&r, 1, &score));
    if (score < 1 || score > 5) {
      rc = DK_EFORMAT;
      goto out;
    }
    s->revisits[i].at_ms = at;
    s->revisits[i].satisfaction = (uint32_t)score;
    s->revisits_count = (size_t)i + 1;
  }
  G(get_be(&r, 4, &u));
  if (u > DK_CASE_LIST_MAX || u > (uint64_t)(r.end - r.p) / 15) {
    rc = DK_EFORMAT;
    goto out;
  }
  G(list_alloc(&s->contacts, (size_t)u, sizeof(*s->contacts)));
  for (uint64_t i = 0, n = u; i < n; i++) {
    struct dk_contact *c = &s->contacts[i];
    uint64_t minutes, type;
    G(get_be(&r, 8, &c->at_ms));
    G(get_be(&r, 4, &minutes));
    G(get_be(&r, 1, &type));
    if (minutes > DK_SESSION_MINUTES_MAX || type >= DK_EVENT_TYPE_COUNT) {
      rc = DK_EFORMAT;
      goto out;
    }
    c->minutes = minutes;
    c->type = (enum dk_event_type)type;
    G(get_str16(&r, 1, &c->person));
    s->contacts_count = (size_t)i + 1;
  }
  if (r.p != r.end)
    rc = DK_EFORMAT;
#undef G
out:
  if (rc != 0)
    dk_case_state_release(s);
  return rc;
}
