#include "node/log/fork.h"

#include <msgpack.h>
#include <string.h>

#include "common/error.h"
#include "common/mp.h"

static int conflict(const struct dk_entry *a, const struct dk_entry *b) {
  return memcmp(a->h.log, b->h.log, DK_PK_BYTES) == 0 && a->h.seq == b->h.seq &&
         memcmp(a->id, b->id, DK_HASH_BYTES) != 0;
}

static int pack_one(msgpack_packer *pk, const struct dk_entry *e) {
  int bad = msgpack_pack_array(pk, 2);
  bad |= dk_mp_pack_bin(pk, e->header_bytes, e->header_len);
  bad |= dk_mp_pack_bin(pk, e->sig, DK_SIG_BYTES);
  return bad;
}

int dk_fork_body_encode(const struct dk_entry *a, const struct dk_entry *b, struct dk_buf *out) {
  if (!conflict(a, b))
    return DK_EINVAL;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, dk_buf_msgpack_write);
  int bad = msgpack_pack_array(&pk, 3);
  bad |= dk_mp_pack_str(&pk, "fork");
  bad |= pack_one(&pk, a);
  bad |= pack_one(&pk, b);
  return bad ? DK_ENOMEM : 0;
}

static int parse_one(const msgpack_object *o, struct dk_entry *e) {
  const uint8_t *hb, *sig;
  size_t hl, sl;
  if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2 ||
      dk_mp_get_bin_view(&o->via.array.ptr[0], &hb, &hl) != 0 ||
      dk_mp_get_bin_view(&o->via.array.ptr[1], &sig, &sl) != 0 || sl != DK_SIG_BYTES ||
      hl == 0 || hl > DK_HEADER_BYTES_MAX)
    return DK_EFORMAT;
  return dk_entry_parse(e, hb, hl, sig) == 0 ? 0 : DK_EFORMAT;
}

int dk_fork_body_decode(const uint8_t *body, size_t len, struct dk_entry *a, struct dk_entry *b) {
  /* Two headers, two signatures and a few bytes of msgpack. */
  if (len == 0 || len > 2 * (DK_HEADER_BYTES_MAX + DK_SIG_BYTES) + 32)
    return DK_EFORMAT;
  msgpack_unpacked u;
  int rc = dk_mp_parse(body, len, &u);
  if (rc != 0)
    return rc == DK_ENOMEM ? rc : DK_EFORMAT;
  const msgpack_object *o = &u.data;
  char tag[8];
  rc = DK_EFORMAT;
  if (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 3 &&
      dk_mp_get_str(&o->via.array.ptr[0], tag, sizeof(tag)) == 0 && strcmp(tag, "fork") == 0 &&
      parse_one(&o->via.array.ptr[1], a) == 0 && parse_one(&o->via.array.ptr[2], b) == 0 &&
      conflict(a, b))
    rc = 0;
  msgpack_unpacked_destroy(&u);
  if (rc != 0)
    return rc;
  /* Canonical: our encoding of what we read must be the very same bytes. */
  struct dk_buf again;
  dk_buf_init(&again);
  rc = dk_fork_body_encode(a, b, &again);
  if (rc == 0 && (again.len != len || memcmp(again.data, body, len) != 0))
    rc = DK_EFORMAT;
  dk_buf_release(&again);
  if (rc != 0)
    return rc == DK_ENOMEM ? rc : DK_EFORMAT;
  if (dk_entry_verify_sig(a) != 0 || dk_entry_verify_sig(b) != 0)
    return DK_EBADSIG;
  return 0;
}
