#include "node/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "common/error.h"
#include "common/fault.h"
#include "common/limits.h"

static const char *const TABLE_NAMES[DK_T_COUNT] = {
    /* Format 2 names the position-keyed log tables anew, so that a format-1
     * store's "entries", "bodies" and "ids" stay readable for the upgrade. */
    "meta",      "log_entries", "log_bodies", "case_opens", "heads", "cases",
    "case_events", "case_keys", "numbers",  "counters",   "forks", "peers",
    "cursors",   "logs",        "grants",   "trust",      "runs",  "indexers",
};

struct dk_store {
  MDB_env *env;
  MDB_dbi dbi[DK_T_COUNT];
  char dir[4096];
};

/* Translates an LMDB or errno code into a DK_E* code. EIO from a commit is
 * how LMDB reports a full disk, so look at the file system before saying. */
static int translate(const dk_store *s, int mrc) {
  switch (mrc) {
  case 0:
    return 0;
  case MDB_NOTFOUND:
    return DK_ENOTFOUND;
  case MDB_KEYEXIST:
    return DK_EEXIST;
  case MDB_MAP_FULL:
    return DK_EMAPFULL;
  case ENOMEM:
    return DK_ENOMEM;
  case ENOSPC:
    return DK_ENOSPC;
  case EIO: {
    struct statvfs vfs;
    if (s && statvfs(s->dir, &vfs) == 0 && vfs.f_bavail < 16)
      return DK_ENOSPC;
    return DK_EIO;
  }
  case EACCES:
  case EAGAIN:
  case EBUSY:
    return DK_ELOCKED;
  default:
    return DK_ESTORE;
  }
}

const char *dk_store_dir(const dk_store *s) { return s->dir; }

int dk_store_open(const char *dir, int create, dk_store **out) {
  int rc, mrc;
  MDB_txn *txn = NULL;
  dk_store *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return DK_ENOMEM;
  if (strlen(dir) >= sizeof(s->dir)) {
    free(s);
    return DK_EINVAL;
  }
  strcpy(s->dir, dir);
  struct stat st;
  if (!create) {
    char path[4200];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    if (stat(path, &st) != 0) {
      free(s);
      return DK_ENOTINIT;
    }
  }

  mrc = mdb_env_create(&s->env);
  if (mrc != 0)
    goto fail;
  mrc = mdb_env_set_maxdbs(s->env, DK_T_COUNT + 4);
  if (mrc != 0)
    goto fail;
  /* A larger existing map is kept (LMDB adopts the file's size when it is
   * bigger than what we set). */
  mrc = mdb_env_set_mapsize(s->env, DK_MAP_BYTES_INITIAL);
  if (mrc != 0)
    goto fail;
  mrc = mdb_env_set_maxreaders(s->env, 126);
  if (mrc != 0)
    goto fail;
  /* MDB_NOTLS: read transactions are tied to our struct, not the thread, so
   * the transport thread and worker threads may use them. Never NOSYNC or
   * WRITEMAP: the log must be durable when a commit returns. */
  mrc = mdb_env_open(s->env, dir, MDB_NOTLS, 0600);
  if (mrc != 0)
    goto fail;
  int dead = 0;
  mrc = mdb_reader_check(s->env, &dead);
  if (mrc != 0)
    goto fail;

  mrc = mdb_txn_begin(s->env, NULL, 0, &txn);
  if (mrc != 0)
    goto fail;
  for (int i = 0; i < DK_T_COUNT; i++) {
    mrc = mdb_dbi_open(txn, TABLE_NAMES[i], MDB_CREATE, &s->dbi[i]);
    if (mrc != 0)
      goto fail;
  }
  mrc = mdb_txn_commit(txn);
  txn = NULL;
  if (mrc != 0)
    goto fail;
  *out = s;
  return 0;
fail:
  rc = translate(s, mrc);
  if (txn)
    mdb_txn_abort(txn);
  if (s->env)
    mdb_env_close(s->env);
  free(s);
  return rc;
}

int dk_store_copy_compact(dk_store *s, int fd) {
  int mrc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
  return mrc == 0 ? 0 : translate(s, mrc);
}

