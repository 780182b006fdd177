/* Unit tests for node/case: names, event encoding, strict decoding, the
 * status machine, apply, the DAG fold and the state codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "crypto/crypto.h"
#include "node/case.h"

#define DAY (24ull * 60 * 60 * 1000)
#define T0 1580000000000ull /* 2020-01-26 */

/* The known-answer vector of docs/protocol-events.md, section 5. */
static const char kat_open_hex[] =
    "8aa174a46f70656ea26174cf0000016fdf56b800a46465707390a26279a6e78e"
    "8be88ab3a46b696e64a764697370757465a863617465676f7279a96e65696768"
    "626f7572a66e756d626572ac4c582d323032302d30303432a66f6666696365b3"
    "7a68616e68652f62656964752f6c616e78696ea474657874d922576174657220"
    "6c65616b732066726f6d20666c61742035303220696e746f20343032a7706172"
    "7469657392a6e5bca0e4bc9fa6e69d8ee5a89c";

/* ---- helpers ----------------------------------------------------------- */

static char *xstrdup(const char *s) {
  char *d = strdup(s);
  assert_non_null(d);
  return d;
}

static void make_id(uint8_t id[DK_CASE_ID_BYTES], const char *label) {
  dk_hash_plain((const uint8_t *)label, strlen(label), id);
}

static int cmp_id(const void *a, const void *b) { return memcmp(a, b, DK_CASE_ID_BYTES); }

/* A fresh event with heap strings; id from label, author from author. */
static struct dk_event mk(enum dk_event_type type, uint64_t at, const char *label,
                          const char *author, const char *by) {
  struct dk_event ev;
  dk_event_init(&ev);
  ev.type = type;
  ev.at_ms = at;
  ev.ts_ms = at + 5;
  make_id(ev.id, label);
  make_id(ev.author, author);
  ev.by = xstrdup(by);
  return ev;
}

/* Sets ev's deps to the ids of the given events, sorted. */
static void set_deps(struct dk_event *ev, size_t n, const struct dk_event *const *on) {
  free(ev->deps);
  ev->deps = NULL;
  ev->deps_count = n;
  if (n == 0)
    return;
  ev->deps = malloc(n * DK_CASE_ID_BYTES);
  assert_non_null(ev->deps);
  for (size_t i = 0; i < n; i++)
    memcpy(ev->deps[i], on[i]->id, DK_CASE_ID_BYTES);
  qsort(ev->deps, n, DK_CASE_ID_BYTES, cmp_id);
}

static void dep1(struct dk_event *ev, const struct dk_event *a) {
  const struct dk_event *v[1] = {a};
  set_deps(ev, 1, v);
}

static struct dk_event mk_open(enum dk_kind kind, uint64_t at, const char *label,
                               const char *author) {
  struct dk_event ev = mk(DK_EVENT_OPEN, at, label, author, "Wang Fang");
  ev.kind = kind;
  ev.category = xstrdup("other");
  ev.number = xstrdup("LX-2020-0042");
  ev.office = xstrdup("zhanhe/beidu/lanxin");
  ev.text = xstrdup("Water leaks from flat 502 into 402");
  ev.parties = calloc(2, sizeof(char *));
  assert_non_null(ev.parties);
  ev.parties[0] = xstrdup("Zhang Wei");
  ev.parties[1] = xstrdup("Li Na");
  ev.parties_count = 2;
  return ev;
}

static struct dk_event mk_text(enum dk_event_type type, uint64_t at, const char *label,
                               const char *author, const char *by, const char *text) {
  struct dk_event ev = mk(type, at, label, author, by);
  ev.text = xstrdup(text);
  return ev;
}

static void hex_to_buf(const char *hex, struct dk_buf *out) {
  size_t n = strlen(hex) / 2;
  uint8_t *tmp = malloc(n);
  assert_non_null(tmp);
  assert_int_equal(dk_unhex(hex, tmp, n), (int)n);
  assert_int_equal(dk_buf_append(out, tmp, n), 0);
  free(tmp);
}

static int decode_rc(const struct dk_buf *b) {
  struct dk_event ev;
  dk_event_init(&ev);
  int rc = dk_event_decode(b->data, b->len, &ev);
  dk_event_release(&ev);
  return rc;
}

static int encode_rc(const struct dk_event *ev) {
  struct dk_buf b;
  dk_buf_init(&b);
  int rc = dk_event_encode(ev, &b);
  if (rc != 0)
    assert_int_equal(b.len, 0);
  dk_buf_release(&b);
  return rc;
}

static void state_bytes(const struct dk_case_state *s, struct dk_buf *out) {
  dk_buf_reset(out);
  assert_int_equal(dk_case_state_encode(s, out), 0);
}

/* ---- names ------------------------------------------------------------- */

static void names_roundtrip(void **state) {
  for (int i = 0; i < DK_EVENT_TYPE_COUNT; i++) {
    enum dk_event_type t;
    assert_int_equal(dk_event_type_parse(dk_event_type_name(i), &t), 0);
    assert_int_equal(t, i);
  }
  for (int i = 0; i < DK_KIND_COUNT; i++) {
    enum dk_kind k;
    assert_int_equal(dk_kind_parse(dk_kind_name(i), &k), 0);
    assert_int_equal(k, i);
    assert_int_equal(dk_category_valid(i, "other"), 0);
    assert_int_equal(dk_category_valid(i, ""), 0);
    assert_int_equal(dk_category_valid(i, "nonsense"), DK_EINVAL);
    size_t n = 0;
    const char *const *list = dk_category_list(i, &n);
    assert_non_null(list);
    assert_true(n >= 3);
    assert_null(list[n]);
    assert_string_equal(list[n - 1], "other");
    for (size_t j = 0; j < n; j++) {
      assert_int_equal(dk_category_valid(i, list[j]), 0);
      assert_non_null(strstr(dk_category_names(i), list[j]));
    }
  }
  for (int i = 0; i < DK_TRIAGE_CLASSES; i++) {
    enum dk_triage c;
    assert_int_equal(dk_triage_parse(dk_triage_name(i), &c), 0);
    assert_int_equal(c, i);
  }
  for (int i = 0; i < DK_ROLE_COUNT; i++) {
    enum dk_role r;
    assert_int_equal(dk_role_parse(dk_role_name(i), &r), 0);
    assert_int_equal(r, i);
  }
  for (int i = DK_LEVEL_STREET; i < DK_LEVEL_COUNT; i++) {
    enum dk_level l;
    assert_int_equal(dk_level_parse(dk_level_name(i), &l), 0);
    assert_int_equal(l, i);
  }
  for (int i = 0; i < DK_REFERRAL_COUNT; i++) {
    enum dk_referral r;
    assert_int_equal(dk_referral_parse(dk_referral_name(i), &r), 0);
    assert_int_equal(r, i);
  }
  for (int i = 0; i < DK_STATUS_COUNT; i++) {
    enum dk_status s;
    assert_int_equal(dk_status_parse(dk_status_name(i), &s), 0);
    assert_int_equal(s, i);
  }
  enum dk_kind k;
  enum dk_level l;
  enum dk_triage c;
  enum dk_role r;
  assert_int_equal(dk_kind_parse("Dispute", &k), DK_EINVAL);
  assert_int_equal(dk_kind_parse("", &k), DK_EINVAL);
  assert_int_equal(dk_level_parse("", &l), DK_EINVAL);
  assert_int_equal(dk_level_parse("county", &l), DK_EINVAL);
  assert_int_equal(dk_triage_parse("urgent", &c), DK_EINVAL);
  assert_int_equal(dk_role_parse("mediator ", &r), DK_EINVAL);
  assert_string_equal(dk_kind_name(DK_KIND_LEGAL_AID), "legal_aid");
  assert_string_equal(dk_role_name(DK_ROLE_GRID_WORKER), "grid-worker");
  assert_string_equal(dk_kind_name((enum dk_kind)99), "?");
  assert_string_equal(dk_triage_name(DK_TRIAGE_NONE), "");
  assert_int_equal(dk_category_valid(DK_KIND_DISPUTE, "tenancy"), 0);
  assert_int_equal(dk_category_valid(DK_KIND_HAZARD, "tenancy"), DK_EINVAL);
  assert_int_equal(dk_category_valid(DK_KIND_HAZARD, "electrical"), 0);
  assert_int_equal(dk_category_valid(DK_KIND_CONSULTATION, "contract"), 0);
  assert_string_equal(dk_category_names(DK_KIND_HAZARD), "fire, building, traffic, electrical, other");
}

