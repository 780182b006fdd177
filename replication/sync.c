/*
 * The sync state machine (sync.h); docs/protocol-sync.md has the messages.
 *
 * A session keeps one record per log in scope in either direction, sorted by
 * log key: what this node holds (my_seq) and, for logs it sends, what the
 * peer is known to hold or has been sent (peer_seq). Everything else is a
 * handful of counters. Memory is bounded by the logs in scope (at most
 * DK_SYNC_LOGS_MAX records) plus one batch being built and one being
 * received.
 */
#include "replication/sync.h"

#include <assert.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/mp.h"
#include "node/log/entry.h"
#include "replication/msg.h"

#define LOG_SEND 1u    /* goes from me to the peer */
#define LOG_RECV 2u    /* goes from the peer to me */
#define LOG_FORKED 4u  /* my entry at the peer's head differs: send no more of it */
#define LOG_CHECKED 8u /* the peer's head id is known to match mine */

struct log_state {
  uint8_t log[DK_PK_BYTES];
  uint8_t my_id[DK_HASH_BYTES];
  uint8_t peer_id[DK_HASH_BYTES];
  uint64_t my_seq;   /* held here */
  uint64_t peer_seq; /* send scope: held by the peer as far as known, or sent */
  unsigned flags;
};

enum send_phase {
  SEND_WAIT_HELLO = 0, /* the peer's hello has not arrived */
  SEND_WAIT_HEADS,     /* digests differ: waiting for the peer's heads */
  SEND_STREAM,         /* the peer's holdings are known: stream what it lacks */
};

struct dk_sync {
  uint8_t my_pk[DK_PK_BYTES];
  uint8_t peer_pk[DK_PK_BYTES];
  char my_office[DK_NAME_BYTES_MAX];
  char peer_office[DK_NAME_BYTES_MAX];
  char peer_reads[DK_NAME_BYTES_MAX]; /* "" none: see dk_sync_config */
  char my_reads[DK_NAME_BYTES_MAX];
  enum dk_sync_mode mode;
  size_t window_batches;
  size_t batch_entries;
  size_t batch_bytes;
  uint64_t timeout_ms;
  uint64_t keepalive_ms; /* 0: no PING */
  uint64_t silence_ms;   /* 0: no bound on silence */
  int i_am_parent; /* the peer's office is a proper descendant of mine */
  int peer_is_parent;

  struct dk_sync_store store;
  dk_sync_send_fn send;
  void *send_ctx;

  int error;
  int started;
  int hello_received;
  int idle;
  int done;
  int dirty; /* local_change before the peer's hello: look again after it */
  uint64_t seen_mark; /* the store's mark() just before the last look at the heads */
  enum send_phase send_phase;
  int caught_up_sent;   /* CAUGHT_UP sent since the last batch */
  int defer_caught_up;  /* parent in a witness round: CAUGHT_UP after the child's */
  int recv_caught_up;
  int peer_log_advanced; /* parent: the child's own log grew this round */
  uint8_t digest_send[DK_HASH_BYTES]; /* as sent in my HELLO */
  uint8_t digest_recv[DK_HASH_BYTES];

  struct log_state *logs;
  size_t logs_count;
  size_t logs_cap;
  size_t cursor; /* logs before it have nothing pending */

  uint64_t batch_next;      /* number of the next batch I send */
  uint64_t ack_next;        /* number of the batch the next ack must name */
  uint64_t recv_batch_next; /* number the next batch received must carry */
  uint64_t acks_sent;       /* ACKs this side has sent (batches it made durable) */

  uint64_t now_ms;
  uint64_t waiting_since_ms; /* last time the peer made progress */
  uint64_t last_sent_ms;     /* last message sent (keepalive) */
  uint64_t last_received_ms; /* last message received (silence bound) */
  uint64_t busy_ms;          /* this side's own busy time since the last tick */
  uint64_t refusal_code;     /* the peer's REFUSED, when it sent one */
  char refusal_text[DK_NET_REASON_BYTES_MAX];

  struct dk_buf out;     /* the message being built */
  struct dk_buf scratch; /* a batch's entries being built */
  struct dk_wire_entry *wire; /* DK_SYNC_BATCH_ENTRIES_MAX views of a received batch */
  struct recv_pos *wire_pos;  /* and where each of them is, from its header */
  struct dk_sync_stats stats;
};

/* Where a received entry is: its header decoded once, for what follows the
 * batch's ingest. */
struct recv_pos {
  uint8_t log[DK_PK_BYTES];
  uint64_t seq;
};

/* ---------- small helpers ---------- */

static int fail(struct dk_sync *s, int rc) {
  assert(rc < 0);
  if (s->error == 0)
    s->error = rc;
  return s->error;
}

static size_t clamp(size_t v, size_t dflt, size_t lo, size_t hi) {
  if (v == 0)
    v = dflt;
  if (v < lo)
    v = lo;
  if (v > hi)
    v = hi;
  return v;
}

/* Index of log, or of where it would be inserted (*found 0). */
static size_t log_find(const struct dk_sync *s, const uint8_t log[DK_PK_BYTES], int *found) {
  size_t lo = 0, hi = s->logs_count;
  /* Walks in key order append: check the end first. */
  if (hi > 0 && memcmp(s->logs[hi - 1].log, log, DK_PK_BYTES) < 0) {
    *found = 0;
    return hi;
  }
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = memcmp(s->logs[mid].log, log, DK_PK_BYTES);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = 0;
  return lo;
}

static int log_insert(struct dk_sync *s, size_t at, const uint8_t log[DK_PK_BYTES], unsigned flags,
                      struct log_state **out) {
  if (s->logs_count >= DK_SYNC_LOGS_MAX)
    return DK_ELIMIT;
  if (s->logs_count == s->logs_cap) {
    size_t cap = s->logs_cap ? s->logs_cap * 2 : 64;
    struct log_state *p = realloc(s->logs, cap * sizeof(*p));
    if (p == NULL)
      return DK_ENOMEM;
    s->logs = p;
    s->logs_cap = cap;
  }
  memmove(&s->logs[at + 1], &s->logs[at], (s->logs_count - at) * sizeof(*s->logs));
  s->logs_count++;
  struct log_state *l = &s->logs[at];
  memset(l, 0, sizeof(*l));
  memcpy(l->log, log, DK_PK_BYTES);
  l->flags = flags;
  if (at < s->cursor)
    s->cursor = at;
  *out = l;
  return 0;
}

static int proper_ancestor(const char *a, const char *b) {
  return dk_office_covers(a, b) && strcmp(a, b) != 0;
}

