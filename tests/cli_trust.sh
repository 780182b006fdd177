#!/usr/bin/env bash
# The trust layer on loopback: a root key, offices enrolled by certificates
# in the district's log, an uncertified community refused, a revoked node
# refused and its later entries rejected at the street, an auditor granted
# a subtree reading a community's case (and one not granted unable to), and
# a stolen community node replaced by a new one.
. "$(dirname "$0")/lib/harness.sh"
BASE=$(base_port 2) || { echo "no free ports" >&2; exit 1; }
trap 'if main_shell; then stop_all; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; fi 2>/dev/null' EXIT
export DOCKET_ROOT_PASSPHRASE="root passphrase"
dk() { local d=$1; shift; "$DOCKET" --dir "$WORK/$d" "$@"; }
key() { dk "$1" id --json | json_get "['key']"; }

# --- the root and the offices
check "init-root" dk zhanhe cert init-root --out "$WORK/root.key"
ROOT=$(sed -n 's/^root public key: //p' "$WORK/out")
expect_eq "root key printed" 64 "${#ROOT}"
expect_fail "init-root never overwrites" 1 "not overwriting" dk zhanhe cert init-root --out "$WORK/root.key"
check "init district" dk zhanhe init --office zhanhe --role district --code ZH --listen 127.0.0.1:$BASE --root-pk "$ROOT"
dk zhanhe network-key >"$WORK/net.key"
NK=(--network-key-file "$WORK/net.key")
check "init street" dk beidu init --office zhanhe/beidu --role street --code BD --listen 127.0.0.1:$((BASE + 1)) "${NK[@]}"
check "street learns the root later" dk beidu cert set-root "$ROOT"
for c in lanxin xinhe; do
  check "init $c" dk $c init --office zhanhe/beidu/$c --role community --code $(echo ${c:0:2} | tr a-z A-Z) --root-pk "$ROOT" "${NK[@]}"
done
for a in audit1 audit2; do
  check "init $a" dk $a init --office zhanhe/$a --role auditor --root-pk "$ROOT" "${NK[@]}"
done
ZH=$(key zhanhe); BD=$(key beidu); LX=$(key lanxin); XH=$(key xinhe); A1=$(key audit1); A2=$(key audit2)

expect_fail "statements only on the district" 1 "district" dk beidu cert issue --root-key "$WORK/root.key" --key "$LX" --office zhanhe/beidu/lanxin --role community
DOCKET_ROOT_PASSPHRASE=wrong expect_fail "wrong root passphrase" 1 "wrong root passphrase" dk zhanhe cert issue --root-key "$WORK/root.key" --key "$LX" --office zhanhe/beidu/lanxin --role community
issue() { dk zhanhe cert issue --root-key "$WORK/root.key" --key "$1" --office "$2" --role "$3"; }
check "certify district" issue "$ZH" zhanhe district
check "certify street" issue "$BD" zhanhe/beidu street
check "certify lanxin" issue "$LX" zhanhe/beidu/lanxin community
check "certify audit1" issue "$A1" zhanhe/audit1 auditor
check "certify audit2" issue "$A2" zhanhe/audit2 auditor
check "cert list" dk zhanhe cert list --json
expect_eq "five certificates" 5 "$(json_get "['statements'].__len__()" <"$WORK/out")"
expect_eq "valid now" valid "$(json_get "['statements'][0]['status']" <"$WORK/out")"

# Pinned peers give addresses only: the street pins nobody below it.
check "pin" dk beidu peer add --name zhanhe --key "$ZH" --office zhanhe --role district --addr 127.0.0.1:$BASE
for c in lanxin xinhe; do
  check "pin" dk $c peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$((BASE + 1))
done
for a in audit1 audit2; do
  check "pin" dk $a peer add --name zhanhe --key "$ZH" --office zhanhe --role district --addr 127.0.0.1:$BASE
done
check "lanxin case" dk lanxin case open --kind dispute --category tenancy --summary "Deposit withheld" --party "Li Na" --json
LN=$(json_get "['number']" <"$WORK/out")

serve_node zhanhe || bad "serve zhanhe did not start"
serve_node beidu || bad "serve beidu did not start"
street_certs() { [ "$(dk beidu cert list --json | json_get "['statements'].__len__()")" -ge "$1" ]; }
if wait_for $WAIT street_certs 5; then ok; else bad "the street never received the certificates"; fi

# --- enrolment decides who is served
check "certified community syncs" dk lanxin sync
expect_fail "uncertified community refused" 1 "certificate" dk xinhe sync
grep -q "refused a node" "$WORK/beidu.log" && ok || bad "the street logs the refusal"
check "lanxin holds the certificates" dk lanxin cert list --json
expect_eq "lanxin sees five" 5 "$(json_get "['statements'].__len__()" <"$WORK/out")"

