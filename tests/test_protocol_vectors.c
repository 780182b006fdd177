/*
 * Known-answer vectors of docs/PROTOCOL.md, recomputed from their inputs.
 *
 * The expected bytes are not in this file: they are read from the
 * "name = hex" lines of docs/PROTOCOL.md at run time, so the document and the
 * code cannot drift apart. Every vector the document shows must be checked
 * here, and every vector checked here must be in the document.
 *
 * DK_PRINT_VECTORS=1 prints the computed lines instead of comparing (to write
 * the document after a deliberate format change).
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/limits.h"
#include "crypto/crypto.h"
#include "crypto/keyfile.h"
#include "node/cases/fold.h"
#include "node/log/entry.h"
#include "node/log/fork.h"
#include "node/log/log.h"
#include "node/trust/trust.h"

#define TS1 1735689600000ull /* 2025-01-01T00:00:00Z */
#define TS2 1735689660000ull /* one minute later */
#define TS3 1735689720000ull
#define AT3 1735689700000ull

#define VECTORS_MAX 64
#define VECTOR_HEX_MAX 8192

struct vector {
  char name[64];
  char hex[VECTOR_HEX_MAX];
  int checked;
};

struct doc {
  struct vector v[VECTORS_MAX];
  size_t count;
  int print;
};

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static const size_t cap = 1 << 20;
  char *s = calloc(1, cap);
  assert_non_null(s);
  size_t n = fread(s, 1, cap - 1, f);
  fclose(f);
  s[n] = 0;
  return s;
}

/* Collects every line of the form "    name = hex" (an indented code line). */
static void doc_load(struct doc *d) {
  memset(d, 0, sizeof(*d));
  d->print = getenv("DK_PRINT_VECTORS") != NULL;
  char *text = read_file(DK_SOURCE_DIR "/docs/PROTOCOL.md");
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (strncmp(line, "    ", 4) != 0)
      continue;
    char *p = line + 4, *name = p;
    while (*p == '_' || isdigit((unsigned char)*p) || islower((unsigned char)*p))
      p++;
    if (p == name || strncmp(p, " = ", 3) != 0)
      continue;
    size_t name_len = (size_t)(p - name);
    char *hex = p + 3;
    size_t hex_len = strspn(hex, "0123456789abcdef");
    if (hex_len == 0 || hex[hex_len] != 0)
      continue;
    assert_true(d->count < VECTORS_MAX);
    assert_true(name_len < sizeof(d->v[0].name) && hex_len < VECTOR_HEX_MAX);
    struct vector *v = &d->v[d->count++];
    memcpy(v->name, name, name_len);
    memcpy(v->hex, hex, hex_len);
  }
  free(text);
}

/* Compares bytes with the document's vector called name (or prints them). */
static void expect_vector(struct doc *d, const char *name, const uint8_t *bytes, size_t len) {
  char *hex = malloc(len * 2 + 1);
  assert_non_null(hex);
  dk_hex(bytes, len, hex);
  if (d->print) {
    printf("    %s = %s\n", name, hex);
    free(hex);
    return;
  }
  struct vector *v = NULL;
  for (size_t i = 0; i < d->count; i++)
    if (strcmp(d->v[i].name, name) == 0)
      v = &d->v[i];
  if (v == NULL)
    fail_msg("docs/PROTOCOL.md has no vector '%s' (computed %s)", name, hex);
  if (strcmp(v->hex, hex) != 0)
    fail_msg("vector '%s':\n  document %s\n  computed %s", name, v->hex, hex);
  v->checked = 1;
  free(hex);
}

/* ---- the inputs ---------------------------------------------------------- */

static void fill(uint8_t *p, size_t n, uint8_t byte) { memset(p, byte, n); }

static void node_identity(struct dk_identity *id) {
  uint8_t seed[DK_SEED_BYTES];
  fill(seed, sizeof(seed), 0x01);
  assert_int_equal(dk_identity_from_seed(id, seed), 0);
}

