/*
 * Network keys: the key given at init, and rotations published by the
 * district (node/trust/netkey.h for the entry, docs/operations.md for the
 * procedure).
 *
 * Meta records (DK_T_META):
 *   network_key       the key given at init, or the key of the rotation
 *                     before the latest: AEAD under the storage key;
 *   network_key_next  the key of the latest rotation applied: AEAD under the
 *                     storage key;
 *   netkey_rotation   the latest rotation seen, public facts in the clear:
 *                     log (32) || seq (8) || ts_ms (8) || old_until_ms (8) ||
 *                     have_new_key (1), so that `status` can show the date
 *                     on a locked node.
 *
 * A rotation is applied when its entry is stored (by ingest, by import or
 * by the district's own append), in the same transaction, after the entry
 * passed every check of the log; and only when the entry's log key holds a
 * certificate from the configured root, in force at the entry's time, as
 * the district (a one-segment office in the role district). Anything else
 * is logged and left alone: the entry stays in its log (it is validly
 * signed), it just changes no key. A rotation older than the one held (an
 * earlier seq of the same log, or an earlier time) is ignored, so that
 * replaying an old rotation cannot bring back a key that was retired.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/mp.h"
#include "node/trust/netkey.h"
#include "node/log/log.h"
#include "node/log/log_int.h"
#include "node/node_int.h"
#include "node/trust/trust.h"
#include "node/trust/trust_int.h"

#define META_NETKEY "network_key"
#define META_NETKEY_NEXT "network_key_next"
#define META_ROTATION "netkey_rotation"
#define DK_DOMAIN_NETKEY_AD "docket/netkey/v1"
#define DK_DOMAIN_NETKEY_NEXT_AD "docket/netkey-next/v1"
#define ROTATION_RECORD_BYTES (DK_PK_BYTES + 8 + 8 + 8 + 1)

/* "2026-12-31 09:00 UTC", for the log. */
static void date_text(uint64_t ms, char *out, size_t cap) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, cap, "%Y-%m-%d %H:%M UTC", &tm);
}

/* ---- the body (pure) ---------------------------------------------------------- */

size_t dk_netkeys_usable(const struct dk_netkeys *k, uint64_t now_ms, const uint8_t *out[2]) {
  size_t n = 0;
  if (k->has_new)
    out[n++] = k->new_key;
  /* In force up to and including old_until_ms. */
  if (!k->has_new || now_ms <= k->old_until_ms)
    out[n++] = k->old_key;
  return n;
}

static int grant_cmp(const void *a, const void *b) {
  return memcmp(((const struct dk_grant *)a)->reader, ((const struct dk_grant *)b)->reader,
                DK_PK_BYTES);
}

int dk_netkey_body_encode(uint64_t old_until_ms, struct dk_grant *grants, size_t count,
                          struct dk_buf *out) {
  if (count == 0)
    return DK_EINVAL;
  if (count > DK_NETKEY_RECIPIENTS_MAX)
    return DK_ELIMIT;
  qsort(grants, count, sizeof(*grants), grant_cmp);
  for (size_t i = 1; i < count; i++)
    if (grant_cmp(&grants[i - 1], &grants[i]) == 0)
      return DK_EINVAL;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, dk_buf_msgpack_write);
  int bad = msgpack_pack_array(&pk, 4) != 0 || dk_mp_pack_str(&pk, "netkey") != 0 ||
            msgpack_pack_uint64(&pk, DK_NETKEY_VERSION) != 0 ||
            msgpack_pack_uint64(&pk, old_until_ms) != 0 ||
            msgpack_pack_array(&pk, (uint32_t)count) != 0;
  for (size_t i = 0; i < count && !bad; i++)
    bad = msgpack_pack_array(&pk, 2) != 0 ||
          dk_mp_pack_bin(&pk, grants[i].reader, DK_PK_BYTES) != 0 ||
          dk_mp_pack_bin(&pk, grants[i].sealed, DK_SEALED_KEY_BYTES) != 0;
  return bad ? DK_ENOMEM : 0;
}