static unsigned scope_flags(const struct dk_sync *s, const uint8_t *log, const char *office) {
  unsigned f = 0;
  if (dk_scope_sends(s->my_office, s->peer_office, office))
    f |= LOG_SEND;
  if (dk_scope_sends(s->peer_office, s->my_office, office))
    f |= LOG_RECV;
  /* The lower side's office also gets the logs of its own office written by
   * other keys (a node it replaced), so that a replacement holds its
   * office's history. */
  if (proper_ancestor(s->my_office, s->peer_office) && strcmp(office, s->peer_office) == 0 &&
      memcmp(log, s->peer_pk, DK_PK_BYTES) != 0)
    f |= LOG_SEND;
  if (proper_ancestor(s->peer_office, s->my_office) && strcmp(office, s->my_office) == 0 &&
      memcmp(log, s->my_pk, DK_PK_BYTES) != 0)
    f |= LOG_RECV;
  /* The lower node's own log comes back down too (see below). */
  if (proper_ancestor(s->my_office, s->peer_office) && strcmp(office, s->peer_office) == 0 &&
      memcmp(log, s->peer_pk, DK_PK_BYTES) == 0)
    f |= LOG_SEND;
  if (proper_ancestor(s->peer_office, s->my_office) && strcmp(office, s->my_office) == 0 &&
      memcmp(log, s->my_pk, DK_PK_BYTES) == 0)
    f |= LOG_RECV;
  if (s->peer_reads[0] && dk_office_covers(s->peer_reads, office) && !(f & LOG_RECV))
    f |= LOG_SEND; /* an auditor peer's granted subtree */
  if (s->my_reads[0] && dk_office_covers(s->my_reads, office) && !(f & LOG_SEND))
    f |= LOG_RECV;
  /* A log in both directions (the upper office's own log, which the lower
   * side could pass back up; another key's log of the lower office) goes
   * one way only, the same on both sides: up when it is the lower node's own
   * log, down otherwise, so that nothing bounces back as duplicates. */
  if (f == (LOG_SEND | LOG_RECV)) {
    int peer_lower = proper_ancestor(s->my_office, s->peer_office);
    int me_lower = proper_ancestor(s->peer_office, s->my_office);
    /* The lower node's own log goes both ways: up as always, and back down
     * when the upper side holds more of it than the lower (a node restored
     * from a backup or rebuilt from its key file gets its own later entries
     * back before it appends), and each side compares the other's head with
     * its own entry at that seq, so a fork is found whichever is longer. */
    if ((peer_lower && memcmp(log, s->peer_pk, DK_PK_BYTES) == 0) ||
        (me_lower && memcmp(log, s->my_pk, DK_PK_BYTES) == 0))
      return f;
    if (peer_lower)
      f = memcmp(log, s->peer_pk, DK_PK_BYTES) == 0 ? LOG_RECV : LOG_SEND;
    else if (me_lower)
      f = memcmp(log, s->my_pk, DK_PK_BYTES) == 0 ? LOG_SEND : LOG_RECV;
    else
      f = strcmp(office, s->my_office) == 0 ? LOG_SEND : LOG_RECV;
  }
  return f;
}

static int emit(struct dk_sync *s) {
  assert(s->out.len <= DK_FRAME_BYTES_MAX);
  int rc = s->send(s->send_ctx, s->out.data, s->out.len);
  if (rc != 0)
    return rc > 0 ? DK_EINVAL : rc;
  s->stats.messages_sent++;
  s->stats.bytes_sent += s->out.len;
  s->last_sent_ms = s->now_ms;
  return 0;
}

static int pack_bin(msgpack_packer *pk, const uint8_t *p, size_t n) { return dk_mp_pack_bin(pk, p, n); }

/* ---------- digests ---------- */

static void digest_add(crypto_generichash_state *st, const uint8_t *log, uint64_t seq,
                       const uint8_t *id) {
  uint8_t seq_be[8];
  dk_be64_put(seq_be, seq);
  crypto_generichash_update(st, log, DK_PK_BYTES);
  crypto_generichash_update(st, seq_be, 8);
  crypto_generichash_update(st, id, DK_HASH_BYTES);
}

static void digest_init(crypto_generichash_state *st) {
  crypto_generichash_init(st, NULL, 0, DK_HASH_BYTES);
  crypto_generichash_update(st, (const uint8_t *)DK_DOMAIN_SYNC_DIGEST,
                            sizeof(DK_DOMAIN_SYNC_DIGEST)); /* with its NUL */
}

void dk_sync_digest(const struct dk_sync_head *heads, size_t count, uint8_t out[DK_HASH_BYTES]) {
  crypto_generichash_state st;
  digest_init(&st);
  for (size_t i = 0; i < count; i++)
    digest_add(&st, heads[i].log, heads[i].seq, heads[i].id);
  crypto_generichash_final(&st, out, DK_HASH_BYTES);
}

/* Digest of the logs held with flag; *count gets their number. */
static void digest_scope(const struct dk_sync *s, unsigned flag, uint8_t out[DK_HASH_BYTES],
                         uint64_t *count) {
  crypto_generichash_state st;
  digest_init(&st);
  *count = 0;
  for (size_t i = 0; i < s->logs_count; i++) {
    const struct log_state *l = &s->logs[i];
    if ((l->flags & flag) && l->my_seq > 0) {
      digest_add(&st, l->log, l->my_seq, l->my_id);
      (*count)++;
    }
  }
  crypto_generichash_final(&st, out, DK_HASH_BYTES);
}

/* ---------- looking at the store ---------- */

static int on_head(void *cbctx, const struct dk_sync_head *h, const char *office) {
  struct dk_sync *s = cbctx;
  if (h->seq == 0)
    return 0;
  int found;
  size_t at = log_find(s, h->log, &found);
  struct log_state *l;
  if (found) {
    l = &s->logs[at];
  } else {
    unsigned f = scope_flags(s, h->log, office);
    if (f == 0)
      return 0; /* neither way: this session never deals with it */
    int rc = log_insert(s, at, h->log, f, &l);
    if (rc != 0)
      return rc;
  }
  if (h->seq != l->my_seq || memcmp(h->id, l->my_id, DK_HASH_BYTES) != 0) {
    l->my_seq = h->seq;
    memcpy(l->my_id, h->id, DK_HASH_BYTES);
    if (at < s->cursor)
      s->cursor = at;
  }
  return 0;
}

/* Looks at the heads. The mark is read first: the heads then show at least
 * that state, so a later poll with the same mark has nothing new to find. */
static int refresh(struct dk_sync *s) {
  if (s->store.mark)
    s->seen_mark = s->store.mark(s->store.ctx);
  return s->store.heads(s->store.ctx, on_head, s);
}

/* The peer's head of l is known and not yet compared with my entry at that
 * seq: a head that differs in id, whichever side is longer, may be a fork
 * (heads are compared by entry id, not only by seq). */
static int unchecked(const struct log_state *l) {
  return l->peer_seq > 0 && !(l->flags & LOG_CHECKED) &&
         (l->peer_seq != l->my_seq || memcmp(l->peer_id, l->my_id, DK_HASH_BYTES) != 0) &&
         (l->peer_seq <= l->my_seq || !(l->flags & LOG_RECV));
}

static int pending(const struct log_state *l) {
  return (l->flags & LOG_SEND) && !(l->flags & LOG_FORKED) &&
         (l->my_seq > l->peer_seq || unchecked(l));
}

