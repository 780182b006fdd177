/*
 * The node's trust view: root statements found in the district's log,
 * indexed in the trust table when stored (trustindex.c), and the questions asked of them
 * (is this key certified now, is it revoked, which auditors read what).
 *
 *   trust table: kind ('C' cert, 'R' revoke, 'A' auditor) || key (32) ||
 *                entry id (32) -> seq in the district log (be64) || statement
 *
 * Statements are checked (root signature, root key) before they are
 * indexed, so lookups decode without verifying again.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "node/log/log.h"
#include "node/node_int.h"
#include "node/peers/peers_int.h"
#include "node/trust/trust.h"
#include "node/trust/trust_int.h"

static uint64_t kind_type(uint8_t b) {
  return b == 'C' ? DK_ENTRY_CERT : b == 'R' ? DK_ENTRY_REVOKE : DK_ENTRY_AUDITOR;
}

int dk__trust_root(struct dk_txn *t, uint8_t root[DK_PK_BYTES]) {
  const uint8_t *v;
  size_t vlen;
  int rc = dk_txn_get(t, DK_T_META, DK_META_ROOT_PK, strlen(DK_META_ROOT_PK), &v, &vlen);
  if (rc != 0)
    return rc;
  if (vlen != DK_PK_BYTES)
    return DK_EFORMAT;
  memcpy(root, v, DK_PK_BYTES);
  return 0;
}

/* Decodes a trust-table record (already checked when indexed; decoding
 * again guards against a damaged store). A damaged key must not file a
 * statement under a key or kind it is not about: a flipped byte in the key
 * would otherwise certify a key the root never certified. */
int dk__trust_record_decode(const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen,
                            struct dk_statement *s, uint64_t *seq) {
  if (klen != DK_TRUST_KEY_BYTES || vlen < 8 || (k[0] != 'C' && k[0] != 'R' && k[0] != 'A'))
    return DK_EFORMAT;
  *seq = dk_be64_get(v);
  int rc = dk_statement_decode(kind_type(k[0]), v + 8, vlen - 8, s);
  if (rc == 0 && memcmp(s->key, k + 1, DK_PK_BYTES) != 0)
    rc = DK_EFORMAT;
  return rc;
}

/* Walks the records of one kind (and key, when key is not NULL). */
static int walk(struct dk_txn *t, char kind, const uint8_t *key,
                int (*cb)(void *ctx, const struct dk_statement *s, uint64_t seq), void *ctx) {
  uint8_t prefix[1 + DK_PK_BYTES];
  prefix[0] = (uint8_t)kind;
  if (key)
    memcpy(prefix + 1, key, DK_PK_BYTES);
  struct dk_iter it;
  int rc = dk_iter_open(t, DK_T_TRUST, prefix, key ? sizeof(prefix) : 1, &it);
  if (rc != 0)
    return rc;
  const uint8_t *k, *v;
  size_t klen, vlen;
  struct dk_statement s;
  while ((rc = dk_iter_next(&it, &k, &klen, &v, &vlen)) == 0) {
    uint64_t seq;
    if (dk__trust_record_decode(k, klen, v, vlen, &s, &seq) != 0)
      continue; /* damaged: trust nothing from it */
    rc = cb(ctx, &s, seq);
    if (rc != 0)
      break;
  }
  dk_iter_close(&it);
  return rc == DK_ENOTFOUND ? 0 : rc;
}

struct revoked_ctx {
  int has;
  uint64_t at;
};

static int revoked_cb(void *ctx, const struct dk_statement *s, uint64_t seq) {
  struct revoked_ctx *c = ctx;
  if (!c->has || s->revoked_at_ms < c->at)
    c->at = s->revoked_at_ms;
  c->has = 1;
  return 0;
}

