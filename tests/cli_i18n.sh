#!/usr/bin/env bash
# The interface language: the locale selects Chinese, --lang overrides it,
# the C locale stays English; it works on a machine with no zh_CN locale
# generated. Tables align by display width and cut text on characters.
. "$(dirname "$0")/lib/harness.sh"
D="$WORK/lanxin"
dk() { "$DOCKET" --dir "$D" "$@"; }
unset LANGUAGE LC_ALL LC_MESSAGES

LANG=zh_CN.UTF-8 dk case open --help >"$WORK/out" 2>&1
grep -q "用法" "$WORK/out" && grep -q "登记一件案件" "$WORK/out" && ok || bad "LANG=zh_CN: help not Chinese: $(head -c 200 "$WORK/out")"
LC_MESSAGES=zh_CN.UTF-8 LANG=C dk case --help >"$WORK/out" 2>&1
grep -q "登记案件" "$WORK/out" && ok || bad "LC_MESSAGES=zh_CN: not Chinese"
LC_ALL=C LANG=zh_CN.UTF-8 dk case --help >"$WORK/out" 2>&1
grep -q "open a case" "$WORK/out" && ok || bad "LC_ALL=C wins over LANG: not English"
LANG=C LANGUAGE=zh_CN dk case --help >"$WORK/out" 2>&1
grep -q "open a case" "$WORK/out" && ok || bad "C locale: not English"
LANG=zh_CN.UTF-8 dk --lang en case --help >"$WORK/out" 2>&1
grep -q "open a case" "$WORK/out" && ok || bad "--lang en does not override"
LANG=C dk case list --help --lang zh_CN >"$WORK/out" 2>&1
grep -q "列出案件" "$WORK/out" && ok || bad "--lang zh_CN after the command does not apply"
LANG=zh_CN.UTF-8 dk reprot >"$WORK/out" 2>"$WORK/err"
expect_eq "Chinese error: exit" 2 $?
grep -q "未知命令“reprot”；您是不是要输入“report”" "$WORK/err" && ok || bad "Chinese suggestion: $(cat "$WORK/err")"
LANG=zh_CN.UTF-8 dk id --json >"$WORK/out" 2>"$WORK/err"
expect_eq "JSON error code stays a code" ENOTINIT "$(json_get "['error']['code']" <"$WORK/err")"

check "init" dk init --office zhanhe/beidu/lanxin --role community --code LX
S="楼上卫生间漏水导致楼下天花板受损，双方多次协商未果，要求社区调解并尽快修复"
check "open (Chinese summary)" dk case open --kind dispute --category neighbour --summary "$S" --party 王芳 --party 李强
check "open (ASCII summary)" dk case open --kind consultation --summary "Wage arrears question"
LANG=zh_CN.UTF-8 dk case list >"$WORK/out" 2>&1
grep -q "矛盾纠纷" "$WORK/out" && grep -q "法律咨询" "$WORK/out" && ok || bad "kinds not in the offices' terms: $(cat "$WORK/out")"
grep -q "编号" "$WORK/out" && grep -q "事由" "$WORK/out" && ok || bad "headers not Chinese"
# valid UTF-8, and the summary column starts at the same display column on every line
python3 - "$WORK/out" <<'PY' && ok || bad "case list alignment: $(cat "$WORK/out")"
import sys, unicodedata
raw = open(sys.argv[1], 'rb').read()
text = raw.decode('utf-8')  # raises on a cut character
def width(s): return sum(2 if unicodedata.east_asian_width(c) in 'WF' else 1 for c in s)
lines = [l for l in text.splitlines() if l and not l.startswith('（')]
head, rows = lines[0], lines[1:]
col = width(head[:head.index('事由')])
for r in rows:
    for marker in ('楼上', 'Wage'):
        if marker in r:
            assert width(r[:r.index(marker)]) == col, (r, col)
            cut = r[r.index(marker):]
            assert width(cut) <= 40, cut
