#include "tests/sim/sim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/mp.h"
#include "replication/sync.h"
#include "tests/sim/mem_store.h"

/* Sizes of one run: small, so that a thousand seeds take seconds. */
#define NODES 5
#define LINKS 4
#define FAULT_STEPS 400
#define HEAL_STEPS_MAX 60000
#define QUEUE_MAX 256
#define DELAY_MS_MAX 30

static const char *const OFFICES[NODES] = {"zhanhe", "zhanhe/beidu", "zhanhe/beidu/lanxin",
                                           "zhanhe/beidu/xinhe", "zhanhe/nanhu"};
static const char *const ROLES[NODES] = {"district", "street", "community", "community", "street"};
/* child, parent */
static const int LINK_NODES[LINKS][2] = {{2, 1}, {3, 1}, {1, 0}, {4, 0}};

/* splitmix64: small, fast, and every seed gives a full-period stream. */
struct prng {
  uint64_t s;
};
static uint64_t next(struct prng *r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static uint64_t below(struct prng *r, uint64_t n) { return n ? next(r) % n : 0; }
static int chance(struct prng *r, unsigned per_mille) { return below(r, 1000) < per_mille; }

struct qmsg {
  uint8_t *data;
  size_t len;
  uint64_t at_ms; /* delivery time */
};

/* One direction of one connection: a FIFO, as TCP is. */
struct queue {
  struct qmsg items[QUEUE_MAX];
  size_t head, count;
  uint64_t last_at_ms;
  struct sim *sim;
  int overflow;
};

struct link {
  int up;
  uint64_t partitioned_until_ms;
  struct dk_sync *s[2]; /* [0] the child's session, [1] the parent's */
  struct queue q[2];    /* q[i]: messages sent by s[i] */
  size_t window;
  enum dk_sync_mode mode;
};

struct node {
  struct dk_identity id;
  struct mem_store st;
  struct dk_sync_store iface;
  uint64_t down_until_ms;
};

struct sim {
  struct prng rng;
  uint64_t now_ms;
  int faults; /* still in the fault phase */
  struct node nodes[NODES];
  struct link links[LINKS];
  struct sim_result *res;
};

static int failf(struct sim *s, const char *fmt, ...) {
  if (!s->res->failed) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->res->why, sizeof(s->res->why), fmt, ap);
    va_end(ap);
    s->res->failed = 1;
  }
  return DK_EPROTO;
}

static int q_push(void *ctx, const uint8_t *m, size_t len) {
  struct queue *q = ctx;
  struct sim *s = q->sim;
  if (q->count == QUEUE_MAX) {
    q->overflow = 1; /* more queued than any window allows: a bug */
    return DK_ELIMIT;
  }
  struct qmsg *x = &q->items[(q->head + q->count) % QUEUE_MAX];
  x->data = malloc(len ? len : 1);
  if (x->data == NULL)
    return DK_ENOMEM;
  memcpy(x->data, m, len);
  x->len = len;
  uint64_t at = s->now_ms + 1 + below(&s->rng, DELAY_MS_MAX);
  if (at < q->last_at_ms)
    at = q->last_at_ms; /* in order within a connection */
  x->at_ms = q->last_at_ms = at;
  q->count++;
  s->res->messages++;
  return 0;
}

static void q_clear(struct queue *q) {
  while (q->count) {
    free(q->items[q->head].data);
    q->head = (q->head + 1) % QUEUE_MAX;
    q->count--;
  }
  q->head = 0;
  q->last_at_ms = 0;
}

static int check_window(struct sim *s, struct link *l) {
  for (int i = 0; i < 2; i++) {
    if (l->s[i] == NULL)
      continue;
    struct dk_sync_status st;
    dk_sync_status(l->s[i], &st);
    if (st.stats.batches_in_flight_max > l->window)
      return failf(s, "a session had %zu batches in flight, window %zu",
                   st.stats.batches_in_flight_max, l->window);
    if (l->q[i].overflow)
      return failf(s, "a session queued more than %d messages", QUEUE_MAX);
  }
  return 0;
}

