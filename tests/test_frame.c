/* Unit tests for replication/frame and replication/msg: round trips in any
 * chunking, limits before allocation, tampering, truncation vs FINAL, the
 * msgpack envelope, and the frame vector of docs/protocol-transport.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/mp.h"
#include "replication/frame.h"
#include "replication/msg.h"

#define MESSAGES_COUNT 200

/* Collects what the decoder hands out. */
struct sink {
  int count;
  size_t lens[MESSAGES_COUNT + 8];
  uint8_t hashes[MESSAGES_COUNT + 8][32];
  int stop_at; /* return an error on this message (1-based), 0 never */
};

static int collect(void *ctx, const uint8_t *msg, size_t len) {
  struct sink *s = ctx;
  if (s->count >= MESSAGES_COUNT + 8)
    return DK_ELIMIT;
  s->lens[s->count] = len;
  crypto_generichash(s->hashes[s->count], 32, msg, len, NULL, 0);
  s->count++;
  if (s->stop_at && s->count == s->stop_at)
    return DK_ECANCELED;
  return 0;
}

/* A deterministic plaintext of i-dependent size and content. */
static size_t make_message(int i, uint8_t *buf, size_t cap) {
  size_t n = (size_t)(i * 37) % 3000;
  if (i % 50 == 7)
    n = 70000; /* some frames larger than one TCP read */
  if (n > cap)
    n = cap;
  for (size_t k = 0; k < n; k++)
    buf[k] = (uint8_t)(i * 31 + k * 7);
  return n;
}

/* Encodes MESSAGES_COUNT messages then FINAL into wire. */
static void make_stream(const uint8_t key[32], struct dk_buf *wire) {
  struct dk_frame_encoder enc;
  static uint8_t buf[80000];
  assert_int_equal(dk_frame_encoder_init(&enc, key, wire), 0);
  assert_int_equal(wire->len, DK_FRAME_STREAM_HEADER_BYTES);
  for (int i = 0; i < MESSAGES_COUNT; i++) {
    size_t n = make_message(i, buf, sizeof(buf));
    size_t before = wire->len;
    assert_int_equal(dk_frame_encode(&enc, buf, n, wire), 0);
    assert_int_equal(wire->len - before, DK_FRAME_PREFIX_BYTES + n + DK_FRAME_OVERHEAD_BYTES);
  }
  assert_int_equal(dk_frame_encode_end(&enc, wire), 0);
  assert_int_equal(dk_frame_encode(&enc, buf, 1, wire), DK_EINVAL);
  dk_frame_encoder_release(&enc);
}

static void check_sink(const struct sink *s) {
  static uint8_t buf[80000];
  assert_int_equal(s->count, MESSAGES_COUNT);
  for (int i = 0; i < MESSAGES_COUNT; i++) {
    size_t n = make_message(i, buf, sizeof(buf));
    uint8_t h[32];
    crypto_generichash(h, 32, buf, n, NULL, 0);
    assert_int_equal(s->lens[i], n);
    assert_memory_equal(s->hashes[i], h, 32);
  }
}

static void round_trip_one_byte_at_a_time(void **state) {
  uint8_t key[32];
  randombytes_buf(key, 32);
  struct dk_buf wire;
  dk_buf_init(&wire);
  make_stream(key, &wire);
  struct dk_frame_decoder dec;
  struct sink s = {0};
  assert_int_equal(dk_frame_decoder_init(&dec, key), 0);
  for (size_t i = 0; i < wire.len; i++)
    assert_int_equal(dk_frame_feed(&dec, wire.data + i, 1, collect, &s), 0);
  check_sink(&s);
  assert_true(dk_frame_decoder_ended(&dec));
  assert_int_equal(dk_frame_decoder_finish(&dec), 0);
  /* At most one frame buffered: the largest frame, rounded up by doubling. */
  assert_true(dec.cipher.cap <= 2 * (70000 + DK_FRAME_OVERHEAD_BYTES));
  dk_frame_decoder_release(&dec);
  dk_buf_release(&wire);
}

