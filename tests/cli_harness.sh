#!/usr/bin/env bash
# The harness itself: a subshell killed right after its fork, before it has
# reset the traps it inherited, runs the parent's EXIT trap. Unguarded, that
# trap removed $WORK and stopped the servers under a running test (the
# cli_replication failures). Every EXIT trap is `if main_shell; then ...; fi`.
. "$(dirname "$0")/lib/harness.sh"
trap 'if main_shell; then stop_all; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; fi 2>/dev/null' EXIT
echo marker >"$WORK/marker"
# Nothing ever writes to this FIFO: opening it to read blocks until killed,
# with no clock involved.
mkfifo "$WORK/never"
# A background child that stop_all would kill, as a test's server.
cat "$WORK/never" >/dev/null & PIDS="$PIDS $!"; KEEPER=$!
for i in $(seq 1 200); do
  ( read -r _ <"$WORK/never" ) 2>/dev/null & d=$!
  kill "$d" 2>/dev/null; wait "$d" 2>/dev/null
done
[ -f "$WORK/marker" ] && ok || bad "a killed subshell ran the EXIT trap: \$WORK is gone"
is_child "$KEEPER" && ok || bad "a killed subshell ran the EXIT trap: the background child was stopped"
finish
