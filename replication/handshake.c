#include "replication/handshake.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"

/* Labels. Each is hashed or signed with its terminating NUL, and no two uses
 * share one. The hello labels carry no version: the hello is the one message
 * whose layout never changes. */
#define LABEL_CLIENT_HELLO "docket/hs/client-hello"
#define LABEL_SERVER_HELLO "docket/hs/server-hello"
#define LABEL_AUTH_HASH "docket/hs/auth-hash/v1"
#define LABEL_BOX3 "docket/hs/box-client-auth/v1"
#define LABEL_BOX4 "docket/hs/box-server-accept/v1"
#define LABEL_CLIENT_SIG "docket/hs/client-auth/v1"
#define LABEL_SERVER_SIG "docket/hs/server-accept/v1"
#define LABEL_TRANSCRIPT "docket/hs/transcript/v1"
#define LABEL_KEY_C2S "docket/hs/client-to-server/v1"
#define LABEL_KEY_S2C "docket/hs/server-to-client/v1"

_Static_assert(DK_HS_MESSAGE_BYTES_MAX <= DK_FRAME_BYTES_UNAUTH_MAX,
               "handshake messages must fit the unauthenticated limit");
_Static_assert(DK_HS_CLIENT_AUTH_BYTES ==
                   crypto_secretbox_MACBYTES + DK_SIG_BYTES + DK_PK_BYTES,
               "client auth layout");
_Static_assert(DK_HS_SERVER_ACCEPT_BYTES == crypto_secretbox_MACBYTES + DK_SIG_BYTES,
               "server accept layout");
_Static_assert(crypto_auth_BYTES == 32 && crypto_auth_KEYBYTES == DK_HS_NETWORK_KEY_BYTES,
               "hello MAC is HMAC-SHA512-256 keyed with the network key");

enum {
  ST_CLIENT_START = 1,  /* client: send the client hello */
  ST_CLIENT_WAIT_HELLO, /* client: expect the server hello */
  ST_CLIENT_WAIT_ACCEPT,/* client: expect the server accept */
  ST_SERVER_WAIT_HELLO, /* server: expect the client hello */
  ST_SERVER_WAIT_AUTH,  /* server: expect the client auth */
  ST_DONE,
  ST_FAILED,
};

/* Names follow Noise: e = ephemeral, s = static; ee is client e x server e,
 * es client e x server s, se client s x server e. */
struct dk_hs_secrets {
  uint8_t network_key[DK_HS_NETWORK_KEY_BYTES];
  /* Server during a rotation: every key it knows; network_key becomes the
   * one the client hello proved. */
  uint8_t keys[DK_HS_NETWORK_KEYS_MAX][DK_HS_NETWORK_KEY_BYTES];
  uint8_t ephemeral_sk[32];
  uint8_t shared_ee[32];
  uint8_t shared_es[32];
  uint8_t shared_se[32];
  uint8_t auth_hash[32];
  uint8_t box_key[crypto_secretbox_KEYBYTES];
  uint8_t plain[DK_SIG_BYTES + DK_PK_BYTES];
  uint8_t key_send[DK_HS_SESSION_KEY_BYTES];
  uint8_t key_recv[DK_HS_SESSION_KEY_BYTES];
};

static void hash_label(crypto_generichash_state *st, const char *label) {
  crypto_generichash_init(st, NULL, 0, 32);
  crypto_generichash_update(st, (const uint8_t *)label, strlen(label) + 1);
}

/* Wipes everything the handshake needed but the session keys do not. */
static void wipe_working_secrets(struct dk_hs_secrets *s) {
  sodium_memzero(s->network_key, sizeof(s->network_key));
  sodium_memzero(s->keys, sizeof(s->keys));
  sodium_memzero(s->ephemeral_sk, sizeof(s->ephemeral_sk));
  sodium_memzero(s->shared_ee, sizeof(s->shared_ee));
  sodium_memzero(s->shared_es, sizeof(s->shared_es));
  sodium_memzero(s->shared_se, sizeof(s->shared_se));
  sodium_memzero(s->auth_hash, sizeof(s->auth_hash));
  sodium_memzero(s->box_key, sizeof(s->box_key));
  sodium_memzero(s->plain, sizeof(s->plain));
}

