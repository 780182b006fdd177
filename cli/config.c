/* docket.conf (cli/config.h, docs/config.md). */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/config.h"
#include "cli/service.h"
#include "common/error.h"
#include "replication/transport.h"

static const char *const DEADLINE_NAMES[3] = {"clinic", "emergency", "joint"};

struct parse {
  struct cli_config *cfg;
  FILE *f;
  int line;       /* the line the reader last returned */
  int error_line; /* first error found by the handler, 0 none */
  char error[512];
  char seen[8][32]; /* section.key already given, to refuse duplicates */
  int seen_count;
};

/* fgets that counts lines, so the handler knows where it is (Debian's
 * libinih is built without INI_HANDLER_LINENO). */
static char *reader(char *str, int num, void *stream) {
  struct parse *p = stream;
  char *r = fgets(str, num, p->f);
  if (r)
    p->line++;
  return r;
}

static int fail(struct parse *p, const char *fmt, const char *a, const char *b) {
  if (p->error_line == 0) {
    p->error_line = p->line;
    snprintf(p->error, sizeof(p->error), fmt, a, b);
  }
  return 0;
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  return cli_parse_u64(s, min, max, out);
}

static int handler(void *user, const char *section, const char *name, const char *value) {
  struct parse *p = user;
  struct cli_config *c = p->cfg;
  char full[64];
  snprintf(full, sizeof(full), "%s.%s", section, name);
  for (int i = 0; i < p->seen_count; i++)
    if (strcmp(p->seen[i], full) == 0)
      return fail(p, "%s given twice in [%s]", name, section);
  if (p->seen_count < 8 && strlen(full) < sizeof(p->seen[0]))
    strcpy(p->seen[p->seen_count++], full);
  if (strcmp(section, "serve") == 0) {
    if (strcmp(name, "listen") == 0) {
      struct sockaddr_storage ss;
      if (strlen(value) >= sizeof(c->listen) || dk_net_parse_addr(value, &ss) != 0)
        return fail(p, "listen = %s: not HOST:PORT (an IP address, [IPv6] or localhost)%s",
                    value, "");
      strcpy(c->listen, value);
      c->has_listen = 1;
      return 1;
    }
    if (strcmp(name, "log_level") == 0) {
      if (cli_log_level_parse(value, &c->log_level) != 0)
        return fail(p, "log_level = %s: error, warning, info or debug%s", value, "");
      c->has_log_level = 1;
      return 1;
    }
    if (strcmp(name, "sync_interval") == 0) {
      if (parse_u64(value, 5, 86400, &c->sync_interval_s) != 0)
        return fail(p, "sync_interval = %s: seconds from 5 to 86400%s", value, "");
      c->has_sync_interval = 1;
      return 1;
    }
    return fail(p, "unknown key '%s' in [%s] (known: listen, log_level, sync_interval)", name,
                section);
  }
  if (strcmp(section, "deadlines") == 0) {
    for (int i = 0; i < 3; i++) {
      if (strcmp(name, DEADLINE_NAMES[i]) != 0)
        continue;
      if (parse_u64(value, 1, 3650, &c->deadline_days[i]) != 0)
        return fail(p, "%s = %s: days from 1 to 3650", name, value);
      c->has_deadline[i] = 1;
      return 1;
    }
    return fail(p, "unknown key '%s' in [%s] (known: clinic, emergency, joint)", name, section);
  }
  if (section[0] == 0)
    return fail(p, "'%s' is outside any section (%s[serve] or [deadlines])", name, "");
  return fail(p, "unknown section [%s] (known: [serve], [deadlines])%s", section, "");
}

int cli_config_load(const char *dir, struct cli_config *out) {
  memset(out, 0, sizeof(*out));
  char path[4200];
  int len = snprintf(path, sizeof(path), "%s/%s", dir, DK_CONFIG_FILE);
  if (len < 0 || (size_t)len >= sizeof(path))
    return cli_error(_("the node directory path is too long"));
  struct parse p;
  memset(&p, 0, sizeof(p));
  p.cfg = out;
  p.f = fopen(path, "r");
  if (p.f == NULL) {
    if (errno == ENOENT)
      return 0;
    return cli_error(_("cannot read %s: %s"), path, strerror(errno));
  }
  int rc = ini_parse_stream(reader, &p, handler, &p);
  fclose(p.f);
  /* inih reports the first line it could not parse or whose handler
   * failed: the handler's message when that is the line, else syntax. */
  if (rc > 0 && p.error_line == rc)
    return cli_error(_("%s:%d: %s"), path, rc, p.error);
  if (rc > 0)
    return cli_error(_("%s:%d: not 'key = value', a [section] or a comment"), path, rc);
  if (p.error_line)
    return cli_error(_("%s:%d: %s"), path, p.error_line, p.error);
  if (rc != 0)
    return cli_error(_("cannot read %s"), path);
  return 0;
}

int cli_config_apply_deadlines(dk_node *n, const struct cli_config *cfg) {
  const struct dk_case_config *cc = dk_node_case_config(n);
  for (int i = 0; i < 3; i++) {
    if (!cfg->has_deadline[i] || cc->deadline_ms[i] == cfg->deadline_days[i] * 86400000ull)
      continue;
    char key[32], value[24];
    snprintf(key, sizeof(key), "deadline.%s", DEADLINE_NAMES[i]);
    snprintf(value, sizeof(value), "%llu", (unsigned long long)cfg->deadline_days[i]);
    int rc = dk_node_setting_set(n, key, value);
    if (rc != 0)
      return cli_fail(rc, _("cannot apply the deadlines of docket.conf"));
  }
  return 0;
}
