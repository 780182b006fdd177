#include "replication/frame.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "common/error.h"

_Static_assert(DK_FRAME_OVERHEAD_BYTES == crypto_secretstream_xchacha20poly1305_ABYTES,
               "frame overhead is the secretstream overhead");
_Static_assert(DK_FRAME_STREAM_HEADER_BYTES == crypto_secretstream_xchacha20poly1305_HEADERBYTES,
               "stream header size");
_Static_assert(DK_FRAME_KEY_BYTES == crypto_secretstream_xchacha20poly1305_KEYBYTES,
               "frame key size");
_Static_assert(DK_FRAME_CIPHER_BYTES_MAX < UINT32_MAX, "a frame length fits its prefix");
_Static_assert(DK_FRAME_BYTES_MAX <= crypto_secretstream_xchacha20poly1305_MESSAGEBYTES_MAX,
               "a frame fits one secretstream message");
_Static_assert(DK_FRAME_PREFIX_BYTES <= DK_FRAME_STREAM_HEADER_BYTES,
               "the pending buffer holds a prefix");

struct dk_frame_stream {
  crypto_secretstream_xchacha20poly1305_state state;
  uint8_t key[DK_FRAME_KEY_BYTES]; /* decoder: kept until the header arrives */
};

static struct dk_frame_stream *stream_new(const uint8_t key[DK_FRAME_KEY_BYTES]) {
  struct dk_frame_stream *s = sodium_malloc(sizeof(*s));
  if (s == NULL)
    return NULL;
  sodium_memzero(s, sizeof(*s));
  memcpy(s->key, key, DK_FRAME_KEY_BYTES);
  return s;
}

/* ---- encoder ---- */

int dk_frame_encoder_init(struct dk_frame_encoder *enc, const uint8_t key[DK_FRAME_KEY_BYTES],
                          struct dk_buf *out) {
  int rc = 0;
  memset(enc, 0, sizeof(*enc));
  enc->stream = stream_new(key);
  if (enc->stream == NULL) {
    rc = DK_ENOMEM;
    goto out;
  }
  rc = dk_buf_reserve(out, DK_FRAME_STREAM_HEADER_BYTES);
  if (rc != 0)
    goto out;
  if (crypto_secretstream_xchacha20poly1305_init_push(&enc->stream->state, out->data + out->len,
                                                      enc->stream->key) != 0) {
    rc = DK_ECRYPTO;
    goto out;
  }
  out->len += DK_FRAME_STREAM_HEADER_BYTES;
out:
  if (enc->stream != NULL)
    sodium_memzero(enc->stream->key, DK_FRAME_KEY_BYTES); /* the state has its own copy */
  if (rc != 0)
    enc->error = rc;
  return rc;
}

static int encode(struct dk_frame_encoder *enc, const uint8_t *plaintext, size_t len,
                  unsigned char tag, struct dk_buf *out) {
  int rc = 0;
  if (enc->error != 0)
    return enc->error;
  if (enc->ended || enc->stream == NULL)
    return DK_EINVAL;
  if (len > DK_FRAME_BYTES_MAX)
    return DK_ELIMIT;
  size_t cipher_bytes = len + DK_FRAME_OVERHEAD_BYTES;
  rc = dk_buf_reserve(out, DK_FRAME_PREFIX_BYTES + cipher_bytes);
  if (rc != 0)
    return rc; /* nothing written, the stream did not advance */
  uint8_t *prefix = out->data + out->len;
  dk_be32_put(prefix, (uint32_t)cipher_bytes);
  unsigned long long written = 0;
  if (crypto_secretstream_xchacha20poly1305_push(&enc->stream->state,
                                                 prefix + DK_FRAME_PREFIX_BYTES, &written,
                                                 plaintext, len, prefix, DK_FRAME_PREFIX_BYTES,
                                                 tag) != 0) {
    rc = DK_ECRYPTO;
    goto out;
  }
  assert(written == cipher_bytes);
  out->len += DK_FRAME_PREFIX_BYTES + cipher_bytes;
  if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL)
    enc->ended = 1;
