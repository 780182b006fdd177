#!/usr/bin/env bash
# docket --version comes from the build (git describe), not a constant:
# the binary reports what cmake/version.cmake computes for this checkout,
# a tagged commit reports its tag, and a tree outside git the project version.
. "$(dirname "$0")/lib/harness.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
SCRIPT="$SRC/cmake/version.cmake"
PROJECT_VERSION=$(sed -n 's/^project(docket VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
version_of() { # version_of DIR: what the build would report for a source tree in DIR
  rm -f "$WORK/v.h"
  cmake -DSRC="$1" -DFALLBACK="$PROJECT_VERSION" -DOUT="$WORK/v.h" -P "$SCRIPT" >/dev/null 2>&1
  sed -n 's/^#define DK_VERSION "\(.*\)"$/\1/p' "$WORK/v.h"
}

check "--version" "$DOCKET" --version
GOT=$(cat "$WORK/out")
case "$GOT" in "docket "?*) ok ;; *) bad "--version prints 'docket VERSION': '$GOT'" ;; esac
if [ -d "$SRC/.git" ] || [ -f "$SRC/.git" ]; then
  expect_eq "binary reports this checkout's version" "docket $(version_of "$SRC")" "$GOT"
  HEAD=$(git -C "$SRC" rev-parse --short=12 HEAD)
  case "$GOT" in *"$HEAD"* | *[0-9]) ok ;; *) bad "version names the commit $HEAD: $GOT" ;; esac
fi

# outside git: the project version alone
mkdir -p "$WORK/tarball"
expect_eq "no git: project version" "$PROJECT_VERSION" "$(version_of "$WORK/tarball")"

# a tagged release, and a commit after it (both valid Debian versions)
R="$WORK/repo"
git init -q "$R"
git -C "$R" -c user.name=t -c user.email=t@example.org commit -q --allow-empty -m one
expect_eq "untagged commit" "$PROJECT_VERSION+g$(git -C "$R" rev-parse --short=12 HEAD)" "$(version_of "$R")"
git -C "$R" tag v2.3.4
expect_eq "tagged commit" "2.3.4" "$(version_of "$R")"
git -C "$R" -c user.name=t -c user.email=t@example.org commit -q --allow-empty -m two
expect_eq "after the tag" "2.3.4+1.g$(git -C "$R" rev-parse --short HEAD)" "$(version_of "$R")"
echo x >"$R/file"; git -C "$R" add file
expect_eq "changed tree" "2.3.4+1.g$(git -C "$R" rev-parse --short HEAD)-dirty" "$(version_of "$R")"
finish
