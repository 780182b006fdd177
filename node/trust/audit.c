/*
 * Writing an audit bundle of one case from the store (node/trust/audit.h).
 *
 * Everything is read in one read transaction, so the bundle is a snapshot:
 * a sync committing meanwhile cannot make it inconsistent.
 */
#include "node/trust/audit.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/mp.h"
#include "node/cases/cases_int.h"
#include "node/log/log.h"
#include "node/node_int.h"
#include "node/trust/trust_int.h"

struct wlog {
  uint8_t key[DK_PK_BYTES];
  char office[DK_NAME_BYTES_MAX];
  uint64_t end; /* entries 1..end go in */
};

struct wbody {
  uint8_t logkey[DK_LOGKEY_BYTES];
};

struct writer {
  dk_node *n;
  struct dk_txn *t;
  const uint8_t *case_id;
  struct wlog logs[DK_AUDIT_LOGS_MAX];
  size_t nlogs;
  /* (log, seq) whose bodies go in besides seq 1: the case's entries and
   * the witness entries used. Sorted for bsearch. */
  struct wbody *bodies;
  size_t nbodies, cap;
  struct dk_buf *out;
  struct dk_buf chunk;
  struct dk_audit_write_stats *st;
  int has_root; /* the node trusts a deployment root: the bundle names it */
  uint8_t root[DK_PK_BYTES];
};

static int logkey_cmp(const void *a, const void *b) {
  return memcmp(a, b, DK_LOGKEY_BYTES);
}

static int body_add(struct writer *w, const uint8_t *log, uint64_t seq) {
  if (w->nbodies == w->cap) {
    if (w->cap >= DK_CASE_EVENTS_MAX + DK_AUDIT_LOGS_MAX)
      return DK_ELIMIT;
    size_t ncap = w->cap ? w->cap * 2 : 64;
    void *p = realloc(w->bodies, ncap * sizeof(*w->bodies));
    if (p == NULL)
      return DK_ENOMEM;
    w->bodies = p;
    w->cap = ncap;
  }
  dk_logkey(w->bodies[w->nbodies++].logkey, log, seq);
  return 0;
}

static int log_office(struct dk_txn *t, const uint8_t *log, char *office) {
  const uint8_t *v;
  size_t vlen;
  struct dk_office_info info;
  int rc = dk_txn_get(t, DK_T_LOGS, log, DK_PK_BYTES, &v, &vlen);
  if (rc == 0)
    rc = dk_office_body_decode(v, vlen, &info);
  if (rc == 0)
    memcpy(office, info.office, DK_NAME_BYTES_MAX);
  return rc;
}

/* The log's slot, added with end 0 when new. */
static int log_slot(struct writer *w, const uint8_t *log, struct wlog **out) {
  for (size_t i = 0; i < w->nlogs; i++)
    if (memcmp(w->logs[i].key, log, DK_PK_BYTES) == 0) {
      *out = &w->logs[i];
      return 0;
    }
  if (w->nlogs == DK_AUDIT_LOGS_MAX)
    return DK_ELIMIT;
  struct wlog *l = &w->logs[w->nlogs];
  memset(l, 0, sizeof(*l));
  memcpy(l->key, log, DK_PK_BYTES);
  int rc = log_office(w->t, log, l->office);
  if (rc != 0)
    return rc == DK_ENOTFOUND ? DK_EFORMAT : rc; /* a log held without its seq 1 */
  w->nlogs++;
  *out = l;
  return 0;
}

static int is_proper_ancestor(const char *above, const char *below) {
  size_t al = strlen(above);
  return strncmp(above, below, al) == 0 && below[al] == '/';
}

/* The latest witness of child in parent's log that names an entry this
 * node holds with the same id: *pseq its seq in parent, *wseq the seq it
 * witnessed (both 0 when none). Scans parent backwards from its head. */
