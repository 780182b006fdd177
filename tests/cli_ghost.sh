#!/usr/bin/env bash
# Ghost offices. An enrolled community (c2) makes an office below itself,
# zhanhe/beidu/c2/ghost, under a fresh key nobody certified, writes three
# cases there and passes them up. With a root configured, no entry of a log
# is stored, counted or relayed unless its key holds a certificate for the
# office it claims: the street refuses the ghost's entries over sync and in
# a bundle, stores c2's own, says what it refused, and the district never
# sees the ghost. A store that already holds such a log flags it in
# 'verify' and 'report' and stops relaying it.
. "$(dirname "$0")/lib/harness.sh"
BASE=$((21000 + RANDOM % 20000))
PIDS=""
trap 'if main_shell; then stop_all; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; fi 2>/dev/null' EXIT
export DOCKET_ROOT_PASSPHRASE="root passphrase"
dk() { local d=$1; shift; "$DOCKET" --dir "$WORK/$d" "$@"; }
key() { dk "$1" id --json | json_get "['key']"; }

check "init-root" dk zhanhe cert init-root --out "$WORK/root.key"
ROOT=$(sed -n 's/^root public key: //p' "$WORK/out")
check "init district" dk zhanhe init --office zhanhe --role district --code ZH --listen 127.0.0.1:$((BASE + 1)) --root-pk "$ROOT"
dk zhanhe network-key >"$WORK/net.key"
NK=(--network-key-file "$WORK/net.key")
check "init street" dk beidu init --office zhanhe/beidu --role street --code BD --listen 127.0.0.1:$BASE --root-pk "$ROOT" "${NK[@]}"
# c2 is the attacker's node: it keeps no root, so its own store takes the ghost.
check "init c2" dk c2 init --office zhanhe/beidu/c2 --role community --code CT "${NK[@]}"
check "init ghost" dk ghost init --office zhanhe/beidu/c2/ghost --role community --code GH "${NK[@]}"
ZH=$(key zhanhe); BD=$(key beidu); C2=$(key c2); GH=$(key ghost)
issue() { dk zhanhe cert issue --root-key "$WORK/root.key" --key "$1" --office "$2" --role "$3"; }
check "certify district" issue "$ZH" zhanhe district
check "certify street" issue "$BD" zhanhe/beidu street
check "certify c2" issue "$C2" zhanhe/beidu/c2 community
check "pin" dk zhanhe peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$BASE
check "pin" dk beidu peer add --name zhanhe --key "$ZH" --office zhanhe --role district --addr 127.0.0.1:$((BASE + 1))
check "pin" dk c2 peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$BASE
check "pin" dk c2 peer add --name ghost --key "$GH" --office zhanhe/beidu/c2/ghost --role community
check "pin" dk ghost peer add --name c2 --key "$C2" --office zhanhe/beidu/c2 --role community

check "c2's own case" dk c2 case open --kind dispute --category neighbour --summary "Real case" --party "Qin Yu"
for i in 1 2 3; do
  check "ghost case $i" dk ghost case open --kind dispute --category labour --summary "Ghost case $i" --party "Nobody $i"
done
check "ghost bundle for c2" dk ghost export --peer c2 --out "$WORK/ghost.bundle"
check "c2 takes the ghost (it pinned it, it has no root)" dk c2 import "$WORK/ghost.bundle"
expect_eq "c2 holds the ghost's cases" 4 "$(dk c2 case list --json | json_get ".__len__()")"
check "c2 bundle for the street" dk c2 export --peer beidu --out "$WORK/c2.bundle"

# The street fetches the certificates from the district; the first sync
# also waits for the district to listen (its readiness, not an outcome).
"$DOCKET" --dir "$WORK/zhanhe" serve >>"$WORK/zhanhe.log" 2>&1 & PIDS="$PIDS $!"
end=$((SECONDS + WAIT))
until dk beidu sync zhanhe >"$WORK/out" 2>"$WORK/err"; do
  [ $SECONDS -ge $end ] && break; sleep 0.2
