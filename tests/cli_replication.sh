#!/usr/bin/env bash
# Four real docket processes on loopback: a district, a street, two
# communities. Offline writes, links coming up, convergence, store and
# forward, a street killed with kill -9 mid-sync, strangers refused, live
# propagation, and offline bundles (good, damaged, foreign).
. "$(dirname "$0")/lib/harness.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
BASE=$(base_port 2) || { echo "no free ports" >&2; exit 1; }
trap 'if main_shell; then stop_all; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; fi 2>/dev/null' EXIT
dk() { local d=$1; shift; "$DOCKET" --dir "$WORK/$d" "$@"; }
key() { dk "$1" id --json | json_get "['key']"; }
serve() { serve_node "$@" || bad "serve $1 did not start"; }
# A failed 'docket id' says why (its stderr), instead of an empty figure.
id_field() {
  local out
  if ! out=$(dk "$1" id --json 2>"$WORK/id.err"); then
    echo "FAIL: docket id on $1 failed: $(head -c 300 "$WORK/id.err")" >&2
    return 1
  fi
  printf '%s' "$out" | json_get "['$2']"
}
cases_at() { id_field "$1" cases; }
entries_at() { id_field "$1" entries; }

check "init district" dk zhanhe init --office zhanhe --role district --code ZH --listen 127.0.0.1:$BASE
dk zhanhe network-key >"$WORK/net.key"
check "init street" dk beidu init --office zhanhe/beidu --role street --code BD --listen 127.0.0.1:$((BASE + 1)) --network-key-file "$WORK/net.key"
check "init lanxin" dk lanxin init --office zhanhe/beidu/lanxin --role community --code LX --network-key-file "$WORK/net.key"
check "init xinhe" dk xinhe init --office zhanhe/beidu/xinhe --role community --code XH --network-key-file "$WORK/net.key"
ZH=$(key zhanhe); BD=$(key beidu); LX=$(key lanxin); XH=$(key xinhe)
check "pin" dk zhanhe peer add --name beidu --key "$BD" --office zhanhe/beidu --role street
check "pin" dk beidu peer add --name zhanhe --key "$ZH" --office zhanhe --role district --addr 127.0.0.1:$BASE
check "pin" dk beidu peer add --name lanxin --key "$LX" --office zhanhe/beidu/lanxin --role community
check "pin" dk beidu peer add --name xinhe --key "$XH" --office zhanhe/beidu/xinhe --role community
check "pin" dk lanxin peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$((BASE + 1))
check "pin" dk xinhe peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$((BASE + 1))
expect_fail "pin bad key" 2 "64 hex" dk lanxin peer add --name x --key abc --office zhanhe --role district
expect_fail "pin twice" 1 "already pinned" dk lanxin peer add --name beidu2 --key "$BD" --office zhanhe/beidu --role street

# --- offline work, links down
expect_fail "sync while the street is down" 1 "unreachable" dk lanxin sync
check "lanxin ledger offline" dk lanxin case import "$SRC/examples/lanxin-ledger-2025.csv"
check "xinhe case offline" dk xinhe case open --kind dispute --category labour --summary "Wages unpaid" --party "Gao Hui" --json
XN=$(json_get "['number']" <"$WORK/out")
check "xinhe escalates" dk xinhe case escalate "$XN" --level street

# --- links come up
# The district listens before the street dials it, so the street's first
# dial succeeds (a failed dial backs off for seconds); communities learn of
# the district through the street.
serve zhanhe; serve beidu
street_has_district() { [ "$(dk beidu id --json | json_get "['logs']")" -ge 2 ]; }
if wait_for $WAIT street_has_district; then ok; else bad "the street never reached the district"; fi
check "lanxin syncs" dk lanxin sync --json
check "xinhe syncs" dk xinhe sync --json
# Forwarding and witness entries settle within a few rounds, then a sync is
# one idle round trip.
idle_sync() { dk "$1" sync --json >"$WORK/idle.out" 2>&1 && [ "$(json_get "['idle']" <"$WORK/idle.out")" = True ]; }
if wait_for $WAIT idle_sync xinhe; then ok; else bad "xinhe never reached an idle sync: $(cat "$WORK/idle.out")"; fi
# The street passes everything on to the district (store and forward).
LXE=$(entries_at lanxin)
district_has_all() { [ "$(cases_at zhanhe)" = 77 ]; }
if wait_for $WAIT district_has_all; then ok; else bad "district holds $(cases_at zhanhe) cases, wanted 77"; fi
check "district report" dk zhanhe report --by office --json
expect_eq "district sees lanxin" "zhanhe/beidu/lanxin" "$(json_get "['groups'][0]['group']" <"$WORK/out")"
expect_eq "district sees xinhe" "zhanhe/beidu/xinhe" "$(json_get "['groups'][1]['group']" <"$WORK/out")"
expect_eq "district agreed figure" "45" "$(json_get "['groups'][0]['agreed']" <"$WORK/out")"
check "street peer list" dk lanxin peer list --json
[ "$(json_get "[0]['last_sync']" <"$WORK/out")" != "None" ] && ok || bad "last sync recorded"
expect_eq "nothing lacking" "0" "$(json_get "[0]['they_lack']" <"$WORK/out")"

