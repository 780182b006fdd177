#include "crypto/crypto.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"

static void *secure_alloc(size_t n) {
  void *p = sodium_malloc(n);
  if (p)
    memset(p, 0, n);
  return p;
}

void dk_identity_release(struct dk_identity *id) {
  sodium_free(id->seed);
  sodium_free(id->sk);
  sodium_free(id->xsk);
  id->seed = id->sk = id->xsk = NULL;
}

int dk_identity_from_seed(struct dk_identity *id, const uint8_t seed[DK_SEED_BYTES]) {
  memset(id, 0, sizeof(*id));
  id->seed = secure_alloc(DK_SEED_BYTES);
  id->sk = secure_alloc(DK_SK_BYTES);
  id->xsk = secure_alloc(32);
  int rc = DK_ENOMEM;
  if (!id->seed || !id->sk || !id->xsk)
    goto out;
  memcpy(id->seed, seed, DK_SEED_BYTES);
  rc = DK_ECRYPTO;
  if (crypto_sign_seed_keypair(id->pk, id->sk, id->seed) != 0)
    goto out;
  if (crypto_sign_ed25519_pk_to_curve25519(id->xpk, id->pk) != 0)
    goto out;
  if (crypto_sign_ed25519_sk_to_curve25519(id->xsk, id->sk) != 0)
    goto out;
  rc = 0;
out:
  if (rc != 0)
    dk_identity_release(id);
  return rc;
}

int dk_identity_generate(struct dk_identity *id) {
  uint8_t *seed = secure_alloc(DK_SEED_BYTES);
  if (seed == NULL)
    return DK_ENOMEM;
  randombytes_buf(seed, DK_SEED_BYTES);
  int rc = dk_identity_from_seed(id, seed);
  sodium_free(seed);
  return rc;
}

int dk_pk_to_x25519(const uint8_t pk[DK_PK_BYTES], uint8_t xpk[32]) {
  return crypto_sign_ed25519_pk_to_curve25519(xpk, pk) == 0 ? 0 : DK_ECRYPTO;
}

/* Builds domain || NUL || msg in a stack buffer when it fits, else the heap. */
#define PREFIXED_STACK 2048
static uint8_t *prefixed(const char *domain, const uint8_t *msg, size_t len, uint8_t *stack,
                         size_t *out_len) {
  size_t dlen = strlen(domain) + 1;
  if (len > SIZE_MAX - dlen)
    return NULL;
  size_t n = dlen + len;
  uint8_t *p = n <= PREFIXED_STACK ? stack : malloc(n);
  if (p == NULL)
    return NULL;
  memcpy(p, domain, dlen);
  if (len)
    memcpy(p + dlen, msg, len);
  *out_len = n;
  return p;
}

int dk_sign(const struct dk_identity *id, const char *domain, const uint8_t *msg, size_t len,
            uint8_t sig[DK_SIG_BYTES]) {
  uint8_t stack[PREFIXED_STACK];
  size_t n;
  uint8_t *p = prefixed(domain, msg, len, stack, &n);
  if (p == NULL)
    return DK_ENOMEM;
  int rc = crypto_sign_detached(sig, NULL, p, n, id->sk) == 0 ? 0 : DK_ECRYPTO;
  if (p != stack)
    free(p);
  return rc;
}

int dk_verify(const uint8_t pk[DK_PK_BYTES], const char *domain, const uint8_t *msg, size_t len,
              const uint8_t sig[DK_SIG_BYTES]) {
  uint8_t stack[PREFIXED_STACK];
  size_t n;
  uint8_t *p = prefixed(domain, msg, len, stack, &n);
  if (p == NULL)
    return DK_ENOMEM;
  int rc = crypto_sign_verify_detached(sig, p, n, pk) == 0 ? 0 : DK_EBADSIG;
  if (p != stack)
    free(p);
  return rc;
}

void dk_hash2(const char *domain, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
              uint8_t out[DK_HASH_BYTES]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, DK_HASH_BYTES);
  crypto_generichash_update(&st, (const uint8_t *)domain, strlen(domain) + 1);
  if (alen)
    crypto_generichash_update(&st, a, alen);
  if (b && blen)
    crypto_generichash_update(&st, b, blen);
  crypto_generichash_final(&st, out, DK_HASH_BYTES);
}

void dk_hash_plain(const uint8_t *data, size_t len, uint8_t out[DK_HASH_BYTES]) {
  crypto_generichash(out, DK_HASH_BYTES, data, len, NULL, 0);
}

void dk_hash_keyed(const uint8_t key[DK_SYMKEY_BYTES], const char *domain, const uint8_t *data,
                   size_t len, uint8_t out[DK_HASH_BYTES]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, key, DK_SYMKEY_BYTES, DK_HASH_BYTES);
  crypto_generichash_update(&st, (const uint8_t *)domain, strlen(domain) + 1);
  crypto_generichash_update(&st, data, len);
  crypto_generichash_final(&st, out, DK_HASH_BYTES);
}