/* ---- encoding ---------------------------------------------------------- */

static void open_known_answer(void **state) {
  struct dk_event ev = mk(DK_EVENT_OPEN, T0, "kat", "a", "王芳");
  ev.kind = DK_KIND_DISPUTE;
  ev.category = xstrdup("neighbour");
  ev.number = xstrdup("LX-2020-0042");
  ev.office = xstrdup("zhanhe/beidu/lanxin");
  ev.text = xstrdup("Water leaks from flat 502 into 402");
  ev.parties = calloc(2, sizeof(char *));
  ev.parties[0] = xstrdup("张伟");
  ev.parties[1] = xstrdup("李娜");
  ev.parties_count = 2;

  struct dk_buf got, want;
  dk_buf_init(&got);
  dk_buf_init(&want);
  hex_to_buf(kat_open_hex, &want);
  assert_int_equal(dk_event_encode(&ev, &got), 0);
  assert_int_equal(got.len, 179);
  assert_int_equal(got.len, want.len);
  assert_memory_equal(got.data, want.data, want.len);

  struct dk_event back;
  dk_event_init(&back);
  assert_int_equal(dk_event_decode(want.data, want.len, &back), 0);
  assert_int_equal(back.type, DK_EVENT_OPEN);
  assert_int_equal(back.at_ms, T0);
  assert_int_equal(back.deps_count, 0);
  assert_string_equal(back.by, "王芳");
  assert_int_equal(back.kind, DK_KIND_DISPUTE);
  assert_string_equal(back.category, "neighbour");
  assert_string_equal(back.number, "LX-2020-0042");
  assert_string_equal(back.office, "zhanhe/beidu/lanxin");
  assert_int_equal(back.parties_count, 2);
  assert_string_equal(back.parties[1], "李娜");
  /* Header fields are not in the body. */
  uint8_t zero[DK_CASE_ID_BYTES] = {0};
  assert_memory_equal(back.id, zero, DK_CASE_ID_BYTES);
  assert_int_equal(back.seq, 0);
  dk_event_release(&back);
  dk_event_release(&ev);
  dk_buf_release(&got);
  dk_buf_release(&want);
}

/* One event of every type with every field it has set to something. */
static struct dk_event sample(enum dk_event_type type) {
  struct dk_event open = mk_open(DK_KIND_DISPUTE, T0, "o", "a");
  if (type == DK_EVENT_OPEN)
    return open;
  struct dk_event ev = mk(type, T0 + 1000, "x", "a", "Li Wei");
  const struct dk_event *d[2] = {&open, &open};
  struct dk_event other = mk(DK_EVENT_NOTE, T0, "p", "b", "");
  d[1] = &other;
  set_deps(&ev, 2, d);
  switch (type) {
  case DK_EVENT_TRIAGE:
    ev.triage = DK_TRIAGE_JOINT;
    break;
  case DK_EVENT_ASSIGN:
    ev.to = xstrdup("Chen Jing");
    ev.role = DK_ROLE_CHIEF_ADVISOR;
    break;
  case DK_EVENT_SESSION:
    ev.minutes = 300; /* needs a uint16 */
    ev.text = xstrdup("both parties met");
    break;
  case DK_EVENT_ESCALATE:
    ev.level = DK_LEVEL_DISTRICT;
    ev.text = xstrdup("needs the bureau");
    break;
  case DK_EVENT_RESOLVE:
    ev.text = xstrdup("402 pays for repairs");
    ev.items = 3;
    break;
  case DK_EVENT_FAIL:
    ev.text = xstrdup("no agreement");
    ev.refer = DK_REFERRAL_ARBITRATION;
    break;
  case DK_EVENT_REVISIT:
    ev.satisfaction = 4;
    ev.text = xstrdup("satisfied");
    break;
  case DK_EVENT_REOPEN:
  case DK_EVENT_NOTE:
    ev.text = xstrdup(type == DK_EVENT_NOTE ? "called again" : "repairs not done");
    break;
  default:
    break;
  }
  dk_event_release(&open);
  dk_event_release(&other);
  return ev;
}

static void roundtrip_every_type(void **state) {
  for (int t = 0; t < DK_EVENT_TYPE_COUNT; t++) {
    struct dk_event ev = sample(t);
    struct dk_buf a, b;
    dk_buf_init(&a);
    dk_buf_init(&b);
    assert_int_equal(dk_event_encode(&ev, &a), 0);
    struct dk_event back;
    dk_event_init(&back);
    assert_int_equal(dk_event_decode(a.data, a.len, &back), 0);
    assert_int_equal(back.type, t);
    assert_int_equal(back.at_ms, ev.at_ms);
    assert_int_equal(back.deps_count, ev.deps_count);
    if (ev.deps_count)
      assert_memory_equal(back.deps, ev.deps, ev.deps_count * DK_CASE_ID_BYTES);
    assert_string_equal(back.by, ev.by);
    if (ev.text)
      assert_string_equal(back.text, ev.text);
    assert_int_equal(back.triage, ev.triage);
    assert_int_equal(back.role, ev.role);
    assert_int_equal(back.minutes, ev.minutes);
    assert_int_equal(back.level, ev.level);
    assert_int_equal(back.items, ev.items);
    assert_int_equal(back.refer, ev.refer);
    assert_int_equal(back.satisfaction, ev.satisfaction);
    if (ev.to)
      assert_string_equal(back.to, ev.to);
    if (t == DK_EVENT_CLOSE)
      assert_null(back.text);
    assert_int_equal(dk_event_encode(&back, &b), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);

    /* Every strict prefix is refused, and so is one trailing byte. */
    for (size_t n = 0; n < a.len; n++) {
      int rc = dk_event_decode(a.data, n, &back);
      assert_true(rc == DK_EFORMAT || rc == DK_ELIMIT);
    }
    assert_int_equal(dk_buf_append_u8(&a, 0xc0), 0);
    assert_int_equal(dk_event_decode(a.data, a.len, &back), DK_EFORMAT);

    dk_event_release(&back);
    dk_event_release(&ev);
    dk_buf_release(&a);
    dk_buf_release(&b);
  }
}

