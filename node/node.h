/*
 * The node: one office's store, identity and configuration.
 *
 * A dk_node is opened on a directory that holds the LMDB environment
 * (data.mdb, lock.mdb) and the keyfile (key). Opening with a passphrase
 * unlocks the identity and the storage key; opening without one gives a
 * read-only view of public facts (dk_node_public_*). The node is used by one
 * thread at a time; several processes may open the same directory (LMDB
 * serialises writers), so nothing here caches state that another process
 * could change between transactions.
 *
 * Time comes from a clock callback (wall clock by default) so that tests and
 * the simulator can drive it. Logging goes through a callback gated by level.
 */
#ifndef DK_NODE_H
#define DK_NODE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "crypto/crypto.h"
#include "node/cases/fold.h"
#include "node/log/entry.h"
#include "node/trust/netkey.h"

typedef struct dk_node dk_node;

/* What kind of office a node serves (not to be confused with the roles of
 * people on a case, enum dk_role in case.h). */
enum dk_office_role {
  DK_OFFICE_DISTRICT = 1,
  DK_OFFICE_STREET,
  DK_OFFICE_COMMUNITY,
  DK_OFFICE_AUDITOR
};
int dk_office_role_parse(const char *s, enum dk_office_role *out);
const char *dk_office_role_name(enum dk_office_role r);

/* DK_CASE_NUMBER_BYTES (the longest case number, with its NUL) is in
 * common/limits.h. */

enum dk_log_level { DK_LOG_ERROR, DK_LOG_WARN, DK_LOG_INFO, DK_LOG_DEBUG };
typedef void (*dk_log_fn)(void *ctx, enum dk_log_level level, const char *msg);

struct dk_node_config {
  char office[DK_NAME_BYTES_MAX]; /* zhanhe/beidu/lanxin */
  char code[16];                  /* case number prefix, e.g. LX */
  enum dk_office_role role;
  char listen[DK_NAME_BYTES_MAX]; /* host:port, may be empty */
};

/* Validates an office path: 1-4 lowercase segments [a-z0-9_-] joined by '/'. */
int dk_office_valid(const char *path);

/* Creates a new node in dir (which must be empty or absent): a fresh identity
 * and storage key sealed in dir/key under passphrase, and the store holding
 * cfg. DK_EEXIST when dir already holds a node. */
int dk_node_create(const char *dir, const struct dk_node_config *cfg, const char *passphrase,
                   size_t passphrase_len, uint8_t pk_out[DK_PK_BYTES]);

/* Rebuilds an office's node in dir (empty or absent) from its key file
 * (the 'key' file of its old node directory) after its disk was lost: the
 * same identity and storage key, a new store holding cfg and nothing of its
 * own log. The node is marked restored (dk_node_mark_restored): it writes
 * nothing until a sync with its parent has brought its own log back.
 * DK_EPASSPHRASE when the passphrase does not open key_file, DK_EEXIST when
 * dir holds a node. */
int dk_node_rebuild(const char *dir, const struct dk_node_config *cfg, const char *key_file,
                    const char *passphrase, size_t passphrase_len, uint8_t pk_out[DK_PK_BYTES]);

/* A node must not fork itself (TRUST.md, "Restored nodes"). A node restored
 * from a backup, or rebuilt from its key file, may lack entries of its own
 * log that it wrote after the copy and that its parent holds: appending now
 * would write a second, different entry at those positions. Marking it
 * restored (in its store; works on a locked node) makes every append of its
 * own log fail with DK_ERESTORED until dk_node_restored_check() finds the
 * log whole. A district has no parent to fetch from: it is not marked
 * (returns 0, nothing done). Call it on the restored copy, before anything
 * else writes to it. */
int dk_node_mark_restored(dk_node *n);

/* 1 when the node is marked restored and may not append yet, 0 when not, or
 * a negative code. */
int dk_node_restored(dk_node *n);

/* After a sync with the parent (peer the parent's key) that ran to its end:
 * the evidence is the parent's witness of this node's log (the newest
 * witness entry for it in the parent's log, which the sync brought): this
 * node must hold that seq with the witnessed id. Then the mark is cleared
 * (and a rebuilt node whose parent never held its log writes its seq-1
 * office entry now) and 0 returned. DK_ERESTORED while the log is not
 * whole, with *have_seq / *witnessed_seq saying how far each is. */
