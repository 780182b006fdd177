/* Text checks (common/utf8.c), their use where text enters a node and
 * where it is shown, and the bulk loader's case numbers (node/ingest/bulk.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/ledger.h"
#include "common/error.h"
#include "common/utf8.h"
#include "node/node.h"

#define PASS "pw"

static dk_node *make(const char *dir_root, const char *name, const char *office,
                     enum dk_office_role role, const char *code) {
  char dir[128];
  snprintf(dir, sizeof(dir), "%s/%s", dir_root, name);
  struct dk_node_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  strcpy(cfg.office, office);
  strcpy(cfg.code, code);
  cfg.role = role;
  uint8_t pk[DK_PK_BYTES];
  assert_int_equal(dk_node_create(dir, &cfg, PASS, strlen(PASS), pk), 0);
  dk_node *n = NULL;
  assert_int_equal(dk_node_open(dir, PASS, strlen(PASS), &n), 0);
  return n;
}

static void utf8_decode_rejects_malformed(void **state) {
  uint32_t cp;
  assert_int_equal(dk_utf8_decode("\xe4\xb8\xad", 3, &cp), 3);
  assert_int_equal(cp, 0x4e2d);
  assert_int_equal(dk_utf8_decode("\xf0\xa0\x80\x80", 4, &cp), 4);
  assert_int_equal(cp, 0x20000);
  assert_int_equal(dk_utf8_decode("\xe4\xb8", 2, &cp), 0);     /* cut */
  assert_int_equal(dk_utf8_decode("\xc0\xaf", 2, &cp), 0);     /* overlong '/' */
  assert_int_equal(dk_utf8_decode("\xe0\x80\xaf", 3, &cp), 0); /* overlong */
  assert_int_equal(dk_utf8_decode("\xed\xa0\x80", 3, &cp), 0); /* surrogate */
  assert_int_equal(dk_utf8_decode("\xf4\x90\x80\x80", 4, &cp), 0); /* > U+10FFFF */
  assert_int_equal(dk_utf8_decode("\x80", 1, &cp), 0);
  assert_true(dk_utf8_valid("abc 中文", strlen("abc 中文")));
  assert_false(dk_utf8_valid("Wa\0ges", 6));
  assert_false(dk_utf8_valid("\xff", 1));
}

static void text_check_entry_rules(void **state) {
  assert_int_equal(dk_text_check("王芳", DK_TEXT_LINE), 0);
  assert_int_equal(dk_text_check(NULL, DK_TEXT_LINE), 0);
  assert_int_equal(dk_text_check("a\nb", DK_TEXT_MULTILINE), 0);
  assert_int_equal(dk_text_check("a\nb", DK_TEXT_LINE), DK_ETEXT);
  assert_int_equal(dk_text_check("a\x1b[2Jb", DK_TEXT_MULTILINE), DK_ETEXT);
  assert_int_equal(dk_text_check("a\x7f", DK_TEXT_MULTILINE), DK_ETEXT);
  assert_int_equal(dk_text_check("a\xc2\x9b" "b", DK_TEXT_MULTILINE), DK_ETEXT); /* C1 CSI */
  assert_int_equal(dk_text_check("a\xe2\x80\xae" "b", DK_TEXT_MULTILINE), DK_ETEXT); /* RLO */
  assert_int_equal(dk_text_check("bad \xff", DK_TEXT_MULTILINE), DK_ETEXT);
}

