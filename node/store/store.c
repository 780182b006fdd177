#include "node/store/store.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
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
    "report_rows",
};

/* The shadow of each derived table (DK_SHADOWED): where `docket verify`
 * rebuilds derived state to compare it with the stored one. */
static const char *const SHADOW_PREFIX = "shadow:";
#define DK_SHADOWED                                                                           \
  ((1u << DK_T_META) | (1u << DK_T_CASE_OPENS) | (1u << DK_T_CASES) |                         \
   (1u << DK_T_CASE_EVENTS) | (1u << DK_T_CASE_KEYS) | (1u << DK_T_NUMBERS) |                 \
   (1u << DK_T_COUNTERS) | (1u << DK_T_GRANTS) | (1u << DK_T_TRUST) |                         \
   (1u << DK_T_INDEXERS) | (1u << DK_T_REPORT))

struct dk_store {
  MDB_env *env;
  MDB_dbi dbi[DK_T_COUNT];
  MDB_dbi shadow_dbi[DK_T_COUNT]; /* valid once shadow_open */
  int shadow_open;
  int readers; /* read transactions of this handle now open */
  int damaged; /* a page fault or LMDB assertion was confined: never write again */
  uint64_t used_bytes; /* of data.mdb, by its meta page at open */
  char dir[4096];
};

/*
 * Fault confinement. LMDB trusts its pages: a damaged page number, node
 * offset or page header sends it outside the map (SIGSEGV), past the end of
 * the file (SIGBUS), or into one of its assertions (abort). Each LMDB call
 * below runs under a guard: the fault handler jumps back to the call, which
 * returns DK_EDAMAGED, and the store is marked damaged, so that no write
 * transaction of this handle commits after it (what LMDB was doing when it
 * faulted is unknown). Faults anywhere else are not ours: the handler puts
 * the previous disposition back and the fault recurs as before.
 *
 * The guard is per thread (a thread-local pointer to the jump buffer), the
 * one piece of process state in node/: a signal handler has no other way to
 * reach its caller. The handler is installed once, when the first store is
 * opened. SA_NODEFER leaves the signal unblocked in the handler, so the jump
 * needs no saved signal mask and the guard costs no system call.
 */
#define GUARD_FAULTED (-1000000) /* an mrc no LMDB or errno code uses */
static _Thread_local sigjmp_buf *guard_jump;
static struct sigaction guard_old_segv, guard_old_bus;
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;

static void guard_on_fault(int sig, siginfo_t *si, void *uc) {
  (void)si;
  (void)uc;
  sigjmp_buf *j = guard_jump;
  if (j != NULL) {
    guard_jump = NULL;
    siglongjmp(*j, 1);
  }
  sigaction(sig, sig == SIGBUS ? &guard_old_bus : &guard_old_segv, NULL);
  raise(sig);
}

static void guard_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = guard_on_fault;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &guard_old_segv);
  sigaction(SIGBUS, &sa, &guard_old_bus);
}

/* LMDB's assertions on its own pages fail on damage: leave through the
 * guard instead of abort(). Outside a guard, LMDB aborts as it would. */
static void guard_on_assert(MDB_env *env, const char *msg) {
  (void)env;
  (void)msg;
  sigjmp_buf *j = guard_jump;
  if (j != NULL) {
    guard_jump = NULL;
    siglongjmp(*j, 1);
  }
}

/* GUARDED(s, mrc, call): mrc = call, or GUARD_FAULTED if it faulted. */
#define GUARDED(s, mrc, call)                                                              \
  do {                                                                                     \
    sigjmp_buf guard_buf_;                                                                 \
    sigjmp_buf *guard_prev_ = guard_jump;                                                  \
    if (sigsetjmp(guard_buf_, 0) == 0) {                                                   \
      guard_jump = &guard_buf_;                                                            \
      (mrc) = (call);                                                                      \
      guard_jump = guard_prev_;                                                            \
    } else {                                                                               \
      guard_jump = guard_prev_;                                                            \
      (s)->damaged = 1;                                                                    \
      (mrc) = GUARD_FAULTED;                                                               \
    }                                                                                      \
  } while (0)

/* Translates an LMDB or errno code into a DK_E* code. EIO from a commit is
 * how LMDB reports a full disk, so look at the file system before saying. */
