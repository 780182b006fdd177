/*
 * The LMDB store: one environment per node, one named table per concept.
 *
 * This header is the node's face onto LMDB; nothing outside node/ includes
 * it (replication goes through node.h). LMDB codes never leave this module:
 * they become DK_E* codes here.
 *
 * Write transactions run through dk_store_write(), which owns the retry
 * policy: when the map is full it aborts, grows the map and runs the
 * callback again (never while a read transaction of the same handle is
 * open: growing maps the file anew under it; the write then fails with
 * DK_EMAPFULL), so callbacks must be restartable (they derive everything
 * they write from their inputs and what they read in the same transaction).
 * A transaction that saw an error is sticky-failed: every later call on it
 * returns DK_ETXN and dk_store_write() aborts it, so a half-done write is
 * never committed. A failed commit is never reported as success.
 *
 * Values returned by get and by iterators are borrowed views into the map,
 * valid until the transaction ends or the next write to that table.
 * One dk_store may be used by one thread at a time.
 *
 * A damaged file never kills the process: a page fault or LMDB assertion
 * inside an LMDB call, or a key or value that points outside the file,
 * makes the call return DK_EDAMAGED (and sticky-fails its transaction).
 * After a fault the handle writes nothing more: every later transaction
 * fails with DK_EDAMAGED. See store.c, "Fault confinement".
 */
#ifndef DK_STORE_H
#define DK_STORE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

enum dk_table {
  DK_T_META,        /* configuration: office, role, keys, deadlines */
  DK_T_ENTRIES,     /* position(be64) -> u16 header length || header || sig (appended) */
  DK_T_BODIES,      /* position(be64) -> body ciphertext (appended; erasable) */
  DK_T_CASE_OPENS,  /* case id -> position of its opening entry (indexer, once per case) */
  DK_T_HEADS,       /* log -> seq(be64) || id || ts_ms(be64) */
  DK_T_CASES,       /* case id -> AEAD(storage key, case state) */
  DK_T_CASE_EVENTS, /* case id || log || seq -> empty: the case's entries */
  DK_T_CASE_KEYS,   /* case id -> AEAD(storage key, case key) */
  DK_T_NUMBERS,     /* keyed hash of case number -> case id */
  DK_T_COUNTERS,    /* office code || year(be32) -> next counter (be64) */
  DK_T_FORKS,       /* log || seq -> the conflicting entry (fork proof) */
  DK_T_PEERS,       /* peer name -> peer record */
  DK_T_CURSORS,     /* peer key || log -> sync position */
  DK_T_LOGS,        /* log -> office block of its seq-1 entry */
  DK_T_GRANTS,      /* case id || reader key -> empty: the case key was sealed to it */
  DK_T_TRUST,       /* kind 'C'/'R'/'A' || node key || entry id -> root statement (checked) */
  DK_T_RUNS,        /* log || first seq(be64) -> first position(be64) || count(be64) */
  DK_T_INDEXERS,    /* indexer name -> position(be64) it has indexed up to (exclusive) */
  DK_T_REPORT,      /* case id -> AEAD(storage key, report row): what a report reads */
  DK_T_COUNT
};

typedef struct dk_store dk_store;

struct dk_txn {
  dk_store *store;
  MDB_txn *txn;
  int write;
  int err; /* sticky: first error seen */
  /* A read transaction's view of the file (dk_store_read_begin): every key
   * and value handed out lies in it. NULL for write transactions. */
  const uint8_t *map_lo, *map_hi;
  int shadow; /* a shadow view (dk_txn_shadow) */
};

/* Opens the environment in dir (creating it with DK_STORE_CREATE). Clears
 * stale reader slots left by crashed processes. An existing store is
 * refused with DK_EDAMAGED when its file is shorter than its pages say, or
 * when a page does not hold together (dk_store_check_pages), unless
 * DK_STORE_UNCHECKED is given (for the walk that names the damage). */
#define DK_STORE_CREATE 1
#define DK_STORE_UNCHECKED 2
int dk_store_open(const char *dir, int flags, dk_store **out);
void dk_store_close(dk_store *s);
/* Writes a consistent, compacted copy of the environment to fd (LMDB's
 * mdb_env_copyfd2 with MDB_CP_COMPACT: one read transaction, so writers go
 * on meanwhile and the copy is one committed state). */
int dk_store_copy_compact(dk_store *s, int fd);

/* Runs fn in a write transaction and commits it. See the header comment
 * for the retry and failure rules. Returns fn's error or the commit's. */
int dk_store_write(dk_store *s, int (*fn)(struct dk_txn *t, void *ctx), void *ctx);

/* Read transactions: begin, use, end. */
int dk_store_read_begin(dk_store *s, struct dk_txn *t);
void dk_store_read_end(struct dk_txn *t);

/* DK_ENOTFOUND when absent. */
int dk_txn_get(struct dk_txn *t, enum dk_table tb, const void *key, size_t klen,
               const uint8_t **val, size_t *vlen);
int dk_txn_put(struct dk_txn *t, enum dk_table tb, const void *key, size_t klen, const void *val,
               size_t vlen);
/* Appends: key must sort after every key in the table (DK_EEXIST if not,
 * txn left usable). Pages fill completely instead of splitting in half. */
