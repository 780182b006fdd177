/* Unit tests for replication/sync: the idle sync of 10 000 logs in one round
 * trip, heads in chunks, a long catch-up within the window, resume after a
 * cut, scope and version refusal, corrupted batches, forks, live streaming,
 * and the vectors of docs/protocol-sync.md. Sessions run over the in-memory
 * store of tests/sim/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/mp.h"
#include "replication/msg.h"
#include "replication/sync.h"
#include "tests/sim/mem_store.h"

/* ---------- a node and a connection between two ---------- */

struct node {
  struct dk_identity id;
  struct mem_store st;
  struct dk_sync_store iface;
  const char *office;
};

static void node_init(struct node *n, uint8_t seed_byte, const char *office, const char *role) {
  uint8_t seed[DK_SEED_BYTES];
  memset(seed, seed_byte, sizeof(seed));
  memset(n, 0, sizeof(*n));
  assert_int_equal(dk_identity_from_seed(&n->id, seed), 0);
  assert_int_equal(mem_store_init(&n->st, &n->id, office, role, 1000), 0);
  mem_store_iface(&n->st, &n->iface);
  n->office = office;
}

static void node_release(struct node *n) {
  mem_store_release(&n->st);
  dk_identity_release(&n->id);
}

struct msg {
  uint8_t *data;
  size_t len;
};

struct queue {
  struct msg items[4096];
  size_t head, count;
  uint64_t bytes, messages;
  size_t largest;
  int tamper_next_batch; /* flip a bit of the next batch's first signature */
};

static int q_push(void *ctx, const uint8_t *m, size_t len) {
  struct queue *q = ctx;
  if (q->count == 4096)
    return DK_ELIMIT;
  struct msg *x = &q->items[(q->head + q->count) % 4096];
  x->data = malloc(len ? len : 1);
  if (x->data == NULL)
    return DK_ENOMEM;
  memcpy(x->data, m, len);
  x->len = len;
  q->count++;
  q->bytes += len;
  q->messages++;
  if (len > q->largest)
    q->largest = len;
  return 0;
}

static void q_clear(struct queue *q) {
  while (q->count) {
    free(q->items[q->head].data);
    q->head = (q->head + 1) % 4096;
    q->count--;
  }
}

struct conn {
  struct dk_sync *a, *b;
  struct queue ab, ba; /* a -> b, b -> a */
  int rc_a, rc_b;
};

static struct dk_sync_config config(const struct node *me, const struct node *peer,
                                    enum dk_sync_mode mode) {
  struct dk_sync_config c;
  memset(&c, 0, sizeof(c));
  memcpy(c.my_pk, me->id.pk, DK_PK_BYTES);
  memcpy(c.peer_pk, peer->id.pk, DK_PK_BYTES);
  c.my_office = me->office;
  c.peer_office = peer->office;
  c.mode = mode;
  return c;
}

static void conn_open(struct conn *c, struct node *a, struct node *b, enum dk_sync_mode mode,
                      size_t window, size_t batch_entries) {
  memset(c, 0, sizeof(*c));
  struct dk_sync_config ca = config(a, b, mode), cb = config(b, a, mode);
  ca.window_batches = cb.window_batches = window;
  ca.batch_entries = cb.batch_entries = batch_entries;
  assert_int_equal(dk_sync_new(&c->a, &ca, &a->iface, q_push, &c->ab), 0);
  assert_int_equal(dk_sync_new(&c->b, &cb, &b->iface, q_push, &c->ba), 0);
  assert_int_equal(dk_sync_start(c->a, 0), 0);
  assert_int_equal(dk_sync_start(c->b, 0), 0);
}

static void conn_close(struct conn *c) {
  dk_sync_free(c->a);
  dk_sync_free(c->b);
  q_clear(&c->ab);
  q_clear(&c->ba);
  c->a = c->b = NULL;
}

static void flip_first_sig(struct msg *m) {
  uint32_t type = 0, version = 0;
  if (dk_msg_peek(m->data, m->len, &type, &version) != 0 || type != DK_SYNC_MSG_BATCH)
    return;
  /* The first signature is the first bin8 of 64 bytes: c4 40. */
  for (size_t i = 0; i + 2 < m->len; i++)
    if (m->data[i] == 0xc4 && m->data[i + 1] == 0x40) {
      m->data[i + 2 + 10] ^= 0x01;
      return;
    }
}

/* Delivers one flight: everything queued each way at the start of it. */
static void flight(struct conn *c) {
  size_t nab = c->ab.count, nba = c->ba.count;
  for (size_t i = 0; i < nab; i++) {
    struct msg *m = &c->ab.items[c->ab.head];
    if (c->ab.tamper_next_batch) {
      uint32_t t = 0, v = 0;
      if (dk_msg_peek(m->data, m->len, &t, &v) == 0 && t == DK_SYNC_MSG_BATCH) {
        flip_first_sig(m);
        c->ab.tamper_next_batch = 0;
      }
    }
    if (c->rc_b == 0)
      c->rc_b = dk_sync_receive(c->b, m->data, m->len);
    free(m->data);
    c->ab.head = (c->ab.head + 1) % 4096;
    c->ab.count--;
  }
  for (size_t i = 0; i < nba; i++) {
    struct msg *m = &c->ba.items[c->ba.head];
    if (c->rc_a == 0)
      c->rc_a = dk_sync_receive(c->a, m->data, m->len);
    free(m->data);
    c->ba.head = (c->ba.head + 1) % 4096;
    c->ba.count--;
  }
}

/* Runs flights until nothing is queued (or max); returns the flights. */
static int run(struct conn *c, int max) {
  int flights = 0;
  while ((c->ab.count || c->ba.count) && flights < max && c->rc_a == 0 && c->rc_b == 0) {
    flight(c);
    flights++;
  }
  return flights;
}

static void status(struct dk_sync *s, struct dk_sync_status *st) { dk_sync_status(s, st); }

/* ---------- tests ---------- */

#define MANY_LOGS 10000

/* A district and a street that both hold the street, the district and
 * 10 000 community logs under the street. */
static void author_of(int i, struct dk_identity *id) {
  uint8_t seed[DK_SEED_BYTES];
  memset(seed, 0, sizeof(seed));
  seed[0] = 0xc0;
  seed[1] = (uint8_t)(i >> 8);
  seed[2] = (uint8_t)i;
  assert_int_equal(dk_identity_from_seed(id, seed), 0);
}

