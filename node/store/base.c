/*
 * What every layer of node/ needs from an open node, below everything that
 * reads or writes the log: the clock, the log callback, strings in the meta
 * table, the shared keys, the unlocked state, and office names and roles.
 * node/node.c opens and closes the node; nothing here calls above the store.
 */
#include "node/node_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

static const char *const ROLE_NAMES[] = {NULL, "district", "street", "community", "auditor"};

int dk_office_role_parse(const char *s, enum dk_office_role *out) {
  for (int i = 1; i <= 4; i++) {
    if (strcmp(s, ROLE_NAMES[i]) == 0) {
      *out = (enum dk_office_role)i;
      return 0;
    }
  }
  return DK_EINVAL;
}

const char *dk_office_role_name(enum dk_office_role r) {
  return (r >= 1 && r <= 4) ? ROLE_NAMES[r] : "unknown";
}

int dk_office_valid(const char *path) {
  size_t n = strlen(path), seg = 0, segs = 1;
  if (n == 0 || n >= DK_NAME_BYTES_MAX)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = path[i];
    if (c == '/') {
      if (seg == 0)
        return 0;
      seg = 0;
      segs++;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return 0;
    seg++;
  }
  return seg > 0 && segs <= 4;
}

int dk__meta_get_str(struct dk_txn *t, const char *key, char *out, size_t cap) {
  const uint8_t *v;
  size_t vlen;
  int rc = dk_txn_get(t, DK_T_META, key, strlen(key), &v, &vlen);
  if (rc != 0)
    return rc;
  if (vlen + 1 > cap)
    return DK_EFORMAT;
  memcpy(out, v, vlen);
  out[vlen] = 0;
  return 0;
}

int dk__meta_put_str(struct dk_txn *t, const char *key, const char *val) {
  return dk_txn_put(t, DK_T_META, key, strlen(key), val, strlen(val));
}

int dk__shared_key(dk_node *n, const uint8_t pk[DK_PK_BYTES], uint8_t out[DK_SYMKEY_BYTES]) {
  if (!n->unlocked)
    return DK_ENOKEY;
  for (size_t i = 0; i < n->shared_count; i++) {
    if (memcmp(n->shared_pk[i], pk, DK_PK_BYTES) == 0) {
      memcpy(out, n->shared_keys + i * DK_SYMKEY_BYTES, DK_SYMKEY_BYTES);
      return 0;
    }
  }
  if (n->shared_keys == NULL) {
    n->shared_keys = sodium_malloc(32 * DK_SYMKEY_BYTES);
    if (n->shared_keys == NULL)
      return DK_ENOMEM;
  }
  size_t slot = n->shared_count < 32 ? n->shared_count++ : (n->shared_next++ % 32);
  int rc = dk_key_shared(&n->id, pk, n->shared_keys + slot * DK_SYMKEY_BYTES);
  if (rc != 0) {
    /* Leave no half-made entry behind. */
    memset(n->shared_pk[slot], 0, DK_PK_BYTES);
    sodium_memzero(n->shared_keys + slot * DK_SYMKEY_BYTES, DK_SYMKEY_BYTES);
    if (slot + 1 == n->shared_count)
      n->shared_count--;
    return rc;
  }
  memcpy(n->shared_pk[slot], pk, DK_PK_BYTES);
  memcpy(out, n->shared_keys + slot * DK_SYMKEY_BYTES, DK_SYMKEY_BYTES);
  return 0;
}

uint64_t dk_node_now(dk_node *n) { return n->now_ms(n->now_ctx); }

void dk_node_logf(dk_node *n, enum dk_log_level level, const char *fmt, ...) {
  if (n->log == NULL || level > n->log_level)
    return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  n->log(n->log_ctx, level, msg);
}

const struct dk_node_config *dk_node_config(const dk_node *n) { return &n->cfg; }

const uint8_t *dk_node_pk(const dk_node *n) { return n->pk; }

const struct dk_identity *dk_node_identity(const dk_node *n) {
  return n->unlocked ? &n->id : NULL;
}

int dk_node_unlocked(const dk_node *n) { return n->unlocked; }

const struct dk_case_config *dk_node_case_config(const dk_node *n) { return &n->case_cfg; }

int dk__keys_push(struct dk__keys *a, const uint8_t key[32]) {
  if (a->count == a->cap) {
    size_t ncap = a->cap ? a->cap * 2 : 64;
    void *p = realloc(a->k, ncap * 32);
    if (p == NULL)
      return DK_ENOMEM;
    a->k = p;
    a->cap = ncap;
  }
  memcpy(a->k[a->count++], key, 32);
  return 0;
}

void dk__keys_free(struct dk__keys *a) {
  free(a->k);
  a->k = NULL;
  a->count = a->cap = 0;
}