# --- auditors
check "grant audit1" dk zhanhe cert grant-auditor --root-key "$WORK/root.key" --key "$A1" --subtree zhanhe/beidu
if wait_for $WAIT street_certs 6; then ok; else bad "the street never received the grant"; fi
check "lanxin learns of the auditor" dk lanxin sync
auditor_reads() { dk audit1 sync >/dev/null 2>&1; dk audit1 case show "$LN" --json >"$WORK/a1" 2>&1; }
if wait_for $WAIT auditor_reads; then ok; else bad "audit1 cannot read $LN: $(cat "$WORK/a1")"; fi
expect_eq "audit1 reads the summary" "Deposit withheld" "$(json_get "['summary']" <"$WORK/a1")"
check "audit2 syncs" dk audit2 sync
expect_fail "audit2 was granted nothing" 1 "no case" dk audit2 case show "$LN"

# --- a stolen laptop: revoke lanxin, then its later entries are refused
check "revoke lanxin" dk zhanhe cert revoke --root-key "$WORK/root.key" --key "$LX" --reason "laptop stolen"
street_revoked() { dk beidu cert list --json | grep -q '"revoke"'; }
if wait_for $WAIT street_revoked; then ok; else bad "the street never received the revocation"; fi
check "the thief writes" dk lanxin case open --kind dispute --category loan --summary "Forged" --party "Nobody"
expect_fail "revoked node refused" 1 "certificate" dk lanxin sync
check "the street pins lanxin (bundles come from pinned nodes)" dk beidu peer add --name lanxin --key "$LX" --office zhanhe/beidu/lanxin --role community
check "export from the stolen node" dk lanxin export --peer beidu --out "$WORK/stolen.bundle"
expect_fail "its later entries are rejected at the street" 1 "revoked" dk beidu import "$WORK/stolen.bundle"
check "cert list shows the revocation" dk beidu cert list --json
expect_eq "lanxin's certificate is revoked" revoked "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([s["status"] for s in d["statements"] if s["kind"]=="cert" and s["key"]==sys.argv[2]][0])' "$WORK/out" "$LX")"

# --- the replacement carries on, and the old history stays readable above.
# It takes a new case-number code (README.md): until its first sync it
# cannot know which numbers of the old code are taken.
check "init the new lanxin" dk lanxin2 init --office zhanhe/beidu/lanxin --role community --code LB --root-pk "$ROOT" "${NK[@]}"
LX2=$(key lanxin2)
# Enrolment by request: init wrote a signed request; a tampered one is refused.
[ -f "$WORK/lanxin2/enrolment-request" ] && ok || bad "init writes an enrolment request"
sed 's/^office .*/office zhanhe\/beidu/' "$WORK/lanxin2/enrolment-request" >"$WORK/forged-request"
expect_fail "a tampered request" 1 "does not verify" dk zhanhe cert issue --root-key "$WORK/root.key" --request "$WORK/forged-request"
printf 'hello\n' >"$WORK/junk-request"
expect_fail "not a request" 1 "not a docket enrolment request" dk zhanhe cert issue --root-key "$WORK/root.key" --request "$WORK/junk-request"
expect_fail "request with --key" 2 "instead of" dk zhanhe cert issue --root-key "$WORK/root.key" --request "$WORK/lanxin2/enrolment-request" --key "$LX2"
check "certify the new key from its request" dk zhanhe cert issue --root-key "$WORK/root.key" --request "$WORK/lanxin2/enrolment-request"
if wait_for $WAIT street_certs 8; then ok; else bad "the street never received the new certificate"; fi
check "pin" dk lanxin2 peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$((BASE + 1))
# Offline first: a bundle from the street carries the office's earlier log
# and the street's grants to the new key.
check "the street pins the new lanxin" dk beidu peer add --name lanxin2 --key "$LX2" --office zhanhe/beidu/lanxin --role community
check "bundle for the new lanxin" dk beidu export --peer lanxin2 --out "$WORK/to-lanxin2.bundle"
check "the new lanxin imports it" dk lanxin2 import "$WORK/to-lanxin2.bundle"
check "the replacement reads the old case from the bundle" dk lanxin2 case show "$LN" --json
expect_eq "old summary, offline" "Deposit withheld" "$(json_get "['summary']" <"$WORK/out")"
check "the new lanxin syncs" dk lanxin2 sync
# The street re-grants the office's cases to the certified replacement, and
# sends it the office's earlier log: the new node reads its history.
lanxin2_reads_old() { dk lanxin2 sync >/dev/null 2>&1; dk lanxin2 case show "$LN" --json >"$WORK/old.json" 2>/dev/null; }
if wait_for $WAIT lanxin2_reads_old; then ok; else bad "the replacement cannot read the office's old case $LN"; fi
expect_eq "the replacement reads the old summary" "Deposit withheld" "$(json_get "['summary']" <"$WORK/old.json")"
check "the new lanxin writes" dk lanxin2 case open --kind consultation --category family --summary "After the theft" --party "Wu Fang" --json
N2=$(json_get "['number']" <"$WORK/out")
check "and syncs it" dk lanxin2 sync
street_has() { dk beidu case show "$1" --json >/dev/null 2>&1; }
if wait_for $WAIT street_has "$N2"; then ok; else bad "the street never saw $N2"; fi
check "the old case still reads at the street" dk beidu case show "$LN" --json
expect_eq "old summary" "Deposit withheld" "$(json_get "['summary']" <"$WORK/out")"
check "street verify" dk beidu verify