int dk__trust_revoked_at(struct dk_txn *t, const uint8_t key[DK_PK_BYTES], uint64_t *at_ms) {
  struct revoked_ctx c = {0, 0};
  int rc = walk(t, 'R', key, revoked_cb, &c);
  if (rc != 0)
    return rc;
  if (!c.has)
    return DK_ENOTFOUND;
  *at_ms = c.at;
  return 0;
}

static int is_revoked(struct dk_txn *t, const uint8_t key[DK_PK_BYTES], uint64_t at_ms) {
  uint64_t r = 0;
  int rc = dk__trust_revoked_at(t, key, &r);
  return dk_revoked_by(rc == 0, r, at_ms);
}

struct cert_ctx {
  uint64_t at;
  int found;
  uint64_t seq;
  struct dk_statement best;
};

static int cert_cb(void *ctx, const struct dk_statement *s, uint64_t seq) {
  struct cert_ctx *c = ctx;
  if (dk_statement_in_force(s, c->at) && (!c->found || seq > c->seq)) {
    c->found = 1;
    c->seq = seq;
    c->best = *s;
  }
  return 0;
}

int dk__trust_cert_valid(struct dk_txn *t, const uint8_t key[DK_PK_BYTES], uint64_t at_ms,
                         char *office, enum dk_office_role *role) {
  uint8_t root[DK_PK_BYTES];
  int rc = dk__trust_root(t, root);
  if (rc != 0)
    return rc;
  if (is_revoked(t, key, at_ms))
    return DK_ECERT;
  struct cert_ctx *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return DK_ENOMEM;
  c->at = at_ms;
  rc = walk(t, 'C', key, cert_cb, c);
  if (rc == 0 && !c->found)
    rc = DK_ECERT;
  if (rc == 0 && office)
    memcpy(office, c->best.office, DK_NAME_BYTES_MAX);
  if (rc == 0 && role && dk_office_role_parse(c->best.role, role) != 0)
    rc = DK_EFORMAT;
  free(c);
  return rc;
}

int dk__trust_check_author(struct dk_txn *t, const struct dk_entry *e) {
  uint64_t r;
  int rc = dk__trust_revoked_at(t, e->h.log, &r);
  if (rc == DK_ENOTFOUND)
    return 0;
  if (rc != 0)
    return rc;
  return dk_revoked_by(1, r, e->h.ts_ms) ? DK_ECERT : 0;
}

struct filter_ctx {
  struct dk_txn *t;
  uint64_t at;
  int (*cb)(void *ctx, const struct dk_statement *s);
  void *ctx;
};

static int filter_cb(void *ctx, const struct dk_statement *s, uint64_t seq) {
  struct filter_ctx *c = ctx;
  if (!dk_statement_in_force(s, c->at) || is_revoked(c->t, s->key, c->at))
    return 0;
  return c->cb(c->ctx, s);
}

int dk__trust_auditors(struct dk_txn *t, uint64_t at_ms,
                       int (*cb)(void *ctx, const struct dk_statement *s), void *ctx) {
  struct filter_ctx c = {t, at_ms, cb, ctx};
  return walk(t, 'A', NULL, filter_cb, &c);
}

int dk__trust_certs(struct dk_txn *t, uint64_t at_ms,
                    int (*cb)(void *ctx, const struct dk_statement *s), void *ctx) {
  struct filter_ctx c = {t, at_ms, cb, ctx};
  return walk(t, 'C', NULL, filter_cb, &c);
}

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

/* ---- the node API ----------------------------------------------------------- */

int dk_node_root_pk(dk_node *n, uint8_t root[DK_PK_BYTES]) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  rc = dk__trust_root(&t, root);
  dk_store_read_end(&t);
  return rc;
}

int dk_node_cert_valid(dk_node *n, const uint8_t key[DK_PK_BYTES], uint64_t at_ms, char *office,
                       enum dk_office_role *role) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  rc = dk__trust_cert_valid(&t, key, at_ms, office, role);
  dk_store_read_end(&t);
  return rc;
}

