#!/usr/bin/env bash
# docket.conf in the node directory: the example file is accepted, its
# deadlines replace the stored ones, serve takes listen and log_level from
# it (the command line wins), and every kind of mistake names its line.
. "$(dirname "$0")/lib/harness.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
D="$WORK/lanxin"
dk() { "$DOCKET" --dir "$D" "$@"; }
conf() { printf '%s\n' "$@" >"$D/docket.conf"; }
check "init" dk init --office zhanhe/beidu/lanxin --role community --code LX
check "no config file" dk config --json
expect_eq "default clinic deadline" 15 "$(json_get "['deadline.clinic']" <"$WORK/out")"

cp "$SRC/packaging/docket.conf.example" "$D/docket.conf"
check "the example config is accepted" dk id
conf "[deadlines]" "clinic = 7" "joint = 40"
check "deadlines from the file" dk config --json
expect_eq "clinic from the file" 7 "$(json_get "['deadline.clinic']" <"$WORK/out")"
expect_eq "joint from the file" 40 "$(json_get "['deadline.joint']" <"$WORK/out")"
expect_eq "emergency kept" 3 "$(json_get "['deadline.emergency']" <"$WORK/out")"
check "open" dk case open --kind dispute --summary "Noise at night" --at 2026-03-01 --json
N=$(json_get "['number']" <"$WORK/out")
check "triage" dk case triage "$N" --class clinic --at 2026-03-01
check "show" dk case show "$N" --json
case "$(json_get "['deadline']" <"$WORK/out")" in 2026-03-08*) ok ;; *) bad "clinic deadline 7 days after triage: $(json_get "['deadline']" <"$WORK/out")" ;; esac

# mistakes: each names the file and the line, and the command does nothing
conf "[serve]" "# a comment" "log-level = info"
expect_fail "unknown key" 1 "docket.conf:3: unknown key 'log-level' in \[serve\]" dk id
conf "[serve]" "log_level = loud"
expect_fail "bad log level" 1 "docket.conf:2: log_level = loud" dk id
conf "[serve]" "sync_interval = 2"
expect_fail "interval too short" 1 "docket.conf:2: sync_interval = 2: seconds from 5" dk id
conf "[serve]" "sync_interval = 30s"
expect_fail "interval with a unit" 1 "docket.conf:2: sync_interval = 30s" dk id
conf "[serve]" "listen = 7400"
expect_fail "listen without a host" 1 "docket.conf:2: listen = 7400: not HOST:PORT" dk id
conf "" "[deadlines]" "clinic = 0"
expect_fail "zero days" 1 "docket.conf:3: clinic = 0: days from 1 to 3650" dk id
conf "[deadlines]" "clinic = 5" "clinic = 6"
expect_fail "a key twice" 1 "docket.conf:3: clinic given twice" dk id
conf "[network]" "port = 1"
expect_fail "unknown section" 1 "docket.conf:2: unknown section \[network\]" dk id
conf "[serve]" "this is not ini"
expect_fail "syntax" 1 "docket.conf:2: not 'key = value'" dk id
conf "log_level = info"
expect_fail "outside a section" 1 "docket.conf:1: 'log_level' is outside any section" dk id
expect_fail "serve stops on a bad file" 1 "docket.conf:1" dk serve
conf "[deadlines]" "clinic = 9" "joint = x"
expect_fail "bad value" 1 "docket.conf:3" dk config --json
rm "$D/docket.conf"
check "nothing applied from a bad file" dk config --json
expect_eq "clinic unchanged by the bad file" 7 "$(json_get "['deadline.clinic']" <"$WORK/out")"

# serve: listen and log_level from the file. A port already taken makes
# serve fail at once, naming the address it tried: no waiting needed.
python3 -c 'import socket,sys,time,os
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(1)
open(sys.argv[1]+".tmp","w").write(str(s.getsockname()[1])); os.rename(sys.argv[1]+".tmp",sys.argv[1])
time.sleep(300)' "$WORK/port2" &
HOLDER=$!
trap 'if main_shell; then [ -z "$HOLDER" ] || kill $HOLDER 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; fi 2>/dev/null' EXIT
end=$((SECONDS + ${WAIT:-180})); until [ -s "$WORK/port2" ] || [ $SECONDS -ge $end ]; do sleep 0.1; done
P=$(cat "$WORK/port2")
conf "[serve]" "listen = 127.0.0.1:$P" "log_level = error"
"$DOCKET" --dir "$D" serve >"$WORK/out" 2>"$WORK/err"
expect_eq "serve fails on a taken port" 1 $?
grep -q "cannot listen on 127.0.0.1:$P" "$WORK/err" && ok || bad "serve listens where the file says: $(cat "$WORK/err")"
grep -q "info:" "$WORK/err" && bad "log_level = error hides info: $(cat "$WORK/err")" || ok
conf "[serve]" "listen = 127.0.0.1:$P" "log_level = info"
"$DOCKET" --dir "$D" serve --listen "127.0.0.1:$P" --log-level error >"$WORK/out" 2>"$WORK/err"
grep -q "info:" "$WORK/err" && bad "--log-level beats the file: $(cat "$WORK/err")" || ok
# sync_interval: the cap of serve's redial backoff, which serve states at
# start from the value it uses (before it listens, so the taken port ends
# it at once: nothing to wait for).
conf "[serve]" "listen = 127.0.0.1:$P" "log_level = info" "sync_interval = 7"
"$DOCKET" --dir "$D" serve >"$WORK/out" 2>"$WORK/err"
grep -q "redialled at least every 7 s (sync_interval)" "$WORK/err" && ok || bad "serve takes sync_interval from the file: $(cat "$WORK/err")"
conf "[serve]" "listen = 127.0.0.1:$P" "log_level = info"
"$DOCKET" --dir "$D" serve >"$WORK/out" 2>"$WORK/err"
grep -q "redialled at least every 30 s (sync_interval)" "$WORK/err" && ok || bad "serve's default redial cap is 30 s: $(cat "$WORK/err")"
kill $HOLDER; wait $HOLDER 2>/dev/null; HOLDER=""
finish
