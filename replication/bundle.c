#include "replication/bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/mp.h"
#include "replication/sync_store.h"

#define BATCH_ENTRIES 512
#define BATCH_BYTES (512 * 1024)
#define LOGS_MAX DK_BUNDLE_LOGS_MAX /* logs named in one bundle header */

_Static_assert(BATCH_ENTRIES <= DK_BUNDLE_BATCH_ENTRIES_MAX, "a written batch can be read back");

_Static_assert(BATCH_BYTES + DK_HEADER_BYTES_MAX + DK_BODY_BYTES_MAX + 1024 <= DK_FRAME_BYTES_MAX,
               "a bundle batch (one entry past the soft limit) fits in a frame");

/* ---- writing ------------------------------------------------------------------ */

struct writer {
  FILE *f;
  crypto_generichash_state mac;
  int err;
  uint64_t bytes;
};

static void w_bytes(struct writer *w, const void *p, size_t n) {
  if (w->err)
    return;
  if (fwrite(p, 1, n, w->f) != n)
    w->err = errno == ENOSPC ? DK_ENOSPC : DK_EIO;
  crypto_generichash_update(&w->mac, p, n);
  w->bytes += n;
}

static void w_chunk(struct writer *w, const struct dk_buf *b) {
  uint8_t len[4];
  dk_be32_put(len, (uint32_t)b->len);
  w_bytes(w, len, 4);
  w_bytes(w, b->data, b->len);
}

struct log_plan {
  uint8_t log[DK_PK_BYTES];
  uint64_t base, head;
};

struct plan_ctx {
  dk_node *n;
  const struct dk_peer *peer;
  struct log_plan *logs;
  size_t count, cap;
  int err;
};

static int plan_log(void *ctx, const uint8_t log[DK_PK_BYTES], uint64_t seq,
                    const uint8_t id[DK_HASH_BYTES], const char *office) {
  struct plan_ctx *p = ctx;
  if (p->peer && !dk_scope_sends_log(dk_node_config(p->n)->office, dk_node_pk(p->n),
                                     p->peer->office, p->peer->key, log, office))
    return 0;
  uint64_t base = 0;
  if (p->peer) {
    int rc = dk_node_peer_cursor(p->n, p->peer->key, log, &base);
    if (rc != 0)
      return rc;
    if (base > seq)
      base = 0; /* the cursor is ahead of what we hold: send it all */
  }
  if (base >= seq)
    return 0; /* nothing new */
  if (p->count == p->cap) {
    if (p->count == LOGS_MAX)
      return DK_ELIMIT;
    size_t ncap = p->cap ? p->cap * 2 : 16;
    void *np = realloc(p->logs, ncap * sizeof(*p->logs));
    if (np == NULL)
      return DK_ENOMEM;
    p->logs = np;
    p->cap = ncap;
  }
  struct log_plan *l = &p->logs[p->count++];
  memcpy(l->log, log, DK_PK_BYTES);
  l->base = base;
  l->head = seq;
  (void)id;
  return 0;
}

struct batch_ctx {
  struct writer *w;
  struct dk_buf buf;
  msgpack_packer pk;
  size_t entries;   /* in the current batch */
  struct dk_buf items; /* packed entries of the current batch */
  struct dk_bundle_stats *st;
  uint64_t last_seq;
};

static void flush_batch(struct batch_ctx *b) {
  if (b->entries == 0)
    return;
  dk_buf_reset(&b->buf);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &b->buf, dk_buf_msgpack_write);
  msgpack_pack_array(&pk, (uint32_t)b->entries);
  dk_buf_append(&b->buf, b->items.data, b->items.len);
  w_chunk(b->w, &b->buf);
  b->st->batches++;
  b->entries = 0;
  dk_buf_reset(&b->items);
}