static void round_trip_random_chunks(void **state) {
  uint8_t key[32];
  randombytes_buf(key, 32);
  struct dk_buf wire;
  dk_buf_init(&wire);
  make_stream(key, &wire);
  for (int round = 0; round < 20; round++) {
    struct dk_frame_decoder dec;
    struct sink s = {0};
    assert_int_equal(dk_frame_decoder_init(&dec, key), 0);
    size_t pos = 0;
    while (pos < wire.len) {
      size_t max = round < 10 ? 64 : 200000;
      size_t n = 1 + randombytes_uniform((uint32_t)max);
      if (n > wire.len - pos)
        n = wire.len - pos;
      assert_int_equal(dk_frame_feed(&dec, wire.data + pos, n, collect, &s), 0);
      pos += n;
    }
    check_sink(&s);
    assert_int_equal(dk_frame_decoder_finish(&dec), 0);
    dk_frame_decoder_release(&dec);
  }
  /* And the whole stream in one piece. */
  struct dk_frame_decoder dec;
  struct sink s = {0};
  assert_int_equal(dk_frame_decoder_init(&dec, key), 0);
  assert_int_equal(dk_frame_feed(&dec, wire.data, wire.len, collect, &s), 0);
  check_sink(&s);
  assert_int_equal(dk_frame_decoder_finish(&dec), 0);
  dk_frame_decoder_release(&dec);
  dk_buf_release(&wire);
}

static void oversized_prefix_rejected_before_allocation(void **state) {
  uint8_t key[32];
  randombytes_buf(key, 32);
  struct dk_buf wire;
  dk_buf_init(&wire);
  struct dk_frame_encoder enc;
  assert_int_equal(dk_frame_encoder_init(&enc, key, &wire), 0);
  const uint8_t claim[4] = {0x80, 0x00, 0x00, 0x00}; /* 2^31 bytes */
  assert_int_equal(dk_buf_append(&wire, claim, 4), 0);

  struct dk_frame_decoder dec;
  struct sink s = {0};
  assert_int_equal(dk_frame_decoder_init(&dec, key), 0);
  assert_int_equal(dk_frame_feed(&dec, wire.data, wire.len, collect, &s), DK_ELIMIT);
  assert_null(dec.cipher.data);
  assert_int_equal(dec.cipher.cap, 0);
  assert_null(dec.plain.data);
  assert_int_equal(s.count, 0);
  /* Sticky. */
  assert_int_equal(dk_frame_feed(&dec, (const uint8_t *)"x", 1, collect, &s), DK_ELIMIT);
  assert_int_equal(dk_frame_decoder_finish(&dec), DK_ELIMIT);
  dk_frame_decoder_release(&dec);

  /* One past the limit is refused too; exactly the limit is not (it waits
   * for the bytes). */
  uint8_t edge[4];
  dk_be32_put(edge, DK_FRAME_CIPHER_BYTES_MAX + 1);
  wire.len = DK_FRAME_STREAM_HEADER_BYTES;
  assert_int_equal(dk_buf_append(&wire, edge, 4), 0);
  assert_int_equal(dk_frame_decoder_init(&dec, key), 0);
  assert_int_equal(dk_frame_feed(&dec, wire.data, wire.len, collect, &s), DK_ELIMIT);
  dk_frame_decoder_release(&dec);
  dk_be32_put(edge, DK_FRAME_CIPHER_BYTES_MAX);
  wire.len = DK_FRAME_STREAM_HEADER_BYTES;
  assert_int_equal(dk_buf_append(&wire, edge, 4), 0);
  assert_int_equal(dk_frame_decoder_init(&dec, key), 0);
  assert_int_equal(dk_frame_feed(&dec, wire.data, wire.len, collect, &s), 0);
  assert_int_equal(dk_frame_decoder_finish(&dec), DK_EPROTO); /* cut mid-frame */
  dk_frame_decoder_release(&dec);

  /* Shorter than the overhead cannot be a frame. */
  dk_be32_put(edge, DK_FRAME_OVERHEAD_BYTES - 1);
  wire.len = DK_FRAME_STREAM_HEADER_BYTES;
  assert_int_equal(dk_buf_append(&wire, edge, 4), 0);
  assert_int_equal(dk_frame_decoder_init(&dec, key), 0);
  assert_int_equal(dk_frame_feed(&dec, wire.data, wire.len, collect, &s), DK_EPROTO);
  dk_frame_decoder_release(&dec);

  /* The encoder refuses to make a frame the decoder would refuse. */
  uint8_t *big = calloc(1, DK_FRAME_BYTES_MAX + 1);
  assert_non_null(big);
  size_t before = wire.len;
  assert_int_equal(dk_frame_encode(&enc, big, DK_FRAME_BYTES_MAX + 1, &wire), DK_ELIMIT);
  assert_int_equal(wire.len, before);
  free(big);
  dk_frame_encoder_release(&enc);
  dk_buf_release(&wire);
}

