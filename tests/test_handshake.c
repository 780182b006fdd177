/* Unit tests for replication/handshake: completion, refusals, tampering and
 * the known-answer vector of docs/protocol-transport.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "replication/handshake.h"

struct peers {
  uint8_t network_key[32];
  struct dk_identity client_id, server_id;
  struct dk_hs client, server;
  int authorize_calls;
  int refuse;
  uint8_t authorized_pk[32];
};

static int authorize(void *ctx, const uint8_t client_pk[32]) {
  struct peers *p = ctx;
  p->authorize_calls++;
  memcpy(p->authorized_pk, client_pk, 32);
  return p->refuse ? -1 : 0;
}

static void peers_init(struct peers *p) {
  memset(p, 0, sizeof(*p));
  randombytes_buf(p->network_key, 32);
  assert_int_equal(dk_identity_generate(&p->client_id), 0);
  assert_int_equal(dk_identity_generate(&p->server_id), 0);
}

static void peers_start(struct peers *p) {
  assert_int_equal(dk_hs_init_client(&p->client, p->network_key, &p->client_id,
                                     p->server_id.pk), 0);
  assert_int_equal(dk_hs_init_server(&p->server, p->network_key, &p->server_id, authorize, p), 0);
}

static void peers_release(struct peers *p) {
  dk_hs_release(&p->client);
  dk_hs_release(&p->server);
  dk_identity_release(&p->client_id);
  dk_identity_release(&p->server_id);
}

/* The four messages of one handshake, as sent. */
struct transcript {
  uint8_t msg[4][DK_HS_MESSAGE_BYTES_MAX];
  size_t len[4];
};

/*
 * Runs the handshake, optionally flipping bit `flip_bit` of message
 * `flip_msg` (0..3) in transit. Returns the first non-zero code and sets
 * *failed_at to the message whose receipt failed (or -1).
 */
static int run(struct peers *p, int flip_msg, size_t flip_bit, struct transcript *t,
               int *failed_at) {
  uint8_t buf[DK_HS_MESSAGE_BYTES_MAX];
  size_t n = 0;
  int rc;
  *failed_at = -1;
  assert_int_equal(dk_hs_expect_bytes(&p->client), 0);
  rc = dk_hs_next(&p->client, NULL, 0, buf, sizeof(buf), &n);
  assert_int_equal(rc, 0);
  for (int i = 0; i < 4; i++) {
    struct dk_hs *receiver = (i % 2 == 0) ? &p->server : &p->client;
    if (t) {
      memcpy(t->msg[i], buf, n);
      t->len[i] = n;
    }
    if (i == flip_msg)
      buf[flip_bit / 8] ^= (uint8_t)(1u << (flip_bit % 8));
    assert_int_equal(dk_hs_expect_bytes(receiver), n);
    uint8_t in[DK_HS_MESSAGE_BYTES_MAX];
    memcpy(in, buf, n);
    size_t in_len = n;
    rc = dk_hs_next(receiver, in, in_len, buf, sizeof(buf), &n);
    if (rc != 0) {
      *failed_at = i;
      return rc;
    }
    if (i == 3)
      assert_int_equal(n, 0);
  }
  return 0;
}

static void completes_with_matching_keys(void **state) {
  struct peers p;
  peers_init(&p);
  peers_start(&p);
  struct transcript t;
  int at;
  assert_int_equal(run(&p, -1, 0, &t, &at), 0);
  assert_int_equal(t.len[0], DK_HS_HELLO_BYTES);
  assert_int_equal(t.len[1], DK_HS_HELLO_BYTES);
  assert_int_equal(t.len[2], DK_HS_CLIENT_AUTH_BYTES);
  assert_int_equal(t.len[3], DK_HS_SERVER_ACCEPT_BYTES);
  assert_true(dk_hs_done(&p.client));
  assert_true(dk_hs_done(&p.server));
  assert_int_equal(p.authorize_calls, 1);
  assert_memory_equal(p.authorized_pk, p.client_id.pk, 32);
  assert_memory_equal(dk_hs_peer_pk(&p.server), p.client_id.pk, 32);
  assert_memory_equal(dk_hs_peer_pk(&p.client), p.server_id.pk, 32);
  assert_memory_equal(dk_hs_send_key(&p.client), dk_hs_recv_key(&p.server), 32);
  assert_memory_equal(dk_hs_recv_key(&p.client), dk_hs_send_key(&p.server), 32);
  assert_memory_not_equal(dk_hs_send_key(&p.client), dk_hs_recv_key(&p.client), 32);
  /* Done is final: no more messages. */
  uint8_t out[DK_HS_MESSAGE_BYTES_MAX];
  size_t n = 99;
  assert_int_equal(dk_hs_next(&p.client, NULL, 0, out, sizeof(out), &n), DK_EINVAL);
  assert_int_equal(n, 0);
  peers_release(&p);
}

