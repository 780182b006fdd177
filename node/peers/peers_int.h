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
/* The pinned peer with key, within t. In a read transaction it looks the
 * key up in an index of the peers table kept in n for t's snapshot (built
 * at the first lookup in a snapshot: one walk of the table), so that a
 * walk of every log held (heads, a relay's caps) does not walk the peers
 * once per log; in a write transaction it walks the table. */
int dk__peer_by_key(dk_node *n, struct dk_txn *t, const uint8_t key[DK_PK_BYTES],
                    struct dk_peer *out);
int dk__peers_iterate(struct dk_txn *t, int (*cb)(void *ctx, const struct dk_peer *p), void *ctx);

#endif
