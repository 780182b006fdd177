#!/usr/bin/env bash
# make deb's recipe, in a build tree of its own (prefix /usr, no tests):
# CPack builds a .deb that scripts/check-deb.sh accepts: docket, with
# dependencies that are Debian package names (libsodium23, liblmdb0, libuv1,
# libmsgpackc2, libjansson4, libcsv3, libsystemd0, libinih1, ...), the
# binary, the manuals, the unit, completion and the example config, and
# (as root) an apt-get install that would succeed.
. "$(dirname "$0")/lib/harness.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
B="$WORK/build-deb"
check "configure" cmake -S "$SRC" -B "$B" -DCMAKE_INSTALL_PREFIX=/usr -DDOCKET_TESTS=OFF \
  -DDOCKET_BENCH=OFF -DDOCKET_FAULT_HOOKS=OFF
check "build" cmake --build "$B" -j 2
check "cpack" sh -c "cd '$B' && cpack -G DEB"
DEB=$(ls "$B"/docket_*.deb 2>/dev/null | head -1)
[ -n "$DEB" ] && ok || bad "cpack made no docket_*.deb"
check "check-deb" sh "$SRC/scripts/check-deb.sh" "$DEB"
dpkg-deb -f "$DEB" Depends >"$WORK/depends"
grep -q "libinih1" "$WORK/depends" && ok || bad "depends on libinih1: $(cat "$WORK/depends")"
finish
