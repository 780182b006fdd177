#include "node/trust/trust.h"

#include <msgpack.h>
#include <string.h>

#include "common/error.h"
#include "common/mp.h"
#include "node/log/entry.h"
#include "node/node.h"

static const char *kind_name(uint64_t type) {
  switch (type) {
  case DK_ENTRY_CERT: return "cert";
  case DK_ENTRY_REVOKE: return "revoke";
  case DK_ENTRY_AUDITOR: return "auditor";
  default: return NULL;
  }
}

/* Field rules shared by encode and decode, so that whatever encodes decodes. */
static int fields_valid(const struct dk_statement *s) {
  enum dk_office_role role;
  switch (s->type) {
  case DK_ENTRY_CERT:
    return dk_office_valid(s->office) && dk_office_role_parse(s->role, &role) == 0 &&
           s->not_before_ms < s->not_after_ms;
  case DK_ENTRY_AUDITOR:
    return dk_office_valid(s->office) && s->not_before_ms < s->not_after_ms;
  case DK_ENTRY_REVOKE:
    return memchr(s->reason, 0, sizeof(s->reason)) != NULL;
  default:
    return 0;
  }
}

int dk_statement_encode(const struct dk_statement *s, struct dk_buf *out) {
  const char *kind = kind_name(s->type);
  if (kind == NULL || !fields_valid(s))
    return DK_EINVAL;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, dk_buf_msgpack_write);
  int bad = 0;
  switch (s->type) {
  case DK_ENTRY_CERT:
    bad |= msgpack_pack_array(&pk, 8);
    bad |= dk_mp_pack_str(&pk, kind);
    bad |= msgpack_pack_uint64(&pk, DK_STATEMENT_VERSION);
    bad |= dk_mp_pack_bin(&pk, s->key, DK_PK_BYTES);
    bad |= dk_mp_pack_str(&pk, s->office);
    bad |= dk_mp_pack_str(&pk, s->role);
    bad |= msgpack_pack_uint64(&pk, s->not_before_ms);
    bad |= msgpack_pack_uint64(&pk, s->not_after_ms);
    break;
  case DK_ENTRY_REVOKE:
    bad |= msgpack_pack_array(&pk, 6);
    bad |= dk_mp_pack_str(&pk, kind);
    bad |= msgpack_pack_uint64(&pk, DK_STATEMENT_VERSION);
    bad |= dk_mp_pack_bin(&pk, s->key, DK_PK_BYTES);
    bad |= msgpack_pack_uint64(&pk, s->revoked_at_ms);
    bad |= dk_mp_pack_str(&pk, s->reason);
    break;
  default: /* DK_ENTRY_AUDITOR */
    bad |= msgpack_pack_array(&pk, 7);
    bad |= dk_mp_pack_str(&pk, kind);
    bad |= msgpack_pack_uint64(&pk, DK_STATEMENT_VERSION);
    bad |= dk_mp_pack_bin(&pk, s->key, DK_PK_BYTES);
    bad |= dk_mp_pack_str(&pk, s->office);
    bad |= msgpack_pack_uint64(&pk, s->not_before_ms);
    bad |= msgpack_pack_uint64(&pk, s->not_after_ms);
    break;
  }
  bad |= dk_mp_pack_bin(&pk, s->root, DK_PK_BYTES);
  return bad ? DK_ENOMEM : 0;
}

static int decode_fields(uint64_t type, const msgpack_object *o, struct dk_statement *s) {
  uint32_t want = type == DK_ENTRY_CERT ? 8 : type == DK_ENTRY_REVOKE ? 6 : 7;
  if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != want)
    return DK_EFORMAT;
  const msgpack_object *f = o->via.array.ptr;
  const char *kind;
  size_t kind_len;
  uint64_t version;
  if (dk_mp_get_str_view(&f[0], &kind, &kind_len) != 0 ||
      kind_len != strlen(kind_name(type)) || memcmp(kind, kind_name(type), kind_len) != 0 ||
      dk_mp_get_u64(&f[1], &version) != 0)
    return DK_EFORMAT;
  if (version != DK_STATEMENT_VERSION)
    return DK_EVERSION;
  if (dk_mp_get_bin_fixed(&f[2], s->key, DK_PK_BYTES) != 0 ||
      dk_mp_get_bin_fixed(&f[want - 1], s->root, DK_PK_BYTES) != 0)
    return DK_EFORMAT;
  int bad = 0;
  switch (type) {
  case DK_ENTRY_CERT:
    bad |= dk_mp_get_str(&f[3], s->office, sizeof(s->office)) != 0;
    bad |= dk_mp_get_str(&f[4], s->role, sizeof(s->role)) != 0;
    bad |= dk_mp_get_u64(&f[5], &s->not_before_ms) != 0;
    bad |= dk_mp_get_u64(&f[6], &s->not_after_ms) != 0;
    break;
  case DK_ENTRY_REVOKE:
    bad |= dk_mp_get_u64(&f[3], &s->revoked_at_ms) != 0;
    bad |= dk_mp_get_str(&f[4], s->reason, sizeof(s->reason)) != 0;
    break;
  default:
    bad |= dk_mp_get_str(&f[3], s->office, sizeof(s->office)) != 0;
    bad |= dk_mp_get_u64(&f[4], &s->not_before_ms) != 0;
    bad |= dk_mp_get_u64(&f[5], &s->not_after_ms) != 0;
    break;
  }
  return bad ? DK_EFORMAT : 0;
}

