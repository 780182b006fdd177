#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/config.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/utf8.h"

/* Whether errors go out as JSON: the one piece of process state in cli/,
 * set once from --json while the arguments are read, because errors are
 * printed from everywhere in cli/ without the command's context. */
static int json_errors;

void cli_set_json(struct cli *c, int on) {
  if (c)
    c->json = on;
  json_errors = on;
}

int cli_report_error(int code, int status, const char *message, const char *more) {
  if (json_errors) {
    json_t *o = json_pack("{s:{s:s, s:s}}", "error", "code", dk_errname(code ? code : DK_EINVAL),
                          "message", message);
    if (o) {
      json_dumpf(o, stderr, JSON_COMPACT);
      fputc('\n', stderr);
      json_decref(o);
    }
    return status;
  }
  fprintf(stderr, "docket: %s %s\n", _("error:"), message);
  if (more)
    fprintf(stderr, "%s\n", more);
  return status;
}

static int error_v(int code, int status, const char *more, const char *fmt, va_list ap) {
  char msg[2048];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  return cli_report_error(code, status, msg, more);
}

int cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = error_v(DK_EINVAL, 1, NULL, fmt, ap);
  va_end(ap);
  return rc;
}

int cli_error_code(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = error_v(code, 1, NULL, fmt, ap);
  va_end(ap);
  return rc;
}

void cli_warn(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "docket: %s ", _("warning:"));
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

int cli_usage_error(const char *usage, const char *fmt, ...) {
  char more[1024];
  if (usage)
    snprintf(more, sizeof(more), "%s %s", _("usage:"), usage);
  va_list ap;
  va_start(ap, fmt);
  int rc = error_v(DK_EINVAL, EXIT_USAGE, usage ? more : NULL, fmt, ap);
  va_end(ap);
  return rc;
}

void cli_cell(const char *s, size_t cols) {
  size_t used;
  size_t bytes = dk_utf8_fit(s, cols, &used);
  fwrite(s, 1, bytes, stdout);
  for (; used < cols; used++)
    fputc(' ', stdout);
}

void cli_cut(const char *s, size_t cols, int ellipsis, char *out, size_t cap) {
  size_t used, bytes;
  if (cap == 0)
    return;
  if (dk_utf8_width(s) <= cols) {
    bytes = strlen(s);
    ellipsis = 0;
  } else {
    bytes = dk_utf8_fit(s, ellipsis && cols > 0 ? cols - 1 : cols, &used);
  }
  size_t extra = ellipsis ? 3 : 0; /* "…" is three bytes */
  if (extra + 1 > cap)
    extra = 0, ellipsis = 0;
  while (bytes > 0 && bytes + extra + 1 > cap) {
    /* back off to a character boundary that fits the buffer */
    bytes--;
    while (bytes > 0 && ((unsigned char)s[bytes] & 0xC0) == 0x80)
      bytes--;
  }
  memcpy(out, s, bytes);
  if (ellipsis)
    memcpy(out + bytes, "\xe2\x80\xa6", 3);
  out[bytes + extra] = 0;
}

int cli_fail(int rc, const char *what) {
  const char *hint = "";
  switch (rc) {
  case DK_ENOTINIT:
    hint = " (set --dir or DOCKET_DIR, or run 'docket init')";
    break;
  case DK_ENOSPC:
    hint = "; free some space: nothing was written";
    break;
  case DK_ELOCKED:
    hint = "; another docket process may hold it, try again";
    break;
  case DK_EDAMAGED:
    hint = _("; 'docket verify' names the damage. Restore data.mdb from a backup ('docket "
             "restore'), or rebuild this office's log from its street (a new node with the "
             "office's key file, 'docket init --key-file', then 'docket sync'; see "
             "docs/operations.md)");
    break;
  case DK_ERESTORED:
    hint = " (it may lack entries it wrote after the copy, which its parent holds: writing "
           "now would fork its log; nothing was written)";
    break;
  default:
    break;
  }
  return cli_error_code(rc, "%s: %s%s", what, dk_strerror(rc), hint);
}

static char *read_line_fd(int fd) {
  char *buf = sodium_malloc(DK_PASSPHRASE_BYTES_MAX + 2);
  if (buf == NULL)
    return NULL;
  size_t n = 0;
  while (n < DK_PASSPHRASE_BYTES_MAX + 1) {
    char ch;
    ssize_t r = read(fd, &ch, 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0 || ch == '\n')
      break;
    buf[n++] = ch;
  }
  if (n > 0 && buf[n - 1] == '\r')
    n--;
  buf[n] = 0;
  return buf;
}

void cli_passphrase_free(char *p) {
  sodium_free(p); /* sodium_free wipes before freeing */
}

static char *prompt(int tty, const char *text) {
  struct termios old, quiet;
  if (write(tty, text, strlen(text)) < 0)
    return NULL;
  int echo_off = tcgetattr(tty, &old) == 0;
  if (echo_off) {
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(tty, TCSAFLUSH, &quiet);
  }
  char *p = read_line_fd(tty);
  if (echo_off)
    tcsetattr(tty, TCSAFLUSH, &old);
  if (write(tty, "\n", 1) < 0) {
  }
  return p;
}