static int translate(const dk_store *s, int mrc) {
  switch (mrc) {
  case 0:
    return 0;
  case GUARD_FAULTED:
  case MDB_CORRUPTED:
  case MDB_PAGE_NOTFOUND:
  case MDB_INVALID:
  case MDB_CURSOR_FULL: /* a tree deeper than LMDB builds: a page points back up */
    return DK_EDAMAGED;
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

uint64_t dk_store_used_bytes(const dk_store *s) { return s->used_bytes; }

uint64_t dk_txn_snapshot_id(const struct dk_txn *t) {
  return t->write || t->txn == NULL ? 0 : (uint64_t)mdb_txn_id(t->txn);
}

/* LMDB's last page lies past the end of data.mdb. Either the file was cut
 * short, or LMDB allocated pages at the end and gave them back in the same
 * transaction without writing them (a large value put and deleted again;
 * its free-list record saved twice): then every page past the end is in
 * the free list, is never read, and is written before any use. 1 when
 * every page from first to last is free; 0 when one is not, or the free
 * list cannot be read (every read guarded: its pages may be the missing
 * ones). */
static int tail_is_free(dk_store *s, uint64_t first, uint64_t last) {
  if (first > last || last - first >= ((uint64_t)1 << 26))
    return 0;
  size_t n = (size_t)(last - first + 1);
  volatile size_t seen = 0;
  uint8_t *free_map = calloc(n, 1);
  if (free_map == NULL)
    return 0;
  MDB_txn *t0 = NULL;
  MDB_cursor *c0 = NULL;
  volatile int mrc;
  GUARDED(s, mrc, mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t0));
  MDB_txn *volatile txn = mrc == 0 ? t0 : NULL;
  if (mrc == 0)
    GUARDED(s, mrc, mdb_cursor_open(txn, 0, &c0)); /* dbi 0: LMDB's free list */
  MDB_cursor *volatile cur = mrc == 0 ? c0 : NULL;
  MDB_val k, v;
  for (int op = MDB_FIRST; mrc == 0; op = MDB_NEXT) {
    GUARDED(s, mrc, mdb_cursor_get(cur, &k, &v, op));
    if (mrc != 0)
      break;
    /* A record: the count, then that many page numbers (MDB_IDL). */
    const uint8_t *p = v.mv_data;
    size_t words = v.mv_size / sizeof(size_t), count;
    if (words == 0)
      continue;
    memcpy(&count, p, sizeof(count));
    if (count > words - 1)
      break; /* not a free-list record: the tail is not shown to be free */
    for (size_t i = 1; i <= count; i++) {
      size_t pg;
      memcpy(&pg, p + i * sizeof(size_t), sizeof(pg));
      if (pg >= first && pg <= last && !free_map[pg - first]) {
        free_map[pg - first] = 1;
        seen++;
      }
    }
  }
  if (cur)
    mdb_cursor_close(cur);
  if (txn)
    mdb_txn_abort(txn);
  free(free_map);
  s->damaged = 0; /* a fault here answers 0, and the store is refused anyway */
  return mrc == MDB_NOTFOUND && seen == n;
}

int dk_store_open(const char *dir, int flags, dk_store **out) {
  int rc;
  volatile int mrc; /* set under GUARDED and read after it: kept out of registers */
  int create = flags & DK_STORE_CREATE;
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
  mrc = mdb_env_set_maxdbs(s->env, 2 * DK_T_COUNT + 4);
  if (mrc != 0)
    goto fail;
  /* A larger existing map is kept (LMDB adopts the file's size when it is
   * bigger than what we set). */
  size_t map = DK_MAP_BYTES_INITIAL;
  if (dk_fault_map_bytes != 0 && dk_fault_map_bytes() != 0)
    map = dk_fault_map_bytes(); /* unit tests only (common/fault.h) */
  mrc = mdb_env_set_mapsize(s->env, map);
  if (mrc != 0)
    goto fail;
  mrc = mdb_env_set_maxreaders(s->env, 126);
  if (mrc != 0)
    goto fail;
  /* MDB_NOTLS: read transactions are tied to our struct, not the thread, so
   * the transport thread and worker threads may use them. Never NOSYNC or
   * WRITEMAP: the log must be durable when a commit returns. */
  mdb_env_set_assert(s->env, guard_on_assert);
  pthread_once(&guard_once, guard_install);
  GUARDED(s, mrc, mdb_env_open(s->env, dir, MDB_NOTLS, 0600));
  if (mrc != 0)
    goto fail;
  /* LMDB maps the file and trusts its meta page: a page past the end of a
   * file cut short is a SIGBUS at its first read. Refuse the store here. */
  if (!create) {
    MDB_envinfo info;
    MDB_stat est;
    char path[4200];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    mrc = mdb_env_info(s->env, &info);
    if (mrc == 0)
      mrc = mdb_env_stat(s->env, &est);
    if (mrc != 0)
      goto fail;
    s->used_bytes = ((uint64_t)info.me_last_pgno + 1) * (uint64_t)est.ms_psize;
    if (stat(path, &st) != 0 ||
        ((uint64_t)st.st_size < s->used_bytes &&
         !tail_is_free(s, (uint64_t)st.st_size / est.ms_psize, info.me_last_pgno))) {
      mdb_env_close(s->env);
      free(s);
      return DK_EDAMAGED;
    }
  }
  int dead = 0;
  mrc = mdb_reader_check(s->env, &dead);
  if (mrc != 0)
    goto fail;

  GUARDED(s, mrc, mdb_txn_begin(s->env, NULL, 0, &txn));
  if (mrc != 0)
    goto fail;
  for (volatile int i = 0; i < DK_T_COUNT; i++) {
    GUARDED(s, mrc, mdb_dbi_open(txn, TABLE_NAMES[i], MDB_CREATE, &s->dbi[i]));
    if (mrc != 0)
      goto fail;
  }
  GUARDED(s, mrc, mdb_txn_commit(txn));
  txn = NULL;
  if (mrc != 0)
    goto fail;
  if (!create && !(flags & DK_STORE_UNCHECKED) && s->used_bytes <= DK_OPEN_WALK_BYTES_MAX) {
    /* A damaged page can make a read return something else than what is
     * stored (a case "not found", a table "malformed") and a write spill
     * past the heap page LMDB copies it into: no command uses the store
     * before its pages were checked. The walk reads every page once, so
     * only stores up to DK_OPEN_WALK_BYTES_MAX get it here. */
    uint64_t damaged = 0;
    rc = dk_store_check(s, NULL, NULL, &damaged);
    if (rc == 0 && damaged > 0)
      rc = DK_EDAMAGED;
    if (rc != 0) {
      dk_store_close(s);
      return rc;
    }
  }
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
  int mrc;
  GUARDED(s, mrc, mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT));
  return mrc == 0 ? 0 : translate(s, mrc);
}

