/*
 * Cases in the store: derived state, lookups, numbers, the case cursor.
 * (Opening a case and appending to one: node/ingest/append.c.)
 *
 * Derived state (the folded case) and the cached case keys are encrypted
 * with the node's storage key; the case number index is a keyed hash. So the
 * data file holds no name, summary or number in the clear.
 */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "node/cases/cases_int.h"
#include "node/log/log.h"
#include "node/node_int.h"

/* ---- small helpers ------------------------------------------------------ */

static int need_unlocked(const dk_node *n) { return n->unlocked ? 0 : DK_ENOKEY; }

static void state_ad(uint8_t *ad, size_t *adlen, const char *domain, const uint8_t *case_id) {
  size_t dlen = strlen(domain) + 1;
  memcpy(ad, domain, dlen);
  memcpy(ad + dlen, case_id, DK_HASH_BYTES);
  *adlen = dlen + DK_HASH_BYTES;
}

void dk__number_key(const dk_node *n, const char *number, uint8_t key[DK_HASH_BYTES]) {
  dk_hash_keyed(n->storage_key, DK_DOMAIN_INDEX, (const uint8_t *)number, strlen(number), key);
}

int dk__case_state_load(dk_node *n, struct dk_txn *t, const uint8_t *case_id,
                        struct dk_case_state *s) {
  const uint8_t *v;
  size_t vlen;
  int rc = dk_txn_get(t, DK_T_CASES, case_id, DK_HASH_BYTES, &v, &vlen);
  if (rc != 0)
    return rc;
  uint8_t ad[64];
  size_t adlen;
  state_ad(ad, &adlen, DK_DOMAIN_STATE_AD, case_id);
  struct dk_buf *pt = &n->scratch_state;
  dk_buf_reset(pt);
  rc = dk_aead_open(n->storage_key, ad, adlen, v, vlen, pt);
  if (rc == 0)
    rc = dk_case_state_decode(pt->data, pt->len, s);
  dk_buf_reset(pt);
  return rc;
}

int dk__case_state_save(dk_node *n, struct dk_txn *t, const struct dk_case_state *s) {
  struct dk_buf *pt = &n->scratch_state, ct;
  dk_buf_reset(pt);
  dk_buf_init(&ct);
  uint8_t ad[64];
  size_t adlen;
  state_ad(ad, &adlen, DK_DOMAIN_STATE_AD, s->id);
  int rc = dk_case_state_encode(s, pt);
  if (rc == 0)
    rc = dk_aead_seal(n->storage_key, ad, adlen, pt->data, pt->len, &ct);
  if (rc == 0)
    rc = dk_txn_put(t, DK_T_CASES, s->id, DK_HASH_BYTES, ct.data, ct.len);
  /* The report row beside it, sealed the same way under its own domain. */
  if (rc == 0) {
    dk_buf_reset(pt);
    dk_buf_reset(&ct);
    state_ad(ad, &adlen, DK_DOMAIN_REPORT_AD, s->id);
    rc = dk_case_report_encode(s, pt);
  }
  if (rc == 0)
    rc = dk_aead_seal(n->storage_key, ad, adlen, pt->data, pt->len, &ct);
  if (rc == 0)
    rc = dk_txn_put(t, DK_T_REPORT, s->id, DK_HASH_BYTES, ct.data, ct.len);
  dk_buf_reset(pt);
  dk_buf_release(&ct);
  return rc;
}

int dk__case_report_del(struct dk_txn *t, const uint8_t *case_id) {
  return dk_txn_del(t, DK_T_REPORT, case_id, DK_HASH_BYTES);
}

int dk__sealed_open(dk_node *n, enum dk_table tb, const uint8_t *case_id, const uint8_t *v,
                    size_t vlen, struct dk_buf *out) {
  uint8_t ad[64];
  size_t adlen;
  state_ad(ad, &adlen,
           tb == DK_T_CASES    ? DK_DOMAIN_STATE_AD
           : tb == DK_T_REPORT ? DK_DOMAIN_REPORT_AD
                               : DK_DOMAIN_CASEKEY_AD,
           case_id);
  return dk_aead_open(n->storage_key, ad, adlen, v, vlen, out);
}

