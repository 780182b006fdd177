/*
 * docket verify: every entry of every log, checked from the bytes up.
 *
 * Signatures dominate the cost, so each batch of entries is verified on two
 * threads (the machine's two cores); everything else runs on the caller's.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "node/cases/cases_int.h"
#include "node/log/log.h"
#include "node/node_int.h"
#include "node/trust/trust_int.h"

#define VERIFY_BATCH 2048
/* Missing entries named one by one before the rest are summed up. */
#define MISSING_NAMED_MAX 16

struct sig_job {
  struct dk_entry *entries;
  const int *parsed; /* entries that did not decode hold no header to check */
  int *ok;
  size_t from, count, step;
};

static void *sig_worker(void *arg) {
  struct sig_job *j = arg;
  for (size_t i = j->from; i < j->count; i += j->step)
    j->ok[i] = j->parsed[i] && dk_entry_verify_sig(&j->entries[i]) == 0;
  return NULL;
}

/* Per-entry facts gathered in the sequential pass. */
struct pending {
  uint64_t seq;
  uint8_t log[DK_PK_BYTES];
  int parsed; /* 0 when the stored bytes did not even decode */
};

struct verify_state {
  dk_node *n;
  struct dk_txn *t;
  void (*on_problem)(void *ctx, const struct dk_verify_problem *p);
  void *ctx;
  struct dk_verify_report *rep;
  /* The previous entry of the current log. */
  int have_prev;
  int prev_damaged; /* the previous entry failed its own checks */
  uint8_t prev_log[DK_PK_BYTES];
  uint64_t prev_seq, prev_ts;
  uint8_t prev_id[DK_HASH_BYTES];
  /* The last case asked about for a missing body (they come in runs). */
  int have_cover, covered;
  uint8_t cover_case[DK_HASH_BYTES];
  uint8_t *key; /* scratch case key, sodium_malloc */
  struct dk_buf pt;
  /* The last case named in a problem, and its number. */
  int have_number;
  uint8_t number_case[DK_HASH_BYTES];
  char number[DK_CASE_NUMBER_BYTES];
};

/* The number of a case, within t. The sealed state comes first: its AEAD
 * tag fails on any damage, so a number it yields is the one this node
 * wrote. Failing that, the signed opening entry's event names it (its body
 * hash, then its decryption, vouch for it). */
static void case_number_txn(dk_node *n, struct dk_txn *t, const uint8_t *case_id, uint8_t *key,
                            struct dk_buf *pt, char out[DK_CASE_NUMBER_BYTES]) {
  out[0] = 0;
  if (!n->unlocked)
    return;
  struct dk_case_state cs;
  dk_case_state_init(&cs);
  int rc = dk__case_state_load(n, t, case_id, &cs);
  if (rc == 0 && cs.number && strlen(cs.number) < DK_CASE_NUMBER_BYTES)
    strcpy(out, cs.number);
  dk_case_state_release(&cs);
  if (out[0])
    return;
  uint8_t log[DK_PK_BYTES];
  uint64_t seq;
  struct dk_entry e;
  const uint8_t *body = NULL;
  size_t blen = 0, gc = 0, skip = 0;
  struct dk_grant g[DK_READERS_MAX];
  if (dk_log_find(t, case_id, log, &seq) != 0 || dk_log_read(t, log, seq, &e, &body, &blen) != 0 ||
      body == NULL || e.h.type != DK_ENTRY_CASE_OPEN ||
      memcmp(e.id, case_id, DK_HASH_BYTES) != 0 || dk_entry_check_body(&e, body, blen) != 0 ||
      dk_grants_parse(body, blen, g, &gc, &skip) != 0 ||
      dk__case_key_load(n, t, case_id, key) != 0)
    return;
  dk_buf_reset(pt);
  if (dk_body_open(key, e.h.log, e.h.seq, body + skip, blen - skip, pt) != 0)
    return;
  struct dk_event ev;
  dk_event_init(&ev);
  if (dk_event_decode(pt->data, pt->len, &ev) == 0 && ev.number &&
      strlen(ev.number) < DK_CASE_NUMBER_BYTES)
    strcpy(out, ev.number);
  dk_event_release(&ev);
  dk_buf_reset(pt);
}

