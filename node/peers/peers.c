/*
 * Pinned peers, the cursors kept for each, and witnessing a child's head:
 * the tables replication reads and writes about the other nodes. Calls only
 * the log and the store.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/fault.h"
#include "common/mp.h"
#include "common/utf8.h"
#include "node/log/log.h"
#include "node/log/log_int.h"
#include "node/node_int.h"
#include "node/peers/peers_int.h"

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
      /* Its texts are shown and used as given (an address to dial): text
       * that was never accepted at entry is the store's damage. */
      if (dk_text_check(p->name, DK_TEXT_LINE) != 0 || dk_text_check(p->addr, DK_TEXT_LINE) != 0 ||
          dk_text_check(p->office, DK_TEXT_LINE) != 0 ||
          dk_text_check(p->last_error, DK_TEXT_LINE) != 0 || p->name[0] == '\0')
        rc = DK_EFORMAT;
    }
  }
  msgpack_unpacked_destroy(&u);
  return rc;
}

/* A row of the peers table: the record, filed under its own name. */
static int peer_row(const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen,
                    struct dk_peer *p) {
  int rc = dk__peer_decode(v, vlen, p);
  if (rc == 0 && (klen != strlen(p->name) || memcmp(k, p->name, klen) != 0))
    rc = DK_EFORMAT;
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
      rc = peer_row(k, klen, v, vlen, &p);
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
    rc = peer_row((const uint8_t *)name, strlen(name), v, vlen, out);
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

static int peer_by_key_walk(struct dk_txn *t, const uint8_t key[DK_PK_BYTES],
                            struct dk_peer *out) {
  struct by_key b = {key, out};
  int rc = dk__peers_iterate(t, match_key, &b);
  return rc == 1 ? 0 : rc == 0 ? DK_ENOTFOUND : rc;
}

struct dk__peer_key {
  uint8_t key[DK_PK_BYTES];
  size_t order; /* in the table's (name) order: the first of equal keys wins, as in the walk */
  char name[sizeof(((struct dk_peer *)0)->name)];
};

static int peer_key_cmp(const void *a, const void *b) {
  const struct dk__peer_key *x = a, *y = b;
  int c = memcmp(x->key, y->key, DK_PK_BYTES);
  return c != 0 ? c : x->order < y->order ? -1 : x->order > y->order;
}

struct keys_build {
  struct dk__peer_key *k;
  size_t count, cap;
};

static int keys_build_cb(void *ctx, const struct dk_peer *p) {
  struct keys_build *b = ctx;
  if (b->count == b->cap) {
    size_t ncap = b->cap ? b->cap * 2 : 16;
    void *q = realloc(b->k, ncap * sizeof(*b->k));
    if (q == NULL)
      return DK_ENOMEM;
    b->k = q;
    b->cap = ncap;
  }
  struct dk__peer_key *e = &b->k[b->count];
  memcpy(e->key, p->key, DK_PK_BYTES);
  e->order = b->count++;
  memcpy(e->name, p->name, sizeof(e->name));
  e->name[sizeof(e->name) - 1] = 0;
  return 0;
}

int dk__peer_by_key(dk_node *n, struct dk_txn *t, const uint8_t key[DK_PK_BYTES],
                    struct dk_peer *out) {
  uint64_t snap = dk_txn_snapshot_id(t);
  if (snap == 0)
    return peer_by_key_walk(t, key, out);
  if (n->peer_keys_snapshot != snap) {
    /* Every row is read and checked as the walk would (a damaged row is
     * the same error here as there). */
    struct keys_build b = {0};
    int rc = dk__peers_iterate(t, keys_build_cb, &b);
    if (rc != 0) {
      free(b.k);
      return rc;
    }
    if (b.count > 1)
      qsort(b.k, b.count, sizeof(*b.k), peer_key_cmp);
    free(n->peer_keys);
    n->peer_keys = b.k;
    n->peer_keys_count = b.count;
    n->peer_keys_snapshot = snap;
  }
  size_t lo = 0, hi = n->peer_keys_count;
  while (lo < hi) { /* the first entry with a key >= key */
    size_t mid = lo + (hi - lo) / 2;
    if (memcmp(n->peer_keys[mid].key, key, DK_PK_BYTES) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == n->peer_keys_count || memcmp(n->peer_keys[lo].key, key, DK_PK_BYTES) != 0)
    return DK_ENOTFOUND;
  const char *name = n->peer_keys[lo].name;
  const uint8_t *v;
  size_t vlen;
  int rc = dk_txn_get(t, DK_T_PEERS, name, strlen(name), &v, &vlen);
  if (rc == 0)
    rc = peer_row((const uint8_t *)name, strlen(name), v, vlen, out);
  return rc;
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