out:
  if (rc != 0)
    enc->error = rc;
  return rc;
}

int dk_frame_encode(struct dk_frame_encoder *enc, const uint8_t *plaintext, size_t len,
                    struct dk_buf *out) {
  return encode(enc, plaintext, len, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE, out);
}

int dk_frame_encode_end(struct dk_frame_encoder *enc, struct dk_buf *out) {
  return encode(enc, NULL, 0, crypto_secretstream_xchacha20poly1305_TAG_FINAL, out);
}

void dk_frame_encoder_release(struct dk_frame_encoder *enc) {
  if (enc->stream != NULL)
    sodium_free(enc->stream); /* wipes */
  enc->stream = NULL;
  enc->ended = 1;
}

/* ---- decoder ---- */

int dk_frame_decoder_init(struct dk_frame_decoder *dec, const uint8_t key[DK_FRAME_KEY_BYTES]) {
  memset(dec, 0, sizeof(*dec));
  dk_buf_init(&dec->cipher);
  dk_buf_init_secure(&dec->plain);
  dec->phase = DK_FRAME_PHASE_HEADER;
  dec->stream = stream_new(key);
  if (dec->stream == NULL) {
    dec->phase = DK_FRAME_PHASE_FAILED;
    dec->error = DK_ENOMEM;
    return DK_ENOMEM;
  }
  return 0;
}

/* Wipes the first n bytes of the plaintext buffer; wiping only what was
 * used keeps small frames cheap after a large one grew the buffer. */
static void plain_wipe(struct dk_frame_decoder *dec, size_t n) {
  if (dec->plain.data != NULL && n > 0)
    sodium_memzero(dec->plain.data, n);
  dec->plain.len = 0;
}

static int decoder_fail(struct dk_frame_decoder *dec, int rc) {
  dec->phase = DK_FRAME_PHASE_FAILED;
  dec->error = rc;
  dk_buf_reset(&dec->plain);
  return rc;
}

/* Decrypts one whole frame's ciphertext and hands its plaintext out. */
static int open_frame(struct dk_frame_decoder *dec, const uint8_t *cipher, size_t cipher_bytes,
                      dk_frame_message_fn on_message, void *ctx) {
  uint8_t prefix[DK_FRAME_PREFIX_BYTES];
  dk_be32_put(prefix, (uint32_t)cipher_bytes);
  size_t plain_bytes = cipher_bytes - DK_FRAME_OVERHEAD_BYTES;
  /* +1 so that an empty message still has a valid pointer. */
  int rc = dk_buf_reserve(&dec->plain, plain_bytes + 1);
  if (rc != 0)
    return rc;
  unsigned long long got = 0;
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(&dec->stream->state, dec->plain.data, &got, &tag,
                                                 cipher, cipher_bytes, prefix,
                                                 DK_FRAME_PREFIX_BYTES) != 0) {
    plain_wipe(dec, plain_bytes);
    return DK_EPROTO;
  }
  dec->plain.len = (size_t)got;
  if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
    /* The close frame carries nothing; anything in it is a protocol error. */
    if (got != 0)
      return DK_EPROTO;
    dec->phase = DK_FRAME_PHASE_ENDED;
    return 0;
  }
  if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
    return DK_EPROTO;
  dec->phase = DK_FRAME_PHASE_PREFIX;
  rc = on_message(ctx, dec->plain.data, dec->plain.len);
  plain_wipe(dec, plain_bytes);
  return rc;
}

