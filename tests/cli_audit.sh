#!/usr/bin/env bash
# Audit across real processes on loopback: a case worked by a community and
# its street, synced up, audited at the district; an audit bundle for an
# auditor verified in a fresh directory with nothing else; a tampered copy
# refused with the failure named; then the street erases the case and after
# sync no node holding it keeps a body of it, while its history still
# verifies and audits as erased.
. "$(dirname "$0")/lib/harness.sh"
POKE=${2:?usage: $0 path/to/docket path/to/lmdb_poke}
BASE=$(base_port 2) || { echo "no free ports" >&2; exit 1; }
trap 'if main_shell; then stop_all; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; fi 2>/dev/null' EXIT
dk() { local d=$1; shift; "$DOCKET" --dir "$WORK/$d" "$@"; }
key() { dk "$1" id --json | json_get "['key']"; }
serve() { serve_node "$@" || bad "serve $1 did not start"; }
idle_sync() { dk "$1" sync --json >"$WORK/idle.out" 2>&1 && [ "$(json_get "['idle']" <"$WORK/idle.out")" = True ]; }

check "init district" dk zhanhe init --office zhanhe --role district --code ZH --listen 127.0.0.1:$BASE
dk zhanhe network-key >"$WORK/net.key"
check "init street" dk beidu init --office zhanhe/beidu --role street --code BD --listen 127.0.0.1:$((BASE + 1)) --network-key-file "$WORK/net.key"
check "init lanxin" dk lanxin init --office zhanhe/beidu/lanxin --role community --code LX --network-key-file "$WORK/net.key"
ZH=$(key zhanhe); BD=$(key beidu); LX=$(key lanxin)
check "pin" dk zhanhe peer add --name beidu --key "$BD" --office zhanhe/beidu --role street
check "pin" dk beidu peer add --name zhanhe --key "$ZH" --office zhanhe --role district --addr 127.0.0.1:$BASE
check "pin" dk beidu peer add --name lanxin --key "$LX" --office zhanhe/beidu/lanxin --role community
check "pin" dk lanxin peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$((BASE + 1))
# An auditor's key: a node directory of its own, never connected.
check "init auditor" dk auditor init --office zhanhe/audit --role auditor --code AU
AUD=$(key auditor)

# --- a case worked by the community and the street
serve zhanhe; serve beidu
street_up() { [ "$(dk beidu id --json | json_get "['logs']")" -ge 2 ]; }
if wait_for $WAIT street_up; then ok; else bad "the street never reached the district"; fi
check "lanxin first sync" dk lanxin sync
check "open" dk lanxin case open --kind dispute --category neighbour --summary "Water from the Fenghua flat" --party "Feng Hua" --json
N=$(json_get "['number']" <"$WORK/out")
check "triage" dk lanxin case triage "$N" --class joint --by "Chen Gang"
check "escalate" dk lanxin case escalate "$N" --level street --note "needs the housing office"
check "lanxin syncs" dk lanxin sync
check "street session" dk beidu case session "$N" --note "Site visit with Feng Hua" --minutes 45 --by "Sun Hua"
check "lanxin syncs again" dk lanxin sync
if wait_for $WAIT idle_sync lanxin; then ok; else bad "lanxin never idle: $(cat "$WORK/idle.out")"; fi
district_has() { dk zhanhe case show "$N" --json >"$WORK/show.out" 2>&1 && grep -q "Site visit" "$WORK/show.out"; }
if wait_for $WAIT district_has; then ok; else bad "the district never folded the street's session"; fi
# Let the district witness the street's latest head.
district_witnessed() { dk zhanhe audit "$N" --no-root --json >"$WORK/a.json" 2>&1 && python3 - "$WORK/a.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
sys.exit(0 if a["counts"]["unwitnessed"] == 0 else 1)
PY
}
if wait_for $WAIT district_witnessed; then ok; else bad "case entries still unwitnessed at the district: $(head -c 600 "$WORK/a.json")"; fi

