/*
 * The case indexer: derived state that follows the log (node/ingest/index.h).
 */
#include "node/ingest/index.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"
#include "node/cases/cases_int.h"
#include "node/log/log.h"
#include "node/node_int.h"
#include "node/trust/trust_int.h"

static int id_cmp(const void *a, const void *b) { return memcmp(a, b, DK_HASH_BYTES); }

/* What one entry adds to the case tables; case_id gets the case it touches
 * (NULL for none). */
static int index_entry(dk_node *n, struct dk_txn *t, uint64_t pos, const struct dk_entry *e,
                       const uint8_t *body, size_t body_len, uint8_t *shared, uint8_t *key,
                       const uint8_t **case_id) {
  int rc = 0;
  *case_id = NULL;
  switch (e->h.type) {
  case DK_ENTRY_CASE_OPEN:
    *case_id = e->id;
    rc = dk_log_case_open_put(t, e->id, pos);
    break;
  case DK_ENTRY_CASE_EVENT:
  case DK_ENTRY_KEY_GRANT:
    if (e->h.has_case)
      *case_id = e->h.case_id;
    break;
  case DK_ENTRY_ERASE:
    if (e->h.has_case) {
      *case_id = e->h.case_id;
      rc = dk__erase_mark(t, e->h.case_id);
    }
    break;
  default:
    break;
  }
  if (*case_id == NULL || rc != 0)
    return rc;
  rc = dk__case_events_put(t, *case_id, e);
  if (rc != 0 || !n->unlocked)
    return rc;
  /* A grant to this node: keep the key. */
  if ((e->h.type == DK_ENTRY_CASE_OPEN || e->h.type == DK_ENTRY_KEY_GRANT) && body) {
    struct dk_grant g[DK_READERS_MAX];
    size_t gc = 0, used = 0;
    if (dk_grants_parse(body, body_len, g, &gc, &used) == 0) {
      rc = dk__grants_record(t, *case_id, g, gc);
      for (size_t j = 0; j < gc && rc == 0; j++) {
        if (memcmp(g[j].reader, n->pk, DK_PK_BYTES) != 0)
          continue;
        /* Wrapped by the entry's author for this node. */
        if (dk__shared_key(n, e->h.log, shared) == 0 &&
            dk_key_unwrap(shared, g[j].sealed, key) == 0)
          rc = dk__case_key_save(n, t, *case_id, key);
        break;
      }
    }
  }
  return rc;
}

