/*
 * Network key rotation (docs/PROTOCOL.md §"Network key rotation",
 * docs/operations.md). The district publishes the next network key as an
 * entry of its own log (type DK_ENTRY_NETKEY), sealed to every certified
 * office's key with the same wrapping as case keys (crypto.h dk_key_wrap):
 *
 *   body = msgpack ["netkey", 1, old_until_ms (uint),
 *                   [[reader key (bin 32), sealed key (bin 72)], ...]]
 *
 * The readers are in strictly ascending byte order (so no reader appears
 * twice and a body has one encoding), 1 to DK_NETKEY_RECIPIENTS_MAX of
 * them. The sealed key is dk_key_wrap() under the shared key of the
 * district's log key and the reader's key. After old_until_ms the key held
 * before the rotation is refused.
 *
 * Everything here is pure: no I/O, no globals, no clock.
 */
#ifndef DK_NETKEY_H
#define DK_NETKEY_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/limits.h"
#include "node/log/entry.h"

#define DK_NETKEY_VERSION 1
#define DK_NETKEY_BYTES 32

/* What a node holds of the network keys. old_key is the key it was given
 * at init (or the one before the latest rotation it applied); new_key,
 * when has_new, the key of that rotation, and the old key is refused
 * after old_until_ms. Holds secrets: keep it in sodium_malloc memory and
 * wipe it after use. */
struct dk_netkeys {
  uint8_t old_key[DK_NETKEY_BYTES];
  int has_new;
  uint8_t new_key[DK_NETKEY_BYTES];
  uint64_t old_until_ms;
};

/* The keys usable at now_ms, in the order to dial with them: the new key
 * first when held, then the old key while it is still in force (always,
 * when no rotation is held). Writes borrowed pointers into keys into out
 * and returns how many (1 or 2). A server accepts exactly these. */
size_t dk_netkeys_usable(const struct dk_netkeys *k, uint64_t now_ms, const uint8_t *out[2]);

/* Encodes a rotation body. grants (count 1..DK_NETKEY_RECIPIENTS_MAX) are
 * sorted in place by reader first. DK_ELIMIT for too many readers,
 * DK_EINVAL for none or a reader given twice. */
int dk_netkey_body_encode(uint64_t old_until_ms, struct dk_grant *grants, size_t count,
                          struct dk_buf *out);

/* Strict decoding: DK_EFORMAT unless body is a well-formed rotation (count
 * in bounds, readers strictly ascending), DK_EVERSION for another version.
 * *old_until_ms and *count get the body's. When reader is not NULL, *found
 * says whether it is among the readers and sealed gets its sealed key. */
int dk_netkey_body_decode(const uint8_t *body, size_t len, const uint8_t *reader,
                          uint64_t *old_until_ms, size_t *count,
                          uint8_t sealed[DK_SEALED_KEY_BYTES], int *found);

#endif
