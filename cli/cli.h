/*
 * The docket command line. cli/ owns stdout and stderr: nothing below it
 * prints or exits. Each command is a function taking its own argv and
 * returning the process exit status: 0 success, 1 failure, 2 usage error.
 */
#ifndef DK_CLI_H
#define DK_CLI_H

#include <jansson.h>
#include <libintl.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/opt.h"
#include "node/node.h"

#define EXIT_USAGE 2

/* Translation: _() looks a message up in the current language, N_() only
 * marks it for xgettext (tables, translated where they are shown). */
#define _(s) gettext(s)
#define N_(s) s

struct cli {
  const char *dir; /* --dir or DOCKET_DIR, default "." */
  const char *prog;
  int json;        /* --json: results and errors as JSON */
};

/* Sets the interface language from --lang (anywhere in argv) or the
 * locale (LC_ALL, LC_MESSAGES, LANG): Chinese for zh*, English otherwise
 * and under the C locale. Works without a generated zh_CN locale. */
void cli_i18n_init(int argc, char **argv);
/* True for a --lang value docket has words for: zh*, en*, C, POSIX. */
int cli_lang_known(const char *lang);

/* Turns JSON output (and JSON errors on stderr) on for the rest of the
 * process. */
void cli_set_json(struct cli *c, int on);

/* The one place errors are printed: "docket: error: MESSAGE" and, when
 * more is not NULL, more lines after it; under --json instead
 * {"error": {"code": "ENAME", "message": MESSAGE}} on stderr, code from
 * common/error.h. Returns status (1, or 2 for usage). */
int cli_report_error(int code, int status, const char *message, const char *more);

