/*
 * The node's side of replication: heads, reading ranges, ingesting batches
 * from other nodes, witnessing children's heads, pinned peers.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/fault.h"
#include "common/mp.h"
#include "node/log/fork.h"
#include "node/node_int.h"

/* ---- heads and reads ----------------------------------------------------- */

int dk_node_log_office(dk_node *n, const uint8_t log[DK_PK_BYTES], struct dk_office_info *out) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  const uint8_t *v;
  size_t vlen;
  rc = dk_txn_get(&t, DK_T_LOGS, log, DK_PK_BYTES, &v, &vlen);
  if (rc == 0)
    rc = dk_office_body_decode(v, vlen, out);
  dk_store_read_end(&t);
  return rc;
}

int dk_node_log_heads(dk_node *n,
                      int (*cb)(void *ctx, const uint8_t log[DK_PK_BYTES], uint64_t seq,
                                const uint8_t id[DK_HASH_BYTES], const char *office),
                      void *ctx) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  struct dk_iter it;
  rc = dk_iter_open(&t, DK_T_HEADS, NULL, 0, &it);
  if (rc != 0)
    goto out;
  const uint8_t *k, *v;
  size_t klen, vlen;
  while ((rc = dk_iter_next(&it, &k, &klen, &v, &vlen)) == 0) {
    if (klen != DK_PK_BYTES || vlen != 8 + DK_HASH_BYTES + 8) {
      rc = DK_EFORMAT;
      break;
    }
    const uint8_t *ov;
    size_t olen;
    struct dk_office_info info;
    rc = dk_txn_get(&t, DK_T_LOGS, k, DK_PK_BYTES, &ov, &olen);
    if (rc == 0)
      rc = dk_office_body_decode(ov, olen, &info);
    if (rc != 0)
      break;
    /* What is held but not authorised is not relayed (TRUST.md): a log
     * whose seq-1 claim is not authorised is left out, a log with a revoked
     * tail is offered up to its last authorised entry. */
    uint64_t seq = dk_be64_get(v), cap;
    const uint8_t *id = v + 8;
    int why;
    rc = dk__trust_relay_cap(n, &t, k, &info, seq, &cap, &why);
    if (rc != 0)
      break;
    if (cap == 0)
      continue;
    struct dk_entry capped;
    if (cap < seq) {
      rc = dk_log_read(&t, k, cap, &capped, NULL, NULL);
      if (rc != 0)
        break;
      id = capped.id;
    }
    rc = cb(ctx, k, cap, id, info.office);
    if (rc != 0)
      break;
  }
  if (rc == DK_ENOTFOUND)
    rc = 0;
  dk_iter_close(&it);
out:
  dk_store_read_end(&t);
  return rc;
}

int dk_node_log_head(dk_node *n, const uint8_t log[DK_PK_BYTES], uint64_t *seq,
                     uint8_t id[DK_HASH_BYTES]) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  struct dk_head h;
  rc = dk_log_head(&t, log, &h);
  if (rc == 0) {
    *seq = h.seq;
    memcpy(id, h.id, DK_HASH_BYTES);
  }
  dk_store_read_end(&t);
  return rc;
}

int dk_node_log_read(dk_node *n, const uint8_t log[DK_PK_BYTES], uint64_t from,
                     size_t max_entries, size_t max_bytes,
                     int (*cb)(void *ctx, const struct dk_raw_entry *e), void *ctx) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  /* One cursor over entries and one over bodies, run by run. The receiver
   * checks every link and the head signature, so the sender only checks
   * that what it reads is the entry it meant (log, seq, and the link to the
   * entry before within what it sends). */
  size_t count = 0, bytes = 0;
  /* Never past the last authorised entry (see dk_node_log_heads). */
  uint64_t cap = UINT64_MAX;
  struct dk_head head;
  const uint8_t *ov;
  size_t olen;
  struct dk_office_info info;
  int why;
  if (dk_log_head(&t, log, &head) == 0 && dk_txn_get(&t, DK_T_LOGS, log, DK_PK_BYTES, &ov, &olen) == 0 &&
      dk_office_body_decode(ov, olen, &info) == 0) {
    rc = dk__trust_relay_cap(n, &t, log, &info, head.seq, &cap, &why);
    if (rc != 0)
      goto out;
  }
  uint64_t seq = from < 1 ? 1 : from;
  uint8_t prev_id[DK_HASH_BYTES];
  int have_prev = 0;
  while (rc == 0 && seq <= cap && count < max_entries && (count == 0 || bytes < max_bytes)) {
    uint64_t pos, left;
    rc = dk_log_run_end(&t, log, seq, &pos, &left);
    if (rc == DK_ENOTFOUND) {
      rc = 0;
      break;
    }
    if (rc != 0)
      break;
    struct dk_iter ei, bi;
    uint8_t k0[8];
    dk_be64_put(k0, pos);
    if ((rc = dk_iter_open_at(&t, DK_T_ENTRIES, k0, 8, &ei)) != 0)
      break;
    if ((rc = dk_iter_open_at(&t, DK_T_BODIES, k0, 8, &bi)) != 0) {
      dk_iter_close(&ei);
      break;
    }
    const uint8_t *bk = NULL, *bv = NULL;
    size_t bkl = 0, bvl = 0;
    int bend = 0;
    uint64_t bpos = 0;
    for (; left > 0 && seq <= cap && count < max_entries && (count == 0 || bytes < max_bytes);
         left--, pos++, seq++) {
      const uint8_t *k, *v;
      size_t kl, vl;
      rc = dk_iter_next(&ei, &k, &kl, &v, &vl);
      if (rc == DK_ENOTFOUND || (rc == 0 && (kl != 8 || dk_be64_get(k) != pos)))
        rc = DK_EBADID; /* the run names a position that holds nothing */
      if (rc != 0)
        break;
      struct dk_entry e;
      rc = dk_log_decode_stored(v, vl, &e);
      if (rc == 0 && (memcmp(e.h.log, log, DK_PK_BYTES) != 0 || e.h.seq != seq ||
                      (have_prev && (!e.h.has_prev || memcmp(e.h.prev, prev_id, DK_HASH_BYTES) != 0))))
        rc = DK_EBADID;
      if (rc != 0)
        break;
      memcpy(prev_id, e.id, DK_HASH_BYTES);
      have_prev = 1;
      while (!bend && (bk == NULL || bpos < pos)) {
        int brc = dk_iter_next(&bi, &bk, &bkl, &bv, &bvl);
        if (brc == DK_ENOTFOUND) {
          bend = 1;
          break;
        }
        if (brc != 0) {
          rc = brc;
          break;
        }
        bpos = bkl == 8 ? dk_be64_get(bk) : 0;
      }
      if (rc != 0)
        break;
      const uint8_t *body = !bend && bk && bpos == pos ? bv : NULL;
      size_t blen = body ? bvl : 0;
      struct dk_raw_entry raw = {e.header_bytes, e.header_len, e.sig, body, blen};
      bytes += e.header_len + DK_SIG_BYTES + blen;
      count++;
      rc = cb(ctx, &raw);
      if (rc != 0)
        break;
    }
    dk_iter_close(&ei);
    dk_iter_close(&bi);
  }
