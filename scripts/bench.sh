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
# BENCH_ONLY_CATCHUP=1 runs only the limits and the catch-up figure (make
# bench-anchor); BENCH_NO_IO=1 skips the strace count of bytes written.
#
# Replication figures run real `docket serve` and `docket sync` processes on
# loopback (ports BENCH_PORT and BENCH_PORT + 1, default 37400):
#   - catch-up: a community holding BENCH_SYNC_ENTRIES (default 1 000 000)
#     entries syncs into an empty street, BENCH_SYNC_RUNS (default 3) times,
#     each into fresh copies of both; entries/s of the sync process's wall
#     time, the street's (receiver's) peak RSS from /proc/PID/status and the
#     sender's from wait4;
#   - catch-up into a full store: a second community with
#     BENCH_GROW_ENTRIES (default 200 000; 0 skips) entries syncs into the
#     street the last catch-up filled, and into an empty street, in turn,
#     BENCH_SYNC_RUNS times each; the ratio of the two medians;
#   - idle sync: a street and a district that both hold the same
#     BENCH_SYNC_LOGS (default 10 000) community logs; messages and bytes of
#     one `docket sync --json` once nothing is left to exchange.
# Building the source nodes is not timed; they are cached in BENCH_DIR/cache
# (keyed by their size) and kept between runs. BENCH_SYNC_ENTRIES=0 skips
# the replication figures.
set -eu
BUILD=${1:?usage: scripts/bench.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
BENCH_DIR=${BENCH_DIR:-$BUILD/bench-data}
RUNS=${BENCH_RUNS:-5}
CASES=${BENCH_CASES:-3400}
APPENDS=${BENCH_APPENDS:-1000}
SYNC_ENTRIES=${BENCH_SYNC_ENTRIES:-1000000}
SYNC_RUNS=${BENCH_SYNC_RUNS:-3}
SYNC_LOGS=${BENCH_SYNC_LOGS:-10000}
GROW_ENTRIES=${BENCH_GROW_ENTRIES:-200000}
PORT=${BENCH_PORT:-37400}
DOCKET="$BUILD/docket"
mkdir -p "$BENCH_DIR"
# Everything but the cached replication sources.
find "$BENCH_DIR" -mindepth 1 -maxdepth 1 ! -name cache -exec rm -rf {} +
NODE="$BENCH_DIR/node"
RESULTS="$BENCH_DIR/results"
: >"$RESULTS"
export DOCKET_PASSPHRASE="bench passphrase"
export TZ=UTC

echo "== $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(uname -r); store in $BENCH_DIR"
echo "== limits on this machine, this run (median of 3)"
"$BUILD/bench/bench_limits" "$BENCH_DIR/limits" 3 | tee "$BENCH_DIR/limits.txt" |
  awk -F '\t' '{ printf "  %-16s %14s  %s\n", $2, $3, $4 }'
limit() { awk -F '\t' -v k="$1" '$2 == k { print $3 }' "$BENCH_DIR/limits.txt"; }
if [ -z "${BENCH_ONLY_CATCHUP:-}" ]; then
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

fi

if [ "$SYNC_ENTRIES" -gt 0 ]; then
  SERVE_PID=""
  trap '[ -z "$SERVE_PID" ] || kill "$SERVE_PID" 2>/dev/null' EXIT
  dk() { d=$1; shift; "$DOCKET" --dir "$d" "$@"; }
  key() { dk "$1" id --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'; }
  json_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }
  # serve DIR ADDR: starts `docket serve` in the background (SERVE_PID),
  # waits until it listens (its key is unlocked by then), and resets its peak
  # RSS, so that the 64 MiB of the Argon2id unlock do not count.
  serve() {
    "$DOCKET" --dir "$1" serve --listen "$2" >"$1.log" 2>&1 &
    SERVE_PID=$!
    i=0
    until grep -q "listening on" "$1.log" 2>/dev/null; do
      i=$((i + 1))
      [ $i -lt 100 ] || { echo "bench: serve in $1 did not start:" >&2; cat "$1.log" >&2; exit 1; }
      sleep 0.1
    done
    echo 5 >"/proc/$SERVE_PID/clear_refs"
    # The largest anonymous (private, non-file) resident set, sampled.
    ( peak=0
      while kib=$(awk '/^RssAnon:/ { print $2 }' "/proc/$SERVE_PID/status" 2>/dev/null) && [ -n "$kib" ]; do
        [ "$kib" -le "$peak" ] || { peak=$kib; echo "$peak" >"$1.anon"; }
        sleep 0.05
      done ) &
  }
  # stop_serve DIR: prints the server's peak resident set since serve(), its
  # largest anonymous part (sampled every 50 ms) and its current file-backed
  # (LMDB map) part, in KiB.
  stop_serve() {
    awk -v anon="$(cat "$1.anon" 2>/dev/null || echo 0)" \
      '/^(VmHWM|RssFile):/ { v[$1] = $2 } END { print v["VmHWM:"], anon, v["RssFile:"] }' \
      "/proc/$SERVE_PID/status"
    kill "$SERVE_PID"
    wait "$SERVE_PID" || true
    SERVE_PID=""
  }
  median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

  SRC="$BENCH_DIR/cache/catchup-$SYNC_ENTRIES"
  if [ ! -f "$SRC/ready" ]; then
    echo "== building the catch-up source: a community with $SYNC_ENTRIES entries (cached in $SRC; not timed)"
    rm -rf "$SRC"
    mkdir -p "$SRC"
    dk "$SRC/street" init --office zhanhe/beidu --role street --code BD --listen 127.0.0.1:$PORT >/dev/null
    dk "$SRC/street" network-key >"$SRC/net.key"
    dk "$SRC/community" init --office zhanhe/beidu/lanxin --role community --code LX \
      --network-key-file "$SRC/net.key" >/dev/null
    dk "$SRC/street" peer add --name lanxin --key "$(key "$SRC/community")" --office zhanhe/beidu/lanxin \
      --role community >/dev/null
    # Pinned before the cases are written, so that every case key is sealed to
    # the street too: the street reads and folds what it receives.
    dk "$SRC/community" peer add --name beidu --key "$(key "$SRC/street")" --office zhanhe/beidu \
      --role street --addr 127.0.0.1:$PORT >/dev/null
    t0=$(date +%s)
    "$BUILD/bench/bench_sync_fill" "$SRC/community" "$SYNC_ENTRIES"
    echo "built in $(($(date +%s) - t0)) s, $(du -sh "$SRC/community" | cut -f1) on disk"
    touch "$SRC/ready"
  fi
  echo "== catch-up replication over loopback: community -> empty street, $SYNC_RUNS runs"
  RUN="$BENCH_DIR/catchup"
  : >"$BENCH_DIR/catchup.rates"
  : >"$BENCH_DIR/catchup.indexed"
  : >"$BENCH_DIR/catchup.recv"
  : >"$BENCH_DIR/catchup.send"
  : >"$BENCH_DIR/catchup.recv-anon"
  : >"$BENCH_DIR/catchup.send-anon"
  r=0
  while [ $r -lt "$SYNC_RUNS" ]; do
    r=$((r + 1))
    rm -rf "$RUN"
    mkdir -p "$RUN"
    cp -a "$SRC/community" "$SRC/street" "$RUN/"
    sync
    serve "$RUN/street" 127.0.0.1:$PORT
    T0=$(date +%s%N)
    "$BUILD/bench/bench_cmd" 1 --out "$RUN/sync.json" --hwm-after 500 -- \
      "$DOCKET" --dir "$RUN/community" sync beidu --json --timeout 3600 >"$BENCH_DIR/cmd.out"
    # The street's serve indexes the burst after the sync (its case tables:
    # what a report reads); until when, from the start of the sync.
    # A binary whose `id` shows no index_lag indexed within the sync. The
    # wait reads serve's log, not `docket id`, so as not to load the cores.
    if dk "$RUN/street" id --json | grep -q '"index_lag"'; then
      until grep -q "case tables up to date" "$RUN/street.log"; do
        if grep -q "could not bring the case tables" "$RUN/street.log" || ! kill -0 "$SERVE_PID" 2>/dev/null; then
          echo "bench: the street's serve did not index the catch-up:" >&2; tail -n 3 "$RUN/street.log" >&2; exit 1
        fi
        sleep 0.02
      done
    fi
    IDX_MS=$((($(date +%s%N) - T0) / 1000000))
    RECV=$(stop_serve "$RUN/street")
    SENT=$(json_field "$RUN/sync.json" entries_sent)
    MS=$(awk '/^median_ms/ { print $3 }' "$BENCH_DIR/cmd.out")
    SEND_RSS=$(awk '/^hwm_after_kib/ { print $3 }' "$BENCH_DIR/cmd.out")
    SEND_ANON=$(awk '/^anon_after_kib/ { print $3 }' "$BENCH_DIR/cmd.out")
    RATE=$(awk -v e="$SENT" -v ms="$MS" 'BEGIN { printf "%.0f", e / (ms / 1000) }')
    IRATE=$(awk -v e="$SENT" -v ms="$IDX_MS" 'BEGIN { printf "%.0f", e / (ms / 1000) }')
    echo "run $r: $SENT entries in $MS ms = $RATE entries/s; case tables at the street up to date after $IDX_MS ms ($IRATE entries/s); receiver peak RSS $(echo "$RECV" | awk '{ printf "%.1f MiB (anonymous peak %.1f, file-backed %.1f at the end)", $1 / 1024, $2 / 1024, $3 / 1024 }'), sender $(awk -v k="$SEND_RSS" -v a="$SEND_ANON" 'BEGIN { printf "%.1f MiB (anonymous peak %.1f)", k / 1024, a / 1024 }') after its first 500 ms"
    echo "$RATE" >>"$BENCH_DIR/catchup.rates"
    echo "$IRATE" >>"$BENCH_DIR/catchup.indexed"
    echo "$RECV" | awk '{ print $1 / 1024 }' >>"$BENCH_DIR/catchup.recv"
    echo "$SEND_RSS" | awk '{ print $1 / 1024 }' >>"$BENCH_DIR/catchup.send"
    echo "$RECV" | awk '{ print $2 / 1024 }' >>"$BENCH_DIR/catchup.recv-anon"
    echo "$SEND_ANON" | awk '{ print $1 / 1024 }' >>"$BENCH_DIR/catchup.send-anon"
  done
  # The yearly report over what the street now holds (every case folded
  # there), beside one command that unlocks the key and reads one case: the
  # unlock (Argon2id, 64 MiB) is in both, and is the floor of any report.
  echo "== report over the street's $SENT entries after the catch-up (median of 5), and case show for scale"
  NUM=$(dk "$RUN/street" case list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["number"])')
  "$BUILD/bench/bench_cmd" 5 -- "$DOCKET" --dir "$RUN/street" report --json >"$BENCH_DIR/cmd.out"
  REPORT_MS=$(awk '/^median_ms/ { print $3 }' "$BENCH_DIR/cmd.out")
  "$BUILD/bench/bench_cmd" 5 -- "$DOCKET" --dir "$RUN/street" case show "$NUM" >"$BENCH_DIR/cmd.out"
  SHOW_MS=$(awk '/^median_ms/ { print $3 }' "$BENCH_DIR/cmd.out")
  echo "report $REPORT_MS ms; case show on the same node (the key unlock every command pays) $SHOW_MS ms"
  printf "RESULT\tyearly report over %s entries at the street (docket report --json, median of 5)\t%.3f\ts\t<=\t0.2\n" \
    "$SENT" "$(awk -v m="$REPORT_MS" 'BEGIN { print m / 1000 }')" >>"$RESULTS"

  # Catch-up into a street that already holds the community's entries, and
  # into an empty one, in turn: a second community of the street (hexi,
  # BENCH_GROW_ENTRIES entries) syncs into each.
  if [ -z "${BENCH_ONLY_CATCHUP:-}" ] && [ "$GROW_ENTRIES" -gt 0 ]; then
    HEXI="$SRC/hexi-$GROW_ENTRIES"
    if [ ! -f "$HEXI/ready" ]; then
      echo "== building a second community with $GROW_ENTRIES entries (cached in $HEXI; not timed)"
      rm -rf "$HEXI"
      mkdir -p "$HEXI"
      dk "$HEXI/hexi" init --office zhanhe/beidu/hexi --role community --code HX \
        --network-key-file "$SRC/net.key" >/dev/null
      dk "$HEXI/hexi" peer add --name beidu --key "$(key "$SRC/street")" --office zhanhe/beidu \
        --role street --addr 127.0.0.1:$PORT >/dev/null
      "$BUILD/bench/bench_sync_fill" "$HEXI/hexi" "$GROW_ENTRIES"
      touch "$HEXI/ready"
    fi
    FULL="$BENCH_DIR/full-street"
    rm -rf "$FULL"
    mv "$RUN/street" "$FULL"
    HELD=$SENT
    echo "== catch-up of $GROW_ENTRIES entries into a street holding $HELD, and into an empty street, in turn ($SYNC_RUNS runs each)"
    GROW="$BENCH_DIR/grow"
    : >"$BENCH_DIR/grow.empty"
    : >"$BENCH_DIR/grow.full"
    r=0
    while [ $r -lt "$SYNC_RUNS" ]; do
      r=$((r + 1))
      for into in empty full; do
        rm -rf "$GROW"
        mkdir -p "$GROW"
        if [ $into = empty ]; then cp -a "$SRC/street" "$GROW/street"; else cp -a "$FULL" "$GROW/street"; fi
        cp -a "$HEXI/hexi" "$GROW/"
        dk "$GROW/street" peer list --json | grep -q '"hexi"' ||
          dk "$GROW/street" peer add --name hexi --key "$(key "$GROW/hexi")" --office zhanhe/beidu/hexi \
            --role community >/dev/null
        sync
        serve "$GROW/street" 127.0.0.1:$PORT
        "$BUILD/bench/bench_cmd" 1 --out "$GROW/sync.json" -- \
          "$DOCKET" --dir "$GROW/hexi" sync beidu --json --timeout 3600 >"$BENCH_DIR/cmd.out"
        stop_serve "$GROW/street" >/dev/null
        GSENT=$(json_field "$GROW/sync.json" entries_sent)
        MS=$(awk '/^median_ms/ { print $3 }' "$BENCH_DIR/cmd.out")
        RATE=$(awk -v e="$GSENT" -v ms="$MS" 'BEGIN { printf "%.0f", e / (ms / 1000) }')
        echo "run $r, into the $into street: $GSENT entries in $MS ms = $RATE entries/s"
        echo "$RATE" >>"$BENCH_DIR/grow.$into"
      done
    done
    GE=$(median <"$BENCH_DIR/grow.empty")
    GF=$(median <"$BENCH_DIR/grow.full")
    printf "RESULT\tcatch-up of %s entries into a street holding %s (median of %s)\t%s\tentries/s\t>=\t-\n" \
      "$GROW_ENTRIES" "$HELD" "$SYNC_RUNS" "$GF" >>"$RESULTS"
    printf "RESULT\t  the same into an empty street, in turn with it (median)\t%s\tentries/s\t>=\t-\n" \
      "$GE" >>"$RESULTS"
    printf "RESULT\t  into the full street / into the empty one\t%s\tratio\t>=\t0.8\n" \
      "$(awk -v f="$GF" -v e="$GE" 'BEGIN { printf "%.2f", f / e }')" >>"$RESULTS"
    rm -rf "$GROW" "$FULL"
  fi
  rm -rf "$RUN"
  if [ -z "${BENCH_NO_IO:-}" ] && command -v strace >/dev/null 2>&1; then
    echo "== bytes the receiver writes to its store per entry (strace of one catch-up; slower, not timed)"
    IO=$(sh "$(dirname "$0")/bench-io.sh" "$BUILD" "$SRC" "$PORT")
    echo "$IO"
    echo "$IO" | awk -v f="$(du -b "$SRC/community/data.mdb" | cut -f1)" '{
      printf "RESULT\treceiver bytes written to data.mdb per entry, case tables included (strace)\t%s\tbytes\t<=\t%d\n", $6, 2 * 426
      if ($12 != "") printf "RESULT\t  of which written before the sync ended (the log)\t%s\tbytes\t<=\t-\n", $12
      printf "RESULT\treceiver store size per entry after catch-up\t%s\tbytes\t<=\t%d\n", $10, 2 * 426
}' >>"$RESULTS"
  fi
  printf "RESULT\tcatch-up replication, %s entries over loopback (median of %s)\t%s\tentries/s\t>=\t250000.0\n" \
    "$SENT" "$SYNC_RUNS" "$(median <"$BENCH_DIR/catchup.rates")" >>"$RESULTS"
  printf "RESULT\t  until the street's case tables are up to date too (median)\t%s\tentries/s\t>=\t-\n" \
    "$(median <"$BENCH_DIR/catchup.indexed")" >>"$RESULTS"
  printf "RESULT\treceiver (serve) peak RSS while catching up (median)\t%.1f\tMiB\t<=\t64.0\n" \
    "$(median <"$BENCH_DIR/catchup.recv")" >>"$RESULTS"
  printf "RESULT\t  of which anonymous (not the LMDB map), peak\t%.1f\tMiB\t<=\t64.0\n" \
    "$(median <"$BENCH_DIR/catchup.recv-anon")" >>"$RESULTS"
  printf "RESULT\tsender (sync) peak RSS after its first 500 ms (median)\t%.1f\tMiB\t<=\t64.0\n" \
    "$(median <"$BENCH_DIR/catchup.send")" >>"$RESULTS"
  printf "RESULT\t  of which anonymous (not the LMDB map), peak\t%.1f\tMiB\t<=\t64.0\n" \
    "$(median <"$BENCH_DIR/catchup.send-anon")" >>"$RESULTS"

  if [ -z "${BENCH_ONLY_CATCHUP:-}" ]; then
  IDLE="$BENCH_DIR/cache/idle-$SYNC_LOGS"
  if [ ! -f "$IDLE/ready" ]; then
    echo "== building the idle-sync setting: a district and a street holding $SYNC_LOGS logs (cached; not timed)"
    rm -rf "$IDLE"
    mkdir -p "$IDLE"
    dk "$IDLE/district" init --office zhanhe --role district --code ZH --listen 127.0.0.1:$((PORT + 1)) >/dev/null
    dk "$IDLE/district" network-key >"$IDLE/net.key"
    dk "$IDLE/street" init --office zhanhe/beidu --role street --code BD --network-key-file "$IDLE/net.key" >/dev/null
    dk "$IDLE/district" peer add --name beidu --key "$(key "$IDLE/street")" --office zhanhe/beidu \
      --role street >/dev/null
    dk "$IDLE/street" peer add --name zhanhe --key "$(key "$IDLE/district")" --office zhanhe \
      --role district --addr 127.0.0.1:$((PORT + 1)) >/dev/null
    "$BUILD/bench/bench_sync_logs" zhanhe/beidu "$SYNC_LOGS" "$IDLE/district" "$IDLE/street"
    touch "$IDLE/ready"
  fi
  echo "== idle sync: street <-> district, both holding the same $SYNC_LOGS community logs"
  RUN="$BENCH_DIR/idle"
  rm -rf "$RUN"
  mkdir -p "$RUN"
  cp -a "$IDLE/district" "$IDLE/street" "$RUN/"
  serve "$RUN/district" 127.0.0.1:$((PORT + 1))
  # The two offices' own logs and the witnesses settle in a few syncs.
  i=0
  until dk "$RUN/street" sync zhanhe --json >"$RUN/idle.json" && [ "$(json_field "$RUN/idle.json" idle)" = True ]; do
    i=$((i + 1))
    [ $i -lt 10 ] || { echo "bench: never reached an idle sync" >&2; cat "$RUN/idle.json" >&2; exit 1; }
  done
  "$BUILD/bench/bench_cmd" 5 --out "$RUN/idle.json" -- \
    "$DOCKET" --dir "$RUN/street" sync zhanhe --json >"$BENCH_DIR/cmd.out"
  stop_serve "$RUN/district" >/dev/null
  grep -v median "$BENCH_DIR/cmd.out" | tr '\n' ' '; echo
  python3 - "$RUN/idle.json" "$RESULTS" "$SYNC_LOGS" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("last run:", json.dumps(d))
