/*
 * libFuzzer target for the decoders of root statements (certificates,
 * revocations, auditor grants; node/trust/trust.h) and fork blocks
 * (node/log/fork.h): entry bodies that arrive from other nodes.
 *
 * The first input byte picks what the rest is (mod 4): 0-2 a statement of
 * entry type 6, 7 or 8 (decoded bare, and opened as a signed body against a
 * fixed root key); 3 a fork block. Properties (abort() on violation):
 *   - nothing crashes or over-allocates (the sanitizers watch);
 *   - a statement that decodes re-encodes to exactly the same bytes;
 *   - a fork block that decodes names one position with two different ids.
 *
 * tests/test_fuzz_replay.c replays tests/fuzz/corpus/trust/ in every ctest
 * run, without libFuzzer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "node/log/fork.h"
#include "node/trust/trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void statement_one(uint64_t type, const uint8_t *data, size_t size) {
  struct dk_statement *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return;
  if (dk_statement_decode(type, data, size, s) == 0) {
    struct dk_buf again;
    dk_buf_init(&again);
    if (dk_statement_encode(s, &again) != 0 || again.len != size ||
        memcmp(again.data, data, size) != 0)
      abort(); /* decoding accepts only the canonical form */
    dk_buf_release(&again);
  }
  /* The same bytes as a whole signed body, against some root. */
  uint8_t root[DK_PK_BYTES];
  memset(root, 0x5a, sizeof(root));
  (void)dk_statement_open(type, data, size, root, s);
  free(s);
}

static void fork_one(const uint8_t *data, size_t size) {
  struct dk_entry *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
  if (a && b && dk_fork_body_decode(data, size, a, b) == 0) {
    if (memcmp(a->h.log, b->h.log, DK_PK_BYTES) != 0 || a->h.seq != b->h.seq ||
        memcmp(a->id, b->id, DK_HASH_BYTES) == 0)
      abort(); /* a fork is two entries for one position */
  }
  free(a);
  free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  switch (data[0] % 4) {
  case 0: statement_one(DK_ENTRY_CERT, data + 1, size - 1); break;
  case 1: statement_one(DK_ENTRY_REVOKE, data + 1, size - 1); break;
  case 2: statement_one(DK_ENTRY_AUDITOR, data + 1, size - 1); break;
  default: fork_one(data + 1, size - 1); break;
  }
  return 0;
}
