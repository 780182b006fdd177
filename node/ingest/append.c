/*
 * Local events into the own log: opening a case and appending to one. Each
 * write seals the case key to its readers (node/trust/grants.c), appends the
 * entry (node/log/log.c) and updates the case tables (node/cases/tables.c).
 */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "node/cases/cases_int.h"
#include "node/log/log.h"
#include "node/log/log_int.h"
#include "node/node_int.h"
#include "node/trust/trust_int.h"

static int need_unlocked(const dk_node *n) { return n->unlocked ? 0 : DK_ENOKEY; }

/* ---- open and append ---------------------------------------------------- */

/* Writes one open entry for ev (number already assigned) under key, and
 * everything derived from it. grants may be precomputed (bulk) or NULL. */
static int write_open(dk_node *n, struct dk_txn *t, struct dk_event *ev, const uint8_t *key,
                      const struct dk_grant *grants_in, size_t grants_count,
                      struct dk_case_state *s) {
  struct dk_buf *pt = &n->scratch_event, body;
  struct dk_grant grants[DK_READERS_MAX];
  struct dk_entry e;
  uint64_t seq;
  dk_buf_reset(pt);
  dk_buf_init(&body);
  int rc = dk_event_encode(ev, pt);
  if (rc != 0)
    goto out;
  if (grants_in == NULL) {
    uint8_t readers[DK_READERS_MAX][DK_PK_BYTES];
    size_t nreaders = 0;
    rc = dk__case_readers(n, t, readers, &nreaders);
    if (rc == 0)
      rc = dk__seal_grants(n, readers, nreaders, key, grants, &grants_count);
    if (rc != 0)
      goto out;
    grants_in = grants;
  }
  rc = dk__own_log_writable(t); /* a restored node first gets its log back */
  if (rc == 0)
    rc = dk_grants_write(grants_in, grants_count, &body);
  if (rc == 0)
    rc = dk_log_next_seq(t, n->pk, &seq);
  if (rc == 0)
    rc = dk_body_seal(key, n->pk, seq, pt->data, pt->len, &body);
  dk_buf_reset(pt);
  if (rc == 0)
    rc = dk_log_append(t, &n->id, DK_ENTRY_CASE_OPEN, NULL, body.data, body.len,
                       dk_node_now(n), &e);
  if (rc != 0)
    goto out;
  memcpy(ev->id, e.id, DK_HASH_BYTES);
  memcpy(ev->author, n->pk, DK_PK_BYTES);
  ev->seq = e.h.seq;
  ev->ts_ms = e.h.ts_ms;
  rc = dk_case_apply(s, &n->case_cfg, ev);
  if (rc != 0)
    goto out;
  memcpy(s->id, e.id, DK_HASH_BYTES);
  rc = dk__grants_record(t, e.id, grants_in, grants_count);
  uint64_t pos;
  if (rc == 0)
    rc = dk_log_pos(t, e.h.log, e.h.seq, &pos);
  if (rc == 0)
    rc = dk_log_case_open_put(t, e.id, pos);
  if (rc != 0)
    goto out;
  uint8_t nk[DK_HASH_BYTES];
  dk__number_key(n, ev->number, nk);
  rc = dk_txn_put(t, DK_T_NUMBERS, nk, sizeof(nk), e.id, DK_HASH_BYTES);
  if (rc == 0)
    rc = dk__case_key_save(n, t, e.id, key);
  if (rc == 0)
    rc = dk__case_events_put(t, e.id, &e);
out:
  dk_buf_reset(pt);
  dk_buf_release(&body);
  return rc;
}

/* Appends ev (deps set from s) to case s under key and applies it. */
static int write_event(dk_node *n, struct dk_txn *t, struct dk_case_state *s, struct dk_event *ev,
                       const uint8_t *key) {
  struct dk_buf *pt = &n->scratch_event, body;
  struct dk_entry e;
  uint64_t seq;
  dk_buf_reset(pt);
  dk_buf_init(&body);
  /* deps = the case frontier; the event then folds incrementally. */
  free(ev->deps);
  ev->deps = NULL;
  ev->deps_count = 0;
  int rc = DK_ENOMEM;
  size_t nd = s->frontier_count > DK_DEPS_MAX ? DK_DEPS_MAX : s->frontier_count;
  if (nd) {
    ev->deps = malloc(nd * DK_CASE_ID_BYTES);
    if (ev->deps == NULL)
      goto out;
    /* The frontier is ascending; with more heads than fit, the newest win
     * and the fold still orders by what it knows. */
    memcpy(ev->deps, s->frontier + (s->frontier_count - nd), nd * DK_CASE_ID_BYTES);
    ev->deps_count = nd;
  }
  rc = dk_case_check(s, ev);
  if (rc == 0)
    rc = dk__own_log_writable(t); /* a restored node first gets its log back */
  if (rc == 0)
    rc = dk_event_encode(ev, pt);
  if (rc == 0)
    rc = dk_log_next_seq(t, n->pk, &seq);
  if (rc == 0)
    rc = dk_body_seal(key, n->pk, seq, pt->data, pt->len, &body);
  dk_buf_reset(pt);
  if (rc == 0)
    rc = dk_log_append(t, &n->id, DK_ENTRY_CASE_EVENT, s->id, body.data, body.len,
                       dk_node_now(n), &e);
  if (rc != 0)
    goto out;
  memcpy(ev->id, e.id, DK_HASH_BYTES);
  memcpy(ev->author, n->pk, DK_PK_BYTES);
  ev->seq = e.h.seq;
  ev->ts_ms = e.h.ts_ms;
  rc = dk_case_apply(s, &n->case_cfg, ev);
  if (rc == 0)
    rc = dk__case_events_put(t, s->id, &e);
out:
  dk_buf_reset(pt);
  dk_buf_release(&body);
  return rc;
}