static uint64_t lacks(const struct dk_sync *s) {
  uint64_t n = 0;
  for (size_t i = 0; i < s->logs_count; i++)
    if (pending(&s->logs[i]) && s->logs[i].my_seq > s->logs[i].peer_seq)
      n += s->logs[i].my_seq - s->logs[i].peer_seq;
  return n;
}

/* First log from the cursor with something to send, or logs_count. */
static size_t next_pending(struct dk_sync *s) {
  while (s->cursor < s->logs_count && !pending(&s->logs[s->cursor]))
    s->cursor++;
  return s->cursor;
}

/* ---------- sending ---------- */

static int send_hello(struct dk_sync *s) {
  uint64_t send_count, recv_count;
  digest_scope(s, LOG_SEND, s->digest_send, &send_count);
  digest_scope(s, LOG_RECV, s->digest_recv, &recv_count);
  dk_buf_reset(&s->out);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &s->out, dk_buf_msgpack_write);
  int rc = dk_msg_begin(&pk, DK_SYNC_MSG_HELLO, 6);
  if (rc == 0)
    rc = dk_mp_pack_str(&pk, s->my_office);
  if (rc == 0)
    rc = dk_mp_pack_str(&pk, s->peer_office);
  if (rc == 0)
    rc = pack_bin(&pk, s->digest_send, DK_HASH_BYTES);
  if (rc == 0)
    rc = pack_bin(&pk, s->digest_recv, DK_HASH_BYTES);
  if (rc == 0 && (msgpack_pack_uint64(&pk, send_count) != 0 ||
                  msgpack_pack_uint64(&pk, recv_count) != 0))
    rc = DK_ENOMEM;
  if (rc == 0)
    rc = emit(s);
  return rc;
}

/* HEADS: what I hold of the logs the peer sends me, in chunks. */
static int send_heads(struct dk_sync *s) {
  int rc = 0;
  size_t i = 0;
  do {
    size_t n = 0, j = i;
    for (; j < s->logs_count && n < DK_SYNC_HEADS_PER_MESSAGE_MAX; j++)
      if ((s->logs[j].flags & LOG_RECV) && s->logs[j].my_seq > 0)
        n++;
    /* Skip trailing logs that are not in this direction so `final` is exact. */
    size_t k = j;
    while (k < s->logs_count && !((s->logs[k].flags & LOG_RECV) && s->logs[k].my_seq > 0))
      k++;
    int final = k >= s->logs_count;
    dk_buf_reset(&s->out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &s->out, dk_buf_msgpack_write);
    rc = dk_msg_begin(&pk, DK_SYNC_MSG_HEADS, 2);
    if (rc == 0 && ((final ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk)) != 0 ||
                    msgpack_pack_array(&pk, n) != 0))
      rc = DK_ENOMEM;
    for (size_t m = i; rc == 0 && m < j; m++) {
      const struct log_state *l = &s->logs[m];
      if (!((l->flags & LOG_RECV) && l->my_seq > 0))
        continue;
      if (msgpack_pack_array(&pk, 3) != 0 || pack_bin(&pk, l->log, DK_PK_BYTES) != 0 ||
          msgpack_pack_uint64(&pk, l->my_seq) != 0 || pack_bin(&pk, l->my_id, DK_HASH_BYTES) != 0)
        rc = DK_ENOMEM;
    }
    if (rc == 0)
      rc = emit(s);
    i = k;
  } while (rc == 0 && i < s->logs_count);
  return rc;
}

static int send_caught_up(struct dk_sync *s) {
  dk_buf_reset(&s->out);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &s->out, dk_buf_msgpack_write);
  int rc = dk_msg_begin(&pk, DK_SYNC_MSG_CAUGHT_UP, 1);
  if (rc == 0 && msgpack_pack_uint64(&pk, s->batch_next) != 0)
    rc = DK_ENOMEM;
  if (rc == 0)
    rc = emit(s);
  return rc;
}

static int send_ack(struct dk_sync *s, uint64_t batch, const struct dk_ingest_result *r) {
  dk_buf_reset(&s->out);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &s->out, dk_buf_msgpack_write);
  int rc = dk_msg_begin(&pk, DK_SYNC_MSG_ACK, 5);
  if (rc == 0 && (msgpack_pack_uint64(&pk, batch) != 0 || msgpack_pack_uint64(&pk, r->stored) != 0 ||
                  msgpack_pack_uint64(&pk, r->duplicates) != 0 ||
                  msgpack_pack_uint64(&pk, r->forks) != 0 ||
                  msgpack_pack_uint64(&pk, r->refused) != 0))
    rc = DK_ENOMEM;
  if (rc == 0)
    rc = emit(s);
  if (rc == 0)
    s->acks_sent++;
  return rc;
}

static int send_ping(struct dk_sync *s) {
  dk_buf_reset(&s->out);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &s->out, dk_buf_msgpack_write);
  int rc = dk_msg_begin(&pk, DK_SYNC_MSG_PING, 0);
  if (rc == 0)
    rc = emit(s);
  return rc;
}

/* Collects entries read from the store into the batch being built. */
struct fill {
  struct dk_sync *s;
  size_t entries;    /* in the batch so far */
  size_t from_log;   /* appended by the current read */
  int full;          /* the batch took all it can */
  int check_only;    /* fork check: compare the id, append only on mismatch */
  int probe;         /* with check_only: append the entry whatever its id */
  const uint8_t *expect_id;
  int mismatch;
  uint8_t last_id[DK_HASH_BYTES];
};

static int append_entry(struct fill *f, const struct dk_wire_entry *e) {
  struct dk_sync *s = f->s;
  if (e->header_len == 0 || e->header_len > DK_HEADER_BYTES_MAX || e->body_len > DK_BODY_BYTES_MAX)
    return DK_EFORMAT; /* the store holds something it should not */
  size_t need = e->header_len + DK_SIG_BYTES + (e->body ? e->body_len : 0) + 16;
  if (f->entries >= s->batch_entries || s->scratch.len + need > s->batch_bytes) {
    f->full = 1;
    return 0;
  }
  msgpack_packer pk;
  msgpack_packer_init(&pk, &s->scratch, dk_buf_msgpack_write);
  int rc = 0;
  if (msgpack_pack_array(&pk, 3) != 0 || pack_bin(&pk, e->header, e->header_len) != 0 ||
      pack_bin(&pk, e->sig, DK_SIG_BYTES) != 0)
    rc = DK_ENOMEM;
  if (rc == 0)
    rc = e->body ? pack_bin(&pk, e->body, e->body_len)
                 : (msgpack_pack_nil(&pk) != 0 ? DK_ENOMEM : 0);
  if (rc != 0)
    return rc;
  f->entries++;
  f->from_log++;
  return 0;
}

