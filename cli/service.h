/*
 * docket serve as a service: systemd readiness, watchdog and status lines
 * (sd_notify), log lines with journald priorities, and the record of live
 * links that 'docket status' reads from another process.
 *
 * The record is DIR/serve.links, rewritten whole (temporary file, rename) when
 * a link comes up or goes down. It is believed only while some process holds
 * the lock on DIR/serve.lock: serve takes it for its whole run, and the
 * kernel drops it when serve dies however it dies, so a crashed serve never
 * leaves peers shown as connected. Single-threaded, like serve.
 */
#ifndef DK_CLI_SERVICE_H
#define DK_CLI_SERVICE_H

#include <jansson.h>
#include <stdint.h>

#include "node/node.h"

#define DK_SERVE_LOCK_FILE "serve.lock"
#define DK_SERVE_LINKS_FILE "serve.links"

struct cli_service {
  const char *dir;
  dk_node *n;
  int lock_fd;
  json_t *links;       /* name -> {"since": ms} for each live link */
  json_t *errors;      /* name -> {"at": ms, "error": words} for the last failed link */
  char listen[256];
  uint64_t watchdog_usec; /* 0: no watchdog asked for */
  uint64_t watchdog_last_usec;
  int notify;          /* NOTIFY_SOCKET is set */
};

/* Takes the serve lock of dir (DK_ELOCKED when another serve holds it; its
 * pid is then in *other_pid when known) and writes an empty link record. */
int cli_service_start(struct cli_service *s, dk_node *n, const char *dir, const char *listen,
                      long *other_pid);
void cli_service_stop(struct cli_service *s);

/* The transport's serve hooks (struct dk_net_options), ctx a cli_service. */
void cli_service_ready(void *ctx);
void cli_service_link(void *ctx, const struct dk_peer *peer, int up, int error);
void cli_service_tick(void *ctx);

/* What 'docket status' reads: 1 with *links (caller decrefs) when a serve
 * holds the lock of dir, 0 when none runs, -1 when it cannot tell. */
int cli_service_read(const char *dir, json_t **links);

/* The serve log callback: "<N>message" lines for journald when stderr is
 * the journal (JOURNAL_STREAM names it), a timestamped line otherwise. ctx
 * is the office name. */
void cli_service_log(void *ctx, enum dk_log_level level, const char *msg);

/* error, warning (or warn), info, debug. DK_EINVAL otherwise. */
int cli_log_level_parse(const char *s, enum dk_log_level *out);

/* Words for a link or sync error, as status and the log show them. */
const char *cli_link_error_words(int error);

#endif
