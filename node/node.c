#include "node/node_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/error.h"
#include "common/fault.h"
#include "crypto/keyfile.h"
#include "node/cases/cases_int.h"
#include "node/ingest/index.h"
#include "node/log/log.h"
#include "node/log/log_int.h"
#include "node/upgrade_int.h"

static uint64_t wall_clock_ms(void *ctx) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
  if (dk_fault_clock_shift_ms != 0)
    ms += dk_fault_clock_shift_ms(); /* test builds only (common/fault.h) */
  return ms;
}

struct create_ctx {
  const struct dk_node_config *cfg;
  const uint8_t *pk;
  const struct dk_identity *id;
  uint64_t now_ms;
  int rebuild; /* an existing key: its log comes back from the parent */
};

static int create_fn(struct dk_txn *t, void *arg) {
  struct create_ctx *c = arg;
  char fmt[8];
  snprintf(fmt, sizeof(fmt), "%d", DK_STORE_FORMAT);
  const uint8_t *v;
  size_t vlen;
  if (dk_txn_get(t, DK_T_META, DK_META_PK, strlen(DK_META_PK), &v, &vlen) == 0)
    return DK_EEXIST;
  int rc = dk__meta_put_str(t, DK_META_FORMAT, fmt);
  if (rc == 0)
    rc = dk_txn_put(t, DK_T_META, DK_META_PK, strlen(DK_META_PK), c->pk, DK_PK_BYTES);
  if (rc == 0)
    rc = dk__meta_put_str(t, DK_META_OFFICE, c->cfg->office);
  if (rc == 0)
    rc = dk__meta_put_str(t, DK_META_CODE, c->cfg->code);
  if (rc == 0)
    rc = dk__meta_put_str(t, DK_META_ROLE, dk_office_role_name(c->cfg->role));
  if (rc == 0)
    rc = dk__meta_put_str(t, DK_META_LISTEN, c->cfg->listen);
  if (rc == 0 && c->rebuild)
    return dk__restored_set(t); /* no seq 1: the log exists at the parent */
  /* Seq 1 of the log says whose log it is. */
  struct dk_office_info info;
  memset(&info, 0, sizeof(info));
  strcpy(info.office, c->cfg->office);
  strcpy(info.role, dk_office_role_name(c->cfg->role));
  strcpy(info.code, c->cfg->code);
  struct dk_buf body;
  dk_buf_init(&body);
  struct dk_entry e;
  if (rc == 0)
    rc = dk_office_body_encode(&info, &body);
  if (rc == 0)
    rc = dk_log_append(t, c->id, DK_ENTRY_OFFICE, NULL, body.data, body.len, c->now_ms, &e);
  if (rc == 0)
    rc = dk_txn_put(t, DK_T_LOGS, c->pk, DK_PK_BYTES, body.data, body.len);
  dk_buf_release(&body);
  return rc;
}

static int path_join(char *out, size_t cap, const char *dir, const char *name) {
  return snprintf(out, cap, "%s/%s", dir, name) < (int)cap ? 0 : DK_EINVAL;
}

static int node_create(const char *dir, const struct dk_node_config *cfg, const char *passphrase,
                       size_t passphrase_len, const char *key_file, uint8_t pk_out[DK_PK_BYTES]);

static int mkdir_error(int err) {
  switch (err) {
  case ENOSPC:
  case EDQUOT:
    return DK_ENOSPC;
  case EACCES:
  case EPERM:
  case EROFS:
    return DK_EACCES;
  case ENOENT: /* a parent that cannot be made, as under /proc */
  case ENOTDIR:
  case ENAMETOOLONG:
  case ELOOP:
    return DK_EINVAL;
  default:
    return DK_EIO;
  }
}

/* Creates dir and any missing parent folders (0700), as `mkdir -p` does:
 * an office gives a folder that may not exist yet. */
static int mkdir_parents(const char *dir) {
  char path[4096];
  size_t len = strlen(dir);
  if (len == 0 || len >= sizeof(path))
    return DK_EINVAL;
  memcpy(path, dir, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (path[i] != '/' && path[i] != 0)
      continue;
    char c = path[i];
    path[i] = 0;
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
      return mkdir_error(errno);
    path[i] = c;
  }
  struct stat st;
  if (stat(dir, &st) != 0)
    return mkdir_error(errno);
  return S_ISDIR(st.st_mode) ? 0 : DK_EINVAL;
}

