/* Revocation on the ingest path (issue: trust that cannot be fooled), on
 * real nodes with one test clock, entries moved by hand as the sync core
 * moves them:
 *  - a revocation that arrives in the same batch as the revoked log's later
 *    entries applies to that batch, wherever in the batch it stands, and the
 *    other logs' entries of the batch are stored;
 *  - a street that stored such entries before it learnt of the revocation
 *    stops offering them, and relaying what it does offer never fails;
 *  - within one run of a log's entries, each entry needs a certificate in
 *    force at its own time: one that ended does not carry over to the next
 *    entry, and the certificate that takes over is found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "node/node.h"
#include "node/trust/trust.h"

#include "tests/lib/node_fixture.h"

#define DAY_MS 86400000ull

static uint64_t test_now;
static uint64_t now_fn(void *ctx) {
  (void)ctx;
  return test_now;
}

struct fixture {
  char root_dir[64];
  struct dk_identity root;
  dk_node *zhanhe, *beidu, *late, *lanxin, *xinhe;
};

static void certify_span(struct fixture *f, dk_node *n, const char *role, uint64_t not_before,
                         uint64_t not_after) {
  struct dk_statement s;
  memset(&s, 0, sizeof(s));
  s.type = DK_ENTRY_CERT;
  memcpy(s.key, dk_node_pk(n), DK_PK_BYTES);
  snprintf(s.office, sizeof(s.office), "%s", dk_node_config(n)->office);
  snprintf(s.role, sizeof(s.role), "%s", role);
  s.not_before_ms = not_before;
  s.not_after_ms = not_after;
  memcpy(s.root, f->root.pk, DK_PK_BYTES);
  assert_int_equal(dk_node_statement_append(f->zhanhe, &f->root, &s), 0);
}

static void certify(struct fixture *f, dk_node *n, const char *role) {
  struct dk_statement s;
  memset(&s, 0, sizeof(s));
  s.type = DK_ENTRY_CERT;
  memcpy(s.key, dk_node_pk(n), DK_PK_BYTES);
  snprintf(s.office, sizeof(s.office), "%s", dk_node_config(n)->office);
  snprintf(s.role, sizeof(s.role), "%s", role);
  s.not_before_ms = test_now - DAY_MS;
  s.not_after_ms = test_now + 365 * DAY_MS;
  memcpy(s.root, f->root.pk, DK_PK_BYTES);
  assert_int_equal(dk_node_statement_append(f->zhanhe, &f->root, &s), 0);
}

static void revoke(struct fixture *f, dk_node *n, uint64_t at_ms) {
  struct dk_statement s;
  memset(&s, 0, sizeof(s));
  s.type = DK_ENTRY_REVOKE;
  memcpy(s.key, dk_node_pk(n), DK_PK_BYTES);
  s.revoked_at_ms = at_ms;
  snprintf(s.reason, sizeof(s.reason), "laptop stolen");
  memcpy(s.root, f->root.pk, DK_PK_BYTES);
  assert_int_equal(dk_node_statement_append(f->zhanhe, &f->root, &s), 0);
}

static uint64_t head(dk_node *at, dk_node *log) {
  uint64_t seq = 0;
  uint8_t id[32];
  int rc = dk_node_log_head(at, dk_node_pk(log), &seq, id);
  assert_true(rc == 0 || rc == DK_ENOTFOUND);
  return rc == 0 ? seq : 0;
}

/* Appends log's entries [from, to] as held at `from_node` to b. */
static void add_range(struct batch *b, dk_node *from_node, dk_node *log, uint64_t from,
                      uint64_t to) {
  assert_true(to >= from);
  size_t before = b->n;
  assert_int_equal(
      dk_node_log_read(from_node, dk_node_pk(log), from, to - from + 1, 1 << 20, collect, b), 0);
  assert_int_equal(b->n - before, to - from + 1);
}

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof(*f));
  strcpy(f->root_dir, "/tmp/dk-revoke-XXXXXX");
  assert_non_null(mkdtemp(f->root_dir));
  uint8_t seed[DK_SEED_BYTES];
  memset(seed, 0x42, sizeof(seed));
  assert_int_equal(dk_identity_from_seed(&f->root, seed), 0);
  f->zhanhe = make(f->root_dir, "zhanhe", "zhanhe", DK_OFFICE_DISTRICT, "ZH");
  f->beidu = make(f->root_dir, "beidu", "zhanhe/beidu", DK_OFFICE_STREET, "BD");
  /* A second node of the same street (a replacement PC, certified too),
   * that learns of the revocation late. */
  f->late = make(f->root_dir, "late", "zhanhe/beidu", DK_OFFICE_STREET, "BL");
  f->lanxin = make(f->root_dir, "lanxin", "zhanhe/beidu/lanxin", DK_OFFICE_COMMUNITY, "LX");
  f->xinhe = make(f->root_dir, "xinhe", "zhanhe/beidu/xinhe", DK_OFFICE_COMMUNITY, "XH");
  /* One clock for all, after the office entries init wrote. */
  test_now = (uint64_t)time(NULL) * 1000 + 60000;
  dk_node *all[] = {f->zhanhe, f->beidu, f->late, f->lanxin, f->xinhe};
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
    dk_node_set_clock(all[i], now_fn, NULL);
    assert_int_equal(dk_node_set_root(all[i], f->root.pk), 0);
  }
  certify(f, f->zhanhe, "district");
  certify(f, f->beidu, "street");
  certify(f, f->late, "street");
  certify(f, f->lanxin, "community");
  certify(f, f->xinhe, "community");
  struct dk_ingest_stats st;
  dk_node *below[] = {f->beidu, f->late, f->lanxin, f->xinhe};
  for (size_t i = 0; i < sizeof(below) / sizeof(below[0]); i++) {
    assert_int_equal(move_log(f->zhanhe, below[i], 1, &st), 0);
    assert_int_equal(st.refused, 0);
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  dk_node_close(f->zhanhe);
  dk_node_close(f->beidu);
  dk_node_close(f->late);
  dk_node_close(f->lanxin);
  dk_node_close(f->xinhe);
  dk_identity_release(&f->root);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", f->root_dir);
  if (system(cmd) != 0)
    return -1;
  free(f);
  return 0;
}