static void sanitize_for_terminal(void **state) {
  char out[64];
  int rep = 0;
  /* escape sequences and line breaks cannot move the cursor or end a line */
  const char *esc = "a\x1b[31mb\nc";
  dk_text_sanitize(out, sizeof(out), esc, strlen(esc), 0, DK_SANITIZE_TERMINAL, &rep);
  assert_string_equal(out, "a\xef\xbf\xbd[31mb c");
  assert_int_equal(rep, 0);
  /* bad bytes become U+FFFD and say so */
  dk_text_sanitize(out, sizeof(out), "x\xffy", 3, 0, DK_SANITIZE_TERMINAL, &rep);
  assert_string_equal(out, "x\xef\xbf\xbdy");
  assert_int_equal(rep, 1);
  /* cut on a character boundary, with a mark */
  const char *zh = "一二三四五六";
  dk_text_sanitize(out, sizeof(out), zh, strlen(zh), 4, DK_SANITIZE_TERMINAL, NULL);
  assert_string_equal(out, "一二三…");
  assert_true(dk_utf8_valid(out, strlen(out)));
  dk_text_sanitize(out, sizeof(out), zh, strlen(zh), 6, DK_SANITIZE_TERMINAL, NULL);
  assert_string_equal(out, zh);
  /* a small buffer never ends inside a character */
  char small[8];
  dk_text_sanitize(small, sizeof(small), zh, strlen(zh), 0, DK_SANITIZE_TERMINAL, NULL);
  assert_true(dk_utf8_valid(small, strlen(small)));
  assert_int_equal(strlen(small) % 3, 0);
  assert_int_equal(dk_utf8_cut(zh, strlen(zh), 7), 6);
  /* JSON keeps controls (the writer escapes them) */
  dk_text_sanitize(out, sizeof(out), "a\nb", 3, 0, DK_SANITIZE_JSON, NULL);
  assert_string_equal(out, "a\nb");
}

/* Text an older node stored unchecked is shown, repaired, never dropped. */
static void case_json_repairs_old_text(void **state) {
  struct dk_case_state s;
  dk_case_state_init(&s);
  s.opened = 1;
  s.number = strdup("LX-2025-0001");
  s.category = strdup("");
  s.office = strdup("zhanhe/beidu/lanxin");
  s.summary = strdup("bad \xff\xfe text");
  s.parties = calloc(1, sizeof(char *));
  s.parties[0] = strdup("D\xff");
  s.parties_count = 1;
  json_t *o = cli_case_json(&s, 1, 1);
  assert_non_null(o);
  json_t *summary = json_object_get(o, "summary");
  assert_non_null(summary);
  assert_string_equal(json_string_value(summary), "bad \xef\xbf\xbd\xef\xbf\xbd text");
  assert_int_equal(json_array_size(json_object_get(o, "parties")), 1);
  assert_true(json_is_true(json_object_get(o, "text_repaired")));
  json_decref(o);
  free(s.summary);
  s.summary = strdup("good");
  free(s.parties[0]);
  s.parties[0] = strdup("王芳");
  o = cli_case_json(&s, 1, 1);
  assert_true(json_is_false(json_object_get(o, "text_repaired")));
  json_decref(o);
  dk_case_state_release(&s);
}

static char root[64];

static int setup(void **state) {
  snprintf(root, sizeof(root), "/tmp/docket-test-ledger.XXXXXX");
  assert_non_null(mkdtemp(root));
  return 0;
}

static int teardown(void **state) {
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
  return system(cmd) == 0 ? 0 : -1;
}

static void plan_open(struct dk_event *ev, const char *number, const char *summary, int day) {
  dk_event_init(ev);
  ev->type = DK_EVENT_OPEN;
  ev->kind = DK_KIND_DISPUTE;
  ev->at_ms = 1735689600000ull + (uint64_t)day * 86400000ull; /* 2025-01-01 + day */
  ev->number = (char *)number;
  ev->text = (char *)summary;
}

static size_t cases_count(dk_node *n) {
  uint64_t cases = 0;
  struct dk_node_stats st;
  assert_int_equal(dk_node_stats(n, &st), 0);
  cases = st.cases;
  return (size_t)cases;
}

/* A number given twice in one batch, or held by a different case, is
 * refused and names the plan; the very same case is skipped. */
