/* Private to node/trust/ and above: what grants.c, trustindex.c, netkey.c, trustview.c define. */
#ifndef DK_TRUST_INT_H
#define DK_TRUST_INT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "node/log/entry.h"
#include "node/node.h"
#include "node/store/store.h"

/* trust/grants.c: who reads a new case of this office: itself and every office
 * above it whose log this node holds. */
int dk__case_readers(dk_node *n, struct dk_txn *t, uint8_t readers[][DK_PK_BYTES],
                     size_t *count);
/* Records that grants (a grants block) gave case_id's key to its readers. */
int dk__grants_record(struct dk_txn *t, const uint8_t *case_id, const struct dk_grant *g,
                      size_t count);
/* Grants every case this office opened to a new reader (one KEY_GRANT
 * entry per case it lacks); nothing to a revoked key. */
int dk__grant_own_cases(dk_node *n, struct dk_txn *t, const uint8_t reader[DK_PK_BYTES]);
int dk__grant_cases(dk_node *n, struct dk_txn *t, const uint8_t reader[DK_PK_BYTES],
                    const char *office);

/* trust/trustindex.c: indexes every root statement of the district logs held
 * (into an emptied trust table, for a rebuild). */
int dk__trust_reindex(dk_node *n, struct dk_txn *t);
/* trust/trustindex.c: indexes e when it is a root statement of the district's log signed by the
 * configured root, and grants this office's cases to a new reader it names.
 * Anything else is left alone (0): a bad statement is kept, not trusted. */
int dk__trust_index(dk_node *n, struct dk_txn *t, const struct dk_entry *e, const uint8_t *body,
                    size_t body_len);

/* trust/netkey.c: applies e when it is a network key rotation published by the
 * district (node/trust/netkey.c says when); anything else is left alone (0). */
int dk__netkey_index(dk_node *n, struct dk_txn *t, const struct dk_entry *e, const uint8_t *body,
                     size_t body_len);

/* trust/trustview.c, shared with the ingest path. The root in t (DK_ENOTFOUND). */
int dk__trust_root(struct dk_txn *t, uint8_t root[DK_PK_BYTES]);
/* A trust-table record: key kind ('C' cert, 'R' revoke, 'A' auditor) ||
 * statement key || entry id, value seq in the district log (be64) ||
 * statement. Decodes one read back from the store (DK_EFORMAT when
 * damaged); exposed for tests/fuzz/fuzz_stored.c. */
#define DK_TRUST_KEY_BYTES (1 + DK_PK_BYTES + DK_HASH_BYTES)
struct dk_statement;
int dk__trust_record_decode(const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen,
                            struct dk_statement *s, uint64_t *seq);
/* DK_ECERT when e's log key was revoked before e's author timestamp (its
 * own code: DK_EAUTH already means a bad seal or handshake to the CLI). */
int dk__trust_check_author(struct dk_txn *t, const struct dk_entry *e);

/* How far this node relays log (head_seq held): the last entry before its
 * first unauthorised one (0: none of it, its seq-1 claim is not
 * authorised), with why (DK_EUNAUTH, DK_ECERT; 0 when all of it is). */
int dk__trust_relay_cap(dk_node *n, struct dk_txn *t, const uint8_t log[DK_PK_BYTES],
                        const struct dk_office_info *office, uint64_t head_seq, uint64_t *cap,
                        int *why);

/* Statements met in a batch being ingested (checked against the root), so
 * that a certificate or revocation applies to the batch that brings it. */
struct dk__trust_batch {
  struct dk_statement *s;
  size_t count, cap;
};
void dk__trust_batch_release(struct dk__trust_batch *b);
/* Adds the statement in body when e is a root statement of a district log
 * (office: that log's) that the root signed; anything else is ignored. */
int dk__trust_batch_add(struct dk__trust_batch *b, struct dk_txn *t, const struct dk_entry *e,
                        const char *office, const uint8_t *body, size_t body_len);

/* What dk__trust_log_authorised learnt of one log, so that a run of its
 * entries costs the store's lookups once, not once per entry. Zero it before
 * the run's first entry; it holds only within one transaction that writes
 * nothing in between, with the same batch and the same office. */
struct dk__trust_memo {
  int kind;   /* 0: nothing yet; 1: no root, `answer` holds for every entry; 2: root */
  int answer; /* kind 1 */
  int revoked_has;
  uint64_t revoked_at_ms; /* kind 2: the earliest revocation, held or in the batch */
  int cert_has; /* kind 2: a certificate for the office and role was found, */
  uint64_t cert_not_before_ms, cert_not_after_ms; /* in force over this span */
};

/* Ingest authorisation (TRUST.md "Authorisation of logs"): may an entry of
 * log, whose seq-1 office entry claims office, be stored here? 0 when it
 * may; DK_ECERT when its key is revoked at the entry's time; DK_EUNAUTH
 * when its key holds no certificate for that office in force then (with a
 * root), or is not pinned or vouched for by a pinned relay (without one).
 * b and memo may be NULL. */
int dk__trust_log_authorised(dk_node *n, struct dk_txn *t, const struct dk__trust_batch *b,
                             const uint8_t log[DK_PK_BYTES], const struct dk_office_info *office,
                             const struct dk_header *h, struct dk__trust_memo *memo);
/* The trust view's answers within t (see node.h). */
int dk__trust_cert_valid(struct dk_txn *t, const uint8_t key[DK_PK_BYTES], uint64_t at_ms,
                         char *office, enum dk_office_role *role);
int dk__trust_revoked_at(struct dk_txn *t, const uint8_t key[DK_PK_BYTES], uint64_t *at_ms);
/* Calls cb for each auditor grant in force at at_ms whose key is not
 * revoked (statement borrowed for the call). */
int dk__trust_auditors(struct dk_txn *t, uint64_t at_ms,
                       int (*cb)(void *ctx, const struct dk_statement *s), void *ctx);
/* Calls cb for each certificate in force at at_ms whose key is not revoked. */
int dk__trust_certs(struct dk_txn *t, uint64_t at_ms,
                    int (*cb)(void *ctx, const struct dk_statement *s), void *ctx);

/* Readers: may key, whose log says office, read this office's cases? Always
 * without a root; with one, only with a certificate in force now for that
 * office and no revocation. */
int dk__trust_reader_ok(dk_node *n, struct dk_txn *t, const uint8_t key[DK_PK_BYTES],
                        const char *office);
/* Adds to readers (up to DK_READERS_MAX, no duplicates) the keys with a
 * certificate in force for an office above this one and the auditors
 * granted a subtree covering it. Nothing without a root. */
int dk__trust_readers_add(dk_node *n, struct dk_txn *t, uint8_t readers[][DK_PK_BYTES],
                          size_t *count);

#endif
