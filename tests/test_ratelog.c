/* Unit tests for common/ratelog: a repeated condition is written in full
 * for its first occurrences, then summarised at most once per interval, on
 * the next occurrence or when polled, and cleared with its count. The clock
 * is the test's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/limits.h"
#include "common/ratelog.h"

#define MIN_MS (60 * 1000ull)

/* A stranger refused 19 600 times in 150 s, one every ~7.6 ms: the burst,
 * then a summary a minute, not a line each. */
static void flood_is_summarised(void **state) {
  (void)state;
  struct dk_ratelog r;
  dk_ratelog_init(&r, 3, MIN_MS);
  uint64_t t0 = 9 * 3600 * 1000ull;
  int full = 0, summaries = 0;
  for (int i = 0; i < 19600; i++) {
    uint64_t now = t0 + (uint64_t)i * 150000 / 19600;
    switch (dk_ratelog_hit(&r, now)) {
    case DK_RATELOG_FULL: full++; break;
    case DK_RATELOG_SUMMARY: summaries++; break;
    case DK_RATELOG_QUIET: break;
    }
  }
  assert_int_equal(full, 3);
  assert_int_equal(summaries, 2); /* at +60 s and +120 s */
  assert_int_equal(dk_ratelog_count(&r), 19600);
  assert_int_equal(dk_ratelog_since_ms(&r), t0);
  /* The flood stopped at +150 s; the rest is written when it is due. */
  assert_true(dk_ratelog_unreported(&r) > 0);
  assert_int_equal(dk_ratelog_due(&r, t0 + 170000), 0);
  assert_int_equal(dk_ratelog_due(&r, t0 + 181000), 1);
  assert_int_equal(dk_ratelog_unreported(&r), 0);
  assert_int_equal(dk_ratelog_due(&r, t0 + 999999), 0); /* nothing new */
}

/* An unreachable parent dialled every 30 s for a day: one line, then one
 * summary per interval, then one closing count. */
static void unreachable_for_a_day(void **state) {
  (void)state;
  struct dk_ratelog r;
  dk_ratelog_init(&r, 1, DK_LOG_SUMMARY_INTERVAL_MS);
  int lines = 0;
  uint64_t day = 24 * 3600 * 1000ull;
  for (uint64_t t = 0; t < day; t += 30000)
    lines += dk_ratelog_hit(&r, t) != DK_RATELOG_QUIET;
  assert_int_equal(dk_ratelog_count(&r), day / 30000); /* 2 880 attempts */
  assert_int_equal(lines, 1 + (int)((day - 30000) / DK_LOG_SUMMARY_INTERVAL_MS));
  assert_true(lines < 100);
  assert_int_equal(dk_ratelog_clear(&r), day / 30000);
  assert_int_equal(dk_ratelog_count(&r), 0);
  /* A new run starts with a full line again. */
  assert_int_equal(dk_ratelog_hit(&r, day), DK_RATELOG_FULL);
  assert_int_equal(dk_ratelog_since_ms(&r), day);
  assert_int_equal(dk_ratelog_hit(&r, day + 1), DK_RATELOG_QUIET);
}

/* A zeroed struct is usable (burst 1, no interval: a summary each time
 * after the first), and a clock that goes back does not flood. */
static void zeroed_and_clock_back(void **state) {
  (void)state;
  struct dk_ratelog r = {0};
  assert_int_equal(dk_ratelog_hit(&r, 1000), DK_RATELOG_FULL);
  assert_int_equal(dk_ratelog_hit(&r, 1000), DK_RATELOG_SUMMARY);
  dk_ratelog_init(&r, 2, MIN_MS);
  assert_int_equal(dk_ratelog_hit(&r, 5 * MIN_MS), DK_RATELOG_FULL);
  assert_int_equal(dk_ratelog_hit(&r, 5 * MIN_MS), DK_RATELOG_FULL);
  assert_int_equal(dk_ratelog_hit(&r, 1000), DK_RATELOG_QUIET);
  assert_int_equal(dk_ratelog_due(&r, 1000), 0);
  assert_int_equal(dk_ratelog_hit(&r, 6 * MIN_MS), DK_RATELOG_SUMMARY);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(flood_is_summarised),
      cmocka_unit_test(unreachable_for_a_day),
      cmocka_unit_test(zeroed_and_clock_back),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
