#include "node/log.h"

#include <string.h>

#include "common/error.h"

void dk_logkey(uint8_t key[DK_LOGKEY_BYTES], const uint8_t log[DK_PK_BYTES], uint64_t seq) {
  memcpy(key, log, DK_PK_BYTES);
  dk_be64_put(key + DK_PK_BYTES, seq);
}

#define HEAD_BYTES (8 + DK_HASH_BYTES + 8)

int dk_log_head(struct dk_txn *t, const uint8_t log[DK_PK_BYTES], struct dk_head *out) {
  const uint8_t *v;
  size_t vlen;
  int rc = dk_txn_get(t, DK_T_HEADS, log, DK_PK_BYTES, &v, &vlen);
  if (rc == DK_ENOTFOUND) {
    memset(out, 0, sizeof(*out));
    return 0;
  }
  if (rc != 0)
    return rc;
  if (vlen != HEAD_BYTES)
    return DK_EFORMAT;
  out->seq = dk_be64_get(v);
  memcpy(out->id, v + 8, DK_HASH_BYTES);
  out->ts_ms = dk_be64_get(v + 8 + DK_HASH_BYTES);
  return 0;
}

int dk_log_next_seq(struct dk_txn *t, const uint8_t log[DK_PK_BYTES], uint64_t *seq) {
  struct dk_head h;
  int rc = dk_log_head(t, log, &h);
  if (rc == 0)
    *seq = h.seq + 1;
  return rc;
}

/* Writes the entry, its body, its id and the new head. */
int dk_log_store(struct dk_txn *t, const struct dk_entry *e, const uint8_t *body,
                 size_t body_len) {
  uint8_t key[DK_LOGKEY_BYTES];
  uint8_t val[2 + DK_HEADER_BYTES_MAX + DK_SIG_BYTES];
  dk_logkey(key, e->h.log, e->h.seq);
  val[0] = (uint8_t)(e->header_len >> 8);
  val[1] = (uint8_t)e->header_len;
  memcpy(val + 2, e->header_bytes, e->header_len);
  memcpy(val + 2 + e->header_len, e->sig, DK_SIG_BYTES);
  int rc = dk_txn_put(t, DK_T_ENTRIES, key, sizeof(key), val, 2 + e->header_len + DK_SIG_BYTES);
  if (rc == 0 && body != NULL)
    rc = dk_txn_put(t, DK_T_BODIES, key, sizeof(key), body, body_len);
  if (rc == 0)
    rc = dk_txn_put(t, DK_T_IDS, e->id, DK_HASH_BYTES, key, sizeof(key));
  if (rc == 0) {
    uint8_t head[HEAD_BYTES];
    dk_be64_put(head, e->h.seq);
    memcpy(head + 8, e->id, DK_HASH_BYTES);
    dk_be64_put(head + 8 + DK_HASH_BYTES, e->h.ts_ms);
    rc = dk_txn_put(t, DK_T_HEADS, e->h.log, DK_PK_BYTES, head, sizeof(head));
  }
  return rc;
}

int dk_log_append(struct dk_txn *t, const struct dk_identity *signer, uint64_t type,
                  const uint8_t *case_id, const uint8_t *body, size_t body_len, uint64_t now_ms,
                  struct dk_entry *out) {
  if (body_len > DK_BODY_BYTES_MAX)
    return DK_ELIMIT;
  struct dk_head head;
  int rc = dk_log_head(t, signer->pk, &head);
  if (rc != 0)
    return rc;
  struct dk_header h;
  memset(&h, 0, sizeof(h));
  h.version = DK_ENTRY_VERSION;
  memcpy(h.log, signer->pk, DK_PK_BYTES);
  h.seq = head.seq + 1;
  h.has_prev = head.seq > 0;
  if (h.has_prev)
    memcpy(h.prev, head.id, DK_HASH_BYTES);
  h.ts_ms = now_ms > head.ts_ms ? now_ms : head.ts_ms;
  h.type = type;
  h.has_case = case_id != NULL;
  if (case_id)
    memcpy(h.case_id, case_id, DK_HASH_BYTES);
  h.body_bytes = body_len;
  dk_hash_plain(body, body_len, h.body_hash);
  rc = dk_entry_seal(out, &h, signer);
  if (rc != 0)
    return rc;
  return dk_log_store(t, out, body, body_len);
}

