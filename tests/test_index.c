/*
 * The log-first store (node/log/log.h) and its indexers (node/ingest/index.h): ingest
 * only appends and the case indexer catches up after; a rebuild from the
 * log equals what was maintained step by step; a damaged derived table is
 * found by the check and mended by a rebuild; a format-1 store upgrades on
 * open and verifies; a store of a newer format is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "node/cases/erase.h"
#include "node/ingest/index.h"
#include "node/log/log.h"
#include "node/node_int.h"
#include "node/peers/peers_int.h"
#include "node/report/report.h"

#include "tests/lib/node_fixture.h"

/* The first map of the stores this test opens (common/fault.h); 0: the
 * default. */
static size_t map_bytes;
size_t dk_fault_map_bytes(void) { return map_bytes; }

struct fixture {
  char root[64];
  dk_node *lanxin, *beidu;
  uint8_t cases[3][DK_HASH_BYTES];
};

static void note(dk_node *n, const uint8_t *id, const char *text) {
  struct dk_event ev;
  dk_event_init(&ev);
  ev.type = DK_EVENT_NOTE;
  ev.at_ms = dk_node_now(n);
  ev.text = (char *)text;
  assert_int_equal(dk_node_case_append(n, id, &ev), 0);
}

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof(*f));
  strcpy(f->root, "/tmp/dk-index-XXXXXX");
  assert_non_null(mkdtemp(f->root));
  f->lanxin = make(f->root, "lanxin", "zhanhe/beidu/lanxin", DK_OFFICE_COMMUNITY, "LX");
  f->beidu = make(f->root, "beidu", "zhanhe/beidu", DK_OFFICE_STREET, "BD");
  /* Without a root a node stores only the logs it pinned. */
  pin(f->beidu, f->lanxin);
  pin(f->lanxin, f->beidu);
  struct dk_ingest_stats st;
  /* The street's log first, so that the community's cases are sealed to it. */
  assert_int_equal(move_log(f->beidu, f->lanxin, 1, &st), 0);
  open_case(f->lanxin, "Unpaid wages", "Chen Li", f->cases[0]);
  open_case(f->lanxin, "Noise at night", "Wang Fang", f->cases[1]);
  open_case(f->lanxin, "Pension question", "Zhao Min", f->cases[2]);
  note(f->lanxin, f->cases[0], "Called the employer");
  note(f->lanxin, f->cases[1], "Visited flat 302");
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  dk_node_close(f->lanxin);
  dk_node_close(f->beidu);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", f->root);
  if (system(cmd) != 0)
    return -1;
  free(f);
  return 0;
}

static uint64_t lag(dk_node *n) {
  uint64_t l = 99;
  assert_int_equal(dk_node_index_lag(n, &l), 0);
  return l;
}

static uint64_t diffs(dk_node *n) {
  uint64_t c = 99;
  assert_int_equal(dk_node_index_check(n, NULL, NULL, NULL, &c), 0);
  return c;
}

/* Local writes are indexed in their own commit: nothing lags. */
static void test_local_writes_indexed_at_once(void **state) {
  struct fixture *f = *state;
  assert_int_equal(lag(f->lanxin), 0);
  struct dk_case_state s;
  dk_case_state_init(&s);
  assert_int_equal(dk_node_case_get(f->lanxin, f->cases[0], &s), 0);
  assert_int_equal(s.events_count, 2);
  dk_case_state_release(&s);
  assert_int_equal(diffs(f->lanxin), 0);
}

/* A deferred ingest only appends: the cases appear when the indexer runs. */
static void test_deferred_ingest_then_indexer_catches_up(void **state) {
  struct fixture *f = *state;
  struct dk_ingest_stats st;
  dk_node_index_defer(f->beidu, 1);
  assert_int_equal(move_log(f->lanxin, f->beidu, 1, &st), 0);
  dk_node_index_defer(f->beidu, 0);
  assert_int_equal(st.stored, 6);
  assert_int_equal(lag(f->beidu), 6);
  struct dk_case_state s;
  dk_case_state_init(&s);
  assert_int_equal(dk_node_case_get(f->beidu, f->cases[0], &s), DK_ENOTFOUND);
  assert_int_equal(dk_node_index_run(f->beidu), 0);
  assert_int_equal(lag(f->beidu), 0);
  assert_int_equal(dk_node_case_get(f->beidu, f->cases[0], &s), 0);
  assert_int_equal(s.events_count, 2);
  assert_string_equal(s.office, "zhanhe/beidu/lanxin");
  dk_case_state_release(&s);
  /* What was derived step by step is what a rebuild from the log gives. */
  assert_int_equal(diffs(f->beidu), 0);
  struct dk_verify_report rep;
  assert_int_equal(dk_node_verify(f->beidu, NULL, NULL, NULL, &rep), 0);
  assert_int_equal(rep.problems, 0);
}