int dk__index_txn(dk_node *n, struct dk_txn *t, uint64_t max, uint64_t *done) {
  uint64_t cur, end;
  *done = 0;
  int rc = dk__index_cursor(t, &cur);
  if (rc == 0)
    rc = dk_log_end(t, &end);
  if (rc != 0 || cur >= end)
    return rc;
  uint64_t todo = end - cur < max ? end - cur : max;
  uint8_t(*dirty)[DK_HASH_BYTES] = malloc(todo * DK_HASH_BYTES);
  uint8_t *key = sodium_malloc(DK_SYMKEY_BYTES);
  uint8_t *shared = sodium_malloc(DK_SYMKEY_BYTES);
  size_t ndirty = 0;
  if (!dirty || !key || !shared) {
    rc = DK_ENOMEM;
    goto out;
  }
  /* One cursor over entries and one over bodies, in position order. */
  struct dk_iter ei, bi;
  uint8_t from[8];
  dk_be64_put(from, cur);
  rc = dk_iter_open_at(t, DK_T_ENTRIES, from, sizeof(from), &ei);
  if (rc != 0)
    goto out;
  rc = dk_iter_open_at(t, DK_T_BODIES, from, sizeof(from), &bi);
  if (rc != 0) {
    dk_iter_close(&ei);
    goto out;
  }
  const uint8_t *bk = NULL, *bv = NULL;
  size_t bklen = 0, bvlen = 0;
  int bend = 0;
  uint64_t bpos = 0;
  uint64_t pos = cur, next = cur;
  for (uint64_t i = 0; i < todo && rc == 0; i++) {
    const uint8_t *k, *v;
    size_t klen, vlen;
    rc = dk_iter_next(&ei, &k, &klen, &v, &vlen);
    if (rc == DK_ENOTFOUND) {
      rc = 0;
      break;
    }
    if (rc != 0)
      break;
    if (klen != 8) {
      rc = DK_EFORMAT;
      break;
    }
    pos = dk_be64_get(k);
    next = pos + 1;
    struct dk_entry e;
    (*done)++;
    if (dk_log_decode_stored(v, vlen, &e) != 0) {
      /* Damaged on disk: the entry verified when it was stored, so this is
       * the store's damage, which `docket verify` reports; skip it here. */
      dk_node_logf(n, DK_LOG_WARN, "indexer: the entry at position %llu does not decode",
                   (unsigned long long)pos);
      continue;
    }
    while (!bend && (bk == NULL || bpos < pos)) {
      int brc = dk_iter_next(&bi, &bk, &bklen, &bv, &bvlen);
      if (brc == DK_ENOTFOUND) {
        bend = 1;
        break;
      }
      if (brc != 0) {
        rc = brc;
        break;
      }
      bpos = bklen == 8 ? dk_be64_get(bk) : 0;
    }
    if (rc != 0)
      break;
    const uint8_t *body = !bend && bk && bpos == pos ? bv : NULL;
    size_t blen = body ? bvlen : 0;
    if (body && dk_entry_check_body(&e, body, blen) != 0)
      body = NULL; /* altered on disk: index the entry, not the body */
    const uint8_t *case_id;
    rc = index_entry(n, t, pos, &e, body, blen, shared, key, &case_id);
    if (rc == 0 && case_id)
      memcpy(dirty[ndirty++], case_id, DK_HASH_BYTES);
  }
  dk_iter_close(&ei);
  dk_iter_close(&bi);
  if (rc != 0)
    goto out;
  /* Each case touched, folded once from what is now held. A case this node
   * cannot read is stored and relayed, never folded. */
  qsort(dirty, ndirty, DK_HASH_BYTES, id_cmp);
  size_t u = 0;
  for (size_t j = 0; j < ndirty; j++)
    if (u == 0 || memcmp(dirty[u - 1], dirty[j], DK_HASH_BYTES) != 0)
      memmove(dirty[u++], dirty[j], DK_HASH_BYTES);
  ndirty = u;
  for (size_t j = 0; j < ndirty && rc == 0 && n->unlocked; j++) {
    rc = dk__case_refold(n, t, dirty[j]);
    if (rc == DK_ENOKEY)
      rc = 0;
    if (rc == DK_EBADBODY || rc == DK_EFORMAT) {
      /* Signed by its author but unreadable: keep the entries (they verify),
       * leave the case as it was, and say so. */
      dk_node_logf(n, DK_LOG_WARN, "a case event could not be decrypted or decoded");
      rc = 0;
    } else if (rc == DK_EBADID || rc == DK_EBADLINK || rc == DK_ENOTFOUND || rc == DK_ELIMIT) {
      /* An entry of the case is damaged in the store (`docket verify` names
       * it): the case keeps its last state rather than stop every other. */
      dk_node_logf(n, DK_LOG_WARN, "a case could not be folded: %s", dk_strerror(rc));
      rc = 0;
    }
  }
  /* Erasure, after the fold so that a tombstone keeps the latest figures.
   * Locked nodes erase too. */
  for (size_t j = 0; j < ndirty && rc == 0; j++) {
    rc = dk__erase_marked(t, dirty[j]);
    if (rc == 1) {
      n->scrub_pending = 1; /* the freed pages are overwritten after the commit */
      rc = dk__case_erase_apply(n, t, dirty[j], NULL);
    }
    if (rc == DK_EBADID || rc == DK_EBADLINK || rc == DK_ENOTFOUND) {
      dk_node_logf(n, DK_LOG_WARN, "an erasure could not be applied: %s", dk_strerror(rc));
      rc = 0;
    }
  }
  if (rc == 0)
    rc = dk__index_cursor_set(t, next);
out:
  free(dirty);
  sodium_free(key);
  sodium_free(shared);
  return rc;
}

struct run_ctx {
  dk_node *n;
  uint64_t done;
};

static int run_fn(struct dk_txn *t, void *arg) {
  struct run_ctx *c = arg;
  return dk__index_txn(c->n, t, DK_INDEX_BATCH_ENTRIES, &c->done);
}

void dk_node_index_defer(dk_node *n, int on) { n->index_deferred = on; }

