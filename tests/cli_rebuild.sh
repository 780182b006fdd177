#!/usr/bin/env bash
# Rebuild from the street, and a node that must not fork itself. An
# office's disk dies; it still has its key file. 'docket init --key-file'
# makes a new node with the same key and nothing of its log; it refuses to
# write until 'docket sync' has brought its own log back from the street
# (its parent's witness of that log is the evidence), then reads its cases
# and goes on writing without forking. Only the street serves; every step
# is a 'docket sync' that ends when both sides are caught up.
. "$(dirname "$0")/lib/harness.sh"
BASE=$((21000 + RANDOM % 20000))
PIDS=""
trap 'if main_shell; then stop_all; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; fi 2>/dev/null' EXIT
dk() { local d=$1; shift; "$DOCKET" --dir "$WORK/$d" "$@"; }
key() { dk "$1" id --json | json_get "['key']"; }

check "init district" dk zhanhe init --office zhanhe --role district --code ZH
dk zhanhe network-key >"$WORK/net.key"
check "init street" dk beidu init --office zhanhe/beidu --role street --code BD --listen 127.0.0.1:$BASE --network-key-file "$WORK/net.key"
check "init lanxin" dk lanxin init --office zhanhe/beidu/lanxin --role community --code LX --network-key-file "$WORK/net.key"
BD=$(key beidu); LX=$(key lanxin)
check "pin" dk beidu peer add --name lanxin --key "$LX" --office zhanhe/beidu/lanxin --role community
check "pin" dk lanxin peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$BASE
"$DOCKET" --dir "$WORK/beidu" serve >>"$WORK/beidu.log" 2>&1 & PIDS="$PIDS $!"

check "a first case" dk lanxin case open --kind dispute --category neighbour --summary "Hedge over the wall" --party "Qin Yu" --json
A=$(json_get "['number']" <"$WORK/out")
end=$((SECONDS + WAIT))
until dk lanxin sync >"$WORK/out" 2>"$WORK/err"; do
  [ $SECONDS -ge $end ] && break; sleep 0.2
done
[ $SECONDS -lt $end ] && ok || bad "lanxin never synced with its street: $(cat "$WORK/err")"
# The key file, kept apart (as an office keeps it on a USB stick).
cp "$WORK/lanxin/key" "$WORK/lanxin.key"
check "a second case" dk lanxin case open --kind dispute --category tenancy --summary "Rent withheld" --party "Lu Bo" --json
B=$(json_get "['number']" <"$WORK/out")
check "a session" dk lanxin case session "$B" --note "Met both sides" --minutes 30 --by "Zhou Min"
check "lanxin syncs" dk lanxin sync
OWN=$(dk lanxin id --json | json_get "['own_seq']")

# --- the disk dies; a new PC, the key file, the same passphrase.
rm -rf "$WORK/lanxin"
check "rebuild from the key file" dk lanxin2 init --key-file "$WORK/lanxin.key" --office zhanhe/beidu/lanxin --role community --code LX --network-key-file "$WORK/net.key"
expect_eq "same key" "$LX" "$(key lanxin2)"
expect_eq "nothing of its log yet" 0 "$(dk lanxin2 id --json | json_get "['own_seq']")"
check "pin the street" dk lanxin2 peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$BASE
expect_fail "no case before its log is back" 1 "docket sync" dk lanxin2 case open --kind consultation --summary "Too early" --party "Nobody"
expect_eq "nothing was written" 0 "$(dk lanxin2 id --json | json_get "['own_seq']")"
check "sync brings its log back" dk lanxin2 sync
grep -q "own log is whole again" "$WORK/out" && ok || bad "sync says the log is whole: $(cat "$WORK/out")"
expect_eq "its whole log" "$OWN" "$(dk lanxin2 id --json | json_get "['own_seq']")"
check "its cases are back" dk lanxin2 case show "$B" --json
expect_eq "and readable" "Rent withheld" "$(json_get "['summary']" <"$WORK/out")"
expect_eq "with their history" 1 "$(json_get "['sessions']" <"$WORK/out")"
check "now it writes" dk lanxin2 case open --kind consultation --summary "After the rebuild" --party "Wu Lan" --json
C=$(json_get "['number']" <"$WORK/out")
[ "$C" != "$A" ] && [ "$C" != "$B" ] && ok || bad "a new number: $C"
check "and syncs without a fork" dk lanxin2 sync
dk beidu verify --json >"$WORK/v.json" 2>&1
expect_eq "the street holds no fork" 0 "$(json_get "['forks']" <"$WORK/v.json")"
expect_eq "the street is sound" True "$(json_get "['ok']" <"$WORK/v.json")"
expect_eq "the street holds the new case" 3 "$(dk beidu case list --json | json_get ".__len__()")"
stop_all
finish
