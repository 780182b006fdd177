/*
 * libFuzzer target for the sync message decoders (replication/sync.c).
 *
 * Input: one flags byte, then messages, each a 2-byte big-endian length and
 * that many bytes (a short last one takes what is left). Flags:
 *   bit 0: the session under test is the street zhanhe/beidu and its peer
 *          the community zhanhe/beidu/lanxin (0) or the district zhanhe (1);
 *   bit 1: mode live (1) or once (0);
 *   bit 2: first deliver the HELLO of an honest peer session, so that the
 *          fuzzed messages reach the later states (heads, batches, acks);
 *   bit 3: the honest peer's store holds 3 more entries of its own log, so
 *          its HELLO differs and heads and batches are expected.
 * Both stores are in-memory (tests/sim/mem_store.c) with real signed logs.
 *
 * Properties (abort() on violation): every call returns 0 or a negative
 * DK_E* code; a failed session stays failed with the same code; the store
 * under test still verifies completely and holds no log outside the
 * session's scope; the in-flight window is never exceeded.
 *
 * tests/test_fuzz_replay.c replays tests/fuzz/corpus/sync_msg/ in ctest.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "replication/sync.h"
#include "tests/sim/mem_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Collects what a session sends (only the first message is kept). */
struct outbox {
  struct dk_buf first;
  int count;
};

static int to_outbox(void *ctx, const uint8_t *msg, size_t len) {
  struct outbox *o = ctx;
  if (o->count++ == 0)
    return dk_buf_append(&o->first, msg, len);
  return 0;
}

static int known_code(int rc) {
  if (rc > 0)
    return 0;
  return rc == 0 || strcmp(dk_errname(rc), "EUNKNOWN") != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (sodium_init() < 0)
    abort();
  if (size == 0)
    return 0;
  uint8_t flags = data[0];
  data++;
  size--;

  const char *my_office = "zhanhe/beidu";
  const char *peer_office = (flags & 1) ? "zhanhe" : "zhanhe/beidu/lanxin";
  uint8_t seed[DK_SEED_BYTES];
  struct dk_identity me, peer;
  memset(&me, 0, sizeof(me));
  memset(&peer, 0, sizeof(peer));
  memset(seed, 0x11, sizeof(seed));
  if (dk_identity_from_seed(&me, seed) != 0)
    abort();
  memset(seed, 0x22, sizeof(seed));
  if (dk_identity_from_seed(&peer, seed) != 0)
    abort();
  struct mem_store st_me, st_peer;
  if (mem_store_init(&st_me, &me, my_office, "street", 1000) != 0 ||
      mem_store_init(&st_peer, &peer, peer_office, (flags & 1) ? "district" : "community", 1000) != 0)
    abort();
  if (flags & 8)
    for (int i = 0; i < 3; i++)
      if (mem_store_append(&st_peer, 2000 + (uint64_t)i, (const uint8_t *)"case", 4) != 0)
        abort();

  struct dk_sync_store iface_me, iface_peer;
  mem_store_iface(&st_me, &iface_me);
  mem_store_iface(&st_peer, &iface_peer);
  struct dk_sync_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  memcpy(cfg.my_pk, me.pk, DK_PK_BYTES);
  memcpy(cfg.peer_pk, peer.pk, DK_PK_BYTES);
  cfg.my_office = my_office;
  cfg.peer_office = peer_office;
  cfg.mode = (flags & 2) ? DK_SYNC_LIVE : DK_SYNC_ONCE;
  cfg.window_batches = 2;
  struct outbox out_me = {0}, out_peer = {0};
  dk_buf_init(&out_me.first);
  dk_buf_init(&out_peer.first);
  struct dk_sync *s = NULL, *p = NULL;
  if (dk_sync_new(&s, &cfg, &iface_me, to_outbox, &out_me) != 0)
    abort();
  int rc = dk_sync_start(s, 0);
  if (rc != 0)
    abort();

  if (flags & 4) {
    /* An honest peer's HELLO first. */
    struct dk_sync_config pc = cfg;
    memcpy(pc.my_pk, peer.pk, DK_PK_BYTES);
    memcpy(pc.peer_pk, me.pk, DK_PK_BYTES);
    pc.my_office = peer_office;
    pc.peer_office = my_office;
    if (dk_sync_new(&p, &pc, &iface_peer, to_outbox, &out_peer) != 0 || dk_sync_start(p, 0) != 0)
      abort();
    rc = dk_sync_receive(s, out_peer.first.data, out_peer.first.len);
    if (rc != 0)
      abort(); /* an honest HELLO is accepted */
  }

  size_t pos = 0;
  rc = 0;
  while (pos < size && rc == 0) {
    size_t len = size - pos;
    if (len >= 2) {
      size_t want = (size_t)data[pos] << 8 | data[pos + 1];
      pos += 2;
      len = want < size - pos ? want : size - pos;
    } else {
      pos += len;
      len = 0;
    }
    rc = dk_sync_receive(s, data + pos, len);
    pos += len;
    if (!known_code(rc))
      abort();
    if (rc == 0 && (rc = dk_sync_local_change(s)) != 0 && !known_code(rc))
      abort();
  }
  struct dk_sync_status status;
  dk_sync_status(s, &status);
  if (status.error != rc)
    abort();
  if (rc != 0 && dk_sync_receive(s, data, size) != rc)
    abort(); /* sticky */
  if (status.stats.batches_in_flight_max > 2)
    abort();
  if (mem_store_verify_all(&st_me, NULL) != 0)
    abort(); /* nothing unverified was stored */
  for (size_t i = 0; i < st_me.logs_count; i++) {
    const char *o = st_me.logs[i].office;
    int mine = strcmp(o, my_office) == 0;
    if (!mine && !dk_scope_sends(peer_office, my_office, o))
      abort(); /* nothing out of scope was stored */
  }

  dk_sync_free(s);
  dk_sync_free(p);
  dk_buf_release(&out_me.first);
  dk_buf_release(&out_peer.first);
  mem_store_release(&st_me);
  mem_store_release(&st_peer);
  dk_identity_release(&me);
  dk_identity_release(&peer);
  return 0;
}
