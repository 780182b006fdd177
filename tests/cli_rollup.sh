#!/usr/bin/env bash
# Roll-up along the hierarchy with real nodes: a district, two streets and
# three communities, each community importing its own ledger, then syncing
# up. At the district, `report --by street` and `--by community` must give
# each community the figures it reports on its own, each street the sum of
# its communities (and the subtotal under --by community the same), each
# street's subtotal with its communities below it in the table, and every
# office with its latest entry and last sync (freshness).
#
# Replication is made deterministic: one node serves while the ones below
# it run one-shot syncs with it (`docket sync`), and every sync has finished
# when its command returns; nothing polls for an entry to arrive.
. "$(dirname "$0")/lib/harness.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
BASE=$(base_port 3) || { echo "no free ports" >&2; exit 1; }
trap 'if main_shell; then stop_all; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; fi 2>/dev/null' EXIT
dk() { local d=$1; shift; "$DOCKET" --dir "$WORK/$d" "$@"; }
key() { dk "$1" id --json | json_get "['key']"; }
serve() { serve_node "$@" || bad "serve $1 did not start"; }
# sync_up NAME: one-shot syncs with NAME's one pinned peer until a round
# moves nothing (forwarding settles in a few rounds); at most 6 rounds.
sync_up() {
  local i
  for i in 1 2 3 4 5 6; do
    dk "$1" sync --json >"$WORK/sync.out" 2>"$WORK/sync.err" || { bad "$1 sync: $(cat "$WORK/sync.err")"; return; }
    [ "$(json_get "['idle']" <"$WORK/sync.out")" = True ] && { ok; return; }
  done
  bad "$1: no idle sync after 6 rounds: $(cat "$WORK/sync.out")"
}

# --- the offices: zhanhe (district); beidu (street) with lanxin and xinhe;
# nanwan (street) with hepan
check "init district" dk zhanhe init --office zhanhe --role district --code ZH --listen 127.0.0.1:$BASE
dk zhanhe network-key >"$WORK/net.key"
check "init beidu" dk beidu init --office zhanhe/beidu --role street --code BD --listen 127.0.0.1:$((BASE + 1)) --network-key-file "$WORK/net.key"
check "init nanwan" dk nanwan init --office zhanhe/nanwan --role street --code NW --listen 127.0.0.1:$((BASE + 2)) --network-key-file "$WORK/net.key"
check "init lanxin" dk lanxin init --office zhanhe/beidu/lanxin --role community --code LX --network-key-file "$WORK/net.key"
check "init xinhe" dk xinhe init --office zhanhe/beidu/xinhe --role community --code XH --network-key-file "$WORK/net.key"
check "init hepan" dk hepan init --office zhanhe/nanwan/hepan --role community --code HP --network-key-file "$WORK/net.key"
ZH=$(key zhanhe); BD=$(key beidu); NW=$(key nanwan); LX=$(key lanxin); XH=$(key xinhe); HP=$(key hepan)
check "pin" dk zhanhe peer add --name beidu --key "$BD" --office zhanhe/beidu --role street
check "pin" dk zhanhe peer add --name nanwan --key "$NW" --office zhanhe/nanwan --role street
check "pin" dk beidu peer add --name zhanhe --key "$ZH" --office zhanhe --role district --addr 127.0.0.1:$BASE
check "pin" dk nanwan peer add --name zhanhe --key "$ZH" --office zhanhe --role district --addr 127.0.0.1:$BASE
check "pin" dk beidu peer add --name lanxin --key "$LX" --office zhanhe/beidu/lanxin --role community
check "pin" dk beidu peer add --name xinhe --key "$XH" --office zhanhe/beidu/xinhe --role community
check "pin" dk nanwan peer add --name hepan --key "$HP" --office zhanhe/nanwan/hepan --role community
check "pin" dk lanxin peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$((BASE + 1))
check "pin" dk xinhe peer add --name beidu --key "$BD" --office zhanhe/beidu --role street --addr 127.0.0.1:$((BASE + 1))
check "pin" dk hepan peer add --name nanwan --key "$NW" --office zhanhe/nanwan --role street --addr 127.0.0.1:$((BASE + 2))