static int del_state_fn(struct dk_txn *t, void *arg) {
  return dk_txn_del(t, DK_T_CASES, arg, DK_HASH_BYTES);
}

static int del_event_fn(struct dk_txn *t, void *arg) {
  struct dk_iter it;
  int rc = dk_iter_open(t, DK_T_CASE_EVENTS, arg, DK_HASH_BYTES, &it);
  const uint8_t *k;
  size_t klen;
  uint8_t key[128];
  if (rc == 0)
    rc = dk_iter_next(&it, &k, &klen, NULL, NULL);
  if (rc == 0)
    memcpy(key, k, klen);
  dk_iter_close(&it);
  return rc == 0 ? dk_txn_del(t, DK_T_CASE_EVENTS, key, klen) : rc;
}

struct seen {
  int cases, case_events;
  uint8_t case_id[DK_HASH_BYTES];
};

static void on_diff(void *ctx, const struct dk_index_diff *d) {
  struct seen *s = ctx;
  if (strcmp(d->table, "cases") == 0)
    s->cases++;
  if (strcmp(d->table, "case_events") == 0)
    s->case_events++;
  if (d->case_id)
    memcpy(s->case_id, d->case_id, DK_HASH_BYTES);
}

/* Damage to derived state is named by table and case, and a rebuild
 * mends it. */
static void test_check_finds_and_rebuild_repairs(void **state) {
  struct fixture *f = *state;
  assert_int_equal(dk_store_write(f->lanxin->store, del_state_fn, f->cases[1]), 0);
  assert_int_equal(dk_store_write(f->lanxin->store, del_event_fn, f->cases[2]), 0);
  struct seen s = {0};
  uint64_t count = 0;
  assert_int_equal(dk_node_index_check(f->lanxin, on_diff, NULL, &s, &count), 0);
  assert_int_equal(count, 2);
  assert_int_equal(s.cases, 1);
  assert_int_equal(s.case_events, 1);
  assert_memory_equal(s.case_id, f->cases[2], DK_HASH_BYTES);
  /* The check threw its rebuild away: the damage is still there. */
  struct dk_case_state cs;
  dk_case_state_init(&cs);
  assert_int_equal(dk_node_case_get(f->lanxin, f->cases[1], &cs), DK_ENOTFOUND);
  assert_int_equal(dk_node_index_rebuild(f->lanxin), 0);
  assert_int_equal(diffs(f->lanxin), 0);
  assert_int_equal(dk_node_case_get(f->lanxin, f->cases[1], &cs), 0);
  assert_int_equal(cs.events_count, 2);
  dk_case_state_release(&cs);
}

/* An erased case: its bodies are gone, so its tombstone, number and
 * grants cannot be folded again; a rebuild keeps them and equals the
 * state the erasure left. */
static void test_erased_case_survives_rebuild(void **state) {
  struct fixture *f = *state;
  struct dk_erase_info info;
  assert_int_equal(dk_node_case_erase(f->lanxin, f->cases[0], "court order", &info), 0);
  assert_int_equal(diffs(f->lanxin), 0);
  assert_int_equal(dk_node_index_rebuild(f->lanxin), 0);
  assert_int_equal(diffs(f->lanxin), 0);
  struct dk_case_state s;
  dk_case_state_init(&s);
  assert_int_equal(dk_node_case_get(f->lanxin, f->cases[0], &s), 0);
  assert_true(s.erased_at_ms != 0);
  dk_case_state_release(&s);
}

/* The rows of the bodies table, kept aside. */
struct rows {
  uint8_t key[16][8];
  uint8_t *val[16];
  size_t len[16], count;
};

static int save_bodies_fn(struct dk_txn *t, void *arg) {
  struct rows *r = arg;
  struct dk_iter it;
  int rc = dk_iter_open(t, DK_T_BODIES, NULL, 0, &it);
  const uint8_t *k, *v;
  size_t klen, vlen;
  while (rc == 0 && (rc = dk_iter_next(&it, &k, &klen, &v, &vlen)) == 0 && r->count < 16) {
    if (klen != 8)
      continue;
    memcpy(r->key[r->count], k, 8);
    r->val[r->count] = malloc(vlen);
    memcpy(r->val[r->count], v, vlen);
    r->len[r->count++] = vlen;
  }
  dk_iter_close(&it);
  return rc == DK_ENOTFOUND ? 0 : rc;
}

