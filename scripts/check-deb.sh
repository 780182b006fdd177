#!/bin/sh
# Checks a docket .deb: its control fields, that every dependency is a
# Debian package name apt knows, the files it carries, that the binary it
# carries runs, and that apt-get could install it here (simulated).
# Usage: scripts/check-deb.sh docket_VERSION_ARCH.deb
set -eu
DEB=${1:?usage: check-deb.sh FILE.deb}
fail() { echo "check-deb: $*" >&2; exit 1; }
[ "$(dpkg-deb -f "$DEB" Package)" = docket ] || fail "package name is not docket"
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
for lib in libsodium23 liblmdb0 libuv1 libmsgpackc2 libjansson4 libcsv3 libsystemd0 libinih1; do
  echo "$DEPENDS" | grep -Eq "(^|, )$lib( |,|$)" || fail "Depends lacks $lib: $DEPENDS"
done
# One apt-cache call for all (each call loads the whole package cache; it
# exits 0 when only some are known, so the names it prints are compared).
DEPS=$(echo "$DEPENDS" | sed 's/([^)]*)//g; s/,/ /g')
# shellcheck disable=SC2086
KNOWN=$(apt-cache show --no-all-versions $DEPS 2>/dev/null | sed -n 's/^Package: //p' | sort -u)
for dep in $DEPS; do
  echo "$KNOWN" | grep -qx "$dep" || fail "dependency $dep is not a Debian package apt knows"
done
FILES=$(dpkg-deb -c "$DEB" | awk '{print $6}')
for f in ./usr/bin/docket ./usr/lib/systemd/system/docket@.service \
         ./usr/share/man/man1/docket.1 ./usr/share/man/man1/docket-case.1 \
         ./usr/share/man/man5/docket.conf.5 ./usr/share/bash-completion/completions/docket \
         ./usr/share/doc/docket/docket.conf.example; do
  echo "$FILES" | grep -qx "$f" || fail "the package lacks $f"
done
X=$(mktemp -d)
trap 'rm -rf "$X"' EXIT
dpkg-deb -x "$DEB" "$X"
grep -q '^ExecStart=/usr/bin/docket --dir /var/lib/docket/%i serve$' \
  "$X/usr/lib/systemd/system/docket@.service" || fail "the unit does not run /usr/bin/docket"
V=$("$X/usr/bin/docket" --version) || fail "the packaged binary does not run"
[ "$V" = "docket $(dpkg-deb -f "$DEB" Version)" ] || fail "binary says '$V', package $(dpkg-deb -f "$DEB" Version)"
if [ "$(id -u)" -eq 0 ]; then
  apt-get install -s -q "$(cd "$(dirname "$DEB")" && pwd)/$(basename "$DEB")" >"$X/apt.out" 2>&1 \
    || { cat "$X/apt.out" >&2; fail "apt-get cannot install it"; }
fi
echo "check-deb: $DEB is good ($V)"
