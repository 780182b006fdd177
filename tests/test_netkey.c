/*
 * Network key rotation (node/trust/netkey.h): the rotation body, which keys are in
 * force when, and rotations arriving by ingest: applied when the district
 * published them, in the batch that also brings the district's certificate;
 * refused from a community; an old rotation brought again changes nothing;
 * an office certified after the rotation learns of it but gets no key.
 */
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
#include <time.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "lib/node_fixture.h"
#include "node/log/entry.h"
#include "node/trust/netkey.h"
#include "node/node.h"
#include "node/trust/trust.h"

static uint64_t T0;
static uint64_t fixed_clock(void *ctx) { return *(const uint64_t *)ctx; }

static void grant_for(struct dk_grant *g, uint8_t fill) {
  memset(g, fill, sizeof(*g));
}

static void body_roundtrip_and_strictness(void **state) {
  (void)state;
  struct dk_grant g[3];
  grant_for(&g[0], 0x33);
  grant_for(&g[1], 0x11);
  grant_for(&g[2], 0x22);
  struct dk_buf b;
  dk_buf_init(&b);
  assert_int_equal(dk_netkey_body_encode(12345, g, 3, &b), 0);
  uint64_t until = 0;
  size_t count = 0;
  int found = 0;
  uint8_t sealed[DK_SEALED_KEY_BYTES];
  uint8_t reader[DK_PK_BYTES];
  memset(reader, 0x22, sizeof(reader));
  assert_int_equal(dk_netkey_body_decode(b.data, b.len, reader, &until, &count, sealed, &found), 0);
  assert_int_equal(until, 12345);
  assert_int_equal(count, 3);
  assert_true(found);
  assert_int_equal(sealed[0], 0x22);
  memset(reader, 0x44, sizeof(reader));
  assert_int_equal(dk_netkey_body_decode(b.data, b.len, reader, NULL, NULL, sealed, &found), 0);
  assert_false(found);
  /* Every truncation is refused, never crashes. */
  for (size_t cut = 0; cut < b.len; cut++)
    assert_int_not_equal(dk_netkey_body_decode(b.data, cut, NULL, NULL, NULL, NULL, NULL), 0);
  dk_buf_release(&b);

  /* A reader twice, and no reader, are refused by the encoder. */
  grant_for(&g[0], 0x33);
  grant_for(&g[1], 0x33);
  dk_buf_init(&b);
  assert_int_equal(dk_netkey_body_encode(1, g, 2, &b), DK_EINVAL);
  assert_int_equal(dk_netkey_body_encode(1, g, 0, &b), DK_EINVAL);
  dk_buf_release(&b);

  /* Hand-made bodies: readers out of order, another version, another tag. */
  uint8_t pk_a[DK_PK_BYTES], pk_b[DK_PK_BYTES], s72[DK_SEALED_KEY_BYTES];
  memset(pk_a, 1, sizeof(pk_a));
  memset(pk_b, 2, sizeof(pk_b));
  memset(s72, 9, sizeof(s72));
  struct {
    const char *tag;
    uint64_t version;
    const uint8_t *first, *second;
    int want;
  } bad[] = {
      {"netkey", 1, pk_b, pk_a, DK_EFORMAT},
      {"netkey", 1, pk_a, pk_a, DK_EFORMAT},
      {"netkey", 2, pk_a, pk_b, DK_EVERSION},
      {"cert", 1, pk_a, pk_b, DK_EFORMAT},
      {"netkey", 1, pk_a, pk_b, 0},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    dk_buf_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, dk_buf_msgpack_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_str(&pk, strlen(bad[i].tag));
    msgpack_pack_str_body(&pk, bad[i].tag, strlen(bad[i].tag));
    msgpack_pack_uint64(&pk, bad[i].version);
    msgpack_pack_uint64(&pk, 99);
    msgpack_pack_array(&pk, 2);
    const uint8_t *keys[2] = {bad[i].first, bad[i].second};
    for (int k = 0; k < 2; k++) {
      msgpack_pack_array(&pk, 2);
      msgpack_pack_bin(&pk, DK_PK_BYTES);
      msgpack_pack_bin_body(&pk, keys[k], DK_PK_BYTES);
      msgpack_pack_bin(&pk, DK_SEALED_KEY_BYTES);
      msgpack_pack_bin_body(&pk, s72, DK_SEALED_KEY_BYTES);
    }
    assert_int_equal(dk_netkey_body_decode(b.data, b.len, NULL, NULL, NULL, NULL, NULL),
                     bad[i].want);
    dk_buf_release(&b);
  }
}