void dk_store_close(dk_store *s) {
  if (s == NULL)
    return;
  mdb_env_close(s->env);
  free(s);
}

static int begin(dk_store *s, int write, MDB_txn **txn) {
  if (s->damaged)
    return DK_EDAMAGED;
  for (int tries = 0; tries < 4; tries++) {
    int mrc;
    GUARDED(s, mrc, mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, txn));
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
  /* mdb_env_set_mapsize() maps the file anew: a read transaction of this
   * process still open would read through the old mapping, and every value
   * it had handed out would point outside the new one. */
  if (s->readers > 0)
    return DK_EMAPFULL;
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
    struct dk_txn t = {s, NULL, 1, 0, NULL, NULL, 0};
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
    if (s->damaged) {
      /* LMDB faulted in this transaction: what it holds is unknown. */
      mdb_txn_abort(t.txn);
      return DK_EDAMAGED;
    }
    DK_FAULT("store-precommit"); /* written, not committed: a torn write */
    int mrc;
    GUARDED(s, mrc, mdb_txn_commit(t.txn));
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
  t->txn = NULL;
  t->map_lo = t->map_hi = NULL;
  t->shadow = 0;
  int rc = begin(s, 0, &t->txn);
  if (rc != 0)
    return rc;
  s->readers++;
  /* Values of a read transaction lie in the map, inside the file: the
   * bounds that in_file() checks every value and key against. The file
   * holds at least the pages of the newest meta (checked at open; LMDB
   * grows the file before it writes a meta page). */
  MDB_envinfo info;
  MDB_stat est;
  if (mdb_env_info(s->env, &info) == 0 && mdb_env_stat(s->env, &est) == 0) {
    /* LMDB does not say where it mapped the file (me_mapaddr is the fixed
     * address, NULL here). A key of the table of tables lies in a page of
     * the map, which is aligned to the page size, and that page's header
     * holds its number: the map starts that many pages before it. A
     * damaged number there puts the bounds elsewhere, and every read then
     * fails as damaged, which it is. */
    MDB_dbi main_dbi;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int mrc = mdb_dbi_open(t->txn, NULL, 0, &main_dbi);
    if (mrc == 0)
      mrc = mdb_cursor_open(t->txn, main_dbi, &cur);
    if (mrc == 0)
      GUARDED(s, mrc, mdb_cursor_get(cur, &k, &v, MDB_FIRST));
    if (cur)
      mdb_cursor_close(cur);
    if (mrc != 0) {
      dk_store_read_end(t);
      return mrc == MDB_NOTFOUND ? DK_EDAMAGED : translate(s, mrc);
    }
    uintptr_t page = (uintptr_t)k.mv_data & ~(uintptr_t)(est.ms_psize - 1);
    uint64_t pgno;
    memcpy(&pgno, (const void *)page, sizeof(pgno));
    size_t bytes = ((size_t)info.me_last_pgno + 1) * est.ms_psize;
    if (pgno > info.me_last_pgno || page < pgno * est.ms_psize) {
      dk_store_read_end(t);
      return DK_EDAMAGED;
    }
    t->map_lo = (const uint8_t *)(page - pgno * est.ms_psize);
    t->map_hi = t->map_lo + bytes;
  }
  return 0;
}

/* A read transaction's value or key that points outside the file comes
 * from a damaged node (its size or overflow page number): reading it would
 * fault in the caller, outside any guard. Dirty pages of a write
 * transaction live on the heap and are not checked. */
static int in_file(const struct dk_txn *t, const MDB_val *v) {
  if (t->map_lo == NULL || v->mv_size == 0)
    return 1;
  const uint8_t *p = v->mv_data;
  return p >= t->map_lo && p <= t->map_hi && v->mv_size <= (size_t)(t->map_hi - p);
}

