/*
 * Enrolment requests. The file is plain text, so that a person can read
 * what is being asked before the district signs it:
 *
 *   docket enrolment request v1
 *   key <64 hex digits: the node's Ed25519 public key>
 *   office <office path>
 *   role <district|street|community|auditor>
 *   signature <128 hex digits>
 *
 * signature = Ed25519(node key, "docket/enrol-request/v1" NUL ||
 *                     the three lines key, office, role, each ending in \n)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/error.h"
#include "common/limits.h"

#define MAGIC "docket enrolment request v1\n"
#define REQUEST_BYTES_MAX 1024

static int body_of(const char *keyhex, const char *office, const char *role, char *out,
                   size_t cap) {
  int n = snprintf(out, cap, "key %s\noffice %s\nrole %s\n", keyhex, office, role);
  return n > 0 && (size_t)n < cap ? n : -1;
}

int cli_request_write(dk_node *n, const char *path) {
  const struct dk_identity *id = dk_node_identity(n);
  const struct dk_node_config *cfg = dk_node_config(n);
  if (id == NULL)
    return DK_ENOKEY;
  char keyhex[DK_PK_BYTES * 2 + 1], body[REQUEST_BYTES_MAX], sighex[DK_SIG_BYTES * 2 + 1];
  dk_hex(id->pk, DK_PK_BYTES, keyhex);
  int len = body_of(keyhex, cfg->office, dk_office_role_name(cfg->role), body, sizeof(body));
  if (len < 0)
    return DK_ELIMIT;
  uint8_t sig[DK_SIG_BYTES];
  int rc = dk_sign(id, DK_DOMAIN_ENROL_REQUEST, (const uint8_t *)body, (size_t)len, sig);
  if (rc != 0)
    return rc;
  dk_hex(sig, DK_SIG_BYTES, sighex);
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return DK_EIO;
  int bad = fprintf(f, "%s%ssignature %s\n", MAGIC, body, sighex) < 0;
  bad |= fclose(f) != 0;
  return bad ? DK_EIO : 0;
}

/* Copies the value of line "<name> <value>" starting at *p; advances *p. */
static int take(const char **p, const char *name, char *out, size_t cap) {
  size_t nl = strlen(name);
  if (strncmp(*p, name, nl) != 0 || (*p)[nl] != ' ')
    return -1;
  const char *v = *p + nl + 1, *end = strchr(v, '\n');
  if (end == NULL || (size_t)(end - v) >= cap || end == v)
    return -1;
  memcpy(out, v, (size_t)(end - v));
  out[end - v] = 0;
  *p = end + 1;
  return 0;
}

int cli_request_parse(const char *text, size_t len, uint8_t key[DK_PK_BYTES],
                      char office[DK_NAME_BYTES_MAX], char role[16]) {
  char buf[REQUEST_BYTES_MAX + 1];
  if (len > REQUEST_BYTES_MAX || memchr(text, 0, len) != NULL)
    return DK_EFORMAT;
  memcpy(buf, text, len);
  buf[len] = 0;
  if (strncmp(buf, MAGIC, strlen(MAGIC)) != 0)
    return DK_EFORMAT;
  const char *p = buf + strlen(MAGIC);
  char keyhex[DK_PK_BYTES * 2 + 2], sighex[DK_SIG_BYTES * 2 + 2];
  if (take(&p, "key", keyhex, sizeof(keyhex)) != 0 ||
      take(&p, "office", office, DK_NAME_BYTES_MAX) != 0 || take(&p, "role", role, 16) != 0 ||
      take(&p, "signature", sighex, sizeof(sighex)) != 0 || *p != 0)
    return DK_EINVAL;
  uint8_t sig[DK_SIG_BYTES];
  enum dk_office_role r;
  if (strlen(keyhex) != 64 || dk_unhex(keyhex, key, DK_PK_BYTES) != DK_PK_BYTES ||
      strlen(sighex) != 128 || dk_unhex(sighex, sig, DK_SIG_BYTES) != DK_SIG_BYTES ||
      !dk_office_valid(office) || dk_office_role_parse(role, &r) != 0)
    return DK_EINVAL;
  char body[REQUEST_BYTES_MAX];
  int blen = body_of(keyhex, office, role, body, sizeof(body));
  if (blen < 0 ||
      dk_verify(key, DK_DOMAIN_ENROL_REQUEST, (const uint8_t *)body, (size_t)blen, sig) != 0)
    return DK_EBADSIG;
  return 0;
}

int cli_request_read(const char *path, uint8_t key[DK_PK_BYTES], char office[DK_NAME_BYTES_MAX],
                     char role[16]) {
  char buf[REQUEST_BYTES_MAX + 1];
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return cli_error(_("cannot read the request %s: %s"), path, strerror(errno));
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  int more = fgetc(f) != EOF;
  fclose(f);
  int rc = more ? DK_EFORMAT : cli_request_parse(buf, n, key, office, role);
  if (rc == DK_EFORMAT)
    return cli_error(_("%s is not a docket enrolment request"), path);
  if (rc == DK_EINVAL)
    return cli_error(_("%s is not a well-formed enrolment request"), path);
  if (rc != 0)
    return cli_error(_("the signature of %s does not verify: it was altered, or not made by "
                     "the key it names"),
                     path);
  return 0;
}
