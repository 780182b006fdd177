/* The deterministic simulator (tests/sim/sim.h) over many seeds.
 *
 *   DOCKET_SIM_SEED=N    replays exactly seed N (and prints its figures);
 *   DOCKET_SIM_SEEDS=N   runs seeds 1..N (default 300, about 10 s of CPU; make soak runs
 *                        seeds 301 on);
 *   DOCKET_SIM_FIRST=K   starts at seed K instead of 1.
 * A failure prints the seed and what broke. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/error.h"
#include "tests/sim/sim.h"

#define SEEDS_DEFAULT 300

static uint64_t env_u64(const char *name, uint64_t dflt) {
  const char *v = getenv(name);
  return v && *v ? strtoull(v, NULL, 10) : dflt;
}

static void seeds(void **state) {
  const char *one = getenv("DOCKET_SIM_SEED");
  uint64_t first = env_u64("DOCKET_SIM_FIRST", 1);
  uint64_t count = env_u64("DOCKET_SIM_SEEDS", SEEDS_DEFAULT);
  if (one && *one) {
    first = strtoull(one, NULL, 10);
    count = 1;
  }
  struct sim_result total = {0};
  int failures = 0;
  for (uint64_t seed = first; seed < first + count; seed++) {
    struct sim_result r;
    int rc = sim_run(seed, &r);
    if (rc != 0) {
      print_error("sim seed %llu FAILED: %s (%s)\n  replay: DOCKET_SIM_SEED=%llu %s\n",
                  (unsigned long long)seed, r.failed ? r.why : "setup failed", dk_errname(rc),
                  (unsigned long long)seed, "build/tests/test_sim");
      failures++;
      if (failures >= 5)
        break;
      continue;
    }
    total.steps += r.steps;
    total.messages += r.messages;
    total.appends += r.appends;
    total.sessions += r.sessions;
    total.cuts += r.cuts;
    total.crashes += r.crashes;
    total.partitions += r.partitions;
    total.tampered += r.tampered;
    total.witnesses += r.witnesses;
    total.entries_final += r.entries_final;
  }
  print_message("sim: %llu seeds from %llu: %llu steps, %llu messages, %llu appends, %llu sessions, "
                "%llu cuts, %llu crashes, %llu partitions, %llu corrupted batches refused, "
                "%llu witnesses, %llu entries held at the end\n",
                (unsigned long long)count, (unsigned long long)first,
                (unsigned long long)total.steps, (unsigned long long)total.messages,
                (unsigned long long)total.appends, (unsigned long long)total.sessions,
                (unsigned long long)total.cuts, (unsigned long long)total.crashes,
                (unsigned long long)total.partitions, (unsigned long long)total.tampered,
                (unsigned long long)total.witnesses, (unsigned long long)total.entries_final);
  assert_int_equal(failures, 0);
  /* The faults really happened. */
  if (count >= 100) {
    assert_true(total.cuts > 0 && total.crashes > 0 && total.partitions > 0);
    assert_true(total.tampered > 0 && total.witnesses > 0);
  }
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(seeds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