static int restore_bodies_fn(struct dk_txn *t, void *arg) {
  struct rows *r = arg;
  int rc = 0;
  for (size_t i = 0; i < r->count && rc == 0; i++)
    rc = dk_txn_put(t, DK_T_BODIES, r->key[i], 8, r->val[i], r->len[i]);
  return rc;
}

static uint64_t bodies(dk_node *n) {
  struct dk_txn t;
  uint64_t c = 0;
  assert_int_equal(dk_store_read_begin(n->store, &t), 0);
  assert_int_equal(dk_txn_count(&t, DK_T_BODIES, &c), 0);
  dk_store_read_end(&t);
  return c;
}

static void on_bodies_diff(void *ctx, const struct dk_index_diff *d) {
  struct seen *s = ctx;
  if (strcmp(d->table, "bodies") == 0 && d->case_id) {
    s->cases++;
    memcpy(s->case_id, d->case_id, DK_HASH_BYTES);
  }
}

/* Bodies an honoured erasure covers, put back behind docket's back: the
 * check names the case (its rebuild may not delete them), and a rebuild
 * erases them again. */
static void test_unerased_bodies_named_and_erased_by_rebuild(void **state) {
  struct fixture *f = *state;
  struct rows r;
  memset(&r, 0, sizeof(r));
  assert_int_equal(dk_store_write(f->lanxin->store, save_bodies_fn, &r), 0);
  uint64_t before = bodies(f->lanxin);
  struct dk_erase_info info;
  assert_int_equal(dk_node_case_erase(f->lanxin, f->cases[0], "court order", &info), 0);
  uint64_t erased = bodies(f->lanxin);
  assert_true(erased < before);
  assert_int_equal(diffs(f->lanxin), 0);
  assert_int_equal(dk_store_write(f->lanxin->store, restore_bodies_fn, &r), 0);
  uint64_t restored = bodies(f->lanxin); /* the erase entry's body too */
  assert_int_equal(restored, before + 1);
  struct seen s;
  memset(&s, 0, sizeof(s));
  uint64_t count = 0;
  assert_int_equal(dk_node_index_check(f->lanxin, on_bodies_diff, NULL, &s, &count), 0);
  assert_int_equal(s.cases, 1);
  assert_memory_equal(s.case_id, f->cases[0], DK_HASH_BYTES);
  /* The check deleted nothing. */
  assert_int_equal(bodies(f->lanxin), restored);
  assert_int_equal(dk_node_index_rebuild(f->lanxin), 0);
  assert_int_equal(bodies(f->lanxin), erased);
  assert_int_equal(diffs(f->lanxin), 0);
  for (size_t i = 0; i < r.count; i++)
    free(r.val[i]);
}

/* ---- report rows ----------------------------------------------------------- */

static void step(dk_node *n, const uint8_t *id, enum dk_event_type type, const char *by) {
  struct dk_event ev;
  dk_event_init(&ev);
  ev.type = type;
  ev.at_ms = dk_node_now(n);
  ev.by = (char *)by;
  ev.triage = DK_TRIAGE_JOINT;
  ev.minutes = 45;
  ev.satisfaction = 4;
  ev.refer = DK_REFERRAL_LITIGATION;
  ev.text = (char *)"agreed in writing";
  assert_int_equal(dk_node_case_append(n, id, &ev), 0);
}

static int add_state(void *ctx, const struct dk_case_state *s) {
  return dk_report_add(ctx, s);
}

static void report_of(dk_node *n, int rows, enum dk_report_group g, struct dk_report *r) {
  struct dk_report_params p = {0, UINT64_MAX, dk_node_now(n) + 86400000ull * 400, g};
  dk_report_init(r, &p);
  assert_int_equal(rows ? dk_node_report_foreach(n, add_state, r)
                        : dk_node_case_foreach(n, add_state, r),
                   0);
  assert_int_equal(dk_report_finish(r), 0);
}

static void same_figures(const struct dk_report_figures *a, const struct dk_report_figures *b) {
  /* Field by field where NAN may stand (NAN != NAN), bytes for the rest. */
  assert_int_equal(a->opened, b->opened);
  assert_int_equal(a->closed, b->closed);
  assert_int_equal(a->mediated, b->mediated);
  assert_int_equal(a->agreed, b->agreed);
  assert_int_equal(a->failed, b->failed);
  assert_memory_equal(a->referrals, b->referrals, sizeof(a->referrals));
  assert_int_equal(a->revisits, b->revisits);
  assert_int_equal(a->major_closed, b->major_closed);
  assert_int_equal(a->major_revisited, b->major_revisited);
  assert_memory_equal(a->opened_by_kind, b->opened_by_kind, sizeof(a->opened_by_kind));
  assert_memory_equal(a->by_class, b->by_class, sizeof(a->by_class));
  assert_int_equal(a->overdue, b->overdue);
  assert_int_equal(a->closed_count, b->closed_count);
  assert_memory_equal(&a->median_days_to_close, &b->median_days_to_close, sizeof(double));
  assert_memory_equal(&a->mean_satisfaction, &b->mean_satisfaction, sizeof(double));
  assert_int_equal(a->escalated, b->escalated);
  assert_int_equal(a->erased, b->erased);
  assert_int_equal(a->last_entry_ms, b->last_entry_ms);
}