static void largest_frame_round_trips(void **state) {
  uint8_t key[32];
  randombytes_buf(key, 32);
  struct dk_buf wire;
  dk_buf_init(&wire);
  struct dk_frame_encoder enc;
  assert_int_equal(dk_frame_encoder_init(&enc, key, &wire), 0);
  uint8_t *big = malloc(DK_FRAME_BYTES_MAX);
  assert_non_null(big);
  randombytes_buf(big, DK_FRAME_BYTES_MAX);
  assert_int_equal(dk_frame_encode(&enc, big, DK_FRAME_BYTES_MAX, &wire), 0);
  assert_int_equal(dk_frame_encode_end(&enc, &wire), 0);
  struct dk_frame_decoder dec;
  struct sink s = {0};
  assert_int_equal(dk_frame_decoder_init(&dec, key), 0);
  for (size_t pos = 0; pos < wire.len; pos += 4096) {
    size_t n = wire.len - pos < 4096 ? wire.len - pos : 4096;
    assert_int_equal(dk_frame_feed(&dec, wire.data + pos, n, collect, &s), 0);
  }
  assert_int_equal(s.count, 1);
  assert_int_equal(s.lens[0], DK_FRAME_BYTES_MAX);
  uint8_t h[32];
  crypto_generichash(h, 32, big, DK_FRAME_BYTES_MAX, NULL, 0);
  assert_memory_equal(s.hashes[0], h, 32);
  assert_int_equal(dk_frame_decoder_finish(&dec), 0);
  free(big);
  dk_frame_decoder_release(&dec);
  dk_frame_encoder_release(&enc);
  dk_buf_release(&wire);
}

/* Flipping any bit of a frame (prefix or ciphertext) or of the stream header
 * fails with DK_EPROTO or DK_ELIMIT, and the failure is sticky. */
