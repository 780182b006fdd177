/*
 * Logging a repeated condition once, then as a periodic summary.
 *
 * A condition that repeats (a peer that cannot be reached, a stranger whose
 * handshakes are refused) would otherwise write one line per occurrence: an
 * attacker once wrote 19 600 lines in 2.5 minutes, an unreachable parent
 * about 2 900 a day. The caller keeps one struct dk_ratelog per condition
 * and asks it, at each occurrence, what to write:
 *
 *   - the first `burst` occurrences of a run are written in full;
 *   - after that nothing, except at most one summary per `interval_ms`
 *     ("still cannot reach zhanhe: 120 attempts since 09:00"), when the
 *     next occurrence comes or when dk_ratelog_due() is polled;
 *   - dk_ratelog_clear() ends the run (the condition went away) and says how
 *     many occurrences it held, for one closing line.
 *
 * Pure: time comes from the caller (the node's clock), so the policy is
 * tested with an injected clock. No allocation, no globals; the caller
 * embeds the struct and zeroes it (or calls dk_ratelog_init).
 */
#ifndef DK_RATELOG_H
#define DK_RATELOG_H

#include <stdint.h>

struct dk_ratelog {
  unsigned burst;       /* occurrences written in full at the start of a run */
  uint64_t interval_ms; /* at most one summary per interval */
  uint64_t count;       /* occurrences in the current run; 0: no run */
  uint64_t first_ms;    /* when the run began */
  uint64_t last_ms;     /* the latest occurrence */
  uint64_t reported_ms; /* the last line written (full or summary) */
  uint64_t reported_count; /* count at that line */
};

enum dk_ratelog_verdict {
  DK_RATELOG_QUIET = 0, /* write nothing */
  DK_RATELOG_FULL,      /* write this occurrence as usual */
  DK_RATELOG_SUMMARY,   /* write a summary: dk_ratelog_count/since */
};

/* Sets the policy and clears the run. burst 0 is taken as 1. */
void dk_ratelog_init(struct dk_ratelog *r, unsigned burst, uint64_t interval_ms);

/* One occurrence at now_ms: what to write for it. */
enum dk_ratelog_verdict dk_ratelog_hit(struct dk_ratelog *r, uint64_t now_ms);

/* Polled (e.g. from a timer) so that a run that went quiet still gets its
 * count written: 1 when a summary is due now (occurrences not yet reported
 * and an interval since the last line); the caller writes it. */
int dk_ratelog_due(struct dk_ratelog *r, uint64_t now_ms);

/* Occurrences in the current run, and when it began (for the summary). */
uint64_t dk_ratelog_count(const struct dk_ratelog *r);
uint64_t dk_ratelog_since_ms(const struct dk_ratelog *r);
/* Occurrences since the last line written (full or summary). */
uint64_t dk_ratelog_unreported(const struct dk_ratelog *r);

/* Ends the run; returns how many occurrences it held (0 when none), so that
 * the caller can write one closing line ("reached zhanhe after 120
 * attempts") when the count is above the burst. */
uint64_t dk_ratelog_clear(struct dk_ratelog *r);

#endif