done
[ $SECONDS -lt $end ] && ok || bad "the street never synced with the district: $(cat "$WORK/err")"
# A copy of the street, offline, for the bundle path below.
cp -r "$WORK/beidu" "$WORK/beidu-b"
"$DOCKET" --dir "$WORK/beidu" serve >>"$WORK/beidu.log" 2>&1 & PIDS="$PIDS $!"
end=$((SECONDS + WAIT))
until dk c2 sync >"$WORK/out" 2>"$WORK/err" || grep -q refused "$WORK/err"; do
  [ $SECONDS -ge $end ] && break; sleep 0.2
done
[ $SECONDS -lt $end ] && ok || bad "c2 never reached its street: $(cat "$WORK/err")"

# --- sync: the ghost is refused, c2's own log is stored, the sync says so.
check "c2 writes again" dk c2 case open --kind dispute --category tenancy --summary "Second real case" --party "Lu Bo"
expect_fail "c2's sync reports the refusal" 1 "refused" dk c2 sync
grep -q "no valid certificate for the office it claims" "$WORK/err" && ok || bad "the refusal is explained: $(cat "$WORK/err")"
grep -q "refused the entries of log .*zhanhe/beidu/c2/ghost" "$WORK/beidu.log" && ok || bad "the street names the ghost: $(tail -5 "$WORK/beidu.log")"
expect_eq "the street holds c2's cases, not the ghost's" 2 "$(dk beidu case list --json | json_get ".__len__()")"
check "the street's verify" dk beidu verify --json
expect_eq "the street's store is sound" True "$(json_get "['ok']" <"$WORK/out")"
GHOST_AT_STREET=$(dk beidu id --json | json_get "['logs']")
check "the district syncs" dk zhanhe sync beidu
check "district report" dk zhanhe report --by office --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if all("ghost" not in g["group"] for g in d["groups"]) else 1)' "$WORK/out" && ok || bad "the district counts no ghost: $(cat "$WORK/out")"
expect_eq "the district holds c2's two cases" 2 "$(dk zhanhe case list --json | json_get ".__len__()")"

# --- bundle import: the same refusal, the rest stored.
check "pin" dk beidu-b peer add --name c2 --key "$C2" --office zhanhe/beidu/c2 --role community
expect_fail "the street's import refuses the ghost" 1 "zhanhe/beidu/c2/ghost" dk beidu-b import "$WORK/c2.bundle"
grep -q "refused" "$WORK/err" && ok || bad "import says it refused: $(cat "$WORK/err")"
expect_eq "the import stored c2's case" 1 "$(dk beidu-b case list --json | json_get ".__len__()")"

# --- a store that already holds the ghost: c2 learns the root.
check "c2 learns the root" dk c2 cert set-root "$ROOT"
dk c2 verify >"$WORK/out" 2>"$WORK/err"
expect_eq "c2's verify fails" 1 $?
grep -q "log not authorised" "$WORK/out" "$WORK/err" && ok || bad "verify says why: $(cat "$WORK/out" "$WORK/err")"
dk c2 report --by office >"$WORK/out" 2>"$WORK/err"
grep -q "zhanhe/beidu/c2/ghost.*not authorised" "$WORK/err" && ok || bad "report flags the ghost: $(cat "$WORK/err")"
grep -q "3 cases opened by entries not authorised here are left out" "$WORK/err" && ok || bad "report says it left the ghost out: $(cat "$WORK/err")"
check "report json" dk c2 report --json
expect_eq "report json names it" zhanhe/beidu/c2/ghost "$(json_get "['unauthorised_logs'][0]['office']" <"$WORK/out")"
# Flagged, and not summed: the ghost's three cases are left out of the
# figures, c2's own two stay in.
expect_eq "the ghost's cases are left out" 3 "$(json_get "['excluded_cases']" <"$WORK/out")"
expect_eq "c2's own two cases are counted" 2 "$(json_get "['cases']" <"$WORK/out")"
check "c2 no longer offers the ghost: its sync succeeds" dk c2 sync
stop_all
finish