int dk_node_revoked_at(dk_node *n, const uint8_t key[DK_PK_BYTES], uint64_t *at_ms) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  rc = dk__trust_revoked_at(&t, key, at_ms);
  dk_store_read_end(&t);
  return rc;
}

static int any_cb(void *ctx, const struct dk_statement *s, uint64_t seq) { return 1; }

int dk_node_trust_knows(dk_node *n, const uint8_t key[DK_PK_BYTES]) {
  struct dk_txn t;
  if (dk_store_read_begin(n->store, &t) != 0)
    return 0;
  int known = walk(&t, 'C', key, any_cb, NULL) == 1 || walk(&t, 'R', key, any_cb, NULL) == 1;
  dk_store_read_end(&t);
  return known;
}

struct subtree_ctx {
  const uint8_t *key;
  char *out;
};

static int subtree_cb(void *ctx, const struct dk_statement *s) {
  struct subtree_ctx *c = ctx;
  if (memcmp(s->key, c->key, DK_PK_BYTES) != 0)
    return 0;
  memcpy(c->out, s->office, DK_NAME_BYTES_MAX);
  return 1;
}

int dk_node_auditor_subtree(dk_node *n, const uint8_t key[DK_PK_BYTES], uint64_t at_ms,
                            char subtree[DK_NAME_BYTES_MAX]) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  struct subtree_ctx c = {key, subtree};
  rc = dk__trust_auditors(&t, at_ms, subtree_cb, &c);
  dk_store_read_end(&t);
  return rc == 1 ? 0 : rc == 0 ? DK_ENOTFOUND : rc;
}

struct list_ctx {
  int (*cb)(void *ctx, const struct dk_statement *s);
  void *ctx;
};

static int list_cb(void *ctx, const struct dk_statement *s, uint64_t seq) {
  struct list_ctx *c = ctx;
  return c->cb(c->ctx, s);
}

int dk_node_statement_list(dk_node *n, int (*cb)(void *ctx, const struct dk_statement *s),
                           void *ctx) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  struct list_ctx c = {cb, ctx};
  rc = walk(&t, 'C', NULL, list_cb, &c);
  if (rc == 0)
    rc = walk(&t, 'R', NULL, list_cb, &c);
  if (rc == 0)
    rc = walk(&t, 'A', NULL, list_cb, &c);
  dk_store_read_end(&t);
  return rc;
}

/* ---- readers ---------------------------------------------------------------- */

int dk__trust_reader_ok(dk_node *n, struct dk_txn *t, const uint8_t key[DK_PK_BYTES],
                        const char *office) {
  uint8_t root[DK_PK_BYTES];
  if (dk__trust_root(t, root) != 0)
    return 1;
  char *cert_office = malloc(DK_NAME_BYTES_MAX);
  int ok = cert_office != NULL &&
           dk__trust_cert_valid(t, key, dk_node_now(n), cert_office, NULL) == 0 &&
           strcmp(cert_office, office) == 0;
  free(cert_office);
  return ok;
}

struct readers_ctx {
  dk_node *n;
  uint8_t (*readers)[DK_PK_BYTES];
  size_t *count;
  int auditors;
};

static int readers_cb(void *ctx, const struct dk_statement *s) {
  struct readers_ctx *c = ctx;
  int wanted = c->auditors ? covers(s->office, c->n->cfg.office) : above_me(c->n, s->office);
  if (!wanted || memcmp(s->key, c->n->pk, DK_PK_BYTES) == 0)
    return 0;
  for (size_t i = 0; i < *c->count; i++)
    if (memcmp(c->readers[i], s->key, DK_PK_BYTES) == 0)
      return 0;
  if (*c->count < DK_READERS_MAX)
    memcpy(c->readers[(*c->count)++], s->key, DK_PK_BYTES);
  return 0;
}

