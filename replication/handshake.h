/*
 * The replication handshake: mutual authentication of two node keys inside a
 * network key, with forward secrecy. It follows Secure Scuttlebutt's secret
 * handshake; docs/protocol-transport.md gives every byte and test vectors.
 *
 *   1. client hello   65 bytes  version, client ephemeral key, HMAC(network key)
 *   2. server hello   65 bytes  version, server ephemeral key, HMAC(network key)
 *   3. client auth   112 bytes  secretbox(client signature, client key)
 *   4. server accept  80 bytes  secretbox(server signature)
 *
 * The result is the peer's Ed25519 key and two 32-byte session keys, one per
 * direction, for the frame layer (replication/frame.h).
 *
 * This is a pure state machine: it never reads the network or the clock. The
 * caller reads exactly dk_hs_expect_bytes() bytes, hands them to dk_hs_next()
 * and sends what dk_hs_next() wrote. Randomness comes from randombytes unless
 * a test injects the ephemeral secret.
 *
 * Ownership: the caller embeds struct dk_hs, calls one of the init functions
 * and always dk_hs_release(). The identity passed to init is borrowed and
 * must outlive the handshake. Ephemeral secrets, the copy of the network key
 * and the session keys live in sodium_malloc memory; the ephemeral and shared
 * secrets are wiped as soon as the handshake ends (well or badly), the
 * session keys by dk_hs_release().
 *
 * Not thread-safe per struct; no globals. sodium_init() must have run.
 */
#ifndef DK_HANDSHAKE_H
#define DK_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

/* Version of the handshake and of everything sent after it. Byte 0 of both
 * hellos; the hello layout is the same in every version so that a peer can
 * always recognise and report a version it does not speak. */
#define DK_HS_VERSION 1

#define DK_HS_NETWORK_KEY_BYTES 32
#define DK_HS_SESSION_KEY_BYTES 32

#define DK_HS_HELLO_BYTES (1 + 32 + 32)
#define DK_HS_CLIENT_AUTH_BYTES (16 + 64 + 32)
#define DK_HS_SERVER_ACCEPT_BYTES (16 + 64)
/* The largest message dk_hs_next() writes: size out buffers with this. */
#define DK_HS_MESSAGE_BYTES_MAX DK_HS_CLIENT_AUTH_BYTES

/*
 * Asked by the server once the client has proved its key, before anything
 * more is sent. Return 0 to let the client in, anything else to refuse.
 * client_pk is borrowed for the call only.
 */
typedef int (*dk_hs_authorize_fn)(void *ctx, const uint8_t client_pk[DK_PK_BYTES]);

enum dk_hs_role { DK_HS_CLIENT = 1, DK_HS_SERVER = 2 };

struct dk_hs_secrets; /* private, sodium_malloc */

struct dk_hs {
  int role;
  int state;
  int error; /* first error; sticky */
  const struct dk_identity *me; /* borrowed */
  dk_hs_authorize_fn authorize;
  void *authorize_ctx;
  /* Client: the server key it expects. Server: the client key, once proved. */
  uint8_t peer_pk[DK_PK_BYTES];
  uint8_t peer_xpk[32];
  uint8_t ephemeral_pk[32];
  uint8_t peer_ephemeral_pk[32];
  uint8_t client_sig[DK_SIG_BYTES];
  /* The transcript so far, public bytes kept to hash into the session keys. */
  uint8_t client_hello[DK_HS_HELLO_BYTES];
  uint8_t server_hello[DK_HS_HELLO_BYTES];
  uint8_t client_auth[DK_HS_CLIENT_AUTH_BYTES];
  size_t keys_count, keys_accepted; /* server: keys held, and accepted */
  size_t key_index;                 /* server: the accepted key the client used */
  int retired_used;                 /* server: the hello used a recognised-only key */
  struct dk_hs_secrets *secrets;
};

/*
 * Prepares the client side: it will prove `me` to the server whose Ed25519
 * key is server_pk, inside network_key (copied). Draws a fresh ephemeral key.
 * Returns 0, DK_ENOMEM, or DK_EINVAL when server_pk is not a valid key.
 * dk_hs_release() is needed after any return.
 */