static void encode_validates(void **state) {
  struct dk_event ev = sample(DK_EVENT_REVISIT);
  ev.satisfaction = 0;
  assert_int_equal(encode_rc(&ev), DK_EINVAL);
  ev.satisfaction = 6;
  assert_int_equal(encode_rc(&ev), DK_EINVAL);
  ev.satisfaction = 5;
  assert_int_equal(encode_rc(&ev), 0);
  ev.at_ms = 0;
  assert_int_equal(encode_rc(&ev), DK_EINVAL);
  ev.at_ms = 1;
  /* deps must be a set in ascending order */
  uint8_t tmp[DK_CASE_ID_BYTES];
  memcpy(tmp, ev.deps[0], DK_CASE_ID_BYTES);
  memcpy(ev.deps[0], ev.deps[1], DK_CASE_ID_BYTES);
  memcpy(ev.deps[1], tmp, DK_CASE_ID_BYTES);
  assert_int_equal(encode_rc(&ev), DK_EINVAL);
  memcpy(ev.deps[0], ev.deps[1], DK_CASE_ID_BYTES);
  assert_int_equal(encode_rc(&ev), DK_EINVAL);
  dk_event_release(&ev);

  ev = sample(DK_EVENT_OPEN);
  free(ev.category);
  ev.category = xstrdup("fire"); /* a hazard category on a dispute */
  assert_int_equal(encode_rc(&ev), DK_EINVAL);
  ev.kind = DK_KIND_HAZARD;
  assert_int_equal(encode_rc(&ev), 0);
  ev.deps = malloc(DK_CASE_ID_BYTES);
  memset(ev.deps, 1, DK_CASE_ID_BYTES);
  ev.deps_count = 1;
  assert_int_equal(encode_rc(&ev), DK_EINVAL); /* an open has no deps */
  dk_event_release(&ev);

  ev = sample(DK_EVENT_ASSIGN);
  ev.to[0] = 0;
  assert_int_equal(encode_rc(&ev), DK_EINVAL);
  dk_event_release(&ev);

  ev = sample(DK_EVENT_ESCALATE);
  ev.level = DK_LEVEL_NONE;
  assert_int_equal(encode_rc(&ev), DK_EINVAL);
  dk_event_release(&ev);

  ev = sample(DK_EVENT_SESSION);
  ev.minutes = DK_SESSION_MINUTES_MAX + 1;
  assert_int_equal(encode_rc(&ev), DK_ELIMIT);
  dk_event_release(&ev);

  ev = sample(DK_EVENT_NOTE);
  free(ev.text);
  ev.text = malloc(DK_TEXT_BYTES_MAX + 2);
  memset(ev.text, 'x', DK_TEXT_BYTES_MAX + 1);
  ev.text[DK_TEXT_BYTES_MAX + 1] = 0;
  assert_int_equal(encode_rc(&ev), DK_ELIMIT);
  ev.text[DK_TEXT_BYTES_MAX] = 0; /* exactly the limit is fine */
  assert_int_equal(encode_rc(&ev), 0);
  dk_event_release(&ev);
}

/* ---- strict decoding --------------------------------------------------- */

/* A tiny writer for hand-made bodies. */
struct w {
  struct dk_buf b;
  msgpack_packer pk;
};

static void w_init(struct w *w, size_t map_size) {
  dk_buf_init(&w->b);
  msgpack_packer_init(&w->pk, &w->b, dk_buf_msgpack_write);
  msgpack_pack_map(&w->pk, map_size);
}
static void w_str(struct w *w, const char *s) {
  msgpack_pack_str(&w->pk, strlen(s));
  msgpack_pack_str_body(&w->pk, s, strlen(s));
}
static void w_kv(struct w *w, const char *k, const char *v) {
  w_str(w, k);
  w_str(w, v);
}
static void w_common(struct w *w, const char *type) {
  w_kv(w, "t", type);
  w_str(w, "at");
  msgpack_pack_uint64(&w->pk, T0);
  w_str(w, "deps");
  msgpack_pack_array(&w->pk, 0);
  w_kv(w, "by", "");
}

static void decode_rejects_malformed(void **state) {
  struct w w;
  /* A well-formed note first, so the rest differ by one thing. */
  w_init(&w, 5);
  w_common(&w, "note");
  w_kv(&w, "text", "hi");
  assert_int_equal(decode_rc(&w.b), 0);
  dk_buf_release(&w.b);

  /* Unknown type string. */
  w_init(&w, 5);
  w_common(&w, "memo");
  w_kv(&w, "text", "hi");
  assert_int_equal(decode_rc(&w.b), DK_EFORMAT);
  dk_buf_release(&w.b);

  /* Extra unknown key. */
  w_init(&w, 6);
  w_common(&w, "note");
  w_kv(&w, "text", "hi");
  w_kv(&w, "zz", "hi");
  assert_int_equal(decode_rc(&w.b), DK_EFORMAT);
  dk_buf_release(&w.b);

  /* Missing key. */
  w_init(&w, 4);
  w_common(&w, "note");
  assert_int_equal(decode_rc(&w.b), DK_EFORMAT);
  dk_buf_release(&w.b);

  /* Keys out of canonical order. */
  w_init(&w, 5);
  w_kv(&w, "t", "note");
  w_str(&w, "deps");
  msgpack_pack_array(&w.pk, 0);
  w_str(&w, "at");
  msgpack_pack_uint64(&w.pk, T0);
  w_kv(&w, "by", "");
  w_kv(&w, "text", "hi");
  assert_int_equal(decode_rc(&w.b), DK_EFORMAT);
  dk_buf_release(&w.b);

  /* Wrong value type: text as an integer. */
  w_init(&w, 5);
  w_common(&w, "note");
  w_str(&w, "text");
  msgpack_pack_uint64(&w.pk, 7);
  assert_int_equal(decode_rc(&w.b), DK_EFORMAT);
  dk_buf_release(&w.b);

  /* Wrong value type: at as a string. */
  w_init(&w, 5);
  w_kv(&w, "t", "note");
  w_kv(&w, "at", "yesterday");
  w_str(&w, "deps");
  msgpack_pack_array(&w.pk, 0);
  w_kv(&w, "by", "");
  w_kv(&w, "text", "hi");
  assert_int_equal(decode_rc(&w.b), DK_EFORMAT);
  dk_buf_release(&w.b);

  /* Negative at. */
  w_init(&w, 5);
  w_kv(&w, "t", "note");
  w_str(&w, "at");
  msgpack_pack_int64(&w.pk, -5);
  w_str(&w, "deps");
  msgpack_pack_array(&w.pk, 0);
  w_kv(&w, "by", "");
  w_kv(&w, "text", "hi");
  assert_int_equal(decode_rc(&w.b), DK_EFORMAT);
  dk_buf_release(&w.b);

  /* Embedded NUL in a string. */
  w_init(&w, 5);
  w_common(&w, "note");
  w_str(&w, "text");
  msgpack_pack_str(&w.pk, 3);
  msgpack_pack_str_body(&w.pk, "a\0b", 3);
  assert_int_equal(decode_rc(&w.b), DK_EFORMAT);
  dk_buf_release(&w.b);

  /* Unknown enum values. */
  const char *bad_enums[][3] = {
      {"triage", "class", "urgent"},
      {"escalate", "level", "county"},
      {"escalate", "level", ""},
      {"fail", "refer", "police"},
  };
  for (size_t i = 0; i < sizeof(bad_enums) / sizeof(bad_enums[0]); i++) {
    int two = strcmp(bad_enums[i][0], "triage") != 0;
    w_init(&w, 5 + two);
    w_common(&w, bad_enums[i][0]);
    if (strcmp(bad_enums[i][0], "fail") == 0)
      w_kv(&w, "text", "");
    w_kv(&w, bad_enums[i][1], bad_enums[i][2]);
    if (strcmp(bad_enums[i][0], "escalate") == 0)
      w_kv(&w, "text", "");
    assert_int_equal(decode_rc(&w.b), DK_EFORMAT);
    dk_buf_release(&w.b);
  }

  /* Satisfaction outside 1..5. */
  for (unsigned sat = 0; sat <= 7; sat += 6) {
    w_init(&w, 6);
    w_common(&w, "revisit");
    w_str(&w, "satisfaction");
    msgpack_pack_uint64(&w.pk, sat);
    w_kv(&w, "text", "");
    assert_int_equal(decode_rc(&w.b), DK_EFORMAT);
    dk_buf_release(&w.b);
  }

  /* Non-minimal integer encoding: 5 minutes as a uint64. */
  w_init(&w, 6);
  w_common(&w, "session");
  w_str(&w, "minutes");
  uint8_t u64five[9] = {0xcf, 0, 0, 0, 0, 0, 0, 0, 5};
  dk_buf_append(&w.b, u64five, 9);
  w_kv(&w, "text", "");
  assert_int_equal(decode_rc(&w.b), DK_EFORMAT);
  dk_buf_release(&w.b);

  /* Too many parties. */
  w_init(&w, 10);
  w_common(&w, "open");
  w_kv(&w, "kind", "dispute");
  w_kv(&w, "category", "");
  w_kv(&w, "number", "");
  w_kv(&w, "office", "");
  w_kv(&w, "text", "");
  w_str(&w, "parties");
  msgpack_pack_array(&w.pk, DK_PARTIES_MAX + 1);
  for (int i = 0; i < DK_PARTIES_MAX + 1; i++)
    w_str(&w, "p");
  assert_int_equal(decode_rc(&w.b), DK_ELIMIT);
  dk_buf_release(&w.b);

  /* A name past DK_NAME_BYTES_MAX. */
  char longname[DK_NAME_BYTES_MAX + 2];
  memset(longname, 'n', sizeof(longname) - 1);
  longname[sizeof(longname) - 1] = 0;
  w_init(&w, 5);
  w_kv(&w, "t", "note");
  w_str(&w, "at");
  msgpack_pack_uint64(&w.pk, T0);
  w_str(&w, "deps");
  msgpack_pack_array(&w.pk, 0);
  w_kv(&w, "by", longname);
  w_kv(&w, "text", "");
  assert_int_equal(decode_rc(&w.b), DK_ELIMIT);
  dk_buf_release(&w.b);

  /* Too many deps, and a dep of the wrong size. */
  uint8_t id[DK_CASE_ID_BYTES] = {0};
  w_init(&w, 5);
  w_kv(&w, "t", "note");
  w_str(&w, "at");
  msgpack_pack_uint64(&w.pk, T0);
  w_str(&w, "deps");
  msgpack_pack_array(&w.pk, DK_DEPS_MAX + 1);
  for (int i = 0; i < DK_DEPS_MAX + 1; i++) {
    id[31] = (uint8_t)i;
    msgpack_pack_bin(&w.pk, DK_CASE_ID_BYTES);
    msgpack_pack_bin_body(&w.pk, id, DK_CASE_ID_BYTES);
  }
  w_kv(&w, "by", "");
  w_kv(&w, "text", "");
  assert_int_equal(decode_rc(&w.b), DK_ELIMIT);
  dk_buf_release(&w.b);

  w_init(&w, 5);
  w_kv(&w, "t", "note");
  w_str(&w, "at");
  msgpack_pack_uint64(&w.pk, T0);
  w_str(&w, "deps");
  msgpack_pack_array(&w.pk, 1);
  msgpack_pack_bin(&w.pk, 31);
  msgpack_pack_bin_body(&w.pk, id, 31);
  w_kv(&w, "by", "");
  w_kv(&w, "text", "");
  assert_int_equal(decode_rc(&w.b), DK_EFORMAT);
  dk_buf_release(&w.b);

  /* Not a map at all; the hostile count from DESIGN.md §3. */
  struct dk_buf b;
  dk_buf_init(&b);
  const uint8_t hostile[] = {0xdd, 0x9e, 0xf5, 0x1f, 0x0a, 0x00, 0x00};
  dk_buf_append(&b, hostile, sizeof(hostile));
  int rc = decode_rc(&b);
  assert_true(rc == DK_EFORMAT || rc == DK_ELIMIT);
  dk_buf_reset(&b);
  dk_buf_append_u8(&b, 0x90);
  assert_int_equal(decode_rc(&b), DK_EFORMAT);
  dk_buf_release(&b);
}