static int latest_witness(struct writer *w, const uint8_t *parent, const uint8_t *child,
                          uint64_t *pseq, uint64_t *wseq) {
  *pseq = *wseq = 0;
  struct dk_head h;
  int rc = dk_log_head(w->t, parent, &h);
  if (rc != 0)
    return rc;
  for (uint64_t seq = h.seq; seq >= 1; seq--) {
    struct dk_entry e;
    const uint8_t *body;
    size_t blen;
    rc = dk_log_read(w->t, parent, seq, &e, &body, &blen);
    if (rc != 0)
      return rc;
    if (e.h.type != DK_ENTRY_WITNESS || body == NULL)
      continue;
    struct dk_witness wit;
    if (dk_entry_check_body(&e, body, blen) != 0 || dk_witness_body_decode(body, blen, &wit) != 0 ||
        memcmp(wit.log, child, DK_PK_BYTES) != 0)
      continue;
    struct dk_entry named;
    if (dk_log_read(w->t, child, wit.seq, &named, NULL, NULL) != 0 ||
        memcmp(named.id, wit.id, DK_HASH_BYTES) != 0)
      continue; /* names what we do not hold: the verifier would fail it */
    *pseq = seq;
    *wseq = wit.seq;
    return 0;
  }
  return 0;
}

/* Appends the chunk under construction to the bundle. */
static int chunk_flush(struct writer *w) {
  if (w->chunk.len == 0 || w->chunk.len > DK_FRAME_BYTES_MAX)
    return w->chunk.len == 0 ? 0 : DK_ELIMIT;
  if (w->out->len + 4 + w->chunk.len > DK_AUDIT_BUNDLE_BYTES_MAX)
    return DK_ELIMIT;
  uint8_t lb[4];
  dk_be32_put(lb, (uint32_t)w->chunk.len);
  int rc = dk_buf_append(w->out, lb, 4);
  if (rc == 0)
    rc = dk_buf_append(w->out, w->chunk.data, w->chunk.len);
  dk_buf_reset(&w->chunk);
  return rc;
}

static int write_head(struct writer *w, const uint8_t *reader) {
  dk_node *n = w->n;
  msgpack_packer pk;
  msgpack_packer_init(&pk, &w->chunk, dk_buf_msgpack_write);
  uint8_t wrapped[DK_SEALED_KEY_BYTES];
  int have_wrap = 0, rc = 0;
  if (reader != NULL) {
    uint8_t *key = n->tmp_keys; /* slot 0 */
    uint8_t *shared = n->tmp_keys + DK_SYMKEY_BYTES;
    rc = dk__case_key_load(n, w->t, w->case_id, key);
    if (rc == 0) {
      rc = dk__shared_key(n, reader, shared);
      if (rc == 0)
        rc = dk_key_wrap(shared, key, wrapped);
      have_wrap = rc == 0;
    } else if (rc == DK_ENOKEY) {
      rc = 0; /* erased, or never ours to read: no key to give */
    }
    sodium_memzero(key, DK_SYMKEY_BYTES);
    sodium_memzero(shared, DK_SYMKEY_BYTES);
    if (rc != 0)
      return rc;
  }
  int bad = msgpack_pack_array(&pk, 7);
  bad |= dk_mp_pack_str(&pk, "audit");
  bad |= msgpack_pack_uint64(&pk, DK_AUDIT_VERSION);
  bad |= dk_mp_pack_bin(&pk, w->case_id, DK_HASH_BYTES);
  bad |= msgpack_pack_uint64(&pk, dk_node_now(n));
  bad |= dk_mp_pack_bin(&pk, n->pk, DK_PK_BYTES);
  /* The deployment root, whose statements in the district's log the
   * verifier checks the authors against; nil when this node has none. */
  bad |= w->has_root ? dk_mp_pack_bin(&pk, w->root, DK_PK_BYTES) : msgpack_pack_nil(&pk);
  if (have_wrap) {
    bad |= msgpack_pack_array(&pk, 2);
    bad |= dk_mp_pack_bin(&pk, reader, DK_PK_BYTES);
    bad |= dk_mp_pack_bin(&pk, wrapped, DK_SEALED_KEY_BYTES);
  } else {
    bad |= msgpack_pack_nil(&pk);
  }
  if (bad)
    return DK_ENOMEM;
  return chunk_flush(w);
}