int dk_statement_decode(uint64_t type, const uint8_t *bytes, size_t len, struct dk_statement *s) {
  memset(s, 0, sizeof(*s));
  if (kind_name(type) == NULL || len == 0 || len > DK_STATEMENT_BYTES_MAX)
    return DK_EFORMAT;
  msgpack_unpacked u;
  int rc = dk_mp_parse(bytes, len, &u);
  if (rc != 0)
    return rc == DK_ENOMEM ? rc : DK_EFORMAT;
  s->type = type;
  rc = decode_fields(type, &u.data, s);
  msgpack_unpacked_destroy(&u);
  if (rc != 0)
    return rc;
  if (!fields_valid(s))
    return DK_EFORMAT;
  /* Canonical: our encoding of what we read must be the very same bytes. */
  struct dk_buf again;
  dk_buf_init(&again);
  rc = dk_statement_encode(s, &again);
  if (rc == 0 && (again.len != len || memcmp(again.data, bytes, len) != 0))
    rc = DK_EFORMAT;
  dk_buf_release(&again);
  return rc == DK_ENOMEM ? rc : rc != 0 ? DK_EFORMAT : 0;
}

int dk_statement_sign(const struct dk_statement *s, const struct dk_identity *root,
                      struct dk_buf *body) {
  if (memcmp(s->root, root->pk, DK_PK_BYTES) != 0)
    return DK_EINVAL;
  struct dk_buf st;
  dk_buf_init(&st);
  uint8_t sig[DK_SIG_BYTES];
  int rc = dk_statement_encode(s, &st);
  if (rc == 0 && st.len > DK_STATEMENT_BYTES_MAX)
    rc = DK_ELIMIT;
  if (rc == 0)
    rc = dk_sign(root, DK_DOMAIN_STATEMENT, st.data, st.len, sig);
  if (rc == 0) {
    msgpack_packer pk;
    msgpack_packer_init(&pk, body, dk_buf_msgpack_write);
    int bad = msgpack_pack_array(&pk, 2);
    bad |= dk_mp_pack_bin(&pk, st.data, st.len);
    bad |= dk_mp_pack_bin(&pk, sig, DK_SIG_BYTES);
    rc = bad ? DK_ENOMEM : 0;
  }
  dk_buf_release(&st);
  return rc;
}

int dk_statement_open(uint64_t type, const uint8_t *body, size_t len,
                      const uint8_t root_pk[DK_PK_BYTES], struct dk_statement *out) {
  memset(out, 0, sizeof(*out));
  if (len == 0 || len > DK_STATEMENT_BYTES_MAX + DK_SIG_BYTES + 16)
    return DK_EFORMAT;
  msgpack_unpacked u;
  int rc = dk_mp_parse(body, len, &u);
  if (rc != 0)
    return rc == DK_ENOMEM ? rc : DK_EFORMAT;
  const msgpack_object *o = &u.data;
  const uint8_t *st;
  size_t st_len;
  uint8_t sig[DK_SIG_BYTES];
  rc = DK_EFORMAT;
  if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2 ||
      dk_mp_get_bin_view(&o->via.array.ptr[0], &st, &st_len) != 0 ||
      dk_mp_get_bin_fixed(&o->via.array.ptr[1], sig, DK_SIG_BYTES) != 0)
    goto out;
  /* The body is canonical too: fixarray, bin 8 or bin 16, bin 8. */
  size_t head = st_len < 256 ? 2 : 3;
  if (len != 1 + head + st_len + 2 + DK_SIG_BYTES)
    goto out;
  rc = dk_statement_decode(type, st, st_len, out);
  if (rc != 0)
    goto out;
  if (memcmp(out->root, root_pk, DK_PK_BYTES) != 0) {
    rc = DK_EAUTH;
    goto out;
  }
  rc = dk_verify(root_pk, DK_DOMAIN_STATEMENT, st, st_len, sig);
out:
  msgpack_unpacked_destroy(&u);
  return rc;
}

int dk_statement_in_force(const struct dk_statement *s, uint64_t at_ms) {
  return s->not_before_ms <= at_ms && at_ms < s->not_after_ms;
}

int dk_revoked_by(int has_revocation, uint64_t revoked_at_ms, uint64_t at_ms) {
  return has_revocation && at_ms > revoked_at_ms;
}
