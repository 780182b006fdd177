/*
 * Statements signed by the deployment root (docs/TRUST.md, PROTOCOL.md §8):
 * certificates, revocations and auditor grants.
 *
 * A statement is the body of an entry of the district's log:
 *
 *   body      = msgpack [statement (bin), root signature (bin 64)]
 *   signature = Ed25519(root sk, "docket/statement/v1" NUL || statement)
 *   statement = one of
 *     ["cert", 1, node key (bin 32), office (str), role (str),
 *      not_before ms, not_after ms, root key (bin 32)]          entry type 6
 *     ["revoke", 1, node key (bin 32), revoked_at ms, reason (str),
 *      root key (bin 32)]                                        entry type 7
 *     ["auditor", 1, auditor key (bin 32), subtree office (str),
 *      not_before ms, not_after ms, root key (bin 32)]           entry type 8
 *
 * Encodings are canonical: decoding re-encodes and refuses any other byte
 * string, so a statement has one encoding. Everything here is pure: no I/O,
 * no globals, no clock (times are passed in).
 *
 * Times: a certificate or grant is in force at t when
 * not_before <= t < not_after. A revocation at r takes effect after r: a
 * key is revoked at t when t > r, and entries of its log whose author
 * timestamp is after r are refused; entries up to r stay valid.
 */
#ifndef DK_TRUST_H
#define DK_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/limits.h"
#include "crypto/crypto.h"

#define DK_DOMAIN_STATEMENT "docket/statement/v1"
#define DK_STATEMENT_VERSION 1

struct dk_statement {
  uint64_t type;                    /* DK_ENTRY_CERT, DK_ENTRY_REVOKE or DK_ENTRY_AUDITOR */
  uint8_t key[DK_PK_BYTES];         /* the node key, or the auditor key */
  char office[DK_NAME_BYTES_MAX];   /* cert: the office; auditor: the subtree */
  char role[16];                    /* cert: district, street, community or auditor */
  uint64_t not_before_ms;           /* cert and auditor */
  uint64_t not_after_ms;            /* cert and auditor */
  uint64_t revoked_at_ms;           /* revoke */
  char reason[DK_REASON_BYTES_MAX]; /* revoke */
  uint8_t root[DK_PK_BYTES];        /* the root key that signs it */
};

/* Appends the canonical statement array to out. DK_EINVAL for a statement
 * that could not be decoded back (bad type, office, role or times). */
int dk_statement_encode(const struct dk_statement *s, struct dk_buf *out);

/* Strict decoding of a statement array for entry type `type`: DK_EFORMAT
 * unless bytes are the canonical encoding of a well-formed statement of
 * that kind; DK_EVERSION for another version. */
int dk_statement_decode(uint64_t type, const uint8_t *bytes, size_t len, struct dk_statement *s);

/* Encodes s, signs it with root (whose pk must equal s->root, else
 * DK_EINVAL) and appends the entry body [statement, signature] to body. */
int dk_statement_sign(const struct dk_statement *s, const struct dk_identity *root,
                      struct dk_buf *body);

/* Opens an entry body of type `type`: decodes it, checks that the statement
 * names root_pk as its root (DK_EAUTH otherwise) and that root_pk signed it
 * (DK_EBADSIG). DK_EFORMAT for a malformed body. */
int dk_statement_open(uint64_t type, const uint8_t *body, size_t len,
                      const uint8_t root_pk[DK_PK_BYTES], struct dk_statement *out);

/* Is a certificate or auditor grant in force at at_ms? */
int dk_statement_in_force(const struct dk_statement *s, uint64_t at_ms);

/* Is a key revoked at at_ms, given whether any revocation of it is known
 * and the earliest revoked_at_ms? */
int dk_revoked_by(int has_revocation, uint64_t revoked_at_ms, uint64_t at_ms);

#endif
