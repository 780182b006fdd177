/*
 * Audit bundles (node/trust/audit.h): the known-answer bundle of docs/PROTOCOL.md
 * §12.4, built here byte by byte from the §10 entries, and the verifier
 * against it: it accepts it and decrypts it for the right reader, and every
 * truncation and every single-byte change makes it fail, never crash.
 *
 * The expected bytes are read from the "name = hex" lines of PROTOCOL.md.
 * DK_PRINT_VECTORS=1 prints the computed lines instead of comparing.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/mp.h"
#include "node/trust/audit.h"
#include "node/log/entry.h"
#include "node/cases/erase.h"
#include "node/node.h"
#include "node/trust/trust.h"

#define CREATED_MS 1735689780000ull /* 2025-01-01T00:03:00Z */

/* The value of the document's line "    name = hex" (malloc'd bytes). */
static uint8_t *doc_vector(const char *name, size_t *len) {
  FILE *f = fopen(DK_SOURCE_DIR "/docs/PROTOCOL.md", "rb");
  assert_non_null(f);
  char *line = malloc(1 << 16);
  assert_non_null(line);
  char want[80];
  snprintf(want, sizeof(want), "    %s = ", name);
  uint8_t *out = NULL;
  while (fgets(line, 1 << 16, f)) {
    if (strncmp(line, want, strlen(want)) != 0)
      continue;
    char *hex = line + strlen(want);
    hex[strcspn(hex, "\r\n")] = 0;
    size_t n = strlen(hex) / 2;
    out = malloc(n ? n : 1);
    assert_non_null(out);
    assert_int_equal(dk_unhex(hex, out, n), (int)n);
    *len = n;
    break;
  }
  fclose(f);
  free(line);
  if (out == NULL)
    fail_msg("docs/PROTOCOL.md has no vector '%s'", name);
  return out;
}

static void expect_doc(const char *name, const uint8_t *bytes, size_t len) {
  if (getenv("DK_PRINT_VECTORS")) {
    char *hex = malloc(len * 2 + 1);
    dk_hex(bytes, len, hex);
    printf("    %s = %s\n", name, hex);
    free(hex);
    return;
  }
  size_t dl;
  uint8_t *d = doc_vector(name, &dl);
  assert_int_equal(dl, len);
  assert_memory_equal(d, bytes, len);
  free(d);
}

/* With DK_AUDIT_CORPUS_DIR set, the tampered bundles the tests build are
 * also written there as inputs of tests/fuzz/fuzz_audit.c (its first byte
 * is the mode: bit 1 trusts the §11 root). */
static void corpus_write(const char *name, uint8_t mode, const struct dk_buf *b) {
  const char *dir = getenv("DK_AUDIT_CORPUS_DIR");
  if (dir == NULL)
    return;
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(&mode, 1, 1, f), 1);
  assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
  assert_int_equal(fclose(f), 0);
}

static void node_identity(struct dk_identity *id) {
  uint8_t seed[DK_SEED_BYTES];
  memset(seed, 0x01, sizeof(seed));
  assert_int_equal(dk_identity_from_seed(id, seed), 0);
}

/* The §11 root (seed 32 x 09): the root an auditor of the vector trusts. */
static void vector_root(uint8_t pk[DK_PK_BYTES]) {
  struct dk_identity root;
  uint8_t seed[DK_SEED_BYTES];
  memset(seed, 0x09, sizeof(seed));
  assert_int_equal(dk_identity_from_seed(&root, seed), 0);
  memcpy(pk, root.pk, DK_PK_BYTES);
  dk_identity_release(&root);
}

static void chunk(struct dk_buf *file, const struct dk_buf *c) {
  uint8_t lb[4];
  dk_be32_put(lb, (uint32_t)c->len);
  assert_int_equal(dk_buf_append(file, lb, 4), 0);
  assert_int_equal(dk_buf_append(file, c->data, c->len), 0);
}

static void pack_entry(msgpack_packer *pk, const char *header, const char *sig,
                       const char *body) {
  size_t hl, sl, bl;
  uint8_t *h = doc_vector(header, &hl), *s = doc_vector(sig, &sl), *b = doc_vector(body, &bl);
  assert_int_equal(msgpack_pack_array(pk, 3), 0);
  assert_int_equal(dk_mp_pack_bin(pk, h, hl), 0);
  assert_int_equal(dk_mp_pack_bin(pk, s, sl), 0);
  assert_int_equal(dk_mp_pack_bin(pk, b, bl), 0);
  free(h);
  free(s);
  free(b);
}

/* One entry sealed as PROTOCOL.md §3 says, stamped ts_ms. */
static void seal_at(struct dk_entry *e, const struct dk_identity *id, uint64_t seq,
                    const uint8_t *prev, uint64_t type, const uint8_t *body, size_t body_len,
                    uint64_t ts_ms) {
  struct dk_header h;
  memset(&h, 0, sizeof(h));
  h.version = DK_ENTRY_VERSION;
  memcpy(h.log, id->pk, DK_PK_BYTES);
  h.seq = seq;
  h.has_prev = prev != NULL;
  if (prev)
    memcpy(h.prev, prev, DK_HASH_BYTES);
  h.ts_ms = ts_ms;
  h.type = type;
  h.body_bytes = body_len;
  dk_hash_plain(body, body_len, h.body_hash);
  assert_int_equal(dk_entry_seal(e, &h, id), 0);
}

/* One entry of the vector's district log. */
static void seal_district(struct dk_entry *e, const struct dk_identity *id, uint64_t seq,
                          const uint8_t *prev, uint64_t type, const uint8_t *body,
                          size_t body_len) {
  seal_at(e, id, seq, prev, type, body, body_len, 1735689600000ull); /* 2025-01-01 */
}

static void pack_record(msgpack_packer *pk, const struct dk_entry *e, const uint8_t *body,
                        size_t body_len) {
  assert_int_equal(msgpack_pack_array(pk, 3), 0);
  assert_int_equal(dk_mp_pack_bin(pk, e->header_bytes, e->header_len), 0);
  assert_int_equal(dk_mp_pack_bin(pk, e->sig, DK_SIG_BYTES), 0);
  assert_int_equal(dk_mp_pack_bin(pk, body, body_len), 0);
}

/* The §12.4 bundle: the three §10 entries of one log, the case key wrapped
 * for the node itself (the §10.2 wrapped key), no witness, no fork; the
 * root of §11 (seed 32 x 09) in the head, and the district's log (seed
 * 32 x 0a): its office entry and the §11 certificate of the node. */
