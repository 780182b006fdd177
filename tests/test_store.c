/*
 * The store's page walk (node/store/store.h) against a writer that moves on
 * while it reads: LMDB overwrites only its two meta pages under a reader,
 * and a walk whose snapshot's meta page was overwritten reports damage that
 * is not there. dk_store_check(), what opens and verify use, takes a fresh
 * snapshot and reports none; real damage it still reports (cli_pages).
 * The concurrent writer of the cli_replication failure (a 'case open' while
 * 'serve' committed, refused as a damaged store) is here a second commit
 * made in the same process while a read transaction stays open (the store
 * uses MDB_NOTLS), so the order of events is fixed, not raced.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "node/store/store.h"

static int put_fn(struct dk_txn *t, void *arg) {
  const char *k = arg;
  return dk_txn_put(t, DK_T_META, k, strlen(k), "value", 5);
}

static void stale_snapshot_is_not_damage(void **state) {
  (void)state;
  char dir[] = "/tmp/dk-store-XXXXXX";
  assert_non_null(mkdtemp(dir));
  dk_store *s;
  assert_int_equal(dk_store_open(dir, DK_STORE_CREATE, &s), 0);
  assert_int_equal(dk_store_write(s, put_fn, "a"), 0);
  uint64_t damaged = 99;
  assert_int_equal(dk_store_check(s, NULL, NULL, &damaged), 0);
  assert_int_equal(damaged, 0);

  /* A reader's snapshot, then two commits: the second one writes the meta
   * page that named the reader's snapshot. */
  struct dk_txn old;
  assert_int_equal(dk_store_read_begin(s, &old), 0);
  assert_int_equal(dk_store_check_pages(&old, NULL, NULL, &damaged), 0);
  assert_int_equal(damaged, 0);
  assert_int_equal(dk_store_write(s, put_fn, "b"), 0);
  assert_int_equal(dk_store_write(s, put_fn, "c"), 0);
  assert_int_equal(dk_store_check_pages(&old, NULL, NULL, &damaged), 0);
  assert_true(damaged > 0); /* what one walk alone would have reported */
  /* What opens and verify use: a fresh snapshot, no damage. */
  assert_int_equal(dk_store_check(s, NULL, NULL, &damaged), 0);
  assert_int_equal(damaged, 0);
  dk_store_read_end(&old);
  dk_store_close(s);
  char cmd[64];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(stale_snapshot_is_not_damage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
