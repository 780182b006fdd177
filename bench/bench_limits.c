/*
 * bench_limits DIR [RUNS]
 *
 * The limits the docket figures are measured against, in the same run and
 * on the same disk (DIR, which it creates and removes), as LIMIT lines for
 * scripts/bench.sh (name, value, unit), medians of RUNS runs:
 *   - Ed25519 sign and verify per core (libsodium, 200-byte messages);
 *   - LMDB puts with MDB_APPEND, 8-byte keys and 450-byte values (an entry
 *     as stored), 4096 per durable commit: what an append-only store can do;
 *   - LMDB puts with random 32-byte keys, same values and commits: what a
 *     table keyed by a hash costs;
 *   - one durable commit of one put (the interactive append's floor).
 * Prints figures, never judges them.
 */
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "crypto/crypto.h"

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

#define CHECK(x)                                                                           \
  do {                                                                                     \
    int rc_ = (x);                                                                         \
    if (rc_ != 0) {                                                                        \
      fprintf(stderr, "bench_limits: %s failed: %d\n", #x, rc_);                           \
      exit(1);                                                                             \
    }                                                                                      \
  } while (0)

/* puts/s of n puts, per_commit per durable commit, into a fresh env. */
static double lmdb_puts(const char *dir, size_t n, size_t per_commit, int append) {
  char cmd[4200];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", dir, dir);
  CHECK(system(cmd));
  MDB_env *env;
  CHECK(mdb_env_create(&env));
  CHECK(mdb_env_set_mapsize(env, (size_t)4 << 30));
  CHECK(mdb_env_open(env, dir, 0, 0600));
  uint8_t val[450], key[32];
  randombytes_buf(val, sizeof(val));
  double t0 = now_s();
  for (size_t done = 0; done < n;) {
    MDB_txn *txn;
    MDB_dbi dbi;
    CHECK(mdb_txn_begin(env, NULL, 0, &txn));
    CHECK(mdb_dbi_open(txn, NULL, 0, &dbi));
    for (size_t i = 0; i < per_commit && done < n; i++, done++) {
      MDB_val k, v = {sizeof(val), val};
      if (append) {
        for (int b = 0; b < 8; b++)
          key[b] = (uint8_t)((done + 1) >> (56 - 8 * b));
        k.mv_size = 8;
      } else {
        randombytes_buf(key, sizeof(key));
        k.mv_size = 32;
      }
      k.mv_data = key;
      CHECK(mdb_put(txn, dbi, &k, &v, append ? MDB_APPEND : 0));
    }
    CHECK(mdb_txn_commit(txn));
  }
  double dt = now_s() - t0;
  mdb_env_close(env);
  return (double)n / dt;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_limits DIR [RUNS]\n");
    return 2;
  }
  const char *dir = argv[1];
  int runs = argc > 2 ? atoi(argv[2]) : 3;
  if (runs < 1 || runs > 99)
    runs = 3;
  if (sodium_init() < 0)
    return 1;
  struct dk_identity id;
  CHECK(dk_identity_generate(&id));
  uint8_t msg[200], sig[DK_SIG_BYTES];
  randombytes_buf(msg, sizeof(msg));
  double sign[99], verify[99], app[99], rnd[99], commit[99];
  for (int r = 0; r < runs; r++) {
    double t0 = now_s();
    for (int i = 0; i < 20000; i++)
      CHECK(dk_sign(&id, "bench", msg, sizeof(msg), sig));
    sign[r] = 20000 / (now_s() - t0);
    t0 = now_s();
    for (int i = 0; i < 10000; i++)
      CHECK(dk_verify(id.pk, "bench", msg, sizeof(msg), sig));
    verify[r] = 10000 / (now_s() - t0);
    app[r] = lmdb_puts(dir, 1000000, 4096, 1);
    rnd[r] = lmdb_puts(dir, 50000, 4096, 0);
    /* One put per durable commit: the interactive floor, in ms. */
    double one = lmdb_puts(dir, 300, 1, 1);
    commit[r] = 1000.0 / one;
  }
  printf("LIMIT\ted25519_sign\t%.0f\tsignatures/s per core\n", median(sign, runs));
  printf("LIMIT\ted25519_verify\t%.0f\tverifications/s per core\n", median(verify, runs));
  printf("LIMIT\tlmdb_append\t%.0f\tputs/s (MDB_APPEND, 450 B, 4096 per durable commit)\n",
         median(app, runs));
  printf("LIMIT\tlmdb_random\t%.0f\tputs/s (random 32-byte keys, 450 B, 4096 per commit)\n",
         median(rnd, runs));
  printf("LIMIT\tdurable_commit\t%.3f\tms (one put per durable commit, mean of 300)\n",
         median(commit, runs));
  char cmd[4200];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  CHECK(system(cmd));
  dk_identity_release(&id);
  return 0;
}