out:
  dk_store_read_end(&t);
  return rc;
}

uint64_t dk_node_change_mark(dk_node *n) { return dk_store_last_txn(n->store); }

uint64_t dk_node_visible_mark(dk_node *n) {
  struct dk_txn t;
  if (dk_store_read_begin(n->store, &t) != 0)
    return 0;
  uint64_t id = (uint64_t)mdb_txn_id(t.txn);
  dk_store_read_end(&t);
  return id;
}

/* ---- readers and grants -------------------------------------------------- */

/* Grants every case this office opened to a newly known reader (an office
 * above it, an auditor), in one KEY_GRANT entry per case; nothing to a
 * revoked key. */
int dk__grant_own_cases(dk_node *n, struct dk_txn *t, const uint8_t reader[DK_PK_BYTES]) {
  return dk__grant_cases(n, t, reader, n->cfg.office);
}

/* Grants every case of `office` this node can read to reader, skipping the
 * cases it already holds a grant for. */
int dk__grant_cases(dk_node *n, struct dk_txn *t, const uint8_t reader[DK_PK_BYTES],
                    const char *office) {
  int wrc = dk__own_log_writable(t);
  if (wrc != 0) {
    /* Restored: it writes nothing until its log is whole; the reader gets
     * these grants when it is certified again or from the writing office. */
    if (wrc == DK_ERESTORED)
      dk_node_logf(n, DK_LOG_WARN, "restored node: key grants for a new reader wait");
    return wrc == DK_ERESTORED ? 0 : wrc;
  }
  uint64_t revoked_at;
  int rrc = dk__trust_revoked_at(t, reader, &revoked_at);
  if (rrc != DK_ENOTFOUND)
    return rrc; /* 0: revoked, it gets nothing new */
  struct dk_iter it;
  uint8_t *key = sodium_malloc(DK_SYMKEY_BYTES);
  uint8_t *shared = sodium_malloc(DK_SYMKEY_BYTES);
  struct dk_case_state s;
  dk_case_state_init(&s);
  int rc = key && shared ? dk_iter_open(t, DK_T_CASE_KEYS, NULL, 0, &it) : DK_ENOMEM;
  if (rc != 0) {
    sodium_free(key);
    sodium_free(shared);
    return rc;
  }
  /* Collect first: appending while iterating the same transaction's table
   * would move the cursor. */
  uint8_t(*ids)[DK_HASH_BYTES] = NULL;
  size_t count = 0, cap = 0;
  const uint8_t *k;
  size_t klen;
  while ((rc = dk_iter_next(&it, &k, &klen, NULL, NULL)) == 0) {
    if (klen != DK_HASH_BYTES)
      continue;
    if (count == cap) {
      size_t ncap = cap ? cap * 2 : 64;
      void *p = realloc(ids, ncap * DK_HASH_BYTES);
      if (p == NULL) {
        rc = DK_ENOMEM;
        break;
      }
      ids = p;
      cap = ncap;
    }
    memcpy(ids[count++], k, DK_HASH_BYTES);
  }
  dk_iter_close(&it);
  if (rc == DK_ENOTFOUND)
    rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++) {
    rc = dk__case_state_load(n, t, ids[i], &s);
    if (rc == DK_ENOTFOUND) {
      rc = 0;
      continue;
    }
    if (rc != 0)
      break;
    if (s.office == NULL || strcmp(s.office, office) != 0)
      continue; /* not the office's case */
    uint8_t gk[DK_HASH_BYTES + DK_PK_BYTES];
    memcpy(gk, ids[i], DK_HASH_BYTES);
    memcpy(gk + DK_HASH_BYTES, reader, DK_PK_BYTES);
    const uint8_t *gv;
    size_t gl;
    rc = dk_txn_get(t, DK_T_GRANTS, gk, sizeof(gk), &gv, &gl);
    if (rc == 0)
      continue; /* it holds the key already */
    if (rc != DK_ENOTFOUND)
      break;
    rc = dk__case_key_load(n, t, ids[i], key);
    if (rc != 0)
      break;
    struct dk_grant g;
    memcpy(g.reader, reader, DK_PK_BYTES);
    rc = dk__shared_key(n, reader, shared);
    if (rc == 0)
      rc = dk_key_wrap(shared, key, g.sealed);
    struct dk_buf body;
    dk_buf_init(&body);
    struct dk_entry e;
    if (rc == 0)
      rc = dk_grants_write(&g, 1, &body);
    if (rc == 0)
      rc = dk__grants_record(t, ids[i], &g, 1);
    if (rc == 0)
      rc = dk_log_append(t, &n->id, DK_ENTRY_KEY_GRANT, ids[i], body.data, body.len,
                         dk_node_now(n), &e);
    if (rc == 0) {
      uint8_t ck[DK_HASH_BYTES + DK_LOGKEY_BYTES];
      memcpy(ck, ids[i], DK_HASH_BYTES);
      dk_logkey(ck + DK_HASH_BYTES, e.h.log, e.h.seq);
      rc = dk_txn_put(t, DK_T_CASE_EVENTS, ck, sizeof(ck), "", 0);
    }
    dk_buf_release(&body);
  }
  free(ids);
  dk_case_state_release(&s);
  sodium_free(key);
  sodium_free(shared);
  return rc;
}