/* Drops the connection: both sessions and whatever was in flight. */
static int cut(struct sim *s, struct link *l) {
  int rc = 0;
  if (!l->up)
    return 0;
  rc = check_window(s, l);
  for (int i = 0; i < 2; i++) {
    dk_sync_free(l->s[i]);
    l->s[i] = NULL;
    q_clear(&l->q[i]);
  }
  l->up = 0;
  s->res->cuts++;
  return rc;
}

static int connect_link(struct sim *s, struct link *l, enum dk_sync_mode mode) {
  int li = (int)(l - s->links);
  int rc = 0;
  l->window = 1 + below(&s->rng, 4);
  l->mode = mode;
  size_t batch_entries = 1 + below(&s->rng, 8);
  for (int i = 0; i < 2; i++) {
    struct node *me = &s->nodes[LINK_NODES[li][i]];
    struct node *peer = &s->nodes[LINK_NODES[li][1 - i]];
    struct dk_sync_config c;
    memset(&c, 0, sizeof(c));
    memcpy(c.my_pk, me->id.pk, DK_PK_BYTES);
    memcpy(c.peer_pk, peer->id.pk, DK_PK_BYTES);
    c.my_office = me->st.office;
    c.peer_office = peer->st.office;
    c.mode = mode;
    c.window_batches = l->window;
    c.batch_entries = batch_entries;
    c.timeout_ms = 5000;
    l->q[i].sim = s;
    l->q[i].overflow = 0;
    rc = dk_sync_new(&l->s[i], &c, &me->iface, q_push, &l->q[i]);
    if (rc != 0)
      return failf(s, "dk_sync_new: %s", dk_strerror(rc));
  }
  l->up = 1;
  s->res->sessions += 2;
  /* Either side may speak first. */
  int first = (int)below(&s->rng, 2);
  for (int k = 0; k < 2 && rc == 0; k++)
    rc = dk_sync_start(l->s[(first + k) % 2], s->now_ms);
  if (rc != 0)
    return failf(s, "dk_sync_start: %s", dk_strerror(rc));
  return 0;
}

/* The transport's duty: after node n's store changed, the other sessions of
 * n look again. */
static int notify(struct sim *s, int n, struct dk_sync *except) {
  for (int li = 0; li < LINKS; li++) {
    struct link *l = &s->links[li];
    if (!l->up)
      continue;
    for (int i = 0; i < 2; i++) {
      if (LINK_NODES[li][i] != n || l->s[i] == except)
        continue;
      int rc = dk_sync_local_change(l->s[i]);
      if (rc != 0) {
        if (!s->faults)
          return failf(s, "local_change failed after the faults: %s", dk_strerror(rc));
        return cut(s, l);
      }
    }
  }
  return 0;
}

/* Flips one bit of one entry field of a BATCH, as a malicious peer would
 * send it (the frame itself is authentic). Returns 1 when it did. */
static int tamper(struct sim *s, struct qmsg *m) {
  msgpack_unpacked u;
  if (dk_mp_parse(m->data, m->len, &u) != 0)
    return 0;
  int done = 0;
  const msgpack_object *o = &u.data;
  if (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 6 &&
      o->via.array.ptr[1].via.u64 == DK_SYNC_MSG_BATCH &&
      o->via.array.ptr[4].type == MSGPACK_OBJECT_ARRAY && o->via.array.ptr[4].via.array.size > 0) {
    const msgpack_object_array *a = &o->via.array.ptr[4].via.array;
    const msgpack_object *e = &a->ptr[below(&s->rng, a->size)];
    const msgpack_object *f = &e->via.array.ptr[below(&s->rng, 3)];
    if (f->type == MSGPACK_OBJECT_BIN && f->via.bin.size > 0) {
      const uint8_t *p = (const uint8_t *)f->via.bin.ptr;
      if (p >= m->data && p + f->via.bin.size <= m->data + m->len) {
        size_t off = (size_t)(p - m->data) + below(&s->rng, f->via.bin.size);
        m->data[off] ^= (uint8_t)(1u << below(&s->rng, 8));
        done = 1;
      }
    }
  }
  msgpack_unpacked_destroy(&u);
  return done;
}

