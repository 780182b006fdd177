/*
 * Verifying an audit bundle from its bytes alone (node/trust/audit.h).
 *
 * The procedure is the one docs/PROTOCOL.md §12.4 writes down for other
 * implementations: walk the chunks, check every entry of every log from
 * seq 1 (encoding, signature, link, time, body hash), then the witnesses,
 * the fork proofs, the case's entries and its erasure, the certificates of
 * their authors, witnesses and reader when the caller gives a trusted root
 * (never the one the bundle names), and the digest last,
 * so that a changed byte is named by the check it breaks rather than only
 * by the digest. Malformed structure stops the walk; a failed entry check
 * does not, so every damaged entry is named.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/mp.h"
#include "node/trust/audit.h"
#include "node/log/entry.h"
#include "node/cases/erase.h"
#include "node/trust/trust.h"

struct vlog {
  struct dk_audit_log pub;
  int have_office;
  char role[16]; /* from its office block */
  int prev_damaged;
  uint8_t prev_id[DK_HASH_BYTES];
  uint64_t prev_ts;
  uint8_t (*ids)[DK_HASH_BYTES]; /* ids[seq - 1] */
  size_t ids_cap;
};

struct vwitness {
  size_t plog;
  uint64_t pseq;
  uint64_t ts_ms; /* the witness entry's own time */
  struct dk_witness w;
};

struct vcase {
  struct dk_entry e;
  size_t log_index;
  uint8_t *body; /* copy, NULL when not carried or not matching its hash */
  size_t body_len;
};

struct vfork {
  struct dk_entry e;
};

/* A certificate or revocation signed by the bundle's root, found in the
 * district's log: only what the author checks need. */
struct vstatement {
  uint64_t type;
  uint8_t key[DK_PK_BYTES];
  char office[DK_NAME_BYTES_MAX];
  char role[16];
  uint64_t not_before_ms, not_after_ms, revoked_at_ms;
};

struct vctx {
  struct dk_audit_result *out;
  const uint8_t *root; /* the trusted root, or NULL */
  int first_code;
  struct vlog *logs;
  size_t nlogs;
  struct vwitness *wits;
  size_t nwits, wits_cap;
  struct vcase *cases;
  size_t ncases, cases_cap;
  struct vfork *forks;
  size_t nforks, forks_cap;
  struct vstatement *stmts;
  size_t nstmts, stmts_cap;
  int has_wrap;
  uint8_t wrap_reader[DK_PK_BYTES];
  uint8_t wrapped[DK_SEALED_KEY_BYTES];
};

static const uint8_t NO_LOG[DK_PK_BYTES];

static void fail(struct vctx *v, const uint8_t *log, uint64_t seq, int code, const char *what) {
  struct dk_audit_result *r = v->out;
  if (v->first_code == 0)
    v->first_code = code;
  r->failures_total++;
  if (r->failures == NULL || r->failures_count == DK_AUDIT_FAILURES_MAX)
    return;
  struct dk_audit_failure *f = &r->failures[r->failures_count++];
  memcpy(f->log, log ? log : NO_LOG, DK_PK_BYTES);
  f->seq = seq;
  f->code = code;
  f->what = what;
}

/* Grows *arr (of elem-sized items) to hold one more. */
static int grow(void *arr, size_t *cap, size_t count, size_t elem, size_t max) {
  if (count < *cap)
    return 0;
  if (count >= max)
    return DK_ELIMIT;
  size_t ncap = *cap ? *cap * 2 : 16;
  if (ncap > max)
    ncap = max;
  void *p = realloc(*(void **)arr, ncap * elem);
  if (p == NULL)
    return DK_ENOMEM;
  *(void **)arr = p;
  *cap = ncap;
  return 0;
}

static int find_log(const struct vctx *v, const uint8_t *key, size_t *idx) {
  for (size_t i = 0; i < v->nlogs; i++)
    if (memcmp(v->logs[i].pub.key, key, DK_PK_BYTES) == 0) {
      *idx = i;
      return 1;
    }
  return 0;
}

static int is_proper_ancestor(const char *above, const char *below) {
  size_t al = strlen(above);
  return strncmp(above, below, al) == 0 && below[al] == '/';
}

/* Does subtree cover office (itself or below it)? */
static int covers(const char *subtree, const char *office) {
  size_t sl = strlen(subtree);
  return strncmp(subtree, office, sl) == 0 && (office[sl] == 0 || office[sl] == '/');
}

/* ---- chunks --------------------------------------------------------------------- */