struct offered {
  const uint8_t *log;
  uint64_t seq;
  int seen;
};

static int offered_cb(void *ctx, const uint8_t log[DK_PK_BYTES], uint64_t seq,
                      const uint8_t id[DK_HASH_BYTES], const char *office) {
  struct offered *o = ctx;
  (void)id;
  (void)office;
  if (memcmp(log, o->log, DK_PK_BYTES) == 0) {
    o->seq = seq;
    o->seen = 1;
  }
  return 0;
}

/* What `at` offers of log's entries to a peer (dk_node_log_heads is what
 * the sync and bundle senders plan from): its head, or 0 when not offered. */
static uint64_t offered(dk_node *at, dk_node *log) {
  struct offered o = {dk_node_pk(log), 0, 0};
  assert_int_equal(dk_node_log_heads(at, offered_cb, &o), 0);
  return o.seen ? o.seq : 0;
}

static int count_unauth(void *ctx, const struct dk_unauthorised_log *u) {
  struct dk_unauthorised_log *out = ctx;
  *out = *u;
  return 0;
}

/* The stolen laptop: lanxin writes case A, the district revokes lanxin's
 * key, then lanxin (not knowing) writes case B. Returns lanxin's head after
 * A; *zh_before gets the district's head before the revocation. */
static uint64_t stolen_laptop(struct fixture *f, uint8_t a[32], uint8_t b[32],
                              uint64_t *zh_before) {
  uint8_t x[32];
  test_now += 1000;
  open_case(f->lanxin, "Wages unpaid", "Gao Hui", a);
  open_case(f->xinhe, "Fence between two yards", "Wang Fang", x);
  uint64_t lx_good = head(f->lanxin, f->lanxin);
  *zh_before = head(f->zhanhe, f->zhanhe);
  test_now += 1000;
  revoke(f, f->lanxin, test_now);
  test_now += 1000;
  open_case(f->lanxin, "Forged by the thief", "Nobody", b);
  open_case(f->xinhe, "Noise at night", "Li Jun", x);
  assert_true(head(f->lanxin, f->lanxin) > lx_good);
  return lx_good;
}

