/* The interface language: gettext with the "docket" domain. */
#include <limits.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

#ifndef DOCKET_LOCALEDIR
#define DOCKET_LOCALEDIR "/usr/local/share/locale"
#endif

static int is_zh(const char *v) { return v && (v[0] == 'z' || v[0] == 'Z') && (v[1] == 'h' || v[1] == 'H'); }

/* The catalogues: DOCKET_LOCALEDIR in the environment, else a locale/
 * directory beside the executable (a build tree), else where
 * 'make install' puts them. */
static void bind_catalogue(void) {
  const char *env = getenv("DOCKET_LOCALEDIR");
  if (env && *env) {
    bindtextdomain("docket", env);
    return;
  }
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 16);
  if (n > 0) {
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) {
      strcpy(slash + 1, "locale");
      struct stat st;
      if (stat(exe, &st) == 0 && S_ISDIR(st.st_mode)) {
        bindtextdomain("docket", exe);
        return;
      }
    }
  }
  bindtextdomain("docket", DOCKET_LOCALEDIR);
}

int cli_lang_known(const char *lang) {
  return is_zh(lang) || strncmp(lang, "en", 2) == 0 || strcmp(lang, "C") == 0 ||
         strcmp(lang, "POSIX") == 0;
}

void cli_i18n_init(int argc, char **argv) {
  const char *lang = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0)
      break;
    if (strcmp(argv[i], "--lang") == 0 && i + 1 < argc)
      lang = argv[i + 1];
    else if (strncmp(argv[i], "--lang=", 7) == 0)
      lang = argv[i] + 7;
  }
  if (lang == NULL) {
    /* The locale's own precedence: LC_ALL, then LC_MESSAGES, then LANG. */
    const char *vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
    for (int i = 0; i < 3 && lang == NULL; i++) {
      const char *v = getenv(vars[i]);
      if (v && *v)
        lang = v;
    }
  }
  int zh = is_zh(lang);
  if (setlocale(LC_ALL, "") == NULL)
    setlocale(LC_ALL, "C.UTF-8"); /* asked for a locale this machine has not generated */
  /* gettext ignores LANGUAGE under the plain C locale, and Chinese text
   * needs a UTF-8 character set: C.UTF-8 exists on every Debian system. */
  const char *cur = setlocale(LC_MESSAGES, NULL);
  if (zh && cur && (strcmp(cur, "C") == 0 || strcmp(cur, "POSIX") == 0))
    setlocale(LC_ALL, "C.UTF-8");
  setlocale(LC_NUMERIC, "C"); /* numbers in output stay 1234.5 */
  setenv("LANGUAGE", zh ? "zh_CN" : "en", 1);
  bind_catalogue();
  bind_textdomain_codeset("docket", "UTF-8");
  textdomain("docket");
}
