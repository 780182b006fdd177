#!/usr/bin/env bash
# Damage in the store is found and named. A node with a few cases is copied,
# one value of the copy is damaged behind docket's back (tests/tools/
# lmdb_poke), and `docket verify` must exit 1 naming exactly the damaged
# entry (log prefix and seq in the text output; log, seq and error in
# --json problems[]), without crashing. The undamaged original keeps
# verifying. Reading a case whose body is damaged fails with a clear error.
. "$(dirname "$0")/lib/harness.sh"
POKE=${2:?usage: $0 path/to/docket path/to/lmdb_poke}
P="$WORK/pristine"
dk() { "$DOCKET" --dir "$P" "$@"; }

# --- a node with three cases: seq 1 office; per case open, triage, note
check "init" dk init --office zhanhe/beidu/lanxin --role community --code LX
for i in 1 2 3; do
  check "open case $i" dk case open --kind dispute --category neighbour --summary "Noise from flat 30$i" --party "Resident $i" --number "LX-2024-000$i"
  check "triage case $i" dk case triage "LX-2024-000$i" --class clinic
  check "note case $i" dk case note "LX-2024-000$i" --text "Visited flat 30$i"
done
check "id" dk id --json
LOG=$(json_get "['key']" <"$WORK/out")
expect_eq "entries held" "10" "$(json_get "['entries']" <"$WORK/out")"
check "pristine node verifies" dk verify --json
expect_eq "pristine verify ok" "True" "$(json_get "['ok']" <"$WORK/out")"
expect_eq "pristine verify decrypts every case body" "9" "$(json_get "['bodies_decrypted']" <"$WORK/out")"

# Entries and bodies are keyed by position; this node holds one log, so the
# entry at seq N is at position N.
key() { printf '%016x' "$1"; }

# copy NAME: a fresh copy of the pristine node; prints its directory
copy() { rm -rf "$WORK/$1"; cp -a "$P" "$WORK/$1"; echo "$WORK/$1"; }

poke() { "$POKE" "$@" >"$WORK/poke.out" 2>"$WORK/poke.err" || { bad "lmdb_poke $*: $(cat "$WORK/poke.err")"; return 1; }; }

# expect_damage WHAT DIR SEQ ERROR...: verify exits 1, names (LOG, SEQ) in
# both outputs, reports every ERROR for it, and blames no other entry.
expect_damage() {
  local what=$1 dir=$2 seq=$3; shift 3
  "$DOCKET" --dir "$dir" verify >"$WORK/v.txt" 2>"$WORK/v.err"
  local rc=$?
  expect_eq "$what: verify exit status" 1 "$rc"
  grep -q "log ${LOG:0:16}  seq $seq:" "$WORK/v.txt" && ok ||
    bad "$what: verify output does not name seq $seq: $(head -c 400 "$WORK/v.txt") $(head -c 200 "$WORK/v.err")"
  "$DOCKET" --dir "$dir" verify --json >"$WORK/v.json" 2>"$WORK/v.err"
  rc=$?
  expect_eq "$what: verify --json exit status" 1 "$rc"
  local got
  got=$(python3 - "$WORK/v.json" "$LOG" "$seq" "$@" <<'EOF'
import json, sys
path, log, seq, want = sys.argv[1], sys.argv[2], int(sys.argv[3]), set(sys.argv[4:])
try:
    d = json.load(open(path))
except Exception as e:
    print("no JSON: %s" % e); sys.exit()
probs = d.get("problems", [])
others = [p for p in probs if p["log"] != log or p["seq"] != seq]
codes = {p["error"] for p in probs if p["log"] == log and p["seq"] == seq}
if d.get("ok") is not False: print("ok is not false")
elif not probs: print("no problems listed")
elif others: print("blames other entries: %s" % others)
elif not want <= codes: print("errors %s, wanted %s" % (sorted(codes), sorted(want)))
else: print("named")
EOF
)
  expect_eq "$what: problems[] names log and seq $seq with ${*}" "named" "$got"
}

# --- a header byte: the last byte of the signed body hash. The header still
# decodes, but the signature, the id and the body hash no longer agree.
D=$(copy header)
poke "$D" log_entries flip "$(key 6)" -65 &&
  expect_damage "header byte" "$D" 6 EBADSIG EBADID EBADBODY

# --- the header's first byte (array of 9 becomes array of 8): malformed
D=$(copy header-format)
poke "$D" log_entries flip "$(key 3)" 2 &&
  expect_damage "malformed header" "$D" 3 EFORMAT