static void fresh_keys_every_session(void **state) {
  struct peers p;
  peers_init(&p);
  uint8_t first[32];
  int at;
  peers_start(&p);
  assert_int_equal(run(&p, -1, 0, NULL, &at), 0);
  memcpy(first, dk_hs_send_key(&p.client), 32);
  dk_hs_release(&p.client);
  dk_hs_release(&p.server);
  peers_start(&p);
  assert_int_equal(run(&p, -1, 0, NULL, &at), 0);
  assert_memory_not_equal(first, dk_hs_send_key(&p.client), 32);
  peers_release(&p);
}

static void wrong_network_key_fails_at_first_message(void **state) {
  struct peers p;
  peers_init(&p);
  uint8_t other[32];
  memcpy(other, p.network_key, 32);
  other[5] ^= 0x10;
  assert_int_equal(dk_hs_init_client(&p.client, other, &p.client_id, p.server_id.pk), 0);
  assert_int_equal(dk_hs_init_server(&p.server, p.network_key, &p.server_id, authorize, &p), 0);
  struct transcript t;
  int at;
  assert_int_equal(run(&p, -1, 0, &t, &at), DK_EAUTH);
  assert_int_equal(at, 0);
  assert_int_equal(p.authorize_calls, 0);
  assert_false(dk_hs_done(&p.server));
  assert_null(dk_hs_peer_pk(&p.server));
  assert_null(dk_hs_send_key(&p.server));
  /* Sticky: the same code again, nothing written. */
  uint8_t out[DK_HS_MESSAGE_BYTES_MAX];
  size_t n = 7;
  assert_int_equal(dk_hs_next(&p.server, t.msg[0], t.len[0], out, sizeof(out), &n), DK_EAUTH);
  assert_int_equal(n, 0);
  peers_release(&p);
}

static void unauthorized_client_refused(void **state) {
  struct peers p;
  peers_init(&p);
  peers_start(&p);
  p.refuse = 1;
  struct transcript t;
  int at;
  assert_int_equal(run(&p, -1, 0, &t, &at), DK_EREFUSED);
  assert_int_equal(at, 2);
  assert_int_equal(p.authorize_calls, 1);
  assert_memory_equal(p.authorized_pk, p.client_id.pk, 32);
  assert_false(dk_hs_done(&p.server));
  assert_false(dk_hs_done(&p.client));
  assert_null(dk_hs_peer_pk(&p.server));
  peers_release(&p);
}

static void client_expecting_other_server_fails(void **state) {
  struct peers p;
  peers_init(&p);
  struct dk_identity impostor_target;
  assert_int_equal(dk_identity_generate(&impostor_target), 0);
  /* The client wants impostor_target but reaches server_id. */
  assert_int_equal(dk_hs_init_client(&p.client, p.network_key, &p.client_id, impostor_target.pk),
                   0);
  assert_int_equal(dk_hs_init_server(&p.server, p.network_key, &p.server_id, authorize, &p), 0);
  int at;
  assert_int_equal(run(&p, -1, 0, NULL, &at), DK_EAUTH);
  assert_int_equal(at, 2); /* the server cannot open what was sealed for another key */
  assert_int_equal(p.authorize_calls, 0);
  assert_false(dk_hs_done(&p.client));
  dk_identity_release(&impostor_target);
  peers_release(&p);
}

/* A server accept recorded from an earlier session and replayed into a new
 * one: it is bound to the old ephemeral keys, so the client refuses it. */
