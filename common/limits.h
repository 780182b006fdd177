/*
 * Every limit in docket, each with the reason for its value.
 *
 * Anything read from disk or from the network is checked against these before
 * memory is allocated for it. Relations between limits are checked at compile
 * time at the bottom of this file.
 */
#ifndef DK_LIMITS_H
#define DK_LIMITS_H

#include <stddef.h>

/* An entry header is a short msgpack array of fixed fields (about 180 bytes);
 * 1 KiB leaves room for future fields and rejects garbage early. */
#define DK_HEADER_BYTES_MAX 1024

/* A case event is a few paragraphs of text at most. 64 KiB keeps a single
 * entry small enough to replicate over a poor link in one frame. */
#define DK_BODY_BYTES_MAX (64 * 1024)

/* Plaintext event before encryption: the body less nonce and tag. */
#define DK_EVENT_BYTES_MAX (DK_BODY_BYTES_MAX - 24 - 16)

/* One network frame carries a batch of entries; 1 MiB bounds the memory a
 * peer can make us hold per connection. */
#define DK_FRAME_BYTES_MAX (1024 * 1024)

/* Before a peer has authenticated it may send only handshake frames. */
#define DK_FRAME_BYTES_UNAUTH_MAX 256

/* Upper bound on any msgpack container count we will unpack. Every element
 * takes at least one byte, so a count is also bounded by the bytes left. */
#define DK_MP_COUNT_MAX 65536

/* Nesting depth of msgpack we accept; events are at most 3 deep. */
#define DK_MP_DEPTH_MAX 8

/* Free text fields (summary, note, agreement, reason): generous for a
 * paragraph, small enough that an event always fits in a body. */
#define DK_TEXT_BYTES_MAX 8192

/* Names of people, categories, office paths. */
#define DK_NAME_BYTES_MAX 256

/* Longest human case number with its NUL: "LX-2020-0042" with room to
 * spare. Every reader of the numbers table holds a number in this. */
#define DK_CASE_NUMBER_BYTES 64

/* Parties named on one case. */
#define DK_PARTIES_MAX 32

/* A case event records the case events its author had seen (deps); more than
 * a few means many offices wrote concurrently. */
#define DK_DEPS_MAX 16

/* Readers a case key is sealed to in one grants block: the writing office,
 * the offices above it (street, district) and a handful of auditors. */
#define DK_READERS_MAX 16

/* Case events folded into one case state. A busy case has dozens. */
#define DK_CASE_EVENTS_MAX 100000

/* Minutes recorded for one mediation session: a session does not last more
 * than a day, and the bound keeps a case's minutes_total from overflowing. */
#define DK_SESSION_MINUTES_MAX (24 * 60)

/* Items one residents' meeting decides; a real agenda has a handful. */
#define DK_MEETING_ITEMS_MAX 1000

/* Entries in each list of a case state (contacts, conflicts, revisits,
 * assignee history). A busy case has dozens; the bound keeps a hostile log
 * from growing one state without end and keeps every list encodable within
 * the msgpack count limit. Past it, a state counts what it left out. */
#define DK_CASE_LIST_MAX 16384

/* Entries appended per LMDB transaction on bulk paths (group commit). */
#define DK_BULK_BATCH_ENTRIES 4096

/* Page walks of a store (node/store/store.c) before damage is reported: a
 * walk that ran while another process committed can see a meta page half
 * written; real damage shows in every walk. */
#define DK_CHECK_ATTEMPTS 4

/* Entries the case indexer (node/ingest/index.c) takes per transaction when it
 * catches up with the log: large enough that a burst of events on one case
 * folds it once, small enough that the random pages of the case tables it
 * dirties (several per case: states, report rows, events, opens, numbers,
 * grants) stay well under LMDB's dirty-page limit (131 071 pages). LMDB
 * keeps dirty pages in the heap, so this bounds the receiver's memory: on a
 * 200 000-entry catch-up its anonymous peak was 49.6 MiB at 16 384 and
 * 21.0 MiB at 4 096, with no loss of rate (5 333 and 5 828 entries/s, one
 * run each on a loaded machine); at 16 384 a 1 M-entry catch-up peaked at
 * 82.6 MiB, over the 64 MiB bound. */
#define DK_INDEX_BATCH_ENTRIES 4096

/* Entries the upgrade from store format 1 moves per transaction: bounded by
 * LMDB's dirty-page limit, as above (one entry dirties well under a page). */
#define DK_UPGRADE_BATCH_ENTRIES 32768

/* Cases whose events a bulk load interleaves in the log (node/ingest/bulk.c): a
 * few independent chains keep the signing thread busy; more would scatter
 * each case's events over the log and make replicas fold cases repeatedly. */