/* Random byte flips of valid bodies: each result either decodes to
 * something that encodes back to the same bytes, or is refused. */
static void decode_mutations(void **state) {
  srand(12345);
  for (int t = 0; t < DK_EVENT_TYPE_COUNT; t++) {
    struct dk_event ev = sample(t);
    struct dk_buf a, again;
    dk_buf_init(&a);
    dk_buf_init(&again);
    assert_int_equal(dk_event_encode(&ev, &a), 0);
    for (int round = 0; round < 2000; round++) {
      struct dk_buf m;
      dk_buf_init(&m);
      dk_buf_append(&m, a.data, a.len);
      int flips = 1 + rand() % 3;
      for (int k = 0; k < flips; k++)
        m.data[rand() % m.len] ^= (uint8_t)(1u << (rand() % 8));
      struct dk_event back;
      dk_event_init(&back);
      int rc = dk_event_decode(m.data, m.len, &back);
      if (rc == 0) {
        dk_buf_reset(&again);
        assert_int_equal(dk_event_encode(&back, &again), 0);
        assert_int_equal(again.len, m.len);
        assert_memory_equal(again.data, m.data, m.len);
      } else {
        assert_true(rc == DK_EFORMAT || rc == DK_ELIMIT);
        assert_null(back.by);
      }
      dk_event_release(&back);
      dk_buf_release(&m);
    }
    dk_event_release(&ev);
    dk_buf_release(&a);
    dk_buf_release(&again);
  }
}

/* ---- status machine ---------------------------------------------------- */

static void status_machine_table(void **state) {
  /* Expected legality per [event type][status] for a dispute; 'x' legal. */
  static const char *const legal[DK_EVENT_TYPE_COUNT] = {
      /*                open triaged mediating resolved failed closed */
      [DK_EVENT_OPEN] = "......",     [DK_EVENT_TRIAGE] = "xxx...",
      [DK_EVENT_ASSIGN] = "xxxxx.",   [DK_EVENT_SESSION] = "xxx...",
      [DK_EVENT_ESCALATE] = "xxxxx.", [DK_EVENT_RESOLVE] = "xxx...",
      [DK_EVENT_FAIL] = "xxx...",     [DK_EVENT_CLOSE] = "...xx.",
      [DK_EVENT_REOPEN] = ".....x",   [DK_EVENT_REVISIT] = "...xxx",
      [DK_EVENT_NOTE] = "xxxxxx",
  };
  struct dk_case_state s;
  dk_case_state_init(&s);
  struct dk_event ev;
  dk_event_init(&ev);
  ev.at_ms = T0;

  /* A case not opened takes only an open. */
  for (int t = 0; t < DK_EVENT_TYPE_COUNT; t++) {
    ev.type = t;
    assert_int_equal(dk_case_check(&s, &ev), t == DK_EVENT_OPEN ? 0 : DK_ETRANSITION);
  }
  s.opened = 1;
  for (int kind = 0; kind < DK_KIND_COUNT; kind++) {
    s.kind = kind;
    for (int st = 0; st < DK_STATUS_COUNT; st++) {
      s.status = st;
      for (int t = 0; t < DK_EVENT_TYPE_COUNT; t++) {
        ev.type = t;
        int want = legal[t][st] == 'x';
        if (t == DK_EVENT_CLOSE && kind != DK_KIND_DISPUTE && st <= DK_STATUS_MEDIATING)
          want = 1; /* other kinds close without an outcome */
        assert_int_equal(dk_case_check(&s, &ev), want ? 0 : DK_ETRANSITION);
      }
    }
  }
  dk_case_state_release(&s);
}

/* ---- apply ------------------------------------------------------------- */

