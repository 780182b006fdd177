#!/usr/bin/env bash
# --json on every command, writes included; the same thing has the same
# name everywhere; an absent value is null; errors are JSON on stderr.
# Also: case numbers in any letter case, empty summaries refused, and
# case erase asks first.
. "$(dirname "$0")/lib/harness.sh"
D="$WORK/lanxin"
dk() { "$DOCKET" --dir "$D" "$@"; }
j() { json_get "$1" <"$WORK/out"; }

check "init --json" dk init --office zhanhe/beidu/lanxin --role community --code LX --json
expect_eq "init: office" "zhanhe/beidu/lanxin" "$(j "['office']")"
[ "$(j "['key']" | wc -c)" -eq 65 ] && ok || bad "init --json: key"
check "config set --json" dk config set deadline.clinic 10 --json
expect_eq "config set: days" 10 "$(j "['days']")"
check "peer add --json" dk peer add --name beidu --key "$(printf '%064d' 7)" --office zhanhe/beidu --role street --json
expect_eq "peer add: no address is null" None "$(j "['addr']")"
check "peer list --json" dk peer list --json
expect_eq "peer list: no address is null" None "$(j "[0]['addr']")"
expect_eq "peer list: never synced is null" None "$(j "[0]['last_sync']")"
check "peer remove --json" dk peer remove beidu --json
expect_eq "peer remove" True "$(j "['removed']")"

check "open --json" dk case open --kind dispute --summary "Water through the ceiling" --json
N=$(j "['number']"); ID=$(j "['id']")
expect_eq "open: number" LX "${N%%-*}"
[ ${#ID} -eq 64 ] && ok || bad "open: id '$ID'"
check "triage --json" dk case triage "$N" --class joint --json
expect_eq "step: id is the case id" "$ID" "$(j "['id']")"
expect_eq "step: number" "$N" "$(j "['number']")"
expect_eq "step: status" triaged "$(j "['status']")"
check "show --json" dk case show "$N" --json
expect_eq "show: id" "$ID" "$(j "['id']")"
expect_eq "show: no category is null" None "$(j "['category']")"
expect_eq "show: no outcome is null" None "$(j "['outcome']")"
expect_eq "show: no referral is null" None "$(j "['referral']")"
expect_eq "show: not closed is null" None "$(j "['closed_at']")"
expect_eq "show: nobody named is null" None "$(j "['history'][0]['by']")"
check "list --json" dk case list --json
expect_eq "list: id" "$ID" "$(j "[0]['id']")"
check "audit --json" dk audit "$N" --no-root --json
expect_eq "audit: the case is 'id'" "$ID" "$(j "['id']")"
expect_eq "audit: number" "$N" "$(j "['number']")"
expect_eq "audit: no bundle is null" None "$(j "['bundle']")"

# case numbers in any letter case
LOWER=$(printf '%s' "$N" | tr 'A-Z' 'a-z')
check "lowercase number" dk case show "$LOWER" --json
expect_eq "lowercase number finds the case" "$ID" "$(j "['id']")"
UPPER_ID=$(printf '%s' "$ID" | cut -c1-12 | tr 'a-f' 'A-F')
check "uppercase id prefix" dk case note "$UPPER_ID" --text "called back"

# empty text refused
expect_fail "empty summary" 2 "may not be empty" dk case open --kind dispute --summary ""
expect_fail "blank summary" 2 "may not be empty" dk case open --kind dispute --summary "   "
expect_fail "empty agreement" 2 "may not be empty" dk case resolve "$N" --agreement ""

# JSON errors: code from common/error.h, same exit status
dk case show LX-1999-0001 --json >"$WORK/out" 2>"$WORK/err"
expect_eq "unknown case: exit" 1 $?
expect_eq "unknown case: code" ENOTFOUND "$(json_get "['error']['code']" <"$WORK/err")"
[ -s "$WORK/out" ] && bad "error printed on stdout" || ok
dk case close "$N" --json >"$WORK/out" 2>"$WORK/err"
expect_eq "bad transition: exit" 1 $?
expect_eq "bad transition: code" ETRANSITION "$(json_get "['error']['code']" <"$WORK/err")"

# erase: refused without a terminal and without --yes; asks on a terminal
expect_fail "erase without --yes, no terminal" 2 "add --yes" dk case erase "$N" --reason "court order" </dev/null
check "still there" dk case show "$N" --json
expect_eq "not erased" None "$(j "['erased']")"
if command -v script >/dev/null; then
  # answer "no" on a pseudo-terminal: nothing is erased
  printf 'no\n' | script -qec "$DOCKET --dir $D case erase $N --reason 'court order'" /dev/null >"$WORK/tty" 2>&1
  grep -q "for good" "$WORK/tty" && ok || bad "erase did not ask: $(cat "$WORK/tty")"
  check "still there after no" dk case show "$N" --json
  expect_eq "not erased after no" None "$(j "['erased']")"
fi
check "erase --yes --json" dk case erase "$N" --reason "court order" --yes --json
expect_eq "erase: id" "$ID" "$(j "['id']")"
finish
