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
#include <sys/stat.h>
#include <unistd.h>

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


/* Pages at the end of the file that LMDB allocated and freed in the same
 * transaction are never written: its last page number then lies past the
 * end of data.mdb, and the store is whole. Seen after `docket verify` (its
 * shadow tables are filled and emptied): the next open refused the store as
 * cut short. A file cut short over pages that are in use is still refused. */
static int many_rows_fn(struct dk_txn *t, void *arg) {
  (void)arg;
  uint8_t v[1000];
  memset(v, 0x5a, sizeof(v));
  int rc = 0;
  for (uint32_t i = 0; i < 2000 && rc == 0; i++) {
    uint8_t k[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
    rc = dk_txn_put(t, DK_T_REPORT, k, sizeof(k), v, sizeof(v));
  }
  return rc;
}

/* Frees every page of the table at once: the freelist record that lists
 * them takes pages while it is saved, and gives some back. */
static int clear_fn(struct dk_txn *t, void *arg) {
  (void)arg;
  return dk_txn_clear(t, DK_T_REPORT);
}

/* After a clear freed pages: a small put (LMDB takes back the freed pages
 * for this transaction), then a large value that fits none of them (new
 * pages at the end of the file), deleted again before the commit. LMDB
 * gives its pages back to the free list unwritten. */
static int tail_fn(struct dk_txn *t, void *arg) {
  (void)arg;
  static uint8_t big[256 * 1024];
  memset(big, 0x77, sizeof(big));
  int rc = dk_txn_put(t, DK_T_META, "small", 5, "v", 1);
  if (rc == 0)
    rc = dk_txn_put(t, DK_T_META, "big", 3, big, sizeof(big));
  if (rc == 0)
    rc = dk_txn_del(t, DK_T_META, "big", 3);
  return rc;
}

static int fill_fn(struct dk_txn *t, void *arg) {
  (void)arg;
  static uint8_t big[3000];
  memset(big, 0x33, sizeof(big));
  int rc = 0;
  for (uint32_t i = 1000; i < 1400 && rc == 0; i++)
    rc = dk_txn_put(t, DK_T_META, &i, sizeof(i), big, sizeof(big));
  return rc;
}

static long long file_bytes(const char *dir) {
  char path[256];
  snprintf(path, sizeof(path), "%s/data.mdb", dir);
  struct stat st;
  return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void free_tail_pages_are_not_a_short_file(void **state) {
  (void)state;
  char dir[] = "/tmp/dk-store-XXXXXX";
  assert_non_null(mkdtemp(dir));
  dk_store *s;
  assert_int_equal(dk_store_open(dir, DK_STORE_CREATE, &s), 0);
  assert_int_equal(dk_store_write(s, put_fn, "a"), 0);
  assert_int_equal(dk_store_write(s, many_rows_fn, NULL), 0);
  assert_int_equal(dk_store_write(s, clear_fn, NULL), 0);
  assert_int_equal(dk_store_write(s, tail_fn, NULL), 0);
  dk_store_close(s);
  assert_int_equal(dk_store_open(dir, 0, &s), 0);
  /* The case: LMDB's last page is past the end of the file. */
  uint64_t used = dk_store_used_bytes(s);
  long long size = file_bytes(dir);
  assert_true(size > 0 && (uint64_t)size < used);
  uint64_t damaged = 99;
  assert_int_equal(dk_store_check(s, NULL, NULL, &damaged), 0);
  assert_int_equal(damaged, 0);
  /* It stays usable: the free pages are taken again. */
  assert_int_equal(dk_store_write(s, put_fn, "b"), 0);
  dk_store_close(s);
  assert_int_equal(dk_store_open(dir, 0, &s), 0);
  assert_int_equal(dk_store_write(s, fill_fn, NULL), 0);
  dk_store_close(s);

  /* Cut short over pages in use: refused. */
  char path[256];
  snprintf(path, sizeof(path), "%s/data.mdb", dir);
  size = file_bytes(dir);
  assert_int_equal(truncate(path, size - 8 * 4096), 0);
  assert_int_equal(dk_store_open(dir, 0, &s), DK_EDAMAGED);
  char cmd[64];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(stale_snapshot_is_not_damage),
      cmocka_unit_test(free_tail_pages_are_not_a_short_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