/* Prints "docket: error: ..." to stderr; returns 1 (or 2 for usage).
 * cli_error_code names the DK_E* code that --json shows (cli_error: EINVAL). */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_error_code(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints an error for a DK_E* code with context. Returns 1. */
int cli_fail(int rc, const char *what);
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reads the passphrase from DOCKET_PASSPHRASE_FILE, the systemd credential
 * $CREDENTIALS_DIRECTORY/passphrase (not when confirm), DOCKET_PASSPHRASE or
 * the terminal (confirm: ask twice). Returns a sodium_malloc'd string the
 * caller frees with cli_passphrase_free, or NULL after printing why. */
char *cli_passphrase(int confirm);
void cli_passphrase_free(char *p);
/* The same from other variables: what names the passphrase in prompts and
 * messages ("root " for the root key: DOCKET_ROOT_PASSPHRASE_FILE and
 * DOCKET_ROOT_PASSPHRASE). */
char *cli_passphrase_from(const char *file_var, const char *env_var, const char *what,
                          int confirm);

/* Opens the node in c->dir, unlocked when unlock is set. Prints the error
 * and returns NULL on failure. */
dk_node *cli_open(const struct cli *c, int unlock);

/* Times: "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM[:SS]" in local time. */
int cli_parse_time(const char *s, uint64_t *ms);
/* Formats ms as local "YYYY-MM-DD HH:MM" (date_only: "YYYY-MM-DD"). */
void cli_format_time(uint64_t ms, int date_only, char *out, size_t cap);
/* ISO 8601 UTC, for --json. */
void cli_format_iso(uint64_t ms, char *out, size_t cap);
json_t *cli_json_time(uint64_t ms); /* null for 0 */
/* A string, or null for NULL and "": an absent value is always null. */
json_t *cli_json_str(const char *s);

/* Finds a case by number (in any letter case), id or unique id prefix;
 * prints why not and returns 1 when there is none or several. */
int cli_case_find(dk_node *n, const char *ref, uint8_t case_id[DK_CASE_ID_BYTES]);

/* A JSON string of s (NULL: ""). Text that is not UTF-8 (stored by older
 * nodes) is never dropped: each bad byte becomes U+FFFD and *repaired is
 * set to 1 (otherwise left alone). */
json_t *cli_json_text(const char *s, int *repaired);
/* s made safe for a terminal into buf: control characters and bad bytes
 * become U+FFFD, tabs and line breaks a space, and the text is cut on a
 * character boundary to chars_max characters (0: no limit) and to cap
 * bytes, a cut marked with "…". Returns buf. */
const char *cli_term_text(const char *s, size_t chars_max, char *buf, size_t cap);

/* Prints a JSON value to stdout and frees it. Returns 0 or 1. */
int cli_print_json(json_t *v);

/* True when stderr is a terminal (progress lines are drawn there). */
int cli_progress_tty(void);

/* Parses a decimal unsigned integer within [min, max]. */
int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Prints s cut to cols display columns on a character boundary and padded
 * with spaces to exactly cols (a table cell). */
void cli_cell(const char *s, size_t cols);
/* Copies s into out, cut to at most cols display columns on a character
 * boundary ("…" marks a cut when ellipsis is set). */
void cli_cut(const char *s, size_t cols, int ellipsis, char *out, size_t cap);

/* The word for a code value in the interface language: group is "kind",
 * "class", "role", "level", "referral", "status", "outcome" or "event";
 * English shows the code itself. Returns "-" for an empty code. The result
 * is static (a catalogue string or code itself). */
const char *cli_label(const char *group, const char *code);

/* Commands. */
int cmd_init(struct cli *c, int argc, char **argv);
int cmd_id(struct cli *c, int argc, char **argv);
int cmd_config(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);  /* cmd_status.c */
int cmd_backup(struct cli *c, int argc, char **argv);  /* cmd_backup.c */
int cmd_restore(struct cli *c, int argc, char **argv); /* cmd_backup.c */
int cmd_passwd(struct cli *c, int argc, char **argv);  /* cmd_passwd.c */
int cmd_case(struct cli *c, int argc, char **argv);
int cmd_report(struct cli *c, int argc, char **argv);
int cmd_verify(struct cli *c, int argc, char **argv);
int cmd_case_import(struct cli *c, int argc, char **argv);
int cmd_case_export(struct cli *c, int argc, char **argv); /* cmd_case_export.c */
int cmd_peer(struct cli *c, int argc, char **argv);
int cmd_serve(struct cli *c, int argc, char **argv);
int cmd_sync(struct cli *c, int argc, char **argv);
int cmd_network_key(struct cli *c, int argc, char **argv);
int cmd_cert(struct cli *c, int argc, char **argv);
int cmd_export(struct cli *c, int argc, char **argv);
int cmd_import(struct cli *c, int argc, char **argv);
int cmd_case_erase(struct cli *c, int argc, char **argv); /* cmd_audit.c */
int cmd_audit(struct cli *c, int argc, char **argv);      /* cmd_audit.c */
/* Enrolment requests (cli/request.c): a small signed text file that
 * `docket init` writes into the node directory and the district passes to
 * `docket cert issue --request FILE`. The signature proves the office holds
 * the key it asks a certificate for. */
#define DK_DOMAIN_ENROL_REQUEST "docket/enrol-request/v1"
int cli_request_write(dk_node *n, const char *path);
/* Reads and checks a request; on success key, office and role are set.
 * Prints why and returns 1 otherwise. */
int cli_request_read(const char *path, uint8_t key[DK_PK_BYTES], char office[DK_NAME_BYTES_MAX],
                     char role[16]);

/* Reads 64 hex digits from path. Returns 0 or 1 after printing why. */
int cli_read_network_key(const char *path, uint8_t key[32]);
/* The parsers behind the two readers above, on bytes already read (for the
 * fuzz targets): 0, or DK_EFORMAT (not a request / not 64 hex digits),
 * DK_EINVAL (a request with a malformed line), DK_EBADSIG. */
int cli_network_key_parse(const char *text, size_t len, uint8_t key[32]);
int cli_request_parse(const char *text, size_t len, uint8_t key[DK_PK_BYTES],
                      char office[DK_NAME_BYTES_MAX], char role[16]);
/* docket status: the network key rotation held, as JSON ({"rotation": null}
 * when none), and its line of text (nothing when none). cmd_net.c. */
json_t *cli_netkey_status(dk_node *n, uint64_t now);
void cli_netkey_status_print(json_t *netkey);

/* Case JSON (shared by show, list and report). */
json_t *cli_case_json(const struct dk_case_state *s, uint64_t now_ms, int full);

#endif
