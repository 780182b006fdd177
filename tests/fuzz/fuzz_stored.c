/*
 * libFuzzer target for the values docket reads back from LMDB (node/store/store.h
 * names the tables): LMDB keeps no checksums, so a damaged disk hands these
 * decoders any bytes at all.
 *
 * The first input byte picks the decoder (mod 10), the rest is the value:
 *   0 a stored entry (log_entries: u16 header length || header || sig),
 *   1 a log's office block (logs; the trust view reads the same blocks),
 *   2 a witness block, 3 an erase body, 4 a fork block, 5 a grants block
 *   (case open and key grant bodies), 6 a case state (cases, after its AEAD
 *   is opened), 7 a pinned peer (peers), 8 a trust-table record (trust:
 *   one byte of key length, the key, then the value), 9 a case's report
 *   row (report_rows, after its AEAD is opened).
 * Properties (abort() on violation):
 *   - nothing crashes, reads past the input or over-allocates;
 *   - what decodes holds what its decoder promises: a stored entry's header
 *     length fits the value, an office block's strings are terminated, an
 *     erase reason fits its buffer, a grants block's count and length fit
 *     its body, a case state re-encodes and decodes again, a peer's strings
 *     are terminated and its role is one there is, and it re-encodes and
 *     decodes back to the same peer; a trust record has a full key of a
 *     kind the index writes, holds a statement of that kind for the key it
 *     is filed under, with terminated strings, whose canonical encoding is
 *     the value after its seq; a report row re-encodes to exactly its
 *     input (the format has one encoding per row).
 *
 * tests/test_fuzz_replay.c replays tests/fuzz/corpus/stored/ in every ctest
 * run, without libFuzzer.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "node/cases/fold.h"
#include "node/log/entry.h"
#include "node/cases/erase.h"
#include "node/log/fork.h"
#include "node/log/log.h"
#include "node/peers/peers_int.h"
#include "node/trust/trust.h"
#include "node/trust/trust_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void terminated(const char *s, size_t cap) {
  if (memchr(s, 0, cap) == NULL)
    abort();
}

static void peer_one(const uint8_t *v, size_t n) {
  struct dk_peer *p = malloc(sizeof(*p)), *back = malloc(sizeof(*back));
  struct dk_buf again;
  dk_buf_init(&again);
  if (p == NULL || back == NULL || dk__peer_decode(v, n, p) != 0)
    goto out;
  terminated(p->name, sizeof(p->name));
  terminated(p->addr, sizeof(p->addr));
  terminated(p->office, sizeof(p->office));
  terminated(p->last_error, sizeof(p->last_error));
  if (p->role < DK_OFFICE_DISTRICT || p->role > DK_OFFICE_AUDITOR)
    abort();
  if (dk__peer_encode(p, &again) != 0 || dk__peer_decode(again.data, again.len, back) != 0)
    abort();
  if (strcmp(p->name, back->name) != 0 || strcmp(p->addr, back->addr) != 0 ||
      memcmp(p->key, back->key, DK_PK_BYTES) != 0 || strcmp(p->office, back->office) != 0 ||
      p->role != back->role || p->added_ms != back->added_ms ||
      p->last_sync_ms != back->last_sync_ms || p->they_lack != back->they_lack ||
      p->we_lack != back->we_lack || strcmp(p->last_error, back->last_error) != 0 ||
      p->last_error_ms != back->last_error_ms)
    abort();
out:
  dk_buf_release(&again);
  free(p);
  free(back);
}

static void trust_record_one(const uint8_t *v, size_t n) {
  if (n < 1 || n - 1 < v[0])
    return;
  size_t klen = v[0];
  const uint8_t *val = v + 1 + klen;
  size_t vlen = n - 1 - klen;
  /* The key in a buffer of its own, so that the sanitizer sees a read past
   * it; the value ends where the input does. */
  uint8_t *k = malloc(klen > 0 ? klen : 1);
  struct dk_statement *s = malloc(sizeof(*s));
  uint64_t seq;
  struct dk_buf again;
  dk_buf_init(&again);
  if (k == NULL || s == NULL)
    goto out;
  if (klen > 0)
    memcpy(k, v + 1, klen);
  if (dk__trust_record_decode(k, klen, val, vlen, s, &seq) != 0)
    goto out;
  if (klen != DK_TRUST_KEY_BYTES || vlen < 8 || seq != dk_be64_get(val))
    abort();
  uint64_t type = k[0] == 'C' ? DK_ENTRY_CERT
                  : k[0] == 'R' ? DK_ENTRY_REVOKE
                  : k[0] == 'A' ? DK_ENTRY_AUDITOR
                                : 0;
  if (type == 0 || s->type != type || memcmp(s->key, k + 1, DK_PK_BYTES) != 0)
    abort(); /* a record is a statement of its kind about the key it is filed under */
  terminated(s->office, sizeof(s->office));
  terminated(s->role, sizeof(s->role));
  terminated(s->reason, sizeof(s->reason));
  if (dk_statement_encode(s, &again) != 0 || again.len != vlen - 8 ||
      memcmp(again.data, val + 8, vlen - 8) != 0)
    abort(); /* statements decode only in their canonical form */
