/* The armed side of the fault hooks (see common/fault.h): linked only into
 * test binaries. */
#include "common/fault.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A test arms a handful of points at most. */
#define FAULT_SPECS_MAX 8
#define FAULT_NAME_BYTES_MAX 48

struct spec {
  char name[FAULT_NAME_BYTES_MAX];
  unsigned long at;   /* fire on this pass (1-based) */
  unsigned long seen; /* passes so far, atomic */
};

static struct spec specs[FAULT_SPECS_MAX];
static size_t specs_count;
static pthread_once_t parsed = PTHREAD_ONCE_INIT;

/* "a:3,b:1": a malformed spec is a broken test, and says so. */
static void parse(void) {
  const char *env = getenv("DOCKET_FAULT");
  if (env == NULL || *env == '\0')
    return;
  const char *p = env;
  while (*p && specs_count < FAULT_SPECS_MAX) {
    const char *colon = strchr(p, ':');
    size_t len = colon ? (size_t)(colon - p) : 0;
    char *end = NULL;
    unsigned long at = colon ? strtoul(colon + 1, &end, 10) : 0;
    if (colon == NULL || len == 0 || len >= FAULT_NAME_BYTES_MAX || at == 0 || end == colon + 1 ||
        (*end != ',' && *end != '\0')) {
      static const char msg[] = "docket: DOCKET_FAULT must be POINT:N[,POINT:N...]\n";
      ssize_t w = write(2, msg, sizeof(msg) - 1);
      (void)w;
      _exit(2);
    }
    memcpy(specs[specs_count].name, p, len);
    specs[specs_count].name[len] = '\0';
    specs[specs_count].at = at;
    specs_count++;
    p = *end == ',' ? end + 1 : end;
  }
}

void dk_fault_point(const char *name) {
  pthread_once(&parsed, parse);
  for (size_t i = 0; i < specs_count; i++) {
    if (strcmp(specs[i].name, name) != 0)
      continue;
    unsigned long n = __atomic_add_fetch(&specs[i].seen, 1, __ATOMIC_SEQ_CST);
    if (n == specs[i].at) {
      char msg[128];
      int len = snprintf(msg, sizeof(msg), "docket: fault hook %s:%lu: exiting\n", name, n);
      if (len > 0) {
        ssize_t w = write(2, msg, (size_t)len < sizeof(msg) ? (size_t)len : sizeof(msg) - 1);
        (void)w;
      }
      _exit(DK_FAULT_EXIT_CODE);
    }
  }
}

static unsigned long long clock_shift_ms;
static pthread_once_t clock_parsed = PTHREAD_ONCE_INIT;

static void parse_clock(void) {
  const char *env = getenv("DOCKET_FAULT_CLOCK_DAYS");
  if (env == NULL || *env == '\0')
    return;
  char *end = NULL;
  unsigned long days = strtoul(env, &end, 10);
  if (end == env || *end != '\0' || days > 3650) {
    static const char msg[] = "docket: DOCKET_FAULT_CLOCK_DAYS must be a number of days, 0 to "
                              "3650\n";
    ssize_t w = write(2, msg, sizeof(msg) - 1);
    (void)w;
    _exit(2);
  }
  clock_shift_ms = (unsigned long long)days * 24 * 60 * 60 * 1000;
}

unsigned long long dk_fault_clock_shift_ms(void) {
  pthread_once(&clock_parsed, parse_clock);
  return clock_shift_ms;
}

int dk_fault_cheap_kdf(void) {
  const char *env = getenv("DOCKET_FAULT_CHEAP_KDF");
  return env != NULL && strcmp(env, "1") == 0;
}

/* DOCKET_FAULT_MAP_BYTES=N: stores open with a map of N bytes (LMDB never
 * maps less than the file's pages), so that every run of docket-test grows
 * the map as a large store does. */
size_t dk_fault_map_bytes(void) {
  const char *env = getenv("DOCKET_FAULT_MAP_BYTES");
  if (env == NULL || *env == '\0')
    return 0;
  char *end;
  unsigned long long v = strtoull(env, &end, 10);
  return *end == '\0' && v >= 4096 && v <= ((unsigned long long)1 << 40) ? (size_t)v : 0;
}

/* DOCKET_FAULT_INDEX_HOLD=1: the transport never runs the node's indexer
 * (between bursts, nor after a once sync), so that a test sees a burst
 * stored and acknowledged with the case tables behind it. */
int dk_fault_index_hold(void) {
  const char *env = getenv("DOCKET_FAULT_INDEX_HOLD");
  return env != NULL && strcmp(env, "1") == 0;
}
