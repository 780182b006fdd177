/* docket serve under systemd, and its record of live links (cli/service.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/service.h"
#include "common/error.h"

static int path_in(char *out, size_t cap, const char *dir, const char *name) {
  int len = snprintf(out, cap, "%s/%s", dir, name);
  return len > 0 && (size_t)len < cap ? 0 : DK_ELIMIT;
}

static uint64_t mono_usec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

const char *cli_link_error_words(int error) {
  switch (error) {
  case 0:
    return "the link was closed";
  case DK_ECONN:
    return "the peer cannot be reached, or the connection was lost";
  case DK_EAUTH:
    return "handshake failed: wrong network key, or the peer is not the node pinned under "
           "that name";
  case DK_EREFUSED:
    return "the peer refused this node: it has not pinned it, holds no valid certificate for "
           "it, or the network keys differ (after a network key rotation, an office that did "
           "not receive the new key is refused once the old one stops working)";
  case DK_ETIMEDOUT:
    return "the peer stopped answering";
  default:
    return dk_strerror(error);
  }
}

/* The record: {"pid", "listen", "links": {...}, "errors": {...}}, replaced
 * whole so that a reader sees the old one or the new one. */
static int write_record(struct cli_service *s) {
  char path[4200], tmp[4200];
  if (path_in(path, sizeof(path), s->dir, DK_SERVE_LINKS_FILE) != 0 ||
      path_in(tmp, sizeof(tmp), s->dir, DK_SERVE_LINKS_FILE ".tmp") != 0)
    return DK_ELIMIT;
  json_t *o = json_pack("{s:I, s:s, s:O, s:O}", "pid", (json_int_t)getpid(), "listen", s->listen,
                        "links", s->links, "errors", s->errors);
  if (o == NULL)
    return DK_ENOMEM;
  int rc = json_dump_file(o, tmp, JSON_SORT_KEYS) == 0 && rename(tmp, path) == 0 ? 0 : DK_EIO;
  json_decref(o);
  return rc;
}

/* STATUS= for systemctl status, with READY=1 the first time: one datagram,
 * so that the manager never sees ready without the status. */
static void notify_status(struct cli_service *s, int ready) {
  if (!s->notify)
    return;
  size_t up = json_object_size(s->links);
  sd_notifyf(0, "%sSTATUS=serving%s%s: %zu link%s up", ready ? "READY=1\n" : "",
             s->listen[0] ? " on " : "", s->listen, up, up == 1 ? "" : "s");
}

int cli_service_start(struct cli_service *s, dk_node *n, const char *dir, const char *listen,
                      long *other_pid) {
  memset(s, 0, sizeof(*s));
  s->dir = dir;
  s->n = n;
  s->lock_fd = -1;
  *other_pid = 0;
  snprintf(s->listen, sizeof(s->listen), "%s", listen ? listen : "");
  char path[4200];
  if (path_in(path, sizeof(path), dir, DK_SERVE_LOCK_FILE) != 0)
    return DK_ELIMIT;
  s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (s->lock_fd < 0)
    return DK_EIO;
  if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    json_t *old = NULL;
    if (e == EWOULDBLOCK && cli_service_read(dir, &old) == 1) {
      *other_pid = (long)json_integer_value(json_object_get(old, "pid"));
      json_decref(old);
    }
    close(s->lock_fd);
    s->lock_fd = -1;
    return e == EWOULDBLOCK ? DK_ELOCKED : DK_EIO;
  }
  s->links = json_object();
  s->errors = json_object();
  if (s->links == NULL || s->errors == NULL)
    return DK_ENOMEM;
  s->notify = getenv("NOTIFY_SOCKET") != NULL;
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0)
    s->watchdog_usec = usec;
  s->watchdog_last_usec = mono_usec();
  return write_record(s);
}

void cli_service_stop(struct cli_service *s) {
  if (s->notify)
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
  if (s->lock_fd >= 0) {
    /* Links are down: say so before the lock goes, for a reader that
     * comes between the two. */
    json_object_clear(s->links);
    write_record(s);
    close(s->lock_fd);
  }
  json_decref(s->links);
  json_decref(s->errors);
  s->links = s->errors = NULL;
  s->lock_fd = -1;
}