int dk_netkey_body_decode(const uint8_t *body, size_t len, const uint8_t *reader,
                          uint64_t *old_until_ms, size_t *count,
                          uint8_t sealed[DK_SEALED_KEY_BYTES], int *found) {
  if (found)
    *found = 0;
  if (body == NULL)
    return DK_EFORMAT;
  msgpack_unpacked u;
  int rc = dk_mp_parse(body, len, &u);
  if (rc != 0)
    return rc;
  rc = DK_EFORMAT;
  const msgpack_object *a = &u.data;
  char tag[8];
  uint64_t version, until;
  if (a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size != 4 ||
      dk_mp_get_str(&a->via.array.ptr[0], tag, sizeof(tag)) != 0 || strcmp(tag, "netkey") != 0 ||
      dk_mp_get_u64(&a->via.array.ptr[1], &version) != 0)
    goto out;
  if (version != DK_NETKEY_VERSION) {
    rc = DK_EVERSION;
    goto out;
  }
  const msgpack_object *list = &a->via.array.ptr[3];
  if (dk_mp_get_u64(&a->via.array.ptr[2], &until) != 0 || list->type != MSGPACK_OBJECT_ARRAY ||
      list->via.array.size == 0 || list->via.array.size > DK_NETKEY_RECIPIENTS_MAX)
    goto out;
  uint8_t prev[DK_PK_BYTES], pk[DK_PK_BYTES], s[DK_SEALED_KEY_BYTES];
  for (uint32_t i = 0; i < list->via.array.size; i++) {
    const msgpack_object *g = &list->via.array.ptr[i];
    if (g->type != MSGPACK_OBJECT_ARRAY || g->via.array.size != 2 ||
        dk_mp_get_bin_fixed(&g->via.array.ptr[0], pk, DK_PK_BYTES) != 0 ||
        dk_mp_get_bin_fixed(&g->via.array.ptr[1], s, DK_SEALED_KEY_BYTES) != 0)
      goto out;
    if (i > 0 && memcmp(prev, pk, DK_PK_BYTES) >= 0)
      goto out; /* strictly ascending: one encoding, no reader twice */
    memcpy(prev, pk, DK_PK_BYTES);
    if (reader && memcmp(pk, reader, DK_PK_BYTES) == 0) {
      if (sealed)
        memcpy(sealed, s, DK_SEALED_KEY_BYTES);
      if (found)
        *found = 1;
    }
  }
  if (old_until_ms)
    *old_until_ms = until;
  if (count)
    *count = list->via.array.size;
  rc = 0;
out:
  msgpack_unpacked_destroy(&u);
  return rc;
}

/* ---- sealed records ---------------------------------------------------------- */

static int key_put(dk_node *n, struct dk_txn *t, const char *meta, const char *ad,
                   const uint8_t key[DK_NETKEY_BYTES]) {
  struct dk_buf ct;
  dk_buf_init(&ct);
  int rc = dk_aead_seal(n->storage_key, (const uint8_t *)ad, strlen(ad) + 1, key,
                        DK_NETKEY_BYTES, &ct);
  if (rc == 0)
    rc = dk_txn_put(t, DK_T_META, meta, strlen(meta), ct.data, ct.len);
  dk_buf_release(&ct);
  return rc;
}

/* DK_ENOTFOUND when absent. */
static int key_get(dk_node *n, struct dk_txn *t, const char *meta, const char *ad,
                   uint8_t key[DK_NETKEY_BYTES]) {
  const uint8_t *v;
  size_t vlen;
  int rc = dk_txn_get(t, DK_T_META, meta, strlen(meta), &v, &vlen);
  if (rc != 0)
    return rc;
  if (vlen != DK_NETKEY_BYTES + DK_AEAD_OVERHEAD)
    return DK_EFORMAT;
  uint8_t tmp[DK_NETKEY_BYTES];
  struct dk_buf b = {tmp, 0, sizeof(tmp), 0};
  rc = dk_aead_open(n->storage_key, (const uint8_t *)ad, strlen(ad) + 1, v, vlen, &b);
  if (rc == 0)
    memcpy(key, tmp, DK_NETKEY_BYTES);
  sodium_memzero(tmp, sizeof(tmp));
  return rc;
}

static int rotation_get(struct dk_txn *t, struct dk_netkey_rotation_info *out) {
  const uint8_t *v;
  size_t vlen;
  int rc = dk_txn_get(t, DK_T_META, META_ROTATION, strlen(META_ROTATION), &v, &vlen);
  if (rc != 0)
    return rc;
  if (vlen != ROTATION_RECORD_BYTES)
    return DK_EFORMAT;
  memcpy(out->log, v, DK_PK_BYTES);
  out->seq = dk_be64_get(v + DK_PK_BYTES);
  out->ts_ms = dk_be64_get(v + DK_PK_BYTES + 8);
  out->old_until_ms = dk_be64_get(v + DK_PK_BYTES + 16);
  out->have_new_key = v[DK_PK_BYTES + 24] != 0;
  return 0;
}