static int is_above_me(const dk_node *n, const char *office);

int dk__case_readers(dk_node *n, struct dk_txn *t, uint8_t readers[][DK_PK_BYTES],
                     size_t *count) {
  size_t c = 0;
  memcpy(readers[c++], n->pk, DK_PK_BYTES);
  struct dk_iter it;
  int rc = dk_iter_open(t, DK_T_LOGS, NULL, 0, &it);
  if (rc != 0)
    return rc;
  const uint8_t *k, *v;
  size_t klen, vlen;
  while ((rc = dk_iter_next(&it, &k, &klen, &v, &vlen)) == 0) {
    struct dk_office_info info;
    if (klen != DK_PK_BYTES || memcmp(k, n->pk, DK_PK_BYTES) == 0 ||
        dk_office_body_decode(v, vlen, &info) != 0)
      continue;
    if (is_above_me(n, info.office) && c < DK_READERS_MAX &&
        dk__trust_reader_ok(n, t, k, info.office))
      memcpy(readers[c++], k, DK_PK_BYTES);
  }
  dk_iter_close(&it);
  if (rc != DK_ENOTFOUND)
    return rc;
  /* Pinned offices above, whose logs may not have arrived yet. */
  rc = dk_iter_open(t, DK_T_PEERS, NULL, 0, &it);
  if (rc != 0)
    return rc;
  while ((rc = dk_iter_next(&it, &k, &klen, &v, &vlen)) == 0) {
    struct dk_peer p;
    if (dk__peer_decode(v, vlen, &p) != 0 || !is_above_me(n, p.office) ||
        !dk__trust_reader_ok(n, t, p.key, p.office))
      continue;
    int dup = 0;
    for (size_t i = 0; i < c && !dup; i++)
      dup = memcmp(readers[i], p.key, DK_PK_BYTES) == 0;
    if (!dup && c < DK_READERS_MAX)
      memcpy(readers[c++], p.key, DK_PK_BYTES);
  }
  dk_iter_close(&it);
  if (rc != DK_ENOTFOUND)
    return rc;
  /* With a root: certified offices above and auditors of this subtree. */
  rc = dk__trust_readers_add(n, t, readers, &c);
  *count = c;
  return rc;
}

/* ---- ingest ----------------------------------------------------------------- */


struct run {
  uint8_t log[DK_PK_BYTES];
  uint64_t held_seq; /* head in the store before this batch */
  uint64_t seq;      /* last seq accepted so far (held or new) */
  uint8_t id[DK_HASH_BYTES];
  uint64_t ts;
  ptrdiff_t last_new; /* index of the last new entry, -1 none */
  int office_known;   /* office below holds the log's seq-1 claim */
  int refused;        /* not authorised here: the rest of this run is refused */
  struct dk_office_info office;
};

enum { NEW = 1, DUP = 2, FORK = 3, REFUSED = 4 };

struct ingest_ctx {
  dk_node *n;
  const struct dk_raw_entry *raw;
  struct dk_entry *e;
  int *what;
  struct run *runs; /* count of them */
  size_t count;
  struct dk_ingest_stats stats;
};

static int find_run(struct dk_txn *t, struct run *runs, size_t *nruns, size_t cap,
                    const uint8_t *log, struct run **out) {
  for (size_t i = 0; i < *nruns; i++)
    if (memcmp(runs[i].log, log, DK_PK_BYTES) == 0) {
      *out = &runs[i];
      return 0;
    }
  if (*nruns == cap)
    return DK_ELIMIT;
  struct run *r = &runs[(*nruns)++];
  struct dk_head h;
  int rc = dk_log_head(t, log, &h);
  if (rc != 0)
    return rc;
  memcpy(r->log, log, DK_PK_BYTES);
  r->held_seq = r->seq = h.seq;
  memcpy(r->id, h.id, DK_HASH_BYTES);
  r->ts = h.ts_ms;
  r->last_new = -1;
  r->refused = 0;
  r->office_known = 0;
  const uint8_t *v;
  size_t vlen;
  rc = dk_txn_get(t, DK_T_LOGS, log, DK_PK_BYTES, &v, &vlen);
  if (rc == 0 && dk_office_body_decode(v, vlen, &r->office) == 0)
    r->office_known = 1;
  else if (rc != 0 && rc != DK_ENOTFOUND)
    return rc;
  *out = r;
  return 0;
}

/* The office a log of this batch claims: held, or its seq-1 entry here. */
static const char *batch_office(struct dk_txn *t, const struct dk_raw_entry *raw,
                                const struct dk_entry *e, size_t count, const uint8_t *log,
                                struct dk_office_info *out) {
  const uint8_t *v;
  size_t vlen;
  if (dk_txn_get(t, DK_T_LOGS, log, DK_PK_BYTES, &v, &vlen) == 0 &&
      dk_office_body_decode(v, vlen, out) == 0)
    return out->office;
  for (size_t i = 0; i < count; i++)
    if (e[i].h.seq == 1 && e[i].h.type == DK_ENTRY_OFFICE && raw[i].body != NULL &&
        memcmp(e[i].h.log, log, DK_PK_BYTES) == 0 &&
        dk_entry_check_body(&e[i], raw[i].body, raw[i].body_len) == 0 &&
        dk_office_body_decode(raw[i].body, raw[i].body_len, out) == 0)
      return out->office;
  return NULL;
}