/* Body encryption with a given nonce, computed with libsodium directly as
 * PROTOCOL.md describes it (docket itself always draws a random nonce). */
static void body_seal_with_nonce(const uint8_t key[32], const uint8_t nonce[24],
                                 const uint8_t log[32], uint64_t seq, const uint8_t *pt,
                                 size_t len, uint8_t *out) {
  uint8_t ad[sizeof(DK_DOMAIN_BODY_AD) + 32 + 8];
  memcpy(ad, DK_DOMAIN_BODY_AD, sizeof(DK_DOMAIN_BODY_AD));
  memcpy(ad + sizeof(DK_DOMAIN_BODY_AD), log, 32);
  dk_be64_put(ad + sizeof(DK_DOMAIN_BODY_AD) + 32, seq);
  memcpy(out, nonce, 24);
  unsigned long long clen = 0;
  assert_int_equal(crypto_aead_xchacha20poly1305_ietf_encrypt(out + 24, &clen, pt, len, ad,
                                                              sizeof(ad), NULL, nonce, key),
                   0);
  assert_int_equal(clen, len + 16);
}

/* A case key wrapped for a reader with a given nonce, as PROTOCOL.md section
 * 5.2 describes it: nonce || crypto_box_easy_afternm(key, nonce,
 * beforenm(reader x25519 pk, writer x25519 sk)). */
static void wrap_with_nonce(const uint8_t reader_xpk[32], const uint8_t writer_xsk[32],
                            const uint8_t nonce[24], const uint8_t key[32],
                            uint8_t out[DK_SEALED_KEY_BYTES]) {
  uint8_t shared[32];
  assert_int_equal(crypto_box_beforenm(shared, reader_xpk, writer_xsk), 0);
  memcpy(out, nonce, 24);
  assert_int_equal(crypto_box_easy_afternm(out + 24, key, 32, nonce, shared), 0);
}

static void seal_entry(struct dk_entry *e, const struct dk_identity *id, uint64_t seq,
                       const uint8_t *prev, uint64_t ts, uint64_t type, const uint8_t *case_id,
                       const uint8_t *body, size_t body_len) {
  struct dk_header h;
  memset(&h, 0, sizeof(h));
  h.version = DK_ENTRY_VERSION;
  memcpy(h.log, id->pk, DK_PK_BYTES);
  h.seq = seq;
  h.has_prev = prev != NULL;
  if (prev)
    memcpy(h.prev, prev, DK_HASH_BYTES);
  h.ts_ms = ts;
  h.type = type;
  h.has_case = case_id != NULL;
  if (case_id)
    memcpy(h.case_id, case_id, DK_HASH_BYTES);
  h.body_bytes = body_len;
  dk_hash_plain(body, body_len, h.body_hash);
  assert_int_equal(dk_entry_seal(e, &h, id), 0);
  /* What a reader does with the same bytes. */
  struct dk_entry again;
  assert_int_equal(dk_entry_parse(&again, e->header_bytes, e->header_len, e->sig), 0);
  assert_memory_equal(again.id, e->id, DK_HASH_BYTES);
  assert_int_equal(dk_entry_verify_sig(&again), 0);
  assert_int_equal(dk_entry_check_body(&again, body, body_len), 0);
}

/* ---- the vectors ---------------------------------------------------------- */

/* PROTOCOL.md 11: a certificate signed by a root with seed 32 x 09 for the
 * node of section 10, and the entry body that carries it. */