int dk_node_index_lag(dk_node *n, uint64_t *entries) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  uint64_t cur, end;
  rc = dk__index_cursor(&t, &cur);
  if (rc == 0)
    rc = dk_log_end(&t, &end);
  if (rc == 0)
    *entries = end > cur ? end - cur : 0;
  dk_store_read_end(&t);
  return rc;
}

int dk_node_index_step(dk_node *n, int *more) {
  uint64_t lag;
  *more = 0;
  int rc = dk_node_index_lag(n, &lag);
  if (rc != 0 || lag == 0)
    return rc;
  struct run_ctx c = {n, 0};
  rc = dk_store_write(n->store, run_fn, &c);
  if (rc == 0 && n->scrub_pending) {
    n->scrub_pending = 0;
    /* What the erasure freed is overwritten now (node/cases/erase.c). */
    int src = dk__store_scrub(n);
    if (src != 0)
      dk_node_logf(n, DK_LOG_WARN, "could not overwrite the pages an erasure freed: %s",
                   dk_strerror(src));
  }
  if (rc == 0 && c.done > 0)
    rc = dk_node_index_lag(n, &lag);
  if (rc == 0)
    *more = c.done > 0 && lag > 0;
  return rc;
}

int dk_node_index_run(dk_node *n) {
  int more = 1, rc = 0;
  while (rc == 0 && more)
    rc = dk_node_index_step(n, &more);
  return rc;
}

/* ---- rebuild and check ------------------------------------------------------ */

/* Tables the indexer owns and a rebuild empties. The case states are
 * emptied but for tombstones (an erased case's figures cannot be folded
 * again: its bodies are gone), and the grants and numbers but for those of
 * tombstoned cases, for the same reason. */
static const enum dk_table REBUILT[] = {DK_T_CASE_OPENS, DK_T_CASE_EVENTS};

/* The tombstones kept, sorted, so that their number and grant rows (which
 * the erased bodies can no longer give) are kept with them. */
struct kept {
  uint8_t (*ids)[DK_HASH_BYTES];
  size_t count, cap;
};

static int kept_add(struct kept *kp, const uint8_t *id) {
  if (kp->count == kp->cap) {
    size_t ncap = kp->cap ? kp->cap * 2 : 16;
    void *p = realloc(kp->ids, ncap * DK_HASH_BYTES);
    if (p == NULL)
      return DK_ENOMEM;
    kp->ids = p;
    kp->cap = ncap;
  }
  memcpy(kp->ids[kp->count++], id, DK_HASH_BYTES);
  return 0;
}

static int kept_has(const struct kept *k, const uint8_t *id) {
  return k->count && bsearch(id, k->ids, k->count, DK_HASH_BYTES, id_cmp) != NULL;
}

/* Deletes every row of tb but those of a kept case (case id: the key's
 * first bytes for grants, the value for numbers). */
static int clear_but_kept(struct dk_txn *t, enum dk_table tb, const struct kept *kp) {
  if (kp->count == 0)
    return dk_txn_clear(t, tb);
  struct dk_iter it;
  int rc = dk_iter_open(t, tb, NULL, 0, &it);
  if (rc != 0)
    return rc;
  uint8_t(*keys)[64] = NULL;
  size_t count = 0, cap = 0;
  const uint8_t *k, *v;
  size_t klen, vlen;
  while ((rc = dk_iter_next(&it, &k, &klen, &v, &vlen)) == 0) {
    const uint8_t *cid = tb == DK_T_NUMBERS ? (vlen == DK_HASH_BYTES ? v : NULL)
                                            : (klen >= DK_HASH_BYTES ? k : NULL);
    if ((cid && kept_has(kp, cid)) || klen > 64)
      continue;
    if (count == cap) {
      size_t ncap = cap ? cap * 2 : 256;
      void *p = realloc(keys, ncap * 64);
      if (p == NULL) {
        rc = DK_ENOMEM;
        break;
      }
      keys = p;
      cap = ncap;
    }
    memset(keys[count], 0, 64);
    memcpy(keys[count], k, klen);
    count++;
  }
  dk_iter_close(&it);
  if (rc == DK_ENOTFOUND)
    rc = 0;
  /* Keys of one table here have one length each: grants 64, numbers 32. */
  size_t klen_of = tb == DK_T_NUMBERS ? DK_HASH_BYTES : DK_HASH_BYTES + DK_PK_BYTES;
  for (size_t i = 0; i < count && rc == 0; i++)
    rc = dk_txn_del(t, tb, keys[i], klen_of);
  free(keys);
  return rc;
}