/* A run this node will not store: the rest of its entries in the batch are
 * refused, the other logs' entries go on. */
static void refuse_run(struct ingest_ctx *c, struct run *r, int why) {
  r->refused = why;
  if (c->stats.refused == 0) {
    c->stats.refused_why = why;
    memcpy(c->stats.refused_log, r->log, DK_PK_BYTES);
    if (r->office_known)
      memcpy(c->stats.refused_office, r->office.office, DK_NAME_BYTES_MAX);
  }
  char hex[17];
  dk_hex(r->log, 8, hex);
  dk_node_logf(c->n, DK_LOG_WARN, "refused the entries of log %s (%s): %s", hex,
               r->office_known ? r->office.office : "its first entry is not held",
               dk_strerror(why));
}

/* Is `office` a proper ancestor of this node's office? */
static int is_above_me(const dk_node *n, const char *office) {
  size_t ol = strlen(office);
  return strncmp(office, n->cfg.office, ol) == 0 && n->cfg.office[ol] == '/';
}

/* ---- forks ------------------------------------------------------------------ */

/* Is a fork proof already kept for (log, seq)? */
static int fork_known(struct dk_txn *t, const uint8_t *log, uint64_t seq) {
  uint8_t k[DK_LOGKEY_BYTES];
  const uint8_t *v;
  size_t vlen;
  dk_logkey(k, log, seq);
  int rc = dk_txn_get(t, DK_T_FORKS, k, sizeof(k), &v, &vlen);
  return rc == 0 ? 1 : rc == DK_ENOTFOUND ? 0 : rc;
}

/* This node received e, a signed entry for a position of its log where it
 * holds another: it keeps e as the proof and, once per position, appends a
 * fork entry carrying both to its own log, so that the proof travels up
 * (node/fork.h). A locked node keeps the proof only. */
static int fork_found(dk_node *n, struct dk_txn *t, const struct dk_entry *e) {
  dk_node_logf(n, DK_LOG_WARN, "fork: two signed entries at one position of a log");
  int rc = fork_known(t, e->h.log, e->h.seq);
  if (rc != 0)
    return rc < 0 ? rc : 0;
  rc = dk_log_store_fork(t, e);
  if (rc != 0 || !n->unlocked || memcmp(e->h.log, n->pk, DK_PK_BYTES) == 0)
    return rc;
  rc = dk__own_log_writable(t);
  if (rc != 0)
    return rc == DK_ERESTORED ? 0 : rc; /* restored: the proof is kept, reported later */
  struct dk_entry held, fe;
  rc = dk_log_read(t, e->h.log, e->h.seq, &held, NULL, NULL);
  struct dk_buf body;
  dk_buf_init(&body);
  if (rc == 0)
    rc = dk_fork_body_encode(&held, e, &body);
  if (rc == 0)
    rc = dk_log_append(t, &n->id, DK_ENTRY_FORK, NULL, body.data, body.len, dk_node_now(n),
                       &fe);
  dk_buf_release(&body);
  return rc;
}

/* A fork entry from another node: when its block proves a fork (both
 * signatures, one position, different ids), keep the proof for that log,
 * choosing the entry that differs from the one held there, if any. A block
 * that proves nothing stays a signed entry and is reported. */
static int fork_reported(dk_node *n, struct dk_txn *t, const struct dk_entry *e,
                         const uint8_t *body, size_t body_len) {
  struct dk_entry *pair = malloc(2 * sizeof(*pair));
  if (pair == NULL)
    return DK_ENOMEM;
  int rc = dk_fork_body_decode(body, body_len, &pair[0], &pair[1]);
  if (rc != 0) {
    dk_node_logf(n, DK_LOG_WARN, "a fork entry that proves no fork was kept but not trusted: %s",
                 dk_strerror(rc));
    free(pair);
    return rc == DK_ENOMEM ? rc : 0;
  }
  const struct dk_entry *proof = &pair[1];
  struct dk_entry held;
  rc = dk_log_read(t, proof->h.log, proof->h.seq, &held, NULL, NULL);
  if (rc == 0 && memcmp(held.id, proof->id, DK_HASH_BYTES) == 0)
    proof = &pair[0];
  if (rc == 0 || rc == DK_ENOTFOUND)
    rc = fork_known(t, proof->h.log, proof->h.seq);
  if (rc == 0) {
    dk_node_logf(n, DK_LOG_WARN, "fork: a log forked, as another office reported");
    rc = dk_log_store_fork(t, proof);
  }
  free(pair);
  return rc < 0 ? rc : 0;
}

int dk_node_forks(dk_node *n, int (*cb)(void *ctx, const struct dk_fork_info *f), void *ctx) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  struct dk_fork_info *f = malloc(sizeof(*f));
  struct dk_iter it;
  rc = f ? dk_iter_open(&t, DK_T_FORKS, NULL, 0, &it) : DK_ENOMEM;
  if (rc != 0)
    goto out;
  const uint8_t *k, *v;
  size_t klen, vlen;
  while ((rc = dk_iter_next(&it, &k, &klen, &v, &vlen)) == 0) {
    struct dk_entry e;
    if (klen != DK_LOGKEY_BYTES || dk_log_decode_stored(v, vlen, &e) != 0)
      continue; /* damaged: proves nothing */
    memset(f, 0, sizeof(*f));
    memcpy(f->log, k, DK_PK_BYTES);
    f->seq = dk_be64_get(k + DK_PK_BYTES);
    memcpy(f->proof_id, e.id, DK_HASH_BYTES);
    const uint8_t *ov;
    size_t olen;
    struct dk_office_info info;
    if (dk_txn_get(&t, DK_T_LOGS, k, DK_PK_BYTES, &ov, &olen) == 0 &&
        dk_office_body_decode(ov, olen, &info) == 0)
      memcpy(f->office, info.office, DK_NAME_BYTES_MAX);
    rc = cb(ctx, f);
    if (rc != 0)
      break;
  }
  dk_iter_close(&it);
  if (rc == DK_ENOTFOUND)
    rc = 0;
