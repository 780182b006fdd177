#include "node/log/entry.h"

#include <msgpack.h>
#include <string.h>

#include "common/error.h"
#include "common/mp.h"
#include "node/log/log_int.h"

/* A fixed-size msgpack sink: the header never exceeds DK_HEADER_BYTES_MAX. */
struct fixed_sink {
  uint8_t *p;
  size_t len, cap;
};

static int sink_write(void *data, const char *buf, size_t len) {
  struct fixed_sink *s = data;
  if (len > s->cap - s->len)
    return -1;
  memcpy(s->p + s->len, buf, len);
  s->len += len;
  return 0;
}

int dk_header_encode(const struct dk_header *h, uint8_t *out, size_t *out_len) {
  struct fixed_sink s = {out, 0, DK_HEADER_BYTES_MAX};
  msgpack_packer pk;
  msgpack_packer_init(&pk, &s, sink_write);
  int bad = 0;
  bad |= msgpack_pack_array(&pk, 9);
  bad |= msgpack_pack_uint64(&pk, h->version);
  bad |= msgpack_pack_bin(&pk, DK_PK_BYTES) | msgpack_pack_bin_body(&pk, h->log, DK_PK_BYTES);
  bad |= msgpack_pack_uint64(&pk, h->seq);
  if (h->has_prev)
    bad |= msgpack_pack_bin(&pk, DK_HASH_BYTES) | msgpack_pack_bin_body(&pk, h->prev, DK_HASH_BYTES);
  else
    bad |= msgpack_pack_nil(&pk);
  bad |= msgpack_pack_uint64(&pk, h->ts_ms);
  bad |= msgpack_pack_uint64(&pk, h->type);
  if (h->has_case)
    bad |= msgpack_pack_bin(&pk, DK_HASH_BYTES) |
           msgpack_pack_bin_body(&pk, h->case_id, DK_HASH_BYTES);
  else
    bad |= msgpack_pack_nil(&pk);
  bad |= msgpack_pack_uint64(&pk, h->body_bytes);
  bad |= msgpack_pack_bin(&pk, DK_HASH_BYTES) |
         msgpack_pack_bin_body(&pk, h->body_hash, DK_HASH_BYTES);
  if (bad)
    return DK_ELIMIT;
  *out_len = s.len;
  return 0;
}

static int opt_hash(const msgpack_object *o, int *has, uint8_t *dst) {
  if (o->type == MSGPACK_OBJECT_NIL) {
    *has = 0;
    memset(dst, 0, DK_HASH_BYTES);
    return 0;
  }
  *has = 1;
  return dk_mp_get_bin_fixed(o, dst, DK_HASH_BYTES);
}

/* The fast path of dk_header_decode, for the canonical encoding that every
 * well-formed header has: the fields read straight from the bytes, with no
 * msgpack objects built. -1 for anything else, which the general decoder
 * below then judges (and names), so both give the same answer for every
 * input. */
static int rd_uint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  const uint8_t *q = *p;
  size_t n;
  if (q == end)
    return -1;
  if (*q <= 0x7f) {
    *v = *q;
    *p = q + 1;
    return 0;
  }
  switch (*q) {
  case 0xcc: n = 1; break;
  case 0xcd: n = 2; break;
  case 0xce: n = 4; break;
  case 0xcf: n = 8; break;
  default: return -1;
  }
  if ((size_t)(end - q) < 1 + n)
    return -1;
  uint64_t x = 0;
  for (size_t i = 1; i <= n; i++)
    x = x << 8 | q[i];
  *v = x;
  *p = q + 1 + n;
  return 0;
}

static int rd_bin32(const uint8_t **p, const uint8_t *end, uint8_t out[32]) {
  const uint8_t *q = *p;
  if (end - q < 34 || q[0] != 0xc4 || q[1] != 32)
    return -1;
  memcpy(out, q + 2, 32);
  *p = q + 34;
  return 0;
}