static int head_chunk(struct vctx *v, const msgpack_object *o) {
  struct dk_audit_result *r = v->out;
  char tag[8];
  uint64_t version;
  if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 7)
    return DK_EFORMAT;
  const msgpack_object *f = o->via.array.ptr;
  if (dk_mp_get_str(&f[0], tag, sizeof(tag)) != 0 || strcmp(tag, "audit") != 0 ||
      dk_mp_get_u64(&f[1], &version) != 0)
    return DK_EFORMAT;
  if (version != DK_AUDIT_VERSION)
    return DK_EVERSION;
  if (dk_mp_get_bin_fixed(&f[2], r->case_id, DK_HASH_BYTES) != 0 ||
      dk_mp_get_u64(&f[3], &r->created_ms) != 0 ||
      dk_mp_get_bin_fixed(&f[4], r->writer, DK_PK_BYTES) != 0)
    return DK_EFORMAT;
  /* The root the writer trusts, or nil. Shown, never trusted: whoever
   * wrote the bundle chose it. */
  if (f[5].type != MSGPACK_OBJECT_NIL) {
    if (dk_mp_get_bin_fixed(&f[5], r->head_root, DK_PK_BYTES) != 0)
      return DK_EFORMAT;
    r->has_head_root = 1;
  }
  if (f[6].type == MSGPACK_OBJECT_NIL)
    return 0;
  if (f[6].type != MSGPACK_OBJECT_ARRAY || f[6].via.array.size != 2 ||
      dk_mp_get_bin_fixed(&f[6].via.array.ptr[0], v->wrap_reader, DK_PK_BYTES) != 0 ||
      dk_mp_get_bin_fixed(&f[6].via.array.ptr[1], v->wrapped, DK_SEALED_KEY_BYTES) != 0)
    return DK_EFORMAT;
  v->has_wrap = 1;
  r->has_reader = 1;
  memcpy(r->reader, v->wrap_reader, DK_PK_BYTES);
  return 0;
}

static int is_case_entry(const struct vctx *v, const struct dk_entry *e) {
  const uint8_t *c = v->out->case_id;
  if (e->h.type == DK_ENTRY_CASE_OPEN)
    return memcmp(e->id, c, DK_HASH_BYTES) == 0;
  return e->h.has_case && memcmp(e->h.case_id, c, DK_HASH_BYTES) == 0;
}

static int is_statement_type(uint64_t type) {
  return type == DK_ENTRY_CERT || type == DK_ENTRY_REVOKE || type == DK_ENTRY_AUDITOR;
}

/* A statement entry (certificate, revocation, auditor grant) that passed
 * its checks: trusted when its log is the district's (an office of one
 * segment) and the trusted root signed it. A statement naming another root
 * is not trusted, as a node ignores it too; one naming the trusted root
 * that does not verify is a failure. Returns DK_ENOMEM only. */
static int statement(struct vctx *v, size_t li, const struct dk_entry *e, const uint8_t *body,
                     size_t blen) {
  struct dk_audit_result *r = v->out;
  const struct vlog *l = &v->logs[li];
  if (!r->has_root || !l->have_office || strchr(l->pub.office, '/') != NULL)
    return 0;
  struct dk_statement *s = malloc(sizeof(*s));
  if (s == NULL)
    return DK_ENOMEM;
  int rc = dk_statement_open(e->h.type, body, blen, r->root, s);
  if (rc == DK_EAUTH) {
    r->statements_ignored++;
    rc = 0;
    goto out;
  }
  if (rc != 0) {
    if (rc != DK_ENOMEM)
      fail(v, e->h.log, e->h.seq, rc == DK_EBADSIG ? DK_EBADSIG : DK_EFORMAT,
           rc == DK_EBADSIG ? "statement's root signature does not verify"
                            : "statement malformed");
    rc = rc == DK_ENOMEM ? rc : 0;
    goto out;
  }
  rc = grow(&v->stmts, &v->stmts_cap, v->nstmts, sizeof(*v->stmts),
            SIZE_MAX / sizeof(*v->stmts));
  if (rc != 0)
    goto out;
  struct vstatement *vs = &v->stmts[v->nstmts++];
  memset(vs, 0, sizeof(*vs));
  vs->type = s->type;
  memcpy(vs->key, s->key, DK_PK_BYTES);
  memcpy(vs->office, s->office, sizeof(vs->office));
  memcpy(vs->role, s->role, sizeof(vs->role));
  vs->not_before_ms = s->not_before_ms;
  vs->not_after_ms = s->not_after_ms;
  vs->revoked_at_ms = s->revoked_at_ms;
  r->statements++;
out:
  free(s);
  return rc;
}

/* One entry of a log chunk at seq. Returns DK_ENOMEM only; every check
 * failure is recorded and the walk goes on. */