void dk_store_close(dk_store *s) {
  if (s == NULL)
    return;
  mdb_env_close(s->env);
  free(s);
}

static int begin(dk_store *s, int write, MDB_txn **txn) {
  for (int tries = 0; tries < 4; tries++) {
    int mrc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, txn);
    if (mrc == MDB_MAP_RESIZED) {
      /* Another process grew the map: adopt its size and try again. */
      mrc = mdb_env_set_mapsize(s->env, 0);
      if (mrc != 0)
        return translate(s, mrc);
      continue;
    }
    return translate(s, mrc);
  }
  return DK_ESTORE;
}

static int grow(dk_store *s) {
  MDB_envinfo info;
  int mrc = mdb_env_info(s->env, &info);
  if (mrc != 0)
    return translate(s, mrc);
  size_t next = info.me_mapsize * 2;
  if (next > DK_MAP_BYTES_MAX)
    return DK_EMAPFULL;
  return translate(s, mdb_env_set_mapsize(s->env, next));
}

int dk_store_write(dk_store *s, int (*fn)(struct dk_txn *t, void *ctx), void *ctx) {
  for (;;) {
    struct dk_txn t = {s, NULL, 1, 0};
    int rc = begin(s, 1, &t.txn);
    if (rc != 0)
      return rc;
    rc = fn(&t, ctx);
    if (rc == 0 && t.err != 0)
      rc = t.err; /* fn ignored an error: never commit a half-done write */
    if (rc != 0) {
      mdb_txn_abort(t.txn);
      if (rc == DK_EMAPFULL || t.err == DK_EMAPFULL) {
        rc = grow(s);
        if (rc != 0)
          return rc;
        continue;
      }
      return rc;
    }
    DK_FAULT("store-precommit"); /* written, not committed: a torn write */
    int mrc = mdb_txn_commit(t.txn);
    if (mrc == MDB_MAP_FULL) {
      rc = grow(s);
      if (rc != 0)
        return rc;
      continue;
    }
    return translate(s, mrc);
  }
}

int dk_store_read_begin(dk_store *s, struct dk_txn *t) {
  t->store = s;
  t->write = 0;
  t->err = 0;
  return begin(s, 0, &t->txn);
}

void dk_store_read_end(struct dk_txn *t) {
  if (t->txn)
    mdb_txn_abort(t->txn);
  t->txn = NULL;
}

static int fail(struct dk_txn *t, int rc) {
  if (t->err == 0)
    t->err = rc;
  return rc;
}

int dk_txn_get(struct dk_txn *t, enum dk_table tb, const void *key, size_t klen,
               const uint8_t **val, size_t *vlen) {
  if (t->err)
    return DK_ETXN;
  MDB_val k = {klen, (void *)key}, v;
  int mrc = mdb_get(t->txn, t->store->dbi[tb], &k, &v);
  if (mrc == MDB_NOTFOUND)
    return DK_ENOTFOUND;
  if (mrc != 0)
    return fail(t, translate(t->store, mrc));
  *val = v.mv_data;
  *vlen = v.mv_size;
  return 0;
}

static int put(struct dk_txn *t, enum dk_table tb, const void *key, size_t klen, const void *val,
               size_t vlen, unsigned flags) {
  if (t->err)
    return DK_ETXN;
  MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
  int mrc = mdb_put(t->txn, t->store->dbi[tb], &k, &v, flags);
  if (mrc == MDB_KEYEXIST)
    return DK_EEXIST;
  if (mrc != 0)
    return fail(t, translate(t->store, mrc));
  return 0;
}

int dk_txn_put(struct dk_txn *t, enum dk_table tb, const void *key, size_t klen, const void *val,
               size_t vlen) {
  return put(t, tb, key, klen, val, vlen, 0);
}

int dk_txn_append(struct dk_txn *t, enum dk_table tb, const void *key, size_t klen,
                  const void *val, size_t vlen) {
  return put(t, tb, key, klen, val, vlen, MDB_APPEND);
}

