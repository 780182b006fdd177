#!/usr/bin/env bash
# Crash durability of the ledger import.
#
# The default run is deterministic: the import is stopped by fault hooks
# (docs/testing.md) with a whole batch written but not committed
# (store-precommit) and right after a commit (import-commit), in turn, on one
# node, until the ledger is in. After every stop:
#   - what was committed is there, and what was not is not: a stop before a
#     commit holds exactly what it held before, a stop after one holds more;
#   - no case is torn: the cases held are a prefix of the ledger (rows load
#     in file order, whole cases per commit), so the entries held are exactly
#     1 (the office entry) + the entries of those rows;
#   - `docket verify` passes.
# Then every row is present exactly once.
#
# DOCKET_SOAK=1 (make soak) kills the import with SIGKILL at random moments
# instead, 200 times on 20 000 rows, with the same checks (every commit the
# import reported is still there). DOCKET_SEED=N replays the random choices
# (kill delays) of an earlier soak run; timings still vary, so a failure is
# reproduced by running the same seed a few times.
. "$(dirname "$0")/lib/harness.sh"

# The default run: 2 000 rows (4 commits: the import loads 512 rows at a time,
# a commit holds at most 4096 entries) with a fixed seed; the soak run: 20 000 rows.
if [ "${DOCKET_SOAK:-0}" = 1 ]; then
  ROWS=${DOCKET_DURABILITY_ROWS:-20000}; KILLS=${DOCKET_DURABILITY_KILLS:-200}
  SEED=${DOCKET_SEED:-$(( $(date +%s) % 100000 ))}
else
  ROWS=${DOCKET_DURABILITY_ROWS:-2000}
  SEED=${DOCKET_SEED:-1}
fi
RANDOM=$SEED
echo "cli_durability: seed $SEED, $ROWS rows (DOCKET_SEED=$SEED to replay)"

CSV="$WORK/ledger.csv"
CUM="$WORK/cumulative"   # line k: entries of rows 1..k (line 0 first)
# Mostly one-entry rows (a consultation taken in), one in ten a full
# dispute: open, triage, assign, 2 sessions, resolve, close = 7 entries.
python3 - "$ROWS" "$SEED" "$CSV" "$CUM" <<'EOF'
import random, sys
rows, seed, csv_path, cum_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rnd = random.Random(seed)
total = 0
with open(csv_path, "w") as f, open(cum_path, "w") as c:
    f.write("number,kind,category,opened,summary,parties,class,triaged,mediator,sessions,"
            "minutes,outcome,outcome_date,agreement,closed\n")
    c.write("0\n")
    for i in range(1, rows + 1):
        d = "2024-%02d-%02d" % (1 + i % 12, 1 + i % 28)
        if rnd.random() < 0.9:
            f.write("LX-2024-%05d,consultation,labour,%s,Question %d about unpaid wages,"
                    "Resident %d,,,,,,,,,\n" % (i, d, i, i))
            total += 1
        else:
            f.write("LX-2024-%05d,dispute,neighbour,%s,Noise from flat %d at night,"
                    "Party A%d; Party B%d,clinic,%s,Mediator %d,2,60,agreed,%s,"
                    "Both sides signed,%s\n" % (i, d, i, i, i, d, i % 7, d, d))
            total += 7
        c.write("%d\n" % total)
EOF
[ -s "$CSV" ] || { echo "cannot generate the ledger" >&2; exit 1; }
entries_of_rows() { sed -n "$(($1 + 1))p" "$CUM"; }
WANT_ENTRIES=$(( $(entries_of_rows "$ROWS") + 1 ))

now_ms() { date +%s%3N; }
new_node() {
  rm -rf "$D"
  "$DOCKET" --dir "$D" init --office zhanhe/beidu/lanxin --role community --code LX >/dev/null 2>"$WORK/err" ||
    { echo "init failed: $(cat "$WORK/err")" >&2; exit 1; }
}
D="$WORK/node"
dk() { "$DOCKET" --dir "$D" "$@"; }