int dk_node_create(const char *dir, const struct dk_node_config *cfg, const char *passphrase,
                   size_t passphrase_len, uint8_t pk_out[DK_PK_BYTES]) {
  return node_create(dir, cfg, passphrase, passphrase_len, NULL, pk_out);
}

int dk_node_rebuild(const char *dir, const struct dk_node_config *cfg, const char *key_file,
                    const char *passphrase, size_t passphrase_len, uint8_t pk_out[DK_PK_BYTES]) {
  return node_create(dir, cfg, passphrase, passphrase_len, key_file, pk_out);
}

static int node_create(const char *dir, const struct dk_node_config *cfg, const char *passphrase,
                       size_t passphrase_len, const char *key_file, uint8_t pk_out[DK_PK_BYTES]) {
  char keypath[4200], datapath[4200];
  struct dk_secrets sec = {0};
  struct dk_identity id = {0};
  dk_store *store = NULL;
  int rc;

  if (!dk_office_valid(cfg->office) || cfg->code[0] == 0 || cfg->role < DK_OFFICE_DISTRICT ||
      cfg->role > DK_OFFICE_AUDITOR)
    return DK_EINVAL;
  if (path_join(keypath, sizeof(keypath), dir, "key") != 0 ||
      path_join(datapath, sizeof(datapath), dir, "data.mdb") != 0)
    return DK_EINVAL;
  struct stat st;
  if (stat(keypath, &st) == 0 || stat(datapath, &st) == 0)
    return DK_EEXIST;
  rc = mkdir_parents(dir);
  if (rc != 0)
    return rc;

  rc = dk_secrets_init(&sec);
  if (rc != 0)
    goto out;
  if (key_file) {
    /* The office's own key (its keys, not a copy of its store): the
     * passphrase must open it. */
    rc = dk_keyfile_read(key_file, passphrase, passphrase_len, &sec);
    if (rc != 0)
      goto out;
  } else {
    randombytes_buf(sec.seed, DK_SEED_BYTES);
    randombytes_buf(sec.storage_key, DK_SYMKEY_BYTES);
  }
  rc = dk_identity_from_seed(&id, sec.seed);
  if (rc != 0)
    goto out;
  /* The keyfile first: a store without its key would be useless. */
  rc = dk_keyfile_write(keypath, passphrase, passphrase_len, &sec);
  if (rc != 0)
    goto out;
  rc = dk_store_open(dir, DK_STORE_CREATE, &store);
  if (rc != 0)
    goto out;
  struct create_ctx c = {cfg, id.pk, &id, wall_clock_ms(NULL), key_file != NULL};
  rc = dk_store_write(store, create_fn, &c);
  if (rc != 0)
    goto out;
  memcpy(pk_out, id.pk, DK_PK_BYTES);
out:
  dk_store_close(store);
  dk_identity_release(&id);
  dk_secrets_release(&sec);
  return rc;
}

static int load_u64_days(struct dk_txn *t, const char *key, uint64_t *ms) {
  char buf[32];
  int rc = dk__meta_get_str(t, key, buf, sizeof(buf));
  if (rc == DK_ENOTFOUND)
    return 0;
  if (rc != 0)
    return rc;
  char *end;
  unsigned long long days = strtoull(buf, &end, 10);
  if (*end != 0 || days == 0 || days > 3650)
    return DK_EFORMAT;
  *ms = days * 86400000ull;
  return 0;
}

static const char *const DEADLINE_KEYS[3] = {"deadline.clinic", "deadline.emergency",
                                             "deadline.joint"};