static int rd_opt_bin32(const uint8_t **p, const uint8_t *end, int *has, uint8_t out[32]) {
  if (*p < end && **p == 0xc0) {
    *has = 0;
    memset(out, 0, 32);
    (*p)++;
    return 0;
  }
  *has = 1;
  return rd_bin32(p, end, out);
}

static int header_decode_fast(const uint8_t *bytes, size_t len, struct dk_header *h) {
  const uint8_t *p = bytes, *end = bytes + len;
  _Static_assert(DK_PK_BYTES == 32 && DK_HASH_BYTES == 32, "the fast path reads bin 8 of 32");
  memset(h, 0, sizeof(*h));
  if (*p++ != 0x99) /* fixarray of 9 */
    return -1;
  if (rd_uint(&p, end, &h->version) != 0 || h->version != DK_ENTRY_VERSION ||
      rd_bin32(&p, end, h->log) != 0 || rd_uint(&p, end, &h->seq) != 0 ||
      rd_opt_bin32(&p, end, &h->has_prev, h->prev) != 0 || rd_uint(&p, end, &h->ts_ms) != 0 ||
      rd_uint(&p, end, &h->type) != 0 || rd_opt_bin32(&p, end, &h->has_case, h->case_id) != 0 ||
      rd_uint(&p, end, &h->body_bytes) != 0 || rd_bin32(&p, end, h->body_hash) != 0 || p != end)
    return -1;
  if (h->seq == 0 || h->has_prev != (h->seq > 1) || h->type == 0 || h->type > DK_ENTRY_TYPE_MAX ||
      h->body_bytes > DK_BODY_BYTES_MAX)
    return -1;
  int names_case = h->type == DK_ENTRY_CASE_EVENT || h->type == DK_ENTRY_KEY_GRANT ||
                   h->type == DK_ENTRY_ERASE;
  if (names_case != (h->has_case != 0) || (h->type == DK_ENTRY_OFFICE) != (h->seq == 1))
    return -1;
  /* Canonical: the smallest form of every integer, which only encoding it
   * again tells. */
  uint8_t again[DK_HEADER_BYTES_MAX];
  size_t again_len;
  if (dk_header_encode(h, again, &again_len) != 0 || again_len != len ||
      memcmp(again, bytes, len) != 0)
    return -1;
  return 0;
}

int dk_header_decode(const uint8_t *bytes, size_t len, struct dk_header *h) {
  if (len == 0 || len > DK_HEADER_BYTES_MAX)
    return DK_EFORMAT;
  if (header_decode_fast(bytes, len, h) == 0)
    return 0;
  return dk__header_decode_general(bytes, len, h);
}

int dk__header_decode_general(const uint8_t *bytes, size_t len, struct dk_header *h) {
  if (len == 0 || len > DK_HEADER_BYTES_MAX)
    return DK_EFORMAT;
  msgpack_unpacked u;
  int rc = dk_mp_parse(bytes, len, &u);
  if (rc != 0)
    return rc == DK_ENOMEM ? rc : DK_EFORMAT;
  const msgpack_object *o = &u.data;
  rc = DK_EFORMAT;
  memset(h, 0, sizeof(*h));
  if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 9)
    goto out;
  const msgpack_object *f = o->via.array.ptr;
  if (dk_mp_get_u64(&f[0], &h->version) != 0)
    goto out;
  if (h->version != DK_ENTRY_VERSION) {
    rc = DK_EVERSION;
    goto out;
  }
  if (dk_mp_get_bin_fixed(&f[1], h->log, DK_PK_BYTES) != 0 || dk_mp_get_u64(&f[2], &h->seq) != 0 ||
      opt_hash(&f[3], &h->has_prev, h->prev) != 0 || dk_mp_get_u64(&f[4], &h->ts_ms) != 0 ||
      dk_mp_get_u64(&f[5], &h->type) != 0 || opt_hash(&f[6], &h->has_case, h->case_id) != 0 ||
      dk_mp_get_u64(&f[7], &h->body_bytes) != 0 ||
      dk_mp_get_bin_fixed(&f[8], h->body_hash, DK_HASH_BYTES) != 0)
    goto out;
  /* Structural rules that hold for every entry. */
  if (h->seq == 0 || h->has_prev != (h->seq > 1) || h->type == 0 || h->type > DK_ENTRY_TYPE_MAX ||
      h->body_bytes > DK_BODY_BYTES_MAX)
    goto out;
  /* Case entries but the open name their case; other types name none. */
  int names_case = h->type == DK_ENTRY_CASE_EVENT || h->type == DK_ENTRY_KEY_GRANT ||
                   h->type == DK_ENTRY_ERASE;
  if (names_case != (h->has_case != 0))
    goto out;
  if ((h->type == DK_ENTRY_OFFICE) != (h->seq == 1))
    goto out; /* seq 1, and only seq 1, says whose log it is */
  /* Canonical: our encoding of what we read must be the very same bytes. */
  uint8_t again[DK_HEADER_BYTES_MAX];
  size_t again_len;
  if (dk_header_encode(h, again, &again_len) != 0 || again_len != len ||
      memcmp(again, bytes, len) != 0)
    goto out;
  rc = 0;
