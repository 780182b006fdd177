#!/usr/bin/env bash
# Ledger import as offices have them (docs/ledger-import.md): input that
# must never corrupt a record (long numbers, duplicate numbers, NUL bytes,
# text that is not UTF-8, control characters), the encodings Excel writes,
# Chinese headers and values, templates, XLSX, and export → import round
# trips.
. "$(dirname "$0")/lib/harness.sh"
D="$WORK/node"
dk() { "$DOCKET" --dir "$D" "$@"; }
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
count_cases() { dk case list --json | json_get ".__len__()"; }

check "init" dk init --office zhanhe/beidu/lanxin --role community --code LX
H="number,kind,opened,summary,parties"

# --- a number of 64 bytes or more is refused with its line (it overflowed the heap)
for len in 63 64 100 200; do
  num=$(printf 'L%.0s' $(seq 1 $len))
  printf '%s\n%s,dispute,2025-01-06,long number,A\n' "$H" "$num" >"$WORK/long.csv"
  if [ "$len" -lt 64 ]; then
    check "number of $len bytes" dk case import "$WORK/long.csv"
  else
    expect_fail "number of $len bytes" 1 "line 2: number is longer than 63 bytes" dk case import "$WORK/long.csv"
  fi
done
expect_eq "only the 63-byte number was stored" "1" "$(count_cases)"

# --- one number, one case
printf '%s\nLX-2025-0101,dispute,2025-01-06,first,A\nLX-2025-0101,dispute,2025-01-07,second,B\n' "$H" >"$WORK/dup.csv"
expect_fail "a number twice in one ledger" 1 "line 3: number LX-2025-0101 is also on line 2" dk case import "$WORK/dup.csv"
expect_eq "nothing of it written" "1" "$(count_cases)"
printf '%s\n,dispute,2025-01-06,blank,A\nLX-2025-0001,dispute,2025-01-07,given,B\n,dispute,2025-01-08,blank two,C\n' "$H" >"$WORK/blank.csv"
check "blank numbers beside a given one" dk case import "$WORK/blank.csv" --json
dk case list --json >"$WORK/list.json"
expect_eq "every number names one case" "" "$($PY -c 'import json,sys,collections; c=collections.Counter(x["number"] for x in json.load(open(sys.argv[1]))); print(" ".join(k for k,v in c.items() if v>1))' "$WORK/list.json")"
expect_eq "the given number kept its row" "given" "$($PY -c 'import json,sys; print([x["summary"] for x in json.load(open(sys.argv[1])) if x["number"]=="LX-2025-0001"][0])' "$WORK/list.json")"
printf '%s\nLX-2025-0001,dispute,2025-01-06,a different case,Z\n' "$H" >"$WORK/taken.csv"
expect_fail "a number held by a different case" 1 "line 2: number LX-2025-0001 is already held by a different case" dk case import "$WORK/taken.csv"
printf '%s\nLX-2025-0001,dispute,2025-01-07,given,B\n' "$H" >"$WORK/same.csv"
check "the same row again" dk case import "$WORK/same.csv" --json
expect_eq "the same row again is a no-op" "0 1" "$(json_get "['imported'], d['skipped']" <"$WORK/out" | tr -d '(),')"
expect_eq "cases after the refusals" "4" "$(count_cases)"
# a bad row late in the file: nothing of the good rows before it is written
{ echo "$H"; for i in $(seq 1 30); do printf 'LX-2024-%04d,dispute,2024-02-01,row %d,A\n' "$i" "$i"; done
  echo "LX-2024-0005,dispute,2024-02-01,again,A"; } >"$WORK/late.csv"
expect_fail "a duplicate late in the file" 1 "line 32: number LX-2024-0005 is also on line 6" dk case import "$WORK/late.csv"
expect_eq "all or nothing" "4" "$(count_cases)"

