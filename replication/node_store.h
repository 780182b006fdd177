/*
 * The sync store contract (sync_store.h) over a real node. The node is
 * borrowed and must outlive the table.
 */
#ifndef DK_NODE_STORE_H
#define DK_NODE_STORE_H

#include "node/node.h"
#include "replication/sync_store.h"

void dk_node_store_init(struct dk_sync_store *store, dk_node *n);

#endif
