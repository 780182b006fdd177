/*
 * Upgrade of a format-1 store to format 2 (node_int.h), on first open.
 *
 * Format 1 kept entries and bodies under log || seq ("entries", "bodies")
 * and an id index written per entry ("ids"). The upgrade moves every entry
 * and body, in log || seq order, to the position-keyed tables (appends),
 * records the case-open map, drops the old tables, and then rebuilds the
 * derived tables from the log when the node is unlocked (format 1 kept them
 * complete, so a locked open keeps them as they are). It runs in
 * transactions of DK_UPGRADE_BATCH_ENTRIES, remembering how far it got, so
 * an interrupted upgrade goes on where it stopped at the next open.
 */
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"
#include "node/cases/cases_int.h"
#include "node/ingest/index.h"
#include "node/log/log.h"
#include "node/node_int.h"
#include "node/upgrade_int.h"

#define UPGRADE_AT "upgrade.at" /* meta: the last log || seq moved */

struct up_ctx {
  dk_node *n;
  uint64_t moved, total;
  int done;
};

static int up_fn(struct dk_txn *t, void *arg) {
  struct up_ctx *c = arg;
  uint8_t at[DK_LOGKEY_BYTES];
  int have_at = 0;
  const uint8_t *v;
  size_t vlen;
  c->done = 0;
  int rc = dk_txn_get(t, DK_T_META, UPGRADE_AT, strlen(UPGRADE_AT), &v, &vlen);
  if (rc == 0 && vlen == DK_LOGKEY_BYTES) {
    memcpy(at, v, DK_LOGKEY_BYTES);
    have_at = 1;
  } else if (rc != 0 && rc != DK_ENOTFOUND) {
    return rc;
  }
  struct dk_iter ei, bi;
  rc = dk_iter_open_legacy(t, "entries", &ei);
  if (rc == DK_ENOTFOUND) {
    c->done = 1;
    return 0;
  }
  if (rc != 0)
    return rc;
  int have_bodies = dk_iter_open_legacy(t, "bodies", &bi) == 0;
  if (have_at) {
    memcpy(ei.from, at, DK_LOGKEY_BYTES);
    ei.flen = DK_LOGKEY_BYTES;
    if (have_bodies) {
      memcpy(bi.from, at, DK_LOGKEY_BYTES);
      bi.flen = DK_LOGKEY_BYTES;
    }
  }
  struct dk_log_writer w;
  dk_log_writer_init(&w);
  w.no_head = 1; /* format 1's heads are already right */
  const uint8_t *bk = NULL, *bv = NULL;
  size_t bkl = 0, bvl = 0;
  int bend = !have_bodies;
  uint64_t moved = 0;
  const uint8_t *k;
  size_t klen;
  uint8_t last[DK_LOGKEY_BYTES];
  int any = 0;
  for (;;) {
    if (moved == DK_UPGRADE_BATCH_ENTRIES)
      break;
    rc = dk_iter_next(&ei, &k, &klen, &v, &vlen);
    if (rc == DK_ENOTFOUND) {
      rc = 0;
      c->done = 1;
      break;
    }
    if (rc != 0)
      break;
    if (klen != DK_LOGKEY_BYTES)
      continue;
    if (have_at && memcmp(k, at, DK_LOGKEY_BYTES) == 0)
      continue; /* moved by the previous transaction */
    memcpy(last, k, DK_LOGKEY_BYTES);
    any = 1;
    struct dk_entry e;
    if (dk_log_decode_stored(v, vlen, &e) != 0 || memcmp(e.h.log, k, DK_PK_BYTES) != 0 ||
        e.h.seq != dk_be64_get(k + DK_PK_BYTES)) {
      /* Damaged in the old store: left out, `docket verify` names the gap. */
      dk_node_logf(c->n, DK_LOG_WARN, "upgrade: an entry does not decode and is left out");
      continue;
    }
    int cmp = 1;
    while (!bend) {
      if (bk != NULL) {
        cmp = bkl == DK_LOGKEY_BYTES ? memcmp(bk, k, DK_LOGKEY_BYTES) : -1;
        if (cmp >= 0)
          break;
      }
      int brc = dk_iter_next(&bi, &bk, &bkl, &bv, &bvl);
      if (brc == DK_ENOTFOUND) {
        bend = 1;
        break;
      }
      if (brc != 0) {
        rc = brc;
        break;
      }
    }
    if (rc != 0)
      break;
    const uint8_t *body = !bend && bk && cmp == 0 ? bv : NULL;
    rc = dk_log_writer_add(t, &w, &e, body, body ? bvl : 0);
    if (rc == 0 && e.h.type == DK_ENTRY_CASE_OPEN)
      rc = dk_log_case_open_put(t, e.id, w.last_pos);
    if (rc != 0)
      break;
    moved++;
  }
  dk_iter_close(&ei);
  if (have_bodies)
    dk_iter_close(&bi);
  if (rc == 0)
    rc = dk_log_writer_flush(t, &w);
  if (rc == 0 && any)
    rc = dk_txn_put(t, DK_T_META, UPGRADE_AT, strlen(UPGRADE_AT), last, sizeof(last));
  if (rc == 0 && c->done) {
    uint64_t end;
    rc = dk_txn_drop_legacy(t, "entries");
    if (rc == 0)
      rc = dk_txn_drop_legacy(t, "bodies");
    if (rc == 0)
      rc = dk_txn_drop_legacy(t, "ids");
    if (rc == 0)
      rc = dk_txn_del(t, DK_T_META, UPGRADE_AT, strlen(UPGRADE_AT));
    /* Format 1 kept its derived tables complete. */
    if (rc == 0)
      rc = dk_log_end(t, &end);
    if (rc == 0)
      rc = dk__index_cursor_set(t, end);
    char fmt[8];
    snprintf(fmt, sizeof(fmt), "%d", DK_STORE_FORMAT);
    if (rc == 0)
      rc = dk__meta_put_str(t, DK_META_FORMAT, fmt);
  }
  c->moved += moved;
  return rc;
}

static int count_fn(struct dk_txn *t, uint64_t *total) {
  struct dk_iter it;
  int rc = dk_iter_open_legacy(t, "entries", &it);
  if (rc != 0)
    return rc;
  MDB_stat st;
  rc = mdb_stat(t->txn, mdb_cursor_dbi(it.cur), &st) == 0 ? 0 : DK_ESTORE;
  if (rc == 0)
    *total = st.ms_entries;
  dk_iter_close(&it);
  return rc;
}

int dk__store_upgrade(dk_node *n) {
  struct up_ctx c = {n, 0, 0, 0};
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  rc = count_fn(&t, &c.total);
  dk_store_read_end(&t);
  if (rc == DK_ENOTFOUND)
    rc = 0;
  if (rc != 0)
    return rc;
  dk_node_logf(n, DK_LOG_INFO, "upgrading the store from format 1 to %d: %llu entries",
               DK_STORE_FORMAT, (unsigned long long)c.total);
  while (rc == 0 && !c.done) {
    rc = dk_store_write(n->store, up_fn, &c);
    if (rc == 0)
      dk_node_logf(n, DK_LOG_INFO, "upgrade: %llu of %llu entries moved",
                   (unsigned long long)c.moved, (unsigned long long)c.total);
  }
  if (rc == 0 && n->unlocked) {
    dk_node_logf(n, DK_LOG_INFO, "upgrade: rebuilding the case tables from the log");
    rc = dk_node_index_rebuild(n);
  }
  if (rc == 0)
    dk_node_logf(n, DK_LOG_INFO, "upgrade done");
  return rc;
}
