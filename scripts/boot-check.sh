#!/bin/sh
# make boot-check: the package on a fresh Debian bookworm under a real
# systemd, as an office PC runs it.
#
#   sh scripts/boot-check.sh DEB [ROOTFS]
#
# debootstraps a minimal bookworm with systemd into ROOTFS (default
# build/bookworm-root; kept between runs), installs DEB there with
# 'apt-get install ./docket_*.deb', creates the node /var/lib/docket/lanxin
# and its passphrase file, then boots the tree twice with systemd-nspawn.
# In the first boot a oneshot unit runs 'systemctl enable --now
# docket@lanxin', kills the node with kill -9 and checks that systemd
# starts it again (Restart=on-failure), runs 'systemctl restart', and reads
# 'docket status'. The second boot checks that the enabled unit came up by
# itself. Exits 1 when any step fails, printing what the boots recorded.
# Needs root, debootstrap and systemd-container ('install-deps.sh boot'),
# and the Debian mirror; it downloads about 100 MB the first time.
set -eu
DEB=${1:?usage: scripts/boot-check.sh DEB [ROOTFS]}
ROOT=${2:-build/bookworm-root}
DEB=$(cd "$(dirname "$DEB")" && pwd)/$(basename "$DEB")
NSPAWN="systemd-nspawn -q --keep-unit --register=no -D $ROOT"

if [ ! -e "$ROOT/.bootstrapped" ]; then
  echo "boot-check: debootstrap bookworm into $ROOT"
  rm -rf "$ROOT"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm "$ROOT" \
    http://deb.debian.org/debian >"$ROOT.debootstrap.log" 2>&1 ||
    { tail -n 20 "$ROOT.debootstrap.log" >&2; exit 1; }
  touch "$ROOT/.bootstrapped"
fi

echo "boot-check: apt-get install ./$(basename "$DEB") in the fresh tree"
cp "$DEB" "$ROOT/root/docket.deb"
$NSPAWN --pipe sh -c 'apt-get install -y /root/docket.deb >/root/install.log 2>&1 ||
  { tail -n 20 /root/install.log; exit 1; }; docket --version' </dev/null

cat >"$ROOT/root/check.sh" <<'EOF'
#!/bin/sh
# Runs at each boot of the check (docket-check.service).
R=/root/result.txt
U=docket@lanxin
# What must happen, with a bound (a slow machine under load): never a race.
wait_active() {
  i=0
  until systemctl is-active -q $U; do i=$((i + 1)); [ $i -gt 900 ] && return 1; sleep 0.2; done
}
pid() { systemctl show -p MainPID --value $U; }
if [ ! -e /root/boot1.done ]; then
  echo "boot 1" >>$R
  systemctl enable --now $U >>$R 2>&1 && echo "ok enable --now" >>$R
  wait_active && echo "ok active after enable" >>$R
  P1=$(pid)
  kill -9 "$P1"
  i=0
  until P2=$(pid) && [ "$P2" != "$P1" ] && [ "$P2" != 0 ] && systemctl is-active -q $U; do
    i=$((i + 1)); [ $i -gt 900 ] && break; sleep 0.2
  done
  [ "$P2" != "$P1" ] && [ "$P2" != 0 ] && echo "ok restarted after kill -9 (pid $P1 -> $P2, restarts $(systemctl show -p NRestarts --value $U))" >>$R
  systemctl restart $U && wait_active && echo "ok active after systemctl restart (pid $(pid))" >>$R
  DOCKET_PASSPHRASE_FILE=/etc/docket/lanxin.passphrase docket --dir /var/lib/docket/lanxin status --json >/root/status.json 2>>$R &&
    grep -q '"running": *true' /root/status.json && echo "ok status says serve is running" >>$R
  journalctl -u $U --no-pager -o short-iso | tail -n 12 >>$R
  touch /root/boot1.done
else
  echo "boot 2" >>$R
  wait_active && echo "ok active after reboot (enabled, pid $(pid))" >>$R
  touch /root/boot2.done
fi
systemctl poweroff
EOF
chmod +x "$ROOT/root/check.sh"
cat >"$ROOT/etc/systemd/system/docket-check.service" <<'EOF'
[Unit]
Description=docket boot check
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/root/check.sh
[Install]
WantedBy=multi-user.target
EOF
$NSPAWN --pipe sh -c 'set -e
systemctl disable -q docket@lanxin 2>/dev/null || true
systemctl enable -q docket-check.service
rm -rf /var/lib/docket/lanxin /root/result.txt /root/boot1.done /root/boot2.done
umask 077
printf "boot check passphrase\n" >/etc/docket/lanxin.passphrase
DOCKET_PASSPHRASE="boot check passphrase" docket --dir /var/lib/docket/lanxin init \
  --office zhanhe/beidu/lanxin --role community --code LX --listen 127.0.0.1:39111 >/dev/null' </dev/null

for boot in 1 2; do
  echo "boot-check: boot $boot"
  timeout 600 $NSPAWN -b >"$ROOT.boot$boot.log" 2>&1 </dev/null || true
done
cat "$ROOT/root/result.txt"
fail=0
for want in "ok enable --now" "ok active after enable" "ok restarted after kill -9" \
  "ok active after systemctl restart" "ok status says serve is running" "ok active after reboot"; do
  grep -q "^$want" "$ROOT/root/result.txt" || { echo "boot-check: FAILED: $want" >&2; fail=1; }
done
[ $fail -eq 0 ] && echo "boot-check: the package installs, starts at boot, survives kill -9 and restarts"
exit $fail