out:
  free(f);
  dk_store_read_end(&t);
  return rc;
}

static int ingest_fn(struct dk_txn *t, void *arg) {
  struct ingest_ctx *c = arg;
  dk_node *n = c->n;
  /* One run per log in the batch: as many as entries at most. */
  size_t runs_cap = c->count;
  struct run *runs = c->runs;
  size_t nruns = 0;
  int rc = 0;
  memset(&c->stats, 0, sizeof(c->stats));

  /* Pass 0: the root statements this batch brings, so that a certificate or
   * a revocation applies to the batch it arrives in. */
  struct dk__trust_batch tb = {0};
  for (size_t i = 0; i < c->count && rc == 0; i++) {
    struct dk_office_info oi;
    if (c->e[i].h.type == DK_ENTRY_CERT || c->e[i].h.type == DK_ENTRY_REVOKE)
      rc = dk__trust_batch_add(&tb, t, &c->e[i],
                               batch_office(t, c->raw, c->e, c->count, c->e[i].h.log, &oi),
                               c->raw[i].body, c->raw[i].body_len);
  }

  /* Pass 1: every check, nothing written. */
  for (size_t i = 0; i < c->count && rc == 0; i++) {
    struct dk_entry *e = &c->e[i];
    struct run *r;
    rc = find_run(t, runs, &nruns, runs_cap, e->h.log, &r);
    if (rc != 0)
      break;
    if (r->refused) {
      c->what[i] = REFUSED;
      c->stats.refused++;
      continue;
    }
    if (c->raw[i].body != NULL && (rc = dk_entry_check_body(e, c->raw[i].body,
                                                            c->raw[i].body_len)) != 0)
      break;
    if (e->h.seq <= r->held_seq) {
      struct dk_entry have;
      rc = dk_log_read(t, e->h.log, e->h.seq, &have, NULL, NULL);
      if (rc != 0)
        break;
      if (memcmp(have.id, e->id, DK_HASH_BYTES) == 0) {
        c->what[i] = DUP;
      } else {
        rc = dk_entry_verify_sig(e); /* only a signed entry proves a fork */
        c->what[i] = FORK;
      }
      continue;
    }
    if (r->held_seq == 0 && r->seq == 0 && e->h.seq != 1) {
      /* A log whose beginning this node does not hold, nor this batch: an
       * earlier batch of it was refused. */
      refuse_run(c, r, DK_EUNAUTH);
      c->what[i] = REFUSED;
      c->stats.refused++;
      continue;
    }
    rc = dk_entry_check_link(e, r->seq, r->id, r->ts);
    if (rc != 0)
      break;
    if (e->h.type == DK_ENTRY_OFFICE) {
      struct dk_office_info info;
      if (c->raw[i].body == NULL ||
          dk_office_body_decode(c->raw[i].body, c->raw[i].body_len, &info) != 0 ||
          !dk_office_valid(info.office)) {
        rc = DK_EFORMAT;
        break;
      }
      /* A pinned peer's log must say the office it was pinned with. */
      struct dk_peer p;
      if (dk__peer_by_key(t, e->h.log, &p) == 0 && strcmp(p.office, info.office) != 0) {
        rc = DK_EAUTH;
        break;
      }
      if (e->h.seq == 1) {
        r->office = info;
        r->office_known = 1;
      }
    }
    /* Authorisation: the log's key must hold a certificate for the office
     * it claims at the entry's time, not revoked (or, without a root, be
     * pinned or vouched for). What is refused is skipped, not fatal. */
    int auth = r->office_known ? dk__trust_log_authorised(n, t, &tb, e->h.log, &r->office, &e->h)
                               : DK_EUNAUTH;
    if (auth == DK_ECERT || auth == DK_EUNAUTH) {
      refuse_run(c, r, auth);
      c->what[i] = REFUSED;
      c->stats.refused++;
      continue;
    }
    if (auth != 0) {
      rc = auth;
      break;
    }
    c->what[i] = NEW;
    r->seq = e->h.seq;
    memcpy(r->id, e->id, DK_HASH_BYTES);
    r->ts = e->h.ts_ms;
    r->last_new = (ptrdiff_t)i;
  }
  /* The last new entry of each run: its signature and the links above
   * authenticate the whole run. */
  for (size_t k = 0; k < nruns && rc == 0; k++)
    if (runs[k].last_new >= 0)
      rc = dk_entry_verify_sig(&c->e[runs[k].last_new]);
  dk__trust_batch_release(&tb);
  if (rc != 0)
    return rc;

  /* Pass 2: store. Entries and bodies are appended; each log's run and head
   * are written once per stretch. What later checks depend on (the office
   * of a log, the trust view, fork proofs) is written here too, and is
   * rare; the case tables are left to the indexer (node/index.h). */
  struct dk_log_writer w;
  dk_log_writer_init(&w);
  for (size_t i = 0; i < c->count && rc == 0; i++) {
    const struct dk_entry *e = &c->e[i];
    const struct dk_raw_entry *raw = &c->raw[i];
    if (c->what[i] == REFUSED)
      continue;
    if (c->what[i] == DUP) {
      c->stats.duplicates++;
      continue;
    }
    if (c->what[i] == FORK) {
      c->stats.forks++;
      rc = dk_log_writer_flush(t, &w);
      if (rc == 0)
        rc = fork_found(n, t, e);
      continue;
    }
    rc = dk_log_writer_add(t, &w, e, raw->body, raw->body_len);
    if (rc != 0)
      break;
    c->stats.stored++;
    int special = e->h.type == DK_ENTRY_OFFICE ||
                  (e->h.type >= DK_ENTRY_CERT && e->h.type <= DK_ENTRY_AUDITOR) ||
                  (e->h.type == DK_ENTRY_FORK && raw->body != NULL) ||
                  e->h.type == DK_ENTRY_NETKEY;
    if (!special)
      continue;
    /* What follows may append to this node's log: the writer's runs and
     * heads go first. */
    rc = dk_log_writer_flush(t, &w);
    if (rc != 0)
      break;
    if (e->h.type == DK_ENTRY_OFFICE) {
      rc = dk_txn_put(t, DK_T_LOGS, e->h.log, DK_PK_BYTES, raw->body, raw->body_len);
      struct dk_office_info info;
      if (rc == 0 && dk_office_body_decode(raw->body, raw->body_len, &info) == 0 &&
          n->unlocked && is_above_me(n, info.office) &&
          dk__trust_reader_ok(n, t, e->h.log, info.office))
        rc = dk__grant_own_cases(n, t, e->h.log);
    } else if (e->h.type >= DK_ENTRY_CERT && e->h.type <= DK_ENTRY_AUDITOR) {
      rc = dk__trust_index(n, t, e, raw->body, raw->body_len);
    } else if (e->h.type == DK_ENTRY_NETKEY) {
      /* After the certificates before it in this batch were indexed, so
       * that its authorisation sees them; in this commit, so that a batch
       * that fails applies nothing. */
      rc = dk__netkey_index(n, t, e, raw->body, raw->body_len);
    } else {
      rc = fork_reported(n, t, e, raw->body, raw->body_len);
    }
  }
  if (rc == 0)
    rc = dk_log_writer_flush(t, &w);
  return rc;
}