void dk_store_read_end(struct dk_txn *t) {
  if (t->txn) {
    mdb_txn_abort(t->txn);
    t->store->readers--;
  }
  t->txn = NULL;
}

/* The table a call on t reaches: the shadow of a derived table in a shadow
 * view; in it, the log and the other tables are read-only. */
static int table_may(const struct dk_txn *t, enum dk_table tb, int writes) {
  if (!t->shadow)
    return 0;
  if (DK_SHADOWED & (1u << tb))
    return t->store->shadow_open ? 0 : DK_EINVAL;
  return writes ? DK_EROFS : 0;
}

static MDB_dbi table(const struct dk_txn *t, enum dk_table tb) {
  return t->shadow && (DK_SHADOWED & (1u << tb)) ? t->store->shadow_dbi[tb] : t->store->dbi[tb];
}

void dk_txn_shadow(struct dk_txn *t, int on) { t->shadow = on ? 1 : 0; }

int dk_txn_shadow_clear(struct dk_txn *t) {
  int rc = 0;
  int was = t->shadow;
  t->shadow = 1;
  for (int i = 0; i < DK_T_COUNT && rc == 0; i++)
    if (DK_SHADOWED & (1u << i))
      rc = dk_txn_clear(t, (enum dk_table)i);
  t->shadow = was;
  return rc;
}

static int fail(struct dk_txn *t, int rc) {
  if (t->err == 0)
    t->err = rc;
  return rc;
}

static int shadow_open_fn(struct dk_txn *t, void *arg) {
  (void)arg;
  dk_store *s = t->store;
  volatile int mrc = 0;
  for (volatile int i = 0; i < DK_T_COUNT && mrc == 0; i++) {
    if (!(DK_SHADOWED & (1u << i)))
      continue;
    char name[64];
    snprintf(name, sizeof(name), "%s%s", SHADOW_PREFIX, TABLE_NAMES[i]);
    GUARDED(s, mrc, mdb_dbi_open(t->txn, name, MDB_CREATE, &s->shadow_dbi[i]));
  }
  return mrc == 0 ? 0 : fail(t, translate(s, mrc)); /* a full map is grown, and retried */
}

int dk_store_shadow_open(dk_store *s) {
  if (s->shadow_open)
    return 0;
  int rc = dk_store_write(s, shadow_open_fn, NULL);
  if (rc == 0)
    s->shadow_open = 1;
  return rc;
}


int dk_txn_get(struct dk_txn *t, enum dk_table tb, const void *key, size_t klen,
               const uint8_t **val, size_t *vlen) {
  if (t->err)
    return DK_ETXN;
  MDB_val k = {klen, (void *)key}, v;
  int mrc = table_may(t, tb, 0);
  if (mrc != 0)
    return fail(t, mrc);
  GUARDED(t->store, mrc, mdb_get(t->txn, table(t, tb), &k, &v));
  if (mrc == 0 && !in_file(t, &v))
    mrc = MDB_CORRUPTED;
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
  int mrc = table_may(t, tb, 1);
  if (mrc != 0)
    return fail(t, mrc);
  GUARDED(t->store, mrc, mdb_put(t->txn, table(t, tb), &k, &v, flags));
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
  int mrc = table_may(t, tb, 0);
  if (mrc != 0)
    return fail(t, mrc);
  mrc = mdb_cursor_open(t->txn, table(t, tb), &cur);
  if (mrc != 0)
    return fail(t, translate(t->store, mrc));
  MDB_val want = *k;
  GUARDED(t->store, mrc, mdb_cursor_get(cur, k, v, op));
  if (mrc == 0 && (!in_file(t, k) || !in_file(t, v)))
    mrc = MDB_CORRUPTED;
  if (le) {
    /* SET_RANGE found the first key >= want: step back unless it is equal. */
    if (mrc == MDB_NOTFOUND)
      GUARDED(t->store, mrc, mdb_cursor_get(cur, k, v, MDB_LAST));
    else if (mrc == 0 && (k->mv_size != want.mv_size ||
                          memcmp(k->mv_data, want.mv_data, want.mv_size) != 0))
      GUARDED(t->store, mrc, mdb_cursor_get(cur, k, v, MDB_PREV));
    if (mrc == 0 && (!in_file(t, k) || !in_file(t, v)))
      mrc = MDB_CORRUPTED;
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
  int mrc = table_may(t, tb, 1);
  if (mrc != 0)
    return fail(t, mrc);
  GUARDED(t->store, mrc, mdb_drop(t->txn, table(t, tb), 0));
  return mrc == 0 ? 0 : fail(t, translate(t->store, mrc));
}

int dk_iter_open_legacy(struct dk_txn *t, const char *name, struct dk_iter *it) {
  if (t->err)
    return DK_ETXN;
  MDB_dbi dbi;
  int mrc;
  GUARDED(t->store, mrc, mdb_dbi_open(t->txn, name, 0, &dbi));
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
  int mrc;
  GUARDED(t->store, mrc, mdb_dbi_open(t->txn, name, 0, &dbi));
  if (mrc == MDB_NOTFOUND)
    return 0;
  if (mrc == 0)
    GUARDED(t->store, mrc, mdb_drop(t->txn, dbi, 1));
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
  int mrc = table_may(t, tb, 1);
  if (mrc != 0)
    return fail(t, mrc);
  GUARDED(t->store, mrc, mdb_del(t->txn, table(t, tb), &k, NULL));
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
  int mrc = table_may(t, tb, 1);
  if (mrc != 0)
    return fail(t, mrc);
  mrc = mdb_cursor_open(t->txn, table(t, tb), &cur);
  if (mrc != 0)
    return fail(t, translate(t->store, mrc));
  MDB_val k = {plen, (void *)prefix}, v;
  GUARDED(t->store, mrc, mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE));
  while (mrc == 0 && k.mv_size >= plen && memcmp(k.mv_data, prefix, plen) == 0) {
    GUARDED(t->store, mrc, mdb_cursor_del(cur, 0));
    if (mrc == 0)
      GUARDED(t->store, mrc, mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT));
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
  int mrc = table_may(t, tb, 0);
  if (mrc != 0)
    return fail(t, mrc);
  mrc = mdb_cursor_open(t->txn, table(t, tb), &it->cur);
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
    GUARDED(it->t->store, mrc,
            mdb_cursor_get(it->cur, &k, &v, it->plen || it->flen ? MDB_SET_RANGE : MDB_FIRST));
  } else {
    GUARDED(it->t->store, mrc, mdb_cursor_get(it->cur, &k, &v, MDB_NEXT));
  }
  if (mrc == 0 && (!in_file(it->t, &k) || !in_file(it->t, &v)))
    mrc = MDB_CORRUPTED;
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
  int mrc = table_may(t, tb, 0);
  if (mrc != 0)
    return fail(t, mrc);
  GUARDED(t->store, mrc, mdb_stat(t->txn, table(t, tb), &st));
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

