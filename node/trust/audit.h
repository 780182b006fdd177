/*
 * Audit of one case: audit bundles, written from a node's store and
 * verified with nothing but the bundle's bytes.
 *
 * An audit bundle carries what an offline verifier needs to check the
 * signed history of one case: for every log that holds an entry of the
 * case, and for every parent log whose witness entry covers such a log,
 * the headers and signatures from seq 1 up to the witnessed head (and on to
 * the case's last entry, which may lie beyond it), the bodies of the case's
 * entries, of the office entries (seq 1) and of the witness entries used,
 * the fork proofs held for those logs, and optionally the case key wrapped
 * for one reader. When the writing node has a deployment root configured,
 * the bundle names that root and carries the district's log with the
 * bodies of its certificates, revocations and auditor grants.
 *
 * What a bundle proves depends on the root the verifier is given, never on
 * the one the bundle names: a bundle can be written by anyone, so a root
 * it brings along proves nothing. With a trusted root the verifier checks
 * that every author of the case, every parent whose witness it counts and
 * the reader the case key is wrapped for held the root's certificate or
 * grant at the time. Without one it checks the history (signatures, links,
 * bodies, witnesses, forks) and says that authorship was not checked.
 * docs/PROTOCOL.md §12 is the byte-exact format and the verification
 * procedure.
 *
 * The same verifier serves `docket audit CASE` (the node writes a bundle
 * for itself in memory and verifies that) and `docket audit verify FILE`,
 * so the two can never disagree.
 *
 * Thread-safety: the verifier is pure (no I/O, no globals) and may run on
 * any thread on distinct results. The writer uses the node, so it follows
 * node.h's rules.
 *
 * Ownership: a struct dk_audit_result owns everything it points to;
 * dk_audit_result_release() frees it and is safe on a zeroed struct.
 */
#ifndef DK_AUDIT_H
#define DK_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "crypto/crypto.h"
#include "node/cases/fold.h"
#include "node/node.h"

#define DK_AUDIT_MAGIC "DKAUDIT\x01"
#define DK_DOMAIN_AUDIT_DIGEST "docket/audit/v1"
#define DK_AUDIT_VERSION 1

/* ---- writing (node side) --------------------------------------------------- */

struct dk_audit_write_stats {
  uint64_t logs, entries, bodies, case_entries, forks;
};

/*
 * Appends an audit bundle of case_id to out. With reader set, the case key
 * is wrapped for that key (crypto_box shared key of this node and reader,
 * PROTOCOL.md §5.2); when this node holds no key for the case (erased, or
 * never granted) the bundle carries no wrapped key. Needs an unlocked node
 * when reader is set. Errors: DK_ENOTFOUND (no such case held: its opening
 * entry is not here), DK_ELIMIT (more logs or bytes than an audit bundle
 * holds), store and crypto errors.
 */
int dk_node_audit_write(dk_node *n, const uint8_t case_id[DK_HASH_BYTES],
                        const uint8_t *reader, struct dk_buf *out,
                        struct dk_audit_write_stats *st);

/* ---- verifying (pure) -------------------------------------------------------- */

/* One failed check: which log, which seq (0 when it is about the bundle as
 * a whole or a log as a whole), the code and a static description. */
struct dk_audit_failure {
  uint8_t log[DK_PK_BYTES];
  uint64_t seq;
  int code;
  const char *what;
};

struct dk_audit_log {
  uint8_t key[DK_PK_BYTES];
  char office[DK_NAME_BYTES_MAX]; /* from its seq-1 office block */
  uint64_t last_seq;              /* entries 1..last_seq are in the bundle */
  uint64_t witnessed_seq;         /* latest head a parent witnessed, 0 none */
  uint8_t witness_log[DK_PK_BYTES]; /* the parent log that witnessed it */
  uint64_t witness_entry_seq;       /* and the witness entry's seq there */
  uint64_t case_entries, unwitnessed; /* case entries in it, and past the head */
  uint64_t forks;                   /* fork proofs that verified */
  int broken;                       /* a check failed in this log */
};

/* What the certificates said of an entry's author at its time. */
enum dk_audit_cert {
  DK_AUDIT_CERT_UNCHECKED = 0, /* the verifier was given no trusted root */
  DK_AUDIT_CERT_VALID,         /* a certificate for its office in force, not revoked */
  DK_AUDIT_CERT_NONE,          /* no certificate for its office in force then */
  DK_AUDIT_CERT_REVOKED,       /* its key was revoked before the entry's time */
};

