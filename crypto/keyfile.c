#include "crypto/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fault.h"
#include "common/limits.h"

static const uint8_t MAGIC[8] = {'D', 'K', 'K', 'E', 'Y', 0, 0, 1};
#define PARAMS_BYTES 64 /* magic, opslimit, memlimit, salt, nonce */

/* Bounds on parameters read from a file, so a crafted keyfile cannot make us
 * spend minutes or gigabytes. */
#define OPSLIMIT_MAX 16ull
#define MEMLIMIT_MAX (1ull << 30)

int dk_secrets_init(struct dk_secrets *s) {
  s->seed = sodium_malloc(DK_SEED_BYTES);
  s->storage_key = sodium_malloc(DK_SYMKEY_BYTES);
  if (!s->seed || !s->storage_key) {
    dk_secrets_release(s);
    return DK_ENOMEM;
  }
  return 0;
}

void dk_secrets_release(struct dk_secrets *s) {
  sodium_free(s->seed);
  sodium_free(s->storage_key);
  s->seed = s->storage_key = NULL;
}

static int derive(uint8_t *key, const char *pass, size_t plen, const uint8_t *salt,
                  uint64_t ops, uint64_t mem) {
  if (crypto_pwhash(key, DK_SYMKEY_BYTES, pass, plen, salt, ops, (size_t)mem,
                    crypto_pwhash_ALG_ARGON2ID13) != 0)
    return DK_ENOMEM;
  return 0;
}

static void make_ad(uint8_t *ad, const uint8_t *params) {
  memcpy(ad, DK_DOMAIN_KEYFILE_AD, sizeof(DK_DOMAIN_KEYFILE_AD));
  memcpy(ad + sizeof(DK_DOMAIN_KEYFILE_AD), params, PARAMS_BYTES);
}

static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return errno == ENOSPC ? DK_ENOSPC : DK_EIO;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int sync_dir_of(const char *path) {
  char dir[4096];
  const char *slash = strrchr(path, '/');
  size_t len = slash ? (size_t)(slash - path) : 1;
  if (len >= sizeof(dir))
    return DK_EINVAL;
  memcpy(dir, slash ? path : ".", len);
  dir[len] = 0;
  if (len == 0)
    strcpy(dir, "/");
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return DK_EIO;
  int rc = fsync(fd) == 0 ? 0 : DK_EIO;
  close(fd);
  return rc;
}

int dk_keyfile_check(const uint8_t *bytes, size_t len) {
  return len == DK_KEYFILE_BYTES && memcmp(bytes, MAGIC, sizeof(MAGIC)) == 0 ? 0 : DK_EFORMAT;
}

int dk_keyfile_rekey(const char *path, const char *old_pass, size_t old_len,
                     const char *new_pass, size_t new_len) {
  struct dk_secrets sec = {0};
  int rc = dk_secrets_init(&sec);
  if (rc == 0)
    rc = dk_keyfile_read(path, old_pass, old_len, &sec);
  if (rc == 0)
    rc = dk_keyfile_write(path, new_pass, new_len, &sec);
  dk_secrets_release(&sec);
  return rc;
}

