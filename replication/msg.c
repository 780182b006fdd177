#include "replication/msg.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/mp.h"

int dk_msg_peek(const uint8_t *plaintext, size_t len, uint32_t *type, uint32_t *version) {
  msgpack_unpacked u;
  int rc = dk_mp_parse(plaintext, len, &u);
  if (rc != 0)
    return rc; /* u holds nothing on failure */
  const msgpack_object *o = &u.data;
  uint64_t v = 0, t = 0;
  if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 2) {
    rc = DK_EFORMAT;
    goto out;
  }
  rc = dk_mp_get_u64(&o->via.array.ptr[0], &v);
  if (rc != 0)
    goto out;
  if (v != DK_PROTO_VERSION) {
    /* Report what the peer spoke, clamped to fit. */
    *version = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    rc = DK_EVERSION;
    goto out;
  }
  rc = dk_mp_get_u64(&o->via.array.ptr[1], &t);
  if (rc != 0)
    goto out;
  if (t > UINT32_MAX) {
    rc = DK_EFORMAT;
    goto out;
  }
  *version = (uint32_t)v;
  *type = (uint32_t)t;
out:
  msgpack_unpacked_destroy(&u);
  return rc;
}

int dk_msg_begin(msgpack_packer *pk, uint32_t type, uint32_t fields_count) {
  if (fields_count > DK_MP_COUNT_MAX - 2)
    return DK_ELIMIT;
  if (msgpack_pack_array(pk, (size_t)fields_count + 2) != 0 ||
      msgpack_pack_uint32(pk, DK_PROTO_VERSION) != 0 || msgpack_pack_uint32(pk, type) != 0)
    return DK_ENOMEM;
  return 0;
}
