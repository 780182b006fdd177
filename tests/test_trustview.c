/* The trust view read back from a damaged store (node/trust/trustview.c): a trust
 * record is a statement filed under kind || statement key || entry id, and a
 * record whose key or value was damaged answers for no key:
 *  - a flipped byte in a certificate's table key does not certify the key
 *    it now names (one the root never certified);
 *  - a flipped byte in the statement key inside the value does not leave
 *    the key it is filed under certified by a statement about another. */
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
#include "node/node_int.h"
#include "node/trust/trust.h"
#include "node/trust/trust_int.h"

#define DAY_MS 86400000ull

static uint64_t test_now;
static uint64_t now_fn(void *ctx) {
  (void)ctx;
  return test_now;
}

#define PASS "pw"

struct fixture {
  char dir[64];
  struct dk_identity root;
  dk_node *zhanhe;
};

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof(*f));
  strcpy(f->dir, "/tmp/dk-trustview-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  uint8_t seed[DK_SEED_BYTES];
  memset(seed, 0x42, sizeof(seed));
  assert_int_equal(dk_identity_from_seed(&f->root, seed), 0);
  char dir[128];
  snprintf(dir, sizeof(dir), "%s/zhanhe", f->dir);
  struct dk_node_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  strcpy(cfg.office, "zhanhe");
  strcpy(cfg.code, "ZH");
  cfg.role = DK_OFFICE_DISTRICT;
  uint8_t pk[DK_PK_BYTES];
  assert_int_equal(dk_node_create(dir, &cfg, PASS, strlen(PASS), pk), 0);
  assert_int_equal(dk_node_open(dir, PASS, strlen(PASS), &f->zhanhe), 0);
  test_now = (uint64_t)time(NULL) * 1000 + 60000;
  dk_node_set_clock(f->zhanhe, now_fn, NULL);
  assert_int_equal(dk_node_set_root(f->zhanhe, f->root.pk), 0);
  struct dk_statement s;
  memset(&s, 0, sizeof(s));
  s.type = DK_ENTRY_CERT;
  memcpy(s.key, dk_node_pk(f->zhanhe), DK_PK_BYTES);
  strcpy(s.office, "zhanhe");
  strcpy(s.role, "district");
  s.not_before_ms = test_now - DAY_MS;
  s.not_after_ms = test_now + 365 * DAY_MS;
  memcpy(s.root, f->root.pk, DK_PK_BYTES);
  assert_int_equal(dk_node_statement_append(f->zhanhe, &f->root, &s), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  dk_node_close(f->zhanhe);
  dk_identity_release(&f->root);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
  if (system(cmd) != 0)
    return -1;
  free(f);
  return 0;
}

/* Damages the one certificate record of key: a byte of its table key
 * (key_byte, 0 = the kind) or of its value (value_byte) xored with 0x01. */
struct damage {
  const uint8_t *key;
  long key_byte, value_byte;
};

static int damage_fn(struct dk_txn *t, void *arg) {
  struct damage *d = arg;
  uint8_t prefix[1 + DK_PK_BYTES];
  prefix[0] = 'C';
  memcpy(prefix + 1, d->key, DK_PK_BYTES);
  struct dk_iter it;
  int rc = dk_iter_open(t, DK_T_TRUST, prefix, sizeof(prefix), &it);
  if (rc != 0)
    return rc;
  const uint8_t *k, *v;
  size_t klen, vlen;
  uint8_t key[DK_TRUST_KEY_BYTES], val[1024];
  rc = dk_iter_next(&it, &k, &klen, &v, &vlen);
  if (rc == 0 && (klen != sizeof(key) || vlen > sizeof(val)))
    rc = DK_EFORMAT;
  if (rc == 0) {
    memcpy(key, k, klen);
    memcpy(val, v, vlen);
  }
  dk_iter_close(&it);
  if (rc != 0)
    return rc;
  /* A key cannot change in place in a B-tree: the record moves. */
  rc = dk_txn_del(t, DK_T_TRUST, key, sizeof(key));
  if (d->key_byte >= 0)
    key[d->key_byte] ^= 0x01;
  if (d->value_byte >= 0)
    val[d->value_byte] ^= 0x01;
  if (rc == 0)
    rc = dk_txn_put(t, DK_T_TRUST, key, sizeof(key), val, vlen);
  return rc;
}

/* Where the statement key sits in a certificate record's value: after the
 * seq (8), the array (1), "cert" (5), the version (1) and the bin header. */
#define CERT_VALUE_KEY_AT (8 + 1 + 5 + 1 + 2)

static void flipped_table_key_certifies_nobody(void **state) {
  struct fixture *f = *state;
  const uint8_t *zh = dk_node_pk(f->zhanhe);
  char office[DK_NAME_BYTES_MAX];
  enum dk_office_role role;
  assert_int_equal(dk_node_cert_valid(f->zhanhe, zh, test_now, office, &role), 0);
  assert_string_equal(office, "zhanhe");
  struct damage d = {zh, 1 + 5, -1};
  assert_int_equal(dk_store_write(f->zhanhe->store, damage_fn, &d), 0);
  uint8_t other[DK_PK_BYTES];
  memcpy(other, zh, DK_PK_BYTES);
  other[5] ^= 0x01;
  /* The record now sits under another key; the root certified no such key. */
  assert_int_equal(dk_node_cert_valid(f->zhanhe, other, test_now, office, &role), DK_ECERT);
  assert_int_equal(dk_node_cert_valid(f->zhanhe, zh, test_now, NULL, NULL), DK_ECERT);
}

static void flipped_statement_key_certifies_nobody(void **state) {
  struct fixture *f = *state;
  const uint8_t *zh = dk_node_pk(f->zhanhe);
  assert_int_equal(dk_node_cert_valid(f->zhanhe, zh, test_now, NULL, NULL), 0);
  struct damage d = {zh, -1, CERT_VALUE_KEY_AT + 3};
  assert_int_equal(dk_store_write(f->zhanhe->store, damage_fn, &d), 0);
  /* Filed under zh, the statement is now about another key. */
  assert_int_equal(dk_node_cert_valid(f->zhanhe, zh, test_now, NULL, NULL), DK_ECERT);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(flipped_table_key_certifies_nobody, setup, teardown),
      cmocka_unit_test_setup_teardown(flipped_statement_key_certifies_nobody, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
