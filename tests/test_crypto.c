/* Unit tests for crypto/: identities, signatures, hashing, AEAD, sealing, keyfile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/limits.h"
#include "common/mp.h"
#include "crypto/crypto.h"
#include "crypto/keyfile.h"

static void sign_verify_domain_separated(void **state) {
  struct dk_identity id;
  assert_int_equal(dk_identity_generate(&id), 0);
  const uint8_t msg[] = "hello";
  uint8_t sig[DK_SIG_BYTES];
  assert_int_equal(dk_sign(&id, "docket/a", msg, 5, sig), 0);
  assert_int_equal(dk_verify(id.pk, "docket/a", msg, 5, sig), 0);
  assert_int_equal(dk_verify(id.pk, "docket/b", msg, 5, sig), DK_EBADSIG);
  uint8_t bad[5];
  memcpy(bad, msg, 5);
  bad[0] ^= 1;
  assert_int_equal(dk_verify(id.pk, "docket/a", bad, 5, sig), DK_EBADSIG);
  dk_identity_release(&id);
  assert_null(id.sk);
}

static void seed_is_deterministic(void **state) {
  uint8_t seed[32];
  memset(seed, 7, sizeof(seed));
  struct dk_identity a, b;
  assert_int_equal(dk_identity_from_seed(&a, seed), 0);
  assert_int_equal(dk_identity_from_seed(&b, seed), 0);
  assert_memory_equal(a.pk, b.pk, 32);
  assert_memory_equal(a.xpk, b.xpk, 32);
  dk_identity_release(&a);
  dk_identity_release(&b);
}

static void body_bound_to_position(void **state) {
  uint8_t key[32], log[32];
  randombytes_buf(key, 32);
  randombytes_buf(log, 32);
  struct dk_buf ct, pt;
  dk_buf_init(&ct);
  dk_buf_init_secure(&pt);
  assert_int_equal(dk_body_seal(key, log, 7, (const uint8_t *)"secret", 6, &ct), 0);
  assert_int_equal(ct.len, 6 + DK_AEAD_OVERHEAD);
  assert_int_equal(dk_body_open(key, log, 7, ct.data, ct.len, &pt), 0);
  assert_int_equal(pt.len, 6);
  assert_memory_equal(pt.data, "secret", 6);
  dk_buf_reset(&pt);
  assert_int_equal(dk_body_open(key, log, 8, ct.data, ct.len, &pt), DK_EBADBODY);
  ct.data[30] ^= 0x40;
  assert_int_equal(dk_body_open(key, log, 7, ct.data, ct.len, &pt), DK_EBADBODY);
  assert_int_equal(dk_body_open(key, log, 7, ct.data, 10, &pt), DK_EBADBODY);
  dk_buf_release(&ct);
  dk_buf_release(&pt);
}

static void sealed_key_only_for_recipient(void **state) {
  struct dk_identity a, b;
  assert_int_equal(dk_identity_generate(&a), 0);
  assert_int_equal(dk_identity_generate(&b), 0);
  struct dk_identity c;
  assert_int_equal(dk_identity_generate(&c), 0);
  uint8_t key[32], sealed[DK_SEALED_KEY_BYTES], out[32], ab[32], ba[32], cb[32];
  randombytes_buf(key, 32);
  /* Both ends of a pair derive the same shared key. */
  assert_int_equal(dk_key_shared(&a, b.pk, ab), 0);
  assert_int_equal(dk_key_shared(&b, a.pk, ba), 0);
  assert_memory_equal(ab, ba, 32);
  assert_int_equal(dk_key_wrap(ab, key, sealed), 0);
  assert_int_equal(dk_key_unwrap(ba, sealed, out), 0);
  assert_memory_equal(key, out, 32);
  /* A third party's shared key with either end opens nothing. */
  assert_int_equal(dk_key_shared(&c, a.pk, cb), 0);
  assert_int_equal(dk_key_unwrap(cb, sealed, out), DK_ENOKEY);
  sealed[30] ^= 1;
  assert_int_equal(dk_key_unwrap(ba, sealed, out), DK_ENOKEY);
  uint8_t bad_pk[32];
  memset(bad_pk, 0xff, 32);
  assert_int_equal(dk_key_shared(&a, bad_pk, ab), DK_ECRYPTO);
  dk_identity_release(&c);
  dk_identity_release(&a);
  dk_identity_release(&b);
}