int dk_node_restored_check(dk_node *n, const uint8_t parent_pk[DK_PK_BYTES], uint64_t *have_seq,
                           uint64_t *witnessed_seq);

/* Opens the node in dir. With a passphrase the keys are unlocked
 * (DK_EPASSPHRASE when wrong); with passphrase NULL only public data can be
 * read. DK_ENOTINIT when dir holds no node. */
int dk_node_open(const char *dir, const char *passphrase, size_t passphrase_len, dk_node **out);
/* dk_node_open with a log sink already set while it opens, so that what
 * opening may take long for (upgrading an older store, indexing what a
 * crash left unindexed) reports its progress. */
int dk_node_open_logged(const char *dir, const char *passphrase, size_t passphrase_len,
                        dk_log_fn log, void *log_ctx, enum dk_log_level level, dk_node **out);
void dk_node_close(dk_node *n);

void dk_node_set_clock(dk_node *n, uint64_t (*now_ms)(void *ctx), void *ctx);
void dk_node_set_log(dk_node *n, dk_log_fn fn, void *ctx, enum dk_log_level level);
uint64_t dk_node_now(dk_node *n);
void dk_node_logf(dk_node *n, enum dk_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

const struct dk_node_config *dk_node_config(const dk_node *n);
const uint8_t *dk_node_pk(const dk_node *n);
/* The unlocked identity (NULL when the node was opened without a passphrase);
 * borrowed, valid until dk_node_close(). */
const struct dk_identity *dk_node_identity(const dk_node *n);
int dk_node_unlocked(const dk_node *n);
const struct dk_case_config *dk_node_case_config(const dk_node *n);

/* Per-node settings (triage deadlines). Keys: deadline.clinic,
 * deadline.emergency, deadline.joint, in days. */
int dk_node_setting_set(dk_node *n, const char *key, const char *value);
int dk_node_setting_list(dk_node *n, int (*cb)(void *ctx, const char *key, const char *value),
                         void *ctx);

/* ---- cases (node/cases/tables.c) ---------------------------------------------- */

/* Opens a case. ev->type must be DK_EVENT_OPEN with kind, summary and so on set;
 * ev->number may be empty, in which case the next number for the office
 * code and the year of ev->at_ms is assigned. On success case_id and the
 * number are returned. DK_EEXIST when ev->number is already in use. */
int dk_node_case_open(dk_node *n, struct dk_event *ev, uint8_t case_id[DK_HASH_BYTES],
                      char number[DK_CASE_NUMBER_BYTES]);

/* Appends a later event to a case: checks the step against the current
 * state (DK_ETRANSITION, nothing written), sets deps to the case frontier,
 * signs, stores and updates the state, all in one durable commit. */
int dk_node_case_append(dk_node *n, const uint8_t case_id[DK_HASH_BYTES], struct dk_event *ev);

/* Resolves a case reference: a case number (LX-2020-0042), a full hex id
 * or a unique hex prefix of at least 4 characters. DK_ENOTFOUND or
 * DK_EAMBIGUOUS otherwise. */
int dk_node_case_find(dk_node *n, const char *ref, uint8_t case_id[DK_HASH_BYTES]);

/* Reads the derived state of a case (caller releases it). */
int dk_node_case_get(dk_node *n, const uint8_t case_id[DK_HASH_BYTES], struct dk_case_state *out);

/* The log and seq of a case's opening entry (DK_ENOTFOUND when the case is
 * not held, DK_EBADID when the store's record of it is damaged). */
int dk_node_case_origin(dk_node *n, const uint8_t case_id[DK_HASH_BYTES], uint8_t log[DK_PK_BYTES],
                        uint64_t *seq);

/* Calls cb for every case this node can read, in case id order. A non-zero
 * return from cb stops the walk and is returned. */
int dk_node_case_foreach(dk_node *n, int (*cb)(void *ctx, const struct dk_case_state *s),
                         void *ctx);

/* Calls cb for every case this node can read, in case id order, with only
 * what a report reads (node/cases/fold.h, dk_case_report_decode): the report
 * rows kept beside the states, one small decryption per case. The same
 * figures as dk_node_case_foreach, much faster; other fields are empty. */
int dk_node_report_foreach(dk_node *n, int (*cb)(void *ctx, const struct dk_case_state *s),
                           void *ctx);

/* Calls cb for each event of a case in fold order (the event is borrowed
 * for the duration of the call). */
int dk_node_case_events(dk_node *n, const uint8_t case_id[DK_HASH_BYTES],
                        int (*cb)(void *ctx, const struct dk_event *ev), void *ctx);

/* ---- bulk import ---------------------------------------------------------- */

/* A case to load in bulk: its open event and the events that follow, in
 * order (deps are filled in). The case is skipped if its number exists, so
 * reloading a ledger is harmless. */
struct dk_case_plan {
  struct dk_event *events;
  size_t events_count;
  int skipped; /* out: 1 when the number already existed */
};

struct dk_bulk_progress {
  size_t cases_done, cases_total;
  size_t entries_committed;
};

/* Checks one plan against the field rules and the status machine without
 * writing anything: 0, DK_EINVAL/DK_ELIMIT for a bad field, DK_ETRANSITION
 * for an impossible sequence of steps. */
int dk_node_plan_check(dk_node *n, struct dk_case_plan *plan);

/* Checks a plan's given case number against the store: 0 when it is free
 * or blank (*present 0) or when it names the very case the plan opens
 * (*present 1: same kind, opening time and summary, so loading skips it);
 * DK_ENUMBER when a different case holds it, DK_ELIMIT when it is longer
 * than DK_CASE_NUMBER_BYTES - 1. */
int dk_node_plan_number(dk_node *n, const struct dk_case_plan *plan, int *present);

/* Loads plans in commits of at most DK_BULK_BATCH_ENTRIES entries, never
 * splitting a case across commits. Every step is checked against the status
 * machine first; a plan whose steps are impossible is refused before anything
 * is written (DK_ETRANSITION, *bad_plan set). A plan whose number is held
 * by a different case, or is given twice, fails its commit (DK_ENUMBER,
 * *bad_plan set; earlier commits stay). progress is called after each
 * commit with what is durable so far. */
int dk_node_bulk_load(dk_node *n, struct dk_case_plan *plans, size_t count,
                      void (*progress)(void *ctx, const struct dk_bulk_progress *p),
                      void *ctx, size_t *bad_plan);

/* ---- verification ------------------------------------------------------- */

struct dk_verify_problem {
  uint8_t log[DK_PK_BYTES];
  uint64_t seq;
  int code;         /* DK_EBADSIG, DK_EBADLINK, DK_EBADID, DK_EBADBODY, ... */
  const char *what; /* short description of the failed check */
  /* The case the entry belongs to, as its header names it: NULL when the
   * header did not decode (or the entry is missing). case_number is the
   * case's number when this node can read it, else "". Borrowed for the
   * callback. */
  const uint8_t *case_id;
  const char *case_number;
};

struct dk_verify_report {
  uint64_t logs, entries, bodies_checked, bodies_erased, bodies_decrypted, problems;
  uint64_t forks;
};

/* Verifies every entry in the store: encoding, id, signature, links and
 * time, body hash, and that the bodies this node can read decrypt and
 * decode. Never stops at the first problem: each is passed to on_problem.
 * progress (may be NULL) is called now and then with entries checked. */
/* Checks every page of the store file against LMDB's layout before
 * anything trusts it (node/store/store.h, dk_store_check_pages): cb gets each
 * damaged page with its table; *damaged their count. Opens the store in
 * dir by itself: dk_node_open refuses a store with damaged pages
 * (DK_EDAMAGED), this names them. */
int dk_node_check_pages(const char *dir,
                        void (*cb)(void *ctx, const char *table, uint64_t page, const char *what),
                        void *ctx, uint64_t *damaged);

/* Writes the number of case_id (NUL-terminated, at most
 * DK_CASE_NUMBER_BYTES with its NUL) into out: from the case's sealed state,
 * or else from its signed opening entry. "" when neither can be read here
 * (a case this node may not read, or both damaged). */
void dk_node_case_number(dk_node *n, const uint8_t case_id[DK_HASH_BYTES],
                         char out[DK_CASE_NUMBER_BYTES]);

int dk_node_verify(dk_node *n, void (*on_problem)(void *ctx, const struct dk_verify_problem *p),
                   void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx,
                   struct dk_verify_report *out);

/* A fork proof held: two signed entries are known for (log, seq), whether
 * this node received both or another office reported them in a fork entry
 * (node/log/fork.h). proof_id is the id of the entry kept as the proof. */
struct dk_fork_info {
  uint8_t log[DK_PK_BYTES];
  uint64_t seq;
  uint8_t proof_id[DK_HASH_BYTES];
  char office[DK_NAME_BYTES_MAX]; /* the forked log's office, "" when its seq 1 is not held */
};

/* Calls cb for each fork proof held, by log and seq (info borrowed for the
 * call). A non-zero return from cb stops the walk and is returned. */
int dk_node_forks(dk_node *n, int (*cb)(void *ctx, const struct dk_fork_info *f), void *ctx);

/* A log held here with entries that are not authorised (TRUST.md,
 * "Authorisation of logs"): stored before this node had a root or learnt of
 * a revocation, or by an older version. Such entries are not relayed. */
struct dk_unauthorised_log {
  uint8_t log[DK_PK_BYTES];
  char office[DK_NAME_BYTES_MAX]; /* what its seq-1 entry claims */
  uint64_t first_seq;             /* its first unauthorised entry */
  uint64_t head_seq;
  int why; /* DK_EUNAUTH (no certificate or pin for that office), DK_ECERT (revoked) */
};

/* Calls cb for each log held with unauthorised entries (info borrowed for
 * the call). A non-zero return from cb stops the walk and is returned. */
int dk_node_unauthorised_logs(dk_node *n,
                              int (*cb)(void *ctx, const struct dk_unauthorised_log *u),
                              void *ctx);

/* ---- replication support (replication/ reaches the store through these) -- */

/* One entry as it travels (borrowed views). body NULL when erased. */
struct dk_raw_entry {
  const uint8_t *header;
  size_t header_len;
  const uint8_t *sig;
  const uint8_t *body;
  size_t body_len;
};

struct dk_ingest_stats {
  size_t stored, duplicates, forks;
  /* Entries not stored because their log is not authorised here (its key
   * holds no certificate for its office at the entry's time, is revoked,
   * or, without a root, is neither pinned nor vouched for); the other
   * logs' entries of the batch are stored. The first refused log: */
  size_t refused;
  int refused_why; /* DK_EUNAUTH or DK_ECERT */
  uint8_t refused_log[DK_PK_BYTES];
  char refused_office[DK_NAME_BYTES_MAX]; /* "" when its seq 1 is not held */
};

/* Every log held, in key order, with its head and its office (from the
 * log's seq-1 office entry). */
int dk_node_log_heads(dk_node *n,
                      int (*cb)(void *ctx, const uint8_t log[DK_PK_BYTES], uint64_t seq,
                                const uint8_t id[DK_HASH_BYTES], const char *office),
                      void *ctx);
/* Head of one log: *seq 0 when absent. */
int dk_node_log_head(dk_node *n, const uint8_t log[DK_PK_BYTES], uint64_t *seq,
                     uint8_t id[DK_HASH_BYTES]);
/* Office of a log: DK_ENOTFOUND when the log is not held. */
int dk_node_log_office(dk_node *n, const uint8_t log[DK_PK_BYTES], struct dk_office_info *out);
/* Calls cb for entries of log from seq `from` on, stopping after
 * max_entries or once max_bytes are reached (at least one entry when any).
 * Each entry's id is checked against the id index on the way out. */
int dk_node_log_read(dk_node *n, const uint8_t log[DK_PK_BYTES], uint64_t from,
                     size_t max_entries, size_t max_bytes,
                     int (*cb)(void *ctx, const struct dk_raw_entry *e), void *ctx);
/* Verifies and stores a batch from another node in one durable commit, as
 * replication/sync_store.h specifies for ingest, and updates the cases this
 * node can read. */
int dk_node_ingest(dk_node *n, const struct dk_raw_entry *entries, size_t count,
                   struct dk_ingest_stats *out);
/* Appends a witness entry for log's current head to this node's log, unless
 * the last witness of that log already names it. */
int dk_node_witness(dk_node *n, const uint8_t log[DK_PK_BYTES]);

/* The deployment's network key (shared by every node; strangers lack it):
 * the newest one this node holds (the rotated key once it has one), which
 * is the one to give a new office. */
int dk_node_network_key(dk_node *n, uint8_t key[32]);
/* Sets the key given by hand as this node's only network key (a rotated
 * key held before is dropped, with the record of its rotation). */
int dk_node_set_network_key(dk_node *n, const uint8_t key[32]);

/* ---- network key rotation (node/trust/netkey.c; format in node/trust/netkey.h) ------ */

/* Every network key this node holds (out should be sodium_malloc memory;
 * the caller wipes it). Needs the node unlocked (DK_ENOKEY). */
int dk_node_network_keys(dk_node *n, struct dk_netkeys *out);

/* The latest rotation this node has applied or seen, public facts only
 * (works on a locked node): the district log and seq of its entry, its
 * author time, when the old key stops working, and whether this node was
 * among its readers and holds the new key. DK_ENOTFOUND when none. */
struct dk_netkey_rotation_info {
  uint8_t log[DK_PK_BYTES];
  uint64_t seq;
  uint64_t ts_ms;
  uint64_t old_until_ms;
  int have_new_key;
};
int dk_node_netkey_rotation(dk_node *n, struct dk_netkey_rotation_info *out);

/* The district publishes a fresh random network key (DK_ENTRY_NETKEY in its
 * own log), sealed to every key holding a certificate in force now and not
 * revoked, itself included; the old key is refused grace_days (within
 * DK_NETKEY_GRACE_DAYS_MIN..MAX, else DK_EINVAL) after now. Applied here in
 * the same commit. DK_ESCOPE unless this node is the district; DK_ENOTFOUND
 * without a root; DK_ECERT unless this node's key is certified as the
 * district now; DK_ELIMIT over DK_NETKEY_RECIPIENTS_MAX readers; DK_EEXIST
 * while the grace period of the rotation before is still running (its end
 * in out->old_until_ms): rotating again then would cut off at once every
 * office that has not synced since. */
struct dk_netkey_rotate_result {
  uint64_t seq;
  uint64_t old_until_ms;
  size_t recipients;
};
int dk_node_netkey_rotate(dk_node *n, uint64_t grace_days, struct dk_netkey_rotate_result *out);

/* Pinned peers, until certificates vouch for offices. */
#define DK_PEER_ERROR_BYTES 256
struct dk_peer {
  char name[64];
  char addr[DK_NAME_BYTES_MAX]; /* host:port; empty = the peer dials us */
  uint8_t key[DK_PK_BYTES];
  char office[DK_NAME_BYTES_MAX];
  enum dk_office_role role;
  uint64_t added_ms;
  uint64_t last_sync_ms;  /* last sync that reached caught-up, 0 never */
  uint64_t they_lack;     /* entries we hold in their scope that they lacked, as last known */
  uint64_t we_lack;       /* and the other way */
  /* The last failure of the link with this peer, in words a person can act
   * on, as the transport recorded it (replication/transport.c): a refusal
   * the peer sent with its reason ("zhanhe/beidu refused this node: no
   * valid certificate ..."), a refusal of ours, a failed handshake, the
   * peer unreachable, a link that fell silent. Empty ("") when none, and
   * cleared by a sync that reaches caught-up. last_error_ms: when it was
   * recorded (node clock), 0 when none. Read by `peer list` and `status`. */
  char last_error[DK_PEER_ERROR_BYTES];
  uint64_t last_error_ms;
};
int dk_node_peer_add(dk_node *n, const struct dk_peer *p);   /* DK_EEXIST: name or key */
int dk_node_peer_remove(dk_node *n, const char *name);       /* DK_ENOTFOUND */
int dk_node_peer_get(dk_node *n, const char *name, struct dk_peer *out);
int dk_node_peer_by_key(dk_node *n, const uint8_t key[DK_PK_BYTES], struct dk_peer *out);
int dk_node_peer_list(dk_node *n, int (*cb)(void *ctx, const struct dk_peer *p), void *ctx);
int dk_node_peer_update(dk_node *n, const struct dk_peer *p); /* by name */

/* Sync cursors: after a sync in which the peer caught up with everything
 * this node holds in its scope, the transport records the peer's position
 * in each of those logs (the heads here at that moment), so that an offline
 * bundle for that peer carries only what came after. in_scope decides which
 * logs, by office. */
int dk_node_peer_cursors_save(dk_node *n, const uint8_t peer_key[DK_PK_BYTES],
                              int (*in_scope)(void *ctx, const char *log_office), void *ctx);
/* The recorded position of the peer in log, 0 when none. */
int dk_node_peer_cursor(dk_node *n, const uint8_t peer_key[DK_PK_BYTES],
                        const uint8_t log[DK_PK_BYTES], uint64_t *seq);

/* A change counter of the store (LMDB's last transaction id): it moves when
 * any process commits, which is how serve notices other writers. */
uint64_t dk_node_change_mark(dk_node *n);
/* The same counter as a new reader sees it: the id of the last commit a
 * read transaction begun now sees. dk_node_change_mark() reads the meta
 * page, which LMDB writes before it publishes the commit to readers, so for
 * a moment after another process commits it is ahead of what a reader sees;
 * this one never is (replication/sync.h, dk_sync_poll). 0 on error. */
uint64_t dk_node_visible_mark(dk_node *n);

/* ---- trust (node/trust/trustview.c; formats in node/trust/trust.h) -------------------
 *
 * The trust view is what this node holds of the root's statements: every
 * certificate, revocation and auditor grant found in the district's log and
 * signed by the configured root, indexed when stored (locally or by ingest).
 * Without a root configured the view is empty and nothing here restricts
 * anything: pinned peers decide, as before. */

struct dk_statement;

/* The configured root key: DK_ENOTFOUND when none. */
int dk_node_root_pk(dk_node *n, uint8_t root[DK_PK_BYTES]);
/* Configures the root key (meta root_pk) and indexes the statements of the
 * district's log already held. DK_EEXIST when another root is configured
 * (a deployment has one root; changing it is a new deployment). */
int dk_node_set_root(dk_node *n, const uint8_t root[DK_PK_BYTES]);

/* Does key hold a certificate in force at at_ms, and is it not revoked at
 * at_ms? On success office (DK_NAME_BYTES_MAX bytes, may be NULL) and role
 * (may be NULL) get the certificate's; when several are in force, the one
 * issued last. DK_ECERT when none, DK_ENOTFOUND when no root is configured. */
int dk_node_cert_valid(dk_node *n, const uint8_t key[DK_PK_BYTES], uint64_t at_ms, char *office,
                       enum dk_office_role *role);
/* 0 with *at_ms the earliest revocation time of key, or DK_ENOTFOUND. */
int dk_node_revoked_at(dk_node *n, const uint8_t key[DK_PK_BYTES], uint64_t *at_ms);
/* 1 when this node holds any certificate or revocation naming key. */
int dk_node_trust_knows(dk_node *n, const uint8_t key[DK_PK_BYTES]);
/* The subtree an auditor grant in force at at_ms gives key (the first one
 * found when several are): DK_ENOTFOUND when none, or when key is revoked. */
int dk_node_auditor_subtree(dk_node *n, const uint8_t key[DK_PK_BYTES], uint64_t at_ms,
                            char subtree[DK_NAME_BYTES_MAX]);

/* Appends a statement signed by root to this node's log and indexes it, in
 * one commit. Only a district node's log carries statements (DK_ESCOPE
 * otherwise); root must be the configured root (DK_EAUTH; DK_ENOTFOUND when
 * none is configured). */
int dk_node_statement_append(dk_node *n, const struct dk_identity *root,
                             const struct dk_statement *s);
/* Calls cb for every statement in the trust view (certificates, then
 * revocations, then auditor grants; by key within each). The statement is
 * borrowed for the call. A non-zero return from cb stops and is returned. */
int dk_node_statement_list(dk_node *n, int (*cb)(void *ctx, const struct dk_statement *s),
                           void *ctx);

/* Writes a consistent, compacted copy of the store (a data.mdb) to fd
 * while other processes, serve among them, go on writing. */
int dk_node_store_copy(dk_node *n, int fd);

/* Counts: logs, entries and cases held. */
struct dk_node_stats {
  uint64_t logs, entries, cases, own_seq;
  /* Entries the case tables do not cover yet (0: up to date). `docket
   * serve` indexes a burst after it, between sessions; any command that
   * opens the node unlocked indexes what is left first. */
  uint64_t index_lag;
};
int dk_node_stats(dk_node *n, struct dk_node_stats *out);

#endif
