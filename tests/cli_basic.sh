#!/usr/bin/env bash
# Drives every single-node command through the real binary, including the
# ways people get them wrong.
. "$(dirname "$0")/lib/harness.sh"
D="$WORK/lanxin"
dk() { "$DOCKET" --dir "$D" "$@"; }

# --- init and id
expect_fail "command needs a node" 1 "no docket node" dk id
expect_fail "init without role" 2 "required" dk init --office zhanhe/beidu/lanxin
expect_fail "init bad office" 2 "not valid" dk init --office "Zhan He" --role community
expect_fail "init bad role" 2 "unknown role" dk init --office zhanhe/beidu/lanxin --role king
check "init" dk init --office zhanhe/beidu/lanxin --role community --code LX
grep -q "key: " "$WORK/out" && ok || bad "init prints the key"
expect_fail "init twice" 1 "already holds" dk init --office zhanhe/beidu/lanxin --role community
# A folder whose parents do not exist yet is made (it said "input/output
# error (is the disk full or failing?)"); one that cannot be made is named.
check "init in a new nested folder" "$DOCKET" --dir "$WORK/new/a/b" init --office zhanhe/beidu/x --role community --code NX
[ -f "$WORK/new/a/b/key" ] && ok || bad "init made no key in the nested folder"
touch "$WORK/plainfile"
expect_fail "init under a plain file" 1 "cannot create the node in $WORK/plainfile/n" \
  "$DOCKET" --dir "$WORK/plainfile/n" init --office zhanhe/beidu/x --role community --code NX
grep -q "disk full" "$WORK/err" && bad "a folder that cannot be made is not a full disk: $(cat "$WORK/err")" || ok
check "id" dk id --json
expect_eq "id office" "zhanhe/beidu/lanxin" "$(json_get "['office']" <"$WORK/out")"
expect_eq "id role" "community" "$(json_get "['role']" <"$WORK/out")"
# the passphrase never sits in the key file or the store in any readable form
if grep -q "test passphrase" "$D/key" "$D/data.mdb"; then bad "passphrase on disk"; else ok; fi

# --- wrong passphrase
DOCKET_PASSPHRASE="wrong" "$DOCKET" --dir "$D" case list >"$WORK/out" 2>"$WORK/err"
expect_eq "wrong passphrase exits 1" 1 $?
grep -q "wrong passphrase" "$WORK/err" && ok || bad "wrong passphrase message: $(cat "$WORK/err")"
printf 'test passphrase\n' >"$WORK/pass"
check "passphrase from file" env -u DOCKET_PASSPHRASE DOCKET_PASSPHRASE_FILE="$WORK/pass" "$DOCKET" --dir "$D" case list
expect_fail "no passphrase, no terminal" 1 "passphrase is needed" env -u DOCKET_PASSPHRASE setsid "$DOCKET" --dir "$D" case list </dev/null

# --- open and the workflow
check "open dispute" dk case open --kind dispute --category neighbour --summary "Water leaking through the ceiling of flat 302" --party "Wang Fang" --party "Li Jun" --json
N1=$(json_get "['number']" <"$WORK/out")
ID1=$(json_get "['id']" <"$WORK/out")
expect_eq "first number" "LX-$(date +%Y)-0001" "$N1"
expect_fail "unknown kind" 2 "unknown kind" dk case open --kind quarrel --summary x
expect_fail "bad category" 2 "not a category" dk case open --kind dispute --category weather --summary x
expect_fail "summary required" 2 "summary is required" dk case open --kind dispute
expect_fail "option of another subcommand" 2 "does not apply" dk case open --kind dispute --summary x --class joint
check "triage" dk case triage "$N1" --class emergency --by "Zhou Min"
check "assign" dk case assign "$N1" --to "Chen Gang" --role mediator
check "session" dk case session "$N1" --note "Met both parties at the flat" --minutes 45 --by "Chen Gang"
check "escalate" dk case escalate "$N1" --level street --note "Property company will not come"
expect_fail "revisit an open case" 1 "cannot revisit" dk case revisit "$N1" --satisfaction 4
expect_fail "close an open dispute" 1 "resolved or failed" dk case close "$N1"
check "resolve by id prefix" dk case resolve "${ID1:0:10}" --agreement "Company repairs the pipe; Li Jun pays 300 yuan"
expect_fail "resolve twice" 1 "cannot resolve" dk case resolve "$N1" --agreement again
check "close" dk case close "$N1"
expect_fail "resolve a closed case" 1 "cannot resolve" dk case resolve "$N1" --agreement "x"
check "revisit" dk case revisit "$N1" --satisfaction 5 --note "Pipe fixed" --by "Chen Gang"
expect_fail "satisfaction out of range" 2 "1 to 5" dk case revisit "$N1" --satisfaction 6
check "note" dk case note "$N1" --text "Both thanked the mediator"
check "reopen" dk case reopen "$N1" --reason "Leak came back"
check "show json" dk case show "$N1" --json
expect_eq "status after reopen" "open" "$(json_get "['status']" <"$WORK/out")"
expect_eq "parties kept" "Li Jun" "$(json_get "['parties'][1]" <"$WORK/out")"
expect_eq "sessions" "1" "$(json_get "['sessions']" <"$WORK/out")"
expect_eq "history length" "10" "$(json_get "['history'].__len__()" <"$WORK/out")"
expect_eq "escalated" "street" "$(json_get "['escalated_to']" <"$WORK/out")"
check "show text" dk case show "$N1"
grep -q "Wang Fang" "$WORK/out" && ok || bad "show lists the parties"
expect_fail "unknown case" 1 "no case" dk case show LX-1999-0001
expect_fail "missing case argument" 2 "which case" dk case show
expect_fail "bad --at" 2 "not a date" dk case note "$N1" --text x --at 2021-02-30

