/* The one option parser: see cli/opt.h. */
#include "cli/opt.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "common/utf8.h"

/* The options every command takes, after its own. */
static const struct cli_opt COMMON[] = {
    {CLI_OPT_FLAG, "json", NULL, N_("print the result as JSON (errors too, on stderr)"), NULL, 0},
    {CLI_OPT_STRING, "lang", "zh_CN|en", N_("interface language (default: from the locale)"),
     NULL, 0},
    {CLI_OPT_FLAG, "help", NULL, N_("show this help"), NULL, 0},
    CLI_END};

/* Optimal string alignment distance (Damerau-Levenshtein without
 * repeated edits of one substring), on bytes: names are ASCII. */
static size_t distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64)
    return (size_t)-1;
  size_t d[65][65];
  for (size_t i = 0; i <= la; i++)
    d[i][0] = i;
  for (size_t j = 0; j <= lb; j++)
    d[0][j] = j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      size_t v = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < v)
        v = d[i][j - 1] + 1;
      if (d[i - 1][j - 1] + cost < v)
        v = d[i - 1][j - 1] + cost;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          d[i - 2][j - 2] + 1 < v)
        v = d[i - 2][j - 2] + 1;
      d[i][j] = v;
    }
  return d[la][lb];
}

const char *cli_suggest(const char *word, const char *const *candidates, size_t count) {
  const char *best = NULL;
  size_t best_d = (size_t)-1, wl = strlen(word);
  /* A prefix of exactly one candidate ("--stat" for "--status"). */
  const char *prefix = NULL;
  size_t prefixes = 0;
  for (size_t i = 0; i < count; i++) {
    size_t d = distance(word, candidates[i]);
    if (d < best_d) {
      best_d = d;
      best = candidates[i];
    }
    if (wl >= 2 && strncmp(word, candidates[i], wl) == 0) {
      prefix = candidates[i];
      prefixes++;
    }
  }
  size_t allowed = wl <= 3 ? 1 : wl <= 6 ? 2 : 3;
  if (best != NULL && best_d <= allowed && best_d < wl)
    return best;
  return prefixes == 1 ? prefix : NULL;
}

/* ---- help ----------------------------------------------------------------- */

static void synopsis(const struct cli_command *cmd, const struct cli_opt *opts, char *out,
                     size_t cap) {
  size_t at = (size_t)snprintf(out, cap, "docket %s", cmd->path);
  if (cmd->args && at < cap)
    at += (size_t)snprintf(out + at, cap - at, " %s", _(cmd->args));
  for (const struct cli_opt *o = opts; o && o->kind != CLI_OPT_END && at < cap; o++)
    if (o->flags & CLI_OPT_REQUIRED)
      at += (size_t)snprintf(out + at, cap - at, " --%s %s", o->name, o->arg);
  if (at < cap)
    snprintf(out + at, cap - at, " [%s]", _("options"));
}

static void option_line(FILE *f, const struct cli_opt *o) {
  char left[128];
  if (o->kind == CLI_OPT_FLAG)
    snprintf(left, sizeof(left), "--%s", o->name);
  else
    snprintf(left, sizeof(left), "--%s %s", o->name, o->arg);
  size_t w = dk_utf8_width(left);
  fprintf(f, "  %s", left);
  if (w < 28)
    fprintf(f, "%*s", (int)(28 - w), "");
  else
    fprintf(f, "\n%30s", "");
  fputs(_(o->help), f);
  if (o->flags & CLI_OPT_REQUIRED)
    fprintf(f, " %s", _("(required)"));
  if (o->kind == CLI_OPT_LIST)
    fprintf(f, " %s", _("(may be repeated)"));
  fputc('\n', f);
}

static void help(const struct cli_command *cmd, const struct cli_opt *opts) {
  char syn[512];
  synopsis(cmd, opts, syn, sizeof(syn));
  printf("%s %s\n\n", _("usage:"), syn);
  if (cmd->help)
    printf("%s\n\n", _(cmd->help));
  printf("%s\n", _("options:"));
  for (const struct cli_opt *o = opts; o && o->kind != CLI_OPT_END; o++)
    option_line(stdout, o);
  for (const struct cli_opt *o = COMMON; o->kind != CLI_OPT_END; o++)
    option_line(stdout, o);
}

