/*
 * Encrypted frames: every byte after the handshake.
 *
 * Each direction is one libsodium crypto_secretstream_xchacha20poly1305
 * stream keyed by a handshake session key. The sender first sends the
 * 24-byte stream header, then frames:
 *
 *   frame = length (4 bytes, big-endian, of the ciphertext) || ciphertext
 *
 * The ciphertext is one secretstream message whose associated data is the
 * 4-byte length prefix. Ordinary frames carry the MESSAGE tag; a clean close
 * is one frame with the FINAL tag and an empty payload, so that a stream cut
 * short is told apart from a stream that ended. The stream itself detects a
 * tampered, dropped, reordered or replayed frame.
 * docs/protocol-transport.md gives the bytes and test vectors.
 *
 * Pure: no I/O. The caller embeds the structs, calls *_init and always
 * *_release. Stream states (which hold keys) live in sodium_malloc memory
 * and are wiped on release; decrypted plaintext lives in a secure buffer.
 * After any error an encoder or decoder is failed for good: every later call
 * returns the same code. Not thread-safe per struct; no globals.
 */
#ifndef DK_FRAME_H
#define DK_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/limits.h"

#define DK_FRAME_KEY_BYTES 32
/* The secretstream header, sent once before the first frame. */
#define DK_FRAME_STREAM_HEADER_BYTES 24
#define DK_FRAME_PREFIX_BYTES 4
/* Ciphertext expansion of one frame (secretstream ABYTES: tag + MAC). */
#define DK_FRAME_OVERHEAD_BYTES 17
/* The largest ciphertext a length prefix may declare. */
#define DK_FRAME_CIPHER_BYTES_MAX (DK_FRAME_BYTES_MAX + DK_FRAME_OVERHEAD_BYTES)

struct dk_frame_stream; /* private, sodium_malloc */

struct dk_frame_encoder {
  struct dk_frame_stream *stream;
  int ended; /* the FINAL frame was written */
  int error;
};

/*
 * Starts the sending stream under key (copied; a handshake send key) and
 * appends its 24-byte header to out: send it before any frame.
 * Returns 0, DK_ENOMEM or DK_ECRYPTO; release the encoder after any return.
 */
int dk_frame_encoder_init(struct dk_frame_encoder *enc, const uint8_t key[DK_FRAME_KEY_BYTES],
                          struct dk_buf *out);

/*
 * Encrypts plaintext[0..len) and appends the whole frame (prefix and
 * ciphertext) to out. DK_ELIMIT when len > DK_FRAME_BYTES_MAX (the encoder
 * stays usable: nothing was written); DK_EINVAL after the stream ended;
 * DK_ENOMEM.
 */
int dk_frame_encode(struct dk_frame_encoder *enc, const uint8_t *plaintext, size_t len,
                    struct dk_buf *out);

/* Appends the FINAL frame that ends the stream cleanly. Later encodes fail
 * with DK_EINVAL. */
int dk_frame_encode_end(struct dk_frame_encoder *enc, struct dk_buf *out);

/* Wipes and frees the stream state. Safe on a zeroed struct. */
void dk_frame_encoder_release(struct dk_frame_encoder *enc);

/*
 * Receives one plaintext message. msg is a borrowed view valid only during
 * the call. Return 0 to go on; any other value stops dk_frame_feed(), which
 * returns that value and leaves the decoder failed.
 */
typedef int (*dk_frame_message_fn)(void *ctx, const uint8_t *msg, size_t len);

enum dk_frame_phase {
  DK_FRAME_PHASE_HEADER = 1, /* reading the stream header */
  DK_FRAME_PHASE_PREFIX,     /* reading a length prefix */
  DK_FRAME_PHASE_BODY,       /* reading a frame's ciphertext */
  DK_FRAME_PHASE_ENDED,      /* the FINAL frame was read */
  DK_FRAME_PHASE_FAILED,
};

struct dk_frame_decoder {
  struct dk_frame_stream *stream;
  int phase;
  int error;
  uint8_t pending[DK_FRAME_STREAM_HEADER_BYTES]; /* header or prefix so far */
  size_t pending_len;
  uint32_t cipher_bytes;  /* declared ciphertext size of the frame being read */
  struct dk_buf cipher;   /* at most one frame's ciphertext */
  struct dk_buf plain;    /* secure; reused for every frame */
};

/* Prepares to receive the stream keyed with key (copied; a handshake receive
 * key). Returns 0 or DK_ENOMEM; release the decoder after any return. */
int dk_frame_decoder_init(struct dk_frame_decoder *dec, const uint8_t key[DK_FRAME_KEY_BYTES]);

/*
 * Feeds bytes exactly as they came off the connection, in pieces of any
 * size, and calls on_message(ctx, …) for each message completed, in order.
 * A declared length is checked before any memory is reserved for it, and at
 * most one frame is buffered.
 *
 * Errors (sticky):
 * - DK_ELIMIT: a length prefix beyond DK_FRAME_CIPHER_BYTES_MAX;
 * - DK_EPROTO: a frame too short to be one, a frame that does not decrypt
 *   (tampered, reordered, replayed, wrong key), an unknown tag, or any byte
 *   after the FINAL frame;
 * - DK_ENOMEM, or whatever on_message returned.
 */
int dk_frame_feed(struct dk_frame_decoder *dec, const uint8_t *data, size_t len,
                  dk_frame_message_fn on_message, void *ctx);

/*
 * Call when the connection has closed. Returns 0 when the stream ended with
 * its FINAL frame and nothing after it; DK_EPROTO when it was cut short
 * (no FINAL, or a frame half read); the sticky error if the decoder failed.
 */
int dk_frame_decoder_finish(struct dk_frame_decoder *dec);

/* 1 once the FINAL frame has been read. */
int dk_frame_decoder_ended(const struct dk_frame_decoder *dec);

/* Wipes and frees the stream state and buffers. Safe on a zeroed struct. */
void dk_frame_decoder_release(struct dk_frame_decoder *dec);

#endif
