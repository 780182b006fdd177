/*
 * Erasure: the erase block, who may erase, and what a node deletes.
 *
 * Whether a case is erased is derived from the entries held, never from the
 * order they arrived in: dk__case_erase_apply() looks for the case's opening
 * entry and an honoured erase entry among the case's entries, and when both
 * are there deletes what erasure deletes. It is idempotent, so ingest calls
 * it again for every batch that touches a case marked as having an erase
 * entry, which is how bodies arriving later are dropped in the commit that
 * would have stored them.
 */
#include "node/cases/erase.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/mp.h"
#include "node/cases/cases_int.h"
#include "node/log/log.h"
#include "node/log/log_int.h"
#include "node/node_int.h"

#define ERASE_TAG "erase"

int dk_erase_body_encode(const char *reason, struct dk_buf *out) {
  if (strlen(reason) > DK_TEXT_BYTES_MAX)
    return DK_ELIMIT;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, dk_buf_msgpack_write);
  if (msgpack_pack_array(&pk, 2) != 0 || dk_mp_pack_str(&pk, ERASE_TAG) != 0 ||
      dk_mp_pack_str(&pk, reason) != 0)
    return DK_ENOMEM;
  return 0;
}

int dk_erase_body_decode(const uint8_t *body, size_t len, char *reason, size_t cap) {
  if (body == NULL || len == 0 || len > DK_BODY_BYTES_MAX)
    return DK_EFORMAT;
  msgpack_unpacked u;
  int rc = dk_mp_parse(body, len, &u);
  if (rc != 0)
    return rc == DK_ENOMEM ? rc : DK_EFORMAT;
  char tag[8];
  const msgpack_object *a = &u.data;
  rc = DK_EFORMAT;
  if (a->type == MSGPACK_OBJECT_ARRAY && a->via.array.size == 2 &&
      dk_mp_get_str(&a->via.array.ptr[0], tag, sizeof(tag)) == 0 && strcmp(tag, ERASE_TAG) == 0)
    rc = dk_mp_get_str(&a->via.array.ptr[1], reason, cap);
  msgpack_unpacked_destroy(&u);
  if (rc != 0)
    return rc;
  if (strlen(reason) > DK_TEXT_BYTES_MAX)
    return DK_ELIMIT;
  /* Canonical: one reason, one encoding. */
  struct dk_buf again;
  dk_buf_init(&again);
  rc = dk_erase_body_encode(reason, &again);
  if (rc == 0 && (again.len != len || memcmp(again.data, body, len) != 0))
    rc = DK_EFORMAT;
  dk_buf_release(&again);
  return rc;
}

int dk_erase_office_may(const char *office, const char *case_office) {
  size_t ol = strlen(office);
  if (strncmp(office, case_office, ol) != 0)
    return 0;
  return case_office[ol] == 0 || case_office[ol] == '/';
}

/* ---- applying an erasure ---------------------------------------------------- */

static void marker_key(char mk[6 + DK_HASH_BYTES * 2 + 1], const uint8_t *case_id) {
  memcpy(mk, "erase:", 6);
  dk_hex(case_id, DK_HASH_BYTES, mk + 6);
}

int dk__erase_marked(struct dk_txn *t, const uint8_t *case_id) {
  char mk[6 + DK_HASH_BYTES * 2 + 1];
  marker_key(mk, case_id);
  const uint8_t *v;
  size_t vlen;
  int rc = dk_txn_get(t, DK_T_META, mk, strlen(mk), &v, &vlen);
  if (rc == DK_ENOTFOUND)
    return 0;
  return rc == 0 ? 1 : rc;
}

int dk__erase_mark(struct dk_txn *t, const uint8_t *case_id) {
  char mk[6 + DK_HASH_BYTES * 2 + 1];
  marker_key(mk, case_id);
  return dk_txn_put(t, DK_T_META, mk, strlen(mk), "", 0);
}

static int log_office(struct dk_txn *t, const uint8_t *log, char *office, size_t cap) {
  const uint8_t *v;
  size_t vlen;
  struct dk_office_info info;
  int rc = dk_txn_get(t, DK_T_LOGS, log, DK_PK_BYTES, &v, &vlen);
  if (rc == 0)
    rc = dk_office_body_decode(v, vlen, &info);
  if (rc == 0 && strlen(info.office) + 1 > cap)
    rc = DK_ELIMIT;
  if (rc == 0)
    strcpy(office, info.office);
  return rc;
}

/* The office of a case: that of the log holding its opening entry.
 * DK_ENOTFOUND while that entry is not held. */