static void bit_flip_is_eproto_and_sticky(void **state) {
  uint8_t key[32];
  randombytes_buf(key, 32);
  struct dk_buf wire;
  dk_buf_init(&wire);
  struct dk_frame_encoder enc;
  assert_int_equal(dk_frame_encoder_init(&enc, key, &wire), 0);
  assert_int_equal(dk_frame_encode(&enc, (const uint8_t *)"first", 5, &wire), 0);
  size_t second_at = wire.len;
  assert_int_equal(dk_frame_encode(&enc, (const uint8_t *)"second message", 14, &wire), 0);
  size_t third_at = wire.len;
  assert_int_equal(dk_frame_encode(&enc, (const uint8_t *)"third", 5, &wire), 0);
  dk_frame_encoder_release(&enc);

  for (size_t bit = 0; bit < third_at * 8; bit++) {
    struct dk_frame_decoder dec;
    struct sink s = {0};
    wire.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    assert_int_equal(dk_frame_decoder_init(&dec, key), 0);
    int rc = dk_frame_feed(&dec, wire.data, wire.len, collect, &s);
    wire.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    size_t byte = bit / 8;
    int in_prefix = (byte >= DK_FRAME_STREAM_HEADER_BYTES &&
                     byte < DK_FRAME_STREAM_HEADER_BYTES + DK_FRAME_PREFIX_BYTES) ||
                    (byte >= second_at && byte < second_at + DK_FRAME_PREFIX_BYTES);
    if (in_prefix) {
      /* A flipped length makes the frame shorter (it does not decrypt),
       * longer than the limit, or longer than what came (still waiting;
       * the stream is then cut short). */
      if (rc == 0)
        assert_int_equal(dk_frame_decoder_finish(&dec), DK_EPROTO);
      else
        assert_true(rc == DK_EPROTO || rc == DK_ELIMIT);
    } else {
      assert_int_equal(rc, DK_EPROTO);
    }
    /* No tampered message comes out: only those of frames before it. */
    assert_true((size_t)s.count <= (byte >= second_at ? 1u : 0u));
    /* Sticky: the next call fails with the same code, delivering nothing. */
    int count = s.count;
    int again = dk_frame_feed(&dec, wire.data + third_at, wire.len - third_at, collect, &s);
    assert_int_equal(again, rc == 0 ? DK_EPROTO : rc);
    assert_int_equal(s.count, count);
    dk_frame_decoder_release(&dec);
  }
  dk_buf_release(&wire);
}

static void reorder_and_replay_are_eproto(void **state) {
  uint8_t key[32];
  randombytes_buf(key, 32);
  struct dk_buf wire;
  dk_buf_init(&wire);
  struct dk_frame_encoder enc;
  assert_int_equal(dk_frame_encoder_init(&enc, key, &wire), 0);
  size_t a_at = wire.len;
  assert_int_equal(dk_frame_encode(&enc, (const uint8_t *)"aaaa", 4, &wire), 0);
  size_t b_at = wire.len;
  assert_int_equal(dk_frame_encode(&enc, (const uint8_t *)"bbbb", 4, &wire), 0);
  size_t end = wire.len;
  dk_frame_encoder_release(&enc);
  size_t frame = b_at - a_at;
  assert_int_equal(end - b_at, frame);

  /* B before A. */
  struct dk_frame_decoder dec;
  struct sink s = {0};
  assert_int_equal(dk_frame_decoder_init(&dec, key), 0);
  assert_int_equal(dk_frame_feed(&dec, wire.data, DK_FRAME_STREAM_HEADER_BYTES, collect, &s), 0);
  assert_int_equal(dk_frame_feed(&dec, wire.data + b_at, frame, collect, &s), DK_EPROTO);
  assert_int_equal(dk_frame_feed(&dec, wire.data + a_at, frame, collect, &s), DK_EPROTO);
  assert_int_equal(s.count, 0);
  dk_frame_decoder_release(&dec);

  /* A twice. */
  memset(&s, 0, sizeof(s));
  assert_int_equal(dk_frame_decoder_init(&dec, key), 0);
  assert_int_equal(dk_frame_feed(&dec, wire.data, b_at, collect, &s), 0);
  assert_int_equal(s.count, 1);
  assert_int_equal(dk_frame_feed(&dec, wire.data + a_at, frame, collect, &s), DK_EPROTO);
  assert_int_equal(s.count, 1);
  dk_frame_decoder_release(&dec);

  /* A frame from another stream under the same key (another connection). */
  struct dk_buf other;
  dk_buf_init(&other);
  assert_int_equal(dk_frame_encoder_init(&enc, key, &other), 0);
  assert_int_equal(dk_frame_encode(&enc, (const uint8_t *)"aaaa", 4, &other), 0);
  dk_frame_encoder_release(&enc);
  memset(&s, 0, sizeof(s));
  assert_int_equal(dk_frame_decoder_init(&dec, key), 0);
  assert_int_equal(dk_frame_feed(&dec, wire.data, DK_FRAME_STREAM_HEADER_BYTES, collect, &s), 0);
  assert_int_equal(dk_frame_feed(&dec, other.data + DK_FRAME_STREAM_HEADER_BYTES, frame, collect,
                                 &s),
                   DK_EPROTO);
  dk_frame_decoder_release(&dec);

  /* The wrong key. */
  uint8_t wrong[32];
  memcpy(wrong, key, 32);
  wrong[0] ^= 1;
  memset(&s, 0, sizeof(s));
  assert_int_equal(dk_frame_decoder_init(&dec, wrong), 0);
  assert_int_equal(dk_frame_feed(&dec, wire.data, end, collect, &s), DK_EPROTO);
  assert_int_equal(s.count, 0);
  dk_frame_decoder_release(&dec);
  dk_buf_release(&other);
  dk_buf_release(&wire);
}

