/*
 * Test support shared by the C tests that drive real nodes (include after
 * cmocka.h): node creation in a directory, and moving a log's entries from
 * one node to another by hand, as the sync core does.
 */
#ifndef DK_TEST_NODE_FIXTURE_H
#define DK_TEST_NODE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/node.h"

#define PASS "pw"

static dk_node *make(const char *root, const char *name, const char *office,
                     enum dk_office_role role, const char *code) {
  char dir[128];
  snprintf(dir, sizeof(dir), "%s/%s", root, name);
  struct dk_node_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  strcpy(cfg.office, office);
  strcpy(cfg.code, code);
  cfg.role = role;
  uint8_t pk[DK_PK_BYTES];
  assert_int_equal(dk_node_create(dir, &cfg, PASS, strlen(PASS), pk), 0);
  dk_node *n = NULL;
  assert_int_equal(dk_node_open(dir, PASS, strlen(PASS), &n), 0);
  return n;
}

/* Pins peer at node at (its key, office and role), as 'docket peer add'
 * does: without a root, a node stores only logs it pinned or that a pinned
 * relay below it vouches for. */
static inline void pin(dk_node *at, dk_node *peer) {
  struct dk_peer p;
  memset(&p, 0, sizeof(p));
  const struct dk_node_config *cfg = dk_node_config(peer);
  snprintf(p.name, sizeof(p.name), "%s", cfg->code);
  memcpy(p.key, dk_node_pk(peer), DK_PK_BYTES);
  strcpy(p.office, cfg->office);
  p.role = cfg->role;
  assert_int_equal(dk_node_peer_add(at, &p), 0);
}

/* Copies of entries read from a node, so they outlive the read. */
struct batch {
  struct dk_raw_entry e[256];
  uint8_t *mem[256];
  size_t n;
};

static int collect(void *ctx, const struct dk_raw_entry *e) {
  struct batch *b = ctx;
  size_t len = e->header_len + DK_SIG_BYTES + e->body_len;
  uint8_t *m = malloc(len);
  memcpy(m, e->header, e->header_len);
  memcpy(m + e->header_len, e->sig, DK_SIG_BYTES);
  if (e->body)
    memcpy(m + e->header_len + DK_SIG_BYTES, e->body, e->body_len);
  b->mem[b->n] = m;
  b->e[b->n].header = m;
  b->e[b->n].header_len = e->header_len;
  b->e[b->n].sig = m + e->header_len;
  b->e[b->n].body = e->body ? m + e->header_len + DK_SIG_BYTES : NULL;
  b->e[b->n].body_len = e->body_len;
  b->n++;
  return 0;
}

static void batch_free(struct batch *b) {
  for (size_t i = 0; i < b->n; i++)
    free(b->mem[i]);
  b->n = 0;
}

/* Moves every entry of `from`'s own log (from seq `since`) into `to`. */
static int move_log(dk_node *from, dk_node *to, uint64_t since, struct dk_ingest_stats *st) {
  struct batch b = {0};
  assert_int_equal(dk_node_log_read(from, dk_node_pk(from), since, 256, 1 << 20, collect, &b), 0);
  int rc = dk_node_ingest(to, b.e, b.n, st);
  batch_free(&b);
  return rc;
}

static void open_case(dk_node *n, const char *summary, const char *party, uint8_t id[32]) {
  struct dk_event ev;
  dk_event_init(&ev);
  ev.type = DK_EVENT_OPEN;
  ev.kind = DK_KIND_DISPUTE;
  ev.at_ms = dk_node_now(n);
  ev.text = (char *)summary;
  char *parties[1] = {(char *)party};
  ev.parties = parties;
  ev.parties_count = 1;
  char number[DK_CASE_NUMBER_BYTES];
  assert_int_equal(dk_node_case_open(n, &ev, id, number), 0);
}

#endif
