#!/bin/sh
# make bench-anchor: docket's catch-up beside Hypercore 11's replication, in
# one run on this machine, so that the ratio means something on a shared or
# slower machine. Installs Hypercore 11 from npm (nodejs and npm come from
# Debian through scripts/install-deps.sh anchor) into BUILD_DIR/bench-anchor.
#
#   sh scripts/bench-anchor.sh BUILD_DIR
#
# ANCHOR_ENTRIES (default 100 000) entries / blocks of 426 bytes (an entry's
# wire size) each side; ANCHOR_RUNS (default 3) runs each, medians.
# Replication only: Hypercore's writer appends in batches of 1 000 before
# its timer starts, as docket's source node is built before its sync does.
set -eu
BUILD=$(cd "${1:?usage: scripts/bench-anchor.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")/.." && pwd)
N=${ANCHOR_ENTRIES:-100000}
RUNS=${ANCHOR_RUNS:-3}
PORT=${BENCH_PORT:-37400}
A="$BUILD/bench-anchor"
mkdir -p "$A"
cp "$HERE/bench/anchor/package.json" "$HERE/bench/anchor/hypercore-repl.js" "$A/"
if [ ! -d "$A/node_modules/hypercore" ]; then
  echo "== installing Hypercore 11 from npm into $A"
  (cd "$A" && npm install --no-audit --no-fund --loglevel=error)
fi
echo "== Hypercore $(cd "$A" && node -e 'console.log(require("hypercore/package.json").version)'), $RUNS runs of $N blocks"
: >"$A/hc.rates"
r=0
while [ $r -lt "$RUNS" ]; do
  r=$((r + 1))
  rm -rf "$A/data"
  out=$(cd "$A" && node hypercore-repl.js data "$N" 426)
  echo "run $r: $out"
  echo "$out" | awk '/^ANCHOR/ { print $4 }' >>"$A/hc.rates"
done
rm -rf "$A/data"
median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
HC=$(median <"$A/hc.rates")
echo "== docket catch-up, same machine, same run"
BENCH_DIR="$A/docket" BENCH_RUNS=1 BENCH_CASES=10 BENCH_APPENDS=10 BENCH_SYNC_ENTRIES=$N \
  BENCH_SYNC_RUNS=$RUNS BENCH_PORT=$PORT BENCH_NO_IO=1 BENCH_ONLY_CATCHUP=1 \
  sh "$HERE/scripts/bench.sh" "$BUILD" >"$A/docket.out" || true
grep '^run ' "$A/docket.out" | grep entries/s || true
DK=$(awk -F '\t' '/^RESULT\tcatch-up/ { print $3 }' "$A/docket/results")
[ -n "$DK" ] || { echo "bench-anchor: docket's catch-up did not run:" >&2; tail -20 "$A/docket.out" >&2; exit 1; }
echo
printf "%-52s %12s\n" "figure (median of $RUNS)" "per second"
printf "%-52s %12s\n" "Hypercore 11 replication over loopback, blocks" "$HC"
printf "%-52s %12s\n" "docket catch-up over loopback, entries (durable)" "$DK"
awk -v d="$DK" -v h="$HC" 'BEGIN { printf "%-52s %11.1fx   (target >= 25x)\n", "docket / Hypercore", d / h }'