static int on_read(void *cbctx, const struct dk_wire_entry *e) {
  struct fill *f = cbctx;
  if (f->full)
    return 0;
  if (f->check_only) {
    if (f->from_log > 0 || f->mismatch)
      return 0; /* only the first entry matters */
    if (f->probe) {
      size_t before = f->entries;
      int rc = append_entry(f, e);
      if (rc == 0 && f->entries == before)
        f->from_log = 0; /* did not fit: the batch is full */
      return rc;
    }
    uint8_t id[DK_HASH_BYTES];
    dk_entry_compute_id(e->header, e->header_len, e->sig, id);
    if (memcmp(id, f->expect_id, DK_HASH_BYTES) == 0) {
      f->from_log++;
      return 0;
    }
    f->mismatch = 1;
    return append_entry(f, e); /* the fork proof for the peer */
  }
  int rc = append_entry(f, e);
  if (rc == 0 && !f->full)
    dk_entry_compute_id(e->header, e->header_len, e->sig, f->last_id);
  return rc;
}

struct id_at {
  uint8_t *id;
  int *have;
};

static int id_at_cb(void *cbctx, const struct dk_wire_entry *e) {
  struct id_at *c = cbctx;
  if (*c->have)
    return 0;
  dk_entry_compute_id(e->header, e->header_len, e->sig, c->id);
  *c->have = 1;
  return 0;
}

/* The id of my entry at seq of log (*have 0 when the store lacks it). */
static int entry_id_at(struct dk_sync *s, const uint8_t *log, uint64_t seq,
                       uint8_t id[DK_HASH_BYTES], int *have) {
  struct id_at c = {id, have};
  *have = 0;
  return s->store.read(s->store.ctx, log, seq, 1, DK_SYNC_ENTRY_WIRE_BYTES_MAX, id_at_cb, &c);
}

/* The peer holds l up to peer_seq: is that my entry too? Appends my entry to
 * the batch when it is not (the peer keeps it as the fork proof). */
static int check_fork(struct dk_sync *s, struct log_state *l, struct fill *f) {
  if (l->peer_seq > l->my_seq) {
    /* The peer holds more of a log that only I send: I cannot compare, so
     * I send my head entry and the peer compares it with its own (a
     * duplicate there, or a fork proof it keeps and reports in its ack). */
    f->check_only = f->probe = 1;
    f->mismatch = 0;
    f->from_log = 0;
    int rc = l->my_seq == 0 ? 0
                            : s->store.read(s->store.ctx, l->log, l->my_seq, 1,
                                            DK_SYNC_ENTRY_WIRE_BYTES_MAX, on_read, f);
    f->check_only = f->probe = 0;
    if (rc != 0 || f->full)
      return rc; /* a full batch: try again in the next one */
    l->flags |= LOG_CHECKED;
    f->from_log = 0;
    return 0;
  }
  f->check_only = 1;
  f->expect_id = l->peer_id;
  f->mismatch = 0;
  f->from_log = 0;
  int rc = s->store.read(s->store.ctx, l->log, l->peer_seq, 1, DK_SYNC_ENTRY_WIRE_BYTES_MAX,
                         on_read, f);
  f->check_only = 0;
  if (rc != 0)
    return rc;
  if (f->full)
    return 0; /* try again in the next batch */
  if (f->mismatch) {
    l->flags |= LOG_FORKED;
    s->stats.peer_forks++;
  } else if (f->from_log == 1) {
    l->flags |= LOG_CHECKED;
  } else {
    l->my_seq = l->peer_seq; /* the store no longer has it: nothing to send */
  }
  f->from_log = 0;
  return 0;
}

/* Builds and sends one batch; *sent is 0 when there was nothing to send. */
static int send_batch(struct dk_sync *s, int *sent) {
  struct fill f;
  memset(&f, 0, sizeof(f));
  f.s = s;
  dk_buf_reset(&s->scratch);
  *sent = 0;
  int rc = 0;
  while (!f.full && f.entries < s->batch_entries) {
    size_t i = next_pending(s);
    if (i >= s->logs_count)
      break;
    struct log_state *l = &s->logs[i];
    if (unchecked(l)) {
      rc = check_fork(s, l, &f);
      if (rc != 0)
        goto out;
      continue;
    }
    f.from_log = 0;
    rc = s->store.read(s->store.ctx, l->log, l->peer_seq + 1, s->batch_entries - f.entries,
                       s->batch_bytes - s->scratch.len, on_read, &f);
    if (rc != 0)
      goto out;
    if (f.from_log == 0) {
      if (f.full)
        break;
      l->my_seq = l->peer_seq; /* the store has less than its heads said */
      continue;
    }
    l->peer_seq += f.from_log;
    memcpy(l->peer_id, f.last_id, DK_HASH_BYTES);
    if (l->peer_seq > l->my_seq) { /* the store grew since the last look */
      l->my_seq = l->peer_seq;
      memcpy(l->my_id, f.last_id, DK_HASH_BYTES);
    }
  }
  if (f.entries == 0)
    goto out;
  s->stats.peer_lacks_entries = lacks(s);
  dk_buf_reset(&s->out);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &s->out, dk_buf_msgpack_write);
  rc = dk_msg_begin(&pk, DK_SYNC_MSG_BATCH, 4);
  if (rc == 0 && (msgpack_pack_uint64(&pk, s->batch_next) != 0 ||
                  msgpack_pack_uint64(&pk, s->stats.peer_lacks_entries) != 0 ||
                  msgpack_pack_array(&pk, f.entries) != 0))
    rc = DK_ENOMEM;
  if (rc == 0)
    rc = dk_buf_append(&s->out, s->scratch.data, s->scratch.len);
  /* The acks this side has received: the receiver checks the window. */
  if (rc == 0 && msgpack_pack_uint64(&pk, s->ack_next) != 0)
    rc = DK_ENOMEM;
  if (rc == 0)
    rc = emit(s);
  if (rc != 0)
    goto out;
  if (s->stats.batches_in_flight == 0)
    s->waiting_since_ms = s->now_ms;
  s->batch_next++;
  s->stats.batches_sent++;
  s->stats.entries_sent += f.entries;
  s->stats.batches_in_flight++;
  if (s->stats.batches_in_flight > s->stats.batches_in_flight_max)
    s->stats.batches_in_flight_max = s->stats.batches_in_flight;
  s->caught_up_sent = 0;
  *sent = 1;
out:
  return rc;
}

static void update_done(struct dk_sync *s) {
  if (s->mode == DK_SYNC_ONCE && s->hello_received && s->recv_caught_up &&
      s->send_phase == SEND_STREAM && s->caught_up_sent && s->stats.batches_in_flight == 0 &&
      next_pending(s) >= s->logs_count)
    s->done = 1;
}