# --- NUL bytes and text that is not UTF-8 are refused with the line
printf '%s\nLX-2025-0201,dispute,2025-01-06,Wa\0ges,C\n' "$H" >"$WORK/nul.csv"
expect_fail "a NUL byte" 1 "line 2: a NUL byte" dk case import "$WORK/nul.csv"
printf '%s\nLX-2025-0202,dispute,2025-01-06,ok,C\nLX-2025-0203,dispute,2025-01-06,bad \x80\xff text,D\n' "$H" >"$WORK/bad.csv"
expect_fail "neither UTF-8 nor GB18030" 1 "line 3: the file is neither UTF-8" dk case import "$WORK/bad.csv"
printf '\xef\xbb\xbf%s\nLX-2025-0204,dispute,2025-01-06,bad \xc3 text,D\n' "$H" >"$WORK/badbom.csv"
expect_fail "a BOM and then bad UTF-8" 1 "line 2: not valid UTF-8" dk case import "$WORK/badbom.csv"
printf '%s\nLX-2025-0205,dispute,2025-01-06,"esc \x1b[31mred",D\n' "$H" >"$WORK/esc.csv"
expect_fail "an escape sequence" 1 "line 2: summary holds a control character" dk case import "$WORK/esc.csv"
printf '%s\nLX-2025-0206,dispute,2025-01-06,ok,"Li\nNa"\n' "$H" >"$WORK/nl.csv"
expect_fail "a line break in a name" 1 "line 2: parties holds a control character" dk case import "$WORK/nl.csv"
expect_eq "none of them written" "4" "$(count_cases)"
expect_fail "case open with an escape" 1 "control character" dk case open --kind dispute --summary "$(printf 'a\033[2Jb')"
expect_fail "case open with bad UTF-8" 1 "UTF-8" dk case open --kind dispute --summary "$(printf 'a\xffb')"

# --- encodings: UTF-8 with BOM, without, GB18030/GBK
printf '\xef\xbb\xbf%s\nLX-2025-0301,dispute,2025-01-06,邻里噪音纠纷,王芳\n' "$H" >"$WORK/bom.csv"
check "UTF-8 with BOM" dk case import "$WORK/bom.csv"
grep -q "as UTF-8 with BOM" "$WORK/err" && ok || bad "import does not say it read UTF-8 with BOM: $(cat "$WORK/err")"
printf '%s\nLX-2025-0302,dispute,2025-01-06,楼上漏水,李娜\n' "$H" | iconv -f UTF-8 -t GBK >"$WORK/gbk.csv"
check "GBK" dk case import "$WORK/gbk.csv" --json
expect_eq "says GB18030" "GB18030" "$(json_get "['encoding']" <"$WORK/out")"
check "show the GBK case" dk case show LX-2025-0302 --json
expect_eq "GBK text converted" "楼上漏水 李娜" "$(json_get "['summary'], d['parties'][0]" <"$WORK/out" | tr -d "(),'")"
printf '%s\nLX-2025-0303,dispute,2025-01-06,𠀀 四字节,张三\n' "$H" | iconv -f UTF-8 -t GB18030 >"$WORK/gb18030.csv"
check "GB18030 four-byte characters" dk case import "$WORK/gb18030.csv"
check "show the GB18030 case" dk case show LX-2025-0303 --json
expect_eq "GB18030 text converted" "𠀀 四字节" "$(json_get "['summary']" <"$WORK/out")"