#define DK_BULK_INTERLEAVE_CASES 16

/* Initial LMDB map size: address space only (the file grows as pages are
 * written), so a generous start avoids aborting and redoing a large group
 * commit to grow the map. Grown on MDB_MAP_FULL by doubling up to the max. */
#define DK_MAP_BYTES_INITIAL ((size_t)1 << 30)
#define DK_MAP_BYTES_MAX ((size_t)1 << 40)
/* Every open walks the store's B-tree pages before any command reads them
 * (node/store/store.c, docs/testing.md), up to a store of this size. The walk
 * reads the whole file: about 3 ms per MiB here, so at most about 0.2 s,
 * which covers a community's store for years (20 000 cases are 112 MiB).
 * Larger stores (a street's or a district's) skip it at open, where it
 * would cost seconds per command; there the fault guard keeps every
 * command alive, and 'docket verify' walks every page. */
#define DK_OPEN_WALK_BYTES_MAX ((uint64_t)64 << 20)

/* A CSV ledger line; spreadsheets export long text cells, but not this long. */
#define DK_CSV_LINE_BYTES_MAX (64 * 1024)

/* A ledger file is read into memory whole (CSV decoded to UTF-8 at once,
 * XLSX opened from memory): 256 MiB is millions of rows, more than a
 * district holds, and still fits a small office machine. */
#define DK_LEDGER_FILE_BYTES_MAX (256 * 1024 * 1024)
/* One cell of a ledger: a free text field with room for XLSX escapes. */
#define DK_LEDGER_CELL_BYTES_MAX (2 * DK_TEXT_BYTES_MAX)
/* An XLSX part once inflated (the sheet, the shared strings): a zip bomb
 * stops here, not in memory. 512 MiB holds millions of cells. */
#define DK_XLSX_PART_BYTES_MAX (512 * 1024 * 1024)
/* Rows and columns of one sheet, and shared strings of one workbook. */
#define DK_XLSX_ROWS_MAX (2 * 1024 * 1024)
#define DK_XLSX_COLUMNS_MAX 64
#define DK_XLSX_SHARED_STRINGS_MAX (4 * 1024 * 1024)

/* Passphrases are typed by people. */
#define DK_PASSPHRASE_BYTES_MAX 1024

/* Reason given in a revocation: a sentence for the audit trail, kept small
 * because every office holds every revocation. */
#define DK_REASON_BYTES_MAX 512

/* A root statement as signed (the statement array): a cert holds two keys,
 * an office path and a few numbers; a revocation a reason. */
#define DK_STATEMENT_BYTES_MAX (2 * 34 + DK_NAME_BYTES_MAX + DK_REASON_BYTES_MAX + 64)

/* Keyfile: magic, parameters, salt, nonce, sealed secrets. */
#define DK_KEYFILE_BYTES_MAX 512


/* Sync (replication/sync.c). Entries in one batch: the receiver checks and
 * commits a batch at once, so 1024 keeps one commit short and the array of
 * entry views it builds small (and a count msgpack admits). */
#define DK_SYNC_BATCH_ENTRIES_MAX 1024

/* Encoded entries in one batch: under the frame limit, leaving 1 KiB for the
 * message envelope and the batch's own fields. */
#define DK_SYNC_BATCH_BYTES_MAX (DK_FRAME_BYTES_MAX - 1024)

/* The largest entry as a batch element: msgpack array of header, 64-byte
 * signature and body, with up to 16 bytes of msgpack headers. */
#define DK_SYNC_ENTRY_WIRE_BYTES_MAX (DK_HEADER_BYTES_MAX + 64 + DK_BODY_BYTES_MAX + 16)

/* Unacknowledged batches per session: with batches of at most 1 MiB, 8 bound
 * what a slow peer makes the sender queue while keeping a fast link busy. */
#define DK_SYNC_WINDOW_BATCHES_MAX 8

/* Heads in one heads message: a head is 78 bytes of msgpack, so 8192 of them
 * stay well below one frame; 10 000 logs take two messages. */
#define DK_SYNC_HEADS_PER_MESSAGE_MAX 8192
#define DK_SYNC_HEAD_WIRE_BYTES 80

/* Logs one session tracks (one small record each): far above a district's
 * tens of thousands of offices, and a bound on what new logs a peer can make
 * us remember. */
#define DK_SYNC_LOGS_MAX (1 << 20)

/* Network service (replication/transport.c). A connection that has not
 * finished the handshake after this long is closed: the handshake is four
 * small messages (two round trips), which a slow rural link carries in well
 * under a second; 10 s is generous for a legitimate peer and bounds how long
 * a stranger can hold a connection without proving anything. */