static int usage_error_v(const struct cli_command *cmd, const struct cli_opt *opts,
                         const char *fmt, va_list ap) {
  char msg[1024];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  char syn[512];
  synopsis(cmd, opts, syn, sizeof(syn));
  char more[700];
  snprintf(more, sizeof(more), _("usage: %s\nRun 'docket %s --help' for its options."), syn,
           cmd->path);
  return cli_report_error(DK_EINVAL, EXIT_USAGE, msg, more);
}

int cli_command_usage_error(const struct cli_command *cmd, const struct cli_opt *opts,
                            const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = usage_error_v(cmd, opts, fmt, ap);
  va_end(ap);
  return rc;
}

static int usage_error(const struct cli_command *cmd, const struct cli_opt *opts, const char *fmt,
                       ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = usage_error_v(cmd, opts, fmt, ap);
  va_end(ap);
  return rc;
}

/* ---- parsing -------------------------------------------------------------- */

static const struct cli_opt *find(const struct cli_opt *opts, const char *name, size_t len) {
  for (const struct cli_opt *o = opts; o && o->kind != CLI_OPT_END; o++)
    if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
      return o;
  for (const struct cli_opt *o = COMMON; o->kind != CLI_OPT_END; o++)
    if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
      return o;
  return NULL;
}

static const char *suggest_option(const struct cli_opt *opts, const char *name) {
  const char *names[64];
  size_t n = 0;
  for (const struct cli_opt *o = opts; o && o->kind != CLI_OPT_END && n < 60; o++)
    names[n++] = o->name;
  for (const struct cli_opt *o = COMMON; o->kind != CLI_OPT_END; o++)
    names[n++] = o->name;
  return cli_suggest(name, names, n);
}

int cli_parse(struct cli *c, const struct cli_command *cmd, const struct cli_opt *opts, int argc,
              char **argv, const char **args, size_t *args_count) {
  /* First pass: --help and --json take effect whatever else is wrong, so
   * that the help is always reachable and errors come in the asked form. */
  int want_help = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0)
      break;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
      want_help = 1;
    else if (strcmp(argv[i], "--json") == 0)
      cli_set_json(c, 1);
    else if (strncmp(argv[i], "--", 2) == 0 && strchr(argv[i], '=') == NULL) {
      const struct cli_opt *o = find(opts, argv[i] + 2, strlen(argv[i] + 2));
      if (o && o->kind != CLI_OPT_FLAG)
        i++; /* its value, which may look like anything */
    }
  }
  if (want_help) {
    help(cmd, opts);
    return CLI_HELP_SHOWN;
  }
  size_t nargs = 0;
  int only_args = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (only_args || a[0] != '-' || a[1] == 0) {
      if (nargs >= cmd->args_max) {
        if (cmd->args_max == 0)
          return usage_error(cmd, opts, _("'docket %s' takes no arguments, but got '%s'"),
                             cmd->path, a);
        return usage_error(cmd, opts, _("unexpected argument '%s'"), a);
      }
      args[nargs++] = a;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_args = 1;
      continue;
    }
    if (a[1] != '-')
      return usage_error(cmd, opts, _("unknown option '%s' (options are spelt --name)"), a);
    const char *name = a + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const struct cli_opt *o = find(opts, name, len);
    if (o == NULL) {
      char bare[128];
      snprintf(bare, sizeof(bare), "%.*s", (int)(len < 100 ? len : 100), name);
      for (const char *const *e = cmd->elsewhere; e && *e; e++)
        if (strcmp(*e, bare) == 0)
          return usage_error(cmd, opts, _("--%s does not apply to 'docket %s'"), bare, cmd->path);
      const char *s = suggest_option(opts, bare);
      if (s)
        return usage_error(cmd, opts, _("unknown option '--%s'; did you mean '--%s'?"), bare, s);
      return usage_error(cmd, opts, _("unknown option '--%s' for 'docket %s'"), bare, cmd->path);
    }
    const char *value = NULL;
    if (o->kind == CLI_OPT_FLAG) {
      if (eq)
        return usage_error(cmd, opts, _("--%s takes no value"), o->name);
    } else if (eq) {
      value = eq + 1;
    } else {
      if (i + 1 >= argc)
        return usage_error(cmd, opts, _("--%s needs a value (%s)"), o->name, o->arg);
      value = argv[++i];
    }
    if (o->value == NULL) {
      /* A common option, applied elsewhere: --lang by cli_i18n_init, which
       * takes any value; a language docket has no words for is refused here
       * rather than shown in English without a word. */
      if (strcmp(o->name, "lang") == 0 && !cli_lang_known(value))
        return usage_error(cmd, opts, _("--lang is zh_CN or en, not '%s'"), value);
      continue;
    }
    switch (o->kind) {
    case CLI_OPT_FLAG:
      *(int *)o->value = 1;
      break;
    case CLI_OPT_STRING:
      *(const char **)o->value = value;
      break;
    case CLI_OPT_LIST: {
      struct cli_list *l = o->value;
      if (l->count == l->cap)
        return usage_error(cmd, opts, _("--%s may be given at most %zu times"), o->name, l->cap);
      l->items[l->count++] = value;
      break;
    }
    case CLI_OPT_END:
      break;
    }
  }
  for (const struct cli_opt *o = opts; o && o->kind != CLI_OPT_END; o++)
    if ((o->flags & CLI_OPT_REQUIRED) && o->kind == CLI_OPT_STRING &&
        *(const char **)o->value == NULL)
      return usage_error(cmd, opts, _("--%s is required"), o->name);
  if (nargs < cmd->args_min) {
    if (cmd->args && strcmp(cmd->args, "CASE") == 0)
      return usage_error(cmd, opts, _("which case? name it by number or id"));
    return usage_error(cmd, opts, _("missing %s"), cmd->args ? _(cmd->args) : "?");
  }
  if (args_count)
    *args_count = nargs;
  return 0;
}

