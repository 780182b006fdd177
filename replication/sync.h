/*
 * The sync state machine: one per connection (or per bundle).
 *
 * Pure: it never touches a socket, a clock, randomness or a global. The
 * caller feeds it events and it answers by calling the caller's send
 * callback with whole messages (the plaintext of one frame each) and by
 * updating the status the caller reads with dk_sync_status(). It reaches the
 * node only through a struct dk_sync_store (sync_store.h).
 * docs/protocol-sync.md is the byte-exact reference of the messages.
 *
 * Driving it:
 *   dk_sync_new()          once, with both offices and keys (pinned by the
 *                          handshake and the peer table);
 *   dk_sync_start()        once the channel is up: sends HELLO;
 *   dk_sync_receive()      for every message received, in order;
 *   dk_sync_local_change() whenever the store may hold new entries written
 *                          outside this session (a local append, an ingest
 *                          by another session);
 *   dk_sync_tick()         now and then with the current time (timeouts);
 *   dk_sync_status()       after any call: done, caught up, failed, counters;
 *   dk_sync_free()         when the connection is gone.
 * Every call may send messages (synchronously, through send). A session in
 * mode DK_SYNC_ONCE becomes done when both directions are caught up; a
 * DK_SYNC_LIVE session is never done and streams new entries as they come.
 * Close the connection when done (or on failure).
 *
 * Errors are sticky (as LMDB's MDB_TXN_ERROR): once a call fails, the session
 * is failed and every later call returns the same code without doing
 * anything; start a new session on a new connection. A new session needs no
 * state from an old one: it starts from the store's heads.
 *
 * Ownership: the store table and its context are borrowed and must outlive
 * the session; configuration strings are copied. Messages handed to send are
 * borrowed for the duration of the call. send must not call back into this
 * session. Not thread-safe per session; sessions are independent.
 */
#ifndef DK_SYNC_H
#define DK_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/limits.h"
#include "crypto/crypto.h"
#include "replication/sync_store.h"

/* Message types inside the envelope [version, type, ...] (msg.h). */
enum dk_sync_msg_type {
  DK_SYNC_MSG_HELLO = 1,     /* offices and the two scope digests */
  DK_SYNC_MSG_HEADS = 2,     /* a chunk of what the sender holds of the receiver's scope */
  DK_SYNC_MSG_BATCH = 3,     /* entries, committed at once by the receiver */
  DK_SYNC_MSG_ACK = 4,       /* a batch is durable */
  DK_SYNC_MSG_CAUGHT_UP = 5, /* the sender has sent all it knows the receiver lacks */
  DK_SYNC_MSG_PING = 6,      /* keepalive: nothing else to say */
  DK_SYNC_MSG_REFUSED = 7,   /* the sender refuses this peer and closes: why */
};

/* Reasons in a REFUSED message (docs/protocol-transport.md §5). Sent only
 * after the handshake, to a peer that proved its key inside the network
 * key; a stranger learns nothing. */
enum dk_sync_refusal {
  DK_SYNC_REFUSED_OTHER = 1,    /* none of the below */
  DK_SYNC_REFUSED_UNKNOWN = 2,  /* not pinned, and no certificate checked */
  DK_SYNC_REFUSED_NO_CERT = 3,  /* no valid certificate: uncertified, expired, revoked */
  DK_SYNC_REFUSED_OFFICE = 4,   /* certified for another office than pinned as */
  DK_SYNC_REFUSED_SESSIONS = 5, /* DK_NET_SESSIONS_PER_KEY_MAX reached for this key */
  DK_SYNC_REFUSED_BUSY = 6,     /* the server's connection limit */
};

enum dk_sync_mode {
  DK_SYNC_ONCE = 1, /* docket sync: done when both directions are caught up */
  DK_SYNC_LIVE = 2, /* docket serve: stays open, streams new entries */
};

/* Defaults used when a config field is 0. */
#define DK_SYNC_WINDOW_BATCHES_DEFAULT 4
#define DK_SYNC_BATCH_ENTRIES_DEFAULT 1024
#define DK_SYNC_BATCH_BYTES_DEFAULT (512 * 1024)

