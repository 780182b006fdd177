/*
 * A growable byte buffer. The caller embeds struct dk_buf and owns its
 * memory: dk_buf_init() before use, dk_buf_release() after. Not thread-safe.
 *
 * Buffers flagged secure live in sodium_malloc memory and are wiped on
 * release; use them for plaintext that must not linger.
 */
#ifndef DK_BUF_H
#define DK_BUF_H

#include <stddef.h>
#include <stdint.h>

struct dk_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
  int secure;
};

void dk_buf_init(struct dk_buf *b);
void dk_buf_init_secure(struct dk_buf *b);
void dk_buf_release(struct dk_buf *b);
/* Sets len to 0, keeping the memory (wiping it if secure). */
void dk_buf_reset(struct dk_buf *b);
/* Makes room for extra more bytes. Returns 0 or DK_ENOMEM. */
int dk_buf_reserve(struct dk_buf *b, size_t extra);
int dk_buf_append(struct dk_buf *b, const void *data, size_t len);
int dk_buf_append_u8(struct dk_buf *b, uint8_t v);
int dk_buf_append_be64(struct dk_buf *b, uint64_t v);

/* msgpack-c write callback that appends to a struct dk_buf (data = the buf). */
int dk_buf_msgpack_write(void *data, const char *buf, size_t len);

static inline void dk_be64_put(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}
static inline uint64_t dk_be64_get(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = (v << 8) | p[i];
  return v;
}
static inline void dk_be32_put(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
static inline uint32_t dk_be32_get(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

#endif
