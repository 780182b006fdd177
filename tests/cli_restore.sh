#!/usr/bin/env bash
# A node restored from a backup must not fork itself: the entries it wrote
# after the backup are at its street. 'docket restore' marks it; 'case open'
# is refused with a message that says to run 'docket sync'; the sync brings
# the later entries back, and then it writes without a fork.
. "$(dirname "$0")/lib/harness.sh"
BASE=$((21000 + RANDOM % 20000))
PIDS=""
trap 'if main_shell; then stop_all; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; fi 2>/dev/null' EXIT
dk() { local d=$1; shift; "$DOCKET" --dir "$WORK/$d" "$@"; }
key() { dk "$1" id --json | json_get "['key']"; }

check "init street" dk beidu init --office zhanhe/beidu --role street --code BD --listen 127.0.0.1:$BASE
dk beidu network-key >"$WORK/net.key"
check "init lanxin" dk lanxin init --office zhanhe/beidu/lanxin --role community --code LX --network-key-file "$WORK/net.key"
BD=$(key beidu); LX=$(key lanxin)
check "pin" dk beidu peer add --name lanxin --key "$LX" --office zhanhe/beidu/lanxin --role community
check "pin" dk lanxin peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$BASE
"$DOCKET" --dir "$WORK/beidu" serve >>"$WORK/beidu.log" 2>&1 & PIDS="$PIDS $!"
check "a first case" dk lanxin case open --kind dispute --summary "Hedge over the wall" --party "Qin Yu"
check "backup" dk lanxin backup --out "$WORK/lanxin.backup"
check "a case after the backup" dk lanxin case open --kind dispute --summary "Rent withheld" --party "Lu Bo"
end=$((SECONDS + WAIT))
until dk lanxin sync >"$WORK/out" 2>"$WORK/err"; do
  [ $SECONDS -ge $end ] && break; sleep 0.2
done
[ $SECONDS -lt $end ] && ok || bad "lanxin never synced with its street: $(cat "$WORK/err")"
OWN=$(dk lanxin id --json | json_get "['own_seq']")
rm -rf "$WORK/lanxin"
check "restore" "$DOCKET" restore "$WORK/lanxin.backup" --dir "$WORK/lanxin"
grep -q "docket sync" "$WORK/out" && ok || bad "restore says to sync: $(cat "$WORK/out")"
BEFORE=$(dk lanxin id --json | json_get "['own_seq']")
expect_fail "no case before its log is back" 1 "docket sync" dk lanxin case open --kind consultation --summary "Too early" --party "Nobody"
expect_eq "nothing was written" "$BEFORE" "$(dk lanxin id --json | json_get "['own_seq']")"
check "sync brings the later entries back" dk lanxin sync
grep -q "own log is whole again" "$WORK/out" && ok || bad "sync says the log is whole: $(cat "$WORK/out")"
expect_eq "its whole log" "$OWN" "$(dk lanxin id --json | json_get "['own_seq']")"
check "now it writes" dk lanxin case open --kind consultation --summary "After the restore" --party "Wu Lan"
check "and syncs without a fork" dk lanxin sync
dk beidu verify --json >"$WORK/v.json" 2>&1
expect_eq "the street holds no fork" 0 "$(json_get "['forks']" <"$WORK/v.json")"
expect_eq "the street holds all three cases" 3 "$(dk beidu case list --json | json_get ".__len__()")"
stop_all
finish
