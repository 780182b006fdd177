/* docket case erase, docket audit CASE, docket audit verify FILE. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/error.h"
#include "common/limits.h"
#include "crypto/keyfile.h"
#include "node/trust/audit.h"
#include "node/cases/erase.h"

/* ---- case erase ------------------------------------------------------------------ */

/* Asks on the terminal whether to go on: stdin and stderr must both be
 * one. Returns 1 for yes. */
static int confirm(const char *question) {
  fprintf(stderr, "%s [%s] ", question, _("yes/no"));
  fflush(stderr);
  char line[64];
  if (fgets(line, sizeof(line), stdin) == NULL)
    return 0;
  line[strcspn(line, "\r\n")] = 0;
  return strcmp(line, "yes") == 0 || strcmp(line, "y") == 0 || strcmp(line, _("yes")) == 0 ||
         strcmp(line, "是") == 0;
}

int cmd_case_erase(struct cli *c, int argc, char **argv) {
  const char *ref = NULL, *reason = NULL;
  int yes = 0;
  const struct cli_opt opts[] = {
      CLI_REQUIRED("reason", "TEXT", &reason, N_("why, kept in the clear: name nobody")),
      CLI_FLAG("yes", &yes, N_("do not ask for confirmation (for scripts)")), CLI_END};
  static const struct cli_command cmd = {
      "case erase", "CASE", 1, 1,
      N_("Erases a case: every node that holds it deletes the bodies of all its entries\n"
         "and its key, and keeps a tombstone (number, office, when, by whom, why). The\n"
         "signed headers stay, so the history still verifies. Allowed to the case's own\n"
         "office and the offices above it. The reason is kept in the clear: name nobody.\n"
         "It cannot be undone: on a terminal it asks first; scripts pass --yes."),
      NULL};
  int prc = cli_parse(c, &cmd, opts, argc, argv, &ref, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  if (reason[0] == 0)
    return cli_command_usage_error(&cmd, opts, _("--%s is required"), "reason");
  if (strlen(reason) > DK_TEXT_BYTES_MAX)
    return cli_command_usage_error(&cmd, opts, _("reason longer than %d bytes"),
                                   DK_TEXT_BYTES_MAX);
  int tty = isatty(0) && isatty(2);
  if (!yes && !tty)
    return cli_command_usage_error(&cmd, opts,
                                   _("erasing cannot be undone and there is no terminal to "
                                     "ask on: add --yes to go ahead"));
  dk_node *n = cli_open(c, 1);
  if (n == NULL)
    return 1;
  uint8_t case_id[DK_HASH_BYTES];
  struct dk_erase_info info;
  int out = 0;
  int rc;
  if (cli_case_find(n, ref, case_id) != 0) {
    out = 1;
    goto done;
  }
  if (!yes) {
    struct dk_case_state st;
    dk_case_state_init(&st);
    char q[1024];
    if (dk_node_case_get(n, case_id, &st) == 0)
      snprintf(q, sizeof(q), _("Erase case %s (%s) on every node for good?"),
               st.number ? st.number : ref, st.summary ? st.summary : "");
    else
      snprintf(q, sizeof(q), _("Erase case %s on every node for good?"), ref);
    dk_case_state_release(&st);
    if (!confirm(q)) {
      out = cli_error_code(DK_ECANCELED, _("not erased"));
      goto done;
    }
  }
  rc = dk_node_case_erase(n, case_id, reason, &info);
  if (rc == DK_ESCOPE) {
    out = cli_error_code(rc, _("office %s may not erase case %s: only its own office (%s) and the offices "
                    "above it may"),
                    dk_node_config(n)->office, ref, info.case_office);
    goto done;
  }
  if (rc == DK_EEXIST) {
    out = cli_error_code(rc, _("case %s is already erased"), ref);
    goto done;
  }
  if (rc == DK_ENOTFOUND) {
    out = cli_error_code(rc, _("case %s: its opening entry is not held here, so it cannot be erased here"),
                    ref);
    goto done;
  }
  if (rc != 0) {
    out = cli_fail(rc, _("cannot erase the case"));
    goto done;
  }
  char hex[DK_HASH_BYTES * 2 + 1];
  dk_hex(case_id, DK_HASH_BYTES, hex);
  if (json)
    out = cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:o, s:I}", "id", hex, "number",
                                   info.number, "office", info.case_office, "erased_by",
                                   info.erased_by, "erased_at", cli_json_time(info.erased_at_ms),
                                   "bodies_erased", (json_int_t)info.bodies_erased));
  else
    printf(_("erased %s: %llu bodies and the case key deleted; the signed headers stay\n"),
           info.number[0] ? info.number : hex, (unsigned long long)info.bodies_erased);