/*
 * The page walk. LMDB keeps no checksums and trusts every page it reads;
 * a write transaction that touches a page whose header lies copies and
 * shifts by the header's word, past the heap page it copied into. Before
 * `docket verify` writes anything, every page reachable from the snapshot's
 * meta page is checked against the layout LMDB writes (lmdb.h, mdb.c):
 *
 *   page header:  pgno u64 | pad u16 | flags u16 | lower u16 | upper u16
 *                 (an overflow page holds its page count in lower/upper)
 *   node:         lo u16 | hi u16 | flags u16 | ksize u16 | key | data
 *                 (leaf: data size lo|hi<<16; branch: child lo|hi<<16|flags<<32)
 *   meta (at 16): magic u32 | version u32 | address | mapsize | db[2] (at 24,
 *                 free pages then tables) | last_pg u64 | txnid u64
 *   db record:    pad u32 | flags u16 | depth u16 | branch, leaf, overflow
 *                 pages u64 | entries u64 | root u64   (48 bytes)
 *
 * Every check is bounded by the page size and the file's page count, the
 * walk by the tree depth LMDB allows and a bitmap of pages seen, so damage
 * can send it nowhere. It reads the map, within the file, only.
 */
#define PG_HDR 16
#define PG_NODE 8
#define PG_BRANCH 0x01
#define PG_LEAF 0x02
#define PG_OVERFLOW 0x04
#define PG_META 0x08
#define NODE_BIGDATA 0x01
#define NODE_SUBDATA 0x02
#define NODE_DUPDATA 0x04
#define DB_RECORD 48
#define DEPTH_MAX 32 /* LMDB's CURSOR_STACK: it never builds a deeper tree */
#define PGNO_NONE UINT64_MAX

struct walk {
  const uint8_t *map;
  size_t psize;
  uint64_t pages; /* pages in the snapshot: last_pg + 1 */
  uint8_t *seen;  /* bitmap of pages reached */
  const char *table;
  int integer_keys; /* the free-page table's keys are native integers */
  uint64_t branch, leaf, overflow, entries; /* counted, against the record */
  int leaf_depth;
  void (*cb)(void *ctx, const char *table, uint64_t page, const char *what);
  void *ctx;
  uint64_t damaged;
  /* named tables found in the main tree, walked after it */
  struct {
    char name[64];
    uint8_t rec[DB_RECORD];
  } subs[64];
  size_t nsubs;
};

static uint16_t rd16(const uint8_t *p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}
static uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static uint64_t rd64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static int walk_bad(struct walk *w, uint64_t page, const char *what) {
  w->damaged++;
  if (w->cb)
    w->cb(w->ctx, w->table, page, what);
  return -1;
}

