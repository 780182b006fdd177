#ifndef DK_FAULT_H
#define DK_FAULT_H
#include <stddef.h>
/* Fault hooks for tests (curl's torture mode, SQLite's test VFS).
 *
 * Library code marks a point in the protocol with DK_FAULT("name"). In the
 * installed `docket` nothing defines dk_fault_point(): it is a weak symbol,
 * the test at the point finds it NULL and does nothing, and no code that
 * reads the environment or exits is in the binary. The test build links
 * common/fault.c into a second binary, `docket-test`, where the hook is
 * armed from the environment:
 *
 *   DOCKET_FAULT=POINT:N[,POINT:N...]
 *
 * makes the process call _exit(DK_FAULT_EXIT_CODE) the Nth time it passes
 * POINT, with no cleanup, as a kill -9 at that point would. The points are
 * listed in docs/testing.md.
 *
 * Thread safety: dk_fault_point() may be called from any thread; the counts
 * are atomic. The counts are the one process-wide state in docket, kept
 * only in test builds. */

/* The exit status of a process stopped by a hook: distinct from a crash
 * (a signal) and from docket's own exit codes (0, 1, 2). */
#define DK_FAULT_EXIT_CODE 99

void dk_fault_point(const char *name) __attribute__((weak));

/* The clock, in test builds: DOCKET_FAULT_CLOCK_DAYS=N moves the node's
 * wall clock N days (0 to 3650) ahead, so that a test can reach the end of
 * a grace period or a certificate without waiting for it. Returns the shift
 * in ms (0 when unset). Not in the installed binary, like the points. */
unsigned long long dk_fault_clock_shift_ms(void) __attribute__((weak));

/* The key file's KDF, in test builds: DOCKET_FAULT_CHEAP_KDF=1 makes a new
 * key file use libsodium's minimum Argon2id limits instead of the
 * interactive ones (64 MiB, about 0.2 s per unlock), so that the shell
 * tests' hundreds of commands do not each pay for the KDF. The limits are
 * written in the file, so every later unlock of that node is cheap too;
 * readers accept them as they accept any limits within bounds. Not in the
 * installed binary, like the points. */
int dk_fault_cheap_kdf(void) __attribute__((weak));

/* The store's first map, in tests: where dk_fault_map_bytes() is defined
 * and returns non-zero (a unit test's own definition, or docket-test with
 * DOCKET_FAULT_MAP_BYTES=N), stores open with a map of that many bytes
 * instead of DK_MAP_BYTES_INITIAL, so that a small store already makes its
 * map grow. Nothing defines it in the installed binary. */
size_t dk_fault_map_bytes(void) __attribute__((weak));

/* The transport's indexer, in test builds: where dk_fault_index_hold() is
 * defined and returns non-zero (docket-test with DOCKET_FAULT_INDEX_HOLD=1),
 * `serve` and `sync` leave what they receive unindexed, as a burst is until
 * the loop has time for it, so that a test can see the lag and what reads
 * do with it. Nothing defines it in the installed binary. */
int dk_fault_index_hold(void) __attribute__((weak));

#define DK_FAULT(name)                                                                            \
  do {                                                                                            \
    if (dk_fault_point != 0)                                                                      \
      dk_fault_point(name);                                                                       \
  } while (0)

#endif