static void build_bundle_as(struct dk_buf *file, const struct dk_identity *id,
                            int cert_body_carried, const struct dk_identity *attacker) {
  size_t cl, kl, bl;
  uint8_t *case_id = doc_vector("entry2_id", &cl);
  uint8_t *sealed = doc_vector("entry2_sealed_key", &kl);
  uint8_t *cert_body = doc_vector("cert_body", &bl);
  int vector = cert_body_carried && attacker == NULL;
  if (attacker != NULL) {
    /* The same certificate, signed by the attacker's own root. */
    size_t sl;
    uint8_t *stmt = doc_vector("cert_statement", &sl);
    struct dk_statement cs;
    assert_int_equal(dk_statement_decode(DK_ENTRY_CERT, stmt, sl, &cs), 0);
    memcpy(cs.root, attacker->pk, DK_PK_BYTES);
    struct dk_buf cb;
    dk_buf_init(&cb);
    assert_int_equal(dk_statement_sign(&cs, attacker, &cb), 0);
    free(cert_body);
    cert_body = malloc(cb.len);
    memcpy(cert_body, cb.data, cb.len);
    bl = cb.len;
    dk_buf_release(&cb);
    free(stmt);
  }
  assert_int_equal(cl, 32);
  assert_int_equal(kl, DK_SEALED_KEY_BYTES);
  struct dk_identity root, district;
  uint8_t seed[DK_SEED_BYTES];
  memset(seed, 0x09, sizeof(seed));
  assert_int_equal(dk_identity_from_seed(&root, seed), 0);
  memset(seed, 0x0a, sizeof(seed));
  assert_int_equal(dk_identity_from_seed(&district, seed), 0);
  if (vector)
    expect_doc("audit_district_pk", district.pk, DK_PK_BYTES);
  struct dk_office_info office;
  memset(&office, 0, sizeof(office));
  strcpy(office.office, "zhanhe");
  strcpy(office.role, "district");
  strcpy(office.code, "ZH");
  struct dk_buf office_body;
  dk_buf_init(&office_body);
  assert_int_equal(dk_office_body_encode(&office, &office_body), 0);
  struct dk_entry d1, d2;
  seal_district(&d1, &district, 1, NULL, DK_ENTRY_OFFICE, office_body.data, office_body.len);
  seal_district(&d2, &district, 2, d1.id, DK_ENTRY_CERT, cert_body, bl);
  if (vector) {
    expect_doc("audit_district1_header", d1.header_bytes, d1.header_len);
    expect_doc("audit_district1_sig", d1.sig, DK_SIG_BYTES);
    expect_doc("audit_district2_header", d2.header_bytes, d2.header_len);
    expect_doc("audit_district2_sig", d2.sig, DK_SIG_BYTES);
  }

  struct dk_buf head, log, dlog;
  dk_buf_init(&head);
  dk_buf_init(&log);
  dk_buf_init(&dlog);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &head, dk_buf_msgpack_write);
  msgpack_pack_array(&pk, 7);
  dk_mp_pack_str(&pk, "audit");
  msgpack_pack_uint64(&pk, 1);
  dk_mp_pack_bin(&pk, case_id, 32);
  msgpack_pack_uint64(&pk, CREATED_MS);
  dk_mp_pack_bin(&pk, id->pk, 32);
  dk_mp_pack_bin(&pk, attacker ? attacker->pk : root.pk, 32);
  msgpack_pack_array(&pk, 2);
  dk_mp_pack_bin(&pk, id->pk, 32);
  dk_mp_pack_bin(&pk, sealed, DK_SEALED_KEY_BYTES);
  if (vector)
    expect_doc("audit_head", head.data, head.len);

  msgpack_packer_init(&pk, &log, dk_buf_msgpack_write);
  msgpack_pack_array(&pk, 4);
  dk_mp_pack_str(&pk, "log");
  dk_mp_pack_bin(&pk, id->pk, 32);
  msgpack_pack_uint64(&pk, 1);
  msgpack_pack_array(&pk, 3);
  pack_entry(&pk, "entry1_header", "entry1_sig", "entry1_body");
  pack_entry(&pk, "entry2_header", "entry2_sig", "entry2_body");
  pack_entry(&pk, "entry3_header", "entry3_sig", "entry3_body");

  msgpack_packer_init(&pk, &dlog, dk_buf_msgpack_write);
  msgpack_pack_array(&pk, 4);
  dk_mp_pack_str(&pk, "log");
  dk_mp_pack_bin(&pk, district.pk, 32);
  msgpack_pack_uint64(&pk, 1);
  msgpack_pack_array(&pk, 2);
  pack_record(&pk, &d1, office_body.data, office_body.len);
  if (cert_body_carried) {
    pack_record(&pk, &d2, cert_body, bl);
  } else {
    assert_int_equal(msgpack_pack_array(&pk, 3), 0);
    assert_int_equal(dk_mp_pack_bin(&pk, d2.header_bytes, d2.header_len), 0);
    assert_int_equal(dk_mp_pack_bin(&pk, d2.sig, DK_SIG_BYTES), 0);
    assert_int_equal(msgpack_pack_nil(&pk), 0);
  }

  dk_buf_append(file, DK_AUDIT_MAGIC, 8);
  chunk(file, &head);
  chunk(file, &log);
  chunk(file, &dlog);
  uint8_t zero[4] = {0, 0, 0, 0};
  dk_buf_append(file, zero, 4);
  uint8_t digest[32];
  /* BLAKE2b-256("docket/audit/v1" NUL || everything before the digest),
   * computed with libsodium directly, as another verifier would. */
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, 32);
  crypto_generichash_update(&st, (const uint8_t *)"docket/audit/v1", 16);
  crypto_generichash_update(&st, file->data, file->len);
  crypto_generichash_final(&st, digest, 32);
  dk_buf_append(file, digest, 32);
  if (vector) {
    expect_doc("audit_digest", digest, 32);
    expect_doc("audit_bundle", file->data, file->len);
  }
  dk_buf_release(&head);
  dk_buf_release(&log);
  dk_buf_release(&dlog);
  dk_buf_release(&office_body);
  dk_identity_release(&root);
  dk_identity_release(&district);
  free(case_id);
  free(sealed);
  free(cert_body);
}

static void build_bundle(struct dk_buf *file, const struct dk_identity *id,
                         int cert_body_carried) {
  build_bundle_as(file, id, cert_body_carried, NULL);
}

static void build_vector_bundle(struct dk_buf *file, const struct dk_identity *id) {
  build_bundle(file, id, 1);
}

/* Nodes stamp their office entry with the wall clock when created: the
 * tests' clocks start at T0, a minute after it (set by each test). */
static uint64_t T0;

static void redigest(uint8_t *bytes, size_t len) {
  dk_hash2(DK_DOMAIN_AUDIT_DIGEST, bytes, len - 32, NULL, 0, bytes + len - 32);
}

/* Rewrites a bundle chunk by chunk: fn sees each chunk's msgpack object
 * (index 0 is the head) and may change it in place, or return 1 to drop
 * it; with o NULL (after the last chunk) it may append framed chunks to
 * out. The end marker and a right digest follow. */
typedef int (*chunk_fn)(size_t index, msgpack_object *o, struct dk_buf *out, void *ctx);

static void rewrite(const uint8_t *in, size_t len, struct dk_buf *out, chunk_fn fn, void *ctx) {
  dk_buf_reset(out);
  assert_int_equal(dk_buf_append(out, in, 8), 0);
  size_t off = 8;
  for (size_t index = 0;; index++) {
    assert_true(off + 4 <= len);
    uint32_t n = dk_be32_get(in + off);
    off += 4;
    if (n == 0)
      break;
    msgpack_unpacked u;
    assert_int_equal(dk_mp_parse(in + off, n, &u), 0);
    off += n;
    if (fn(index, &u.data, out, ctx) == 0) {
      struct dk_buf c;
      dk_buf_init(&c);
      msgpack_packer pk;
      msgpack_packer_init(&pk, &c, dk_buf_msgpack_write);
      assert_int_equal(msgpack_pack_object(&pk, u.data), 0);
      chunk(out, &c);
      dk_buf_release(&c);
    }
    msgpack_unpacked_destroy(&u);
  }
  fn(SIZE_MAX, NULL, out, ctx);
  uint8_t zero[4 + DK_HASH_BYTES] = {0};
  assert_int_equal(dk_buf_append(out, zero, sizeof(zero)), 0);
  redigest(out->data, out->len);
}

