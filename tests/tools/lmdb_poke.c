/*
 * lmdb_poke: reads and damages single values of a docket store, for the
 * tamper tests. Not part of docket: it writes behind the node's back on
 * purpose, the way a failing disk or a hostile hand would.
 *
 *   lmdb_poke DIR TABLE get KEYHEX             prints the value in hex
 *   lmdb_poke DIR TABLE put KEYHEX VALHEX      stores a value
 *   lmdb_poke DIR TABLE del KEYHEX             deletes a key
 *   lmdb_poke DIR TABLE flip KEYHEX OFFSET     xors 0x01 into one byte of the
 *                                              value (OFFSET < 0 counts from
 *                                              the end)
 *   lmdb_poke DIR TABLE keys                   prints every key in hex
 *
 * Exit 0 on success, 1 on an error (printed), 2 on a usage error.
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_BYTES_MAX (1 << 20)

static int unhex(const char *s, unsigned char *out, size_t cap, size_t *len) {
  size_t n = strlen(s);
  if (n % 2 != 0 || n / 2 > cap)
    return -1;
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1)
      return -1;
    out[i] = (unsigned char)v;
  }
  *len = n / 2;
  return 0;
}

static void print_hex(const MDB_val *v) {
  const unsigned char *p = v->mv_data;
  for (size_t i = 0; i < v->mv_size; i++)
    printf("%02x", p[i]);
  putchar('\n');
}

static int usage(void) {
  fputs("usage: lmdb_poke DIR TABLE get|put|del|flip|keys [KEYHEX [VALHEX|OFFSET]]\n", stderr);
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 4)
    return usage();
  const char *dir = argv[1], *table = argv[2], *op = argv[3];
  int is_keys = strcmp(op, "keys") == 0;
  int is_get = strcmp(op, "get") == 0, is_del = strcmp(op, "del") == 0;
  int is_put = strcmp(op, "put") == 0, is_flip = strcmp(op, "flip") == 0;
  if (!(is_keys || is_get || is_del || is_put || is_flip))
    return usage();
  if ((is_keys && argc != 4) || ((is_get || is_del) && argc != 5) ||
      ((is_put || is_flip) && argc != 6))
    return usage();
  static unsigned char key[512], val[VALUE_BYTES_MAX];
  size_t klen = 0, vlen = 0;
  if (!is_keys && unhex(argv[4], key, sizeof(key), &klen) != 0)
    return usage();
  if (is_put && unhex(argv[5], val, sizeof(val), &vlen) != 0)
    return usage();

  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi dbi;
  MDB_cursor *cur = NULL;
  int rc = mdb_env_create(&env);
  if (rc == 0)
    rc = mdb_env_set_maxdbs(env, 64);
  if (rc == 0)
    rc = mdb_env_open(env, dir, 0, 0600);
  if (rc == 0)
    rc = mdb_txn_begin(env, NULL, (is_get || is_keys) ? MDB_RDONLY : 0, &txn);
  if (rc == 0)
    rc = mdb_dbi_open(txn, table, 0, &dbi);
  if (rc != 0)
    goto out;
  MDB_val k = {klen, key}, v;
  if (is_keys) {
    rc = mdb_cursor_open(txn, dbi, &cur);
    MDB_cursor_op step = MDB_FIRST;
    while (rc == 0 && (rc = mdb_cursor_get(cur, &k, &v, step)) == 0) {
      print_hex(&k);
      step = MDB_NEXT;
    }
    if (rc == MDB_NOTFOUND)
      rc = 0;
    mdb_cursor_close(cur);
  } else if (is_get) {
    rc = mdb_get(txn, dbi, &k, &v);
    if (rc == 0)
      print_hex(&v);
  } else if (is_del) {
    rc = mdb_del(txn, dbi, &k, NULL);
  } else if (is_put) {
    v.mv_size = vlen;
    v.mv_data = val;
    rc = mdb_put(txn, dbi, &k, &v, 0);
  } else {
    rc = mdb_get(txn, dbi, &k, &v);
    if (rc == 0) {
      long off = strtol(argv[5], NULL, 10);
      if (off < 0)
        off += (long)v.mv_size;
      if (off < 0 || (size_t)off >= v.mv_size || v.mv_size > sizeof(val)) {
        fprintf(stderr, "lmdb_poke: offset %s outside a %zu-byte value\n", argv[5], v.mv_size);
        mdb_txn_abort(txn);
        mdb_env_close(env);
        return 1;
      }
      memcpy(val, v.mv_data, v.mv_size);
      val[off] ^= 0x01;
      v.mv_data = val;
      rc = mdb_put(txn, dbi, &k, &v, 0);
    }
  }
  if (rc == 0 && !(is_get || is_keys)) {
    rc = mdb_txn_commit(txn);
    txn = NULL;
  }
out:
  if (txn)
    mdb_txn_abort(txn);
  if (env)
    mdb_env_close(env);
  if (rc != 0) {
    fprintf(stderr, "lmdb_poke: %s %s: %s\n", table, op, mdb_strerror(rc));
    return 1;
  }
  return 0;
}