static int load_config(dk_node *n) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  char fmt[8], role[32];
  const uint8_t *v;
  size_t vlen;
  rc = dk__meta_get_str(&t, DK_META_FORMAT, fmt, sizeof(fmt));
  if (rc == DK_ENOTFOUND) {
    rc = DK_ENOTINIT;
    goto out;
  }
  if (rc != 0)
    goto out;
  int format = atoi(fmt);
  if (format == 1) {
    n->upgrade_needed = 1; /* after the key is unlocked: dk_node_open */
  } else if (format != DK_STORE_FORMAT) {
    /* A newer docket wrote it (or it is not a store of ours): never guess. */
    dk_node_logf(n, DK_LOG_ERROR,
                 "the store in %s has format %s; this docket reads formats 1 and %d: "
                 "use a newer docket",
                 n->dir, fmt, DK_STORE_FORMAT);
    rc = DK_EVERSION;
    goto out;
  }
  rc = dk_txn_get(&t, DK_T_META, DK_META_PK, strlen(DK_META_PK), &v, &vlen);
  if (rc == 0 && vlen != DK_PK_BYTES)
    rc = DK_EFORMAT;
  if (rc != 0)
    goto out;
  memcpy(n->pk, v, DK_PK_BYTES);
  if ((rc = dk__meta_get_str(&t, DK_META_OFFICE, n->cfg.office, sizeof(n->cfg.office))) != 0 ||
      (rc = dk__meta_get_str(&t, DK_META_CODE, n->cfg.code, sizeof(n->cfg.code))) != 0 ||
      (rc = dk__meta_get_str(&t, DK_META_ROLE, role, sizeof(role))) != 0 ||
      (rc = dk__meta_get_str(&t, DK_META_LISTEN, n->cfg.listen, sizeof(n->cfg.listen))) != 0)
    goto out;
  rc = dk_office_role_parse(role, &n->cfg.role);
  if (rc != 0) {
    rc = DK_EFORMAT;
    goto out;
  }
  n->case_cfg = dk_case_config_default();
  for (int i = 0; i < 3 && rc == 0; i++)
    rc = load_u64_days(&t, DEADLINE_KEYS[i], &n->case_cfg.deadline_ms[i]);
out:
  dk_store_read_end(&t);
  return rc;
}

int dk_node_open(const char *dir, const char *passphrase, size_t passphrase_len, dk_node **out) {
  return dk_node_open_logged(dir, passphrase, passphrase_len, NULL, NULL, DK_LOG_ERROR, out);
}

int dk_node_open_logged(const char *dir, const char *passphrase, size_t passphrase_len,
                        dk_log_fn log, void *log_ctx, enum dk_log_level level, dk_node **out) {
  struct dk_secrets sec = {0};
  int rc;
  dk_node *n = calloc(1, sizeof(*n));
  if (n == NULL)
    return DK_ENOMEM;
  n->now_ms = wall_clock_ms;
  n->log = log;
  n->log_ctx = log_ctx;
  n->log_level = level;
  dk_buf_init_secure(&n->scratch_event);
  dk_buf_init_secure(&n->scratch_state);
  if (strlen(dir) >= sizeof(n->dir)) {
    rc = DK_EINVAL;
    goto out;
  }
  strcpy(n->dir, dir);
  rc = dk_store_open(dir, 0, &n->store);
  if (rc != 0)
    goto out;
  rc = load_config(n);
  if (rc != 0)
    goto out;
  if (passphrase != NULL) {
    char keypath[4200];
    rc = path_join(keypath, sizeof(keypath), dir, "key");
    if (rc != 0)
      goto out;
    rc = dk_secrets_init(&sec);
    if (rc != 0)
      goto out;
    rc = dk_keyfile_read(keypath, passphrase, passphrase_len, &sec);
    if (rc == DK_ENOTFOUND)
      rc = DK_ENOTINIT;
    if (rc != 0)
      goto out;
    rc = dk_identity_from_seed(&n->id, sec.seed);
    if (rc != 0)
      goto out;
    if (memcmp(n->id.pk, n->pk, DK_PK_BYTES) != 0) {
      rc = DK_EPASSPHRASE; /* a keyfile from another node */
      goto out;
    }
    n->storage_key = sodium_malloc(DK_SYMKEY_BYTES);
    n->tmp_keys = sodium_malloc(2 * DK_SYMKEY_BYTES);
    if (n->storage_key == NULL || n->tmp_keys == NULL) {
      rc = DK_ENOMEM;
      goto out;
    }
    memcpy(n->storage_key, sec.storage_key, DK_SYMKEY_BYTES);
    n->unlocked = 1;
  }
  if (n->upgrade_needed) {
    rc = dk__store_upgrade(n);
    if (rc != 0)
      goto out;
    n->upgrade_needed = 0;
  }
  if (n->unlocked) {
    /* An ingest that stopped before its indexing (a crash, a deferred
     * burst) is indexed now, so that reads see it. */
    uint64_t lag = 0;
    rc = dk_node_index_lag(n, &lag);
    if (rc == 0 && lag > 0)
      rc = dk_node_index_run(n);
    if (rc == 0)
      rc = dk__report_rows_fill(n);
    if (rc != 0)
      goto out;
  }
  *out = n;
  n = NULL;
out:
  dk_secrets_release(&sec);
  if (n)
    dk_node_close(n);
  return rc;
}