# --- Chinese headers and values, English in any letter case
cat >"$WORK/zh.csv" <<'EOF'
编号,类型,类别,登记日期,事由,当事人,分诊,人民调解员,调解次数,调解时长,调解结果,结果日期,协议内容,结案日期,回访日期,满意度
LX-2025-0401,矛盾纠纷,邻里,2025-03-01,楼道堆物纠纷,王芳；李军,门诊,孙华,2,90,调成,2025-03-05,双方签订调解协议,2025-03-06,2025-03-20,5
LX-2025-0402,法律咨询,劳动,2025/3/2,咨询拖欠工资,赵敏,,,,,,,,2025年3月2日,,
LX-2025-0403,议事协商,停车,2025-03-03,小区停车位议事,,会诊,,,,达成协议,2025-03-10,,2025-03-10,,
EOF
check "Chinese headers and values" dk case import "$WORK/zh.csv"
check "show a Chinese-ledger case" dk case show LX-2025-0401 --json
expect_eq "kind, category, class, outcome" "dispute neighbour clinic agreed" "$(json_get "['kind'], d['category'], d['class'], d['outcome']" <"$WORK/out" | tr -d "(),'")"
expect_eq "parties split on ；" "2" "$(json_get "['parties'].__len__()" <"$WORK/out")"
expect_eq "status closed" "closed" "$(json_get "['status']" <"$WORK/out")"
printf 'NUMBER,Kind,OPENED,Summary,Class,Outcome\nLX-2025-0404,DISPUTE,2025-03-04,upper case,Emergency,\n' >"$WORK/upper.csv"
check "English names and values in any case" dk case import "$WORK/upper.csv"
printf '编号,类型,登记日期,事由\nLX-2025-0405,矛盾纠纷X,2025-03-04,x\n' >"$WORK/zhbad.csv"
expect_fail "an unknown Chinese kind" 1 "line 2: unknown kind" dk case import "$WORK/zhbad.csv"

# --- templates
# the template's column names follow the interface language (--lang), or
# --ledger-lang; the interface's --lang never clashes with the template's
check "template zh" dk --lang zh_CN case import --template "$WORK/t-zh.csv"
grep -q "空白台账" "$WORK/out" && ok || bad "template zh: the message is not Chinese: $(cat "$WORK/out")"
expect_eq "template starts with a BOM" "efbbbf" "$(head -c 3 "$WORK/t-zh.csv" | od -An -tx1 | tr -d ' \n')"
head -1 "$WORK/t-zh.csv" | grep -q '^.*编号,类型,类别,登记日期,事由,当事人' && ok || bad "Chinese template header: $(head -1 "$WORK/t-zh.csv")"
check "template en" dk case import --template "$WORK/t-en.csv" --lang en
head -1 "$WORK/t-en.csv" | grep -q 'number,kind,category,opened,summary,parties' && ok || bad "English template header"
expect_fail "template bad lang" 2 "zh_CN or en" dk case import --template "$WORK/t.csv" --lang fr
check "template: English interface, Chinese columns" dk --lang en case import --template "$WORK/t-zh2.csv" --ledger-lang zh_CN --json
cmp -s "$WORK/t-zh.csv" "$WORK/t-zh2.csv" && ok || bad "--ledger-lang zh_CN under --lang en: $(head -1 "$WORK/t-zh2.csv")"
expect_eq "template --json names its language" zh_CN "$(json_get "['lang']" <"$WORK/out")"
check "template: Chinese interface, English columns" dk --lang zh_CN case import --template "$WORK/t-en2.csv" --ledger-lang en
cmp -s "$WORK/t-en.csv" "$WORK/t-en2.csv" && ok || bad "--ledger-lang en under --lang zh_CN: $(head -1 "$WORK/t-en2.csv")"
grep -q "英文列名" "$WORK/out" && ok || bad "the Chinese interface names the English columns: $(cat "$WORK/out")"
expect_fail "template bad --ledger-lang" 2 "ledger-lang is zh_CN or en, not 'fr'" dk case import --template "$WORK/t.csv" --ledger-lang fr
expect_fail "--ledger-lang without --template" 2 "goes with --template" dk case import "$WORK/t-en.csv" --ledger-lang en
dk case import --help >"$WORK/out"
expect_eq "case import --help lists --lang once" 1 "$(grep -c -- "^  --lang " "$WORK/out")"
check "template xlsx" dk case import --template "$WORK/t.xlsx" --lang zh_CN
expect_eq "template xlsx header" "编号 类型 类别" "$($PY -c 'import openpyxl,sys; ws=openpyxl.load_workbook(sys.argv[1]).active; print(" ".join(c.value for c in ws[1][:3]))' "$WORK/t.xlsx")"
for t in t-zh.csv t-en.csv t.xlsx; do
  check "an empty template imports ($t)" dk case import "$WORK/$t" --json
  expect_eq "an empty template has no rows ($t)" "0" "$(json_get "['rows']" <"$WORK/out")"