static void make_big(struct node *d, struct node *s) {
  node_init(d, 1, "zhanhe", "district");
  node_init(s, 2, "zhanhe/beidu", "street");
  for (int i = 0; i < MANY_LOGS; i++) {
    /* One identity at a time: each holds guarded secure memory. */
    struct dk_identity a;
    author_of(i, &a);
    char office[64];
    snprintf(office, sizeof(office), "zhanhe/beidu/c%05d", i);
    assert_int_equal(mem_store_make_log(&s->st, &a, office, i % 3, 1000), 0);
    assert_int_equal(mem_store_copy_log(&d->st, &s->st, a.pk), 0);
    dk_identity_release(&a);
  }
  assert_int_equal(mem_store_copy_log(&d->st, &s->st, s->id.pk), 0);
  assert_int_equal(mem_store_copy_log(&s->st, &d->st, d->id.pk), 0);
}

static void idle_many_logs(void **state) {
  struct node d, s;
  make_big(&d, &s);

  struct conn c;
  conn_open(&c, &s, &d, DK_SYNC_ONCE, 0, 0);
  int flights = run(&c, 100);
  struct dk_sync_status sa, sb;
  status(c.a, &sa);
  status(c.b, &sb);
  assert_int_equal(sa.error, 0);
  assert_int_equal(sb.error, 0);
  assert_true(sa.done && sb.done && sa.idle && sb.idle);
  /* Both HELLOs cross at once: one flight each way is one round trip. */
  assert_int_equal(flights, 1);
  assert_int_equal(c.ab.messages + c.ba.messages, 2);
  uint64_t bytes = c.ab.bytes + c.ba.bytes;
  print_message("idle sync of %d logs: %d round trip, %llu bytes\n", MANY_LOGS + 2, flights,
                (unsigned long long)bytes);
  assert_true(bytes <= 4096);
  conn_close(&c);

  /* One more entry in one community log: the district's heads (10 001 logs
   * in the street's scope) go in chunks under the frame limit, and exactly
   * that entry travels. */
  struct dk_identity author;
  author_of(4242, &author);
  struct mem_log *l = mem_store_log(&s.st, author.pk);
  uint64_t before = l->count;
  {
    /* Append as its author would (mem_store_append appends to st's own log). */
    struct mem_store tmp;
    assert_int_equal(mem_store_init(&tmp, &author, "zhanhe/beidu/c04242", "community", 1000), 0);
    assert_int_equal(mem_store_copy_log(&tmp, &s.st, author.pk), 0);
    assert_int_equal(mem_store_append(&tmp, 5000, (const uint8_t *)"new", 3), 0);
    assert_int_equal(mem_store_copy_log(&s.st, &tmp, author.pk), 0);
    mem_store_release(&tmp);
  }
  assert_int_equal(mem_store_log(&s.st, author.pk)->count, before + 1);
  conn_open(&c, &s, &d, DK_SYNC_ONCE, 0, 0);
  run(&c, 100);
  status(c.a, &sa);
  status(c.b, &sb);
  assert_int_equal(sa.error, 0);
  assert_int_equal(sb.error, 0);
  assert_true(sa.done && sb.done && !sa.idle);
  assert_int_equal(sa.stats.entries_sent, 1);
  assert_int_equal(sb.stats.entries_stored, 1);
  assert_true(c.ba.largest <= DK_FRAME_BYTES_MAX);
  assert_true(c.ba.messages >= 3); /* hello, two heads chunks, ack */
  assert_int_equal(mem_store_log(&d.st, author.pk)->count, before + 1);
  assert_int_equal(d.st.witness_calls, 0); /* the street's own log did not grow */
  conn_close(&c);

  dk_identity_release(&author);
  node_release(&d);
  node_release(&s);
}

#define LONG_LOG 3000

static void append_many(struct node *n, int count) {
  for (int i = 0; i < count; i++) {
    uint8_t body[100];
    memset(body, (uint8_t)i, sizeof(body));
    assert_int_equal(mem_store_append(&n->st, 2000 + (uint64_t)i, body, (size_t)(i % 100)), 0);
  }
}

static void long_catch_up(void **state) {
  struct node com, street;
  node_init(&com, 3, "zhanhe/beidu/lanxin", "community");
  node_init(&street, 2, "zhanhe/beidu", "street");
  append_many(&com, LONG_LOG);
  struct conn c;
  conn_open(&c, &com, &street, DK_SYNC_ONCE, 2, 64);
  size_t queued_max = 0;
  while ((c.ab.count || c.ba.count) && c.rc_a == 0 && c.rc_b == 0) {
    if (c.ab.count > queued_max)
      queued_max = c.ab.count;
    flight(&c);
  }
  struct dk_sync_status sa, sb;
  status(c.a, &sa);
  status(c.b, &sb);
  assert_int_equal(sa.error, 0);
  assert_int_equal(sb.error, 0);
  assert_true(sa.done && sb.done);
  assert_true(queued_max <= 3); /* two batches and a CAUGHT_UP at most */
  assert_true(sa.stats.batches_in_flight_max <= 2);
  assert_int_equal(sa.stats.batches_in_flight_max, 2);
  assert_int_equal(sa.stats.entries_sent, LONG_LOG + 1);
  assert_int_equal(sa.stats.batches_sent, (LONG_LOG + 1 + 63) / 64);
  assert_int_equal(sb.stats.entries_stored, LONG_LOG + 1);
  assert_int_equal(street.st.ingest_calls, sa.stats.batches_sent);
  assert_int_equal(mem_store_log(&street.st, com.id.pk)->count, LONG_LOG + 1);
  /* The street witnessed the community's head once, and the witness entry
   * came back down in the same session. */
  assert_int_equal(street.st.witness_calls, 1);
  assert_int_equal(sb.stats.witnesses, 1);
  assert_int_equal(mem_store_log(&com.st, street.id.pk)->count, 2);
  assert_int_equal(mem_store_verify_all(&street.st, NULL), 0);
  assert_int_equal(mem_store_verify_all(&com.st, NULL), 0);
  conn_close(&c);
  node_release(&com);
  node_release(&street);
}