static void bulk_numbers_name_one_case(void **state) {
  dk_node *n = make(root, "bulk", "zhanhe/beidu/lanxin", DK_OFFICE_COMMUNITY, "LX");
  struct dk_event ev[4];
  struct dk_case_plan plans[4];
  plan_open(&ev[0], "LX-2025-0001", "first", 5);
  plan_open(&ev[1], "LX-2025-0001", "second", 6);
  for (int i = 0; i < 2; i++)
    plans[i] = (struct dk_case_plan){&ev[i], 1, 0};
  size_t bad = 99;
  assert_int_equal(dk_node_bulk_load(n, plans, 2, NULL, NULL, &bad), DK_ENUMBER);
  assert_int_equal(bad, 1);
  assert_int_equal(cases_count(n), 0);

  /* a blank number beside a given one: two numbers */
  plan_open(&ev[0], "", "blank", 5);
  plan_open(&ev[1], "LX-2025-0001", "given", 6);
  for (int i = 0; i < 2; i++)
    plans[i] = (struct dk_case_plan){&ev[i], 1, 0};
  assert_int_equal(dk_node_bulk_load(n, plans, 2, NULL, NULL, &bad), 0);
  assert_int_equal(cases_count(n), 2);
  uint8_t id[DK_HASH_BYTES];
  assert_int_equal(dk_node_case_find(n, "LX-2025-0001", id), 0);
  struct dk_case_state s;
  dk_case_state_init(&s);
  assert_int_equal(dk_node_case_get(n, id, &s), 0);
  assert_string_equal(s.summary, "given");
  dk_case_state_release(&s);

  /* the same case again is skipped; a different one with its number refused */
  plan_open(&ev[0], "LX-2025-0001", "given", 6);
  plans[0] = (struct dk_case_plan){&ev[0], 1, 0};
  assert_int_equal(dk_node_bulk_load(n, plans, 1, NULL, NULL, &bad), 0);
  assert_int_equal(plans[0].skipped, 1);
  int present = 0;
  assert_int_equal(dk_node_plan_number(n, &plans[0], &present), 0);
  assert_int_equal(present, 1);
  plan_open(&ev[0], "LX-2025-0001", "a different case", 6);
  plans[0] = (struct dk_case_plan){&ev[0], 1, 0};
  assert_int_equal(dk_node_plan_number(n, &plans[0], &present), DK_ENUMBER);
  assert_int_equal(dk_node_bulk_load(n, plans, 1, NULL, NULL, &bad), DK_ENUMBER);
  assert_int_equal(cases_count(n), 2);

  /* a number that does not fit is refused before anything is copied */
  char longnum[201];
  memset(longnum, 'L', 200);
  longnum[200] = 0;
  for (size_t len = 63; len <= 200; len = len == 63 ? 64 : len == 64 ? 100 : 201) {
    longnum[len] = 0;
    plan_open(&ev[0], longnum, "long", 7);
    plans[0] = (struct dk_case_plan){&ev[0], 1, 0};
    int rc = dk_node_bulk_load(n, plans, 1, NULL, NULL, &bad);
    assert_int_equal(rc, len < DK_CASE_NUMBER_BYTES ? 0 : DK_ELIMIT);
    longnum[len] = 'L';
  }
  assert_int_equal(cases_count(n), 3);
  dk_node_close(n);
}

/* New text is checked where it enters the node. */
static void case_open_refuses_bad_text(void **state) {
  dk_node *n = make(root, "open", "zhanhe/beidu/lanxin", DK_OFFICE_COMMUNITY, "LX");
  const char *bad_texts[] = {"bad \xff", "esc \x1b[2J", "rlo \xe2\x80\xae"};
  for (size_t i = 0; i < 3; i++) {
    struct dk_event ev;
    plan_open(&ev, "", bad_texts[i], 1);
    uint8_t id[DK_HASH_BYTES];
    char number[DK_CASE_NUMBER_BYTES];
    assert_int_equal(dk_node_case_open(n, &ev, id, number), DK_ETEXT);
  }
  struct dk_event ev;
  plan_open(&ev, "", "ok", 1);
  char *parties[1] = {"Li\nNa"};
  ev.parties = parties;
  ev.parties_count = 1;
  uint8_t id[DK_HASH_BYTES];
  char number[DK_CASE_NUMBER_BYTES];
  assert_int_equal(dk_node_case_open(n, &ev, id, number), DK_ETEXT);
  assert_int_equal(cases_count(n), 0);
  dk_node_close(n);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  setenv("TZ", "UTC", 1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(utf8_decode_rejects_malformed),
      cmocka_unit_test(text_check_entry_rules),
      cmocka_unit_test(sanitize_for_terminal),
      cmocka_unit_test(case_json_repairs_old_text),
      cmocka_unit_test(bulk_numbers_name_one_case),
      cmocka_unit_test(case_open_refuses_bad_text),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