/* Streams what the peer lacks within the window, then says CAUGHT_UP. */
static int pump(struct dk_sync *s) {
  int rc = 0;
  if (s->send_phase != SEND_STREAM)
    goto out;
  while (s->stats.batches_in_flight < s->window_batches) {
    int sent;
    rc = send_batch(s, &sent);
    if (rc != 0 || !sent)
      break;
  }
  if (rc != 0)
    goto out;
  if (next_pending(s) >= s->logs_count) {
    s->stats.peer_lacks_entries = 0;
    if (!s->caught_up_sent && !(s->defer_caught_up && !s->recv_caught_up)) {
      rc = send_caught_up(s);
      if (rc != 0)
        goto out;
      s->caught_up_sent = 1;
    }
  }
out:
  update_done(s);
  return rc;
}

/* ---------- receiving ---------- */

static int on_hello(struct dk_sync *s, const msgpack_object *f, uint32_t n) {
  int rc;
  const char *office;
  size_t office_len;
  uint8_t peer_send[DK_HASH_BYTES], peer_recv[DK_HASH_BYTES];
  uint64_t count_send, count_recv;
  if (s->hello_received || n != 8)
    return DK_EPROTO;
  rc = dk_mp_get_str_view(&f[2], &office, &office_len);
  if (rc != 0)
    return rc;
  if (office_len != strlen(s->peer_office) || memcmp(office, s->peer_office, office_len) != 0)
    return DK_ESCOPE; /* the peer is not the office we pinned */
  rc = dk_mp_get_str_view(&f[3], &office, &office_len);
  if (rc != 0)
    return rc;
  if (office_len != strlen(s->my_office) || memcmp(office, s->my_office, office_len) != 0)
    return DK_ESCOPE; /* the peer takes us for another office */
  if ((rc = dk_mp_get_bin_fixed(&f[4], peer_send, DK_HASH_BYTES)) != 0 ||
      (rc = dk_mp_get_bin_fixed(&f[5], peer_recv, DK_HASH_BYTES)) != 0 ||
      (rc = dk_mp_get_u64(&f[6], &count_send)) != 0 || (rc = dk_mp_get_u64(&f[7], &count_recv)) != 0)
    return rc;
  s->hello_received = 1;
  int recv_equal = memcmp(peer_send, s->digest_recv, DK_HASH_BYTES) == 0;
  int send_equal = memcmp(peer_recv, s->digest_send, DK_HASH_BYTES) == 0;
  s->idle = recv_equal && send_equal;
  /* A child that brings its parent something gets a witness back: the parent
   * says CAUGHT_UP only after the child's, and the child waits for it. */
  int witness_round = 0;
  if (s->i_am_parent && !recv_equal)
    witness_round = s->defer_caught_up = 1;
  if (s->peer_is_parent && !send_equal)
    witness_round = 1;

  if (send_equal) {
    /* The peer holds exactly what I held at HELLO time, and the table has not
     * changed since: local changes were deferred. */
    for (size_t i = 0; i < s->logs_count; i++) {
      struct log_state *l = &s->logs[i];
      if (l->flags & LOG_SEND) {
        l->peer_seq = l->my_seq;
        memcpy(l->peer_id, l->my_id, DK_HASH_BYTES);
        l->flags |= LOG_CHECKED;
      }
    }
    s->send_phase = SEND_STREAM;
    s->caught_up_sent = !s->defer_caught_up;
  } else {
    s->send_phase = SEND_WAIT_HEADS;
    s->waiting_since_ms = s->now_ms;
  }
  if (recv_equal && !(s->peer_is_parent && witness_round)) {
    s->recv_caught_up = 1;
  } else if (!recv_equal) {
    rc = send_heads(s);
    if (rc != 0)
      return rc;
  }
  if (s->dirty && s->mode == DK_SYNC_LIVE) {
    /* A once session keeps to what its HELLO announced: the peer may have
     * judged a direction caught up from it. */
    s->dirty = 0;
    rc = refresh(s);
    if (rc != 0)
      return rc;
  }
  return pump(s);
}

static int on_heads(struct dk_sync *s, const msgpack_object *f, uint32_t n) {
  if (s->send_phase != SEND_WAIT_HEADS || n != 4)
    return DK_EPROTO;
  if (f[2].type != MSGPACK_OBJECT_BOOLEAN || f[3].type != MSGPACK_OBJECT_ARRAY)
    return DK_EFORMAT;
  const msgpack_object_array *a = &f[3].via.array;
  if (a->size > DK_SYNC_HEADS_PER_MESSAGE_MAX)
    return DK_ELIMIT;
  for (uint32_t i = 0; i < a->size; i++) {
    const msgpack_object *h = &a->ptr[i];
    uint8_t log[DK_PK_BYTES], id[DK_HASH_BYTES];
    uint64_t seq;
    int rc;
    if (h->type != MSGPACK_OBJECT_ARRAY || h->via.array.size != 3)
      return DK_EFORMAT;
    if ((rc = dk_mp_get_bin_fixed(&h->via.array.ptr[0], log, DK_PK_BYTES)) != 0 ||
        (rc = dk_mp_get_u64(&h->via.array.ptr[1], &seq)) != 0 ||
        (rc = dk_mp_get_bin_fixed(&h->via.array.ptr[2], id, DK_HASH_BYTES)) != 0)
      return rc;
    if (seq == 0)
      return DK_EFORMAT;
    int found;
    size_t at = log_find(s, log, &found);
    if (!found || !(s->logs[at].flags & LOG_SEND))
      continue; /* a log I do not hold or do not send: nothing to do */
    s->logs[at].peer_seq = seq;
    memcpy(s->logs[at].peer_id, id, DK_HASH_BYTES);
  }
  s->waiting_since_ms = s->now_ms;
  if (f[2].via.boolean) {
    s->send_phase = SEND_STREAM;
    s->cursor = 0;
    s->caught_up_sent = 0;
    s->stats.peer_lacks_entries = lacks(s);
    return pump(s);
  }
  return 0;
}

/* Is entry h, offered by the peer, one it may send us? New logs must begin
 * with their office entry, whose body says whose log it is. */
static int check_offer(struct dk_sync *s, const struct dk_header *h, const struct dk_wire_entry *e) {
  int found;
  size_t at = log_find(s, h->log, &found);
  if (found)
    return (s->logs[at].flags & LOG_RECV) ? 0 : DK_ESCOPE;
  if (h->seq != 1 || h->type != DK_ENTRY_OFFICE || e->body == NULL)
    return DK_ESCOPE; /* cannot tell whose log it is */
  uint8_t hash[DK_HASH_BYTES];
  dk_hash_plain(e->body, e->body_len, hash);
  if (e->body_len != h->body_bytes || memcmp(hash, h->body_hash, DK_HASH_BYTES) != 0)
    return DK_EBADBODY;
  struct dk_office_info info;
  int rc = dk_office_body_decode(e->body, e->body_len, &info);
  if (rc != 0)
    return rc == DK_ENOMEM ? rc : DK_EFORMAT;
  unsigned flags = scope_flags(s, h->log, info.office);
  if (!(flags & LOG_RECV))
    return DK_ESCOPE;
  struct log_state *l;
  return log_insert(s, at, h->log, flags, &l);
}