static void resume_after_cut(void **state) {
  struct node com, street;
  node_init(&com, 3, "zhanhe/beidu/lanxin", "community");
  node_init(&street, 2, "zhanhe/beidu", "street");
  append_many(&com, LONG_LOG);
  struct conn c;
  conn_open(&c, &com, &street, DK_SYNC_ONCE, 2, 100);
  for (int i = 0; i < 9; i++)
    flight(&c);
  conn_close(&c); /* cut: both sessions and whatever was in flight are gone */
  struct mem_log *l = mem_store_log(&street.st, com.id.pk);
  assert_non_null(l);
  uint64_t held = l->count;
  assert_true(held > 0 && held < LONG_LOG + 1);
  assert_int_equal(held % 100, 0); /* whole batches only */
  assert_int_equal(street.st.commits - 1, held / 100);

  conn_open(&c, &com, &street, DK_SYNC_ONCE, 2, 100);
  run(&c, 10000);
  struct dk_sync_status sa, sb;
  status(c.a, &sa);
  status(c.b, &sb);
  assert_true(sa.done && sb.done);
  /* It resumed where the last commit ended: nothing sent twice. */
  assert_int_equal(sa.stats.entries_sent, LONG_LOG + 1 - held);
  assert_int_equal(sb.stats.duplicates, 0);
  assert_int_equal(mem_store_log(&street.st, com.id.pk)->count, LONG_LOG + 1);
  conn_close(&c);
  node_release(&com);
  node_release(&street);
}

/* Packs [1, BATCH, batch, 0, [entries of log l from index from, count n],
 * acked]. */
static void pack_batch_at(struct dk_buf *out, const struct mem_log *l, size_t from, size_t n,
                          uint64_t batch, uint64_t acked) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, dk_buf_msgpack_write);
  assert_int_equal(dk_msg_begin(&pk, DK_SYNC_MSG_BATCH, 4), 0);
  msgpack_pack_uint64(&pk, batch);
  msgpack_pack_uint64(&pk, 0);
  msgpack_pack_array(&pk, n);
  for (size_t i = from; i < from + n; i++) {
    const struct mem_entry *e = &l->entries[i];
    msgpack_pack_array(&pk, 3);
    dk_mp_pack_bin(&pk, e->header, e->header_len);
    dk_mp_pack_bin(&pk, e->sig, DK_SIG_BYTES);
    dk_mp_pack_bin(&pk, e->body, e->body_len);
  }
  msgpack_pack_uint64(&pk, acked);
}

static void pack_batch(struct dk_buf *out, const struct mem_log *l, size_t n) {
  pack_batch_at(out, l, 0, n, 0, 0);
}

static void scope_refusal(void **state) {
  struct node com, street, other;
  node_init(&com, 3, "zhanhe/beidu/lanxin", "community");
  node_init(&street, 2, "zhanhe/beidu", "street");
  node_init(&other, 4, "zhanhe/beidu/xinhe", "community");
  append_many(&other, 3);
  /* The street (honest HELLO) then offers lanxin another community's log. */
  struct conn c;
  conn_open(&c, &com, &street, DK_SYNC_LIVE, 0, 0);
  run(&c, 1); /* hellos */
  assert_int_equal(c.rc_a, 0);
  q_clear(&c.ab);
  q_clear(&c.ba);
  uint64_t commits = com.st.commits, entries = com.st.entries_total;
  struct dk_buf b;
  dk_buf_init(&b);
  pack_batch(&b, mem_store_log(&other.st, other.id.pk), 4);
  assert_int_equal(dk_sync_receive(c.a, b.data, b.len), DK_ESCOPE);
  assert_int_equal(com.st.commits, commits);
  assert_int_equal(com.st.entries_total, entries);
  assert_null(mem_store_log(&com.st, other.id.pk));
  assert_int_equal(dk_sync_receive(c.a, b.data, b.len), DK_ESCOPE); /* sticky */
  conn_close(&c);

  /* lanxin's own log offered back to it by the street is in scope (a
   * restored node gets its own later entries back): what it holds already
   * is a duplicate, nothing new is stored. */
  append_many(&com, 2);
  conn_open(&c, &com, &street, DK_SYNC_LIVE, 0, 0);
  run(&c, 1);
  dk_buf_reset(&b);
  pack_batch(&b, mem_store_log(&com.st, com.id.pk), 1);
  entries = com.st.entries_total;
  assert_int_equal(dk_sync_receive(c.a, b.data, b.len), 0);
  assert_int_equal(com.st.entries_total, entries);
  conn_close(&c);

  /* A peer that is not the office we pinned. */
  struct dk_sync_config cfg = config(&com, &other, DK_SYNC_ONCE);
  struct dk_sync_config wrong = config(&street, &com, DK_SYNC_ONCE);
  wrong.my_office = "zhanhe/nanhu";
  struct queue qa = {0}, qb = {0};
  struct dk_sync *sa, *sb;
  cfg.peer_office = "zhanhe/beidu";
  assert_int_equal(dk_sync_new(&sa, &cfg, &com.iface, q_push, &qa), 0);
  assert_int_equal(dk_sync_new(&sb, &wrong, &street.iface, q_push, &qb), 0);
  assert_int_equal(dk_sync_start(sa, 0), 0);
  assert_int_equal(dk_sync_start(sb, 0), 0);
  struct msg *m = &qb.items[qb.head];
  assert_int_equal(dk_sync_receive(sa, m->data, m->len), DK_ESCOPE);
  dk_sync_free(sa);
  dk_sync_free(sb);
  q_clear(&qa);
  q_clear(&qb);
  dk_buf_release(&b);
  node_release(&com);
  node_release(&street);
  node_release(&other);
}

static void refuse(const uint8_t *bytes, size_t len, int want, int after_hello) {
  struct node com, street;
  node_init(&com, 3, "zhanhe/beidu/lanxin", "community");
  node_init(&street, 2, "zhanhe/beidu", "street");
  struct conn c;
  conn_open(&c, &com, &street, DK_SYNC_LIVE, 0, 0);
  if (after_hello)
    run(&c, 1);
  assert_int_equal(c.rc_a, 0);
  uint64_t commits = com.st.commits;
  assert_int_equal(dk_sync_receive(c.a, bytes, len), want);
  struct dk_sync_status st;
  status(c.a, &st);
  assert_int_equal(st.error, want);
  assert_int_equal(dk_sync_local_change(c.a), want);
  assert_int_equal(dk_sync_tick(c.a, 5), want);
  assert_int_equal(com.st.commits, commits);
  conn_close(&c);
  node_release(&com);
  node_release(&street);
}