static void truncation_vs_final(void **state) {
  uint8_t key[32];
  randombytes_buf(key, 32);
  struct dk_buf wire;
  dk_buf_init(&wire);
  struct dk_frame_encoder enc;
  assert_int_equal(dk_frame_encoder_init(&enc, key, &wire), 0);
  assert_int_equal(dk_frame_encode(&enc, (const uint8_t *)"one", 3, &wire), 0);
  size_t before_final = wire.len;
  assert_int_equal(dk_frame_encode_end(&enc, &wire), 0);
  assert_int_equal(wire.len - before_final, DK_FRAME_PREFIX_BYTES + DK_FRAME_OVERHEAD_BYTES);
  dk_frame_encoder_release(&enc);

  /* Clean: the FINAL frame arrived. */
  struct dk_frame_decoder dec;
  struct sink s = {0};
  assert_int_equal(dk_frame_decoder_init(&dec, key), 0);
  assert_int_equal(dk_frame_feed(&dec, wire.data, wire.len, collect, &s), 0);
  assert_int_equal(s.count, 1);
  assert_true(dk_frame_decoder_ended(&dec));
  assert_int_equal(dk_frame_decoder_finish(&dec), 0);
  /* Nothing may follow FINAL. */
  assert_int_equal(dk_frame_feed(&dec, (const uint8_t *)"\0", 1, collect, &s), DK_EPROTO);
  assert_int_equal(dk_frame_decoder_finish(&dec), DK_EPROTO);
  dk_frame_decoder_release(&dec);

  /* Cut at a frame boundary, before FINAL: every message arrived but the
   * stream did not end. */
  memset(&s, 0, sizeof(s));
  assert_int_equal(dk_frame_decoder_init(&dec, key), 0);
  assert_int_equal(dk_frame_feed(&dec, wire.data, before_final, collect, &s), 0);
  assert_int_equal(s.count, 1);
  assert_false(dk_frame_decoder_ended(&dec));
  assert_int_equal(dk_frame_decoder_finish(&dec), DK_EPROTO);
  dk_frame_decoder_release(&dec);

  /* Cut at every other point. */
  for (size_t cut = 0; cut < wire.len; cut++) {
    memset(&s, 0, sizeof(s));
    assert_int_equal(dk_frame_decoder_init(&dec, key), 0);
    assert_int_equal(dk_frame_feed(&dec, wire.data, cut, collect, &s), 0);
    assert_int_equal(dk_frame_decoder_finish(&dec), DK_EPROTO);
    dk_frame_decoder_release(&dec);
  }
  dk_buf_release(&wire);
}

