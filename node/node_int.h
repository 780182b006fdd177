/* Private to node/: the node struct and helpers shared by its files. */
#ifndef DK_NODE_INT_H
#define DK_NODE_INT_H

#include "node/ingest/index.h"
#include "node/log/log.h"
#include "node/node.h"
#include "node/store/store.h"

struct dk_node {
  dk_store *store;
  char dir[4096];
  struct dk_node_config cfg;
  struct dk_case_config case_cfg;
  uint8_t pk[DK_PK_BYTES];
  int unlocked;
  struct dk_identity id;  /* valid when unlocked */
  uint8_t *storage_key;   /* sodium_malloc, valid when unlocked */
  uint64_t (*now_ms)(void *ctx);
  void *now_ctx;
  /* Shared keys with other offices for wrapping case keys (crypto.h),
   * computed once per pair: pks in the clear, keys in sodium_malloc. */
  uint8_t shared_pk[32][DK_PK_BYTES];
  uint8_t *shared_keys; /* 32 x DK_SYMKEY_BYTES */
  size_t shared_count, shared_next;
  /* Reused secure scratch, so that hot paths do not pay a sodium_malloc
   * (an mmap, mprotect and mlock) per event: plaintext of one event at a
   * time, plaintext of one case state at a time, and two 32-byte key slots
   * (0: the case key being written, 1: a shared key). Single-threaded like
   * the node; wiped after each use and freed at close. */
  struct dk_buf scratch_event, scratch_state;
  uint8_t *tmp_keys;
  dk_log_fn log;
  void *log_ctx;
  int upgrade_needed; /* load_config found format 1 */
  int index_deferred; /* dk_node_index_defer(): ingest leaves indexing to the caller */
  int scrub_pending;  /* an erasure was indexed: overwrite the freed pages after the commit */
  /* Cases whose bodies an honoured erasure covers but which the store still
   * holds, found by dk_node_index_check's rebuild (dk__check_unerased). */
  uint8_t (*unerased)[DK_HASH_BYTES];
  size_t unerased_count, unerased_cap;
  enum dk_log_level log_level;
};

/* Meta keys. */
#define DK_META_FORMAT "format"
#define DK_META_PK "pk"
#define DK_META_OFFICE "office"
#define DK_META_CODE "code"
#define DK_META_ROLE "role"
#define DK_META_LISTEN "listen"
#define DK_META_ROOT_PK "root_pk"
/* Store formats: 1 kept entries and bodies under log || seq with an entry-id
 * index written per entry; 2 appends them by position (node/log/log.h) and
 * derives the case tables by indexers (node/ingest/index.h). Format 1 upgrades on
 * first open (node/upgrade.c); a newer format is refused. */
#define DK_STORE_FORMAT 2

/* upgrade.c: moves a format-1 store to the current format. */
int dk__store_upgrade(dk_node *n);
/* store/base.c: strings in the meta table. */
int dk__meta_get_str(struct dk_txn *t, const char *key, char *out, size_t cap);
int dk__meta_put_str(struct dk_txn *t, const char *key, const char *val);
/* A growing list of 32-byte keys (case ids, log keys), for collecting the
 * keys of a table before writing to it in the same transaction. Starts
 * zeroed; push returns 0 or DK_ENOMEM; free releases it. */
struct dk__keys {
  uint8_t (*k)[32];
  size_t count, cap;
};
int dk__keys_push(struct dk__keys *a, const uint8_t key[32]);
void dk__keys_free(struct dk__keys *a);

/* cases/tables.c, shared with verify.c and the replication ingest path. */
int dk__case_key_load(dk_node *n, struct dk_txn *t, const uint8_t *case_id, uint8_t *key);
int dk__case_key_save(dk_node *n, struct dk_txn *t, const uint8_t *case_id, const uint8_t *key);
int dk__case_state_load(dk_node *n, struct dk_txn *t, const uint8_t *case_id,
                        struct dk_case_state *s);
int dk__case_state_save(dk_node *n, struct dk_txn *t, const struct dk_case_state *s);
int dk__case_load_events(dk_node *n, struct dk_txn *t, const uint8_t *case_id,
                         struct dk_event **out, size_t *count);
/* Decrypts a sealed row of tb (DK_T_CASES, DK_T_CASE_KEYS or DK_T_REPORT)
 * into out. */
int dk__sealed_open(dk_node *n, enum dk_table tb, const uint8_t *case_id, const uint8_t *v,
                    size_t vlen, struct dk_buf *out);
/* The report row of a case (node/cases/fold.h), kept beside its state by
 * dk__case_state_save; dk__case_report_del removes it with the state. */
int dk__case_report_del(struct dk_txn *t, const uint8_t *case_id);
/* Writes the report rows of a store that has none yet (a store from before
 * they existed), once; a no-op afterwards. */
int dk__report_rows_fill(dk_node *n);
/* Case numbers: "CODE-YYYY-NNNN" into its parts (0 when it has that
 * shape), and the office counter that numbers the next case of a year. */