static int fail(struct dk_hs *hs, int rc) {
  hs->state = ST_FAILED;
  hs->error = rc;
  if (hs->secrets) {
    wipe_working_secrets(hs->secrets);
    sodium_memzero(hs->secrets->key_send, DK_HS_SESSION_KEY_BYTES);
    sodium_memzero(hs->secrets->key_recv, DK_HS_SESSION_KEY_BYTES);
  }
  return rc;
}

static int init_common(struct dk_hs *hs, const uint8_t network_key[DK_HS_NETWORK_KEY_BYTES],
                       const struct dk_identity *me) {
  memset(hs, 0, sizeof(*hs));
  hs->me = me;
  hs->secrets = sodium_malloc(sizeof(*hs->secrets));
  if (hs->secrets == NULL)
    return DK_ENOMEM;
  sodium_memzero(hs->secrets, sizeof(*hs->secrets));
  memcpy(hs->secrets->network_key, network_key, DK_HS_NETWORK_KEY_BYTES);
  randombytes_buf(hs->secrets->ephemeral_sk, 32);
  if (crypto_scalarmult_base(hs->ephemeral_pk, hs->secrets->ephemeral_sk) != 0)
    return DK_ECRYPTO;
  return 0;
}

int dk_hs_init_client(struct dk_hs *hs, const uint8_t network_key[DK_HS_NETWORK_KEY_BYTES],
                      const struct dk_identity *me, const uint8_t server_pk[DK_PK_BYTES]) {
  assert(me != NULL && me->sk != NULL && me->xsk != NULL);
  int rc = init_common(hs, network_key, me);
  if (rc != 0)
    goto out;
  hs->role = DK_HS_CLIENT;
  memcpy(hs->peer_pk, server_pk, DK_PK_BYTES);
  if (dk_pk_to_x25519(server_pk, hs->peer_xpk) != 0) {
    rc = DK_EINVAL;
    goto out;
  }
  hs->state = ST_CLIENT_START;
out:
  if (rc != 0)
    fail(hs, rc);
  return rc;
}

int dk_hs_init_server(struct dk_hs *hs, const uint8_t network_key[DK_HS_NETWORK_KEY_BYTES],
                      const struct dk_identity *me, dk_hs_authorize_fn authorize, void *ctx) {
  assert(me != NULL && me->sk != NULL && me->xsk != NULL);
  assert(authorize != NULL);
  int rc = init_common(hs, network_key, me);
  if (rc != 0)
    goto out;
  hs->role = DK_HS_SERVER;
  hs->authorize = authorize;
  hs->authorize_ctx = ctx;
  hs->state = ST_SERVER_WAIT_HELLO;
out:
  if (rc != 0)
    fail(hs, rc);
  return rc;
}

int dk_hs_init_server_keys(struct dk_hs *hs, const uint8_t *const keys[], size_t count,
                           size_t accepted, const struct dk_identity *me,
                           dk_hs_authorize_fn authorize, void *ctx) {
  if (count == 0 || count > DK_HS_NETWORK_KEYS_MAX || accepted == 0 || accepted > count) {
    memset(hs, 0, sizeof(*hs));
    hs->state = ST_FAILED;
    hs->error = DK_EINVAL;
    return DK_EINVAL;
  }
  int rc = dk_hs_init_server(hs, keys[0], me, authorize, ctx);
  if (rc != 0)
    return rc;
  for (size_t i = 0; i < count; i++)
    memcpy(hs->secrets->keys[i], keys[i], DK_HS_NETWORK_KEY_BYTES);
  hs->keys_count = count;
  hs->keys_accepted = accepted;
  return 0;
}

int dk_hs_retired_key_used(const struct dk_hs *hs) { return hs->retired_used; }

size_t dk_hs_key_index(const struct dk_hs *hs) { return hs->key_index; }

int dk_hs_set_ephemeral_for_test(struct dk_hs *hs, const uint8_t ephemeral_sk[32]) {
  if (hs->state != ST_CLIENT_START && hs->state != ST_SERVER_WAIT_HELLO)
    return DK_EINVAL;
  memcpy(hs->secrets->ephemeral_sk, ephemeral_sk, 32);
  if (crypto_scalarmult_base(hs->ephemeral_pk, hs->secrets->ephemeral_sk) != 0)
    return DK_EINVAL;
  return 0;
}