static void replayed_accept_refused(void **state) {
  struct peers p;
  peers_init(&p);
  peers_start(&p);
  struct transcript old;
  int at;
  assert_int_equal(run(&p, -1, 0, &old, &at), 0);
  dk_hs_release(&p.client);
  dk_hs_release(&p.server);
  peers_start(&p);
  uint8_t buf[DK_HS_MESSAGE_BYTES_MAX], in[DK_HS_MESSAGE_BYTES_MAX];
  size_t n;
  assert_int_equal(dk_hs_next(&p.client, NULL, 0, buf, sizeof(buf), &n), 0);
  memcpy(in, buf, n);
  assert_int_equal(dk_hs_next(&p.server, in, n, buf, sizeof(buf), &n), 0);
  memcpy(in, buf, n);
  assert_int_equal(dk_hs_next(&p.client, in, n, buf, sizeof(buf), &n), 0);
  assert_int_equal(dk_hs_next(&p.client, old.msg[3], old.len[3], buf, sizeof(buf), &n), DK_EAUTH);
  assert_false(dk_hs_done(&p.client));
  assert_null(dk_hs_recv_key(&p.client));
  peers_release(&p);
}

static void every_bit_flip_fails(void **state) {
  struct peers p;
  peers_init(&p);
  const size_t sizes[4] = {DK_HS_HELLO_BYTES, DK_HS_HELLO_BYTES, DK_HS_CLIENT_AUTH_BYTES,
                           DK_HS_SERVER_ACCEPT_BYTES};
  for (int m = 0; m < 4; m++) {
    for (size_t bit = 0; bit < sizes[m] * 8; bit++) {
      peers_start(&p);
      int at;
      int rc = run(&p, m, bit, NULL, &at);
      if (rc == 0 || at != m)
        fail_msg("flip of bit %zu in message %d: rc %d at %d", bit, m + 1, rc, at);
      /* Every tamper is an authentication failure, whatever byte it hit
       * (the version byte included: it is under the MAC). */
      assert_int_equal(rc, DK_EAUTH);
      assert_false(dk_hs_done(&p.client));
      dk_hs_release(&p.client);
      dk_hs_release(&p.server);
    }
  }
  peers_release(&p);
}

/* A hello of version 2, correctly MACed as docs/protocol-transport.md says:
 * the server refuses with DK_EVERSION but still answers its own hello, and a
 * client that reads a version-2 hello refuses too. */
static void unknown_version_refused(void **state) {
  struct peers p;
  peers_init(&p);
  peers_start(&p);
  uint8_t eph_sk[32], hello[DK_HS_HELLO_BYTES];
  randombytes_buf(eph_sk, 32);
  hello[0] = 2;
  assert_int_equal(crypto_scalarmult_base(hello + 1, eph_sk), 0);
  uint8_t mac_in[sizeof("docket/hs/client-hello") + 33];
  memcpy(mac_in, "docket/hs/client-hello", sizeof("docket/hs/client-hello"));
  memcpy(mac_in + sizeof("docket/hs/client-hello"), hello, 33);
  crypto_auth(hello + 33, mac_in, sizeof(mac_in), p.network_key);

  uint8_t out[DK_HS_MESSAGE_BYTES_MAX];
  size_t n = 0;
  assert_int_equal(dk_hs_next(&p.server, hello, sizeof(hello), out, sizeof(out), &n), DK_EVERSION);
  assert_int_equal(n, DK_HS_HELLO_BYTES);
  assert_int_equal(out[0], DK_HS_VERSION);
  assert_int_equal(dk_hs_expect_bytes(&p.server), 0);

  /* The same hello with a wrong MAC is an auth failure, not a version one. */
  dk_hs_release(&p.server);
  assert_int_equal(dk_hs_init_server(&p.server, p.network_key, &p.server_id, authorize, &p), 0);
  hello[40] ^= 1;
  assert_int_equal(dk_hs_next(&p.server, hello, sizeof(hello), out, sizeof(out), &n), DK_EAUTH);
  assert_int_equal(n, 0);

  /* Client side: a version-2 server hello. */
  assert_int_equal(dk_hs_next(&p.client, NULL, 0, out, sizeof(out), &n), 0);
  uint8_t server_hello[DK_HS_HELLO_BYTES];
  server_hello[0] = 2;
  assert_int_equal(crypto_scalarmult_base(server_hello + 1, eph_sk), 0);
  memcpy(mac_in, "docket/hs/server-hello", sizeof("docket/hs/server-hello"));
  memcpy(mac_in + sizeof("docket/hs/server-hello"), server_hello, 33);
  crypto_auth(server_hello + 33, mac_in, sizeof(mac_in), p.network_key);
  assert_int_equal(dk_hs_next(&p.client, server_hello, sizeof(server_hello), out, sizeof(out), &n),
                   DK_EVERSION);
  assert_int_equal(n, 0);
  peers_release(&p);
}