static int add_entry(void *ctx, const struct dk_raw_entry *e) {
  struct batch_ctx *b = ctx;
  msgpack_packer pk;
  msgpack_packer_init(&pk, &b->items, dk_buf_msgpack_write);
  int bad = msgpack_pack_array(&pk, 3);
  bad |= dk_mp_pack_bin(&pk, e->header, e->header_len);
  bad |= dk_mp_pack_bin(&pk, e->sig, DK_SIG_BYTES);
  bad |= e->body ? dk_mp_pack_bin(&pk, e->body, e->body_len) : msgpack_pack_nil(&pk);
  if (bad)
    return DK_ENOMEM;
  b->entries++;
  b->st->entries++;
  b->last_seq++;
  if (b->entries >= BATCH_ENTRIES || b->items.len >= BATCH_BYTES)
    flush_batch(b);
  return b->w->err;
}

static int bundle_key(dk_node *n, uint8_t *key);

int dk_bundle_export(dk_node *n, const struct dk_peer *peer, const char *path,
                     struct dk_bundle_stats *st) {
  memset(st, 0, sizeof(*st));
  char tmp[4200];
  if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
    return DK_EINVAL;
  uint8_t *netkey = sodium_malloc(32);
  struct plan_ctx plan = {n, peer, NULL, 0, 0, 0};
  struct writer w = {0};
  struct batch_ctx b;
  memset(&b, 0, sizeof(b));
  dk_buf_init(&b.buf);
  dk_buf_init(&b.items);
  struct dk_buf head;
  dk_buf_init(&head);
  int rc = netkey ? bundle_key(n, netkey) : DK_ENOMEM;
  if (rc == 0)
    rc = dk_node_log_heads(n, plan_log, &plan);
  if (rc != 0)
    goto out;
  w.f = fopen(tmp, "wb");
  if (w.f == NULL) {
    rc = DK_EIO;
    goto out;
  }
  crypto_generichash_init(&w.mac, netkey, 32, DK_HASH_BYTES);
  crypto_generichash_update(&w.mac, (const uint8_t *)DK_DOMAIN_BUNDLE_MAC,
                            sizeof(DK_DOMAIN_BUNDLE_MAC));
  w_bytes(&w, DK_BUNDLE_MAGIC, 8);
  w.bytes = 8;
  msgpack_packer pk;
  msgpack_packer_init(&pk, &head, dk_buf_msgpack_write);
  const struct dk_node_config *cfg = dk_node_config(n);
  int bad = msgpack_pack_array(&pk, 6);
  bad |= dk_mp_pack_bin(&pk, dk_node_pk(n), DK_PK_BYTES);
  bad |= dk_mp_pack_str(&pk, cfg->office);
  bad |= dk_mp_pack_str(&pk, peer ? peer->office : "");
  bad |= msgpack_pack_uint64(&pk, dk_node_now(n));
  size_t needs = 0;
  for (size_t i = 0; i < plan.count; i++)
    needs += plan.logs[i].base > 0;
  bad |= msgpack_pack_array(&pk, (uint32_t)needs);
  for (size_t i = 0; i < plan.count; i++) {
    if (plan.logs[i].base == 0)
      continue;
    bad |= msgpack_pack_array(&pk, 2);
    bad |= dk_mp_pack_bin(&pk, plan.logs[i].log, DK_PK_BYTES);
    bad |= msgpack_pack_uint64(&pk, plan.logs[i].base);
  }
  bad |= msgpack_pack_array(&pk, (uint32_t)plan.count);
  for (size_t i = 0; i < plan.count; i++) {
    bad |= msgpack_pack_array(&pk, 3);
    bad |= dk_mp_pack_bin(&pk, plan.logs[i].log, DK_PK_BYTES);
    bad |= msgpack_pack_uint64(&pk, plan.logs[i].base + 1);
    bad |= msgpack_pack_uint64(&pk, plan.logs[i].head);
  }
  if (bad || head.len > DK_FRAME_BYTES_MAX) {
    rc = bad ? DK_ENOMEM : DK_ELIMIT;
    goto out;
  }
  w_chunk(&w, &head);
  b.w = &w;
  b.st = st;
  for (size_t i = 0; i < plan.count && rc == 0 && w.err == 0; i++) {
    /* Read in slices so that memory stays bounded for long logs. */
    uint64_t next = plan.logs[i].base + 1;
    while (next <= plan.logs[i].head && rc == 0 && w.err == 0) {
      b.last_seq = next - 1;
      rc = dk_node_log_read(n, plan.logs[i].log, next, 4096, 4u << 20, add_entry, &b);
      if (b.last_seq < next)
        break; /* nothing more (erased tail cannot happen: entries stay) */
      next = b.last_seq + 1;
    }
    st->logs++;
  }
  flush_batch(&b);
  uint8_t zero[4] = {0, 0, 0, 0};
  w_bytes(&w, zero, 4);
  if (rc == 0 && w.err == 0) {
    uint8_t mac[DK_HASH_BYTES];
    crypto_generichash_final(&w.mac, mac, DK_HASH_BYTES);
    if (fwrite(mac, 1, sizeof(mac), w.f) != sizeof(mac))
      w.err = DK_EIO;
    w.bytes += sizeof(mac);
  }
  if (rc == 0)
    rc = w.err;
  if (rc == 0 && (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0))
    rc = DK_EIO;
  if (fclose(w.f) != 0 && rc == 0)
    rc = DK_EIO;
  w.f = NULL;
  if (rc == 0 && rename(tmp, path) != 0)
    rc = DK_EIO;
  if (rc != 0)
    unlink(tmp);
  st->bytes = w.bytes;
out:
  if (w.f) {
    fclose(w.f);
    unlink(tmp);
  }
  free(plan.logs);
  dk_buf_release(&b.buf);
  dk_buf_release(&b.items);
  dk_buf_release(&head);
  sodium_free(netkey);
  return rc;
}

