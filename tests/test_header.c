/* Entry headers: dk_header_decode reads canonical headers on a fast path
 * and hands everything else to the general decoder. The two must give the
 * same answer (the same code, and the same header when it is 0) on every
 * input: canonical headers of every shape, each of them cut short, grown,
 * with each byte changed, and with its integers in a longer form than the
 * smallest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/error.h"
#include "node/log/entry.h"
#include "node/log/log_int.h"

static size_t decoded, refused;

/* Both decoders on bytes; the same answer. */
static void agree(const uint8_t *bytes, size_t len) {
  struct dk_header a, b;
  int ra = dk_header_decode(bytes, len, &a);
  int rb = dk__header_decode_general(bytes, len, &b);
  assert_int_equal(ra, rb);
  if (ra == 0) {
    assert_memory_equal(&a, &b, sizeof(a));
    decoded++;
  } else {
    refused++;
  }
}

/* The integers each field is tried with: every boundary between msgpack's
 * integer forms. */
static const uint64_t INTS[] = {0,          1,          0x7f,        0x80,      0xff,
                                0x100,      0xffff,     0x10000,     0xffffffff, 0x100000000ull,
                                UINT64_MAX};
#define N_INTS (sizeof(INTS) / sizeof(INTS[0]))

static void header(struct dk_header *h, uint64_t seq, uint64_t type, uint64_t ts, uint64_t body) {
  memset(h, 0, sizeof(*h));
  h->version = DK_ENTRY_VERSION;
  memset(h->log, 0xa1, sizeof(h->log));
  h->seq = seq;
  h->has_prev = seq > 1;
  if (h->has_prev)
    memset(h->prev, 0xc4, sizeof(h->prev)); /* bytes that look like msgpack markers */
  h->ts_ms = ts;
  h->type = type;
  h->has_case = type == DK_ENTRY_CASE_EVENT || type == DK_ENTRY_KEY_GRANT || type == DK_ENTRY_ERASE;
  if (h->has_case)
    memset(h->case_id, 0x20, sizeof(h->case_id));
  h->body_bytes = body;
  memset(h->body_hash, 0x99, sizeof(h->body_hash));
}

/* Every change of one encoded header: cut at each length, one byte more,
 * each byte replaced by a few values and by its neighbours. */
static void mutations(const uint8_t *enc, size_t len) {
  uint8_t m[DK_HEADER_BYTES_MAX + 8];
  static const uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0x90, 0x99, 0xc0, 0xc4,
                                   0xc5, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xff};
  agree(enc, len);
  for (size_t cut = 1; cut < len; cut++)
    agree(enc, cut);
  memcpy(m, enc, len);
  m[len] = 0xc0;
  agree(m, len + 1);
  for (size_t i = 0; i < len; i++) {
    for (size_t v = 0; v < sizeof(values); v++) {
      memcpy(m, enc, len);
      m[i] = values[v];
      agree(m, len);
    }
    memcpy(m, enc, len);
    m[i]++;
    agree(m, len);
    memcpy(m, enc, len);
    m[i]--;
    agree(m, len);
  }
}

/* The header with its first integer field of value v (found after the
 * prefix) written in a longer form: not canonical, so refused by both. */
static void longer_forms(const uint8_t *enc, size_t len) {
  /* The version is the byte after the array marker: a positive fixint. */
  uint8_t m[DK_HEADER_BYTES_MAX + 16];
  static const uint8_t wide[] = {0xcc, 0xcd, 0xce, 0xcf};
  static const size_t width[] = {1, 2, 4, 8};
  for (size_t w = 0; w < 4; w++) {
    size_t n = 0;
    m[n++] = enc[0];
    m[n++] = wide[w];
    for (size_t k = 1; k < width[w]; k++)
      m[n++] = 0;
    m[n++] = enc[1];
    memcpy(m + n, enc + 2, len - 2);
    agree(m, n + len - 2);
  }
}

static void every_shape_agrees(void **state) {
  (void)state;
  static const uint64_t types[] = {DK_ENTRY_OFFICE, DK_ENTRY_CASE_OPEN, DK_ENTRY_CASE_EVENT,
                                   DK_ENTRY_KEY_GRANT, DK_ENTRY_ERASE, DK_ENTRY_TYPE_MAX,
                                   DK_ENTRY_TYPE_MAX + 1};
  size_t shapes = 0;
  for (size_t s = 0; s < N_INTS; s++)
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
      for (size_t x = 0; x < N_INTS; x += 2) {
        struct dk_header h;
        uint8_t enc[DK_HEADER_BYTES_MAX];
        size_t len;
        header(&h, INTS[s], types[t], INTS[x], INTS[(x + s) % N_INTS] % (DK_BODY_BYTES_MAX + 2));
        if (dk_header_encode(&h, enc, &len) != 0)
          continue;
        shapes++;
        mutations(enc, len);
        longer_forms(enc, len);
      }
  /* Both answers occurred, many times over. */
  assert_true(shapes > 300);
  assert_true(decoded > 100);
  assert_true(refused > 100000);
  print_message("%zu shapes, %zu inputs decoded and %zu refused by both\n", shapes, decoded,
                refused);
}

/* The fast path reads what the encoder wrote. */
static void round_trip(void **state) {
  (void)state;
  struct dk_header h, back;
  uint8_t enc[DK_HEADER_BYTES_MAX];
  size_t len;
  header(&h, 70000, DK_ENTRY_CASE_EVENT, 1764547200000ull, 300);
  assert_int_equal(dk_header_encode(&h, enc, &len), 0);
  assert_int_equal(dk_header_decode(enc, len, &back), 0);
  assert_memory_equal(&h, &back, sizeof(h));
  /* And a header of another version is that, not a format error. */
  h.version = DK_ENTRY_VERSION + 1;
  assert_int_equal(dk_header_encode(&h, enc, &len), 0);
  assert_int_equal(dk_header_decode(enc, len, &back), DK_EVERSION);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip),
      cmocka_unit_test(every_shape_agrees),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