# --- a signature byte
D=$(copy signature)
poke "$D" log_entries flip "$(key 7)" -1 &&
  expect_damage "signature byte" "$D" 7 EBADSIG EBADID
# an entry of case 2 (its note, seq 7): named by the case's number
"$DOCKET" --dir "$D" verify >"$WORK/out" 2>"$WORK/err"
grep -q "^DAMAGED  case LX-2024-0002  log ${LOG:0:16}  seq 7: signature" "$WORK/out" && ok ||
  bad "signature byte: verify does not name the case by number: $(head -c 300 "$WORK/out")"
# a malformed header names no case: the entry only
D=$(copy header-format2)
poke "$D" log_entries flip "$(key 3)" 2 && "$DOCKET" --dir "$D" verify >"$WORK/out" 2>"$WORK/err"
grep -q "^DAMAGED  log ${LOG:0:16}  seq 3: entry header is malformed" "$WORK/out" && ok ||
  bad "malformed header: not named by its entry: $(head -c 300 "$WORK/out")"

# --- a stored entry cut short
D=$(copy truncated)
if poke "$D" log_entries get "$(key 4)"; then
  v=$(cat "$WORK/poke.out")
  poke "$D" log_entries put "$(key 4)" "${v:0:${#v}-2}" &&
    expect_damage "truncated entry" "$D" 4 EFORMAT
fi

# --- a body byte (case 2's triage, seq 6); then read that case
D=$(copy body)
poke "$D" log_bodies flip "$(key 6)" 60 &&
  expect_damage "body byte" "$D" 6 EBADBODY
# the damage is named by its case's number as well as by its entry
"$DOCKET" --dir "$D" verify >"$WORK/out" 2>"$WORK/err"
grep -q "^DAMAGED  case LX-2024-0002  log ${LOG:0:16}  seq 6: body does not match" "$WORK/out" && ok ||
  bad "body byte: verify does not name the case by number: $(head -c 300 "$WORK/out")"
"$DOCKET" --dir "$D" verify --json >"$WORK/out" 2>"$WORK/err"
expect_eq "body byte: problems[] names the case" "LX-2024-0002" "$(json_get "['problems'][0]['case']" <"$WORK/out")"
"$DOCKET" --dir "$D" case show LX-2024-0002 >"$WORK/out" 2>"$WORK/err"
expect_eq "show a case with a damaged body: exit status" 1 $?
grep -q "docket: error: .*body does not match" "$WORK/err" && ok ||
  bad "show a damaged case: unclear error: $(head -c 300 "$WORK/err")"
"$DOCKET" --dir "$D" case show LX-2024-0002 --json >"$WORK/out" 2>"$WORK/err"
expect_eq "show --json a case with a damaged body: exit status" 1 $?
expect_eq "show --json a damaged case: JSON error code" EBADBODY \
  "$(json_get "['error']['code']" <"$WORK/err")"
grep -q '"message":.*body does not match' "$WORK/err" && ok ||
  bad "show --json a damaged case: unclear error: $(head -c 300 "$WORK/err")"
check "undamaged case of the damaged node still shows" "$DOCKET" --dir "$D" case show LX-2024-0003 --json
expect_eq "undamaged case history" "3" "$(json_get "['history'].__len__()" <"$WORK/out")"

# --- an entry deleted from the middle of the log
D=$(copy deleted)
poke "$D" log_entries del "$(key 5)" &&
  expect_damage "deleted entry" "$D" 5 ENOTFOUND
"$DOCKET" --dir "$D" case show LX-2024-0002 >"$WORK/out" 2>"$WORK/err"
expect_eq "show a case whose open entry is gone: exit status" 1 $?
grep -q "docket: error: " "$WORK/err" && ok || bad "show a case with a deleted entry: $(head -c 300 "$WORK/err")"

# --- the last entry deleted: the head names it
D=$(copy deleted-head)
poke "$D" log_entries del "$(key 10)" &&
  expect_damage "deleted head entry" "$D" 10 EBADID

# --- the run record of the log cut short: seq 10 is no longer found
D=$(copy runs)
poke "$D" runs put "$LOG$(printf '%016x' 1)" "$(printf '%016x%016x' 1 9)" &&
  expect_damage "run record cut short" "$D" 10 EBADID

