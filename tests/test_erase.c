/*
 * Erasure between nodes (node/cases/erase.h): who may erase, that an erasure
 * reached by ingest deletes what it must whatever the order entries
 * arrive in, and that bodies of an erased case arriving later are dropped
 * in the commit that stores them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "node/trust/audit.h"
#include "node/cases/erase.h"
#include "node/node.h"

#include "tests/lib/node_fixture.h"

struct fixture {
  char root[64];
  dk_node *lanxin, *beidu, *xinhe;
};

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof(*f));
  strcpy(f->root, "/tmp/dk-erase-XXXXXX");
  assert_non_null(mkdtemp(f->root));
  f->lanxin = make(f->root, "lanxin", "zhanhe/beidu/lanxin", DK_OFFICE_COMMUNITY, "LX");
  f->beidu = make(f->root, "beidu", "zhanhe/beidu", DK_OFFICE_STREET, "BD");
  f->xinhe = make(f->root, "xinhe", "zhanhe/beidu/xinhe", DK_OFFICE_COMMUNITY, "XH");
  pin(f->beidu, f->lanxin);
  pin(f->beidu, f->xinhe);
  pin(f->xinhe, f->lanxin); /* a sibling that holds lanxin's log (as a test of erasure rights) */
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  dk_node_close(f->lanxin);
  dk_node_close(f->beidu);
  dk_node_close(f->xinhe);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", f->root);
  if (system(cmd) != 0)
    return -1;
  free(f);
  return 0;
}



static void note(dk_node *n, const uint8_t *id, const char *text) {
  struct dk_event ev;
  dk_event_init(&ev);
  ev.type = DK_EVENT_NOTE;
  ev.at_ms = dk_node_now(n);
  ev.text = (char *)text;
  assert_int_equal(dk_node_case_append(n, id, &ev), 0);
  free(ev.deps);
}

struct body_probe {
  uint64_t seq;
  int found, has_body;
};

static int probe(void *ctx, const struct dk_raw_entry *e) {
  struct body_probe *p = ctx;
  if (!p->found) {
    p->found = 1;
    p->has_body = e->body != NULL;
  }
  return 1; /* one entry is enough */
}

static int has_body(dk_node *n, const uint8_t *log, uint64_t seq) {
  struct body_probe p = {seq, 0, 0};
  int rc = dk_node_log_read(n, log, seq, 1, 1 << 20, probe, &p);
  assert_true(rc == 0 || rc == 1);
  assert_true(p.found);
  return p.has_body;
}

static void sibling_refused_parent_erases_late_bodies_dropped(void **state) {
  struct fixture *f = *state;
  struct dk_ingest_stats st;
  uint8_t c[32];
  /* lanxin knows its street, so the street can read lanxin's cases. */
  assert_int_equal(move_log(f->beidu, f->lanxin, 1, &st), 0);
  open_case(f->lanxin, "Leaking roof of flat 3", "Ma Lin", c);
  assert_int_equal(move_log(f->lanxin, f->beidu, 1, &st), 0);
  assert_int_equal(move_log(f->lanxin, f->xinhe, 1, &st), 0);

  /* A sibling community holds the opening entry but may not erase. */
  struct dk_erase_info info;
  assert_int_equal(dk_node_case_erase(f->xinhe, c, "not mine", &info), DK_ESCOPE);
  assert_string_equal(info.case_office, "zhanhe/beidu/lanxin");

  /* lanxin writes a note before it learns of the erasure. */
  note(f->lanxin, c, "Ma Lin called again");
  /* The street erases. */
  assert_int_equal(dk_node_case_erase(f->beidu, c, "court order 7", &info), 0);
  assert_int_equal(info.bodies_erased, 1); /* the open: the note has not arrived */
  assert_string_equal(info.erased_by, "zhanhe/beidu");
  assert_int_equal(dk_node_case_erase(f->beidu, c, "again", &info), DK_EEXIST);
  /* The note arrives at the street afterwards: stored, body dropped. */
  uint64_t seq;
  uint8_t head[32];
  assert_int_equal(dk_node_log_head(f->lanxin, dk_node_pk(f->lanxin), &seq, head), 0);
  assert_int_equal(move_log(f->lanxin, f->beidu, 1, &st), 0);
  assert_int_equal(st.stored, 1);
  assert_false(has_body(f->beidu, dk_node_pk(f->lanxin), seq));
  struct dk_case_state s;
  dk_case_state_init(&s);
  assert_int_equal(dk_node_case_get(f->beidu, c, &s), 0);
  assert_true(s.erased_at_ms != 0);
  assert_string_equal(s.summary, "");
  assert_int_equal(s.parties_count, 0);
  assert_string_equal(s.erase_reason, "court order 7");
  dk_case_state_release(&s);

  /* The erase entry reaches lanxin: its own bodies go too. */
  assert_int_equal(move_log(f->beidu, f->lanxin, 1, &st), 0);
  assert_false(has_body(f->lanxin, dk_node_pk(f->lanxin), seq));
  assert_int_equal(dk_node_case_get(f->lanxin, c, &s), 0);
  assert_string_equal(s.erased_by, "zhanhe/beidu");
  dk_case_state_release(&s);
  struct dk_verify_report rep;
  assert_int_equal(dk_node_verify(f->lanxin, NULL, NULL, NULL, &rep), 0);
  assert_int_equal(rep.problems, 0);
  assert_true(rep.bodies_erased >= 2);

  /* The sibling relay, which cannot read the case, erases bodies as well. */
  assert_int_equal(move_log(f->beidu, f->xinhe, 1, &st), 0);
  assert_false(has_body(f->xinhe, dk_node_pk(f->lanxin), 2));

  /* The audit of the erased case verifies and names the erasure. */
  struct dk_buf b;
  dk_buf_init(&b);
  struct dk_audit_write_stats ws;
  assert_int_equal(dk_node_audit_write(f->lanxin, c, NULL, &b, &ws), 0);
  struct dk_audit_result r;
  assert_int_equal(dk_audit_verify(b.data, b.len, dk_node_identity(f->lanxin), NULL, &r), 0);
  assert_true(r.erased);
  assert_string_equal(r.erased_by, "zhanhe/beidu");
  assert_int_equal(r.bodies_erased, 2);
  assert_false(r.key_used);
  /* No root on these nodes: certificates were not checked, and said so. */
  assert_false(r.has_root);
  assert_int_equal(r.authors_checked, 0);
  assert_int_equal(r.entries[0].cert, DK_AUDIT_CERT_UNCHECKED);
  dk_audit_result_release(&r);
  dk_buf_release(&b);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(sibling_refused_parent_erases_late_bodies_dropped, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