static int one_entry(struct vctx *v, size_t li, uint64_t seq, const uint8_t *hb, size_t hl,
                     const uint8_t *sig, const uint8_t *body, size_t blen, int has_body) {
  struct vlog *l = &v->logs[li];
  const uint8_t *key = l->pub.key;
  int rc = grow(&l->ids, &l->ids_cap, seq - 1, DK_HASH_BYTES, SIZE_MAX / DK_HASH_BYTES);
  if (rc != 0)
    return rc;
  l->pub.last_seq = seq;
  v->out->entries_checked++;
  struct dk_entry e;
  if (hl == 0 || hl > DK_HEADER_BYTES_MAX || dk_entry_parse(&e, hb, hl, sig) != 0) {
    fail(v, key, seq, DK_EFORMAT, "entry header is malformed");
    memset(l->ids[seq - 1], 0, DK_HASH_BYTES);
    l->prev_damaged = 1;
    l->pub.broken = 1;
    return 0;
  }
  memcpy(l->ids[seq - 1], e.id, DK_HASH_BYTES);
  int damaged = 0;
  if (memcmp(e.h.log, key, DK_PK_BYTES) != 0 || e.h.seq != seq) {
    fail(v, key, seq, DK_EFORMAT, "entry header names another log or position");
    damaged = 1;
  }
  if (dk_entry_verify_sig(&e) != 0) {
    fail(v, key, seq, DK_EBADSIG, "signature does not verify");
    damaged = 1;
  }
  if (!damaged) {
    /* After a damaged entry its true id is unknown: the link is judged by
     * this entry's own (signed) prev, so only seq and time are checked. */
    const uint8_t *prev = l->prev_damaged && e.h.has_prev ? e.h.prev : l->prev_id;
    int lrc = dk_entry_check_link(&e, seq - 1, prev, l->prev_ts);
    if (lrc == DK_ETIME)
      fail(v, key, seq, DK_ETIME, "timestamp goes backwards");
    else if (lrc != 0)
      fail(v, key, seq, DK_EBADLINK, "does not link to the previous entry");
    damaged = lrc != 0;
  }
  int body_ok = 0;
  if (has_body) {
    v->out->bodies_checked++;
    if (dk_entry_check_body(&e, body, blen) != 0) {
      fail(v, key, seq, DK_EBADBODY, "body does not match the signed hash");
      damaged = 1;
    } else {
      body_ok = 1;
    }
  }
  if (seq == 1) {
    struct dk_office_info info;
    if (e.h.type != DK_ENTRY_OFFICE || !body_ok ||
        dk_office_body_decode(body, blen, &info) != 0) {
      fail(v, key, seq, DK_EFORMAT, "office entry missing, malformed or without its body");
      damaged = 1;
    } else {
      memcpy(l->pub.office, info.office, DK_NAME_BYTES_MAX);
      memcpy(l->role, info.role, sizeof(l->role));
      l->have_office = 1;
    }
  }
  if (damaged)
    l->pub.broken = 1;
  l->prev_damaged = damaged;
  memcpy(l->prev_id, e.id, DK_HASH_BYTES);
  l->prev_ts = e.h.ts_ms;
  if (damaged)
    return 0;
  if (is_statement_type(e.h.type) && body_ok) {
    rc = statement(v, li, &e, body, blen);
    if (rc != 0)
      return rc;
  } else if (is_statement_type(e.h.type) && !has_body && v->out->has_root && l->have_office &&
             strchr(l->pub.office, '/') == NULL) {
    /* Statements are never erased: a writer that leaves one out could hide
     * a revocation. */
    fail(v, key, seq, DK_ENOTFOUND, "statement carried without its body");
  }
  if (e.h.type == DK_ENTRY_WITNESS && body_ok) {
    struct dk_witness w;
    if (dk_witness_body_decode(body, blen, &w) != 0) {
      fail(v, key, seq, DK_EFORMAT, "witness block malformed");
      return 0;
    }
    rc = grow(&v->wits, &v->wits_cap, v->nwits, sizeof(*v->wits), SIZE_MAX / sizeof(*v->wits));
    if (rc != 0)
      return rc;
    v->wits[v->nwits].plog = li;
    v->wits[v->nwits].pseq = seq;
    v->wits[v->nwits].ts_ms = e.h.ts_ms;
    v->wits[v->nwits++].w = w;
  }
  if (is_case_entry(v, &e)) {
    rc = grow(&v->cases, &v->cases_cap, v->ncases, sizeof(*v->cases), DK_CASE_EVENTS_MAX);
    if (rc == DK_ELIMIT) {
      fail(v, key, seq, DK_ELIMIT, "more case entries than a case may have");
      return 0;
    }
    if (rc != 0)
      return rc;
    struct vcase *c = &v->cases[v->ncases];
    c->e = e;
    c->log_index = li;
    c->body = NULL;
    c->body_len = 0;
    if (body_ok) {
      c->body = malloc(blen ? blen : 1);
      if (c->body == NULL)
        return DK_ENOMEM;
      memcpy(c->body, body, blen);
      c->body_len = blen;
    }
    v->ncases++;
  }
  return 0;
}