static int refused_as_invalid(int rc) {
  return rc == DK_EBADSIG || rc == DK_EBADLINK || rc == DK_EBADBODY || rc == DK_EFORMAT ||
         rc == DK_ETIME || rc == DK_ESCOPE || rc == DK_EBADID || rc == DK_EVERSION ||
         rc == DK_ELIMIT;
}

/* Delivers what is due on link l, in order. */
static int deliver(struct sim *s, struct link *l) {
  int li = (int)(l - s->links);
  for (int i = 0; i < 2 && l->up; i++) {
    struct queue *q = &l->q[i];
    int to = 1 - i;
    int n = LINK_NODES[li][to];
    while (l->up && q->count && q->items[q->head].at_ms <= s->now_ms) {
      if (s->faults && chance(&s->rng, 3))
        return cut(s, l); /* cut before this message */
      struct qmsg *m = &q->items[q->head];
      int tampered = s->faults && chance(&s->rng, 15) && tamper(s, m);
      struct mem_store *st = &s->nodes[n].st;
      uint64_t commits = st->commits, entries = st->entries_total;
      int rc = dk_sync_receive(l->s[to], m->data, m->len);
      free(m->data);
      q->head = (q->head + 1) % QUEUE_MAX;
      q->count--;
      if (tampered) {
        s->res->tampered++;
        if (rc == 0)
          return failf(s, "a corrupted batch was accepted (node %s)", OFFICES[n]);
        if (!refused_as_invalid(rc))
          return failf(s, "a corrupted batch was refused with %s", dk_errname(rc));
        if (st->commits != commits || st->entries_total != entries)
          return failf(s, "a corrupted batch changed the store of %s", OFFICES[n]);
        return cut(s, l);
      }
      if (rc != 0) {
        /* Honest peers: only a timeout can fail a session. */
        if (rc != DK_ETIMEDOUT)
          return failf(s, "%s -> %s: receive failed: %s", OFFICES[LINK_NODES[li][i]], OFFICES[n],
                       dk_errname(rc));
        return cut(s, l);
      }
      if (st->commits != commits) {
        int nrc = notify(s, n, l->s[to]);
        if (nrc != 0 || s->res->failed)
          return nrc;
      }
      if (s->faults && chance(&s->rng, 2)) {
        /* The receiver crashes right after this message. */
        s->nodes[n].down_until_ms = s->now_ms + 20 + below(&s->rng, 300);
        s->res->crashes++;
        for (int k = 0; k < LINKS; k++)
          if (LINK_NODES[k][0] == n || LINK_NODES[k][1] == n) {
            int crc = cut(s, &s->links[k]);
            if (crc != 0)
              return crc;
          }
        return 0;
      }
    }
    if (l->up && l->mode == DK_SYNC_ONCE) {
      struct dk_sync_status a, b;
      dk_sync_status(l->s[0], &a);
      dk_sync_status(l->s[1], &b);
      if (a.done && b.done && l->q[0].count == 0 && l->q[1].count == 0)
        return cut(s, l); /* docket sync finished: close */
    }
  }
  return 0;
}

static int node_up(const struct sim *s, int n) { return s->nodes[n].down_until_ms <= s->now_ms; }

static int append(struct sim *s, int n) {
  uint8_t body[64];
  size_t len = below(&s->rng, sizeof(body));
  for (size_t i = 0; i < len; i++)
    body[i] = (uint8_t)next(&s->rng);
  int rc = mem_store_append(&s->nodes[n].st, s->now_ms, body, len);
  if (rc != 0)
    return failf(s, "append: %s", dk_strerror(rc));
  s->res->appends++;
  return notify(s, n, NULL);
}

static int fault_step(struct sim *s) {
  uint64_t r = below(&s->rng, 1000);
  int n = (int)below(&s->rng, NODES);
  struct link *l = &s->links[below(&s->rng, LINKS)];
  int li = (int)(l - s->links);
  if (r < 120) {
    if (node_up(s, n))
      return append(s, n);
  } else if (r < 135) {
    return cut(s, l);
  } else if (r < 145) {
    l->partitioned_until_ms = s->now_ms + 50 + below(&s->rng, 500);
    s->res->partitions++;
    return cut(s, l);
  } else if (r < 152) {
    s->nodes[n].down_until_ms = s->now_ms + 20 + below(&s->rng, 300);
    s->res->crashes++;
    for (int k = 0; k < LINKS; k++)
      if (LINK_NODES[k][0] == n || LINK_NODES[k][1] == n) {
        int rc = cut(s, &s->links[k]);
        if (rc != 0)
          return rc;
      }
  } else if (r < 300) {
    if (!l->up && l->partitioned_until_ms <= s->now_ms && node_up(s, LINK_NODES[li][0]) &&
        node_up(s, LINK_NODES[li][1]))
      return connect_link(s, l, chance(&s->rng, 300) ? DK_SYNC_ONCE : DK_SYNC_LIVE);
  }
  return 0;
}

