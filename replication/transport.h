/*
 * The libuv transport: TCP connections, the handshake, encrypted frames, and
 * one sync session per connection. This is the only file in docket that
 * does network I/O; the protocol itself is the pure state machine in sync.h.
 *
 * dk_net_run() owns a libuv loop for its whole call and returns when the
 * work is done (once mode) or when SIGINT/SIGTERM arrives (serve mode).
 * It logs through the node's log callback. Single-threaded.
 */
#ifndef DK_TRANSPORT_H
#define DK_TRANSPORT_H

#include <sys/socket.h>

#include "node/node.h"
#include "replication/sync.h"

struct dk_net_options {
  /* Once mode (docket sync): dial `peer`, sync until both sides are caught
   * up, then return. Serve mode (peer NULL): listen on `listen` (may be
   * empty), keep a live session with every pinned peer that has an address
   * and is above this office, redial with capped backoff, accept pinned
   * peers, until a signal. */
  const struct dk_peer *peer;
  const char *listen;
  /* Once mode: give up when nothing arrives for this long. */
  uint64_t timeout_ms;
  /* Called after every message in once mode (progress display). */
  void (*progress)(void *ctx, const struct dk_sync_status *st);
  void *ctx;
  /* Serve mode hooks for the service manager and 'docket status', each may
   * be NULL, each called with ctx: ready once listening and the first dials
   * have started; link when a sync session with a peer starts (up 1) and
   * when it ends (up 0, error why, 0 for a clean end); tick on every timer
   * tick (several a second, the watchdog's heartbeat). */
  void (*on_ready)(void *ctx);
  void (*on_link)(void *ctx, const struct dk_peer *peer, int up, int error);
  void (*on_tick)(void *ctx);
  /* Serve mode: the longest wait before redialling, 0 for the default. */
  uint64_t redial_ms_max;
};

struct dk_net_result {
  struct dk_sync_status status; /* once mode: the session's last status */
  /* Once mode: every byte written to and read from the socket (handshake,
   * stream headers, frame prefixes and tags, the closing frame), where
   * status.stats counts message plaintext only. */
  uint64_t wire_bytes_sent;
  uint64_t wire_bytes_received;
};

/* Returns 0, or (once mode) why the sync did not complete: DK_ECONN (could
 * not connect / connection lost), DK_EAUTH (wrong network key or the peer
 * is not who it was pinned as), DK_EREFUSED (the peer does not know us),
 * DK_ETIMEDOUT, or the sync session's error. */
int dk_net_run(dk_node *n, const struct dk_net_options *opt, struct dk_net_result *out);

/* Parses "host:port" (IPv4, [IPv6] or localhost) into a sockaddr. */
int dk_net_parse_addr(const char *hostport, struct sockaddr_storage *out);

#endif
