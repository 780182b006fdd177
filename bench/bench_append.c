/*
 * bench_append DIR [RUNS [CASES_PER_RUN [APPENDS]]]
 *
 * Creates a node in DIR (which must not hold one; put it on the disk to be
 * measured) and prints, as RESULT lines for scripts/bench.sh:
 *   - bulk append: RUNS calls of dk_node_bulk_load, each of CASES_PER_RUN
 *     cases of 6 events (open, triage, assign, session, resolve, close),
 *     signed, encrypted and durable; events/s of each run and the median;
 *   - interactive append: APPENDS notes, one dk_node_case_append (one
 *     durable commit) each; p50 and p99 latency;
 *   - verification: dk_node_verify over the whole store, in process (no
 *     key unlocking), median of 3.
 * The node is left in DIR for the command-latency figures. Prints figures,
 * never judges them: scripts/bench.sh compares them with the targets.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "node/node.h"

#define EVENTS_PER_CASE 6
#define DAY_MS (24ull * 60 * 60 * 1000)
#define T_2025 1735689600000ull

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
  qsort(v, n, sizeof(*v), cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static char *parties[2] = {"Wang Fang", "Li Jun"};

/* The six events of one realistic dispute, as an import would build them. */
static void plan_case(struct dk_event *ev, size_t i) {
  uint64_t at = T_2025 + (uint64_t)(i % 300) * DAY_MS;
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

static void result(const char *figure, double value, const char *unit, const char *op,
                   double target) {
  printf("RESULT\t%s\t%.1f\t%s\t%s\t%.1f\n", figure, value, unit, op, target);
}

static int fail(const char *what, int rc) {
  fprintf(stderr, "bench_append: %s: %s\n", what, dk_strerror(rc));
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_append DIR [RUNS [CASES_PER_RUN [APPENDS]]]\n");
    return 2;
  }
  if (sodium_init() < 0)
    return 1;
  const char *dir = argv[1];
  size_t runs = argc > 2 ? strtoul(argv[2], NULL, 10) : 5;
  size_t cases = argc > 3 ? strtoul(argv[3], NULL, 10) : 3400;
  size_t appends = argc > 4 ? strtoul(argv[4], NULL, 10) : 1000;
  if (runs == 0 || runs > 100 || cases == 0 || appends < 100) {
    fprintf(stderr, "bench_append: RUNS 1-100, CASES_PER_RUN at least 1, APPENDS at least 100\n");
    return 2;
  }
  static const char pass[] = "bench passphrase";
  struct dk_node_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  strcpy(cfg.office, "zhanhe/beidu/lanxin");
  strcpy(cfg.code, "LX");
  cfg.role = DK_OFFICE_COMMUNITY;
  uint8_t pk[DK_PK_BYTES];
  int rc = dk_node_create(dir, &cfg, pass, strlen(pass), pk);
  if (rc != 0)
    return fail("create", rc);
  dk_node *n = NULL;
  rc = dk_node_open(dir, pass, strlen(pass), &n); /* Argon2 once, then reuse */
  if (rc != 0)
    return fail("open", rc);

  /* Bulk append. */
  struct dk_event *ev = calloc(cases * EVENTS_PER_CASE, sizeof(*ev));
  struct dk_case_plan *plans = calloc(cases, sizeof(*plans));
  double *rate = calloc(runs, sizeof(double));
  if (!ev || !plans || !rate)
    return fail("memory", DK_ENOMEM);
  for (size_t r = 0; r < runs; r++) {
    for (size_t i = 0; i < cases; i++) {
      plan_case(&ev[i * EVENTS_PER_CASE], r * cases + i);
      plans[i].events = &ev[i * EVENTS_PER_CASE];
      plans[i].events_count = EVENTS_PER_CASE;
      plans[i].skipped = 0;
    }
    size_t bad = 0;
    double t0 = now_s();
    rc = dk_node_bulk_load(n, plans, cases, NULL, NULL, &bad);
    double t1 = now_s();
    if (rc != 0)
      return fail("bulk load", rc);
    for (size_t i = 0; i < cases * EVENTS_PER_CASE; i++) {
      free(ev[i].deps);
      ev[i].deps = NULL;
    }
    rate[r] = (double)(cases * EVENTS_PER_CASE) / (t1 - t0);
    printf("bulk run %zu: %zu events in %.3f s = %.0f events/s\n", r + 1,
           cases * EVENTS_PER_CASE, t1 - t0, rate[r]);
    fflush(stdout);
  }
  result("bulk append, signed+encrypted+durable (median)", median(rate, runs), "events/s", ">=",
         45000);

  /* Interactive append: notes on a few cases opened one by one. */
  uint8_t ids[8][DK_HASH_BYTES];
  for (int c = 0; c < 8; c++) {
    struct dk_event open[EVENTS_PER_CASE];
    plan_case(open, (size_t)c);
    char number[DK_CASE_NUMBER_BYTES];
    open[0].at_ms = T_2025;
    rc = dk_node_case_open(n, &open[0], ids[c], number);
    if (rc != 0)
      return fail("case open", rc);
  }
  double *lat = calloc(appends, sizeof(double));
  if (lat == NULL)
    return fail("memory", DK_ENOMEM);
  for (size_t i = 0; i < appends; i++) {
    struct dk_event note;
    dk_event_init(&note);
    note.type = DK_EVENT_NOTE;
    note.at_ms = T_2025 + DAY_MS;
    note.by = "Zhou Min";
    note.text = "Called the property company about the leak; they will send someone";
    double t0 = now_s();
    rc = dk_node_case_append(n, ids[i % 8], &note);
    double t1 = now_s();
    free(note.deps);
    if (rc != 0)
      return fail("case append", rc);
    lat[i] = (t1 - t0) * 1e3;
  }
  qsort(lat, appends, sizeof(double), cmp_double);
  printf("interactive append: %zu appends, min %.3f ms, p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
         appends, lat[0], lat[appends / 2], lat[appends * 99 / 100], lat[appends - 1]);
  result("interactive append, one durable commit (p50)", lat[appends / 2], "ms", "<=", 1);
  result("interactive append, one durable commit (p99)", lat[appends * 99 / 100], "ms", "<=", 1);

  /* Verification in process. */
  double vrate[3];
  for (int r = 0; r < 3; r++) {
    struct dk_verify_report rep;
    double t0 = now_s();
    rc = dk_node_verify(n, NULL, NULL, NULL, &rep);
    double t1 = now_s();
    if (rc != 0)
      return fail("verify", rc);
    if (rep.problems != 0) {
      fprintf(stderr, "bench_append: verify found %llu problems\n",
              (unsigned long long)rep.problems);
      return 1;
    }
    vrate[r] = (double)rep.entries / (t1 - t0);
    printf("verify run %d: %llu entries in %.3f s = %.0f entries/s (in process)\n", r + 1,
           (unsigned long long)rep.entries, t1 - t0, vrate[r]);
  }
  result("verify in process, no unlock (median)", median(vrate, 3), "entries/s", ">=", 35000);

  struct dk_node_stats st;
  if (dk_node_stats(n, &st) == 0)
    printf("node: %llu entries, %llu cases\n", (unsigned long long)st.entries,
           (unsigned long long)st.cases);
  dk_node_close(n);
  free(lat);
  free(rate);
  free(plans);
  free(ev);
  return 0;
}