static void wrong_lengths_are_caller_errors(void **state) {
  struct peers p;
  peers_init(&p);
  peers_start(&p);
  uint8_t out[DK_HS_MESSAGE_BYTES_MAX], small[10];
  size_t n;
  assert_int_equal(dk_hs_next(&p.client, NULL, 0, small, sizeof(small), &n), DK_EINVAL);
  assert_int_equal(dk_hs_next(&p.client, NULL, 0, out, sizeof(out), &n), 0);
  assert_int_equal(dk_hs_next(&p.server, out, n - 1, out, sizeof(out), &n), DK_EINVAL);
  /* A server key that is not a usable curve point is refused at init. */
  struct dk_hs bad;
  const uint8_t zero_pk[32] = {0};
  assert_int_equal(dk_hs_init_client(&bad, p.network_key, &p.client_id, zero_pk), DK_EINVAL);
  assert_int_equal(dk_hs_next(&bad, NULL, 0, out, sizeof(out), &n), DK_EINVAL);
  assert_int_equal(n, 0);
  dk_hs_release(&bad);
  peers_release(&p);
}

static void ephemeral_secrets_wiped_when_done(void **state) {
  struct peers p;
  peers_init(&p);
  peers_start(&p);
  int at;
  assert_int_equal(run(&p, -1, 0, NULL, &at), 0);
  /* The private block starts with the network key copy and the ephemeral
   * secret; both must be gone once the session keys exist. */
  const uint8_t *blk = (const uint8_t *)p.client.secrets;
  assert_true(sodium_is_zero(blk, 64));
  blk = (const uint8_t *)p.server.secrets;
  assert_true(sodium_is_zero(blk, 64));
  peers_release(&p);
}

/* ---- known-answer vector (docs/protocol-transport.md, "Handshake vector") ---- */

static const char *KAT_M1 =
    "015dfedd3b6bd47f6fa28ee15d969d5bb0ea53774d488bdaf9df1c6e0124b3ef"
    "2268bd553888d2c44d47aa26ac746a59f03552a9c9aaf4a317ab8cecb832c227"
    "e5";
static const char *KAT_M2 =
    "01ac01b2209e86354fb853237b5de0f4fab13c7fcbf433a61c019369617fecf1"
    "0b8eb06f5ad5835530ef0657c86ec823103c8672a0d1b2f16eb9c447dbe7207e"
    "fe";
static const char *KAT_M3 =
    "205934eeb28d3819c27a9bd040095781a191c87a7d789c5d72f78780e65a79a0"
    "b1ea5681e0d941304c32f26cf0ee2617b9c05a279a8ae64a78bcbcfe1a03aeb6"
    "afe3b0aa9a1702e602a792cc67118127358e96fbe8b29e08f7fc16a36914d203"
    "db324a4f79186a8e02660cf0eeb1c7a2";
static const char *KAT_M4 =
    "84b94ebc53f795be1d9881a8969725153ac9109872024253d7e7806d68eaa806"
    "0e280fe8a220e8ab3ddb22ef374d6ac8ee6e2d250a52d64c2c6fd7c72d7f95b7"
    "aac3ac69fd4184b92565c00b30faa88f";
static const char *KAT_C2S =
    "470070ef1a5daa4b48d85fb64c1796e64f7b82d9761e55aa25ff48ec4786dd8a";
static const char *KAT_S2C =
    "befcb2c72f05b6a968a1cf4955d429031eaf46b6ff87f4139bf9c185cefc3897";