#define DK_NET_HANDSHAKE_TIMEOUT_MS 10000

/* Connections one serve holds at once, in the handshake or in a session. A
 * street has tens of communities and one district; a district tens of
 * streets. Each connection costs about 150 KiB idle (read buffer, stream
 * states, session) and up to two frames (2 MiB) while a batch is read, so
 * 256 bound what peers can make us hold to about 40 MiB idle, 600 MiB at
 * worst, where 2 000 idle sessions once held 300 MB. */
#define DK_NET_CONNECTIONS_MAX 256

/* Of those, connections still in the handshake: strangers (without the
 * network key) never get further, so they get the smallest share, and a
 * flood of them leaves room for the peers that authenticate. */
#define DK_NET_HANDSHAKES_MAX 64

/* Sessions one key may hold at once. A node keeps one live session with its
 * parent (serve) and may run `docket sync` beside it; one more covers a
 * redial while the server has not yet noticed that the old link is dead.
 * One enrolled key cannot hold more. */
#define DK_NET_SESSIONS_PER_KEY_MAX 3

/* Keepalive (replication/sync.c). A session that has sent nothing for this
 * long sends a PING, so that the peer's silence bound sees traffic on a link
 * that has nothing to carry; NAT and firewall mappings of office routers
 * last a minute or more, so 15 s keeps them open. */
#define DK_SYNC_KEEPALIVE_MS 15000

/* A session that has received nothing (not even a PING) for this long is
 * dead: the link is cut or the peer is gone. It is closed and the dialler
 * redials with its backoff. Three keepalives missed: one lost packet with
 * TCP's retransmission does not close a working link. This is also the idle
 * timeout of an authenticated session: a peer that stops talking is dropped
 * after it. */
#define DK_SYNC_SILENCE_MS_MAX (3 * DK_SYNC_KEEPALIVE_MS)

/* Logging of repeated conditions (common/ratelog.h). The first few
 * occurrences of a run are written in full, so that the first line says
 * exactly what happened; after that one summary per interval: an hour of
 * an unreachable parent (120 attempts at 30 s) is 4 lines, not 120, and a
 * flood of refused handshakes is a count, not a line each. */
#define DK_LOG_REPEAT_BURST 3
#define DK_LOG_SUMMARY_INTERVAL_MS (15 * 60 * 1000)
/* A flood (refused handshakes) is counted once a minute, so that whoever
 * watches the log sees an attack while it lasts. */
#define DK_LOG_FLOOD_INTERVAL_MS (60 * 1000)

/* A refusal reason sent to a refused peer (docs/protocol-transport.md): a
 * code and a short sentence, sent only to a peer that proved its key. */
#define DK_NET_REASON_BYTES_MAX 160

/* Audit bundles (node/trust/audit.h). A bundle is read whole into memory by an
 * auditor's machine: 256 MiB holds about a million headers with their
 * signatures, far more than the logs behind one case carry. */
#define DK_AUDIT_BUNDLE_BYTES_MAX ((size_t)256 << 20)

/* Logs in one audit bundle: the offices that wrote to the case (its own and
 * those above, at most four levels) and the parents that witnessed them. */
#define DK_AUDIT_LOGS_MAX 64

/* Entries in one log chunk of a bundle: about 300 bytes each, so a chunk
 * stays near 1 MiB with a body or two in it. */
#define DK_AUDIT_CHUNK_ENTRIES_MAX 2048

/* Soft size of a log chunk: the writer starts a new chunk past it, leaving
 * room under the frame limit for one more entry with its body. */
#define DK_AUDIT_CHUNK_BYTES_SOFT (512 * 1024)

/* Failures named one by one in an audit result; the rest are counted. */
#define DK_AUDIT_FAILURES_MAX 64

_Static_assert(DK_HEADER_BYTES_MAX + DK_BODY_BYTES_MAX + 1024 < DK_FRAME_BYTES_MAX,
               "one entry with its body must fit in one frame");
_Static_assert(DK_LEDGER_CELL_BYTES_MAX < DK_CSV_LINE_BYTES_MAX,
               "a CSV row holds at least one longest cell");
_Static_assert(DK_TEXT_BYTES_MAX * 4 < DK_EVENT_BYTES_MAX,
               "an event with a few text fields must fit in a body");
_Static_assert(DK_PARTIES_MAX * DK_NAME_BYTES_MAX < DK_EVENT_BYTES_MAX / 2,
               "all parties' names must fit in an event");
