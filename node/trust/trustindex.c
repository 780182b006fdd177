/*
 * The trust view's indexer: a root statement found in the district's log is
 * checked and written to the trust table (its layout: trustview.c), and a new
 * reader of this office's cases is granted them (grants.c). The questions
 * asked of the view are in trustview.c.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "node/log/log.h"
#include "node/log/log_int.h"
#include "node/node_int.h"
#include "node/trust/trust.h"
#include "node/trust/trust_int.h"

/* ---- indexing --------------------------------------------------------------- */

/* Is `office` a proper ancestor of this node's office? */
static int above_me(const dk_node *n, const char *office) {
  size_t ol = strlen(office);
  return strncmp(office, n->cfg.office, ol) == 0 && n->cfg.office[ol] == '/';
}

/* Does subtree cover office (itself or below it)? */
static int covers(const char *subtree, const char *office) {
  size_t sl = strlen(subtree);
  return strncmp(subtree, office, sl) == 0 && (office[sl] == 0 || office[sl] == '/');
}

static char kind_byte(uint64_t type) {
  return type == DK_ENTRY_CERT ? 'C' : type == DK_ENTRY_REVOKE ? 'R' : 'A';
}

/* Is log the district's (its seq-1 office entry names a one-segment path)? */
static int district_log(struct dk_txn *t, const uint8_t log[DK_PK_BYTES]) {
  const uint8_t *v;
  size_t vlen;
  struct dk_office_info info;
  if (dk_txn_get(t, DK_T_LOGS, log, DK_PK_BYTES, &v, &vlen) != 0 ||
      dk_office_body_decode(v, vlen, &info) != 0)
    return 0;
  return strchr(info.office, '/') == NULL;
}

/* 1 when this node's office is the parent of office (its path less the
 * last segment). */
static int parent_is_me(const dk_node *n, const char *office) {
  const char *slash = strrchr(office, '/');
  if (slash == NULL)
    return 0;
  size_t len = (size_t)(slash - office);
  return strlen(n->cfg.office) == len && strncmp(office, n->cfg.office, len) == 0;
}

int dk__trust_index(dk_node *n, struct dk_txn *t, const struct dk_entry *e, const uint8_t *body,
                    size_t body_len) {
  uint64_t type = e->h.type;
  if (type != DK_ENTRY_CERT && type != DK_ENTRY_REVOKE && type != DK_ENTRY_AUDITOR)
    return 0;
  uint8_t root[DK_PK_BYTES];
  int rc = dk__trust_root(t, root);
  if (rc == DK_ENOTFOUND || body == NULL)
    return 0; /* indexed when a root is set (dk_node_set_root) */
  if (rc != 0)
    return rc;
  if (!district_log(t, e->h.log)) {
    dk_node_logf(n, DK_LOG_WARN, "a root statement outside the district's log was ignored");
    return 0;
  }
  struct dk_statement *s = malloc(sizeof(*s));
  if (s == NULL)
    return DK_ENOMEM;
  rc = dk_statement_open(type, body, body_len, root, s);
  if (rc != 0) {
    dk_node_logf(n, DK_LOG_WARN, "a statement not signed by this deployment's root was "
                                 "ignored: %s", dk_strerror(rc));
    free(s);
    return rc == DK_ENOMEM ? rc : 0;
  }
  /* Index the statement bytes (the body's first bin), after the seq. */
  struct dk_buf val;
  dk_buf_init(&val);
  uint8_t k[DK_TRUST_KEY_BYTES];
  k[0] = (uint8_t)kind_byte(type);
  memcpy(k + 1, s->key, DK_PK_BYTES);
  memcpy(k + 1 + DK_PK_BYTES, e->id, DK_HASH_BYTES);
  uint8_t seq[8];
  dk_be64_put(seq, e->h.seq);
  rc = dk_buf_append(&val, seq, 8);
  if (rc == 0)
    rc = dk_statement_encode(s, &val);
  if (rc == 0)
    rc = dk_txn_put(t, DK_T_TRUST, k, sizeof(k), val.data, val.len);
  dk_buf_release(&val);
  /* A new reader of this office's cases: an office above with a
   * certificate, or an auditor of a subtree that covers this office. */
  uint64_t now = dk_node_now(n);
  int reader = 0;
  if (type == DK_ENTRY_CERT)
    reader = above_me(n, s->office) && dk_statement_in_force(s, now);
  else if (type == DK_ENTRY_AUDITOR)
    reader = covers(s->office, n->cfg.office) && dk_statement_in_force(s, now);
  if (rc == 0 && reader && n->unlocked && memcmp(s->key, n->pk, DK_PK_BYTES) != 0)
    rc = dk__grant_own_cases(n, t, s->key);
  /* A certified key of an office just below this one (a new office, or a
   * node replacing a stolen one): it gets the keys of that office's cases
   * this node holds, so that a replacement can read its office's history. */
  if (rc == 0 && type == DK_ENTRY_CERT && n->unlocked && dk_statement_in_force(s, now) &&
      memcmp(s->key, n->pk, DK_PK_BYTES) != 0 && parent_is_me(n, s->office))
    rc = dk__grant_cases(n, t, s->key, s->office);
  free(s);
  return rc;
}

