#!/usr/bin/env bash
# cert issue --request takes many requests and directories of them with one
# unlock of the root key, checks them all before certifying any; cert renew
# gives the same key and office a new certificate before expiry.
. "$(dirname "$0")/lib/harness.sh"
dk() { local d=$1; shift; "$DOCKET" --dir "$WORK/$d" "$@"; }
export DOCKET_ROOT_PASSPHRASE="root passphrase"
check "district" dk zhanhe init --office zhanhe --role district --code ZH
dk zhanhe network-key >"$WORK/net.key"
check "root" dk zhanhe cert init-root --out "$WORK/root.key"
ROOT=$(sed -n 's/^root public key: //p' "$WORK/out")
check "set-root" dk zhanhe cert set-root "$ROOT"
mkdir -p "$WORK/requests"
for o in lanxin xinhe dongfang nanshan; do
  check "init $o" dk "$o" init --office "zhanhe/beidu/$o" --role community --network-key-file "$WORK/net.key"
  cp "$WORK/$o/enrolment-request" "$WORK/requests/$o.request"
done
check "init street" dk beidu init --office zhanhe/beidu --role street --network-key-file "$WORK/net.key"
certs() { dk zhanhe cert list --json | json_get "['statements'].__len__()"; }

# one bad file in the directory: nothing is certified, the file is named
printf 'hello\n' >"$WORK/requests/zz-junk.request"
expect_fail "a bad request stops the batch" 1 "zz-junk.request" dk zhanhe cert issue --root-key "$WORK/root.key" --request "$WORK/requests" --request "$WORK/beidu/enrolment-request"
grep -q "no certificate was issued" "$WORK/err" && ok || bad "says nothing was issued"
expect_eq "nothing certified" 0 "$(certs)"
rm "$WORK/requests/zz-junk.request"
expect_fail "the same key twice" 1 "same key" dk zhanhe cert issue --root-key "$WORK/root.key" --request "$WORK/requests" --request "$WORK/lanxin/enrolment-request"
expect_eq "nothing certified" 0 "$(certs)"

# a directory and a file, one unlock of the root key (one open of its file)
strace -f -e trace=openat -o "$WORK/trace" "$DOCKET" --dir "$WORK/zhanhe" cert issue --root-key "$WORK/root.key" \
  --request "$WORK/requests" --request "$WORK/beidu/enrolment-request" --days 200 --json >"$WORK/out" 2>"$WORK/err"
expect_eq "batch issue exits 0" 0 $?
expect_eq "five certified" 5 "$(json_get ".__len__()" <"$WORK/out")"
expect_eq "by name order" "zhanhe/beidu/dongfang" "$(json_get "[0]['office']" <"$WORK/out")"
expect_eq "the street's role" street "$(json_get "[4]['role']" <"$WORK/out")"
expect_eq "root key opened once" 1 "$(grep -c "root.key\"" "$WORK/trace")"
expect_eq "five statements" 5 "$(certs)"
for o in lanxin xinhe dongfang nanshan; do
  K=$(dk "$o" id --json | json_get "['key']")
  dk zhanhe cert list --json | python3 -c 'import json,sys; d=json.load(sys.stdin); k,o=sys.argv[1:]
sys.exit(0 if any(s["key"]==k and s["office"]==o and s["status"]=="valid" for s in d["statements"]) else 1)' "$K" "zhanhe/beidu/$o" && ok || bad "$o certified"
done

# renew: same key, office and role, a new expiry
ZH=$(dk zhanhe id --json | json_get "['key']")
check "issue the district's own, 10 days" dk zhanhe cert issue --root-key "$WORK/root.key" --key "$ZH" --office zhanhe --role district --days 10
check "status" dk zhanhe status --json
expect_eq "10 days" 9 "$(json_get "['certificate']['days_left']" <"$WORK/out")"
check "renew" dk zhanhe cert renew --root-key "$WORK/root.key" --key "$ZH" --days 365 --json
expect_eq "renewed office" zhanhe "$(json_get "['office']" <"$WORK/out")"
expect_eq "renewed role" district "$(json_get "['role']" <"$WORK/out")"
check "status" dk zhanhe status --json
expect_eq "renewed for a year" 364 "$(json_get "['certificate']['days_left']" <"$WORK/out")"
expect_eq "no warning after renew" None "$(json_get "['certificate'].get('warning')" <"$WORK/out")"
LX=$(dk lanxin id --json | json_get "['key']")
check "renew lanxin" dk zhanhe cert renew --root-key "$WORK/root.key" --key "$LX"
grep -q "renewed $LX as zhanhe/beidu/lanxin (community)" "$WORK/out" && ok || bad "renew keeps the office: $(cat "$WORK/out")"
BD=$(dk beidu id --json | json_get "['key']")
check "revoke the street" dk zhanhe cert revoke --root-key "$WORK/root.key" --key "$BD" --reason "PC stolen"
expect_fail "renew a revoked key" 1 "revoked" dk zhanhe cert renew --root-key "$WORK/root.key" --key "$BD"
expect_fail "renew an unknown key" 1 "no certificate in force" dk zhanhe cert renew --root-key "$WORK/root.key" --key "$(printf 'ab%.0s' $(seq 32))"
expect_fail "renew needs a key" 2 "--key is required" dk zhanhe cert renew --root-key "$WORK/root.key"
finish