/* Is o a log chunk of key? Then *first and *records are set. */
static int log_chunk_of(const msgpack_object *o, const uint8_t *key, uint64_t *first,
                        msgpack_object_array **records) {
  if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 4)
    return 0;
  const msgpack_object *f = o->via.array.ptr;
  if (f[0].type != MSGPACK_OBJECT_STR || f[0].via.str.size != 3 ||
      memcmp(f[0].via.str.ptr, "log", 3) != 0 || f[1].type != MSGPACK_OBJECT_BIN ||
      f[1].via.bin.size != DK_PK_BYTES || memcmp(f[1].via.bin.ptr, key, DK_PK_BYTES) != 0)
    return 0;
  *first = f[2].via.u64;
  *records = &o->via.array.ptr[3].via.array;
  return 1;
}

struct tamper {
  const uint8_t *log;       /* strip the body of (log, seq) */
  uint64_t seq;
  const uint8_t *case_id;   /* relabel the head */
  int strip_root;           /* nil for the head's root */
  const uint8_t *drop_log;  /* leave this log's chunks out */
  /* add a parent log (office, witness of witness_of's last entry) */
  const struct dk_identity *fake_parent;
  const uint8_t *witness_of;
  struct dk_witness w;
};

static int tamper_fn(size_t index, msgpack_object *o, struct dk_buf *out, void *ctx) {
  struct tamper *t = ctx;
  uint64_t first;
  msgpack_object_array *recs;
  if (o == NULL) {
    if (t->fake_parent == NULL)
      return 0;
    /* The fake parent's log: its office entry and a witness entry. */
    struct dk_office_info office;
    memset(&office, 0, sizeof(office));
    strcpy(office.office, "zhanhe/beidu");
    strcpy(office.role, "street");
    strcpy(office.code, "BD");
    struct dk_buf ob, wb, c;
    dk_buf_init(&ob);
    dk_buf_init(&wb);
    dk_buf_init(&c);
    assert_int_equal(dk_office_body_encode(&office, &ob), 0);
    assert_int_equal(dk_witness_body_encode(&t->w, &wb), 0);
    struct dk_entry e1, e2;
    seal_at(&e1, t->fake_parent, 1, NULL, DK_ENTRY_OFFICE, ob.data, ob.len, T0 + 5000);
    seal_at(&e2, t->fake_parent, 2, e1.id, DK_ENTRY_WITNESS, wb.data, wb.len, T0 + 5000);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &c, dk_buf_msgpack_write);
    msgpack_pack_array(&pk, 4);
    dk_mp_pack_str(&pk, "log");
    dk_mp_pack_bin(&pk, t->fake_parent->pk, DK_PK_BYTES);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_array(&pk, 2);
    pack_record(&pk, &e1, ob.data, ob.len);
    pack_record(&pk, &e2, wb.data, wb.len);
    chunk(out, &c);
    dk_buf_release(&ob);
    dk_buf_release(&wb);
    dk_buf_release(&c);
    return 0;
  }
  if (index == 0) {
    if (t->case_id) {
      o->via.array.ptr[2].via.bin.ptr = (const char *)t->case_id;
      o->via.array.ptr[2].via.bin.size = DK_HASH_BYTES;
    }
    if (t->strip_root)
      o->via.array.ptr[5].type = MSGPACK_OBJECT_NIL;
    return 0;
  }
  if (t->drop_log && log_chunk_of(o, t->drop_log, &first, &recs))
    return 1;
  if (t->log && log_chunk_of(o, t->log, &first, &recs) && t->seq >= first &&
      t->seq < first + recs->size)
    recs->ptr[t->seq - first].via.array.ptr[2].type = MSGPACK_OBJECT_NIL;
  if (t->witness_of && log_chunk_of(o, t->witness_of, &first, &recs)) {
    /* Remember the log's last entry: the fake parent witnesses it. */
    const msgpack_object *last = recs->ptr[recs->size - 1].via.array.ptr;
    struct dk_entry e;
    assert_int_equal(dk_entry_parse(&e, (const uint8_t *)last[0].via.bin.ptr,
                                    last[0].via.bin.size, (const uint8_t *)last[1].via.bin.ptr),
                     0);
    memcpy(t->w.log, t->witness_of, DK_PK_BYTES);
    t->w.seq = e.h.seq;
    memcpy(t->w.id, e.id, DK_HASH_BYTES);
  }
  return 0;
}

static void open_case(dk_node *n, uint64_t at, const char *text, uint8_t case_id[32]) {
  struct dk_event ev;
  dk_event_init(&ev);
  ev.type = DK_EVENT_OPEN;
  ev.kind = DK_KIND_DISPUTE;
  ev.at_ms = at;
  ev.text = (char *)text;
  char number[DK_CASE_NUMBER_BYTES];
  assert_int_equal(dk_node_case_open(n, &ev, case_id, number), 0);
}

static void add_note(dk_node *n, uint64_t at, const uint8_t case_id[32]) {
  struct dk_event note;
  dk_event_init(&note);
  note.type = DK_EVENT_NOTE;
  note.at_ms = at;
  note.text = "Surveyor booked";
  assert_int_equal(dk_node_case_append(n, case_id, &note), 0);
  free(note.deps);
}

