/*
 * libFuzzer target for the network key file (cli_network_key_parse, read by
 * `init --network-key-file` and the key rotation commands): 64 hex digits,
 * perhaps followed by a newline.
 *
 * Properties (abort() on violation):
 *   - nothing crashes or reads past the input;
 *   - an accepted file is 64 hex digits and trailing line ends or spaces
 *     only, and the key is what those digits say.
 *
 * tests/test_fuzz_replay.c replays tests/fuzz/corpus/netkey/ in every ctest
 * run, without libFuzzer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hexval(uint8_t c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t key[32];
  if (cli_network_key_parse((const char *)data, size, key) != 0)
    return 0;
  if (size < 64)
    abort();
  for (size_t i = 64; i < size; i++)
    if (data[i] != '\n' && data[i] != '\r' && data[i] != ' ')
      abort();
  for (size_t i = 0; i < 32; i++) {
    int hi = hexval(data[2 * i]), lo = hexval(data[2 * i + 1]);
    if (hi < 0 || lo < 0 || key[i] != (uint8_t)(hi << 4 | lo))
      abort();
  }
  return 0;
}
