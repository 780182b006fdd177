/* Replays the fuzz corpus (tests/fuzz/corpus/<target>/) through the fuzz
 * targets' own entry point, compiled without libFuzzer, so that every ctest
 * run exercises the corpus. A target that finds a violation aborts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The targets' LLVMFuzzerTestOneInput, renamed by tests/CMakeLists.txt. */
int dk_fuzz_frame_one(const uint8_t *data, size_t size);
int dk_fuzz_sync_msg_one(const uint8_t *data, size_t size);
int dk_fuzz_audit_one(const uint8_t *data, size_t size);
int dk_fuzz_bundle_one(const uint8_t *data, size_t size);
int dk_fuzz_event_one(const uint8_t *data, size_t size);
int dk_fuzz_trust_one(const uint8_t *data, size_t size);
int dk_fuzz_csv_one(const uint8_t *data, size_t size);
int dk_fuzz_keyfile_one(const uint8_t *data, size_t size);
int dk_fuzz_request_one(const uint8_t *data, size_t size);
int dk_fuzz_netkey_one(const uint8_t *data, size_t size);
int dk_fuzz_stored_one(const uint8_t *data, size_t size);

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

/* Corpus files are small seeds; anything larger is a mistake. */
#define CORPUS_FILE_BYTES_MAX (1 << 20)

/* Replays every file of dir through one; counts the files, and when cases
 * is not NULL, the files per decoder a target picks by its first byte
 * (mod ncases). */
static int replay_dir_cases(const char *dir, fuzz_fn one, int *cases, int ncases) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int files = 0;
  struct dirent *e;
  uint8_t *buf = malloc(CORPUS_FILE_BYTES_MAX);
  assert_non_null(buf);
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, CORPUS_FILE_BYTES_MAX, f);
    assert_true(feof(f));
    fclose(f);
    assert_int_equal(one(buf, n), 0);
    if (cases != NULL && n > 0)
      cases[buf[0] % ncases]++;
    files++;
  }
  closedir(d);
  free(buf);
  return files;
}

static int replay_dir(const char *dir, fuzz_fn one) { return replay_dir_cases(dir, one, NULL, 0); }

static void frame_corpus(void **state) {
  int files = replay_dir(DK_SOURCE_DIR "/tests/fuzz/corpus/frame", dk_fuzz_frame_one);
  assert_true(files >= 5);
}

static void sync_msg_corpus(void **state) {
  int files = replay_dir(DK_SOURCE_DIR "/tests/fuzz/corpus/sync_msg", dk_fuzz_sync_msg_one);
  assert_true(files >= 5);
}

static void audit_corpus(void **state) {
  int files = replay_dir(DK_SOURCE_DIR "/tests/fuzz/corpus/audit", dk_fuzz_audit_one);
  assert_true(files >= 5);
}

static void event_corpus(void **state) {
  int files = replay_dir(DK_SOURCE_DIR "/tests/fuzz/corpus/event", dk_fuzz_event_one);
  assert_true(files >= 5);
}

static void trust_corpus(void **state) {
  int files = replay_dir(DK_SOURCE_DIR "/tests/fuzz/corpus/trust", dk_fuzz_trust_one);
  assert_true(files >= 5);
}

static void bundle_corpus(void **state) {
  int files = replay_dir(DK_SOURCE_DIR "/tests/fuzz/corpus/bundle", dk_fuzz_bundle_one);
  assert_true(files >= 5);
}

static void csv_corpus(void **state) {
  int files = replay_dir(DK_SOURCE_DIR "/tests/fuzz/corpus/csv", dk_fuzz_csv_one);
  assert_true(files >= 5);
}

static void keyfile_corpus(void **state) {
  int files = replay_dir(DK_SOURCE_DIR "/tests/fuzz/corpus/keyfile", dk_fuzz_keyfile_one);
  assert_true(files >= 5);
}

static void request_corpus(void **state) {
  int files = replay_dir(DK_SOURCE_DIR "/tests/fuzz/corpus/request", dk_fuzz_request_one);
  assert_true(files >= 5);
}

static void netkey_corpus(void **state) {
  int files = replay_dir(DK_SOURCE_DIR "/tests/fuzz/corpus/netkey", dk_fuzz_netkey_one);
  assert_true(files >= 5);
}

/* fuzz_stored's first byte picks one of its decoders (mod 9): every one
 * has seeds. */
#define STORED_CASES 10

static void stored_corpus(void **state) {
  int cases[STORED_CASES] = {0};
  int files = replay_dir_cases(DK_SOURCE_DIR "/tests/fuzz/corpus/stored", dk_fuzz_stored_one,
                               cases, STORED_CASES);
  assert_true(files >= 5);
  for (int i = 0; i < STORED_CASES; i++)
    assert_true(cases[i] >= 1);
  assert_true(cases[7] >= 3); /* pinned peers */
  assert_true(cases[8] >= 3); /* trust records */
  assert_true(cases[9] >= 3); /* report rows */
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(frame_corpus),
      cmocka_unit_test(sync_msg_corpus),
      cmocka_unit_test(audit_corpus),
      cmocka_unit_test(bundle_corpus),
      cmocka_unit_test(event_corpus),
      cmocka_unit_test(trust_corpus),
      cmocka_unit_test(csv_corpus),
      cmocka_unit_test(keyfile_corpus),
      cmocka_unit_test(request_corpus),
      cmocka_unit_test(netkey_corpus),
      cmocka_unit_test(stored_corpus),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