static int tick_all(struct sim *s) {
  for (int li = 0; li < LINKS; li++) {
    struct link *l = &s->links[li];
    for (int i = 0; i < 2 && l->up; i++) {
      int rc = dk_sync_tick(l->s[i], s->now_ms);
      if (rc != 0) {
        if (!s->faults) {
          struct dk_sync_status a, b;
          dk_sync_status(l->s[i], &a);
          dk_sync_status(l->s[1 - i], &b);
          return failf(s,
                       "the session of %s with %s timed out after the faults (%s): mode %d, "
                       "hello %d/%d, caught up send %d/%d recv %d/%d, in flight %zu/%zu, "
                       "queued %zu/%zu",
                       OFFICES[LINK_NODES[li][i]], OFFICES[LINK_NODES[li][1 - i]], dk_errname(rc),
                       (int)l->mode, a.hello_received, b.hello_received, a.send_caught_up,
                       b.send_caught_up, a.recv_caught_up, b.recv_caught_up,
                       a.stats.batches_in_flight, b.stats.batches_in_flight, l->q[i].count,
                       l->q[1 - i].count);
        }
        rc = cut(s, l);
        if (rc != 0)
          return rc;
      }
    }
  }
  return 0;
}

static int quiescent(struct sim *s) {
  for (int li = 0; li < LINKS; li++) {
    struct link *l = &s->links[li];
    if (!l->up || l->q[0].count || l->q[1].count)
      return 0;
    for (int i = 0; i < 2; i++) {
      struct dk_sync_status st;
      dk_sync_status(l->s[i], &st);
      if (!st.send_caught_up || !st.recv_caught_up)
        return 0;
    }
  }
  return 1;
}

static int in_scope(const char *node_office, const char *log_office) {
  return dk_office_covers(node_office, log_office) || dk_office_covers(log_office, node_office);
}

static int check_final(struct sim *s) {
  for (int n = 0; n < NODES; n++) {
    struct mem_store *st = &s->nodes[n].st;
    if (st->forks_count != 0)
      return failf(s, "%s holds a fork proof", OFFICES[n]);
    if (st->logs_count > NODES)
      return failf(s, "%s holds %zu logs", OFFICES[n], st->logs_count);
    /* The author's own log was signed here; copies must be its very bytes. */
    for (int a = 0; a < NODES; a++) {
      struct mem_log *truth = mem_store_log(&s->nodes[a].st, s->nodes[a].id.pk);
      struct mem_log *copy = mem_store_log(st, s->nodes[a].id.pk);
      if (!in_scope(OFFICES[n], OFFICES[a])) {
        if (copy != NULL)
          return failf(s, "%s holds the log of %s, out of its scope", OFFICES[n], OFFICES[a]);
        continue;
      }
      if (copy == NULL)
        return failf(s, "%s lacks the log of %s", OFFICES[n], OFFICES[a]);
      if (copy->count != truth->count)
        return failf(s, "%s holds %zu entries of %s, which has %zu", OFFICES[n], copy->count,
                     OFFICES[a], truth->count);
      for (size_t k = 0; k < copy->count; k++) {
        const struct mem_entry *x = &copy->entries[k], *y = &truth->entries[k];
        if (memcmp(x->id, y->id, DK_HASH_BYTES) != 0 || x->header_len != y->header_len ||
            memcmp(x->header, y->header, x->header_len) != 0 ||
            memcmp(x->sig, y->sig, DK_SIG_BYTES) != 0 || x->body_len != y->body_len ||
            (x->body_len && memcmp(x->body, y->body, x->body_len) != 0))
          return failf(s, "%s: entry %zu of %s differs from its author's", OFFICES[n], k + 1,
                       OFFICES[a]);
      }
      if (strcmp(copy->office, OFFICES[a]) != 0)
        return failf(s, "%s files the log of %s under %s", OFFICES[n], OFFICES[a], copy->office);
    }
    /* Every entry held verifies: encoding, ids, links, bodies, signatures. */
    int rc = mem_store_verify_all(st, NULL);
    if (rc != 0)
      return failf(s, "%s holds an entry that does not verify: %s", OFFICES[n], dk_errname(rc));
    s->res->entries_final += st->entries_total;
  }
  return 0;
}