int dk__trust_readers_add(dk_node *n, struct dk_txn *t, uint8_t readers[][DK_PK_BYTES],
                          size_t *count) {
  uint8_t root[DK_PK_BYTES];
  int rc = dk__trust_root(t, root);
  if (rc == DK_ENOTFOUND)
    return 0;
  if (rc != 0)
    return rc;
  uint64_t now = dk_node_now(n);
  struct readers_ctx c = {n, readers, count, 0};
  rc = dk__trust_certs(t, now, readers_cb, &c);
  c.auditors = 1;
  if (rc == 0)
    rc = dk__trust_auditors(t, now, readers_cb, &c);
  return rc;
}

/* ---- ingest authorisation --------------------------------------------------- */

void dk__trust_batch_release(struct dk__trust_batch *b) {
  free(b->s);
  memset(b, 0, sizeof(*b));
}

int dk__trust_batch_add(struct dk__trust_batch *b, struct dk_txn *t, const struct dk_entry *e,
                        const char *office, const uint8_t *body, size_t body_len) {
  uint64_t type = e->h.type;
  if ((type != DK_ENTRY_CERT && type != DK_ENTRY_REVOKE) || body == NULL || office == NULL ||
      strchr(office, '/') != NULL)
    return 0;
  uint8_t root[DK_PK_BYTES];
  int rc = dk__trust_root(t, root);
  if (rc != 0)
    return rc == DK_ENOTFOUND ? 0 : rc;
  if (b->count == b->cap) {
    size_t ncap = b->cap ? b->cap * 2 : 8;
    void *p = realloc(b->s, ncap * sizeof(*b->s));
    if (p == NULL)
      return DK_ENOMEM;
    b->s = p;
    b->cap = ncap;
  }
  rc = dk_statement_open(type, body, body_len, root, &b->s[b->count]);
  if (rc == DK_ENOMEM)
    return rc;
  if (rc == 0)
    b->count++;
  return 0; /* not signed by our root: ignored here, as when indexed */
}

struct certified_ctx {
  const struct dk_office_info *office;
  uint64_t at;
  int any_time; /* the seq-1 office entry: a certificate at any time */
  int found;
  const struct dk_statement *match; /* the one found */
  struct dk_statement *held;        /* where the walk copies it */
};

static int cert_matches(struct certified_ctx *c, const struct dk_statement *s) {
  if (s->type != DK_ENTRY_CERT || strcmp(s->office, c->office->office) != 0 ||
      strcmp(s->role, c->office->role) != 0)
    return 0;
  return c->any_time || dk_statement_in_force(s, c->at);
}

static int certified_cb(void *ctx, const struct dk_statement *s, uint64_t seq) {
  struct certified_ctx *c = ctx;
  (void)seq;
  if (cert_matches(c, s)) {
    *c->held = *s;
    c->match = c->held;
    c->found = 1;
  }
  return c->found;
}

/* Is office strictly below a pinned relay (a street or district peer below
 * this node), which answers for the offices under it? */
struct relay_ctx {
  const char *office;
  const char *mine;
  int found;
};

static int strictly_covers(const char *a, const char *b) {
  size_t n = strlen(a);
  return strncmp(a, b, n) == 0 && b[n] == '/';
}

static int relay_cb(void *ctx, const struct dk_peer *p) {
  struct relay_ctx *c = ctx;
  if ((p->role == DK_OFFICE_STREET || p->role == DK_OFFICE_DISTRICT) &&
      strictly_covers(c->mine, p->office) && strictly_covers(p->office, c->office))
    c->found = 1;
  return c->found;
}

/* Without a root: pins decide. This node's own log; a pinned key (its office
 * was checked against the pin); the offices above this one and this office's
 * other keys, which only the parent sends; and the offices below a pinned
 * relay below this node (the street pinned its communities and refuses
 * anything else, so the district takes its word for them). The answer does
 * not depend on the entry. */