/* A report from the report rows gives the figures the whole states give:
 * sessions with people and minutes, an agreement, a failure with a
 * referral, a close, a revisit, an overdue case and an erased one. */
static void test_report_rows_give_the_same_figures(void **state) {
  struct fixture *f = *state;
  uint8_t extra[DK_HASH_BYTES];
  open_case(f->lanxin, "Boundary wall", "Sun Li", extra);
  step(f->lanxin, f->cases[0], DK_EVENT_TRIAGE, "Chen Gang");
  step(f->lanxin, f->cases[0], DK_EVENT_SESSION, "Chen Gang");
  step(f->lanxin, f->cases[0], DK_EVENT_RESOLVE, "Chen Gang");
  step(f->lanxin, f->cases[0], DK_EVENT_CLOSE, "Chen Gang");
  step(f->lanxin, f->cases[0], DK_EVENT_REVISIT, "Li Na");
  step(f->lanxin, f->cases[1], DK_EVENT_TRIAGE, "");
  step(f->lanxin, f->cases[1], DK_EVENT_SESSION, "Wang Min");
  step(f->lanxin, f->cases[1], DK_EVENT_FAIL, "Wang Min");
  step(f->lanxin, f->cases[2], DK_EVENT_TRIAGE, "Li Na"); /* overdue at the report's now */
  struct dk_erase_info info;
  assert_int_equal(dk_node_case_erase(f->lanxin, extra, "court order", &info), 0);
  for (int g = DK_REPORT_GROUP_NONE; g < DK_REPORT_GROUP_COUNT; g++) {
    struct dk_report a, b;
    report_of(f->lanxin, 0, (enum dk_report_group)g, &a);
    report_of(f->lanxin, 1, (enum dk_report_group)g, &b);
    assert_int_equal(a.cases_count, 4);
    assert_int_equal(b.cases_count, a.cases_count);
    same_figures(&a.total.figures, &b.total.figures);
    assert_int_equal(b.rows_count, a.rows_count);
    for (size_t i = 0; i < a.rows_count; i++) {
      assert_string_equal(a.rows[i].key, b.rows[i].key);
      same_figures(&a.rows[i].figures, &b.rows[i].figures);
    }
    assert_int_equal(a.people_count, 3);
    assert_int_equal(b.people_count, a.people_count);
    for (size_t i = 0; i < a.people_count; i++) {
      assert_string_equal(a.people[i].name, b.people[i].name);
      assert_int_equal(a.people[i].contacts, b.people[i].contacts);
      assert_int_equal(a.people[i].minutes, b.people[i].minutes);
    }
    /* What the fixture did shows in the figures (the test is not vacuous). */
    assert_int_equal(b.total.figures.agreed, 1);
    assert_int_equal(b.total.figures.failed, 1);
    assert_int_equal(b.total.figures.revisits, 1);
    assert_int_equal(b.total.figures.erased, 1);
    assert_true(b.total.figures.overdue >= 1);
    dk_report_release(&a);
    dk_report_release(&b);
  }
}

static int damage_row_fn(struct dk_txn *t, void *arg) {
  static const uint8_t junk[80] = {1, 2, 3};
  return dk_txn_put(t, DK_T_REPORT, arg, DK_HASH_BYTES, junk, sizeof(junk));
}

static int forget_rows_fn(struct dk_txn *t, void *arg) {
  (void)arg;
  int rc = dk_txn_clear(t, DK_T_REPORT);
  if (rc == 0)
    rc = dk_txn_del(t, DK_T_META, "report_rows.v", strlen("report_rows.v"));
  return rc;
}

static void on_report_diff(void *ctx, const struct dk_index_diff *d) {
  if (strcmp(d->table, "report_rows") == 0)
    (*(int *)ctx)++;
}

static int count_case(void *ctx, const struct dk_case_state *s) {
  (void)s;
  (*(int *)ctx)++;
  return 0;
}

/* A damaged report row fails the report instead of miscounting, is named
 * by the check, and a rebuild mends it; a store from before the rows
 * existed gets them at its first unlocked open. */