static int cursor_get(struct dk_txn *t, enum dk_table tb, MDB_val *k, MDB_val *v,
                      MDB_cursor_op op, int le) {
  if (t->err)
    return DK_ETXN;
  MDB_cursor *cur;
  int mrc = mdb_cursor_open(t->txn, t->store->dbi[tb], &cur);
  if (mrc != 0)
    return fail(t, translate(t->store, mrc));
  MDB_val want = *k;
  mrc = mdb_cursor_get(cur, k, v, op);
  if (le) {
    /* SET_RANGE found the first key >= want: step back unless it is equal. */
    if (mrc == MDB_NOTFOUND)
      mrc = mdb_cursor_get(cur, k, v, MDB_LAST);
    else if (mrc == 0 && (k->mv_size != want.mv_size ||
                          memcmp(k->mv_data, want.mv_data, want.mv_size) != 0))
      mrc = mdb_cursor_get(cur, k, v, MDB_PREV);
    if (mrc == 0 && (k->mv_size > want.mv_size ? memcmp(k->mv_data, want.mv_data, want.mv_size) > 0
                     : memcmp(k->mv_data, want.mv_data, k->mv_size) > 0))
      mrc = MDB_NOTFOUND; /* cannot happen with a sound tree */
  }
  mdb_cursor_close(cur);
  if (mrc == MDB_NOTFOUND)
    return DK_ENOTFOUND;
  if (mrc != 0)
    return fail(t, translate(t->store, mrc));
  return 0;
}

int dk_txn_last(struct dk_txn *t, enum dk_table tb, const uint8_t **key, size_t *klen,
                const uint8_t **val, size_t *vlen) {
  MDB_val k = {0, NULL}, v;
  int rc = cursor_get(t, tb, &k, &v, MDB_LAST, 0);
  if (rc != 0)
    return rc;
  *key = k.mv_data;
  *klen = k.mv_size;
  if (val) {
    *val = v.mv_data;
    *vlen = v.mv_size;
  }
  return 0;
}

int dk_txn_seek_le(struct dk_txn *t, enum dk_table tb, const void *key, size_t klen,
                   const uint8_t **kout, size_t *klen_out, const uint8_t **val, size_t *vlen) {
  MDB_val k = {klen, (void *)key}, v;
  int rc = cursor_get(t, tb, &k, &v, MDB_SET_RANGE, 1);
  if (rc != 0)
    return rc;
  *kout = k.mv_data;
  *klen_out = k.mv_size;
  if (val) {
    *val = v.mv_data;
    *vlen = v.mv_size;
  }
  return 0;
}

int dk_txn_clear(struct dk_txn *t, enum dk_table tb) {
  if (t->err)
    return DK_ETXN;
  int mrc = mdb_drop(t->txn, t->store->dbi[tb], 0);
  return mrc == 0 ? 0 : fail(t, translate(t->store, mrc));
}

int dk_iter_open_legacy(struct dk_txn *t, const char *name, struct dk_iter *it) {
  if (t->err)
    return DK_ETXN;
  MDB_dbi dbi;
  int mrc = mdb_dbi_open(t->txn, name, 0, &dbi);
  if (mrc == MDB_NOTFOUND)
    return DK_ENOTFOUND;
  if (mrc != 0)
    return fail(t, translate(t->store, mrc));
  memset(it, 0, sizeof(*it));
  it->t = t;
  mrc = mdb_cursor_open(t->txn, dbi, &it->cur);
  return mrc == 0 ? 0 : fail(t, translate(t->store, mrc));
}

int dk_txn_drop_legacy(struct dk_txn *t, const char *name) {
  if (t->err)
    return DK_ETXN;
  MDB_dbi dbi;
  int mrc = mdb_dbi_open(t->txn, name, 0, &dbi);
  if (mrc == MDB_NOTFOUND)
    return 0;
  if (mrc == 0)
    mrc = mdb_drop(t->txn, dbi, 1);
  return mrc == 0 ? 0 : fail(t, translate(t->store, mrc));
}

int dk_txn_put_new(struct dk_txn *t, enum dk_table tb, const void *key, size_t klen,
                   const void *val, size_t vlen) {
  return put(t, tb, key, klen, val, vlen, MDB_NOOVERWRITE);
}

int dk_txn_del(struct dk_txn *t, enum dk_table tb, const void *key, size_t klen) {
  if (t->err)
    return DK_ETXN;
  MDB_val k = {klen, (void *)key};
  int mrc = mdb_del(t->txn, t->store->dbi[tb], &k, NULL);
  if (mrc == MDB_NOTFOUND)
    return 0;
  if (mrc != 0)
    return fail(t, translate(t->store, mrc));
  return 0;
}