static void statement_vectors(struct doc *d) {
  struct dk_identity node, root;
  node_identity(&node);
  uint8_t seed[DK_SEED_BYTES];
  memset(seed, 0x09, sizeof(seed));
  assert_int_equal(dk_identity_from_seed(&root, seed), 0);
  expect_vector(d, "root_pk", root.pk, DK_PK_BYTES);
  struct dk_statement st;
  memset(&st, 0, sizeof(st));
  st.type = DK_ENTRY_CERT;
  memcpy(st.key, node.pk, DK_PK_BYTES);
  strcpy(st.office, "zhanhe/beidu/lanxin");
  strcpy(st.role, "community");
  st.not_before_ms = 1735689600000ull;
  st.not_after_ms = 1767225600000ull;
  memcpy(st.root, root.pk, DK_PK_BYTES);
  struct dk_buf stmt, body;
  dk_buf_init(&stmt);
  dk_buf_init(&body);
  assert_int_equal(dk_statement_encode(&st, &stmt), 0);
  expect_vector(d, "cert_statement", stmt.data, stmt.len);
  assert_int_equal(dk_statement_sign(&st, &root, &body), 0);
  expect_vector(d, "cert_body", body.data, body.len);
  struct dk_statement back;
  assert_int_equal(dk_statement_open(DK_ENTRY_CERT, body.data, body.len, root.pk, &back), 0);
  assert_string_equal(back.office, "zhanhe/beidu/lanxin");
  dk_buf_release(&stmt);
  dk_buf_release(&body);
  dk_identity_release(&root);
  dk_identity_release(&node);
}

