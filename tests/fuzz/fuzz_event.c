/*
 * libFuzzer target for the case-event and case-state decoders, which read
 * bytes that come out of bodies and derived state (decrypted, but written by
 * whoever held the key: a bug or a hostile office).
 *
 * The first input byte picks the decoder (even: event, odd: case state); the
 * rest is its input. Properties checked (abort() on violation):
 *   - decoding never crashes or over-allocates (the sanitizers watch);
 *   - whatever decodes re-encodes to exactly the same bytes (the encodings
 *     are canonical), and decoding that again succeeds.
 *
 * tests/test_fuzz_replay.c replays tests/fuzz/corpus/event/ in every ctest
 * run, without libFuzzer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "node/cases/fold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void event_one(const uint8_t *data, size_t size) {
  struct dk_event ev;
  dk_event_init(&ev);
  if (dk_event_decode(data, size, &ev) != 0) {
    dk_event_release(&ev);
    return;
  }
  struct dk_buf again;
  dk_buf_init(&again);
  if (dk_event_encode(&ev, &again) != 0 || again.len != size ||
      memcmp(again.data, data, size) != 0)
    abort(); /* a decoded event must be the canonical encoding of itself */
  dk_buf_release(&again);
  dk_event_release(&ev);
}

static void state_one(const uint8_t *data, size_t size) {
  struct dk_case_state s;
  dk_case_state_init(&s);
  if (dk_case_state_decode(data, size, &s) != 0) {
    dk_case_state_release(&s);
    return;
  }
  struct dk_buf again;
  dk_buf_init(&again);
  if (dk_case_state_encode(&s, &again) != 0)
    abort();
  struct dk_case_state back;
  dk_case_state_init(&back);
  if (dk_case_state_decode(again.data, again.len, &back) != 0)
    abort(); /* what we write we must read */
  dk_case_state_release(&back);
  dk_buf_release(&again);
  dk_case_state_release(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  if (data[0] % 2 == 0)
    event_one(data + 1, size - 1);
  else
    state_one(data + 1, size - 1);
  return 0;
}
