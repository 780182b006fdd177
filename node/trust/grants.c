/*
 * Who may read which case: the readers of a new case of this office, and the
 * grants that seal a case's key to a reader (when a reader appears, all the
 * cases it may read). Reads the trust view (trustview.c) and the peers table
 * (node/peers/peers.c); the trust view calls back here when an office entry
 * arrives.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "node/cases/cases_int.h"
#include "node/log/log.h"
#include "node/log/log_int.h"
#include "node/node_int.h"
#include "node/peers/peers_int.h"
#include "node/trust/trust_int.h"

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

/* Is `office` a proper ancestor of this node's office? */
static int is_above_me(const dk_node *n, const char *office) {
  size_t ol = strlen(office);
  return strncmp(office, n->cfg.office, ol) == 0 && n->cfg.office[ol] == '/';
}

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