# --- audits check the authors' certificates; a bundle carries them offline
check "the street audits the old case" dk beidu audit "$LN" --json
expect_eq "audit verdict" verified "$(json_get "['verdict']" <"$WORK/out")"
expect_eq "certificates checked" True "$(json_get "['certificates']['checked']" <"$WORK/out")"
expect_eq "against this root" "$ROOT" "$(json_get "['certificates']['root']" <"$WORK/out")"
expect_eq "written while certified" valid "$(json_get "['timeline'][0]['certificate']" <"$WORK/out")"
check "bundle at the street" dk beidu audit "$LN" --bundle "$WORK/ln.audit" --for "$A1"
mkdir -p "$WORK/fresh"
( cd "$WORK/fresh" && "$DOCKET" audit verify "$WORK/ln.audit" --root "$ROOT" --json ) >"$WORK/v.json" 2>&1
expect_eq "bundle verifies offline" verified "$(json_get "['verdict']" <"$WORK/v.json")"
expect_eq "offline: the auditor's grant" zhanhe/beidu "$(json_get "['reader']['subtree']" <"$WORK/v.json")"
( cd "$WORK/fresh" && "$DOCKET" audit verify "$WORK/ln.audit" --key-dir "$WORK/audit1" --json ) >"$WORK/v1.json" 2>&1
expect_eq "the root of the auditor's node is trusted" verified "$(json_get "['verdict']" <"$WORK/v1.json")"
expect_eq "the auditor reads it" True "$(json_get "['decrypted']" <"$WORK/v1.json")"
# The bundle's own root is never taken on trust.
expect_fail "no trusted root given" 1 "who wrote it was not checked" "$DOCKET" audit verify "$WORK/ln.audit"
expect_fail "another root" 1 "another deployment root" "$DOCKET" audit verify "$WORK/ln.audit" --root "$(python3 -c 'print("ab" * 32)')"
# No bundle for a key without an auditor grant covering the case.
expect_fail "audit2 holds no grant for zhanhe/beidu" 1 "holds no auditor grant" dk beidu audit "$LN" --bundle "$WORK/a2.audit" --for "$A2"
[ -e "$WORK/a2.audit" ] && bad "a bundle was written for audit2" || ok
expect_eq "offline: certificates checked" True "$(json_get "['certificates']['checked']" <"$WORK/v.json")"
[ "$(json_get "['certificates']['statements']" <"$WORK/v.json")" -ge 7 ] && ok || bad "the bundle lacks the statements: $(head -c 400 "$WORK/v.json")"
# The revocation's reason altered in the bundle (digest recomputed): the
# district's entry carrying it no longer matches its signed body hash.
python3 - "$WORK/ln.audit" "$WORK/alt.audit" <<'PY'
import sys, hashlib
b = bytearray(open(sys.argv[1], "rb").read())
at = b.index(b"laptop stolen")
b[at] ^= 0x20
body = bytes(b[:-32])
b[-32:] = hashlib.blake2b(b"docket/audit/v1\0" + body, digest_size=32).digest()
open(sys.argv[2], "wb").write(b)
PY
( cd "$WORK/fresh" && "$DOCKET" audit verify "$WORK/alt.audit" --root "$ROOT" --json ) >"$WORK/alt.json" 2>/dev/null
expect_eq "altered statement exits 1" 1 "$?"
expect_eq "altered statement: which check" "body does not match the signed hash" "$(json_get "['failures'][0]['what']" <"$WORK/alt.json")"

stop_all
finish
