/*
 * libFuzzer target for the audit bundle verifier (node/trust/audit.h).
 *
 * The first input byte picks a mode (its low two bits), the rest is a
 * bundle, always verified with the identity of docs/PROTOCOL.md §10 (seed
 * 32 x 01) as reader, so that wrapped keys and events get decoded:
 *   bit 0 clear: verified as it is;
 *   bit 0 set:   its last 32 bytes replaced by the right digest first, so
 *                that mutations reach every check before the digest;
 *   bit 1 clear: with no trusted root (authorship not checked);
 *   bit 1 set:   with the §11 root (seed 32 x 09) trusted, so that
 *                statements, authors, witnesses and the reader's grant are
 *                checked.
 * Properties: the verifier never crashes or reads out of bounds; it passes
 * only with no failure recorded and the digest right; it fails only with
 * at least one failure recorded (or out of memory); an entry it decrypted
 * had its body in the bundle; without a root nothing claims authorship was
 * checked; running it twice gives the same answer.
 *
 * tests/test_fuzz_replay.c calls LLVMFuzzerTestOneInput on every file of
 * tests/fuzz/corpus/audit/ in every ctest run, without libFuzzer.
 * Violated properties abort(), which the fuzzer reports.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "node/trust/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_result(int rc, const struct dk_audit_result *r) {
  if (rc == DK_ENOMEM)
    return;
  if (rc == 0 && (r->failures_total != 0 || !r->digest_ok))
    abort();
  if (rc != 0 && r->failures_total == 0)
    abort();
  if (!r->has_root && (r->statements != 0 || r->authors_checked != 0))
    abort();
  if (r->failures_count > r->failures_total || r->failures_count > DK_AUDIT_FAILURES_MAX)
    abort();
  for (size_t i = 0; i < r->entries_count; i++) {
    const struct dk_audit_entry *e = &r->entries[i];
    if (e->decrypted && !e->body_present)
      abort();
    if (e->log_index >= r->logs_count)
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (sodium_init() < 0)
    abort();
  if (size == 0)
    return 0;
  uint8_t mode = data[0] % 4;
  data++;
  size--;
  /* An exact-size copy, so that any read past the end is caught. */
  uint8_t *copy = malloc(size ? size : 1);
  if (copy == NULL)
    return 0;
  memcpy(copy, data, size);
  if ((mode & 1) && size >= DK_HASH_BYTES)
    dk_hash2(DK_DOMAIN_AUDIT_DIGEST, copy, size - DK_HASH_BYTES, NULL, 0,
             copy + size - DK_HASH_BYTES);
  uint8_t seed[DK_SEED_BYTES];
  memset(seed, 0x01, sizeof(seed));
  struct dk_identity id, root;
  if (dk_identity_from_seed(&id, seed) != 0)
    abort();
  memset(seed, 0x09, sizeof(seed));
  if (dk_identity_from_seed(&root, seed) != 0)
    abort();
  const uint8_t *trusted = (mode & 2) ? root.pk : NULL;
  struct dk_audit_result r, again;
  int rc = dk_audit_verify(copy, size, &id, trusted, &r);
  check_result(rc, &r);
  if ((mode & 2) && !r.has_root)
    abort();
  int rc2 = dk_audit_verify(copy, size, &id, trusted, &again);
  if (rc != rc2 || r.failures_total != again.failures_total ||
      r.entries_count != again.entries_count)
    abort();
  dk_audit_result_release(&r);
  dk_audit_result_release(&again);
  dk_identity_release(&id);
  dk_identity_release(&root);
  free(copy);
  return 0;
}