static int rotation_put(struct dk_txn *t, const struct dk_netkey_rotation_info *r) {
  uint8_t v[ROTATION_RECORD_BYTES];
  memcpy(v, r->log, DK_PK_BYTES);
  dk_be64_put(v + DK_PK_BYTES, r->seq);
  dk_be64_put(v + DK_PK_BYTES + 8, r->ts_ms);
  dk_be64_put(v + DK_PK_BYTES + 16, r->old_until_ms);
  v[DK_PK_BYTES + 24] = r->have_new_key ? 1 : 0;
  return dk_txn_put(t, DK_T_META, META_ROTATION, strlen(META_ROTATION), v, sizeof(v));
}

/* ---- applying a rotation -------------------------------------------------------- */

/* Is the grace period a district could have chosen? Checked on receipt as
 * on publication, so that a rotation cannot cut the old key off at once
 * (every offline office with it) or keep it alive for years. */
static int grace_ok(uint64_t ts_ms, uint64_t until_ms) {
  return until_ms >= ts_ms + DK_NETKEY_GRACE_DAYS_MIN * DK_DAY_MS &&
         until_ms <= ts_ms + DK_NETKEY_GRACE_DAYS_MAX * DK_DAY_MS;
}

int dk__netkey_index(dk_node *n, struct dk_txn *t, const struct dk_entry *e, const uint8_t *body,
                     size_t body_len) {
  if (e->h.type != DK_ENTRY_NETKEY)
    return 0;
  char hex[17];
  dk_hex(e->h.log, 8, hex);
  if (body == NULL)
    return 0; /* an erased body changes nothing */
  /* Only the district, as the root certified it at the entry's time. */
  char office[DK_NAME_BYTES_MAX];
  enum dk_office_role role;
  int rc = dk__trust_cert_valid(t, e->h.log, e->h.ts_ms, office, &role);
  if (rc == DK_ENOTFOUND) {
    dk_node_logf(n, DK_LOG_WARN, "a network key rotation (log %s..., seq %llu) was ignored: "
                 "this node has no root key to check who published it", hex,
                 (unsigned long long)e->h.seq);
    return 0;
  }
  if (rc != 0 && rc != DK_ECERT)
    return rc;
  if (rc == DK_ECERT || role != DK_OFFICE_DISTRICT || strchr(office, '/') != NULL) {
    dk_node_logf(n, DK_LOG_WARN, "a network key rotation (log %s..., seq %llu) was refused: "
                 "only the district may rotate the network key", hex,
                 (unsigned long long)e->h.seq);
    return 0;
  }
  uint64_t until;
  size_t count;
  int found = 0;
  uint8_t sealed[DK_SEALED_KEY_BYTES];
  rc = dk_netkey_body_decode(body, body_len, n->pk, &until, &count, sealed, &found);
  if (rc == 0 && !grace_ok(e->h.ts_ms, until))
    rc = DK_EFORMAT;
  if (rc != 0) {
    dk_node_logf(n, DK_LOG_WARN, "a network key rotation (log %s..., seq %llu) was ignored: %s",
                 hex, (unsigned long long)e->h.seq, dk_strerror(rc));
    return rc == DK_ENOMEM ? rc : 0;
  }
  /* Never go back: a rotation at or before the one held changes nothing. */
  struct dk_netkey_rotation_info held;
  rc = rotation_get(t, &held);
  if (rc == 0) {
    int same_log = memcmp(held.log, e->h.log, DK_PK_BYTES) == 0;
    if ((same_log && e->h.seq <= held.seq) || (!same_log && e->h.ts_ms <= held.ts_ms))
      return 0;
  } else if (rc != DK_ENOTFOUND) {
    return rc;
  }
  struct dk_netkey_rotation_info r;
  memset(&r, 0, sizeof(r));
  memcpy(r.log, e->h.log, DK_PK_BYTES);
  r.seq = e->h.seq;
  r.ts_ms = e->h.ts_ms;
  r.old_until_ms = until;
  char date[40];
  date_text(until, date, sizeof(date));
  if (!found) {
    dk_node_logf(n, DK_LOG_WARN, "the district rotated the network key (the old key stops "
                 "working after %s), but this node is not among the offices it was sealed "
                 "to: it needs a certificate, then a new rotation", date);
    return rotation_put(t, &r);
  }
  if (!n->unlocked) {
    /* Every path that stores entries from elsewhere runs unlocked (sync,
     * import); a locked one would leave the rotation unapplied, so say so. */
    dk_node_logf(n, DK_LOG_WARN, "a network key rotation arrived while the node was locked; "
                 "it is not applied");
    return 0;
  }
  uint8_t *keys = sodium_malloc(3 * DK_NETKEY_BYTES);
  if (keys == NULL)
    return DK_ENOMEM;
  uint8_t *shared = keys, *fresh = keys + DK_NETKEY_BYTES, *prev = keys + 2 * DK_NETKEY_BYTES;
  rc = dk_key_shared(&n->id, e->h.log, shared);
  if (rc == 0)
    rc = dk_key_unwrap(shared, sealed, fresh);
  if (rc != 0) {
    dk_node_logf(n, DK_LOG_WARN, "a network key rotation sealed to this node does not open: "
                 "%s; it is not applied", dk_strerror(rc));
    sodium_free(keys);
    return rc == DK_ENOMEM ? rc : 0;
  }
  /* The key of the rotation held so far becomes the old key. */
  rc = key_get(n, t, META_NETKEY_NEXT, DK_DOMAIN_NETKEY_NEXT_AD, prev);
  if (rc == 0)
    rc = key_put(n, t, META_NETKEY, DK_DOMAIN_NETKEY_AD, prev);
  else if (rc == DK_ENOTFOUND)
    rc = 0;
  if (rc == 0)
    rc = key_put(n, t, META_NETKEY_NEXT, DK_DOMAIN_NETKEY_NEXT_AD, fresh);
  r.have_new_key = 1;
  if (rc == 0)
    rc = rotation_put(t, &r);
  sodium_free(keys);
  if (rc == 0)
    dk_node_logf(n, DK_LOG_INFO, "received the district's new network key (seq %llu); the old "
                 "one stops working after %s", (unsigned long long)e->h.seq, date);
  return rc;
}

