#!/bin/sh
# The flip experiment: single-byte flips into copies of a store, each
# checked against what the undamaged store shows (docs/testing.md).
#
#   sh scripts/flip.sh path/to/docket [FLIPS [SEED]]
#
# A store is made from the example ledger. Each run flips one byte, at an
# offset drawn from a seeded generator (the same seed flips the same bytes),
# in a fresh copy of its data.mdb, then runs `verify`. When verify reports
# damage (exit 1), the flip is "detected"; the read commands must still not
# die by a signal. When verify says OK, `case list --json`, `case show
# --json` of every case and `report --json` must print what the undamaged
# copy prints: the flip was "harmless"; any difference is a "false OK".
# Any exit by a signal (128 and above) or a hang is a "crash".
# Prints the four counts and exits 1 on any false OK or crash.
set -eu
DOCKET=${1:?usage: $0 path/to/docket [FLIPS [SEED]]}
FLIPS=${2:-100}
SEED=${3:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/docket-flip.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
export TZ=UTC DOCKET_PASSPHRASE="flip passphrase"
unset DOCKET_PASSPHRASE_FILE DOCKET_DIR
"$DOCKET" --dir "$WORK/pristine" init --office zhanhe/beidu/lanxin --role community --code LX >/dev/null
"$DOCKET" --dir "$WORK/pristine" case import "$HERE/../examples/lanxin-ledger-2025.csv" >/dev/null 2>&1
rc=0
python3 - "$DOCKET" "$WORK" "$FLIPS" "$SEED" <<'PY' || rc=$?
import json, os, random, shutil, subprocess, sys

docket, work, flips, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
pristine = os.path.join(work, "pristine")


def run(d, *args):
    try:
        r = subprocess.run([docket, "--dir", d] + list(args), capture_output=True, timeout=120)
        return r.returncode, r.stdout
    except subprocess.TimeoutExpired:
        return "hang", b""


rc, out = run(pristine, "--json", "case", "list")
assert rc == 0, "the pristine store does not list its cases"
numbers = sorted(c["number"] for c in json.loads(out))
reads = [("--json", "case", "list"), ("--json", "report")] + \
        [("--json", "case", "show", n) for n in numbers]
want = {}
for args in reads:
    rc, out = run(pristine, *args)
    assert rc == 0, "pristine: %s exits %s" % (" ".join(args), rc)
    want[args] = out
rc, _ = run(pristine, "verify")
assert rc == 0, "the pristine store does not verify"

size = os.path.getsize(os.path.join(pristine, "data.mdb"))
rng = random.Random(seed)
counts = {"harmless": 0, "detected": 0, "false OK": 0, "crash": 0}
d = os.path.join(work, "copy")
for i in range(flips):
    off, bit = rng.randrange(size), 1 << rng.randrange(8)
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(pristine, d)
    with open(os.path.join(d, "data.mdb"), "r+b") as f:
        f.seek(off)
        b = f.read(1)[0]
        f.seek(off)
        f.write(bytes([b ^ bit]))
    vrc, _ = run(d, "verify")
    crashed = vrc == "hang" or vrc >= 128
    if crashed:
        verdict = "crash"
    elif vrc != 0:
        verdict = "detected"
        # detected: the read commands may refuse, never die
        for args in reads[:3]:
            rc, _ = run(d, *args)
            if rc == "hang" or rc >= 128:
                verdict = "crash"
                break
    else:
        verdict = "harmless"
        for args in reads:
            rc, out = run(d, *args)
            if rc == "hang" or rc >= 128:
                verdict = "crash"
                break
            if rc != 0 or out != want[args]:
                verdict = "false OK"
                break
    counts[verdict] += 1
    if verdict in ("crash", "false OK"):
        print("flip %d: offset %d (page %d, byte %d) bit %d: %s (verify %s)"
              % (i, off, off // 4096, off % 4096, bit, verdict, vrc), flush=True)
print("%d flips, seed %d: %d undetected and harmless, %d detected, %d false OK, %d crashes"
      % (flips, seed, counts["harmless"], counts["detected"], counts["false OK"], counts["crash"]))
sys.exit(1 if counts["false OK"] or counts["crash"] else 0)
PY
exit $rc
