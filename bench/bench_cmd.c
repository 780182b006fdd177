/*
 * bench_cmd RUNS -- COMMAND [ARGS...]
 *
 * Runs COMMAND RUNS times, one after the other, with stdout and stderr sent
 * to /dev/null, and prints the wall time of each run (fork to exit) and then
 * "median_ms MIN MEDIAN MAX". Exits 1 if any run fails: a figure of a
 * failing command means nothing.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 4 || strcmp(argv[2], "--") != 0) {
    fprintf(stderr, "usage: bench_cmd RUNS -- COMMAND [ARGS...]\n");
    return 2;
  }
  int runs = atoi(argv[1]);
  if (runs < 1 || runs > 1000)
    return 2;
  double *ms = calloc((size_t)runs, sizeof(double));
  if (ms == NULL)
    return 1;
  for (int i = 0; i < runs; i++) {
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0)
      return 1;
    if (pid == 0) {
      int null = open("/dev/null", O_WRONLY);
      if (null >= 0) {
        dup2(null, 1);
        dup2(null, 2);
      }
      execvp(argv[3], argv + 3);
      _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0)
      return 1;
    ms[i] = now_ms() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "bench_cmd: %s failed (run %d, status %d)\n", argv[3], i + 1, status);
      return 1;
    }
    printf("run %d: %.1f ms\n", i + 1, ms[i]);
  }
  qsort(ms, (size_t)runs, sizeof(double), cmp_double);
  double med = runs % 2 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
  printf("median_ms %.1f %.1f %.1f\n", ms[0], med, ms[runs - 1]);
  free(ms);
  return 0;
}