static int pins_authorise(dk_node *n, struct dk_txn *t, const uint8_t log[DK_PK_BYTES],
                          const struct dk_office_info *office) {
  if (memcmp(log, n->pk, DK_PK_BYTES) == 0)
    return 0;
  struct dk_peer p;
  if (dk__peer_by_key(n, t, log, &p) == 0)
    return strcmp(p.office, office->office) == 0 ? 0 : DK_EUNAUTH;
  if (dk_office_valid(office->office) && (strcmp(office->office, n->cfg.office) == 0 ||
                                          strictly_covers(office->office, n->cfg.office)))
    return 0;
  struct relay_ctx rc2 = {office->office, n->cfg.office, 0};
  int rc = dk__peers_iterate(t, relay_cb, &rc2);
  if (rc < 0)
    return rc;
  return rc2.found ? 0 : DK_EUNAUTH;
}

int dk__trust_log_authorised(dk_node *n, struct dk_txn *t, const struct dk__trust_batch *b,
                             const uint8_t log[DK_PK_BYTES], const struct dk_office_info *office,
                             const struct dk_header *h, struct dk__trust_memo *memo) {
  struct dk__trust_memo local = {0};
  struct dk__trust_memo *m = memo ? memo : &local;
  int rc;
  if (m->kind == 1)
    return m->answer;
  if (m->kind == 0) {
    uint8_t root[DK_PK_BYTES];
    rc = dk__trust_root(t, root);
    if (rc != 0 && rc != DK_ENOTFOUND)
      return rc;
    if (rc == DK_ENOTFOUND) {
      rc = pins_authorise(n, t, log, office);
      if (rc == 0 || rc == DK_EUNAUTH) {
        m->kind = 1;
        m->answer = rc;
      }
      return rc;
    }
    /* Revoked: the earliest revocation held or brought by this batch. */
    uint64_t r = 0;
    int has = dk__trust_revoked_at(t, log, &r) == 0;
    for (size_t i = 0; b && i < b->count; i++)
      if (b->s[i].type == DK_ENTRY_REVOKE && memcmp(b->s[i].key, log, DK_PK_BYTES) == 0 &&
          (!has || b->s[i].revoked_at_ms < r)) {
        r = b->s[i].revoked_at_ms;
        has = 1;
      }
    m->kind = 2;
    m->revoked_has = has;
    m->revoked_at_ms = r;
  }
  if (dk_revoked_by(m->revoked_has, m->revoked_at_ms, h->ts_ms))
    return DK_ECERT;
  /* Root statements carry their own authority (the root's signature, which
   * indexing checks): the district log's certificates, including the one
   * for the district's own key, are never refused for want of one. */
  if ((h->type == DK_ENTRY_CERT || h->type == DK_ENTRY_REVOKE || h->type == DK_ENTRY_AUDITOR) &&
      strchr(office->office, '/') == NULL)
    return 0;
  /* Nor its first entry, which only says whose log it is: the district's
   * log is where certificates come from, so it may begin before any names
   * its key. Its other entries (cases, witnesses, grants) need one. */
  if (h->seq == 1 && h->type == DK_ENTRY_OFFICE && strchr(office->office, '/') == NULL)
    return 0;
  /* The office entry at seq 1 is written at 'docket init', before the
   * district could certify the key: a certificate for that office at any
   * time covers it. Every later entry needs one in force at its time. A
   * certificate found for an earlier entry of the run is tried first. */
  struct certified_ctx c = {office, h->ts_ms, h->seq == 1 && h->type == DK_ENTRY_OFFICE, 0,
                            NULL, NULL};
  if (m->cert_has &&
      (c.any_time || (m->cert_not_before_ms <= c.at && c.at < m->cert_not_after_ms)))
    return 0;
  for (size_t i = 0; b && i < b->count && !c.found; i++)
    if (memcmp(b->s[i].key, log, DK_PK_BYTES) == 0 && cert_matches(&c, &b->s[i])) {
      c.found = 1;
      c.match = &b->s[i];
    }
  struct dk_statement held;
  if (!c.found) {
    c.held = &held;
    rc = walk(t, 'C', log, certified_cb, &c);
    if (rc < 0)
      return rc;
  }
  if (!c.found)
    return DK_EUNAUTH;
  m->cert_has = 1;
  m->cert_not_before_ms = c.match->not_before_ms;
  m->cert_not_after_ms = c.match->not_after_ms;
  return 0;
}