int dk_log_decode_stored(const uint8_t *val, size_t vlen, struct dk_entry *e) {
  if (vlen < 2)
    return DK_EFORMAT;
  size_t hlen = ((size_t)val[0] << 8) | val[1];
  if (hlen == 0 || hlen > DK_HEADER_BYTES_MAX || vlen != 2 + hlen + DK_SIG_BYTES)
    return DK_EFORMAT;
  return dk_entry_parse(e, val + 2, hlen, val + 2 + hlen);
}

int dk_log_read(struct dk_txn *t, const uint8_t log[DK_PK_BYTES], uint64_t seq,
                struct dk_entry *e, const uint8_t **body, size_t *body_len) {
  uint8_t key[DK_LOGKEY_BYTES];
  dk_logkey(key, log, seq);
  const uint8_t *v;
  size_t vlen;
  int rc = dk_txn_get(t, DK_T_ENTRIES, key, sizeof(key), &v, &vlen);
  if (rc != 0)
    return rc;
  rc = dk_log_decode_stored(v, vlen, e);
  if (rc != 0)
    return rc;
  if (memcmp(e->h.log, log, DK_PK_BYTES) != 0 || e->h.seq != seq)
    return DK_EBADID;
  /* The id index must point back here, or the entry was altered. */
  const uint8_t *where;
  size_t wlen;
  rc = dk_txn_get(t, DK_T_IDS, e->id, DK_HASH_BYTES, &where, &wlen);
  if (rc == DK_ENOTFOUND || (rc == 0 && (wlen != sizeof(key) || memcmp(where, key, wlen) != 0)))
    return DK_EBADID;
  if (rc != 0)
    return rc;
  if (body) {
    rc = dk_txn_get(t, DK_T_BODIES, key, sizeof(key), body, body_len);
    if (rc == DK_ENOTFOUND) {
      *body = NULL;
      *body_len = 0;
      rc = 0;
    }
  }
  return rc;
}

int dk_log_find(struct dk_txn *t, const uint8_t id[DK_HASH_BYTES], uint8_t log[DK_PK_BYTES],
                uint64_t *seq) {
  const uint8_t *v;
  size_t vlen;
  int rc = dk_txn_get(t, DK_T_IDS, id, DK_HASH_BYTES, &v, &vlen);
  if (rc != 0)
    return rc;
  if (vlen != DK_LOGKEY_BYTES)
    return DK_EFORMAT;
  memcpy(log, v, DK_PK_BYTES);
  *seq = dk_be64_get(v + DK_PK_BYTES);
  return 0;
}

int dk_log_ingest(struct dk_txn *t, const struct dk_entry *e, const uint8_t *body,
                  size_t body_len) {
  int rc;
  if (body != NULL) {
    rc = dk_entry_check_body(e, body, body_len);
    if (rc != 0)
      return rc;
  }
  rc = dk_entry_verify_sig(e);
  if (rc != 0)
    return rc;
  uint8_t key[DK_LOGKEY_BYTES];
  dk_logkey(key, e->h.log, e->h.seq);
  const uint8_t *v;
  size_t vlen;
  rc = dk_txn_get(t, DK_T_ENTRIES, key, sizeof(key), &v, &vlen);
  if (rc == 0) {
    struct dk_entry have;
    int prc = dk_log_decode_stored(v, vlen, &have);
    if (prc == 0 && memcmp(have.id, e->id, DK_HASH_BYTES) == 0)
      return DK_EEXIST;
    /* Two signed entries for one position: keep the newcomer as proof. */
    rc = dk_log_store_fork(t, e);
    return rc != 0 ? rc : DK_EFORK;
  }
  if (rc != DK_ENOTFOUND)
    return rc;
  struct dk_head head;
  rc = dk_log_head(t, e->h.log, &head);
  if (rc != 0)
    return rc;
  rc = dk_entry_check_link(e, head.seq, head.id, head.ts_ms);
  if (rc != 0)
    return rc;
  return dk_log_store(t, e, body, body_len);
}

int dk_log_store_fork(struct dk_txn *t, const struct dk_entry *e) {
  uint8_t key[DK_LOGKEY_BYTES];
  uint8_t val[2 + DK_HEADER_BYTES_MAX + DK_SIG_BYTES];
  dk_logkey(key, e->h.log, e->h.seq);
  val[0] = (uint8_t)(e->header_len >> 8);
  val[1] = (uint8_t)e->header_len;
  memcpy(val + 2, e->header_bytes, e->header_len);
  memcpy(val + 2 + e->header_len, e->sig, DK_SIG_BYTES);
  return dk_txn_put(t, DK_T_FORKS, key, sizeof(key), val, 2 + e->header_len + DK_SIG_BYTES);
}
