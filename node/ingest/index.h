/*
 * Indexers: derived state that follows the log.
 *
 * Ingest only appends to the log (node/log/log.h). The case indexer then reads
 * the entries from its cursor (the first position it has not indexed, kept
 * in the indexers table) to the end of the log, in transactions of its own
 * of up to DK_INDEX_BATCH_ENTRIES entries, and maintains from them:
 * the case-open map, the case-event index, grants, the case keys sealed to
 * this node, the case states and numbers (each touched case folded once per
 * transaction), and erasures. Everything it writes can be rebuilt from the
 * log alone (dk_node_index_rebuild), and dk_node_index_check compares a
 * rebuild with what is stored.
 *
 * The trust view, the logs' office blocks and fork proofs stay on the
 * ingest path: the checks of later entries of the same batch depend on them,
 * and they are rare.
 *
 * Local writes (case open, append, erasure, bulk load) index their own
 * entries in their transaction, so that `case show` sees them at once; they
 * call dk__index_local() to move the cursor past them when it had reached
 * them.
 */
#ifndef DK_INDEX_H
#define DK_INDEX_H

#include <stdint.h>

#include "node/node.h"
#include "node/store/store.h"

/* Indexes what the log holds past the cursor: to the end, in as many
 * transactions as it takes. */
int dk_node_index_run(dk_node *n);

/* One transaction of dk_node_index_run() (DK_INDEX_BATCH_ENTRIES entries):
 * *more is set when the indexer is still behind the log after it, so that
 * a caller on an event loop can do other work (answer its peer) between
 * steps. */
int dk_node_index_step(dk_node *n, int *more);

/* With on set, dk_node_ingest() only appends to the log and the caller runs
 * dk_node_index_run() when a burst is over (a sync session, when it has
 * caught up), so that the case tables are written once per burst rather
 * than once per batch. Off (the default), ingest indexes after each commit. */
void dk_node_index_defer(dk_node *n, int on);

/* How far the case indexer is behind the log, in entries (0: caught up). */
int dk_node_index_lag(dk_node *n, uint64_t *entries);

/* Throws away every derived table the indexer maintains and indexes the
 * whole log again. Case keys are kept (a locked node, or a key wrapped
 * only to an earlier key of this office, could not get them back) and
 * re-derived where the log holds a grant to this node. */
int dk_node_index_rebuild(dk_node *n);

/* A difference between the stored derived state and a rebuild from the log. */
struct dk_index_diff {
  const char *table;           /* "cases", "case_events", "numbers", ... */
  const uint8_t *key;          /* the row's key (borrowed) */
  size_t key_len;
  const uint8_t *case_id;      /* the case it concerns, or NULL */
  const char *what;            /* "missing", "extra", "differs" */
};
/* Rebuilds in the store's shadow tables (node/store/store.h), in
 * transactions of DK_INDEX_BATCH_ENTRIES entries, compares the shadows with
 * the stored tables, reports every row that differs, and empties the
 * shadows; *count gets how many rows differ. progress (may be NULL) is told
 * how far the rebuild has got in log positions. Needs the node unlocked
 * (states are compared decrypted: their ciphertext has a random nonce). */
int dk_node_index_check(dk_node *n, void (*cb)(void *ctx, const struct dk_index_diff *d),
                        void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx,
                        uint64_t *count);

/* ---- private to node/ ---- */

/* Indexes up to max entries from the cursor within t; *done gets how many. */
int dk__index_txn(dk_node *n, struct dk_txn *t, uint64_t max, uint64_t *done);
/* The indexer's cursor (dk__index_cursor, ...): node/cases/cases_int.h. */

#endif