struct open_ctx {
  dk_node *n;
  struct dk_event *ev;
  char number[DK_CASE_NUMBER_BYTES];
  uint8_t case_id[DK_HASH_BYTES];
};

static int open_fn(struct dk_txn *t, void *arg) {
  struct open_ctx *c = arg;
  dk_node *n = c->n;
  struct dk_case_state s;
  char *given = c->ev->number;
  dk_case_state_init(&s);
  uint8_t *key = n->tmp_keys; /* slot 0: the new case's key */
  randombytes_buf(key, DK_SYMKEY_BYTES);
  uint64_t first_pos;
  int rc = dk_log_end(t, &first_pos);
  if (rc == 0)
    rc = dk__assign_number(n, t, c->ev, c->number);
  if (rc == 0)
    rc = dk_case_check(&s, c->ev);
  if (rc == 0)
    rc = write_open(n, t, c->ev, key, NULL, 0, &s);
  if (rc == 0)
    rc = dk__case_state_save(n, t, &s);
  if (rc == 0)
    rc = dk__index_local(t, first_pos);
  if (rc == 0)
    memcpy(c->case_id, s.id, DK_HASH_BYTES);
  c->ev->number = given; /* restartable: the caller's pointer is back */
  sodium_memzero(key, DK_SYMKEY_BYTES);
  dk_case_state_release(&s);
  return rc;
}

int dk_node_case_open(dk_node *n, struct dk_event *ev, uint8_t case_id[DK_HASH_BYTES],
                      char number[DK_CASE_NUMBER_BYTES]) {
  int rc = need_unlocked(n);
  if (rc != 0)
    return rc;
  if (ev->type != DK_EVENT_OPEN)
    return DK_EINVAL;
  char *office = ev->office;
  ev->office = n->cfg.office;
  struct open_ctx c = {n, ev, {0}, {0}};
  /* Check the fields before taking the writer lock. */
  char *given = ev->number;
  if (given == NULL || given[0] == 0)
    ev->number = "X-0000-0000";
  rc = dk_event_validate(ev);
  if (rc == 0)
    rc = dk_event_check_new(ev);
  ev->number = given;
  if (rc == 0)
    rc = dk_store_write(n->store, open_fn, &c);
  ev->office = office;
  if (rc == 0) {
    memcpy(case_id, c.case_id, DK_HASH_BYTES);
    strcpy(number, c.number);
  }
  return rc;
}

struct append_ctx {
  dk_node *n;
  const uint8_t *case_id;
  struct dk_event *ev;
};

static int append_fn(struct dk_txn *t, void *arg) {
  struct append_ctx *c = arg;
  struct dk_case_state s;
  dk_case_state_init(&s);
  uint8_t *key = c->n->tmp_keys; /* slot 0 */
  uint64_t first_pos;
  int rc = dk_log_end(t, &first_pos);
  if (rc == 0)
    rc = dk__case_state_load(c->n, t, c->case_id, &s);
  if (rc == 0)
    rc = dk__case_key_load(c->n, t, c->case_id, key);
  if (rc == 0)
    rc = write_event(c->n, t, &s, c->ev, key);
  if (rc == 0)
    rc = dk__case_state_save(c->n, t, &s);
  if (rc == 0)
    rc = dk__index_local(t, first_pos);
  sodium_memzero(key, DK_SYMKEY_BYTES);
  dk_case_state_release(&s);
  return rc;
}

int dk_node_case_append(dk_node *n, const uint8_t case_id[DK_HASH_BYTES], struct dk_event *ev) {
  int rc = need_unlocked(n);
  if (rc != 0)
    return rc;
  if (ev->type == DK_EVENT_OPEN)
    return DK_EINVAL;
  rc = dk_event_validate(ev);
  if (rc == 0)
    rc = dk_event_check_new(ev);
  if (rc != 0)
    return rc;
  struct append_ctx c = {n, case_id, ev};
  return dk_store_write(n->store, append_fn, &c);
}
