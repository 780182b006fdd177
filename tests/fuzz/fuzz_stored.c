/*
 * libFuzzer target for the values docket reads back from LMDB (node/store.h
 * names the tables): LMDB keeps no checksums, so a damaged disk hands these
 * decoders any bytes at all.
 *
 * The first input byte picks the decoder (mod 7), the rest is the value:
 *   0 a stored entry (log_entries: u16 header length || header || sig),
 *   1 a log's office block (logs), 2 a witness block,
 *   3 an erase body, 4 a fork block, 5 a grants block (case open and key
 *   grant bodies), 6 a case state (cases, after its AEAD is opened).
 * Properties (abort() on violation):
 *   - nothing crashes, reads past the input or over-allocates;
 *   - what decodes holds what its decoder promises: a stored entry's header
 *     length fits the value, an office block's strings are terminated, an
 *     erase reason fits its buffer, a grants block's count and length fit
 *     its body, a case state re-encodes and decodes again.
 *
 * tests/test_fuzz_replay.c replays tests/fuzz/corpus/stored/ in every ctest
 * run, without libFuzzer.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "node/cases/fold.h"
#include "node/log/entry.h"
#include "node/cases/erase.h"
#include "node/log/fork.h"
#include "node/log/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void terminated(const char *s, size_t cap) {
  if (memchr(s, 0, cap) == NULL)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  if (!ready) {
    if (sodium_init() < 0)
      abort();
    ready = 1;
  }
  if (size < 1)
    return 0;
  const uint8_t *v = data + 1;
  size_t n = size - 1;
  switch (data[0] % 7) {
  case 0: {
    struct dk_entry e;
    if (dk_log_decode_stored(v, n, &e) == 0 && n < 2)
      abort();
    break;
  }
  case 1: {
    struct dk_office_info o;
    if (dk_office_body_decode(v, n, &o) == 0) {
      terminated(o.office, sizeof(o.office));
      terminated(o.role, sizeof(o.role));
      terminated(o.code, sizeof(o.code));
    }
    break;
  }
  case 2: {
    struct dk_witness w;
    (void)dk_witness_body_decode(v, n, &w);
    break;
  }
  case 3: {
    char reason[256];
    if (dk_erase_body_decode(v, n, reason, sizeof(reason)) == 0)
      terminated(reason, sizeof(reason));
    break;
  }
  case 4: {
    struct dk_entry *ab = malloc(2 * sizeof(*ab));
    if (ab == NULL)
      return 0;
    (void)dk_fork_body_decode(v, n, &ab[0], &ab[1]);
    free(ab);
    break;
  }
  case 5: {
    struct dk_grant g[DK_READERS_MAX];
    size_t count = 0, used = 0;
    if (dk_grants_parse(v, n, g, &count, &used) == 0 && (count > DK_READERS_MAX || used > n))
      abort();
    break;
  }
  default: {
    struct dk_case_state s;
    dk_case_state_init(&s);
    if (dk_case_state_decode(v, n, &s) == 0) {
      struct dk_buf again;
      dk_buf_init(&again);
      if (dk_case_state_encode(&s, &again) != 0)
        abort();
      struct dk_case_state back;
      dk_case_state_init(&back);
      if (dk_case_state_decode(again.data, again.len, &back) != 0)
        abort();
      dk_case_state_release(&back);
      dk_buf_release(&again);
    }
    dk_case_state_release(&s);
    break;
  }
  }
  return 0;
}