/* One entry of the case, in timeline order. */
struct dk_audit_entry {
  uint8_t log[DK_PK_BYTES];
  uint64_t seq;
  uint8_t id[DK_HASH_BYTES];
  uint64_t ts_ms;
  uint64_t type; /* enum dk_entry_type */
  size_t log_index; /* into result.logs */
  int witnessed;    /* at or below its log's witnessed head */
  int body_present; /* 0: erased or not carried */
  int decrypted;    /* ev holds the event */
  struct dk_event ev;
  char *reason;     /* an erase entry's reason (NULL otherwise) */
  int honoured;     /* an erase entry from an office that covers the case */
  enum dk_audit_cert cert;
};

struct dk_audit_result {
  uint8_t case_id[DK_HASH_BYTES];
  uint64_t created_ms;
  uint8_t writer[DK_PK_BYTES];
  int has_reader;
  uint8_t reader[DK_PK_BYTES];
  int key_used; /* the case key was unwrapped for the given identity */
  char case_office[DK_NAME_BYTES_MAX];

  struct dk_audit_log *logs;
  size_t logs_count;
  struct dk_audit_entry *entries; /* the case's entries, by (ts, log, seq) */
  size_t entries_count;

  uint64_t entries_checked;  /* every entry of every log: signature, link */
  uint64_t bodies_checked;   /* bodies carried, hash checked */
  uint64_t bodies_erased;    /* case entries whose body is gone */
  uint64_t witnesses_checked;
  uint64_t unwitnessed;      /* case entries past their log's witnessed head */

  /* Certificates: with a trusted root given to the verifier, the root's
   * statements found in the district's log were checked against every
   * case entry, every counted witness and the reader. has_root and root
   * are the trusted root; head_root what the bundle's head names (not
   * trusted, shown only). */
  int has_root;
  uint8_t root[DK_PK_BYTES];
  int has_head_root;
  uint8_t head_root[DK_PK_BYTES];
  /* The reader the case key is wrapped for, when it is not the writer:
   * its auditor grant (DK_AUDIT_CERT_VALID: a grant in force at the
   * bundle's time for a subtree covering the case's office). */
  enum dk_audit_cert reader_grant;
  char reader_subtree[DK_NAME_BYTES_MAX];
  uint64_t statements;         /* certificates and revocations signed by the root */
  uint64_t statements_ignored; /* statements naming another root (not trusted) */
  uint64_t authors_checked;    /* case entries whose author was checked */
  uint64_t district_seq;       /* the district's log is carried up to this seq */

  int erased; /* an honoured erase entry is in the case */
  uint64_t erased_at_ms;
  char erased_by[DK_NAME_BYTES_MAX];

  int digest_ok;
  struct dk_audit_failure *failures; /* the first DK_AUDIT_FAILURES_MAX */
  size_t failures_count;
  uint64_t failures_total;
};

/*
 * Verifies an audit bundle held in memory (bytes, len). reader, when not
 * NULL, is the identity the bundle's wrapped key (or a grant in the case's
 * own entries) may be meant for: with it, events are decrypted into the
 * timeline. root, when not NULL, is the deployment root the caller already
 * trusts (given by the auditor, or configured on its node; never taken from
 * the bundle): authorship is checked against it. With root NULL nothing is
 * checked of authorship (out->has_root is 0): the caller must say so, as a
 * bundle that verifies without a root proves only that its history is
 * intact, not who wrote it. out must be zeroed or released; it is filled as
 * far as the bundle could be read, failures included.
 *
 * Returns 0 when every check passes; otherwise the code of the first
 * failure (DK_EFORMAT for a malformed bundle, DK_EBADSIG, DK_EBADLINK,
 * DK_EBADBODY, DK_ETIME, DK_EFORK, DK_EAUTH for the digest, DK_ENOTFOUND for
 * a missing opening entry, a missing body or an incomplete log, DK_ECERT
 * for an author, witness or reader with no certificate or grant in force,
 * or revoked, at the time, or a head naming another root), with every
 * failure listed in out. DK_ENOMEM when memory ran out. Never reads past
 * len, never trusts a count before checking it against the bytes left.
 */
int dk_audit_verify(const uint8_t *bytes, size_t len, const struct dk_identity *reader,
                    const uint8_t *root, struct dk_audit_result *out);

void dk_audit_result_release(struct dk_audit_result *r);

#endif
