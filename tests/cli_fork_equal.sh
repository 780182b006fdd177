#!/usr/bin/env bash
# An equal-length fork is found on the first sync. A community is restored
# from a copy of its directory while the original keeps working; both write
# one case, so that they hold different entries at the same seq. The
# restored node's sync fails and names the fork, 'peer list' and 'verify'
# show it on both sides, and the street's proof reaches the district.
# Only the street serves; every other step is a 'docket sync' that ends when
# both sides are caught up, so no step depends on the machine's speed.
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
ZH=$(key zhanhe); BD=$(key beidu); LX=$(key lanxin)
check "pin" dk zhanhe peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$BASE
check "pin" dk beidu peer add --name zhanhe --key "$ZH" --office zhanhe --role district
check "pin" dk beidu peer add --name lanxin --key "$LX" --office zhanhe/beidu/lanxin --role community
check "pin" dk lanxin peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$BASE
"$DOCKET" --dir "$WORK/beidu" serve >>"$WORK/beidu.log" 2>&1 & PIDS="$PIDS $!"

check "a first case" dk lanxin case open --kind dispute --category neighbour --summary "Hedge over the wall" --party "Qin Yu"
# Waits for the street to listen (its readiness), not for any outcome.
end=$((SECONDS + WAIT))
until dk lanxin sync >"$WORK/out" 2>"$WORK/err"; do
  [ $SECONDS -ge $end ] && break; sleep 0.2
done
[ $SECONDS -lt $end ] && ok || bad "lanxin never synced with its street: $(cat "$WORK/err")"
# The copy, taken while no process holds lanxin's store open.
cp -r "$WORK/lanxin" "$WORK/lanxin-old"
check "the original writes a case" dk lanxin case open --kind dispute --category tenancy --summary "Rent withheld" --party "Lu Bo"
check "and syncs it" dk lanxin sync
check "the copy writes another" dk lanxin-old case open --kind consultation --category family --summary "Other entry" --party "Nobody"
expect_eq "same length" "$(dk lanxin id --json | json_get "['own_seq']")" "$(dk lanxin-old id --json | json_get "['own_seq']")"

# The first sync of the copy finds the fork, fails and names it.
expect_fail "the copy's sync fails on the fork" 1 "found a fork" dk lanxin-old sync
grep -q "FORKED  zhanhe/beidu/lanxin  seq" "$WORK/err" && ok || bad "the sync names the forked log: $(cat "$WORK/err")"
dk lanxin-old sync --json >"$WORK/fj.out" 2>"$WORK/fj.err"
expect_eq "json sync exits 1" 1 $?
expect_eq "json names the fork" zhanhe/beidu/lanxin "$(json_get "['forks'][0]['office']" <"$WORK/fj.out" 2>&1)"
check "peer list" dk lanxin-old peer list --json
expect_eq "peer list shows the fork" 1 "$(json_get "[0]['forks']" <"$WORK/out")"
check "peer list text" dk lanxin-old peer list
grep -q "FORKED" "$WORK/out" && ok || bad "peer list text shows the fork: $(cat "$WORK/out")"
dk lanxin-old verify --json >"$WORK/rv.json" 2>&1
expect_eq "the copy's verify lists the fork" zhanhe/beidu/lanxin "$(json_get "['fork_proofs'][0]['office']" <"$WORK/rv.json" 2>&1)"
FSEQ=$(json_get "['fork_proofs'][0]['seq']" <"$WORK/rv.json" 2>&1)

# The street kept the copy's entry as its proof.
dk beidu verify --json >"$WORK/sv.json" 2>&1
expect_eq "the street's verify lists the fork" zhanhe/beidu/lanxin "$(json_get "['fork_proofs'][0]['office']" <"$WORK/sv.json" 2>&1)"
expect_eq "at the same position" "$FSEQ" "$(json_get "['fork_proofs'][0]['seq']" <"$WORK/sv.json" 2>&1)"
dk beidu peer list --json >"$WORK/sp.json" 2>&1
expect_eq "the street's peer list shows it for lanxin" 1 "$(python3 -c 'import json,sys; print([p["forks"] for p in json.load(sys.stdin) if p["name"]=="lanxin"][0])' <"$WORK/sp.json" 2>&1)"

# The district, which only ever held one branch, gets the proof from the
# street's fork entry.
check "the district syncs with the street" dk zhanhe sync beidu
dk zhanhe verify --json >"$WORK/dv.json" 2>&1
expect_eq "district: forked log" "$LX" "$(json_get "['fork_proofs'][0]['log']" <"$WORK/dv.json" 2>&1)"
expect_eq "district: the position" "$FSEQ" "$(json_get "['fork_proofs'][0]['seq']" <"$WORK/dv.json" 2>&1)"
check "district verify text" dk zhanhe verify
grep -q "^FORKED .*zhanhe/beidu/lanxin  seq $FSEQ" "$WORK/out" && ok || bad "verify text names the fork: $(cat "$WORK/out")"
stop_all
finish
