#!/bin/sh
# The main job, on loopback: a district, a street and two community offices.
# Cases are recorded while the communities are offline, links come up, the
# logs replicate community -> street -> district, and the district reports
# over both communities and verifies everything it holds.
set -eu
DOCKET=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SRC=$(cd "$(dirname "$0")/.." && pwd)
DEMO=${DOCKET_DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/docket-demo.XXXXXX")}
BASE=${DOCKET_DEMO_PORT:-$((20000 + $$ % 20000))}
export DOCKET_PASSPHRASE="demo passphrase"
unset DOCKET_DIR DOCKET_PASSPHRASE_FILE
PIDS=""
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ docket %s\n' "$*"; "$DOCKET" "$@"; }
key_of() { "$DOCKET" --dir "$1" id --json | sed -n 's/.*"key": "\([0-9a-f]*\)".*/\1/p'; }

say "Four offices set up their nodes (work in $DEMO)"
run --dir "$DEMO/zhanhe" init --office zhanhe --role district --code ZH --listen "127.0.0.1:$BASE"
"$DOCKET" --dir "$DEMO/zhanhe" network-key >"$DEMO/network.key"
chmod 600 "$DEMO/network.key"
run --dir "$DEMO/beidu" init --office zhanhe/beidu --role street --code BD \
  --listen "127.0.0.1:$((BASE + 1))" --network-key-file "$DEMO/network.key"
run --dir "$DEMO/lanxin" init --office zhanhe/beidu/lanxin --role community --code LX \
  --network-key-file "$DEMO/network.key"
run --dir "$DEMO/xinhe" init --office zhanhe/beidu/xinhe --role community --code XH \
  --network-key-file "$DEMO/network.key"
ZH=$(key_of "$DEMO/zhanhe"); BD=$(key_of "$DEMO/beidu")
LX=$(key_of "$DEMO/lanxin"); XH=$(key_of "$DEMO/xinhe")

say "Each office pins the offices it replicates with"
run --dir "$DEMO/zhanhe" peer add --name beidu --key "$BD" --office zhanhe/beidu --role street
run --dir "$DEMO/beidu" peer add --name zhanhe --key "$ZH" --office zhanhe --role district --addr "127.0.0.1:$BASE"
run --dir "$DEMO/beidu" peer add --name lanxin --key "$LX" --office zhanhe/beidu/lanxin --role community
run --dir "$DEMO/beidu" peer add --name xinhe --key "$XH" --office zhanhe/beidu/xinhe --role community
run --dir "$DEMO/lanxin" peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr "127.0.0.1:$((BASE + 1))"
run --dir "$DEMO/xinhe" peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr "127.0.0.1:$((BASE + 1))"

say "Offline: Lanxin loads last year's ledger (台账) from its spreadsheet"
run --dir "$DEMO/lanxin" case import "$SRC/examples/lanxin-ledger-2025.csv"

say "Offline: Xinhe takes in a neighbour dispute and works it through the day"
N=$("$DOCKET" --dir "$DEMO/xinhe" case open --kind dispute --category neighbour \
  --summary "Water leaking from flat 502 into 402" --party "Wang Fang" --party "Li Jun" --json |
  sed -n 's/.*"number": "\([^"]*\)".*/\1/p')
echo "opened $N"
run --dir "$DEMO/xinhe" case triage "$N" --class clinic --by "Zhou Min"
run --dir "$DEMO/xinhe" case assign "$N" --to "Chen Gang" --role mediator
run --dir "$DEMO/xinhe" case session "$N" --note "Both parties met in the flat; plumber called" --minutes 50 --by "Chen Gang"
run --dir "$DEMO/xinhe" case resolve "$N" --agreement "502 pays the repair, 402 repaints" --by "Chen Gang"
run --dir "$DEMO/xinhe" case close "$N"
run --dir "$DEMO/xinhe" case revisit "$N" --satisfaction 5 --note "Ceiling dry, both satisfied" --by "Chen Gang"
echo "A step that cannot happen is refused, and nothing is written:"
"$DOCKET" --dir "$DEMO/xinhe" case resolve "$N" --agreement "again" || true
M=$("$DOCKET" --dir "$DEMO/xinhe" case open --kind dispute --category labour \
  --summary "Eleven workers unpaid by a renovation contractor" --party "Gao Hui" --json |
  sed -n 's/.*"number": "\([^"]*\)".*/\1/p')
run --dir "$DEMO/xinhe" case triage "$M" --class joint --by "Zhou Min"
run --dir "$DEMO/xinhe" case escalate "$M" --level street --note "Contractor registered in another district"
run --dir "$DEMO/xinhe" case list

say "Links come up: the district and the street start serving"
"$DOCKET" --dir "$DEMO/zhanhe" serve >"$DEMO/zhanhe.log" 2>&1 & PIDS="$PIDS $!"
"$DOCKET" --dir "$DEMO/beidu" serve >"$DEMO/beidu.log" 2>&1 & PIDS="$PIDS $!"
# the street dials the district; wait until it holds the district's log
for i in $(seq 1 50); do
  "$DOCKET" --dir "$DEMO/beidu" id --json | grep -q '"logs": [2-9]' && break
  sleep 0.2
done
run --dir "$DEMO/lanxin" sync
run --dir "$DEMO/xinhe" sync

say "The street works on the escalated case; Xinhe sees it at its next sync"
run --dir "$DEMO/beidu" case session "$M" --note "Street mediator met the contractor" --minutes 90 --by "Sun Hua"
run --dir "$DEMO/xinhe" sync
run --dir "$DEMO/xinhe" case show "$M"

say "Live: with Lanxin serving too, a new case reaches the district within seconds"
"$DOCKET" --dir "$DEMO/lanxin" serve >"$DEMO/lanxin.log" 2>&1 & PIDS="$PIDS $!"
sleep 1
run --dir "$DEMO/lanxin" case open --kind consultation --category family --summary "Question on child support"
for i in 1 2 3 4 5 6 7 8 9 10; do
  C=$("$DOCKET" --dir "$DEMO/zhanhe" report --json | sed -n 's/^  "cases": \([0-9]*\).*/\1/p')
  [ "$C" = 79 ] && break
  sleep 0.5
done
echo "the district now holds $C cases"

say "Offline bundle: Xinhe's link is down again; a USB stick carries its work"
run --dir "$DEMO/xinhe" case note "$M" --text "Workers' list handed to the labour bureau"
run --dir "$DEMO/xinhe" export --peer beidu --out "$DEMO/xinhe-to-beidu.bundle"
run --dir "$DEMO/beidu" import "$DEMO/xinhe-to-beidu.bundle"

say "The district's report over all its communities"
sleep 1
run --dir "$DEMO/zhanhe" report --by office
say "The district verifies every entry it holds"
run --dir "$DEMO/zhanhe" verify
say "Done. The nodes are in $DEMO (serve logs: $DEMO/*.log)."
