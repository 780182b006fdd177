/* Repeated conditions logged once, then summarised (ratelog.h). */
#include "common/ratelog.h"

#include <assert.h>
#include <stddef.h>

void dk_ratelog_init(struct dk_ratelog *r, unsigned burst, uint64_t interval_ms) {
  assert(r != NULL);
  r->burst = burst ? burst : 1;
  r->interval_ms = interval_ms;
  r->count = r->first_ms = r->last_ms = r->reported_ms = r->reported_count = 0;
}

static void mark(struct dk_ratelog *r, uint64_t now_ms) {
  r->reported_ms = now_ms;
  r->reported_count = r->count;
}

enum dk_ratelog_verdict dk_ratelog_hit(struct dk_ratelog *r, uint64_t now_ms) {
  assert(r != NULL);
  if (r->burst == 0)
    r->burst = 1; /* a zeroed struct: the smallest policy */
  if (r->count == 0)
    r->first_ms = now_ms;
  r->count++;
  r->last_ms = now_ms;
  if (r->count <= r->burst) {
    mark(r, now_ms);
    return DK_RATELOG_FULL;
  }
  if (now_ms >= r->reported_ms && now_ms - r->reported_ms >= r->interval_ms) {
    mark(r, now_ms);
    return DK_RATELOG_SUMMARY;
  }
  return DK_RATELOG_QUIET;
}

int dk_ratelog_due(struct dk_ratelog *r, uint64_t now_ms) {
  assert(r != NULL);
  if (r->count <= r->reported_count)
    return 0;
  if (now_ms < r->reported_ms || now_ms - r->reported_ms < r->interval_ms)
    return 0;
  mark(r, now_ms);
  return 1;
}

uint64_t dk_ratelog_count(const struct dk_ratelog *r) { return r->count; }
uint64_t dk_ratelog_since_ms(const struct dk_ratelog *r) { return r->first_ms; }
uint64_t dk_ratelog_unreported(const struct dk_ratelog *r) { return r->count - r->reported_count; }

uint64_t dk_ratelog_clear(struct dk_ratelog *r) {
  assert(r != NULL);
  uint64_t n = r->count;
  r->count = r->first_ms = r->last_ms = r->reported_ms = r->reported_count = 0;
  return n;
}