static void keyfile_roundtrip_and_wrong_passphrase(void **state) {
  char path[] = "/tmp/dk-test-keyfile-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  struct dk_secrets s, r;
  assert_int_equal(dk_secrets_init(&s), 0);
  assert_int_equal(dk_secrets_init(&r), 0);
  randombytes_buf(s.seed, 32);
  randombytes_buf(s.storage_key, 32);
  assert_int_equal(dk_keyfile_write(path, "correct horse", 13, &s), 0);
  assert_int_equal(dk_keyfile_read(path, "correct horse", 13, &r), 0);
  assert_memory_equal(s.seed, r.seed, 32);
  assert_memory_equal(s.storage_key, r.storage_key, 32);
  assert_int_equal(dk_keyfile_read(path, "correct horsE", 13, &r), DK_EPASSPHRASE);

  /* A flipped parameter byte is caught by the associated data. */
  FILE *f = fopen(path, "r+b");
  assert_non_null(f);
  fseek(f, 30, SEEK_SET); /* inside the salt */
  fputc(0x55, f);
  fclose(f);
  assert_int_equal(dk_keyfile_read(path, "correct horse", 13, &r), DK_EPASSPHRASE);
  /* A truncated file is not a keyfile. */
  assert_int_equal(truncate(path, 40), 0);
  assert_int_equal(dk_keyfile_read(path, "correct horse", 13, &r), DK_EFORMAT);
  unlink(path);
  assert_int_equal(dk_keyfile_read(path, "x", 1, &r), DK_ENOTFOUND);
  dk_secrets_release(&s);
  dk_secrets_release(&r);
}

static void mp_check_refuses_lying_counts(void **state) {
  /* array32 claiming 2.67e9 items in 7 bytes: msgpack-c alone would try to
   * allocate ~64 GiB for this. */
  const uint8_t bomb[] = {0xdd, 0x9e, 0xf5, 0x1f, 0x0a, 0x00, 0x00};
  size_t n;
  assert_int_not_equal(dk_mp_check(bomb, sizeof(bomb), &n), 0);
  msgpack_unpacked u;
  assert_int_not_equal(dk_mp_parse(bomb, sizeof(bomb), &u), 0);
  const uint8_t str_lie[] = {0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'};
  assert_int_equal(dk_mp_check(str_lie, sizeof(str_lie), &n), DK_EFORMAT);
  uint8_t deep[DK_MP_DEPTH_MAX + 2];
  memset(deep, 0x91, sizeof(deep));
  deep[sizeof(deep) - 1] = 0xc0;
  assert_int_equal(dk_mp_check(deep, sizeof(deep), &n), DK_ELIMIT);
  const uint8_t ext[] = {0xd4, 0x01, 0x02};
  assert_int_equal(dk_mp_check(ext, sizeof(ext), &n), DK_EFORMAT);
  /* A good map parses, and trailing bytes are refused. */
  const uint8_t good[] = {0x81, 0xa1, 'k', 0x2a, 0x00};
  assert_int_equal(dk_mp_check(good, sizeof(good), &n), 0);
  assert_int_equal(n, 4);
  assert_int_equal(dk_mp_parse(good, sizeof(good), &u), DK_EFORMAT);
  assert_int_equal(dk_mp_parse(good, 4, &u), 0);
  uint64_t v = 0;
  assert_int_equal(dk_mp_get_u64(dk_mp_map_get(&u.data, "k"), &v), 0);
  assert_int_equal(v, 42);
  assert_null(dk_mp_map_get(&u.data, "x"));
  msgpack_unpacked_destroy(&u);
}

static void hex_roundtrip(void **state) {
  uint8_t in[4] = {0xde, 0xad, 0xbe, 0xef}, out[4];
  char hex[9];
  dk_hex(in, 4, hex);
  assert_string_equal(hex, "deadbeef");
  assert_int_equal(dk_unhex(hex, out, 4), 4);
  assert_memory_equal(in, out, 4);
  assert_int_equal(dk_unhex("zz", out, 4), DK_EFORMAT);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sign_verify_domain_separated),
      cmocka_unit_test(seed_is_deterministic),
      cmocka_unit_test(body_bound_to_position),
      cmocka_unit_test(sealed_key_only_for_recipient),
      cmocka_unit_test(keyfile_roundtrip_and_wrong_passphrase),
      cmocka_unit_test(mp_check_refuses_lying_counts),
      cmocka_unit_test(hex_roundtrip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