int dk_txn_del_prefix(struct dk_txn *t, enum dk_table tb, const void *prefix, size_t plen) {
  if (t->err)
    return DK_ETXN;
  if (plen == 0)
    return DK_EINVAL; /* dk_txn_clear empties a whole table */
  MDB_cursor *cur;
  int mrc = mdb_cursor_open(t->txn, t->store->dbi[tb], &cur);
  if (mrc != 0)
    return fail(t, translate(t->store, mrc));
  MDB_val k = {plen, (void *)prefix}, v;
  mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  while (mrc == 0 && k.mv_size >= plen && memcmp(k.mv_data, prefix, plen) == 0) {
    mrc = mdb_cursor_del(cur, 0);
    if (mrc == 0)
      mrc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
    if (mrc == EINVAL || mrc == MDB_NOTFOUND) /* deleted the last key */
      mrc = MDB_NOTFOUND;
  }
  mdb_cursor_close(cur);
  if (mrc != 0 && mrc != MDB_NOTFOUND)
    return fail(t, translate(t->store, mrc));
  return 0;
}

int dk_iter_open(struct dk_txn *t, enum dk_table tb, const void *prefix, size_t plen,
                 struct dk_iter *it) {
  if (t->err)
    return DK_ETXN;
  if (plen > sizeof(it->prefix))
    return DK_EINVAL;
  memset(it, 0, sizeof(*it));
  it->t = t;
  if (plen)
    memcpy(it->prefix, prefix, plen);
  it->plen = plen;
  int mrc = mdb_cursor_open(t->txn, t->store->dbi[tb], &it->cur);
  return mrc == 0 ? 0 : fail(t, translate(t->store, mrc));
}

int dk_iter_open_at(struct dk_txn *t, enum dk_table tb, const void *from, size_t flen,
                    struct dk_iter *it) {
  if (flen > sizeof(it->from))
    return DK_EINVAL;
  int rc = dk_iter_open(t, tb, NULL, 0, it);
  if (rc == 0) {
    memcpy(it->from, from, flen);
    it->flen = flen;
  }
  return rc;
}

int dk_iter_next(struct dk_iter *it, const uint8_t **key, size_t *klen, const uint8_t **val,
                 size_t *vlen) {
  MDB_val k = {it->plen, it->prefix}, v;
  int mrc;
  if (!it->started) {
    it->started = 1;
    if (it->flen) {
      k.mv_size = it->flen;
      k.mv_data = it->from;
    }
    mrc = it->plen || it->flen ? mdb_cursor_get(it->cur, &k, &v, MDB_SET_RANGE)
                               : mdb_cursor_get(it->cur, &k, &v, MDB_FIRST);
  } else {
    mrc = mdb_cursor_get(it->cur, &k, &v, MDB_NEXT);
  }
  if (mrc == MDB_NOTFOUND)
    return DK_ENOTFOUND;
  if (mrc != 0)
    return fail(it->t, translate(it->t->store, mrc));
  if (it->plen && (k.mv_size < it->plen || memcmp(k.mv_data, it->prefix, it->plen) != 0))
    return DK_ENOTFOUND;
  *key = k.mv_data;
  *klen = k.mv_size;
  if (val) {
    *val = v.mv_data;
    *vlen = v.mv_size;
  }
  return 0;
}

void dk_iter_close(struct dk_iter *it) {
  if (it->cur)
    mdb_cursor_close(it->cur);
  it->cur = NULL;
}

int dk_txn_count(struct dk_txn *t, enum dk_table tb, uint64_t *count) {
  MDB_stat st;
  int mrc = mdb_stat(t->txn, t->store->dbi[tb], &st);
  if (mrc != 0)
    return fail(t, translate(t->store, mrc));
  *count = st.ms_entries;
  return 0;
}

uint64_t dk_store_last_txn(dk_store *s) {
  MDB_envinfo info;
  if (mdb_env_info(s->env, &info) != 0)
    return 0;
  return (uint64_t)info.me_last_txnid;
}