static void version_refusal(void **state) {
  /* [2, 1, ...]: another protocol version. */
  const uint8_t v2[] = {0x93, 0x02, 0x01, 0xc0};
  refuse(v2, sizeof(v2), DK_EVERSION, 0);
  refuse(v2, sizeof(v2), DK_EVERSION, 1);
  /* [1, 99]: unknown type. */
  const uint8_t unknown[] = {0x92, 0x01, 0x63};
  refuse(unknown, sizeof(unknown), DK_EPROTO, 1);
  /* [1, 4, 0, 0, 0, 0]: an ACK before HELLO, and an ACK for nothing. */
  const uint8_t ack[] = {0x96, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00};
  refuse(ack, sizeof(ack), DK_EPROTO, 0);
  refuse(ack, sizeof(ack), DK_EPROTO, 1);
  /* The array bomb of docs/protocol-transport.md. */
  const uint8_t bomb[] = {0xdd, 0x9e, 0xf5, 0x1f, 0x0a, 0x00, 0x00};
  refuse(bomb, sizeof(bomb), DK_ELIMIT, 1);
  /* A batch claiming more entries than a batch may hold: 1025 nils. */
  uint8_t *big = malloc(8 + 3 + 1025 + 1);
  size_t n = 0;
  big[n++] = 0x96;
  big[n++] = 0x01;
  big[n++] = 0x03;
  big[n++] = 0x00;
  big[n++] = 0x00;
  big[n++] = 0xdc;
  big[n++] = 0x04;
  big[n++] = 0x01;
  memset(big + n, 0xc0, 1025);
  big[n + 1025] = 0x00; /* acked */
  refuse(big, n + 1025 + 1, DK_ELIMIT, 1);
  free(big);
  /* Not msgpack at all. */
  const uint8_t junk[] = {0xc1};
  refuse(junk, sizeof(junk), DK_EFORMAT, 1);
}

static void corrupted_batch(void **state) {
  struct node com, street;
  node_init(&com, 3, "zhanhe/beidu/lanxin", "community");
  node_init(&street, 2, "zhanhe/beidu", "street");
  append_many(&com, 50);
  struct conn c;
  conn_open(&c, &com, &street, DK_SYNC_ONCE, 2, 10);
  c.ab.tamper_next_batch = 1;
  run(&c, 1000);
  int rc = c.rc_b;
  assert_true(rc == DK_EBADLINK || rc == DK_EBADSIG); /* which entry was hit decides */
  assert_int_equal(street.st.commits, 1);
  assert_null(mem_store_log(&street.st, com.id.pk));
  conn_close(&c);
  /* Tamper a later batch: the batches before it stay, nothing of it. */
  conn_open(&c, &com, &street, DK_SYNC_ONCE, 1, 10);
  run(&c, 4); /* hellos, heads, batch 0, its ack */
  assert_int_equal(c.rc_b, 0);
  c.ab.tamper_next_batch = 1;
  run(&c, 1000);
  assert_true(c.rc_b == DK_EBADLINK || c.rc_b == DK_EBADSIG);
  uint64_t held = mem_store_log(&street.st, com.id.pk)->count;
  assert_int_equal(held % 10, 0);
  assert_true(held >= 10 && held < 51);
  conn_close(&c);
  /* A clean session then finishes the job. */
  conn_open(&c, &com, &street, DK_SYNC_ONCE, 2, 10);
  run(&c, 1000);
  struct dk_sync_status sa;
  status(c.a, &sa);
  assert_true(sa.done);
  assert_int_equal(mem_store_log(&street.st, com.id.pk)->count, 51);
  assert_int_equal(mem_store_verify_all(&street.st, NULL), 0);
  conn_close(&c);
  node_release(&com);
  node_release(&street);
}

static void store_failure_stops(void **state) {
  struct node com, street;
  node_init(&com, 3, "zhanhe/beidu/lanxin", "community");
  node_init(&street, 2, "zhanhe/beidu", "street");
  append_many(&com, 5);
  street.st.fail_ingest_with = DK_EIO;
  struct conn c;
  conn_open(&c, &com, &street, DK_SYNC_ONCE, 0, 0);
  run(&c, 100);
  assert_int_equal(c.rc_b, DK_EIO);
  assert_null(mem_store_log(&street.st, com.id.pk));
  conn_close(&c);
  node_release(&com);
  node_release(&street);
}

static void fork_detected(void **state) {
  struct node com, street;
  node_init(&com, 3, "zhanhe/beidu/lanxin", "community");
  node_init(&street, 2, "zhanhe/beidu", "street");
  /* The community's key signed two different seq 2: one the street holds,
   * one the community's store holds (followed by seq 3). */
  struct mem_store other;
  assert_int_equal(mem_store_init(&other, &com.id, com.office, "community", 1000), 0);
  assert_int_equal(mem_store_append(&other, 2000, (const uint8_t *)"B", 1), 0);
  assert_int_equal(mem_store_copy_log(&street.st, &other, com.id.pk), 0);
  mem_store_release(&other);
  assert_int_equal(mem_store_append(&com.st, 2000, (const uint8_t *)"A", 1), 0);
  assert_int_equal(mem_store_append(&com.st, 2001, (const uint8_t *)"A2", 2), 0);
  struct conn c;
  conn_open(&c, &com, &street, DK_SYNC_ONCE, 0, 0);
  run(&c, 100);
  struct dk_sync_status sa, sb;
  status(c.a, &sa);
  status(c.b, &sb);
  assert_int_equal(sa.error, 0);
  assert_int_equal(sb.error, 0);
  assert_true(sa.done && sb.done);
  assert_int_equal(sa.stats.peer_forks, 1);
  assert_int_equal(sb.stats.forks, 1);
  assert_int_equal(street.st.forks_count, 1);
  assert_int_equal(mem_store_log(&street.st, com.id.pk)->count, 2); /* its own branch */
  assert_true(mem_store_log(&street.st, com.id.pk)->forked);
  conn_close(&c);
  node_release(&com);
  node_release(&street);
}

/* Two branches of the community's log that hold different entries at a
 * seq: found on the first sync whichever is longer, and both sides keep a
 * proof (the street's travels on up in its fork entry). */