int dk_aead_seal(const uint8_t key[DK_SYMKEY_BYTES], const uint8_t *ad, size_t adlen,
                 const uint8_t *pt, size_t len, struct dk_buf *out) {
  if (len > SIZE_MAX - DK_AEAD_OVERHEAD)
    return DK_ELIMIT;
  int rc = dk_buf_reserve(out, len + DK_AEAD_OVERHEAD);
  if (rc != 0)
    return rc;
  uint8_t *nonce = out->data + out->len;
  randombytes_buf(nonce, DK_NONCE_BYTES);
  unsigned long long clen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + DK_NONCE_BYTES, &clen, pt, len, ad, adlen,
                                                 NULL, nonce, key) != 0)
    return DK_ECRYPTO;
  out->len += DK_NONCE_BYTES + (size_t)clen;
  return 0;
}

int dk_aead_open(const uint8_t key[DK_SYMKEY_BYTES], const uint8_t *ad, size_t adlen,
                 const uint8_t *in, size_t len, struct dk_buf *out) {
  if (len < DK_AEAD_OVERHEAD)
    return DK_EBADBODY;
  size_t ptlen = len - DK_AEAD_OVERHEAD;
  int rc = dk_buf_reserve(out, ptlen);
  if (rc != 0)
    return rc;
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out->data + out->len, &mlen, NULL,
                                                 in + DK_NONCE_BYTES, len - DK_NONCE_BYTES, ad,
                                                 adlen, in, key) != 0)
    return DK_EBADBODY;
  out->len += (size_t)mlen;
  return 0;
}

static size_t body_ad(uint8_t *ad, const uint8_t log[DK_PK_BYTES], uint64_t seq) {
  size_t dlen = sizeof(DK_DOMAIN_BODY_AD); /* includes the NUL */
  memcpy(ad, DK_DOMAIN_BODY_AD, dlen);
  memcpy(ad + dlen, log, DK_PK_BYTES);
  dk_be64_put(ad + dlen + DK_PK_BYTES, seq);
  return dlen + DK_PK_BYTES + 8;
}

int dk_body_seal(const uint8_t key[DK_SYMKEY_BYTES], const uint8_t log[DK_PK_BYTES], uint64_t seq,
                 const uint8_t *pt, size_t len, struct dk_buf *out) {
  if (len > DK_EVENT_BYTES_MAX)
    return DK_ELIMIT;
  uint8_t ad[sizeof(DK_DOMAIN_BODY_AD) + DK_PK_BYTES + 8];
  size_t adlen = body_ad(ad, log, seq);
  return dk_aead_seal(key, ad, adlen, pt, len, out);
}

int dk_body_open(const uint8_t key[DK_SYMKEY_BYTES], const uint8_t log[DK_PK_BYTES], uint64_t seq,
                 const uint8_t *body, size_t len, struct dk_buf *out) {
  if (len > DK_BODY_BYTES_MAX)
    return DK_ELIMIT;
  uint8_t ad[sizeof(DK_DOMAIN_BODY_AD) + DK_PK_BYTES + 8];
  size_t adlen = body_ad(ad, log, seq);
  return dk_aead_open(key, ad, adlen, body, len, out);
}

uint8_t *dk_symkey_new(void) {
  uint8_t *k = sodium_malloc(DK_SYMKEY_BYTES);
  if (k)
    crypto_aead_xchacha20poly1305_ietf_keygen(k);
  return k;
}

int dk_key_shared(const struct dk_identity *me, const uint8_t peer_pk[DK_PK_BYTES],
                  uint8_t shared[DK_SYMKEY_BYTES]) {
  uint8_t xpk[32];
  if (dk_pk_to_x25519(peer_pk, xpk) != 0)
    return DK_ECRYPTO;
  return crypto_box_beforenm(shared, xpk, me->xsk) == 0 ? 0 : DK_ECRYPTO;
}

int dk_key_wrap(const uint8_t shared[DK_SYMKEY_BYTES], const uint8_t key[DK_SYMKEY_BYTES],
                uint8_t out[DK_SEALED_KEY_BYTES]) {
  randombytes_buf(out, crypto_box_NONCEBYTES);
  return crypto_box_easy_afternm(out + crypto_box_NONCEBYTES, key, DK_SYMKEY_BYTES, out, shared) ==
                 0
             ? 0
             : DK_ECRYPTO;
}

int dk_key_unwrap(const uint8_t shared[DK_SYMKEY_BYTES], const uint8_t in[DK_SEALED_KEY_BYTES],
                  uint8_t key[DK_SYMKEY_BYTES]) {
  return crypto_box_open_easy_afternm(key, in + crypto_box_NONCEBYTES,
                                      DK_SEALED_KEY_BYTES - crypto_box_NONCEBYTES, in,
                                      shared) == 0
             ? 0
             : DK_ENOKEY;
}

_Static_assert(DK_SEALED_KEY_BYTES == crypto_box_NONCEBYTES + DK_SYMKEY_BYTES + crypto_box_MACBYTES,
               "a wrapped key is nonce, key and MAC");
_Static_assert(crypto_box_BEFORENMBYTES == DK_SYMKEY_BYTES, "shared keys are 32 bytes");

void dk_hex(const uint8_t *in, size_t len, char *out) {
  sodium_bin2hex(out, len * 2 + 1, in, len);
}

int dk_unhex(const char *hex, uint8_t *out, size_t cap) {
  size_t n = 0;
  const char *end = NULL;
  if (sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &n, &end) != 0 || *end != 0)
    return DK_EFORMAT;
  return (int)n;
}
