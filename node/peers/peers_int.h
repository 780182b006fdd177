/* Private to node/peers/ and the layers above it: the peers-table records peers/peers.c defines. */
#ifndef DK_PEERS_INT_H
#define DK_PEERS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "crypto/crypto.h"
#include "node/node.h"
#include "node/store/store.h"

/* peers/peers.c: a pinned peer's record in the peers table (msgpack, 11 fields; records
 * written before the last error was kept have 9): encodes p, decodes one
 * read back (DK_EFORMAT, DK_ELIMIT). Exposed for tests/fuzz/fuzz_stored.c. */
int dk__peer_encode(const struct dk_peer *p, struct dk_buf *out);
int dk__peer_decode(const uint8_t *v, size_t vlen, struct dk_peer *p);
/* The pinned peer with key (DK_ENOTFOUND when none); every pinned peer. */
int dk__peer_by_key(struct dk_txn *t, const uint8_t key[DK_PK_BYTES], struct dk_peer *out);
int dk__peers_iterate(struct dk_txn *t, int (*cb)(void *ctx, const struct dk_peer *p), void *ctx);

#endif