static void fork_case(int com_extra, int street_extra) {
  struct node com, street;
  node_init(&com, 3, "zhanhe/beidu/lanxin", "community");
  node_init(&street, 2, "zhanhe/beidu", "street");
  struct mem_store other;
  assert_int_equal(mem_store_init(&other, &com.id, com.office, "community", 1000), 0);
  assert_int_equal(mem_store_append(&other, 2000, (const uint8_t *)"B", 1), 0);
  for (int i = 0; i < street_extra; i++)
    assert_int_equal(mem_store_append(&other, 2001 + (uint64_t)i, (const uint8_t *)"B+", 2), 0);
  assert_int_equal(mem_store_copy_log(&street.st, &other, com.id.pk), 0);
  mem_store_release(&other);
  assert_int_equal(mem_store_append(&com.st, 2000, (const uint8_t *)"A", 1), 0);
  for (int i = 0; i < com_extra; i++)
    assert_int_equal(mem_store_append(&com.st, 2001 + (uint64_t)i, (const uint8_t *)"A+", 2), 0);
  struct conn c;
  conn_open(&c, &com, &street, DK_SYNC_ONCE, 0, 0);
  run(&c, 100);
  struct dk_sync_status sa, sb;
  status(c.a, &sa);
  status(c.b, &sb);
  assert_int_equal(sa.error, 0);
  assert_int_equal(sb.error, 0);
  assert_true(sa.done && sb.done);
  /* Each side saw it: by comparing heads, or by the proof it received. */
  assert_true(sa.stats.peer_forks + sa.stats.forks >= 1);
  assert_true(sb.stats.peer_forks + sb.stats.forks >= 1);
  assert_int_equal(street.st.forks_count, 1);
  assert_int_equal(com.st.forks_count, 1);
  assert_int_equal(street.st.forks[0].seq, 2);
  assert_int_equal(com.st.forks[0].seq, 2);
  /* Neither branch replaced the other. */
  assert_int_equal(mem_store_log(&street.st, com.id.pk)->count, 2 + (size_t)street_extra);
  assert_int_equal(mem_store_log(&com.st, com.id.pk)->count, 2 + (size_t)com_extra);
  conn_close(&c);
  node_release(&com);
  node_release(&street);
}

static void fork_equal_length(void **state) { fork_case(0, 0); }
static void fork_community_shorter(void **state) { fork_case(0, 2); }
static void fork_community_longer(void **state) { fork_case(2, 0); }

static void live_streaming(void **state) {
  struct node com, street, district;
  node_init(&com, 3, "zhanhe/beidu/lanxin", "community");
  node_init(&street, 2, "zhanhe/beidu", "street");
  node_init(&district, 1, "zhanhe", "district");
  struct conn low, up;
  conn_open(&low, &com, &street, DK_SYNC_LIVE, 0, 0);
  conn_open(&up, &street, &district, DK_SYNC_LIVE, 0, 0);
  for (int i = 0; i < 20; i++) {
    run(&low, 100);
    run(&up, 100);
    assert_int_equal(dk_sync_local_change(up.a), 0);
    assert_int_equal(dk_sync_local_change(low.b), 0);
  }
  struct dk_sync_status s1, s2;
  status(low.a, &s1);
  status(up.a, &s2);
  assert_true(s1.send_caught_up && s1.recv_caught_up && !s1.done);
  assert_true(s2.send_caught_up && s2.recv_caught_up);
  /* Nothing changed: a local change sends nothing. */
  uint64_t sent = low.ab.messages + low.ba.messages;
  assert_int_equal(dk_sync_local_change(low.a), 0);
  assert_int_equal(dk_sync_local_change(low.b), 0);
  assert_int_equal(low.ab.messages + low.ba.messages, sent);
  /* A new case at the community reaches the district through the street. */
  append_many(&com, 1);
  assert_int_equal(dk_sync_local_change(low.a), 0);
  for (int i = 0; i < 10; i++) {
    run(&low, 100);
    assert_int_equal(dk_sync_local_change(up.a), 0); /* the transport's job */
    run(&up, 100);
    assert_int_equal(dk_sync_local_change(low.b), 0);
  }
  assert_int_equal(mem_store_log(&district.st, com.id.pk)->count, 2);
  /* The street's witness of it went down to the community and up. */
  struct mem_log *sl = mem_store_log(&street.st, street.id.pk);
  print_message("street log %zu, com holds %zu, district holds %zu; witness calls %llu/%llu\n", sl->count,
                mem_store_log(&com.st, street.id.pk)->count, mem_store_log(&district.st, street.id.pk)->count,
                (unsigned long long)street.st.witness_calls, (unsigned long long)district.st.witness_calls);
  assert_true(sl->count >= 2);
  assert_int_equal(mem_store_log(&com.st, street.id.pk)->count, sl->count);
  assert_int_equal(mem_store_log(&district.st, street.id.pk)->count, sl->count);
  conn_close(&low);
  conn_close(&up);
  node_release(&com);
  node_release(&street);
  node_release(&district);
}

/* The receiver enforces the in-flight window: a sender that pushes a ninth
 * batch without having seen an ack for the first is refused before the
 * ninth is looked at, and so is one that claims acks never sent. */
static void window_enforced(void **state) {
  struct node com, street;
  node_init(&com, 3, "zhanhe/beidu/lanxin", "community");
  node_init(&street, 2, "zhanhe/beidu", "street");
  append_many(&com, 20);
  const struct mem_log *l = mem_store_log(&com.st, com.id.pk);
  struct conn c;
  struct dk_buf b;
  dk_buf_init(&b);

  /* Nine batches, one entry each, none of the street's acks read. */
  conn_open(&c, &com, &street, DK_SYNC_LIVE, 0, 0);
  run(&c, 1); /* hellos */
  q_clear(&c.ab);
  q_clear(&c.ba);
  for (uint64_t k = 0; k < DK_SYNC_WINDOW_BATCHES_MAX; k++) {
    dk_buf_reset(&b);
    pack_batch_at(&b, l, k, 1, k, 0);
    assert_int_equal(dk_sync_receive(c.b, b.data, b.len), 0);
  }
  uint64_t commits = street.st.commits;
  dk_buf_reset(&b);
  pack_batch_at(&b, l, DK_SYNC_WINDOW_BATCHES_MAX, 1, DK_SYNC_WINDOW_BATCHES_MAX, 0);
  assert_int_equal(dk_sync_receive(c.b, b.data, b.len), DK_EPROTO);
  assert_int_equal(street.st.commits, commits); /* nothing of the ninth stored */
  assert_int_equal(mem_store_log(&street.st, com.id.pk)->count, DK_SYNC_WINDOW_BATCHES_MAX);
  struct dk_sync_status st;
  status(c.b, &st);
  assert_int_equal(st.error, DK_EPROTO);
  conn_close(&c);

  /* Claiming an ack that was never sent. */
  conn_open(&c, &com, &street, DK_SYNC_LIVE, 0, 0);
  run(&c, 1);
  q_clear(&c.ab);
  q_clear(&c.ba);
  dk_buf_reset(&b);
  pack_batch_at(&b, l, DK_SYNC_WINDOW_BATCHES_MAX, 1, 0, 1);
  assert_int_equal(dk_sync_receive(c.b, b.data, b.len), DK_EPROTO);
  conn_close(&c);

  /* An honest sliding window of 8 passes, however long. */
  conn_open(&c, &com, &street, DK_SYNC_LIVE, 0, 0);
  run(&c, 1);
  q_clear(&c.ab);
  q_clear(&c.ba);
  for (uint64_t k = DK_SYNC_WINDOW_BATCHES_MAX; k < 21; k++) {
    uint64_t batch = k - DK_SYNC_WINDOW_BATCHES_MAX;
    uint64_t acked = batch >= DK_SYNC_WINDOW_BATCHES_MAX - 1 ? batch - (DK_SYNC_WINDOW_BATCHES_MAX - 1) : 0;
    dk_buf_reset(&b);
    pack_batch_at(&b, l, k, 1, batch, acked);
    assert_int_equal(dk_sync_receive(c.b, b.data, b.len), 0);
  }
  assert_int_equal(mem_store_log(&street.st, com.id.pk)->count, 21);
  conn_close(&c);
  dk_buf_release(&b);
  node_release(&com);
  node_release(&street);
}