# --- scope: a community never receives a sibling's log
check "lanxin id" dk lanxin id --json
expect_eq "lanxin holds its own log and the two above" "3" "$(json_get "['logs']" <"$WORK/out")"
expect_fail "lanxin cannot see xinhe's case" 1 "no case" dk lanxin case show "$XN"

# --- the street writes to the escalated case; xinhe folds it
check "street session" dk beidu case session "$XN" --note "Met the contractor" --minutes 60 --by "Sun Hua"
check "xinhe pulls" dk xinhe sync
check "xinhe show" dk xinhe case show "$XN" --json
expect_eq "street's session folded at xinhe" "mediating" "$(json_get "['status']" <"$WORK/out")"

# --- strangers get nothing
check "stranger init" dk stranger init --office zhanhe/beidu/lanxin --role community --code ST
check "stranger pins the street" dk stranger peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$((BASE + 1))
expect_fail "wrong network key" 1 "network key" dk stranger sync
grep -q "wrong network key" "$WORK/beidu.log" && ok || bad "the street logs the wrong network key"
check "impostor init" dk impostor init --office zhanhe/beidu/lanxin --role community --code IM --network-key-file "$WORK/net.key"
check "impostor pins the street" dk impostor peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$((BASE + 1))
expect_fail "unknown key refused" 1 "not pinned" dk impostor sync
grep -q "refused a node this office does not know" "$WORK/beidu.log" && ok || bad "the street logs the refusal"
expect_eq "impostor received nothing" "1" "$(dk impostor id --json | json_get "['logs']")"

# --- the street dies right after a commit in the middle of a big sync,
# restarts, and the sync resumes from there
python3 - "$WORK/big.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("number,kind,category,opened,summary,parties,class,mediator,sessions,minutes,outcome,closed\n")
    for i in range(1, 3001):
        f.write(f"LX-2024-{i:04d},dispute,neighbour,2024-05-{1 + i % 28:02d},Case {i},Party {i},clinic,Chen Gang,2,60,agreed,2024-06-{1 + i % 28:02d}\n")
