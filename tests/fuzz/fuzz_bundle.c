/*
 * libFuzzer target for the bundle reader's parsers (replication/bundle.h):
 * what dk_bundle_import does with a chunk once the MAC has been checked.
 *
 * The first input byte picks a mode (mod 2), the rest is one chunk (the
 * bytes after its length prefix):
 *   0  a header chunk for dk_bundle_parse_header, once without and once with
 *      a need callback: both must agree, the callback must see exactly
 *      needs_count needs, and the offices must be NUL-terminated;
 *   1  a batch chunk for dk_bundle_parse_batch: every view must lie inside
 *      the input, signatures are 64 bytes, each decoded header must encode
 *      back to exactly its bytes (the header format is canonical), indexes
 *      come in order, and the batch callback sees every entry.
 *
 * tests/test_fuzz_replay.c calls LLVMFuzzerTestOneInput on every file of
 * tests/fuzz/corpus/bundle/ in every ctest run, without libFuzzer.
 * Violated properties abort(), which the fuzzer reports.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "node/log/entry.h"
#include "replication/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct check {
  const uint8_t *data;
  size_t size;
  size_t seen;   /* needs, or entries */
  int batch_calls;
};

static void inside(const struct check *c, const uint8_t *p, size_t len) {
  if (p == NULL || p < c->data || len > c->size || p + len > c->data + c->size)
    abort();
}

static int on_need(void *ctx, const uint8_t log[DK_PK_BYTES], uint64_t seq) {
  struct check *c = ctx;
  (void)log;
  (void)seq;
  c->seen++;
  return 0;
}

static int on_entry(void *ctx, size_t index, const struct dk_raw_entry *e,
                    const struct dk_header *h) {
  struct check *c = ctx;
  if (index != c->seen++)
    abort();
  inside(c, e->header, e->header_len);
  inside(c, e->sig, DK_SIG_BYTES);
  if (e->body != NULL)
    inside(c, e->body, e->body_len);
  else if (e->body_len != 0)
    abort();
  uint8_t again[DK_HEADER_BYTES_MAX];
  size_t again_len = 0;
  if (dk_header_encode(h, again, &again_len) != 0 || again_len != e->header_len ||
      memcmp(again, e->header, again_len) != 0)
    abort();
  return 0;
}

static int on_batch(void *ctx, const struct dk_raw_entry *raw, size_t count) {
  struct check *c = ctx;
  if (count != c->seen || count == 0 || count > DK_BUNDLE_BATCH_ENTRIES_MAX)
    abort();
  for (size_t i = 0; i < count; i++)
    inside(c, raw[i].header, raw[i].header_len);
  c->batch_calls++;
  return 0;
}

static void check_code(int rc) {
  if (rc > 0)
    abort(); /* codes are 0 or negative */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  int mode = data[0] % 2;
  data++;
  size--;
  if (mode == 0) {
    struct dk_bundle_header a, b;
    struct check c = {data, size, 0, 0};
    int rc1 = dk_bundle_parse_header(data, size, &a, NULL, NULL);
    int rc2 = dk_bundle_parse_header(data, size, &b, on_need, &c);
    check_code(rc1);
    if (rc1 != rc2)
      abort();
    if (rc1 == 0) {
      if (c.seen != a.needs_count || memcmp(&a, &b, sizeof(a)) != 0)
        abort();
      if (memchr(a.from_office, 0, sizeof(a.from_office)) == NULL ||
          memchr(a.for_office, 0, sizeof(a.for_office)) == NULL)
        abort();
    }
    return 0;
  }
  static struct dk_raw_entry raw[DK_BUNDLE_BATCH_ENTRIES_MAX];
  struct check c = {data, size, 0, 0};
  int rc = dk_bundle_parse_batch(data, size, raw, DK_BUNDLE_BATCH_ENTRIES_MAX, on_entry,
                                 on_batch, &c);
  check_code(rc);
  if ((rc == 0) != (c.batch_calls == 1))
    abort();
  /* Too small a view array is refused, never overrun. */
  if (rc == 0 && c.seen > 1) {
    struct check small = {data, size, 0, 0};
    if (dk_bundle_parse_batch(data, size, raw, c.seen - 1, on_entry, on_batch, &small) !=
        DK_ELIMIT)
      abort();
  }
  return 0;
}
