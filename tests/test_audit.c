/*
 * Audit bundles (node/audit.h): the known-answer bundle of docs/PROTOCOL.md
 * §11.4, built here byte by byte from the §10 entries, and the verifier
 * against it: it accepts it and decrypts it for the right reader, and every
 * truncation and every single-byte change makes it fail, never crash.
 *
 * The expected bytes are read from the "name = hex" lines of PROTOCOL.md.
 * DK_PRINT_VECTORS=1 prints the computed lines instead of comparing.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/mp.h"
#include "node/audit.h"
#include "node/entry.h"
#include "node/erase.h"

#define CREATED_MS 1735689780000ull /* 2025-01-01T00:03:00Z */

/* The value of the document's line "    name = hex" (malloc'd bytes). */
static uint8_t *doc_vector(const char *name, size_t *len) {
  FILE *f = fopen(DK_SOURCE_DIR "/docs/PROTOCOL.md", "rb");
  assert_non_null(f);
  char *line = malloc(1 << 16);
  assert_non_null(line);
  char want[80];
  snprintf(want, sizeof(want), "    %s = ", name);
  uint8_t *out = NULL;
  while (fgets(line, 1 << 16, f)) {
    if (strncmp(line, want, strlen(want)) != 0)
      continue;
    char *hex = line + strlen(want);
    hex[strcspn(hex, "\r\n")] = 0;
    size_t n = strlen(hex) / 2;
    out = malloc(n ? n : 1);
    assert_non_null(out);
    assert_int_equal(dk_unhex(hex, out, n), (int)n);
    *len = n;
    break;
  }
  fclose(f);
  free(line);
  if (out == NULL)
    fail_msg("docs/PROTOCOL.md has no vector '%s'", name);
  return out;
}

static void expect_doc(const char *name, const uint8_t *bytes, size_t len) {
  if (getenv("DK_PRINT_VECTORS")) {
    char *hex = malloc(len * 2 + 1);
    dk_hex(bytes, len, hex);
    printf("    %s = %s\n", name, hex);
    free(hex);
    return;
  }
  size_t dl;
  uint8_t *d = doc_vector(name, &dl);
  assert_int_equal(dl, len);
  assert_memory_equal(d, bytes, len);
  free(d);
}

static void node_identity(struct dk_identity *id) {
  uint8_t seed[DK_SEED_BYTES];
  memset(seed, 0x01, sizeof(seed));
  assert_int_equal(dk_identity_from_seed(id, seed), 0);
}

static void chunk(struct dk_buf *file, const struct dk_buf *c) {
  uint8_t lb[4];
  dk_be32_put(lb, (uint32_t)c->len);
  assert_int_equal(dk_buf_append(file, lb, 4), 0);
  assert_int_equal(dk_buf_append(file, c->data, c->len), 0);
}

static void pack_entry(msgpack_packer *pk, const char *header, const char *sig,
                       const char *body) {
  size_t hl, sl, bl;
  uint8_t *h = doc_vector(header, &hl), *s = doc_vector(sig, &sl), *b = doc_vector(body, &bl);
  assert_int_equal(msgpack_pack_array(pk, 3), 0);
  assert_int_equal(dk_mp_pack_bin(pk, h, hl), 0);
  assert_int_equal(dk_mp_pack_bin(pk, s, sl), 0);
  assert_int_equal(dk_mp_pack_bin(pk, b, bl), 0);
  free(h);
  free(s);
  free(b);
}

/* The §11.4 bundle: the three §10 entries of one log, the case key wrapped
 * for the node itself (the §10.2 wrapped key), no witness, no fork. */