struct dk_sync_config {
  uint8_t my_pk[DK_PK_BYTES];
  const char *my_office; /* copied */
  uint8_t peer_pk[DK_PK_BYTES];
  const char *peer_office; /* copied */
  enum dk_sync_mode mode;
  /* 0 for the default; clamped to 1..DK_SYNC_WINDOW_BATCHES_MAX. */
  size_t window_batches;
  /* 0 for the default; clamped to 1..DK_SYNC_BATCH_ENTRIES_MAX. */
  size_t batch_entries;
  /* 0 for the default; clamped to DK_SYNC_ENTRY_WIRE_BYTES_MAX..
   * DK_SYNC_BATCH_BYTES_MAX so that any entry fits in one batch. */
  size_t batch_bytes;
  /* While waiting for the peer (its hello, heads, an ack, or in once mode
   * the rest of the stream), fail with DK_ETIMEDOUT when nothing arrived for
   * this long, as measured by dk_sync_tick(). 0: never. */
  uint64_t timeout_ms;
  /* Keepalive, measured by dk_sync_tick(): after keepalive_ms without
   * sending anything the session sends a PING; after silence_ms without
   * receiving anything (a PING counts) it fails with DK_ETIMEDOUT, in any
   * state and mode, so that a dead link is closed and redialled. 0: off. */
  uint64_t keepalive_ms;
  uint64_t silence_ms;
  /* Auditors (DESIGN.md §5): the subtree an auditor peer was granted, whose
   * logs are sent to it besides its office's scope; and, on an auditor
   * node, the subtree whose logs it accepts. NULL or "" for none. */
  const char *peer_reads;
  const char *my_reads;
};

/* Counters of one session. "Entries" are log entries; sent counts what this
 * side streamed, received what the peer streamed to it. */
struct dk_sync_stats {
  uint64_t messages_sent;
  uint64_t messages_received;
  uint64_t bytes_sent;     /* message plaintext bytes */
  uint64_t bytes_received; /* message plaintext bytes */
  uint64_t batches_sent;
  uint64_t batches_acked;
  uint64_t batches_received;
  uint64_t entries_sent;
  uint64_t entries_received;
  uint64_t entries_stored;   /* received and newly durable here */
  uint64_t duplicates;       /* received and already held */
  uint64_t forks;            /* received and conflicting: proofs kept here */
  uint64_t peer_forks;       /* detected when comparing heads with the peer's */
  uint64_t peer_stored;      /* the peer's acks: entries it stored */
  uint64_t forks_at_peer;    /* the peer's acks: entries of mine it kept as fork proofs */
  uint64_t refused;          /* received and refused here: their log is not authorised */
  uint64_t refused_by_peer;  /* the peer's acks: entries it refused */
  uint64_t witnesses;        /* store->witness() calls */
  size_t batches_in_flight;  /* sent, not yet acknowledged */
  size_t batches_in_flight_max;
  /* As far as known: entries of my send scope the peer lacks (from its heads
   * and what was sent since), and entries the peer said I lack (from its
   * last batch; 0 once it said it is caught up). */
  uint64_t peer_lacks_entries;
  uint64_t local_lacks_entries;
};

struct dk_sync_status {
  int error;          /* 0, or the code the session failed with (sticky) */
  int started;        /* HELLO sent */
  int hello_received; /* the peer's HELLO arrived */
  /* Direction me -> peer: all I hold of the peer's scope is acknowledged. */
  int send_caught_up;
  /* Direction peer -> me: the peer said it sent all I lacked, and I stored it. */
  int recv_caught_up;
  /* Mode once: both directions are caught up; close the connection. */
  int done;
  /* 1 when this session's digests matched the peer's in both directions at
   * hello time (nothing to exchange: one round trip). */
  int idle;
  /* The peer's REFUSED (0 when none): its code and its text, printable ASCII
   * cut to the limit. The session failed with DK_ECERT (no certificate) or
   * DK_EREFUSED. */
  uint64_t refusal_code;
  char refusal_text[DK_NET_REASON_BYTES_MAX];
  uint64_t silent_ms; /* since the last message received, as of the last tick */
  struct dk_sync_stats stats;
};

/* Sends one message (the plaintext of one frame), borrowed for the call.
 * Return 0, or a DK_E* code that fails the session. */
typedef int (*dk_sync_send_fn)(void *ctx, const uint8_t *msg, size_t len);

struct dk_sync; /* opaque */