static int case_office(struct dk_txn *t, const uint8_t *case_id, char *office, size_t cap) {
  uint8_t log[DK_PK_BYTES];
  uint64_t seq;
  int rc = dk_log_find(t, case_id, log, &seq);
  if (rc != 0)
    return rc;
  struct dk_entry e;
  rc = dk_log_read(t, log, seq, &e, NULL, NULL);
  if (rc != 0)
    return rc;
  if (e.h.type != DK_ENTRY_CASE_OPEN)
    return DK_ENOTFOUND; /* an id, but not of a case */
  return log_office(t, log, office, cap);
}

/* The case's entries: (log, seq) keys from the case index. */
static int case_entries(struct dk_txn *t, const uint8_t *case_id, uint8_t (**keys)[DK_LOGKEY_BYTES],
                        size_t *count) {
  struct dk_iter it;
  uint8_t(*k_out)[DK_LOGKEY_BYTES] = NULL;
  size_t n = 0, cap = 0;
  int rc = dk_iter_open(t, DK_T_CASE_EVENTS, case_id, DK_HASH_BYTES, &it);
  if (rc != 0)
    return rc;
  const uint8_t *k;
  size_t klen;
  while ((rc = dk_iter_next(&it, &k, &klen, NULL, NULL)) == 0) {
    if (klen != DK_HASH_BYTES + DK_LOGKEY_BYTES)
      continue;
    if (n == DK_CASE_EVENTS_MAX) {
      rc = DK_ELIMIT;
      break;
    }
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 32;
      void *p = realloc(k_out, ncap * DK_LOGKEY_BYTES);
      if (p == NULL) {
        rc = DK_ENOMEM;
        break;
      }
      k_out = p;
      cap = ncap;
    }
    memcpy(k_out[n++], k + DK_HASH_BYTES, DK_LOGKEY_BYTES);
  }
  dk_iter_close(&it);
  if (rc != DK_ENOTFOUND) {
    free(k_out);
    return rc;
  }
  *keys = k_out;
  *count = n;
  return 0;
}

/* Builds the tombstone of s in place: what counts stays, what names goes. */
static int tombstone(struct dk_case_state *s, uint64_t at_ms, const char *by,
                     const char *reason) {
  struct dk_case_state t;
  dk_case_state_init(&t);
  memcpy(t.id, s->id, DK_CASE_ID_BYTES);
  t.opened = 1;
  t.number = strdup(s->number ? s->number : "");
  t.kind = s->kind;
  t.category = strdup(s->category ? s->category : "");
  t.office = strdup(s->office ? s->office : "");
  t.summary = strdup("");
  t.status = s->status;
  t.triage = s->triage;
  t.deadline_ms = 0; /* an erased case is never overdue */
  t.opened_at_ms = s->opened_at_ms;
  t.triaged_at_ms = s->triaged_at_ms;
  t.outcome_at_ms = s->outcome_at_ms;
  t.closed_at_ms = s->closed_at_ms;
  t.escalated_at_ms = s->escalated_at_ms;
  t.level = s->level;
  t.outcome = s->outcome;
  t.referral = s->referral;
  t.items = s->items;
  t.sessions_count = s->sessions_count;
  t.minutes_total = s->minutes_total;
  t.events_count = s->events_count;
  t.reopen_count = s->reopen_count;
  t.updated_at_ms = s->updated_at_ms;
  /* Return visits are dates and scores, which the satisfaction figures
   * count; they name nobody. */
  if (s->revisits_count > 0) {
    t.revisits = malloc(s->revisits_count * sizeof(*t.revisits));
    if (t.revisits != NULL) {
      memcpy(t.revisits, s->revisits, s->revisits_count * sizeof(*t.revisits));
      t.revisits_count = s->revisits_count;
    }
  }
  t.erased_at_ms = at_ms;
  t.erased_by = strdup(by);
  t.erase_reason = strdup(reason);
  if (!t.number || !t.category || !t.office || !t.summary || !t.erased_by || !t.erase_reason ||
      (s->revisits_count > 0 && t.revisits == NULL)) {
    dk_case_state_release(&t);
    return DK_ENOMEM;
  }
  dk_case_state_release(s);
  *s = t;
  return 0;
}