static void callback_error_stops_and_sticks(void **state) {
  uint8_t key[32];
  randombytes_buf(key, 32);
  struct dk_buf wire;
  dk_buf_init(&wire);
  make_stream(key, &wire);
  struct dk_frame_decoder dec;
  struct sink s = {0};
  s.stop_at = 3;
  assert_int_equal(dk_frame_decoder_init(&dec, key), 0);
  assert_int_equal(dk_frame_feed(&dec, wire.data, wire.len, collect, &s), DK_ECANCELED);
  assert_int_equal(s.count, 3);
  assert_int_equal(dk_frame_feed(&dec, wire.data, 1, collect, &s), DK_ECANCELED);
  assert_int_equal(s.count, 3);
  dk_frame_decoder_release(&dec);
  dk_buf_release(&wire);
}

/* Frame vector (docs/protocol-transport.md): key 32 x 0x42, the stream
 * header and frames below decode to "hello", "docket" and a clean end. */
static const char *FRAME_VECTOR_KEY_BYTE = "42";
static const char *FRAME_VECTOR =
    "d5c81d3e471561ac7cdff2296abb6c2eff01c1fd1615c1790000001657066b2f"
    "38aabffa81d60f0c808a1a5eb61580a8def100000017e18045bdfd0e503d33d4"
    "fc61544daeb0cbaf4c9583537b000000115c636d00892002621e33a97f7e0906"
    "18eb";

static void frame_vector_decodes(void **state) {
  uint8_t key[32];
  memset(key, 0x42, 32);
  assert_string_equal(FRAME_VECTOR_KEY_BYTE, "42");
  if (getenv("DK_PRINT_VECTORS")) {
    struct dk_buf wire;
    dk_buf_init(&wire);
    struct dk_frame_encoder enc;
    assert_int_equal(dk_frame_encoder_init(&enc, key, &wire), 0);
    assert_int_equal(dk_frame_encode(&enc, (const uint8_t *)"hello", 5, &wire), 0);
    assert_int_equal(dk_frame_encode(&enc, (const uint8_t *)"docket", 6, &wire), 0);
    assert_int_equal(dk_frame_encode_end(&enc, &wire), 0);
    dk_frame_encoder_release(&enc);
    char *hex = malloc(wire.len * 2 + 1);
    assert_non_null(hex);
    for (size_t i = 0; i < wire.len; i++)
      sprintf(hex + 2 * i, "%02x", wire.data[i]);
    printf("frames = %s\n", hex);
    free(hex);
    dk_buf_release(&wire);
    return;
  }
  size_t hex_len = strlen(FRAME_VECTOR);
  uint8_t bytes[256];
  assert_true(hex_len / 2 <= sizeof(bytes));
  for (size_t i = 0; i < hex_len / 2; i++) {
    unsigned v;
    assert_int_equal(sscanf(FRAME_VECTOR + 2 * i, "%2x", &v), 1);
    bytes[i] = (uint8_t)v;
  }
  struct dk_frame_decoder dec;
  struct sink s = {0};
  assert_int_equal(dk_frame_decoder_init(&dec, key), 0);
  assert_int_equal(dk_frame_feed(&dec, bytes, hex_len / 2, collect, &s), 0);
  assert_int_equal(s.count, 2);
  uint8_t h[32];
  crypto_generichash(h, 32, (const uint8_t *)"hello", 5, NULL, 0);
  assert_memory_equal(s.hashes[0], h, 32);
  crypto_generichash(h, 32, (const uint8_t *)"docket", 6, NULL, 0);
  assert_memory_equal(s.hashes[1], h, 32);
  assert_int_equal(dk_frame_decoder_finish(&dec), 0);
  dk_frame_decoder_release(&dec);

  FILE *f = fopen(DK_SOURCE_DIR "/docs/protocol-transport.md", "rb");
  assert_non_null(f);
  char *doc = calloc(1, 1 << 20);
  assert_non_null(doc);
  size_t n = fread(doc, 1, (1 << 20) - 1, f);
  fclose(f);
  doc[n] = 0;
  assert_non_null(strstr(doc, FRAME_VECTOR));
  free(doc);
}

/* ---- msgpack envelope ---- */

