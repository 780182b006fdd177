/*
 * Bulk loads (ledger imports): many cases in group commits, with signing
 * pipelined on a second thread.
 *
 * Every entry of a log names the id of the one before it, and an id covers
 * the signature, so a log's signatures are made one after another. All the
 * rest (encoding and encrypting bodies, storing entries, folding the case
 * states) runs on the caller's thread while the signer works: the caller
 * hands the signer the fields of the next header (all but seq and prev,
 * which the signer chains itself), goes on preparing the next bodies, and
 * stores the signed entries in order as they come back.
 *
 * An event names the ids of the case events before it (deps), so it cannot
 * be prepared before its case's previous event is signed. The cases of a
 * batch are therefore interleaved in the log, a group at a time: the first
 * event of each case of the group, then the second, and so on. Each case's
 * events stay in order; the signer always has work while each case waits
 * for its own id.
 *
 * The signer thread lives for one commit (one dk_store_write callback) and
 * touches nothing but its ring of jobs and the identity. Jobs are handed
 * over through two counters with acquire/release ordering.
 */
#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/fault.h"
#include "node/cases/cases_int.h"
#include "node/log/log.h"
#include "node/node_int.h"
#include "node/trust/trust_int.h"

/* Entries in flight between the two threads. */
#define RING 128

struct job {
  /* in: filled by the caller's thread before it publishes the job */
  uint64_t type, ts_ms, body_bytes;
  int has_case;
  uint8_t case_id[DK_HASH_BYTES];
  uint8_t body_hash[DK_HASH_BYTES];
  /* out: filled by the signer before it publishes the result */
  struct dk_entry e;
  int rc;
};

struct signer {
  pthread_t thread;
  const struct dk_identity *id;
  uint64_t next_seq;
  int has_prev;
  uint8_t prev[DK_HASH_BYTES];
  struct job ring[RING];
  _Atomic size_t submitted; /* jobs published by the caller */
  _Atomic size_t done;      /* jobs signed */
  _Atomic int stop;
};

static void wait_pause(int *spins) {
  if (++*spins < 64)
    return;
  *spins = 0;
  sched_yield(); /* two cores, two threads: yield rather than burn */
}

static void *signer_main(void *arg) {
  struct signer *s = arg;
  size_t i = 0;
  for (;;) {
    int spins = 0;
    while (atomic_load_explicit(&s->submitted, memory_order_acquire) == i) {
      if (atomic_load_explicit(&s->stop, memory_order_acquire))
        return NULL;
      wait_pause(&spins);
    }
    struct job *j = &s->ring[i % RING];
    struct dk_header h;
    memset(&h, 0, sizeof(h));
    h.version = DK_ENTRY_VERSION;
    memcpy(h.log, s->id->pk, DK_PK_BYTES);
    h.seq = s->next_seq;
    h.has_prev = s->has_prev;
    memcpy(h.prev, s->prev, DK_HASH_BYTES);
    h.ts_ms = j->ts_ms;
    h.type = j->type;
    h.has_case = j->has_case;
    memcpy(h.case_id, j->case_id, DK_HASH_BYTES);
    h.body_bytes = j->body_bytes;
    memcpy(h.body_hash, j->body_hash, DK_HASH_BYTES);
    j->rc = dk_entry_seal(&j->e, &h, s->id);
    if (j->rc == 0) {
      memcpy(s->prev, j->e.id, DK_HASH_BYTES);
      s->has_prev = 1;
      s->next_seq++;
    }
    i++;
    atomic_store_explicit(&s->done, i, memory_order_release);
  }
}

struct step {
  uint32_t plan; /* index in the batch */
  uint32_t event;
};

struct bulk_ctx {
  dk_node *n;
  struct dk_case_plan *plans;
  size_t first, last; /* plans [first, last) go into this commit */
  uint8_t **keys;     /* per plan, made before the commit */
  struct dk_grant (*grants)[DK_READERS_MAX];
  size_t *grants_count;
  size_t entries;
  size_t bad; /* out: the plan refused, on DK_ENUMBER */
};

