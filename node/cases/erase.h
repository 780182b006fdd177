/*
 * Erasure of a case (entry type 9, DK_ENTRY_ERASE).
 *
 * An erase entry names its case in its header and carries a plaintext erase
 * block as its body:
 *
 *   erase block = msgpack array ["erase" (str), reason (str, at most
 *                 DK_TEXT_BYTES_MAX bytes)]
 *
 * The reason is kept (it says why the case went) and must name nobody: the
 * command line says so. Only the case's own office (the office of the log
 * that holds its opening entry) and the offices above it may erase it; an
 * erase entry from any other log is stored (it is signed and links) but not
 * honoured.
 *
 * When an honoured erase entry is held, every node deletes the bodies of
 * every other entry of the case in every log, and the case key, and keeps a
 * tombstone state (number, office, kind, status, dates, who erased it, when
 * and why). Headers stay, so the history still verifies. Entries of the case
 * that arrive later are stored and their bodies dropped in the same commit.
 *
 * LMDB does not wipe the pages it frees: until they are reused, a deleted
 * ciphertext may remain in data.mdb as unreferenced bytes. It is useless
 * without the case key, whose stored copy was encrypted under the storage
 * key and is deleted too. Copying the environment with `mdb_copy -c`
 * leaves the stale pages behind for good.
 *
 * Thread-safety and ownership as for node.h.
 */
#ifndef DK_ERASE_H
#define DK_ERASE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "node/node.h"

/* Appends the erase block for reason (DK_ELIMIT past DK_TEXT_BYTES_MAX). */
int dk_erase_body_encode(const char *reason, struct dk_buf *out);

/* Decodes an untrusted erase block; reason gets a NUL-terminated copy
 * (cap bytes with the NUL). DK_EFORMAT unless it is exactly the block above
 * in canonical form, DK_ELIMIT when the reason does not fit. */
int dk_erase_body_decode(const uint8_t *body, size_t len, char *reason, size_t cap);

/* May `office` erase a case of `case_office`: is it the same office or a
 * proper ancestor of it? (replication/ has the same rule as
 * dk_office_covers; node/ does not depend on replication/.) */
int dk_erase_office_may(const char *office, const char *case_office);

/* What an erasure was: the tombstone's facts. */
struct dk_erase_info {
  char number[DK_CASE_NUMBER_BYTES]; /* "" when this node never read the case */
  char case_office[DK_NAME_BYTES_MAX];
  char erased_by[DK_NAME_BYTES_MAX];
  uint64_t erased_at_ms;
  uint64_t bodies_erased; /* bodies deleted by this call */
};

/*
 * Erases a case from this office: appends the erase entry, deletes the
 * bodies and the case key and writes the tombstone, in one durable commit.
 * Errors: DK_ENOKEY (node locked), DK_ENOTFOUND (the case's opening entry is
 * not held), DK_ESCOPE (this office is neither the case's nor above it;
 * out->case_office says whose it is), DK_EEXIST (already erased), DK_ELIMIT
 * (reason too long), or a store error.
 */
int dk_node_case_erase(dk_node *n, const uint8_t case_id[DK_HASH_BYTES], const char *reason,
                       struct dk_erase_info *out);

#endif
