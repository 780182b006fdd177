#!/usr/bin/env bash
# Loads the example ledger and checks the report against figures computed
# independently from the CSV itself; also checks import idempotence and the
# refusal of a malformed ledger.
. "$(dirname "$0")/lib/harness.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
LEDGER="$SRC/examples/lanxin-ledger-2025.csv"
D="$WORK/lanxin"
dk() { "$DOCKET" --dir "$D" "$@"; }
check "init" dk init --office zhanhe/beidu/lanxin --role community --code LX

# --- a malformed ledger writes nothing and names its lines
cat >"$WORK/bad.csv" <<'CSV'
number,kind,opened,summary,outcome,closed
LX-2024-0001,dispute,2024-03-01,Fence between two yards,agreed,2024-03-09
LX-2024-0002,dispute,2024-13-01,Bad month,,
LX-2024-0003,quarrel,2024-03-05,Unknown kind,,
LX-2024-0004,dispute,2024-03-06,Closed without outcome,,2024-03-10
"LX-2024-0005",dispute,2024-03-07,"A quoted, comma summary",failed,2024-03-20
CSV
expect_fail "bad rows named" 1 "line 3: opened" dk case import "$WORK/bad.csv"
grep -q "line 4: unknown kind" "$WORK/err" && ok || bad "line 4 named: $(cat "$WORK/err")"
grep -q "line 5: these steps" "$WORK/err" && ok || bad "line 5 named: $(cat "$WORK/err")"
grep -q "nothing was imported" "$WORK/err" && ok || bad "says nothing imported"
check "nothing written" dk id --json
expect_eq "no cases after a bad ledger" "0" "$(json_get "['cases']" <"$WORK/out")"
printf 'kind,opened,summry\n' >"$WORK/badhdr.csv"
expect_fail "unknown column" 1 "unknown column 'summry'" dk case import "$WORK/badhdr.csv"
expect_fail "missing file" 1 "cannot open" dk case import "$WORK/none.csv"
printf 'kind,opened,summary\ndispute,2024-01-01,"unclosed\n' >"$WORK/quote.csv"
expect_fail "unclosed quote" 1 "error" dk case import "$WORK/quote.csv"

# --- the example ledger
check "import" dk case import "$LEDGER" --json
ROWS=$(python3 -c 'import csv,sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1]))))' "$LEDGER")
expect_eq "all rows imported" "$ROWS" "$(json_get "['imported']" <"$WORK/out")"
check "import again" dk case import "$LEDGER" --json
expect_eq "second import skips all" "$ROWS" "$(json_get "['skipped']" <"$WORK/out")"
expect_eq "second import adds none" "0" "$(json_get "['imported']" <"$WORK/out")"

check "report" dk report --from 2025-01-01 --to 2025-12-31 --json
cp "$WORK/out" "$WORK/report.json"
python3 - "$LEDGER" "$WORK/report.json" <<'PY' >"$WORK/cmp" 2>&1
import csv, json, sys, statistics, datetime
rows = list(csv.DictReader(open(sys.argv[1])))
rep = json.load(open(sys.argv[2]))["total"]
d = [r for r in rows if r["kind"] == "dispute"]
want = {
  "opened": len(rows),
  "closed": sum(1 for r in rows if r["closed"]),
  "disputes_mediated": sum(1 for r in d if r["outcome"]),
  "agreed": sum(1 for r in d if r["outcome"] == "agreed"),
  "failed": sum(1 for r in d if r["outcome"] == "failed"),
  "return_visits": sum(1 for r in rows if r["revisit"]),
  "consultations": sum(1 for r in rows if r["kind"] == "consultation"),
  "meetings": sum(1 for r in rows if r["kind"] == "meeting"),
  "meeting_items_decided": sum(int(r["items"] or 0) for r in rows if r["kind"] == "meeting"),
  "major_disputes_closed": sum(1 for r in d if r["class"] == "joint" and r["closed"]),
  "major_disputes_revisited": sum(1 for r in d if r["class"] == "joint" and r["closed"] and r["revisit"]),
}
day = lambda s: datetime.date.fromisoformat(s)
want["median_days_to_close"] = statistics.median((day(r["closed"]) - day(r["opened"])).days for r in rows if r["closed"])
sats = [int(r["satisfaction"]) for r in rows if r["revisit"]]
want["mean_satisfaction"] = sum(sats) / len(sats)
want["success_rate"] = want["agreed"] / want["disputes_mediated"]
bad = 0
for k, v in want.items():
    got = rep[k]
    if (abs(got - v) > 1e-9) if isinstance(v, float) else got != v:
        print(f"{k}: docket says {got}, ledger says {v}"); bad += 1
legal_aid = sum(1 for r in d if r["outcome"] == "failed" and r["refer"] == "legal-aid")
if rep["referrals"]["legal-aid"] != legal_aid:
    print("legal-aid referrals differ"); bad += 1
print("mismatches", bad)
sys.exit(1 if bad else 0)
PY
if [ $? -eq 0 ]; then ok; else bad "report differs from the ledger: $(cat "$WORK/cmp")"; fi

# Hazards opened in November 2025 with emergency class (3 days) are overdue now.
expect_eq "overdue hazards" "2" "$(json_get "['total']['overdue']" <"$WORK/report.json")"
check "list overdue" dk case list --overdue --json
expect_eq "two overdue cases listed" "2" "$(json_get ".__len__()" <"$WORK/out")"

# --- an empty period has no rates rather than zero rates
check "empty period" dk report --from 2019-01-01 --to 2019-12-31 --json
expect_eq "no success rate in an empty period" "None" "$(json_get "['total']['success_rate']" <"$WORK/out")"

# --- grouping and CSV
check "by kind" dk report --by kind --json
expect_eq "four kinds" "4" "$(json_get "['groups'].__len__()" <"$WORK/out")"
check "csv" dk report --by category --csv
head -1 "$WORK/out" | grep -q "^group,opened,closed" && ok || bad "csv header"
tail -1 "$WORK/out" | grep -q "^total," && ok || bad "csv total row"
expect_fail "bad --by" 2 "--by takes" dk report --by weather
expect_fail "bad date" 2 "not a date" dk report --from yesterday
expect_fail "reversed period" 2 "before --from" dk report --from 2025-02-01 --to 2025-01-01
check "text report" dk report --by kind
grep -q "success rate" "$WORK/out" && ok || bad "text report has the success rate"

check "verify after import" dk verify
finish
