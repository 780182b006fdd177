#!/usr/bin/env bash
# Network key rotation on loopback (docs/operations.md, "Rotating the network
# key"): the district rotates; an online community receives the new key
# through its street; an office offline throughout the rotation joins with
# the old key during the grace period, receives the new key and then works
# with it; a community cannot rotate; a stranger and an uncertified holder
# of the old key get nothing; after the grace period (the clock moved by
# the test hook, never a sleep) a certified office with only the old key is
# refused with words that name the rotation.
. "$(dirname "$0")/lib/harness.sh"
BASE=$(base_port 2) || { echo "no free ports" >&2; exit 1; }
trap 'if main_shell; then stop_all; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; fi 2>/dev/null' EXIT
export DOCKET_ROOT_PASSPHRASE="root passphrase"
dk() { local d=$1; shift; "$DOCKET" --dir "$WORK/$d" "$@"; }
key() { dk "$1" id --json | json_get "['key']"; }
netkey() { dk "$1" network-key; }

# --- a deployment: district, street, three communities, and two outsiders
check "init-root" dk zhanhe cert init-root --out "$WORK/root.key"
ROOT=$(sed -n 's/^root public key: //p' "$WORK/out")
check "init district" dk zhanhe init --office zhanhe --role district --code ZH --listen 127.0.0.1:$BASE --root-pk "$ROOT"
dk zhanhe network-key >"$WORK/net.key"
OLD=$(cat "$WORK/net.key")
NK=(--network-key-file "$WORK/net.key" --root-pk "$ROOT")
check "init street" dk beidu init --office zhanhe/beidu --role street --code BD --listen 127.0.0.1:$((BASE + 1)) "${NK[@]}"
for c in lanxin xinhe dongfeng; do
  check "init $c" dk $c init --office zhanhe/beidu/$c --role community --code $(echo ${c:0:2} | tr a-z A-Z) "${NK[@]}"
done
# An office that was never enrolled but holds the network key (a leaked key,
# an old PC), and a stranger from another deployment.
check "init leaked" dk leaked init --office zhanhe/beidu/leaked --role community --code LK "${NK[@]}"
check "init stranger" dk stranger init --office zhanhe/beidu/stranger --role community --code ST --root-pk "$ROOT"
ZH=$(key zhanhe); BD=$(key beidu)
issue() { dk zhanhe cert issue --root-key "$WORK/root.key" --key "$(key "$1")" --office "$2" --role "$3"; }
check "certify district" issue zhanhe zhanhe district
check "certify street" issue beidu zhanhe/beidu street
for c in lanxin xinhe dongfeng; do check "certify $c" issue $c zhanhe/beidu/$c community; done
check "pin the district" dk beidu peer add --name zhanhe --key "$ZH" --office zhanhe --role district --addr 127.0.0.1:$BASE
for c in lanxin xinhe dongfeng leaked stranger; do
  check "pin the street" dk $c peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$((BASE + 1))
done

serve_node zhanhe || bad "serve zhanhe did not start"
serve_node beidu || bad "serve beidu did not start"
serve_node lanxin || bad "serve lanxin did not start"
lanxin_certs() { [ "$(dk lanxin cert list --json | json_get "['statements'].__len__()")" -ge 5 ]; }
if wait_for $WAIT lanxin_certs; then ok; else bad "lanxin never received the certificates"; fi

# --- only the district rotates
expect_fail "a community cannot rotate" 1 "only the district" dk lanxin network-key rotate
expect_fail "nor a street" 1 "only the district" dk beidu network-key rotate --json
expect_fail "grace too short" 2 "--grace" dk zhanhe network-key rotate --grace 0
expect_fail "grace too long" 2 "--grace" dk zhanhe network-key rotate --grace 366
check "status before: no rotation" dk lanxin status --json
expect_eq "no rotation yet" None "$(json_get "['network_key']['rotation']" <"$WORK/out")"