/* LMDB's default order: bytes, then the shorter key first. */
static int key_cmp(const struct walk *w, const uint8_t *a, size_t al, const uint8_t *b,
                   size_t bl) {
  if (w->integer_keys && al == 8 && bl == 8) {
    uint64_t x = rd64(a), y = rd64(b);
    return x < y ? -1 : x > y;
  }
  int c = memcmp(a, b, al < bl ? al : bl);
  if (c != 0)
    return c;
  return al < bl ? -1 : al > bl;
}

static int walk_mark(struct walk *w, uint64_t page) {
  if (w->seen[page / 8] & (1u << (page % 8)))
    return walk_bad(w, page, "page reached twice (a page number points back into the tree)");
  w->seen[page / 8] |= (uint8_t)(1u << (page % 8));
  return 0;
}

static int walk_overflow(struct walk *w, uint64_t page, size_t bytes) {
  if (page < 2 || page >= w->pages)
    return walk_bad(w, page, "overflow page number outside the file");
  const uint8_t *p = w->map + page * w->psize;
  uint32_t count = rd32(p + 12);
  if (rd64(p) != page || (rd16(p + 10) & 0x7f) != PG_OVERFLOW)
    return walk_bad(w, page, "overflow page header is damaged");
  if (count == 0 || count > w->pages - page ||
      bytes > (uint64_t)count * w->psize - PG_HDR)
    return walk_bad(w, page, "overflow page count does not fit the file or its value");
  for (uint64_t i = 0; i < count; i++)
    if (walk_mark(w, page + i) != 0)
      return -1;
  w->overflow += count;
  return 0;
}

/* Checks page and its subtree; every key must lie in [lo, hi). */
static int walk_page(struct walk *w, uint64_t page, int depth, const uint8_t *lo, size_t lolen,
                     const uint8_t *hi, size_t hilen, int is_main) {
  if (page < 2 || page >= w->pages)
    return walk_bad(w, page, "page number outside the file");
  if (depth > DEPTH_MAX)
    return walk_bad(w, page, "tree deeper than LMDB builds");
  if (walk_mark(w, page) != 0)
    return -1;
  const uint8_t *p = w->map + page * w->psize;
  uint16_t flags = rd16(p + 10), lower = rd16(p + 12), upper = rd16(p + 14);
  if (rd64(p) != page)
    return walk_bad(w, page, "page header names another page");
  int branch = (flags & 0x7f) == PG_BRANCH, leaf = (flags & 0x7f) == PG_LEAF;
  if (!branch && !leaf)
    return walk_bad(w, page, "page is neither a branch nor a leaf where the tree needs one");
  if (lower < PG_HDR || lower > upper || upper > w->psize || (lower - PG_HDR) % 2 != 0)
    return walk_bad(w, page, "page's free-space bounds (lower, upper) are damaged");
  size_t n = (size_t)(lower - PG_HDR) / 2;
  if (n == 0)
    return walk_bad(w, page, "page holds no nodes");
  if (branch)
    w->branch++;
  else
    w->leaf++;
  const uint8_t *prev = NULL;
  size_t prevlen = 0;
  for (size_t i = 0; i < n; i++) {
    size_t off = rd16(p + PG_HDR + 2 * i);
    if (off < upper || off % 2 != 0 || off + PG_NODE > w->psize)
      return walk_bad(w, page, "node offset outside the page's node area");
    const uint8_t *node = p + off;
    size_t ksize = rd16(node + 6);
    uint16_t nflags = rd16(node + 4);
    if (off + PG_NODE + ksize > w->psize)
      return walk_bad(w, page, "node key runs past the end of its page");
    const uint8_t *key = node + PG_NODE;
    /* A branch's first key is not stored: its child holds the least keys. */
    if (!branch || i > 0) {
      if (prev && key_cmp(w, prev, prevlen, key, ksize) >= 0)
        return walk_bad(w, page, "keys out of order within the page");
      if (lo && key_cmp(w, key, ksize, lo, lolen) < 0)
        return walk_bad(w, page, "key sorts before its parent's bound");
      if (hi && key_cmp(w, key, ksize, hi, hilen) >= 0)
        return walk_bad(w, page, "key sorts after its parent's bound");
      prev = key;
      prevlen = ksize;
    }
    if (branch) {
      uint64_t child = (uint64_t)rd16(node) | (uint64_t)rd16(node + 2) << 16 |
                       (uint64_t)nflags << 32;
      const uint8_t *clo = i > 0 ? key : lo;
      size_t clolen = i > 0 ? ksize : lolen;
      const uint8_t *chi = hi;
      size_t chilen = hilen;
      if (i + 1 < n) {
        size_t noff = rd16(p + PG_HDR + 2 * (i + 1));
        if (noff < upper || noff + PG_NODE > w->psize ||
            noff + PG_NODE + rd16(p + noff + 6) > w->psize)
          return walk_bad(w, page, "node offset outside the page's node area");
        chi = p + noff + PG_NODE;
        chilen = rd16(p + noff + 6);
      }
      if (walk_page(w, child, depth + 1, clo, clolen, chi, chilen, is_main) != 0)
        return -1;
      continue;
    }
    size_t dsize = (size_t)rd16(node) | (size_t)rd16(node + 2) << 16;
    w->entries++;
    if (nflags & ~(NODE_BIGDATA | NODE_SUBDATA | NODE_DUPDATA))
      return walk_bad(w, page, "node flags are damaged");
    if (nflags & NODE_DUPDATA)
      return walk_bad(w, page, "node marked as sorted duplicates, which docket never writes");
    if (nflags & NODE_BIGDATA) {
      if (off + PG_NODE + ksize + 8 > w->psize)
        return walk_bad(w, page, "node runs past the end of its page");
      if (walk_overflow(w, rd64(key + ksize), dsize) != 0)
        return -1;
    } else if (off + PG_NODE + ksize + dsize > w->psize) {
      return walk_bad(w, page, "node value runs past the end of its page");
    }
    if (nflags & NODE_SUBDATA) {
      if (!is_main || dsize != DB_RECORD || (nflags & NODE_BIGDATA))
        return walk_bad(w, page, "table record in the wrong place or of the wrong size");
      if (w->nsubs == sizeof(w->subs) / sizeof(w->subs[0]) || ksize >= sizeof(w->subs[0].name))
        return walk_bad(w, page, "more or longer table names than docket writes");
      memcpy(w->subs[w->nsubs].name, key, ksize);
      w->subs[w->nsubs].name[ksize] = 0;
      memcpy(w->subs[w->nsubs].rec, key + ksize, DB_RECORD);
      w->nsubs++;
    }
  }
  if (leaf) {
    if (w->leaf_depth == 0)
      w->leaf_depth = depth;
    else if (w->leaf_depth != depth)
      return walk_bad(w, page, "leaves at different depths");
  }
  return 0;
}