int dk__number_parse(const char *number, char *code, size_t code_cap, int *year,
                     uint64_t *counter);
int dk__counter_put(struct dk_txn *t, const char *code, int year, uint64_t next);
/* cases/tables.c: the case indexer's cursor. The first position not yet
 * indexed, and its setter. */
int dk__index_cursor(struct dk_txn *t, uint64_t *pos);
int dk__index_cursor_set(struct dk_txn *t, uint64_t pos);
/* For local writes that indexed their own entries from first_pos (the
 * log's end when their transaction began): moves the cursor to the log's
 * end when it stood at first_pos. Otherwise the indexer will index them
 * again later, which is harmless: every index write is idempotent. */
int dk__index_local(struct dk_txn *t, uint64_t first_pos);
/* trust/trustindex.c: indexes every root statement of the district logs held
 * (into an emptied trust table, for a rebuild). */
int dk__trust_reindex(dk_node *n, struct dk_txn *t);
/* cases/tables.c helpers shared with ingest/bulk.c and ingest/append.c. */
void dk__number_key(const dk_node *n, const char *number, uint8_t key[DK_HASH_BYTES]);
int dk__case_events_put(struct dk_txn *t, const uint8_t *case_id, const struct dk_entry *e);
int dk__seal_grants(dk_node *n, uint8_t readers[][DK_PK_BYTES], size_t nreaders,
                    const uint8_t *key, struct dk_grant *grants, size_t *count);
/* Assigns ev's number when empty (buf receives it and ev->number points at
 * it), or checks a given one is free (DK_EEXIST). */
int dk__assign_number(dk_node *n, struct dk_txn *t, struct dk_event *ev, char *buf);

/* store/base.c: the shared key of this node and pk (cached). */
int dk__shared_key(dk_node *n, const uint8_t pk[DK_PK_BYTES], uint8_t out[DK_SYMKEY_BYTES]);

/* trust/grants.c: who reads a new case of this office: itself and every office
 * above it whose log this node holds. */
int dk__case_readers(dk_node *n, struct dk_txn *t, uint8_t readers[][DK_PK_BYTES],
                     size_t *count);
/* Records that grants (a grants block) gave case_id's key to its readers. */
int dk__grants_record(struct dk_txn *t, const uint8_t *case_id, const struct dk_grant *g,
                      size_t count);
/* Grants every case this office opened to a new reader (one KEY_GRANT
 * entry per case it lacks); nothing to a revoked key. */
int dk__grant_own_cases(dk_node *n, struct dk_txn *t, const uint8_t reader[DK_PK_BYTES]);
int dk__grant_cases(dk_node *n, struct dk_txn *t, const uint8_t reader[DK_PK_BYTES],
                    const char *office);

/* trust/trustview.c, shared with the ingest path. The root in t (DK_ENOTFOUND). */
int dk__trust_root(struct dk_txn *t, uint8_t root[DK_PK_BYTES]);
/* A trust-table record: key kind ('C' cert, 'R' revoke, 'A' auditor) ||
 * statement key || entry id, value seq in the district log (be64) ||
 * statement. Decodes one read back from the store (DK_EFORMAT when
 * damaged); exposed for tests/fuzz/fuzz_stored.c. */
#define DK_TRUST_KEY_BYTES (1 + DK_PK_BYTES + DK_HASH_BYTES)
struct dk_statement;
int dk__trust_record_decode(const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen,
                            struct dk_statement *s, uint64_t *seq);
/* trust/trustindex.c: indexes e when it is a root statement of the district's log signed by the
 * configured root, and grants this office's cases to a new reader it names.
 * Anything else is left alone (0): a bad statement is kept, not trusted. */
int dk__trust_index(dk_node *n, struct dk_txn *t, const struct dk_entry *e, const uint8_t *body,
                    size_t body_len);
/* trust/netkey.c: applies e when it is a network key rotation published by the
 * district (node/trust/netkey.c says when); anything else is left alone (0). */
int dk__netkey_index(dk_node *n, struct dk_txn *t, const struct dk_entry *e, const uint8_t *body,
                     size_t body_len);
/* DK_ECERT when e's log key was revoked before e's author timestamp (its
 * own code: DK_EAUTH already means a bad seal or handshake to the CLI). */
int dk__trust_check_author(struct dk_txn *t, const struct dk_entry *e);

/* How far this node relays log (head_seq held): the last entry before its
 * first unauthorised one (0: none of it, its seq-1 claim is not
 * authorised), with why (DK_EUNAUTH, DK_ECERT; 0 when all of it is). */
int dk__trust_relay_cap(dk_node *n, struct dk_txn *t, const uint8_t log[DK_PK_BYTES],
                        const struct dk_office_info *office, uint64_t head_seq, uint64_t *cap,
                        int *why);

/* Overwrites the store's free pages with zeros (node/cases/erase.c), so that what
 * an erasure freed cannot be read back from data.mdb. Call after the
 * erasing transaction committed. */
int dk__store_scrub(dk_node *n);