static void apply_lifecycle(void **state) {
  struct dk_case_config cfg = dk_case_config_default();
  assert_int_equal(cfg.deadline_ms[DK_TRIAGE_CLINIC], 15 * DAY);
  assert_int_equal(cfg.deadline_ms[DK_TRIAGE_EMERGENCY], 3 * DAY);
  assert_int_equal(cfg.deadline_ms[DK_TRIAGE_JOINT], 30 * DAY);

  struct dk_case_state s;
  dk_case_state_init(&s);
  struct dk_event e[10];
  e[0] = mk_open(DK_KIND_DISPUTE, T0, "e0", "community");
  e[1] = mk(DK_EVENT_TRIAGE, T0 + 1000, "e1", "community", "");
  e[1].triage = DK_TRIAGE_JOINT;
  e[2] = mk(DK_EVENT_ASSIGN, T0 + 2000, "e2", "community", "Wang Fang");
  e[2].to = xstrdup("Zhao Lei");
  e[2].role = DK_ROLE_MEDIATOR;
  e[3] = mk_text(DK_EVENT_SESSION, T0 + DAY, "e3", "community", "Zhao Lei", "first talk");
  e[3].minutes = 90;
  e[4] = mk_text(DK_EVENT_SESSION, T0 + 2 * DAY, "e4", "community", "Zhao Lei", "second");
  e[4].minutes = 30;
  e[5] = mk_text(DK_EVENT_RESOLVE, T0 + 3 * DAY, "e5", "community", "Zhao Lei", "pays 800");
  e[6] = mk(DK_EVENT_CLOSE, T0 + 4 * DAY, "e6", "community", "");
  e[7] = mk_text(DK_EVENT_REVISIT, T0 + 10 * DAY, "e7", "community", "Wang Fang", "ok");
  e[7].satisfaction = 5;
  e[8] = mk_text(DK_EVENT_REOPEN, T0 + 20 * DAY, "e8", "community", "", "not paid");
  e[9] = mk_text(DK_EVENT_NOTE, T0 + 21 * DAY, "e9", "community", "", "called");
  for (int i = 1; i < 10; i++)
    dep1(&e[i], &e[i - 1]);

  for (int i = 0; i < 10; i++) {
    assert_int_equal(dk_case_deps_match_frontier(&s, &e[i]), 1);
    assert_int_equal(dk_case_check(&s, &e[i]), 0);
    assert_int_equal(dk_case_apply(&s, &cfg, &e[i]), 0);
    assert_int_equal(s.frontier_count, 1);
    assert_memory_equal(s.frontier[0], e[i].id, DK_CASE_ID_BYTES);
    switch (i) {
    case 0:
      assert_int_equal(s.opened, 1);
      assert_memory_equal(s.id, e[0].id, DK_CASE_ID_BYTES);
      assert_int_equal(s.status, DK_STATUS_OPEN);
      assert_string_equal(s.number, "LX-2020-0042");
      assert_string_equal(s.office, "zhanhe/beidu/lanxin");
      assert_int_equal(s.parties_count, 2);
      assert_int_equal(s.opened_at_ms, T0);
      assert_int_equal(s.deadline_ms, 0);
      break;
    case 1:
      assert_int_equal(s.status, DK_STATUS_TRIAGED);
      assert_int_equal(s.triage, DK_TRIAGE_JOINT);
      assert_int_equal(s.deadline_ms, T0 + 1000 + 30 * DAY);
      break;
    case 2:
      assert_string_equal(s.assignees[DK_ROLE_MEDIATOR].name, "Zhao Lei");
      assert_null(s.assignees[DK_ROLE_LEGAL_ADVISOR].name);
      break;
    case 4:
      assert_int_equal(s.status, DK_STATUS_MEDIATING);
      assert_int_equal(s.sessions_count, 2);
      assert_int_equal(s.minutes_total, 120);
      assert_int_equal(dk_case_overdue(&s, T0 + 31 * DAY), 1);
      assert_int_equal(dk_case_overdue(&s, T0 + 29 * DAY), 0);
      break;
    case 5:
      assert_int_equal(s.status, DK_STATUS_RESOLVED);
      assert_int_equal(s.outcome, DK_OUTCOME_AGREED);
      assert_string_equal(s.outcome_text, "pays 800");
      assert_int_equal(s.outcome_at_ms, T0 + 3 * DAY);
      assert_int_equal(dk_case_overdue(&s, T0 + 31 * DAY), 0);
      break;
    case 6:
      assert_int_equal(s.status, DK_STATUS_CLOSED);
      assert_int_equal(s.closed_at_ms, T0 + 4 * DAY);
      break;
    case 7:
      assert_int_equal(s.revisits_count, 1);
      assert_int_equal(s.revisits[0].satisfaction, 5);
      assert_int_equal(s.status, DK_STATUS_CLOSED);
      break;
    case 8:
      assert_int_equal(s.status, DK_STATUS_OPEN);
      assert_int_equal(s.reopen_count, 1);
      assert_int_equal(s.deadline_ms, 0);
      assert_int_equal(s.outcome, DK_OUTCOME_AGREED); /* history kept */
      break;
    default:
      break;
    }
  }
  assert_int_equal(s.events_count, 10);
  assert_int_equal(s.conflicts_count, 0);
  assert_int_equal(s.updated_at_ms, T0 + 21 * DAY);
  /* Work log: the open, the assign, two sessions, the resolve, the revisit. */
  assert_int_equal(s.contacts_count, 6);
  assert_string_equal(s.contacts[0].person, "Wang Fang");
  assert_int_equal(s.contacts[0].type, DK_EVENT_OPEN);
  assert_int_equal(s.contacts[2].type, DK_EVENT_SESSION);
  assert_int_equal(s.contacts[2].minutes, 90);
  assert_int_equal(s.contacts[4].type, DK_EVENT_RESOLVE);
  assert_int_equal(s.contacts[4].minutes, 0);

  /* A second open is a conflict, recorded, and changes nothing else. */
  struct dk_event again = mk_open(DK_KIND_HAZARD, T0 + 22 * DAY, "again", "street");
  assert_int_equal(dk_case_check(&s, &again), DK_ETRANSITION);
  assert_int_equal(dk_case_apply(&s, &cfg, &again), 0);
  assert_int_equal(s.kind, DK_KIND_DISPUTE);
  assert_int_equal(s.conflicts_count, 1);
  assert_memory_equal(s.conflicts[0].event_id, again.id, DK_CASE_ID_BYTES);
  assert_string_equal(s.conflicts[0].text, "open by Wang Fang conflicts: case already opened");
  /* It has no deps, so the frontier now has two heads. */
  assert_int_equal(s.frontier_count, 2);
  assert_int_equal(dk_case_deps_match_frontier(&s, &e[9]), 0);

  dk_event_release(&again);
  for (int i = 0; i < 10; i++)
    dk_event_release(&e[i]);
  dk_case_state_release(&s);
}

static void close_rules_by_kind(void **state) {
  struct dk_case_config cfg = dk_case_config_default();
  struct dk_case_state s;
  dk_case_state_init(&s);
  struct dk_event o = mk_open(DK_KIND_DISPUTE, T0, "o", "a");
  struct dk_event c = mk(DK_EVENT_CLOSE, T0 + 1, "c", "a", "");
  dep1(&c, &o);
  assert_int_equal(dk_case_apply(&s, &cfg, &o), 0);
  assert_int_equal(dk_case_check(&s, &c), DK_ETRANSITION);
  assert_int_equal(dk_case_apply(&s, &cfg, &c), 0);
  assert_int_equal(s.status, DK_STATUS_OPEN);
  assert_int_equal(s.closed_at_ms, 0);
  assert_int_equal(s.conflicts_count, 1);
  assert_non_null(strstr(s.conflicts[0].text, "close by author "));
  assert_non_null(strstr(s.conflicts[0].text, "dispute not yet resolved or failed"));

  o.kind = DK_KIND_HAZARD;
  assert_int_equal(dk_case_fold((struct dk_event[]){o, c}, 2, &cfg, &s), 0);
  assert_int_equal(s.status, DK_STATUS_CLOSED);
  assert_int_equal(s.conflicts_count, 0);
  assert_int_equal(dk_case_overdue(&s, UINT64_MAX), 0);

  /* A revisit on an open case is refused. */
  struct dk_event r = mk_text(DK_EVENT_REVISIT, T0 + 2, "r", "a", "", "");
  r.satisfaction = 3;
  o.kind = DK_KIND_DISPUTE;
  dep1(&r, &o);
  assert_int_equal(dk_case_fold((struct dk_event[]){r, o}, 2, &cfg, &s), 0);
  assert_int_equal(s.revisits_count, 0);
  assert_int_equal(s.conflicts_count, 1);
  char hex[2 * DK_CASE_ID_BYTES + 1], want[128];
  dk_hex(r.author, DK_CASE_ID_BYTES, hex);
  snprintf(want, sizeof(want), "revisit by author %.8s conflicts: case is open", hex);
  assert_string_equal(s.conflicts[0].text, want);
  dk_event_release(&o);
  dk_event_release(&c);
  dk_event_release(&r);
  dk_case_state_release(&s);
}

/* ---- fold -------------------------------------------------------------- */

static void shuffle(struct dk_event *ev, size_t n, unsigned *seed) {
  for (size_t i = n - 1; i > 0; i--) {
    size_t j = (size_t)rand_r(seed) % (i + 1);
    struct dk_event t = ev[i];
    ev[i] = ev[j];
    ev[j] = t;
  }
}