static int on_batch(struct dk_sync *s, const msgpack_object *f, uint32_t n) {
  uint64_t batch, remaining, acked;
  int rc;
  if (!s->hello_received || n != 6)
    return DK_EPROTO;
  if ((rc = dk_mp_get_u64(&f[2], &batch)) != 0 || (rc = dk_mp_get_u64(&f[3], &remaining)) != 0 ||
      (rc = dk_mp_get_u64(&f[5], &acked)) != 0)
    return rc;
  if (batch != s->recv_batch_next)
    return DK_EPROTO;
  /* The in-flight window, checked before anything of the batch is looked
   * at: the sender may not claim acks this side never sent, and may not have
   * more than DK_SYNC_WINDOW_BATCHES_MAX batches unacknowledged. Batches
   * received and not yet acknowledged here count as unacknowledged too. */
  if (acked > s->acks_sent || batch - acked >= DK_SYNC_WINDOW_BATCHES_MAX ||
      batch - s->acks_sent >= DK_SYNC_WINDOW_BATCHES_MAX)
    return DK_EPROTO;
  if (f[4].type != MSGPACK_OBJECT_ARRAY)
    return DK_EFORMAT;
  const msgpack_object_array *a = &f[4].via.array;
  if (a->size > DK_SYNC_BATCH_ENTRIES_MAX)
    return DK_ELIMIT;
  if (a->size == 0)
    return DK_EPROTO;
  for (uint32_t i = 0; i < a->size; i++) {
    const msgpack_object *o = &a->ptr[i];
    struct dk_wire_entry *e = &s->wire[i];
    size_t sig_len;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3)
      return DK_EFORMAT;
    const msgpack_object *x = o->via.array.ptr;
    if ((rc = dk_mp_get_bin_view(&x[0], &e->header, &e->header_len)) != 0 ||
        (rc = dk_mp_get_bin_view(&x[1], &e->sig, &sig_len)) != 0)
      return rc;
    if (sig_len != DK_SIG_BYTES || e->header_len == 0 || e->header_len > DK_HEADER_BYTES_MAX)
      return DK_EFORMAT;
    if (x[2].type == MSGPACK_OBJECT_NIL) {
      e->body = NULL;
      e->body_len = 0;
    } else {
      if ((rc = dk_mp_get_bin_view(&x[2], &e->body, &e->body_len)) != 0)
        return rc;
      if (e->body_len > DK_BODY_BYTES_MAX)
        return DK_ELIMIT;
    }
    struct dk_header h;
    rc = dk_header_decode(e->header, e->header_len, &h);
    if (rc != 0)
      return rc;
    rc = check_offer(s, &h, e);
    if (rc != 0)
      return rc;
    memcpy(s->wire_pos[i].log, h.log, DK_PK_BYTES);
    s->wire_pos[i].seq = h.seq;
  }
  struct dk_sync_head before = {0}, after = {0};
  if (s->i_am_parent && (rc = s->store.head(s->store.ctx, s->peer_pk, &before)) != 0)
    return rc;
  struct dk_ingest_result res = {0};
  rc = s->store.ingest(s->store.ctx, s->wire, a->size, &res);
  if (rc != 0)
    return rc;
  if (s->i_am_parent) {
    if ((rc = s->store.head(s->store.ctx, s->peer_pk, &after)) != 0)
      return rc;
    if (after.seq > before.seq)
      s->peer_log_advanced = 1;
  }
  /* A log that goes both ways (the lower node's own): the peer holds what
   * it just sent, so that nothing bounces back to it. */
  int repump = 0;
  for (uint32_t i = 0; i < a->size; i++) {
    const struct recv_pos *p = &s->wire_pos[i];
    const struct dk_wire_entry *e = &s->wire[i];
    int found;
    size_t at = log_find(s, p->log, &found);
    struct log_state *l = found ? &s->logs[at] : NULL;
    if (l == NULL || !(l->flags & LOG_SEND) || (l->flags & LOG_FORKED))
      continue;
    if (p->seq <= l->peer_seq) {
      /* An entry I may hold already: a fork when mine differs. */
      uint8_t mine[DK_HASH_BYTES], theirs[DK_HASH_BYTES];
      int have = 0;
      if (p->seq > l->my_seq)
        continue;
      if ((rc = entry_id_at(s, l->log, p->seq, mine, &have)) != 0)
        return rc;
      if (!have)
        continue;
      dk_entry_compute_id(e->header, e->header_len, e->sig, theirs);
      if (memcmp(mine, theirs, DK_HASH_BYTES) == 0)
        continue;
    }
    l->peer_seq = p->seq;
    /* Only the id of the last entry of a stretch of one log is kept, and
     * nothing before the stretch ends reads it. */
    if (i + 1 == a->size || memcmp(s->wire_pos[i + 1].log, p->log, DK_PK_BYTES) != 0)
      dk_entry_compute_id(e->header, e->header_len, e->sig, l->peer_id);
    l->flags &= ~LOG_CHECKED;
    if (at < s->cursor)
      s->cursor = at;
    repump |= pending(l);
  }
  /* An entry of such a log that differs from mine at its seq is a fork
   * the peer found: my entry goes back to it at once (before the ack, so
   * that the peer is not done yet), and it keeps the proof too. */
  if (repump && s->send_phase == SEND_STREAM && (rc = pump(s)) != 0)
    return rc;
  s->recv_batch_next++;
  s->recv_caught_up = 0;
  s->stats.batches_received++;
  s->stats.entries_received += a->size;
  s->stats.entries_stored += res.stored;
  s->stats.duplicates += res.duplicates;
  s->stats.forks += res.forks;
  s->stats.refused += res.refused;
  s->stats.local_lacks_entries = remaining;
  return send_ack(s, batch, &res);
}

static int on_ack(struct dk_sync *s, const msgpack_object *f, uint32_t n) {
  uint64_t batch, stored, duplicates, forks, refused;
  int rc;
  if (n != 7)
    return DK_EPROTO;
  if ((rc = dk_mp_get_u64(&f[2], &batch)) != 0 || (rc = dk_mp_get_u64(&f[3], &stored)) != 0 ||
      (rc = dk_mp_get_u64(&f[4], &duplicates)) != 0 || (rc = dk_mp_get_u64(&f[5], &forks)) != 0 ||
      (rc = dk_mp_get_u64(&f[6], &refused)) != 0)
    return rc;
  s->stats.refused_by_peer += refused;
  if (s->stats.batches_in_flight == 0 || batch != s->ack_next)
    return DK_EPROTO;
  s->ack_next++;
  s->stats.batches_in_flight--;
  s->stats.batches_acked++;
  s->stats.peer_stored += stored;
  s->stats.forks_at_peer += forks;
  s->waiting_since_ms = s->now_ms;
  return pump(s);
}

