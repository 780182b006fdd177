/* Private to node/cases/ and the layers above it: what cases/tables.c and cases/erase.c define. */
#ifndef DK_CASES_INT_H
#define DK_CASES_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "crypto/crypto.h"
#include "node/cases/fold.h"
#include "node/log/entry.h"
#include "node/node.h"
#include "node/store/store.h"

/* cases/tables.c, shared with verify.c and the replication ingest path. */
int dk__case_key_load(dk_node *n, struct dk_txn *t, const uint8_t *case_id, uint8_t *key);
int dk__case_key_save(dk_node *n, struct dk_txn *t, const uint8_t *case_id, const uint8_t *key);
int dk__case_state_load(dk_node *n, struct dk_txn *t, const uint8_t *case_id,
                        struct dk_case_state *s);
int dk__case_state_save(dk_node *n, struct dk_txn *t, const struct dk_case_state *s);
int dk__case_load_events(dk_node *n, struct dk_txn *t, const uint8_t *case_id,
                         struct dk_event **out, size_t *count);
/* Decrypts a sealed row of tb (DK_T_CASES, DK_T_CASE_KEYS or DK_T_REPORT)
 * into out. */
int dk__sealed_open(dk_node *n, enum dk_table tb, const uint8_t *case_id, const uint8_t *v,
                    size_t vlen, struct dk_buf *out);
/* The report row of a case (node/cases/fold.h), kept beside its state by
 * dk__case_state_save; dk__case_report_del removes it with the state. */
int dk__case_report_del(struct dk_txn *t, const uint8_t *case_id);
/* Writes the report rows of a store that has none yet (a store from before
 * they existed), once; a no-op afterwards. */
int dk__report_rows_fill(dk_node *n);
/* Case numbers: "CODE-YYYY-NNNN" into its parts (0 when it has that
 * shape), and the office counter that numbers the next case of a year. */
int dk__number_parse(const char *number, char *code, size_t code_cap, int *year,
                     uint64_t *counter);
int dk__counter_put(struct dk_txn *t, const char *code, int year, uint64_t next);
/* cases/tables.c: the case indexer's cursor. The first position not yet
 * indexed, and its setter. */
int dk__index_cursor(struct dk_txn *t, uint64_t *pos);
int dk__index_cursor_set(struct dk_txn *t, uint64_t pos);
/* For local writes that indexed their own entries from first_pos (the
 * log's end when their transaction began): moves the cursor to the log's
 * end when it stood at first_pos. Otherwise the indexer will index them
 * again later, which is harmless: every index write is idempotent. */
int dk__index_local(struct dk_txn *t, uint64_t first_pos);

/* cases/tables.c helpers shared with ingest/bulk.c and ingest/append.c. */
void dk__number_key(const dk_node *n, const char *number, uint8_t key[DK_HASH_BYTES]);
int dk__case_events_put(struct dk_txn *t, const uint8_t *case_id, const struct dk_entry *e);
int dk__seal_grants(dk_node *n, uint8_t readers[][DK_PK_BYTES], size_t nreaders,
                    const uint8_t *key, struct dk_grant *grants, size_t *count);
/* Assigns ev's number when empty (buf receives it and ev->number points at
 * it), or checks a given one is free (DK_EEXIST). */
int dk__assign_number(dk_node *n, struct dk_txn *t, struct dk_event *ev, char *buf);

int dk__case_refold(dk_node *n, struct dk_txn *t, const uint8_t *case_id);

/* Overwrites the store's free pages with zeros (node/cases/erase.c), so that what
 * an erasure freed cannot be read back from data.mdb. Call after the
 * erasing transaction committed. */
int dk__store_scrub(dk_node *n);

/* cases/erase.c: a case with an erase entry held is marked (1 from
 * dk__erase_marked, 0 when not, or an error); dk__case_erase_apply()
 * deletes what an honoured erasure deletes, idempotently, and does nothing
 * until the opening entry and an honoured erase entry are both held. out
 * may be NULL. */
struct dk_erase_info;
int dk__erase_marked(struct dk_txn *t, const uint8_t *case_id);
/* 1 when the case has an honoured erase entry (signed, its body intact, from
 * an office that covers the case), so that its other bodies may be gone; 0
 * when not (or its opening entry is not held); or an error. */
int dk__erase_covers(struct dk_txn *t, const uint8_t *case_id);
int dk__erase_mark(struct dk_txn *t, const uint8_t *case_id);
/* In a shadow view, a case whose bodies the erasure would delete is
 * recorded in n->unerased instead (cases/erase.c), for
 * dk_node_index_check (ingest/index.c) to name. */
int dk__check_unerased(dk_node *n, const uint8_t *case_id);
int dk__case_erase_apply(dk_node *n, struct dk_txn *t, const uint8_t *case_id,
                         struct dk_erase_info *out);

#endif