out:
  msgpack_unpacked_destroy(&u);
  return rc;
}

void dk_entry_compute_id(const uint8_t *header, size_t header_len, const uint8_t sig[DK_SIG_BYTES],
                         uint8_t id[DK_HASH_BYTES]) {
  dk_hash2(DK_DOMAIN_ENTRY_ID, header, header_len, sig, DK_SIG_BYTES, id);
}

int dk_entry_seal(struct dk_entry *e, const struct dk_header *h, const struct dk_identity *signer) {
  if (memcmp(h->log, signer->pk, DK_PK_BYTES) != 0)
    return DK_EINVAL;
  e->h = *h;
  int rc = dk_header_encode(h, e->header_bytes, &e->header_len);
  if (rc != 0)
    return rc;
  rc = dk_sign(signer, DK_DOMAIN_ENTRY_SIG, e->header_bytes, e->header_len, e->sig);
  if (rc != 0)
    return rc;
  dk_entry_compute_id(e->header_bytes, e->header_len, e->sig, e->id);
  return 0;
}

int dk_entry_parse(struct dk_entry *e, const uint8_t *header, size_t header_len,
                   const uint8_t sig[DK_SIG_BYTES]) {
  if (header_len == 0 || header_len > DK_HEADER_BYTES_MAX)
    return DK_EFORMAT;
  int rc = dk_header_decode(header, header_len, &e->h);
  if (rc != 0)
    return rc;
  memcpy(e->header_bytes, header, header_len);
  e->header_len = header_len;
  memcpy(e->sig, sig, DK_SIG_BYTES);
  dk_entry_compute_id(e->header_bytes, e->header_len, e->sig, e->id);
  return 0;
}

int dk_entry_verify_sig(const struct dk_entry *e) {
  return dk_verify(e->h.log, DK_DOMAIN_ENTRY_SIG, e->header_bytes, e->header_len, e->sig);
}

int dk_entry_check_link(const struct dk_entry *e, uint64_t prev_seq,
                        const uint8_t prev_id[DK_HASH_BYTES], uint64_t prev_ts_ms) {
  if (e->h.seq != prev_seq + 1)
    return DK_EBADLINK;
  if (prev_seq == 0)
    return e->h.has_prev ? DK_EBADLINK : 0;
  if (!e->h.has_prev || memcmp(e->h.prev, prev_id, DK_HASH_BYTES) != 0)
    return DK_EBADLINK;
  if (e->h.ts_ms < prev_ts_ms)
    return DK_ETIME;
  return 0;
}

int dk_entry_check_body(const struct dk_entry *e, const uint8_t *body, size_t len) {
  if (len != e->h.body_bytes)
    return DK_EBADBODY;
  uint8_t hash[DK_HASH_BYTES];
  dk_hash_plain(body, len, hash);
  return memcmp(hash, e->h.body_hash, DK_HASH_BYTES) == 0 ? 0 : DK_EBADBODY;
}