static void vector_verifies(void **state) {
  struct dk_identity id;
  node_identity(&id);
  struct dk_buf file;
  dk_buf_init(&file);
  build_vector_bundle(&file, &id);

  uint8_t root[DK_PK_BYTES];
  vector_root(root);
  struct dk_audit_result r;
  /* Without a key: everything verifies, nothing decrypts. */
  assert_int_equal(dk_audit_verify(file.data, file.len, NULL, root, &r), 0);
  assert_true(r.digest_ok);
  assert_int_equal(r.logs_count, 2);
  assert_int_equal(r.logs[0].last_seq, 3);
  assert_string_equal(r.logs[0].office, "zhanhe/beidu/lanxin");
  assert_string_equal(r.logs[1].office, "zhanhe");
  assert_string_equal(r.case_office, "zhanhe/beidu/lanxin");
  assert_int_equal(r.entries_checked, 5);
  assert_int_equal(r.bodies_checked, 5);
  assert_int_equal(r.entries_count, 2);
  assert_int_equal(r.unwitnessed, 2); /* no parent in this bundle */
  /* The §11 certificate covers both case entries. */
  assert_true(r.has_root);
  assert_int_equal(r.statements, 1);
  assert_int_equal(r.district_seq, 2);
  assert_int_equal(r.authors_checked, 2);
  assert_int_equal(r.entries[0].cert, DK_AUDIT_CERT_VALID);
  assert_int_equal(r.entries[1].cert, DK_AUDIT_CERT_VALID);
  assert_false(r.key_used);
  assert_false(r.erased);
  dk_audit_result_release(&r);

  corpus_write("vector-trusted-root", 2, &file);
  /* The head's root taken out, or the district's log left out: against the
   * trusted root, neither verifies. */
  struct dk_buf stripped;
  dk_buf_init(&stripped);
  struct tamper t = {0};
  t.strip_root = 1;
  rewrite(file.data, file.len, &stripped, tamper_fn, &t);
  corpus_write("root-stripped", 2, &stripped);
  assert_int_equal(dk_audit_verify(stripped.data, stripped.len, NULL, root, &r), DK_ECERT);
  dk_audit_result_release(&r);
  memset(&t, 0, sizeof(t));
  struct dk_identity district;
  uint8_t dseed[DK_SEED_BYTES];
  memset(dseed, 0x0a, sizeof(dseed));
  assert_int_equal(dk_identity_from_seed(&district, dseed), 0);
  t.drop_log = district.pk;
  rewrite(file.data, file.len, &stripped, tamper_fn, &t);
  corpus_write("district-dropped", 2, &stripped);
  assert_int_equal(dk_audit_verify(stripped.data, stripped.len, NULL, root, &r), DK_ECERT);
  assert_int_equal(r.statements, 0);
  assert_int_equal(r.entries[0].cert, DK_AUDIT_CERT_NONE);
  dk_audit_result_release(&r);
  dk_identity_release(&district);
  dk_buf_release(&stripped);

  /* Without a trusted root the history verifies, but authorship is not
   * checked: the root the head names is not taken on trust. */
  assert_int_equal(dk_audit_verify(file.data, file.len, NULL, NULL, &r), 0);
  assert_false(r.has_root);
  assert_true(r.has_head_root);
  assert_int_equal(r.statements, 0);
  assert_int_equal(r.authors_checked, 0);
  assert_int_equal(r.entries[0].cert, DK_AUDIT_CERT_UNCHECKED);
  dk_audit_result_release(&r);

  /* With the reader's identity: the wrapped key opens the events. */
  assert_int_equal(dk_audit_verify(file.data, file.len, &id, root, &r), 0);
  assert_true(r.key_used);
  assert_int_equal(r.entries_count, 2);
  assert_true(r.entries[0].decrypted);
  assert_int_equal(r.entries[0].ev.type, DK_EVENT_OPEN);
  assert_string_equal(r.entries[0].ev.number, "LX-2020-0042");
  assert_true(r.entries[1].decrypted);
  assert_int_equal(r.entries[1].ev.type, DK_EVENT_CLOSE);
  dk_audit_result_release(&r);

  /* Another identity gets the history but not the events. */
  struct dk_identity other;
  assert_int_equal(dk_identity_generate(&other), 0);
  assert_int_equal(dk_audit_verify(file.data, file.len, &other, root, &r), 0);
  assert_false(r.key_used);
  dk_audit_result_release(&r);
  dk_identity_release(&other);

  /* The same bundle with the certificate's body left out (a revocation
   * could hide so): it fails, naming the district's entry. */
  dk_buf_reset(&file);
  build_bundle(&file, &id, 0);
  assert_int_equal(dk_audit_verify(file.data, file.len, &id, root, &r), DK_ENOTFOUND);
  assert_string_equal(r.failures[0].what, "statement carried without its body");
  assert_int_equal(r.failures[0].seq, 2);
  assert_int_equal(r.statements, 0);
  dk_audit_result_release(&r);
  dk_identity_release(&id);
  dk_buf_release(&file);
}

/* Every strict prefix fails (DK_EFORMAT mostly), and nothing crashes. */
static void truncations_fail(void **state) {
  struct dk_identity id;
  node_identity(&id);
  struct dk_buf file;
  dk_buf_init(&file);
  build_vector_bundle(&file, &id);
  uint8_t root[DK_PK_BYTES];
  vector_root(root);
  for (size_t n = 0; n < file.len; n++) {
    uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees any overread */
    memcpy(copy, file.data, n);
    struct dk_audit_result r;
    int rc = dk_audit_verify(copy, n, &id, root, &r);
    if (rc == 0)
      fail_msg("a bundle cut to %zu of %zu bytes verified", n, file.len);
    assert_true(r.failures_count >= 1);
    dk_audit_result_release(&r);
    free(copy);
  }
  dk_identity_release(&id);
  dk_buf_release(&file);
}

/* Every byte changed, in two ways, fails; a flip inside a signature names
 * the log, the seq and the check. */
static void every_byte_flip_fails(void **state) {
  struct dk_identity id;
  node_identity(&id);
  struct dk_buf file;
  dk_buf_init(&file);
  build_vector_bundle(&file, &id);
  uint8_t root[DK_PK_BYTES];
  vector_root(root);
  uint8_t *copy = malloc(file.len);
  for (size_t i = 0; i < file.len; i++) {
    static const uint8_t masks[2] = {0x01, 0xff};
    for (int m = 0; m < 2; m++) {
      memcpy(copy, file.data, file.len);
      copy[i] ^= masks[m];
      struct dk_audit_result r;
      int rc = dk_audit_verify(copy, file.len, &id, root, &r);
      if (rc == 0)
        fail_msg("bundle with byte %zu ^ %02x verified", i, masks[m]);
      dk_audit_result_release(&r);
    }
  }
  /* Entry 2's signature: find it in the bundle and flip its first byte. */
  size_t sl;
  uint8_t *sig = doc_vector("entry2_sig", &sl);
  uint8_t *at = memmem(file.data, file.len, sig, sl);
  assert_non_null(at);
  memcpy(copy, file.data, file.len);
  copy[at - file.data] ^= 0x01;
  struct dk_audit_result r;
  assert_int_equal(dk_audit_verify(copy, file.len, &id, root, &r), DK_EBADSIG);
  assert_true(r.failures_count >= 1);
  assert_memory_equal(r.failures[0].log, id.pk, 32);
  assert_int_equal(r.failures[0].seq, 2);
  assert_string_equal(r.failures[0].what, "signature does not verify");
  dk_audit_result_release(&r);
  /* Entry 3's body: the body hash check names seq 3. */
  size_t bl;
  uint8_t *body = doc_vector("entry3_body", &bl);
  at = memmem(file.data, file.len, body, bl);
  assert_non_null(at);
  memcpy(copy, file.data, file.len);
  copy[at - file.data + bl / 2] ^= 0x20;
  assert_int_equal(dk_audit_verify(copy, file.len, &id, root, &r), DK_EBADBODY);
  assert_int_equal(r.failures[0].seq, 3);
  dk_audit_result_release(&r);
  free(body);
  free(sig);
  free(copy);
  dk_identity_release(&id);
  dk_buf_release(&file);
}

/* Hostile containers: a huge declared count, garbage chunks. */
static void hostile_inputs_fail(void **state) {
  static const uint8_t bomb[] = {'D', 'K', 'A', 'U', 'D', 'I', 'T', 1,   0,    0,    0,
                                 7,   0xdd, 0x9e, 0xf5, 0x1f, 0x0a, 0, 0, 0,   0,    0};
  uint8_t file[sizeof(bomb) + 32];
  memcpy(file, bomb, sizeof(bomb));
  memset(file + sizeof(bomb), 0, 32);
  struct dk_audit_result r;
  assert_int_not_equal(dk_audit_verify(file, sizeof(file), NULL, NULL, &r), 0);
  dk_audit_result_release(&r);
  assert_int_equal(dk_audit_verify((const uint8_t *)"", 0, NULL, NULL, &r), DK_EFORMAT);
  dk_audit_result_release(&r);
}