# --- audit at the district
check "audit at the district" dk zhanhe audit "$N" --no-root --json
cp "$WORK/out" "$WORK/audit.json"
expect_eq "verdict" "verified" "$(json_get "['verdict']" <"$WORK/audit.json")"
expect_eq "two logs wrote to the case" "2" "$(python3 -c 'import json,sys; print(sum(1 for l in json.load(open(sys.argv[1]))["logs"] if l["case_entries"] > 0))' "$WORK/audit.json")"
expect_eq "lanxin witnessed by the street" "zhanhe/beidu" "$(python3 -c 'import json,sys; print([l for l in json.load(open(sys.argv[1]))["logs"] if l["office"]=="zhanhe/beidu/lanxin"][0]["witnessed_by"])' "$WORK/audit.json")"
expect_eq "street witnessed by the district" "zhanhe" "$(python3 -c 'import json,sys; print([l for l in json.load(open(sys.argv[1]))["logs"] if l["office"]=="zhanhe/beidu"][0]["witnessed_by"])' "$WORK/audit.json")"
expect_eq "district decrypts the timeline" "True" "$(json_get "['decrypted']" <"$WORK/audit.json")"
expect_eq "no root here: certificates not checked" "False" "$(json_get "['certificates']['checked']" <"$WORK/audit.json")"
grep -q "Site visit with Feng Hua" "$WORK/audit.json" && ok || bad "timeline shows the street's session"
check "audit text" dk zhanhe audit "$N" --no-root
grep -q "^verdict: verified" "$WORK/out" && ok || bad "text verdict: $(tail -3 "$WORK/out")"
# Without a root, and without --no-root accepting that, no "verified".
expect_fail "no root: not verified" 1 "authorship was not checked" dk zhanhe audit "$N"
grep -q "^verdict: authorship not checked" "$WORK/out" && ok || bad "text verdict without root: $(tail -3 "$WORK/out")"
dk zhanhe audit "$N" --json >"$WORK/out" 2>/dev/null
expect_eq "no root: exit 1 under --json" 1 $?
expect_eq "no root: json verdict" "authorship not checked" "$(json_get "['verdict']" <"$WORK/out")"

