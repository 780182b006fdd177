/*
 * Log entries: the signed header, its canonical encoding, the entry id.
 *
 * An entry is header bytes + an Ed25519 signature; its body travels and is
 * stored separately, bound by the header's body length and hash.
 *
 *   header = msgpack array, exactly 9 fields in this order:
 *     [version (uint, 1), log (bin 32), seq (uint >= 1),
 *      prev (bin 32, or nil at seq 1), ts_ms (uint), type (uint),
 *      case_id (bin 32 or nil), body_bytes (uint), body_hash (bin 32)]
 *   sig    = Ed25519(log key, "docket/entry-sig/v1" NUL || header)
 *   id     = BLAKE2b-256("docket/entry-id/v1" NUL || header || sig)
 *
 * Encoding is canonical (shortest msgpack forms): decoding re-encodes and
 * refuses any other byte string, so one header has exactly one encoding and
 * one id. docs/PROTOCOL.md is the byte-exact reference with vectors.
 * Everything here is pure; no I/O, no globals.
 */
#ifndef DK_ENTRY_H
#define DK_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "crypto/crypto.h"

#define DK_ENTRY_VERSION 1

/* Entry types. Appended, never renumbered. */
enum dk_entry_type {
  DK_ENTRY_CASE_OPEN = 1,  /* opens a case; body = grants block || AEAD(event) */
  DK_ENTRY_CASE_EVENT = 2, /* a later case event; body = AEAD(event) */
  DK_ENTRY_KEY_GRANT = 3,  /* more readers for a case; body = grants block */
  DK_ENTRY_OFFICE = 4,     /* seq 1 of every log: whose log it is; body = office block */
  DK_ENTRY_WITNESS = 5,    /* a parent cosigns a child's head; body = witness block */
  /* Statements signed by the deployment root, in the district's log
   * (node/trust/trust.h); like OFFICE and WITNESS they name no case. */
  DK_ENTRY_CERT = 6,       /* a node key speaks for an office in a role */
  DK_ENTRY_REVOKE = 7,     /* a node key is revoked from a time on */
  DK_ENTRY_AUDITOR = 8,    /* an auditor key may read a subtree's cases */
  DK_ENTRY_ERASE = 9,      /* erases a case; case_id set; body = erase block (node/cases/erase.h) */
  DK_ENTRY_FORK = 10,      /* two signed entries for one position; body = fork block (log/fork.h) */
  /* The district's next network key, sealed to each certified office;
   * names no case; body = rotation block (node/trust/netkey.h). */
  DK_ENTRY_NETKEY = 11,
};
#define DK_ENTRY_TYPE_MAX 11

struct dk_header {
  uint64_t version;
  uint8_t log[DK_PK_BYTES];
  uint64_t seq;
  int has_prev;
  uint8_t prev[DK_HASH_BYTES];
  uint64_t ts_ms;
  uint64_t type;
  int has_case;
  uint8_t case_id[DK_HASH_BYTES];
  uint64_t body_bytes;
  uint8_t body_hash[DK_HASH_BYTES];
};

/* An entry as stored and sent: the header's bytes are what was signed. */
struct dk_entry {
  struct dk_header h;
  uint8_t header_bytes[DK_HEADER_BYTES_MAX];
  size_t header_len;
  uint8_t sig[DK_SIG_BYTES];
  uint8_t id[DK_HASH_BYTES];
};

/* Canonical encoding into out (DK_HEADER_BYTES_MAX bytes). */
int dk_header_encode(const struct dk_header *h, uint8_t *out, size_t *out_len);
/* Strict decoding: DK_EFORMAT unless bytes are the canonical encoding of a
 * well-formed header; DK_EVERSION for another version. */
int dk_header_decode(const uint8_t *bytes, size_t len, struct dk_header *h);

/* id = BLAKE2b-256(domain || header || sig). */
void dk_entry_compute_id(const uint8_t *header, size_t header_len, const uint8_t sig[DK_SIG_BYTES],
                         uint8_t id[DK_HASH_BYTES]);

/* Fills e from h: encodes, signs with signer (whose pk must equal h->log)
 * and computes the id. */
int dk_entry_seal(struct dk_entry *e, const struct dk_header *h, const struct dk_identity *signer);

/* Parses header bytes and signature received from disk or network into e,
 * checking the encoding and computing the id. Does not check the signature. */
int dk_entry_parse(struct dk_entry *e, const uint8_t *header, size_t header_len,
                   const uint8_t sig[DK_SIG_BYTES]);

/* Checks the signature (DK_EBADSIG). */
int dk_entry_verify_sig(const struct dk_entry *e);

/* Checks that e follows the entry whose seq, id and timestamp are given
 * (seq 0 = empty log): seq, prev link and non-decreasing time.
 * DK_EBADLINK or DK_ETIME. */
int dk_entry_check_link(const struct dk_entry *e, uint64_t prev_seq,
                        const uint8_t prev_id[DK_HASH_BYTES], uint64_t prev_ts_ms);

/* Checks a body against the header's length and hash (DK_EBADBODY). */
int dk_entry_check_body(const struct dk_entry *e, const uint8_t *body, size_t len);

/* Grants block: u8 count (1..DK_READERS_MAX), then count x (pk || sealed key). */
#define DK_GRANT_BYTES (DK_PK_BYTES + DK_SEALED_KEY_BYTES)
struct dk_grant {
  uint8_t reader[DK_PK_BYTES];
  uint8_t sealed[DK_SEALED_KEY_BYTES];
};
/* Parses the grants block at the start of body; *used gets its size. */
int dk_grants_parse(const uint8_t *body, size_t len, struct dk_grant *grants, size_t *count,
                    size_t *used);
int dk_grants_write(const struct dk_grant *grants, size_t count, struct dk_buf *out);

/* Office block (plaintext, nothing personal): msgpack array
 * [office path (str), office role (str), case number code (str)].
 * It is the body of seq 1 of every log, so that every node that holds a log
 * knows which office wrote it (until certificates vouch for that). */
struct dk_office_info {
  char office[DK_NAME_BYTES_MAX];
  char role[16];
  char code[16];
};
int dk_office_body_encode(const struct dk_office_info *o, struct dk_buf *out);
int dk_office_body_decode(const uint8_t *body, size_t len, struct dk_office_info *o);

/* Witness block: msgpack array [log (bin 32), seq (uint), entry id (bin 32)]:
 * the writer has checked that log's entry seq has this id and extends the
 * head it last witnessed. */
struct dk_witness {
  uint8_t log[DK_PK_BYTES];
  uint64_t seq;
  uint8_t id[DK_HASH_BYTES];
};
int dk_witness_body_encode(const struct dk_witness *w, struct dk_buf *out);
int dk_witness_body_decode(const uint8_t *body, size_t len, struct dk_witness *w);

#endif