int dk_hs_init_client(struct dk_hs *hs, const uint8_t network_key[DK_HS_NETWORK_KEY_BYTES],
                      const struct dk_identity *me, const uint8_t server_pk[DK_PK_BYTES]);

/*
 * Prepares the server side: it proves `me` to any client inside network_key
 * and lets in the clients authorize() accepts (authorize must not be NULL).
 * Returns 0 or DK_ENOMEM; dk_hs_release() is needed after any return.
 */
int dk_hs_init_server(struct dk_hs *hs, const uint8_t network_key[DK_HS_NETWORK_KEY_BYTES],
                      const struct dk_identity *me, dk_hs_authorize_fn authorize, void *ctx);

/*
 * The server side during a network key rotation: a client may prove any of
 * the first `accepted` keys (1..DK_HS_NETWORK_KEYS_MAX), in the order given;
 * the rest of keys (count - accepted) are recognised only, so that a client
 * still using a retired key fails with DK_EAUTH like a stranger, but
 * dk_hs_retired_key_used() says so for the log. Every key is tried on every
 * hello, so the time taken does not tell which one matched; what the client
 * sees afterwards is the same whichever key it used. keys are copied.
 * Returns 0, DK_EINVAL (bad counts) or DK_ENOMEM; dk_hs_release() after
 * any return.
 */
#define DK_HS_NETWORK_KEYS_MAX 3
int dk_hs_init_server_keys(struct dk_hs *hs, const uint8_t *const keys[], size_t count,
                           size_t accepted, const struct dk_identity *me,
                           dk_hs_authorize_fn authorize, void *ctx);

/* Server: 1 when the client hello was made with a recognised-only key. */
int dk_hs_retired_key_used(const struct dk_hs *hs);

/* Server, once the client hello was accepted: which of the accepted keys
 * it used (0-based). */
size_t dk_hs_key_index(const struct dk_hs *hs);

/*
 * Replaces the ephemeral secret drawn at init, for known-answer tests only.
 * Must be called before the first dk_hs_next(). Returns 0 or DK_EINVAL.
 */
int dk_hs_set_ephemeral_for_test(struct dk_hs *hs, const uint8_t ephemeral_sk[32]);

/*
 * Bytes of the next message this side must receive: 0 when it is this side's
 * turn to speak first (a fresh client), or when the handshake is over.
 */
size_t dk_hs_expect_bytes(const struct dk_hs *hs);

/*
 * Consumes the message this side expects (in, in_len, exactly
 * dk_hs_expect_bytes() bytes; a fresh client passes NULL, 0) and writes the
 * next message to send into out (out_cap >= DK_HS_MESSAGE_BYTES_MAX), its
 * size into *out_len (0 when there is nothing to send).
 *
 * Errors, after which the handshake is failed for good and every later call
 * returns the same code:
 * - DK_EAUTH: the peer does not hold the network key, did not prove the key
 *   expected of it, or sent anything that does not authenticate;
 * - DK_EVERSION: the peer speaks another version. A server then still writes
 *   its own hello to out (*out_len > 0): send it, then close, so that the
 *   client can report the mismatch too;
 * - DK_EREFUSED: (server) authorize() refused the client; nothing to send;
 * - DK_EINVAL: wrong call (wrong length, out too small, called when done);
 * - DK_ECRYPTO, DK_ENOMEM: local failures.
 */
int dk_hs_next(struct dk_hs *hs, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
               size_t *out_len);

/* 1 once the handshake has completed on this side, else 0. */
int dk_hs_done(const struct dk_hs *hs);

/*
 * Borrowed views, valid until dk_hs_release(), NULL until dk_hs_done():
 * the peer's proved Ed25519 key, the key for what this side sends and the
 * key for what it receives (the client's send key is the server's receive
 * key and the other way round).
 */
const uint8_t *dk_hs_peer_pk(const struct dk_hs *hs);
const uint8_t *dk_hs_send_key(const struct dk_hs *hs);
const uint8_t *dk_hs_recv_key(const struct dk_hs *hs);

/* Wipes and frees every secret. Safe on a zeroed or failed struct. */
void dk_hs_release(struct dk_hs *hs);

#endif