int sim_run(uint64_t seed, struct sim_result *result) {
  int rc = 0;
  struct sim *s = calloc(1, sizeof(*s));
  memset(result, 0, sizeof(*result));
  if (s == NULL)
    return DK_ENOMEM;
  s->res = result;
  s->rng.s = seed;
  s->now_ms = 1000;
  s->faults = 1;
  int inited = 0;
  for (; inited < NODES; inited++) {
    uint8_t key[DK_SEED_BYTES];
    for (int k = 0; k < DK_SEED_BYTES; k += 8) {
      uint64_t v = next(&s->rng);
      memcpy(key + k, &v, 8);
    }
    struct node *n = &s->nodes[inited];
    if ((rc = dk_identity_from_seed(&n->id, key)) != 0)
      goto out;
    if ((rc = mem_store_init(&n->st, &n->id, OFFICES[inited], ROLES[inited], s->now_ms)) != 0) {
      dk_identity_release(&n->id);
      goto out;
    }
    mem_store_iface(&n->st, &n->iface);
  }

  /* The fault phase. */
  for (uint64_t step = 0; step < FAULT_STEPS && rc == 0 && !result->failed; step++) {
    s->now_ms += 1 + below(&s->rng, 10);
    rc = fault_step(s);
    for (int li = 0; li < LINKS && rc == 0 && !result->failed; li++)
      rc = deliver(s, &s->links[li]);
    if (rc == 0)
      rc = tick_all(s);
    result->steps++;
  }
  if (rc != 0 || result->failed)
    goto out;

  /* Heal: no more faults; every node up, every link connected and live. */
  s->faults = 0;
  for (int n = 0; n < NODES; n++)
    s->nodes[n].down_until_ms = 0;
  uint64_t heal = 0;
  for (; heal < HEAL_STEPS_MAX && rc == 0 && !result->failed; heal++) {
    s->now_ms += 1 + below(&s->rng, 10);
    for (int li = 0; li < LINKS && rc == 0; li++) {
      struct link *l = &s->links[li];
      l->partitioned_until_ms = 0;
      if (!l->up)
        rc = connect_link(s, l, DK_SYNC_LIVE);
    }
    for (int li = 0; li < LINKS && rc == 0 && !result->failed; li++)
      rc = deliver(s, &s->links[li]);
    if (rc == 0)
      rc = tick_all(s);
    result->steps++;
    if (rc == 0 && !result->failed && quiescent(s))
      break;
  }
  if (rc != 0 || result->failed)
    goto out;
  if (heal == HEAL_STEPS_MAX) {
    rc = failf(s, "no quiescence after %d steps of healing", HEAL_STEPS_MAX);
    goto out;
  }
  for (int li = 0; li < LINKS && rc == 0; li++) {
    rc = check_window(s, &s->links[li]);
    for (int i = 0; i < 2; i++) {
      struct dk_sync_status st;
      dk_sync_status(s->links[li].s[i], &st);
      result->witnesses += st.stats.witnesses;
    }
  }
  if (rc == 0)
    rc = check_final(s);

out:
  for (int li = 0; li < LINKS; li++) {
    struct link *l = &s->links[li];
    for (int i = 0; i < 2; i++) {
      dk_sync_free(l->s[i]);
      q_clear(&l->q[i]);
    }
  }
  for (int n = 0; n < inited; n++) {
    mem_store_release(&s->nodes[n].st);
    dk_identity_release(&s->nodes[n].id);
  }
  free(s);
  if (result->failed && rc == 0)
    rc = DK_EPROTO;
  return rc;
}