void dk_node_case_number(dk_node *n, const uint8_t case_id[DK_HASH_BYTES],
                         char out[DK_CASE_NUMBER_BYTES]) {
  out[0] = 0;
  struct dk_txn t;
  struct dk_buf pt;
  uint8_t *key = sodium_malloc(DK_SYMKEY_BYTES);
  dk_buf_init_secure(&pt);
  if (key != NULL && dk_store_read_begin(n->store, &t) == 0) {
    case_number_txn(n, &t, case_id, key, &pt, out);
    dk_store_read_end(&t);
  }
  sodium_free(key);
  dk_buf_release(&pt);
}

int dk_node_check_pages(const char *dir,
                        void (*cb)(void *ctx, const char *table, uint64_t page, const char *what),
                        void *ctx, uint64_t *damaged) {
  dk_store *s;
  *damaged = 0;
  int rc = dk_store_open(dir, DK_STORE_UNCHECKED, &s);
  if (rc != 0)
    return rc;
  rc = dk_store_check(s, cb, ctx, damaged);
  dk_store_close(s);
  return rc;
}

/* Reports a problem of entry (log, seq); case_id is the case its header
 * names, or NULL when it is not known. */
static void problem_in(struct verify_state *v, const uint8_t *log, uint64_t seq,
                       const uint8_t *case_id, int code, const char *what) {
  static const uint8_t none[DK_HASH_BYTES];
  struct dk_verify_problem p;
  memcpy(p.log, log, DK_PK_BYTES);
  p.seq = seq;
  p.code = code;
  p.what = what;
  p.case_id = case_id && memcmp(case_id, none, DK_HASH_BYTES) != 0 ? case_id : NULL;
  p.case_number = "";
  if (p.case_id) {
    /* Problems come in runs for one case: look its number up once. */
    if (!v->have_number || memcmp(v->number_case, p.case_id, DK_HASH_BYTES) != 0) {
      case_number_txn(v->n, v->t, p.case_id, v->key, &v->pt, v->number);
      memcpy(v->number_case, p.case_id, DK_HASH_BYTES);
      v->have_number = 1;
    }
    p.case_number = v->number;
  }
  v->rep->problems++;
  if (v->on_problem)
    v->on_problem(v->ctx, &p);
}

static void problem(struct verify_state *v, const uint8_t *log, uint64_t seq, int code,
                    const char *what) {
  problem_in(v, log, seq, NULL, code, what);
}

/* The case an entry belongs to: its own id for an opening entry. */
static const uint8_t *entry_case(const struct dk_entry *e) {
  if (e->h.type == DK_ENTRY_CASE_OPEN)
    return e->id;
  return e->h.has_case ? e->h.case_id : NULL;
}

/* Body checks for an entry whose header parsed: hash, then (when this node
 * can read it) decryption and decoding of the event. */
/* What check_body found, reported later in entry order. */
struct body_result {
  int code; /* 0: fine */
  const char *what;
};

#define BODY_FAIL(c, w)                                                                    \
  do {                                                                                     \
    r->code = (c);                                                                         \
    r->what = (w);                                                                         \
    return;                                                                                \
  } while (0)