/* Folds every shuffle of ev and checks the encoded state never changes. */
static void check_order_independent(struct dk_event *ev, size_t n, struct dk_buf *want) {
  struct dk_case_config cfg = dk_case_config_default();
  struct dk_case_state s;
  dk_case_state_init(&s);
  struct dk_buf got;
  dk_buf_init(&got);
  unsigned seed = 7;
  for (int round = 0; round < 200; round++) {
    shuffle(ev, n, &seed);
    assert_int_equal(dk_case_fold(ev, n, &cfg, &s), 0);
    state_bytes(&s, &got);
    if (round == 0) {
      dk_buf_reset(want);
      dk_buf_append(want, got.data, got.len);
    }
    assert_int_equal(got.len, want->len);
    assert_memory_equal(got.data, want->data, got.len);
  }
  dk_buf_release(&got);
  dk_case_state_release(&s);
}

static void fold_concurrent_branches(void **state) {
  struct dk_case_config cfg = dk_case_config_default();
  /* The community opens and triages; then, without seeing each other, the
   * community holds two sessions and the street assigns a legal advisor and
   * escalates; the community then resolves having seen both branches. */
  struct dk_event e[7];
  e[0] = mk_open(DK_KIND_DISPUTE, T0, "open", "community");
  e[1] = mk(DK_EVENT_TRIAGE, T0 + 100, "triage", "community", "");
  e[1].triage = DK_TRIAGE_CLINIC;
  dep1(&e[1], &e[0]);
  e[2] = mk_text(DK_EVENT_SESSION, T0 + DAY, "s1", "community", "Zhao Lei", "a");
  e[2].minutes = 60;
  dep1(&e[2], &e[1]);
  e[3] = mk_text(DK_EVENT_SESSION, T0 + 3 * DAY, "s2", "community", "Zhao Lei", "b");
  e[3].minutes = 45;
  dep1(&e[3], &e[2]);
  e[4] = mk(DK_EVENT_ASSIGN, T0 + 2 * DAY, "assign", "street", "Sun Li");
  e[4].to = xstrdup("Qian Hui");
  e[4].role = DK_ROLE_LEGAL_ADVISOR;
  dep1(&e[4], &e[1]);
  e[5] = mk_text(DK_EVENT_ESCALATE, T0 + 2 * DAY + 5, "esc", "street", "Sun Li", "x");
  e[5].level = DK_LEVEL_STREET;
  dep1(&e[5], &e[4]);
  e[6] = mk_text(DK_EVENT_RESOLVE, T0 + 4 * DAY, "res", "community", "Zhao Lei", "done");
  const struct dk_event *heads[2] = {&e[3], &e[5]};
  set_deps(&e[6], 2, heads); /* heads is not used after the shuffle */

  struct dk_buf want;
  dk_buf_init(&want);
  check_order_independent(e, 7, &want);

  struct dk_case_state s;
  dk_case_state_init(&s);
  assert_int_equal(dk_case_state_decode(want.data, want.len, &s), 0);
  assert_int_equal(s.events_count, 7);
  assert_int_equal(s.conflicts_count, 0);
  assert_int_equal(s.status, DK_STATUS_RESOLVED);
  assert_int_equal(s.sessions_count, 2);
  assert_int_equal(s.minutes_total, 105);
  assert_int_equal(s.level, DK_LEVEL_STREET);
  assert_int_equal(s.escalated_at_ms, T0 + 2 * DAY + 5);
  assert_string_equal(s.assignees[DK_ROLE_LEGAL_ADVISOR].name, "Qian Hui");
  assert_int_equal(s.deadline_ms, T0 + 100 + 15 * DAY);
  assert_int_equal(s.frontier_count, 1);
  uint8_t res_id[DK_CASE_ID_BYTES];
  make_id(res_id, "res"); /* e is shuffled by now */
  assert_memory_equal(s.frontier[0], res_id, DK_CASE_ID_BYTES);
  /* Contacts in fold order: ties by at, so s1, assign, esc, s2, resolve. */
  assert_int_equal(s.contacts_count, 6);
  assert_int_equal(s.contacts[1].at_ms, T0 + DAY);
  assert_string_equal(s.contacts[2].person, "Sun Li");
  assert_int_equal(s.contacts[2].type, DK_EVENT_ASSIGN);
  assert_int_equal(s.contacts[3].type, DK_EVENT_ESCALATE);
  assert_int_equal(s.contacts[4].at_ms, T0 + 3 * DAY);
  assert_int_equal(s.contacts[5].type, DK_EVENT_RESOLVE);

  /* Incremental: apply in a topological order, using apply when the deps
   * match the frontier, and refolding otherwise, gives the same bytes. */
  struct dk_event sorted[7];
  int order[7] = {0, 1, 2, 4, 5, 3, 6};
  /* e was shuffled in place; find events by id again. */
  const char *labels[7] = {"open", "triage", "s1", "s2", "assign", "esc", "res"};
  for (int i = 0; i < 7; i++) {
    uint8_t id[DK_CASE_ID_BYTES];
    make_id(id, labels[order[i]]);
    for (int j = 0; j < 7; j++)
      if (memcmp(e[j].id, id, DK_CASE_ID_BYTES) == 0)
        sorted[i] = e[j];
  }
  struct dk_case_state inc;
  dk_case_state_init(&inc);
  int applied = 0;
  for (int i = 0; i < 7; i++) {
    if (dk_case_deps_match_frontier(&inc, &sorted[i])) {
      assert_int_equal(dk_case_apply(&inc, &cfg, &sorted[i]), 0);
      applied++;
    } else {
      assert_int_equal(dk_case_fold(sorted, (size_t)i + 1, &cfg, &inc), 0);
    }
  }
  assert_int_equal(applied, 4); /* assign, esc and s2 do not extend the frontier */
  struct dk_buf got;
  dk_buf_init(&got);
  state_bytes(&inc, &got);
  assert_int_equal(got.len, want.len);
  assert_memory_equal(got.data, want.data, want.len);

  dk_buf_release(&got);
  dk_buf_release(&want);
  dk_case_state_release(&inc);
  dk_case_state_release(&s);
  for (int i = 0; i < 7; i++)
    dk_event_release(&e[i]);
}

static void fold_resolve_vs_fail_conflict(void **state) {
  /* The community resolves; the street, not having seen it, fails the case
   * and refers it to legal aid a day later. */
  struct dk_event e[4];
  e[0] = mk_open(DK_KIND_DISPUTE, T0, "open", "community");
  e[1] = mk_text(DK_EVENT_RESOLVE, T0 + DAY, "resolve", "community", "Zhao Lei", "agreed");
  dep1(&e[1], &e[0]);
  e[2] = mk_text(DK_EVENT_FAIL, T0 + 2 * DAY, "fail", "street", "Street office", "no");
  e[2].refer = DK_REFERRAL_LEGAL_AID;
  dep1(&e[2], &e[0]);
  e[3] = mk(DK_EVENT_ASSIGN, T0 + 2 * DAY, "assign", "street", "");
  e[3].to = xstrdup("Qian Hui");
  e[3].role = DK_ROLE_LEGAL_ADVISOR;
  dep1(&e[3], &e[2]);

  struct dk_buf want;
  dk_buf_init(&want);
  check_order_independent(e, 4, &want);
  struct dk_case_state s;
  dk_case_state_init(&s);
  assert_int_equal(dk_case_state_decode(want.data, want.len, &s), 0);
  assert_int_equal(s.status, DK_STATUS_RESOLVED);
  assert_int_equal(s.outcome, DK_OUTCOME_AGREED);
  assert_string_equal(s.outcome_text, "agreed");
  assert_int_equal(s.referral, DK_REFERRAL_NONE);
  assert_int_equal(s.conflicts_count, 1);
  uint8_t fail_id[DK_CASE_ID_BYTES];
  make_id(fail_id, "fail");
  assert_memory_equal(s.conflicts[0].event_id, fail_id, DK_CASE_ID_BYTES);
  assert_string_equal(s.conflicts[0].text,
                      "fail by Street office conflicts: case already resolved");
  /* The assign that followed the fail is still legal on a resolved case. */
  assert_string_equal(s.assignees[DK_ROLE_LEGAL_ADVISOR].name, "Qian Hui");
  assert_int_equal(s.events_count, 4);
  /* Two heads: the resolve and the street's assign. */
  assert_int_equal(s.frontier_count, 2);
  assert_true(memcmp(s.frontier[0], s.frontier[1], DK_CASE_ID_BYTES) < 0);

  /* Swap the times: now the fail comes first and the resolve conflicts. */
  for (int i = 0; i < 4; i++)
    if (e[i].type == DK_EVENT_RESOLVE)
      e[i].at_ms = T0 + 3 * DAY;
  check_order_independent(e, 4, &want);
  assert_int_equal(dk_case_state_decode(want.data, want.len, &s), 0);
  assert_int_equal(s.status, DK_STATUS_FAILED);
  assert_int_equal(s.referral, DK_REFERRAL_LEGAL_AID);
  assert_int_equal(s.conflicts_count, 1);
  assert_string_equal(s.conflicts[0].text, "resolve by Zhao Lei conflicts: case already failed");

  dk_buf_release(&want);
  dk_case_state_release(&s);
  for (int i = 0; i < 4; i++)
    dk_event_release(&e[i]);
}