/* ---- reading ------------------------------------------------------------------ */

struct reader {
  FILE *f;
  uint64_t left; /* bytes before the MAC */
};

static int r_exact(struct reader *r, void *p, size_t n) {
  if (n > r->left)
    return DK_EFORMAT;
  if (fread(p, 1, n, r->f) != n)
    return ferror(r->f) ? DK_EIO : DK_EFORMAT;
  r->left -= n;
  return 0;
}

/* Reads the next length-prefixed chunk into buf; *len 0 at the end marker. */
static int r_chunk(struct reader *r, struct dk_buf *buf, size_t *len) {
  uint8_t lb[4];
  int rc = r_exact(r, lb, 4);
  if (rc != 0)
    return rc;
  uint32_t n = dk_be32_get(lb);
  *len = n;
  if (n == 0)
    return 0;
  if (n > DK_FRAME_BYTES_MAX)
    return DK_ELIMIT; /* checked before anything is allocated */
  dk_buf_reset(buf);
  rc = dk_buf_reserve(buf, n);
  if (rc != 0)
    return rc;
  rc = r_exact(r, buf->data, n);
  buf->len = n;
  return rc;
}

static int check_mac(FILE *f, uint64_t size, const uint8_t *netkey) {
  if (size < 8 + 4 + 4 + DK_HASH_BYTES)
    return DK_EFORMAT;
  crypto_generichash_state st;
  crypto_generichash_init(&st, netkey, 32, DK_HASH_BYTES);
  crypto_generichash_update(&st, (const uint8_t *)DK_DOMAIN_BUNDLE_MAC,
                            sizeof(DK_DOMAIN_BUNDLE_MAC));
  uint8_t buf[65536];
  uint64_t left = size - DK_HASH_BYTES;
  while (left > 0) {
    size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
    if (fread(buf, 1, want, f) != want)
      return DK_EIO;
    crypto_generichash_update(&st, buf, want);
    left -= want;
  }
  uint8_t mac[DK_HASH_BYTES], want_mac[DK_HASH_BYTES];
  crypto_generichash_final(&st, mac, DK_HASH_BYTES);
  if (fread(want_mac, 1, DK_HASH_BYTES, f) != DK_HASH_BYTES)
    return DK_EIO;
  return sodium_memcmp(mac, want_mac, DK_HASH_BYTES) == 0 ? 0 : DK_EAUTH;
}

/* ---- parsing (pure) ------------------------------------------------------------ */

static int need_shape(const msgpack_object *e, uint8_t log[DK_PK_BYTES], uint64_t *seq) {
  if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 2 ||
      dk_mp_get_bin_fixed(&e->via.array.ptr[0], log, DK_PK_BYTES) != 0 ||
      dk_mp_get_u64(&e->via.array.ptr[1], seq) != 0)
    return DK_EFORMAT;
  return 0;
}