/* Sets ev->deps to the case's frontier (the newest DK_DEPS_MAX of it). */
static int set_deps(struct dk_event *ev, const struct dk_case_state *s) {
  free(ev->deps);
  ev->deps = NULL;
  ev->deps_count = 0;
  size_t nd = s->frontier_count > DK_DEPS_MAX ? DK_DEPS_MAX : s->frontier_count;
  if (nd == 0)
    return 0;
  ev->deps = malloc(nd * DK_CASE_ID_BYTES);
  if (ev->deps == NULL)
    return DK_ENOMEM;
  memcpy(ev->deps, s->frontier + (s->frontier_count - nd), nd * DK_CASE_ID_BYTES);
  ev->deps_count = nd;
  return 0;
}

/* Is the case that holds open's number (given, and found taken) the case
 * open describes? A ledger row re-imported is: same kind, same opening
 * time and same summary. */
static int same_case(dk_node *n, struct dk_txn *t, const struct dk_event *open, int *same) {
  uint8_t nk[DK_HASH_BYTES];
  const uint8_t *v;
  size_t vlen;
  *same = 0;
  dk__number_key(n, open->number, nk);
  int rc = dk_txn_get(t, DK_T_NUMBERS, nk, sizeof(nk), &v, &vlen);
  if (rc != 0)
    return rc;
  if (vlen != DK_HASH_BYTES)
    return DK_EFORMAT;
  uint8_t id[DK_HASH_BYTES];
  memcpy(id, v, DK_HASH_BYTES);
  struct dk_case_state s;
  dk_case_state_init(&s);
  rc = dk__case_state_load(n, t, id, &s);
  if (rc == DK_ENOKEY || rc == DK_ENOTFOUND) {
    rc = 0; /* a case this node cannot read is not this row's */
  } else if (rc == 0) {
    *same = s.opened && s.kind == open->kind && s.opened_at_ms == open->at_ms &&
            strcmp(s.summary ? s.summary : "", open->text ? open->text : "") == 0;
  }
  dk_case_state_release(&s);
  return rc;
}

/* The index of another plan of the batch, not skipped, whose number is
 * numbers[i] (count when there is none). Only plans that already hold a
 * number (a given one, or one assigned before i) are compared. */
static size_t taken_in_batch(char (*numbers)[DK_CASE_NUMBER_BYTES], size_t count, size_t i,
                             const struct dk_case_plan *plans) {
  for (size_t k = 0; k < count; k++)
    if (k != i && numbers[k][0] && !plans[k].skipped && strcmp(numbers[k], numbers[i]) == 0)
      return k;
  return count;
}

int dk_node_plan_number(dk_node *n, const struct dk_case_plan *p, int *present) {
  *present = 0;
  if (p->events_count == 0)
    return DK_EINVAL;
  const struct dk_event *open = &p->events[0];
  if (open->number == NULL || open->number[0] == 0)
    return 0;
  if (strlen(open->number) >= DK_CASE_NUMBER_BYTES)
    return DK_ELIMIT;
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  rc = same_case(n, &t, open, present);
  if (rc == 0 && !*present)
    rc = DK_ENUMBER;
  else if (rc == DK_ENOTFOUND)
    rc = 0;
  dk_store_read_end(&t);
  return rc;
}