static void erase_block(void **state) {
  struct dk_buf b;
  dk_buf_init(&b);
  assert_int_equal(dk_erase_body_encode("court order", &b), 0);
  char reason[64];
  assert_int_equal(dk_erase_body_decode(b.data, b.len, reason, sizeof(reason)), 0);
  assert_string_equal(reason, "court order");
  /* A non-canonical encoding of the same (str8 for a short string) fails. */
  static const uint8_t str8[] = {0x92, 0xa5, 'e', 'r', 'a', 's', 'e', 0xd9, 1, 'x'};
  assert_int_equal(dk_erase_body_decode(str8, sizeof(str8), reason, sizeof(reason)), DK_EFORMAT);
  static const uint8_t other[] = {0x92, 0xa5, 'e', 'r', 'a', 's', 'f', 0xa1, 'x'};
  assert_int_equal(dk_erase_body_decode(other, sizeof(other), reason, sizeof(reason)), DK_EFORMAT);
  assert_true(dk_erase_office_may("zhanhe/beidu", "zhanhe/beidu/lanxin"));
  assert_true(dk_erase_office_may("zhanhe/beidu/lanxin", "zhanhe/beidu/lanxin"));
  assert_false(dk_erase_office_may("zhanhe/beidu/xinhe", "zhanhe/beidu/lanxin"));
  assert_false(dk_erase_office_may("zhanhe/bei", "zhanhe/beidu/lanxin"));
  dk_buf_release(&b);
}

/* ---- certificates, with real nodes --------------------------------------------- */

#define PASS "pw"
static uint64_t fixed_clock(void *ctx) { return *(const uint64_t *)ctx; }

static dk_node *make_node(const char *root, const char *name, const char *office,
                          enum dk_office_role role, const char *code, uint64_t *clock) {
  char dir[128];
  snprintf(dir, sizeof(dir), "%s/%s", root, name);
  struct dk_node_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  strcpy(cfg.office, office);
  strcpy(cfg.code, code);
  cfg.role = role;
  uint8_t pk[DK_PK_BYTES];
  assert_int_equal(dk_node_create(dir, &cfg, PASS, strlen(PASS), pk), 0);
  dk_node *n = NULL;
  assert_int_equal(dk_node_open(dir, PASS, strlen(PASS), &n), 0);
  dk_node_set_clock(n, fixed_clock, clock);
  return n;
}

struct copied {
  struct dk_raw_entry e[64];
  uint8_t *mem[64];
  size_t n;
};

static int copy_entry(void *ctx, const struct dk_raw_entry *e) {
  struct copied *b = ctx;
  assert_true(b->n < 64);
  size_t len = e->header_len + DK_SIG_BYTES + e->body_len;
  uint8_t *m = malloc(len ? len : 1);
  assert_non_null(m);
  memcpy(m, e->header, e->header_len);
  memcpy(m + e->header_len, e->sig, DK_SIG_BYTES);
  if (e->body)
    memcpy(m + e->header_len + DK_SIG_BYTES, e->body, e->body_len);
  b->mem[b->n] = m;
  b->e[b->n] = (struct dk_raw_entry){m, e->header_len, m + e->header_len,
                                     e->body ? m + e->header_len + DK_SIG_BYTES : NULL,
                                     e->body_len};
  b->n++;
  return 0;
}

/* Every entry of from's own log into to. */
static void move_log(dk_node *from, dk_node *to) {
  struct copied b = {0};
  assert_int_equal(dk_node_log_read(from, dk_node_pk(from), 1, 64, 1 << 20, copy_entry, &b), 0);
  struct dk_ingest_stats st;
  assert_int_equal(dk_node_ingest(to, b.e, b.n, &st), 0);
  for (size_t i = 0; i < b.n; i++)
    free(b.mem[i]);
}

static void statement(dk_node *district, const struct dk_identity *root, uint64_t type,
                      const uint8_t *key, const char *office, const char *role,
                      uint64_t revoked_at) {
  struct dk_statement s;
  memset(&s, 0, sizeof(s));
  s.type = type;
  memcpy(s.key, key, DK_PK_BYTES);
  memcpy(s.root, root->pk, DK_PK_BYTES);
  if (type == DK_ENTRY_CERT || type == DK_ENTRY_AUDITOR) {
    strcpy(s.office, office); /* an auditor grant: the subtree */
    if (role)
      strcpy(s.role, role);
    s.not_before_ms = T0;
    s.not_after_ms = T0 + 365ull * 24 * 3600 * 1000;
  } else {
    s.revoked_at_ms = revoked_at;
    strcpy(s.reason, "laptop stolen");
  }
  assert_int_equal(dk_node_statement_append(district, root, &s), 0);
}


/* A district with a root certifies a community, holds its case, and audits
 * it: authors are checked against the certificates carried in the bundle. A
 * certificate altered in the bundle fails it, and once the community's key
 * is revoked from before its last entry, the audit fails naming that entry. */
