/*
 * Offline bundles: the replication stream written to a file, for links that
 * never come up (a USB stick carried from a community to its street office).
 *
 *   magic "DKBUNDL" 0x01                                    8 bytes
 *   header length (u32 BE) || header (msgpack)
 *   batches: length (u32 BE, 1..DK_FRAME_BYTES_MAX) || batch (msgpack)
 *   0 (u32)                                                   end marker
 *   MAC: BLAKE2b-256 keyed with the network key over
 *        "docket/bundle/v1" NUL || every byte before the MAC     32 bytes
 *
 *   header = [from key (bin 32), from office (str), for office (str, "" for
 *             anyone), created ms (uint),
 *             needs: [[log (bin 32), seq (uint)], ...],
 *             brings: [[log (bin 32), first seq, last seq], ...]]
 *   batch  = [[header (bin), signature (bin 64), body (bin, or nil when
 *             erased)], ...]
 *
 * Like a git bundle it says what it needs (how far the reader must already
 * hold each log it continues) and what it brings. Reading it runs the same checks as the network:
 * the MAC (a bundle of another deployment, or a changed byte, is refused
 * before anything is stored), a pinned sender, the replication scope, and
 * every entry through the node's ingest (links, signatures, bodies).
 * docs/PROTOCOL.md has the byte-level details.
 */
#ifndef DK_BUNDLE_H
#define DK_BUNDLE_H

#include <stdint.h>

#include "node/node.h"

#define DK_BUNDLE_MAGIC "DKBUNDL\x01"
#define DK_DOMAIN_BUNDLE_MAC "docket/bundle/v1"

/* The fixed fields of a bundle header (what it needs is passed to a
 * callback: it can name up to DK_BUNDLE_LOGS_MAX logs). */
struct dk_bundle_header {
  uint8_t from[DK_PK_BYTES];
  char from_office[DK_NAME_BYTES_MAX];
  char for_office[DK_NAME_BYTES_MAX]; /* "" for anyone */
  uint64_t created_ms;
  size_t needs_count;
};

/* Logs one bundle header may name, and entries one batch chunk may hold
 * (an entry takes more than 64 bytes on the wire). */
#define DK_BUNDLE_LOGS_MAX 100000
#define DK_BUNDLE_BATCH_ENTRIES_MAX (DK_FRAME_BYTES_MAX / 64)

struct dk_bundle_stats {
  uint64_t logs, entries, batches, bytes;
  uint64_t stored, duplicates, forks; /* import */
  uint64_t refused; /* import: entries of logs not authorised here, not stored */
  char refused_office[DK_NAME_BYTES_MAX]; /* the first such log's office ("" unknown) */
};

/*
 * Parses a header chunk (the bytes after its length prefix). Pure: no node,
 * no I/O; the bytes are untrusted. Fills out, then, when on_need is not
 * NULL, calls it for each [log, seq] the bundle needs, in order; a non-zero
 * return stops the walk and is returned. Every need is checked for shape
 * before the first call, so that on_need sees only a well-formed header.
 * Errors: DK_EFORMAT (not the header layout), DK_ELIMIT / DK_ENOMEM
 * (counts beyond the msgpack limits), or on_need's code.
 */
int dk_bundle_parse_header(const uint8_t *bytes, size_t len, struct dk_bundle_header *out,
                           int (*on_need)(void *ctx, const uint8_t log[DK_PK_BYTES],
                                          uint64_t seq),
                           void *ctx);

/*
 * Parses a batch chunk into entry views. Pure and untrusted, as above.
 * raw (raw_cap >= DK_BUNDLE_BATCH_ENTRIES_MAX entries) receives the views.
 * For each entry in order, on_entry (may be NULL) gets its index, its view
 * and its decoded header; a non-zero return stops the parse and is returned.
 * Then on_batch (may be NULL) gets all count views at once. The views point
 * into bytes (and into memory the parse owns): valid only until the parse
 * returns, so store them from on_batch. Errors: DK_EFORMAT (not a non-empty
 * array of [header, signature (64), body or nil]), dk_header_decode's
 * codes, DK_ELIMIT / DK_ENOMEM, or the callbacks' codes.
 */
int dk_bundle_parse_batch(const uint8_t *bytes, size_t len, struct dk_raw_entry *raw,
                          size_t raw_cap,
                          int (*on_entry)(void *ctx, size_t index, const struct dk_raw_entry *e,
                                          const struct dk_header *h),
                          int (*on_batch)(void *ctx, const struct dk_raw_entry *raw,
                                          size_t count),
                          void *ctx);

/* Writes a bundle for peer (NULL: everything this node holds) to path,
 * durably (temporary file, fsync, rename). With a peer, each log starts
 * after the position recorded at the last sync that caught the peer up. */
int dk_bundle_export(dk_node *n, const struct dk_peer *peer, const char *path,
                     struct dk_bundle_stats *st);

/* Reads a bundle. Errors: DK_EAUTH (MAC: another deployment, or damaged),
 * DK_EFORMAT (not a bundle), DK_EREFUSED (from a node this one has not
 * pinned), DK_ESCOPE (it carries a log this node must not receive from that
 * sender), DK_ENOTFOUND (it continues a log from further than this node
 * holds: *needs_log / *needs_seq say which), and ingest's codes. */
int dk_bundle_import(dk_node *n, const char *path,
                     void (*progress)(void *ctx, const struct dk_bundle_stats *st), void *ctx,
                     struct dk_bundle_stats *st, uint8_t needs_log[DK_PK_BYTES],
                     uint64_t *needs_seq);

#endif