static void keys_in_force(void **state) {
  (void)state;
  struct dk_netkeys k;
  memset(&k, 0, sizeof(k));
  memset(k.old_key, 1, 32);
  memset(k.new_key, 2, 32);
  const uint8_t *u[2];
  /* No rotation: the one key, always. */
  assert_int_equal(dk_netkeys_usable(&k, UINT64_MAX, u), 1);
  assert_ptr_equal(u[0], k.old_key);
  k.has_new = 1;
  k.old_until_ms = 1000;
  /* Grace: the new key first, then the old one, up to and including the end. */
  assert_int_equal(dk_netkeys_usable(&k, 1000, u), 2);
  assert_ptr_equal(u[0], k.new_key);
  assert_ptr_equal(u[1], k.old_key);
  /* After: the new key only. */
  assert_int_equal(dk_netkeys_usable(&k, 1001, u), 1);
  assert_ptr_equal(u[0], k.new_key);
}

static dk_node *node(const char *root, const char *name, const char *office,
                     enum dk_office_role role, const char *code, uint64_t *clock,
                     const uint8_t netkey[32]) {
  dk_node *n = make(root, name, office, role, code);
  dk_node_set_clock(n, fixed_clock, clock);
  assert_int_equal(dk_node_set_network_key(n, netkey), 0);
  return n;
}

static void certify(dk_node *district, const struct dk_identity *root, dk_node *who,
                    const char *role) {
  struct dk_statement s;
  memset(&s, 0, sizeof(s));
  s.type = DK_ENTRY_CERT;
  memcpy(s.key, dk_node_pk(who), DK_PK_BYTES);
  memcpy(s.root, root->pk, DK_PK_BYTES);
  strcpy(s.office, dk_node_config(who)->office);
  strcpy(s.role, role);
  s.not_before_ms = T0;
  s.not_after_ms = T0 + 365 * DK_DAY_MS;
  assert_int_equal(dk_node_statement_append(district, root, &s), 0);
}

static void current_key(dk_node *n, uint8_t out[32]) {
  assert_int_equal(dk_node_network_key(n, out), 0);
}

/* A NETKEY entry at the head of n's own log, sealing key to reader, as a
 * node that is not the district could sign one. */
static void forge_rotation(dk_node *n, dk_node *reader, const uint8_t key[32], uint64_t at,
                           struct dk_entry *e, struct dk_buf *body) {
  uint64_t seq;
  uint8_t prev[DK_HASH_BYTES];
  assert_int_equal(dk_node_log_head(n, dk_node_pk(n), &seq, prev), 0);
  uint8_t shared[32];
  struct dk_grant g;
  memcpy(g.reader, dk_node_pk(reader), DK_PK_BYTES);
  assert_int_equal(dk_key_shared(dk_node_identity(n), dk_node_pk(reader), shared), 0);
  assert_int_equal(dk_key_wrap(shared, key, g.sealed), 0);
  dk_buf_init(body);
  assert_int_equal(dk_netkey_body_encode(at + 30 * DK_DAY_MS, &g, 1, body), 0);
  struct dk_header h;
  memset(&h, 0, sizeof(h));
  h.version = DK_ENTRY_VERSION;
  memcpy(h.log, dk_node_pk(n), DK_PK_BYTES);
  h.seq = seq + 1;
  h.has_prev = 1;
  memcpy(h.prev, prev, DK_HASH_BYTES);
  h.ts_ms = at;
  h.type = DK_ENTRY_NETKEY;
  h.body_bytes = body->len;
  dk_hash_plain(body->data, body->len, h.body_hash);
  assert_int_equal(dk_entry_seal(e, &h, dk_node_identity(n)), 0);
}