# --- each community imports its own ledger, offline
H=number,kind,category,opened,summary,parties,class,triaged,mediator,advisor,sessions,minutes,escalated,outcome,outcome_date,agreement,reason,refer,items,closed,revisit,satisfaction,note
cat >"$WORK/xinhe.csv" <<EOF
$H
XH-2025-0001,dispute,neighbour,2025-02-03,楼上漏水,王芳; 李强,clinic,2025-02-03,赵敏,,2,60,,agreed,2025-02-10,签订调解协议,,,,2025-02-11,2025-02-20,5,
XH-2025-0002,dispute,labour,2025-02-14,拖欠工资,陈丽; 刘伟,emergency,2025-02-14,赵敏,高律师,1,45,,agreed,2025-02-16,签订调解协议,,,,2025-02-17,,,
XH-2025-0003,dispute,family,2025-03-02,赡养老人,孙华; 周敏,joint,2025-03-02,钱军,高律师,3,150,,failed,2025-03-20,,一方拒绝调解,litigation,,2025-03-21,2025-04-02,3,
XH-2025-0004,dispute,traffic,2025-04-08,电动车相撞,吴华; 朱娜,clinic,2025-04-08,钱军,,1,30,,agreed,2025-04-09,当场和解,,,,2025-04-09,,,
XH-2025-0005,consultation,labour,2025-04-10,咨询劳动合同,郑丽,,,,,,,,,,,,,,2025-04-10,,,
XH-2025-0006,consultation,family,2025-04-11,咨询离婚财产,冯刚,,,,,,,,,,,,,,2025-04-11,,,
XH-2025-0007,advice,,2025-04-15,审查物业合同,,,,,,,,,,,,,,,,,,
EOF
cat >"$WORK/hepan.csv" <<EOF
$H
HP-2025-0001,dispute,neighbour,2025-01-09,噪音扰民,黄磊; 何静,clinic,2025-01-09,马琳,,1,40,,agreed,2025-01-12,签订调解协议,,,,2025-01-12,2025-01-25,4,
HP-2025-0002,dispute,property,2025-01-20,物业费纠纷,林云; 杨静,joint,2025-01-21,马琳,李律师,4,200,,failed,2025-02-18,,物业公司不同意,arbitration,,2025-02-19,,,
HP-2025-0003,dispute,labour,2025-02-02,工伤赔偿,徐霞; 赵平,emergency,2025-02-02,马琳,李律师,2,90,,failed,2025-02-09,,对方拒绝赔偿,legal-aid,,2025-02-10,,,
HP-2025-0004,dispute,neighbour,2025-03-05,占用楼道,郭丽; 王强,clinic,2025-03-05,邓超,,1,20,,agreed,2025-03-06,当场和解,,,,2025-03-06,,,
HP-2025-0005,dispute,family,2025-05-06,婚姻家庭矛盾,罗刚; 赵君,clinic,2025-05-06,邓超,,,,,,,,,,,,,,
HP-2025-0006,meeting,,2025-05-20,居民议事会,,,,,,,,,agreed,2025-05-20,议定三项,,,3,2025-05-20,,,
EOF
check "lanxin imports its ledger" dk lanxin case import "$SRC/examples/lanxin-ledger-2025.csv" --json
LXN=$(json_get "['imported']" <"$WORK/out")
check "xinhe imports its ledger" dk xinhe case import "$WORK/xinhe.csv" --json
expect_eq "xinhe: every row" 7 "$(json_get "['imported']" <"$WORK/out")"
check "hepan imports its ledger" dk hepan case import "$WORK/hepan.csv" --json
expect_eq "hepan: every row" 6 "$(json_get "['imported']" <"$WORK/out")"
# --- up the hierarchy. The streets first meet the district, so that the
# communities learn of it through their street and grant it their cases'
# keys (TRUST.md, Readers); then the communities sync with their serving
# streets; then the streets pass it all on to the serving district.
serve zhanhe
sync_up beidu; sync_up nanwan
stop_clean zhanhe
serve beidu; serve nanwan
sync_up lanxin; sync_up xinhe; sync_up hepan
stop_clean beidu; stop_clean nanwan
serve zhanhe
sync_up beidu; sync_up nanwan
stop_clean zhanhe
# what each community reports on its own
for c in lanxin xinhe hepan; do
  dk "$c" report --json >"$WORK/own-$c.json" 2>"$WORK/err" || bad "$c report: $(cat "$WORK/err")"
done
expect_eq "the district holds every case" "$((LXN + 13))" "$(dk zhanhe id --json | json_get "['cases']")"

# --- the figures at the district
check "district --by community" dk zhanhe report --by community --json
cp "$WORK/out" "$WORK/by-community.json"
check "district --by street" dk zhanhe report --by street --json
cp "$WORK/out" "$WORK/by-street.json"
python3 - "$WORK" <<'PY' && ok || bad "roll-up figures (above)"
import json, sys
w = sys.argv[1]
own = {c: json.load(open(f"{w}/own-{c}.json")) for c in ("lanxin", "xinhe", "hepan")}
bc = json.load(open(f"{w}/by-community.json"))
bs = json.load(open(f"{w}/by-street.json"))
office = {"lanxin": "zhanhe/beidu/lanxin", "xinhe": "zhanhe/beidu/xinhe", "hepan": "zhanhe/nanwan/hepan"}
streets = {"zhanhe/beidu": ["lanxin", "xinhe"], "zhanhe/nanwan": ["hepan"]}
# counts that add up along the hierarchy, and the ones that do not
ADD = ["disputes_mediated", "agreed", "failed", "return_visits", "major_disputes_closed",
       "major_disputes_revisited", "consultations", "advice", "meetings",
       "meeting_items_decided", "overdue", "escalated", "erased"]