static void build_vector_bundle(struct dk_buf *file, const struct dk_identity *id) {
  size_t cl, kl;
  uint8_t *case_id = doc_vector("entry2_id", &cl);
  uint8_t *sealed = doc_vector("entry2_sealed_key", &kl);
  assert_int_equal(cl, 32);
  assert_int_equal(kl, DK_SEALED_KEY_BYTES);
  struct dk_buf head, log;
  dk_buf_init(&head);
  dk_buf_init(&log);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &head, dk_buf_msgpack_write);
  msgpack_pack_array(&pk, 7);
  dk_mp_pack_str(&pk, "audit");
  msgpack_pack_uint64(&pk, 1);
  dk_mp_pack_bin(&pk, case_id, 32);
  msgpack_pack_uint64(&pk, CREATED_MS);
  dk_mp_pack_bin(&pk, id->pk, 32);
  msgpack_pack_nil(&pk);
  msgpack_pack_array(&pk, 2);
  dk_mp_pack_bin(&pk, id->pk, 32);
  dk_mp_pack_bin(&pk, sealed, DK_SEALED_KEY_BYTES);
  expect_doc("audit_head", head.data, head.len);

  msgpack_packer_init(&pk, &log, dk_buf_msgpack_write);
  msgpack_pack_array(&pk, 4);
  dk_mp_pack_str(&pk, "log");
  dk_mp_pack_bin(&pk, id->pk, 32);
  msgpack_pack_uint64(&pk, 1);
  msgpack_pack_array(&pk, 3);
  pack_entry(&pk, "entry1_header", "entry1_sig", "entry1_body");
  pack_entry(&pk, "entry2_header", "entry2_sig", "entry2_body");
  pack_entry(&pk, "entry3_header", "entry3_sig", "entry3_body");

  dk_buf_append(file, DK_AUDIT_MAGIC, 8);
  chunk(file, &head);
  chunk(file, &log);
  uint8_t zero[4] = {0, 0, 0, 0};
  dk_buf_append(file, zero, 4);
  uint8_t digest[32];
  /* BLAKE2b-256("docket/audit/v1" NUL || everything before the digest),
   * computed with libsodium directly, as another verifier would. */
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, 32);
  crypto_generichash_update(&st, (const uint8_t *)"docket/audit/v1", 16);
  crypto_generichash_update(&st, file->data, file->len);
  crypto_generichash_final(&st, digest, 32);
  expect_doc("audit_digest", digest, 32);
  dk_buf_append(file, digest, 32);
  expect_doc("audit_bundle", file->data, file->len);
  dk_buf_release(&head);
  dk_buf_release(&log);
  free(case_id);
  free(sealed);
}

static void vector_verifies(void **state) {
  struct dk_identity id;
  node_identity(&id);
  struct dk_buf file;
  dk_buf_init(&file);
  build_vector_bundle(&file, &id);

  struct dk_audit_result r;
  /* Without a key: everything verifies, nothing decrypts. */
  assert_int_equal(dk_audit_verify(file.data, file.len, NULL, &r), 0);
  assert_true(r.digest_ok);
  assert_int_equal(r.logs_count, 1);
  assert_int_equal(r.logs[0].last_seq, 3);
  assert_string_equal(r.logs[0].office, "zhanhe/beidu/lanxin");
  assert_string_equal(r.case_office, "zhanhe/beidu/lanxin");
  assert_int_equal(r.entries_checked, 3);
  assert_int_equal(r.bodies_checked, 3);
  assert_int_equal(r.entries_count, 2);
  assert_int_equal(r.unwitnessed, 2); /* no parent in this bundle */
  assert_false(r.key_used);
  assert_false(r.erased);
  dk_audit_result_release(&r);

  /* With the reader's identity: the wrapped key opens the events. */
  assert_int_equal(dk_audit_verify(file.data, file.len, &id, &r), 0);
  assert_true(r.key_used);
  assert_int_equal(r.entries_count, 2);
  assert_true(r.entries[0].decrypted);
  assert_int_equal(r.entries[0].ev.type, DK_EVENT_OPEN);
  assert_string_equal(r.entries[0].ev.number, "LX-2020-0042");
  assert_true(r.entries[1].decrypted);
  assert_int_equal(r.entries[1].ev.type, DK_EVENT_CLOSE);
  dk_audit_result_release(&r);

  /* Another identity gets the history but not the events. */
  struct dk_identity other;
  assert_int_equal(dk_identity_generate(&other), 0);
  assert_int_equal(dk_audit_verify(file.data, file.len, &other, &r), 0);
  assert_false(r.key_used);
  dk_audit_result_release(&r);
  dk_identity_release(&other);
  dk_identity_release(&id);
  dk_buf_release(&file);
}

/* Every strict prefix fails (DK_EFORMAT mostly), and nothing crashes. */
static void truncations_fail(void **state) {
  struct dk_identity id;
  node_identity(&id);
  struct dk_buf file;
  dk_buf_init(&file);
  build_vector_bundle(&file, &id);
  for (size_t n = 0; n < file.len; n++) {
    uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees any overread */
    memcpy(copy, file.data, n);
    struct dk_audit_result r;
    int rc = dk_audit_verify(copy, n, &id, &r);
    if (rc == 0)
      fail_msg("a bundle cut to %zu of %zu bytes verified", n, file.len);
    assert_true(r.failures_count >= 1);
    dk_audit_result_release(&r);
    free(copy);
  }
  dk_identity_release(&id);
  dk_buf_release(&file);
}

/* Every byte changed, in two ways, fails; a flip inside a signature names
 * the log, the seq and the check. */
