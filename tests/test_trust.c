/* Root statements (node/trust/trust.h): encode, decode, sign, open, validity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sodium.h>
#include <string.h>

#include "common/error.h"
#include "node/log/entry.h"
#include "node/trust/trust.h"

struct fixture {
  struct dk_identity root, other;
};

static int setup(void **state) {
  static struct fixture f;
  if (sodium_init() < 0)
    return -1;
  memset(&f, 0, sizeof(f));
  if (dk_identity_generate(&f.root) != 0 || dk_identity_generate(&f.other) != 0)
    return -1;
  *state = &f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  dk_identity_release(&f->root);
  dk_identity_release(&f->other);
  return 0;
}

static void make_cert(struct dk_statement *s, const uint8_t root[DK_PK_BYTES]) {
  memset(s, 0, sizeof(*s));
  s->type = DK_ENTRY_CERT;
  memset(s->key, 0x11, DK_PK_BYTES);
  strcpy(s->office, "zhanhe/beidu/lanxin");
  strcpy(s->role, "community");
  s->not_before_ms = 1000;
  s->not_after_ms = 2000;
  memcpy(s->root, root, DK_PK_BYTES);
}

static void roundtrip_all_kinds(void **state) {
  struct fixture *f = *state;
  struct dk_statement s, back;
  for (uint64_t type = DK_ENTRY_CERT; type <= DK_ENTRY_AUDITOR; type++) {
    make_cert(&s, f->root.pk);
    s.type = type;
    if (type == DK_ENTRY_REVOKE) {
      s.revoked_at_ms = 1500;
      strcpy(s.reason, "laptop stolen");
    }
    if (type == DK_ENTRY_AUDITOR)
      strcpy(s.office, "zhanhe/beidu");
    struct dk_buf body;
    dk_buf_init(&body);
    assert_int_equal(dk_statement_sign(&s, &f->root, &body), 0);
    assert_int_equal(dk_statement_open(type, body.data, body.len, f->root.pk, &back), 0);
    assert_memory_equal(back.key, s.key, DK_PK_BYTES);
    assert_string_equal(back.office, type == DK_ENTRY_REVOKE ? "" : s.office);
    if (type == DK_ENTRY_REVOKE) {
      assert_int_equal(back.revoked_at_ms, 1500);
      assert_string_equal(back.reason, "laptop stolen");
    } else {
      assert_int_equal(back.not_after_ms, 2000);
    }
    /* Opened as another kind, it is malformed. */
    uint64_t wrong = type == DK_ENTRY_CERT ? DK_ENTRY_AUDITOR : DK_ENTRY_CERT;
    assert_int_equal(dk_statement_open(wrong, body.data, body.len, f->root.pk, &back),
                     DK_EFORMAT);
    dk_buf_release(&body);
  }
}

static void tampered_and_wrong_root(void **state) {
  struct fixture *f = *state;
  struct dk_statement s, back;
  make_cert(&s, f->root.pk);
  struct dk_buf body;
  dk_buf_init(&body);
  assert_int_equal(dk_statement_sign(&s, &f->root, &body), 0);
  /* Every single flipped byte fails: as malformed, wrong root or bad sig. */
  for (size_t i = 0; i < body.len; i++) {
    body.data[i] ^= 0x01;
    assert_int_not_equal(dk_statement_open(DK_ENTRY_CERT, body.data, body.len, f->root.pk, &back),
                         0);
    body.data[i] ^= 0x01;
  }
  /* Another root: the statement names the real one. */
  assert_int_equal(dk_statement_open(DK_ENTRY_CERT, body.data, body.len, f->other.pk, &back),
                   DK_EAUTH);
  dk_buf_release(&body);
  /* Signed by another key that claims to be the root. */
  struct dk_statement forged;
  make_cert(&forged, f->other.pk);
  dk_buf_init(&body);
  assert_int_equal(dk_statement_sign(&forged, &f->other, &body), 0);
  assert_int_equal(dk_statement_open(DK_ENTRY_CERT, body.data, body.len, f->root.pk, &back),
                   DK_EAUTH);
  /* A signer whose key the statement does not name is refused. */
  dk_buf_reset(&body);
  assert_int_equal(dk_statement_sign(&s, &f->other, &body), DK_EINVAL);
  dk_buf_release(&body);
  /* Truncated and trailing bytes. */
  dk_buf_init(&body);
  assert_int_equal(dk_statement_sign(&s, &f->root, &body), 0);
  assert_int_equal(dk_statement_open(DK_ENTRY_CERT, body.data, body.len - 1, f->root.pk, &back),
                   DK_EFORMAT);
  dk_buf_append_u8(&body, 0xc0);
  assert_int_equal(dk_statement_open(DK_ENTRY_CERT, body.data, body.len, f->root.pk, &back),
                   DK_EFORMAT);
  dk_buf_release(&body);
}