static void audit_checks_certificates(void **state) {
  char dir[] = "/tmp/dk-audit-XXXXXX";
  assert_non_null(mkdtemp(dir));
  T0 = (uint64_t)time(NULL) * 1000 + 60000;
  uint64_t clock = T0;
  struct dk_identity root;
  assert_int_equal(dk_identity_generate(&root), 0);
  dk_node *zh = make_node(dir, "zhanhe", "zhanhe", DK_OFFICE_DISTRICT, "ZH", &clock);
  dk_node *lx = make_node(dir, "lanxin", "zhanhe/beidu/lanxin", DK_OFFICE_COMMUNITY, "LX", &clock);
  assert_int_equal(dk_node_set_root(zh, root.pk), 0);
  assert_int_equal(dk_node_set_root(lx, root.pk), 0);
  statement(zh, &root, DK_ENTRY_CERT, dk_node_pk(lx), "zhanhe/beidu/lanxin", "community", 0);

  clock = T0 + 1000;
  struct dk_event ev;
  dk_event_init(&ev);
  ev.type = DK_EVENT_OPEN;
  ev.kind = DK_KIND_DISPUTE;
  ev.at_ms = clock;
  ev.text = "Fence moved onto the neighbour's plot";
  char *parties[1] = {"Zhao Lei"};
  ev.parties = parties;
  ev.parties_count = 1;
  uint8_t case_id[32];
  char number[DK_CASE_NUMBER_BYTES];
  assert_int_equal(dk_node_case_open(lx, &ev, case_id, number), 0);
  clock = T0 + 2000;
  struct dk_event note;
  dk_event_init(&note);
  note.type = DK_EVENT_NOTE;
  note.at_ms = clock;
  note.text = "Surveyor booked";
  assert_int_equal(dk_node_case_append(lx, case_id, &note), 0);
  free(note.deps);
  move_log(lx, zh);

  /* Certified: verifies, and says so. */
  struct dk_buf b;
  dk_buf_init(&b);
  struct dk_audit_write_stats ws;
  assert_int_equal(dk_node_audit_write(zh, case_id, NULL, &b, &ws), 0);
  struct dk_audit_result r;
  assert_int_equal(dk_audit_verify(b.data, b.len, NULL, root.pk, &r), 0);
  assert_true(r.has_root);
  assert_memory_equal(r.root, root.pk, DK_PK_BYTES);
  assert_int_equal(r.statements, 1);
  assert_int_equal(r.district_seq, 2);
  assert_int_equal(r.authors_checked, 2);
  assert_int_equal(r.entries_count, 2);
  assert_int_equal(r.entries[0].cert, DK_AUDIT_CERT_VALID);
  assert_int_equal(r.entries[1].cert, DK_AUDIT_CERT_VALID);
  dk_audit_result_release(&r);

  /* The certificate's office altered (and the digest made to match): the
   * district entry's body hash names it, and the authors lose their
   * certificate. */
  uint8_t pattern[DK_PK_BYTES + 1];
  memcpy(pattern, dk_node_pk(lx), DK_PK_BYTES);
  pattern[DK_PK_BYTES] = 0xb3; /* fixstr of 19: the office right after the key */
  uint8_t *at = memmem(b.data, b.len, pattern, sizeof(pattern));
  assert_non_null(at);
  uint8_t *bad = malloc(b.len);
  memcpy(bad, b.data, b.len);
  bad[at - b.data + sizeof(pattern) + 13] ^= 0x01; /* zhanhe/beidu/[l]anxin */
  redigest(bad, b.len);
  assert_int_equal(dk_audit_verify(bad, b.len, NULL, root.pk, &r), DK_EBADBODY);
  assert_memory_equal(r.failures[0].log, dk_node_pk(zh), DK_PK_BYTES);
  assert_int_equal(r.failures[0].seq, 2);
  assert_string_equal(r.failures[0].what, "body does not match the signed hash");
  assert_int_equal(r.statements, 0);
  assert_int_equal(r.entries[0].cert, DK_AUDIT_CERT_NONE);
  dk_audit_result_release(&r);
  /* The root named in the head replaced: the head is refused, and the
   * statements are still opened against the trusted root only. */
  memcpy(bad, b.data, b.len);
  at = memmem(bad, b.len, root.pk, DK_PK_BYTES);
  assert_non_null(at);
  at[0] ^= 0x01;
  redigest(bad, b.len);
  assert_int_equal(dk_audit_verify(bad, b.len, NULL, root.pk, &r), DK_ECERT);
  assert_string_equal(r.failures[0].what,
                      "the bundle names another deployment root than the trusted one");
  assert_int_equal(r.statements, 1);
  dk_audit_result_release(&r);
  free(bad);

  /* Revoked from T0 + 1500: the open (T0 + 1000) stands, the note
   * (T0 + 2000, seq 3 of lanxin's log) fails. */
  clock = T0 + 3000;
  statement(zh, &root, DK_ENTRY_REVOKE, dk_node_pk(lx), NULL, NULL, T0 + 1500);
  dk_buf_reset(&b);
  assert_int_equal(dk_node_audit_write(zh, case_id, NULL, &b, &ws), 0);
  assert_int_equal(dk_audit_verify(b.data, b.len, NULL, root.pk, &r), DK_ECERT);
  assert_int_equal(r.statements, 2);
  assert_int_equal(r.failures_count, 1);
  assert_memory_equal(r.failures[0].log, dk_node_pk(lx), DK_PK_BYTES);
  assert_int_equal(r.failures[0].seq, 3);
  assert_string_equal(r.failures[0].what, "written after its author's key was revoked");
  assert_int_equal(r.entries[0].cert, DK_AUDIT_CERT_VALID);
  assert_int_equal(r.entries[1].cert, DK_AUDIT_CERT_REVOKED);
  dk_audit_result_release(&r);

  /* That failing bundle with the root taken out of its head, its
   * district's log left out, or both: never "verified" against the
   * trusted root, and without one, authorship is not claimed. */
  struct dk_buf stripped;
  dk_buf_init(&stripped);
  struct tamper t = {0};
  t.strip_root = 1;
  rewrite(b.data, b.len, &stripped, tamper_fn, &t);
  assert_int_equal(dk_audit_verify(stripped.data, stripped.len, NULL, root.pk, &r), DK_ECERT);
  assert_string_equal(r.failures[0].what,
                      "the bundle names no deployment root, but one is trusted here: it was "
                      "written outside this deployment or its root was removed");
  assert_int_equal(r.entries[1].cert, DK_AUDIT_CERT_REVOKED);
  dk_audit_result_release(&r);
  assert_int_equal(dk_audit_verify(stripped.data, stripped.len, NULL, NULL, &r), 0);
  assert_false(r.has_root);
  assert_int_equal(r.authors_checked, 0);
  assert_int_equal(r.entries[1].cert, DK_AUDIT_CERT_UNCHECKED);
  dk_audit_result_release(&r);
  memset(&t, 0, sizeof(t));
  t.drop_log = dk_node_pk(zh);
  rewrite(b.data, b.len, &stripped, tamper_fn, &t);
  assert_int_equal(dk_audit_verify(stripped.data, stripped.len, NULL, root.pk, &r), DK_ECERT);
  assert_int_equal(r.statements, 0);
  assert_int_equal(r.entries[0].cert, DK_AUDIT_CERT_NONE);
  assert_int_equal(r.entries[1].cert, DK_AUDIT_CERT_NONE);
  dk_audit_result_release(&r);
  t.strip_root = 1;
  rewrite(b.data, b.len, &stripped, tamper_fn, &t);
  assert_int_equal(dk_audit_verify(stripped.data, stripped.len, NULL, root.pk, &r), DK_ECERT);
  dk_audit_result_release(&r);
  assert_int_equal(dk_audit_verify(stripped.data, stripped.len, NULL, NULL, &r), 0);
  assert_false(r.has_root);
  dk_audit_result_release(&r);
  dk_buf_release(&stripped);

  dk_buf_release(&b);
  dk_node_close(zh);
  dk_node_close(lx);
  dk_identity_release(&root);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}


/* ---- attacks on what a bundle claims -------------------------------------------- */

/* An attacker makes a root of its own, signs a certificate for the §10 log
 * with it, names it in the head and carries a district log holding that
 * certificate. Checked against the root the auditor trusts, it fails; with
 * no trusted root it is not "verified" with authorship checked. */
static void attacker_root_refused(void **state) {
  struct dk_identity id, attacker;
  node_identity(&id);
  assert_int_equal(dk_identity_generate(&attacker), 0);
  struct dk_buf file;
  dk_buf_init(&file);
  build_bundle_as(&file, &id, 1, &attacker);
  corpus_write("attacker-root", 2, &file);
  uint8_t root[DK_PK_BYTES];
  vector_root(root);
  struct dk_audit_result r;
  assert_int_equal(dk_audit_verify(file.data, file.len, &id, root, &r), DK_ECERT);
  assert_string_equal(r.failures[0].what,
                      "the bundle names another deployment root than the trusted one");
  assert_int_equal(r.statements, 0);
  assert_int_equal(r.statements_ignored, 1);
  assert_int_equal(r.entries[0].cert, DK_AUDIT_CERT_NONE);
  assert_int_equal(r.entries[1].cert, DK_AUDIT_CERT_NONE);
  dk_audit_result_release(&r);
  /* Trusting the attacker's root is the auditor's choice, and only then
   * does it pass. */
  assert_int_equal(dk_audit_verify(file.data, file.len, &id, attacker.pk, &r), 0);
  dk_audit_result_release(&r);
  /* No trusted root: the history holds, authorship is not claimed. */
  assert_int_equal(dk_audit_verify(file.data, file.len, &id, NULL, &r), 0);
  assert_false(r.has_root);
  assert_int_equal(r.authors_checked, 0);
  assert_int_equal(r.entries[0].cert, DK_AUDIT_CERT_UNCHECKED);
  dk_audit_result_release(&r);
  dk_identity_release(&attacker);
  dk_identity_release(&id);
  dk_buf_release(&file);
}

static uint64_t CLOCK;

