#!/usr/bin/env bash
# A fork travels to the district: a community's store is restored from an
# old copy and writes a different entry at a position its street already
# holds. The street keeps the proof and reports it in a fork entry of its
# own log; after sync the district, which only ever held one branch, lists
# the fork in 'verify --json' and fails the audit of a case of that log.
. "$(dirname "$0")/lib/harness.sh"
BASE=$(base_port 2) || { echo "no free ports" >&2; exit 1; }
trap 'if main_shell; then stop_all; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; fi 2>/dev/null' EXIT
dk() { local d=$1; shift; "$DOCKET" --dir "$WORK/$d" "$@"; }
key() { dk "$1" id --json | json_get "['key']"; }
serve() { serve_node "$@" || bad "serve $1 did not start"; }

check "init district" dk zhanhe init --office zhanhe --role district --code ZH --listen 127.0.0.1:$BASE
dk zhanhe network-key >"$WORK/net.key"
check "init street" dk beidu init --office zhanhe/beidu --role street --code BD --listen 127.0.0.1:$((BASE + 1)) --network-key-file "$WORK/net.key"
check "init lanxin" dk lanxin init --office zhanhe/beidu/lanxin --role community --code LX --network-key-file "$WORK/net.key"
ZH=$(key zhanhe); BD=$(key beidu); LX=$(key lanxin)
check "pin" dk zhanhe peer add --name beidu --key "$BD" --office zhanhe/beidu --role street
check "pin" dk beidu peer add --name zhanhe --key "$ZH" --office zhanhe --role district --addr 127.0.0.1:$BASE
check "pin" dk beidu peer add --name lanxin --key "$LX" --office zhanhe/beidu/lanxin --role community
check "pin" dk lanxin peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$((BASE + 1))

serve zhanhe; serve beidu
street_up() { [ "$(dk beidu id --json | json_get "['logs']")" -ge 2 ]; }
if wait_for $WAIT street_up; then ok; else bad "the street never reached the district"; fi
check "a first case" dk lanxin case open --kind dispute --category neighbour --summary "Hedge over the wall" --party "Qin Yu"
check "lanxin syncs" dk lanxin sync
# The old copy, taken while no process has the store open.
cp -r "$WORK/lanxin" "$WORK/lanxin-old"
check "a second case" dk lanxin case open --kind dispute --category tenancy --summary "Rent withheld" --party "Lu Bo" --json
B=$(json_get "['number']" <"$WORK/out")
check "lanxin syncs it" dk lanxin sync
# The restored copy writes something else at the same position.
# It writes two entries, so that it is ahead and offers what the street
# lacks: the sync checks its entry at the street's head first, finds it
# differs and sends it as the proof.
check "the restored copy writes" dk lanxin-old case open --kind consultation --category family --summary "Other entry" --party "Nobody" --json
C=$(json_get "['number']" <"$WORK/out")
check "and writes again" dk lanxin-old case note "$C" --text "one more"
dk lanxin-old sync >"$WORK/fork-sync.out" 2>&1 || true
street_forked() { dk beidu verify --json >"$WORK/sv.json" 2>&1; [ "$(json_get "['forks']" <"$WORK/sv.json")" -ge 1 ]; }
if wait_for $WAIT street_forked; then ok; else bad "the street never kept the proof: $(cat "$WORK/fork-sync.out")"; fi
expect_eq "the street names lanxin's log" zhanhe/beidu/lanxin "$(json_get "['fork_proofs'][0]['office']" <"$WORK/sv.json")"
FSEQ=$(json_get "['fork_proofs'][0]['seq']" <"$WORK/sv.json")

# The district held one branch only; the street's fork entry brings the proof.
district_forked() { dk zhanhe verify --json >"$WORK/dv.json" 2>&1; [ "$(json_get "['fork_proofs'].__len__()" <"$WORK/dv.json")" -ge 1 ]; }
if wait_for $WAIT district_forked; then ok; else bad "the district never learned of the fork: $(head -c 400 "$WORK/dv.json")"; fi
expect_eq "district: forked log" "$LX" "$(json_get "['fork_proofs'][0]['log']" <"$WORK/dv.json")"
expect_eq "district: its office" zhanhe/beidu/lanxin "$(json_get "['fork_proofs'][0]['office']" <"$WORK/dv.json")"
expect_eq "district: the position" "$FSEQ" "$(json_get "['fork_proofs'][0]['seq']" <"$WORK/dv.json")"
expect_eq "district: its store is sound" True "$(json_get "['ok']" <"$WORK/dv.json")"
check "district verify text" dk zhanhe verify
grep -q "^FORKED .*zhanhe/beidu/lanxin  seq $FSEQ" "$WORK/out" && ok || bad "verify text names the fork: $(cat "$WORK/out")"
# The audit of the case at that position carries the proof and fails.
district_has() { dk zhanhe audit "$B" --no-root --json >"$WORK/a.json" 2>&1; grep -q '"verdict"' "$WORK/a.json"; }
if wait_for $WAIT district_has; then ok; else bad "the district never held $B: $(head -c 300 "$WORK/a.json")"; fi
expect_eq "audit fails" False "$(json_get "['ok']" <"$WORK/a.json")"
grep -q "log forked: two signed entries for this position" "$WORK/a.json" && ok || bad "audit names the fork: $(head -c 600 "$WORK/a.json")"
stop_all
finish