/* Writes entries 1..l->end of one log in chunks. */
static int write_log(struct writer *w, const struct wlog *l) {
  struct dk_buf items;
  dk_buf_init(&items);
  int rc = 0;
  uint64_t first = 1, count = 0;
  for (uint64_t seq = 1; seq <= l->end && rc == 0; seq++) {
    struct dk_entry e;
    const uint8_t *body;
    size_t blen;
    rc = dk_log_read(w->t, l->key, seq, &e, &body, &blen);
    if (rc == DK_ENOTFOUND)
      rc = DK_EBADLINK; /* a gap in what this node holds */
    if (rc != 0)
      break;
    uint8_t lk[DK_LOGKEY_BYTES];
    dk_logkey(lk, l->key, seq);
    int with_body = body != NULL &&
                    (seq == 1 || bsearch(lk, w->bodies, w->nbodies, sizeof(*w->bodies),
                                         logkey_cmp) != NULL);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &items, dk_buf_msgpack_write);
    int bad = msgpack_pack_array(&pk, 3);
    bad |= dk_mp_pack_bin(&pk, e.header_bytes, e.header_len);
    bad |= dk_mp_pack_bin(&pk, e.sig, DK_SIG_BYTES);
    bad |= with_body ? dk_mp_pack_bin(&pk, body, blen) : msgpack_pack_nil(&pk);
    if (bad) {
      rc = DK_ENOMEM;
      break;
    }
    count++;
    w->st->entries++;
    w->st->bodies += with_body;
    if (count == DK_AUDIT_CHUNK_ENTRIES_MAX || items.len >= DK_AUDIT_CHUNK_BYTES_SOFT ||
        seq == l->end) {
      msgpack_packer_init(&pk, &w->chunk, dk_buf_msgpack_write);
      bad = msgpack_pack_array(&pk, 4);
      bad |= dk_mp_pack_str(&pk, "log");
      bad |= dk_mp_pack_bin(&pk, l->key, DK_PK_BYTES);
      bad |= msgpack_pack_uint64(&pk, first);
      bad |= msgpack_pack_array(&pk, (uint32_t)count);
      if (bad == 0)
        rc = dk_buf_append(&w->chunk, items.data, items.len);
      else
        rc = DK_ENOMEM;
      if (rc == 0)
        rc = chunk_flush(w);
      dk_buf_reset(&items);
      first = seq + 1;
      count = 0;
    }
  }
  dk_buf_release(&items);
  return rc;
}

/* Fork proofs held for a log, at positions the bundle carries. */
static int write_forks(struct writer *w, const struct wlog *l) {
  struct dk_iter it;
  int rc = dk_iter_open(w->t, DK_T_FORKS, l->key, DK_PK_BYTES, &it);
  if (rc != 0)
    return rc;
  const uint8_t *k, *v;
  size_t klen, vlen;
  while ((rc = dk_iter_next(&it, &k, &klen, &v, &vlen)) == 0) {
    struct dk_entry e;
    if (klen != DK_LOGKEY_BYTES || dk_be64_get(k + DK_PK_BYTES) > l->end ||
        dk_log_decode_stored(v, vlen, &e) != 0)
      continue;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &w->chunk, dk_buf_msgpack_write);
    int bad = msgpack_pack_array(&pk, 3);
    bad |= dk_mp_pack_str(&pk, "fork");
    bad |= dk_mp_pack_bin(&pk, e.header_bytes, e.header_len);
    bad |= dk_mp_pack_bin(&pk, e.sig, DK_SIG_BYTES);
    rc = bad ? DK_ENOMEM : chunk_flush(w);
    if (rc != 0)
      break;
    w->st->forks++;
  }
  dk_iter_close(&it);
  return rc == DK_ENOTFOUND ? 0 : rc;
}