int dk_txn_append(struct dk_txn *t, enum dk_table tb, const void *key, size_t klen,
                  const void *val, size_t vlen);
/* The last pair of a table (DK_ENOTFOUND when empty). */
int dk_txn_last(struct dk_txn *t, enum dk_table tb, const uint8_t **key, size_t *klen,
                const uint8_t **val, size_t *vlen);
/* The pair with the greatest key <= key (DK_ENOTFOUND when none). */
int dk_txn_seek_le(struct dk_txn *t, enum dk_table tb, const void *key, size_t klen,
                   const uint8_t **kout, size_t *klen_out, const uint8_t **val, size_t *vlen);
/* Empties a table. */
int dk_txn_clear(struct dk_txn *t, enum dk_table tb);
/* Deletes every key of tb that starts with prefix (plen > 0). */
int dk_txn_del_prefix(struct dk_txn *t, enum dk_table tb, const void *prefix, size_t plen);
/* Returns DK_EEXIST if the key is present (and leaves the txn usable). */
int dk_txn_put_new(struct dk_txn *t, enum dk_table tb, const void *key, size_t klen,
                   const void *val, size_t vlen);
/* Deleting an absent key is not an error. */
int dk_txn_del(struct dk_txn *t, enum dk_table tb, const void *key, size_t klen);

/* Iterates over the keys that start with prefix (plen may be 0), in order. */
struct dk_iter {
  struct dk_txn *t;
  MDB_cursor *cur;
  uint8_t prefix[128];
  size_t plen;
  int started;
  uint8_t from[128]; /* dk_iter_open_at: first key to visit, no prefix bound */
  size_t flen;
};
int dk_iter_open(struct dk_txn *t, enum dk_table tb, const void *prefix, size_t plen,
                 struct dk_iter *it);
/* Iterates from the first key >= from to the end of the table. */
int dk_iter_open_at(struct dk_txn *t, enum dk_table tb, const void *from, size_t flen,
                    struct dk_iter *it);
/* 0 with the next pair, DK_ENOTFOUND at the end, or an error. */
int dk_iter_next(struct dk_iter *it, const uint8_t **key, size_t *klen, const uint8_t **val,
                 size_t *vlen);
void dk_iter_close(struct dk_iter *it);

/* Number of keys in a table. */
int dk_txn_count(struct dk_txn *t, enum dk_table tb, uint64_t *count);

/* Shadow tables: a second copy of every derived table (case states and
 * their indexes, numbers, counters, grants, case keys, report rows, the
 * trust view, the indexers' cursors and the meta table that holds erasure
 * marks), in which `docket verify` rebuilds derived state from the log in
 * transactions of bounded size and then compares it with the stored one.
 * dk_store_shadow_open() creates them (once per handle, in a transaction of
 * its own). In a view with dk_txn_shadow(t, 1), every call on a derived
 * table reaches its shadow, and the log and the other tables may be read
 * but not written (DK_EROFS): a rebuild there can never change what is
 * stored. A read transaction may be copied into a second struct dk_txn that
 * shares it, one view of each. dk_txn_shadow_clear() empties the shadows. */
int dk_store_shadow_open(dk_store *s);
void dk_txn_shadow(struct dk_txn *t, int on);
int dk_txn_shadow_clear(struct dk_txn *t);

/* Tables of an older store format, by name, for the upgrade only:
 * iterate (DK_ENOTFOUND when absent) and drop. */
int dk_iter_open_legacy(struct dk_txn *t, const char *name, struct dk_iter *it);
int dk_txn_drop_legacy(struct dk_txn *t, const char *name);

/* Walks every page of t's snapshot (a read transaction) and checks it
 * against LMDB's layout: page numbers within the file, page headers and
 * node bounds within the page, keys in order, each page reached once, the
 * tables' recorded counts, and no page both in use and listed as free.
 * Calls cb for each damaged page (table is the table's name, or
 * "(tables)", "(free pages)", "(meta)") and sets *damaged to their count.
 * Reads nothing outside the file. */
int dk_store_check_pages(struct dk_txn *t,
                         void (*cb)(void *ctx, const char *table, uint64_t page,
                                    const char *what),
                         void *ctx, uint64_t *damaged);

/* dk_store_check_pages() on fresh snapshots until one shows no damage, at
 * most DK_CHECK_ATTEMPTS times; cb hears only the last walk. What every
 * caller that is not inside a transaction uses: a writer in another process
 * can make one walk see a half-written meta page. */
int dk_store_check(dk_store *s,
                   void (*cb)(void *ctx, const char *table, uint64_t page, const char *what),
                   void *ctx, uint64_t *damaged);

/* LMDB's last committed transaction id: moves when any process commits. */
uint64_t dk_store_last_txn(dk_store *s);

/* Path of the environment's data file, for messages. */
const char *dk_store_dir(const dk_store *s);
/* The bytes the store's pages span, as its meta page said at open (LMDB's
 * last page number + 1, times the page size). */
uint64_t dk_store_used_bytes(const dk_store *s);
/* The snapshot a read transaction sees (LMDB's transaction id): two read
 * transactions with the same id see the same tables. 0 for a write
 * transaction, whose tables change under it. */
uint64_t dk_txn_snapshot_id(const struct dk_txn *t);

#endif