int dk_node_store_copy(dk_node *n, int fd) { return dk_store_copy_compact(n->store, fd); }

void dk_node_close(dk_node *n) {
  if (n == NULL)
    return;
  dk_store_close(n->store);
  dk_identity_release(&n->id);
  sodium_free(n->storage_key);
  sodium_free(n->shared_keys);
  sodium_free(n->tmp_keys);
  dk_buf_release(&n->scratch_event);
  dk_buf_release(&n->scratch_state);
  free(n->unerased);
  free(n->peer_keys);
  free(n);
}

void dk_node_set_clock(dk_node *n, uint64_t (*now_ms)(void *ctx), void *ctx) {
  n->now_ms = now_ms ? now_ms : wall_clock_ms;
  n->now_ctx = ctx;
}

void dk_node_set_log(dk_node *n, dk_log_fn fn, void *ctx, enum dk_log_level level) {
  n->log = fn;
  n->log_ctx = ctx;
  n->log_level = level;
}

struct setting_ctx {
  const char *key, *value;
};

static int setting_fn(struct dk_txn *t, void *arg) {
  struct setting_ctx *c = arg;
  return dk__meta_put_str(t, c->key, c->value);
}

int dk_node_setting_set(dk_node *n, const char *key, const char *value) {
  int idx = -1;
  for (int i = 0; i < 3; i++)
    if (strcmp(key, DEADLINE_KEYS[i]) == 0)
      idx = i;
  if (idx < 0)
    return DK_EINVAL;
  char *end;
  unsigned long long days = strtoull(value, &end, 10);
  if (*value == 0 || *end != 0 || days == 0 || days > 3650)
    return DK_EINVAL;
  struct setting_ctx c = {key, value};
  int rc = dk_store_write(n->store, setting_fn, &c);
  if (rc == 0)
    n->case_cfg.deadline_ms[idx] = days * 86400000ull;
  return rc;
}

int dk_node_setting_list(dk_node *n, int (*cb)(void *ctx, const char *key, const char *value),
                         void *ctx) {
  char buf[32];
  for (int i = 0; i < 3; i++) {
    snprintf(buf, sizeof(buf), "%llu",
             (unsigned long long)(n->case_cfg.deadline_ms[i] / 86400000ull));
    int rc = cb(ctx, DEADLINE_KEYS[i], buf);
    if (rc != 0)
      return rc;
  }
  return 0;
}

int dk_node_stats(dk_node *n, struct dk_node_stats *out) {
  struct dk_txn t;
  int rc = dk_store_read_begin(n->store, &t);
  if (rc != 0)
    return rc;
  memset(out, 0, sizeof(*out));
  struct dk_head h;
  if ((rc = dk_txn_count(&t, DK_T_HEADS, &out->logs)) == 0 &&
      (rc = dk_txn_count(&t, DK_T_ENTRIES, &out->entries)) == 0 &&
      (rc = dk_txn_count(&t, DK_T_CASES, &out->cases)) == 0 &&
      (rc = dk_log_head(&t, n->pk, &h)) == 0)
    out->own_seq = h.seq;
  uint64_t cur, end;
  if (rc == 0 && (rc = dk__index_cursor(&t, &cur)) == 0 && (rc = dk_log_end(&t, &end)) == 0)
    out->index_lag = end > cur ? end - cur : 0;
  dk_store_read_end(&t);
  return rc;
}