size_t dk_hs_expect_bytes(const struct dk_hs *hs) {
  switch (hs->state) {
  case ST_CLIENT_WAIT_HELLO:
  case ST_SERVER_WAIT_HELLO:
    return DK_HS_HELLO_BYTES;
  case ST_CLIENT_WAIT_ACCEPT:
    return DK_HS_SERVER_ACCEPT_BYTES;
  case ST_SERVER_WAIT_AUTH:
    return DK_HS_CLIENT_AUTH_BYTES;
  default:
    return 0;
  }
}

/* mac input: label || NUL || version || ephemeral pk */
static void hello_mac_input(const char *label, uint8_t version, const uint8_t eph[32],
                            uint8_t *buf, size_t *len) {
  size_t l = strlen(label) + 1;
  memcpy(buf, label, l);
  buf[l] = version;
  memcpy(buf + l + 1, eph, 32);
  *len = l + 1 + 32;
}

#define HELLO_MAC_INPUT_BYTES (sizeof(LABEL_CLIENT_HELLO) + 1 + 32)
_Static_assert(sizeof(LABEL_CLIENT_HELLO) == sizeof(LABEL_SERVER_HELLO), "hello labels");

static void hello_write(struct dk_hs *hs, const char *label, uint8_t out[DK_HS_HELLO_BYTES]) {
  uint8_t in[HELLO_MAC_INPUT_BYTES];
  size_t n;
  out[0] = DK_HS_VERSION;
  memcpy(out + 1, hs->ephemeral_pk, 32);
  hello_mac_input(label, DK_HS_VERSION, hs->ephemeral_pk, in, &n);
  crypto_auth(out + 33, in, n, hs->secrets->network_key);
}

/* Checks a received hello: the MAC first, so that a stranger learns nothing
 * and gets DK_EAUTH, then the version. */
static int hello_read(struct dk_hs *hs, const char *label, const uint8_t in[DK_HS_HELLO_BYTES]) {
  uint8_t mac_in[HELLO_MAC_INPUT_BYTES];
  size_t n;
  hello_mac_input(label, in[0], in + 1, mac_in, &n);
  if (hs->keys_count > 0) {
    /* A server during a rotation: every key is tried, whichever matches,
     * so that the time taken says nothing about which one the client has. */
    size_t match = hs->keys_count;
    for (size_t i = 0; i < hs->keys_count; i++) {
      int ok = crypto_auth_verify(in + 33, mac_in, n, hs->secrets->keys[i]) == 0;
      if (ok && match == hs->keys_count)
        match = i;
    }
    if (match >= hs->keys_accepted) {
      hs->retired_used = match < hs->keys_count;
      return DK_EAUTH;
    }
    hs->key_index = match;
    memcpy(hs->secrets->network_key, hs->secrets->keys[match], DK_HS_NETWORK_KEY_BYTES);
  } else if (crypto_auth_verify(in + 33, mac_in, n, hs->secrets->network_key) != 0) {
    return DK_EAUTH;
  }
  if (in[0] != DK_HS_VERSION)
    return DK_EVERSION;
  memcpy(hs->peer_ephemeral_pk, in + 1, 32);
  return 0;
}

/* ee and es from this side's view, then the auth hash and the box key of
 * message 3. X25519 fails on low-order points: a peer that sends one is not
 * playing fair. */
static int derive_after_hellos(struct dk_hs *hs) {
  struct dk_hs_secrets *s = hs->secrets;
  if (crypto_scalarmult(s->shared_ee, s->ephemeral_sk, hs->peer_ephemeral_pk) != 0)
    return DK_EAUTH;
  int r = hs->role == DK_HS_CLIENT
              ? crypto_scalarmult(s->shared_es, s->ephemeral_sk, hs->peer_xpk)
              : crypto_scalarmult(s->shared_es, hs->me->xsk, hs->peer_ephemeral_pk);
  if (r != 0)
    return DK_EAUTH;

  crypto_generichash_state st;
  hash_label(&st, LABEL_AUTH_HASH);
  crypto_generichash_update(&st, hs->client_hello, DK_HS_HELLO_BYTES);
  crypto_generichash_update(&st, hs->server_hello, DK_HS_HELLO_BYTES);
  crypto_generichash_update(&st, s->shared_ee, 32);
  crypto_generichash_final(&st, s->auth_hash, 32);

  hash_label(&st, LABEL_BOX3);
  crypto_generichash_update(&st, s->network_key, 32);
  crypto_generichash_update(&st, s->shared_ee, 32);
  crypto_generichash_update(&st, s->shared_es, 32);
  crypto_generichash_final(&st, s->box_key, 32);
  sodium_memzero(&st, sizeof(st));
  return 0;
}