# --- the district rotates
check "rotate" dk zhanhe network-key rotate --grace 30 --json
expect_eq "sealed to the five certified offices" 5 "$(json_get "['recipients']" <"$WORK/out")"
UNTIL=$(json_get "['old_key_until']" <"$WORK/out")
NEW=$(netkey zhanhe)
[ "$NEW" != "$OLD" ] && [ ${#NEW} -eq 64 ] && ok || bad "the district's key did not change ($NEW)"
check "the district's status" dk zhanhe status
grep -q "old key stops working after ${UNTIL:0:10}" "$WORK/out" && ok || bad "status shows no date: $(cat "$WORK/out")"
# The entry is public (it travels in every bundle); the key is not in it.
check "export from the district" dk zhanhe export --out "$WORK/district.bundle"
python3 - "$WORK/district.bundle" "$NEW" <<'PY' && ok || bad "the new key is readable in a bundle"
import sys
data = open(sys.argv[1], "rb").read()
sys.exit(1 if bytes.fromhex(sys.argv[2]) in data or sys.argv[2].encode() in data else 0)
PY

# --- the online community receives it through its street
has_new() { dk "$1" status --json | json_get "['network_key']['rotation']['have_new_key']" | grep -q True; }
if wait_for $WAIT has_new beidu; then ok; else bad "the street never received the new key"; fi
if wait_for $WAIT has_new lanxin; then ok; else bad "lanxin never received the new key"; fi
expect_eq "lanxin holds the new key" "$NEW" "$(netkey lanxin)"
expect_eq "the street holds it" "$NEW" "$(netkey beidu)"
check "lanxin's status" dk lanxin status --json
expect_eq "pending until" "$UNTIL" "$(json_get "['network_key']['rotation']['old_key_until']" <"$WORK/out")"
expect_eq "still pending" True "$(json_get "['network_key']['rotation']['pending']" <"$WORK/out")"
grep -q "received the district's new network key" "$WORK/lanxin.log" && ok || bad "lanxin's log does not say it"

# --- an office offline throughout joins with the old key during the grace
expect_eq "xinhe has only the old key" "$OLD" "$(netkey xinhe)"
check "xinhe syncs with the old key" dk xinhe sync
expect_eq "xinhe received the new key" "$NEW" "$(netkey xinhe)"
grep -q "uses the old network key" "$WORK/beidu.log" && ok || bad "the street did not log the old key"
check "xinhe syncs again, now with the new key" dk xinhe sync
grep -q "uses the new network key" "$WORK/beidu.log" && ok || bad "the street did not log the new key"
check "xinhe's status" dk xinhe status
grep -q "old key stops working after" "$WORK/out" && ok || bad "xinhe's status shows no date"

# --- outsiders get nothing
expect_fail "the leaked-key holder is refused" 1 "certificate" dk leaked sync
expect_eq "and keeps only the old key" "$OLD" "$(netkey leaked)"
check "leaked's status" dk leaked status --json
expect_eq "it holds not even the rotation entry" None "$(json_get "['network_key']['rotation']" <"$WORK/out")"
expect_fail "a stranger (another network key) is refused" 1 "sync with beidu failed" dk stranger sync
expect_eq "the stranger holds nothing of the district" 0 "$(dk stranger cert list --json | json_get "['statements'].__len__()")"
grep -q "handshake with a peer failed" "$WORK/beidu.log" && ok || bad "the street did not log the stranger"

# --- after the grace period (the clock hook of docket-test): old key refused
if DOCKET_FAULT_CLOCK_DAYS=x "$DOCKET" --dir "$WORK/zhanhe" status >/dev/null 2>&1; then
  echo "SKIP: this docket has no test clock (DOCKET_FAULT_HOOKS off): after-grace checks skipped" >&2
else
  stop_node beidu
  export DOCKET_FAULT_CLOCK_DAYS=31
  serve_node beidu || bad "serve beidu (31 days later) did not start"
  expect_eq "dongfeng missed the rotation" "$OLD" "$(netkey dongfeng)"
  expect_fail "old key refused after the grace" 1 "rotation" dk dongfeng sync
  refused_logged() { grep -q "still uses the old network key, which stopped working after ${UNTIL:0:10}" "$WORK/beidu.log"; }
  if wait_for $WAIT refused_logged; then ok; else bad "the street's log does not name the retired key"; fi
  # The remedy: the current key, carried by hand from the street.
  dk beidu network-key >"$WORK/current.key"
  check "dongfeng is given the current key" dk dongfeng network-key set --file "$WORK/current.key"
  expect_eq "dongfeng holds it" "$NEW" "$(netkey dongfeng)"
  check "and syncs again" dk dongfeng sync
  check "xinhe works with the new key after the grace" dk xinhe sync
  check "xinhe's status after" dk xinhe status
  grep -q "only the new key works since ${UNTIL:0:10}" "$WORK/out" && ok || bad "status after the grace: $(grep network "$WORK/out")"
  unset DOCKET_FAULT_CLOCK_DAYS
fi

stop_all
finish
