#!/usr/bin/env bash
# One option parser: every command and subcommand has --help listing every
# option it takes, the same mistake gets the same words everywhere, typos
# get a suggestion, and under --json errors are JSON on stderr.
. "$(dirname "$0")/lib/harness.sh"
D="$WORK/lanxin"
dk() { "$DOCKET" --dir "$D" "$@"; }

# --help on every command and subcommand, with no node and exit 0
for cmd in "init" "id" "config" "config set" "report" "verify" "audit" "audit verify" \
  "serve" "sync" "export" "import" "network-key" \
  "peer" "peer add" "peer list" "peer remove" \
  "cert" "cert init-root" "cert set-root" "cert issue" "cert revoke" "cert grant-auditor" "cert list" \
  "case" "case open" "case triage" "case assign" "case session" "case escalate" "case resolve" \
  "case fail" "case close" "case reopen" "case revisit" "case note" "case show" "case list" \
  "case import" "case export" "case erase" "status" "backup" "restore" "passwd"; do
  # shellcheck disable=SC2086
  check "$cmd --help" dk $cmd --help
  grep -q "^usage: docket $cmd" "$WORK/out" && ok || bad "$cmd --help: no usage line: $(head -c 200 "$WORK/out")"
  # group help lists commands, command help lists options including --json
  grep -q -- "--json\|commands:" "$WORK/out" && ok || bad "$cmd --help lists no options"
done

# every step lists --at and --by; the options each takes are all shown
for sub in triage assign session escalate resolve fail close reopen revisit note; do
  dk case "$sub" --help >"$WORK/out"
  grep -q -- "--at TIME" "$WORK/out" && grep -q -- "--by NAME" "$WORK/out" && ok ||
    bad "case $sub --help does not show --at and --by"
done
dk case escalate --help >"$WORK/out"
grep -q -- "--level street|district" "$WORK/out" && grep -q -- "--note TEXT" "$WORK/out" && ok ||
  bad "case escalate --help lacks --level or --note"
dk cert issue --help >"$WORK/out"
for o in root-key request key office role days; do
  grep -q -- "--$o " "$WORK/out" && ok || bad "cert issue --help lacks --$o"
done

# status, backup, restore, passwd and case export on the same parser: their
# help lists each option they take
dk backup --help >"$WORK/out"
grep -q -- "--out FILE" "$WORK/out" && ok || bad "backup --help lacks --out: $(cat "$WORK/out")"
dk restore --help >"$WORK/out"
grep -q -- "--dir DIR" "$WORK/out" && ok || bad "restore --help lacks --dir"
dk case export --help >"$WORK/out"
for o in "format csv|xlsx" "out FILE" "from DATE" "to DATE" "kind KIND" "ledger-lang zh_CN|en"; do
  grep -q -- "--$o" "$WORK/out" && ok || bad "case export --help lacks --$o"
done
expect_fail "status: mistyped --help" 2 "did you mean '--help'" dk status --hlep
expect_fail "backup: mistyped --out" 2 "did you mean '--out'" dk backup --otu x
expect_fail "case export: mistyped --format" 2 "did you mean '--format'" dk case export --fromat csv
expect_fail "backup: --out is required" 2 "--out is required" dk backup
expect_fail "case export: --format is required" 2 "--format is required" dk case export
expect_fail "restore: which file" 2 "missing FILE" dk restore --dir "$WORK/r"
expect_fail "passwd takes no arguments" 2 "takes no arguments, but got 'x'" dk passwd x

# suggestions for commands and options
expect_fail "mistyped command" 2 "did you mean 'report'" dk reprot
expect_fail "mistyped subcommand" 2 "did you mean 'list'" dk case lsit
expect_fail "mistyped cert subcommand" 2 "did you mean 'issue'" dk cert isue
expect_fail "mistyped option" 2 "did you mean '--status'" dk case list --stauts open
expect_fail "mistyped option of peer add" 2 "did you mean '--office'" dk peer add --ofice x
expect_fail "mistyped global option" 2 "did you mean '--dir'" "$DOCKET" --dri x id
# the same mistake, the same words, in every command
for cmd in "id" "verify" "cert list" "peer list" "sync" "export --out x" "report" "case list" \
  "status" "backup --out x" "restore x" "passwd" "case export --format csv"; do
  # shellcheck disable=SC2086
  expect_fail "$cmd: unknown option" 2 "unknown option '--bogus-option'" dk $cmd --bogus-option
done
for cmd in "init --office a --role" "report --from" "case list --status" "cert issue --days" \
  "backup --out" "case export --format"; do
  # shellcheck disable=SC2086
  expect_fail "$cmd: missing value" 2 "needs a value" dk $cmd
done
expect_fail "unexpected argument" 2 "takes no arguments, but got 'extra'" dk cert list extra
expect_fail "unexpected argument (peer list)" 2 "takes no arguments, but got 'extra'" dk peer list extra
expect_fail "option of another subcommand" 2 "does not apply" dk case open --kind dispute --summary x --class joint
# --name=value works as --name value
expect_fail "--opt=value" 2 "unknown kind 'quarrel'" dk case open --kind=quarrel --summary=x

# --json errors are JSON on stderr, with the same exit status
dk case list --stauts open --json >"$WORK/out" 2>"$WORK/err"
expect_eq "json usage error: exit" 2 $?
expect_eq "json usage error: code" EINVAL "$(json_get "['error']['code']" <"$WORK/err")"
for cmd in "status --hlep" "backup" "restore" "passwd extra" "case export --format pdf"; do
  # shellcheck disable=SC2086
  dk $cmd --json >"$WORK/out" 2>"$WORK/err"
  expect_eq "$cmd --json: usage exit" 2 $?
  expect_eq "$cmd --json: JSON error" EINVAL "$(json_get "['error']['code']" <"$WORK/err" 2>&1)"
done
for cmd in "status" "backup --out $WORK/b" "case export --format csv"; do
  # shellcheck disable=SC2086
  dk $cmd --json >"$WORK/out" 2>"$WORK/err"
  expect_eq "$cmd --json: exit without a node" 1 $?
  expect_eq "$cmd --json: JSON error without a node" ENOTINIT "$(json_get "['error']['code']" <"$WORK/err" 2>&1)"
done
dk id --json >"$WORK/out" 2>"$WORK/err"
expect_eq "json error: exit" 1 $?
expect_eq "json error: code" ENOTINIT "$(json_get "['error']['code']" <"$WORK/err")"
json_get "['error']['message']" <"$WORK/err" | grep -q "no docket node" && ok || bad "json error message: $(cat "$WORK/err")"
finish
