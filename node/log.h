/*
 * Append-only logs in the store: heads, appends, reads with verification.
 *
 * Every function takes an open transaction (see store.h) and does no
 * commit of its own, so callers group many appends into one commit.
 * Reads that trust data recompute the entry id and compare it with the id
 * index, because LMDB keeps no checksums.
 */
#ifndef DK_LOG_H
#define DK_LOG_H

#include "node/entry.h"
#include "node/store.h"

struct dk_head {
  uint64_t seq; /* 0 for an empty log */
  uint8_t id[DK_HASH_BYTES];
  uint64_t ts_ms;
};

int dk_log_head(struct dk_txn *t, const uint8_t log[DK_PK_BYTES], struct dk_head *out);

/* Builds, signs and stores the next entry of signer's log: seq, prev and
 * a timestamp of max(now_ms, head ts). The body is stored as given, its
 * length and hash go into the header. body_seq_out tells the caller, before
 * the body is built, which seq it will be bound to: see dk_log_next_seq(). */
int dk_log_append(struct dk_txn *t, const struct dk_identity *signer, uint64_t type,
                  const uint8_t *case_id, const uint8_t *body, size_t body_len, uint64_t now_ms,
                  struct dk_entry *out);

/* The seq the next append to log will get (head + 1). */
int dk_log_next_seq(struct dk_txn *t, const uint8_t log[DK_PK_BYTES], uint64_t *seq);

/* Stores an entry received from elsewhere after checking its signature, its
 * link to the current head and its body (body may be NULL when erased).
 * Returns 0 when stored, DK_EEXIST when the same entry is already there
 * (a duplicate: harmless), DK_EFORK when a different entry holds its place
 * (the proof is kept in the forks table), or the failed check's code. */
int dk_log_ingest(struct dk_txn *t, const struct dk_entry *e, const uint8_t *body,
                  size_t body_len);

/* Stores an entry whose checks the caller has done (link, body, signature
 * as its path requires): entry, body (NULL when erased), id and new head. */
int dk_log_store(struct dk_txn *t, const struct dk_entry *e, const uint8_t *body,
                 size_t body_len);

/* Keeps e as proof that its log forked at e's position. */
int dk_log_store_fork(struct dk_txn *t, const struct dk_entry *e);

/* Reads entry (log, seq) and checks that its id matches the id index.
 * body/body_len get a borrowed view of the body, or NULL/0 when erased. */
int dk_log_read(struct dk_txn *t, const uint8_t log[DK_PK_BYTES], uint64_t seq,
                struct dk_entry *e, const uint8_t **body, size_t *body_len);

/* Finds (log, seq) of an entry id. */
int dk_log_find(struct dk_txn *t, const uint8_t id[DK_HASH_BYTES], uint8_t log[DK_PK_BYTES],
                uint64_t *seq);

/* Key of the entries and bodies tables: log || be64(seq). */
#define DK_LOGKEY_BYTES (DK_PK_BYTES + 8)
void dk_logkey(uint8_t key[DK_LOGKEY_BYTES], const uint8_t log[DK_PK_BYTES], uint64_t seq);

/* Decodes a stored entries-table value into e (id computed). */
int dk_log_decode_stored(const uint8_t *val, size_t vlen, struct dk_entry *e);

#endif
