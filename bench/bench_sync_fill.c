/*
 * bench_sync_fill DIR ENTRIES
 *
 * Fills the node in DIR (made by `docket init`, its peers already pinned so
 * that every case key is sealed to the offices above too) with disputes of
 * six events each, through dk_node_bulk_load, until its own log holds at
 * least ENTRIES entries. The passphrase comes from DOCKET_PASSPHRASE. This
 * builds the source of the catch-up replication figure of scripts/bench.sh;
 * it is not itself a figure (bench_append measures bulk append).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "node/node.h"

#define EVENTS_PER_CASE 6
#define CASES_PER_LOAD 8192 /* memory of one dk_node_bulk_load call stays small */
#define DAY_MS (24ull * 60 * 60 * 1000)
#define T_2024 1704067200000ull

static char *parties[2] = {"Wang Fang", "Li Jun"};

/* The six events of one dispute, as a ledger import would build them. */
static void plan_case(struct dk_event *ev, size_t i) {
  uint64_t at = T_2024 + (uint64_t)(i % 300) * DAY_MS;
  for (int j = 0; j < EVENTS_PER_CASE; j++) {
    dk_event_init(&ev[j]);
    ev[j].at_ms = at + (uint64_t)j * DAY_MS;
    ev[j].by = "Zhou Min";
  }
  ev[0].type = DK_EVENT_OPEN;
  ev[0].kind = DK_KIND_DISPUTE;
  ev[0].category = "neighbour";
  ev[0].number = "";
  ev[0].text = "Water leaking through the ceiling of flat 302 from the bathroom above";
  ev[0].parties = parties;
  ev[0].parties_count = 2;
  ev[1].type = DK_EVENT_TRIAGE;
  ev[1].triage = DK_TRIAGE_CLINIC;
  ev[2].type = DK_EVENT_ASSIGN;
  ev[2].to = "Chen Gang";
  ev[2].role = DK_ROLE_MEDIATOR;
  ev[3].type = DK_EVENT_SESSION;
  ev[3].minutes = 45;
  ev[3].text = "Met both parties at the flat; the pipe under the bath is cracked";
  ev[4].type = DK_EVENT_RESOLVE;
  ev[4].text = "The upstairs owner repairs the pipe and pays 300 yuan for the ceiling";
  ev[5].type = DK_EVENT_CLOSE;
}

static int fail(const char *what, int rc) {
  fprintf(stderr, "bench_sync_fill: %s: %s\n", what, dk_strerror(rc));
  return 1;
}

static void show(void *ctx, const struct dk_bulk_progress *p) {
  const size_t *base = ctx;
  if (isatty(2))
    fprintf(stderr, "\rbench_sync_fill: %zu entries", *base + p->entries_committed);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: bench_sync_fill DIR ENTRIES\n");
    return 2;
  }
  if (sodium_init() < 0)
    return 1;
  size_t want = strtoul(argv[2], NULL, 10);
  const char *pass = getenv("DOCKET_PASSPHRASE");
  if (want == 0 || pass == NULL)
    return 2;
  dk_node *n = NULL;
  int rc = dk_node_open(argv[1], pass, strlen(pass), &n);
  if (rc != 0)
    return fail("open", rc);
  struct dk_event *ev = calloc(CASES_PER_LOAD * EVENTS_PER_CASE, sizeof(*ev));
  struct dk_case_plan *plans = calloc(CASES_PER_LOAD, sizeof(*plans));
  if (ev == NULL || plans == NULL)
    return fail("memory", DK_ENOMEM);
  size_t next_case = 0;
  for (;;) {
    struct dk_node_stats st;
    rc = dk_node_stats(n, &st);
    if (rc != 0)
      return fail("stats", rc);
    if (st.own_seq >= want)
      break;
    size_t cases = (want - st.own_seq + EVENTS_PER_CASE - 1) / EVENTS_PER_CASE;
    if (cases > CASES_PER_LOAD)
      cases = CASES_PER_LOAD;
    for (size_t i = 0; i < cases; i++) {
      plan_case(&ev[i * EVENTS_PER_CASE], next_case++);
      plans[i].events = &ev[i * EVENTS_PER_CASE];
      plans[i].events_count = EVENTS_PER_CASE;
      plans[i].skipped = 0;
    }
    size_t bad = 0, base = st.own_seq;
    rc = dk_node_bulk_load(n, plans, cases, show, &base, &bad);
    for (size_t i = 0; i < cases * EVENTS_PER_CASE; i++) {
      free(ev[i].deps);
      ev[i].deps = NULL;
    }
    if (rc != 0)
      return fail("bulk load", rc);
  }
  struct dk_node_stats st;
  if (dk_node_stats(n, &st) == 0)
    fprintf(stderr, "%sbench_sync_fill: %llu entries, %llu cases\n", isatty(2) ? "\r" : "",
            (unsigned long long)st.own_seq, (unsigned long long)st.cases);
  dk_node_close(n);
  free(plans);
  free(ev);
  return 0;
}