static int bulk_fn(struct dk_txn *t, void *arg) {
  struct bulk_ctx *c = arg;
  dk_node *n = c->n;
  size_t count = c->last - c->first;
  char(*numbers)[DK_CASE_NUMBER_BYTES] = calloc(count, DK_CASE_NUMBER_BYTES);
  char **given = calloc(count, sizeof(char *));
  char **office = calloc(count, sizeof(char *));
  struct dk_case_state *states = calloc(count, sizeof(*states));
  size_t *applied = calloc(count, sizeof(size_t));
  char *reached = calloc(count, 1);
  struct step *order = NULL;
  struct signer *sg = calloc(1, sizeof(*sg));
  struct dk_buf *bodies = calloc(RING, sizeof(struct dk_buf));
  struct dk_buf *pt = &n->scratch_event;
  int started = 0, rc = 0;
  size_t total = 0;
  c->entries = 0;
  /* Every entry of the load is appended by one writer: one run record and
   * one head write per commit. */
  struct dk_log_writer w;
  dk_log_writer_init(&w);
  uint64_t first_pos = 0;
  if (!numbers || !given || !office || !states || !applied || !reached || !sg || !bodies) {
    rc = DK_ENOMEM;
    goto out;
  }
  rc = dk_log_end(t, &first_pos);
  if (rc != 0)
    goto out;
  for (size_t i = 0; i < count; i++)
    dk_case_state_init(&states[i]);

  /* Numbers first. A case whose number is here already was loaded before
   * and is skipped (so a cut import can be rerun); a number held by a
   * different case, or given twice in the batch, is refused. Given numbers
   * go before assigned ones, so that the counter is past every given number
   * before a blank one is filled in. */
  size_t longest = 0;
  for (int pass = 0; pass < 2 && rc == 0; pass++)
    for (size_t i = 0; i < count && rc == 0; i++) {
      struct dk_case_plan *p = &c->plans[c->first + i];
      struct dk_event *open = &p->events[0];
      int blank = open->number == NULL || open->number[0] == 0;
      if (blank != (pass == 1))
        continue;
      given[i] = open->number;
      office[i] = open->office;
      reached[i] = 1;
      open->office = n->cfg.office;
      p->skipped = 0;
      for (;;) {
        rc = dk__assign_number(n, t, open, numbers[i]);
        if (rc == DK_EEXIST) {
          int same = 0;
          rc = same_case(n, t, open, &same);
          if (rc == 0 && !same)
            rc = DK_ENUMBER;
          if (rc == 0)
            p->skipped = 1;
        }
        if (rc != 0 || p->skipped)
          break;
        /* dk__assign_number wrote the number into numbers[i] (a given one
         * too, checked to fit) */
        open->number = numbers[i];
        size_t dup = taken_in_batch(numbers, count, i, c->plans + c->first);
        if (dup == count)
          break;
        if (!blank) {
          rc = DK_ENUMBER;
          break;
        }
        open->number = given[i]; /* blank again: take the next one */
      }
      if (rc != 0) {
        c->bad = c->first + i;
        break;
      }
      if (p->skipped)
        continue;
      total += p->events_count;
      if (p->events_count > longest)
        longest = p->events_count;
    }
  if (rc != 0)
    goto out;
  order = malloc(sizeof(*order) * (total ? total : 1));
  if (order == NULL) {
    rc = DK_ENOMEM;
    goto out;
  }
  /* Interleave a few cases at a time, not the whole batch: enough
   * independent chains to keep the signer busy, while each case's events
   * stay close together in the log, so a node that replicates the log later
   * finds a case's events in one batch and folds it once. */
  size_t k = 0;
  for (size_t g = 0; g < count; g += DK_BULK_INTERLEAVE_CASES) {
    size_t end = g + DK_BULK_INTERLEAVE_CASES < count ? g + DK_BULK_INTERLEAVE_CASES : count;
    for (size_t j = 0; j < longest; j++)
      for (size_t i = g; i < end; i++) {
        struct dk_case_plan *p = &c->plans[c->first + i];
        if (!p->skipped && j < p->events_count)
          order[k++] = (struct step){(uint32_t)i, (uint32_t)j};
      }
  }

  struct dk_head head;
  rc = dk_log_head(t, n->pk, &head);
  if (rc != 0)
    goto out;
  uint64_t now = dk_node_now(n);
  uint64_t ts = now > head.ts_ms ? now : head.ts_ms;
  sg->id = &n->id;
  sg->next_seq = head.seq + 1;
  sg->has_prev = head.seq > 0;
  memcpy(sg->prev, head.id, DK_HASH_BYTES);
  if (total > 0) {
    if (pthread_create(&sg->thread, NULL, signer_main, sg) != 0) {
      rc = DK_ENOMEM;
      goto out;
    }
    started = 1;
  }

  size_t submitted = 0, collected = 0;
  while (collected < total && rc == 0) {
    /* Prepare and hand over what can be prepared. */
    while (submitted < total && submitted - collected < RING && rc == 0) {
      struct step st = order[submitted];
      if (st.event > 0 && applied[st.plan] < st.event)
        break; /* its case's previous event is not stored yet */
      struct dk_case_plan *p = &c->plans[c->first + st.plan];
      struct dk_event *ev = &p->events[st.event];
      struct job *j = &sg->ring[submitted % RING];
      struct dk_buf *body = &bodies[submitted % RING];
      uint64_t seq = head.seq + 1 + submitted;
      const uint8_t *key = c->keys[c->first + st.plan];
      dk_buf_reset(body);
      dk_buf_reset(pt);
      if (st.event == 0) {
        rc = dk_grants_write(c->grants[st.plan], c->grants_count[st.plan], body);
        j->type = DK_ENTRY_CASE_OPEN;
        j->has_case = 0;
      } else {
        rc = set_deps(ev, &states[st.plan]);
        if (rc == 0)
          rc = dk_case_check(&states[st.plan], ev);
        j->type = DK_ENTRY_CASE_EVENT;
        j->has_case = 1;
        memcpy(j->case_id, states[st.plan].id, DK_HASH_BYTES);
      }
      if (rc == 0)
        rc = dk_event_encode(ev, pt);
      if (rc == 0)
        rc = dk_body_seal(key, n->pk, seq, pt->data, pt->len, body);
      dk_buf_reset(pt);
      if (rc != 0)
        break;
      j->ts_ms = ts;
      j->body_bytes = body->len;
      dk_hash_plain(body->data, body->len, j->body_hash);
      submitted++;
      atomic_store_explicit(&sg->submitted, submitted, memory_order_release);
    }
    if (rc != 0)
      break;
    /* Store the next signed entry. */
    int spins = 0;
    while (atomic_load_explicit(&sg->done, memory_order_acquire) <= collected)
      wait_pause(&spins);
    struct step st = order[collected];
    struct job *j = &sg->ring[collected % RING];
    struct dk_buf *body = &bodies[collected % RING];
    struct dk_case_plan *p = &c->plans[c->first + st.plan];
    struct dk_event *ev = &p->events[st.event];
    struct dk_case_state *s = &states[st.plan];
    rc = j->rc;
    if (rc == 0)
      rc = dk_log_writer_add(t, &w, &j->e, body->data, body->len);
    if (rc != 0)
      break;
    memcpy(ev->id, j->e.id, DK_HASH_BYTES);
    memcpy(ev->author, n->pk, DK_PK_BYTES);
    ev->seq = j->e.h.seq;
    ev->ts_ms = j->e.h.ts_ms;
    rc = dk_case_apply(s, &n->case_cfg, ev);
    if (rc == 0 && st.event == 0) {
      memcpy(s->id, j->e.id, DK_HASH_BYTES);
      uint8_t nk[DK_HASH_BYTES];
      dk__number_key(n, numbers[st.plan], nk);
      rc = dk__grants_record(t, s->id, c->grants[st.plan], c->grants_count[st.plan]);
      if (rc == 0)
        rc = dk_log_case_open_put(t, s->id, w.last_pos);
      if (rc == 0)
        rc = dk_txn_put(t, DK_T_NUMBERS, nk, sizeof(nk), s->id, DK_HASH_BYTES);
      if (rc == 0)
        rc = dk__case_key_save(n, t, s->id, c->keys[c->first + st.plan]);
    }
    if (rc == 0)
      rc = dk__case_events_put(t, s->id, &j->e);
    if (rc != 0)
      break;
    applied[st.plan]++;
    if (applied[st.plan] == p->events_count) {
      rc = dk__case_state_save(n, t, s);
      dk_case_state_release(s);
    }
    collected++;
  }
  if (rc == 0)
    rc = dk_log_writer_flush(t, &w);
  if (rc == 0)
    rc = dk__index_local(t, first_pos); /* it indexed what it wrote */
  if (rc == 0)
    c->entries = total;
out:
  if (started) {
    atomic_store_explicit(&sg->stop, 1, memory_order_release);
    pthread_join(sg->thread, NULL);
  }
  for (size_t i = 0; reached && i < count; i++) {
    if (!reached[i])
      continue;
    struct dk_event *open = &c->plans[c->first + i].events[0];
    open->number = given[i];
    open->office = office[i];
  }
  for (size_t i = 0; states && i < count; i++)
    dk_case_state_release(&states[i]);
  for (size_t i = 0; bodies && i < RING; i++)
    dk_buf_release(&bodies[i]);
  if (sg)
    sodium_memzero(sg, sizeof(*sg));
  free(sg);
  free(bodies);
  free(order);
  free(applied);
  free(reached);
  free(states);
  free(office);
  free(given);
  free(numbers);
  return rc;
}

