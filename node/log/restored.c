/*
 * A node must not fork itself (TRUST.md, "Restored nodes"): a node restored
 * from a backup or rebuilt from its key file writes nothing to its own log
 * until a sync with its parent has brought back what it wrote after the
 * copy. The mark is a meta record; the evidence that the log is whole is the
 * parent's newest witness of it (node/peers/peers.c, dk_node_witness).
 */
#include <string.h>

#include "common/error.h"
#include "node/log/log.h"
#include "node/log/log_int.h"
#include "node/node_int.h"

#define META_RESTORED "restored"

int dk__restored_set(struct dk_txn *t) {
  return dk_txn_put(t, DK_T_META, META_RESTORED, strlen(META_RESTORED), "1", 1);
}

int dk__own_log_writable(struct dk_txn *t) {
  const uint8_t *v;
  size_t vlen;
  int rc = dk_txn_get(t, DK_T_META, META_RESTORED, strlen(META_RESTORED), &v, &vlen);
  if (rc == 0)
    return DK_ERESTORED;
  return rc == DK_ENOTFOUND ? 0 : rc;
}

static int mark_fn(struct dk_txn *t, void *arg) {
  (void)arg;
  return dk__restored_set(t);
}

int dk_node_mark_restored(dk_node *n) {
  if (strchr(n->cfg.office, '/') == NULL)
    return 0; /* a district has no parent to fetch its log from */
  return dk_store_write(n->store, mark_fn, NULL);
}

int dk_node_restored(dk_node *n) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  rc = dk__own_log_writable(&t);
  dk_store_read_end(&t);
  return rc == DK_ERESTORED ? 1 : rc;
}

struct check_ctx {
  dk_node *n;
  const uint8_t *parent;
  uint64_t have, witnessed;
};

/* The newest witness of log in the parent's log: witnesses only grow, so
 * the walk goes back from the head and stops at the first. */
static int newest_witness(struct dk_txn *t, const uint8_t *parent, const uint8_t *log,
                          struct dk_witness *out, int *found) {
  struct dk_head h;
  *found = 0;
  int rc = dk_log_head(t, parent, &h);
  if (rc != 0)
    return rc;
  for (uint64_t seq = h.seq; seq >= 1; seq--) {
    struct dk_entry e;
    const uint8_t *body;
    size_t blen;
    rc = dk_log_read(t, parent, seq, &e, &body, &blen);
    if (rc != 0)
      return rc;
    if (e.h.type != DK_ENTRY_WITNESS || body == NULL)
      continue;
    struct dk_witness w;
    if (dk_witness_body_decode(body, blen, &w) != 0 || memcmp(w.log, log, DK_PK_BYTES) != 0)
      continue;
    *out = w;
    *found = 1;
    return 0;
  }
  return 0;
}

static int check_fn(struct dk_txn *t, void *arg) {
  struct check_ctx *c = arg;
  dk_node *n = c->n;
  int rc = dk__own_log_writable(t);
  if (rc != DK_ERESTORED)
    return rc; /* not marked: nothing to do */
  struct dk_head mine;
  rc = dk_log_head(t, n->pk, &mine);
  if (rc != 0)
    return rc;
  c->have = mine.seq;
  struct dk_witness w;
  int found;
  rc = newest_witness(t, c->parent, n->pk, &w, &found);
  if (rc != 0)
    return rc;
  if (found) {
    c->witnessed = w.seq;
    if (mine.seq < w.seq)
      return DK_ERESTORED;
    struct dk_entry e;
    rc = dk_log_read(t, n->pk, w.seq, &e, NULL, NULL);
    if (rc != 0)
      return rc;
    if (memcmp(e.id, w.id, DK_HASH_BYTES) != 0)
      return DK_EFORK; /* it already forked itself: the sync names the fork */
  }
  rc = dk_txn_del(t, DK_T_META, "restored", strlen("restored"));
  if (rc != 0 || mine.seq > 0)
    return rc;
  /* Rebuilt, and the parent never held its log: it starts its log now. */
  struct dk_office_info info;
  memset(&info, 0, sizeof(info));
  strcpy(info.office, n->cfg.office);
  strcpy(info.role, dk_office_role_name(n->cfg.role));
  strcpy(info.code, n->cfg.code);
  struct dk_buf body;
  dk_buf_init(&body);
  struct dk_entry e;
  rc = dk_office_body_encode(&info, &body);
  if (rc == 0)
    rc = dk_log_append(t, &n->id, DK_ENTRY_OFFICE, NULL, body.data, body.len, dk_node_now(n),
                       &e);
  if (rc == 0)
    rc = dk_txn_put(t, DK_T_LOGS, n->pk, DK_PK_BYTES, body.data, body.len);
  dk_buf_release(&body);
  return rc;
}

int dk_node_restored_check(dk_node *n, const uint8_t parent_pk[DK_PK_BYTES], uint64_t *have_seq,
                           uint64_t *witnessed_seq) {
  if (!n->unlocked)
    return DK_ENOKEY;
  struct check_ctx c = {n, parent_pk, 0, 0};
  int rc = dk_store_write(n->store, check_fn, &c);
  if (have_seq)
    *have_seq = c.have;
  if (witnessed_seq)
    *witnessed_seq = c.witnessed;
  return rc;
}
