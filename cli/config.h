/*
 * docket.conf: the node directory's INI file (docs/config.md). Read with
 * libinih; every key optional; an unknown section or key, a key given twice
 * or a bad value is an error naming the file and the line.
 */
#ifndef DK_CLI_CONFIG_H
#define DK_CLI_CONFIG_H

#include <stdint.h>

#include "node/node.h"

#define DK_CONFIG_FILE "docket.conf"

struct cli_config {
  int has_listen, has_log_level, has_sync_interval;
  char listen[DK_NAME_BYTES_MAX];
  enum dk_log_level log_level;
  uint64_t sync_interval_s;
  int has_deadline[3];   /* clinic, emergency, joint */
  uint64_t deadline_days[3];
};

/* Reads dir/docket.conf into out (all unset when the file is absent).
 * Returns 0, or 1 after printing "docket: error: FILE:LINE: ...". */
int cli_config_load(const char *dir, struct cli_config *out);

/* Makes the node's stored triage deadlines those of the file, writing only
 * what differs. Returns 0, or 1 after printing why. */
int cli_config_apply_deadlines(dk_node *n, const struct cli_config *cfg);

#endif