int dk__erase_covers(struct dk_txn *t, const uint8_t *case_id) {
  char office[DK_NAME_BYTES_MAX];
  uint8_t(*keys)[DK_LOGKEY_BYTES] = NULL;
  size_t count = 0;
  int covered = 0;
  char *reason = NULL;
  int rc = case_office(t, case_id, office, sizeof(office));
  if (rc == DK_ENOTFOUND)
    return 0;
  if (rc == 0)
    rc = case_entries(t, case_id, &keys, &count);
  reason = malloc(DK_TEXT_BYTES_MAX + 1);
  if (rc == 0 && reason == NULL)
    rc = DK_ENOMEM;
  for (size_t i = 0; i < count && rc == 0 && !covered; i++) {
    struct dk_entry e;
    const uint8_t *body;
    size_t blen;
    char eoffice[DK_NAME_BYTES_MAX];
    rc = dk_log_read(t, keys[i], dk_be64_get(keys[i] + DK_PK_BYTES), &e, &body, &blen);
    if (rc != 0)
      break;
    covered = e.h.type == DK_ENTRY_ERASE && body != NULL && dk_entry_check_body(&e, body, blen) == 0 &&
              log_office(t, keys[i], eoffice, sizeof(eoffice)) == 0 &&
              dk_erase_office_may(eoffice, office) &&
              dk_erase_body_decode(body, blen, reason, DK_TEXT_BYTES_MAX + 1) == 0;
  }
  if (reason) {
    sodium_memzero(reason, DK_TEXT_BYTES_MAX + 1);
    free(reason);
  }
  free(keys);
  return rc != 0 ? rc : covered;
}

int dk__check_unerased(dk_node *n, const uint8_t *case_id) {
  if (n->unerased_count &&
      memcmp(n->unerased[n->unerased_count - 1], case_id, DK_HASH_BYTES) == 0)
    return 0; /* the same case, body after body */
  if (n->unerased_count == n->unerased_cap) {
    size_t ncap = n->unerased_cap ? n->unerased_cap * 2 : 8;
    void *p = realloc(n->unerased, ncap * DK_HASH_BYTES);
    if (p == NULL)
      return DK_ENOMEM;
    n->unerased = p;
    n->unerased_cap = ncap;
  }
  memcpy(n->unerased[n->unerased_count++], case_id, DK_HASH_BYTES);
  return 0;
}

int dk__case_erase_apply(dk_node *n, struct dk_txn *t, const uint8_t *case_id,
                         struct dk_erase_info *out) {
  char office[DK_NAME_BYTES_MAX];
  uint8_t(*keys)[DK_LOGKEY_BYTES] = NULL;
  size_t count = 0;
  char *reason = NULL;
  struct dk_case_state s;
  dk_case_state_init(&s);
  int rc = case_office(t, case_id, office, sizeof(office));
  if (rc == DK_ENOTFOUND)
    return 0; /* the opening entry has not arrived: nothing to judge yet */
  if (rc == 0)
    rc = case_entries(t, case_id, &keys, &count);
  reason = malloc(DK_TEXT_BYTES_MAX + 1);
  if (rc == 0 && reason == NULL)
    rc = DK_ENOMEM;
  if (rc != 0)
    goto out;
  /* The honoured erasure: the earliest erase entry from an office that
   * covers the case (by author time, then log and seq). */
  int found = 0;
  uint64_t at = 0;
  char by[DK_NAME_BYTES_MAX] = "";
  for (size_t i = 0; i < count; i++) {
    const uint8_t *log = keys[i];
    uint64_t seq = dk_be64_get(keys[i] + DK_PK_BYTES);
    struct dk_entry e;
    const uint8_t *body;
    size_t blen;
    char eoffice[DK_NAME_BYTES_MAX];
    rc = dk_log_read(t, log, seq, &e, &body, &blen);
    if (rc != 0)
      goto out;
    if (e.h.type != DK_ENTRY_ERASE || body == NULL ||
        dk_entry_check_body(&e, body, blen) != 0 ||
        log_office(t, log, eoffice, sizeof(eoffice)) != 0 || !dk_erase_office_may(eoffice, office))
      continue;
    if (found && e.h.ts_ms >= at)
      continue;
    if (dk_erase_body_decode(body, blen, reason, DK_TEXT_BYTES_MAX + 1) != 0)
      continue;
    found = 1;
    at = e.h.ts_ms;
    strcpy(by, eoffice);
  }
  if (!found)
    goto out; /* only erase entries that are not honoured */
  uint64_t deleted = 0;
  for (size_t i = 0; i < count; i++) {
    const uint8_t *log = keys[i];
    uint64_t seq = dk_be64_get(keys[i] + DK_PK_BYTES);
    struct dk_entry e;
    const uint8_t *body;
    size_t blen;
    rc = dk_log_read(t, log, seq, &e, &body, &blen);
    if (rc != 0)
      goto out;
    if (e.h.type == DK_ENTRY_ERASE || body == NULL)
      continue; /* the erase entries keep their reason */
    if (t->shadow) {
      /* verify's rebuild (node/store/store.h) may not delete from the log:
       * a body an honoured erasure covers is still held, which only damage
       * does. The check names the case; a rebuild erases it. */
      rc = dk__check_unerased(n, case_id);
      if (rc != 0)
        goto out;
      continue;
    }
    rc = dk_log_body_del(t, log, seq);
    if (rc != 0)
      goto out;
    deleted++;
  }
  rc = dk_txn_del(t, DK_T_CASE_KEYS, case_id, DK_HASH_BYTES);
  if (rc != 0)
    goto out;
  /* The grants recorded which readers got the key that is now gone; a
   * rebuild cannot derive them from erased bodies, so they go too. */
  rc = dk_txn_del_prefix(t, DK_T_GRANTS, case_id, DK_HASH_BYTES);
  if (rc != 0)
    goto out;
  /* The tombstone replaces the state; a node that cannot decrypt states
   * (opened without its passphrase) removes the state instead. */
  int have_state = 0;
  if (n->unlocked) {
    rc = dk__case_state_load(n, t, case_id, &s);
    if (rc == 0)
      have_state = 1;
    else if (rc != DK_ENOTFOUND)
      goto out;
    rc = 0;
    if (have_state && s.erased_at_ms == 0) {
      rc = tombstone(&s, at, by, reason);
      if (rc == 0)
        rc = dk__case_state_save(n, t, &s);
    }
  } else {
    rc = dk_txn_del(t, DK_T_CASES, case_id, DK_HASH_BYTES);
    if (rc == 0)
      rc = dk__case_report_del(t, case_id);
  }
  if (rc != 0)
    goto out;
  if (out) {
    memset(out, 0, sizeof(*out));
    if (have_state && s.number && strlen(s.number) < sizeof(out->number))
      strcpy(out->number, s.number);
    strcpy(out->case_office, office);
    strcpy(out->erased_by, by);
    out->erased_at_ms = at;
    out->bodies_erased = deleted;
  }
out:
  if (reason) {
    sodium_memzero(reason, DK_TEXT_BYTES_MAX + 1);
    free(reason);
  }
  free(keys);
  dk_case_state_release(&s);
  return rc;
}