static void remove_dir(const char *dir) {
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

/* lanxin (no root) opens case a (seq 2), case b (seq 3), and a note of a
 * (seq 4); bundle gets case a's bundle. */
static dk_node *two_cases(const char *dir, uint8_t a[32], uint8_t b[32], struct dk_buf *bundle) {
  T0 = (uint64_t)time(NULL) * 1000 + 60000;
  CLOCK = T0;
  dk_node *lx = make_node(dir, "lanxin", "zhanhe/beidu/lanxin", DK_OFFICE_COMMUNITY, "LX", &CLOCK);
  CLOCK = T0 + 1000;
  open_case(lx, CLOCK, "Fence moved", a);
  CLOCK = T0 + 2000;
  open_case(lx, CLOCK, "Rent unpaid", b);
  CLOCK = T0 + 3000;
  add_note(lx, CLOCK, a);
  struct dk_audit_write_stats ws;
  assert_int_equal(dk_node_audit_write(lx, a, NULL, bundle, &ws), 0);
  struct dk_audit_result r;
  assert_int_equal(dk_audit_verify(bundle->data, bundle->len, NULL, NULL, &r), 0);
  assert_int_equal(r.entries_count, 2);
  dk_audit_result_release(&r);
  return lx;
}

/* A courier drops a body: it may not pass as an erasure, which only a
 * signed, authorised erase entry makes. */
static void stripped_body_fails(void **state) {
  char dir[] = "/tmp/dk-audit-XXXXXX";
  assert_non_null(mkdtemp(dir));
  uint8_t a[32], b[32];
  struct dk_buf bundle, bad;
  dk_buf_init(&bundle);
  dk_buf_init(&bad);
  dk_node *lx = two_cases(dir, a, b, &bundle);
  struct dk_audit_result r;
  /* The note's body dropped (digest made to match). */
  struct tamper t = {0};
  t.log = dk_node_pk(lx);
  t.seq = 4;
  rewrite(bundle.data, bundle.len, &bad, tamper_fn, &t);
  corpus_write("body-stripped", 0, &bad);
  assert_int_equal(dk_audit_verify(bad.data, bad.len, NULL, NULL, &r), DK_ENOTFOUND);
  assert_int_equal(r.failures_total, 1);
  assert_memory_equal(r.failures[0].log, dk_node_pk(lx), DK_PK_BYTES);
  assert_int_equal(r.failures[0].seq, 4);
  assert_string_equal(r.failures[0].what,
                      "case entry carried without its body, and no authorised erase entry "
                      "covers it");
  assert_false(r.erased);
  assert_int_equal(r.bodies_erased, 0);
  dk_audit_result_release(&r);
  /* The opening entry's body dropped. */
  t.seq = 2;
  rewrite(bundle.data, bundle.len, &bad, tamper_fn, &t);
  assert_int_equal(dk_audit_verify(bad.data, bad.len, NULL, NULL, &r), DK_ENOTFOUND);
  assert_int_equal(r.failures[0].seq, 2);
  assert_string_equal(r.failures[0].what,
                      "the case's opening entry is carried without its body, and no authorised "
                      "erase entry covers it");
  dk_audit_result_release(&r);
  dk_buf_release(&bundle);
  dk_buf_release(&bad);
  dk_node_close(lx);
  remove_dir(dir);
}

/* Case A's bundle relabelled as case B, whose opening entry (seq 3) it
 * carries without a body: the case follows from the signed entry, whose
 * body is missing and which nothing erased. */
static void relabelled_case_fails(void **state) {
  char dir[] = "/tmp/dk-audit-XXXXXX";
  assert_non_null(mkdtemp(dir));
  uint8_t a[32], b[32];
  struct dk_buf bundle, bad;
  dk_buf_init(&bundle);
  dk_buf_init(&bad);
  dk_node *lx = two_cases(dir, a, b, &bundle);
  struct dk_audit_result r;
  struct tamper t = {0};
  t.case_id = b;
  rewrite(bundle.data, bundle.len, &bad, tamper_fn, &t);
  corpus_write("case-relabelled", 0, &bad);
  assert_int_equal(dk_audit_verify(bad.data, bad.len, NULL, NULL, &r), DK_ENOTFOUND);
  assert_memory_equal(r.case_id, b, 32);
  assert_int_equal(r.entries_count, 1);
  assert_int_equal(r.failures[0].seq, 3);
  assert_string_equal(r.failures[0].what,
                      "the case's opening entry is carried without its body, and no authorised "
                      "erase entry covers it");
  assert_false(r.erased);
  dk_audit_result_release(&r);
  /* Relabelled with an id no signed opening entry has. */
  uint8_t nothing[32];
  memset(nothing, 0x5a, sizeof(nothing));
  t.case_id = nothing;
  rewrite(bundle.data, bundle.len, &bad, tamper_fn, &t);
  assert_int_equal(dk_audit_verify(bad.data, bad.len, NULL, NULL, &r), DK_ENOTFOUND);
  assert_string_equal(r.failures[0].what,
                      "the case's signed opening entry (the entry whose id is the case id) is "
                      "not in the bundle: the case it claims is not bound to any signed entry");
  dk_audit_result_release(&r);
  dk_buf_release(&bundle);
  dk_buf_release(&bad);
  dk_node_close(lx);
  remove_dir(dir);
}

/* Genuinely erased: bodies may be missing, but the erase entry's own body
 * may not (it is never erased). */
static void erased_case_bodies_may_be_missing(void **state) {
  char dir[] = "/tmp/dk-audit-XXXXXX";
  assert_non_null(mkdtemp(dir));
  uint8_t a[32], b[32];
  struct dk_buf bundle, bad;
  dk_buf_init(&bundle);
  dk_buf_init(&bad);
  dk_node *lx = two_cases(dir, a, b, &bundle);
  CLOCK = T0 + 4000;
  struct dk_erase_info info;
  assert_int_equal(dk_node_case_erase(lx, a, "court order 9", &info), 0);
  dk_buf_reset(&bundle);
  struct dk_audit_write_stats ws;
  assert_int_equal(dk_node_audit_write(lx, a, NULL, &bundle, &ws), 0);
  struct dk_audit_result r;
  assert_int_equal(dk_audit_verify(bundle.data, bundle.len, NULL, NULL, &r), 0);
  assert_true(r.erased);
  assert_int_equal(r.bodies_erased, 2);
  dk_audit_result_release(&r);
  struct tamper t = {0};
  t.log = dk_node_pk(lx);
  t.seq = 5; /* the erase entry */
  corpus_write("erased-case", 0, &bundle);
  rewrite(bundle.data, bundle.len, &bad, tamper_fn, &t);
  corpus_write("erase-body-stripped", 0, &bad);
  assert_int_equal(dk_audit_verify(bad.data, bad.len, NULL, NULL, &r), DK_ENOTFOUND);
  assert_int_equal(r.failures[0].seq, 5);
  assert_string_equal(r.failures[0].what,
                      "erase entry carried without its body: erase entries are never erased");
  assert_false(r.erased);
  dk_audit_result_release(&r);
  dk_buf_release(&bundle);
  dk_buf_release(&bad);
  dk_node_close(lx);
  remove_dir(dir);
}

/* A rooted pair: the district zh (root set, statements in its log) and
 * lanxin, certified, holding the district's log and one case. a1 holds an
 * auditor grant for zhanhe/beidu, a3 one for zhanhe/other, a2 none. */
struct rooted {
  char dir[32];
  struct dk_identity root, a1, a2, a3, fake;
  uint8_t root_pk[DK_PK_BYTES];
  dk_node *zh, *lx;
  uint8_t c[32];
};

static void rooted_setup(struct rooted *f) {
  strcpy(f->dir, "/tmp/dk-audit-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  T0 = (uint64_t)time(NULL) * 1000 + 60000;
  CLOCK = T0;
  vector_root(f->root_pk); /* the §11 root, so that the fuzz corpus can trust it */
  uint8_t seed[DK_SEED_BYTES];
  memset(seed, 0x09, sizeof(seed));
  assert_int_equal(dk_identity_from_seed(&f->root, seed), 0);
  assert_int_equal(dk_identity_generate(&f->a1), 0);
  assert_int_equal(dk_identity_generate(&f->a2), 0);
  assert_int_equal(dk_identity_generate(&f->a3), 0);
  assert_int_equal(dk_identity_generate(&f->fake), 0);
  f->zh = make_node(f->dir, "zhanhe", "zhanhe", DK_OFFICE_DISTRICT, "ZH", &CLOCK);
  f->lx = make_node(f->dir, "lanxin", "zhanhe/beidu/lanxin", DK_OFFICE_COMMUNITY, "LX", &CLOCK);
  assert_int_equal(dk_node_set_root(f->zh, f->root.pk), 0);
  assert_int_equal(dk_node_set_root(f->lx, f->root.pk), 0);
  statement(f->zh, &f->root, DK_ENTRY_CERT, dk_node_pk(f->lx), "zhanhe/beidu/lanxin", "community",
            0);
  statement(f->zh, &f->root, DK_ENTRY_AUDITOR, f->a1.pk, "zhanhe/beidu", NULL, 0);
  statement(f->zh, &f->root, DK_ENTRY_AUDITOR, f->a3.pk, "zhanhe/other", NULL, 0);
  move_log(f->zh, f->lx);
  CLOCK = T0 + 1000;
  open_case(f->lx, CLOCK, "Fence moved", f->c);
}

static void rooted_release(struct rooted *f) {
  dk_node_close(f->zh);
  dk_node_close(f->lx);
  dk_identity_release(&f->root);
  dk_identity_release(&f->a1);
  dk_identity_release(&f->a2);
  dk_identity_release(&f->a3);
  dk_identity_release(&f->fake);
  remove_dir(f->dir);
}

/* With a trusted root, the reader a bundle's case key is wrapped for must
 * hold an auditor grant covering the case's office. */
static void ungranted_reader_fails(void **state) {
  struct rooted f;
  rooted_setup(&f);
  struct dk_buf b;
  dk_buf_init(&b);
  struct dk_audit_write_stats ws;
  struct dk_audit_result r;
  /* No grant at all, and a grant of another subtree. */
  const struct dk_identity *ungranted[2] = {&f.a2, &f.a3};
  for (int i = 0; i < 2; i++) {
    dk_buf_reset(&b);
    assert_int_equal(dk_node_audit_write(f.lx, f.c, ungranted[i]->pk, &b, &ws), 0);
    corpus_write(i == 0 ? "reader-ungranted" : "reader-other-subtree", 2, &b);
    assert_int_equal(dk_audit_verify(b.data, b.len, ungranted[i], f.root.pk, &r), DK_ECERT);
    assert_int_equal(r.reader_grant, DK_AUDIT_CERT_NONE);
    assert_string_equal(r.failures[0].what,
                        "the case key is wrapped for a reader with no auditor grant covering "
                        "the case's office at the bundle's time");
    dk_audit_result_release(&r);
  }
  /* Granted zhanhe/beidu: covers lanxin. */
  dk_buf_reset(&b);
  assert_int_equal(dk_node_audit_write(f.lx, f.c, f.a1.pk, &b, &ws), 0);
  corpus_write("reader-granted", 2, &b);
  assert_int_equal(dk_audit_verify(b.data, b.len, &f.a1, f.root.pk, &r), 0);
  assert_true(r.key_used);
  assert_int_equal(r.reader_grant, DK_AUDIT_CERT_VALID);
  assert_string_equal(r.reader_subtree, "zhanhe/beidu");
  assert_int_equal(r.statements, 3);
  dk_audit_result_release(&r);
  /* A node may wrap for itself. */
  dk_buf_reset(&b);
  assert_int_equal(dk_node_audit_write(f.lx, f.c, dk_node_pk(f.lx), &b, &ws), 0);
  assert_int_equal(dk_audit_verify(b.data, b.len, dk_node_identity(f.lx), f.root.pk, &r), 0);
  dk_audit_result_release(&r);
  dk_buf_release(&b);
  rooted_release(&f);
}

/* A "street" under a key nobody certified witnesses lanxin's head: with a
 * trusted root the witness fails and does not count. */
static void uncertified_witness_fails(void **state) {
  struct rooted f;
  rooted_setup(&f);
  struct dk_buf b, bad;
  dk_buf_init(&b);
  dk_buf_init(&bad);
  struct dk_audit_write_stats ws;
  struct dk_audit_result r;
  assert_int_equal(dk_node_audit_write(f.lx, f.c, NULL, &b, &ws), 0);
  struct tamper t = {0};
  t.fake_parent = &f.fake;
  t.witness_of = dk_node_pk(f.lx);
  rewrite(b.data, b.len, &bad, tamper_fn, &t);
  corpus_write("witness-uncertified", 3, &bad);
  assert_int_equal(dk_audit_verify(bad.data, bad.len, NULL, f.root.pk, &r), DK_ECERT);
  assert_memory_equal(r.failures[0].log, f.fake.pk, DK_PK_BYTES);
  assert_int_equal(r.failures[0].seq, 2);
  assert_string_equal(r.failures[0].what,
                      "witness entry whose author held no certificate for its office at the "
                      "time");
  assert_int_equal(r.witnesses_checked, 0);
  assert_int_equal(r.unwitnessed, 1);
  dk_audit_result_release(&r);
  /* Certified as that street, the same witness counts. */
  statement(f.zh, &f.root, DK_ENTRY_CERT, f.fake.pk, "zhanhe/beidu", "street", 0);
  move_log(f.zh, f.lx);
  dk_buf_reset(&b);
  assert_int_equal(dk_node_audit_write(f.lx, f.c, NULL, &b, &ws), 0);
  rewrite(b.data, b.len, &bad, tamper_fn, &t);
  assert_int_equal(dk_audit_verify(bad.data, bad.len, NULL, f.root.pk, &r), 0);
  assert_int_equal(r.witnesses_checked, 1);
  assert_int_equal(r.unwitnessed, 0);
  dk_audit_result_release(&r);
  dk_buf_release(&bad);
  dk_buf_release(&b);
  rooted_release(&f);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(vector_verifies),     cmocka_unit_test(truncations_fail),
      cmocka_unit_test(every_byte_flip_fails), cmocka_unit_test(hostile_inputs_fail),
      cmocka_unit_test(erase_block),         cmocka_unit_test(audit_checks_certificates),
      cmocka_unit_test(attacker_root_refused),
      cmocka_unit_test(stripped_body_fails),
      cmocka_unit_test(relabelled_case_fails),
      cmocka_unit_test(erased_case_bodies_may_be_missing),
      cmocka_unit_test(ungranted_reader_fails),
      cmocka_unit_test(uncertified_witness_fails),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