int dk__case_key_save(dk_node *n, struct dk_txn *t, const uint8_t *case_id, const uint8_t *key) {
  uint8_t ad[64];
  size_t adlen;
  state_ad(ad, &adlen, DK_DOMAIN_CASEKEY_AD, case_id);
  uint8_t ct[DK_SYMKEY_BYTES + DK_AEAD_OVERHEAD];
  struct dk_buf b = {ct, 0, sizeof(ct), 0};
  int rc = dk_aead_seal(n->storage_key, ad, adlen, key, DK_SYMKEY_BYTES, &b);
  if (rc != 0)
    return rc;
  return dk_txn_put(t, DK_T_CASE_KEYS, case_id, DK_HASH_BYTES, ct, b.len);
}

/* key must point at DK_SYMKEY_BYTES of sodium_malloc memory. */
int dk__case_key_load(dk_node *n, struct dk_txn *t, const uint8_t *case_id, uint8_t *key) {
  const uint8_t *v;
  size_t vlen;
  int rc = dk_txn_get(t, DK_T_CASE_KEYS, case_id, DK_HASH_BYTES, &v, &vlen);
  if (rc == DK_ENOTFOUND)
    return DK_ENOKEY;
  if (rc != 0)
    return rc;
  if (vlen != DK_SYMKEY_BYTES + DK_AEAD_OVERHEAD)
    return DK_EFORMAT;
  uint8_t ad[64];
  size_t adlen;
  state_ad(ad, &adlen, DK_DOMAIN_CASEKEY_AD, case_id);
  struct dk_buf b = {key, 0, DK_SYMKEY_BYTES, 0};
  return dk_aead_open(n->storage_key, ad, adlen, v, vlen, &b);
}

int dk__case_events_put(struct dk_txn *t, const uint8_t *case_id, const struct dk_entry *e) {
  uint8_t k[DK_HASH_BYTES + DK_LOGKEY_BYTES];
  memcpy(k, case_id, DK_HASH_BYTES);
  dk_logkey(k + DK_HASH_BYTES, e->h.log, e->h.seq);
  return dk_txn_put(t, DK_T_CASE_EVENTS, k, sizeof(k), "", 0);
}

/* Wraps key for each reader of a new case of this office (dk__case_readers). */
int dk__seal_grants(dk_node *n, uint8_t readers[][DK_PK_BYTES], size_t nreaders,
                    const uint8_t *key, struct dk_grant *grants, size_t *count) {
  uint8_t *shared = n->tmp_keys + DK_SYMKEY_BYTES;
  int rc = 0;
  for (size_t i = 0; i < nreaders && rc == 0; i++) {
    memcpy(grants[i].reader, readers[i], DK_PK_BYTES);
    rc = dk__shared_key(n, readers[i], shared);
    if (rc == 0)
      rc = dk_key_wrap(shared, key, grants[i].sealed);
  }
  sodium_memzero(shared, DK_SYMKEY_BYTES);
  *count = nreaders;
  return rc;
}

/* ---- numbers ------------------------------------------------------------ */

static int year_of(uint64_t at_ms) {
  time_t secs = (time_t)(at_ms / 1000);
  struct tm tm;
  if (localtime_r(&secs, &tm) == NULL)
    return 1970;
  return tm.tm_year + 1900;
}

/* Parses "CODE-YYYY-NNNN" into its parts; 0 when it has that shape. */
int dk__number_parse(const char *number, char *code, size_t code_cap, int *year,
                     uint64_t *counter) {
  const char *d1 = strchr(number, '-');
  if (d1 == NULL || (size_t)(d1 - number) + 1 > code_cap || d1 == number)
    return DK_EINVAL;
  const char *d2 = strchr(d1 + 1, '-');
  if (d2 == NULL || d2 - d1 != 5)
    return DK_EINVAL;
  for (const char *p = d1 + 1; p < d2; p++)
    if (!isdigit((unsigned char)*p))
      return DK_EINVAL;
  char *end;
  unsigned long long c = strtoull(d2 + 1, &end, 10);
  if (*end != 0 || d2[1] == 0)
    return DK_EINVAL;
  memcpy(code, number, (size_t)(d1 - number));
  code[d1 - number] = 0;
  *year = atoi(d1 + 1);
  *counter = c;
  return 0;
}

