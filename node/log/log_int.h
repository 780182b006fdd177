/* Private to node/log/ and the layers above it: the restored-node mark
 * log/restored.c defines, and the general header decoder of log/entry.c. */
#ifndef DK_LOG_INT_H
#define DK_LOG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "node/log/entry.h"
#include "node/store/store.h"

/* Restored nodes (node/log/restored.c): sets the mark; DK_ERESTORED while it is
 * set (call before any append of this node's own log). */
int dk__restored_set(struct dk_txn *t);
int dk__own_log_writable(struct dk_txn *t);

/* dk_header_decode without its fast path for canonical headers: it decodes
 * through msgpack objects and names every way a header can be wrong. The
 * two must agree on every input (tests/test_header.c). */
int dk__header_decode_general(const uint8_t *bytes, size_t len, struct dk_header *h);

#endif