# --- a body gone without an erase entry is damage, not an erasure (case 3's
# note, seq 10), and the case does not show without it
D=$(copy body-gone)
poke "$D" log_bodies del "$(key 10)" &&
  expect_damage "body gone" "$D" 10 EBADBODY
"$DOCKET" --dir "$D" case show LX-2024-0003 --json >"$WORK/out" 2>"$WORK/err"
expect_eq "show a case whose note body is gone: exit status" 1 $?
grep -q '"code":"EBADBODY"' "$WORK/err" && ok || bad "show a case with a body gone: $(head -c 300 "$WORK/err")"

# --- one byte of a bodies key flipped: the body sits under a key no entry
# has (case 2's triage, seq 6), which is its body gone
D=$(copy body-key)
if poke "$D" log_bodies get "$(key 6)"; then
  v=$(cat "$WORK/poke.out")
  k=$(key 6)
  poke "$D" log_bodies del "$k" && poke "$D" log_bodies put "$(printf %02x $(( 0x${k:0:2} ^ 0x80 )))${k:2}" "$v" &&
    expect_damage "bodies key flipped" "$D" 6 EBADBODY
fi

# --- an erased case is not damage: its bodies are gone under a signed
# erase entry, and the signed history still verifies
D=$(copy erased)
check "erase case 3" "$DOCKET" --dir "$D" case erase LX-2024-0003 --reason "Asked to be forgotten" --yes
check "verify with an erased case" "$DOCKET" --dir "$D" verify --json
expect_eq "erased case verifies" "True" "$(json_get "['ok']" <"$WORK/out")"
expect_eq "erased bodies counted (open, triage, note)" "3" "$(json_get "['bodies_erased']" <"$WORK/out")"
# --- a body removed behind docket's back is damage, not an erasure: verify
# names the entry, --repair cannot make the body up, and the case does not
# show with a hole in its history
D=$(copy removed)
poke "$D" log_bodies del "$(key 9)" &&
  expect_damage "removed body" "$D" 9 EBADBODY
"$DOCKET" --dir "$D" verify --repair --json >"$WORK/out" 2>"$WORK/err"
expect_eq "removed body: repair cannot make it up" 1 $?
"$DOCKET" --dir "$D" case show LX-2024-0003 --json >"$WORK/out" 2>"$WORK/err"
expect_eq "removed body: the case does not show with a hole" 1 $?

# --- a counter's value damaged (3 bytes where 8 were): 'case open' failed
# while verify said OK. Now verify names the counters table and --repair
# writes it again from the numbers held, and numbering goes on after them.
D=$(copy counter)
check "a case of this year" "$DOCKET" --dir "$D" case open --kind consultation --summary "Rent" --json
YEAR_NO=$(json_get "['number']" <"$WORK/out")
if poke "$D" counters keys; then
  ck=$(tail -n 1 "$WORK/poke.out") # code || year: this year's sorts last
  poke "$D" counters put "$ck" 010203 &&
    expect_fail "damaged counter: case open fails" 1 "error" \
      "$DOCKET" --dir "$D" case open --kind consultation --summary "Pension question"
  "$DOCKET" --dir "$D" verify --json >"$WORK/out" 2>"$WORK/err"
  expect_eq "damaged counter: verify exit status" 1 $?
  expect_eq "damaged counter: verify names the table" "counters" \
    "$(json_get "['derived'][0]['table']" <"$WORK/out")"
  check "damaged counter: repair" "$DOCKET" --dir "$D" verify --repair --json
  expect_eq "damaged counter: repaired" "True" "$(json_get "['repaired']" <"$WORK/out")"
  check "case open after the repair" "$DOCKET" --dir "$D" case open --kind consultation \
    --summary "Pension question" --json
  expect_eq "the next number follows the ones held" "${YEAR_NO%-*}-0002" "$(json_get "['number']" <"$WORK/out")"
fi

# --- data.mdb cut to half its size: every command refuses the store with a
# message naming the damage and the way out, none dies by a signal (SIGBUS)
D=$(copy truncated)
truncate -s $(( $(stat -c %s "$D/data.mdb") / 2 )) "$D/data.mdb"
for cmd in "verify" "case list" "report" "case show LX-2024-0001" "id"; do
  # shellcheck disable=SC2086
  expect_fail "cut store: $cmd" 1 "store file is damaged.*backup.*street" "$DOCKET" --dir "$D" $cmd
done

# --- the original was never touched
check "pristine node still verifies" dk verify --json
expect_eq "pristine still ok" "True" "$(json_get "['ok']" <"$WORK/out")"
finish