static void check_body(struct verify_state *v, const struct dk_entry *e, uint64_t pos,
                       struct body_result *r) {
  r->code = 0;
  r->what = NULL;
  uint8_t key[8];
  dk_be64_put(key, pos);
  const uint8_t *body;
  size_t blen;
  int rc = dk_txn_get(v->t, DK_T_BODIES, key, sizeof(key), &body, &blen);
  if (rc == DK_ENOTFOUND) {
    /* Only an honoured erasure removes bodies, and never an erase entry's
     * own: any other missing body is damage. */
    const uint8_t *cid = e->h.type == DK_ENTRY_CASE_OPEN ? e->id : e->h.case_id;
    static const uint8_t none[DK_HASH_BYTES];
    if (e->h.type == DK_ENTRY_ERASE || memcmp(cid, none, DK_HASH_BYTES) == 0)
      BODY_FAIL(DK_EBADBODY, "body missing");
    if (!v->have_cover || memcmp(v->cover_case, cid, DK_HASH_BYTES) != 0) {
      int crc = dk__erase_covers(v->t, cid);
      if (crc < 0)
        BODY_FAIL(crc, "body missing; its case's erase entries unreadable");
      memcpy(v->cover_case, cid, DK_HASH_BYTES);
      v->covered = crc;
      v->have_cover = 1;
    }
    if (!v->covered)
      BODY_FAIL(DK_EBADBODY, "body missing and no erase entry covers its case");
    v->rep->bodies_erased++;
    return;
  }
  if (rc != 0) {
    BODY_FAIL(rc, "body unreadable");
  }
  v->rep->bodies_checked++;
  if (dk_entry_check_body(e, body, blen) != 0) {
    BODY_FAIL(DK_EBADBODY, "body does not match the signed hash");
  }
  if (!v->n->unlocked)
    return;
  struct dk_grant g[DK_READERS_MAX];
  size_t gc = 0, skip = 0;
  const uint8_t *case_id = e->h.case_id;
  if (e->h.type == DK_ENTRY_CASE_OPEN || e->h.type == DK_ENTRY_KEY_GRANT) {
    if (dk_grants_parse(body, blen, g, &gc, &skip) != 0) {
      BODY_FAIL(DK_EFORMAT, "grants block malformed");
    }
    if (e->h.type == DK_ENTRY_KEY_GRANT)
      return;
    case_id = e->id;
  }
  rc = dk__case_key_load(v->n, v->t, case_id, v->key);
  if (rc == DK_ENOKEY)
    return; /* a case this node may store but not read */
  if (rc != 0) {
    BODY_FAIL(rc, "case key unreadable");
  }
  dk_buf_reset(&v->pt);
  if (dk_body_open(v->key, e->h.log, e->h.seq, body + skip, blen - skip, &v->pt) != 0) {
    BODY_FAIL(DK_EBADBODY, "body does not decrypt");
  }
  struct dk_event ev;
  dk_event_init(&ev);
  int drc = dk_event_decode(v->pt.data, v->pt.len, &ev);
  dk_event_release(&ev);
  if (drc != 0)
    BODY_FAIL(DK_EFORMAT, "event does not decode");
  v->rep->bodies_decrypted++;
}

/* Link and head checks, in log order. The id of each entry is checked by
 * the next entry's link (and the last one's by the head): format 2 keeps
 * no per-entry id index. */
static void check_sequence(struct verify_state *v, const struct dk_entry *e, int damaged) {
  if (!v->have_prev || memcmp(v->prev_log, e->h.log, DK_PK_BYTES) != 0) {
    v->rep->logs++;
    v->have_prev = 1;
    memcpy(v->prev_log, e->h.log, DK_PK_BYTES);
    v->prev_seq = 0;
    v->prev_ts = 0;
    memset(v->prev_id, 0, DK_HASH_BYTES);
    v->prev_damaged = 0;
  }
  int rc;
  if (e->h.seq > v->prev_seq + 1) {
    /* Entries are gone between the previous one and this: the damage is
     * theirs, so name them (the first few) rather than blame this entry,
     * whose link can no longer be checked. */
    uint64_t first = v->prev_seq + 1;
    for (uint64_t seq = first; seq < e->h.seq && seq < first + MISSING_NAMED_MAX; seq++)
      problem(v, e->h.log, seq, DK_ENOTFOUND, "entry missing from the log");
    if (e->h.seq - first > MISSING_NAMED_MAX)
      problem(v, e->h.log, first + MISSING_NAMED_MAX, DK_ENOTFOUND,
              "more entries missing, up to the next one present");
    rc = e->h.ts_ms < v->prev_ts ? DK_ETIME : 0;
  } else {
    /* After a damaged entry its true id is unknown: this entry's prev (which
     * its own signature vouches for) is the best record of it, so only the
     * seq is checked here; the damage was already reported. */
    const uint8_t *prev_id = v->prev_damaged && e->h.has_prev ? e->h.prev : v->prev_id;
    rc = dk_entry_check_link(e, v->prev_seq, prev_id, v->prev_ts);
    /* The previous entry failed its own checks, and this one, whose
     * signature holds, links to another id: the previous entry's bytes are
     * not the ones its successor signed for. */
    if (v->prev_damaged && !damaged && e->h.has_prev && v->prev_seq + 1 == e->h.seq &&
        memcmp(e->h.prev, v->prev_id, DK_HASH_BYTES) != 0)
      problem(v, e->h.log, v->prev_seq, DK_EBADID,
              "entry id is not the one the next entry links to");
  }
  if (rc == DK_ETIME)
    problem_in(v, e->h.log, e->h.seq, entry_case(e), rc, "timestamp goes backwards");
  else if (rc != 0)
    problem_in(v, e->h.log, e->h.seq, entry_case(e), rc, "does not link to the previous entry");
  v->prev_seq = e->h.seq;
  v->prev_ts = e->h.ts_ms;
  memcpy(v->prev_id, e->id, DK_HASH_BYTES);
  v->prev_damaged = damaged;
}