int dk_node_ingest(dk_node *n, const struct dk_raw_entry *entries, size_t count,
                   struct dk_ingest_stats *out) {
  memset(out, 0, sizeof(*out));
  if (count == 0)
    return 0;
  struct ingest_ctx c;
  memset(&c, 0, sizeof(c));
  c.n = n;
  c.raw = entries;
  c.count = count;
  c.e = malloc(sizeof(*c.e) * count);
  c.what = calloc(count, sizeof(int));
  c.runs = malloc(sizeof(*c.runs) * count);
  int rc = (c.e && c.what && c.runs) ? 0 : DK_ENOMEM;
  for (size_t i = 0; i < count && rc == 0; i++) {
    if (entries[i].header_len == 0 || entries[i].header_len > DK_HEADER_BYTES_MAX ||
        entries[i].body_len > DK_BODY_BYTES_MAX) {
      rc = DK_ELIMIT;
      break;
    }
    rc = dk_entry_parse(&c.e[i], entries[i].header, entries[i].header_len, entries[i].sig);
  }
  if (rc == 0)
    rc = dk_store_write(n->store, ingest_fn, &c);
  if (rc == 0)
    DK_FAULT("ingest-commit");
  if (rc == 0)
    *out = c.stats;
  /* The case tables follow after the commit: at once, or when the caller
   * (a sync session receiving a burst) says it has caught up. */
  if (rc == 0 && !n->index_deferred && c.stats.stored > 0)
    rc = dk_node_index_run(n);
  free(c.e);
  free(c.what);
  free(c.runs);
  return rc;
}

/* ---- witness ---------------------------------------------------------------- */

struct witness_ctx {
  dk_node *n;
  const uint8_t *log;
};

static int witness_fn(struct dk_txn *t, void *arg) {
  struct witness_ctx *c = arg;
  struct dk_head h;
  int rc = dk__own_log_writable(t);
  if (rc != 0)
    return rc == DK_ERESTORED ? 0 : rc; /* a restored parent witnesses nothing yet */
  rc = dk_log_head(t, c->log, &h);
  if (rc != 0 || h.seq == 0)
    return rc;
  char mk[8 + DK_PK_BYTES * 2 + 1];
  memcpy(mk, "witness:", 8);
  dk_hex(c->log, DK_PK_BYTES, mk + 8);
  const uint8_t *v;
  size_t vlen;
  rc = dk_txn_get(t, DK_T_META, mk, strlen(mk), &v, &vlen);
  if (rc == 0 && vlen == 8 + DK_HASH_BYTES) {
    uint64_t seq = dk_be64_get(v);
    if (seq == h.seq)
      return 0; /* already witnessed */
    /* The new head must extend the one witnessed: the entry at that seq is
     * still the one we saw. */
    struct dk_entry old;
    rc = dk_log_read(t, c->log, seq, &old, NULL, NULL);
    if (rc != 0 || memcmp(old.id, v + 8, DK_HASH_BYTES) != 0)
      return rc != 0 ? rc : DK_EFORK;
  } else if (rc != DK_ENOTFOUND && rc != 0) {
    return rc;
  }
  struct dk_witness w;
  memcpy(w.log, c->log, DK_PK_BYTES);
  w.seq = h.seq;
  memcpy(w.id, h.id, DK_HASH_BYTES);
  struct dk_buf body;
  dk_buf_init(&body);
  struct dk_entry e;
  rc = dk_witness_body_encode(&w, &body);
  if (rc == 0)
    rc = dk_log_append(t, &c->n->id, DK_ENTRY_WITNESS, NULL, body.data, body.len,
                       dk_node_now(c->n), &e);
  dk_buf_release(&body);
  uint8_t val[8 + DK_HASH_BYTES];
  dk_be64_put(val, h.seq);
  memcpy(val + 8, h.id, DK_HASH_BYTES);
  if (rc == 0)
    rc = dk_txn_put(t, DK_T_META, mk, strlen(mk), val, sizeof(val));
  return rc;
}