/* ---- what is held but not authorised ----------------------------------------- */

/* Checks the entry of log at seq (0: fine, DK_EUNAUTH/DK_ECERT, or an error). */
static int entry_authorised(dk_node *n, struct dk_txn *t, const uint8_t *log,
                            const struct dk_office_info *office, uint64_t seq) {
  struct dk_entry e;
  int rc = dk_log_read(t, log, seq, &e, NULL, NULL);
  if (rc != 0)
    return rc;
  return dk__trust_log_authorised(n, t, NULL, log, office, &e.h, NULL);
}

int dk__trust_relay_cap(dk_node *n, struct dk_txn *t, const uint8_t log[DK_PK_BYTES],
                        const struct dk_office_info *office, uint64_t head_seq, uint64_t *cap,
                        int *why) {
  *cap = head_seq;
  *why = 0;
  if (head_seq == 0 || memcmp(log, n->pk, DK_PK_BYTES) == 0)
    return 0;
  int rc = entry_authorised(n, t, log, office, 1);
  if (rc == DK_EUNAUTH || rc == DK_ECERT) {
    *cap = 0;
    *why = rc;
    return 0;
  }
  if (rc != 0 || head_seq == 1)
    return rc == DK_ENOTFOUND ? 0 : rc;
  rc = entry_authorised(n, t, log, office, head_seq);
  if (rc == 0 || (rc != DK_EUNAUTH && rc != DK_ECERT))
    return rc == DK_ENOTFOUND ? 0 : rc;
  *why = rc;
  /* Times never go back within a log, and what ingest lets in is a prefix
   * in force (a revocation learnt late cuts the tail): the last authorised
   * entry, by bisection between seq 1 (fine) and the head (not). */
  uint64_t lo = 1, hi = head_seq;
  while (hi - lo > 1) {
    uint64_t mid = lo + (hi - lo) / 2;
    rc = entry_authorised(n, t, log, office, mid);
    if (rc == 0)
      lo = mid;
    else if (rc == DK_EUNAUTH || rc == DK_ECERT)
      hi = mid;
    else
      return rc;
  }
  *cap = lo;
  return 0;
}

int dk_node_unauthorised_logs(dk_node *n,
                              int (*cb)(void *ctx, const struct dk_unauthorised_log *u),
                              void *ctx) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  struct dk_iter it;
  rc = dk_iter_open(&t, DK_T_LOGS, NULL, 0, &it);
  if (rc != 0)
    goto out;
  const uint8_t *k, *v;
  size_t klen, vlen;
  struct dk_unauthorised_log u;
  while ((rc = dk_iter_next(&it, &k, &klen, &v, &vlen)) == 0) {
    struct dk_office_info info;
    struct dk_head h;
    if (klen != DK_PK_BYTES || dk_office_body_decode(v, vlen, &info) != 0 ||
        dk_log_head(&t, k, &h) != 0 || h.seq == 0)
      continue; /* damage: verify reports it elsewhere */
    uint64_t cap;
    int why;
    rc = dk__trust_relay_cap(n, &t, k, &info, h.seq, &cap, &why);
    if (rc != 0)
      break;
    if (cap == h.seq)
      continue;
    memset(&u, 0, sizeof(u));
    memcpy(u.log, k, DK_PK_BYTES);
    memcpy(u.office, info.office, DK_NAME_BYTES_MAX);
    u.first_seq = cap + 1;
    u.head_seq = h.seq;
    u.why = why;
    rc = cb(ctx, &u);
    if (rc != 0)
      break;
  }
  dk_iter_close(&it);
  if (rc == DK_ENOTFOUND)
    rc = 0;
out:
  dk_store_read_end(&t);
  return rc;
}