/* ---- subcommands ---------------------------------------------------------- */

static void list_subs(FILE *f, const char *group, const char *about, const struct cli_sub *subs) {
  fprintf(f, "%s %s %s\n\n", _("usage:"), group, _("COMMAND [options]"));
  if (about)
    fprintf(f, "%s\n\n", _(about));
  fprintf(f, "%s\n", _("commands:"));
  for (const struct cli_sub *s = subs; s->name; s++) {
    size_t w = strlen(s->name);
    fprintf(f, "  %s%*s%s\n", s->name, w < 14 ? (int)(14 - w) : 1, "", _(s->help));
  }
  fprintf(f, "\n");
  fprintf(f, _("Run '%s COMMAND --help' for a command's options."), group);
  fputc('\n', f);
}

int cli_dispatch(struct cli *c, const char *group, const char *about, const struct cli_sub *subs,
                 int argc, char **argv) {
  int json = 0;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--json") == 0)
      json = 1;
  if (json)
    cli_set_json(c, 1);
  if (argc < 2 || argv[1][0] == '-' || strcmp(argv[1], "help") == 0) {
    int asked = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
                              strcmp(argv[1], "help") == 0);
    if (asked) {
      list_subs(stdout, group, about, subs);
      return 0;
    }
    char more[256];
    snprintf(more, sizeof(more), _("Run '%s --help' for the list."), group);
    if (argc < 2)
      return cli_report_error(DK_EINVAL, EXIT_USAGE, _("which command?"), more);
    char msg[256];
    snprintf(msg, sizeof(msg), _("'%s' before a command: name the command first"), argv[1]);
    return cli_report_error(DK_EINVAL, EXIT_USAGE, msg, more);
  }
  const char *names[64];
  size_t n = 0;
  for (const struct cli_sub *s = subs; s->name && n < 64; s++) {
    if (strcmp(s->name, argv[1]) == 0)
      return s->run(c, argc - 1, argv + 1);
    names[n++] = s->name;
  }
  char msg[512], more[256];
  const char *s = cli_suggest(argv[1], names, n);
  if (s)
    snprintf(msg, sizeof(msg), _("unknown command '%s'; did you mean '%s'?"), argv[1], s);
  else
    snprintf(msg, sizeof(msg), _("unknown command '%s'"), argv[1]);
  snprintf(more, sizeof(more), _("Run '%s --help' for the list."), group);
  return cli_report_error(DK_EINVAL, EXIT_USAGE, msg, more);
}