/* Opens a live pair with keepalive at the limits' values, started at t. */
static void conn_open_keepalive(struct conn *c, struct node *a, struct node *b, uint64_t t) {
  memset(c, 0, sizeof(*c));
  struct dk_sync_config ca = config(a, b, DK_SYNC_LIVE), cb = config(b, a, DK_SYNC_LIVE);
  ca.keepalive_ms = cb.keepalive_ms = DK_SYNC_KEEPALIVE_MS;
  ca.silence_ms = cb.silence_ms = DK_SYNC_SILENCE_MS_MAX;
  assert_int_equal(dk_sync_new(&c->a, &ca, &a->iface, q_push, &c->ab), 0);
  assert_int_equal(dk_sync_new(&c->b, &cb, &b->iface, q_push, &c->ba), 0);
  assert_int_equal(dk_sync_start(c->a, t), 0);
  assert_int_equal(dk_sync_start(c->b, t), 0);
}

static uint64_t count_type(const struct queue *q, uint32_t want) {
  uint64_t n = 0;
  for (size_t i = 0; i < q->count; i++) {
    const struct msg *m = &q->items[(q->head + i) % 4096];
    uint32_t t = 0, v = 0;
    if (dk_msg_peek(m->data, m->len, &t, &v) == 0 && t == want)
      n++;
  }
  return n;
}

/* A live link with nothing to carry stays up on PINGs; a partition is
 * noticed by both sides within the silence bound, whoever spoke last, and
 * the sessions fail so that the connection is closed and redialled. Time is
 * the test's: one tick a second, as the transport's timer would. */
static void keepalive_and_silence(void **state) {
  struct node com, street;
  node_init(&com, 3, "zhanhe/beidu/lanxin", "community");
  node_init(&street, 2, "zhanhe/beidu", "street");
  append_many(&com, 3);
  struct conn c;
  uint64_t t = 1000000;
  conn_open_keepalive(&c, &com, &street, t);
  run(&c, 100);
  struct dk_sync_status sa, sb;
  status(c.a, &sa);
  assert_true(sa.send_caught_up && sa.recv_caught_up);
  /* Ten minutes of an idle, working link. */
  uint64_t pings = 0;
  for (int i = 0; i < 600; i++) {
    t += 1000;
    assert_int_equal(dk_sync_tick(c.a, t), 0);
    assert_int_equal(dk_sync_tick(c.b, t), 0);
    pings += count_type(&c.ab, DK_SYNC_MSG_PING) + count_type(&c.ba, DK_SYNC_MSG_PING);
    run(&c, 10);
  }
  assert_int_equal(c.rc_a, 0);
  assert_int_equal(c.rc_b, 0);
  /* One PING per side per keepalive interval, no more. */
  assert_true(pings >= 2 * (600000 / DK_SYNC_KEEPALIVE_MS) - 2);
  assert_true(pings <= 2 * (600000 / DK_SYNC_KEEPALIVE_MS) + 2);
  /* A case written just before the partition goes nowhere; neither side
   * hears anything after it. */
  append_many(&com, 1);
  assert_int_equal(dk_sync_local_change(c.a), 0);
  uint64_t cut_at = t;
  int rc_a = 0, rc_b = 0;
  uint64_t failed_a = 0, failed_b = 0;
  while (t < cut_at + 150000 && (!rc_a || !rc_b)) {
    t += 1000;
    q_clear(&c.ab); /* the partition: everything sent is lost */
    q_clear(&c.ba);
    if (!rc_a && (rc_a = dk_sync_tick(c.a, t)) != 0)
      failed_a = t;
    if (!rc_b && (rc_b = dk_sync_tick(c.b, t)) != 0)
      failed_b = t;
  }
  assert_int_equal(rc_a, DK_ETIMEDOUT);
  assert_int_equal(rc_b, DK_ETIMEDOUT);
  assert_true(failed_a - cut_at <= DK_SYNC_SILENCE_MS_MAX);
  assert_true(failed_b - cut_at <= DK_SYNC_SILENCE_MS_MAX);
  status(c.a, &sa);
  status(c.b, &sb);
  assert_int_equal(sa.error, DK_ETIMEDOUT);
  assert_int_equal(sb.error, DK_ETIMEDOUT);
  conn_close(&c);
  /* The redial: a new session sends what the cut one could not. */
  conn_open_keepalive(&c, &com, &street, t);
  run(&c, 100);
  assert_int_equal(mem_store_log(&street.st, com.id.pk)->count, 5);
  conn_close(&c);
  node_release(&com);
  node_release(&street);
}


/* This side's own long work (the street's indexer, run by the transport
 * between bursts, node/ingest/index.h) is not a dead link: the busy side
 * PINGs its peer between steps, and the time it spent busy is not counted as
 * the peer's silence. Time is the test's: six steps of 20 s each, while the
 * community ticks and hears the street, as it would on its own event loop.
 * Without dk_sync_busy the street gave up on the community after 45 s. */