int dk_keyfile_write(const char *path, const char *passphrase, size_t passphrase_len,
                     const struct dk_secrets *s) {
  uint8_t file[DK_KEYFILE_BYTES];
  uint8_t ad[sizeof(DK_DOMAIN_KEYFILE_AD) + PARAMS_BYTES];
  uint8_t *key = sodium_malloc(DK_SYMKEY_BYTES);
  uint8_t *plain = sodium_malloc(64);
  char tmp[4096];
  int fd = -1, rc = DK_ENOMEM;
  if (!key || !plain)
    goto out;
  rc = DK_EINVAL;
  if (passphrase_len > DK_PASSPHRASE_BYTES_MAX ||
      snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
    goto out;

  uint64_t ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
  uint64_t mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
  if (dk_fault_cheap_kdf != 0 && dk_fault_cheap_kdf()) {
    ops = crypto_pwhash_OPSLIMIT_MIN;
    mem = crypto_pwhash_MEMLIMIT_MIN;
  }
  memcpy(file, MAGIC, 8);
  dk_be64_put(file + 8, ops);
  dk_be64_put(file + 16, mem);
  randombytes_buf(file + 24, 16);
  randombytes_buf(file + 40, 24);
  rc = derive(key, passphrase, passphrase_len, file + 24, ops, mem);
  if (rc != 0)
    goto out;
  memcpy(plain, s->seed, 32);
  memcpy(plain + 32, s->storage_key, 32);
  make_ad(ad, file);
  unsigned long long clen;
  rc = DK_ECRYPTO;
  if (crypto_aead_xchacha20poly1305_ietf_encrypt(file + PARAMS_BYTES, &clen, plain, 64, ad,
                                                 sizeof(ad), NULL, file + 40, key) != 0)
    goto out;

  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  rc = DK_EIO;
  if (fd < 0)
    goto out;
  rc = write_all(fd, file, sizeof(file));
  if (rc != 0)
    goto out;
  if (fsync(fd) != 0) {
    rc = DK_EIO;
    goto out;
  }
  close(fd);
  fd = -1;
  if (rename(tmp, path) != 0) {
    unlink(tmp);
    rc = DK_EIO;
    goto out;
  }
  /* The rename is durable only once the directory is. */
  rc = sync_dir_of(path);
out:
  if (fd >= 0) {
    close(fd);
    unlink(tmp);
  }
  sodium_free(key);
  sodium_free(plain);
  return rc;
}

int dk_keyfile_read(const char *path, const char *passphrase, size_t passphrase_len,
                    struct dk_secrets *s) {
  uint8_t file[DK_KEYFILE_BYTES + 1];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? DK_ENOTFOUND : DK_EIO;
  size_t got = 0;
  while (got < sizeof(file)) {
    ssize_t r = read(fd, file + got, sizeof(file) - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      close(fd);
      return DK_EIO;
    }
    if (r == 0)
      break;
    got += (size_t)r;
  }
  close(fd);
  int rc = dk_keyfile_decode(file, got, passphrase, passphrase_len, s);
  sodium_memzero(file, sizeof(file));
  return rc;
}

int dk_keyfile_decode(const uint8_t *file, size_t got, const char *passphrase,
                      size_t passphrase_len, struct dk_secrets *s) {
  uint8_t ad[sizeof(DK_DOMAIN_KEYFILE_AD) + PARAMS_BYTES];
  uint8_t *key = NULL, *plain = NULL;
  int rc;
  if (got != DK_KEYFILE_BYTES || memcmp(file, MAGIC, 8) != 0)
    return DK_EFORMAT;
  uint64_t ops = dk_be64_get(file + 8), mem = dk_be64_get(file + 16);
  if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > OPSLIMIT_MAX || mem < crypto_pwhash_MEMLIMIT_MIN ||
      mem > MEMLIMIT_MAX)
    return DK_EFORMAT;
  if (passphrase_len > DK_PASSPHRASE_BYTES_MAX)
    return DK_EPASSPHRASE;

  key = sodium_malloc(DK_SYMKEY_BYTES);
  plain = sodium_malloc(64);
  rc = DK_ENOMEM;
  if (!key || !plain)
    goto out;
  rc = derive(key, passphrase, passphrase_len, file + 24, ops, mem);
  if (rc != 0)
    goto out;
  make_ad(ad, file);
  unsigned long long mlen;
  rc = DK_EPASSPHRASE;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &mlen, NULL, file + PARAMS_BYTES,
                                                 DK_KEYFILE_BYTES - PARAMS_BYTES, ad, sizeof(ad),
                                                 file + 40, key) != 0 ||
      mlen != 64)
    goto out;
  memcpy(s->seed, plain, 32);
  memcpy(s->storage_key, plain + 32, 32);
  rc = 0;
out:
  sodium_free(key);
  sodium_free(plain);
  return rc;
}
