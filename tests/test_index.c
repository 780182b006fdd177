/*
 * The log-first store (node/log.h) and its indexers (node/index.h): ingest
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
#include "node/erase.h"
#include "node/index.h"
#include "node/node_int.h"

#include "tests/lib/node_fixture.h"

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
  assert_int_equal(dk_node_index_check(n, NULL, NULL, &c), 0);
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
  assert_int_equal(dk_node_index_check(f->lanxin, on_diff, &s, &count), 0);
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

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_local_writes_indexed_at_once, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deferred_ingest_then_indexer_catches_up, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_check_finds_and_rebuild_repairs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_erased_case_survives_rebuild, setup, teardown),
      cmocka_unit_test_setup_teardown(test_upgrade_from_format1, setup, teardown),
      cmocka_unit_test_setup_teardown(test_newer_format_refused, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