static void log_vectors(void **state) {
  struct doc *d = malloc(sizeof(*d));
  assert_non_null(d);
  doc_load(d);
  struct dk_identity id;
  node_identity(&id);
  expect_vector(d, "node_pk", id.pk, 32);
  expect_vector(d, "node_x25519_pk", id.xpk, 32);

  /* Entry 1: the office entry. */
  struct dk_office_info office;
  memset(&office, 0, sizeof(office));
  strcpy(office.office, "zhanhe/beidu/lanxin");
  strcpy(office.role, "community");
  strcpy(office.code, "LX");
  struct dk_buf body1;
  dk_buf_init(&body1);
  assert_int_equal(dk_office_body_encode(&office, &body1), 0);
  expect_vector(d, "entry1_body", body1.data, body1.len);
  struct dk_entry e1;
  seal_entry(&e1, &id, 1, NULL, TS1, DK_ENTRY_OFFICE, NULL, body1.data, body1.len);
  expect_vector(d, "entry1_header", e1.header_bytes, e1.header_len);
  expect_vector(d, "entry1_sig", e1.sig, DK_SIG_BYTES);
  expect_vector(d, "entry1_id", e1.id, DK_HASH_BYTES);
  assert_int_equal(dk_entry_check_link(&e1, 0, NULL, 0), 0);
  uint8_t stored[2 + DK_HEADER_BYTES_MAX + DK_SIG_BYTES];
  stored[0] = (uint8_t)(e1.header_len >> 8);
  stored[1] = (uint8_t)e1.header_len;
  memcpy(stored + 2, e1.header_bytes, e1.header_len);
  memcpy(stored + 2 + e1.header_len, e1.sig, DK_SIG_BYTES);
  size_t stored_len = 2 + e1.header_len + DK_SIG_BYTES;
  expect_vector(d, "entry1_stored", stored, stored_len);
  struct dk_entry back;
  assert_int_equal(dk_log_decode_stored(stored, stored_len, &back), 0);
  assert_memory_equal(back.id, e1.id, DK_HASH_BYTES);

  /* Entry 2: a case opened. Case key 32 x 02, wrapped for the node itself
   * with nonce 24 x 04; the event is protocol-events.md's vector, encrypted
   * with nonce 24 x 03. */
  uint8_t case_key[32], esk[32], nonce2[24];
  fill(case_key, 32, 0x02);
  fill(esk, 32, 0x04);
  fill(nonce2, 24, 0x03);
  uint8_t sealed[DK_SEALED_KEY_BYTES], opened[32];
  wrap_with_nonce(id.xpk, id.xsk, esk, case_key, sealed);
  expect_vector(d, "entry2_sealed_key", sealed, sizeof(sealed));
  uint8_t shared[32];
  assert_int_equal(dk_key_shared(&id, id.pk, shared), 0);
  assert_int_equal(dk_key_unwrap(shared, sealed, opened), 0); /* docket's own unwrap */
  assert_memory_equal(opened, case_key, 32);

  struct dk_event ev;
  dk_event_init(&ev);
  char *parties[] = {"张伟", "李娜"};
  ev.type = DK_EVENT_OPEN;
  ev.at_ms = 1580000000000ull;
  ev.by = "王芳";
  ev.kind = DK_KIND_DISPUTE;
  ev.category = "neighbour";
  ev.number = "LX-2020-0042";
  ev.office = "zhanhe/beidu/lanxin";
  ev.text = "Water leaks from flat 502 into 402";
  ev.parties = parties;
  ev.parties_count = 2;
  struct dk_buf pt2;
  dk_buf_init(&pt2);
  assert_int_equal(dk_event_encode(&ev, &pt2), 0);
  expect_vector(d, "entry2_event", pt2.data, pt2.len);
  if (!d->print) {
    /* The same bytes as the vector of docs/protocol-events.md section 5. */
    char *events = read_file(DK_SOURCE_DIR "/docs/protocol-events.md");
    size_t j = 0;
    for (size_t i = 0; events[i]; i++)
      if (!isspace((unsigned char)events[i]))
        events[j++] = events[i];
    events[j] = 0;
    char *hex = malloc(pt2.len * 2 + 1);
    assert_non_null(hex);
    dk_hex(pt2.data, pt2.len, hex);
    assert_non_null(strstr(events, hex));
    free(hex);
    free(events);
  }

  struct dk_grant grant;
  memcpy(grant.reader, id.pk, 32);
  memcpy(grant.sealed, sealed, sizeof(sealed));
  struct dk_buf body2;
  dk_buf_init(&body2);
  assert_int_equal(dk_grants_write(&grant, 1, &body2), 0);
  size_t grants_len = body2.len;
  assert_int_equal(grants_len, 1 + DK_GRANT_BYTES);
  assert_int_equal(dk_buf_reserve(&body2, pt2.len + DK_AEAD_OVERHEAD), 0);
  body_seal_with_nonce(case_key, nonce2, id.pk, 2, pt2.data, pt2.len, body2.data + body2.len);
  body2.len += pt2.len + DK_AEAD_OVERHEAD;
  expect_vector(d, "entry2_body", body2.data, body2.len);
  struct dk_buf out;
  dk_buf_init(&out);
  assert_int_equal(dk_body_open(case_key, id.pk, 2, body2.data + grants_len,
                                body2.len - grants_len, &out),
                   0);
  assert_int_equal(out.len, pt2.len);
  assert_memory_equal(out.data, pt2.data, pt2.len);
  dk_buf_reset(&out);
  assert_int_equal(dk_body_open(case_key, id.pk, 3, body2.data + grants_len,
                                body2.len - grants_len, &out),
                   DK_EBADBODY); /* bound to its seq */
  struct dk_entry e2;
  seal_entry(&e2, &id, 2, e1.id, TS2, DK_ENTRY_CASE_OPEN, NULL, body2.data, body2.len);
  expect_vector(d, "entry2_header", e2.header_bytes, e2.header_len);
  expect_vector(d, "entry2_sig", e2.sig, DK_SIG_BYTES);
  expect_vector(d, "entry2_id", e2.id, DK_HASH_BYTES);
  assert_int_equal(dk_entry_check_link(&e2, 1, e1.id, TS1), 0);

  /* Entry 3: the case closed, under the same case key, nonce 24 x 05. */
  uint8_t nonce3[24];
  fill(nonce3, 24, 0x05);
  struct dk_event close;
  dk_event_init(&close);
  uint8_t deps[1][DK_CASE_ID_BYTES];
  memcpy(deps[0], e2.id, DK_HASH_BYTES);
  close.type = DK_EVENT_CLOSE;
  close.at_ms = AT3;
  close.deps = deps;
  close.deps_count = 1;
  close.by = "王芳";
  struct dk_buf pt3, body3;
  dk_buf_init(&pt3);
  dk_buf_init(&body3);
  assert_int_equal(dk_event_encode(&close, &pt3), 0);
  expect_vector(d, "entry3_event", pt3.data, pt3.len);
  assert_int_equal(dk_buf_reserve(&body3, pt3.len + DK_AEAD_OVERHEAD), 0);
  body_seal_with_nonce(case_key, nonce3, id.pk, 3, pt3.data, pt3.len, body3.data);
  body3.len = pt3.len + DK_AEAD_OVERHEAD;
  expect_vector(d, "entry3_body", body3.data, body3.len);
  dk_buf_reset(&out);
  assert_int_equal(dk_body_open(case_key, id.pk, 3, body3.data, body3.len, &out), 0);
  assert_memory_equal(out.data, pt3.data, pt3.len);
  struct dk_entry e3;
  seal_entry(&e3, &id, 3, e2.id, TS3, DK_ENTRY_CASE_EVENT, e2.id, body3.data, body3.len);
  expect_vector(d, "entry3_header", e3.header_bytes, e3.header_len);
  expect_vector(d, "entry3_sig", e3.sig, DK_SIG_BYTES);
  expect_vector(d, "entry3_id", e3.id, DK_HASH_BYTES);
  assert_int_equal(dk_entry_check_link(&e3, 2, e2.id, TS2), 0);

  /* The head record and a witness of entry 3. */
  uint8_t head[8 + 32 + 8];
  dk_be64_put(head, 3);
  memcpy(head + 8, e3.id, 32);
  dk_be64_put(head + 40, TS3);
  expect_vector(d, "head_after_entry3", head, sizeof(head));
  struct dk_witness w, w_back;
  memcpy(w.log, id.pk, 32);
  w.seq = 3;
  memcpy(w.id, e3.id, 32);
  struct dk_buf wb;
  dk_buf_init(&wb);
  assert_int_equal(dk_witness_body_encode(&w, &wb), 0);
  expect_vector(d, "witness_body", wb.data, wb.len);
  assert_int_equal(dk_witness_body_decode(wb.data, wb.len, &w_back), 0);
  assert_int_equal(w_back.seq, 3);

  /* PROTOCOL.md 13: a second, different seq 3 signed by the same key (a
   * fork), and the fork block carrying entry 3 and it. */
  uint8_t body3b[40];
  fill(body3b, sizeof(body3b), 0x0b);
  struct dk_entry e3b;
  seal_entry(&e3b, &id, 3, e2.id, TS3, DK_ENTRY_CASE_EVENT, e2.id, body3b, sizeof(body3b));
  expect_vector(d, "fork_entry3b_header", e3b.header_bytes, e3b.header_len);
  expect_vector(d, "fork_entry3b_sig", e3b.sig, DK_SIG_BYTES);
  struct dk_buf fb;
  dk_buf_init(&fb);
  assert_int_equal(dk_fork_body_encode(&e3, &e3, &fb), DK_EINVAL); /* no conflict */
  assert_int_equal(dk_fork_body_encode(&e3, &e3b, &fb), 0);
  expect_vector(d, "fork_body", fb.data, fb.len);
  struct dk_entry fa, fbb;
  assert_int_equal(dk_fork_body_decode(fb.data, fb.len, &fa, &fbb), 0);
  assert_memory_equal(fa.id, e3.id, DK_HASH_BYTES);
  assert_memory_equal(fbb.id, e3b.id, DK_HASH_BYTES);
  /* A changed signature byte, a changed header byte, a cut: refused. */
  uint8_t *sig_at = memmem(fb.data, fb.len, e3b.sig, DK_SIG_BYTES);
  assert_non_null(sig_at);
  sig_at[5] ^= 0x01;
  assert_int_equal(dk_fork_body_decode(fb.data, fb.len, &fa, &fbb), DK_EBADSIG);
  sig_at[5] ^= 0x01;
  for (size_t i = 0; i < fb.len; i++) {
    fb.data[i] ^= 0x40;
    assert_int_not_equal(dk_fork_body_decode(fb.data, fb.len, &fa, &fbb), 0);
    fb.data[i] ^= 0x40;
    assert_int_not_equal(dk_fork_body_decode(fb.data, i, &fa, &fbb), 0);
  }
  dk_buf_release(&fb);

  statement_vectors(d);

  /* Every vector the document shows was checked. */
  for (size_t i = 0; i < d->count && !d->print; i++)
    if (strncmp(d->v[i].name, "keyfile", 7) != 0 && strncmp(d->v[i].name, "audit_", 6) != 0 &&
        !d->v[i].checked) /* audit_* lines: tests/test_audit.c */
      fail_msg("docs/PROTOCOL.md shows vector '%s' that no test checks", d->v[i].name);

  dk_buf_release(&body1);
  dk_buf_release(&pt2);
  dk_buf_release(&body2);
  dk_buf_release(&pt3);
  dk_buf_release(&body3);
  dk_buf_release(&wb);
  dk_buf_release(&out);
  dk_identity_release(&id);
  free(d);
}