static void hex_of(const uint8_t *b, size_t n, char *out) { dk_hex(b, n, out); }

static char *read_doc(void) {
  FILE *f = fopen(DK_SOURCE_DIR "/docs/protocol-transport.md", "rb");
  assert_non_null(f);
  static const size_t cap = 1 << 20;
  char *s = calloc(1, cap);
  assert_non_null(s);
  size_t n = fread(s, 1, cap - 1, f);
  fclose(f);
  s[n] = 0;
  return s;
}

static void known_answer_vector(void **state) {
  uint8_t network_key[32], seed_c[32], seed_s[32], eph_c[32], eph_s[32];
  memset(network_key, 0x4b, 32);
  memset(seed_c, 0x01, 32);
  memset(seed_s, 0x02, 32);
  memset(eph_c, 0x03, 32);
  memset(eph_s, 0x04, 32);
  struct dk_identity cid, sid;
  assert_int_equal(dk_identity_from_seed(&cid, seed_c), 0);
  assert_int_equal(dk_identity_from_seed(&sid, seed_s), 0);
  struct peers p;
  memset(&p, 0, sizeof(p));
  struct dk_hs c, s;
  assert_int_equal(dk_hs_init_client(&c, network_key, &cid, sid.pk), 0);
  assert_int_equal(dk_hs_init_server(&s, network_key, &sid, authorize, &p), 0);
  assert_int_equal(dk_hs_set_ephemeral_for_test(&c, eph_c), 0);
  assert_int_equal(dk_hs_set_ephemeral_for_test(&s, eph_s), 0);

  uint8_t m[4][DK_HS_MESSAGE_BYTES_MAX];
  size_t len[4], n;
  assert_int_equal(dk_hs_next(&c, NULL, 0, m[0], sizeof(m[0]), &len[0]), 0);
  assert_int_equal(dk_hs_next(&s, m[0], len[0], m[1], sizeof(m[1]), &len[1]), 0);
  assert_int_equal(dk_hs_next(&c, m[1], len[1], m[2], sizeof(m[2]), &len[2]), 0);
  assert_int_equal(dk_hs_next(&s, m[2], len[2], m[3], sizeof(m[3]), &len[3]), 0);
  assert_int_equal(dk_hs_next(&c, m[3], len[3], m[0] /* unused */, sizeof(m[0]), &n), 0);
  assert_int_equal(n, 0);
  assert_true(dk_hs_done(&c) && dk_hs_done(&s));

  char hex[2 * DK_HS_MESSAGE_BYTES_MAX + 1];
  const char *want[4] = {KAT_M1, KAT_M2, KAT_M3, KAT_M4};
  char *doc = read_doc();
  for (int i = 0; i < 4; i++) {
    hex_of(m[i], len[i], hex);
    if (getenv("DK_PRINT_VECTORS"))
      printf("M%d = %s\n", i + 1, hex);
    if (getenv("DK_PRINT_VECTORS") == NULL) {
      assert_string_equal(hex, want[i]);
      assert_non_null(strstr(doc, want[i])); /* the doc shows the same bytes */
    }
  }
  hex_of(dk_hs_send_key(&c), 32, hex);
  if (getenv("DK_PRINT_VECTORS"))
    printf("c2s = %s\n", hex);
  if (getenv("DK_PRINT_VECTORS") == NULL) {
    assert_string_equal(hex, KAT_C2S);
    assert_non_null(strstr(doc, KAT_C2S));
  }
  hex_of(dk_hs_recv_key(&c), 32, hex);
  if (getenv("DK_PRINT_VECTORS"))
    printf("s2c = %s\n", hex);
  if (getenv("DK_PRINT_VECTORS") == NULL) {
    assert_string_equal(hex, KAT_S2C);
    assert_non_null(strstr(doc, KAT_S2C));
  }
  free(doc);
  dk_hs_release(&c);
  dk_hs_release(&s);
  dk_identity_release(&cid);
  dk_identity_release(&sid);
}

/* A server during a network key rotation accepts a client under either
 * key in force, says which, and its hello is indistinguishable in size; a
 * client under a retired key fails like a stranger (nothing sent back), but
 * the server knows it was the retired key; a stranger's key is not taken
 * for the retired one. */
