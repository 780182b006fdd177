/*
 * Fork entries (entry type 10, DK_ENTRY_FORK): a fork proof made to travel.
 *
 * A node that finds two validly signed entries for one (log, seq) keeps the
 * second as proof (the forks table) and appends a fork entry to its own log
 * carrying both, so that the proof replicates upward like any entry and
 * reaches the district. Its header names no case; its body is the
 * plaintext fork block:
 *
 *   fork block = msgpack array ["fork" (str),
 *                               [header (bin), signature (bin 64)],
 *                               [header (bin), signature (bin 64)]]
 *
 * the entry this node held first, then the one that contradicts it. No
 * bodies: the headers and signatures are the proof. Canonical form only
 * (shortest headers; bin 8 or bin 16 as the length needs): a decoder
 * re-encodes and refuses any other bytes.
 *
 * A node that ingests a fork entry checks the block (both headers decode,
 * both signatures verify, same log and seq, different ids) and records the
 * fork for that log; a block that fails is kept as a signed entry but
 * proves nothing.
 *
 * Everything here is pure: no I/O, no globals.
 */
#ifndef DK_FORK_H
#define DK_FORK_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "node/log/entry.h"

/* Appends the fork block of the entries a (held first) and b. DK_EINVAL
 * unless they are one position of one log with different ids. */
int dk_fork_body_encode(const struct dk_entry *a, const struct dk_entry *b, struct dk_buf *out);

/*
 * Decodes and checks an untrusted fork block into a and b: DK_EFORMAT
 * unless it is exactly the block above in canonical form with two entries
 * of one (log, seq) and different ids; DK_EBADSIG when a signature does not
 * verify.
 */
int dk_fork_body_decode(const uint8_t *body, size_t len, struct dk_entry *a, struct dk_entry *b);

#endif