static int check_heads(struct verify_state *v) {
  struct dk_iter it;
  int rc = dk_iter_open(v->t, DK_T_HEADS, NULL, 0, &it);
  if (rc != 0)
    return rc;
  const uint8_t *k, *val;
  size_t klen, vlen;
  while ((rc = dk_iter_next(&it, &k, &klen, &val, &vlen)) == 0) {
    if (klen != DK_PK_BYTES)
      continue;
    struct dk_head h;
    struct dk_entry e;
    if (dk_log_head(v->t, k, &h) != 0 || dk_log_read(v->t, k, h.seq, &e, NULL, NULL) != 0 ||
        memcmp(e.id, h.id, DK_HASH_BYTES) != 0) {
      problem(v, k, h.seq, DK_EBADID, "log head does not match its last entry");
      continue;
    }
    uint64_t npos;
    if (dk_log_pos(v->t, k, h.seq + 1, &npos) == 0)
      problem(v, k, h.seq + 1, DK_EBADLINK, "entries past the recorded head");
  }
  dk_iter_close(&it);
  return rc == DK_ENOTFOUND ? 0 : rc;
}

/* Logs held with entries this node would not accept today (TRUST.md,
 * "Authorisation of logs"): named from their first such entry. */
static int check_authorised(struct verify_state *v) {
  struct dk_iter it;
  int rc = dk_iter_open(v->t, DK_T_LOGS, NULL, 0, &it);
  if (rc != 0)
    return rc;
  const uint8_t *k, *val;
  size_t klen, vlen;
  while ((rc = dk_iter_next(&it, &k, &klen, &val, &vlen)) == 0) {
    struct dk_office_info info;
    struct dk_head h;
    uint64_t cap;
    int why;
    if (klen != DK_PK_BYTES || dk_office_body_decode(val, vlen, &info) != 0 ||
        dk_log_head(v->t, k, &h) != 0)
      continue; /* damage, reported by the other checks */
    rc = dk__trust_relay_cap(v->n, v->t, k, &info, h.seq, &cap, &why);
    if (rc != 0)
      break;
    if (cap < h.seq)
      problem(v, k, cap + 1, why == DK_ECERT ? DK_ECERT : DK_EUNAUTH,
              why == DK_ECERT ? "written after its key was revoked: not relayed from here"
              : cap == 0 ? "log not authorised: its key holds no certificate (or pin) for the "
                           "office it claims; not relayed, its cases are not to be trusted"
                         : "written when its key held no certificate for its office: not "
                           "relayed from here");
  }
  dk_iter_close(&it);
  return rc == DK_ENOTFOUND ? 0 : rc;
}