static void derive_box4_key(struct dk_hs *hs) {
  struct dk_hs_secrets *s = hs->secrets;
  crypto_generichash_state st;
  hash_label(&st, LABEL_BOX4);
  crypto_generichash_update(&st, s->network_key, 32);
  crypto_generichash_update(&st, s->shared_ee, 32);
  crypto_generichash_update(&st, s->shared_es, 32);
  crypto_generichash_update(&st, s->shared_se, 32);
  crypto_generichash_final(&st, s->box_key, 32);
  sodium_memzero(&st, sizeof(st));
}

/* The signed statements: network key || the key being proved to ||
 * auth hash (client); network key || client signature || client key ||
 * auth hash (server). */
#define CLIENT_STATEMENT_BYTES (32 + DK_PK_BYTES + 32)
#define SERVER_STATEMENT_BYTES (32 + DK_SIG_BYTES + DK_PK_BYTES + 32)

static void client_statement(const struct dk_hs *hs, const uint8_t server_pk[DK_PK_BYTES],
                             uint8_t out[CLIENT_STATEMENT_BYTES]) {
  memcpy(out, hs->secrets->network_key, 32);
  memcpy(out + 32, server_pk, DK_PK_BYTES);
  memcpy(out + 32 + DK_PK_BYTES, hs->secrets->auth_hash, 32);
}

static void server_statement(const struct dk_hs *hs, const uint8_t client_pk[DK_PK_BYTES],
                             uint8_t out[SERVER_STATEMENT_BYTES]) {
  memcpy(out, hs->secrets->network_key, 32);
  memcpy(out + 32, hs->client_sig, DK_SIG_BYTES);
  memcpy(out + 32 + DK_SIG_BYTES, client_pk, DK_PK_BYTES);
  memcpy(out + 32 + DK_SIG_BYTES + DK_PK_BYTES, hs->secrets->auth_hash, 32);
}

/* Session keys from every shared secret and the whole transcript; then the
 * working secrets go, which is what gives forward secrecy. */
static void derive_session(struct dk_hs *hs, const uint8_t accept[DK_HS_SERVER_ACCEPT_BYTES]) {
  struct dk_hs_secrets *s = hs->secrets;
  uint8_t transcript[32], c2s[32], s2c[32];
  crypto_generichash_state st;
  hash_label(&st, LABEL_TRANSCRIPT);
  crypto_generichash_update(&st, hs->client_hello, DK_HS_HELLO_BYTES);
  crypto_generichash_update(&st, hs->server_hello, DK_HS_HELLO_BYTES);
  crypto_generichash_update(&st, hs->client_auth, DK_HS_CLIENT_AUTH_BYTES);
  crypto_generichash_update(&st, accept, DK_HS_SERVER_ACCEPT_BYTES);
  crypto_generichash_final(&st, transcript, 32);

  const char *labels[2] = {LABEL_KEY_C2S, LABEL_KEY_S2C};
  uint8_t *outs[2] = {c2s, s2c};
  for (int i = 0; i < 2; i++) {
    hash_label(&st, labels[i]);
    crypto_generichash_update(&st, s->network_key, 32);
    crypto_generichash_update(&st, s->shared_ee, 32);
    crypto_generichash_update(&st, s->shared_es, 32);
    crypto_generichash_update(&st, s->shared_se, 32);
    crypto_generichash_update(&st, transcript, 32);
    crypto_generichash_final(&st, outs[i], 32);
  }
  if (hs->role == DK_HS_CLIENT) {
    memcpy(s->key_send, c2s, 32);
    memcpy(s->key_recv, s2c, 32);
  } else {
    memcpy(s->key_send, s2c, 32);
    memcpy(s->key_recv, c2s, 32);
  }
  sodium_memzero(c2s, sizeof(c2s));
  sodium_memzero(s2c, sizeof(s2c));
  sodium_memzero(&st, sizeof(st));
  wipe_working_secrets(s);
  hs->state = ST_DONE;
}