/* Reads a passphrase file: the first line, which may not be empty. */
static char *passphrase_file(const char *what, const char *file) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    cli_error(_("cannot read %s %s: %s"), what, file, strerror(errno));
    return NULL;
  }
  char *p = read_line_fd(fd);
  close(fd);
  if (p && p[0] == 0) {
    cli_passphrase_free(p);
    cli_error(_("%s %s is empty"), what, file);
    return NULL;
  }
  return p;
}

char *cli_passphrase(int confirm) {
  /* Under systemd the unit hands the passphrase over as a credential
   * (LoadCredential=passphrase:...): a file in a private directory that
   * only this service can read, so it is in neither the environment nor
   * the unit. It comes after DOCKET_PASSPHRASE_FILE, which an
   * administrator sets on purpose. */
  const char *file = getenv("DOCKET_PASSPHRASE_FILE");
  const char *creds = getenv("CREDENTIALS_DIRECTORY");
  if (!(file && *file) && creds && *creds && !confirm) {
    char path[4096];
    int len = snprintf(path, sizeof(path), "%s/passphrase", creds);
    if (len > 0 && (size_t)len < sizeof(path) && access(path, F_OK) == 0)
      return passphrase_file("the systemd credential", path);
  }
  return cli_passphrase_from("DOCKET_PASSPHRASE_FILE", "DOCKET_PASSPHRASE", "", confirm);
}

char *cli_passphrase_from(const char *file_var, const char *env_var, const char *what,
                          int confirm) {
  const char *file = getenv(file_var);
  if (file && *file)
    return passphrase_file(file_var, file);
  const char *env = getenv(env_var);
  if (env && *env) {
    size_t n = strlen(env);
    if (n > DK_PASSPHRASE_BYTES_MAX) {
      cli_error(_("passphrase longer than %d bytes"), DK_PASSPHRASE_BYTES_MAX);
      return NULL;
    }
    char *p = sodium_malloc(n + 1);
    if (p)
      memcpy(p, env, n + 1);
    return p;
  }
  int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (tty < 0) {
    cli_error(_("a %spassphrase is needed: no terminal to ask on; set %s or %s"), what, file_var,
              env_var);
    return NULL;
  }
  /* what is "" (the node's key) or "root " (the root key). */
  const char *ask = what[0] ? (confirm ? _("New root passphrase: ") : _("Root passphrase: "))
                            : (confirm ? _("New passphrase: ") : _("Passphrase: "));
  char *p = prompt(tty, ask);
  if (p && confirm) {
    char *q = prompt(tty, _("Repeat passphrase: "));
    if (q == NULL || strcmp(p, q) != 0) {
      cli_passphrase_free(p);
      p = NULL;
      cli_error(_("the passphrases do not match"));
    }
    cli_passphrase_free(q);
  }
  close(tty);
  if (p && p[0] == 0) {
    cli_passphrase_free(p);
    cli_error(_("the passphrase may not be empty"));
    return NULL;
  }
  return p;
}

/* What the node says while it opens (upgrading an older store, indexing
 * what a crash left): progress on stderr, never on stdout. */
static void open_log(void *ctx, enum dk_log_level level, const char *msg) {
  (void)ctx;
  (void)level;
  fprintf(stderr, "docket: %s\n", msg);
}

dk_node *cli_open(const struct cli *c, int unlock) {
  dk_node *n = NULL;
  char *pass = NULL;
  if (unlock) {
    pass = cli_passphrase(0);
    if (pass == NULL)
      return NULL;
  }
  int rc = dk_node_open_logged(c->dir, pass, pass ? strlen(pass) : 0, open_log, NULL,
                               c->json ? DK_LOG_WARN : DK_LOG_INFO, &n);
  cli_passphrase_free(pass);
  if (rc == 0)
    dk_node_set_log(n, NULL, NULL, DK_LOG_ERROR); /* commands set their own */
  if (rc != 0) {
    char what[4200];
    snprintf(what, sizeof(what), _("cannot open the node in %s"), c->dir);
    cli_fail(rc, what);
    return NULL;
  }
  /* docket.conf is read by every command that opens the node, so that a
   * mistake in it shows at once, not when serve next starts. */
  struct cli_config conf;
  if (cli_config_load(c->dir, &conf) != 0 || cli_config_apply_deadlines(n, &conf) != 0) {
    dk_node_close(n);
    return NULL;
  }
  return n;
}