int dk_node_verify(dk_node *n, void (*on_problem)(void *ctx, const struct dk_verify_problem *p),
                   void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx,
                   struct dk_verify_report *out) {
  struct dk_txn t;
  struct verify_state v;
  memset(&v, 0, sizeof(v));
  memset(out, 0, sizeof(*out));
  struct dk_entry *batch = malloc(sizeof(*batch) * VERIFY_BATCH);
  int *ok = malloc(sizeof(int) * VERIFY_BATCH);
  int *parsed = malloc(sizeof(int) * VERIFY_BATCH);
  struct body_result *bres = malloc(sizeof(*bres) * VERIFY_BATCH);
  uint8_t(*keys)[DK_LOGKEY_BYTES] = malloc(DK_LOGKEY_BYTES * VERIFY_BATCH);
  uint64_t *poss = malloc(sizeof(uint64_t) * VERIFY_BATCH);
  v.key = sodium_malloc(DK_SYMKEY_BYTES);
  dk_buf_init_secure(&v.pt);
  int rc = (batch && ok && parsed && keys && poss && v.key && bres) ? 0 : DK_ENOMEM;
  if (rc != 0)
    goto done;
  rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    goto done;
  v.n = n;
  v.t = &t;
  v.on_problem = on_problem;
  v.ctx = ctx;
  v.rep = out;
  uint64_t total = 0;
  dk_txn_count(&t, DK_T_ENTRIES, &total);
  dk_txn_count(&t, DK_T_FORKS, &out->forks);

  /* Log by log in seq order: the runs table, in key order, says where each
   * stretch of a log lies. */
  struct dk_iter it;
  rc = dk_iter_open(&t, DK_T_RUNS, NULL, 0, &it);
  if (rc != 0)
    goto out;
  uint8_t run_log[DK_PK_BYTES];
  uint64_t run_seq = 0, run_pos = 0, run_left = 0;
  int end = 0;
  while (!end) {
    size_t cnt = 0;
    const uint8_t *k, *val;
    size_t klen, vlen;
    while (cnt < VERIFY_BATCH) {
      if (run_left == 0) {
        rc = dk_iter_next(&it, &k, &klen, &val, &vlen);
        if (rc == DK_ENOTFOUND) {
          end = 1;
          rc = 0;
          break;
        }
        if (rc != 0)
          break;
        if (klen != DK_LOGKEY_BYTES || vlen != 16) {
          out->problems++;
          continue;
        }
        memcpy(run_log, k, DK_PK_BYTES);
        run_seq = dk_be64_get(k + DK_PK_BYTES);
        run_pos = dk_be64_get(val);
        run_left = dk_be64_get(val + 8);
        continue;
      }
      uint8_t pk[8];
      dk_be64_put(pk, run_pos);
      memcpy(keys[cnt], run_log, DK_PK_BYTES);
      dk_be64_put(keys[cnt] + DK_PK_BYTES, run_seq);
      poss[cnt] = run_pos;
      run_pos++;
      run_seq++;
      run_left--;
      rc = dk_txn_get(&t, DK_T_ENTRIES, pk, sizeof(pk), &val, &vlen);
      if (rc == DK_ENOTFOUND) {
        /* Named by the gap check of the next entry present. */
        rc = 0;
        continue;
      }
      if (rc != 0)
        break;
      int prc = dk_log_decode_stored(val, vlen, &batch[cnt]);
      parsed[cnt] = prc == 0 && memcmp(batch[cnt].h.log, keys[cnt], DK_PK_BYTES) == 0 &&
                    batch[cnt].h.seq == dk_be64_get(keys[cnt] + DK_PK_BYTES);
      ok[cnt] = 0;
      cnt++;
    }
    if (rc != 0)
      break;
    /* Signatures on two threads while this one checks the bodies (hash,
     * decryption, decoding): the machine's two cores stay busy on the
     * costliest part, and the body work is hidden behind it. Results are
     * reported afterwards, in entry order. */
    struct sig_job a = {batch, parsed, ok, 0, cnt, 2}, b = {batch, parsed, ok, 1, cnt, 2};
    pthread_t tha, thb;
    int ta = pthread_create(&tha, NULL, sig_worker, &a) == 0;
    int tb = pthread_create(&thb, NULL, sig_worker, &b) == 0;
    for (size_t i = 0; i < cnt; i++) {
      bres[i].code = 0;
      if (parsed[i])
        check_body(&v, &batch[i], poss[i], &bres[i]);
    }
    if (ta)
      pthread_join(tha, NULL);
    else
      sig_worker(&a);
    if (tb)
      pthread_join(thb, NULL);
    else
      sig_worker(&b);
    for (size_t i = 0; i < cnt; i++) {
      out->entries++;
      const uint8_t *log = keys[i];
      uint64_t seq = dk_be64_get(keys[i] + DK_PK_BYTES);
      if (!parsed[i]) {
        problem(&v, log, seq, DK_EFORMAT, "entry header is malformed");
        v.have_prev = 1; /* later entries of this log will show a broken link */
        memcpy(v.prev_log, log, DK_PK_BYTES);
        v.prev_seq = seq;
        v.prev_damaged = 1;
        memset(v.prev_id, 0, DK_HASH_BYTES);
        continue;
      }
      const uint8_t *cid = entry_case(&batch[i]);
      if (!ok[i])
        problem_in(&v, log, seq, cid, DK_EBADSIG, "signature does not verify");
      check_sequence(&v, &batch[i], !ok[i]);
      if (bres[i].code != 0)
        problem_in(&v, log, seq, cid, bres[i].code, bres[i].what);
    }
    if (progress)
      progress(ctx, out->entries, total);
  }
  dk_iter_close(&it);
  if (rc == 0)
    rc = check_heads(&v);
  if (rc == 0)
    rc = check_authorised(&v);
out:
  dk_store_read_end(&t);
done:
  free(batch);
  free(ok);
  free(parsed);
  free(bres);
  free(keys);
  free(poss);
  sodium_free(v.key);
  dk_buf_release(&v.pt);
  return rc;
}
