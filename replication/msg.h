/*
 * The envelope of every replication message: the plaintext of one frame is
 * a msgpack array [version, type, ...fields]. This module reads and writes
 * only the first two elements; the sync messages define the rest.
 *
 * Received bytes are decoded only through dk_mp_parse(), which bounds every
 * count before msgpack-c unpacks anything. Pure, no globals, thread-safe.
 */
#ifndef DK_MSG_H
#define DK_MSG_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

/* The replication protocol version carried in every envelope. */
#define DK_PROTO_VERSION 1

/*
 * Reads the envelope of plaintext[0..len). On success sets *version
 * (always DK_PROTO_VERSION) and *type. Errors:
 * - DK_EVERSION: a well-formed envelope of another version (*version is set
 *   so the caller can report it; *type is not);
 * - DK_EFORMAT: not exactly one msgpack array of at least two elements whose
 *   first two are unsigned integers (the type below 2^32);
 * - DK_ELIMIT: a count or nesting beyond the msgpack limits;
 * - DK_ENOMEM.
 */
int dk_msg_peek(const uint8_t *plaintext, size_t len, uint32_t *type, uint32_t *version);

/*
 * Starts a message of `type` with fields_count more fields to follow: packs
 * the array header, DK_PROTO_VERSION and type. The caller then packs exactly
 * fields_count objects. Returns 0, DK_ELIMIT (too many fields) or DK_ENOMEM.
 */
int dk_msg_begin(msgpack_packer *pk, uint32_t type, uint32_t fields_count);

#endif
