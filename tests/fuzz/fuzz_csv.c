/*
 * libFuzzer target for the whole ledger import path, where the heap
 * overflow was: the bytes of a ledger file (CSV in any encoding, or an XLSX
 * when they start with a zip signature) are decoded, parsed, every row
 * checked, and loaded into a real node in a temporary directory
 * (cli/ledger.c, cli/ledger_xlsx.c, cli/cmd_import.c, node/ingest/bulk.c).
 *
 * Properties checked (abort() on violation):
 *   - nothing crashes, overflows or leaks (the sanitizers watch);
 *   - an import that fails writes nothing: the node holds as many cases
 *     after it as before;
 *   - an import that succeeds accounts for every row (imported + skipped)
 *     and leaves every case number naming one case.
 *
 * The node is made once per process (its key derivation is slow) and
 * replaced when it has grown. tests/test_fuzz_replay.c replays
 * tests/fuzz/corpus/csv/ in every ctest run, without libFuzzer.
 */
#include <dirent.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/ledger.h"
#include "node/node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PASS "fuzz"
#define CASES_BEFORE_RENEW 400

static dk_node *node;
static char dir[64];

static void rm_node(void) {
  DIR *d = opendir(dir);
  if (d != NULL) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.')
        continue;
      char p[320];
      snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
      unlink(p);
    }
    closedir(d);
  }
  rmdir(dir);
}

static void renew(void) {
  if (node != NULL) {
    dk_node_close(node);
    node = NULL;
    rm_node();
  }
  if (sodium_init() < 0) /* idempotent; libFuzzer's main does not call it */
    abort();
  snprintf(dir, sizeof(dir), "%s", "/tmp/docket-fuzz-csv.XXXXXX");
  if (mkdtemp(dir) == NULL)
    abort();
  rmdir(dir); /* dk_node_create makes it */
  struct dk_node_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  strcpy(cfg.office, "zhanhe/beidu/lanxin");
  strcpy(cfg.code, "LX");
  cfg.role = DK_OFFICE_COMMUNITY;
  uint8_t pk[DK_PK_BYTES];
  if (dk_node_create(dir, &cfg, PASS, strlen(PASS), pk) != 0 ||
      dk_node_open(dir, PASS, strlen(PASS), &node) != 0)
    abort();
}

static void cleanup(void) {
  if (node != NULL) {
    dk_node_close(node);
    node = NULL;
    rm_node();
  }
}

/* Counts the cases and checks that no number names two of them. */
struct census {
  size_t count;
  char (*numbers)[DK_CASE_NUMBER_BYTES];
  size_t cap;
};

static int census_one(void *arg, const struct dk_case_state *s) {
  struct census *c = arg;
  if (c->count == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 256;
    void *n = realloc(c->numbers, cap * DK_CASE_NUMBER_BYTES);
    if (n == NULL)
      abort();
    c->numbers = n;
    c->cap = cap;
  }
  snprintf(c->numbers[c->count++], DK_CASE_NUMBER_BYTES, "%s", s->number ? s->number : "");
  return 0;
}

static int cmp_number(const void *a, const void *b) { return strcmp(a, b); }

static size_t census(int check_unique) {
  struct census c = {0, NULL, 0};
  if (dk_node_case_foreach(node, census_one, &c) != 0)
    abort();
  if (check_unique && c.count > 1) {
    qsort(c.numbers, c.count, DK_CASE_NUMBER_BYTES, cmp_number);
    for (size_t i = 1; i < c.count; i++)
      if (strcmp(c.numbers[i - 1], c.numbers[i]) == 0)
        abort(); /* two cases with one number */
  }
  free(c.numbers);
  return c.count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (node == NULL) {
    renew();
    atexit(cleanup);
  }
  struct ledger l;
  struct ledger_error err;
  if (ledger_load_bytes(&l, data, size, &err) != 0) {
    ledger_release(&l);
    return 0;
  }
  size_t before = census(0);
  struct ledger_import res;
  memset(&res, 0, sizeof(res));
  int rc = ledger_import(node, &l, NULL, &res, NULL);
  size_t after = census(rc == 0);
  if (rc != 0 && res.cases_done == 0 && after != before)
    abort(); /* a refused import wrote something */
  if (rc == 0 && (res.imported + res.skipped != res.rows || after != before + res.imported))
    abort(); /* a row unaccounted for */
  ledger_release(&l);
  if (after > CASES_BEFORE_RENEW)
    renew();
  return 0;
}