static void long_local_work_keeps_the_link(void **state) {
  struct node com, street;
  node_init(&com, 3, "zhanhe/beidu/lanxin", "community");
  node_init(&street, 2, "zhanhe/beidu", "street");
  append_many(&com, 3);
  struct conn c;
  uint64_t t = 1000000;
  conn_open_keepalive(&c, &com, &street, t);
  run(&c, 100);
  uint64_t held = mem_store_log(&street.st, com.id.pk)->count;
  assert_true(held > 0);
  /* The community writes more, and its batch waits unread at the street
   * while the street works. */
  append_many(&com, 1);
  assert_int_equal(dk_sync_local_change(c.a), 0);
  for (int step = 0; step < 6; step++) {
    t += 20000;
    dk_sync_busy(c.b, 20000);
    /* Between steps the street's loop ticks (a PING goes out) ... */
    assert_int_equal(dk_sync_tick(c.b, t), 0);
    /* ... and the community hears it. */
    assert_int_equal(dk_sync_tick(c.a, t), 0);
    struct queue *q = &c.ba;
    while (q->count > 0) {
      struct msg *m = &q->items[q->head];
      assert_int_equal(dk_sync_receive(c.a, m->data, m->len), 0);
      free(m->data);
      q->head = (q->head + 1) % 4096;
      q->count--;
    }
  }
  assert_true(t - 1000000 > DK_SYNC_SILENCE_MS_MAX); /* longer than the bound */
  assert_true(c.ab.count > 0); /* the community's batch, still unread */
  run(&c, 100);
  assert_int_equal(c.rc_a, 0);
  assert_int_equal(c.rc_b, 0);
  assert_int_equal(mem_store_log(&street.st, com.id.pk)->count, held + 1);
  /* A real partition after it is still noticed within the bound. */
  uint64_t cut_at = t;
  int rc_b = 0;
  while (t < cut_at + 2 * DK_SYNC_SILENCE_MS_MAX && rc_b == 0) {
    t += 1000;
    q_clear(&c.ab);
    q_clear(&c.ba);
    rc_b = dk_sync_tick(c.b, t);
  }
  assert_int_equal(rc_b, DK_ETIMEDOUT);
  assert_true(t - cut_at <= DK_SYNC_SILENCE_MS_MAX);
  conn_close(&c);
  node_release(&com);
  node_release(&street);
}

/* A refusal reaches the refused side, in place of HELLO, with its reason;
 * its text is untrusted and reaches the session only as printable ASCII. */
static void refusal_reason(void **state) {
  struct node com, street;
  node_init(&com, 3, "zhanhe/beidu/lanxin", "community");
  node_init(&street, 2, "zhanhe/beidu", "street");
  struct conn c;
  conn_open(&c, &com, &street, DK_SYNC_LIVE, 0, 0);
  struct dk_buf b;
  dk_buf_init(&b);
  assert_int_equal(dk_sync_encode_refusal(DK_SYNC_REFUSED_NO_CERT,
                                          dk_sync_refusal_text(DK_SYNC_REFUSED_NO_CERT), &b),
                   0);
  assert_int_equal(dk_sync_receive(c.a, b.data, b.len), DK_ECERT);
  struct dk_sync_status st;
  status(c.a, &st);
  assert_int_equal(st.error, DK_ECERT);
  assert_int_equal(st.refusal_code, DK_SYNC_REFUSED_NO_CERT);
  assert_string_equal(st.refusal_text, dk_sync_refusal_text(DK_SYNC_REFUSED_NO_CERT));
  conn_close(&c);

  conn_open(&c, &com, &street, DK_SYNC_LIVE, 0, 0);
  run(&c, 1); /* after the hellos too */
  assert_int_equal(dk_sync_encode_refusal(DK_SYNC_REFUSED_SESSIONS, "\033[2Jtoo\nmany", &b), 0);
  assert_int_equal(dk_sync_receive(c.a, b.data, b.len), DK_EREFUSED);
  status(c.a, &st);
  assert_int_equal(st.refusal_code, DK_SYNC_REFUSED_SESSIONS);
  assert_string_equal(st.refusal_text, "?[2Jtoo?many");
  conn_close(&c);
  /* A reason at the limit cannot be encoded. */
  char longer[DK_NET_REASON_BYTES_MAX + 1];
  memset(longer, 'a', sizeof(longer) - 1);
  longer[sizeof(longer) - 1] = 0;
  assert_int_equal(dk_sync_encode_refusal(DK_SYNC_REFUSED_OTHER, longer, &b), DK_EINVAL);
  dk_buf_release(&b);
  node_release(&com);
  node_release(&street);
}

/* Another process appends a case while serve polls the change mark. LMDB
 * writes the commit's meta page (which the mark reads) before it publishes
 * the commit to new readers: a poll in that moment sees the new mark but
 * heads without the entry. The next poll, with the same mark and the entry
 * now visible, must still look again; the transport used to take the mark
 * as seen, and the case waited for the next write (33 s in one run). */
static void live_push_after_early_mark(void **state) {
  struct node com, street;
  node_init(&com, 3, "zhanhe/beidu/lanxin", "community");
  node_init(&street, 2, "zhanhe/beidu", "street");
  struct conn c;
  conn_open(&c, &com, &street, DK_SYNC_LIVE, 0, 0);
  run(&c, 100);
  assert_int_equal(mem_store_log(&street.st, com.id.pk)->count, 1);
  uint64_t mark = com.st.commits;
  assert_int_equal(dk_sync_poll(c.a, mark), 0); /* nothing changed */
  assert_int_equal(c.ab.count, 0);

  /* The commit: in the counter, not yet for readers. */
  append_many(&com, 1);
  com.st.unseen_tail = 1;
  mark = com.st.commits;
  assert_int_equal(dk_sync_poll(c.a, mark), 0);
  assert_int_equal(c.ab.count, 0); /* the heads did not show it yet */
  /* Now readers see it; no other commit follows. */
  com.st.unseen_tail = 0;
  assert_int_equal(dk_sync_poll(c.a, mark), 0);
  assert_true(c.ab.count > 0);
  run(&c, 100);
  assert_int_equal(mem_store_log(&street.st, com.id.pk)->count, 2);
  /* And once seen, the same mark costs nothing. */
  uint64_t sent = c.ab.messages;
  assert_int_equal(dk_sync_poll(c.a, mark), 0);
  assert_int_equal(c.ab.messages, sent);
  conn_close(&c);
  node_release(&com);
  node_release(&street);
}

