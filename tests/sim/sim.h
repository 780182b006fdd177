/*
 * The deterministic simulator: several nodes' sync sessions over in-memory
 * stores (mem_store.h), driven by one seeded PRNG and a simulated clock.
 *
 * One run: a district zhanhe, its streets zhanhe/beidu and zhanhe/nanhu,
 * and the communities zhanhe/beidu/lanxin and zhanhe/beidu/xinhe, linked
 * community-street and street-district. For a while, everything the seed
 * decides goes wrong: messages are delayed (so they reorder across links,
 * never within a connection), connections are cut at any message,
 * links are partitioned, nodes crash (their sessions vanish, their stores
 * keep every commit), every node appends, and now and then a batch is
 * corrupted in flight as a malicious peer would send it. Then the faults
 * stop, the links heal, and the run goes on to quiescence and checks that
 * every node holds exactly its scope, byte-identical and verified.
 *
 * The same seed gives the same run, bit for bit. No globals.
 */
#ifndef DK_TEST_SIM_H
#define DK_TEST_SIM_H

#include <stdint.h>

struct sim_result {
  int failed;        /* an invariant was violated: why says which */
  char why[512];
  uint64_t steps;
  uint64_t messages;
  uint64_t appends;
  uint64_t sessions;
  uint64_t cuts;
  uint64_t crashes;
  uint64_t partitions;
  uint64_t tampered;   /* batches corrupted in flight (each one was refused) */
  uint64_t witnesses;
  uint64_t entries_final; /* entries held, all nodes, at the end */
};

/* Runs one seed. Returns 0 when every invariant held, else DK_EPROTO with
 * result->why set (and other DK_E* codes for setup failures). */
int sim_run(uint64_t seed, struct sim_result *result);

#endif
