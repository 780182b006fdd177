#!/usr/bin/env bash
# docket status tells the truth in each state: certificate expiry and its
# 30-day warning, a peer never synced (lag unknown, not 0), a live link, a
# serve killed with kill -9 (its stale record is not believed), a link lost
# (the last error in words), fork proofs, store and disk.
. "$(dirname "$0")/lib/harness.sh"
BASE=$((21000 + RANDOM % 20000))
PIDS=""
trap 'if main_shell; then stop_all; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; fi 2>/dev/null' EXIT
dk() { local d=$1; shift; "$DOCKET" --dir "$WORK/$d" "$@"; }
key() { dk "$1" id --json | json_get "['key']"; }
serve() { "$DOCKET" --dir "$WORK/$1" serve >>"$WORK/$1.log" 2>&1 & PIDS="$PIDS $!"; eval "PID_$1=$!"; }
st() { dk "$1" status --json >"$WORK/st.json" 2>"$WORK/st.err" || { echo "status failed: $(cat "$WORK/st.err")" >&2; return 1; }; }
sj() { json_get "$1" <"$WORK/st.json"; }
wait_for() { local end=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.2; done; }

# --- certificate expiry, on the district (its own certificate is in its own log)
check "init district" dk zhanhe init --office zhanhe --role district --code ZH
export DOCKET_ROOT_PASSPHRASE="root passphrase"
check "root" dk zhanhe cert init-root --out "$WORK/root.key"
ROOT=$(sed -n 's/^root public key: //p' "$WORK/out")
check "set-root" dk zhanhe cert set-root "$ROOT"
check "status, no certificate" st zhanhe
expect_eq "no certificate yet" none "$(sj "['certificate']['state']")"
ZH=$(key zhanhe)
check "issue 10 days" dk zhanhe cert issue --root-key "$WORK/root.key" --key "$ZH" --office zhanhe --role district --days 10
check "status" st zhanhe
expect_eq "valid" valid "$(sj "['certificate']['state']")"
expect_eq "days left" 9 "$(sj "['certificate']['days_left']")"
case "$(sj "['certificate'].get('warning')")" in *"expires in 9 days"*) ok ;; *) bad "30-day warning: $(cat "$WORK/st.json")" ;; esac
check "status text" dk zhanhe status
grep -q "warning: the certificate expires in 9 days" "$WORK/out" && ok || bad "text warning: $(cat "$WORK/out")"
check "issue 100 days" dk zhanhe cert issue --root-key "$WORK/root.key" --key "$ZH" --office zhanhe --role district --days 100
check "status" st zhanhe
expect_eq "the longer certificate counts" 99 "$(sj "['certificate']['days_left']")"
expect_eq "no warning 99 days out" None "$(sj "['certificate'].get('warning')")"

# --- a street and a community, pinned to each other
check "init street" dk beidu init --office zhanhe/beidu --role street --code BD --listen 127.0.0.1:$BASE
dk beidu network-key >"$WORK/net.key"
check "init lanxin" dk lanxin init --office zhanhe/beidu/lanxin --role community --code LX --listen 127.0.0.1:$((BASE + 1)) --network-key-file "$WORK/net.key"
BD=$(key beidu); LX=$(key lanxin)
check "pin" dk beidu peer add --name lanxin --key "$LX" --office zhanhe/beidu/lanxin --role community
check "pin" dk lanxin peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$BASE
check "case" dk lanxin case open --kind dispute --summary "Fence between two yards"
check "status before any sync" st lanxin
expect_eq "no root here" "no root" "$(sj "['certificate']['state']")"
expect_eq "serve not running" False "$(sj "['serve']['running']")"
expect_eq "not connected" False "$(sj "['peers'][0]['connected']")"
expect_eq "lag unknown, not 0 (they)" None "$(sj "['peers'][0]['they_lack']")"
expect_eq "lag unknown, not 0 (we)" None "$(sj "['peers'][0]['we_lack']")"
expect_eq "never synced" None "$(sj "['peers'][0]['last_sync']")"
check "status text" dk lanxin status
grep -q "it lacks unknown entries, this node lacks unknown" "$WORK/out" && ok || bad "text shows unknown lag: $(cat "$WORK/out")"
grep -q "not connected" "$WORK/out" && ok || bad "text shows not connected"
expect_eq "no forks" 0 "$(sj "['fork_proofs']")"
[ "$(sj "['store']['bytes']")" -gt 0 ] && ok || bad "store size"
[ "$(sj "['store']['free_bytes']")" -gt 0 ] && ok || bad "free disk"

# --- links up
serve beidu; serve lanxin
connected() { st lanxin && [ "$(sj "['peers'][0]['connected']")" = True ]; }
if wait_for 30 connected; then ok; else bad "lanxin never showed beidu connected: $(cat "$WORK/st.json")"; fi
expect_eq "serve running" True "$(sj "['serve']['running']")"
expect_eq "serve pid" "$PID_lanxin" "$(sj "['serve']['pid']")"
[ "$(sj "['peers'][0]['connected_since']")" != None ] && ok || bad "connected since"
synced() { st lanxin && [ "$(sj "['peers'][0]['last_sync']")" != None ]; }
if wait_for 30 synced; then ok; else bad "last sync never recorded"; fi
expect_eq "lag measured: it lacks nothing" 0 "$(sj "['peers'][0]['they_lack']")"
check "status text" dk lanxin status
grep -q "beidu .* connected" "$WORK/out" && ok || bad "text connected: $(cat "$WORK/out")"

# --- serve killed with kill -9: its record still says connected, status does not believe it
kill -9 "$PID_lanxin"; wait "$PID_lanxin" 2>/dev/null
grep -q '"beidu"' "$WORK/lanxin/serve.links" && ok || bad "the stale record still lists beidu (test premise)"
check "status after kill -9" st lanxin
expect_eq "serve not running" False "$(sj "['serve']['running']")"
expect_eq "not connected after a crash" False "$(sj "['peers'][0]['connected']")"

# --- the street goes away while lanxin serves: the last error in words
serve lanxin
if wait_for 30 connected; then ok; else bad "reconnected"; fi
kill -9 "$PID_beidu"; wait "$PID_beidu" 2>/dev/null
errored() { st lanxin && [ "$(sj "['peers'][0]['last_error']")" != None ]; }
if wait_for 30 errored; then ok; else bad "no last error after the street died: $(cat "$WORK/st.json")"; fi
expect_eq "not connected once lost" False "$(sj "['peers'][0]['connected']")"
case "$(sj "['peers'][0]['last_error']['error']")" in *"connection was lost"*|*"stopped answering"*|*closed*) ok ;; *) bad "error in words: $(sj "['peers'][0]['last_error']")" ;; esac
check "status text" dk lanxin status
grep -q "last error (" "$WORK/out" && ok || bad "text shows the last error: $(cat "$WORK/out")"
stop_all
check "status --help" dk lanxin status --help
expect_fail "status bad arg" 2 "unknown option '--bogus'" dk lanxin status --bogus
finish
