#!/usr/bin/env bash
# Erasure on one node: who may erase, what goes, what stays (tombstone,
# verifying history, report count), and that nothing of the case is left
# in the data file.
. "$(dirname "$0")/lib/harness.sh"
POKE=${2:?usage: $0 path/to/docket path/to/lmdb_poke}
dk() { local d=$1; shift; "$DOCKET" --dir "$WORK/$d" "$@"; }

check "init" dk lx init --office zhanhe/beidu/lanxin --role community --code LX
check "open" dk lx case open --kind dispute --category family --summary "Quarrel over the Qiuyue courtyard" --party "Tang Qiuyue" --json
N=$(json_get "['number']" <"$WORK/out")
check "session" dk lx case session "$N" --note "Met Tang Qiuyue at home" --minutes 40 --by "Li Wei"
check "keep" dk lx case open --kind consultation --summary "Pension question" --json
KEEP=$(json_get "['number']" <"$WORK/out")
LXK=$(dk lx id --json | json_get "['key']")
# The open entry (seq 2) and the session (seq 3) have bodies, and the case a
# key. Bodies are keyed by position; one log here, so position N is seq N.
check "open body stored" "$POKE" "$WORK/lx" log_bodies get 0000000000000002
OPEN_BODY=$(cat "$WORK/out")
check "session body stored" "$POKE" "$WORK/lx" log_bodies get 0000000000000003
SESSION_BODY=$(cat "$WORK/out")
check "case keys" "$POKE" "$WORK/lx" case_keys keys
expect_eq "two case keys" "2" "$(wc -l <"$WORK/out")"
CASE_KEY_IDS=$(cat "$WORK/out")
: >"$WORK/wrapped-keys"
for k in $CASE_KEY_IDS; do "$POKE" "$WORK/lx" case_keys get "$k" >>"$WORK/wrapped-keys"; done
check "verify before" dk lx verify --json
expect_eq "nothing erased yet" "0" "$(json_get "['bodies_erased']" <"$WORK/out")"
# The body of the session entry, as stored, to look for afterwards.
check "audit before" dk lx audit "$N" --no-root --json
expect_eq "audit verified" "verified" "$(json_get "['verdict']" <"$WORK/out")"

expect_fail "erase needs a reason" 2 "reason" dk lx case erase "$N" --yes
expect_fail "erase an unknown case" 1 "no case" dk lx case erase LX-1999-0001 --yes --reason x
check "erase" dk lx case erase "$N" --yes --reason "court order 2025-17" --json
expect_eq "two bodies deleted" "2" "$(json_get "['bodies_erased']" <"$WORK/out")"
expect_fail "erase twice" 1 "already erased" dk lx case erase "$N" --yes --reason again
expect_fail "no more steps" 1 "erased" dk lx case note "$N" --text "after"

check "show tombstone" dk lx case show "$N" --json
expect_eq "number kept" "$N" "$(json_get "['number']" <"$WORK/out")"
expect_eq "summary gone (null)" "None" "$(json_get "['summary']" <"$WORK/out")"
expect_eq "parties gone" "[]" "$(json_get "['parties']" <"$WORK/out")"
expect_eq "erased by" "zhanhe/beidu/lanxin" "$(json_get "['erased']['by']" <"$WORK/out")"
expect_eq "reason" "court order 2025-17" "$(json_get "['erased']['reason']" <"$WORK/out")"
check "list" dk lx case list
grep -q "$N .*ERASED" "$WORK/out" && ok || bad "list shows the case as erased: $(cat "$WORK/out")"
check "other case intact" dk lx case show "$KEEP" --json
expect_eq "other summary" "Pension question" "$(json_get "['summary']" <"$WORK/out")"
check "report counts it" dk lx report --json
expect_eq "erased counted" "1" "$(json_get "['total']['erased']" <"$WORK/out")"

check "verify after" dk lx verify --json
expect_eq "verify ok" "True" "$(json_get "['ok']" <"$WORK/out")"
expect_eq "bodies erased" "2" "$(json_get "['bodies_erased']" <"$WORK/out")"
check "audit after" dk lx audit "$N" --no-root --json
expect_eq "erased case audits" "verified" "$(json_get "['verdict']" <"$WORK/out")"
expect_eq "audit sees the erasure" "court order 2025-17" "$(json_get "['erased']['reason']" <"$WORK/out")"
expect_eq "audit counts erased bodies" "2" "$(json_get "['counts']['bodies_erased']" <"$WORK/out")"
# The bodies and the key are gone from the store; the other case keeps its key.
expect_fail "open body gone" 1 "" "$POKE" "$WORK/lx" log_bodies get 0000000000000002
expect_fail "session body gone" 1 "" "$POKE" "$WORK/lx" log_bodies get 0000000000000003
check "case keys after" "$POKE" "$WORK/lx" case_keys keys
expect_eq "one case key left" "1" "$(wc -l <"$WORK/out")"
# Nothing of the erased case can be recovered from the file: LMDB keeps
# freed pages as they were, so the erase overwrites them. The exact bytes
# of both bodies (the open body carries the key wrapped for each reader) and
# of the erased case key, as stored, are nowhere in data.mdb.
ERASED_KEY=$(grep -v -x -F -f <("$POKE" "$WORK/lx" case_keys keys | while read -r k; do "$POKE" "$WORK/lx" case_keys get "$k"; done) "$WORK/wrapped-keys")
expect_eq "one wrapped key was erased" 1 "$(printf '%s\n' "$ERASED_KEY" | grep -c .)"
found=$(python3 - "$WORK/lx/data.mdb" "$OPEN_BODY" "$SESSION_BODY" "$ERASED_KEY" <<'PY'
import sys
data = open(sys.argv[1], 'rb').read()
names = ['open body', 'session body', 'wrapped case key']
print(' '.join(n for n, h in zip(names, sys.argv[2:]) if bytes.fromhex(h) in data))
PY
)
expect_eq "no erased bytes left in data.mdb" "" "$found"
# Nothing personal is in the clear, before or after.
if strings "$WORK/lx/data.mdb" | grep -q -e "Qiuyue" -e "Li Wei"; then bad "data.mdb shows the case"; else ok; fi
finish