# --- a bundle for the auditor, verified in a fresh directory
check "bundle" dk zhanhe audit "$N" --no-root --bundle "$WORK/case.audit" --for "$AUD" --json
mkdir -p "$WORK/fresh"
cp "$WORK/case.audit" "$WORK/fresh/"
# No deployment root here: without one given, authorship is not checked,
# the verdict says so and the exit status is 1; --no-root accepts that.
( cd "$WORK/fresh" && unset DOCKET_DIR && "$DOCKET" audit verify case.audit --json ) >"$WORK/v.json" 2>"$WORK/v.err"
expect_eq "no trusted root: exit 1" "1" "$?"
expect_eq "no trusted root: verdict" "authorship not checked" "$(json_get "['verdict']" <"$WORK/v.json")"
expect_eq "no trusted root: not ok" "False" "$(json_get "['ok']" <"$WORK/v.json")"
expect_eq "no trusted root: authorship_checked" "False" "$(json_get "['authorship_checked']" <"$WORK/v.json")"
expect_eq "the case is its id" "$(dk zhanhe case show "$N" --json | json_get "['id']")" "$(json_get "['id']" <"$WORK/v.json")"
expect_fail "no trusted root, text" 1 "who wrote it was not checked" "$DOCKET" audit verify "$WORK/case.audit"
grep -q "^verdict: authorship not checked" "$WORK/out" && ok || bad "text verdict without a root: $(tail -3 "$WORK/out")"
( cd "$WORK/fresh" && unset DOCKET_DIR && "$DOCKET" audit verify case.audit --no-root --json ) >"$WORK/v.json" 2>"$WORK/v.err"
expect_eq "--no-root: exit 0" "0" "$?"
expect_eq "bundle verifies offline" "verified" "$(json_get "['verdict']" <"$WORK/v.json")"
expect_eq "no key, no events" "False" "$(json_get "['decrypted']" <"$WORK/v.json")"
expect_eq "the bundle says certificates were not checked" "False" "$(json_get "['certificates']['checked']" <"$WORK/v.json")"
grep -q "Feng Hua" "$WORK/v.json" && bad "the timeline leaked without a key" || ok
# A root given that the bundle's writer did not have: refused.
OTHER=$(python3 -c 'print("ab" * 32)')
expect_fail "a root the bundle does not name" 1 "names no deployment root" "$DOCKET" audit verify "$WORK/case.audit" --root "$OTHER"
expect_fail "--root and --no-root" 2 "contradict" "$DOCKET" audit verify "$WORK/case.audit" --root "$OTHER" --no-root
expect_fail "--root is a key" 2 "64 hex digits" "$DOCKET" audit verify "$WORK/case.audit" --root abc
( cd "$WORK/fresh" && DOCKET_AUDITOR_KEY_FILE="$WORK/auditor/key" "$DOCKET" audit verify case.audit --no-root --json ) >"$WORK/v2.json" 2>"$WORK/v.err"
expect_eq "auditor decrypts" "True" "$(json_get "['decrypted']" <"$WORK/v2.json")"
grep -q "Site visit with Feng Hua" "$WORK/v2.json" && ok || bad "auditor's timeline lacks the session"
( cd "$WORK/fresh" && "$DOCKET" audit verify case.audit --key-dir "$WORK/auditor" --no-root ) >"$WORK/v3.out" 2>&1
grep -q "^verdict: verified (authorship not checked" "$WORK/v3.out" && ok || bad "--key-dir: $(tail -3 "$WORK/v3.out")"
# The auditor's node has no root configured: --key-dir gives none either.
( cd "$WORK/fresh" && "$DOCKET" audit verify case.audit --key-dir "$WORK/auditor" ) >"$WORK/v3.out" 2>&1
expect_eq "--key-dir of a node without a root: exit 1" "1" "$?"
# The district's own key is not the auditor's: the wrapped key is not for it.
( cd "$WORK/fresh" && "$DOCKET" audit verify case.audit --key-dir "$WORK/beidu" --no-root --json ) >"$WORK/v4.json" 2>&1
expect_eq "another office's key does not open the auditor's wrap" "verified" "$(json_get "['verdict']" <"$WORK/v4.json")"

