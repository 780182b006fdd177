# Shared helpers for the shell tests. Each test sources this, then calls
# check/expect_fail and ends with `finish`. Fails fast on a broken harness,
# never on a failed check: every check is counted and reported.
set -u
DOCKET=${1:?usage: $0 path/to/docket}
DOCKET=$(cd "$(dirname "$DOCKET")" && pwd)/$(basename "$DOCKET")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/docket-test.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
export TZ=UTC
export DOCKET_PASSPHRASE="test passphrase"
unset DOCKET_PASSPHRASE_FILE DOCKET_DIR
PASSED=0
FAILED=0

ok() { PASSED=$((PASSED + 1)); }
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
