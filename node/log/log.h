/*
 * Append-only logs in the store: heads, appends, reads with verification.
 *
 * Every function takes an open transaction (see store.h) and does no
 * commit of its own, so callers group many appends into one commit.
 * Layout (format 2): entries and bodies are keyed by a node-local position
 * that only grows, so every write appends and pages fill; a run record per
 * stretch of one log (log || first seq -> first position, count) finds
 * (log, seq). Reads that trust data recompute the entry id and check it
 * against what links to it (the next entry's prev, or the head), because
 * LMDB keeps no checksums.
 */
#ifndef DK_LOG_H
#define DK_LOG_H

#include "node/log/entry.h"
#include "node/store/store.h"

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
 * as its path requires): entry, body (NULL when erased), run and new head. */
int dk_log_store(struct dk_txn *t, const struct dk_entry *e, const uint8_t *body,
                 size_t body_len);

/* Stores many checked entries in one transaction: entries and bodies are
 * appended, and the run record and head of each log are written once per
 * stretch of consecutive entries of that log (at a flush). Flush before
 * anything else appends to the log in the same transaction. */
struct dk_log_writer {
  uint8_t log[DK_PK_BYTES];
  uint64_t first_seq, first_pos, count;
  uint8_t last_id[DK_HASH_BYTES];
  uint64_t last_ts;
  uint64_t next_pos, last_pos;
  int have_pos;
  int no_head; /* the upgrade: runs only, heads are right already */
};
void dk_log_writer_init(struct dk_log_writer *w);
int dk_log_writer_add(struct dk_txn *t, struct dk_log_writer *w, const struct dk_entry *e,
                      const uint8_t *body, size_t body_len);
int dk_log_writer_flush(struct dk_txn *t, struct dk_log_writer *w);

/* Position of (log, seq) (DK_ENOTFOUND when not held); with the number of
 * entries of that log stored at consecutive positions from there. */
int dk_log_pos(struct dk_txn *t, const uint8_t log[DK_PK_BYTES], uint64_t seq, uint64_t *pos);
int dk_log_run_end(struct dk_txn *t, const uint8_t log[DK_PK_BYTES], uint64_t seq,
                   uint64_t *pos, uint64_t *left);
/* The position the next stored entry gets (1 in an empty store). */
int dk_log_end(struct dk_txn *t, uint64_t *next_pos);
/* The entry at pos, decoded (id computed) but not checked against its
 * neighbours; body as dk_log_read. DK_ENOTFOUND when none. */
int dk_log_at(struct dk_txn *t, uint64_t pos, struct dk_entry *e, const uint8_t **body,
              size_t *body_len);
/* DK_EBADID unless e's id is what the next entry of its log (or the head)
 * links to. */
int dk_log_check_id(struct dk_txn *t, const struct dk_entry *e);
/* Deletes the body of (log, seq) (erasure); absent is not an error. */
int dk_log_body_del(struct dk_txn *t, const uint8_t log[DK_PK_BYTES], uint64_t seq);
/* Records where a case's opening entry is (dk_log_find reads it). */
int dk_log_case_open_put(struct dk_txn *t, const uint8_t case_id[DK_HASH_BYTES], uint64_t pos);

/* Keeps e as proof that its log forked at e's position. */
int dk_log_store_fork(struct dk_txn *t, const struct dk_entry *e);

/* Reads entry (log, seq) and checks its id against the next entry's link
 * or the head.
 * body/body_len get a borrowed view of the body, or NULL/0 when erased. */
int dk_log_read(struct dk_txn *t, const uint8_t log[DK_PK_BYTES], uint64_t seq,
                struct dk_entry *e, const uint8_t **body, size_t *body_len);

/* Finds (log, seq) of a case's opening entry from its case id (the case
 * index; DK_ENOTFOUND until indexed), checking the id. */
int dk_log_find(struct dk_txn *t, const uint8_t id[DK_HASH_BYTES], uint8_t log[DK_PK_BYTES],
                uint64_t *seq);

/* Key of the entries and bodies tables: log || be64(seq). */
#define DK_LOGKEY_BYTES (DK_PK_BYTES + 8)
void dk_logkey(uint8_t key[DK_LOGKEY_BYTES], const uint8_t log[DK_PK_BYTES], uint64_t seq);

/* Decodes a stored entries-table value into e (id computed). */
int dk_log_decode_stored(const uint8_t *val, size_t vlen, struct dk_entry *e);

#endif