print('ok')
PY
LANG=C dk case list >"$WORK/out" 2>&1
python3 -c "open('$WORK/out','rb').read().decode('utf-8')" && ok || bad "C locale list is not valid UTF-8"
grep -q "dispute" "$WORK/out" && grep -q "NUMBER" "$WORK/out" && ok || bad "C locale list not English"
# case import speaks the interface language: its row errors, its summary
printf 'number,kind,opened,summary\nLX-2025-0101,dispute,2025-03-01,a\nLX-2025-0101,dispute,2025-03-02,b\n' >"$WORK/dup.csv"
LANG=C dk --lang zh_CN case import "$WORK/dup.csv" >"$WORK/out" 2>"$WORK/err"
expect_eq "Chinese import error: exit" 1 $?
grep -q "第 3 行：编号 LX-2025-0101 也出现在第 2 行" "$WORK/err" && ok || bad "import row error not Chinese: $(cat "$WORK/err")"
grep -q "2 行中有 1 行无效；未导入任何内容" "$WORK/err" && ok || bad "import summary not Chinese: $(cat "$WORK/err")"
grep -q "按 UTF-8 编码读取" "$WORK/err" && ok || bad "import encoding line not Chinese: $(cat "$WORK/err")"
printf 'number,kind,opened,summary\nLX-2025-0102,dispute,2025-03-01,\n' >"$WORK/nosummary.csv"
expect_fail "a ledger row's error in Chinese" 1 "第 2 行：事由为空" dk --lang zh_CN case import "$WORK/nosummary.csv"
printf 'PK\003\004garbage' >"$WORK/broken.xlsx"
expect_fail "a damaged workbook in Chinese" 1 "不是可读的 .xlsx 工作簿" dk --lang zh_CN case import "$WORK/broken.xlsx"
LANG=zh_CN.UTF-8 dk case import "$WORK/dup.csv" --json >"$WORK/out" 2>"$WORK/err"
expect_eq "Chinese import error under --json: exit" 1 $?
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$WORK/err" && ok || bad "import --json: stderr is not JSON: $(cat "$WORK/err")"
json_get "['error']['message']" <"$WORK/err" | grep -q "行无效" && ok || bad "import --json: message not Chinese: $(cat "$WORK/err")"
LANG=zh_CN.UTF-8 dk status >"$WORK/out" 2>&1
grep -q "^节点：" "$WORK/out" && grep -q "^数据库：" "$WORK/out" && ok || bad "status not Chinese: $(cat "$WORK/out")"
LANG=C dk backup --lang zh_CN >"$WORK/out" 2>"$WORK/err"
grep -q "必须给出 --out\|--out" "$WORK/err" && grep -q "用法" "$WORK/err" && ok || bad "backup usage error not Chinese: $(cat "$WORK/err")"
LANG=zh_CN.UTF-8 dk status --bogus >"$WORK/out" 2>"$WORK/err"
grep -q "'docket status' 没有选项“--bogus”" "$WORK/err" && ok || bad "unknown option in Chinese names the command and the option in their places: $(cat "$WORK/err")"
expect_fail "a language docket has no words for" 2 "--lang is zh_CN or en, not 'fr'" dk --lang fr id
expect_fail "... after the command too" 2 "--lang is zh_CN or en, not 'fr'" dk id --lang fr
LANG=zh_CN.UTF-8 dk case show LX-2026-0001 >"$WORK/out" 2>&1 || true
N=$(dk case list --kind dispute --json | json_get "[0]['number']")
LANG=zh_CN.UTF-8 dk case show "$N" >"$WORK/out" 2>&1
grep -q "当事人：  王芳, 李强" "$WORK/out" && grep -q "已登记" "$WORK/out" && ok || bad "case show in Chinese: $(cat "$WORK/out")"
# The history's details in Chinese too: triage class, assignee's role, the
# session's minutes, the return visit; --json keeps the codes.
check "triage" dk case triage "$N" --class joint
check "assign" dk case assign "$N" --role mediator --to "孙华"
check "session" dk case session "$N" --note "现场调解" --minutes 45 --by "孙华"
LANG=zh_CN.UTF-8 dk case show "$N" >"$WORK/out" 2>&1
grep -q "分诊类别：会诊" "$WORK/out" && grep -q "孙华 任人民调解员" "$WORK/out" && grep -q "45 分钟：现场调解" "$WORK/out" && ok || bad "case history details in Chinese: $(cat "$WORK/out")"
LANG=zh_CN.UTF-8 dk case show "$N" --json >"$WORK/out" 2>&1
grep -q '"class joint"' "$WORK/out" && grep -q '"孙华 as mediator"' "$WORK/out" && ok || bad "case show --json keeps the codes: $(head -c 600 "$WORK/out")"
finish