/* Dry-runs a plan through the status machine without touching the store. */
int dk_node_plan_check(dk_node *n, struct dk_case_plan *p) {
  if (p->events_count == 0 || p->events[0].type != DK_EVENT_OPEN)
    return DK_ETRANSITION;
  struct dk_case_state s;
  dk_case_state_init(&s);
  int rc = 0;
  for (size_t j = 0; j < p->events_count && rc == 0; j++) {
    struct dk_event *ev = &p->events[j];
    char *number = ev->number, *office = ev->office;
    if (j == 0) {
      if (number == NULL || number[0] == 0)
        ev->number = "X-0000-0000";
      ev->office = n->cfg.office;
    }
    rc = dk_event_validate(ev);
    if (rc == 0)
      rc = dk_event_check_new(ev);
    if (rc == 0)
      rc = dk_case_check(&s, ev);
    if (rc == 0) {
      /* A fake id keeps the frontier logic honest in the dry run. */
      memset(ev->id, 0, DK_HASH_BYTES);
      dk_be64_put(ev->id, j + 1);
      rc = dk_case_apply(&s, &n->case_cfg, ev);
    }
    ev->number = number;
    ev->office = office;
  }
  dk_case_state_release(&s);
  return rc;
}

int dk_node_bulk_load(dk_node *n, struct dk_case_plan *plans, size_t count,
                      void (*progress)(void *ctx, const struct dk_bulk_progress *p),
                      void *ctx, size_t *bad_plan) {
  if (!n->unlocked)
    return DK_ENOKEY;
  int rc = 0;
  for (size_t i = 0; i < count; i++) {
    rc = dk_node_plan_check(n, &plans[i]);
    if (rc != 0) {
      *bad_plan = i;
      return rc;
    }
    if (plans[i].events_count > DK_BULK_BATCH_ENTRIES) {
      *bad_plan = i;
      return DK_ELIMIT;
    }
  }
  struct dk_bulk_progress prog = {0, count, 0};
  struct bulk_ctx c = {n, plans, 0, 0, NULL, NULL, NULL, 0, 0};
  /* Case keys and their sealed grants are made a batch at a time. */
  size_t batch_cases_max = DK_BULK_BATCH_ENTRIES;
  c.keys = calloc(count ? count : 1, sizeof(*c.keys));
  /* One secure block for the keys of a batch, not one sodium_malloc each. */
  uint8_t *keyblock = sodium_malloc(batch_cases_max * DK_SYMKEY_BYTES);
  c.grants = malloc(sizeof(*c.grants) * (batch_cases_max));
  c.grants_count = calloc(batch_cases_max, sizeof(size_t));
  if (!c.keys || !c.grants || !c.grants_count || !keyblock) {
    rc = DK_ENOMEM;
    goto out;
  }
  /* Readers do not change during a load: read them once. */
  uint8_t readers[DK_READERS_MAX][DK_PK_BYTES];
  size_t nreaders = 0;
  struct dk_txn rt;
  rc = dk_store_read_begin(n->store, &rt);
  if (rc != 0)
    goto out;
  rc = dk__case_readers(n, &rt, readers, &nreaders);
  dk_store_read_end(&rt);
  if (rc != 0)
    goto out;
  size_t i = 0;
  while (i < count) {
    size_t entries = 0, j = i;
    while (j < count && j - i < batch_cases_max &&
           (entries + plans[j].events_count <= DK_BULK_BATCH_ENTRIES || j == i)) {
      entries += plans[j].events_count;
      j++;
    }
    for (size_t k = i; k < j; k++) {
      c.keys[k] = keyblock + (k - i) * DK_SYMKEY_BYTES;
      randombytes_buf(c.keys[k], DK_SYMKEY_BYTES);
      rc = dk__seal_grants(n, readers, nreaders, c.keys[k], c.grants[k - i], &c.grants_count[k - i]);
      if (rc != 0)
        goto out;
    }
    struct bulk_ctx bc = c;
    bc.first = i;
    bc.last = j;
    rc = dk_store_write(n->store, bulk_fn, &bc);
    if (rc == DK_ENUMBER)
      *bad_plan = bc.bad;
    sodium_memzero(keyblock, batch_cases_max * DK_SYMKEY_BYTES);
    for (size_t k = i; k < j; k++)
      c.keys[k] = NULL;
    if (rc != 0)
      goto out;
    DK_FAULT("import-commit"); /* committed, not yet reported */
    prog.cases_done = j;
    prog.entries_committed += bc.entries;
    if (progress)
      progress(ctx, &prog);
    i = j;
  }
out:
  sodium_free(keyblock); /* wipes */
  free(c.keys);
  free(c.grants);
  free(c.grants_count);
  return rc;
}