int dk_bundle_parse_header(const uint8_t *bytes, size_t len, struct dk_bundle_header *out,
                           int (*on_need)(void *ctx, const uint8_t log[DK_PK_BYTES],
                                          uint64_t seq),
                           void *ctx) {
  memset(out, 0, sizeof(*out));
  msgpack_unpacked u;
  int rc = dk_mp_parse(bytes, len, &u);
  if (rc != 0)
    return rc;
  const msgpack_object *h = &u.data;
  rc = DK_EFORMAT;
  if (h->type != MSGPACK_OBJECT_ARRAY || h->via.array.size != 6 ||
      dk_mp_get_bin_fixed(&h->via.array.ptr[0], out->from, DK_PK_BYTES) != 0 ||
      dk_mp_get_str(&h->via.array.ptr[1], out->from_office, sizeof(out->from_office)) != 0 ||
      dk_mp_get_str(&h->via.array.ptr[2], out->for_office, sizeof(out->for_office)) != 0 ||
      dk_mp_get_u64(&h->via.array.ptr[3], &out->created_ms) != 0 ||
      h->via.array.ptr[4].type != MSGPACK_OBJECT_ARRAY ||
      h->via.array.ptr[4].via.array.size > LOGS_MAX)
    goto out;
  const msgpack_object *needs = &h->via.array.ptr[4];
  out->needs_count = needs->via.array.size;
  uint8_t log[DK_PK_BYTES];
  uint64_t seq;
  rc = 0;
  for (uint32_t i = 0; i < needs->via.array.size && rc == 0; i++)
    rc = need_shape(&needs->via.array.ptr[i], log, &seq);
  for (uint32_t i = 0; i < needs->via.array.size && rc == 0 && on_need; i++) {
    rc = need_shape(&needs->via.array.ptr[i], log, &seq);
    if (rc == 0)
      rc = on_need(ctx, log, seq);
  }
out:
  msgpack_unpacked_destroy(&u);
  return rc;
}

int dk_bundle_parse_batch(const uint8_t *bytes, size_t len, struct dk_raw_entry *raw,
                          size_t raw_cap,
                          int (*on_entry)(void *ctx, size_t index, const struct dk_raw_entry *e,
                                          const struct dk_header *h),
                          int (*on_batch)(void *ctx, const struct dk_raw_entry *raw,
                                          size_t count),
                          void *ctx) {
  msgpack_unpacked u;
  int rc = dk_mp_parse(bytes, len, &u);
  if (rc != 0)
    return rc;
  const msgpack_object *a = &u.data;
  rc = DK_EFORMAT;
  if (a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size == 0 ||
      a->via.array.size > DK_BUNDLE_BATCH_ENTRIES_MAX)
    goto out;
  rc = a->via.array.size <= raw_cap ? 0 : DK_ELIMIT;
  size_t count = a->via.array.size;
  for (size_t i = 0; i < count && rc == 0; i++) {
    const msgpack_object *e = &a->via.array.ptr[i];
    const uint8_t *hb, *sb, *bb = NULL;
    size_t hl, sl, bl = 0;
    if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 3 ||
        dk_mp_get_bin_view(&e->via.array.ptr[0], &hb, &hl) != 0 ||
        dk_mp_get_bin_view(&e->via.array.ptr[1], &sb, &sl) != 0 || sl != DK_SIG_BYTES ||
        (e->via.array.ptr[2].type != MSGPACK_OBJECT_NIL &&
         dk_mp_get_bin_view(&e->via.array.ptr[2], &bb, &bl) != 0)) {
      rc = DK_EFORMAT;
      break;
    }
    struct dk_header hd;
    rc = dk_header_decode(hb, hl, &hd);
    if (rc != 0)
      break;
    raw[i].header = hb;
    raw[i].header_len = hl;
    raw[i].sig = sb;
    raw[i].body = bb;
    raw[i].body_len = bl;
    if (on_entry)
      rc = on_entry(ctx, i, &raw[i], &hd);
  }
  if (rc == 0 && on_batch)
    rc = on_batch(ctx, raw, count);
