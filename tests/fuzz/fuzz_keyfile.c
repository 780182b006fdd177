/*
 * libFuzzer target for the sealed key file reader (crypto/keyfile.h,
 * docs/PROTOCOL.md §7): the 144 bytes `docket` reads from DIR/key, or from
 * the file given to `init --key-file`.
 *
 * Properties (abort() on violation):
 *   - nothing crashes, reads past the input or over-allocates;
 *   - anything but exactly 144 bytes with the magic is DK_EFORMAT, before any
 *     key derivation;
 *   - a file opens only when its tag verifies under the passphrase "fuzz
 *     passphrase" (the seed corpus holds one that does, with small
 *     parameters, so that the whole path runs).
 * Inputs whose parameters ask for more than 64 KiB of Argon2 memory or more
 * than 2 passes are only checked up to the parameters (the derivation would
 * make each run slow, not test more).
 *
 * tests/test_fuzz_replay.c replays tests/fuzz/corpus/keyfile/ in every
 * ctest run, without libFuzzer.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "crypto/keyfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  if (!ready) {
    if (sodium_init() < 0)
      abort();
    ready = 1;
  }
  static const uint8_t magic[8] = {'D', 'K', 'K', 'E', 'Y', 0, 0, 1};
  int shaped = size == DK_KEYFILE_BYTES && memcmp(data, magic, 8) == 0;
  if ((dk_keyfile_check(data, size) == 0) != shaped)
    abort();
  if (shaped && (be64(data + 8) > 2 || be64(data + 16) > 64 * 1024))
    return 0; /* costly parameters: the check above is what they test */
  struct dk_secrets s;
  if (dk_secrets_init(&s) != 0)
    return 0;
  int rc = dk_keyfile_decode(data, size, "fuzz passphrase", 15, &s);
  if (!shaped && rc != DK_EFORMAT)
    abort();
  if (rc == 0 && !shaped)
    abort();
  dk_secrets_release(&s);
  return 0;
}
