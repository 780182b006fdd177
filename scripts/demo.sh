#!/bin/sh
# The main job, on loopback: a district, a street and two community offices,
# enrolled under the district's root key, and an auditor.
# Cases are recorded while the communities are offline, links come up, the
# logs replicate community -> street -> district, the district reports over
# both communities and verifies everything it holds, and the auditor checks
# one case's signed history offline, certificates included.
set -eu
DOCKET=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SRC=$(cd "$(dirname "$0")/.." && pwd)
DEMO=${DOCKET_DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/docket-demo.XXXXXX")}
BASE=${DOCKET_DEMO_PORT:-$((20000 + $$ % 20000))}
export DOCKET_PASSPHRASE="demo passphrase"
export DOCKET_ROOT_PASSPHRASE="demo root passphrase"
unset DOCKET_DIR DOCKET_PASSPHRASE_FILE DOCKET_ROOT_PASSPHRASE_FILE DOCKET_AUDITOR_KEY_FILE
PIDS=""
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Echoes the command with its quoting, so that it can be copied and run.
quote() {
  for a in "$@"; do
    case $a in
    *[!A-Za-z0-9_./:=@%+,-]* | '') printf " '%s'" "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")" ;;
    *) printf ' %s' "$a" ;;
    esac
  done
}
run() { printf '$ docket%s\n' "$(quote "$@")"; "$DOCKET" "$@"; }
key_of() { "$DOCKET" --dir "$1" id --json | sed -n 's/.*"key": "\([0-9a-f]*\)".*/\1/p'; }
# wait_until SECONDS WHAT COMMAND...: polls COMMAND until it succeeds, and
# stops the demo saying what never happened if it does not in time.
wait_until() {
  limit=$1; what=$2; shift 2
  end=$(($(date +%s) + limit))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$end" ]; then
      echo "demo: gave up waiting for $what (serve logs: $DEMO/*.log)" >&2
      exit 1
    fi
    sleep 0.2
  done
}
statements_at_least() { # DIR N: the node holds at least N root statements
  [ "$("$DOCKET" --dir "$1" cert list --json | grep -c '"kind"')" -ge "$2" ]
}
case_reads() { # DIR CASE TEXT: the node can read CASE and it shows TEXT
  "$DOCKET" --dir "$1" case show "$2" --json | grep -q "$3"
}
district_cases() {
  "$DOCKET" --dir "$DEMO/zhanhe" report --json | sed -n 's/^  "cases": \([0-9]*\).*/\1/p'
}
district_has_cases() { [ "$(district_cases)" = "$1" ]; }

say "The district creates the deployment's root key (kept offline in real life)"
run cert init-root --out "$DEMO/root.key" --json >"$DEMO/root.out"
cat "$DEMO/root.out"
ROOT=$(sed -n 's/.*"root": "\([0-9a-f]*\)".*/\1/p' "$DEMO/root.out")

say "Five offices set up their nodes, each trusting that root (work in $DEMO)"
run --dir "$DEMO/zhanhe" init --office zhanhe --role district --code ZH --listen "127.0.0.1:$BASE" \
  --root-pk "$ROOT"
"$DOCKET" --dir "$DEMO/zhanhe" network-key >"$DEMO/network.key"
chmod 600 "$DEMO/network.key"
run --dir "$DEMO/beidu" init --office zhanhe/beidu --role street --code BD \
  --listen "127.0.0.1:$((BASE + 1))" --network-key-file "$DEMO/network.key" --root-pk "$ROOT"
run --dir "$DEMO/lanxin" init --office zhanhe/beidu/lanxin --role community --code LX \
  --network-key-file "$DEMO/network.key" --root-pk "$ROOT"
run --dir "$DEMO/xinhe" init --office zhanhe/beidu/xinhe --role community --code XH \
  --network-key-file "$DEMO/network.key" --root-pk "$ROOT"
run --dir "$DEMO/auditor" init --office zhanhe/audit --role auditor --root-pk "$ROOT"
ZH=$(key_of "$DEMO/zhanhe"); BD=$(key_of "$DEMO/beidu")
LX=$(key_of "$DEMO/lanxin"); XH=$(key_of "$DEMO/xinhe"); AU=$(key_of "$DEMO/auditor")

say "Enrolment: the district certifies each office's key and grants the auditor the street's subtree"
run --dir "$DEMO/zhanhe" cert issue --root-key "$DEMO/root.key" --key "$ZH" --office zhanhe --role district
# Each office's init wrote a signed enrolment request; the district certifies it.
run --dir "$DEMO/zhanhe" cert issue --root-key "$DEMO/root.key" --request "$DEMO/beidu/enrolment-request"
run --dir "$DEMO/zhanhe" cert issue --root-key "$DEMO/root.key" --request "$DEMO/lanxin/enrolment-request"
run --dir "$DEMO/zhanhe" cert issue --root-key "$DEMO/root.key" --request "$DEMO/xinhe/enrolment-request"
run --dir "$DEMO/zhanhe" cert issue --root-key "$DEMO/root.key" --key "$AU" --office zhanhe/audit --role auditor
run --dir "$DEMO/zhanhe" cert grant-auditor --root-key "$DEMO/root.key" --key "$AU" --subtree zhanhe/beidu
run --dir "$DEMO/zhanhe" cert list

