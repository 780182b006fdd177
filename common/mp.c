#include "common/mp.h"

#include <string.h>

#include "common/error.h"
#include "common/limits.h"

/* Reads a big-endian unsigned integer of n bytes at p (n <= 8). */
static uint64_t be_read(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

/*
 * Iterative walk with an explicit stack of "objects still to read" per level,
 * so that hostile nesting cannot exhaust the C stack.
 */
int dk_mp_check(const uint8_t *data, size_t len, size_t *object_bytes) {
  uint64_t pending[DK_MP_DEPTH_MAX + 1];
  int depth = 0;
  size_t pos = 0;
  pending[0] = 1;

  while (depth >= 0) {
    if (pending[depth] == 0) {
      depth--;
      continue;
    }
    pending[depth]--;
    if (pos >= len)
      return DK_EFORMAT;
    uint8_t t = data[pos++];
    size_t left = len - pos;
    uint64_t skip = 0;     /* payload bytes to skip */
    uint64_t children = 0; /* nested objects to read */
    size_t lenbytes = 0;   /* size of a length field that follows */
    int kind = 0;          /* 0 scalar, 1 str/bin, 2 array, 3 map */

    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
      /* fixint, nil, bool */
    } else if ((t & 0xe0) == 0xa0) {
      skip = t & 0x1f;
    } else if ((t & 0xf0) == 0x90) {
      kind = 2;
      children = t & 0x0f;
    } else if ((t & 0xf0) == 0x80) {
      kind = 3;
      children = (uint64_t)(t & 0x0f) * 2;
    } else {
      switch (t) {
      case 0xcc: case 0xd0: skip = 1; break;
      case 0xcd: case 0xd1: skip = 2; break;
      case 0xce: case 0xd2: case 0xca: skip = 4; break;
      case 0xcf: case 0xd3: case 0xcb: skip = 8; break;
      case 0xd9: case 0xc4: kind = 1; lenbytes = 1; break;
      case 0xda: case 0xc5: kind = 1; lenbytes = 2; break;
      case 0xdb: case 0xc6: kind = 1; lenbytes = 4; break;
      case 0xdc: kind = 2; lenbytes = 2; break;
      case 0xdd: kind = 2; lenbytes = 4; break;
      case 0xde: kind = 3; lenbytes = 2; break;
      case 0xdf: kind = 3; lenbytes = 4; break;
      default:
        return DK_EFORMAT; /* ext types and the unused 0xc1 */
      }
    }
    if (lenbytes) {
      if (left < lenbytes)
        return DK_EFORMAT;
      uint64_t n = be_read(data + pos, lenbytes);
      pos += lenbytes;
      left -= lenbytes;
      if (kind == 1)
        skip = n;
      else if (kind == 2)
        children = n;
      else
        children = n * 2;
    }
    if (skip > left)
      return DK_EFORMAT;
    pos += (size_t)skip;
    if (children) {
      /* Each child takes at least one byte: a count beyond the bytes left is
       * a lie, whatever the limit. */
      if (children > DK_MP_COUNT_MAX * 2ull)
        return DK_ELIMIT;
      if (children > len - pos)
        return DK_EFORMAT;
      if (depth + 1 > DK_MP_DEPTH_MAX)
        return DK_ELIMIT;
      pending[++depth] = children;
    }
  }
  *object_bytes = pos;
  return 0;
}

int dk_mp_parse(const uint8_t *data, size_t len, msgpack_unpacked *out) {
  size_t n = 0;
  int rc = dk_mp_check(data, len, &n);
  if (rc != 0)
    return rc;
  if (n != len)
    return DK_EFORMAT; /* trailing bytes */
  msgpack_unpacked_init(out);
  size_t off = 0;
  msgpack_unpack_return ur = msgpack_unpack_next(out, (const char *)data, len, &off);
  if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
    msgpack_unpacked_destroy(out);
    return ur == MSGPACK_UNPACK_NOMEM_ERROR ? DK_ENOMEM : DK_EFORMAT;
  }
  return 0;
}

const msgpack_object *dk_mp_map_get(const msgpack_object *o, const char *key) {
  if (o == NULL || o->type != MSGPACK_OBJECT_MAP)
    return NULL;
  size_t klen = strlen(key);
  for (uint32_t i = 0; i < o->via.map.size; i++) {
    const msgpack_object *k = &o->via.map.ptr[i].key;
    if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
        memcmp(k->via.str.ptr, key, klen) == 0)
      return &o->via.map.ptr[i].val;
  }
  return NULL;
}

int dk_mp_get_u64(const msgpack_object *o, uint64_t *out) {
  if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return DK_EFORMAT;
  *out = o->via.u64;
  return 0;
}

int dk_mp_get_str_view(const msgpack_object *o, const char **ptr, size_t *len) {
  if (o == NULL || o->type != MSGPACK_OBJECT_STR)
    return DK_EFORMAT;
  *ptr = o->via.str.ptr;
  *len = o->via.str.size;
  return 0;
}

int dk_mp_get_str(const msgpack_object *o, char *dst, size_t cap) {
  const char *p;
  size_t n;
  int rc = dk_mp_get_str_view(o, &p, &n);
  if (rc != 0)
    return rc;
  if (n + 1 > cap)
    return DK_ELIMIT;
  /* msgpack-c gives an empty string a NULL pointer: not for memchr. */
  if (n > 0 && memchr(p, 0, n) != NULL)
    return DK_EFORMAT;
  if (n > 0)
    memcpy(dst, p, n);
  dst[n] = 0;
  return 0;
}

int dk_mp_get_bin_view(const msgpack_object *o, const uint8_t **ptr, size_t *len) {
  if (o == NULL || o->type != MSGPACK_OBJECT_BIN)
    return DK_EFORMAT;
  *ptr = (const uint8_t *)o->via.bin.ptr;
  *len = o->via.bin.size;
  return 0;
}

int dk_mp_get_bin_fixed(const msgpack_object *o, uint8_t *dst, size_t len) {
  const uint8_t *p;
  size_t n;
  int rc = dk_mp_get_bin_view(o, &p, &n);
  if (rc != 0)
    return rc;
  if (n != len)
    return DK_EFORMAT;
  memcpy(dst, p, n);
  return 0;
}

int dk_mp_pack_strn(msgpack_packer *pk, const char *s, size_t n) {
  if (msgpack_pack_str(pk, n) != 0 || msgpack_pack_str_body(pk, s, n) != 0)
    return DK_ENOMEM;
  return 0;
}

int dk_mp_pack_str(msgpack_packer *pk, const char *s) { return dk_mp_pack_strn(pk, s, strlen(s)); }

int dk_mp_pack_bin(msgpack_packer *pk, const uint8_t *p, size_t n) {
  if (msgpack_pack_bin(pk, n) != 0 || msgpack_pack_bin_body(pk, p, n) != 0)
    return DK_ENOMEM;
  return 0;
}