/* Indexes every statement of the district logs held. */
int dk__trust_reindex(dk_node *n, struct dk_txn *t) {
  uint8_t(*logs)[DK_PK_BYTES] = NULL;
  size_t count = 0, cap = 0;
  struct dk_iter it;
  int rc = dk_iter_open(t, DK_T_LOGS, NULL, 0, &it);
  if (rc != 0)
    return rc;
  const uint8_t *k, *v;
  size_t klen, vlen;
  while ((rc = dk_iter_next(&it, &k, &klen, &v, &vlen)) == 0) {
    struct dk_office_info info;
    if (klen != DK_PK_BYTES || dk_office_body_decode(v, vlen, &info) != 0 ||
        strchr(info.office, '/') != NULL)
      continue;
    if (count == cap) {
      size_t ncap = cap ? cap * 2 : 4;
      void *p = realloc(logs, ncap * DK_PK_BYTES);
      if (p == NULL) {
        rc = DK_ENOMEM;
        break;
      }
      logs = p;
      cap = ncap;
    }
    memcpy(logs[count++], k, DK_PK_BYTES);
  }
  dk_iter_close(&it);
  if (rc == DK_ENOTFOUND)
    rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++) {
    struct dk_head h;
    rc = dk_log_head(t, logs[i], &h);
    for (uint64_t seq = 2; rc == 0 && seq <= h.seq; seq++) {
      struct dk_entry e;
      const uint8_t *body;
      size_t blen;
      rc = dk_log_read(t, logs[i], seq, &e, &body, &blen);
      if (rc == 0)
        rc = dk__trust_index(n, t, &e, body, blen);
    }
  }
  free(logs);
  return rc;
}

/* ---- writing the view: setting the root, appending a statement ------------ */

struct root_ctx {
  dk_node *n;
  const uint8_t *root;
};

static int set_root_fn(struct dk_txn *t, void *arg) {
  struct root_ctx *c = arg;
  uint8_t have[DK_PK_BYTES];
  int rc = dk__trust_root(t, have);
  if (rc == 0)
    return memcmp(have, c->root, DK_PK_BYTES) == 0 ? 0 : DK_EEXIST;
  if (rc != DK_ENOTFOUND)
    return rc;
  rc = dk_txn_put(t, DK_T_META, DK_META_ROOT_PK, strlen(DK_META_ROOT_PK), c->root, DK_PK_BYTES);
  if (rc == 0)
    rc = dk__trust_reindex(c->n, t);
  return rc;
}

int dk_node_set_root(dk_node *n, const uint8_t root[DK_PK_BYTES]) {
  struct root_ctx c = {n, root};
  return dk_store_write(n->store, set_root_fn, &c);
}

struct append_ctx {
  dk_node *n;
  const struct dk_identity *root;
  const struct dk_statement *s;
};

static int append_fn(struct dk_txn *t, void *arg) {
  struct append_ctx *c = arg;
  uint8_t root[DK_PK_BYTES];
  int rc = dk__trust_root(t, root);
  if (rc != 0)
    return rc;
  if (memcmp(root, c->root->pk, DK_PK_BYTES) != 0 ||
      memcmp(c->s->root, root, DK_PK_BYTES) != 0)
    return DK_EAUTH;
  struct dk_buf body;
  dk_buf_init(&body);
  struct dk_entry e;
  rc = dk__own_log_writable(t);
  if (rc == 0)
    rc = dk_statement_sign(c->s, c->root, &body);
  if (rc == 0)
    rc = dk_log_append(t, &c->n->id, c->s->type, NULL, body.data, body.len, dk_node_now(c->n),
                       &e);
  if (rc == 0)
    rc = dk__trust_index(c->n, t, &e, body.data, body.len);
  dk_buf_release(&body);
  return rc;
}

int dk_node_statement_append(dk_node *n, const struct dk_identity *root,
                             const struct dk_statement *s) {
  if (!n->unlocked)
    return DK_ENOKEY;
  if (n->cfg.role != DK_OFFICE_DISTRICT || strchr(n->cfg.office, '/') != NULL)
    return DK_ESCOPE;
  struct append_ctx c = {n, root, s};
  return dk_store_write(n->store, append_fn, &c);
}