out:
  msgpack_unpacked_destroy(&u);
  return rc;
}

/* ---- importing ---------------------------------------------------------------- */

struct import_ctx {
  dk_node *n;
  const char *from_office;
  const uint8_t *from_pk;
  const char *mine;
  const uint8_t *my_pk;
  uint8_t *needs_log;
  uint64_t *needs_seq;
  /* Offices of logs whose first entry is in the current batch. */
  struct {
    uint8_t log[DK_PK_BYTES];
    char office[DK_NAME_BYTES_MAX];
  } fresh[8];
  size_t nfresh;
  struct dk_bundle_stats *st;
};

/* What it needs: this node must hold each log up to where it continues. */
static int import_need(void *ctx, const uint8_t log[DK_PK_BYTES], uint64_t seq) {
  struct import_ctx *c = ctx;
  uint8_t id[DK_HASH_BYTES];
  uint64_t held;
  int rc = dk_node_log_head(c->n, log, &held, id);
  if (rc != 0)
    return rc;
  if (held < seq) {
    memcpy(c->needs_log, log, DK_PK_BYTES);
    *c->needs_seq = seq;
    return DK_ENOTFOUND;
  }
  return 0;
}

/* Scope: from the sender to this office, by the log's office. */
static int import_entry(void *ctx, size_t index, const struct dk_raw_entry *e,
                        const struct dk_header *hd) {
  struct import_ctx *c = ctx;
  if (index == 0)
    c->nfresh = 0;
  struct dk_office_info info;
  int rc;
  if (hd->type == DK_ENTRY_OFFICE && e->body != NULL) {
    rc = dk_office_body_decode(e->body, e->body_len, &info);
    if (rc == 0 && c->nfresh < 8) {
      memcpy(c->fresh[c->nfresh].log, hd->log, DK_PK_BYTES);
      strcpy(c->fresh[c->nfresh++].office, info.office);
    }
  } else {
    rc = dk_node_log_office(c->n, hd->log, &info);
    for (size_t k = 0; rc == DK_ENOTFOUND && k < c->nfresh; k++)
      if (memcmp(c->fresh[k].log, hd->log, DK_PK_BYTES) == 0) {
        strcpy(info.office, c->fresh[k].office);
        rc = 0;
      }
  }
  if (rc == DK_ENOTFOUND)
    return DK_EFORMAT; /* a log whose first entry is nowhere */
  if (rc == 0 && !dk_scope_sends_log(c->from_office, c->from_pk, c->mine, c->my_pk, hd->log,
                                     info.office))
    rc = DK_ESCOPE;
  return rc;
}

/* Each batch through the node's ingest: links, signatures, bodies. */
static int import_batch(void *ctx, const struct dk_raw_entry *raw, size_t count) {
  struct import_ctx *c = ctx;
  struct dk_ingest_stats is;
  int rc = dk_node_ingest(c->n, raw, count, &is);
  if (rc != 0)
    return rc;
  c->st->batches++;
  c->st->entries += count;
  c->st->stored += is.stored;
  c->st->duplicates += is.duplicates;
  c->st->forks += is.forks;
  if (is.refused && c->st->refused == 0)
    memcpy(c->st->refused_office, is.refused_office, DK_NAME_BYTES_MAX);
  c->st->refused += is.refused;
  return 0;
}

/* The key a bundle is sealed with: during a rotation the old key while it is
 * in force, which every office holds, so that a bundle reaches an office
 * that missed the rotation too; then the new one. */
static int bundle_key(dk_node *n, uint8_t *key) {
  struct dk_netkeys *k = sodium_malloc(sizeof(*k));
  if (k == NULL)
    return DK_ENOMEM;
  int rc = dk_node_network_keys(n, k);
  const uint8_t *usable[2];
  if (rc == 0) {
    size_t count = dk_netkeys_usable(k, dk_node_now(n), usable);
    memcpy(key, usable[count - 1], 32);
  }
  sodium_free(k);
  return rc;
}