int dk_node_witness(dk_node *n, const uint8_t log[DK_PK_BYTES]) {
  if (!n->unlocked)
    return DK_ENOKEY;
  struct witness_ctx c = {n, log};
  return dk_store_write(n->store, witness_fn, &c);
}

/* ---- peers -------------------------------------------------------------------- */

int dk__peer_encode(const struct dk_peer *p, struct dk_buf *out) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, dk_buf_msgpack_write);
  int bad = msgpack_pack_array(&pk, 11);
  bad |= dk_mp_pack_str(&pk, p->name);
  bad |= dk_mp_pack_str(&pk, p->addr);
  bad |= dk_mp_pack_bin(&pk, p->key, DK_PK_BYTES);
  bad |= dk_mp_pack_str(&pk, p->office);
  bad |= msgpack_pack_uint64(&pk, (uint64_t)p->role);
  bad |= msgpack_pack_uint64(&pk, p->added_ms);
  bad |= msgpack_pack_uint64(&pk, p->last_sync_ms);
  bad |= msgpack_pack_uint64(&pk, p->they_lack);
  bad |= msgpack_pack_uint64(&pk, p->we_lack);
  bad |= dk_mp_pack_str(&pk, p->last_error);
  bad |= msgpack_pack_uint64(&pk, p->last_error_ms);
  return bad ? DK_ENOMEM : 0;
}

int dk__peer_decode(const uint8_t *v, size_t vlen, struct dk_peer *p) {
  msgpack_unpacked u;
  int rc = dk_mp_parse(v, vlen, &u);
  if (rc != 0)
    return rc;
  rc = DK_EFORMAT;
  const msgpack_object *a = &u.data;
  uint64_t role;
  memset(p, 0, sizeof(*p));
  /* 9 fields before the last error was recorded, 11 since. */
  if (a->type == MSGPACK_OBJECT_ARRAY &&
      (a->via.array.size == 9 || a->via.array.size == 11)) {
    const msgpack_object *f = a->via.array.ptr;
    if (dk_mp_get_str(&f[0], p->name, sizeof(p->name)) == 0 &&
        dk_mp_get_str(&f[1], p->addr, sizeof(p->addr)) == 0 &&
        dk_mp_get_bin_fixed(&f[2], p->key, DK_PK_BYTES) == 0 &&
        dk_mp_get_str(&f[3], p->office, sizeof(p->office)) == 0 &&
        dk_mp_get_u64(&f[4], &role) == 0 && dk_mp_get_u64(&f[5], &p->added_ms) == 0 &&
        dk_mp_get_u64(&f[6], &p->last_sync_ms) == 0 &&
        dk_mp_get_u64(&f[7], &p->they_lack) == 0 && dk_mp_get_u64(&f[8], &p->we_lack) == 0 &&
        role >= DK_OFFICE_DISTRICT && role <= DK_OFFICE_AUDITOR &&
        (a->via.array.size == 9 ||
         (dk_mp_get_str(&f[9], p->last_error, sizeof(p->last_error)) == 0 &&
          dk_mp_get_u64(&f[10], &p->last_error_ms) == 0))) {
      p->role = (enum dk_office_role)role;
      rc = 0;
    }
  }
  msgpack_unpacked_destroy(&u);
  return rc;
}

struct peer_ctx {
  const struct dk_peer *p;
  int replace;
};

static int peer_put_fn(struct dk_txn *t, void *arg) {
  struct peer_ctx *c = arg;
  const uint8_t *v;
  size_t vlen;
  int rc = dk_txn_get(t, DK_T_PEERS, c->p->name, strlen(c->p->name), &v, &vlen);
  if (rc == 0 && !c->replace)
    return DK_EEXIST;
  if (rc == DK_ENOTFOUND && c->replace)
    return DK_ENOTFOUND;
  if (rc != 0 && rc != DK_ENOTFOUND)
    return rc;
  if (!c->replace) {
    /* One name per key, too. */
    struct dk_iter it;
    rc = dk_iter_open(t, DK_T_PEERS, NULL, 0, &it);
    if (rc != 0)
      return rc;
    const uint8_t *k;
    size_t klen;
    while ((rc = dk_iter_next(&it, &k, &klen, &v, &vlen)) == 0) {
      struct dk_peer other;
      if (dk__peer_decode(v, vlen, &other) == 0 &&
          memcmp(other.key, c->p->key, DK_PK_BYTES) == 0) {
        rc = DK_EEXIST;
        break;
      }
    }
    dk_iter_close(&it);
    if (rc != DK_ENOTFOUND)
      return rc;
  }
  struct dk_buf b;
  dk_buf_init(&b);
  rc = dk__peer_encode(c->p, &b);
  if (rc == 0)
    rc = dk_txn_put(t, DK_T_PEERS, c->p->name, strlen(c->p->name), b.data, b.len);
  dk_buf_release(&b);
  return rc;
}

int dk_node_peer_add(dk_node *n, const struct dk_peer *p) {
  struct peer_ctx c = {p, 0};
  return dk_store_write(n->store, peer_put_fn, &c);
}

int dk_node_peer_update(dk_node *n, const struct dk_peer *p) {
  struct peer_ctx c = {p, 1};
  return dk_store_write(n->store, peer_put_fn, &c);
}

static int peer_del_fn(struct dk_txn *t, void *arg) {
  const char *name = arg;
  const uint8_t *v;
  size_t vlen;
  int rc = dk_txn_get(t, DK_T_PEERS, name, strlen(name), &v, &vlen);
  if (rc != 0)
    return rc;
  return dk_txn_del(t, DK_T_PEERS, name, strlen(name));
}