static void invalid_fields_refused(void **state) {
  struct fixture *f = *state;
  struct dk_statement s;
  struct dk_buf b;
  dk_buf_init(&b);
  make_cert(&s, f->root.pk);
  strcpy(s.role, "mayor");
  assert_int_equal(dk_statement_encode(&s, &b), DK_EINVAL);
  make_cert(&s, f->root.pk);
  strcpy(s.office, "Zhanhe");
  assert_int_equal(dk_statement_encode(&s, &b), DK_EINVAL);
  make_cert(&s, f->root.pk);
  s.not_after_ms = s.not_before_ms;
  assert_int_equal(dk_statement_encode(&s, &b), DK_EINVAL);
  s.type = 5;
  assert_int_equal(dk_statement_encode(&s, &b), DK_EINVAL);
  dk_buf_release(&b);
}

static void validity_in_time(void **state) {
  struct fixture *f = *state;
  struct dk_statement s;
  make_cert(&s, f->root.pk);
  assert_false(dk_statement_in_force(&s, 999));  /* not yet */
  assert_true(dk_statement_in_force(&s, 1000));
  assert_true(dk_statement_in_force(&s, 1999));
  assert_false(dk_statement_in_force(&s, 2000)); /* expired */
  /* Revoked at 1500: entries and checks up to it stand, after it fail. */
  assert_false(dk_revoked_by(0, 1500, 5000));
  assert_false(dk_revoked_by(1, 1500, 1499));
  assert_false(dk_revoked_by(1, 1500, 1500));
  assert_true(dk_revoked_by(1, 1500, 1501));
}

static void header_rules_for_statements(void **state) {
  struct fixture *f = *state;
  struct dk_header h;
  memset(&h, 0, sizeof(h));
  h.version = DK_ENTRY_VERSION;
  memcpy(h.log, f->root.pk, DK_PK_BYTES);
  h.seq = 2;
  h.has_prev = 1;
  h.type = DK_ENTRY_REVOKE;
  uint8_t bytes[DK_HEADER_BYTES_MAX];
  size_t len;
  struct dk_header back;
  assert_int_equal(dk_header_encode(&h, bytes, &len), 0);
  assert_int_equal(dk_header_decode(bytes, len, &back), 0);
  h.has_case = 1; /* statements name no case */
  assert_int_equal(dk_header_encode(&h, bytes, &len), 0);
  assert_int_equal(dk_header_decode(bytes, len, &back), DK_EFORMAT);
  h.has_case = 0;
  h.type = DK_ENTRY_TYPE_MAX + 1;
  assert_int_equal(dk_header_encode(&h, bytes, &len), 0);
  assert_int_equal(dk_header_decode(bytes, len, &back), DK_EFORMAT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(roundtrip_all_kinds),
      cmocka_unit_test(tampered_and_wrong_root),
      cmocka_unit_test(invalid_fields_refused),
      cmocka_unit_test(validity_in_time),
      cmocka_unit_test(header_rules_for_statements),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