done:
  dk_node_close(n);
  return out;
}

/* ---- rendering an audit ------------------------------------------------------------ */

static const char *entry_type_name(uint64_t type) {
  switch (type) {
  case DK_ENTRY_CASE_OPEN:
    return "open";
  case DK_ENTRY_CASE_EVENT:
    return "event";
  case DK_ENTRY_KEY_GRANT:
    return "key-grant";
  case DK_ENTRY_ERASE:
    return "erase";
  default:
    return "entry";
  }
}

/* What an entry of the timeline did, in words. */
static void entry_what(const struct dk_audit_entry *a, char *buf, size_t cap) {
  if (a->type == DK_ENTRY_ERASE) {
    snprintf(buf, cap, "erased the case%s: %s", a->honoured ? "" : " (not honoured: office not above the case)",
             a->reason ? a->reason : "?");
    return;
  }
  if (a->type == DK_ENTRY_KEY_GRANT) {
    snprintf(buf, cap, "gave the case key to more readers");
    return;
  }
  if (!a->body_present) {
    snprintf(buf, cap, "%s (body erased)", a->type == DK_ENTRY_CASE_OPEN ? "opened" : "event");
    return;
  }
  if (!a->decrypted) {
    snprintf(buf, cap, "%s (sealed: no key here)", a->type == DK_ENTRY_CASE_OPEN ? "opened" : "event");
    return;
  }
  const struct dk_event *ev = &a->ev;
  const char *text = ev->text ? ev->text : "";
  switch (ev->type) {
  case DK_EVENT_OPEN:
    snprintf(buf, cap, "open %s %s: %s", ev->number ? ev->number : "", dk_kind_name(ev->kind), text);
    break;
  case DK_EVENT_TRIAGE:
    snprintf(buf, cap, "triage: %s", dk_triage_name(ev->triage));
    break;
  case DK_EVENT_ASSIGN:
    snprintf(buf, cap, "assign %s as %s", ev->to ? ev->to : "", dk_role_name(ev->role));
    break;
  case DK_EVENT_ESCALATE:
    snprintf(buf, cap, "escalate to %s%s%s", dk_level_name(ev->level), *text ? ": " : "", text);
    break;
  default:
    snprintf(buf, cap, "%s%s%s", dk_event_type_name(ev->type), *text ? ": " : "", text);
  }
  if (ev->by && ev->by[0]) {
    size_t l = strlen(buf);
    snprintf(buf + l, cap - l, " (by %s)", ev->by);
  }
}

static const char *cert_name(enum dk_audit_cert c) {
  switch (c) {
  case DK_AUDIT_CERT_VALID:
    return "valid";
  case DK_AUDIT_CERT_NONE:
    return "none";
  case DK_AUDIT_CERT_REVOKED:
    return "revoked";
  default:
    return NULL;
  }
}

/* The outcome of an audit: the checks passed with authorship checked
 * against a trusted root; passed without a root, which the caller accepted
 * (--no-root, or a node with no root configured: its own trust is its
 * pinned keys); passed without a root, not accepted; failed. */
enum outcome { OUT_VERIFIED, OUT_VERIFIED_NO_ROOT, OUT_UNCHECKED, OUT_FAILED };

static enum outcome outcome_of(const struct dk_audit_result *r, int rc, int no_root_ok) {
  if (rc != 0)
    return OUT_FAILED;
  if (r->has_root)
    return OUT_VERIFIED;
  return no_root_ok ? OUT_VERIFIED_NO_ROOT : OUT_UNCHECKED;
}

static void verdict_text(const struct dk_audit_result *r, int rc, enum outcome oc, char *buf,
                         size_t cap) {
  if (oc == OUT_VERIFIED || oc == OUT_VERIFIED_NO_ROOT) {
    snprintf(buf, cap, "verified");
    return;
  }
  if (oc == OUT_UNCHECKED) {
    snprintf(buf, cap, "authorship not checked");
    return;
  }
  if (r->failures_count == 0) {
    snprintf(buf, cap, "failed: %s", dk_strerror(rc));
    return;
  }
  const struct dk_audit_failure *f = &r->failures[0];
  char log[DK_PK_BYTES * 2 + 1];
  dk_hex(f->log, DK_PK_BYTES, log);
  static const uint8_t zero[DK_PK_BYTES];
  if (memcmp(f->log, zero, DK_PK_BYTES) == 0)
    snprintf(buf, cap, "failed: %s", f->what);
  else if (f->seq == 0)
    snprintf(buf, cap, "failed: log %.16s: %s", log, f->what);
  else
    snprintf(buf, cap, "failed: log %.16s seq %llu: %s", log, (unsigned long long)f->seq,
             f->what);
}