say "Each office pins the offices it replicates with"
run --dir "$DEMO/zhanhe" peer add --name beidu --key "$BD" --office zhanhe/beidu --role street
run --dir "$DEMO/beidu" peer add --name zhanhe --key "$ZH" --office zhanhe --role district --addr "127.0.0.1:$BASE"
run --dir "$DEMO/beidu" peer add --name lanxin --key "$LX" --office zhanhe/beidu/lanxin --role community
run --dir "$DEMO/beidu" peer add --name xinhe --key "$XH" --office zhanhe/beidu/xinhe --role community
run --dir "$DEMO/lanxin" peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr "127.0.0.1:$((BASE + 1))"
run --dir "$DEMO/xinhe" peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr "127.0.0.1:$((BASE + 1))"

say "Offline: Lanxin loads last year's ledger (台账) from its spreadsheet"
run --dir "$DEMO/lanxin" case import "$SRC/examples/lanxin-ledger-2025.csv"

say "Offline: Xinhe takes in a neighbour dispute and works it through the day"
N=$("$DOCKET" --dir "$DEMO/xinhe" case open --kind dispute --category neighbour \
  --summary "502室卫生间漏水渗到402室天花板" --party "王芳" --party "李军" --json |
  sed -n 's/.*"number": "\([^"]*\)".*/\1/p')
echo "opened $N"
run --dir "$DEMO/xinhe" case triage "$N" --class clinic --by "周敏"
run --dir "$DEMO/xinhe" case assign "$N" --to "陈刚" --role mediator
run --dir "$DEMO/xinhe" case session "$N" --note "双方到现场查看，请来水电工" --minutes 50 --by "陈刚"
run --dir "$DEMO/xinhe" case resolve "$N" --agreement "502室承担维修费用，402室自行粉刷" --by "陈刚"
run --dir "$DEMO/xinhe" case close "$N"
run --dir "$DEMO/xinhe" case revisit "$N" --satisfaction 5 --note "天花板已干，双方满意" --by "陈刚"
echo "A step that cannot happen is refused, and nothing is written:"
"$DOCKET" --dir "$DEMO/xinhe" case resolve "$N" --agreement "再次调成" || true
M=$("$DOCKET" --dir "$DEMO/xinhe" case open --kind dispute --category labour \
  --summary "装修公司拖欠十一名工人工资" --party "高辉" --json |
  sed -n 's/.*"number": "\([^"]*\)".*/\1/p')
run --dir "$DEMO/xinhe" case triage "$M" --class joint --by "周敏"
run --dir "$DEMO/xinhe" case escalate "$M" --level street --note "装修公司注册在外区"
run --dir "$DEMO/xinhe" case list

say "Links come up: the district and the street start serving"
"$DOCKET" --dir "$DEMO/zhanhe" serve >"$DEMO/zhanhe.log" 2>&1 & PIDS="$PIDS $!"
"$DOCKET" --dir "$DEMO/beidu" serve >"$DEMO/beidu.log" 2>&1 & PIDS="$PIDS $!"
# The street dials the district; it serves the communities once it holds
# their certificates (six statements in the district's log).
wait_until 30 "the street to receive the certificates" statements_at_least "$DEMO/beidu" 6
run --dir "$DEMO/lanxin" sync
run --dir "$DEMO/xinhe" sync
# The certificates reached Xinhe in that sync, so it now gives its cases'
# keys to the street, the district and the auditor; the next sync takes
# those grants up.
sync_until_street_reads() {
  "$DOCKET" --dir "$DEMO/xinhe" sync >/dev/null 2>&1 && case_reads "$DEMO/beidu" "$M" "十一名工人"
}
wait_until 30 "the street to read $M" sync_until_street_reads

say "The street works on the escalated case; Xinhe sees it at its next sync"
run --dir "$DEMO/beidu" case session "$M" --note "街道人民调解员约谈装修公司" --minutes 90 --by "孙华"
run --dir "$DEMO/xinhe" sync
run --dir "$DEMO/xinhe" case show "$M"

say "Live: with Lanxin serving too, a new case reaches the district within seconds"
"$DOCKET" --dir "$DEMO/lanxin" serve >"$DEMO/lanxin.log" 2>&1 & PIDS="$PIDS $!"
run --dir "$DEMO/lanxin" case open --kind consultation --category family --summary "咨询子女抚养费问题"
wait_until 60 "the district to read all 79 cases" district_has_cases 79
echo "the district now holds $(district_cases) cases"

say "Offline bundle: Xinhe's link is down again; a USB stick carries its work"
run --dir "$DEMO/xinhe" case note "$M" --text "工人名单已移交劳动监察部门"
run --dir "$DEMO/xinhe" export --peer beidu --out "$DEMO/xinhe-to-beidu.bundle"
run --dir "$DEMO/beidu" import "$DEMO/xinhe-to-beidu.bundle"
wait_until 30 "the note to reach the district" case_reads "$DEMO/zhanhe" "$M" "劳动监察"

say "The district's report over all its communities"
run --dir "$DEMO/zhanhe" report --by office
say "The district verifies every entry it holds"
run --dir "$DEMO/zhanhe" verify

say "The district audits Xinhe's dispute and writes a bundle for the auditor"
run --dir "$DEMO/zhanhe" audit "$N"
run --dir "$DEMO/zhanhe" audit "$N" --bundle "$DEMO/auditor/$N.audit" --for "$AU" >/dev/null
echo "bundle written: $DEMO/auditor/$N.audit"

say "The auditor verifies it offline: no node, no network, only the bundle and its own key"
(cd "$DEMO/auditor" && run audit verify "$N.audit" --key-dir .)
say "Done. The nodes are in $DEMO (serve logs: $DEMO/*.log)."
