# Shared helpers for the shell tests. Each test sources this, then calls
# check/expect_fail and ends with `finish`. Fails fast on a broken harness,
# never on a failed check: every check is counted and reported.
set -u
DOCKET=${1:?usage: $0 path/to/docket}
DOCKET=$(cd "$(dirname "$DOCKET")" && pwd)/$(basename "$DOCKET")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/docket-test.XXXXXX")
# main_shell: true in the test's own shell only. A subshell or background
# command killed right after its fork, before it has reset the traps it
# inherited, runs this shell's EXIT trap: it would remove $WORK and stop the
# servers under the running test. Every EXIT trap is therefore
# `if main_shell; then ...; fi`. The pid comes from /proc/self (read is a
# builtin): in that early window $BASHPID still names the parent.
main_shell() { local pid _; read -r pid _ </proc/self/stat && [ "$pid" = "$$" ]; }
trap 'if main_shell; then [ -n "${KEEP:-}" ] || rm -rf "$WORK"; fi 2>/dev/null' EXIT
export TZ=UTC
# Debian's own tools first: the tests need only packages that
# scripts/install-deps.sh installs, and a python3 earlier in PATH may be a
# version manager's shim that costs 0.4 s a call (json_get runs hundreds).
export PATH="/usr/bin:/bin:$PATH"
export DOCKET_PASSPHRASE="test passphrase"
# New key files use the minimum KDF limits (docket-test only, common/fault.h).
export DOCKET_FAULT_CHEAP_KDF=1
unset DOCKET_PASSPHRASE_FILE DOCKET_DIR
PASSED=0
FAILED=0

# DOCKET_TEST_TRACE=1 prints the seconds since the start at every check.
ok() { PASSED=$((PASSED + 1)); [ -z "${DOCKET_TEST_TRACE:-}" ] || echo "[$SECONDS s] ok $PASSED" >&2; }
bad() { FAILED=$((FAILED + 1)); echo "FAIL: $*" >&2; }

# check DESCRIPTION COMMAND...: the command must exit 0
check() {
  local what=$1; shift
  if "$@" >"$WORK/out" 2>"$WORK/err"; then ok; else bad "$what (exit $?): $(head -c 400 "$WORK/err")"; fi
}

# expect_fail DESCRIPTION CODE PATTERN COMMAND...: must exit CODE and print PATTERN on stderr
expect_fail() {
  local what=$1 code=$2 pattern=$3; shift 3
  "$@" >"$WORK/out" 2>"$WORK/err"
  local rc=$?
  if [ "$rc" -ne "$code" ]; then bad "$what: exit $rc, wanted $code; stderr: $(head -c 300 "$WORK/err")"; return; fi
  if ! grep -q -- "$pattern" "$WORK/err"; then bad "$what: stderr lacks '$pattern': $(head -c 300 "$WORK/err")"; return; fi
  ok
}

# expect_eq DESCRIPTION WANT GOT
expect_eq() {
  if [ "$2" = "$3" ]; then ok; else bad "$1: wanted '$2', got '$3'"; fi
}

# jq-free JSON field reading through python3, which every test machine has.
json_get() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

# wait_for SECONDS COMMAND...: poll until the command succeeds. Only for
# something that must happen (a server listening, an entry arriving), with a
# bound generous enough for a machine under load; never to catch the code
# midway, which is what the fault hooks are for (docs/testing.md).
wait_for() {
  local end=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.2; done
}

# The bound for wait_for: a poll of `docket id` took 5-6 s on two loaded cores.
WAIT=${DOCKET_TEST_WAIT:-180}

# base_port COUNT: a first port of COUNT consecutive free loopback ports, so
# that tests running side by side (two `make test` on one machine) do not
# collide on a fixed range.
base_port() {
  python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(21000, 60000 - n)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks: s.close()
    print(base); sys.exit(0)
sys.exit(1)
PY
}

# listening_count LOG: how many times a serve process logging to LOG has
# started listening (logs are appended across restarts).
listening_count() { local n; n=$(grep -c "info: listening on" "$1" 2>/dev/null); echo "${n:-0}"; }

# wait_listening LOG BEFORE: wait until LOG shows one more "listening" than
# BEFORE, i.e. the server just started accepts connections.
wait_listening() {
  local log=$1 before=$2
  listening_more() { [ "$(listening_count "$log")" -gt "$before" ]; }
  wait_for "$WAIT" listening_more
}

# serve_node NAME [FAULT]: `docket serve` on $WORK/NAME in the background,
# logging to $WORK/NAME.log, with DOCKET_FAULT=FAULT if given. Its pid is in
# PID_NAME and PIDS. A node with a listen address is waited for until it
# listens, so that whoever dials it next finds it up (a node that dials first
# and finds nobody backs off for seconds); fails if it died first.
PIDS=""
serve_node() {
  local name=$1 fault=${2:-} before pid
  before=$(listening_count "$WORK/$name.log")
  # The binary itself in the background (not a function, whose subshell
  # would be what $! names), so that kill reaches the server.
  DOCKET_FAULT=$fault "$DOCKET" --dir "$WORK/$name" serve >>"$WORK/$name.log" 2>&1 &
  pid=$!
  PIDS="$PIDS $pid"
  eval "PID_$name=$pid"
  "$DOCKET" --dir "$WORK/$name" id --json 2>/dev/null | grep -q '"listen": *"[^"]' || return 0
  up() { [ "$(listening_count "$WORK/$name.log")" -gt "$before" ] || ! kill -0 "$pid" 2>/dev/null; }
  wait_for "$WAIT" up && kill -0 "$pid" 2>/dev/null ||
    { echo "serve $name did not start: $(tail -n 3 "$WORK/$name.log")" >&2; return 1; }
}

# is_child PID: PID is a running background job of this shell. A dead one
# may already name another process (another test's shell or
# server: PIDs wrap at 32768 on a busy machine), so only these are killed.
is_child() { jobs -rp | grep -qx "$1"; }

# stop_node NAME: kill -9 the serve process of NAME and reap it.
stop_node() {
  local pid
  eval "pid=\${PID_$1:-}"
  [ -n "$pid" ] || return 0
  is_child "$pid" && kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  eval "PID_$1="
  return 0
}

# stop_clean NAME: a clean stop (SIGTERM) of the serve process of NAME,
# reaped, so that the next command has the store.
stop_clean() {
  local pid
  eval "pid=\${PID_$1:-}"
  [ -n "$pid" ] || return 0
  is_child "$pid" && kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  eval "PID_$1="
  return 0
}

stop_all() {
  local p
  for p in $PIDS; do is_child "$p" && kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  PIDS=""
}
