#!/usr/bin/env bash
# Damaged B-tree pages never kill a command. A store with the example ledger
# (76 cases, 504 entries: the big tables have branch pages) is copied, and 8
# bytes of one page of the copy are overwritten behind docket's back: a
# branch's child page number, a leaf's lower/upper bounds, a leaf's node
# offsets, a page header's flags. Each of these made `docket verify`, `case
# list`, `case show` or `report` die of SIGSEGV, SIGBUS or SIGABRT inside
# LMDB. Now `verify` walks the pages first and exits 1 naming the damaged
# page and the way out, and every read command either works or exits 1 with
# that message (LMDB's faults are confined: node/store/store.c).
. "$(dirname "$0")/lib/harness.sh"
PAGES="$(dirname "$0")/tools/lmdb_pages.py"
P="$WORK/pristine"
dk() { "$DOCKET" --dir "$P" "$@"; }
check "init" dk init --office zhanhe/beidu/lanxin --role community --code LX
check "import the example ledger" dk case import "$(dirname "$0")/../examples/lanxin-ledger-2025.csv"
check "pristine verifies" dk verify
page_of() { python3 "$PAGES" "$P/data.mdb" "$@"; }

# damage NAME OFFSET HEX: a copy of the pristine node with HEX written at
# OFFSET of its data.mdb; prints its directory
damage() {
  rm -rf "$WORK/$1"
  cp -a "$P" "$WORK/$1"
  python3 -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(int(sys.argv[2])); f.write(bytes.fromhex(sys.argv[3]))' \
    "$WORK/$1/data.mdb" "$2" "$3"
  echo "$WORK/$1"
}

WAYOUT="store file is damaged.*backup.*street"
# no_signal WHAT DIR: every read command works or exits 1 naming the damage;
# verify exits 1 naming a damaged page.
no_signal() {
  local what=$1 dir=$2 rc
  "$DOCKET" --dir "$dir" verify >"$WORK/out" 2>"$WORK/err"
  rc=$?
  expect_eq "$what: verify exit status" 1 "$rc"
  grep -q "^DAMAGED  store page [0-9]* (table " "$WORK/out" && ok ||
    bad "$what: verify names no damaged page: $(head -c 300 "$WORK/out")"
  grep -q "$WAYOUT" "$WORK/err" && ok || bad "$what: verify gives no way out: $(head -c 300 "$WORK/err")"
  "$DOCKET" --dir "$dir" --json verify >"$WORK/out" 2>"$WORK/err"
  expect_eq "$what: verify --json exit status" 1 "$?"
  expect_eq "$what: verify --json error" EDAMAGED "$(json_get "['error']['code']" <"$WORK/err")"
  expect_eq "$what: verify --json lists the page" True "$(json_get "['pages'][0]['page'] > 1" <"$WORK/out")"
  for cmd in "case list" "case list --json" "case show LX-2025-0007" "case show LX-2025-0040 --json" \
    "report" "report --json"; do
    # shellcheck disable=SC2086
    "$DOCKET" --dir "$dir" $cmd >"$WORK/out" 2>"$WORK/err"
    rc=$?
    if [ "$rc" -eq 0 ]; then
      ok
    elif [ "$rc" -eq 1 ] && grep -q "damaged" "$WORK/err" && grep -q "backup" "$WORK/err"; then
      ok
    else
      bad "$what: $cmd: exit $rc: $(head -c 300 "$WORK/err")"
    fi
  done
}

FF=ffffffffffffffff
# a branch's child page number (the second node of the entries' root)
D=$(damage child "$(page_of child log_entries 1)" $FF) && no_signal "entries branch child" "$D"
D=$(damage child0 "$(page_of child log_bodies 0)" 4107001000039970) && no_signal "bodies branch child" "$D"
# a leaf's lower and upper bounds, and its first node offsets
D=$(damage bounds $(( $(page_of leaf cases) * 4096 + 12 )) $FF) && no_signal "cases leaf bounds" "$D"
D=$(damage keys-bounds $(( $(page_of leaf case_keys) * 4096 + 12 )) $FF) && no_signal "case keys leaf bounds" "$D"
# the node offsets (mp_ptrs) of a leaf
D=$(damage ptrs $(( $(page_of leaf log_bodies) * 4096 + 16 )) 4107001000039970) && no_signal "bodies leaf node offsets" "$D"
D=$(damage ptrs2 $(( $(page_of leaf log_entries) * 4096 + 16 )) $FF) && no_signal "entries leaf node offsets" "$D"
# a page header's flags (and its bounds)
D=$(damage flags $(( $(page_of leaf case_events) * 4096 + 8 )) $FF) && no_signal "case events page flags" "$D"
D=$(damage root-flags $(( $(page_of root log_entries) * 4096 + 8 )) $FF) && no_signal "entries root page flags" "$D"

check "pristine still verifies" dk verify
finish