static void rotation_keys(void **state) {
  (void)state;
  uint8_t oldk[32], newk[32], stranger[32];
  randombytes_buf(oldk, 32);
  randombytes_buf(newk, 32);
  randombytes_buf(stranger, 32);
  const uint8_t *both[2] = {newk, oldk};
  struct {
    const uint8_t *client_key;
    size_t count, accepted;
    int want_rc;
    size_t want_index;
    int want_retired;
  } cases[] = {
      {newk, 2, 2, 0, 0, 0},        /* grace: the new key */
      {oldk, 2, 2, 0, 1, 0},        /* grace: the old key */
      {newk, 2, 1, 0, 0, 0},        /* after: the new key */
      {oldk, 2, 1, DK_EAUTH, 0, 1}, /* after: the old key is refused, and named */
      {stranger, 2, 2, DK_EAUTH, 0, 0},
      {stranger, 2, 1, DK_EAUTH, 0, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct peers p;
    peers_init(&p);
    assert_int_equal(dk_hs_init_client(&p.client, cases[i].client_key, &p.client_id,
                                       p.server_id.pk), 0);
    assert_int_equal(dk_hs_init_server_keys(&p.server, both, cases[i].count, cases[i].accepted,
                                            &p.server_id, authorize, &p), 0);
    uint8_t hello[DK_HS_MESSAGE_BYTES_MAX], reply[DK_HS_MESSAGE_BYTES_MAX];
    size_t n = 0, m = 0;
    assert_int_equal(dk_hs_next(&p.client, NULL, 0, hello, sizeof(hello), &n), 0);
    int rc = dk_hs_next(&p.server, hello, n, reply, sizeof(reply), &m);
    assert_int_equal(rc, cases[i].want_rc);
    assert_int_equal(dk_hs_retired_key_used(&p.server), cases[i].want_retired);
    if (rc == 0) {
      assert_int_equal(m, DK_HS_HELLO_BYTES);
      assert_int_equal(dk_hs_key_index(&p.server), cases[i].want_index);
      /* and the rest of the handshake completes under that key */
      uint8_t auth[DK_HS_MESSAGE_BYTES_MAX], accept[DK_HS_MESSAGE_BYTES_MAX];
      size_t a = 0, b = 0;
      assert_int_equal(dk_hs_next(&p.client, reply, m, auth, sizeof(auth), &a), 0);
      assert_int_equal(dk_hs_next(&p.server, auth, a, accept, sizeof(accept), &b), 0);
      assert_int_equal(dk_hs_next(&p.client, accept, b, hello, sizeof(hello), &n), 0);
      assert_true(dk_hs_done(&p.client) && dk_hs_done(&p.server));
      assert_memory_equal(dk_hs_send_key(&p.client), dk_hs_recv_key(&p.server), 32);
    } else {
      assert_int_equal(m, 0); /* a stranger, or a retired key, hears nothing */
    }
    peers_release(&p);
  }
  /* Bad counts are caller errors. */
  struct dk_hs hs;
  struct dk_identity id;
  assert_int_equal(dk_identity_generate(&id), 0);
  assert_int_equal(dk_hs_init_server_keys(&hs, both, 2, 0, &id, authorize, NULL), DK_EINVAL);
  dk_hs_release(&hs);
  assert_int_equal(dk_hs_init_server_keys(&hs, both, 2, 3, &id, authorize, NULL), DK_EINVAL);
  dk_hs_release(&hs);
  dk_identity_release(&id);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(completes_with_matching_keys),
      cmocka_unit_test(fresh_keys_every_session),
      cmocka_unit_test(wrong_network_key_fails_at_first_message),
      cmocka_unit_test(unauthorized_client_refused),
      cmocka_unit_test(client_expecting_other_server_fails),
      cmocka_unit_test(replayed_accept_refused),
      cmocka_unit_test(every_bit_flip_fails),
      cmocka_unit_test(unknown_version_refused),
      cmocka_unit_test(wrong_lengths_are_caller_errors),
      cmocka_unit_test(ephemeral_secrets_wiped_when_done),
      cmocka_unit_test(known_answer_vector),
      cmocka_unit_test(rotation_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