static const char *log_office(const struct dk_audit_result *r, const uint8_t *key) {
  for (size_t i = 0; i < r->logs_count; i++)
    if (memcmp(r->logs[i].key, key, DK_PK_BYTES) == 0)
      return r->logs[i].office;
  return "?";
}

static const char *grant_name(enum dk_audit_cert c) {
  switch (c) {
  case DK_AUDIT_CERT_VALID:
    return "valid";
  case DK_AUDIT_CERT_NONE:
    return "none";
  case DK_AUDIT_CERT_REVOKED:
    return "revoked";
  default:
    return "unchecked";
  }
}

static int report(const struct dk_audit_result *r, int rc, int json, const char *number,
                  const char *bundle_path, int no_root_ok) {
  char verdict[DK_NAME_BYTES_MAX + 256], caseid[DK_HASH_BYTES * 2 + 1];
  enum outcome oc = outcome_of(r, rc, no_root_ok);
  verdict_text(r, rc, oc, verdict, sizeof(verdict));
  dk_hex(r->case_id, DK_HASH_BYTES, caseid);
  if (number == NULL)
    number = "";
  for (size_t i = 0; number[0] == 0 && i < r->entries_count; i++)
    if (r->entries[i].decrypted && r->entries[i].ev.type == DK_EVENT_OPEN && r->entries[i].ev.number)
      number = r->entries[i].ev.number;
  const char *erase_reason = NULL;
  for (size_t i = 0; i < r->entries_count; i++)
    if (r->entries[i].honoured && r->entries[i].ts_ms == r->erased_at_ms)
      erase_reason = r->entries[i].reason;
  if (json) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(caseid));
    json_object_set_new(o, "number", cli_json_str(number));
    json_object_set_new(o, "office", cli_json_str(r->case_office));
    json_object_set_new(o, "ok", json_boolean(oc == OUT_VERIFIED || oc == OUT_VERIFIED_NO_ROOT));
    json_object_set_new(o, "verdict", json_string(verdict));
    json_object_set_new(o, "authorship_checked", json_boolean(r->has_root));
    json_object_set_new(o, "bundle", cli_json_str(bundle_path));
    json_object_set_new(o, "erased",
                        r->erased ? json_pack("{s:o, s:o, s:o}", "at",
                                              cli_json_time(r->erased_at_ms), "by", cli_json_str(r->erased_by),
                                              "reason", cli_json_str(erase_reason))
                                  : json_null());
    json_object_set_new(o, "decrypted", json_boolean(r->key_used));
    char head_root[DK_PK_BYTES * 2 + 1];
    dk_hex(r->head_root, DK_PK_BYTES, head_root);
    json_t *bundle_root = r->has_head_root ? json_string(head_root) : json_null();
    if (r->has_root) {
      char root[DK_PK_BYTES * 2 + 1];
      dk_hex(r->root, DK_PK_BYTES, root);
      json_object_set_new(
          o, "certificates",
          json_pack("{s:b, s:s, s:o, s:I, s:I, s:I, s:I}", "checked", 1, "root", root,
                    "bundle_root", bundle_root, "statements", (json_int_t)r->statements,
                    "statements_ignored", (json_int_t)r->statements_ignored, "authors_checked",
                    (json_int_t)r->authors_checked, "district_seq",
                    (json_int_t)r->district_seq));
    } else {
      json_object_set_new(o, "certificates", json_pack("{s:b, s:n, s:o}", "checked", 0, "root",
                                                       "bundle_root", bundle_root));
    }
    if (r->has_reader) {
      char rk[DK_PK_BYTES * 2 + 1];
      dk_hex(r->reader, DK_PK_BYTES, rk);
      int self = memcmp(r->reader, r->writer, DK_PK_BYTES) == 0;
      json_object_set_new(
          o, "reader",
          json_pack("{s:s, s:b, s:s, s:o}", "key", rk, "writer_itself", self, "grant",
                    self ? "not needed" : grant_name(r->reader_grant), "subtree",
                    r->reader_grant == DK_AUDIT_CERT_VALID ? json_string(r->reader_subtree)
                                                           : json_null()));
    } else {
      json_object_set_new(o, "reader", json_null());
    }
    json_object_set_new(o, "digest_ok", json_boolean(r->digest_ok));
    json_object_set_new(
        o, "counts",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "entries_checked",
                  (json_int_t)r->entries_checked, "bodies_checked", (json_int_t)r->bodies_checked,
                  "bodies_erased", (json_int_t)r->bodies_erased, "witnesses_checked",
                  (json_int_t)r->witnesses_checked, "case_entries", (json_int_t)r->entries_count,
                  "unwitnessed", (json_int_t)r->unwitnessed));
    json_t *logs = json_array();
    for (size_t i = 0; i < r->logs_count; i++) {
      const struct dk_audit_log *l = &r->logs[i];
      char key[DK_PK_BYTES * 2 + 1], wk[DK_PK_BYTES * 2 + 1];
      dk_hex(l->key, DK_PK_BYTES, key);
      dk_hex(l->witness_log, DK_PK_BYTES, wk);
      json_array_append_new(
          logs, json_pack("{s:s, s:s, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:b}", "log", key,
                          "office", l->office, "entries", (json_int_t)l->last_seq,
                          "witnessed_seq", (json_int_t)l->witnessed_seq, "witnessed_by",
                          l->witnessed_seq ? json_string(log_office(r, l->witness_log))
                                           : json_null(),
                          "witness_entry_seq", (json_int_t)l->witness_entry_seq, "case_entries",
                          (json_int_t)l->case_entries, "unwitnessed", (json_int_t)l->unwitnessed,
                          "forks", (json_int_t)l->forks, "ok", !l->broken));
    }
    json_object_set_new(o, "logs", logs);
    json_t *tl = json_array();
    for (size_t i = 0; i < r->entries_count; i++) {
      const struct dk_audit_entry *a = &r->entries[i];
      char what[DK_TEXT_BYTES_MAX + 512], key[DK_PK_BYTES * 2 + 1], id[DK_HASH_BYTES * 2 + 1];
      entry_what(a, what, sizeof(what));
      dk_hex(a->log, DK_PK_BYTES, key);
      dk_hex(a->id, DK_HASH_BYTES, id);
      const char *cert = cert_name(a->cert);
      json_array_append_new(
          tl, json_pack("{s:o, s:s, s:s, s:I, s:s, s:s, s:b, s:b, s:s, s:o}", "at",
                        cli_json_time(a->ts_ms), "office", r->logs[a->log_index].office, "author",
                        key, "seq", (json_int_t)a->seq, "id", id, "type",
                        entry_type_name(a->type), "witnessed", a->witnessed, "body",
                        a->body_present, "what", what, "certificate",
                        cert ? json_string(cert) : json_null()));
    }
    json_object_set_new(o, "timeline", tl);
    json_t *fs = json_array();
    for (size_t i = 0; i < r->failures_count; i++) {
      const struct dk_audit_failure *f = &r->failures[i];
      char key[DK_PK_BYTES * 2 + 1];
      dk_hex(f->log, DK_PK_BYTES, key);
      json_array_append_new(fs, json_pack("{s:s, s:I, s:s, s:s}", "log", key, "seq",
                                          (json_int_t)f->seq, "error", dk_errname(f->code), "what",
                                          f->what));
    }
    json_object_set_new(o, "failures", fs);
    json_object_set_new(o, "failures_total", json_integer((json_int_t)r->failures_total));
    return cli_print_json(o) != 0 ? 1 : (oc == OUT_FAILED || oc == OUT_UNCHECKED ? 1 : 0);
  }
  printf(_("case %s%s%.16s  office %s\n"), number, number[0] ? "  id " : "", caseid,
         r->case_office[0] ? r->case_office : "?");
  printf(_("logs:\n"));
  for (size_t i = 0; i < r->logs_count; i++) {
    const struct dk_audit_log *l = &r->logs[i];
    char key[DK_PK_BYTES * 2 + 1];
    dk_hex(l->key, DK_PK_BYTES, key);
    printf(_("  %-28s %.8s  seq 1..%llu  "), l->office, key, (unsigned long long)l->last_seq);
    if (l->witnessed_seq)
      printf(_("witnessed to %llu by %s"), (unsigned long long)l->witnessed_seq,
             log_office(r, l->witness_log));
    else
      printf(_("not witnessed by a parent"));
    if (l->case_entries)
      printf(_("; %llu case entries, %llu past the witnessed head"),
             (unsigned long long)l->case_entries, (unsigned long long)l->unwitnessed);
    if (l->forks)
      printf(_("; FORKED (%llu proofs)"), (unsigned long long)l->forks);
    printf("%s\n", l->broken ? "  DAMAGED" : "");
  }
  printf(_("timeline:\n"));
  for (size_t i = 0; i < r->entries_count; i++) {
    const struct dk_audit_entry *a = &r->entries[i];
    char at[32], what[DK_TEXT_BYTES_MAX + 512], key[DK_PK_BYTES * 2 + 1];
    cli_format_time(a->ts_ms, 0, at, sizeof(at));
    entry_what(a, what, sizeof(what));
    dk_hex(a->log, DK_PK_BYTES, key);
    printf("  %s  %-22s %.8s  #%-5llu %s%s%s\n", at, r->logs[a->log_index].office, key,
           (unsigned long long)a->seq, what, a->witnessed ? "" : "  [not yet witnessed]",
           a->cert == DK_AUDIT_CERT_REVOKED ? "  [AUTHOR REVOKED]"
           : a->cert == DK_AUDIT_CERT_NONE  ? "  [NO CERTIFICATE]"
                                            : "");
  }
  static const uint8_t no_log[DK_PK_BYTES];
  for (size_t i = 0; i < r->failures_count; i++) {
    const struct dk_audit_failure *f = &r->failures[i];
    char key[DK_PK_BYTES * 2 + 1];
    dk_hex(f->log, DK_PK_BYTES, key);
    if (memcmp(f->log, no_log, DK_PK_BYTES) == 0)
      printf(_("FAILED  bundle: %s\n"), f->what);
    else
      printf(_("FAILED  log %.16s  seq %llu: %s\n"), key, (unsigned long long)f->seq, f->what);
  }
  if (r->failures_total > r->failures_count)
    printf(_("FAILED  ... and %llu more\n"),
           (unsigned long long)(r->failures_total - r->failures_count));
  printf(_("checked: %llu entries (signatures and links from seq 1), %llu bodies, %llu witnesses; "
         "%llu bodies erased\n"),
         (unsigned long long)r->entries_checked, (unsigned long long)r->bodies_checked,
         (unsigned long long)r->witnesses_checked, (unsigned long long)r->bodies_erased);
  if (r->has_root) {
    char root[DK_PK_BYTES * 2 + 1];
    dk_hex(r->root, DK_PK_BYTES, root);
    printf(_("certificates: trusted root %.16s; %llu statements from the district's log (to seq "
           "%llu); %llu case entries' authors checked\n"),
           root, (unsigned long long)r->statements, (unsigned long long)r->district_seq,
           (unsigned long long)r->authors_checked);
  } else {
    printf(_("certificates: NOT checked: no trusted root was given, so who wrote these entries is "
           "unknown\n"));
  }
  if (r->has_reader && memcmp(r->reader, r->writer, DK_PK_BYTES) != 0) {
    char rk[DK_PK_BYTES * 2 + 1];
    dk_hex(r->reader, DK_PK_BYTES, rk);
    if (r->reader_grant == DK_AUDIT_CERT_VALID)
      printf(_("reader:  %.16s, auditor of %s\n"), rk, r->reader_subtree);
    else
      printf(_("reader:  %.16s (auditor grant %s)\n"), rk, grant_name(r->reader_grant));
  }
  if (r->erased) {
    char at[32];
    cli_format_time(r->erased_at_ms, 0, at, sizeof(at));
    printf(_("erased:  %s by %s: %s\n"), at, r->erased_by, erase_reason ? erase_reason : "");
  }
  if (bundle_path)
    printf(_("bundle:  %s\n"), bundle_path);
  if (oc == OUT_VERIFIED_NO_ROOT)
    printf(_("verdict: verified (authorship not checked: no trusted root)\n"));
  else
    printf(_("verdict: %s\n"), verdict);
  if (oc == OUT_UNCHECKED)
    cli_warn(_("authorship was not checked: no trusted root (give --root or --key-dir to 'audit "
               "verify', configure the deployment's root with 'docket cert set-root', or accept "
               "this with --no-root)"));
  return oc == OUT_FAILED || oc == OUT_UNCHECKED ? 1 : 0;
}