static void test_report_rows_checked_repaired_and_filled(void **state) {
  struct fixture *f = *state;
  assert_int_equal(dk_store_write(f->lanxin->store, damage_row_fn, f->cases[1]), 0);
  int cases = 0;
  assert_int_not_equal(dk_node_report_foreach(f->lanxin, count_case, &cases), 0);
  int seen = 0;
  uint64_t count = 0;
  assert_int_equal(dk_node_index_check(f->lanxin, on_report_diff, NULL, &seen, &count), 0);
  assert_int_equal(seen, 1);
  assert_int_equal(dk_node_index_rebuild(f->lanxin), 0);
  assert_int_equal(diffs(f->lanxin), 0);
  cases = 0;
  assert_int_equal(dk_node_report_foreach(f->lanxin, count_case, &cases), 0);
  assert_int_equal(cases, 3);

  assert_int_equal(dk_store_write(f->lanxin->store, forget_rows_fn, NULL), 0);
  char dir[128];
  snprintf(dir, sizeof(dir), "%s/lanxin", f->root);
  dk_node_close(f->lanxin);
  assert_int_equal(dk_node_open(dir, PASS, strlen(PASS), &f->lanxin), 0);
  assert_int_equal(diffs(f->lanxin), 0);
  cases = 0;
  assert_int_equal(dk_node_report_foreach(f->lanxin, count_case, &cases), 0);
  assert_int_equal(cases, 3);
}


static int damage_counter_fn(struct dk_txn *t, void *arg) {
  (void)arg;
  /* The counter of this year, three bytes long (as random bytes in its
   * page left it), and a stray trust row. */
  struct dk_iter it;
  const uint8_t *k;
  size_t klen;
  uint8_t key[64];
  size_t kl = 0;
  int rc = dk_iter_open(t, DK_T_COUNTERS, NULL, 0, &it);
  if (rc == 0 && (rc = dk_iter_next(&it, &k, &klen, NULL, NULL)) == 0 && klen <= sizeof(key)) {
    memcpy(key, k, klen);
    kl = klen;
  }
  dk_iter_close(&it);
  if (rc != 0 || kl == 0)
    return rc != 0 ? rc : DK_ENOTFOUND;
  rc = dk_txn_put(t, DK_T_COUNTERS, key, kl, "\x01\x02\x03", 3);
  uint8_t tk[1 + 2 * DK_HASH_BYTES] = {'C'};
  if (rc == 0)
    rc = dk_txn_put(t, DK_T_TRUST, tk, sizeof(tk), "junk", 4);
  return rc;
}

static void on_table_diff(void *ctx, const struct dk_index_diff *d) {
  int *seen = ctx;
  seen[0] += strcmp(d->table, "counters") == 0;
  seen[1] += strcmp(d->table, "trust") == 0;
}

/* The office counters and the trust view are derived state too: a
 * damaged counter (which made 'case open' fail) and a trust row no root
 * statement gives are named by the check, and a rebuild mends them. */
static void test_counters_and_trust_checked_and_repaired(void **state) {
  struct fixture *f = *state;
  assert_int_equal(dk_store_write(f->lanxin->store, damage_counter_fn, NULL), 0);
  uint8_t id[DK_HASH_BYTES];
  struct dk_event ev;
  dk_event_init(&ev);
  ev.type = DK_EVENT_OPEN;
  ev.kind = DK_KIND_CONSULTATION;
  ev.at_ms = dk_node_now(f->lanxin);
  ev.text = (char *)"Pension question";
  char number[DK_CASE_NUMBER_BYTES];
  assert_int_not_equal(dk_node_case_open(f->lanxin, &ev, id, number), 0);
  int seen[2] = {0, 0};
  uint64_t count = 0;
  assert_int_equal(dk_node_index_check(f->lanxin, on_table_diff, NULL, seen, &count), 0);
  assert_int_equal(seen[0], 1);
  assert_int_equal(seen[1], 1);
  assert_int_equal(dk_node_index_rebuild(f->lanxin), 0);
  assert_int_equal(diffs(f->lanxin), 0);
  /* The next number follows the three cases of the fixture. */
  assert_int_equal(dk_node_case_open(f->lanxin, &ev, id, number), 0);
  assert_non_null(strstr(number, "-0004"));
}

/* ---- format 1 ------------------------------------------------------------ */

/* Rewrites a format-2 store into format 1 as the code before format 2 kept
 * it: entries and bodies under log || seq, an id index per entry, no runs,
 * no case-open map, no indexer cursor. The derived tables stay (format 1
 * kept them complete). */