# --- tampered copies fail, naming what failed
python3 - "$WORK/case.audit" "$WORK/sig.audit" "$WORK/tail.audit" <<'PY'
import sys
src, sig, tail = sys.argv[1:]
b = bytearray(open(src, "rb").read())
# The first signature of the first log chunk, found by walking the chunk's
# msgpack (docs/PROTOCOL.md section 12), never by searching for its bytes:
# keys and hashes are random and can hold the same bytes anywhere.
head = int.from_bytes(b[8:12], "big")
p = 12 + head + 4                       # the log chunk, after its length
assert b[p] == 0x94 and b[p + 1:p + 5] == b"\xa3log", "first chunk is not a log chunk"
p += 5
assert b[p:p + 2] == b"\xc4\x20"; p += 34        # log key, bin 32
x = b[p]; p += 1 if x < 0x80 else 1 + {0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8}[x]  # first seq
x = b[p]; p += 1 if 0x90 <= x <= 0x9f else {0xdc: 3, 0xdd: 5}[x]  # entries array
assert b[p] == 0x93; p += 1                     # the first record: [header, signature, body]
x = b[p]
if x == 0xc4: p += 2 + b[p + 1]
elif x == 0xc5: p += 3 + int.from_bytes(b[p + 1:p + 3], "big")
else: raise SystemExit("header is not bin 8 or bin 16")
assert b[p:p + 2] == b"\xc4\x40", "no 64-byte signature after the header"
at = p + 2
s = bytearray(b); s[at + 10] ^= 0x01; open(sig, "wb").write(s)
t = bytearray(b); t[-1] ^= 0x80; open(tail, "wb").write(t)
PY
( cd "$WORK/fresh" && "$DOCKET" audit verify "$WORK/sig.audit" --json ) >"$WORK/t.json" 2>/dev/null
expect_eq "tampered signature exits 1" "1" "$?"
expect_eq "tampered: verdict" "False" "$(json_get "['ok']" <"$WORK/t.json")"
expect_eq "tampered: which check" "signature does not verify" "$(json_get "['failures'][0]['what']" <"$WORK/t.json")"
expect_eq "tampered: which seq" "1" "$(json_get "['failures'][0]['seq']" <"$WORK/t.json")"
expect_fail "tampered digest" 1 "does not verify" "$DOCKET" audit verify "$WORK/tail.audit"
grep -q "digest does not match" "$WORK/out" && ok || bad "digest failure named: $(tail -3 "$WORK/out")"
head -c 300 "$WORK/case.audit" >"$WORK/short.audit"
expect_fail "truncated bundle" 1 "does not verify" "$DOCKET" audit verify "$WORK/short.audit"
expect_fail "not a bundle" 1 "does not verify" "$DOCKET" audit verify "$WORK/net.key"

# --- erasure at the street reaches every node holding the case
expect_fail "a case of another office cannot be erased from below" 1 "no case" dk lanxin case erase BD-1999-0001 --yes --reason x
check "street erases" dk beidu case erase "$N" --yes --reason "court order 2025-31"
check "lanxin syncs" dk lanxin sync
district_erased() { dk zhanhe case show "$N" --json >"$WORK/e.json" 2>&1 && [ "$(json_get "['erased']['by']" <"$WORK/e.json")" = zhanhe/beidu ]; }
if wait_for $WAIT district_erased; then ok; else bad "district never erased: $(head -c 300 "$WORK/e.json")"; fi
for node in zhanhe beidu lanxin; do
  check "$node shows the tombstone" dk $node case show "$N" --json
  expect_eq "$node: erased by the street" "zhanhe/beidu" "$(json_get "['erased']['by']" <"$WORK/out")"
  expect_eq "$node: summary gone" "None" "$(json_get "['summary']" <"$WORK/out")"
  check "$node verifies" dk $node verify --json
  expect_eq "$node: verify ok" "True" "$(json_get "['ok']" <"$WORK/out")"
  # open, triage, escalate (lanxin) and the session (street): four bodies.
  [ "$(json_get "['bodies_erased']" <"$WORK/out")" -ge 4 ] && ok || bad "$node erased $(json_get "['bodies_erased']" <"$WORK/out") bodies"
  check "$node audits" dk $node audit "$N" --no-root --json
  expect_eq "$node: erased case verifies" "verified" "$(json_get "['verdict']" <"$WORK/out")"
  expect_eq "$node: audit names the erasure" "court order 2025-31" "$(json_get "['erased']['reason']" <"$WORK/out")"
  expect_eq "$node: no case body left" "0" "$(python3 -c 'import json,sys; print(sum(1 for e in json.load(open(sys.argv[1]))["timeline"] if e["body"] and e["type"] != "erase"))' "$WORK/out")"
  check "$node: case keys" "$POKE" "$WORK/$node" case_keys keys
  [ "$(wc -l <"$WORK/out")" -eq 0 ] && ok || bad "$node still holds a case key"
  if strings "$WORK/$node/data.mdb" | grep -q -e "Feng Hua" -e "Fenghua" -e "Site visit"; then bad "$node data.mdb shows the case"; else ok; fi
done
# A later note cannot be written; the history stays as it was.
expect_fail "no step on an erased case" 1 "erased" dk lanxin case note "$N" --text "late"
finish
