#!/usr/bin/env bash
# make install's rules (cmake --install with DESTDIR) put the binary, every
# man page, the systemd unit, bash completion and the example config where
# they belong; `man docket-case` finds its page there, the unit passes
# systemd-analyze verify, and the installed binary is the one built.
. "$(dirname "$0")/lib/harness.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(dirname "$DOCKET")
PREFIX=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt")
STAGE="$WORK/stage"
check "install into DESTDIR" env DESTDIR="$STAGE" cmake --install "$BUILD"
R="$STAGE$PREFIX"
for f in bin/docket share/bash-completion/completions/docket \
         share/doc/docket/docket.conf.example share/doc/docket/operations.md \
         share/doc/docket/config.md share/man/man5/docket.conf.5; do
  [ -f "$R/$f" ] && ok || bad "installed $f"
done
UNIT=$(find "$R" -name 'docket@.service' | head -1)
[ -n "$UNIT" ] && ok || bad "installed the systemd unit"
[ -x "$R/bin/docket" ] && ok || bad "the binary is executable"
expect_eq "installed binary is the build" "$("$DOCKET" --version)" "$("$R/bin/docket" --version)"
grep -q "^ExecStart=$PREFIX/bin/docket --dir /var/lib/docket/%i serve$" "$UNIT" && ok \
  || bad "the unit runs the installed binary: $(grep ExecStart "$UNIT")"

# one page per scdoc source, each a real manual page
for src in "$SRC"/docs/man/*.scd; do
  page=$(basename "$src" .scd); section=${page##*.}
  f="$R/share/man/man$section/$page"
  if [ -f "$f" ]; then ok; else bad "man page $page installed"; continue; fi
  man -l "$f" 2>/dev/null | grep -q "^NAME" && ok || bad "man -l $page renders"
done
for page in docket docket-case docket-report docket-peer docket-cert docket-audit docket-node docket-bundle docket-network-key; do
  [ -f "$R/share/man/man1/$page.1" ] && ok || bad "page $page(1) exists"
done
export MANPATH="$R/share/man"
expect_eq "man -w docket-case" "$R/share/man/man1/docket-case.1" "$(man -w docket-case 2>&1)"
man docket-case 2>/dev/null | grep -q "docket-case - open cases" && ok || bad "man docket-case shows the page"
man 5 docket.conf 2>/dev/null | grep -q "sync_interval" && ok || bad "man 5 docket.conf"
# every command in docket --help has a manual that names it
for cmd in $("$DOCKET" --help | sed -n 's/^  \([a-z-]*\)  .*/\1/p'); do
  grep -lq "docket $cmd\|\*$cmd\*" "$SRC"/docs/man/docket-*.1.scd && ok || bad "no man page covers '$cmd'"
done

# the unit: systemd-analyze verify needs the binary it names to exist, so the
# check runs on a copy that names this build's binary; the man pages named
# in Documentation= are found through MANPATH.
mkdir -p "$WORK/unit"
sed "s|^ExecStart=$PREFIX/bin/docket|ExecStart=$DOCKET|" "$UNIT" >"$WORK/unit/docket@.service"
check "systemd-analyze verify docket@.service" systemd-analyze verify "$WORK/unit/docket@.service"
[ ! -s "$WORK/err" ] && ok || bad "verify is silent: $(cat "$WORK/err")"
for want in "Type=notify" "WatchdogSec=" "Restart=on-failure" "ProtectSystem=strict" \
            "ReadWritePaths=/var/lib/docket/%i" "NoNewPrivileges=yes" "PrivateTmp=yes" \
            "LoadCredential=passphrase:"; do
  grep -q "^$want" "$UNIT" && ok || bad "unit has $want"
done
# and verify does catch a broken unit (so the check above can fail)
sed 's/^Type=notify/Type=notifyy/' "$WORK/unit/docket@.service" >"$WORK/unit/broken@.service"
systemd-analyze verify "$WORK/unit/broken@.service" >"$WORK/out" 2>&1
grep -q "notifyy" "$WORK/out" && ok || bad "verify reports a bad Type: $(cat "$WORK/out")"

# bash completion: valid bash that completes commands and subcommands
check "completion parses" bash -n "$R/share/bash-completion/completions/docket"
if [ -f /usr/share/bash-completion/bash_completion ]; then
  got=$(bash -c '. /usr/share/bash-completion/bash_completion; . "$1"
    COMP_WORDS=(docket ca); COMP_CWORD=1; COMP_LINE="docket ca"; COMP_POINT=9; _docket
    printf "%s " "${COMPREPLY[@]}"
    COMP_WORDS=(docket case tr); COMP_CWORD=2; COMP_LINE="docket case tr"; COMP_POINT=14; _docket
    printf "%s " "${COMPREPLY[@]}"' _ "$R/share/bash-completion/completions/docket")
  expect_eq "completes 'ca' and 'case tr'" "case triage " "$got"
fi
finish