static int log_chunk(struct vctx *v, const msgpack_object *f) {
  uint8_t key[DK_PK_BYTES];
  uint64_t first;
  if (dk_mp_get_bin_fixed(&f[1], key, DK_PK_BYTES) != 0 || dk_mp_get_u64(&f[2], &first) != 0 ||
      f[3].type != MSGPACK_OBJECT_ARRAY || f[3].via.array.size == 0 ||
      f[3].via.array.size > DK_AUDIT_CHUNK_ENTRIES_MAX) {
    fail(v, NULL, 0, DK_EFORMAT, "log chunk malformed");
    return DK_EFORMAT;
  }
  size_t li;
  if (!find_log(v, key, &li)) {
    if (v->nlogs == DK_AUDIT_LOGS_MAX) {
      fail(v, key, 0, DK_ELIMIT, "more logs than an audit bundle may carry");
      return DK_ELIMIT;
    }
    li = v->nlogs++;
    memset(&v->logs[li], 0, sizeof(v->logs[li]));
    memcpy(v->logs[li].pub.key, key, DK_PK_BYTES);
  }
  struct vlog *l = &v->logs[li];
  if (first != l->pub.last_seq + 1) {
    fail(v, key, l->pub.last_seq + 1, DK_ENOTFOUND,
         "log chunk does not continue its log: entries are missing");
    return DK_EFORMAT;
  }
  const msgpack_object_array *a = &f[3].via.array;
  for (uint32_t i = 0; i < a->size; i++) {
    const msgpack_object *el = &a->ptr[i];
    const uint8_t *hb, *sig, *body = NULL;
    size_t hl, sl, blen = 0;
    int has_body = 0;
    if (el->type != MSGPACK_OBJECT_ARRAY || el->via.array.size != 3 ||
        dk_mp_get_bin_view(&el->via.array.ptr[0], &hb, &hl) != 0 ||
        dk_mp_get_bin_view(&el->via.array.ptr[1], &sig, &sl) != 0 || sl != DK_SIG_BYTES) {
      fail(v, key, first + i, DK_EFORMAT, "entry record malformed");
      return DK_EFORMAT;
    }
    if (el->via.array.ptr[2].type != MSGPACK_OBJECT_NIL) {
      if (dk_mp_get_bin_view(&el->via.array.ptr[2], &body, &blen) != 0) {
        fail(v, key, first + i, DK_EFORMAT, "entry record malformed");
        return DK_EFORMAT;
      }
      has_body = 1;
    }
    int rc = one_entry(v, li, first + i, hb, hl, sig, body, blen, has_body);
    if (rc != 0)
      return rc;
  }
  return 0;
}

static int fork_chunk(struct vctx *v, const msgpack_object *f) {
  const uint8_t *hb, *sig;
  size_t hl, sl;
  if (dk_mp_get_bin_view(&f[1], &hb, &hl) != 0 || dk_mp_get_bin_view(&f[2], &sig, &sl) != 0 ||
      sl != DK_SIG_BYTES) {
    fail(v, NULL, 0, DK_EFORMAT, "fork chunk malformed");
    return DK_EFORMAT;
  }
  struct dk_entry e;
  if (hl == 0 || hl > DK_HEADER_BYTES_MAX || dk_entry_parse(&e, hb, hl, sig) != 0) {
    fail(v, NULL, 0, DK_EFORMAT, "fork proof header malformed");
    return 0;
  }
  if (dk_entry_verify_sig(&e) != 0) {
    fail(v, e.h.log, e.h.seq, DK_EBADSIG, "fork proof signature does not verify");
    return 0;
  }
  int rc = grow(&v->forks, &v->forks_cap, v->nforks, sizeof(*v->forks),
                SIZE_MAX / sizeof(*v->forks));
  if (rc != 0)
    return rc;
  v->forks[v->nforks++].e = e;
  return 0;
}

/* Walks the chunks. Returns 0, or the structural failure that stopped it
 * (already recorded), or DK_ENOMEM. */