void cli_service_ready(void *ctx) {
  struct cli_service *s = ctx;
  notify_status(s, 1);
}

void cli_service_link(void *ctx, const struct dk_peer *peer, int up, int error) {
  struct cli_service *s = ctx;
  uint64_t now = dk_node_now(s->n);
  if (up) {
    json_object_set_new(s->links, peer->name, json_pack("{s:I}", "since", (json_int_t)now));
  } else {
    json_object_del(s->links, peer->name);
    if (error != 0)
      json_object_set_new(s->errors, peer->name,
                          json_pack("{s:I, s:s}", "at", (json_int_t)now, "error",
                                    cli_link_error_words(error)));
    else
      json_object_del(s->errors, peer->name);
  }
  if (write_record(s) != 0)
    dk_node_logf(s->n, DK_LOG_WARN, "cannot record the live links in %s for 'docket status'",
                 s->dir);
  notify_status(s, 0);
}

void cli_service_tick(void *ctx) {
  struct cli_service *s = ctx;
  if (s->watchdog_usec == 0)
    return;
  uint64_t now = mono_usec();
  if (now - s->watchdog_last_usec >= s->watchdog_usec / 2) {
    s->watchdog_last_usec = now;
    sd_notify(0, "WATCHDOG=1");
  }
}

int cli_service_read(const char *dir, json_t **links) {
  *links = NULL;
  char path[4200];
  if (path_in(path, sizeof(path), dir, DK_SERVE_LOCK_FILE) != 0)
    return -1;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : -1;
  int held;
  if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
    held = 0; /* nobody serves: whatever the record says is stale */
    flock(fd, LOCK_UN);
  } else {
    held = errno == EWOULDBLOCK ? 1 : -1;
  }
  close(fd);
  if (held != 1)
    return held;
  if (path_in(path, sizeof(path), dir, DK_SERVE_LINKS_FILE) != 0)
    return -1;
  json_error_t jerr;
  *links = json_load_file(path, 0, &jerr);
  return *links && json_is_object(*links) ? 1 : -1;
}

int cli_log_level_parse(const char *s, enum dk_log_level *out) {
  if (strcmp(s, "error") == 0)
    *out = DK_LOG_ERROR;
  else if (strcmp(s, "warning") == 0 || strcmp(s, "warn") == 0)
    *out = DK_LOG_WARN;
  else if (strcmp(s, "info") == 0)
    *out = DK_LOG_INFO;
  else if (strcmp(s, "debug") == 0)
    *out = DK_LOG_DEBUG;
  else
    return DK_EINVAL;
  return 0;
}

/* systemd sets JOURNAL_STREAM to the device and inode of the stream it
 * connected stderr to; when they match, journald reads "<N>" prefixes as
 * priorities (SyslogLevelPrefix=, on by default) and stamps the time. */
static int stderr_is_journal(void) {
  const char *js = getenv("JOURNAL_STREAM");
  if (js == NULL || *js == 0)
    return 0;
  unsigned long long dev, ino;
  if (sscanf(js, "%llu:%llu", &dev, &ino) != 2)
    return 0;
  struct stat st;
  if (fstat(2, &st) != 0)
    return 0;
  return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void cli_service_log(void *ctx, enum dk_log_level level, const char *msg) {
  static const char *const names[] = {"error", "warning", "info", "debug"};
  static const int priorities[] = {3 /* LOG_ERR */, 4 /* LOG_WARNING */, 6 /* LOG_INFO */,
                                   7 /* LOG_DEBUG */};
  if (stderr_is_journal()) {
    fprintf(stderr, "<%d>%s: %s\n", priorities[level], names[level], msg);
    return;
  }
  char when[32];
  time_t t = time(NULL);
  struct tm tm;
  localtime_r(&t, &tm);
  strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
  fprintf(stderr, "%s docket[%s]: %s: %s\n", when, (const char *)ctx, names[level], msg);
}