static void rotations_by_ingest(void **state) {
  (void)state;
  char dir[] = "/tmp/dk-netkey-XXXXXX";
  assert_non_null(mkdtemp(dir));
  T0 = (uint64_t)time(NULL) * 1000 + 60000; /* after the nodes' first entries */
  uint64_t clock = T0;
  uint8_t oldk[32], k[32], k1[32];
  randombytes_buf(oldk, 32);
  struct dk_identity root;
  assert_int_equal(dk_identity_generate(&root), 0);
  dk_node *zh = node(dir, "zhanhe", "zhanhe", DK_OFFICE_DISTRICT, "ZH", &clock, oldk);
  dk_node *lx = node(dir, "lanxin", "zhanhe/beidu/lanxin", DK_OFFICE_COMMUNITY, "LX", &clock, oldk);
  dk_node *xh = node(dir, "xinhe", "zhanhe/beidu/xinhe", DK_OFFICE_COMMUNITY, "XH", &clock, oldk);
  dk_node *late = node(dir, "late", "zhanhe/beidu/late", DK_OFFICE_COMMUNITY, "LT", &clock, oldk);
  dk_node *nodes[] = {zh, lx, xh, late};
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(dk_node_set_root(nodes[i], root.pk), 0);

  /* Before the district is certified it cannot rotate; nor can a community. */
  struct dk_netkey_rotate_result r;
  assert_int_equal(dk_node_netkey_rotate(zh, 30, &r), DK_ECERT);
  assert_int_equal(dk_node_netkey_rotate(lx, 30, &r), DK_ESCOPE);
  assert_int_equal(dk_node_netkey_rotate(zh, 0, &r), DK_EINVAL);
  assert_int_equal(dk_node_netkey_rotate(zh, DK_NETKEY_GRACE_DAYS_MAX + 1, &r), DK_EINVAL);
  certify(zh, &root, zh, "district");
  certify(zh, &root, lx, "community");
  certify(zh, &root, xh, "community");
  clock = T0 + 1000;
  assert_int_equal(dk_node_netkey_rotate(zh, 30, &r), 0);
  assert_int_equal(r.recipients, 3);
  assert_int_equal(r.old_until_ms, clock + 30 * DK_DAY_MS);
  current_key(zh, k1);
  assert_memory_not_equal(k1, oldk, 32);

  /* xinhe gets the district's whole log in one batch: the certificate of
   * the district and the rotation after it. */
  struct dk_ingest_stats st;
  assert_int_equal(move_log(zh, xh, 1, &st), 0);
  assert_int_equal(st.refused, 0);
  current_key(xh, k);
  assert_memory_equal(k, k1, 32);
  struct dk_netkey_rotation_info info;
  assert_int_equal(dk_node_netkey_rotation(xh, &info), 0);
  assert_true(info.have_new_key);
  assert_int_equal(info.old_until_ms, r.old_until_ms);
  struct dk_netkeys *keys = sodium_malloc(sizeof(*keys));
  assert_int_equal(dk_node_network_keys(xh, keys), 0);
  assert_true(keys->has_new);
  assert_memory_equal(keys->old_key, oldk, 32);

  /* A community signs a rotation in its own log: stored (its log is
   * certified), never applied. */
  assert_int_equal(move_log(zh, lx, 1, &st), 0);
  uint8_t forged[32];
  randombytes_buf(forged, 32);
  struct dk_entry fe;
  struct dk_buf fbody;
  clock = T0 + 2000;
  forge_rotation(lx, xh, forged, clock, &fe, &fbody);
  struct batch b = {0};
  assert_int_equal(dk_node_log_read(lx, dk_node_pk(lx), 1, 256, 1 << 20, collect, &b), 0);
  b.e[b.n] = (struct dk_raw_entry){fe.header_bytes, fe.header_len, fe.sig, fbody.data, fbody.len};
  b.n++;
  assert_int_equal(dk_node_ingest(xh, b.e, b.n, &st), 0);
  assert_int_equal(st.stored, b.n);
  b.n--; /* the last one is not malloc'd */
  batch_free(&b);
  dk_buf_release(&fbody);
  current_key(xh, k);
  assert_memory_equal(k, k1, 32);
  assert_int_equal(dk_node_network_keys(xh, keys), 0);
  assert_memory_equal(keys->old_key, oldk, 32); /* nothing moved */

  /* Not again during the first one's grace; after it, a second rotation;
   * then the first one brought again (the whole log, duplicates and all)
   * changes nothing: the second key stays. */
  clock = T0 + 3000;
  assert_int_equal(dk_node_netkey_rotate(zh, 10, &r), DK_EEXIST);
  assert_int_equal(r.old_until_ms, T0 + 1000 + 30 * DK_DAY_MS);
  clock = T0 + 1000 + 30 * DK_DAY_MS + 1;
  assert_int_equal(dk_node_netkey_rotate(zh, 10, &r), 0);
  uint8_t k2[32];
  current_key(zh, k2);
  assert_int_equal(move_log(zh, xh, 1, &st), 0);
  current_key(xh, k);
  assert_memory_equal(k, k2, 32);
  assert_int_equal(dk_node_network_keys(xh, keys), 0);
  assert_memory_equal(keys->old_key, k1, 32); /* the first rotation's key is now the old one */
  assert_int_equal(keys->old_until_ms, clock + 10 * DK_DAY_MS);
  assert_int_equal(move_log(zh, xh, 1, &st), 0);
  assert_int_equal(st.stored, 0);
  current_key(xh, k);
  assert_memory_equal(k, k2, 32);

  /* An office certified after the rotations learns of them, without a key. */
  assert_int_equal(move_log(zh, late, 1, &st), 0);
  current_key(late, k);
  assert_memory_equal(k, oldk, 32);
  assert_int_equal(dk_node_netkey_rotation(late, &info), 0);
  assert_false(info.have_new_key);

  sodium_free(keys);
  for (size_t i = 0; i < 4; i++)
    dk_node_close(nodes[i]);
  dk_identity_release(&root);
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  (void)open_case; /* from the fixture, unused here */
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(body_roundtrip_and_strictness),
      cmocka_unit_test(keys_in_force),
      cmocka_unit_test(rotations_by_ingest),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
