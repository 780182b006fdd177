/*
 * libFuzzer target for enrolment requests (cli/request.c): the text file
 * `docket cert request` writes and `docket cert issue` reads, carried by
 * hand from an office to the district.
 *
 * Properties (abort() on violation):
 *   - nothing crashes or reads past the input (the sanitizers watch);
 *   - a request is accepted only with a signature that verifies under the
 *     key it names, over exactly the lines it holds: an accepted input is
 *     re-made from its parsed fields, byte for byte;
 *   - what is accepted has a valid office path and a known role.
 *
 * tests/test_fuzz_replay.c replays tests/fuzz/corpus/request/ in every ctest
 * run, without libFuzzer.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "common/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  if (!ready) {
    if (sodium_init() < 0)
      abort();
    ready = 1;
  }
  uint8_t key[DK_PK_BYTES];
  char office[DK_NAME_BYTES_MAX], role[16];
  int rc = cli_request_parse((const char *)data, size, key, office, role);
  if (rc != 0)
    return 0;
  if (!dk_office_valid(office))
    abort();
  enum dk_office_role r;
  if (dk_office_role_parse(role, &r) != 0)
    abort();
  /* The accepted text is the one these fields make (the signature line
   * aside): nothing in it was skipped over. */
  char keyhex[DK_PK_BYTES * 2 + 1], made[1200];
  dk_hex(key, DK_PK_BYTES, keyhex);
  int n = snprintf(made, sizeof(made), "docket enrolment request v1\nkey %s\noffice %s\nrole %s\n",
                   keyhex, office, role);
  if (n < 0 || (size_t)n + 10 + 128 + 1 != size || memcmp(made, data, (size_t)n) != 0)
    abort();
  return 0;
}