/* Each box key seals exactly one message, so a zero nonce is safe. */
static const uint8_t zero_nonce[crypto_secretbox_NONCEBYTES];

/* Client: send hello. */
static int client_start(struct dk_hs *hs, uint8_t *out, size_t *out_len) {
  hello_write(hs, LABEL_CLIENT_HELLO, hs->client_hello);
  memcpy(out, hs->client_hello, DK_HS_HELLO_BYTES);
  *out_len = DK_HS_HELLO_BYTES;
  hs->state = ST_CLIENT_WAIT_HELLO;
  return 0;
}

/* Client: read the server hello, send client auth. */
static int client_on_hello(struct dk_hs *hs, const uint8_t *in, uint8_t *out, size_t *out_len) {
  struct dk_hs_secrets *s = hs->secrets;
  int rc = hello_read(hs, LABEL_SERVER_HELLO, in);
  if (rc != 0)
    return rc;
  memcpy(hs->server_hello, in, DK_HS_HELLO_BYTES);
  rc = derive_after_hellos(hs);
  if (rc != 0)
    return rc;
  uint8_t statement[CLIENT_STATEMENT_BYTES];
  client_statement(hs, hs->peer_pk, statement);
  rc = dk_sign(hs->me, LABEL_CLIENT_SIG, statement, sizeof(statement), hs->client_sig);
  sodium_memzero(statement, sizeof(statement));
  if (rc != 0)
    return rc;
  memcpy(s->plain, hs->client_sig, DK_SIG_BYTES);
  memcpy(s->plain + DK_SIG_BYTES, hs->me->pk, DK_PK_BYTES);
  if (crypto_secretbox_easy(hs->client_auth, s->plain, sizeof(s->plain), zero_nonce,
                            s->box_key) != 0)
    return DK_ECRYPTO;
  memcpy(out, hs->client_auth, DK_HS_CLIENT_AUTH_BYTES);
  *out_len = DK_HS_CLIENT_AUTH_BYTES;
  hs->state = ST_CLIENT_WAIT_ACCEPT;
  return 0;
}

/* Client: read the server accept; done. */
static int client_on_accept(struct dk_hs *hs, const uint8_t *in) {
  struct dk_hs_secrets *s = hs->secrets;
  if (crypto_scalarmult(s->shared_se, hs->me->xsk, hs->peer_ephemeral_pk) != 0)
    return DK_EAUTH;
  derive_box4_key(hs);
  if (crypto_secretbox_open_easy(s->plain, in, DK_HS_SERVER_ACCEPT_BYTES, zero_nonce,
                                 s->box_key) != 0)
    return DK_EAUTH;
  uint8_t statement[SERVER_STATEMENT_BYTES];
  server_statement(hs, hs->me->pk, statement);
  int rc = dk_verify(hs->peer_pk, LABEL_SERVER_SIG, statement, sizeof(statement), s->plain);
  sodium_memzero(statement, sizeof(statement));
  if (rc != 0)
    return DK_EAUTH;
  derive_session(hs, in);
  return 0;
}

/* Server: read the client hello, send ours. On an unknown version the hello
 * is still sent so that the client can name the problem. */
static int server_on_hello(struct dk_hs *hs, const uint8_t *in, uint8_t *out, size_t *out_len) {
  int rc = hello_read(hs, LABEL_CLIENT_HELLO, in);
  if (rc != 0 && rc != DK_EVERSION)
    return rc;
  hello_write(hs, LABEL_SERVER_HELLO, hs->server_hello);
  memcpy(out, hs->server_hello, DK_HS_HELLO_BYTES);
  *out_len = DK_HS_HELLO_BYTES;
  if (rc != 0)
    return rc;
  memcpy(hs->client_hello, in, DK_HS_HELLO_BYTES);
  rc = derive_after_hellos(hs);
  if (rc != 0) {
    *out_len = 0;
    return rc;
  }
  hs->state = ST_SERVER_WAIT_AUTH;
  return 0;
}

