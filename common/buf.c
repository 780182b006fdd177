#include "common/buf.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

void dk_buf_init(struct dk_buf *b) { memset(b, 0, sizeof(*b)); }

void dk_buf_init_secure(struct dk_buf *b) {
  memset(b, 0, sizeof(*b));
  b->secure = 1;
}

void dk_buf_release(struct dk_buf *b) {
  if (b->secure)
    sodium_free(b->data);
  else
    free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void dk_buf_reset(struct dk_buf *b) {
  if (b->secure && b->data)
    sodium_memzero(b->data, b->cap);
  b->len = 0;
}

int dk_buf_reserve(struct dk_buf *b, size_t extra) {
  if (extra > SIZE_MAX / 2 - b->len)
    return DK_ENOMEM;
  size_t need = b->len + extra;
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need)
    cap *= 2;
  uint8_t *p;
  if (b->secure) {
    p = sodium_malloc(cap);
    if (p == NULL)
      return DK_ENOMEM;
    if (b->data) {
      memcpy(p, b->data, b->len);
      sodium_free(b->data);
    }
  } else {
    p = realloc(b->data, cap);
    if (p == NULL)
      return DK_ENOMEM;
  }
  b->data = p;
  b->cap = cap;
  return 0;
}

int dk_buf_append(struct dk_buf *b, const void *data, size_t len) {
  if (len == 0)
    return 0;
  int rc = dk_buf_reserve(b, len);
  if (rc != 0)
    return rc;
  memcpy(b->data + b->len, data, len);
  b->len += len;
  return 0;
}

int dk_buf_append_u8(struct dk_buf *b, uint8_t v) { return dk_buf_append(b, &v, 1); }

int dk_buf_append_be64(struct dk_buf *b, uint64_t v) {
  uint8_t tmp[8];
  dk_be64_put(tmp, v);
  return dk_buf_append(b, tmp, 8);
}

int dk_buf_msgpack_write(void *data, const char *buf, size_t len) {
  return dk_buf_append((struct dk_buf *)data, buf, len) == 0 ? 0 : -1;
}