static int walk(struct vctx *v, const uint8_t *bytes, size_t body_end) {
  size_t off = 8;
  int have_head = 0;
  for (;;) {
    if (body_end - off < 4) {
      fail(v, NULL, 0, DK_EFORMAT, "bundle truncated: no end marker");
      return DK_EFORMAT;
    }
    uint32_t n = dk_be32_get(bytes + off);
    off += 4;
    if (n == 0)
      break;
    if (n > DK_FRAME_BYTES_MAX || n > body_end - off) {
      fail(v, NULL, 0, DK_EFORMAT, "chunk length runs past the end of the bundle (truncated?)");
      return DK_EFORMAT;
    }
    msgpack_unpacked u;
    int rc = dk_mp_parse(bytes + off, n, &u);
    off += n;
    if (rc == DK_ENOMEM)
      return rc;
    if (rc != 0) {
      fail(v, NULL, 0, DK_EFORMAT, "chunk is not one msgpack object");
      return DK_EFORMAT;
    }
    const msgpack_object *o = &u.data;
    if (!have_head) {
      rc = head_chunk(v, o);
      if (rc != 0)
        fail(v, NULL, 0, rc, rc == DK_EVERSION ? "audit bundle of an unknown version"
                                               : "bundle head malformed");
      else if (v->root != NULL && !v->out->has_head_root)
        fail(v, NULL, 0, DK_ECERT,
             "the bundle names no deployment root, but one is trusted here: it was written "
             "outside this deployment or its root was removed");
      else if (v->root != NULL && memcmp(v->out->head_root, v->root, DK_PK_BYTES) != 0)
        fail(v, NULL, 0, DK_ECERT, "the bundle names another deployment root than the trusted one");
      have_head = 1;
    } else {
      char tag[8] = "?";
      if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 1 ||
          dk_mp_get_str(&o->via.array.ptr[0], tag, sizeof(tag)) != 0) {
        rc = DK_EFORMAT;
      } else if (strcmp(tag, "log") == 0 && o->via.array.size == 4) {
        rc = log_chunk(v, o->via.array.ptr); /* records its own failures */
        tag[0] = 0;
      } else if (strcmp(tag, "fork") == 0 && o->via.array.size == 3) {
        rc = fork_chunk(v, o->via.array.ptr);
        tag[0] = 0;
      } else {
        rc = DK_EFORMAT;
      }
      if (rc == DK_EFORMAT && tag[0] != 0)
        fail(v, NULL, 0, DK_EFORMAT, "unknown or malformed chunk");
    }
    msgpack_unpacked_destroy(&u);
    if (rc != 0)
      return rc;
  }
  if (off != body_end) {
    fail(v, NULL, 0, DK_EFORMAT, "bytes after the end marker");
    return DK_EFORMAT;
  }
  if (!have_head) {
    fail(v, NULL, 0, DK_EFORMAT, "bundle has no head");
    return DK_EFORMAT;
  }
  return 0;
}

/* ---- after the walk ------------------------------------------------------------- */

static enum dk_audit_cert author_status(const struct vctx *v, const uint8_t *key,
                                        const char *office, const char *role, uint64_t at_ms);

/* Witnesses of a parent's log count only for a child whose office lies
 * below the parent's and, with a trusted root, only when the parent's key
 * held a certificate for its office at the witness entry's time: a key
 * nobody certified cannot vouch for a head. */
static void check_witnesses(struct vctx *v) {
  for (size_t i = 0; i < v->nwits; i++) {
    const struct vwitness *w = &v->wits[i];
    const struct vlog *p = &v->logs[w->plog];
    size_t ci;
    if (!find_log(v, w->w.log, &ci))
      continue; /* a log this bundle is not about */
    struct vlog *c = &v->logs[ci];
    if (!p->have_office || !c->have_office || !is_proper_ancestor(p->pub.office, c->pub.office))
      continue; /* only a parent's cosignature counts */
    if (v->out->has_root) {
      enum dk_audit_cert st = author_status(v, p->pub.key, p->pub.office, p->role, w->ts_ms);
      if (st != DK_AUDIT_CERT_VALID) {
        fail(v, p->pub.key, w->pseq, DK_ECERT,
             st == DK_AUDIT_CERT_REVOKED
                 ? "witness entry written after its author's key was revoked"
                 : "witness entry whose author held no certificate for its office at the time");
        continue;
      }
    }
    if (w->w.seq > c->pub.last_seq) {
      fail(v, c->pub.key, w->w.seq, DK_ENOTFOUND,
           "a parent witnessed this log further than the bundle carries it");
      c->pub.broken = 1;
      continue;
    }
    if (memcmp(c->ids[w->w.seq - 1], w->w.id, DK_HASH_BYTES) != 0) {
      fail(v, c->pub.key, w->w.seq, DK_EFORK, "a parent witnessed a different entry here (fork)");
      c->pub.broken = 1;
      continue;
    }
    v->out->witnesses_checked++;
    if (w->w.seq > c->pub.witnessed_seq) {
      c->pub.witnessed_seq = w->w.seq;
      memcpy(c->pub.witness_log, p->pub.key, DK_PK_BYTES);
      c->pub.witness_entry_seq = w->pseq;
    }
  }
}

static void check_forks(struct vctx *v) {
  for (size_t i = 0; i < v->nforks; i++) {
    const struct dk_entry *e = &v->forks[i].e;
    size_t li;
    if (!find_log(v, e->h.log, &li) || e->h.seq > v->logs[li].pub.last_seq) {
      fail(v, e->h.log, e->h.seq, DK_EFORMAT, "fork proof for a position the bundle lacks");
      continue;
    }
    struct vlog *l = &v->logs[li];
    if (memcmp(l->ids[e->h.seq - 1], e->id, DK_HASH_BYTES) == 0) {
      fail(v, e->h.log, e->h.seq, DK_EFORMAT, "fork proof repeats the entry it contradicts");
      continue;
    }
    l->pub.forks++;
    l->pub.broken = 1;
    fail(v, e->h.log, e->h.seq, DK_EFORK, "log forked: two signed entries for this position");
  }
}