/* Server: read client auth, ask authorize(), send accept; done. */
static int server_on_auth(struct dk_hs *hs, const uint8_t *in, uint8_t *out, size_t *out_len) {
  struct dk_hs_secrets *s = hs->secrets;
  if (crypto_secretbox_open_easy(s->plain, in, DK_HS_CLIENT_AUTH_BYTES, zero_nonce,
                                 s->box_key) != 0)
    return DK_EAUTH;
  memcpy(hs->client_sig, s->plain, DK_SIG_BYTES);
  uint8_t client_pk[DK_PK_BYTES];
  memcpy(client_pk, s->plain + DK_SIG_BYTES, DK_PK_BYTES);
  uint8_t statement[CLIENT_STATEMENT_BYTES];
  client_statement(hs, hs->me->pk, statement);
  int rc = dk_verify(client_pk, LABEL_CLIENT_SIG, statement, sizeof(statement), hs->client_sig);
  sodium_memzero(statement, sizeof(statement));
  if (rc != 0)
    return DK_EAUTH;
  if (dk_pk_to_x25519(client_pk, hs->peer_xpk) != 0)
    return DK_EAUTH;
  if (crypto_scalarmult(s->shared_se, s->ephemeral_sk, hs->peer_xpk) != 0)
    return DK_EAUTH;
  if (hs->authorize(hs->authorize_ctx, client_pk) != 0)
    return DK_EREFUSED;
  memcpy(hs->peer_pk, client_pk, DK_PK_BYTES);
  memcpy(hs->client_auth, in, DK_HS_CLIENT_AUTH_BYTES);

  uint8_t server_statement_bytes[SERVER_STATEMENT_BYTES];
  server_statement(hs, client_pk, server_statement_bytes);
  uint8_t sig[DK_SIG_BYTES];
  rc = dk_sign(hs->me, LABEL_SERVER_SIG, server_statement_bytes,
               sizeof(server_statement_bytes), sig);
  sodium_memzero(server_statement_bytes, sizeof(server_statement_bytes));
  if (rc != 0)
    return rc;
  derive_box4_key(hs);
  if (crypto_secretbox_easy(out, sig, DK_SIG_BYTES, zero_nonce, s->box_key) != 0)
    return DK_ECRYPTO;
  derive_session(hs, out);
  *out_len = DK_HS_SERVER_ACCEPT_BYTES;
  return 0;
}

int dk_hs_next(struct dk_hs *hs, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
               size_t *out_len) {
  int rc = 0;
  *out_len = 0;
  if (hs->state == ST_FAILED)
    return hs->error;
  if (hs->state == ST_DONE || out_cap < DK_HS_MESSAGE_BYTES_MAX)
    return DK_EINVAL;
  if (in_len != dk_hs_expect_bytes(hs) || (in_len > 0 && in == NULL))
    return DK_EINVAL;

  switch (hs->state) {
  case ST_CLIENT_START:
    rc = client_start(hs, out, out_len);
    break;
  case ST_CLIENT_WAIT_HELLO:
    rc = client_on_hello(hs, in, out, out_len);
    break;
  case ST_CLIENT_WAIT_ACCEPT:
    rc = client_on_accept(hs, in);
    break;
  case ST_SERVER_WAIT_HELLO:
    rc = server_on_hello(hs, in, out, out_len);
    break;
  case ST_SERVER_WAIT_AUTH:
    rc = server_on_auth(hs, in, out, out_len);
    break;
  default:
    assert(!"unreachable handshake state");
    rc = DK_EINVAL;
    break;
  }
  if (rc != 0) {
    /* Only a version refusal leaves something to send (the server hello). */
    if (rc != DK_EVERSION)
      *out_len = 0;
    fail(hs, rc);
  }
  return rc;
}

int dk_hs_done(const struct dk_hs *hs) { return hs->state == ST_DONE; }

const uint8_t *dk_hs_peer_pk(const struct dk_hs *hs) {
  return hs->state == ST_DONE ? hs->peer_pk : NULL;
}

const uint8_t *dk_hs_send_key(const struct dk_hs *hs) {
  return hs->state == ST_DONE ? hs->secrets->key_send : NULL;
}

const uint8_t *dk_hs_recv_key(const struct dk_hs *hs) {
  return hs->state == ST_DONE ? hs->secrets->key_recv : NULL;
}

void dk_hs_release(struct dk_hs *hs) {
  if (hs->secrets != NULL)
    sodium_free(hs->secrets); /* sodium_free wipes before freeing */
  hs->secrets = NULL;
  if (hs->state != ST_FAILED) {
    hs->state = ST_FAILED;
    hs->error = DK_EINVAL;
  }
}