# held CASES ENTRIES from `docket id --json` (no passphrase, no decryption).
held() {
  dk id --json >"$WORK/id.json" 2>"$WORK/err" || { echo "? ?"; return; }
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["cases"], d["entries"])' "$WORK/id.json"
}

# held_is_prefix WHAT CASES ENTRIES: the cases held are whole ledger rows 1..CASES.
held_is_prefix() {
  if [ "$2" -le "$ROWS" ] 2>/dev/null; then
    expect_eq "$1: entries of the $2 cases held (no torn case)" "$(( $(entries_of_rows "$2") + 1 ))" "$3"
  else
    bad "$1: $2 cases held, more than the $ROWS rows"
  fi
}

if [ "${DOCKET_SOAK:-0}" != 1 ]; then
  new_node
  read -r c0 e0 < <(held)
  stops=0
  while [ "$c0" -lt "$ROWS" ] 2>/dev/null && [ "$stops" -lt 20 ]; do
    stops=$((stops + 1))
    # A run of the import commits again (as no-ops) the batches already in,
    # so the Nth write is the first new one. A whole batch written, then the
    # process dies before the commit.
    DOCKET_FAULT=store-precommit:$stops dk case import "$CSV" >"$WORK/imp.out" 2>"$WORK/imp.err"
    expect_eq "stop $stops: the import died before its commit" 99 "$?"
    read -r c e < <(held)
    expect_eq "stop $stops: an uncommitted batch leaves nothing" "$c0 $e0" "$c $e"
    # The same batch, then the process dies right after the commit.
    DOCKET_FAULT=import-commit:$stops dk case import "$CSV" >"$WORK/imp.out" 2>"$WORK/imp.err"
    rc=$?
    read -r c e < <(held)
    echo "stop $stops: exit $rc, holds $c cases $e entries"
    if [ "$rc" -eq 99 ] && [ "$c" -gt "$c0" ] 2>/dev/null; then ok
    else bad "stop $stops: after a commit (exit $rc) the node holds $c cases, held $c0 before"; fi
    held_is_prefix "stop $stops" "$c" "$e"
    check "stop $stops: verify" dk verify --json
    c0=$c e0=$e
  done
  [ "$stops" -ge 3 ] && ok || bad "only $stops commits: the test tested little"
  # The import after the last commit has nothing left to do.
  check "import after the last stop" dk case import "$CSV" --json
  expect_eq "nothing left to import" 0 "$(json_get "['imported']" <"$WORK/out")"
  read -r c e < <(held)
  expect_eq "final cases" "$ROWS" "$c"
  expect_eq "final entries" "$WANT_ENTRIES" "$e"
  check "case list" dk case list --json
  python3 - "$WORK/out" "$ROWS" >"$WORK/dups" <<'EOF'
import json, sys
cases = json.load(open(sys.argv[1]))
rows = int(sys.argv[2])
numbers = [c["number"] for c in cases]
want = {"LX-2024-%05d" % i for i in range(1, rows + 1)}
print(len(numbers), len(set(numbers)), set(numbers) == want)
EOF
  expect_eq "every number once, and only the ledger's" "$ROWS $ROWS True" "$(cat "$WORK/dups")"
  finish
  exit
fi

# The import run to completion shows how long a whole import takes here; kills
# land uniformly in that window (a re-run on a fuller node ends sooner, so
# some kills come after the end: those runs must have finished cleanly).
new_node
t0=$(now_ms)
check "full import (calibration)" dk case import "$CSV" --json
t1=$(now_ms)
WINDOW_MS=$(( t1 - t0 + 200 ))
expect_eq "calibration: every row imported" "$ROWS" "$(json_get "['imported']" <"$WORK/out")"
read -r c e < <(held)
expect_eq "calibration: cases" "$ROWS" "$c"
expect_eq "calibration: entries" "$WANT_ENTRIES" "$e"
echo "full import: $((t1 - t0)) ms; kills land in 0..$WINDOW_MS ms"

