#!/bin/sh
# make bench: prints the figures of DESIGN.md section 8 that a single node
# can measure, as a table against their targets. Benchmarks never fail on a
# figure; they fail only when a command they time fails.
#
#   sh scripts/bench.sh BUILD_DIR
#
# The store being measured lives on the real disk (BENCH_DIR, default
# BUILD_DIR/bench-data), never in tmpfs: durable commits are what is timed.
# BENCH_RUNS, BENCH_CASES (per bulk run) and BENCH_APPENDS scale the runs.
set -eu
BUILD=${1:?usage: scripts/bench.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
BENCH_DIR=${BENCH_DIR:-$BUILD/bench-data}
RUNS=${BENCH_RUNS:-5}
CASES=${BENCH_CASES:-3400}
APPENDS=${BENCH_APPENDS:-1000}
DOCKET="$BUILD/docket"
rm -rf "$BENCH_DIR"
mkdir -p "$BENCH_DIR"
NODE="$BENCH_DIR/node"
RESULTS="$BENCH_DIR/results"
: >"$RESULTS"
export DOCKET_PASSPHRASE="bench passphrase"
export TZ=UTC

echo "== $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(uname -r); store in $BENCH_DIR"
echo "== bulk and interactive append, verify in process ($RUNS runs of $CASES cases x 6 events)"
"$BUILD/bench/bench_append" "$NODE" "$RUNS" "$CASES" "$APPENDS" | tee -a "$RESULTS" | grep -v '^RESULT'

ENTRIES=$("$DOCKET" --dir "$NODE" id --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"])')
echo "== docket verify on $ENTRIES entries (whole process, key unlocking included)"
"$BUILD/bench/bench_cmd" 5 -- "$DOCKET" --dir "$NODE" verify >"$BENCH_DIR/cmd.out"
grep -v median "$BENCH_DIR/cmd.out" | tr '\n' ' '; echo
awk -v e="$ENTRIES" '/^median_ms/ { printf "RESULT\tdocket verify, %d entries (median of 5)\t%.1f\tentries/s\t>=\t35000.0\n", e, e / ($3 / 1000) }' \
  "$BENCH_DIR/cmd.out" >>"$RESULTS"

echo "== command latency on a node holding $ENTRIES entries (median of 7, key unlocking included)"
NUMBER=$("$DOCKET" --dir "$NODE" case list --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[len(d)//2]["number"])')
"$BUILD/bench/bench_cmd" 7 -- "$DOCKET" --dir "$NODE" case show "$NUMBER" >"$BENCH_DIR/cmd.out"
grep -v median "$BENCH_DIR/cmd.out" | tr '\n' ' '; echo
awk '/^median_ms/ { printf "RESULT\tdocket case show (process wall time)\t%.1f\tms\t<=\t200.0\n", $3 }' "$BENCH_DIR/cmd.out" >>"$RESULTS"
"$BUILD/bench/bench_cmd" 7 -- "$DOCKET" --dir "$NODE" case open --kind consultation --category labour \
  --summary "Unpaid wages at a renovation site" --party "Chen Li" >"$BENCH_DIR/cmd.out"
grep -v median "$BENCH_DIR/cmd.out" | tr '\n' ' '; echo
awk '/^median_ms/ { printf "RESULT\tdocket case open (process wall time)\t%.1f\tms\t<=\t200.0\n", $3 }' "$BENCH_DIR/cmd.out" >>"$RESULTS"
"$BUILD/bench/bench_cmd" 7 -- "$DOCKET" --dir "$NODE" id >"$BENCH_DIR/cmd.out"
awk '/^median_ms/ { printf "RESULT\tdocket id, no unlocking (process wall time, for scale)\t%.1f\tms\t<=\t200.0\n", $3 }' "$BENCH_DIR/cmd.out" >>"$RESULTS"

echo "== district report over case states"
"$BUILD/bench/bench_report" | tee -a "$RESULTS" | grep -v '^RESULT'

echo
echo "== figures"
grep '^RESULT' "$RESULTS" | awk -F '\t' '
  BEGIN { printf "%-62s %14s %-10s %14s  %s\n", "figure", "median", "unit", "target", "met" }
  {
    met = ($5 == ">=") ? ($3 + 0 >= $6 + 0) : ($3 + 0 <= $6 + 0)
    printf "%-62s %14s %-10s %14s  %s\n", $2, $3, $4, $5 " " $6, met ? "met" : "NOT MET"
  }'
rm -rf "$NODE"
