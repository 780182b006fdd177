#include "node/log/log.h"

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

/* ---- positions and runs -------------------------------------------------

 * Entries and bodies are keyed by a node-local position that only grows, so
 * every write is an MDB_APPEND and pages fill. A run record
 * log || first seq -> first position || count says where a stretch of one
 * log's entries lies; reading (log, seq) is one range lookup. */

#define RUN_BYTES 16

static int run_get(struct dk_txn *t, const uint8_t log[DK_PK_BYTES], uint64_t seq,
                   uint64_t *first_seq, uint64_t *first_pos, uint64_t *count) {
  uint8_t key[DK_LOGKEY_BYTES];
  dk_logkey(key, log, seq);
  const uint8_t *k, *v;
  size_t klen, vlen;
  int rc = dk_txn_seek_le(t, DK_T_RUNS, key, sizeof(key), &k, &klen, &v, &vlen);
  if (rc != 0)
    return rc;
  if (klen != DK_LOGKEY_BYTES || memcmp(k, log, DK_PK_BYTES) != 0)
    return DK_ENOTFOUND;
  if (vlen != RUN_BYTES)
    return DK_EFORMAT;
  *first_seq = dk_be64_get(k + DK_PK_BYTES);
  *first_pos = dk_be64_get(v);
  *count = dk_be64_get(v + 8);
  return 0;
}

int dk_log_pos(struct dk_txn *t, const uint8_t log[DK_PK_BYTES], uint64_t seq, uint64_t *pos) {
  uint64_t fs, fp, cnt;
  if (seq == 0)
    return DK_ENOTFOUND;
  int rc = run_get(t, log, seq, &fs, &fp, &cnt);
  if (rc != 0)
    return rc;
  if (seq - fs >= cnt)
    return DK_ENOTFOUND;
  *pos = fp + (seq - fs);
  return 0;
}

int dk_log_run_end(struct dk_txn *t, const uint8_t log[DK_PK_BYTES], uint64_t seq,
                   uint64_t *pos, uint64_t *left) {
  uint64_t fs, fp, cnt;
  if (seq == 0)
    return DK_ENOTFOUND;
  int rc = run_get(t, log, seq, &fs, &fp, &cnt);
  if (rc != 0)
    return rc;
  if (seq - fs >= cnt)
    return DK_ENOTFOUND;
  *pos = fp + (seq - fs);
  *left = cnt - (seq - fs);
  return 0;
}

int dk_log_end(struct dk_txn *t, uint64_t *next_pos) {
  const uint8_t *k;
  size_t klen;
  int rc = dk_txn_last(t, DK_T_ENTRIES, &k, &klen, NULL, NULL);
  if (rc == DK_ENOTFOUND) {
    *next_pos = 1;
    return 0;
  }
  if (rc != 0)
    return rc;
  if (klen != 8)
    return DK_EFORMAT;
  *next_pos = dk_be64_get(k) + 1;
  return 0;
}

static int head_put(struct dk_txn *t, const uint8_t log[DK_PK_BYTES], uint64_t seq,
                    const uint8_t id[DK_HASH_BYTES], uint64_t ts) {
  uint8_t head[HEAD_BYTES];
  dk_be64_put(head, seq);
  memcpy(head + 8, id, DK_HASH_BYTES);
  dk_be64_put(head + 8 + DK_HASH_BYTES, ts);
  return dk_txn_put(t, DK_T_HEADS, log, DK_PK_BYTES, head, sizeof(head));
}

void dk_log_writer_init(struct dk_log_writer *w) { memset(w, 0, sizeof(*w)); }

int dk_log_writer_flush(struct dk_txn *t, struct dk_log_writer *w) {
  if (w->count == 0)
    return 0;
  int rc = 0;
  uint8_t key[DK_LOGKEY_BYTES], val[RUN_BYTES];
  uint64_t fs = 0, fp = 0, cnt = 0;
  /* The log's previous run, when this one continues it on disk. */
  rc = w->first_seq > 1 ? run_get(t, w->log, w->first_seq - 1, &fs, &fp, &cnt) : DK_ENOTFOUND;
  if (rc == 0 && fs + cnt == w->first_seq && fp + cnt == w->first_pos) {
    dk_logkey(key, w->log, fs);
    dk_be64_put(val, fp);
    dk_be64_put(val + 8, cnt + w->count);
  } else if (rc == 0 || rc == DK_ENOTFOUND) {
    dk_logkey(key, w->log, w->first_seq);
    dk_be64_put(val, w->first_pos);
    dk_be64_put(val + 8, w->count);
  } else {
    return rc;
  }
  rc = dk_txn_put(t, DK_T_RUNS, key, sizeof(key), val, sizeof(val));
  if (rc == 0 && !w->no_head)
    rc = head_put(t, w->log, w->first_seq + w->count - 1, w->last_id, w->last_ts);
  w->count = 0;
  w->have_pos = 0; /* others may append before the next add */
  return rc;
}