done

# --- XLSX, as openpyxl writes it: shared strings, inline strings, numbers,
# dates as serial numbers, empty and missing cells, a second sheet
$PY - "$WORK/ledger.xlsx" <<'EOF'
import sys, datetime, openpyxl
wb = openpyxl.Workbook()
ws = wb.active
ws.title = "说明"
ws["A1"] = "this sheet is notes, the ledger is the next one"
ws2 = wb.create_sheet("台账")
ws2.append(["编号", "类型", "类别", "登记日期", "事由", "当事人", "调解次数", "调解结果", "结案日期", "备注"])
ws2.append(["LX-2025-0501", "矛盾纠纷", "家庭", datetime.date(2025, 4, 1), "赡养老人纠纷", "陈静; 刘燕", 3, "调成", datetime.date(2025, 4, 9), None])
ws2.append([None] * 10)  # a blank row
ws2.append(["LX-2025-0502", "法律咨询", None, datetime.datetime(2025, 4, 2, 9, 30), "咨询租房合同", None, None, None, None, "备注 note"])
ws2["A6"] = "LX-2025-0503"; ws2["B6"] = "民生服务"; ws2["D6"] = "2025-04-03"; ws2["E6"] = "低保申请"  # cells left out
wb.save(sys.argv[1])
EOF
expect_fail "XLSX first sheet is notes" 1 "unknown column" dk case import "$WORK/ledger.xlsx"
check "XLSX --sheet" dk case import "$WORK/ledger.xlsx" --sheet 台账 --json
expect_eq "XLSX rows imported" "3 3" "$(json_get "['rows'], d['imported']" <"$WORK/out" | tr -d '(),')"
check "show an XLSX case" dk case show LX-2025-0501 --json
expect_eq "XLSX date serial and values" "2025-04-01 family 3 closed" "$(json_get "['opened_at'][:10], d['category'], d['sessions'], d['status']" <"$WORK/out" | tr -d "(),'")"
expect_fail "XLSX no such sheet" 1 "no sheet named" dk case import "$WORK/ledger.xlsx" --sheet nope
$PY - "$WORK/badrow.xlsx" <<'EOF'
import sys, openpyxl
wb = openpyxl.Workbook(); ws = wb.active
ws.append(["number", "kind", "opened", "summary"])
ws.append(["LX-2025-0601", "dispute", "2025-04-01", "good"])
ws.append(["LX-2025-0602", "nonsense", "2025-04-01", "bad"])
wb.save(sys.argv[1])
EOF
before=$(count_cases)
expect_fail "XLSX bad row named" 1 "row 3: unknown kind" dk case import "$WORK/badrow.xlsx"
expect_eq "XLSX: nothing half-written" "$before" "$(count_cases)"
# a minimal workbook as small writers make it: inline strings, no shared
# strings, rows and cells without references, the 1904 date system with a
# custom date format, rich text runs
$PY - "$WORK/inline.xlsx" <<'EOF'
import sys, zipfile
ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
def s(t): return '<c t="inlineStr"><is><t>%s</t></is></c>' % t
rows = [
  "".join(s(x) for x in ["编号", "类型", "登记日期", "事由", "当事人"]),
  s("LX-2025-0801") + s("安全隐患") + '<c s="1"><v>44286</v></c>' + s("楼道&lt;消防&gt;通道堵塞") + '<c t="inlineStr"><is><r><t>王</t></r><r><t>五</t></r></is></c>',
  s("LX-2025-0802") + s("民生服务") + s("2025-04-02") + s("第二行"),
]
sheet = '<worksheet %s><sheetData>%s</sheetData></worksheet>' % (ns, "".join("<row>%s</row>" % r for r in rows))
z = zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED)
z.writestr("[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
z.writestr("xl/workbook.xml", '<workbook %s><workbookPr date1904="1"/><sheets><sheet name="S" sheetId="1" r:id="rId7"/></sheets></workbook>' % ns)
z.writestr("xl/_rels/workbook.xml.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId7" Type="x" Target="/xl/worksheets/s.xml"/></Relationships>')
z.writestr("xl/styles.xml", '<styleSheet %s><numFmts count="1"><numFmt numFmtId="200" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/></numFmts><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="200"/></cellXfs></styleSheet>' % ns)
z.writestr("xl/worksheets/s.xml", sheet)
z.close()
EOF
check "XLSX with inline strings and no references" dk case import "$WORK/inline.xlsx" --json
expect_eq "inline XLSX rows" "2" "$(json_get "['imported']" <"$WORK/out")"
check "show the inline XLSX case" dk case show LX-2025-0801 --json
expect_eq "1904 date, entities, rich text" "2025-04-01 楼道<消防>通道堵塞 王五" "$(json_get "['opened_at'][:10], d['summary'], d['parties'][0]" <"$WORK/out" | tr -d "(),'")"
$PY - "$WORK/bomb.xlsx" <<'EOF'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED)
z.writestr("xl/workbook.xml", '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><workbook><sheets><sheet name="S" id="rId1"/></sheets></workbook>')
z.close()
EOF
expect_fail "an XLSX with a DTD" 1 "document type declaration" dk case import "$WORK/bomb.xlsx"
printf 'PK\003\004garbage' >"$WORK/broken.xlsx"
expect_fail "a damaged XLSX" 1 "not a readable .xlsx" dk case import "$WORK/broken.xlsx"

# --- export → import into a fresh node round-trips
check "a summary that looks like a formula" dk case open --kind consultation --summary "=SUM(A1:A9) 公式" --at 2025-05-01
check "export csv" dk case export --format csv --out "$WORK/export.csv"
grep -q "\"'=SUM(A1:A9) 公式\"" "$WORK/export.csv" && ok || bad "a formula-like cell is not quoted: $(grep SUM "$WORK/export.csv")"
expect_eq "export starts with a BOM" "efbbbf" "$(head -c 3 "$WORK/export.csv" | od -An -tx1 | tr -d ' \n')"
check "export xlsx" dk case export --format xlsx --out "$WORK/export.xlsx"
check "export csv, one kind" dk case export --format csv --kind consultation --out "$WORK/cons.csv"
expect_eq "export --kind" "3" "$(($(wc -l <"$WORK/cons.csv") - 1))"
check "export csv, a date range" dk case export --format csv --from 2025-04-01 --to 2025-04-02 --out "$WORK/range.csv"
expect_eq "export --from --to" "4" "$(($(wc -l <"$WORK/range.csv") - 1))"
for fmt in csv xlsx; do
  F="$WORK/fresh-$fmt"
  check "fresh node ($fmt)" "$DOCKET" --dir "$F" init --office zhanhe/beidu/other --role community --code OT
  check "import the $fmt export" "$DOCKET" --dir "$F" case import "$WORK/export.$fmt" --json
  expect_eq "every case back ($fmt)" "$(count_cases)" "$(json_get "['imported']" <"$WORK/out")"
  check "export again ($fmt)" "$DOCKET" --dir "$F" case export --format csv --out "$WORK/again-$fmt.csv"
  if cmp -s "$WORK/export.csv" "$WORK/again-$fmt.csv"; then ok; else bad "export → import → export differs ($fmt): $(diff "$WORK/export.csv" "$WORK/again-$fmt.csv" | head -5)"; fi
done
check "export json" dk case export --format csv --out "$WORK/e2.csv" --json
expect_eq "export --json counts" "$(count_cases)" "$(json_get "['cases']" <"$WORK/out")"

finish