static void envelope_reads_version_and_type(void **state) {
  struct dk_buf b;
  dk_buf_init(&b);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &b, dk_buf_msgpack_write);
  assert_int_equal(dk_msg_begin(&pk, 7, 1), 0);
  assert_int_equal(dk_mp_pack_str(&pk, "field"), 0);
  uint32_t type = 0, version = 0;
  assert_int_equal(dk_msg_peek(b.data, b.len, &type, &version), 0);
  assert_int_equal(type, 7);
  assert_int_equal(version, DK_PROTO_VERSION);
  dk_buf_release(&b);

  /* Hand-made: [1, 3] and [2, 3] and [1] and {} and trailing bytes. */
  const uint8_t ok[] = {0x92, 0x01, 0x03};
  assert_int_equal(dk_msg_peek(ok, sizeof(ok), &type, &version), 0);
  assert_int_equal(type, 3);
  const uint8_t v2[] = {0x92, 0x02, 0x03};
  assert_int_equal(dk_msg_peek(v2, sizeof(v2), &type, &version), DK_EVERSION);
  assert_int_equal(version, 2);
  const uint8_t short_array[] = {0x91, 0x01};
  assert_int_equal(dk_msg_peek(short_array, sizeof(short_array), &type, &version), DK_EFORMAT);
  const uint8_t map[] = {0x80};
  assert_int_equal(dk_msg_peek(map, sizeof(map), &type, &version), DK_EFORMAT);
  const uint8_t trailing[] = {0x92, 0x01, 0x03, 0x00};
  assert_int_equal(dk_msg_peek(trailing, sizeof(trailing), &type, &version), DK_EFORMAT);
  const uint8_t str_type[] = {0x92, 0x01, 0xa1, 'x'};
  assert_int_equal(dk_msg_peek(str_type, sizeof(str_type), &type, &version), DK_EFORMAT);
  const uint8_t neg_version[] = {0x92, 0xff, 0x03};
  assert_int_equal(dk_msg_peek(neg_version, sizeof(neg_version), &type, &version), DK_EFORMAT);
  const uint8_t big_type[] = {0x92, 0x01, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0};
  assert_int_equal(dk_msg_peek(big_type, sizeof(big_type), &type, &version), DK_EFORMAT);
  assert_int_equal(dk_msg_peek(ok, 0, &type, &version), DK_EFORMAT);
}

static void envelope_refuses_the_count_bomb(void **state) {
  /* array32 of 2.67e9 elements in 7 bytes: msgpack-c alone would try to
   * allocate about 64 GiB. */
  const uint8_t bomb[] = {0xdd, 0x9e, 0xf5, 0x1f, 0x0a, 0x00, 0x00};
  uint32_t type = 99, version = 99;
  assert_int_equal(dk_msg_peek(bomb, sizeof(bomb), &type, &version), DK_ELIMIT);
  assert_int_equal(type, 99);
  assert_int_equal(version, 99);
  /* A count within the limit but beyond the bytes present is malformed. */
  const uint8_t liar[] = {0xdc, 0x01, 0x00, 0x01, 0x02};
  assert_int_equal(dk_msg_peek(liar, sizeof(liar), &type, &version), DK_EFORMAT);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip_one_byte_at_a_time),
      cmocka_unit_test(round_trip_random_chunks),
      cmocka_unit_test(oversized_prefix_rejected_before_allocation),
      cmocka_unit_test(largest_frame_round_trips),
      cmocka_unit_test(bit_flip_is_eproto_and_sticky),
      cmocka_unit_test(reorder_and_replay_are_eproto),
      cmocka_unit_test(truncation_vs_final),
      cmocka_unit_test(callback_error_stops_and_sticks),
      cmocka_unit_test(frame_vector_decodes),
      cmocka_unit_test(envelope_reads_version_and_type),
      cmocka_unit_test(envelope_refuses_the_count_bomb),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