static int clear_states(dk_node *n, struct dk_txn *t, struct kept *kp) {
  if (!n->unlocked)
    return dk_txn_clear(t, DK_T_CASES);
  struct dk_iter it;
  int rc = dk_iter_open(t, DK_T_CASES, NULL, 0, &it);
  if (rc != 0)
    return rc;
  uint8_t(*ids)[DK_HASH_BYTES] = NULL;
  size_t count = 0, cap = 0;
  const uint8_t *k;
  size_t klen;
  struct dk_case_state s;
  while ((rc = dk_iter_next(&it, &k, &klen, NULL, NULL)) == 0) {
    if (klen != DK_HASH_BYTES)
      continue;
    dk_case_state_init(&s);
    int keep = dk__case_state_load(n, t, k, &s) == 0 && s.erased_at_ms != 0;
    dk_case_state_release(&s);
    if (keep) {
      rc = kept_add(kp, k);
      if (rc != 0)
        break;
      continue;
    }
    if (count == cap) {
      size_t ncap = cap ? cap * 2 : 256;
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
  for (size_t i = 0; i < count && rc == 0; i++)
    rc = dk_txn_del(t, DK_T_CASES, ids[i], DK_HASH_BYTES);
  free(ids);
  return rc;
}

static int reset_fn(struct dk_txn *t, void *arg) {
  dk_node *n = arg;
  int rc = 0;
  for (size_t i = 0; i < sizeof(REBUILT) / sizeof(REBUILT[0]) && rc == 0; i++)
    rc = dk_txn_clear(t, REBUILT[i]);
  struct kept kp = {NULL, 0, 0};
  if (rc == 0)
    rc = clear_states(n, t, &kp);
  if (rc == 0 && kp.count)
    qsort(kp.ids, kp.count, DK_HASH_BYTES, id_cmp); /* in key order already; cheap */
  if (rc == 0)
    rc = clear_but_kept(t, DK_T_GRANTS, &kp);
  if (rc == 0)
    rc = clear_but_kept(t, DK_T_NUMBERS, &kp);
  /* The report rows go with the states: those of the tombstones are
   * written again from them, the others by the refolds that follow. */
  if (rc == 0)
    rc = dk_txn_clear(t, DK_T_REPORT);
  for (size_t i = 0; i < kp.count && rc == 0; i++) {
    struct dk_case_state s;
    dk_case_state_init(&s);
    rc = dk__case_state_load(n, t, kp.ids[i], &s);
    if (rc == 0)
      rc = dk__case_state_save(n, t, &s);
    dk_case_state_release(&s);
  }
  free(kp.ids);
  /* The trust view, from the root statements in the district logs. */
  if (rc == 0)
    rc = dk_txn_clear(t, DK_T_TRUST);
  if (rc == 0)
    rc = dk__trust_reindex(n, t);
  if (rc == 0)
    rc = dk__index_cursor_set(t, 1);
  return rc;
}

/* The office counters, from the numbers of the cases held: for each year,
 * one past the highest number this office's code has given. Run after the
 * states are folded. A locked node cannot read the numbers and keeps its
 * counters. */
static int counters_rebuild(dk_node *n, struct dk_txn *t) {
  if (!n->unlocked)
    return 0;
  struct yc {
    int year;
    uint64_t next;
  } *years = NULL;
  size_t count = 0, cap = 0;
  struct dk_iter it;
  int rc = dk_iter_open(t, DK_T_CASES, NULL, 0, &it);
  if (rc != 0)
    return rc;
  const uint8_t *k;
  size_t klen;
  struct dk_case_state s;
  dk_case_state_init(&s);
  while ((rc = dk_iter_next(&it, &k, &klen, NULL, NULL)) == 0) {
    char code[32];
    int year;
    uint64_t c;
    if (klen != DK_HASH_BYTES || dk__case_state_load(n, t, k, &s) != 0 || s.number == NULL ||
        dk__number_parse(s.number, code, sizeof(code), &year, &c) != 0 ||
        strcmp(code, n->cfg.code) != 0 || c == UINT64_MAX)
      continue;
    size_t i = 0;
    while (i < count && years[i].year != year)
      i++;
    if (i == count) {
      if (count == cap) {
        size_t ncap = cap ? cap * 2 : 8;
        void *p = realloc(years, ncap * sizeof(*years));
        if (p == NULL) {
          rc = DK_ENOMEM;
          break;
        }
        years = p;
        cap = ncap;
      }
      years[count].year = year;
      years[count].next = 0;
      count++;
    }
    if (c + 1 > years[i].next)
      years[i].next = c + 1;
  }
  dk_case_state_release(&s);
  dk_iter_close(&it);
  if (rc == DK_ENOTFOUND)
    rc = 0;
  if (rc == 0)
    rc = dk_txn_clear(t, DK_T_COUNTERS);
  for (size_t i = 0; i < count && rc == 0; i++)
    rc = dk__counter_put(t, n->cfg.code, years[i].year, years[i].next);
  free(years);
  return rc;
}

static int counters_fn(struct dk_txn *t, void *arg) { return counters_rebuild(arg, t); }

int dk_node_index_rebuild(dk_node *n) {
  int rc = dk_store_write(n->store, reset_fn, n);
  if (rc == 0)
    rc = dk_node_index_run(n);
  if (rc == 0)
    rc = dk_store_write(n->store, counters_fn, n);
  return rc;
}

/* Compares table tb between the stored state (old) and the rebuild (new). */
struct check_ctx {
  dk_node *n;
  struct dk_txn *old;
  void (*cb)(void *ctx, const struct dk_index_diff *d);
  void *cbctx;
  uint64_t count;
  struct dk_buf a, b;
};

static void diff(struct check_ctx *c, const char *table, const uint8_t *key, size_t klen,
                 const uint8_t *case_id, const char *what) {
  c->count++;
  if (c->cb) {
    struct dk_index_diff d = {table, key, klen, case_id, what};
    c->cb(c->cbctx, &d);
  }
}

static const uint8_t *row_case(enum dk_table tb, const uint8_t *k, size_t klen,
                               const uint8_t *v, size_t vlen) {
  switch (tb) {
  case DK_T_CASES:
  case DK_T_CASE_KEYS:
  case DK_T_REPORT:
  case DK_T_CASE_OPENS:
  case DK_T_CASE_EVENTS:
  case DK_T_GRANTS:
    return klen >= DK_HASH_BYTES ? k : NULL;
  case DK_T_NUMBERS:
    return vlen == DK_HASH_BYTES ? v : NULL;
  default:
    return NULL;
  }
}

/* The value as compared: plaintext for what is sealed with a random nonce. */
static int plain(struct check_ctx *c, enum dk_table tb, const uint8_t *k, size_t klen,
                 const uint8_t *v, size_t vlen, struct dk_buf *out) {
  dk_buf_reset(out);
  if (tb == DK_T_CASES || tb == DK_T_CASE_KEYS || tb == DK_T_REPORT) {
    if (klen != DK_HASH_BYTES)
      return DK_EFORMAT;
    return dk__sealed_open(c->n, tb, k, v, vlen, out);
  }
  return dk_buf_append(out, v, vlen);
}

static int check_table(struct check_ctx *c, struct dk_txn *new_t, enum dk_table tb,
                       const char *name) {
  struct dk_iter oi, ni;
  int rc = dk_iter_open(c->old, tb, NULL, 0, &oi);
  if (rc != 0)
    return rc;
  rc = dk_iter_open(new_t, tb, NULL, 0, &ni);
  if (rc != 0) {
    dk_iter_close(&oi);
    return rc;
  }
  const uint8_t *ok = NULL, *ov = NULL, *nk = NULL, *nv = NULL;
  size_t okl = 0, ovl = 0, nkl = 0, nvl = 0;
  int orc = dk_iter_next(&oi, &ok, &okl, &ov, &ovl);
  int nrc = dk_iter_next(&ni, &nk, &nkl, &nv, &nvl);
  while (rc == 0 && (orc == 0 || nrc == 0)) {
    if ((orc != 0 && orc != DK_ENOTFOUND) || (nrc != 0 && nrc != DK_ENOTFOUND)) {
      rc = orc != 0 && orc != DK_ENOTFOUND ? orc : nrc;
      break;
    }
    int cmp;
    if (orc != 0)
      cmp = 1;
    else if (nrc != 0)
      cmp = -1;
    else {
      size_t m = okl < nkl ? okl : nkl;
      cmp = memcmp(ok, nk, m);
      if (cmp == 0)
        cmp = okl < nkl ? -1 : okl > nkl;
    }
    if (cmp < 0) {
      diff(c, name, ok, okl, row_case(tb, ok, okl, ov, ovl), "not derived from the log");
      orc = dk_iter_next(&oi, &ok, &okl, &ov, &ovl);
    } else if (cmp > 0) {
      diff(c, name, nk, nkl, row_case(tb, nk, nkl, nv, nvl), "missing");
      nrc = dk_iter_next(&ni, &nk, &nkl, &nv, &nvl);
    } else {
      int pa = plain(c, tb, ok, okl, ov, ovl, &c->a);
      int pb = plain(c, tb, nk, nkl, nv, nvl, &c->b);
      if (pa != 0 || pb != 0 || c->a.len != c->b.len ||
          (c->a.len && memcmp(c->a.data, c->b.data, c->a.len) != 0))
        diff(c, name, ok, okl, row_case(tb, ok, okl, ov, ovl),
             pa != 0 ? "unreadable" : "differs from the log");
      orc = dk_iter_next(&oi, &ok, &okl, &ov, &ovl);
      nrc = dk_iter_next(&ni, &nk, &nkl, &nv, &nvl);
    }
  }
  dk_iter_close(&oi);
  dk_iter_close(&ni);
  dk_buf_reset(&c->a);
  dk_buf_reset(&c->b);
  return rc;
}

/* ---- the check: a rebuild in the shadow tables ------------------------------
 *
 * The rebuild runs in the shadow tables (node/store/store.h), in
 * transactions of bounded size that commit, so that its memory does not
 * grow with the store and the map may grow between them; no read
 * transaction is open meanwhile. The shadows are then compared with the
 * stored tables in one read transaction, and emptied. The shadow view can
 * only read the log: the rebuild never changes what is stored. */

#define CHECK_COPY_ROWS 16384 /* rows a seeding transaction copies */
#define CHECK_ATTEMPTS 8      /* rebuilds tried while another process writes */

/* Seeding the shadows with what a rebuild keeps (reset_fn): the meta table
 * (configuration, erasure marks), every case key, the tombstones, and the
 * grants and numbers of tombstoned cases; CHECK_COPY_ROWS rows of the
 * stored table a transaction. */
struct seed_ctx {
  dk_node *n;
  enum dk_table tb;
  struct kept *kp;
  size_t kept_at_start;
  uint8_t from[128]; /* the first row still to copy (flen 0: the table's first) */
  size_t flen;
  uint8_t next[128]; /* set by a transaction: the first row it left */
  size_t nlen;
  int end;           /* set by a transaction: it reached the end of the table */
};

static int seed_row(struct seed_ctx *c, struct dk_txn *live, struct dk_txn *t, const uint8_t *k,
                    size_t klen, const uint8_t *v, size_t vlen) {
  switch (c->tb) {
  case DK_T_CASES: {
    if (klen != DK_HASH_BYTES)
      return 0;
    struct dk_case_state st;
    dk_case_state_init(&st);
    int rc = 0;
    if (dk__case_state_load(c->n, live, k, &st) == 0 && st.erased_at_ms != 0) {
      rc = dk__case_state_save(c->n, t, &st);
      if (rc == 0)
        rc = kept_add(c->kp, k);
    }
    dk_case_state_release(&st);
    return rc;
  }
  case DK_T_GRANTS:
    return klen >= DK_HASH_BYTES && kept_has(c->kp, k) ? dk_txn_put(t, c->tb, k, klen, v, vlen)
                                                       : 0;
  case DK_T_NUMBERS:
    return vlen == DK_HASH_BYTES && kept_has(c->kp, v) ? dk_txn_put(t, c->tb, k, klen, v, vlen)
                                                       : 0;
  default: /* meta, case keys: every row */
    return dk_txn_put(t, c->tb, k, klen, v, vlen);
  }
}

static int seed_fn(struct dk_txn *t, void *arg) {
  struct seed_ctx *c = arg;
  struct dk_txn live = *t; /* the same transaction, seen without the shadows */
  dk_txn_shadow(&live, 0);
  dk_txn_shadow(t, 1);
  c->kp->count = c->kept_at_start; /* a retried transaction starts again */
  c->end = 0;
  struct dk_iter it;
  int rc = c->flen ? dk_iter_open_at(&live, c->tb, c->from, c->flen, &it)
                   : dk_iter_open(&live, c->tb, NULL, 0, &it);
  if (rc != 0)
    return rc;
  const uint8_t *k, *v;
  size_t klen, vlen;
  for (size_t rows = 0; rc == 0; rows++) {
    rc = dk_iter_next(&it, &k, &klen, &v, &vlen);
    if (rc == DK_ENOTFOUND) {
      rc = 0;
      c->end = 1;
      break;
    }
    if (rc != 0)
      break;
    if (klen > sizeof(c->next) || klen == 0)
      continue; /* no derived table has such keys; the comparison names it */
    if (rows == CHECK_COPY_ROWS) {
      memcpy(c->next, k, klen);
      c->nlen = klen;
      break;
    }
    rc = seed_row(c, &live, t, k, klen, v, vlen);
  }
  dk_iter_close(&it);
  return rc != 0 ? rc : live.err; /* a read of the stored tables failed */
}

/* Copies table tb, filtered as seed_row() says, into its shadow. */
static int seed_table(dk_node *n, enum dk_table tb, struct kept *kp) {
  struct seed_ctx *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return DK_ENOMEM;
  c->n = n;
  c->tb = tb;
  c->kp = kp;
  int rc;
  for (;;) {
    c->kept_at_start = kp->count;
    rc = dk_store_write(n->store, seed_fn, c);
    if (rc != 0 || c->end)
      break;
    memcpy(c->from, c->next, c->nlen);
    c->flen = c->nlen;
  }
  free(c);
  return rc;
}

static int shadow_clear_fn(struct dk_txn *t, void *arg) {
  (void)arg;
  return dk_txn_shadow_clear(t);
}

static int shadow_trust_fn(struct dk_txn *t, void *arg) {
  dk_txn_shadow(t, 1);
  int rc = dk__trust_reindex(arg, t);
  if (rc == 0)
    rc = dk__index_cursor_set(t, 1);
  return rc;
}

static int shadow_index_fn(struct dk_txn *t, void *arg) {
  struct run_ctx *c = arg;
  dk_txn_shadow(t, 1);
  return dk__index_txn(c->n, t, DK_INDEX_BATCH_ENTRIES, &c->done);
}

static int shadow_counters_fn(struct dk_txn *t, void *arg) {
  dk_txn_shadow(t, 1);
  return counters_rebuild(arg, t);
}

/* The rebuild, from empty shadows to the end of the log. */
static int shadow_rebuild(dk_node *n) {
  int rc = dk_store_write(n->store, shadow_clear_fn, NULL);
  struct kept kp = {NULL, 0, 0};
  static const enum dk_table SEEDED[] = {DK_T_META, DK_T_CASE_KEYS, DK_T_CASES, DK_T_GRANTS,
                                         DK_T_NUMBERS};
  for (size_t i = 0; i < sizeof(SEEDED) / sizeof(SEEDED[0]) && rc == 0; i++) {
    rc = seed_table(n, SEEDED[i], &kp);
    if (rc == 0 && SEEDED[i] == DK_T_CASES && kp.count > 1)
      qsort(kp.ids, kp.count, DK_HASH_BYTES, id_cmp); /* in key order already; cheap */
  }
  free(kp.ids);
  if (rc == 0)
    rc = dk_store_write(n->store, shadow_trust_fn, n);
  return rc;
}

/* Where the shadow indexer is, and the end of the log. */
static int shadow_position(dk_node *n, uint64_t *pos, uint64_t *end) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  struct dk_txn sh = t;
  dk_txn_shadow(&sh, 1);
  rc = dk__index_cursor(&sh, pos);
  if (rc == 0)
    rc = dk_log_end(&t, end);
  dk_store_read_end(&t);
  return rc;
}

/* Indexes the shadows up to the end of the log, and their counters. */
static int shadow_follow(dk_node *n, void (*progress)(void *ctx, uint64_t done, uint64_t total),
                         void *ctx) {
  struct run_ctx c = {n, 1};
  int rc = 0;
  while (rc == 0 && c.done > 0) {
    rc = dk_store_write(n->store, shadow_index_fn, &c);
    uint64_t pos, end;
    if (rc == 0 && progress && shadow_position(n, &pos, &end) == 0 && pos > 0 && end > 0)
      progress(ctx, (pos > end ? end : pos) - 1, end - 1); /* positions start at 1 */
  }
  if (rc == 0)
    rc = dk_store_write(n->store, shadow_counters_fn, n);
  return rc;
}

static const struct {
  enum dk_table tb;
  const char *name;
} CHECKED[] = {{DK_T_CASES, "cases"},         {DK_T_CASE_EVENTS, "case_events"},
               {DK_T_CASE_OPENS, "case_opens"}, {DK_T_CASE_KEYS, "case_keys"},
               {DK_T_GRANTS, "grants"},       {DK_T_NUMBERS, "numbers"},
               {DK_T_REPORT, "report_rows"},  {DK_T_COUNTERS, "counters"},
               {DK_T_TRUST, "trust"}};

int dk_node_index_check(dk_node *n, void (*cb)(void *ctx, const struct dk_index_diff *d),
                        void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx,
                        uint64_t *count) {
  *count = 0;
  if (!n->unlocked)
    return DK_ENOKEY;
  /* Bring the indexer up to the log first, so that only real differences
   * remain. */
  int rc = dk_node_index_run(n);
  if (rc == 0)
    rc = dk_store_shadow_open(n->store);
  int scrub = n->scrub_pending;
  n->unerased_count = 0;
  if (rc == 0)
    rc = shadow_rebuild(n);
  struct check_ctx c;
  memset(&c, 0, sizeof(c));
  c.n = n;
  c.cb = cb;
  c.cbctx = ctx;
  dk_buf_init_secure(&c.a);
  dk_buf_init_secure(&c.b);
  /* Compare where both have indexed the same log: another process (a
   * running `docket serve`) may append and index meanwhile. */
  int compared = 0;
  for (int attempt = 0; attempt < CHECK_ATTEMPTS && rc == 0 && !compared; attempt++) {
    rc = dk_node_index_run(n);
    if (rc == 0)
      rc = shadow_follow(n, progress, ctx);
    struct dk_txn old, sh;
    if (rc == 0)
      rc = dk_store_read_begin(n->store, &old);
    if (rc != 0)
      break;
    sh = old;
    dk_txn_shadow(&sh, 1);
    /* Both have indexed every entry the log holds (their cursors may still
     * differ where the last entries are gone from a damaged store). */
    uint64_t lc, sc, last = 0;
    const uint8_t *lk;
    size_t lklen;
    rc = dk__index_cursor(&old, &lc);
    if (rc == 0)
      rc = dk__index_cursor(&sh, &sc);
    if (rc == 0) {
      rc = dk_txn_last(&old, DK_T_ENTRIES, &lk, &lklen, NULL, NULL);
      if (rc == 0 && lklen == 8)
        last = dk_be64_get(lk);
      if (rc == DK_ENOTFOUND)
        rc = 0;
    }
    if (rc == 0 && last < lc && last < sc) {
      c.old = &old;
      for (size_t i = 0; i < sizeof(CHECKED) / sizeof(CHECKED[0]) && rc == 0; i++)
        rc = check_table(&c, &sh, CHECKED[i].tb, CHECKED[i].name);
      compared = 1;
    }
    dk_store_read_end(&old);
  }
  if (rc == 0 && !compared)
    rc = DK_ELOCKED; /* the log kept growing under the check */
  if (rc == 0 && n->unerased_count) {
    /* Each case once, however many transactions of the rebuild touched it. */
    qsort(n->unerased, n->unerased_count, DK_HASH_BYTES, id_cmp);
    for (size_t i = 0; i < n->unerased_count; i++)
      if (i == 0 || memcmp(n->unerased[i - 1], n->unerased[i], DK_HASH_BYTES) != 0)
        diff(&c, "bodies", n->unerased[i], DK_HASH_BYTES, n->unerased[i],
             "bodies an erasure covers are still held");
  }
  free(n->unerased);
  n->unerased = NULL;
  n->unerased_count = n->unerased_cap = 0;
  /* What the rebuild put in the shadows goes, whatever happened. */
  int crc = n->store ? dk_store_write(n->store, shadow_clear_fn, NULL) : 0;
  if (rc == 0)
    rc = crc;
  n->scrub_pending = scrub; /* the rebuild freed nothing of the stored tables */
  dk_buf_release(&c.a);
  dk_buf_release(&c.b);
  *count = c.count;
  return rc;
}