int dk_frame_feed(struct dk_frame_decoder *dec, const uint8_t *data, size_t len,
                  dk_frame_message_fn on_message, void *ctx) {
  int rc = 0;
  size_t pos = 0;
  assert(on_message != NULL);
  if (dec->phase == DK_FRAME_PHASE_FAILED)
    return dec->error;

  while (pos < len) {
    size_t left = len - pos;
    switch (dec->phase) {
    case DK_FRAME_PHASE_HEADER: {
      size_t take = DK_FRAME_STREAM_HEADER_BYTES - dec->pending_len;
      if (take > left)
        take = left;
      memcpy(dec->pending + dec->pending_len, data + pos, take);
      dec->pending_len += take;
      pos += take;
      if (dec->pending_len < DK_FRAME_STREAM_HEADER_BYTES)
        break;
      if (crypto_secretstream_xchacha20poly1305_init_pull(&dec->stream->state, dec->pending,
                                                          dec->stream->key) != 0) {
        rc = DK_EPROTO;
        goto out;
      }
      sodium_memzero(dec->stream->key, DK_FRAME_KEY_BYTES);
      dec->pending_len = 0;
      dec->phase = DK_FRAME_PHASE_PREFIX;
      break;
    }
    case DK_FRAME_PHASE_PREFIX: {
      size_t take = DK_FRAME_PREFIX_BYTES - dec->pending_len;
      if (take > left)
        take = left;
      memcpy(dec->pending + dec->pending_len, data + pos, take);
      dec->pending_len += take;
      pos += take;
      if (dec->pending_len < DK_FRAME_PREFIX_BYTES)
        break;
      dec->pending_len = 0;
      uint32_t n = dk_be32_get(dec->pending);
      /* The declared size is checked before anything is reserved for it. */
      if (n > DK_FRAME_CIPHER_BYTES_MAX) {
        rc = DK_ELIMIT;
        goto out;
      }
      if (n < DK_FRAME_OVERHEAD_BYTES) {
        rc = DK_EPROTO;
        goto out;
      }
      dec->cipher_bytes = n;
      dec->phase = DK_FRAME_PHASE_BODY;
      dk_buf_reset(&dec->cipher);
      break;
    }
    case DK_FRAME_PHASE_BODY: {
      size_t need = dec->cipher_bytes - dec->cipher.len;
      if (dec->cipher.len == 0 && left >= need) {
        /* The whole frame is in this piece: decrypt in place, no copy. */
        pos += need;
        rc = open_frame(dec, data + pos - need, need, on_message, ctx);
        if (rc != 0)
          goto out;
        break;
      }
      size_t take = need < left ? need : left;
      rc = dk_buf_append(&dec->cipher, data + pos, take);
      if (rc != 0)
        goto out;
      pos += take;
      if (dec->cipher.len < dec->cipher_bytes)
        break;
      rc = open_frame(dec, dec->cipher.data, dec->cipher.len, on_message, ctx);
      dk_buf_reset(&dec->cipher);
      if (rc != 0)
        goto out;
      break;
    }
    case DK_FRAME_PHASE_ENDED:
      rc = DK_EPROTO; /* bytes after the close */
      goto out;
    default:
      assert(!"unreachable frame phase");
      rc = DK_EPROTO;
      goto out;
    }
  }
out:
  if (rc != 0)
    decoder_fail(dec, rc);
  return rc;
}

int dk_frame_decoder_finish(struct dk_frame_decoder *dec) {
  if (dec->phase == DK_FRAME_PHASE_FAILED)
    return dec->error;
  if (dec->phase == DK_FRAME_PHASE_ENDED)
    return 0;
  return decoder_fail(dec, DK_EPROTO);
}

int dk_frame_decoder_ended(const struct dk_frame_decoder *dec) {
  return dec->phase == DK_FRAME_PHASE_ENDED;
}

void dk_frame_decoder_release(struct dk_frame_decoder *dec) {
  if (dec->stream != NULL)
    sodium_free(dec->stream); /* wipes */
  dec->stream = NULL;
  dk_buf_release(&dec->cipher);
  dk_buf_release(&dec->plain);
  dec->phase = DK_FRAME_PHASE_FAILED;
  if (dec->error == 0)
    dec->error = DK_EINVAL;
}