new_node
killed=0 finished=0 before_commit=0 nodes=1
for i in $(seq 1 "$KILLS"); do
  delay_ms=$(( (RANDOM * 32768 + RANDOM) % WINDOW_MS ))
  # The binary itself, not through dk(): $! of a backgrounded function is its
  # subshell, and killing that would leave the import running.
  "$DOCKET" --dir "$D" case import "$CSV" --progress >"$WORK/imp.out" 2>"$WORK/imp.err" &
  pid=$!
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rc=$?
  last=$(grep '^committed ' "$WORK/imp.out" | tail -n 1)
  n=0
  [ -n "$last" ] && n=$(echo "$last" | awk '{print $2}')
  read -r c e < <(held)
  if [ "$rc" -eq 137 ]; then
    killed=$((killed + 1))
    [ -z "$last" ] && before_commit=$((before_commit + 1))
  elif [ "$rc" -eq 0 ]; then
    finished=$((finished + 1))
    grep -q "^imported " "$WORK/imp.out" && ok || bad "kill $i: import exited 0 without its summary"
    expect_eq "kill $i: a finished import holds every row" "$ROWS" "$c"
  else
    bad "kill $i (seed $SEED, ${delay_ms} ms): import exited $rc: $(head -c 300 "$WORK/imp.err")"
  fi
  echo "kill $i: after ${delay_ms} ms, exit $rc, last report '${last:-none}', holds $c cases $e entries"
  if ! [ "$c" -ge "$n" ] 2>/dev/null; then
    bad "kill $i (seed $SEED, ${delay_ms} ms): import reported $n cases committed, node holds $c"
  else
    ok
  fi
  if [ "$c" -le "$ROWS" ] 2>/dev/null; then
    expect_eq "kill $i (seed $SEED): entries of the $c cases held (no torn case)" \
      "$(( $(entries_of_rows "$c") + 1 ))" "$e"
  else
    bad "kill $i (seed $SEED): $c cases held, more than the $ROWS rows"
  fi
  dk verify --json >"$WORK/verify.json" 2>"$WORK/err"
  vrc=$?
  if [ "$vrc" -eq 0 ]; then ok; else
    bad "kill $i (seed $SEED, ${delay_ms} ms): verify exited $vrc: $(head -c 600 "$WORK/verify.json") $(head -c 300 "$WORK/err")"
  fi
  # A complete node teaches nothing more: start the next kills on a new one.
  if [ "$c" = "$ROWS" ] && [ "$i" -lt "$KILLS" ]; then
    new_node
    nodes=$((nodes + 1))
  fi
done
echo "kills: $killed mid-run ($before_commit before the first commit), $finished runs had finished; $nodes nodes"
[ "$killed" -gt 0 ] && ok || bad "no run was actually killed (seed $SEED): the test tested nothing"

# Running the import again completes it: every row once, nothing twice.
check "import after the last kill" dk case import "$CSV" --json
read -r c e < <(held)
expect_eq "final cases" "$ROWS" "$c"
expect_eq "final entries" "$WANT_ENTRIES" "$e"
check "case list" dk case list --json
python3 - "$WORK/out" "$ROWS" >"$WORK/dups" <<'EOF'
import json, sys
cases = json.load(open(sys.argv[1]))
rows = int(sys.argv[2])
numbers = [c["number"] for c in cases]
want = {"LX-2024-%05d" % i for i in range(1, rows + 1)}
print(len(numbers), len(set(numbers)), set(numbers) == want)
EOF
expect_eq "every number once, and only the ledger's" "$ROWS $ROWS True" "$(cat "$WORK/dups")"
check "verify at the end" dk verify --json
expect_eq "verify counts every entry" "$WANT_ENTRIES" "$(json_get "['entries']" <"$WORK/out")"
finish
