#include "replication/node_store.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "node/ingest/index.h"

struct heads_ctx {
  int (*cb)(void *cbctx, const struct dk_sync_head *h, const char *office);
  void *cbctx;
};

static int heads_cb(void *ctx, const uint8_t log[DK_PK_BYTES], uint64_t seq,
                    const uint8_t id[DK_HASH_BYTES], const char *office) {
  struct heads_ctx *c = ctx;
  struct dk_sync_head h;
  memcpy(h.log, log, DK_PK_BYTES);
  h.seq = seq;
  memcpy(h.id, id, DK_HASH_BYTES);
  return c->cb(c->cbctx, &h, office);
}

static int ns_heads(void *ctx, int (*cb)(void *, const struct dk_sync_head *, const char *),
                    void *cbctx) {
  struct heads_ctx c = {cb, cbctx};
  return dk_node_log_heads(ctx, heads_cb, &c);
}

static int ns_head(void *ctx, const uint8_t log[DK_PK_BYTES], struct dk_sync_head *out) {
  memcpy(out->log, log, DK_PK_BYTES);
  return dk_node_log_head(ctx, log, &out->seq, out->id);
}

struct read_ctx {
  int (*cb)(void *cbctx, const struct dk_wire_entry *e);
  void *cbctx;
};

static int read_cb(void *ctx, const struct dk_raw_entry *e) {
  struct read_ctx *c = ctx;
  struct dk_wire_entry w = {e->header, e->header_len, e->sig, e->body, e->body_len};
  return c->cb(c->cbctx, &w);
}

static int ns_read(void *ctx, const uint8_t log[DK_PK_BYTES], uint64_t from, size_t max_entries,
                   size_t max_bytes, int (*cb)(void *, const struct dk_wire_entry *),
                   void *cbctx) {
  struct read_ctx c = {cb, cbctx};
  return dk_node_log_read(ctx, log, from, max_entries, max_bytes, read_cb, &c);
}

static int ns_ingest(void *ctx, const struct dk_wire_entry *entries, size_t n,
                     struct dk_ingest_result *res) {
  struct dk_raw_entry *raw = malloc(sizeof(*raw) * (n ? n : 1));
  if (raw == NULL)
    return DK_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    raw[i].header = entries[i].header;
    raw[i].header_len = entries[i].header_len;
    raw[i].sig = entries[i].sig;
    raw[i].body = entries[i].body;
    raw[i].body_len = entries[i].body_len;
  }
  struct dk_ingest_stats st;
  /* Append only; the case tables follow between bursts, when the
   * transport runs the indexer (node/ingest/index.h). */
  dk_node_index_defer(ctx, 1);
  int rc = dk_node_ingest(ctx, raw, n, &st);
  dk_node_index_defer(ctx, 0);
  free(raw);
  if (rc == 0) {
    res->stored = st.stored;
    res->duplicates = st.duplicates;
    res->forks = st.forks;
    res->refused = st.refused;
  }
  return rc;
}

static int ns_witness(void *ctx, const uint8_t log[DK_PK_BYTES]) {
  return dk_node_witness(ctx, log);
}

static uint64_t ns_mark(void *ctx) { return dk_node_visible_mark(ctx); }

void dk_node_store_init(struct dk_sync_store *store, dk_node *n) {
  memset(store, 0, sizeof(*store));
  store->ctx = n;
  store->heads = ns_heads;
  store->head = ns_head;
  store->read = ns_read;
  store->ingest = ns_ingest;
  store->witness = ns_witness;
  store->mark = ns_mark;
}