/* The case key for reader, from the bundle's wrapped key or from a grant in
 * the case's own entries. key is sodium_malloc memory. */
static int find_key(struct vctx *v, const struct dk_identity *reader, uint8_t *key,
                    uint8_t *shared) {
  if (v->has_wrap && memcmp(v->wrap_reader, reader->pk, DK_PK_BYTES) == 0 &&
      dk_key_shared(reader, v->out->writer, shared) == 0 &&
      dk_key_unwrap(shared, v->wrapped, key) == 0)
    return 1;
  for (size_t i = 0; i < v->ncases; i++) {
    const struct vcase *c = &v->cases[i];
    if (c->body == NULL ||
        (c->e.h.type != DK_ENTRY_CASE_OPEN && c->e.h.type != DK_ENTRY_KEY_GRANT))
      continue;
    struct dk_grant g[DK_READERS_MAX];
    size_t gc, used;
    if (dk_grants_parse(c->body, c->body_len, g, &gc, &used) != 0)
      continue;
    for (size_t j = 0; j < gc; j++)
      if (memcmp(g[j].reader, reader->pk, DK_PK_BYTES) == 0 &&
          dk_key_shared(reader, c->e.h.log, shared) == 0 &&
          dk_key_unwrap(shared, g[j].sealed, key) == 0)
        return 1;
  }
  return 0;
}