int cli_parse_time(const char *s, uint64_t *ms) {
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  const char *end = strptime(s, "%Y-%m-%d", &tm);
  if (end == NULL)
    return DK_EINVAL;
  if (*end == 'T' || *end == ' ') {
    const char *e2 = strptime(end + 1, "%H:%M:%S", &tm);
    if (e2 == NULL)
      e2 = strptime(end + 1, "%H:%M", &tm);
    if (e2 == NULL)
      return DK_EINVAL;
    end = e2;
  }
  if (*end != 0)
    return DK_EINVAL;
  if (tm.tm_year + 1900 < 1990 || tm.tm_year + 1900 > 2200)
    return DK_EINVAL;
  int mday = tm.tm_mday, mon = tm.tm_mon;
  tm.tm_isdst = -1;
  time_t t = mktime(&tm);
  if (t == (time_t)-1 || tm.tm_mday != mday || tm.tm_mon != mon)
    return DK_EINVAL; /* 2021-02-30 and the like */
  *ms = (uint64_t)t * 1000u;
  return 0;
}

void cli_format_time(uint64_t ms, int date_only, char *out, size_t cap) {
  if (ms == 0) {
    snprintf(out, cap, "-");
    return;
  }
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  localtime_r(&t, &tm);
  strftime(out, cap, date_only ? "%Y-%m-%d" : "%Y-%m-%d %H:%M", &tm);
}

void cli_format_iso(uint64_t ms, char *out, size_t cap) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *cli_json_time(uint64_t ms) {
  if (ms == 0)
    return json_null();
  char buf[32];
  cli_format_iso(ms, buf, sizeof(buf));
  return json_string(buf);
}

json_t *cli_json_str(const char *s) { return s && *s ? json_string(s) : json_null(); }

int cli_case_find(dk_node *n, const char *ref, uint8_t case_id[DK_CASE_ID_BYTES]) {
  int rc = dk_node_case_find(n, ref, case_id);
  if (rc == DK_ENOTFOUND && strlen(ref) < 64) {
    /* Numbers are CODE-YEAR-NNNN in capitals, ids are lowercase hex: try
     * each spelling of what was typed. */
    char up[64], low[64];
    size_t i = 0;
    for (; ref[i]; i++) {
      up[i] = (ref[i] >= 'a' && ref[i] <= 'z') ? (char)(ref[i] - 32) : ref[i];
      low[i] = (ref[i] >= 'A' && ref[i] <= 'Z') ? (char)(ref[i] + 32) : ref[i];
    }
    up[i] = low[i] = 0;
    if (strcmp(up, ref) != 0)
      rc = dk_node_case_find(n, up, case_id);
    if (rc == DK_ENOTFOUND && strcmp(low, ref) != 0)
      rc = dk_node_case_find(n, low, case_id);
  }
  if (rc == DK_ENOTFOUND)
    return cli_error_code(rc, _("no case '%s' on this node"), ref);
  if (rc == DK_EAMBIGUOUS)
    return cli_error_code(rc, _("'%s' matches more than one case: give more of the id"), ref);
  if (rc != 0)
    return cli_fail(rc, _("cannot look up the case"));
  return 0;
}

int cli_print_json(json_t *v) {
  if (v == NULL)
    return cli_error(_("out of memory"));
  int rc = json_dumpf(v, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
  fputc('\n', stdout);
  json_decref(v);
  return rc == 0 ? 0 : 1;
}

int cli_progress_tty(void) { return isatty(2); }

int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  if (s == NULL || *s == 0 || *s == '-' || *s == '+')
    return DK_EINVAL;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != 0 || v < min || v > max)
    return DK_EINVAL;
  *out = v;
  return 0;
}

json_t *cli_json_text(const char *s, int *repaired) {
  if (s == NULL || s[0] == 0)
    return json_null(); /* an absent value is null in every command */
  size_t len = strlen(s);
  if (dk_utf8_valid(s, len))
    return json_stringn(s, len);
  /* Older nodes stored text unchecked: every bad byte becomes U+FFFD. */
  size_t cap = len * 3 + 1;
  char *buf = malloc(cap);
  if (buf == NULL)
    return json_null();
  size_t n = dk_text_sanitize(buf, cap, s, len, 0, DK_SANITIZE_JSON, repaired);
  json_t *j = json_stringn(buf, n);
  free(buf);
  return j ? j : json_null();
}

const char *cli_term_text(const char *s, size_t chars_max, char *buf, size_t cap) {
  if (s == NULL)
    s = "";
  dk_text_sanitize(buf, cap, s, strlen(s), chars_max, DK_SANITIZE_TERMINAL, NULL);
  return buf;
}

int cli_network_key_parse(const char *text, size_t len, uint8_t key[32]) {
  char hex[130];
  if (len >= sizeof(hex))
    return DK_EFORMAT;
  memcpy(hex, text, len);
  hex[len] = 0;
  while (len > 0 && (hex[len - 1] == '\n' || hex[len - 1] == '\r' || hex[len - 1] == ' '))
    hex[--len] = 0;
  /* Exactly 64 digits: a NUL would end the string early and hide what
   * follows it (found by tests/fuzz/fuzz_netkey.c). */
  int rc = len == 64 && strlen(hex) == 64 && dk_unhex(hex, key, 32) == 32 ? 0 : DK_EFORMAT;
  sodium_memzero(hex, sizeof(hex));
  return rc;
}
