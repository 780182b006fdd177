/* Private to node/log/ and the layers above it: the restored-node mark log/restored.c defines. */
#ifndef DK_LOG_INT_H
#define DK_LOG_INT_H

#include "node/store/store.h"

/* Restored nodes (node/log/restored.c): sets the mark; DK_ERESTORED while it is
 * set (call before any append of this node's own log). */
int dk__restored_set(struct dk_txn *t);
int dk__own_log_writable(struct dk_txn *t);

#endif
