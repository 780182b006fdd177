/*
 * bench_cmd RUNS [--out FILE] [--hwm-after MS] -- COMMAND [ARGS...]
 *
 * Runs COMMAND RUNS times, one after the other, with stdout and stderr sent
 * to /dev/null (stdout to FILE with --out, truncated at each run), and prints the wall time of each run (fork to exit) and its
 * peak resident set (the kernel's ru_maxrss of the child, file-backed pages
 * such as an LMDB map included), then "median_ms MIN MEDIAN MAX" and
 * "max_rss_kib MIN MEDIAN MAX". Exits 1 if any run fails: a figure of a
 * failing command means nothing.
 *
 * With --hwm-after MS it also resets the child's peak RSS MS after its start
 * (writing 5 to /proc/PID/clear_refs, Linux >= 4.0) and follows VmHWM every
 * 10 ms until it exits, then prints "hwm_after_kib MIN MEDIAN MAX": the peak
 * from then on, e.g. without the 64 MiB Argon2id key unlock at the start
 * (the last 10 ms before exit may be missed), and "anon_after_kib MIN MEDIAN
 * MAX": the largest RssAnon seen from then on, i.e. without file-backed
 * pages (an LMDB map). 0 when the child exited first.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A line of /proc/PID/status ("VmHWM:", "RssAnon:") in KiB, or -1. */
static long read_status_kib(pid_t pid, const char *field) {
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return -1;
  long kib = -1;
  while (fgets(line, sizeof(line), f))
    if (strncmp(line, field, strlen(field)) == 0)
      kib = strtol(line + strlen(field), NULL, 10);
  fclose(f);
  return kib;
}

static int reset_hwm(pid_t pid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
  int fd = open(path, O_WRONLY);
  if (fd < 0)
    return -1;
  int ok = write(fd, "5", 1) == 1;
  close(fd);
  return ok ? 0 : -1;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  const char *out = NULL;
  double hwm_after_ms = 0;
  int cmd = 3;
  while (cmd + 1 < argc && strncmp(argv[cmd - 1], "--", 2) == 0 && argv[cmd - 1][2] != 0) {
    if (strcmp(argv[cmd - 1], "--out") == 0)
      out = argv[cmd];
    else if (strcmp(argv[cmd - 1], "--hwm-after") == 0)
      hwm_after_ms = atof(argv[cmd]);
    else
      break;
    cmd += 2;
  }
  if (argc <= cmd || strcmp(argv[cmd - 1], "--") != 0) {
    fprintf(stderr, "usage: bench_cmd RUNS [--out FILE] -- COMMAND [ARGS...]\n");
    return 2;
  }
  int runs = atoi(argv[1]);
  if (runs < 1 || runs > 1000)
    return 2;
  double *ms = calloc((size_t)runs, sizeof(double));
  double *rss = calloc((size_t)runs, sizeof(double));
  double *hwm = calloc((size_t)runs, sizeof(double));
  double *anon = calloc((size_t)runs, sizeof(double));
  if (ms == NULL || rss == NULL || hwm == NULL || anon == NULL)
    return 1;
  for (int i = 0; i < runs; i++) {
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0)
      return 1;
    if (pid == 0) {
      int null = open("/dev/null", O_WRONLY);
      int keep = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644) : null;
      if (null >= 0 && keep >= 0) {
        dup2(keep, 1);
        dup2(null, 2);
      }
      execvp(argv[cmd], argv + cmd);
      _exit(127);
    }
    int status;
    struct rusage ru;
    int reset = 0;
    for (pid_t got = 0; got == 0;) {
      got = wait4(pid, &status, hwm_after_ms > 0 ? WNOHANG : 0, &ru);
      if (got < 0)
        return 1;
      if (got != 0)
        break;
      if (!reset && now_ms() - t0 >= hwm_after_ms)
        reset = reset_hwm(pid) == 0;
      long kib = reset ? read_status_kib(pid, "VmHWM:") : -1;
      if (kib >= 0)
        hwm[i] = (double)kib;
      kib = reset ? read_status_kib(pid, "RssAnon:") : -1;
      if (kib > anon[i])
        anon[i] = (double)kib;
      usleep(10000);
    }
    ms[i] = now_ms() - t0;
    rss[i] = (double)ru.ru_maxrss;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "bench_cmd: %s failed (run %d, status %d)\n", argv[cmd], i + 1, status);
      return 1;
    }
    printf("run %d: %.1f ms, %.0f KiB", i + 1, ms[i], rss[i]);
    if (hwm_after_ms > 0)
      printf(", %.0f KiB (anonymous %.0f) after %.0f ms", hwm[i], anon[i], hwm_after_ms);
    printf("\n");
  }
  qsort(ms, (size_t)runs, sizeof(double), cmp_double);
  qsort(rss, (size_t)runs, sizeof(double), cmp_double);
  qsort(hwm, (size_t)runs, sizeof(double), cmp_double);
  qsort(anon, (size_t)runs, sizeof(double), cmp_double);
  double med = runs % 2 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
  double rmed = runs % 2 ? rss[runs / 2] : (rss[runs / 2 - 1] + rss[runs / 2]) / 2;
  printf("median_ms %.1f %.1f %.1f\n", ms[0], med, ms[runs - 1]);
  printf("max_rss_kib %.0f %.0f %.0f\n", rss[0], rmed, rss[runs - 1]);
  if (hwm_after_ms > 0) {
    double hmed = runs % 2 ? hwm[runs / 2] : (hwm[runs / 2 - 1] + hwm[runs / 2]) / 2;
    printf("hwm_after_kib %.0f %.0f %.0f\n", hwm[0], hmed, hwm[runs - 1]);
    double amed = runs % 2 ? anon[runs / 2] : (anon[runs / 2 - 1] + anon[runs / 2]) / 2;
    printf("anon_after_kib %.0f %.0f %.0f\n", anon[0], amed, anon[runs - 1]);
  }
  free(anon);
  free(hwm);
  free(ms);
  free(rss);
  return 0;
}
