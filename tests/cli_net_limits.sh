#!/usr/bin/env bash
# Hostile or unlucky peers, between real processes on loopback: one key may
# hold only DK_NET_SESSIONS_PER_KEY_MAX (3) sessions, and the one past it is
# refused with the reason, which the refused side prints and records in its
# peer record; a node the street does not know learns that, too; the
# street's log says each refusal once, not once per connection.
. "$(dirname "$0")/lib/harness.sh"
BASE=$((21000 + RANDOM % 20000))
PIDS=""
trap 'if main_shell; then stop_all; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; fi 2>/dev/null' EXIT
dk() { local d=$1; shift; "$DOCKET" --dir "$WORK/$d" "$@"; }
key() { dk "$1" id --json | json_get "['key']"; }
serve() { "$DOCKET" --dir "$WORK/$1" serve >>"$WORK/$1.$2.log" 2>&1 & PIDS="$PIDS $!"; }
wait_for() { # wait_for SECONDS COMMAND...: poll until the command succeeds
  local end=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.2; done
}

check "init street" dk beidu init --office zhanhe/beidu --role street --code BD --listen 127.0.0.1:$BASE
dk beidu network-key >"$WORK/net.key"
check "init lanxin" dk lanxin init --office zhanhe/beidu/lanxin --role community --code LX --network-key-file "$WORK/net.key"
check "init stranger" dk odd init --office zhanhe/beidu/odd --role community --code OD --network-key-file "$WORK/net.key"
BD=$(key beidu); LX=$(key lanxin)
check "pin" dk beidu peer add --name lanxin --key "$LX" --office zhanhe/beidu/lanxin --role community
check "pin" dk lanxin peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$BASE
check "pin" dk odd peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$BASE

serve beidu 0
# Three copies of the same node (one serve per directory): three live
# sessions under one key, the limit.
cp -a "$WORK/lanxin" "$WORK/lanxin2"; cp -a "$WORK/lanxin" "$WORK/lanxin3"
serve lanxin 1; serve lanxin2 2; serve lanxin3 3
three_sessions() { [ "$(grep -c 'connected to lanxin' "$WORK/beidu.0.log")" -ge 3 ]; }
if wait_for 30 three_sessions; then ok; else bad "the street never held three sessions of lanxin"; fi

# The fourth is refused, and the refused side is told why.
expect_fail "a fourth session refused" 1 "beidu failed: zhanhe/beidu refused this node: too many sessions open with this node's key" dk lanxin sync
check "lanxin peer list" dk lanxin peer list --json
case "$(json_get "[0]['last_error']" <"$WORK/out")" in
  *"zhanhe/beidu refused this node: too many sessions"*) ok ;;
  *) bad "the refusal is not in lanxin's peer record: $(cat "$WORK/out")" ;;
esac
check "peer list shows it" dk lanxin peer list
grep -q "last error .*too many sessions" "$WORK/out" && ok || bad "peer list does not show the last error"
grep -q "refused lanxin (key [0-9a-f]*...): 3 sessions already open" "$WORK/beidu.0.log" && ok || bad "the street does not log why"

# A node the street has not pinned learns that much and no more.
expect_fail "unknown node refused" 1 "zhanhe/beidu refused this node: this office has not pinned this node's key" dk odd sync
check "odd peer list" dk odd peer list --json
case "$(json_get "[0]['last_error']" <"$WORK/out")" in
  *"has not pinned"*) ok ;;
  *) bad "the refusal is not in odd's peer record: $(cat "$WORK/out")" ;;
esac

# Refused again and again: the street writes the first refusals, then counts.
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do dk odd sync >/dev/null 2>&1; done
n=$(grep -c "refused a node this office does not know" "$WORK/beidu.0.log")
[ "$n" -le 3 ] && ok || bad "the street logged $n refusals of one stranger, wanted at most 3"

# Connections that never finish the handshake: at most 64 at once. The
# 65th is closed at once, before a byte is said to what may be a stranger.
cat >"$WORK/flood.py" <<'PY'
import socket, sys
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(64)]
extra = socket.create_connection(("127.0.0.1", port))
extra.settimeout(8)  # a safety bound: the handshake timeout would close it at 10 s
try:
    print("closed" if extra.recv(1) == b"" else "data")
except ConnectionResetError:
    print("closed")
except socket.timeout:
    print("open")
PY
expect_eq "the 65th half-open connection is closed at once" closed "$(python3 "$WORK/flood.py" $BASE)"
grep -q "refused a connection: .* 64 in the handshake" "$WORK/beidu.0.log" && ok || bad "the street does not log the connection limit"

# With the extra serves gone, lanxin syncs, and the error is cleared.
stop_all
serve beidu 4
street_up() { dk lanxin sync >/dev/null 2>&1; }
if wait_for 20 street_up; then ok; else bad "lanxin never synced once the sessions were gone"; fi
check "lanxin peer list" dk lanxin peer list --json
expect_eq "last error cleared" "None" "$(json_get "[0]['last_error']" <"$WORK/out")"

# A peer that falls silent (stopped, not gone: the kernel still answers for
# it, so TCP alone never notices): the live link is closed within the
# silence bound and redialled (the redial connects to the kernel's backlog
# and its handshake times out); when the street wakes up, a case written
# meanwhile reaches it. SIGSTOP is the fault; the waits below are bounds,
# not the thing tested.
stop_all
serve beidu 5; PID_BD=$!
listening() { grep -q "listening on" "$WORK/beidu.5.log"; }
if wait_for 30 listening; then ok; else bad "the street does not listen"; fi
serve lanxin 6
linked() { grep -q "caught up with beidu" "$WORK/lanxin.6.log"; }
if wait_for 30 linked; then ok; else bad "lanxin's serve never linked with the street"; fi
kill -STOP "$PID_BD"
noticed() { grep -q "no word from beidu for [0-9]* s: closing the link and redialling" "$WORK/lanxin.6.log"; }
if wait_for 120 noticed; then ok; else bad "lanxin never noticed the silent street"; fi
redialled() { grep -q "cannot reach beidu at .*: no answer to the handshake" "$WORK/lanxin.6.log"; }
if wait_for 60 redialled; then ok; else bad "lanxin did not redial the silent street"; fi
check "case while the street sleeps" dk lanxin case open --kind dispute --category tenancy --summary "Leak" --party "Wu Fang" --json
kill -CONT "$PID_BD"
street_has_it() { [ "$(dk beidu id --json | json_get "['cases']")" -ge 1 ]; }
if wait_for 120 street_has_it; then ok; else bad "the case never reached the street after it woke"; fi
reached() { grep -q "reached beidu again after\|caught up with beidu (exchanged)" "$WORK/lanxin.6.log"; }
if wait_for 30 reached; then ok; else bad "lanxin does not say it reached the street again"; fi
finish
