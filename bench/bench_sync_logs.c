/*
 * bench_sync_logs PARENT COUNT DIR...
 *
 * Gives every node DIR the same COUNT community logs below the office
 * PARENT (e.g. zhanhe/beidu): COUNT identities made from fixed seeds, each
 * with its signed seq-1 office entry (PARENT/cNNNNN), stored through
 * dk_node_ingest in batches, as a sync would store them. The nodes are made
 * by `docket init`; the passphrase comes from DOCKET_PASSPHRASE. Each log is
 * pinned at every node, as a street pins its communities. This builds
 * the setting of the idle-sync figure of scripts/bench.sh (a district and a
 * street that already hold the same logs); it measures nothing itself.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "node/log/entry.h"
#include "node/node.h"

#define BATCH_ENTRIES 64 /* dk_node_ingest takes at most 64 logs a batch */
#define DIRS_MAX 4
#define T_2025 1735689600000ull

static int fail(const char *what, int rc) {
  fprintf(stderr, "bench_sync_logs: %s: %s\n", what, dk_strerror(rc));
  return 1;
}

/* One log's office entry: header, signature and body, owned. */
struct made {
  struct dk_entry e;
  struct dk_buf body;
};

static int make_log(const char *parent, size_t i, struct made *m) {
  uint8_t seed[DK_SEED_BYTES];
  /* A fixed seed per log: reruns make the same logs. */
  crypto_generichash(seed, sizeof(seed), (const uint8_t *)&i, sizeof(i),
                     (const uint8_t *)"bench_sync_logs", 15);
  struct dk_identity id;
  memset(&id, 0, sizeof(id));
  int rc = dk_identity_from_seed(&id, seed);
  if (rc != 0)
    return rc;
  struct dk_office_info info;
  memset(&info, 0, sizeof(info));
  snprintf(info.office, sizeof(info.office), "%s/c%05zu", parent, i);
  strcpy(info.role, "community");
  snprintf(info.code, sizeof(info.code), "C%zu", i);
  dk_buf_release(&m->body);
  dk_buf_init(&m->body);
  rc = dk_office_body_encode(&info, &m->body);
  if (rc == 0) {
    struct dk_header h;
    memset(&h, 0, sizeof(h));
    h.version = DK_ENTRY_VERSION;
    memcpy(h.log, id.pk, DK_PK_BYTES);
    h.seq = 1;
    h.ts_ms = T_2025 + i;
    h.type = DK_ENTRY_OFFICE;
    h.body_bytes = m->body.len;
    dk_hash_plain(m->body.data, m->body.len, h.body_hash);
    rc = dk_entry_seal(&m->e, &h, &id);
  }
  dk_identity_release(&id);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 4 || argc - 3 > DIRS_MAX) {
    fprintf(stderr, "usage: bench_sync_logs PARENT COUNT DIR...\n");
    return 2;
  }
  if (sodium_init() < 0)
    return 1;
  const char *parent = argv[1];
  size_t count = strtoul(argv[2], NULL, 10);
  const char *pass = getenv("DOCKET_PASSPHRASE");
  if (count == 0 || count > 99999 || pass == NULL || !dk_office_valid(parent))
    return 2;
  int ndirs = argc - 3;
  dk_node *nodes[DIRS_MAX];
  for (int d = 0; d < ndirs; d++) {
    int rc = dk_node_open(argv[3 + d], pass, strlen(pass), &nodes[d]);
    if (rc != 0)
      return fail(argv[3 + d], rc);
  }
  struct made *m = calloc(BATCH_ENTRIES, sizeof(*m));
  struct dk_raw_entry *raw = calloc(BATCH_ENTRIES, sizeof(*raw));
  if (m == NULL || raw == NULL)
    return fail("memory", DK_ENOMEM);
  for (size_t i = 0; i < BATCH_ENTRIES; i++)
    dk_buf_init(&m[i].body);
  size_t stored = 0;
  for (size_t first = 0; first < count; first += BATCH_ENTRIES) {
    size_t k = count - first < BATCH_ENTRIES ? count - first : BATCH_ENTRIES;
    for (size_t i = 0; i < k; i++) {
      int rc = make_log(parent, first + i, &m[i]);
      if (rc != 0)
        return fail("make log", rc);
      raw[i] = (struct dk_raw_entry){m[i].e.header_bytes, m[i].e.header_len, m[i].e.sig,
                                     m[i].body.data, m[i].body.len};
    }
    for (int d = 0; d < ndirs; d++) {
      /* Pinned, as a street pins its communities: without a root a node
       * stores (and offers) only the logs its pins authorise. */
      for (size_t i = 0; i < k; i++) {
        struct dk_peer p;
        memset(&p, 0, sizeof(p));
        snprintf(p.name, sizeof(p.name), "c%05zu", first + i);
        memcpy(p.key, m[i].e.h.log, DK_PK_BYTES);
        snprintf(p.office, sizeof(p.office), "%s/c%05zu", parent, first + i);
        p.role = DK_OFFICE_COMMUNITY;
        int rc = dk_node_peer_add(nodes[d], &p);
        if (rc != 0 && rc != DK_EEXIST)
          return fail("pin", rc);
      }
      struct dk_ingest_stats st;
      int rc = dk_node_ingest(nodes[d], raw, k, &st);
      if (rc != 0)
        return fail("ingest", rc);
      if (st.refused)
        return fail("ingest refused a log", st.refused_why);
      stored += st.stored;
    }
  }
  fprintf(stderr, "bench_sync_logs: %zu logs under %s, %zu entries newly stored in %d nodes\n",
          count, parent, stored, ndirs);
  for (size_t i = 0; i < BATCH_ENTRIES; i++)
    dk_buf_release(&m[i].body);
  free(m);
  free(raw);
  for (int d = 0; d < ndirs; d++)
    dk_node_close(nodes[d]);
  return 0;
}
