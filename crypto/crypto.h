/*
 * docket's cryptography, all of it from libsodium.
 *
 * - Identities are Ed25519 key pairs; their X25519 form receives sealed case
 *   keys. Secret halves live in sodium_malloc memory and are wiped by
 *   dk_identity_release().
 * - Signatures and hashes are domain-separated: the domain string, with its
 *   terminating NUL, is prefixed to the message. No two uses share a domain.
 * - Bodies and derived state are encrypted with XChaCha20-Poly1305 (IETF)
 *   under a 32-byte key and a random 24-byte nonce that is stored in front of
 *   the ciphertext; associated data binds the ciphertext to where it belongs.
 *
 * sodium_init() must have been called (main does it). No globals here.
 */
#ifndef DK_CRYPTO_H
#define DK_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define DK_PK_BYTES 32
#define DK_SK_BYTES 64
#define DK_SEED_BYTES 32
#define DK_SIG_BYTES 64
#define DK_HASH_BYTES 32
#define DK_SYMKEY_BYTES 32
#define DK_NONCE_BYTES 24
#define DK_TAG_BYTES 16
#define DK_AEAD_OVERHEAD (DK_NONCE_BYTES + DK_TAG_BYTES)
/* A 32-byte key wrapped for one reader: nonce (24) || crypto_box (key + MAC). */
#define DK_SEALED_KEY_BYTES (24 + DK_SYMKEY_BYTES + 16)

/* Domains. Changing one breaks every signature or id made with it. */
#define DK_DOMAIN_ENTRY_SIG "docket/entry-sig/v1"
#define DK_DOMAIN_ENTRY_ID "docket/entry-id/v1"
#define DK_DOMAIN_BODY_AD "docket/body/v1"
#define DK_DOMAIN_STATE_AD "docket/state/v1"
#define DK_DOMAIN_KEYFILE_AD "docket/keyfile/v1"
#define DK_DOMAIN_INDEX "docket/index/v1"
#define DK_DOMAIN_CASEKEY_AD "docket/casekey/v1"
#define DK_DOMAIN_REPORT_AD "docket/report/v1"

struct dk_identity {
  uint8_t pk[DK_PK_BYTES];   /* Ed25519 public key: the node's name */
  uint8_t xpk[32];           /* X25519 public key derived from pk */
  uint8_t *seed;             /* DK_SEED_BYTES, sodium_malloc */
  uint8_t *sk;               /* DK_SK_BYTES, sodium_malloc */
  uint8_t *xsk;              /* 32, sodium_malloc */
};

/* Creates a fresh identity. Release with dk_identity_release(). */
int dk_identity_generate(struct dk_identity *id);
/* Rebuilds an identity from its 32-byte seed (as kept in the keyfile). */
int dk_identity_from_seed(struct dk_identity *id, const uint8_t seed[DK_SEED_BYTES]);
/* Wipes and frees the secret halves. Safe on a zeroed struct. */
void dk_identity_release(struct dk_identity *id);

/* Derives the X25519 public key of an Ed25519 public key (to seal to it).
 * Returns DK_ECRYPTO for a key that is not a valid curve point. */
int dk_pk_to_x25519(const uint8_t pk[DK_PK_BYTES], uint8_t xpk[32]);

/* Signs domain || NUL || msg. */
int dk_sign(const struct dk_identity *id, const char *domain, const uint8_t *msg, size_t len,
            uint8_t sig[DK_SIG_BYTES]);
/* Returns 0 when sig is pk's signature of domain || NUL || msg, else DK_EBADSIG. */
int dk_verify(const uint8_t pk[DK_PK_BYTES], const char *domain, const uint8_t *msg, size_t len,
              const uint8_t sig[DK_SIG_BYTES]);

/* BLAKE2b-256 of domain || NUL || a || b (b may be NULL). */
void dk_hash2(const char *domain, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
              uint8_t out[DK_HASH_BYTES]);
/* Plain BLAKE2b-256, no domain: used for body hashes so that any verifier can
 * recompute them from the ciphertext alone. */
void dk_hash_plain(const uint8_t *data, size_t len, uint8_t out[DK_HASH_BYTES]);
/* Keyed BLAKE2b-256 (an index key that reveals nothing without the key). */
void dk_hash_keyed(const uint8_t key[DK_SYMKEY_BYTES], const char *domain, const uint8_t *data,
                   size_t len, uint8_t out[DK_HASH_BYTES]);

/* AEAD: out = nonce || ciphertext || tag, appended to out. */
int dk_aead_seal(const uint8_t key[DK_SYMKEY_BYTES], const uint8_t *ad, size_t adlen,
                 const uint8_t *pt, size_t len, struct dk_buf *out);
/* Opens nonce || ciphertext || tag into out (appended). DK_EBADBODY when it
 * does not authenticate. Use a secure buffer for personal plaintext. */
int dk_aead_open(const uint8_t key[DK_SYMKEY_BYTES], const uint8_t *ad, size_t adlen,
                 const uint8_t *in, size_t len, struct dk_buf *out);

/* Body encryption bound to its place in a log: ad = domain || log || seq. */
int dk_body_seal(const uint8_t key[DK_SYMKEY_BYTES], const uint8_t log[DK_PK_BYTES], uint64_t seq,
                 const uint8_t *pt, size_t len, struct dk_buf *out);
int dk_body_open(const uint8_t key[DK_SYMKEY_BYTES], const uint8_t log[DK_PK_BYTES], uint64_t seq,
                 const uint8_t *body, size_t len, struct dk_buf *out);

/* Random symmetric key into sodium_malloc'd memory the caller frees with
 * sodium_free(). NULL on failure. */
uint8_t *dk_symkey_new(void);

/*
 * Case keys are given to each reader with crypto_box between the writing
 * office's key and the reader's (both X25519 forms of their Ed25519 keys):
 * the writer is public anyway (it signs the entry that carries the grant),
 * and the shared key of a pair is computed once (crypto_box_beforenm) and
 * reused, so a grant costs one XSalsa20-Poly1305 of 32 bytes rather than
 * the two scalar multiplications of crypto_box_seal. That is what makes
 * bulk loads of many cases affordable.
 *
 * dk_key_shared() derives the shared key of me and peer_pk into shared
 * (which should be sodium_malloc memory); the same value comes out on both
 * sides. DK_ECRYPTO for a peer key that is not a valid point.
 */
int dk_key_shared(const struct dk_identity *me, const uint8_t peer_pk[DK_PK_BYTES],
                  uint8_t shared[DK_SYMKEY_BYTES]);
/* out = random nonce || crypto_box_afternm(key). */
int dk_key_wrap(const uint8_t shared[DK_SYMKEY_BYTES], const uint8_t key[DK_SYMKEY_BYTES],
                uint8_t out[DK_SEALED_KEY_BYTES]);
/* DK_ENOKEY when in was not wrapped under shared. */
int dk_key_unwrap(const uint8_t shared[DK_SYMKEY_BYTES], const uint8_t in[DK_SEALED_KEY_BYTES],
                  uint8_t key[DK_SYMKEY_BYTES]);

/* Hex helpers. dk_hex writes 2*len chars and a NUL. dk_unhex returns the
 * number of bytes decoded or DK_EFORMAT. */
void dk_hex(const uint8_t *in, size_t len, char *out);
int dk_unhex(const char *hex, uint8_t *out, size_t cap);

#endif