SAME = ADD + ["success_rate", "major_revisit_rate", "median_days_to_close",
              "mean_satisfaction", "referrals", "by_class", "last_entry"]
errors = []
def expect(what, want, got):
    if want != got:
        errors.append(f"{what}: wanted {want!r}, got {got!r}")
rows = {g["group"]: g for g in bc["groups"]}
expect("communities at the district", sorted(office.values()), sorted(rows))
# each community: the district's figures are the community's own
for c, o in office.items():
    for k in SAME:
        expect(f"{o} {k}", own[c]["total"][k], rows[o][k])
    # freshness: its latest entry, and when the district last heard from it
    if rows[o]["last_entry"] is None:
        errors.append(f"{o}: no latest entry")
    if rows[o]["last_sync"] is None:
        errors.append(f"{o}: no last sync")
# each street: the sum of its communities, under --by street and as the
# subtotal under --by community
subs = {g["group"]: g for g in bc["street_subtotals"] or []}
srows = {g["group"]: g for g in bs["groups"]}
expect("streets under --by street", sorted(streets), sorted(srows))
expect("street subtotals under --by community", sorted(streets), sorted(subs))
for s, cs in streets.items():
    for k in ADD:
        want = sum(own[c]["total"][k] for c in cs)
        expect(f"{s} --by street {k}", want, srows[s][k])
        expect(f"{s} subtotal {k}", want, subs[s][k])
    for r in own[cs[0]]["total"]["referrals"]:
        want = sum(own[c]["total"]["referrals"][r] for c in cs)
        expect(f"{s} referrals {r}", want, srows[s]["referrals"][r])
        expect(f"{s} subtotal referrals {r}", want, subs[s]["referrals"][r])
    for cl, v in own[cs[0]]["total"]["by_class"].items():
        for f in v:
            want = sum(own[c]["total"]["by_class"][cl][f] for c in cs)
            expect(f"{s} {cl} {f}", want, srows[s]["by_class"][cl][f])
    mediated = sum(own[c]["total"]["disputes_mediated"] for c in cs)
    agreed = sum(own[c]["total"]["agreed"] for c in cs)
    expect(f"{s} success rate", round(agreed / mediated, 9), round(srows[s]["success_rate"], 9))
    expect(f"{s} subtotal success rate", round(agreed / mediated, 9), round(subs[s]["success_rate"], 9))
    expect(f"{s} latest entry", max(own[c]["total"]["last_entry"] for c in cs), srows[s]["last_entry"])
    if srows[s]["last_sync"] is None:
        errors.append(f"{s}: no last sync")
# the district's total is everything
for k in ADD:
    want = sum(own[c]["total"][k] for c in office)
    expect(f"district total {k}", want, bc["total"][k])
    expect(f"district total {k} (--by street)", want, bs["total"][k])
# the ledgers are not all alike: a sum that hides a community would show
assert own["hepan"]["total"]["agreed"] != own["xinhe"]["total"]["agreed"]
assert own["hepan"]["total"]["meetings"] == 1 and own["hepan"]["total"]["meeting_items_decided"] == 3
for e in errors:
    print(e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY

# --- the table a person reads: each street's subtotal, its communities
# below it, then the next street; and the freshness of every office
check "district table --by community" dk zhanhe --lang en report --by community
python3 - "$WORK/out" <<'PY' && ok || bad "table order: $(cat "$WORK/out")"
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
def at(prefix, start=0):
    for i in range(start, len(lines)):
        if lines[i].lstrip().startswith(prefix):
            return i
    raise SystemExit(f"no line for {prefix!r} after line {start}")
beidu = at("zhanhe/beidu ")
lanxin = at("zhanhe/beidu/lanxin", beidu)
xinhe = at("zhanhe/beidu/xinhe", beidu)
nanwan = at("zhanhe/nanwan ")
hepan = at("zhanhe/nanwan/hepan", nanwan)
assert beidu < lanxin < nanwan and beidu < xinhe < nanwan < hepan, (beidu, lanxin, xinhe, nanwan, hepan)
fresh = at("Freshness")
for o in ("zhanhe/beidu/lanxin", "zhanhe/beidu/xinhe", "zhanhe/nanwan/hepan"):
    i = at(o, fresh)
    assert "latest entry 20" in lines[i] and "last sync never" not in lines[i], lines[i]
print("ok")
PY
check "district freshness --by street" dk zhanhe --lang en report --by street
for s in zhanhe/beidu zhanhe/nanwan; do
  sed -n '/Freshness/,$p' "$WORK/out" | grep -q "^  $s .*latest entry 20.*last sync 20" && ok ||
    bad "freshness of $s: $(sed -n '/Freshness/,$p' "$WORK/out")"
done
finish