/* With a root configured: every district log held (one-segment office),
 * from seq 1 to its head, with the bodies of its certificates,
 * revocations and auditor grants. The whole log rather than the statements about the case's
 * authors alone, so that a verifier sees every revocation this node knew
 * of, not only those the writer chose to show. */
static int plan_district(struct writer *w) {
  int rc = dk__trust_root(w->t, w->root);
  if (rc == DK_ENOTFOUND)
    return 0;
  if (rc != 0)
    return rc;
  w->has_root = 1;
  uint8_t districts[4][DK_PK_BYTES];
  size_t ndistricts = 0;
  struct dk_iter it;
  rc = dk_iter_open(w->t, DK_T_LOGS, NULL, 0, &it);
  if (rc != 0)
    return rc;
  const uint8_t *k, *v;
  size_t klen, vlen;
  while ((rc = dk_iter_next(&it, &k, &klen, &v, &vlen)) == 0) {
    struct dk_office_info info;
    if (klen != DK_PK_BYTES || dk_office_body_decode(v, vlen, &info) != 0 ||
        strchr(info.office, '/') != NULL)
      continue;
    if (ndistricts == sizeof(districts) / sizeof(districts[0])) {
      rc = DK_ELIMIT;
      break;
    }
    memcpy(districts[ndistricts++], k, DK_PK_BYTES);
  }
  dk_iter_close(&it);
  if (rc != DK_ENOTFOUND)
    return rc;
  for (size_t i = 0; i < ndistricts; i++) {
    struct dk_head h;
    struct wlog *l;
    rc = dk_log_head(w->t, districts[i], &h);
    if (rc == 0)
      rc = log_slot(w, districts[i], &l);
    if (rc != 0)
      return rc;
    if (h.seq > l->end)
      l->end = h.seq;
    for (uint64_t seq = 2; seq <= h.seq; seq++) {
      struct dk_entry e;
      rc = dk_log_read(w->t, districts[i], seq, &e, NULL, NULL);
      if (rc == 0 && (e.h.type == DK_ENTRY_CERT || e.h.type == DK_ENTRY_REVOKE ||
                      e.h.type == DK_ENTRY_AUDITOR))
        rc = body_add(w, districts[i], seq);
      if (rc != 0)
        return rc;
    }
  }
  return 0;
}