/* Restored nodes (node/log/restored.c): sets the mark; DK_ERESTORED while it is
 * set (call before any append of this node's own log). */
int dk__restored_set(struct dk_txn *t);
int dk__own_log_writable(struct dk_txn *t);

/* peers/peers.c: a pinned peer's record in the peers table (msgpack, 11 fields; records
 * written before the last error was kept have 9): encodes p, decodes one
 * read back (DK_EFORMAT, DK_ELIMIT). Exposed for tests/fuzz/fuzz_stored.c. */
int dk__peer_encode(const struct dk_peer *p, struct dk_buf *out);
int dk__peer_decode(const uint8_t *v, size_t vlen, struct dk_peer *p);
/* The pinned peer with key (DK_ENOTFOUND when none); every pinned peer. */
int dk__peer_by_key(struct dk_txn *t, const uint8_t key[DK_PK_BYTES], struct dk_peer *out);
int dk__peers_iterate(struct dk_txn *t, int (*cb)(void *ctx, const struct dk_peer *p), void *ctx);

/* Statements met in a batch being ingested (checked against the root), so
 * that a certificate or revocation applies to the batch that brings it. */
struct dk__trust_batch {
  struct dk_statement *s;
  size_t count, cap;
};
void dk__trust_batch_release(struct dk__trust_batch *b);
/* Adds the statement in body when e is a root statement of a district log
 * (office: that log's) that the root signed; anything else is ignored. */
int dk__trust_batch_add(struct dk__trust_batch *b, struct dk_txn *t, const struct dk_entry *e,
                        const char *office, const uint8_t *body, size_t body_len);

/* Ingest authorisation (TRUST.md "Authorisation of logs"): may an entry of
 * log, whose seq-1 office entry claims office, be stored here? 0 when it
 * may; DK_ECERT when its key is revoked at the entry's time; DK_EUNAUTH
 * when its key holds no certificate for that office in force then (with a
 * root), or is not pinned or vouched for by a pinned relay (without one).
 * b may be NULL. */
int dk__trust_log_authorised(dk_node *n, struct dk_txn *t, const struct dk__trust_batch *b,
                             const uint8_t log[DK_PK_BYTES], const struct dk_office_info *office,
                             const struct dk_header *h);
/* The trust view's answers within t (see node.h). */
int dk__trust_cert_valid(struct dk_txn *t, const uint8_t key[DK_PK_BYTES], uint64_t at_ms,
                         char *office, enum dk_office_role *role);
int dk__trust_revoked_at(struct dk_txn *t, const uint8_t key[DK_PK_BYTES], uint64_t *at_ms);
/* Calls cb for each auditor grant in force at at_ms whose key is not
 * revoked (statement borrowed for the call). */
int dk__trust_auditors(struct dk_txn *t, uint64_t at_ms,
                       int (*cb)(void *ctx, const struct dk_statement *s), void *ctx);
/* Calls cb for each certificate in force at at_ms whose key is not revoked. */
int dk__trust_certs(struct dk_txn *t, uint64_t at_ms,
                    int (*cb)(void *ctx, const struct dk_statement *s), void *ctx);

/* Readers: may key, whose log says office, read this office's cases? Always
 * without a root; with one, only with a certificate in force now for that
 * office and no revocation. */
int dk__trust_reader_ok(dk_node *n, struct dk_txn *t, const uint8_t key[DK_PK_BYTES],
                        const char *office);
/* Adds to readers (up to DK_READERS_MAX, no duplicates) the keys with a
 * certificate in force for an office above this one and the auditors
 * granted a subtree covering it. Nothing without a root. */
int dk__trust_readers_add(dk_node *n, struct dk_txn *t, uint8_t readers[][DK_PK_BYTES],
                          size_t *count);

int dk__case_refold(dk_node *n, struct dk_txn *t, const uint8_t *case_id);

/* cases/erase.c: a case with an erase entry held is marked (1 from
 * dk__erase_marked, 0 when not, or an error); dk__case_erase_apply()
 * deletes what an honoured erasure deletes, idempotently, and does nothing
 * until the opening entry and an honoured erase entry are both held. out
 * may be NULL. */
struct dk_erase_info;
int dk__erase_marked(struct dk_txn *t, const uint8_t *case_id);
/* 1 when the case has an honoured erase entry (signed, its body intact, from
 * an office that covers the case), so that its other bodies may be gone; 0
 * when not (or its opening entry is not held); or an error. */
int dk__erase_covers(struct dk_txn *t, const uint8_t *case_id);
int dk__erase_mark(struct dk_txn *t, const uint8_t *case_id);
/* In a shadow view, a case whose bodies the erasure would delete is
 * recorded in n->unerased instead (cases/erase.c), for
 * dk_node_index_check (ingest/index.c) to name. */
int dk__check_unerased(dk_node *n, const uint8_t *case_id);
int dk__case_erase_apply(dk_node *n, struct dk_txn *t, const uint8_t *case_id,
                         struct dk_erase_info *out);

#endif