static void counter_key(uint8_t *key, size_t *klen, const char *code, int year) {
  size_t cl = strlen(code);
  memcpy(key, code, cl);
  dk_be32_put(key + cl, (uint32_t)year);
  *klen = cl + 4;
}

static int counter_get(struct dk_txn *t, const char *code, int year, uint64_t *next) {
  uint8_t key[40];
  size_t klen;
  counter_key(key, &klen, code, year);
  const uint8_t *v;
  size_t vlen;
  int rc = dk_txn_get(t, DK_T_COUNTERS, key, klen, &v, &vlen);
  if (rc == DK_ENOTFOUND) {
    *next = 1;
    return 0;
  }
  if (rc != 0)
    return rc;
  if (vlen != 8)
    return DK_EFORMAT;
  *next = dk_be64_get(v);
  return 0;
}

int dk__counter_put(struct dk_txn *t, const char *code, int year, uint64_t next) {
  uint8_t key[40], v[8];
  size_t klen;
  counter_key(key, &klen, code, year);
  dk_be64_put(v, next);
  return dk_txn_put(t, DK_T_COUNTERS, key, klen, v, 8);
}

/* Assigns ev's number when empty, or checks a given one is free; keeps the
 * office counter past any number it has seen. */
int dk__assign_number(dk_node *n, struct dk_txn *t, struct dk_event *ev, char *buf) {
  int rc;
  if (ev->number == NULL || ev->number[0] == 0) {
    int year = year_of(ev->at_ms);
    uint64_t next;
    rc = counter_get(t, n->cfg.code, year, &next);
    if (rc != 0)
      return rc;
    for (;; next++) {
      snprintf(buf, DK_CASE_NUMBER_BYTES, "%s-%04d-%04llu", n->cfg.code, year,
               (unsigned long long)next);
      uint8_t k[DK_HASH_BYTES];
      const uint8_t *v;
      size_t vlen;
      dk__number_key(n, buf, k);
      rc = dk_txn_get(t, DK_T_NUMBERS, k, sizeof(k), &v, &vlen);
      if (rc == DK_ENOTFOUND)
        break;
      if (rc != 0)
        return rc;
    }
    ev->number = buf;
    return dk__counter_put(t, n->cfg.code, year, next + 1);
  }
  if (strlen(ev->number) >= DK_CASE_NUMBER_BYTES)
    return DK_ELIMIT;
  strcpy(buf, ev->number);
  uint8_t k[DK_HASH_BYTES];
  const uint8_t *v;
  size_t vlen;
  dk__number_key(n, buf, k);
  rc = dk_txn_get(t, DK_T_NUMBERS, k, sizeof(k), &v, &vlen);
  if (rc == 0)
    return DK_EEXIST;
  if (rc != DK_ENOTFOUND)
    return rc;
  char code[32];
  int year;
  uint64_t c, next;
  if (dk__number_parse(buf, code, sizeof(code), &year, &c) == 0 &&
      strcmp(code, n->cfg.code) == 0) {
    rc = counter_get(t, code, year, &next);
    if (rc == 0 && c >= next)
      rc = dk__counter_put(t, code, year, c + 1);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* ---- lookups ------------------------------------------------------------ */

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int dk_node_case_find(dk_node *n, const char *ref, uint8_t case_id[DK_HASH_BYTES]) {
  int rc = need_unlocked(n);
  if (rc != 0)
    return rc;
  size_t len = strlen(ref);
  if (len == 0 || len >= DK_CASE_NUMBER_BYTES * 2)
    return DK_ENOTFOUND;
  struct dk_txn t;
  rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  /* A case number first. */
  uint8_t nk[DK_HASH_BYTES];
  const uint8_t *v;
  size_t vlen;
  dk__number_key(n, ref, nk);
  rc = dk_txn_get(&t, DK_T_NUMBERS, nk, sizeof(nk), &v, &vlen);
  if (rc == 0) {
    rc = vlen == DK_HASH_BYTES ? 0 : DK_EFORMAT;
    if (rc == 0)
      memcpy(case_id, v, DK_HASH_BYTES);
    goto out;
  }
  if (rc != DK_ENOTFOUND)
    goto out;
  /* Then a hex id or a unique prefix of one (at least 4 digits). */
  rc = DK_ENOTFOUND;
  if (len < 4 || len > DK_HASH_BYTES * 2)
    goto out;
  uint8_t prefix[DK_HASH_BYTES];
  for (size_t i = 0; i < len; i++) {
    int h = hexval(ref[i]);
    if (h < 0)
      goto out;
    if (i % 2 == 0)
      prefix[i / 2] = (uint8_t)(h << 4);
    else
      prefix[i / 2] |= (uint8_t)h;
  }
  size_t whole = len / 2;
  int odd = len % 2;
  struct dk_iter it;
  rc = dk_iter_open(&t, DK_T_CASES, prefix, whole, &it);
  if (rc != 0)
    goto out;
  const uint8_t *k;
  size_t klen;
  int found = 0;
  while ((rc = dk_iter_next(&it, &k, &klen, NULL, NULL)) == 0) {
    if (klen != DK_HASH_BYTES)
      continue;
    if (odd && (k[whole] & 0xf0) != prefix[whole])
      continue;
    if (found++) {
      rc = DK_EAMBIGUOUS;
      break;
    }
    memcpy(case_id, k, DK_HASH_BYTES);
  }
  dk_iter_close(&it);
  if (rc == DK_ENOTFOUND)
    rc = found ? 0 : DK_ENOTFOUND;
out:
  dk_store_read_end(&t);
  return rc;
}

int dk_node_case_get(dk_node *n, const uint8_t case_id[DK_HASH_BYTES], struct dk_case_state *out) {
  int rc = need_unlocked(n);
  if (rc != 0)
    return rc;
  struct dk_txn t;
  rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  rc = dk__case_state_load(n, &t, case_id, out);
  dk_store_read_end(&t);
  return rc;
}

int dk_node_case_origin(dk_node *n, const uint8_t case_id[DK_HASH_BYTES], uint8_t log[DK_PK_BYTES],
                        uint64_t *seq) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  rc = dk_log_find(&t, case_id, log, seq);
  dk_store_read_end(&t);
  return rc;
}

int dk_node_case_foreach(dk_node *n, int (*cb)(void *ctx, const struct dk_case_state *s),
                         void *ctx) {
  int rc = need_unlocked(n);
  if (rc != 0)
    return rc;
  struct dk_txn t;
  rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  struct dk_iter it;
  struct dk_case_state s;
  dk_case_state_init(&s);
  rc = dk_iter_open(&t, DK_T_CASES, NULL, 0, &it);
  if (rc != 0)
    goto out;
  const uint8_t *k;
  size_t klen;
  while ((rc = dk_iter_next(&it, &k, &klen, NULL, NULL)) == 0) {
    if (klen != DK_HASH_BYTES) {
      rc = DK_EFORMAT;
      break;
    }
    rc = dk__case_state_load(n, &t, k, &s);
    if (rc != 0)
      break;
    rc = cb(ctx, &s);
    if (rc != 0)
      break;
  }
  if (rc == DK_ENOTFOUND)
    rc = 0;
  dk_iter_close(&it);
out:
  dk_case_state_release(&s);
  dk_store_read_end(&t);
  return rc;
}

#define REPORT_ROWS_META "report_rows.v"

int dk_node_report_foreach(dk_node *n, int (*cb)(void *ctx, const struct dk_case_state *s),
                           void *ctx) {
  int rc = need_unlocked(n);
  if (rc != 0)
    return rc;
  struct dk_txn t;
  rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  char v[8];
  if (dk__meta_get_str(&t, REPORT_ROWS_META, v, sizeof(v)) != 0 || strcmp(v, "1") != 0) {
    /* A store whose rows were never written (opened locked since its
     * upgrade): the whole states give the same figures, more slowly. */
    dk_store_read_end(&t);
    return dk_node_case_foreach(n, cb, ctx);
  }
  struct dk_iter it;
  struct dk_case_state s;
  struct dk_buf *pt = &n->scratch_state;
  dk_case_state_init(&s);
  rc = dk_iter_open(&t, DK_T_REPORT, NULL, 0, &it);
  if (rc != 0)
    goto out;
  const uint8_t *k, *val;
  size_t klen, vlen;
  uint8_t ad[64];
  size_t adlen;
  while ((rc = dk_iter_next(&it, &k, &klen, &val, &vlen)) == 0) {
    if (klen != DK_HASH_BYTES) {
      rc = DK_EFORMAT;
      break;
    }
    state_ad(ad, &adlen, DK_DOMAIN_REPORT_AD, k);
    dk_buf_reset(pt);
    rc = dk_aead_open(n->storage_key, ad, adlen, val, vlen, pt);
    if (rc == 0)
      rc = dk_case_report_decode(pt->data, pt->len, &s);
    /* A row that names another case than its key was moved: damage. */
    if (rc == 0 && memcmp(s.id, k, DK_HASH_BYTES) != 0)
      rc = DK_EFORMAT;
    if (rc == 0)
      rc = cb(ctx, &s);
    if (rc != 0)
      break;
  }
  if (rc == DK_ENOTFOUND)
    rc = 0;
  dk_iter_close(&it);
out:
  dk_buf_reset(pt);
  dk_case_state_release(&s);
  dk_store_read_end(&t);
  return rc;
}

/* One transaction of the fill: the report rows of up to
 * DK_INDEX_BATCH_ENTRIES cases after `from`, so that the dirty pages (kept
 * in the heap by LMDB) stay bounded however large the store. Restartable:
 * it writes only its outputs (next, done). */
struct fill_ctx {
  dk_node *n;
  uint8_t from[DK_HASH_BYTES];
  int have_from;
  uint8_t next[DK_HASH_BYTES];
  int done;
};

static int fill_fn(struct dk_txn *t, void *arg) {
  struct fill_ctx *c = arg;
  c->done = 0;
  char v[8];
  if (dk__meta_get_str(t, REPORT_ROWS_META, v, sizeof(v)) == 0 && strcmp(v, "1") == 0) {
    c->done = 1;
    return 0;
  }
  /* Rows left by an earlier fill that stopped go: they are written again. */
  int rc = c->have_from ? 0 : dk_txn_clear(t, DK_T_REPORT);
  struct dk_iter it;
  if (rc == 0)
    rc = c->have_from ? dk_iter_open_at(t, DK_T_CASES, c->from, DK_HASH_BYTES, &it)
                      : dk_iter_open(t, DK_T_CASES, NULL, 0, &it);
  if (rc != 0)
    return rc;
  /* Keys first: writing to the table an iterator walks is not allowed,
   * and the states are saved again through dk__case_state_save. */
  struct dk__keys ids = {0};
  const uint8_t *k;
  size_t klen;
  while (ids.count < DK_INDEX_BATCH_ENTRIES &&
         (rc = dk_iter_next(&it, &k, &klen, NULL, NULL)) == 0) {
    if (klen != DK_HASH_BYTES || (c->have_from && memcmp(k, c->from, DK_HASH_BYTES) == 0))
      continue;
    rc = dk__keys_push(&ids, k);
    if (rc != 0)
      break;
  }
  dk_iter_close(&it);
  int more = rc == 0 && ids.count == DK_INDEX_BATCH_ENTRIES;
  if (rc == DK_ENOTFOUND)
    rc = 0;
  struct dk_case_state s;
  dk_case_state_init(&s);
  for (size_t i = 0; i < ids.count && rc == 0; i++) {
    rc = dk__case_state_load(c->n, t, ids.k[i], &s);
    if (rc == 0)
      rc = dk__case_state_save(c->n, t, &s);
  }
  dk_case_state_release(&s);
  if (rc == 0 && more)
    memcpy(c->next, ids.k[ids.count - 1], DK_HASH_BYTES);
  dk__keys_free(&ids);
  if (rc == 0 && !more) {
    rc = dk__meta_put_str(t, REPORT_ROWS_META, "1");
    c->done = 1;
  }
  return rc;
}

int dk__report_rows_fill(dk_node *n) {
  if (!n->unlocked)
    return 0;
  /* Filled already (every store but one just upgraded): a read, no commit. */
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  char v[8];
  int have = dk__meta_get_str(&t, REPORT_ROWS_META, v, sizeof(v)) == 0 && strcmp(v, "1") == 0;
  dk_store_read_end(&t);
  if (have)
    return 0;
  struct fill_ctx c;
  memset(&c, 0, sizeof(c));
  c.n = n;
  while (rc == 0) {
    rc = dk_store_write(n->store, fill_fn, &c);
    if (rc != 0 || c.done)
      break;
    memcpy(c.from, c.next, DK_HASH_BYTES);
    c.have_from = 1;
  }
  return rc;
}

/* Reads and decrypts every event of a case this node holds. On success the
 * caller releases each event and frees the array. */
int dk__case_load_events(dk_node *n, struct dk_txn *t, const uint8_t *case_id,
                         struct dk_event **out, size_t *count) {
  struct dk_event *evs = NULL;
  size_t cnt = 0, cap = 0;
  struct dk_iter it;
  struct dk_buf *pt = &n->scratch_event;
  uint8_t *key = n->tmp_keys; /* slot 0 */
  int rc = dk__case_key_load(n, t, case_id, key);
  if (rc == 0)
    rc = dk_iter_open(t, DK_T_CASE_EVENTS, case_id, DK_HASH_BYTES, &it);
  if (rc != 0)
    goto out;
  const uint8_t *k;
  size_t klen;
  while ((rc = dk_iter_next(&it, &k, &klen, NULL, NULL)) == 0) {
    if (klen != DK_HASH_BYTES + DK_LOGKEY_BYTES) {
      rc = DK_EFORMAT;
      break;
    }
    if (cnt == DK_CASE_EVENTS_MAX) {
      rc = DK_ELIMIT;
      break;
    }
    const uint8_t *log = k + DK_HASH_BYTES;
    uint64_t seq = dk_be64_get(log + DK_PK_BYTES);
    struct dk_entry e;
    const uint8_t *body;
    size_t body_len;
    rc = dk_log_read(t, log, seq, &e, &body, &body_len);
    if (rc == DK_ENOTFOUND)
      rc = DK_EBADLINK; /* indexed but gone: not the end of the walk */
    if (rc != 0)
      break;
    /* An erasure takes the case key with the bodies, so a key held and a
     * body gone is damage, not an erasure: never a history with a hole. */
    rc = body == NULL ? DK_EBADBODY : dk_entry_check_body(&e, body, body_len);
    if (rc != 0)
      break;
    size_t skip = 0;
    if (e.h.type == DK_ENTRY_CASE_OPEN) {
      struct dk_grant g[DK_READERS_MAX];
      size_t gc;
      rc = dk_grants_parse(body, body_len, g, &gc, &skip);
      if (rc != 0)
        break;
    } else if (e.h.type != DK_ENTRY_CASE_EVENT) {
      continue; /* grants and other entry types carry no event */
    }
    dk_buf_reset(pt);
    rc = dk_body_open(key, e.h.log, e.h.seq, body + skip, body_len - skip, pt);
    if (rc != 0)
      break;
    if (cnt == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      struct dk_event *p = realloc(evs, ncap * sizeof(*p));
      if (p == NULL) {
        rc = DK_ENOMEM;
        break;
      }
      evs = p;
      cap = ncap;
    }
    dk_event_init(&evs[cnt]);
    rc = dk_event_decode(pt->data, pt->len, &evs[cnt]);
    if (rc != 0)
      break;
    memcpy(evs[cnt].id, e.id, DK_HASH_BYTES);
    memcpy(evs[cnt].author, e.h.log, DK_PK_BYTES);
    evs[cnt].seq = e.h.seq;
    evs[cnt].ts_ms = e.h.ts_ms;
    cnt++;
  }
  if (rc == DK_ENOTFOUND)
    rc = 0;
  dk_iter_close(&it);
out:
  sodium_memzero(key, DK_SYMKEY_BYTES);
  dk_buf_reset(pt);
  if (rc != 0) {
    for (size_t i = 0; i < cnt; i++)
      dk_event_release(&evs[i]);
    free(evs);
    return rc;
  }
  *out = evs;
  *count = cnt;
  return 0;
}

/* Sort key of the fold's tie-break, for listing events in a stable order. */
static int event_cmp(const void *a, const void *b) {
  const struct dk_event *x = a, *y = b;
  if (x->type == DK_EVENT_OPEN && y->type != DK_EVENT_OPEN)
    return -1;
  if (y->type == DK_EVENT_OPEN && x->type != DK_EVENT_OPEN)
    return 1;
  if (x->at_ms != y->at_ms)
    return x->at_ms < y->at_ms ? -1 : 1;
  if (x->ts_ms != y->ts_ms)
    return x->ts_ms < y->ts_ms ? -1 : 1;
  return memcmp(x->id, y->id, DK_HASH_BYTES);
}

int dk_node_case_events(dk_node *n, const uint8_t case_id[DK_HASH_BYTES],
                        int (*cb)(void *ctx, const struct dk_event *ev), void *ctx) {
  int rc = need_unlocked(n);
  if (rc != 0)
    return rc;
  struct dk_txn t;
  rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  struct dk_event *evs = NULL;
  size_t cnt = 0;
  rc = dk__case_load_events(n, &t, case_id, &evs, &cnt);
  dk_store_read_end(&t);
  if (rc != 0)
    return rc;
  qsort(evs, cnt, sizeof(*evs), event_cmp);
  for (size_t i = 0; i < cnt && rc == 0; i++)
    rc = cb(ctx, &evs[i]);
  for (size_t i = 0; i < cnt; i++)
    dk_event_release(&evs[i]);
  free(evs);
  return rc;
}

/* Refolds a case from every event the store holds (after entries from other
 * logs arrived out of order). */
int dk__case_refold(dk_node *n, struct dk_txn *t, const uint8_t *case_id) {
  struct dk_event *evs = NULL;
  size_t cnt = 0;
  struct dk_case_state s;
  dk_case_state_init(&s);
  int rc = dk__case_load_events(n, t, case_id, &evs, &cnt);
  if (rc != 0)
    return rc;
  rc = dk_case_fold(evs, cnt, &n->case_cfg, &s);
  if (rc == 0 && s.opened)
    rc = dk__case_state_save(n, t, &s);
  if (rc == 0 && s.opened && s.number && s.number[0]) {
    /* Cases from other offices are found by their number here too. */
    uint8_t nk[DK_HASH_BYTES];
    dk__number_key(n, s.number, nk);
    rc = dk_txn_put(t, DK_T_NUMBERS, nk, sizeof(nk), s.id, DK_HASH_BYTES);
  }
  dk_case_state_release(&s);
  for (size_t i = 0; i < cnt; i++)
    dk_event_release(&evs[i]);
  free(evs);
  return rc;
}

/* The case indexer's cursor: how far through the log the case tables are. */
#define CURSOR_KEY "cases"

int dk__index_cursor(struct dk_txn *t, uint64_t *pos) {
  const uint8_t *v;
  size_t vlen;
  int rc = dk_txn_get(t, DK_T_INDEXERS, CURSOR_KEY, strlen(CURSOR_KEY), &v, &vlen);
  if (rc == DK_ENOTFOUND) {
    *pos = 1;
    return 0;
  }
  if (rc != 0)
    return rc;
  if (vlen != 8)
    return DK_EFORMAT;
  *pos = dk_be64_get(v);
  return 0;
}

int dk__index_cursor_set(struct dk_txn *t, uint64_t pos) {
  uint8_t v[8];
  dk_be64_put(v, pos);
  return dk_txn_put(t, DK_T_INDEXERS, CURSOR_KEY, strlen(CURSOR_KEY), v, sizeof(v));
}

int dk__index_local(struct dk_txn *t, uint64_t first_pos) {
  uint64_t cur, end;
  int rc = dk__index_cursor(t, &cur);
  if (rc == 0)
    rc = dk_log_end(t, &end);
  if (rc == 0 && cur == first_pos && end > cur)
    rc = dk__index_cursor_set(t, end);
  return rc;
}