int dk_log_writer_add(struct dk_txn *t, struct dk_log_writer *w, const struct dk_entry *e,
                      const uint8_t *body, size_t body_len) {
  int rc;
  if (w->count > 0 &&
      (memcmp(w->log, e->h.log, DK_PK_BYTES) != 0 || w->first_seq + w->count != e->h.seq)) {
    rc = dk_log_writer_flush(t, w);
    if (rc != 0)
      return rc;
  }
  if (!w->have_pos) {
    rc = dk_log_end(t, &w->next_pos);
    if (rc != 0)
      return rc;
    w->have_pos = 1;
  }
  uint8_t key[8];
  uint8_t val[2 + DK_HEADER_BYTES_MAX + DK_SIG_BYTES];
  dk_be64_put(key, w->next_pos);
  val[0] = (uint8_t)(e->header_len >> 8);
  val[1] = (uint8_t)e->header_len;
  memcpy(val + 2, e->header_bytes, e->header_len);
  memcpy(val + 2 + e->header_len, e->sig, DK_SIG_BYTES);
  rc = dk_txn_append(t, DK_T_ENTRIES, key, sizeof(key), val, 2 + e->header_len + DK_SIG_BYTES);
  if (rc == DK_EEXIST)
    rc = DK_ESTORE; /* the position table is not where this writer thinks */
  if (rc == 0 && body != NULL) {
    rc = dk_txn_append(t, DK_T_BODIES, key, sizeof(key), body, body_len);
    if (rc == DK_EEXIST)
      rc = DK_ESTORE;
  }
  if (rc != 0)
    return rc;
  if (w->count == 0) {
    memcpy(w->log, e->h.log, DK_PK_BYTES);
    w->first_seq = e->h.seq;
    w->first_pos = w->next_pos;
  }
  w->count++;
  memcpy(w->last_id, e->id, DK_HASH_BYTES);
  w->last_ts = e->h.ts_ms;
  w->last_pos = w->next_pos;
  w->next_pos++;
  return 0;
}