/* ---- erasing from this office ------------------------------------------------ */

struct erase_ctx {
  dk_node *n;
  const uint8_t *case_id;
  const char *reason;
  struct dk_erase_info *out;
};

static int erase_fn(struct dk_txn *t, void *arg) {
  struct erase_ctx *c = arg;
  dk_node *n = c->n;
  memset(c->out, 0, sizeof(*c->out));
  int rc = case_office(t, c->case_id, c->out->case_office, sizeof(c->out->case_office));
  if (rc != 0)
    return rc;
  if (!dk_erase_office_may(n->cfg.office, c->out->case_office))
    return DK_ESCOPE;
  /* Already erased: an honoured erasure leaves a tombstone or no key. */
  rc = dk__erase_marked(t, c->case_id);
  if (rc < 0)
    return rc;
  if (rc == 1) {
    struct dk_case_state s;
    dk_case_state_init(&s);
    int lrc = dk__case_state_load(n, t, c->case_id, &s);
    int erased = lrc == 0 && s.erased_at_ms != 0;
    dk_case_state_release(&s);
    if (erased)
      return DK_EEXIST;
  }
  struct dk_buf body;
  dk_buf_init(&body);
  struct dk_entry e;
  uint64_t first_pos;
  rc = dk__own_log_writable(t); /* a restored node first gets its log back */
  if (rc == 0)
    rc = dk_log_end(t, &first_pos);
  if (rc == 0)
    rc = dk_erase_body_encode(c->reason, &body);
  if (rc == 0)
    rc = dk_log_append(t, &n->id, DK_ENTRY_ERASE, c->case_id, body.data, body.len,
                       dk_node_now(n), &e);
  dk_buf_release(&body);
  if (rc == 0)
    rc = dk__case_events_put(t, c->case_id, &e);
  if (rc == 0)
    rc = dk__erase_mark(t, c->case_id);
  if (rc == 0)
    rc = dk__case_erase_apply(n, t, c->case_id, c->out);
  if (rc == 0)
    rc = dk__index_local(t, first_pos);
  return rc;
}

int dk_node_case_erase(dk_node *n, const uint8_t case_id[DK_HASH_BYTES], const char *reason,
                       struct dk_erase_info *out) {
  if (!dk_node_unlocked(n))
    return DK_ENOKEY;
  if (strlen(reason) > DK_TEXT_BYTES_MAX)
    return DK_ELIMIT;
  struct erase_ctx c = {n, case_id, reason, out};
  int rc = dk_store_write(n->store, erase_fn, &c);
  if (rc == 0)
    rc = dk__store_scrub(n);
  return rc;
}

