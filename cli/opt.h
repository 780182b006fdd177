/*
 * One option parser for every docket command, in the shape of git's
 * parse-options: each command declares one table of its options, and the
 * same table drives parsing, the generated --help text and the "did you
 * mean" suggestions, so every command words the same mistake the same way.
 *
 * Every command also takes --json (machine output, and errors as JSON on
 * stderr), --lang LANG (the interface language, applied by main before any
 * parsing) and --help. Options and arguments may come in any order; "--"
 * ends the options; --name=value and --name value are both accepted.
 *
 * Tables are static and borrowed; values point at the caller's variables and
 * at argv strings, which live as long as the process.
 */
#ifndef DK_CLI_OPT_H
#define DK_CLI_OPT_H

#include <stddef.h>

struct cli;

enum cli_opt_kind {
  CLI_OPT_END = 0,
  CLI_OPT_FLAG,   /* value: int *, set to 1 */
  CLI_OPT_STRING, /* value: const char **, the last one given wins */
  CLI_OPT_LIST,   /* value: struct cli_list *, each one given is kept */
};

#define CLI_OPT_REQUIRED 1 /* the command cannot run without it */

struct cli_opt {
  enum cli_opt_kind kind;
  const char *name; /* without the leading "--" */
  const char *arg;  /* placeholder shown in help: "TEXT", "street|district" */
  const char *help; /* one line, marked N_() and translated when shown */
  void *value;
  int flags;
};

/* Repeated options (--party A --party B). */
struct cli_list {
  const char **items;
  size_t count;
  size_t cap;
};

#define CLI_FLAG(n, v, h) {CLI_OPT_FLAG, (n), NULL, (h), (v), 0}
#define CLI_STRING(n, a, v, h) {CLI_OPT_STRING, (n), (a), (h), (v), 0}
#define CLI_REQUIRED(n, a, v, h) {CLI_OPT_STRING, (n), (a), (h), (v), CLI_OPT_REQUIRED}
#define CLI_LIST(n, a, v, h) {CLI_OPT_LIST, (n), (a), (h), (v), 0}
#define CLI_END {CLI_OPT_END, NULL, NULL, NULL, NULL, 0}

/* A command: "case escalate", its arguments for the synopsis ("CASE"), how
 * many it takes, and what it does (N_(), may span lines). */
struct cli_command {
  const char *path;
  const char *args;
  size_t args_min;
  size_t args_max;
  const char *help;
  /* Options other commands of the group take (NULL-terminated, may be
   * NULL): one of them here gets "does not apply" instead of "unknown". */
  const char *const *elsewhere;
};

/* What cli_parse returns besides 0 (go on): the command returns
 * CLI_EXIT(rc). */
#define CLI_HELP_SHOWN (-1)
#define CLI_EXIT(rc) ((rc) < 0 ? 0 : (rc))

/* Parses argv[1..argc-1] (argv[0] is the command word) against opts, puts the
 * arguments in args (capacity cmd->args_max) and their number in
 * *args_count. Sets c->json on --json. Returns 0, CLI_HELP_SHOWN after
 * printing the help on stdout, or EXIT_USAGE after printing what is wrong,
 * with a suggestion for a mistyped option. */
int cli_parse(struct cli *c, const struct cli_command *cmd, const struct cli_opt *opts, int argc,
              char **argv, const char **args, size_t *args_count);

/* Prints the usage error for cmd the way cli_parse does (for checks made
 * after parsing: a bad value, options that go together). Returns
 * EXIT_USAGE. */
int cli_command_usage_error(const struct cli_command *cmd, const struct cli_opt *opts,
                            const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Subcommands of a command group ("case", "cert", "peer"), and of docket
 * itself. */
struct cli_sub {
  const char *name;
  int (*run)(struct cli *c, int argc, char **argv);
  const char *help; /* one line, N_() */
};

/* Runs the subcommand named by argv[1], with argv shifted by one. Without
 * one, or with --help, lists the subcommands; an unknown name gets a
 * suggestion. group is "docket case" and the like. */
int cli_dispatch(struct cli *c, const char *group, const char *about, const struct cli_sub *subs,
                 int argc, char **argv);

/* The closest of candidates to word (an edit distance small for its
 * length), or NULL. */
const char *cli_suggest(const char *word, const char *const *candidates, size_t count);

#endif