/* The community's own log goes up and comes back down (to restore it). A
 * batch of several of its entries tells the street what the community
 * holds; once the street's own heads show them too, the two heads are
 * compared by id and must match: no fork. */
static void own_log_batch_is_no_fork(void **state) {
  struct node com, street;
  node_init(&com, 3, "zhanhe/beidu/lanxin", "community");
  node_init(&street, 2, "zhanhe/beidu", "street");
  struct conn c;
  conn_open(&c, &com, &street, DK_SYNC_LIVE, 0, 0);
  run(&c, 100);
  append_many(&com, 5);
  assert_int_equal(dk_sync_local_change(c.a), 0);
  run(&c, 100);
  assert_int_equal(mem_store_log(&street.st, com.id.pk)->count, 6);
  struct dk_sync_status sa, sb;
  status(c.b, &sb);
  uint64_t batches = sb.stats.batches_received;
  assert_true(batches >= 2); /* the office entry, then the five in one batch */
  /* The street's heads now show the five: compared with what the
   * community said it holds. */
  assert_int_equal(dk_sync_local_change(c.b), 0);
  run(&c, 100);
  status(c.a, &sa);
  status(c.b, &sb);
  assert_int_equal(sa.error, 0);
  assert_int_equal(sb.error, 0);
  assert_int_equal(sb.stats.peer_forks, 0);
  assert_int_equal(sa.stats.forks, 0);
  assert_false(mem_store_log(&street.st, com.id.pk)->forked);
  assert_false(mem_store_log(&com.st, com.id.pk)->forked);
  conn_close(&c);
  node_release(&com);
  node_release(&street);
}

/* ---------- vectors of docs/protocol-sync.md ---------- */

static void hex_eq(const uint8_t *p, size_t n, const char *want) {
  char *hex = malloc(2 * n + 1);
  dk_hex(p, n, hex);
  if (strcmp(hex, want) != 0)
    print_error("got  %s\nwant %s\n", hex, want);
  assert_string_equal(hex, want);
  free(hex);
}

struct fixed_store {
  struct dk_sync_head heads[2];
  const char *offices[2];
};

static int fixed_heads(void *ctx, int (*cb)(void *, const struct dk_sync_head *, const char *),
                       void *cbctx) {
  struct fixed_store *f = ctx;
  for (int i = 0; i < 2; i++) {
    int rc = cb(cbctx, &f->heads[i], f->offices[i]);
    if (rc != 0)
      return rc;
  }
  return 0;
}
static int fixed_head(void *ctx, const uint8_t log[DK_PK_BYTES], struct dk_sync_head *out) {
  return DK_EINVAL;
}
static int fixed_read(void *ctx, const uint8_t log[DK_PK_BYTES], uint64_t from, size_t max_entries,
                      size_t max_bytes, int (*cb)(void *, const struct dk_wire_entry *), void *c) {
  return DK_EINVAL;
}
static int fixed_ingest(void *ctx, const struct dk_wire_entry *e, size_t n,
                        struct dk_ingest_result *res) {
  return DK_EINVAL;
}
static int fixed_witness(void *ctx, const uint8_t log[DK_PK_BYTES]) { return DK_EINVAL; }

static void vectors(void **state) {
  /* The digest of no heads, and of two. */
  uint8_t d[DK_HASH_BYTES];
  dk_sync_digest(NULL, 0, d);
  hex_eq(d, 32, "00d108548eb7f3cb70aa35ed22da831c02cdd3abc42ec5e723a7f588483c3ffb");
  struct fixed_store f;
  memset(&f, 0, sizeof(f));
  memset(f.heads[0].log, 0x01, 32);
  f.heads[0].seq = 1;
  memset(f.heads[0].id, 0x02, 32);
  memset(f.heads[1].log, 0x03, 32);
  f.heads[1].seq = 300;
  memset(f.heads[1].id, 0x04, 32);
  f.offices[0] = "zhanhe";
  f.offices[1] = "zhanhe/beidu/lanxin";
  dk_sync_digest(&f.heads[1], 1, d);
  hex_eq(d, 32, "1c32597df6b7d16c9ee7487c9051d0853fc6647a4098a88d949a72d52474b6df");

  /* The street's HELLO to the district when it holds those two logs: the
   * lanxin log goes up (send digest), the district's comes down (receive). */
  struct dk_sync_store st = {&f, fixed_heads, fixed_head, fixed_read, fixed_ingest, fixed_witness, NULL};
  struct dk_sync_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  memset(cfg.my_pk, 0x0a, 32);
  memset(cfg.peer_pk, 0x0b, 32);
  cfg.my_office = "zhanhe/beidu";
  cfg.peer_office = "zhanhe";
  cfg.mode = DK_SYNC_ONCE;
  struct queue q = {0};
  struct dk_sync *s;
  assert_int_equal(dk_sync_new(&s, &cfg, &st, q_push, &q), 0);
  assert_int_equal(dk_sync_start(s, 0), 0);
  assert_int_equal(q.count, 1);
  hex_eq(q.items[q.head].data, q.items[q.head].len, "980101ac7a68616e68652f6265696475a67a68616e6865c4201c32597df6b7d16c9ee7487c9051d0853fc6647a4098a88d949a72d52474b6dfc4206c000b2bf4dfc65d5a891b9f41c680a2c6e1eb6c33055028fb910eab9d4689340101");
  dk_sync_free(s);
  q_clear(&q);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(vectors),
      cmocka_unit_test(version_refusal),
      cmocka_unit_test(scope_refusal),
      cmocka_unit_test(corrupted_batch),
      cmocka_unit_test(store_failure_stops),
      cmocka_unit_test(fork_detected),
      cmocka_unit_test(fork_equal_length),
      cmocka_unit_test(fork_community_shorter),
      cmocka_unit_test(fork_community_longer),
      cmocka_unit_test(long_catch_up),
      cmocka_unit_test(resume_after_cut),
      cmocka_unit_test(live_streaming),
      cmocka_unit_test(window_enforced),
      cmocka_unit_test(live_push_after_early_mark),
      cmocka_unit_test(own_log_batch_is_no_fork),
      cmocka_unit_test(keepalive_and_silence),
      cmocka_unit_test(long_local_work_keeps_the_link),
      cmocka_unit_test(refusal_reason),
      cmocka_unit_test(idle_many_logs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