static int on_caught_up(struct dk_sync *s, const msgpack_object *f, uint32_t n) {
  uint64_t total;
  int rc;
  if (!s->hello_received || n != 3)
    return DK_EPROTO;
  if ((rc = dk_mp_get_u64(&f[2], &total)) != 0)
    return rc;
  if (total != s->recv_batch_next)
    return DK_EPROTO; /* it says it sent batches we never saw */
  s->recv_caught_up = 1;
  s->stats.local_lacks_entries = 0;
  /* Every batch before this was acknowledged after its commit. What the
   * node derives from them follows on the node's own time, after the burst
   * (the transport's indexer, node/ingest/index.h): the peer does not wait
   * for it. */
  if (s->i_am_parent && s->peer_log_advanced) {
    /* One witness per catch-up round, over the child's head as now held. */
    s->peer_log_advanced = 0;
    rc = s->store.witness(s->store.ctx, s->peer_pk);
    if (rc != 0)
      return rc;
    s->stats.witnesses++;
    rc = refresh(s); /* the witness is a new entry of my log: send it down */
    if (rc != 0)
      return rc;
  }
  if (s->send_phase == SEND_STREAM)
    s->cursor = 0;
  return pump(s);
}

static int on_ping(struct dk_sync *s, uint32_t n) {
  (void)s;
  return n == 2 ? 0 : DK_EPROTO; /* its arrival is the point */
}

/* The peer refused this node and is closing: keep its reason to show. */
static int on_refused(struct dk_sync *s, const msgpack_object *f, uint32_t n) {
  const char *text;
  size_t len;
  if (n != 4 || dk_mp_get_u64(&f[2], &s->refusal_code) != 0 ||
      dk_mp_get_str_view(&f[3], &text, &len) != 0)
    return DK_EFORMAT;
  if (s->refusal_code == 0)
    s->refusal_code = DK_SYNC_REFUSED_OTHER;
  /* Untrusted text: keep printable ASCII only, cut to the limit. */
  size_t j = 0;
  for (size_t i = 0; i < len && j + 1 < sizeof(s->refusal_text); i++)
    s->refusal_text[j++] = (text[i] >= 0x20 && text[i] < 0x7f) ? text[i] : '?';
  s->refusal_text[j] = 0;
  return s->refusal_code == DK_SYNC_REFUSED_NO_CERT ? DK_ECERT : DK_EREFUSED;
}

int dk_sync_encode_refusal(uint64_t code, const char *text, struct dk_buf *out) {
  size_t len = text ? strlen(text) : 0;
  if (code == 0 || len >= DK_NET_REASON_BYTES_MAX)
    return DK_EINVAL;
  dk_buf_reset(out);
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, dk_buf_msgpack_write);
  int rc = dk_msg_begin(&pk, DK_SYNC_MSG_REFUSED, 2);
  if (rc == 0 && msgpack_pack_uint64(&pk, code) != 0)
    rc = DK_ENOMEM;
  if (rc == 0)
    rc = dk_mp_pack_str(&pk, text ? text : "");
  return rc;
}

const char *dk_sync_refusal_text(uint64_t code) {
  switch (code) {
  case DK_SYNC_REFUSED_UNKNOWN: return "this office has not pinned this node's key";
  case DK_SYNC_REFUSED_NO_CERT: return "no valid certificate (uncertified, expired or revoked)";
  case DK_SYNC_REFUSED_OFFICE: return "certified for another office than it was pinned as";
  case DK_SYNC_REFUSED_SESSIONS: return "too many sessions open with this node's key";
  case DK_SYNC_REFUSED_BUSY: return "too many connections at the peer; try again later";
  default: return "refused";
  }
}

/* ---------- public ---------- */

int dk_sync_new(struct dk_sync **out, const struct dk_sync_config *cfg,
                const struct dk_sync_store *store, dk_sync_send_fn send, void *send_ctx) {
  int rc = DK_EINVAL;
  struct dk_sync *s = NULL;
  *out = NULL;
  if (cfg == NULL || store == NULL || send == NULL || cfg->my_office == NULL ||
      cfg->peer_office == NULL || store->heads == NULL || store->head == NULL ||
      store->read == NULL || store->ingest == NULL || store->witness == NULL)
    goto out;
  size_t my_len = strlen(cfg->my_office), peer_len = strlen(cfg->peer_office);
  if (my_len == 0 || peer_len == 0 || my_len >= DK_NAME_BYTES_MAX || peer_len >= DK_NAME_BYTES_MAX)
    goto out;
  if (memcmp(cfg->my_pk, cfg->peer_pk, DK_PK_BYTES) == 0)
    goto out;
  if (cfg->mode != DK_SYNC_ONCE && cfg->mode != DK_SYNC_LIVE)
    goto out;
  rc = DK_ENOMEM;
  s = calloc(1, sizeof(*s));
  if (s == NULL)
    goto out;
  s->wire = calloc(DK_SYNC_BATCH_ENTRIES_MAX, sizeof(*s->wire));
  s->wire_pos = calloc(DK_SYNC_BATCH_ENTRIES_MAX, sizeof(*s->wire_pos));
  if (s->wire == NULL || s->wire_pos == NULL)
    goto out;
  memcpy(s->my_pk, cfg->my_pk, DK_PK_BYTES);
  memcpy(s->peer_pk, cfg->peer_pk, DK_PK_BYTES);
  memcpy(s->my_office, cfg->my_office, my_len + 1);
  memcpy(s->peer_office, cfg->peer_office, peer_len + 1);
  if ((cfg->peer_reads && strlen(cfg->peer_reads) >= DK_NAME_BYTES_MAX) ||
      (cfg->my_reads && strlen(cfg->my_reads) >= DK_NAME_BYTES_MAX)) {
    rc = DK_EINVAL;
    goto out;
  }
  if (cfg->peer_reads)
    strcpy(s->peer_reads, cfg->peer_reads);
  if (cfg->my_reads)
    strcpy(s->my_reads, cfg->my_reads);
  s->mode = cfg->mode;
  s->window_batches =
      clamp(cfg->window_batches, DK_SYNC_WINDOW_BATCHES_DEFAULT, 1, DK_SYNC_WINDOW_BATCHES_MAX);
  s->batch_entries =
      clamp(cfg->batch_entries, DK_SYNC_BATCH_ENTRIES_DEFAULT, 1, DK_SYNC_BATCH_ENTRIES_MAX);
  s->batch_bytes = clamp(cfg->batch_bytes, DK_SYNC_BATCH_BYTES_DEFAULT,
                         DK_SYNC_ENTRY_WIRE_BYTES_MAX, DK_SYNC_BATCH_BYTES_MAX);
  s->timeout_ms = cfg->timeout_ms;
  s->keepalive_ms = cfg->keepalive_ms;
  s->silence_ms = cfg->silence_ms;
  int peer_below = dk_office_covers(s->my_office, s->peer_office) && my_len != peer_len;
  int peer_above = dk_office_covers(s->peer_office, s->my_office) && my_len != peer_len;
  s->i_am_parent = peer_below;
  s->peer_is_parent = peer_above;
  s->store = *store;
  s->send = send;
  s->send_ctx = send_ctx;
  dk_buf_init(&s->out);
  dk_buf_init(&s->scratch);
  *out = s;
  s = NULL;
  rc = 0;
out:
  if (s != NULL) {
    free(s->wire);
    free(s->wire_pos);
    free(s);
  }
  return rc;
}