# consultation can close without an outcome; with a past date
check "consultation" dk case open --kind consultation --category labour --summary "Unpaid wages question" --at 2025-01-05 --json
N2=$(json_get "['number']" <"$WORK/out")
expect_eq "number from the year of --at" "LX-2025-0001" "$N2"
check "close consultation" dk case close "$N2" --at 2025-01-05T11:00
check "keep a paper number" dk case open --kind hazard --category fire --summary "Blocked stairwell" --number LX-2020-0042
expect_fail "number in use" 1 "already in use" dk case open --kind hazard --summary "again" --number LX-2020-0042

# --- list
check "list json" dk case list --json
expect_eq "three cases" "3" "$(json_get ".__len__()" <"$WORK/out")"
check "list by kind" dk case list --kind hazard --json
expect_eq "one hazard" "LX-2020-0042" "$(json_get "[0]['number']" <"$WORK/out")"
check "list by status" dk case list --status closed --json
expect_eq "one closed" "$N2" "$(json_get "[0]['number']" <"$WORK/out")"
expect_fail "bad status" 2 "unknown status" dk case list --status sleeping

# --- config
check "config" dk config --json
expect_eq "default clinic deadline" "15" "$(json_get "['deadline.clinic']" <"$WORK/out")"
check "config set" dk config set deadline.clinic 10
expect_fail "config bad key" 2 "unknown setting" dk config set deadline.soon 3

# --- nothing personal in the clear
for s in "Wang Fang" "Li Jun" "ceiling" "Chen Gang" "$N1"; do
  if strings "$D/data.mdb" | grep -q "$s"; then bad "'$s' readable in data.mdb"; else ok; fi
done

# --- import: the example ledger, then again (every row is skipped)
EX="$(dirname "$0")/../examples/lanxin-ledger-2025.csv"
# LX-2025-0001 is already here (the consultation above), a different case:
# the import is refused, naming the line, and nothing is written
dk case list --json >"$WORK/before.json"
expect_fail "import example ledger: number taken" 1 "line 2: number LX-2025-0001 is already held by a different case" dk case import "$EX" --json
dk case list --json >"$WORK/after.json"
cmp -s "$WORK/before.json" "$WORK/after.json" && ok || bad "a refused import wrote cases"
grep -v '^LX-2025-0001,' "$EX" >"$WORK/ledger.csv"
check "import example ledger" dk case import "$WORK/ledger.csv" --json
expect_eq "example rows imported" "75 0" "$(json_get "['imported'], d['skipped']" <"$WORK/out" | tr -d '(),')"
check "import example ledger again" dk case import "$WORK/ledger.csv" --json
expect_eq "second import skips every row" "75" "$(json_get "['skipped']" <"$WORK/out")"
expect_eq "second import adds nothing" "0" "$(json_get "['imported']" <"$WORK/out")"

# --- verify
check "verify" dk verify --json
expect_eq "verify ok" "True" "$(json_get "['ok']" <"$WORK/out")"

# --- usage
expect_fail "unknown command" 2 "unknown command" dk frobnicate
check "help" dk case open --help
finish
