/*
 * The keyfile: a node's secret keys, encrypted under a passphrase.
 *
 * Layout (all integers big-endian; docs/PROTOCOL.md has the details):
 *   magic "DKKEY\0\0\1" (8) | opslimit u64 | memlimit u64 | salt (16) |
 *   nonce (24) | XChaCha20-Poly1305( seed (32) | storage key (32) ) + tag
 * The associated data is the domain "docket/keyfile/v1" with its NUL followed
 * by the 64 bytes before the ciphertext, so the parameters cannot be swapped.
 * The key is Argon2id(passphrase, salt, opslimit, memlimit).
 *
 * Files are written to a temporary name, fsynced and renamed into place with
 * mode 0600. Passphrases are never taken from argv: see cli/.
 */
#ifndef DK_KEYFILE_H
#define DK_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

#define DK_KEYFILE_BYTES (8 + 8 + 8 + 16 + 24 + 64 + 16)

/* The secrets a keyfile holds, both in sodium_malloc memory. */
struct dk_secrets {
  uint8_t *seed;        /* DK_SEED_BYTES: Ed25519 seed of the node identity */
  uint8_t *storage_key; /* DK_SYMKEY_BYTES: encrypts derived state at rest */
};

int dk_secrets_init(struct dk_secrets *s);
void dk_secrets_release(struct dk_secrets *s);

/* Seals secrets under passphrase into path (mode 0600), durably. */
int dk_keyfile_write(const char *path, const char *passphrase, size_t passphrase_len,
                     const struct dk_secrets *s);

/* Reads and opens path. DK_EPASSPHRASE when the passphrase is wrong or the
 * file was altered; DK_EFORMAT when it is not a keyfile; DK_ENOTFOUND when
 * there is none. s must have been dk_secrets_init()ed. */
int dk_keyfile_read(const char *path, const char *passphrase, size_t passphrase_len,
                    struct dk_secrets *s);

/* Opens the len bytes of a keyfile read from disk: the same checks and
 * results as dk_keyfile_read (the size, the magic and the Argon2 parameters
 * are checked before any work is done). */
int dk_keyfile_decode(const uint8_t *file, size_t len, const char *passphrase,
                      size_t passphrase_len, struct dk_secrets *s);

/* 0 when bytes have the size and magic of a keyfile (nothing is opened),
 * DK_EFORMAT otherwise. */
int dk_keyfile_check(const uint8_t *bytes, size_t len);

/* Re-seals the keyfile at path under new_pass after opening it with
 * old_pass (DK_EPASSPHRASE when wrong, nothing written): the new file is
 * written beside it, flushed, renamed over it and the directory flushed, so
 * a crash leaves the old file or the new one, never neither. */
int dk_keyfile_rekey(const char *path, const char *old_pass, size_t old_len,
                     const char *new_pass, size_t new_len);

#endif