/* ---- scrubbing the pages an erasure freed -------------------------------------
 *
 * LMDB never wipes a page it frees: the copy-on-write originals of the pages
 * that held an erased body or case key stay in data.mdb, on the free list,
 * until reused. Scrubbing reuses them at once: one transaction fills every
 * free page with zeros (meta records "scrub:N", each value exactly one
 * overflow page of zeros, so each takes one free page), the next deletes
 * the records, which frees those pages again, zeroed. Each step is an
 * ordinary committed transaction, so it is safe with other processes (a
 * running serve) using the store and against a crash at any moment: the
 * worst case is scrub records left over, which the next scrub deletes. A
 * page still held by a reader's snapshot is not free yet; it is scrubbed by
 * the next erasure or 'docket verify --scrub'. */

#define SCRUB_PREFIX "scrub:"
/* Free pages counted, plus a few the scrub's own leaves take. */
#define SCRUB_MARGIN_PAGES 16

static int free_pages(MDB_txn *txn, uint64_t *count) {
  MDB_cursor *cur;
  *count = 0;
  int mrc = mdb_cursor_open(txn, 0 /* FREE_DBI */, &cur);
  if (mrc != 0)
    return DK_ESTORE;
  MDB_val k, v;
  while ((mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0)
    if (v.mv_size >= sizeof(size_t))
      *count += *(const size_t *)v.mv_data; /* an IDL: its first word is its length */
  mdb_cursor_close(cur);
  return mrc == MDB_NOTFOUND ? 0 : DK_ESTORE;
}

static int scrub_clear(struct dk_txn *t) {
  struct dk_iter it;
  int rc = dk_iter_open(t, DK_T_META, SCRUB_PREFIX, strlen(SCRUB_PREFIX), &it);
  if (rc != 0)
    return rc;
  /* Collect first: deleting under the cursor would move it. */
  uint64_t n = 0;
  const uint8_t *k;
  size_t klen;
  while ((rc = dk_iter_next(&it, &k, &klen, NULL, NULL)) == 0)
    n++;
  dk_iter_close(&it);
  if (rc != DK_ENOTFOUND)
    return rc;
  rc = 0;
  for (uint64_t i = 0; i < n && rc == 0; i++) {
    char key[32];
    int len = snprintf(key, sizeof(key), SCRUB_PREFIX "%016llx", (unsigned long long)i);
    rc = dk_txn_del(t, DK_T_META, key, (size_t)len);
    if (rc == DK_ENOTFOUND)
      rc = 0;
  }
  return rc;
}

static int scrub_fill_fn(struct dk_txn *t, void *arg) {
  uint64_t pages = *(const uint64_t *)arg;
  int rc = scrub_clear(t);
  if (rc != 0)
    return rc;
  MDB_stat st;
  if (mdb_env_stat(mdb_txn_env(t->txn), &st) != 0)
    return DK_ESTORE;
  size_t value_bytes = st.ms_psize - 16; /* one overflow page: the page header is 16 bytes */
  uint8_t *zeros = calloc(1, value_bytes);
  if (zeros == NULL)
    return DK_ENOMEM;
  for (uint64_t i = 0; i < pages + SCRUB_MARGIN_PAGES && rc == 0; i++) {
    char key[32];
    int len = snprintf(key, sizeof(key), SCRUB_PREFIX "%016llx", (unsigned long long)i);
    rc = dk_txn_put(t, DK_T_META, key, (size_t)len, zeros, value_bytes);
  }
  free(zeros);
  return rc;
}

static int scrub_clear_fn(struct dk_txn *t, void *arg) {
  (void)arg;
  int rc = scrub_clear(t);
  /* Always write something, so that the transaction commits as a new one. */
  if (rc == 0)
    rc = dk_txn_put(t, DK_T_META, "scrubbed", strlen("scrubbed"), "1", 1);
  return rc;
}

int dk__store_scrub(dk_node *n) {
  /* LMDB reads its free list only in a read transaction. */
  struct dk_txn t;
  uint64_t pages = 0;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  rc = free_pages(t.txn, &pages);
  dk_store_read_end(&t);
  /* LMDB reuses the pages a transaction freed only two transactions
   * later: one small commit first, so that the fill can take what the
   * erasure freed. */
  if (rc == 0)
    rc = dk_store_write(n->store, scrub_clear_fn, NULL);
  if (rc == 0)
    rc = dk_store_write(n->store, scrub_fill_fn, &pages);
  if (rc == 0)
    rc = dk_store_write(n->store, scrub_clear_fn, NULL);
  return rc;
}