/* Walks one table from its record; compares the counts it keeps. */
static void walk_table(struct walk *w, const char *name, const uint8_t *rec, int is_main) {
  w->table = name;
  w->branch = w->leaf = w->overflow = w->entries = 0;
  w->leaf_depth = 0;
  uint64_t root = rd64(rec + 40);
  uint16_t depth = rd16(rec + 6);
  if (root == PGNO_NONE) {
    if (rd64(rec + 32) != 0 || depth != 0)
      walk_bad(w, 0, "empty table's record counts entries");
    return;
  }
  if (walk_page(w, root, 1, NULL, 0, NULL, 0, is_main) != 0)
    return;
  if (depth != w->leaf_depth || rd64(rec + 8) != w->branch || rd64(rec + 16) != w->leaf ||
      rd64(rec + 24) != w->overflow || rd64(rec + 32) != w->entries)
    walk_bad(w, root, "table record's counts do not match its pages");
}

/* The free-page table lists pages to reuse: none may be in a tree. */
static void walk_free(struct walk *w, const uint8_t *rec) {
  uint64_t root = rd64(rec + 40);
  if (root == PGNO_NONE)
    return;
  /* The free table's leaves hold page lists: count || page numbers. */
  uint64_t todo[4096];
  size_t ntodo = 0;
  todo[ntodo++] = root;
  w->table = "(free pages)";
  while (ntodo > 0) {
    uint64_t page = todo[--ntodo];
    /* Pages of the free table were marked by walk_table; read them again. */
    const uint8_t *p = w->map + page * w->psize;
    uint16_t flags = rd16(p + 10), lower = rd16(p + 12);
    size_t n = (size_t)(lower - PG_HDR) / 2;
    for (size_t i = 0; i < n; i++) {
      const uint8_t *node = p + rd16(p + PG_HDR + 2 * i);
      size_t ksize = rd16(node + 6);
      if ((flags & 0x7f) == PG_BRANCH) {
        if (ntodo == sizeof(todo) / sizeof(todo[0])) {
          walk_bad(w, page, "free-page table larger than the walk allows");
          return;
        }
        todo[ntodo++] = (uint64_t)rd16(node) | (uint64_t)rd16(node + 2) << 16 |
                             (uint64_t)rd16(node + 4) << 32;
        continue;
      }
      size_t dsize = (size_t)rd16(node) | (size_t)rd16(node + 2) << 16;
      const uint8_t *d = node + PG_NODE + ksize;
      if (rd16(node + 4) & NODE_BIGDATA)
        d = w->map + rd64(d) * w->psize + PG_HDR;
      if (dsize < 8 || dsize % 8 != 0 || rd64(d) != dsize / 8 - 1) {
        walk_bad(w, page, "free-page list's count does not match its size");
        continue;
      }
      for (size_t j = 1; j < dsize / 8; j++) {
        uint64_t fp = rd64(d + 8 * j);
        if (fp < 2 || fp >= w->pages) {
          walk_bad(w, page, "free-page list names a page outside the file");
          break;
        }
        if (w->seen[fp / 8] & (1u << (fp % 8))) {
          walk_bad(w, fp, "page in use is also listed as free (a write would overwrite it)");
          break;
        }
      }
    }
  }
}

