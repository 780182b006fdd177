/*
 * What the sync protocol needs from a node's store, and nothing more.
 *
 * The sync state machine (sync.h) reaches the store only through this table
 * of functions, so that it runs unchanged over the LMDB node (node_store.c,
 * in production and the multi-process tests) and over the in-memory store of
 * the deterministic simulator. Every call is synchronous and returns 0 or a
 * DK_E* code.
 *
 * Borrowed views (struct dk_wire_entry passed to a callback) are valid only
 * for the duration of that callback.
 */
#ifndef DK_SYNC_STORE_H
#define DK_SYNC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "crypto/crypto.h"

/* One entry as it travels: the signed header bytes, the signature, and the
 * body (NULL when erased; the header still binds its length and hash). */
struct dk_wire_entry {
  const uint8_t *header;
  size_t header_len;
  const uint8_t *sig; /* DK_SIG_BYTES */
  const uint8_t *body;
  size_t body_len;
};

struct dk_sync_head {
  uint8_t log[DK_PK_BYTES];
  uint64_t seq; /* 0: the log is not held */
  uint8_t id[DK_HASH_BYTES];
};

struct dk_ingest_result {
  size_t stored;     /* new entries now durable */
  size_t duplicates; /* already held, same id: skipped */
  size_t forks;      /* a different signed entry held that position: proof kept, skipped */
  size_t refused;    /* their log is not authorised here: not stored, the rest of the batch is */
};

struct dk_sync_store {
  void *ctx;

  /* Calls cb for every log held, in log-key order, with its head and the
   * office path from its seq-1 office entry. A non-zero return from cb stops
   * the walk and is returned. */
  int (*heads)(void *ctx,
               int (*cb)(void *cbctx, const struct dk_sync_head *h, const char *office),
               void *cbctx);

  /* Head of one log; seq 0 when the log is not held. */
  int (*head)(void *ctx, const uint8_t log[DK_PK_BYTES], struct dk_sync_head *out);

  /* Calls cb for the entries of log from seq `from` on, in order, stopping
   * after max_entries entries or once max_bytes (headers + sigs + bodies)
   * are reached; at least one entry when any exists. */
  int (*read)(void *ctx, const uint8_t log[DK_PK_BYTES], uint64_t from, size_t max_entries,
              size_t max_bytes, int (*cb)(void *cbctx, const struct dk_wire_entry *e),
              void *cbctx);

  /* Checks and stores a batch in ONE durable commit. Entries may belong to
   * several logs; within a log they must be in seq order without gaps.
   * Checks, before anything is stored: canonical header encoding; each
   * entry links to the head held (or to the batch's previous entry of that
   * log) with non-decreasing time; each body present matches the signed
   * length and hash; the signature of the last entry of each log's run in
   * the batch (which, with the links, authenticates the whole run).
   * Entries already held with the same id are skipped (duplicates). An entry
   * whose position is held by a different entry is, if its own signature
   * verifies, kept as a fork proof and skipped; the log is flagged.
   * Entries of a log that is not authorised at the receiver (no
   * certificate for the office it claims at the entry's time, a revoked
   * key) are refused and counted, and the rest of the batch is stored.
   * Any other failure stores nothing and returns its code (DK_EBADSIG,
   * DK_EBADLINK, DK_ETIME, DK_EBADBODY, DK_EFORMAT, ...). What the node
   * derives (case states) follows later, on the node's own time: the
   * transport runs the node's indexer between bursts. */
  int (*ingest)(void *ctx, const struct dk_wire_entry *entries, size_t n,
                struct dk_ingest_result *res);

  /* A parent node records that it has checked a child's log up to its
   * current head (the witness entry replicates with the parent's log).
   * Called by the sync core when a child's own log advanced in a session. */
  int (*witness)(void *ctx, const uint8_t log[DK_PK_BYTES]);

  /* Optional (NULL: none). The store's change mark as a reader sees it now:
   * it moves with every commit, and never runs ahead of what heads() called
   * after it returns (for LMDB, the id of the last transaction a new reader
   * sees, which lags the meta page's id for a moment after each commit).
   * dk_sync_poll() compares a polled mark with it. */
  uint64_t (*mark)(void *ctx);
};

/*
 * Replication scope (DESIGN.md §5). Office paths are '/'-separated; an
 * office is in its own subtree.
 *   - to a peer above (the peer's office is a proper ancestor of mine): the
 *     logs of offices in my subtree (the part of the peer's subtree that I
 *     answer for; the offices above me are the peer's to send, and a
 *     sibling's logs never reach me), so that both sides can tell exactly
 *     which logs the sender can hold;
 *   - to a peer below (mine is a proper ancestor of the peer's): the logs of
 *     offices that are proper ancestors of the peer's office;
 *   - to anyone else: nothing.
 * Returns 1 when a log written by log_office goes from me to the peer.
 */
int dk_scope_sends(const char *my_office, const char *peer_office, const char *log_office);

/* The whole rule for one log, as sync applies it (docs/protocol-sync.md §1):
 * dk_scope_sends, plus, to a lower office, the logs of that office written
 * by other keys than its own (a node it replaced); a log that qualifies both
 * ways goes up only when it is the lower node's own log. Returns 1 when the
 * log (key log, office log_office) goes from me to the peer. */
int dk_scope_sends_log(const char *my_office, const uint8_t my_pk[DK_PK_BYTES],
                       const char *peer_office, const uint8_t peer_pk[DK_PK_BYTES],
                       const uint8_t log[DK_PK_BYTES], const char *log_office);

/* 1 when a is b or an ancestor of b ("zhanhe/beidu" covers
 * "zhanhe/beidu/lanxin", not "zhanhe/beidux"). */
int dk_office_covers(const char *a, const char *b);

#endif
