#!/usr/bin/env bash
# docket backup while serve runs and a writer writes, restore (checked before
# anything is written, only into an empty directory), and docket passwd
# (old passphrase checked first, the key file replaced atomically).
. "$(dirname "$0")/lib/harness.sh"
# Stores open with a 64 KiB map (docket-test only, common/fault.h), so that
# the map grows here as it does on a large store: a restored store is
# compacted, its map holds no free page, and verify's first write (its
# shadow tables) must grow it.
export DOCKET_FAULT_MAP_BYTES=65536
PORT=$((21000 + RANDOM % 20000))
D="$WORK/lanxin"
dk() { "$DOCKET" --dir "$D" "$@"; }
SP=""
trap 'if main_shell; then [ -n "$SP" ] && kill $SP 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; fi 2>/dev/null' EXIT
check "init" dk init --office zhanhe/beidu/lanxin --role community --code LX --listen 127.0.0.1:$PORT
for i in 1 2 3; do check "case $i" dk case open --kind dispute --summary "Dispute $i"; done
KEY=$(dk id --json | json_get "['key']")

# --- backup while serve runs and cases are being written
"$DOCKET" --dir "$D" serve >"$WORK/serve.log" 2>&1 & SP=$!
( for i in $(seq 4 23); do "$DOCKET" --dir "$D" case open --kind hazard --summary "Hazard $i" >/dev/null 2>&1; done ) & WP=$!
check "backup" dk backup --out "$WORK/b1.backup" --json
BYTES=$(json_get "['bytes']" <"$WORK/out")
expect_eq "size reported" "$(stat -c %s "$WORK/b1.backup")" "$BYTES"
wait $WP
kill -0 $SP 2>/dev/null && ok || bad "serve kept running through the backup"

# --- verify while serve runs and cases are being written: its rebuild in the
# shadow tables commits between the writer's commits, and it compares only
# where both indexers have seen the same entries (whatever the interleaving)
( for i in $(seq 24 43); do "$DOCKET" --dir "$D" case open --kind hazard --summary "Hazard $i" >/dev/null 2>&1; done ) & WP=$!
check "verify while a writer writes" dk verify --json
expect_eq "verify while a writer writes: ok" "True" "$(json_get "['ok']" <"$WORK/out")"
expect_eq "verify while a writer writes: no differences" "0" "$(json_get "['derived_differences']" <"$WORK/out")"
wait $WP
check "verify after the writer" dk verify --json
expect_eq "verify after the writer: ok" "True" "$(json_get "['ok']" <"$WORK/out")"
expect_fail "backup does not overwrite" 1 "exists" dk backup --out "$WORK/b1.backup"
if grep -q "test passphrase" "$WORK/b1.backup"; then bad "passphrase in the backup"; else ok; fi
if grep -q "Dispute 1" "$WORK/b1.backup"; then bad "case text in the clear in the backup"; else ok; fi

# --- restore: the same node, consistent, readable with its passphrase
check "restore" "$DOCKET" restore "$WORK/b1.backup" --dir "$WORK/restored" --json
expect_eq "restored key" "$KEY" "$("$DOCKET" --dir "$WORK/restored" id --json | json_get "['key']")"
check "restored node verifies" "$DOCKET" --dir "$WORK/restored" verify --json
N=$("$DOCKET" --dir "$WORK/restored" case list --json | json_get ".__len__()")
[ "$N" -ge 3 ] && [ "$N" -le 23 ] && ok || bad "restored cases: $N"
"$DOCKET" --dir "$WORK/restored" case list --json | grep -q "Dispute 2" && ok || bad "restored case readable"
kill $SP; wait $SP 2>/dev/null; SP=""

# --- restore refuses a non-empty directory and a bad file, writing nothing
mkdir -p "$WORK/full"; echo x >"$WORK/full/notes.txt"
expect_fail "non-empty dir" 1 "not empty" "$DOCKET" restore "$WORK/b1.backup" --dir "$WORK/full"
expect_eq "non-empty dir untouched" "notes.txt" "$(ls "$WORK/full")"
expect_fail "restore over a node" 1 "not empty" "$DOCKET" restore "$WORK/b1.backup" --dir "$D"
cp "$WORK/b1.backup" "$WORK/flip.backup"
python3 - "$WORK/flip.backup" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x40; open(p, "wb").write(b)
PY
expect_fail "a flipped byte" 1 "checksum does not match); nothing was written" "$DOCKET" restore "$WORK/flip.backup" --dir "$WORK/r2"
[ ! -e "$WORK/r2" ] && ok || bad "nothing written for a damaged backup"
head -c 5000 "$WORK/b1.backup" >"$WORK/cut.backup"
expect_fail "cut short" 1 "cut short" "$DOCKET" restore "$WORK/cut.backup" --dir "$WORK/r3"
[ ! -e "$WORK/r3" ] && ok || bad "nothing written for a cut backup"
cp "$D/key" "$WORK/notbackup"
expect_fail "not a backup" 1 "not a docket backup" "$DOCKET" restore "$WORK/notbackup" --dir "$WORK/r4"
expect_fail "restore needs a dir" 2 "--dir is required" "$DOCKET" restore "$WORK/b1.backup"

# --- passwd
cp "$D/key" "$WORK/key.before"
expect_fail "passwd: wrong old passphrase" 1 "wrong passphrase" env DOCKET_PASSPHRASE=nope DOCKET_NEW_PASSPHRASE=new "$DOCKET" --dir "$D" passwd
cmp -s "$D/key" "$WORK/key.before" && ok || bad "key file unchanged after a wrong passphrase"
expect_fail "passwd: same passphrase" 1 "is the old one" env DOCKET_NEW_PASSPHRASE="test passphrase" "$DOCKET" --dir "$D" passwd
# a failed rename (injected) leaves the old file working and no temporary file
if command -v strace >/dev/null; then
  env DOCKET_NEW_PASSPHRASE="brand new" strace -f -o /dev/null -e trace=rename -e inject=rename:error=EIO "$DOCKET" --dir "$D" passwd >"$WORK/out" 2>"$WORK/err"
  expect_eq "passwd fails when the rename fails" 1 $?
  cmp -s "$D/key" "$WORK/key.before" && ok || bad "key file unchanged after a failed rename"
  [ ! -e "$D/key.tmp" ] && ok || bad "no key.tmp left behind"
  check "old passphrase still opens it" dk case list
fi
check "passwd" env DOCKET_NEW_PASSPHRASE="brand new" "$DOCKET" --dir "$D" passwd --json
expect_fail "old passphrase refused after passwd" 1 "wrong passphrase" dk case list
check "new passphrase opens it" env DOCKET_PASSPHRASE="brand new" "$DOCKET" --dir "$D" case list
expect_eq "same identity" "$KEY" "$(dk id --json | json_get "['key']")"
[ "$(stat -c %a "$D/key")" = 600 ] && ok || bad "key file mode 0600"
# the backup taken before still opens with the passphrase of its time
check "restore the old backup" "$DOCKET" restore "$WORK/b1.backup" --dir "$WORK/r5"
check "old backup, old passphrase" "$DOCKET" --dir "$WORK/r5" case list
finish