_Static_assert(DK_MP_COUNT_MAX >= DK_PARTIES_MAX && DK_MP_COUNT_MAX >= DK_DEPS_MAX,
               "msgpack count limit must admit every list we write");
_Static_assert(DK_CASE_LIST_MAX <= DK_MP_COUNT_MAX,
               "every list of a case state must be decodable");
_Static_assert((unsigned long long)DK_CASE_EVENTS_MAX * DK_SESSION_MINUTES_MAX < (1ull << 53),
               "a case's total minutes must stay exact in any integer or double");

_Static_assert(DK_STATEMENT_BYTES_MAX + 64 + 16 < DK_BODY_BYTES_MAX,
               "a signed statement must fit in an entry body");

_Static_assert(DK_SYNC_ENTRY_WIRE_BYTES_MAX <= DK_SYNC_BATCH_BYTES_MAX,
               "any single entry must fit in an empty batch");
_Static_assert(DK_SYNC_BATCH_BYTES_MAX + 1024 <= DK_FRAME_BYTES_MAX,
               "a full batch with its envelope must fit in one frame");
_Static_assert(DK_SYNC_BATCH_ENTRIES_MAX <= DK_MP_COUNT_MAX,
               "a batch's entry array must be decodable");
_Static_assert(DK_SYNC_HEADS_PER_MESSAGE_MAX <= DK_MP_COUNT_MAX,
               "a heads message's array must be decodable");
_Static_assert((size_t)DK_SYNC_HEADS_PER_MESSAGE_MAX * DK_SYNC_HEAD_WIRE_BYTES + 1024 <=
                   DK_FRAME_BYTES_MAX,
               "a full heads message must fit in one frame");
_Static_assert(DK_SYNC_WINDOW_BATCHES_MAX >= 1, "a session must be able to send a batch");
_Static_assert(DK_NET_HANDSHAKES_MAX <= DK_NET_CONNECTIONS_MAX,
               "handshakes are a share of all connections");
_Static_assert(DK_NET_SESSIONS_PER_KEY_MAX >= 2,
               "a node's serve and its own docket sync must both fit");
_Static_assert(DK_SYNC_SILENCE_MS_MAX >= 2 * DK_SYNC_KEEPALIVE_MS,
               "one lost keepalive must not close a working link");
_Static_assert(DK_AUDIT_CHUNK_ENTRIES_MAX <= DK_MP_COUNT_MAX,
               "an audit log chunk's entry array must be decodable");
_Static_assert(DK_AUDIT_CHUNK_BYTES_SOFT + DK_SYNC_ENTRY_WIRE_BYTES_MAX + 1024 <=
                   DK_FRAME_BYTES_MAX,
               "an audit log chunk one entry past its soft size fits a chunk");

/* Enrolment requests certified by one 'docket cert issue --request' (files
 * and directories together): a district enrols its offices in one go (the
 * deployment this models has 41), and everything is checked before the
 * root is unlocked, so the batch is held in memory. */
#define DK_CERT_BATCH_MAX 4096


/* Network key rotation (node/trust/netkey.h). The old key keeps working for a
 * grace period after the district publishes the new one, so that an office
 * that is offline (a PC switched off over a holiday, a link down for weeks)
 * can still reach its street with the old key and receive the new one.
 * 30 days covers the longest closures offices report (Spring Festival);
 * at least one day, so that a rotation never cuts off the offices that are
 * online but have not synced yet; at most a year, because a leaked key that
 * keeps working longer than the certificates it protects is no rotation. */
#define DK_NETKEY_GRACE_DAYS_DEFAULT 30
#define DK_NETKEY_GRACE_DAYS_MIN 1
#define DK_NETKEY_GRACE_DAYS_MAX 365
#define DK_DAY_MS (24ull * 60 * 60 * 1000)
/* Offices one rotation entry seals the new key to: every certified key of
 * the deployment. A district has a few dozen; the bound keeps the entry,
 * at DK_NETKEY_RECIPIENT_BYTES each, within one body. */
#define DK_NETKEY_RECIPIENTS_MAX 512
#define DK_NETKEY_RECIPIENT_BYTES (1 + 2 + 32 + 2 + 72)
_Static_assert(DK_NETKEY_GRACE_DAYS_MIN <= DK_NETKEY_GRACE_DAYS_DEFAULT &&
                   DK_NETKEY_GRACE_DAYS_DEFAULT <= DK_NETKEY_GRACE_DAYS_MAX,
               "the default grace lies within its bounds");
_Static_assert(64 + DK_NETKEY_RECIPIENTS_MAX * DK_NETKEY_RECIPIENT_BYTES <= DK_BODY_BYTES_MAX,
               "a rotation entry for every recipient fits one body");

#endif