int dk_node_peer_remove(dk_node *n, const char *name) {
  return dk_store_write(n->store, peer_del_fn, (void *)name);
}

int dk__peers_iterate(struct dk_txn *t, int (*cb)(void *ctx, const struct dk_peer *p),
                         void *ctx) {
  struct dk_iter it;
  int rc = dk_iter_open(t, DK_T_PEERS, NULL, 0, &it);
  if (rc == 0) {
    const uint8_t *k, *v;
    size_t klen, vlen;
    while ((rc = dk_iter_next(&it, &k, &klen, &v, &vlen)) == 0) {
      struct dk_peer p;
      rc = dk__peer_decode(v, vlen, &p);
      if (rc == 0)
        rc = cb(ctx, &p);
      if (rc != 0)
        break;
    }
    if (rc == DK_ENOTFOUND)
      rc = 0;
    dk_iter_close(&it);
  }
  return rc;
}

int dk_node_peer_list(dk_node *n, int (*cb)(void *ctx, const struct dk_peer *p), void *ctx) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  rc = dk__peers_iterate(&t, cb, ctx);
  dk_store_read_end(&t);
  return rc;
}

int dk_node_peer_get(dk_node *n, const char *name, struct dk_peer *out) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  const uint8_t *v;
  size_t vlen;
  rc = dk_txn_get(&t, DK_T_PEERS, name, strlen(name), &v, &vlen);
  if (rc == 0)
    rc = dk__peer_decode(v, vlen, out);
  dk_store_read_end(&t);
  return rc;
}

struct by_key {
  const uint8_t *key;
  struct dk_peer *out;
};

static int match_key(void *ctx, const struct dk_peer *p) {
  struct by_key *b = ctx;
  if (memcmp(p->key, b->key, DK_PK_BYTES) != 0)
    return 0;
  *b->out = *p;
  return 1;
}

int dk__peer_by_key(struct dk_txn *t, const uint8_t key[DK_PK_BYTES], struct dk_peer *out) {
  struct by_key b = {key, out};
  int rc = dk__peers_iterate(t, match_key, &b);
  return rc == 1 ? 0 : rc == 0 ? DK_ENOTFOUND : rc;
}

int dk_node_peer_by_key(dk_node *n, const uint8_t key[DK_PK_BYTES], struct dk_peer *out) {
  struct by_key b = {key, out};
  int rc = dk_node_peer_list(n, match_key, &b);
  return rc == 1 ? 0 : rc == 0 ? DK_ENOTFOUND : rc;
}

/* ---- cursors ------------------------------------------------------------------ */

struct cursors_ctx {
  dk_node *n;
  const uint8_t *peer;
  int (*in_scope)(void *ctx, const char *log_office);
  void *ctx;
};

static int cursors_fn(struct dk_txn *t, void *arg) {
  struct cursors_ctx *c = arg;
  struct dk_iter it;
  int rc = dk_iter_open(t, DK_T_HEADS, NULL, 0, &it);
  if (rc != 0)
    return rc;
  const uint8_t *k, *v;
  size_t klen, vlen;
  while ((rc = dk_iter_next(&it, &k, &klen, &v, &vlen)) == 0) {
    if (klen != DK_PK_BYTES || vlen < 8)
      continue;
    const uint8_t *ov;
    size_t olen;
    struct dk_office_info info;
    if (dk_txn_get(t, DK_T_LOGS, k, DK_PK_BYTES, &ov, &olen) != 0 ||
        dk_office_body_decode(ov, olen, &info) != 0 || !c->in_scope(c->ctx, info.office))
      continue;
    uint8_t key[2 * DK_PK_BYTES];
    memcpy(key, c->peer, DK_PK_BYTES);
    memcpy(key + DK_PK_BYTES, k, DK_PK_BYTES);
    uint8_t seq[8];
    memcpy(seq, v, 8);
    rc = dk_txn_put(t, DK_T_CURSORS, key, sizeof(key), seq, 8);
    if (rc != 0)
      break;
  }
  dk_iter_close(&it);
  return rc == DK_ENOTFOUND ? 0 : rc;
}

int dk_node_peer_cursors_save(dk_node *n, const uint8_t peer_key[DK_PK_BYTES],
                              int (*in_scope)(void *ctx, const char *log_office), void *ctx) {
  struct cursors_ctx c = {n, peer_key, in_scope, ctx};
  return dk_store_write(n->store, cursors_fn, &c);
}

int dk_node_peer_cursor(dk_node *n, const uint8_t peer_key[DK_PK_BYTES],
                        const uint8_t log[DK_PK_BYTES], uint64_t *seq) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  uint8_t key[2 * DK_PK_BYTES];
  memcpy(key, peer_key, DK_PK_BYTES);
  memcpy(key + DK_PK_BYTES, log, DK_PK_BYTES);
  const uint8_t *v;
  size_t vlen;
  rc = dk_txn_get(&t, DK_T_CURSORS, key, sizeof(key), &v, &vlen);
  *seq = 0;
  if (rc == 0 && vlen == 8)
    *seq = dk_be64_get(v);
  if (rc == DK_ENOTFOUND)
    rc = 0;
  dk_store_read_end(&t);
  return rc;
}

int dk__grants_record(struct dk_txn *t, const uint8_t *case_id, const struct dk_grant *g,
                      size_t count) {
  int rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++) {
    uint8_t k[DK_HASH_BYTES + DK_PK_BYTES];
    memcpy(k, case_id, DK_HASH_BYTES);
    memcpy(k + DK_HASH_BYTES, g[i].reader, DK_PK_BYTES);
    rc = dk_txn_put(t, DK_T_GRANTS, k, sizeof(k), "", 0);
  }
  return rc;
}