/* Writes the entry and its body at the next position, its run and the new head. */
int dk_log_store(struct dk_txn *t, const struct dk_entry *e, const uint8_t *body,
                 size_t body_len) {
  struct dk_log_writer w;
  dk_log_writer_init(&w);
  int rc = dk_log_writer_add(t, &w, e, body, body_len);
  if (rc == 0)
    rc = dk_log_writer_flush(t, &w);
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

int dk_log_at(struct dk_txn *t, uint64_t pos, struct dk_entry *e, const uint8_t **body,
              size_t *body_len) {
  uint8_t key[8];
  dk_be64_put(key, pos);
  const uint8_t *v;
  size_t vlen;
  int rc = dk_txn_get(t, DK_T_ENTRIES, key, sizeof(key), &v, &vlen);
  if (rc != 0)
    return rc;
  rc = dk_log_decode_stored(v, vlen, e);
  if (rc != 0 || body == NULL)
    return rc;
  rc = dk_txn_get(t, DK_T_BODIES, key, sizeof(key), body, body_len);
  if (rc == DK_ENOTFOUND) {
    *body = NULL;
    *body_len = 0;
    rc = 0;
  }
  return rc;
}

/* The prev field of the entry at pos, without computing its id. */
static int prev_at(struct dk_txn *t, uint64_t pos, struct dk_header *h) {
  uint8_t key[8];
  dk_be64_put(key, pos);
  const uint8_t *v;
  size_t vlen;
  int rc = dk_txn_get(t, DK_T_ENTRIES, key, sizeof(key), &v, &vlen);
  if (rc != 0)
    return rc == DK_ENOTFOUND ? DK_EBADID : rc;
  if (vlen < 2)
    return DK_EFORMAT;
  size_t hlen = ((size_t)v[0] << 8) | v[1];
  if (hlen == 0 || hlen > DK_HEADER_BYTES_MAX || vlen != 2 + hlen + DK_SIG_BYTES)
    return DK_EFORMAT;
  return dk_header_decode(v + 2, hlen, h);
}

int dk_log_check_id(struct dk_txn *t, const struct dk_entry *e) {
  struct dk_head head;
  int rc = dk_log_head(t, e->h.log, &head);
  if (rc != 0)
    return rc;
  if (e->h.seq == head.seq)
    return memcmp(head.id, e->id, DK_HASH_BYTES) == 0 ? 0 : DK_EBADID;
  if (e->h.seq > head.seq)
    return DK_EBADID;
  uint64_t npos;
  rc = dk_log_pos(t, e->h.log, e->h.seq + 1, &npos);
  if (rc != 0)
    return rc == DK_ENOTFOUND ? DK_EBADID : rc;
  struct dk_header next;
  rc = prev_at(t, npos, &next);
  if (rc != 0)
    return rc == DK_EFORMAT ? DK_EBADID : rc;
  if (memcmp(next.log, e->h.log, DK_PK_BYTES) != 0 || next.seq != e->h.seq + 1 ||
      !next.has_prev || memcmp(next.prev, e->id, DK_HASH_BYTES) != 0)
    return DK_EBADID;
  return 0;
}

int dk_log_read(struct dk_txn *t, const uint8_t log[DK_PK_BYTES], uint64_t seq,
                struct dk_entry *e, const uint8_t **body, size_t *body_len) {
  uint64_t pos;
  int rc = dk_log_pos(t, log, seq, &pos);
  if (rc != 0)
    return rc;
  rc = dk_log_at(t, pos, e, body, body_len);
  if (rc == DK_ENOTFOUND)
    return DK_EBADID; /* a run names a position that holds nothing */
  if (rc != 0)
    return rc;
  if (memcmp(e->h.log, log, DK_PK_BYTES) != 0 || e->h.seq != seq)
    return DK_EBADID;
  /* LMDB keeps no checksums: the id must be what the next entry (or the
   * head) links to, or the entry was altered. */
  return dk_log_check_id(t, e);
}

int dk_log_body_del(struct dk_txn *t, const uint8_t log[DK_PK_BYTES], uint64_t seq) {
  uint64_t pos;
  int rc = dk_log_pos(t, log, seq, &pos);
  if (rc == DK_ENOTFOUND)
    return 0;
  if (rc != 0)
    return rc;
  uint8_t key[8];
  dk_be64_put(key, pos);
  return dk_txn_del(t, DK_T_BODIES, key, sizeof(key));
}

int dk_log_case_open_put(struct dk_txn *t, const uint8_t case_id[DK_HASH_BYTES], uint64_t pos) {
  uint8_t v[8];
  dk_be64_put(v, pos);
  return dk_txn_put(t, DK_T_CASE_OPENS, case_id, DK_HASH_BYTES, v, sizeof(v));
}

int dk_log_find(struct dk_txn *t, const uint8_t id[DK_HASH_BYTES], uint8_t log[DK_PK_BYTES],
                uint64_t *seq) {
  const uint8_t *v;
  size_t vlen;
  int rc = dk_txn_get(t, DK_T_CASE_OPENS, id, DK_HASH_BYTES, &v, &vlen);
  if (rc != 0)
    return rc;
  if (vlen != 8)
    return DK_EFORMAT;
  struct dk_entry e;
  rc = dk_log_at(t, dk_be64_get(v), &e, NULL, NULL);
  if (rc == DK_ENOTFOUND)
    return DK_EBADID;
  if (rc != 0)
    return rc;
  if (memcmp(e.id, id, DK_HASH_BYTES) != 0)
    return DK_EBADID;
  memcpy(log, e.h.log, DK_PK_BYTES);
  *seq = e.h.seq;
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
  uint64_t pos;
  rc = dk_log_pos(t, e->h.log, e->h.seq, &pos);
  if (rc == 0) {
    struct dk_entry have;
    int prc = dk_log_at(t, pos, &have, NULL, NULL);
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
