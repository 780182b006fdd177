/*
 * docket backup and restore. A backup is one file:
 *
 *   "docket-backup\n" (14 bytes), version (u32 BE, 1),
 *   key file length (u64 BE) and bytes (the sealed key file, as on disk),
 *   store length (u64 BE) and bytes (a compacted LMDB copy: data.mdb),
 *   BLAKE2b-256 of everything before it.
 *
 * The key stays sealed under the node's passphrase, so the file is no use
 * to whoever finds it without the passphrase; the store's case data is
 * encrypted as it is in the node. restore checks the whole file (lengths,
 * hash, key file format) before it writes anything.
 */
#include <dirent.h>
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
#include "crypto/keyfile.h"

static const char MAGIC[14] = "docket-backup\n";
#define BACKUP_VERSION 1
#define HEAD_BYTES (14 + 4)
#define COPY_CHUNK (1u << 16)

static void be64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
}
static uint64_t get_be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

static int write_all(int fd, const void *buf, size_t n, crypto_generichash_state *h) {
  const uint8_t *p = buf;
  if (h)
    crypto_generichash_update(h, p, n);
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return errno == ENOSPC ? DK_ENOSPC : DK_EIO;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_all(int fd, void *buf, size_t n) {
  uint8_t *p = buf;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return DK_EFORMAT;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

/* Copies len bytes from in to out, hashing them. */
static int copy_bytes(int in, int out, uint64_t len, crypto_generichash_state *h) {
  uint8_t *buf = malloc(COPY_CHUNK);
  if (buf == NULL)
    return DK_ENOMEM;
  int rc = 0;
  while (rc == 0 && len > 0) {
    size_t n = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
    rc = read_all(in, buf, n);
    if (rc == 0)
      rc = out >= 0 ? write_all(out, buf, n, h) : (crypto_generichash_update(h, buf, n), 0);
    len -= n;
  }
  free(buf);
  return rc;
}

int cmd_backup(struct cli *c, int argc, char **argv) {
  const char *out_path = NULL;
  const struct cli_opt opts[] = {
      CLI_REQUIRED("out", "FILE", &out_path, N_("the backup file to write (not an existing one)")),
      CLI_END};
  static const struct cli_command cmd = {
      "backup", NULL, 0, 0,
      N_("Writes one file holding a consistent, compacted copy of the store and the\n"
         "sealed key file. It may run while 'docket serve' runs. The key stays sealed\n"
         "under the passphrase. Restore it with 'docket restore'."),
      NULL};
  int prc = cli_parse(c, &cmd, opts, argc, argv, NULL, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  struct stat sb;
  if (stat(out_path, &sb) == 0)
    return cli_error(_("%s exists: not overwriting it"), out_path);
  dk_node *n = cli_open(c, 0);
  if (n == NULL)
    return 1;
  char key_path[4200], tmp_db[4200], tmp_out[4200];
  snprintf(key_path, sizeof(key_path), "%s/key", c->dir);
  snprintf(tmp_out, sizeof(tmp_out), "%s.tmp", out_path);
  snprintf(tmp_db, sizeof(tmp_db), "%s.store.tmp", out_path);
  uint8_t key[DK_KEYFILE_BYTES + 1];
  int out = 0, rc, kfd = -1, dbfd = -1, ofd = -1;
  kfd = open(key_path, O_RDONLY | O_CLOEXEC);
  ssize_t klen = kfd >= 0 ? read(kfd, key, sizeof(key)) : -1;
  if (kfd >= 0)
    close(kfd);
  if (klen < 0 || dk_keyfile_check(key, (size_t)klen) != 0) {
    out = cli_error(_("cannot read the key file %s, or it is damaged"), key_path);
    goto done;
  }
  /* The store copy goes to a temporary file first: its length leads it. */
  dbfd = open(tmp_db, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (dbfd < 0) {
    out = cli_error(_("cannot write %s: %s"), tmp_db, strerror(errno));
    goto done;
  }
  unlink(tmp_db); /* kept open, gone from the directory whatever happens */
  rc = dk_node_store_copy(n, dbfd);
  if (rc != 0) {
    out = cli_fail(rc, _("cannot copy the store"));
    goto done;
  }
  off_t dblen = lseek(dbfd, 0, SEEK_END);
  if (dblen <= 0 || lseek(dbfd, 0, SEEK_SET) != 0) {
    out = cli_error(_("cannot read back the store copy"));
    goto done;
  }
  ofd = open(tmp_out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (ofd < 0) {
    out = cli_error(_("cannot write %s: %s"), tmp_out, strerror(errno));
    goto done;
  }
  crypto_generichash_state h;
  crypto_generichash_init(&h, NULL, 0, 32);
  uint8_t head[HEAD_BYTES + 8], lenb[8], sum[32];
  memcpy(head, MAGIC, 14);
  head[14] = head[15] = head[16] = 0;
  head[17] = BACKUP_VERSION;
  be64(head + HEAD_BYTES, (uint64_t)klen);
  rc = write_all(ofd, head, sizeof(head), &h);
  if (rc == 0)
    rc = write_all(ofd, key, (size_t)klen, &h);
  be64(lenb, (uint64_t)dblen);
  if (rc == 0)
    rc = write_all(ofd, lenb, 8, &h);
  if (rc == 0)
    rc = copy_bytes(dbfd, ofd, (uint64_t)dblen, &h);
  crypto_generichash_final(&h, sum, sizeof(sum));
  if (rc == 0)
    rc = write_all(ofd, sum, sizeof(sum), NULL);
  if (rc == 0 && fsync(ofd) != 0)
    rc = DK_EIO;
  if (rc == 0 && close(ofd) != 0)
    rc = DK_EIO;
  ofd = -1;
  if (rc == 0 && rename(tmp_out, out_path) != 0)
    rc = DK_EIO;
  if (rc != 0) {
    unlink(tmp_out);
    out = cli_fail(rc, _("cannot write the backup"));
    goto done;
  }
  uint64_t total = HEAD_BYTES + 8 + (uint64_t)klen + 8 + (uint64_t)dblen + 32;
  if (json)
    out = cli_print_json(json_pack("{s:s, s:I, s:I}", "backup", out_path, "bytes",
                                   (json_int_t)total, "store_bytes", (json_int_t)dblen));
  else
    printf(_("backup written to %s (%llu bytes); the key in it is sealed under this node's "
           "passphrase\n"), out_path, (unsigned long long)total);
done:
  if (ofd >= 0) {
    close(ofd);
    unlink(tmp_out);
  }
  if (dbfd >= 0)
    close(dbfd);
  sodium_memzero(key, sizeof(key));
  dk_node_close(n);
  return out;
}

/* 1 when dir is absent or empty, 0 when it holds anything, -1 on error. */
static int dir_empty(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return errno == ENOENT ? 1 : -1;
  struct dirent *e;
  int empty = 1;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      empty = 0;
  closedir(d);
  return empty;
}

static int write_file(const char *path, int in, uint64_t len, const uint8_t *bytes) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return DK_EIO;
  int rc = bytes ? write_all(fd, bytes, (size_t)len, NULL) : copy_bytes(in, fd, len, NULL);
  if (rc == 0 && fsync(fd) != 0)
    rc = DK_EIO;
  close(fd);
  return rc;
}

int cmd_restore(struct cli *c, int argc, char **argv) {
  const char *file = NULL, *dir = NULL;
  const struct cli_opt opts[] = {
      CLI_STRING("dir", "DIR", &dir,
                 N_("the new node's directory, empty or absent (or 'docket --dir DIR restore')")),
      CLI_END};
  static const struct cli_command cmd = {
      "restore", N_("FILE"), 1, 1,
      N_("Checks a backup file completely, then writes the node it holds into DIR,\n"
         "which must be empty or absent. Then start 'docket serve' on it before\n"
         "writing: it first gets back from its parent what it wrote after the backup\n"
         "(see docs/operations.md)."),
      NULL};
  int prc = cli_parse(c, &cmd, opts, argc, argv, &file, NULL);
  if (prc != 0)
    return CLI_EXIT(prc);
  int json = c->json;
  if (dir == NULL && strcmp(c->dir, ".") != 0)
    dir = c->dir; /* docket --dir DIR restore FILE */
  if (dir == NULL)
    return cli_command_usage_error(&cmd, opts, _("--%s is required"), "dir");
  int e = dir_empty(dir);
  if (e < 0)
    return cli_error(_("cannot read %s: %s"), dir, strerror(errno));
  if (e == 0)
    return cli_error(_("%s is not empty: restore writes only into an empty or new directory"), dir);
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return cli_error(_("cannot read %s: %s"), file, strerror(errno));
  struct stat sb;
  uint8_t head[HEAD_BYTES + 8], key[DK_KEYFILE_BYTES], lenb[8], sum[32], want[32];
  int out = 0, rc;
  uint64_t klen = 0, dblen = 0;
  const char *bad = NULL;
  if (fstat(fd, &sb) != 0 || read_all(fd, head, sizeof(head)) != 0 ||
      memcmp(head, MAGIC, 14) != 0)
    bad = _("not a docket backup");
  else if (((uint32_t)head[14] << 24 | (uint32_t)head[15] << 16 | (uint32_t)head[16] << 8 |
            head[17]) != BACKUP_VERSION)
    bad = _("a backup of another format version");
  if (bad == NULL) {
    klen = get_be64(head + HEAD_BYTES);
    if (klen != DK_KEYFILE_BYTES || read_all(fd, key, sizeof(key)) != 0 ||
        dk_keyfile_check(key, sizeof(key)) != 0)
      bad = _("its key file is damaged");
  }
  if (bad == NULL) {
    /* Never trust the stated store length past what the file holds. */
    if (read_all(fd, lenb, 8) != 0)
      bad = _("it is cut short");
    dblen = get_be64(lenb);
    uint64_t fixed = sizeof(head) + DK_KEYFILE_BYTES + 8 + 32;
    if (bad == NULL && (dblen == 0 || (uint64_t)sb.st_size != fixed + dblen))
      bad = _("it is cut short or has bytes added");
  }
  if (bad == NULL) {
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, head, sizeof(head));
    crypto_generichash_update(&h, key, sizeof(key));
    crypto_generichash_update(&h, lenb, 8);
    rc = copy_bytes(fd, -1, dblen, &h);
    crypto_generichash_final(&h, want, sizeof(want));
    if (rc != 0 || read_all(fd, sum, sizeof(sum)) != 0 || sodium_memcmp(sum, want, 32) != 0)
      bad = _("it is damaged (its checksum does not match)");
  }
  if (bad) {
    close(fd);
    return cli_error(_("%s: %s; nothing was written"), file, bad);
  }
  /* Checked: now write, into the empty directory. */
  char path[4200];
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    close(fd);
    return cli_error(_("cannot create %s: %s"), dir, strerror(errno));
  }
  snprintf(path, sizeof(path), "%s/key", dir);
  rc = write_file(path, -1, sizeof(key), key);
  if (rc == 0 && lseek(fd, (off_t)(sizeof(head) + sizeof(key) + 8), SEEK_SET) < 0)
    rc = DK_EIO;
  snprintf(path, sizeof(path), "%s/data.mdb", dir);
  if (rc == 0)
    rc = write_file(path, fd, dblen, NULL);
  close(fd);
  sodium_memzero(key, sizeof(key));
  if (rc != 0) {
    out = cli_fail(rc, _("cannot write the restored node"));
    goto undo;
  }
  /* The copy must open as a node. */
  dk_node *n = NULL;
  rc = dk_node_open(dir, NULL, 0, &n);
  if (rc != 0) {
    out = cli_fail(rc, _("the restored store does not open"));
    goto undo;
  }
  /* It may lack entries it wrote after the backup, which its parent holds:
   * it writes nothing until a sync has brought them back (TRUST.md). */
  rc = dk_node_mark_restored(n);
  if (rc != 0) {
    dk_node_close(n);
    out = cli_fail(rc, _("cannot mark the restored node"));
    goto undo;
  }
  char hex[DK_PK_BYTES * 2 + 1];
  dk_hex(dk_node_pk(n), DK_PK_BYTES, hex);
  const struct dk_node_config *cfg = dk_node_config(n);
  if (json)
    out = cli_print_json(json_pack("{s:s, s:s, s:s, s:s}", "dir", dir, "key", hex, "office",
                                   cfg->office, "role", dk_office_role_name(cfg->role)));
  else
    printf(_("restored %s (%s) into %s\nrun 'docket sync' on it before writing: it first gets "
           "back from its parent\nwhat it wrote after the backup\n"),
           cfg->office, dk_office_role_name(cfg->role), dir);
  dk_node_close(n);
  return out;
undo:
  snprintf(path, sizeof(path), "%s/key", dir);
  unlink(path);
  snprintf(path, sizeof(path), "%s/data.mdb", dir);
  unlink(path);
  snprintf(path, sizeof(path), "%s/lock.mdb", dir);
  unlink(path);
  return out;
}
