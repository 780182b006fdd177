#!/bin/sh
# Installs the Debian packages docket needs to build, test and run its demo.
# As root it runs apt-get; otherwise it prints the line to run.
set -eu
PKGS="build-essential cmake pkg-config liblmdb-dev libsodium-dev libuv1-dev libmsgpack-dev \
libcmocka-dev libjansson-dev libcsv-dev lmdb-utils python3 binutils \
libsystemd-dev libinih-dev scdoc systemd man-db dpkg-dev file git bash-completion \
libzip-dev libexpat1-dev libxlsxwriter-dev python3-openpyxl strace gettext"
# 'install-deps.sh fuzz' adds what the libFuzzer targets need; 'anchor' what
# make bench-anchor needs (Node.js and npm, for Hypercore from npm); 'render'
# what tests/cli_report_render.sh uses to render the HTML report, when present.
if [ "${1:-}" = render ]; then
  PKGS="$PKGS chromium fonts-wqy-microhei"
fi
if [ "${1:-}" = fuzz ]; then
  PKGS="$PKGS clang libclang-rt-14-dev"
fi
# 'boot': what make boot-check needs to boot a fresh bookworm under systemd.
if [ "${1:-}" = boot ]; then
  PKGS="$PKGS debootstrap systemd-container"
fi
if [ "${1:-}" = anchor ]; then
  PKGS="$PKGS nodejs npm strace"
fi
missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "docket: missing packages:$missing" >&2
  echo "run as root: apt-get update && apt-get install -y$missing" >&2
  exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