out:
  dk_buf_release(&again);
  free(s);
  free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  if (!ready) {
    if (sodium_init() < 0)
      abort();
    ready = 1;
  }
  if (size < 1)
    return 0;
  const uint8_t *v = data + 1;
  size_t n = size - 1;
  switch (data[0] % 10) {
  case 0: {
    struct dk_entry e;
    if (dk_log_decode_stored(v, n, &e) == 0 && n < 2)
      abort();
    break;
  }
  case 1: {
    struct dk_office_info o;
    if (dk_office_body_decode(v, n, &o) == 0) {
      terminated(o.office, sizeof(o.office));
      terminated(o.role, sizeof(o.role));
      terminated(o.code, sizeof(o.code));
    }
    break;
  }
  case 2: {
    struct dk_witness w;
    (void)dk_witness_body_decode(v, n, &w);
    break;
  }
  case 3: {
    char reason[256];
    if (dk_erase_body_decode(v, n, reason, sizeof(reason)) == 0)
      terminated(reason, sizeof(reason));
    break;
  }
  case 4: {
    struct dk_entry *ab = malloc(2 * sizeof(*ab));
    if (ab == NULL)
      return 0;
    (void)dk_fork_body_decode(v, n, &ab[0], &ab[1]);
    free(ab);
    break;
  }
  case 5: {
    struct dk_grant g[DK_READERS_MAX];
    size_t count = 0, used = 0;
    if (dk_grants_parse(v, n, g, &count, &used) == 0 && (count > DK_READERS_MAX || used > n))
      abort();
    break;
  }
  case 6: {
    struct dk_case_state s;
    dk_case_state_init(&s);
    if (dk_case_state_decode(v, n, &s) == 0) {
      struct dk_buf again;
      dk_buf_init(&again);
      if (dk_case_state_encode(&s, &again) != 0)
        abort();
      struct dk_case_state back;
      dk_case_state_init(&back);
      if (dk_case_state_decode(again.data, again.len, &back) != 0)
        abort();
      dk_case_state_release(&back);
      dk_buf_release(&again);
    }
    dk_case_state_release(&s);
    break;
  }
  case 7: peer_one(v, n); break;
  case 8: trust_record_one(v, n); break;
  default: {
    struct dk_case_state s;
    dk_case_state_init(&s);
    if (dk_case_report_decode(v, n, &s) == 0) {
      struct dk_buf again;
      dk_buf_init(&again);
      if (dk_case_report_encode(&s, &again) != 0 || again.len != n ||
          (n > 0 && memcmp(again.data, v, n) != 0))
        abort();
      dk_buf_release(&again);
    }
    dk_case_state_release(&s);
    break;
  }
  }
  return 0;
}