/* The keyfile, built byte by byte as PROTOCOL.md says, must open with
 * dk_keyfile_read and give back the secrets. */
static void keyfile_vector(void **state) {
  struct doc *d = malloc(sizeof(*d));
  assert_non_null(d);
  doc_load(d);
  static const char pass[] = "correct horse battery staple";
  uint8_t file[DK_KEYFILE_BYTES], plain[64], key[32];
  uint64_t ops = crypto_pwhash_OPSLIMIT_INTERACTIVE, mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
  memcpy(file, "DKKEY\0\0\1", 8);
  dk_be64_put(file + 8, ops);
  dk_be64_put(file + 16, mem);
  fill(file + 24, 16, 0x06); /* salt */
  fill(file + 40, 24, 0x07); /* nonce */
  fill(plain, 32, 0x01);     /* identity seed */
  fill(plain + 32, 32, 0x08); /* storage key */
  assert_int_equal(crypto_pwhash(key, 32, pass, strlen(pass), file + 24, ops, (size_t)mem,
                                 crypto_pwhash_ALG_ARGON2ID13),
                   0);
  uint8_t ad[sizeof(DK_DOMAIN_KEYFILE_AD) + 64];
  memcpy(ad, DK_DOMAIN_KEYFILE_AD, sizeof(DK_DOMAIN_KEYFILE_AD));
  memcpy(ad + sizeof(DK_DOMAIN_KEYFILE_AD), file, 64);
  unsigned long long clen;
  assert_int_equal(crypto_aead_xchacha20poly1305_ietf_encrypt(file + 64, &clen, plain, 64, ad,
                                                              sizeof(ad), NULL, file + 40, key),
                   0);
  assert_int_equal(64 + clen, DK_KEYFILE_BYTES);
  expect_vector(d, "keyfile", file, sizeof(file));

  char path[] = "/tmp/docket-keyfile-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, file, sizeof(file)), (ssize_t)sizeof(file));
  close(fd);
  struct dk_secrets s;
  assert_int_equal(dk_secrets_init(&s), 0);
  assert_int_equal(dk_keyfile_read(path, pass, strlen(pass), &s), 0);
  assert_memory_equal(s.seed, plain, 32);
  assert_memory_equal(s.storage_key, plain + 32, 32);
  assert_int_equal(dk_keyfile_read(path, "wrong", 5, &s), DK_EPASSPHRASE);
  unlink(path);
  dk_secrets_release(&s);
  free(d);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(log_vectors),
      cmocka_unit_test(keyfile_vector),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