static void every_byte_flip_fails(void **state) {
  struct dk_identity id;
  node_identity(&id);
  struct dk_buf file;
  dk_buf_init(&file);
  build_vector_bundle(&file, &id);
  uint8_t *copy = malloc(file.len);
  for (size_t i = 0; i < file.len; i++) {
    static const uint8_t masks[2] = {0x01, 0xff};
    for (int m = 0; m < 2; m++) {
      memcpy(copy, file.data, file.len);
      copy[i] ^= masks[m];
      struct dk_audit_result r;
      int rc = dk_audit_verify(copy, file.len, &id, &r);
      if (rc == 0)
        fail_msg("bundle with byte %zu ^ %02x verified", i, masks[m]);
      dk_audit_result_release(&r);
    }
  }
  /* Entry 2's signature: find it in the bundle and flip its first byte. */
  size_t sl;
  uint8_t *sig = doc_vector("entry2_sig", &sl);
  uint8_t *at = memmem(file.data, file.len, sig, sl);
  assert_non_null(at);
  memcpy(copy, file.data, file.len);
  copy[at - file.data] ^= 0x01;
  struct dk_audit_result r;
  assert_int_equal(dk_audit_verify(copy, file.len, &id, &r), DK_EBADSIG);
  assert_true(r.failures_count >= 1);
  assert_memory_equal(r.failures[0].log, id.pk, 32);
  assert_int_equal(r.failures[0].seq, 2);
  assert_string_equal(r.failures[0].what, "signature does not verify");
  dk_audit_result_release(&r);
  /* Entry 3's body: the body hash check names seq 3. */
  size_t bl;
  uint8_t *body = doc_vector("entry3_body", &bl);
  at = memmem(file.data, file.len, body, bl);
  assert_non_null(at);
  memcpy(copy, file.data, file.len);
  copy[at - file.data + bl / 2] ^= 0x20;
  assert_int_equal(dk_audit_verify(copy, file.len, &id, &r), DK_EBADBODY);
  assert_int_equal(r.failures[0].seq, 3);
  dk_audit_result_release(&r);
  free(body);
  free(sig);
  free(copy);
  dk_identity_release(&id);
  dk_buf_release(&file);
}

/* Hostile containers: a huge declared count, garbage chunks. */
static void hostile_inputs_fail(void **state) {
  static const uint8_t bomb[] = {'D', 'K', 'A', 'U', 'D', 'I', 'T', 1,   0,    0,    0,
                                 7,   0xdd, 0x9e, 0xf5, 0x1f, 0x0a, 0, 0, 0,   0,    0};
  uint8_t file[sizeof(bomb) + 32];
  memcpy(file, bomb, sizeof(bomb));
  memset(file + sizeof(bomb), 0, 32);
  struct dk_audit_result r;
  assert_int_not_equal(dk_audit_verify(file, sizeof(file), NULL, &r), 0);
  dk_audit_result_release(&r);
  assert_int_equal(dk_audit_verify((const uint8_t *)"", 0, NULL, &r), DK_EFORMAT);
  dk_audit_result_release(&r);
}

static void erase_block(void **state) {
  struct dk_buf b;
  dk_buf_init(&b);
  assert_int_equal(dk_erase_body_encode("court order", &b), 0);
  char reason[64];
  assert_int_equal(dk_erase_body_decode(b.data, b.len, reason, sizeof(reason)), 0);
  assert_string_equal(reason, "court order");
  /* A non-canonical encoding of the same (str8 for a short string) fails. */
  static const uint8_t str8[] = {0x92, 0xa5, 'e', 'r', 'a', 's', 'e', 0xd9, 1, 'x'};
  assert_int_equal(dk_erase_body_decode(str8, sizeof(str8), reason, sizeof(reason)), DK_EFORMAT);
  static const uint8_t other[] = {0x92, 0xa5, 'e', 'r', 'a', 's', 'f', 0xa1, 'x'};
  assert_int_equal(dk_erase_body_decode(other, sizeof(other), reason, sizeof(reason)), DK_EFORMAT);
  assert_true(dk_erase_office_may("zhanhe/beidu", "zhanhe/beidu/lanxin"));
  assert_true(dk_erase_office_may("zhanhe/beidu/lanxin", "zhanhe/beidu/lanxin"));
  assert_false(dk_erase_office_may("zhanhe/beidu/xinhe", "zhanhe/beidu/lanxin"));
  assert_false(dk_erase_office_may("zhanhe/bei", "zhanhe/beidu/lanxin"));
  dk_buf_release(&b);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(vector_verifies),     cmocka_unit_test(truncations_fail),
      cmocka_unit_test(every_byte_flip_fails), cmocka_unit_test(hostile_inputs_fail),
      cmocka_unit_test(erase_block),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