static void revocation_in_the_same_batch(void **state) {
  struct fixture *f = *state;
  uint8_t a[32], b[32];
  uint64_t zh_before;
  uint64_t lx_good = stolen_laptop(f, a, b, &zh_before);
  uint64_t lx_head = head(f->lanxin, f->lanxin), xh_head = head(f->xinhe, f->xinhe);
  uint64_t zh_head = head(f->zhanhe, f->zhanhe);

  /* One batch: lanxin's whole log first, then xinhe's, then the district's
   * revocation last, so that a check entry by entry would store lanxin's
   * tail before it reads the revocation. */
  struct batch bt = {0};
  add_range(&bt, f->lanxin, f->lanxin, 1, lx_head);
  add_range(&bt, f->xinhe, f->xinhe, 1, xh_head);
  add_range(&bt, f->zhanhe, f->zhanhe, zh_before + 1, zh_head);
  struct dk_ingest_stats st;
  assert_int_equal(dk_node_ingest(f->beidu, bt.e, bt.n, &st), 0);
  batch_free(&bt);

  /* Only lanxin's entries after its revocation are refused, and named. */
  assert_int_equal(st.refused, lx_head - lx_good);
  assert_int_equal(st.refused_why, DK_ECERT);
  assert_memory_equal(st.refused_log, dk_node_pk(f->lanxin), DK_PK_BYTES);
  assert_int_equal(st.stored, lx_good + xh_head + (zh_head - zh_before));
  assert_int_equal(head(f->beidu, f->lanxin), lx_good);
  assert_int_equal(head(f->beidu, f->xinhe), xh_head);
  assert_int_equal(head(f->beidu, f->zhanhe), zh_head);
  struct dk_case_state s;
  dk_case_state_init(&s);
  assert_int_equal(dk_node_case_get(f->beidu, a, &s), 0);
  assert_string_equal(s.summary, "Wages unpaid");
  dk_case_state_release(&s);
  dk_case_state_init(&s);
  assert_int_equal(dk_node_case_get(f->beidu, b, &s), DK_ENOTFOUND);
  dk_case_state_release(&s);

  /* The same batch again: the refused tail is refused again, the rest is
   * already held; never an error that would stop a sync for good. */
  bt.n = 0;
  add_range(&bt, f->lanxin, f->lanxin, lx_good + 1, lx_head);
  add_range(&bt, f->xinhe, f->xinhe, 1, xh_head);
  assert_int_equal(dk_node_ingest(f->beidu, bt.e, bt.n, &st), 0);
  batch_free(&bt);
  assert_int_equal(st.refused, lx_head - lx_good);
  assert_int_equal(st.stored, 0);
  assert_int_equal(st.duplicates, xh_head);

  /* Nothing unauthorised is held, so nothing is flagged. */
  struct dk_unauthorised_log u;
  memset(&u, 0, sizeof(u));
  assert_int_equal(dk_node_unauthorised_logs(f->beidu, count_unauth, &u), 0);
  assert_int_equal(u.head_seq, 0);
}