/* ---- the node API ---------------------------------------------------------------- */

struct set_ctx {
  dk_node *n;
  const uint8_t *key;
};

/* The key given by hand (init, or 'network-key set' for an office that
 * missed a rotation) becomes the only key: a rotated key held before is
 * dropped with the record of its rotation, so the two cannot disagree. */
static int set_fn(struct dk_txn *t, void *arg) {
  struct set_ctx *c = arg;
  int rc = key_put(c->n, t, META_NETKEY, DK_DOMAIN_NETKEY_AD, c->key);
  if (rc == 0)
    rc = dk_txn_del(t, DK_T_META, META_NETKEY_NEXT, strlen(META_NETKEY_NEXT));
  if (rc == DK_ENOTFOUND)
    rc = 0;
  if (rc == 0)
    rc = dk_txn_del(t, DK_T_META, META_ROTATION, strlen(META_ROTATION));
  return rc == DK_ENOTFOUND ? 0 : rc;
}

int dk_node_set_network_key(dk_node *n, const uint8_t key[32]) {
  if (!n->unlocked)
    return DK_ENOKEY;
  struct set_ctx c = {n, key};
  return dk_store_write(n->store, set_fn, &c);
}

int dk_node_network_keys(dk_node *n, struct dk_netkeys *out) {
  if (!n->unlocked)
    return DK_ENOKEY;
  memset(out, 0, sizeof(*out));
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  rc = key_get(n, &t, META_NETKEY, DK_DOMAIN_NETKEY_AD, out->old_key);
  if (rc == 0) {
    int nrc = key_get(n, &t, META_NETKEY_NEXT, DK_DOMAIN_NETKEY_NEXT_AD, out->new_key);
    struct dk_netkey_rotation_info r;
    if (nrc == 0 && (nrc = rotation_get(&t, &r)) == 0) {
      if (r.have_new_key) {
        out->has_new = 1;
        out->old_until_ms = r.old_until_ms;
      } else {
        /* A later rotation left this node out: the key of the one it did
         * receive is the best it has, until the deployment moves on. */
        memcpy(out->old_key, out->new_key, DK_NETKEY_BYTES);
        sodium_memzero(out->new_key, DK_NETKEY_BYTES);
      }
    } else if (nrc != DK_ENOTFOUND) {
      rc = nrc;
    }
  }
  dk_store_read_end(&t);
  if (rc != 0)
    sodium_memzero(out, sizeof(*out));
  return rc;
}

int dk_node_network_key(dk_node *n, uint8_t key[32]) {
  struct dk_netkeys *k = sodium_malloc(sizeof(*k));
  if (k == NULL)
    return DK_ENOMEM;
  int rc = dk_node_network_keys(n, k);
  if (rc == 0)
    memcpy(key, k->has_new ? k->new_key : k->old_key, 32);
  sodium_free(k);
  return rc;
}

int dk_node_netkey_rotation(dk_node *n, struct dk_netkey_rotation_info *out) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  rc = rotation_get(&t, out);
  dk_store_read_end(&t);
  return rc;
}

struct rotate_ctx {
  dk_node *n;
  uint64_t grace_days;
  struct dk_grant *grants;
  size_t count;
  int over;
  struct dk_netkey_rotate_result *out;
};

