/* Private to node/: the node struct and what every layer needs about the node (store/base.c). */
#ifndef DK_NODE_INT_H
#define DK_NODE_INT_H

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
  /* dk__peer_by_key's index of the peers table (node/peers/peers.c): the
   * pinned peers' keys and names, sorted by key, as read snapshot
   * peer_keys_snapshot saw them (0: none built). */
  struct dk__peer_key *peer_keys;
  size_t peer_keys_count;
  uint64_t peer_keys_snapshot;
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

/* store/base.c: the shared key of this node and pk (cached). */
int dk__shared_key(dk_node *n, const uint8_t pk[DK_PK_BYTES], uint8_t out[DK_SYMKEY_BYTES]);

#endif