static void fold_missing_deps_and_duplicates(void **state) {
  struct dk_case_config cfg = dk_case_config_default();
  struct dk_event ghost = mk(DK_EVENT_NOTE, T0 + 5, "ghost", "x", "");
  struct dk_event e[5];
  e[0] = mk_open(DK_KIND_TASK, T0, "open", "a");
  /* Depends on an event this node never received. */
  e[1] = mk_text(DK_EVENT_SESSION, T0 + 10, "s", "b", "Sun Li", "");
  e[1].minutes = 15;
  const struct dk_event *d[2] = {&e[0], &ghost};
  set_deps(&e[1], 2, d);
  /* Earlier than the open, but the open still comes first. */
  e[2] = mk_text(DK_EVENT_NOTE, T0 - 50, "early", "b", "", "n");
  dep1(&e[2], &ghost);
  e[3] = mk(DK_EVENT_CLOSE, T0 + 20, "close", "a", "");
  dep1(&e[3], &e[1]);
  e[4] = e[3]; /* the same event twice (shallow copy: not released) */

  struct dk_case_state s;
  dk_case_state_init(&s);
  assert_int_equal(dk_case_fold(e, 5, &cfg, &s), 0);
  assert_int_equal(s.events_count, 4);
  assert_int_equal(s.conflicts_count, 0);
  assert_int_equal(s.sessions_count, 1);
  assert_int_equal(s.status, DK_STATUS_CLOSED); /* a task closes without outcome */
  /* Heads: the close and the early note (nothing depends on them). */
  assert_int_equal(s.frontier_count, 2);

  /* No open at all: every event is kept as a conflict. */
  assert_int_equal(dk_case_fold(e + 1, 3, &cfg, &s), 0);
  assert_int_equal(s.opened, 0);
  assert_int_equal(s.events_count, 3);
  assert_int_equal(s.conflicts_count, 3);
  assert_non_null(strstr(s.conflicts[0].text, "case not opened"));

  /* Empty and over-limit folds. */
  assert_int_equal(dk_case_fold(e, 0, &cfg, &s), 0);
  assert_int_equal(s.events_count, 0);
  assert_int_equal(dk_case_fold(e, (size_t)DK_CASE_EVENTS_MAX + 1, &cfg, &s), DK_ELIMIT);
  assert_int_equal(s.events_count, 0);

  for (int i = 0; i < 4; i++)
    dk_event_release(&e[i]);
  dk_event_release(&ghost);
  dk_case_state_release(&s);
}

static void fold_breaks_dep_cycles(void **state) {
  /* Ids are hashes over deps so a cycle cannot happen honestly; a lying
   * log must still not hang the fold or lose events. */
  struct dk_case_config cfg = dk_case_config_default();
  struct dk_event e[3];
  e[0] = mk_open(DK_KIND_DISPUTE, T0, "open", "a");
  e[1] = mk_text(DK_EVENT_NOTE, T0 + 1, "n1", "a", "", "");
  e[2] = mk_text(DK_EVENT_NOTE, T0 + 2, "n2", "a", "", "");
  dep1(&e[1], &e[2]);
  dep1(&e[2], &e[1]);
  struct dk_buf want;
  dk_buf_init(&want);
  check_order_independent(e, 3, &want);
  struct dk_case_state s;
  dk_case_state_init(&s);
  assert_int_equal(dk_case_fold(e, 3, &cfg, &s), 0);
  assert_int_equal(s.events_count, 3);
  dk_case_state_release(&s);
  dk_buf_release(&want);
  for (int i = 0; i < 3; i++)
    dk_event_release(&e[i]);
}

/* A long case with many concurrent writers, shuffled. */
static void fold_many_writers(void **state) {
  enum { N = 400 };
  struct dk_event *e = calloc(N, sizeof(*e));
  assert_non_null(e);
  e[0] = mk_open(DK_KIND_DISPUTE, T0, "open", "a");
  unsigned seed = 99;
  char label[32], author[16];
  for (int i = 1; i < N; i++) {
    snprintf(label, sizeof(label), "ev%d", i);
    snprintf(author, sizeof(author), "w%d", i % 5);
    enum dk_event_type t = (i % 7 == 0) ? DK_EVENT_RESOLVE : (i % 11 == 0) ? DK_EVENT_FAIL
                                                                          : DK_EVENT_SESSION;
    e[i] = mk_text(t, T0 + (uint64_t)(rand_r(&seed) % 1000), label, author, author, "");
    e[i].minutes = 5;
    const struct dk_event *d[3] = {&e[rand_r(&seed) % i], &e[rand_r(&seed) % i],
                                   &e[rand_r(&seed) % i]};
    size_t nd = 1 + (size_t)(rand_r(&seed) % 3);
    if (nd >= 2 && d[0] == d[1])
      nd = 1;
    if (nd == 3 && (d[2] == d[0] || d[2] == d[1]))
      nd = 2;
    set_deps(&e[i], nd, d);
  }
  struct dk_buf want;
  dk_buf_init(&want);
  check_order_independent(e, N, &want);
  struct dk_case_state s;
  dk_case_state_init(&s);
  assert_int_equal(dk_case_state_decode(want.data, want.len, &s), 0);
  assert_int_equal(s.events_count, N);
  /* Exactly one outcome took; every later resolve/fail and session is a
   * conflict, none is lost. */
  assert_true(s.status == DK_STATUS_RESOLVED || s.status == DK_STATUS_FAILED);
  size_t ends = 0;
  for (int i = 1; i < N; i++)
    ends += e[i].type != DK_EVENT_SESSION;
  assert_true(s.conflicts_count >= ends - 1);
  assert_int_equal(s.conflicts_count + s.sessions_count + 1 + 1, N);
  assert_int_equal(s.contacts_count, N); /* everyone signed with a name */
  dk_case_state_release(&s);
  dk_buf_release(&want);
  for (int i = 0; i < N; i++)
    dk_event_release(&e[i]);
  free(e);
}

/* ---- state codec ------------------------------------------------------- */