void dk_sync_free(struct dk_sync *s) {
  if (s == NULL)
    return;
  dk_buf_release(&s->out);
  dk_buf_release(&s->scratch);
  free(s->logs);
  free(s->wire);
  free(s->wire_pos);
  free(s);
}

int dk_sync_start(struct dk_sync *s, uint64_t now_ms) {
  int rc;
  if (s->error != 0)
    return s->error;
  if (s->started)
    return fail(s, DK_EINVAL);
  s->now_ms = now_ms;
  s->waiting_since_ms = now_ms;
  s->last_received_ms = now_ms;
  s->started = 1;
  rc = refresh(s);
  if (rc == 0)
    rc = send_hello(s);
  if (rc != 0)
    return fail(s, rc);
  return 0;
}

int dk_sync_receive(struct dk_sync *s, const uint8_t *msg, size_t len) {
  msgpack_unpacked u;
  int have_u = 0;
  int rc;
  if (s->error != 0)
    return s->error;
  if (!s->started)
    return fail(s, DK_EINVAL);
  s->last_received_ms = s->now_ms;
  if (s->done)
    return 0;
  s->stats.messages_received++;
  s->stats.bytes_received += len;
  if (len > DK_FRAME_BYTES_MAX) {
    rc = DK_ELIMIT;
    goto out;
  }
  /* The envelope as dk_msg_peek() reads it, parsing the message once. */
  rc = dk_mp_parse(msg, len, &u);
  if (rc != 0)
    goto out;
  have_u = 1;
  uint64_t version = 0, type = 0;
  if (u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size < 2) {
    rc = DK_EFORMAT;
    goto out;
  }
  const msgpack_object *f = u.data.via.array.ptr;
  uint32_t n = u.data.via.array.size;
  if ((rc = dk_mp_get_u64(&f[0], &version)) != 0)
    goto out;
  if (version != DK_PROTO_VERSION) {
    rc = DK_EVERSION;
    goto out;
  }
  if ((rc = dk_mp_get_u64(&f[1], &type)) != 0)
    goto out;
  if (type == DK_SYNC_MSG_REFUSED) {
    rc = on_refused(s, f, n); /* may come instead of HELLO */
    goto out;
  }
  if (!s->hello_received && type != DK_SYNC_MSG_HELLO) {
    rc = DK_EPROTO; /* HELLO comes first */
    goto out;
  }
  if (type != DK_SYNC_MSG_PING)
    s->waiting_since_ms = s->now_ms;
  switch (type) {
  case DK_SYNC_MSG_HELLO: rc = on_hello(s, f, n); break;
  case DK_SYNC_MSG_HEADS: rc = on_heads(s, f, n); break;
  case DK_SYNC_MSG_BATCH: rc = on_batch(s, f, n); break;
  case DK_SYNC_MSG_ACK: rc = on_ack(s, f, n); break;
  case DK_SYNC_MSG_CAUGHT_UP: rc = on_caught_up(s, f, n); break;
  case DK_SYNC_MSG_PING: rc = on_ping(s, n); break;
  default: rc = DK_EPROTO; break;
  }
  if (rc == 0)
    update_done(s);
out:
  if (have_u)
    msgpack_unpacked_destroy(&u);
  return rc == 0 ? 0 : fail(s, rc);
}

int dk_sync_local_change(struct dk_sync *s) {
  int rc = 0;
  if (s->error != 0)
    return s->error;
  if (!s->started)
    return fail(s, DK_EINVAL);
  if (!s->hello_received) {
    s->dirty = 1; /* the HELLO digests must stay what was sent */
    return 0;
  }
  if (s->mode == DK_SYNC_ONCE)
    return 0; /* a once session syncs what was there at HELLO time */
  rc = refresh(s);
  if (rc == 0 && s->send_phase == SEND_STREAM && next_pending(s) < s->logs_count)
    rc = pump(s);
  return rc == 0 ? 0 : fail(s, rc);
}

int dk_sync_poll(struct dk_sync *s, uint64_t mark) {
  if (s->error != 0)
    return s->error;
  if (mark == s->seen_mark)
    return 0;
  if (s->store.mark == NULL)
    s->seen_mark = mark;
  return dk_sync_local_change(s);
}

void dk_sync_busy(struct dk_sync *s, uint64_t ms) { s->busy_ms += ms; }

int dk_sync_tick(struct dk_sync *s, uint64_t now_ms) {
  if (s->error != 0)
    return s->error;
  if (now_ms > s->now_ms)
    s->now_ms = now_ms;
  if (!s->started || s->done)
    return 0;
  /* The link: a peer silent for too long is gone (the connection is closed
   * and redialled); a link with nothing to carry gets a PING. */
  if (s->busy_ms) {
    /* While this side was busy with its own work, what the peer sent
     * waited unread: that time is not the peer's silence. */
    s->last_received_ms += s->busy_ms;
    s->waiting_since_ms += s->busy_ms;
    if (s->last_received_ms > s->now_ms)
      s->last_received_ms = s->now_ms;
    if (s->waiting_since_ms > s->now_ms)
      s->waiting_since_ms = s->now_ms;
    s->busy_ms = 0;
  }
  if (s->silence_ms && s->now_ms - s->last_received_ms >= s->silence_ms)
    return fail(s, DK_ETIMEDOUT);
  if (s->keepalive_ms && s->now_ms - s->last_sent_ms >= s->keepalive_ms) {
    int rc = send_ping(s);
    if (rc != 0)
      return fail(s, rc);
  }
  if (s->timeout_ms == 0)
    return 0;
  int waiting = !s->hello_received || s->send_phase == SEND_WAIT_HEADS ||
                s->stats.batches_in_flight > 0 || (s->mode == DK_SYNC_ONCE && !s->recv_caught_up);
  if (waiting && s->now_ms - s->waiting_since_ms >= s->timeout_ms)
    return fail(s, DK_ETIMEDOUT);
  return 0;
}

void dk_sync_status(const struct dk_sync *s, struct dk_sync_status *out) {
  memset(out, 0, sizeof(*out));
  out->error = s->error;
  out->started = s->started;
  out->hello_received = s->hello_received;
  out->recv_caught_up = s->hello_received && s->recv_caught_up;
  int pending_any = 0;
  for (size_t i = s->cursor; i < s->logs_count && !pending_any; i++)
    pending_any = pending(&s->logs[i]);
  out->send_caught_up = s->send_phase == SEND_STREAM && s->caught_up_sent &&
                        s->stats.batches_in_flight == 0 && !pending_any;
  out->done = s->done;
  out->idle = s->idle;
  out->refusal_code = s->refusal_code;
  memcpy(out->refusal_text, s->refusal_text, sizeof(out->refusal_text));
  out->silent_ms = s->now_ms - s->last_received_ms;
  out->stats = s->stats;
}