static void to_format1(const char *dir) {
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi pe, pb, runs, opens, idx, meta, oe, ob, oi;
  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
  assert_int_equal(mdb_env_set_mapsize(env, 1 << 28), 0);
  assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
  assert_int_equal(mdb_dbi_open(txn, "log_entries", 0, &pe), 0);
  assert_int_equal(mdb_dbi_open(txn, "log_bodies", 0, &pb), 0);
  assert_int_equal(mdb_dbi_open(txn, "runs", 0, &runs), 0);
  assert_int_equal(mdb_dbi_open(txn, "case_opens", 0, &opens), 0);
  assert_int_equal(mdb_dbi_open(txn, "indexers", 0, &idx), 0);
  assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
  assert_int_equal(mdb_dbi_open(txn, "entries", MDB_CREATE, &oe), 0);
  assert_int_equal(mdb_dbi_open(txn, "bodies", MDB_CREATE, &ob), 0);
  assert_int_equal(mdb_dbi_open(txn, "ids", MDB_CREATE, &oi), 0);
  MDB_cursor *cur;
  assert_int_equal(mdb_cursor_open(txn, pe, &cur), 0);
  MDB_val k, v;
  int n = 0;
  while (mdb_cursor_get(cur, &k, &v, n++ ? MDB_NEXT : MDB_FIRST) == 0) {
    struct dk_entry e;
    assert_int_equal(dk_log_decode_stored(v.mv_data, v.mv_size, &e), 0);
    uint8_t lk[DK_LOGKEY_BYTES];
    dk_logkey(lk, e.h.log, e.h.seq);
    MDB_val key = {sizeof(lk), lk}, id = {DK_HASH_BYTES, e.id}, body;
    assert_int_equal(mdb_put(txn, oe, &key, &v, 0), 0);
    assert_int_equal(mdb_put(txn, oi, &id, &key, 0), 0);
    if (mdb_get(txn, pb, &k, &body) == 0)
      assert_int_equal(mdb_put(txn, ob, &key, &body, 0), 0);
  }
  mdb_cursor_close(cur);
  assert_int_equal(mdb_drop(txn, pe, 1), 0);
  assert_int_equal(mdb_drop(txn, pb, 1), 0);
  assert_int_equal(mdb_drop(txn, runs, 1), 0);
  assert_int_equal(mdb_drop(txn, opens, 1), 0);
  assert_int_equal(mdb_drop(txn, idx, 1), 0);
  MDB_val fk = {6, "format"}, fv = {1, "1"};
  assert_int_equal(mdb_put(txn, meta, &fk, &fv, 0), 0);
  assert_int_equal(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

static void set_format(const char *dir, const char *fmt) {
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi meta;
  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
  assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
  assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
  MDB_val fk = {6, "format"}, fv = {strlen(fmt), (void *)fmt};
  assert_int_equal(mdb_put(txn, meta, &fk, &fv, 0), 0);
  assert_int_equal(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

/* What the node logs while it opens. */
struct heard {
  int upgrading, moved, done;
};

static void hear(void *ctx, enum dk_log_level level, const char *msg) {
  struct heard *h = ctx;
  (void)level;
  if (strstr(msg, "upgrading the store from format 1"))
    h->upgrading++;
  if (strstr(msg, "entries moved"))
    h->moved++;
  if (strstr(msg, "upgrade done"))
    h->done++;
}

static void test_upgrade_from_format1(void **state) {
  struct fixture *f = *state;
  struct dk_ingest_stats st;
  assert_int_equal(move_log(f->lanxin, f->beidu, 1, &st), 0);
  char dir[128];
  snprintf(dir, sizeof(dir), "%s/beidu", f->root);
  dk_node_close(f->beidu);
  f->beidu = NULL;
  to_format1(dir);
  /* Opened locked first: the log moves, the derived tables stay, and the
   * progress reaches the log sink given to the open. */
  dk_node *n = NULL;
  struct heard h = {0, 0, 0};
  assert_int_equal(dk_node_open_logged(dir, NULL, 0, hear, &h, DK_LOG_INFO, &n), 0);
  assert_int_equal(h.upgrading, 1);
  assert_true(h.moved >= 1);
  assert_int_equal(h.done, 1);
  struct dk_verify_report rep;
  assert_int_equal(dk_node_verify(n, NULL, NULL, NULL, &rep), 0);
  assert_int_equal(rep.problems, 0);
  assert_int_equal(rep.entries, 1 + 6);
  dk_node_close(n);
  /* Unlocked: everything derived equals a rebuild, and the cases read. */
  assert_int_equal(dk_node_open(dir, PASS, strlen(PASS), &f->beidu), 0);
  assert_int_equal(lag(f->beidu), 0);
  assert_int_equal(diffs(f->beidu), 0);
  struct dk_case_state s;
  dk_case_state_init(&s);
  assert_int_equal(dk_node_case_get(f->beidu, f->cases[1], &s), 0);
  assert_int_equal(s.events_count, 2);
  dk_case_state_release(&s);
  uint8_t id[DK_HASH_BYTES];
  /* New entries still link on. */
  note(f->lanxin, f->cases[2], "Second visit");
  uint64_t seq;
  assert_int_equal(dk_node_log_head(f->beidu, dk_node_pk(f->lanxin), &seq, id), 0);
  assert_int_equal(move_log(f->lanxin, f->beidu, seq + 1, &st), 0);
  assert_int_equal(st.stored, 1);
  assert_int_equal(dk_node_verify(f->beidu, NULL, NULL, NULL, &rep), 0);
  assert_int_equal(rep.problems, 0);
}

/* A store that a newer docket wrote is refused, not guessed at. */
static void test_newer_format_refused(void **state) {
  struct fixture *f = *state;
  char dir[128];
  snprintf(dir, sizeof(dir), "%s/beidu", f->root);
  dk_node_close(f->beidu);
  f->beidu = NULL;
  set_format(dir, "3");
  dk_node *n = NULL;
  assert_int_equal(dk_node_open(dir, NULL, 0, &n), DK_EVERSION);
  assert_null(n);
  set_format(dir, "2");
  assert_int_equal(dk_node_open(dir, PASS, strlen(PASS), &f->beidu), 0);
}

/* The check on a store whose rebuild does not fit the map it has: the map
 * grows between the check's transactions, never under an open read
 * transaction (which would see the file through a mapping that is gone,
 * and report the sound store as damaged). The rebuild's transactions stay
 * small, so its memory does not grow with the store. */
/* A value larger than any map left over: the map must grow for it. */
static int pad_fn(struct dk_txn *t, void *arg) {
  (void)arg;
  static uint8_t pad[4 << 20];
  return dk_txn_put(t, DK_T_META, "pad", 3, pad, sizeof(pad));
}

static void test_check_on_a_store_larger_than_its_map(void **state) {
  struct fixture *f = *state;
  char dir[128];
  snprintf(dir, sizeof(dir), "%s/small", f->root);
  map_bytes = 64 * 4096;
  dk_node *n = make(f->root, "small", "zhanhe/beidu/xinhe", DK_OFFICE_COMMUNITY, "XH");
  uint8_t id[DK_HASH_BYTES], first[DK_HASH_BYTES];
  char summary[64];
  for (int i = 0; i < 400; i++) {
    snprintf(summary, sizeof(summary), "Dispute over a shared wall, number %d", i);
    open_case(n, summary, "Liu Yang", id);
    note(n, id, "Both neighbours came to the office; a mediator was named");
    if (i == 0)
      memcpy(first, id, sizeof(first));
  }
  /* Opened again with a map of its used pages only (LMDB never maps less
   * than the file's pages): any rebuild must grow it. */
  dk_node_close(n);
  map_bytes = 4096;
  n = NULL;
  assert_int_equal(dk_node_open(dir, PASS, strlen(PASS), &n), 0);
  map_bytes = 0;
  assert_int_equal(diffs(n), 0);
  /* Damage is still found, and the rebuild mends it. */
  assert_int_equal(dk_store_write(n->store, del_state_fn, first), 0);
  struct seen s;
  memset(&s, 0, sizeof(s));
  uint64_t count = 0;
  assert_int_equal(dk_node_index_check(n, on_diff, NULL, &s, &count), 0);
  assert_true(count >= 1);
  assert_int_equal(s.cases, 1);
  assert_memory_equal(s.case_id, first, DK_HASH_BYTES);
  assert_int_equal(dk_node_index_rebuild(n), 0);
  assert_int_equal(diffs(n), 0);
  /* Nothing is left in the shadow tables. */
  struct dk_txn t;
  assert_int_equal(dk_store_read_begin(n->store, &t), 0);
  dk_txn_shadow(&t, 1);
  uint64_t rows = 99;
  assert_int_equal(dk_txn_count(&t, DK_T_CASES, &rows), 0);
  assert_int_equal(rows, 0);
  assert_int_equal(dk_txn_count(&t, DK_T_CASE_EVENTS, &rows), 0);
  assert_int_equal(rows, 0);
  /* A shadow view may read the log but never write it. */
  const uint8_t *k, *v;
  size_t klen, vlen;
  assert_int_equal(dk_txn_last(&t, DK_T_ENTRIES, &k, &klen, &v, &vlen), 0);
  dk_store_read_end(&t);
  dk_node_close(n);
  /* Under an open read transaction the map is not grown: the write that
   * needs it fails, and succeeds once the reader has ended. */
  map_bytes = 4096;
  n = NULL;
  assert_int_equal(dk_node_open(dir, PASS, strlen(PASS), &n), 0);
  map_bytes = 0;
  assert_int_equal(dk_store_read_begin(n->store, &t), 0);
  assert_int_equal(dk_store_write(n->store, pad_fn, NULL), DK_EMAPFULL);
  dk_store_read_end(&t);
  assert_int_equal(dk_store_write(n->store, pad_fn, NULL), 0);
  dk_node_close(n);
}

static int shadow_put_entry_fn(struct dk_txn *t, void *arg) {
  (void)arg;
  dk_txn_shadow(t, 1);
  return dk_txn_put(t, DK_T_ENTRIES, "\xff\xff\xff\xff\xff\xff\xff\xff", 8, "x", 1);
}

static void test_shadow_view_cannot_write_the_log(void **state) {
  struct fixture *f = *state;
  assert_int_equal(dk_store_shadow_open(f->lanxin->store), 0);
  assert_int_equal(dk_store_write(f->lanxin->store, shadow_put_entry_fn, NULL), DK_EROFS);
  assert_int_equal(diffs(f->lanxin), 0);
  struct dk_verify_report rep;
  assert_int_equal(dk_node_verify(f->lanxin, NULL, NULL, NULL, &rep), 0);
  assert_int_equal(rep.problems, 0);
}

struct raw_row {
  const char *key;
  struct dk_peer *p;
};

static int put_peer_row_fn(struct dk_txn *t, void *arg) {
  struct raw_row *r = arg;
  struct dk_buf b;
  dk_buf_init(&b);
  int rc = dk__peer_encode(r->p, &b);
  if (rc == 0)
    rc = dk_txn_put(t, DK_T_PEERS, r->key, strlen(r->key), b.data, b.len);
  dk_buf_release(&b);
  return rc;
}

/* A peer record read back is checked like one given at entry: filed under
 * its own name, with texts of UTF-8 and no control character. */
static void test_damaged_peer_records_refused(void **state) {
  struct fixture *f = *state;
  struct dk_peer p, got;
  memset(&p, 0, sizeof(p));
  strcpy(p.name, "xinhe");
  strcpy(p.office, "zhanhe/beidu/xinhe");
  p.role = DK_OFFICE_COMMUNITY;
  memset(p.key, 7, sizeof(p.key));
  struct raw_row r = {"xinhe", &p};
  assert_int_equal(dk_store_write(f->beidu->store, put_peer_row_fn, &r), 0);
  assert_int_equal(dk_node_peer_get(f->beidu, "xinhe", &got), 0);
  assert_string_equal(got.office, "zhanhe/beidu/xinhe");
  /* The same record under another name. */
  r.key = "xinhe2";
  assert_int_equal(dk_store_write(f->beidu->store, put_peer_row_fn, &r), 0);
  assert_int_equal(dk_node_peer_get(f->beidu, "xinhe2", &got), DK_EFORMAT);
  /* An office that is not UTF-8, an error with an escape sequence. */
  r.key = "xinhe";
  strcpy(p.office, "zhanhe/beidu/\xff");
  assert_int_equal(dk_store_write(f->beidu->store, put_peer_row_fn, &r), 0);
  assert_int_equal(dk_node_peer_get(f->beidu, "xinhe", &got), DK_EFORMAT);
  strcpy(p.office, "zhanhe/beidu/xinhe");
  strcpy(p.last_error, "refused: \x1b[2J");
  assert_int_equal(dk_store_write(f->beidu->store, put_peer_row_fn, &r), 0);
  assert_int_equal(dk_node_peer_get(f->beidu, "xinhe", &got), DK_EFORMAT);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_local_writes_indexed_at_once, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deferred_ingest_then_indexer_catches_up, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_check_finds_and_rebuild_repairs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_erased_case_survives_rebuild, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unerased_bodies_named_and_erased_by_rebuild, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_report_rows_give_the_same_figures, setup, teardown),
      cmocka_unit_test_setup_teardown(test_report_rows_checked_repaired_and_filled, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_counters_and_trust_checked_and_repaired, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_upgrade_from_format1, setup, teardown),
      cmocka_unit_test_setup_teardown(test_newer_format_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_check_on_a_store_larger_than_its_map, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_shadow_view_cannot_write_the_log, setup, teardown),
      cmocka_unit_test_setup_teardown(test_damaged_peer_records_refused, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
