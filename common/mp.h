/*
 * Safe msgpack reading and small writing helpers over msgpack-c.
 *
 * msgpack-c trusts the container counts and string lengths it reads: a
 * 7-byte input can make it allocate tens of gigabytes. Nothing in docket
 * hands bytes from disk or network to msgpack-c before dk_mp_check() has
 * walked them and bounded every count by the bytes that remain and by
 * DK_MP_COUNT_MAX, and the nesting by DK_MP_DEPTH_MAX.
 *
 * dk_mp_parse() does both: check, then unpack into a msgpack_unpacked that
 * the caller owns (msgpack_unpacked_destroy). Objects borrowed from it are
 * valid until it is destroyed. Not thread-safe per object; no globals.
 */
#ifndef DK_MP_H
#define DK_MP_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

/* Walks exactly one msgpack object at data[0..len). On success returns 0 and
 * sets *object_bytes to its encoded size. Ext types are refused. Returns
 * DK_EFORMAT on truncated or malformed input, DK_ELIMIT past a limit. */
int dk_mp_check(const uint8_t *data, size_t len, size_t *object_bytes);

/* Checks and unpacks one msgpack object that must span all of data[0..len).
 * On success the caller must msgpack_unpacked_destroy(out); on failure out
 * holds nothing and needs no cleanup. */
int dk_mp_parse(const uint8_t *data, size_t len, msgpack_unpacked *out);

/* Map lookup by string key; NULL when absent or when o is not a map. */
const msgpack_object *dk_mp_map_get(const msgpack_object *o, const char *key);

/* Typed readers: return 0, DK_EFORMAT on a wrong type or DK_ELIMIT when too
 * long. Strings are copied NUL-terminated into dst (cap bytes including NUL);
 * strings with NUL bytes inside are refused. */
int dk_mp_get_u64(const msgpack_object *o, uint64_t *out);
int dk_mp_get_str(const msgpack_object *o, char *dst, size_t cap);
/* Borrowed view of a str: valid as long as the msgpack_unpacked lives. */
int dk_mp_get_str_view(const msgpack_object *o, const char **ptr, size_t *len);
/* A bin of exactly len bytes. */
int dk_mp_get_bin_fixed(const msgpack_object *o, uint8_t *dst, size_t len);
int dk_mp_get_bin_view(const msgpack_object *o, const uint8_t **ptr, size_t *len);

/* Writers (return 0 or DK_ENOMEM). */
int dk_mp_pack_str(msgpack_packer *pk, const char *s);
int dk_mp_pack_strn(msgpack_packer *pk, const char *s, size_t n);
int dk_mp_pack_bin(msgpack_packer *pk, const uint8_t *p, size_t n);

#endif