int dk_store_check_pages(struct dk_txn *t,
                         void (*cb)(void *ctx, const char *table, uint64_t page,
                                    const char *what),
                         void *ctx, uint64_t *damaged) {
  *damaged = 0;
  if (t->write || t->map_lo == NULL)
    return DK_EINVAL;
  dk_store *s = t->store;
  MDB_stat est;
  int mrc = mdb_env_stat(s->env, &est);
  if (mrc != 0)
    return translate(s, mrc);
  struct walk *w = calloc(1, sizeof(*w));
  if (w == NULL)
    return DK_ENOMEM;
  w->map = t->map_lo;
  w->psize = est.ms_psize;
  w->cb = cb;
  w->ctx = ctx;
  int rc = 0;
  /* The meta pages are the only pages a writer in another process
   * overwrites while this snapshot is read (LMDB alternates them): copied
   * once, so that the walk reads one state of them. A copy taken while a
   * writer was writing one, or after two commits replaced this snapshot's,
   * fails the checks below; dk_store_check() then takes a new snapshot. */
  uint8_t copy[2][256];
  _Static_assert(PG_HDR + 136 <= sizeof(copy[0]), "a meta page's head fits the copy");
  for (int i = 0; i < 2; i++)
    memcpy(copy[i], w->map + (size_t)i * w->psize, sizeof(copy[i]));
  /* The meta page of this snapshot: the one whose txnid is the txn's. */
  uint64_t txnid = (uint64_t)mdb_txn_id(t->txn);
  const uint8_t *meta = NULL;
  for (int i = 0; i < 2; i++) {
    const uint8_t *m = copy[i] + PG_HDR;
    if (rd64(m + 128) == txnid)
      meta = m;
  }
  if (meta == NULL) {
    w->table = "(meta)";
    walk_bad(w, 0, "no meta page names the snapshot being read");
    goto out;
  }
  /* Both meta pages: LMDB writes transaction N's to page N % 2 and picks
   * the greater id at open, so a damaged id on the older page makes it read
   * an older snapshot, silently. Once both were written, their ids are
   * consecutive and each on its own page. */
  for (int i = 0; i < 2; i++) {
    const uint8_t *m = copy[i] + PG_HDR;
    uint64_t id = rd64(m + 128), other = rd64(copy[1 - i] + PG_HDR + 128);
    w->table = "(meta)";
    if (rd32(m) != 0xBEEFC0DEu || rd32(m + 4) != 1 || rd64(m - PG_HDR) != (uint64_t)i ||
        (rd16(m - PG_HDR + 10) & 0x7f) != PG_META) {
      walk_bad(w, (uint64_t)i, "meta page header is damaged");
      goto out;
    }
    if (id != 0 && other != 0 && (id % 2 != (uint64_t)i || (id != other + 1 && other != id + 1))) {
      walk_bad(w, (uint64_t)i, "meta pages' transaction ids do not follow each other");
      goto out;
    }
  }
  uint64_t last = rd64(meta + 120);
  if (last < 1 || (size_t)(t->map_hi - t->map_lo) / w->psize < last + 1) {
    w->table = "(meta)";
    walk_bad(w, 0, "meta page's last page lies past the end of the file");
    goto out;
  }
  w->pages = last + 1;
  w->seen = calloc(w->pages / 8 + 1, 1);
  if (w->seen == NULL) {
    rc = DK_ENOMEM;
    goto out;
  }
  w->seen[0] |= 3; /* the meta pages */
  walk_table(w, "(tables)", meta + 24 + DB_RECORD, 1);
  for (size_t i = 0; i < w->nsubs; i++)
    walk_table(w, w->subs[i].name, w->subs[i].rec, 0);
  w->integer_keys = 1;
  uint64_t before = w->damaged;
  walk_table(w, "(free pages)", meta + 24, 0);
  if (w->damaged == before)
    walk_free(w, meta + 24);
  *damaged = w->damaged;
out:
  if (rc == 0)
    *damaged = w->damaged;
  free(w->seen);
  free(w);
  return rc;
}

int dk_store_check(dk_store *s,
                   void (*cb)(void *ctx, const char *table, uint64_t page, const char *what),
                   void *ctx, uint64_t *damaged) {
  /* Damage stays; a writer in another process moving on under the walk
   * (its meta page half written when it was copied) does not: damage is
   * reported only when fresh snapshots keep showing it, and the pages are
   * named from the last of them. */
  int rc = 0;
  for (int attempt = 0; attempt < DK_CHECK_ATTEMPTS; attempt++) {
    struct dk_txn t;
    int last = attempt == DK_CHECK_ATTEMPTS - 1;
    rc = dk_store_read_begin(s, &t);
    if (rc != 0)
      return rc;
    rc = dk_store_check_pages(&t, last ? cb : NULL, ctx, damaged);
    dk_store_read_end(&t);
    if (rc != 0 || *damaged == 0)
      return rc;
  }
  return rc;
}