if not d["idle"]:
    sys.exit("bench: the measured sync was not idle")
msg = d["bytes_sent"] + d["bytes_received"]
wire = d["wire_bytes_sent"] + d["wire_bytes_received"]
with open(sys.argv[2], "a") as f:
    f.write("RESULT\tidle sync, %s logs held: round trips (digests matched)\t%.1f\tround trips\t<=\t1.0\n"
            % (sys.argv[3], 1.0 if d["connections"] == 1 else float(d["connections"])))
    f.write("RESULT\tidle sync, %s logs: message bytes, both directions\t%.1f\tbytes\t<=\t4096.0\n"
            % (sys.argv[3], msg))
    f.write("RESULT\tidle sync, %s logs: wire bytes incl. handshake and frames\t%.1f\tbytes\t<=\t4096.0\n"
            % (sys.argv[3], wire))
PY
  awk '/^median_ms/ { printf "RESULT\tidle sync, process wall time (median of 5, unlocking included)\t%.1f\tms\t<=\t200.0\n", $3 }' \
    "$BENCH_DIR/cmd.out" >>"$RESULTS"
  rm -rf "$RUN"
  fi
fi

echo
echo "== limits measured in this run"
awk -F '\t' '{ printf "%-16s %14s  %s\n", $2, $3, $4 }' "$BENCH_DIR/limits.txt"
echo
echo "== figures (each beside the limit that bounds it, measured above)"
# The limit beside each figure: bulk append signs one entry per event (one
# core signs while the other encrypts); verify checks one signature per entry
# on two cores; catch-up appends entries to LMDB; an interactive append is one
# durable commit.
LSIGN=$(limit ed25519_sign); LVER=$(limit ed25519_verify); LAPP=$(limit lmdb_append); LCOMMIT=$(limit durable_commit)
grep '^RESULT' "$RESULTS" | awk -F '\t' -v ls="$LSIGN" -v lv="$LVER" -v la="$LAPP" -v lc="$LCOMMIT" '
  BEGIN { printf "%-62s %14s %-10s %14s  %-8s %s\n", "figure", "median", "unit", "target", "met", "limit here" }
  {
    met = ($5 == ">=") ? ($3 + 0 >= $6 + 0) : ($3 + 0 <= $6 + 0)
    lim = ""
    if ($2 ~ /^bulk append/) lim = sprintf("Ed25519 sign %d/s per core", ls)
    else if ($2 ~ /verify/) lim = sprintf("Ed25519 verify %d/s x 2 cores", lv)
    else if ($2 ~ /^catch-up/) lim = sprintf("LMDB MDB_APPEND %d puts/s", la)
    else if ($2 ~ /^interactive append/) lim = sprintf("durable commit %.3f ms", lc)
    verdict = ($6 == "-") ? "-" : (met ? "met" : "NOT MET")
    printf "%-62s %14s %-10s %14s  %-8s %s\n", $2, $3, $4, $5 " " $6, verdict, lim
  }'
rm -rf "$NODE"