static int plan(struct writer *w) {
  /* The opening entry makes it a case. */
  uint8_t log[DK_PK_BYTES];
  uint64_t seq;
  int rc = dk_log_find(w->t, w->case_id, log, &seq);
  if (rc != 0)
    return rc;
  struct dk_entry open;
  rc = dk_log_read(w->t, log, seq, &open, NULL, NULL);
  if (rc != 0)
    return rc;
  if (open.h.type != DK_ENTRY_CASE_OPEN)
    return DK_ENOTFOUND;
  /* Every entry of the case, from the case index. */
  struct dk_iter it;
  rc = dk_iter_open(w->t, DK_T_CASE_EVENTS, w->case_id, DK_HASH_BYTES, &it);
  if (rc != 0)
    return rc;
  const uint8_t *k;
  size_t klen;
  while ((rc = dk_iter_next(&it, &k, &klen, NULL, NULL)) == 0) {
    if (klen != DK_HASH_BYTES + DK_LOGKEY_BYTES)
      continue;
    const uint8_t *elog = k + DK_HASH_BYTES;
    uint64_t eseq = dk_be64_get(elog + DK_PK_BYTES);
    struct wlog *l;
    rc = log_slot(w, elog, &l);
    if (rc == 0)
      rc = body_add(w, elog, eseq);
    if (rc != 0)
      break;
    if (eseq > l->end)
      l->end = eseq;
    w->st->case_entries++;
  }
  dk_iter_close(&it);
  if (rc != DK_ENOTFOUND)
    return rc;
  /* For each log of the case, the latest head a parent witnessed. */
  size_t case_logs = w->nlogs;
  for (size_t i = 0; i < case_logs; i++) {
    uint8_t best_parent[DK_PK_BYTES];
    uint64_t best_pseq = 0, best_wseq = 0;
    rc = dk_iter_open(w->t, DK_T_LOGS, NULL, 0, &it);
    if (rc != 0)
      return rc;
    const uint8_t *v;
    size_t vlen;
    while ((rc = dk_iter_next(&it, &k, &klen, &v, &vlen)) == 0) {
      struct dk_office_info info;
      if (klen != DK_PK_BYTES || dk_office_body_decode(v, vlen, &info) != 0 ||
          !is_proper_ancestor(info.office, w->logs[i].office))
        continue;
      uint64_t pseq, wseq;
      rc = latest_witness(w, k, w->logs[i].key, &pseq, &wseq);
      if (rc != 0)
        break;
      if (wseq > best_wseq) {
        memcpy(best_parent, k, DK_PK_BYTES);
        best_pseq = pseq;
        best_wseq = wseq;
      }
    }
    dk_iter_close(&it);
    if (rc != DK_ENOTFOUND)
      return rc;
    if (best_wseq == 0)
      continue;
    struct wlog *p;
    rc = log_slot(w, best_parent, &p);
    if (rc == 0)
      rc = body_add(w, best_parent, best_pseq);
    if (rc != 0)
      return rc;
    if (best_pseq > p->end)
      p->end = best_pseq;
    /* The slot array may have moved nothing (fixed array), so i is valid. */
    if (best_wseq > w->logs[i].end)
      w->logs[i].end = best_wseq;
  }
  rc = plan_district(w);
  if (rc != 0)
    return rc;
  qsort(w->bodies, w->nbodies, sizeof(*w->bodies), logkey_cmp);
  return 0;
}

int dk_node_audit_write(dk_node *n, const uint8_t case_id[DK_HASH_BYTES],
                        const uint8_t *reader, struct dk_buf *out,
                        struct dk_audit_write_stats *st) {
  if (reader != NULL && !n->unlocked)
    return DK_ENOKEY;
  memset(st, 0, sizeof(*st));
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  struct writer *w = calloc(1, sizeof(*w));
  if (w == NULL) {
    dk_store_read_end(&t);
    return DK_ENOMEM;
  }
  w->n = n;
  w->t = &t;
  w->case_id = case_id;
  w->out = out;
  w->st = st;
  dk_buf_init(&w->chunk);
  size_t start = out->len;
  rc = plan(w);
  if (rc == 0)
    rc = dk_buf_append(out, DK_AUDIT_MAGIC, 8);
  if (rc == 0)
    rc = write_head(w, reader);
  for (size_t i = 0; i < w->nlogs && rc == 0; i++) {
    rc = write_log(w, &w->logs[i]);
    st->logs++;
  }
  for (size_t i = 0; i < w->nlogs && rc == 0; i++)
    rc = write_forks(w, &w->logs[i]);
  if (rc == 0) {
    uint8_t zero[4] = {0, 0, 0, 0};
    rc = dk_buf_append(out, zero, 4);
  }
  if (rc == 0) {
    uint8_t digest[DK_HASH_BYTES];
    dk_hash2(DK_DOMAIN_AUDIT_DIGEST, out->data + start, out->len - start, NULL, 0, digest);
    rc = dk_buf_append(out, digest, DK_HASH_BYTES);
  }
  if (rc != 0)
    out->len = start;
  dk_buf_release(&w->chunk);
  free(w->bodies);
  free(w);
  dk_store_read_end(&t);
  return rc;
}