int dk_bundle_import(dk_node *n, const char *path,
                     void (*progress)(void *ctx, const struct dk_bundle_stats *st), void *ctx,
                     struct dk_bundle_stats *st, uint8_t needs_log[DK_PK_BYTES],
                     uint64_t *needs_seq) {
  memset(st, 0, sizeof(*st));
  *needs_seq = 0;
  uint8_t *netkey = sodium_malloc(32);
  struct dk_buf buf;
  dk_buf_init(&buf);
  struct dk_raw_entry *raw = NULL;
  FILE *f = fopen(path, "rb");
  int rc = netkey ? 0 : DK_ENOMEM;
  if (rc == 0 && f == NULL)
    rc = errno == ENOENT ? DK_ENOTFOUND : DK_EIO;
  struct dk_netkeys *keys = rc == 0 ? sodium_malloc(sizeof(*keys)) : NULL;
  if (rc == 0)
    rc = keys ? dk_node_network_keys(n, keys) : DK_ENOMEM;
  if (rc != 0) {
    sodium_free(keys);
    goto out;
  }
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0) {
    rc = DK_EIO;
    goto out;
  }
  uint8_t magic[8];
  if (fread(magic, 1, 8, f) != 8 || memcmp(magic, DK_BUNDLE_MAGIC, 8) != 0) {
    rc = DK_EFORMAT;
    goto out;
  }
  rewind(f);
  /* Nothing is believed before the MAC says the whole file is intact and
   * comes from this deployment. */
  /* Any network key in force opens it. */
  const uint8_t *usable[2];
  size_t nkeys = dk_netkeys_usable(keys, dk_node_now(n), usable);
  rc = DK_EAUTH;
  for (size_t i = 0; i < nkeys && rc == DK_EAUTH; i++) {
    rewind(f);
    rc = check_mac(f, (uint64_t)sb.st_size, usable[i]);
  }
  sodium_free(keys);
  if (rc != 0)
    goto out;
  rewind(f);
  struct reader r = {f, (uint64_t)sb.st_size - DK_HASH_BYTES};
  rc = r_exact(&r, magic, 8);
  size_t len = 0;
  if (rc == 0)
    rc = r_chunk(&r, &buf, &len);
  if (rc == 0 && len == 0)
    rc = DK_EFORMAT;
  struct dk_bundle_header hdr;
  if (rc == 0)
    rc = dk_bundle_parse_header(buf.data, buf.len, &hdr, NULL, NULL);
  if (rc != 0)
    goto out;
  /* The sender must be pinned here, as the office it says it is. */
  struct dk_peer peer;
  rc = dk_node_peer_by_key(n, hdr.from, &peer);
  if (rc == DK_ENOTFOUND || (rc == 0 && strcmp(peer.office, hdr.from_office) != 0)) {
    rc = DK_EREFUSED;
    goto out;
  }
  if (rc != 0)
    goto out;
  struct import_ctx c;
  memset(&c, 0, sizeof(c));
  c.n = n;
  c.from_office = hdr.from_office;
  c.from_pk = hdr.from;
  c.mine = dk_node_config(n)->office;
  c.my_pk = dk_node_pk(n);
  c.needs_log = needs_log;
  c.needs_seq = needs_seq;
  c.st = st;
  rc = dk_bundle_parse_header(buf.data, buf.len, &hdr, import_need, &c);
  if (rc != 0)
    goto out;

  /* The batches, each through the node's ingest. */
  raw = malloc(sizeof(*raw) * DK_BUNDLE_BATCH_ENTRIES_MAX);
  if (raw == NULL) {
    rc = DK_ENOMEM;
    goto out;
  }
  for (;;) {
    rc = r_chunk(&r, &buf, &len);
    if (rc != 0 || len == 0)
      break;
    rc = dk_bundle_parse_batch(buf.data, buf.len, raw, DK_BUNDLE_BATCH_ENTRIES_MAX,
                               import_entry, import_batch, &c);
    if (rc != 0)
      break;
    if (progress)
      progress(ctx, st);
  }
  if (rc == 0 && r.left != 0)
    rc = DK_EFORMAT; /* bytes after the end marker */
  st->bytes = (uint64_t)sb.st_size;
out:
  free(raw);
  if (f)
    fclose(f);
  dk_buf_release(&buf);
  sodium_free(netkey);
  return rc;
}