static void street_that_learnt_late(void **state) {
  struct fixture *f = *state;
  uint8_t a[32], b[32];
  uint64_t zh_before;
  uint64_t lx_good = stolen_laptop(f, a, b, &zh_before);
  uint64_t lx_head = head(f->lanxin, f->lanxin), xh_head = head(f->xinhe, f->xinhe);
  uint64_t zh_head = head(f->zhanhe, f->zhanhe);
  struct dk_ingest_stats st;

  /* The late street takes lanxin's whole log: it does not know yet. */
  assert_int_equal(move_log(f->lanxin, f->late, 1, &st), 0);
  assert_int_equal(st.stored, lx_head);
  assert_int_equal(st.refused, 0);
  assert_int_equal(move_log(f->xinhe, f->late, 1, &st), 0);
  assert_int_equal(offered(f->late, f->lanxin), lx_head);

  /* Then the revocation reaches it. */
  assert_int_equal(move_log(f->zhanhe, f->late, zh_before + 1, &st), 0);
  assert_int_equal(st.stored, zh_head - zh_before);

  /* It holds the tail, flags it, and offers lanxin's log only up to the
   * last authorised entry. */
  struct dk_unauthorised_log u;
  memset(&u, 0, sizeof(u));
  assert_int_equal(dk_node_unauthorised_logs(f->late, count_unauth, &u), 0);
  assert_memory_equal(u.log, dk_node_pk(f->lanxin), DK_PK_BYTES);
  assert_int_equal(u.first_seq, lx_good + 1);
  assert_int_equal(u.head_seq, lx_head);
  assert_int_equal(u.why, DK_ECERT);
  assert_int_equal(offered(f->late, f->lanxin), lx_good);
  assert_int_equal(offered(f->late, f->xinhe), xh_head);

  /* Relaying what it offers to the district: stored, nothing refused. */
  struct batch bt = {0};
  add_range(&bt, f->late, f->lanxin, 1, offered(f->late, f->lanxin));
  add_range(&bt, f->late, f->xinhe, 1, offered(f->late, f->xinhe));
  assert_int_equal(dk_node_ingest(f->zhanhe, bt.e, bt.n, &st), 0);
  batch_free(&bt);
  assert_int_equal(st.refused, 0);
  assert_int_equal(st.stored, lx_good + xh_head);
  /* After that, the late street has nothing more of lanxin to offer the
   * district: a next sync is idle, not a refusal repeated forever. */
  assert_int_equal(offered(f->late, f->lanxin), head(f->zhanhe, f->lanxin));

  /* Nor does it read the tail out to any sender. */
  bt.n = 0;
  assert_int_equal(dk_node_log_read(f->late, dk_node_pk(f->lanxin), lx_good + 1, 16, 1 << 20,
                                    collect, &bt),
                   0);
  assert_int_equal(bt.n, 0);

  /* The thief, or an older node, that still sends the tail: the district
   * refuses only it, and stores the rest of the batch. */
  uint8_t y[32];
  test_now += 1000;
  open_case(f->xinhe, "Deposit withheld", "Li Na", y);
  add_range(&bt, f->lanxin, f->lanxin, lx_good + 1, lx_head);
  add_range(&bt, f->xinhe, f->xinhe, xh_head + 1, head(f->xinhe, f->xinhe));
  assert_int_equal(dk_node_ingest(f->zhanhe, bt.e, bt.n, &st), 0);
  batch_free(&bt);
  assert_int_equal(st.refused, lx_head - lx_good);
  assert_int_equal(st.stored, head(f->xinhe, f->xinhe) - xh_head);
  assert_int_equal(head(f->zhanhe, f->lanxin), lx_good);
}

/* Hexi's first certificate ends and a second takes over; after that one
 * ends, hexi's entries are refused. All of it reaches the street in one
 * batch, hexi's log as one run. */
static void certificates_end_within_a_run(void **state) {
  struct fixture *f = *state;
  dk_node *hexi = make(f->root_dir, "hexi", "zhanhe/beidu/hexi", DK_OFFICE_COMMUNITY, "HX");
  dk_node_set_clock(hexi, now_fn, NULL);
  assert_int_equal(dk_node_set_root(hexi, f->root.pk), 0);
  uint64_t t = test_now, zh_before = head(f->zhanhe, f->zhanhe);
  certify_span(f, hexi, "community", t - DAY_MS, t + DAY_MS);
  certify_span(f, hexi, "community", t + DAY_MS, t + 3 * DAY_MS);
  uint64_t zh_head = head(f->zhanhe, f->zhanhe);
  /* A case under the first certificate, two under the second, one after. */
  const uint64_t at[4] = {t + 1000, t + DAY_MS + 1000, t + 2 * DAY_MS, t + 3 * DAY_MS + 1000};
  uint64_t heads[4];
  uint8_t x[32];
  for (int i = 0; i < 4; i++) {
    test_now = at[i];
    open_case(hexi, "Shared stairwell light broken", "Zhao Lei", x);
    heads[i] = head(hexi, hexi);
  }
  struct batch bt = {0};
  add_range(&bt, f->zhanhe, f->zhanhe, zh_before + 1, zh_head);
  add_range(&bt, hexi, hexi, 1, heads[3]);
  struct dk_ingest_stats st;
  assert_int_equal(dk_node_ingest(f->beidu, bt.e, bt.n, &st), 0);
  batch_free(&bt);
  assert_int_equal(st.stored, (zh_head - zh_before) + heads[2]);
  assert_int_equal(st.refused, heads[3] - heads[2]);
  assert_int_equal(st.refused_why, DK_EUNAUTH);
  assert_memory_equal(st.refused_log, dk_node_pk(hexi), DK_PK_BYTES);
  assert_int_equal(head(f->beidu, hexi), heads[2]);
  dk_node_close(hexi);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(revocation_in_the_same_batch, setup, teardown),
      cmocka_unit_test_setup_teardown(street_that_learnt_late, setup, teardown),
      cmocka_unit_test_setup_teardown(certificates_end_within_a_run, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
