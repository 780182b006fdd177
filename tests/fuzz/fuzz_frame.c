/*
 * libFuzzer target for the frame decoder and the message envelope.
 *
 * The first input byte picks a mode (mod 3), the rest is its input:
 *   0  raw wire bytes for a decoder keyed with 32 x 0x42 (the key of the
 *      frame vector in docs/protocol-transport.md), fed whole and again one
 *      byte at a time: both must agree; every message goes to dk_msg_peek;
 *   1  a list of messages (each a length byte, then that many bytes) that is
 *      encoded, optionally has one bit flipped (per the next two bytes), and
 *      decoded in chunks: untouched streams must round-trip exactly and end
 *      cleanly, flipped ones must fail;
 *   2  bytes for dk_msg_peek alone.
 *
 * tests/test_fuzz_replay.c calls LLVMFuzzerTestOneInput on every file of
 * tests/fuzz/corpus/frame/ in every ctest run, without libFuzzer.
 * Violated properties abort(), which the fuzzer reports.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "replication/frame.h"
#include "replication/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MESSAGES_MAX 64

struct record {
  int count;
  size_t lens[MESSAGES_MAX];
  uint8_t hashes[MESSAGES_MAX][32];
};

static int on_message(void *ctx, const uint8_t *msg, size_t len) {
  struct record *r = ctx;
  uint32_t type = 0, version = 0;
  int rc = dk_msg_peek(msg, len, &type, &version);
  if (rc == 0 && version != DK_PROTO_VERSION)
    abort();
  if (rc > 0)
    abort(); /* codes are 0 or negative */
  if (r->count < MESSAGES_MAX) {
    r->lens[r->count] = len;
    crypto_generichash(r->hashes[r->count], 32, msg, len, NULL, 0);
  }
  r->count++;
  return 0;
}

static int is_decoder_error(int rc) {
  return rc == DK_EPROTO || rc == DK_ELIMIT || rc == DK_ENOMEM;
}

static void raw_decode(const uint8_t *data, size_t size) {
  uint8_t key[32];
  memset(key, 0x42, sizeof(key));
  struct dk_frame_decoder whole, bytewise;
  struct record rw = {0}, rb = {0};
  if (dk_frame_decoder_init(&whole, key) != 0 || dk_frame_decoder_init(&bytewise, key) != 0)
    abort();
  int rc_whole = dk_frame_feed(&whole, data, size, on_message, &rw);
  int rc_bytes = 0;
  for (size_t i = 0; i < size && rc_bytes == 0; i++)
    rc_bytes = dk_frame_feed(&bytewise, data + i, 1, on_message, &rb);
  if (rc_whole != rc_bytes || rw.count != rb.count)
    abort();
  if (rc_whole != 0 && !is_decoder_error(rc_whole))
    abort();
  int n = rw.count < MESSAGES_MAX ? rw.count : MESSAGES_MAX;
  for (int i = 0; i < n; i++)
    if (rw.lens[i] != rb.lens[i] || memcmp(rw.hashes[i], rb.hashes[i], 32) != 0)
      abort();
  int fin_whole = dk_frame_decoder_finish(&whole);
  int fin_bytes = dk_frame_decoder_finish(&bytewise);
  if (fin_whole != fin_bytes)
    abort();
  /* A failed decoder stays failed with the same code. */
  if (fin_whole != 0 && size > 0 && dk_frame_feed(&whole, data, 1, on_message, &rw) != fin_whole)
    abort();
  dk_frame_decoder_release(&whole);
  dk_frame_decoder_release(&bytewise);
}

static void round_trip(const uint8_t *data, size_t size) {
  if (size < 2)
    return;
  size_t flip_at = ((size_t)data[0] << 8 | data[1]);
  int flip = (data[0] & 0x80) != 0;
  flip_at &= 0x7fff;
  data += 2;
  size -= 2;

  uint8_t key[32];
  memset(key, 0x42, sizeof(key));
  struct dk_buf wire;
  dk_buf_init(&wire);
  struct dk_frame_encoder enc;
  struct record want = {0};
  if (dk_frame_encoder_init(&enc, key, &wire) != 0)
    abort();
  size_t pos = 0;
  while (pos < size && want.count < MESSAGES_MAX) {
    size_t len = data[pos++];
    if (len > size - pos)
      len = size - pos;
    if (dk_frame_encode(&enc, data + pos, len, &wire) != 0)
      abort();
    want.lens[want.count] = len;
    crypto_generichash(want.hashes[want.count], 32, data + pos, len, NULL, 0);
    want.count++;
    pos += len;
  }
  if (dk_frame_encode_end(&enc, &wire) != 0)
    abort();
  dk_frame_encoder_release(&enc);
  if (flip)
    wire.data[flip_at % wire.len] ^= (uint8_t)(1u << (flip_at % 8));

  struct dk_frame_decoder dec;
  struct record got = {0};
  if (dk_frame_decoder_init(&dec, key) != 0)
    abort();
  int rc = 0;
  size_t chunk = 1 + (flip_at % 97);
  for (size_t off = 0; off < wire.len && rc == 0; off += chunk) {
    size_t n = wire.len - off < chunk ? wire.len - off : chunk;
    rc = dk_frame_feed(&dec, wire.data + off, n, on_message, &got);
  }
  int fin = dk_frame_decoder_finish(&dec);
  if (!flip) {
    if (rc != 0 || fin != 0 || got.count != want.count)
      abort();
  } else {
    if (rc == 0 && fin == 0)
      abort(); /* a flipped bit went unnoticed */
    if (got.count > want.count)
      abort();
  }
  for (int i = 0; i < got.count && i < MESSAGES_MAX; i++)
    if (got.lens[i] != want.lens[i] || memcmp(got.hashes[i], want.hashes[i], 32) != 0)
      abort(); /* anything delivered is exactly what was sent */
  dk_frame_decoder_release(&dec);
  dk_buf_release(&wire);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (sodium_init() < 0)
    abort();
  if (size == 0)
    return 0;
  uint8_t mode = data[0] % 3;
  data++;
  size--;
  if (mode == 0) {
    raw_decode(data, size);
  } else if (mode == 1) {
    round_trip(data, size);
  } else {
    uint32_t type, version;
    int rc = dk_msg_peek(data, size, &type, &version);
    if (rc == 0 && version != DK_PROTO_VERSION)
      abort();
  }
  return 0;
}