static int collect_cb(void *ctx, const struct dk_statement *s) {
  struct rotate_ctx *c = ctx;
  for (size_t i = 0; i < c->count; i++)
    if (memcmp(c->grants[i].reader, s->key, DK_PK_BYTES) == 0)
      return 0; /* one key, several certificates */
  if (c->count == DK_NETKEY_RECIPIENTS_MAX) {
    c->over = 1;
    return 0;
  }
  memcpy(c->grants[c->count++].reader, s->key, DK_PK_BYTES);
  return 0;
}

static int rotate_fn(struct dk_txn *t, void *arg) {
  struct rotate_ctx *c = arg;
  dk_node *n = c->n;
  uint64_t now = dk_node_now(n);
  char office[DK_NAME_BYTES_MAX];
  enum dk_office_role role;
  int rc = dk__trust_cert_valid(t, n->pk, now, office, &role);
  if (rc != 0)
    return rc;
  if (role != DK_OFFICE_DISTRICT || strchr(office, '/') != NULL)
    return DK_ECERT;
  rc = dk__own_log_writable(t);
  if (rc != 0)
    return rc;
  /* A second rotation within the first's grace would retire the key
   * before the first at once: every office that has not synced since the
   * first would be cut off without warning. */
  struct dk_netkey_rotation_info held;
  rc = rotation_get(t, &held);
  if (rc == 0 && now <= held.old_until_ms) {
    c->out->old_until_ms = held.old_until_ms;
    return DK_EEXIST;
  }
  if (rc != 0 && rc != DK_ENOTFOUND)
    return rc;
  c->count = 0;
  c->over = 0;
  rc = dk__trust_certs(t, now, collect_cb, c);
  if (rc != 0)
    return rc;
  if (c->over)
    return DK_ELIMIT;
  uint8_t *keys = sodium_malloc(2 * DK_NETKEY_BYTES);
  if (keys == NULL)
    return DK_ENOMEM;
  uint8_t *fresh = keys, *shared = keys + DK_NETKEY_BYTES;
  randombytes_buf(fresh, DK_NETKEY_BYTES);
  for (size_t i = 0; i < c->count && rc == 0; i++) {
    rc = dk_key_shared(&n->id, c->grants[i].reader, shared);
    if (rc == 0)
      rc = dk_key_wrap(shared, fresh, c->grants[i].sealed);
  }
  sodium_free(keys); /* the district opens its own copy like everyone else */
  uint64_t until = now + c->grace_days * DK_DAY_MS;
  struct dk_buf body;
  dk_buf_init(&body);
  struct dk_entry e;
  if (rc == 0)
    rc = dk_netkey_body_encode(until, c->grants, c->count, &body);
  if (rc == 0)
    rc = dk_log_append(t, &n->id, DK_ENTRY_NETKEY, NULL, body.data, body.len, now, &e);
  /* The entry's time may be later than now (the log's head): the grace
   * counts from the entry, as receivers check. */
  if (rc == 0 && !grace_ok(e.h.ts_ms, until))
    rc = DK_ETIME;
  if (rc == 0)
    rc = dk__netkey_index(n, t, &e, body.data, body.len);
  struct dk_netkey_rotation_info r;
  if (rc == 0 && (rc = rotation_get(t, &r)) == 0 && (r.seq != e.h.seq || !r.have_new_key))
    rc = DK_ECRYPTO; /* our own rotation must apply here */
  if (rc == 0) {
    c->out->seq = e.h.seq;
    c->out->old_until_ms = until;
    c->out->recipients = c->count;
  }
  dk_buf_release(&body);
  return rc;
}

int dk_node_netkey_rotate(dk_node *n, uint64_t grace_days, struct dk_netkey_rotate_result *out) {
  if (!n->unlocked)
    return DK_ENOKEY;
  if (grace_days < DK_NETKEY_GRACE_DAYS_MIN || grace_days > DK_NETKEY_GRACE_DAYS_MAX)
    return DK_EINVAL;
  if (n->cfg.role != DK_OFFICE_DISTRICT || strchr(n->cfg.office, '/') != NULL)
    return DK_ESCOPE;
  memset(out, 0, sizeof(*out));
  struct rotate_ctx c = {n, grace_days, NULL, 0, 0, out};
  c.grants = calloc(DK_NETKEY_RECIPIENTS_MAX, sizeof(*c.grants));
  if (c.grants == NULL)
    return DK_ENOMEM;
  int rc = dk_store_write(n->store, rotate_fn, &c);
  free(c.grants);
  return rc;
}
