#include "tests/sim/mem_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"

static size_t find_at(const struct mem_store *st, const uint8_t pk[DK_PK_BYTES], int *found) {
  size_t lo = 0, hi = st->logs_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = memcmp(st->logs[mid].pk, pk, DK_PK_BYTES);
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

struct mem_log *mem_store_log(struct mem_store *st, const uint8_t pk[DK_PK_BYTES]) {
  int found;
  size_t at = find_at(st, pk, &found);
  return found ? &st->logs[at] : NULL;
}

static int log_add(struct mem_store *st, const uint8_t pk[DK_PK_BYTES], const char *office,
                   struct mem_log **out) {
  int found;
  size_t at = find_at(st, pk, &found);
  if (found) {
    *out = &st->logs[at];
    return 0;
  }
  if (st->logs_count == st->logs_cap) {
    size_t cap = st->logs_cap ? st->logs_cap * 2 : 8;
    struct mem_log *p = realloc(st->logs, cap * sizeof(*p));
    if (p == NULL)
      return DK_ENOMEM;
    st->logs = p;
    st->logs_cap = cap;
  }
  memmove(&st->logs[at + 1], &st->logs[at], (st->logs_count - at) * sizeof(*st->logs));
  st->logs_count++;
  struct mem_log *l = &st->logs[at];
  memset(l, 0, sizeof(*l));
  memcpy(l->pk, pk, DK_PK_BYTES);
  snprintf(l->office, sizeof(l->office), "%s", office);
  *out = l;
  return 0;
}

static int log_push(struct mem_store *st, struct mem_log *l, const uint8_t *header,
                    size_t header_len, const uint8_t *sig, const uint8_t *body, size_t body_len,
                    const uint8_t *id, uint64_t seq, uint64_t ts_ms) {
  if (l->count == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 8;
    struct mem_entry *p = realloc(l->entries, cap * sizeof(*p));
    if (p == NULL)
      return DK_ENOMEM;
    l->entries = p;
    l->cap = cap;
  }
  struct mem_entry *e = &l->entries[l->count];
  memset(e, 0, sizeof(*e));
  e->header = malloc(header_len);
  if (e->header == NULL)
    return DK_ENOMEM;
  memcpy(e->header, header, header_len);
  e->header_len = header_len;
  memcpy(e->sig, sig, DK_SIG_BYTES);
  if (body != NULL) {
    e->body = malloc(body_len ? body_len : 1);
    if (e->body == NULL) {
      free(e->header);
      return DK_ENOMEM;
    }
    memcpy(e->body, body, body_len);
    e->body_len = body_len;
  }
  memcpy(e->id, id, DK_HASH_BYTES);
  e->seq = seq;
  e->ts_ms = ts_ms;
  l->count++;
  st->entries_total++;
  return 0;
}

/* Seals an entry of author's log and appends it to l. */
static int seal_push(struct mem_store *st, struct mem_log *l, const struct dk_identity *author,
                     uint64_t type, const uint8_t *body, size_t len, uint64_t ts_ms) {
  struct dk_header h;
  memset(&h, 0, sizeof(h));
  h.version = DK_ENTRY_VERSION;
  memcpy(h.log, author->pk, DK_PK_BYTES);
  h.seq = l->count + 1;
  if (l->count > 0) {
    h.has_prev = 1;
    memcpy(h.prev, l->entries[l->count - 1].id, DK_HASH_BYTES);
    if (ts_ms < l->entries[l->count - 1].ts_ms)
      ts_ms = l->entries[l->count - 1].ts_ms;
  }
  h.ts_ms = ts_ms;
  h.type = type;
  h.body_bytes = len;
  dk_hash_plain(body, len, h.body_hash);
  struct dk_entry e;
  int rc = dk_entry_seal(&e, &h, author);
  if (rc != 0)
    return rc;
  return log_push(st, l, e.header_bytes, e.header_len, e.sig, body, len, e.id, h.seq, ts_ms);
}

static int make_log(struct mem_store *st, const struct dk_identity *author, const char *office,
                    const char *role, uint64_t ts_ms, struct mem_log **out) {
  struct dk_office_info info;
  memset(&info, 0, sizeof(info));
  snprintf(info.office, sizeof(info.office), "%s", office);
  snprintf(info.role, sizeof(info.role), "%s", role);
  snprintf(info.code, sizeof(info.code), "T");
  struct dk_buf body;
  dk_buf_init(&body);
  struct mem_log *l = NULL;
  int rc = dk_office_body_encode(&info, &body);
  if (rc == 0)
    rc = log_add(st, author->pk, office, &l);
  if (rc == 0 && l->count == 0)
    rc = seal_push(st, l, author, DK_ENTRY_OFFICE, body.data, body.len, ts_ms);
  dk_buf_release(&body);
  if (rc == 0 && out)
    *out = l;
  return rc;
}

int mem_store_init(struct mem_store *st, const struct dk_identity *me, const char *office,
                   const char *role, uint64_t ts_ms) {
  memset(st, 0, sizeof(*st));
  st->me = me;
  snprintf(st->office, sizeof(st->office), "%s", office);
  int rc = make_log(st, me, office, role, ts_ms, NULL);
  if (rc == 0)
    st->commits++;
  return rc;
}

int mem_store_make_log(struct mem_store *st, const struct dk_identity *author, const char *office,
                       size_t extra, uint64_t ts_ms) {
  struct mem_log *l;
  int rc = make_log(st, author, office, "community", ts_ms, &l);
  for (size_t i = 0; rc == 0 && i < extra; i++) {
    uint8_t body[40];
    for (size_t k = 0; k < sizeof(body); k++)
      body[k] = (uint8_t)(i * 13 + k);
    rc = seal_push(st, l, author, DK_ENTRY_CASE_OPEN, body, sizeof(body), ts_ms + i);
  }
  return rc;
}

void mem_store_release(struct mem_store *st) {
  for (size_t i = 0; i < st->logs_count; i++) {
    struct mem_log *l = &st->logs[i];
    for (size_t k = 0; k < l->count; k++) {
      free(l->entries[k].header);
      free(l->entries[k].body);
    }
    free(l->entries);
  }
  free(st->logs);
  free(st->forks);
  memset(st, 0, sizeof(*st));
}

int mem_store_append(struct mem_store *st, uint64_t ts_ms, const uint8_t *body, size_t len) {
  struct mem_log *l = mem_store_log(st, st->me->pk);
  if (l == NULL)
    return DK_ENOTFOUND;
  int rc = seal_push(st, l, st->me, DK_ENTRY_CASE_OPEN, body, len, ts_ms);
  if (rc == 0)
    st->commits++;
  return rc;
}

int mem_store_copy_log(struct mem_store *st, const struct mem_store *src,
                       const uint8_t pk[DK_PK_BYTES]) {
  struct mem_log *from = mem_store_log((struct mem_store *)src, pk), *to;
  if (from == NULL)
    return DK_ENOTFOUND;
  int rc = log_add(st, pk, from->office, &to);
  for (size_t k = to->count; rc == 0 && k < from->count; k++) {
    const struct mem_entry *e = &from->entries[k];
    rc = log_push(st, to, e->header, e->header_len, e->sig, e->body, e->body_len, e->id, e->seq,
                  e->ts_ms);
  }
  return rc;
}

/* ---------- the contract ---------- */

/* Entries of l a reader sees (the unseen_tail hook). */
static size_t visible(const struct mem_store *st, const struct mem_log *l) {
  if (st->unseen_tail == 0 || memcmp(l->pk, st->me->pk, DK_PK_BYTES) != 0)
    return l->count;
  return l->count > st->unseen_tail ? l->count - st->unseen_tail : 0;
}

static int heads(void *ctx, int (*cb)(void *, const struct dk_sync_head *, const char *),
                 void *cbctx) {
  struct mem_store *st = ctx;
  for (size_t i = 0; i < st->logs_count; i++) {
    const struct mem_log *l = &st->logs[i];
    size_t count = visible(st, l);
    if (count == 0)
      continue;
    struct dk_sync_head h;
    memcpy(h.log, l->pk, DK_PK_BYTES);
    h.seq = count;
    memcpy(h.id, l->entries[count - 1].id, DK_HASH_BYTES);
    int rc = cb(cbctx, &h, l->office);
    if (rc != 0)
      return rc;
  }
  return 0;
}

static int head(void *ctx, const uint8_t log[DK_PK_BYTES], struct dk_sync_head *out) {
  struct mem_store *st = ctx;
  struct mem_log *l = mem_store_log(st, log);
  memset(out, 0, sizeof(*out));
  memcpy(out->log, log, DK_PK_BYTES);
  if (l != NULL && visible(st, l) > 0) {
    out->seq = visible(st, l);
    memcpy(out->id, l->entries[out->seq - 1].id, DK_HASH_BYTES);
  }
  return 0;
}

static int read_log(void *ctx, const uint8_t log[DK_PK_BYTES], uint64_t from, size_t max_entries,
                    size_t max_bytes, int (*cb)(void *, const struct dk_wire_entry *),
                    void *cbctx) {
  struct mem_store *st = ctx;
  struct mem_log *l = mem_store_log(st, log);
  if (l == NULL || from == 0)
    return 0;
  size_t bytes = 0;
  for (uint64_t seq = from, n = 0; seq <= visible(st, l) && n < max_entries; seq++, n++) {
    const struct mem_entry *e = &l->entries[seq - 1];
    struct dk_wire_entry w = {e->header, e->header_len, e->sig, e->body, e->body_len};
    int rc = cb(cbctx, &w);
    if (rc != 0)
      return rc;
    /* The loose reading of the contract: the entry that crosses max_bytes
     * is still handed out, so the caller must cope with it. */
    bytes += e->header_len + DK_SIG_BYTES + e->body_len;
    if (bytes >= max_bytes)
      break;
  }
  return 0;
}

/* What ingest decided for one entry. */
enum verdict { V_NEW = 1, V_DUP, V_FORK, V_SKIP };

struct run {
  uint8_t log[DK_PK_BYTES];
  struct mem_log *held; /* NULL: a new log */
  uint64_t seq;         /* virtual head: held plus this batch's new entries */
  uint8_t id[DK_HASH_BYTES];
  uint64_t ts_ms;
  size_t last_new; /* index of its last new entry, or SIZE_MAX */
  int stopped;     /* a fork: the rest of this run does not link to our chain */
  char office[DK_NAME_BYTES_MAX];
};

static int ingest(void *ctx, const struct dk_wire_entry *entries, size_t n,
                  struct dk_ingest_result *res) {
  struct mem_store *st = ctx;
  int rc = 0;
  memset(res, 0, sizeof(*res));
  st->ingest_calls++;
  if (st->fail_ingest_with != 0) {
    rc = st->fail_ingest_with;
    st->fail_ingest_with = 0;
    return rc;
  }
  struct dk_entry *parsed = calloc(n ? n : 1, sizeof(*parsed));
  enum verdict *verdict = calloc(n ? n : 1, sizeof(*verdict));
  size_t *run_of = calloc(n ? n : 1, sizeof(*run_of));
  struct run *runs = calloc(n ? n : 1, sizeof(*runs));
  size_t runs_count = 0;
  if (!parsed || !verdict || !run_of || !runs) {
    rc = DK_ENOMEM;
    goto out;
  }
  /* Check everything before storing anything. */
  for (size_t i = 0; i < n; i++) {
    const struct dk_wire_entry *w = &entries[i];
    struct dk_entry *e = &parsed[i];
    rc = dk_entry_parse(e, w->header, w->header_len, w->sig);
    if (rc != 0)
      goto out;
    if (w->body != NULL && (rc = dk_entry_check_body(e, w->body, w->body_len)) != 0)
      goto out;
    size_t r = 0;
    while (r < runs_count && memcmp(runs[r].log, e->h.log, DK_PK_BYTES) != 0)
      r++;
    if (r == runs_count) {
      runs_count++;
      memcpy(runs[r].log, e->h.log, DK_PK_BYTES);
      runs[r].held = mem_store_log(st, e->h.log);
      runs[r].last_new = SIZE_MAX;
      if (runs[r].held && runs[r].held->count > 0) {
        const struct mem_entry *top = &runs[r].held->entries[runs[r].held->count - 1];
        runs[r].seq = top->seq;
        memcpy(runs[r].id, top->id, DK_HASH_BYTES);
        runs[r].ts_ms = top->ts_ms;
      }
    }
    run_of[i] = r;
    struct run *ru = &runs[r];
    uint64_t held_count = ru->held ? ru->held->count : 0;
    if (ru->stopped) {
      verdict[i] = V_SKIP;
      continue;
    }
    if (e->h.seq <= held_count) {
      const struct mem_entry *have = &ru->held->entries[e->h.seq - 1];
      if (memcmp(have->id, e->id, DK_HASH_BYTES) == 0) {
        verdict[i] = V_DUP;
        continue;
      }
      if ((rc = dk_entry_verify_sig(e)) != 0)
        goto out;
      verdict[i] = V_FORK;
      ru->stopped = 1;
      continue;
    }
    rc = dk_entry_check_link(e, ru->seq, ru->id, ru->ts_ms);
    if (rc != 0)
      goto out;
    if (e->h.seq == 1) { /* a new log: its office entry says whose it is */
      struct dk_office_info info;
      if (w->body == NULL || dk_office_body_decode(w->body, w->body_len, &info) != 0) {
        rc = DK_EFORMAT;
        goto out;
      }
      snprintf(ru->office, sizeof(ru->office), "%s", info.office);
    }
    verdict[i] = V_NEW;
    ru->seq = e->h.seq;
    memcpy(ru->id, e->id, DK_HASH_BYTES);
    ru->ts_ms = e->h.ts_ms;
    ru->last_new = i;
  }
  for (size_t r = 0; r < runs_count; r++)
    if (runs[r].last_new != SIZE_MAX && (rc = dk_entry_verify_sig(&parsed[runs[r].last_new])) != 0)
      goto out;
  /* Store: one commit. Memory failures past this point would leave a half
   * commit; the simulator does not inject them. */
  for (size_t i = 0; i < n; i++) {
    const struct dk_wire_entry *w = &entries[i];
    const struct dk_entry *e = &parsed[i];
    struct run *ru = &runs[run_of[i]];
    if (verdict[i] == V_DUP) {
      res->duplicates++;
    } else if (verdict[i] == V_FORK) {
      struct mem_fork_proof *p = realloc(st->forks, (st->forks_count + 1) * sizeof(*p));
      if (p == NULL) {
        rc = DK_ENOMEM;
        goto out;
      }
      st->forks = p;
      memcpy(p[st->forks_count].log, e->h.log, DK_PK_BYTES);
      p[st->forks_count].seq = e->h.seq;
      memcpy(p[st->forks_count].id, e->id, DK_HASH_BYTES);
      st->forks_count++;
      ru->held->forked = 1;
      res->forks++;
    } else if (verdict[i] == V_NEW) {
      if (ru->held == NULL) {
        rc = log_add(st, e->h.log, ru->office, &ru->held);
        if (rc != 0)
          goto out;
        /* log_add may move other logs: refresh the other runs' pointers. */
        for (size_t k = 0; k < runs_count; k++)
          if (runs[k].held != NULL || k == run_of[i])
            runs[k].held = mem_store_log(st, runs[k].log);
      }
      rc = log_push(st, ru->held, w->header, w->header_len, w->sig, w->body, w->body_len, e->id,
                    e->h.seq, e->h.ts_ms);
      if (rc != 0)
        goto out;
      res->stored++;
    }
  }
  st->commits++;
out:
  free(parsed);
  free(verdict);
  free(run_of);
  free(runs);
  return rc;
}

static int witness(void *ctx, const uint8_t log[DK_PK_BYTES]) {
  struct mem_store *st = ctx;
  st->witness_calls++;
  struct mem_log *child = mem_store_log(st, log);
  struct mem_log *mine = mem_store_log(st, st->me->pk);
  if (child == NULL || child->count == 0 || mine == NULL)
    return DK_ENOTFOUND;
  if (child->count <= child->witnessed_seq)
    return 0; /* nothing new to cosign */
  struct dk_witness w;
  memcpy(w.log, log, DK_PK_BYTES);
  w.seq = child->count;
  memcpy(w.id, child->entries[child->count - 1].id, DK_HASH_BYTES);
  struct dk_buf body;
  dk_buf_init(&body);
  int rc = dk_witness_body_encode(&w, &body);
  uint64_t ts = mine->entries[mine->count - 1].ts_ms;
  if (rc == 0)
    rc = seal_push(st, mine, st->me, DK_ENTRY_WITNESS, body.data, body.len, ts);
  dk_buf_release(&body);
  if (rc == 0) {
    child = mem_store_log(st, log);
    child->witnessed_seq = w.seq;
    st->commits++;
  }
  return rc;
}

static uint64_t mark(void *ctx) {
  const struct mem_store *st = ctx;
  return st->commits - st->unseen_tail;
}

void mem_store_iface(struct mem_store *st, struct dk_sync_store *out) {
  memset(out, 0, sizeof(*out)); /* optional functions this store lacks are NULL */
  out->ctx = st;
  out->heads = heads;
  out->head = head;
  out->read = read_log;
  out->ingest = ingest;
  out->witness = witness;
  out->mark = mark;
}

int mem_store_verify_all(const struct mem_store *st, uint64_t *sig_checks) {
  struct dk_entry e;
  for (size_t i = 0; i < st->logs_count; i++) {
    const struct mem_log *l = &st->logs[i];
    for (size_t k = 0; k < l->count; k++) {
      const struct mem_entry *m = &l->entries[k];
      int rc = dk_entry_parse(&e, m->header, m->header_len, m->sig);
      if (rc != 0)
        return rc;
      if (memcmp(e.id, m->id, DK_HASH_BYTES) != 0 || e.h.seq != k + 1 ||
          memcmp(e.h.log, l->pk, DK_PK_BYTES) != 0)
        return DK_EBADID;
      const struct mem_entry *prev = k ? &l->entries[k - 1] : NULL;
      rc = dk_entry_check_link(&e, k, prev ? prev->id : m->id, prev ? prev->ts_ms : 0);
      if (rc != 0)
        return rc;
      if (m->body && (rc = dk_entry_check_body(&e, m->body, m->body_len)) != 0)
        return rc;
      if ((rc = dk_entry_verify_sig(&e)) != 0)
        return rc;
      if (sig_checks)
        (*sig_checks)++;
    }
  }
  return 0;
}