/*
 * Creates a session. cfg is copied; store and its context are borrowed.
 * DK_EINVAL for a bad config (empty office, same pk on both sides, unknown
 * mode), DK_ENOMEM. On success free it with dk_sync_free().
 */
int dk_sync_new(struct dk_sync **out, const struct dk_sync_config *cfg,
                const struct dk_sync_store *store, dk_sync_send_fn send, void *send_ctx);

/* Frees a session; NULL is fine. */
void dk_sync_free(struct dk_sync *s);

/*
 * Starts the session at time now_ms: reads the store's heads, sends HELLO.
 * Call once, before anything else but dk_sync_status(). Errors: the store's
 * codes, the send callback's codes, DK_ELIMIT (more logs than
 * DK_SYNC_LOGS_MAX), DK_EINVAL when called twice.
 */
int dk_sync_start(struct dk_sync *s, uint64_t now_ms);

/*
 * Handles one received message (the plaintext of one frame). The bytes are
 * untrusted. Errors fail the session: DK_EVERSION (another protocol
 * version), DK_EPROTO (unknown type, a message out of order), DK_EFORMAT,
 * DK_ELIMIT (a count beyond the limits), DK_ESCOPE (the peer's offices
 * disagree with ours, or it offers a log it must not send us: nothing of
 * that batch is stored), the store's ingest codes for a batch that does not
 * verify (nothing of it is stored), and the store's and send's codes.
 * Messages received by a once session that is done are ignored.
 */
int dk_sync_receive(struct dk_sync *s, const uint8_t *msg, size_t len);

/*
 * The store may have changed outside this session: look at the heads again
 * and stream what the peer lacks. Costs one walk of the heads and nothing
 * more when nothing in the peer's scope changed. Before the peer's HELLO the
 * look is deferred until it arrives. A once session syncs what the store
 * held when the peers' HELLOs crossed (and the witness that answers it): it
 * ignores later changes, so that both sides finish together.
 */
int dk_sync_local_change(struct dk_sync *s);

/*
 * The store's change counter is `mark` now (dk_node_change_mark: any counter
 * that moves with every commit, even one that runs ahead of what readers
 * see). Looks again at the heads (dk_sync_local_change) unless the session's
 * last look was at a store state with that very mark, as the store's mark()
 * told it just before the look. So a commit seen in the counter before it is
 * visible to readers is looked for again at the next poll, rather than
 * taken as seen. Without store->mark, the session remembers the last polled
 * mark instead. Same errors as dk_sync_local_change.
 */
int dk_sync_poll(struct dk_sync *s, uint64_t mark);

/* Tells the session the time: DK_ETIMEDOUT (see timeout_ms and silence_ms);
 * may send a PING (keepalive_ms). */
int dk_sync_tick(struct dk_sync *s, uint64_t now_ms);

/* This side spent ms on work of its own (the node's indexer, between
 * bursts) without reading the link: the next dk_sync_tick() does not count
 * that time as the peer's silence, nor as waiting. What the peer sent
 * meanwhile is still unread, not missing. */
void dk_sync_busy(struct dk_sync *s, uint64_t ms);

/* Copies the session's status. Always succeeds. */
void dk_sync_status(const struct dk_sync *s, struct dk_sync_status *out);

/*
 * Digest of a set of heads, as carried in HELLO: BLAKE2b-256 of
 * "docket/sync-digest/v1" NUL || for each head in log-key order:
 * log (32) || seq (8, big-endian) || id (32). heads must be sorted by log
 * key with distinct logs. Exposed for tests and other implementations.
 */
void dk_sync_digest(const struct dk_sync_head *heads, size_t count, uint8_t out[DK_HASH_BYTES]);

#define DK_DOMAIN_SYNC_DIGEST "docket/sync-digest/v1"

/* Writes into out (reset first) the REFUSED message [1, 7, code, text] that
 * a side sends, in place of or after its HELLO, before it closes: the peer's
 * session then fails and keeps the reason. text may be NULL; it must be
 * shorter than DK_NET_REASON_BYTES_MAX. DK_EINVAL, DK_ENOMEM. */
int dk_sync_encode_refusal(uint64_t code, const char *text, struct dk_buf *out);

/* A sentence for a refusal code (static). */
const char *dk_sync_refusal_text(uint64_t code);

#endif