static void state_codec(void **state) {
  struct dk_case_config cfg = dk_case_config_default();
  struct dk_event e[5];
  e[0] = mk_open(DK_KIND_DISPUTE, T0, "open", "a");
  e[1] = mk(DK_EVENT_TRIAGE, T0 + 1, "t", "a", "");
  e[1].triage = DK_TRIAGE_EMERGENCY;
  dep1(&e[1], &e[0]);
  e[2] = mk_text(DK_EVENT_FAIL, T0 + 2, "f", "a", "Zhao Lei", "refused");
  e[2].refer = DK_REFERRAL_LITIGATION;
  dep1(&e[2], &e[1]);
  e[3] = mk_text(DK_EVENT_REVISIT, T0 + 3, "r", "a", "Zhao Lei", "");
  e[3].satisfaction = 2;
  dep1(&e[3], &e[2]);
  e[4] = mk_text(DK_EVENT_SESSION, T0 + 4, "s", "b", "", "late");
  dep1(&e[4], &e[1]);
  struct dk_case_state s, t;
  dk_case_state_init(&s);
  dk_case_state_init(&t);
  assert_int_equal(dk_case_fold(e, 5, &cfg, &s), 0);
  assert_int_equal(s.conflicts_count, 1);

  struct dk_buf a, b;
  dk_buf_init(&a);
  dk_buf_init(&b);
  state_bytes(&s, &a);
  assert_int_equal(dk_case_state_decode(a.data, a.len, &t), 0);
  state_bytes(&t, &b);
  assert_int_equal(a.len, b.len);
  assert_memory_equal(a.data, b.data, a.len);
  assert_string_equal(t.summary, s.summary);
  assert_string_equal(t.parties[1], "Li Na");
  assert_int_equal(t.referral, DK_REFERRAL_LITIGATION);
  assert_int_equal(t.revisits[0].satisfaction, 2);
  assert_int_equal(t.deadline_ms, T0 + 1 + 3 * DAY);
  assert_int_equal(t.frontier_count, 2);

  /* The decoded lists can still grow. */
  struct dk_event n = mk_text(DK_EVENT_NOTE, T0 + 9, "n", "a", "Li", "");
  for (size_t i = 0; i < 10; i++) {
    n.id[0] = (uint8_t)i;
    assert_int_equal(dk_case_apply(&t, &cfg, &n), 0);
  }
  assert_int_equal(t.contacts_count, s.contacts_count + 10);
  dk_event_release(&n);

  /* Every prefix is refused; so is a later version. */
  for (size_t len = 0; len < a.len; len++) {
    int rc = dk_case_state_decode(a.data, len, &t);
    assert_true(rc == DK_EFORMAT || rc == DK_ELIMIT);
    assert_int_equal(t.events_count, 0);
  }
  assert_int_equal(a.data[0], 0xdc); /* array 16 header, then version 1 */
  assert_int_equal(a.data[3], 1);
  a.data[3] = 2;
  assert_int_equal(dk_case_state_decode(a.data, a.len, &t), DK_EVERSION);
  a.data[3] = 1;

  /* Random flips never crash and leave t empty on failure. */
  srand(777);
  for (int round = 0; round < 3000; round++) {
    dk_buf_reset(&b);
    dk_buf_append(&b, a.data, a.len);
    b.data[rand() % b.len] ^= (uint8_t)(1u << (rand() % 8));
    int rc = dk_case_state_decode(b.data, b.len, &t);
    if (rc != 0) {
      assert_null(t.contacts);
      assert_null(t.frontier);
    }
  }

  dk_buf_release(&a);
  dk_buf_release(&b);
  dk_case_state_release(&s);
  dk_case_state_release(&t);
  for (int i = 0; i < 5; i++)
    dk_event_release(&e[i]);
}

/* The report row: what a report reads, and nothing else; every prefix and
 * any trailing byte are refused, a later version is named, and flips never
 * crash or leave a half-filled state. */
static void report_row_codec(void **state) {
  (void)state;
  struct dk_case_config cfg = dk_case_config_default();
  struct dk_event e[4];
  e[0] = mk_open(DK_KIND_DISPUTE, T0, "open", "a");
  e[1] = mk(DK_EVENT_TRIAGE, T0 + 1, "t", "a", "");
  e[1].triage = DK_TRIAGE_JOINT;
  dep1(&e[1], &e[0]);
  e[2] = mk_text(DK_EVENT_FAIL, T0 + 2, "f", "a", "Zhao Lei", "refused");
  e[2].refer = DK_REFERRAL_ARBITRATION;
  dep1(&e[2], &e[1]);
  e[3] = mk_text(DK_EVENT_REVISIT, T0 + 3, "r", "a", "Zhao Lei", "");
  e[3].satisfaction = 3;
  dep1(&e[3], &e[2]);
  struct dk_case_state s, t;
  dk_case_state_init(&s);
  dk_case_state_init(&t);
  assert_int_equal(dk_case_fold(e, 4, &cfg, &s), 0);
  struct dk_buf a;
  dk_buf_init(&a);
  assert_int_equal(dk_case_report_encode(&s, &a), 0);
  assert_int_equal(dk_case_report_decode(a.data, a.len, &t), 0);
  assert_memory_equal(t.id, s.id, DK_CASE_ID_BYTES);
  assert_int_equal(t.opened, 1);
  assert_int_equal(t.kind, s.kind);
  assert_int_equal(t.triage, DK_TRIAGE_JOINT);
  assert_int_equal(t.status, s.status);
  assert_int_equal(t.outcome, DK_OUTCOME_FAILED);
  assert_int_equal(t.referral, DK_REFERRAL_ARBITRATION);
  assert_int_equal(t.deadline_ms, s.deadline_ms);
  assert_int_equal(t.opened_at_ms, s.opened_at_ms);
  assert_int_equal(t.outcome_at_ms, T0 + 2);
  assert_int_equal(t.updated_at_ms, s.updated_at_ms);
  assert_string_equal(t.office, s.office);
  assert_string_equal(t.category, s.category);
  assert_int_equal(t.revisits_count, 1);
  assert_int_equal(t.revisits[0].satisfaction, 3);
  assert_int_equal(t.contacts_count, s.contacts_count);
  for (size_t i = 0; i < s.contacts_count; i++) {
    assert_string_equal(t.contacts[i].person, s.contacts[i].person);
    assert_int_equal(t.contacts[i].at_ms, s.contacts[i].at_ms);
    assert_int_equal(t.contacts[i].type, s.contacts[i].type);
  }
  /* Nothing personal beyond the work log's names: no summary, parties. */
  assert_null(t.summary);
  assert_int_equal(t.parties_count, 0);

  for (size_t len = 0; len < a.len; len++) {
    assert_int_not_equal(dk_case_report_decode(a.data, len, &t), 0);
    assert_null(t.office);
    assert_null(t.contacts);
  }
  assert_int_equal(dk_buf_append(&a, "x", 1), 0);
  assert_int_equal(dk_case_report_decode(a.data, a.len, &t), DK_EFORMAT);
  a.len--;
  a.data[0] = 2;
  assert_int_equal(dk_case_report_decode(a.data, a.len, &t), DK_EVERSION);
  a.data[0] = 1;
  struct dk_buf b;
  dk_buf_init(&b);
  srand(778);
  for (int round = 0; round < 3000; round++) {
    dk_buf_reset(&b);
    dk_buf_append(&b, a.data, a.len);
    b.data[rand() % b.len] ^= (uint8_t)(1u << (rand() % 8));
    if (dk_case_report_decode(b.data, b.len, &t) != 0) {
      assert_null(t.office);
      assert_null(t.revisits);
      assert_null(t.contacts);
    }
  }
  dk_buf_release(&a);
  dk_buf_release(&b);
  dk_case_state_release(&s);
  dk_case_state_release(&t);
  for (int i = 0; i < 4; i++)
    dk_event_release(&e[i]);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(names_roundtrip),
      cmocka_unit_test(open_known_answer),
      cmocka_unit_test(roundtrip_every_type),
      cmocka_unit_test(encode_validates),
      cmocka_unit_test(decode_rejects_malformed),
      cmocka_unit_test(decode_mutations),
      cmocka_unit_test(status_machine_table),
      cmocka_unit_test(apply_lifecycle),
      cmocka_unit_test(close_rules_by_kind),
      cmocka_unit_test(fold_concurrent_branches),
      cmocka_unit_test(fold_resolve_vs_fail_conflict),
      cmocka_unit_test(fold_missing_deps_and_duplicates),
      cmocka_unit_test(fold_breaks_dep_cycles),
      cmocka_unit_test(fold_many_writers),
      cmocka_unit_test(state_codec),
      cmocka_unit_test(report_row_codec),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