int dk_grants_parse(const uint8_t *body, size_t len, struct dk_grant *grants, size_t *count,
                    size_t *used) {
  if (len < 1)
    return DK_EFORMAT;
  size_t n = body[0];
  if (n == 0 || n > DK_READERS_MAX)
    return DK_EFORMAT;
  if (len - 1 < n * DK_GRANT_BYTES)
    return DK_EFORMAT;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *p = body + 1 + i * DK_GRANT_BYTES;
    memcpy(grants[i].reader, p, DK_PK_BYTES);
    memcpy(grants[i].sealed, p + DK_PK_BYTES, DK_SEALED_KEY_BYTES);
  }
  *count = n;
  *used = 1 + n * DK_GRANT_BYTES;
  return 0;
}

int dk_grants_write(const struct dk_grant *grants, size_t count, struct dk_buf *out) {
  if (count == 0 || count > DK_READERS_MAX)
    return DK_EINVAL;
  int rc = dk_buf_append_u8(out, (uint8_t)count);
  for (size_t i = 0; rc == 0 && i < count; i++) {
    rc = dk_buf_append(out, grants[i].reader, DK_PK_BYTES);
    if (rc == 0)
      rc = dk_buf_append(out, grants[i].sealed, DK_SEALED_KEY_BYTES);
  }
  return rc;
}

int dk_office_body_encode(const struct dk_office_info *o, struct dk_buf *out) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, dk_buf_msgpack_write);
  if (msgpack_pack_array(&pk, 3) != 0 || dk_mp_pack_str(&pk, o->office) != 0 ||
      dk_mp_pack_str(&pk, o->role) != 0 || dk_mp_pack_str(&pk, o->code) != 0)
    return DK_ENOMEM;
  return 0;
}

int dk_office_body_decode(const uint8_t *body, size_t len, struct dk_office_info *o) {
  msgpack_unpacked u;
  int rc = dk_mp_parse(body, len, &u);
  if (rc != 0)
    return rc;
  rc = DK_EFORMAT;
  const msgpack_object *a = &u.data;
  if (a->type == MSGPACK_OBJECT_ARRAY && a->via.array.size == 3 &&
      dk_mp_get_str(&a->via.array.ptr[0], o->office, sizeof(o->office)) == 0 &&
      dk_mp_get_str(&a->via.array.ptr[1], o->role, sizeof(o->role)) == 0 &&
      dk_mp_get_str(&a->via.array.ptr[2], o->code, sizeof(o->code)) == 0)
    rc = 0;
  msgpack_unpacked_destroy(&u);
  return rc;
}

int dk_witness_body_encode(const struct dk_witness *w, struct dk_buf *out) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, dk_buf_msgpack_write);
  if (msgpack_pack_array(&pk, 3) != 0 || dk_mp_pack_bin(&pk, w->log, DK_PK_BYTES) != 0 ||
      msgpack_pack_uint64(&pk, w->seq) != 0 || dk_mp_pack_bin(&pk, w->id, DK_HASH_BYTES) != 0)
    return DK_ENOMEM;
  return 0;
}

int dk_witness_body_decode(const uint8_t *body, size_t len, struct dk_witness *w) {
  msgpack_unpacked u;
  int rc = dk_mp_parse(body, len, &u);
  if (rc != 0)
    return rc;
  rc = DK_EFORMAT;
  const msgpack_object *a = &u.data;
  if (a->type == MSGPACK_OBJECT_ARRAY && a->via.array.size == 3 &&
      dk_mp_get_bin_fixed(&a->via.array.ptr[0], w->log, DK_PK_BYTES) == 0 &&
      dk_mp_get_u64(&a->via.array.ptr[1], &w->seq) == 0 &&
      dk_mp_get_bin_fixed(&a->via.array.ptr[2], w->id, DK_HASH_BYTES) == 0 && w->seq >= 1)
    rc = 0;
  msgpack_unpacked_destroy(&u);
  return rc;
}