/* ---- files -------------------------------------------------------------------------- */

static int write_file(const char *path, const uint8_t *data, size_t len) {
  char tmp[4200];
  if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
    return DK_EINVAL;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    return DK_EIO;
  int rc = 0;
  size_t off = 0;
  while (off < len && rc == 0) {
    ssize_t w = write(fd, data + off, len - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      rc = errno == ENOSPC ? DK_ENOSPC : DK_EIO;
    else
      off += (size_t)w;
  }
  if (rc == 0 && fsync(fd) != 0)
    rc = DK_EIO;
  if (close(fd) != 0 && rc == 0)
    rc = DK_EIO;
  if (rc == 0 && rename(tmp, path) != 0)
    rc = DK_EIO;
  if (rc != 0)
    unlink(tmp);
  return rc;
}

/* Reads a whole file of at most max bytes into a malloc'd buffer. */
static int read_file(const char *path, size_t max, uint8_t **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return errno == ENOENT ? DK_ENOTFOUND : DK_EIO;
  struct stat sb;
  int rc = fstat(fileno(f), &sb) == 0 ? 0 : DK_EIO;
  if (rc == 0 && (uint64_t)sb.st_size > max)
    rc = DK_ELIMIT;
  uint8_t *buf = NULL;
  size_t n = rc == 0 ? (size_t)sb.st_size : 0;
  if (rc == 0) {
    buf = malloc(n ? n : 1);
    if (buf == NULL)
      rc = DK_ENOMEM;
  }
  if (rc == 0 && fread(buf, 1, n, f) != n)
    rc = DK_EIO;
  fclose(f);
  if (rc != 0) {
    free(buf);
    return rc;
  }
  *out = buf;
  *len = n;
  return 0;
}

/* ---- audit verify ------------------------------------------------------------------- */

/* Loads the auditor's identity from a keyfile. Returns 0, or 1 after
 * printing why. */
static int load_auditor(const char *keyfile, struct dk_identity *id) {
  struct dk_secrets s;
  if (dk_secrets_init(&s) != 0)
    return cli_fail(DK_ENOMEM, _("cannot load the auditor key"));
  char *pass = cli_passphrase(0);
  if (pass == NULL) {
    dk_secrets_release(&s);
    return 1;
  }
  int rc = dk_keyfile_read(keyfile, pass, strlen(pass), &s);
  cli_passphrase_free(pass);
  if (rc == 0)
    rc = dk_identity_from_seed(id, s.seed);
  dk_secrets_release(&s);
  if (rc != 0) {
    char what[4200];
    snprintf(what, sizeof(what), "cannot open the auditor key %s", keyfile);
    return cli_fail(rc, what);
  }
  return 0;
}

/* The deployment root configured on the node in dir: 0 and root set, 1
 * when it has none, or -1 after printing why it cannot be read. */
static int node_root(const char *dir, uint8_t root[DK_PK_BYTES]) {
  dk_node *n = NULL;
  int rc = dk_node_open(dir, NULL, 0, &n);
  if (rc == 0) {
    rc = dk_node_root_pk(n, root);
    dk_node_close(n);
  }
  if (rc == DK_ENOTFOUND)
    return 1;
  if (rc != 0) {
    char what[4200];
    snprintf(what, sizeof(what), "cannot read the deployment root of the node in %s", dir);
    cli_fail(rc, what);
    return -1;
  }
  return 0;
}

static int audit_verify(struct cli *c, int argc, char **argv) {
  const char *path = NULL, *key_dir = NULL, *root_hex = NULL;
  int no_root = 0;
  const struct cli_opt opts[] = {
      CLI_STRING("root", "HEX", &root_hex, N_("the deployment root you trust (64 hex digits)")),
      CLI_STRING("key-dir", "DIR", &key_dir,
                 N_("the auditor's node: its root, and its key to decrypt the events")),
      CLI_FLAG("no-root", &no_root, N_("accept that authorship is not checked")), CLI_END};
  static const struct cli_command cmd = {
      "audit verify", N_("FILE"), 1, 1,
      N_("Verifies an audit bundle with no node, no network and no store: every signature,\n"
         "every link from seq 1, every witness, every body hash, the digest. Who wrote\n"
         "the entries is checked against a deployment root you already trust, never one\n"
         "the bundle brings: --root HEX, or the root configured on the node in --key-dir.\n"
         "Without one the verdict says authorship was not checked and the exit status\n"
         "is 1, unless --no-root accepts that. With the auditor's keyfile\n"
         "(DOCKET_AUDITOR_KEY_FILE, or --key-dir of the auditor's node) the case's events\n"
         "are decrypted into the timeline. Exits 1 if any check fails, naming the log,\n"
         "the seq and the check."),
      NULL};
  int prc = cli_parse(c, &cmd, opts, argc, argv, &path, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  uint8_t root[DK_PK_BYTES];
  int have_root = 0;
  if (root_hex != NULL) {
    if (strlen(root_hex) != DK_PK_BYTES * 2 ||
        dk_unhex(root_hex, root, DK_PK_BYTES) != DK_PK_BYTES)
      return cli_command_usage_error(&cmd, opts, _("--root needs a key of 64 hex digits"));
    have_root = 1;
  }
  if (no_root && have_root)
    return cli_command_usage_error(&cmd, opts, _("--no-root and --root contradict each other"));
  if (key_dir != NULL && !no_root) {
    uint8_t node_rk[DK_PK_BYTES];
    int nr = node_root(key_dir, node_rk);
    if (nr < 0)
      return 1;
    if (nr == 0 && have_root && memcmp(node_rk, root, DK_PK_BYTES) != 0)
      return cli_error(_("--root is not the deployment root configured on the node in %s"), key_dir);
    if (nr == 0 && !have_root) {
      memcpy(root, node_rk, DK_PK_BYTES);
      have_root = 1;
    }
  }
  char keyfile[4200] = "";
  if (key_dir)
    snprintf(keyfile, sizeof(keyfile), "%s/key", key_dir);
  else if (getenv("DOCKET_AUDITOR_KEY_FILE") && getenv("DOCKET_AUDITOR_KEY_FILE")[0])
    snprintf(keyfile, sizeof(keyfile), "%s", getenv("DOCKET_AUDITOR_KEY_FILE"));
  uint8_t *bytes = NULL;
  size_t len = 0;
  int rc = read_file(path, DK_AUDIT_BUNDLE_BYTES_MAX, &bytes, &len);
  if (rc == DK_ELIMIT)
    return cli_error_code(rc, _("%s is larger than an audit bundle may be"), path);
  if (rc != 0) {
    char what[4200];
    snprintf(what, sizeof(what), "cannot read %s", path);
    return cli_fail(rc, what);
  }
  struct dk_identity id;
  memset(&id, 0, sizeof(id));
  int have_id = 0;
  if (keyfile[0]) {
    if (load_auditor(keyfile, &id) != 0) {
      free(bytes);
      return 1;
    }
    have_id = 1;
  }
  struct dk_audit_result r;
  rc = dk_audit_verify(bytes, len, have_id ? &id : NULL, have_root ? root : NULL, &r);
  free(bytes);
  dk_identity_release(&id);
  int out;
  if (rc == DK_ENOMEM)
    out = cli_fail(rc, _("cannot verify the bundle"));
  else
    out = report(&r, rc, json, NULL, NULL, no_root);
  if (rc != 0 && rc != DK_ENOMEM && !json)
    cli_error(_("the audit bundle does not verify: %s"),
              r.failures_count ? r.failures[0].what : dk_strerror(rc));
  else if (rc == 0 && !r.has_root && !no_root && !json)
    cli_error(_("the bundle's history verifies, but who wrote it was not checked: no trusted "
              "root. Give --root HEX (the deployment's root key) or --key-dir DIR (a node "
              "configured with it), or --no-root to accept an unchecked history"));
  dk_audit_result_release(&r);
  return out;
}

/* ---- audit CASE ----------------------------------------------------------------------- */

int cmd_audit(struct cli *c, int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "verify") == 0)
    return audit_verify(c, argc - 1, argv + 1);
  const char *ref = NULL, *bundle = NULL, *for_hex = NULL;
  int no_root = 0;
  const struct cli_opt opts[] = {
      CLI_STRING("bundle", "FILE", &bundle, N_("write a self-contained audit bundle")),
      CLI_STRING("for", "AUDITOR-KEY", &for_hex, N_("wrap the case key for this auditor")),
      CLI_FLAG("no-root", &no_root,
               N_("accept that authorship is not checked (a node with no root configured)")),
      CLI_END};
  static const struct cli_command cmd = {
      "audit", "CASE", 1, 1,
      N_("Checks the signed history of one case across every log that wrote to it:\n"
         "signatures, links back to each log's seq 1, the head of each log a parent has\n"
         "witnessed and whether the case's entries lie within it, fork proofs, erasure,\n"
         "and (with a root configured) that every author held a certificate for its\n"
         "office at the entry's time and was not revoked before it; then prints a\n"
         "timeline and a verdict. --bundle writes a self-contained audit bundle\n"
         "(docs/PROTOCOL.md section 12) for 'docket audit verify FILE'; --for wraps the\n"
         "case key for that auditor's key, which (with a root configured) must hold an\n"
         "auditor grant covering the case's office. On a node with no root configured\n"
         "authorship cannot be checked: the verdict says so and the exit status is 1,\n"
         "unless --no-root accepts that."),
      NULL};
  int prc = cli_parse(c, &cmd, opts, argc, argv, &ref, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  uint8_t for_key[DK_PK_BYTES], xpk[32];
  if (for_hex && (bundle == NULL || strlen(for_hex) != DK_PK_BYTES * 2 ||
                  dk_unhex(for_hex, for_key, DK_PK_BYTES) != DK_PK_BYTES))
    return cli_command_usage_error(&cmd, opts, bundle == NULL ? "--for goes with --bundle"
                                                       : "--for needs a key of 64 hex digits");
  if (for_hex && dk_pk_to_x25519(for_key, xpk) != 0)
    return cli_command_usage_error(&cmd, opts, _("--for: that is not a valid public key"));
  dk_node *n = cli_open(c, 1);
  if (n == NULL)
    return 1;
  uint8_t case_id[DK_HASH_BYTES];
  struct dk_buf buf;
  dk_buf_init(&buf);
  struct dk_audit_result r;
  memset(&r, 0, sizeof(r));
  int out = 0;
  int rc;
  if (cli_case_find(n, ref, case_id) != 0) {
    out = 1;
    goto done;
  }
  /* A bundle for the auditor, or (without --bundle) one for this node
   * itself, checked by the same verifier an auditor runs. */
  const uint8_t *reader = bundle ? (for_hex ? for_key : NULL) : dk_node_pk(n);
  struct dk_audit_write_stats st;
  rc = dk_node_audit_write(n, case_id, reader, &buf, &st);
  if (rc == DK_ENOTFOUND) {
    out = cli_error_code(rc, _("case '%s': its opening entry is not held here"), ref);
    goto done;
  }
  if (rc != 0) {
    out = cli_fail(rc, _("cannot gather the case's history"));
    goto done;
  }
  /* The node's own root is the one trusted here, as for every entry it
   * took in. Without one, its pinned keys were its trust, which says
   * nothing of authorship to anyone else: not "verified" unless
   * --no-root accepts that. */
  uint8_t root[DK_PK_BYTES];
  int have_root = 0;
  rc = dk_node_root_pk(n, root);
  if (rc == 0)
    have_root = 1;
  else if (rc != DK_ENOTFOUND) {
    out = cli_fail(rc, _("cannot read the deployment root"));
    goto done;
  }
  int vrc = dk_audit_verify(buf.data, buf.len, dk_node_identity(n), have_root ? root : NULL, &r);
  if (vrc == DK_ENOMEM) {
    out = cli_fail(rc, _("cannot verify the case"));
    goto done;
  }
  /* The key a bundle is for must hold an auditor grant covering the case:
   * as the bundle shows it when it carries the case key for it, else as
   * this node's trust view has it now. */
  char subtree[DK_NAME_BYTES_MAX];
  int granted = r.reader_grant == DK_AUDIT_CERT_VALID;
  if (for_hex && have_root && !r.has_reader &&
      dk_node_auditor_subtree(n, for_key, dk_node_now(n), subtree) == 0) {
    size_t sl = strlen(subtree);
    granted = strncmp(subtree, r.case_office, sl) == 0 &&
              (r.case_office[sl] == 0 || r.case_office[sl] == '/');
  }
  if (for_hex && have_root && memcmp(for_key, dk_node_pk(n), DK_PK_BYTES) != 0 && !granted) {
    out = cli_error(_("%.16s… holds no auditor grant of this deployment's root covering %s%s; "
                    "no bundle written (the district grants one with 'docket cert "
                    "grant-auditor')"),
                    for_hex, r.case_office[0] ? r.case_office : "the case's office",
                    r.reader_grant == DK_AUDIT_CERT_REVOKED ? " (its key is revoked)" : "");
    goto done;
  }
  if (bundle) {
    rc = write_file(bundle, buf.data, buf.len);
    if (rc != 0) {
      out = cli_fail(rc, _("cannot write the audit bundle"));
      goto done;
    }
  }
  struct dk_case_state s;
  dk_case_state_init(&s);
  const char *number = NULL;
  if (dk_node_case_get(n, case_id, &s) == 0 && s.number)
    number = s.number;
  out = report(&r, vrc, json, number, bundle, no_root);
  dk_case_state_release(&s);
done:
  dk_audit_result_release(&r);
  dk_buf_release(&buf);
  dk_node_close(n);
  return out;
}
