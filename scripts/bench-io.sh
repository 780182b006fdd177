#!/bin/sh
# Bytes the receiver writes to its store per entry during one catch-up:
# every pwrite/pwritev/write to data.mdb made by `docket serve`, counted
# with strace (not /proc/PID/io, which counts page-cache writeback of the
# whole file system here and over-reports).
#
#   sh scripts/bench-io.sh BUILD_DIR SOURCE_DIR PORT
#
# SOURCE_DIR holds a `community` and a `street` node as scripts/bench.sh
# builds them (cache/catchup-N); they are copied, never changed.
# Prints: entries, bytes written to data.mdb, bytes per entry, the store's
# size and its size per entry (the case tables written), and the bytes per
# entry written until the sync ended (the log alone, with a serve that
# indexes after the burst).
set -eu
BUILD=$(cd "${1:?usage: bench-io.sh BUILD SOURCE PORT}" && pwd)
SRC=${2:?}
PORT=${3:?}
DOCKET="$BUILD/docket"
RUN=$(mktemp -d "${TMPDIR:-/tmp}/docket-io.XXXXXX")
trap 'rm -rf "$RUN"' EXIT
cp -a "$SRC/community" "$SRC/street" "$RUN/"
export DOCKET_PASSPHRASE="bench passphrase"
strace -f -y -qq -e trace=pwrite64,pwritev,pwritev2,write,writev -o "$RUN/trace" \
  "$DOCKET" --dir "$RUN/street" serve --listen 127.0.0.1:$PORT >"$RUN/serve.log" 2>&1 &
PID=$!
i=0
until grep -q "listening on" "$RUN/serve.log" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 300 ] || { cat "$RUN/serve.log" >&2; exit 1; }
  sleep 0.1
done
"$DOCKET" --dir "$RUN/community" sync beidu --json --timeout 3600 >"$RUN/sync.json"
# What was written until the sync ended (the log), then, with a serve that
# indexes after the burst, until its case tables are up to date as well.
SYNC_LINES=$(wc -l <"$RUN/trace")
if "$DOCKET" --dir "$RUN/street" id --json | grep -q '"index_lag"'; then
  until grep -q "case tables up to date" "$RUN/serve.log"; do
    if grep -q "could not bring the case tables" "$RUN/serve.log" || ! kill -0 "$PID" 2>/dev/null; then
      echo "bench-io: serve did not index the catch-up:" >&2; tail -n 3 "$RUN/serve.log" >&2; exit 1
    fi
    sleep 0.1
  done
fi
# Stop the traced server (strace's child), then strace ends by itself.
for c in $(cat /proc/$PID/task/*/children 2>/dev/null); do kill "$c" 2>/dev/null || true; done
wait $PID 2>/dev/null || true
python3 - "$RUN/trace" "$RUN/sync.json" "$RUN/street/data.mdb" "$SYNC_LINES" <<'PY'
import json, os, re, sys
total = in_sync = 0
for n, line in enumerate(open(sys.argv[1])):
    if 'data.mdb>' not in line:
        continue
    m = re.search(r'=\s*(\d+)\s*$', line)
    if m:
        total += int(m.group(1))
        if n < int(sys.argv[4]):
            in_sync += int(m.group(1))
sent = json.load(open(sys.argv[2]))["entries_sent"]
size = os.path.getsize(sys.argv[3])
print("entries %d written_bytes %d bytes_per_entry %.0f store_bytes %d store_bytes_per_entry %.0f "
      "during_sync_bytes_per_entry %.0f"
      % (sent, total, total / max(sent, 1), size, size / max(sent, 1), in_sync / max(sent, 1)))
PY