static int entry_order(const void *a, const void *b) {
  const struct dk_audit_entry *x = a, *y = b;
  if (x->ts_ms != y->ts_ms)
    return x->ts_ms < y->ts_ms ? -1 : 1;
  int c = memcmp(x->log, y->log, DK_PK_BYTES);
  if (c != 0)
    return c;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* What the root's statements say of key writing as (office, role) at
 * at_ms. Same rules as a node's trust view (node/trust/trust.h): a revocation at
 * r covers entries after r; a certificate is in force on [not_before,
 * not_after). */
static enum dk_audit_cert author_status(const struct vctx *v, const uint8_t *key,
                                        const char *office, const char *role, uint64_t at_ms) {
  int certified = 0;
  for (size_t i = 0; i < v->nstmts; i++) {
    const struct vstatement *s = &v->stmts[i];
    if (memcmp(s->key, key, DK_PK_BYTES) != 0)
      continue;
    if (s->type == DK_ENTRY_REVOKE && dk_revoked_by(1, s->revoked_at_ms, at_ms))
      return DK_AUDIT_CERT_REVOKED;
    if (s->type == DK_ENTRY_CERT && s->not_before_ms <= at_ms && at_ms < s->not_after_ms &&
        strcmp(s->office, office) == 0 && strcmp(s->role, role) == 0)
      certified = 1;
  }
  return certified ? DK_AUDIT_CERT_VALID : DK_AUDIT_CERT_NONE;
}

/* Every case entry's author against the statements, at the entry's time. */
static void check_authors(struct vctx *v) {
  struct dk_audit_result *r = v->out;
  for (size_t i = 0; i < v->nlogs; i++)
    if (v->logs[i].have_office && strchr(v->logs[i].pub.office, '/') == NULL &&
        v->logs[i].pub.last_seq > r->district_seq)
      r->district_seq = v->logs[i].pub.last_seq;
  for (size_t i = 0; i < r->entries_count; i++) {
    struct dk_audit_entry *a = &r->entries[i];
    const struct vlog *l = &v->logs[a->log_index];
    a->cert = author_status(v, a->log, l->pub.office, l->role, a->ts_ms);
    r->authors_checked++;
    if (a->cert == DK_AUDIT_CERT_REVOKED)
      fail(v, a->log, a->seq, DK_ECERT, "written after its author's key was revoked");
    else if (a->cert == DK_AUDIT_CERT_NONE)
      fail(v, a->log, a->seq, DK_ECERT,
           "its author held no certificate for its office at the entry's time");
  }
}

/* The reader the case key is wrapped for, when it is not the writer (a node
 * may wrap for itself): with a trusted root it must hold an auditor grant
 * of that root for a subtree covering the case's office, in force at the
 * bundle's time and not revoked then. */
static void check_reader(struct vctx *v) {
  struct dk_audit_result *r = v->out;
  if (!v->has_wrap || memcmp(v->wrap_reader, r->writer, DK_PK_BYTES) == 0 || !r->has_root)
    return;
  uint64_t at = r->created_ms;
  int granted = 0, revoked = 0;
  for (size_t i = 0; i < v->nstmts; i++) {
    const struct vstatement *s = &v->stmts[i];
    if (memcmp(s->key, v->wrap_reader, DK_PK_BYTES) != 0)
      continue;
    if (s->type == DK_ENTRY_REVOKE && dk_revoked_by(1, s->revoked_at_ms, at))
      revoked = 1;
    if (s->type == DK_ENTRY_AUDITOR && s->not_before_ms <= at && at < s->not_after_ms &&
        covers(s->office, r->case_office) && !granted) {
      granted = 1;
      memcpy(r->reader_subtree, s->office, DK_NAME_BYTES_MAX);
    }
  }
  r->reader_grant = revoked   ? DK_AUDIT_CERT_REVOKED
                    : granted ? DK_AUDIT_CERT_VALID
                              : DK_AUDIT_CERT_NONE;
  if (revoked)
    fail(v, NULL, 0, DK_ECERT, "the case key is wrapped for a reader whose key was revoked");
  else if (!granted)
    fail(v, NULL, 0, DK_ECERT,
         "the case key is wrapped for a reader with no auditor grant covering the case's office "
         "at the bundle's time");
}

static int check_case(struct vctx *v, const struct dk_identity *reader) {
  struct dk_audit_result *r = v->out;
  const struct vcase *open = NULL;
  for (size_t i = 0; i < v->ncases && open == NULL; i++)
    if (v->cases[i].e.h.type == DK_ENTRY_CASE_OPEN)
      open = &v->cases[i];
  if (open == NULL) {
    fail(v, NULL, 0, DK_ENOTFOUND,
         "the case's signed opening entry (the entry whose id is the case id) is not in the "
         "bundle: the case it claims is not bound to any signed entry");
    return 0;
  }
  memcpy(r->case_office, v->logs[open->log_index].pub.office, DK_NAME_BYTES_MAX);
  r->entries = calloc(v->ncases, sizeof(*r->entries));
  if (r->entries == NULL)
    return DK_ENOMEM;
  uint8_t *key = sodium_malloc(DK_SYMKEY_BYTES);
  uint8_t *shared = sodium_malloc(DK_SYMKEY_BYTES);
  struct dk_buf pt;
  dk_buf_init_secure(&pt);
  int rc = key && shared ? 0 : DK_ENOMEM;
  if (rc != 0)
    goto out;
  int have_key = reader != NULL && find_key(v, reader, key, shared);
  r->key_used = have_key;
  for (size_t i = 0; i < v->ncases; i++) {
    const struct vcase *c = &v->cases[i];
    struct vlog *l = &v->logs[c->log_index];
    struct dk_audit_entry *a = &r->entries[r->entries_count++];
    dk_event_init(&a->ev);
    memcpy(a->log, c->e.h.log, DK_PK_BYTES);
    a->seq = c->e.h.seq;
    memcpy(a->id, c->e.id, DK_HASH_BYTES);
    a->ts_ms = c->e.h.ts_ms;
    a->type = c->e.h.type;
    a->log_index = c->log_index;
    a->witnessed = a->seq <= l->pub.witnessed_seq;
    a->body_present = c->body != NULL;
    l->pub.case_entries++;
    if (!a->witnessed) {
      l->pub.unwitnessed++;
      r->unwitnessed++;
    }
    if (c->body == NULL) {
      if (a->type == DK_ENTRY_ERASE)
        fail(v, a->log, a->seq, DK_ENOTFOUND,
             "erase entry carried without its body: erase entries are never erased");
      continue; /* judged below, once the erasure is known */
    }
    if (a->type == DK_ENTRY_ERASE) {
      a->reason = malloc(DK_TEXT_BYTES_MAX + 1);
      if (a->reason == NULL) {
        rc = DK_ENOMEM;
        goto out;
      }
      if (dk_erase_body_decode(c->body, c->body_len, a->reason, DK_TEXT_BYTES_MAX + 1) != 0) {
        free(a->reason);
        a->reason = NULL;
        fail(v, a->log, a->seq, DK_EFORMAT, "erase block malformed");
        continue;
      }
      a->honoured = dk_erase_office_may(l->pub.office, r->case_office);
      if (a->honoured && (!r->erased || a->ts_ms < r->erased_at_ms)) {
        r->erased = 1;
        r->erased_at_ms = a->ts_ms;
        memcpy(r->erased_by, l->pub.office, DK_NAME_BYTES_MAX);
      }
      continue;
    }
    if (!have_key || a->type == DK_ENTRY_KEY_GRANT)
      continue;
    size_t skip = 0;
    if (a->type == DK_ENTRY_CASE_OPEN) {
      struct dk_grant g[DK_READERS_MAX];
      size_t gc;
      if (dk_grants_parse(c->body, c->body_len, g, &gc, &skip) != 0) {
        fail(v, a->log, a->seq, DK_EFORMAT, "grants block malformed");
        continue;
      }
    } else if (a->type != DK_ENTRY_CASE_EVENT) {
      continue;
    }
    dk_buf_reset(&pt);
    if (dk_body_open(key, a->log, a->seq, c->body + skip, c->body_len - skip, &pt) != 0) {
      fail(v, a->log, a->seq, DK_EBADBODY, "body does not decrypt with the case key");
      continue;
    }
    if (dk_event_decode(pt.data, pt.len, &a->ev) != 0) {
      fail(v, a->log, a->seq, DK_EFORMAT, "event does not decode");
      continue;
    }
    a->decrypted = 1;
  }
  /* A body may be missing only when an honoured erase entry of the case is
   * in the bundle: anyone who carries a bundle can drop a body, and must
   * not be able to pass that off as an erasure. */
  for (size_t i = 0; i < r->entries_count; i++) {
    const struct dk_audit_entry *a = &r->entries[i];
    if (a->body_present || a->type == DK_ENTRY_ERASE)
      continue;
    if (r->erased)
      r->bodies_erased++;
    else
      fail(v, a->log, a->seq, DK_ENOTFOUND,
           a->type == DK_ENTRY_CASE_OPEN
               ? "the case's opening entry is carried without its body, and no authorised "
                 "erase entry covers it"
               : "case entry carried without its body, and no authorised erase entry covers it");
  }
  if (r->has_root)
    check_authors(v);
  check_reader(v);
  qsort(r->entries, r->entries_count, sizeof(*r->entries), entry_order);
out:
  sodium_free(key);
  sodium_free(shared);
  dk_buf_release(&pt);
  return rc;
}

int dk_audit_verify(const uint8_t *bytes, size_t len, const struct dk_identity *reader,
                    const uint8_t *root, struct dk_audit_result *out) {
  memset(out, 0, sizeof(*out));
  struct vctx v;
  memset(&v, 0, sizeof(v));
  v.out = out;
  v.root = root;
  if (root != NULL) {
    out->has_root = 1;
    memcpy(out->root, root, DK_PK_BYTES);
  }
  out->failures = calloc(DK_AUDIT_FAILURES_MAX, sizeof(*out->failures));
  v.logs = calloc(DK_AUDIT_LOGS_MAX, sizeof(*v.logs));
  int rc = out->failures && v.logs ? 0 : DK_ENOMEM;
  if (rc != 0)
    goto out;
  if (len < 8 + 4 + DK_HASH_BYTES || len > DK_AUDIT_BUNDLE_BYTES_MAX ||
      memcmp(bytes, DK_AUDIT_MAGIC, 8) != 0) {
    fail(&v, NULL, 0, DK_EFORMAT,
         len > DK_AUDIT_BUNDLE_BYTES_MAX ? "larger than an audit bundle may be"
                                         : "not an audit bundle");
    goto out;
  }
  size_t body_end = len - DK_HASH_BYTES;
  rc = walk(&v, bytes, body_end);
  if (rc == DK_ENOMEM)
    goto out;
  int walked = rc == 0;
  rc = 0;
  if (walked) {
    check_witnesses(&v);
    check_forks(&v);
    rc = check_case(&v, reader);
    if (rc != 0)
      goto out;
  }
  uint8_t digest[DK_HASH_BYTES];
  dk_hash2(DK_DOMAIN_AUDIT_DIGEST, bytes, body_end, NULL, 0, digest);
  out->digest_ok = memcmp(digest, bytes + body_end, DK_HASH_BYTES) == 0;
  if (!out->digest_ok)
    fail(&v, NULL, 0, DK_EAUTH, "the bundle's digest does not match its bytes");
out:
  if (v.logs != NULL && rc == 0) {
    out->logs = calloc(v.nlogs ? v.nlogs : 1, sizeof(*out->logs));
    if (out->logs == NULL)
      rc = DK_ENOMEM;
    for (size_t i = 0; out->logs && i < v.nlogs; i++)
      out->logs[i] = v.logs[i].pub;
    out->logs_count = out->logs ? v.nlogs : 0;
  }
  for (size_t i = 0; v.logs && i < v.nlogs; i++)
    free(v.logs[i].ids);
  free(v.logs);
  free(v.wits);
  for (size_t i = 0; i < v.ncases; i++)
    free(v.cases[i].body);
  free(v.cases);
  free(v.forks);
  free(v.stmts);
  if (rc != 0)
    return rc;
  return v.first_code;
}

void dk_audit_result_release(struct dk_audit_result *r) {
  for (size_t i = 0; i < r->entries_count; i++) {
    dk_event_release(&r->entries[i].ev);
    free(r->entries[i].reason);
  }
  free(r->entries);
  free(r->logs);
  free(r->failures);
  memset(r, 0, sizeof(*r));
}