PY
check "big import" dk lanxin case import "$WORK/big.csv" --json
BIG=$(json_get "['entries']" <"$WORK/out")
# Only lanxin's batches may reach the street now, so that the street's Nth
# commit is lanxin's Nth batch: stop the district and restart the street with
# a fault hook that makes it exit right after its 5th ingest commit (a batch
# holds at most 1024 entries, the stream about 21 000).
stop_node zhanhe; stop_node beidu
START=$(entries_at beidu)
serve beidu ingest-commit:5
dk lanxin sync --json >"$WORK/killed-sync.out" 2>&1
SYNC_RC=$?
# The street must already be gone. The bound only makes a hook that never
# fires fail the test instead of hanging it. (No watchdog subshell: one
# killed right after its fork runs this shell's EXIT trap; see main_shell.)
street_gone() { ! is_child "$PID_beidu"; }
wait_for "$WAIT" street_gone || kill -9 "$PID_beidu" 2>/dev/null
wait "$PID_beidu"
STREET_RC=$?
BEFORE=$(entries_at beidu)
expect_eq "the street exited at the hook (after its 5th commit)" 99 "$STREET_RC"
[ "$STREET_RC" = 99 ] || echo "street log: $(tail -n 15 "$WORK/beidu.log"); sync: $(head -c 600 "$WORK/killed-sync.out")" >&2
if [ "$SYNC_RC" -ne 0 ]; then ok; else bad "the sync did not notice the street died: $(head -c 300 "$WORK/killed-sync.out")"; fi
if [ "$BEFORE" -gt "$START" ] && [ "$BEFORE" -lt $((START + BIG)) ]; then ok
else bad "the street did not die mid-sync (street held $START, holds $BEFORE, stream $BIG)"; fi
serve beidu
check "sync after the kill" dk lanxin sync --json
# It resumes from the street's last commit: it sends exactly what the street
# did not commit, nothing of what it did.
expect_eq "the resumed sync sends only what the street lacks" $((START + BIG - BEFORE)) "$(json_get "['entries_sent']" <"$WORK/out")"
if wait_for $WAIT idle_sync lanxin; then ok; else bad "lanxin not in step after the resume"; fi
# Exactly the community's log: nothing lost, nothing twice.
check "lanxin head" dk lanxin id --json
LXSEQ=$(json_get "['own_seq']" <"$WORK/out")
check "street verify" dk beidu verify --json
expect_eq "street verifies" "True" "$(json_get "['ok']" <"$WORK/out")"
python3 - "$WORK" "$DOCKET" <<'PY' >"$WORK/cmp" 2>&1
import json, subprocess, sys
w, d = sys.argv[1], sys.argv[2]
def cases(node):
    out = subprocess.run([d, "--dir", f"{w}/{node}", "case", "list", "--json"], capture_output=True, text=True, check=True).stdout
    return sorted(c["number"] for c in json.loads(out) if c["office"] == "zhanhe/beidu/lanxin")
a, b = cases("lanxin"), cases("beidu")
print(len(a), len(b), len(set(b)))
sys.exit(0 if a == b and len(b) == len(set(b)) else 1)
PY
if [ $? -eq 0 ]; then ok; else bad "street's lanxin cases differ after the kill: $(cat "$WORK/cmp")"; fi

# --- live: a new entry reaches the district while links stay up
serve zhanhe
serve lanxin
check "live case" dk lanxin case open --kind consultation --summary "Live question" --json
LIVE=$(json_get "['number']" <"$WORK/out")
district_has_live() { dk zhanhe case show "$LIVE" >/dev/null 2>&1; }
if wait_for $WAIT district_has_live; then ok; else bad "live case did not reach the district"; fi

# --- offline bundles
stop_all
check "xinhe note offline" dk xinhe case note "$XN" --text "Workers' list handed over"
check "export" dk xinhe export --peer beidu --out "$WORK/x.bundle" --json
N_ENTRIES=$(json_get "['entries']" <"$WORK/out")
[ "$N_ENTRIES" -ge 1 ] && [ "$N_ENTRIES" -lt 10 ] && ok || bad "bundle carries only what the street lacks: $N_ENTRIES"
cp "$WORK/x.bundle" "$WORK/damaged.bundle"
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=1; open(p,"wb").write(b)' "$WORK/damaged.bundle"
BEFORE=$(entries_at beidu)
expect_fail "damaged bundle" 1 "damaged or from another deployment" dk beidu import "$WORK/damaged.bundle"
expect_eq "damaged bundle stored nothing" "$BEFORE" "$(entries_at beidu)"
check "stranger exports" dk stranger export --out "$WORK/foreign.bundle"
expect_fail "foreign bundle" 1 "damaged or from another deployment" dk beidu import "$WORK/foreign.bundle"
check "impostor exports" dk impostor export --out "$WORK/impostor.bundle"
expect_fail "bundle from an unpinned node" 1 "has not pinned" dk beidu import "$WORK/impostor.bundle"
printf 'not a bundle' >"$WORK/junk.bundle"
expect_fail "junk file" 1 "not a docket bundle" dk beidu import "$WORK/junk.bundle"
check "good bundle" dk beidu import "$WORK/x.bundle" --json
[ "$(json_get "['stored']" <"$WORK/out")" -ge 1 ] && ok || bad "bundle stored its entries"
check "again: nothing new" dk beidu import "$WORK/x.bundle" --json
expect_eq "reimport stores nothing" "0" "$(json_get "['stored']" <"$WORK/out")"
check "street sees the note" dk beidu case show "$XN" --json
grep -q "handed over" "$WORK/out" && ok || bad "note folded at the street"
check "district verify" dk zhanhe verify
finish
