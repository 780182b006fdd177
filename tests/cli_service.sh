#!/usr/bin/env bash
# docket serve under a service manager: the passphrase from a systemd
# credential, READY=1 / STATUS= / WATCHDOG=1 / STOPPING=1 through
# NOTIFY_SOCKET, log lines with journald priorities when stderr is the
# journal, --log-level, and one serve per node directory.
. "$(dirname "$0")/lib/harness.sh"
D="$WORK/lanxin"
PORT=$((21000 + RANDOM % 20000))
dk() { "$DOCKET" --dir "$D" "$@"; }
check "init" dk init --office zhanhe/beidu/lanxin --role community --code LX --listen 127.0.0.1:$PORT

# --- the passphrase as a systemd credential (LoadCredential=passphrase:...)
mkdir -p "$WORK/creds" "$WORK/badcreds"
printf 'test passphrase\n' >"$WORK/creds/passphrase"
printf 'not it\n' >"$WORK/badcreds/passphrase"
check "credential unlocks" env -u DOCKET_PASSPHRASE CREDENTIALS_DIRECTORY="$WORK/creds" "$DOCKET" --dir "$D" case list
expect_fail "a wrong credential is refused" 1 "wrong passphrase" env -u DOCKET_PASSPHRASE CREDENTIALS_DIRECTORY="$WORK/badcreds" "$DOCKET" --dir "$D" case list
printf 'test passphrase\n' >"$WORK/pass"
check "DOCKET_PASSPHRASE_FILE comes first" env -u DOCKET_PASSPHRASE CREDENTIALS_DIRECTORY="$WORK/badcreds" DOCKET_PASSPHRASE_FILE="$WORK/pass" "$DOCKET" --dir "$D" case list
expect_fail "a credentials directory without the passphrase: no terminal" 1 "passphrase is needed" env -u DOCKET_PASSPHRASE CREDENTIALS_DIRECTORY="$WORK" setsid "$DOCKET" --dir "$D" case list </dev/null
expect_fail "bad --log-level" 2 "log-level" dk serve --log-level loud

# --- sd_notify and the journal, as systemd would run it
cat >"$WORK/notify.py" <<'PY'
import os, socket, subprocess, sys, time, signal
docket, d, work = sys.argv[1:4]
extra = sys.argv[4:]
sock_path = os.path.join(work, "notify.sock")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if os.path.exists(sock_path):
    os.unlink(sock_path)
s.bind(sock_path)
s.settimeout(1.0)
err = open(os.path.join(work, "serve.err"), "wb")
st = os.fstat(err.fileno())
env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="400000",
           JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino),
           CREDENTIALS_DIRECTORY=os.path.join(work, "creds"))
env.pop("DOCKET_PASSPHRASE", None)
p = subprocess.Popen([docket, "--dir", d, "serve"] + extra, env=env, stderr=err, stdout=subprocess.DEVNULL)
seen = []
def until(pred, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end and not pred():
        try:
            seen.extend(s.recv(4096).decode().split("\n"))
        except socket.timeout:
            if p.poll() is not None:
                break
    return pred()
ready = until(lambda: "READY=1" in seen, 60)
print("ready", int(ready))
print("status", int(any(m.startswith("STATUS=serving on 127.0.0.1:") for m in seen)))
dogs = until(lambda: seen.count("WATCHDOG=1") >= 2, 30)
print("watchdog", int(dogs))
# a second serve on the same node is refused while this one runs
q = subprocess.run([docket, "--dir", d, "serve"], capture_output=True, text=True)
print("second", q.returncode, "already runs" in q.stderr and str(p.pid) in q.stderr)
p.send_signal(signal.SIGTERM)
until(lambda: "STOPPING=1" in seen, 30)
print("stopping", int("STOPPING=1" in seen))
print("exit", p.wait(timeout=60))
PY
python3 "$WORK/notify.py" "$DOCKET" "$D" "$WORK" >"$WORK/notify.out" 2>&1
expect_eq "READY=1" "ready 1" "$(grep '^ready' "$WORK/notify.out")"
expect_eq "STATUS= names the address" "status 1" "$(grep '^status' "$WORK/notify.out")"
expect_eq "WATCHDOG=1 within the interval" "watchdog 1" "$(grep '^watchdog' "$WORK/notify.out")"
expect_eq "a second serve is refused" "second 1 True" "$(grep '^second' "$WORK/notify.out")"
expect_eq "STOPPING=1 on SIGTERM" "stopping 1" "$(grep '^stopping' "$WORK/notify.out")"
expect_eq "clean exit" "exit 0" "$(grep '^exit' "$WORK/notify.out")"
grep -q '^<6>info: listening on 127.0.0.1:' "$WORK/serve.err" && ok || bad "journal lines carry <6> for info: $(head -3 "$WORK/serve.err")"
if grep -v '^<[0-7]>' "$WORK/serve.err" | grep -q .; then bad "every journal line has a priority: $(head -3 "$WORK/serve.err")"; else ok; fi

# --- --log-level warning: no info lines (the same run, another level)
python3 "$WORK/notify.py" "$DOCKET" "$D" "$WORK" --log-level warning >"$WORK/notify2.out" 2>&1
expect_eq "ready at warning level" "ready 1" "$(grep '^ready' "$WORK/notify2.out")"
grep -q "info:" "$WORK/serve.err" && bad "warning level hides info lines: $(head -3 "$WORK/serve.err")" || ok
finish
