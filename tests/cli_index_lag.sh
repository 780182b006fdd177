#!/usr/bin/env bash
# A burst is stored and acknowledged before its case tables are written
# (node/ingest/index.h): the street's `serve` indexes it after the session,
# on its own time, so the community's sync never waits for it.
#   - With the street's indexer held (DOCKET_FAULT_INDEX_HOLD=1, test builds
#     only), the community's sync still ends, every entry is at the street,
#     and `docket id` there shows how many entries the case tables lack.
#   - A command that opens the street unlocked indexes what is left first:
#     its report gives the community's own figures, and the lag is 0 after.
#   - With the indexer free, `serve` brings the case tables up to date by
#     itself after a burst and says so in its log.
. "$(dirname "$0")/lib/harness.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
BASE=$(base_port 1) || { echo "no free ports" >&2; exit 1; }
trap 'if main_shell; then stop_all; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; fi 2>/dev/null' EXIT
dk() { local d=$1; shift; "$DOCKET" --dir "$WORK/$d" "$@"; }
key() { dk "$1" id --json | json_get "['key']"; }
field() { dk "$1" id --json | json_get "['$2']"; }
serve() { serve_node "$@" || bad "serve $1 did not start"; }
# The figures of a report, without what differs between two nodes by design
# (who made it, when, the freshness of each office).
figures() {
  python3 -c '
import json, sys
d = json.load(sys.stdin)
rows = {g["group"]: {k: v for k, v in g.items() if k not in ("last_entry", "last_sync")} for g in d["groups"]}
print(json.dumps(rows, sort_keys=True))'
}

check "init street" dk beidu init --office zhanhe/beidu --role street --code BD --listen 127.0.0.1:$BASE
dk beidu network-key >"$WORK/net.key"
check "init lanxin" dk lanxin init --office zhanhe/beidu/lanxin --role community --code LX --network-key-file "$WORK/net.key"
BD=$(key beidu); LX=$(key lanxin)
check "pin" dk beidu peer add --name lanxin --key "$LX" --office zhanhe/beidu/lanxin --role community
check "pin" dk lanxin peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$BASE
check "lanxin ledger" dk lanxin case import "$SRC/examples/lanxin-ledger-2025.csv"
LXC=$(field lanxin cases)
[ "$LXC" -gt 10 ] && ok || bad "lanxin holds $LXC cases after its ledger"
check "lanxin report" dk lanxin report --by office --json
figures <"$WORK/out" >"$WORK/lanxin.fig"

# --- the street's indexer held: the sync ends all the same
export DOCKET_FAULT_INDEX_HOLD=1
serve beidu
unset DOCKET_FAULT_INDEX_HOLD
LXE=$(field lanxin entries)
check "lanxin syncs while the street indexes nothing" dk lanxin sync --json
expect_eq "every entry sent" "$LXE" "$(json_get "['entries_sent']" <"$WORK/out")"
stop_clean beidu
LAG=$(field beidu index_lag)
[ "$LAG" -ge "$LXE" ] && ok || bad "street index lag $LAG, wanted at least lanxin's $LXE entries"
expect_eq "no case state yet at the street" "0" "$(field beidu cases)"
check "id says so" dk beidu id
grep -q "entries not in the case tables yet" "$WORK/out" && ok || bad "docket id did not tell the lag: $(cat "$WORK/out")"
check "status says so" dk beidu status --json
expect_eq "status shows the lag" "$LAG" "$(json_get "['store']['index_lag']" <"$WORK/out")"
if grep -q "case tables up to date" "$WORK/beidu.log"; then bad "the held indexer ran"; else ok; fi

# --- a reader indexes what is left first
check "street report" dk beidu report --by office --json
figures <"$WORK/out" >"$WORK/beidu.fig"
if cmp -s "$WORK/lanxin.fig" "$WORK/beidu.fig"; then ok; else
  bad "the street's figures differ from lanxin's: $(diff "$WORK/lanxin.fig" "$WORK/beidu.fig" | head -c 600)"
fi
expect_eq "no lag after an unlocked open" "0" "$(field beidu index_lag)"
expect_eq "every case folded at the street" "$LXC" "$(field beidu cases)"

# --- the indexer free: serve indexes a burst by itself, after it
serve beidu
check "lanxin opens one more" dk lanxin case open --kind consultation --category labour --summary "Wages" --party "Chen Li"
check "lanxin syncs" dk lanxin sync --json
indexed() { [ "$(field beidu index_lag)" = 0 ] && grep -q "case tables up to date" "$WORK/beidu.log"; }
if wait_for $WAIT indexed; then ok; else bad "serve never indexed the burst: lag $(field beidu index_lag)"; fi
expect_eq "the new case folded by serve" "$((LXC + 1))" "$(field beidu cases)"
stop_clean beidu
finish
