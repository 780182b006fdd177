/*
 * The node's side of replication: heads, reading ranges, ingesting batches
 * from other nodes, forks. Who may read a case: node/trust/grants.c; pinned
 * peers, their cursors and witnessing: node/peers/peers.c.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/fault.h"
#include "common/mp.h"
#include "node/ingest/index.h"
#include "node/log/fork.h"
#include "node/log/log.h"
#include "node/log/log_int.h"
#include "node/node_int.h"
#include "node/peers/peers_int.h"
#include "node/trust/trust_int.h"

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
  struct dk__trust_memo auth; /* the run's authorisation so far */
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
  memset(&r->auth, 0, sizeof(r->auth));
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
 * (node/log/fork.h). A locked node keeps the proof only. */
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
      if (dk__peer_by_key(n, t, e->h.log, &p) == 0 && strcmp(p.office, info.office) != 0) {
        rc = DK_EAUTH;
        break;
      }
      if (e->h.seq == 1) {
        r->office = info;
        r->office_known = 1;
        memset(&r->auth, 0, sizeof(r->auth));
      }
    }
    /* Authorisation: the log's key must hold a certificate for the office
     * it claims at the entry's time, not revoked (or, without a root, be
     * pinned or vouched for). What is refused is skipped, not fatal. */
    int auth = r->office_known ? dk__trust_log_authorised(n, t, &tb, e->h.log, &r->office,
                                                             &e->h, &r->auth)
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
   * rare; the case tables are left to the indexer (node/ingest/index.h). */
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
