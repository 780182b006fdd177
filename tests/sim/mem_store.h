/*
 * An in-memory node store that implements struct dk_sync_store faithfully,
 * for the simulator, the sync unit tests and the sync fuzz target.
 *
 * It holds real entries (signed headers, signatures, bodies) per log, sorted
 * by log key; every ingest runs all the checks of the contract in
 * sync_store.h with the node/log/entry.h functions and is one "commit": it
 * stores all of a batch or nothing. Fork proofs are kept. The store owns all
 * its memory; the identity passed to init is borrowed and must outlive it.
 * Not thread-safe; no globals.
 */
#ifndef DK_TEST_MEM_STORE_H
#define DK_TEST_MEM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "node/log/entry.h"
#include "replication/sync_store.h"

struct mem_entry {
  uint8_t *header; /* malloc */
  size_t header_len;
  uint8_t sig[DK_SIG_BYTES];
  uint8_t *body; /* malloc, NULL when erased */
  size_t body_len;
  uint8_t id[DK_HASH_BYTES];
  uint64_t seq;
  uint64_t ts_ms;
};

struct mem_log {
  uint8_t pk[DK_PK_BYTES];
  char office[DK_NAME_BYTES_MAX];
  struct mem_entry *entries; /* entries[i] has seq i + 1 */
  size_t count;
  size_t cap;
  int forked;
  uint64_t witnessed_seq; /* the last head of this log we witnessed */
};

struct mem_fork_proof {
  uint8_t log[DK_PK_BYTES];
  uint64_t seq;
  uint8_t id[DK_HASH_BYTES]; /* the other entry's id */
};

struct mem_store {
  const struct dk_identity *me; /* borrowed */
  char office[DK_NAME_BYTES_MAX];
  struct mem_log *logs; /* sorted by pk */
  size_t logs_count;
  size_t logs_cap;
  struct mem_fork_proof *forks;
  size_t forks_count;
  uint64_t commits;       /* successful ingests and appends */
  uint64_t entries_total; /* entries held, all logs */
  uint64_t ingest_calls;
  uint64_t witness_calls;
  int fail_ingest_with; /* test hook: when non-zero, the next ingest fails with it */
  /* Test hook: the last `unseen_tail` entries of this node's own log (one
   * commit each) are committed but not yet visible to readers, as in LMDB's
   * moment between a commit's meta page and its publication to readers:
   * heads, head, read and mark act as if they were absent. */
  size_t unseen_tail;
};

/* Creates the store with my own log (office entry at seq 1, time ts_ms). */
int mem_store_init(struct mem_store *st, const struct dk_identity *me, const char *office,
                   const char *role, uint64_t ts_ms);
void mem_store_release(struct mem_store *st);

/* Appends an entry of type DK_ENTRY_CASE_OPEN with the given body to my log
 * (one commit). */
int mem_store_append(struct mem_store *st, uint64_t ts_ms, const uint8_t *body, size_t len);

/* Fills in the function table over st. */
void mem_store_iface(struct mem_store *st, struct dk_sync_store *out);

/* The log with key pk, or NULL. */
struct mem_log *mem_store_log(struct mem_store *st, const uint8_t pk[DK_PK_BYTES]);

/* Copies every entry of src's log pk into st without checks (test setup). */
int mem_store_copy_log(struct mem_store *st, const struct mem_store *src,
                       const uint8_t pk[DK_PK_BYTES]);

/* Re-verifies everything held: encoding, ids, links, times, bodies and every
 * signature (sig_checks counts them). Returns 0 or the first failure. */
int mem_store_verify_all(const struct mem_store *st, uint64_t *sig_checks);

/* Creates a log of another identity with its office entry and `extra` more
 * entries (test setup; not a commit of st's node). */
int mem_store_make_log(struct mem_store *st, const struct dk_identity *author, const char *office,
                       size_t extra, uint64_t ts_ms);

#endif
