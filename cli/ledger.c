/*
 * Ledger files: decoding, the columns and their values in English and
 * Chinese, CSV rows, and a row's events. See ledger.h.
 */
#include "cli/ledger.h"

#include <csv.h>
#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/error.h"
#include "common/utf8.h"

/* ---- columns ----------------------------------------------------------------- */

/* Each column's English name, its Chinese name (written in templates and
 * exports), then other Chinese names ledgers use for it. */
static const struct {
  const char *en;
  const char *zh[4];
} COLS[C_COUNT] = {
    [C_NUMBER] = {"number", {"编号", "案件编号", "台账编号", NULL}},
    [C_KIND] = {"kind", {"类型", "案件类型", NULL}},
    [C_CATEGORY] = {"category", {"类别", "案件类别", NULL}},
    [C_OPENED] = {"opened", {"登记日期", "受理日期", "登记时间", NULL}},
    [C_SUMMARY] = {"summary", {"事由", "简要案情", "摘要", NULL}},
    [C_PARTIES] = {"parties", {"当事人", NULL}},
    [C_CLASS] = {"class", {"分诊", "分诊类别", NULL}},
    [C_TRIAGED] = {"triaged", {"分诊日期", NULL}},
    [C_MEDIATOR] = {"mediator", {"人民调解员", "调解员", NULL}},
    [C_ADVISOR] = {"advisor", {"法律顾问", NULL}},
    [C_SESSIONS] = {"sessions", {"调解次数", NULL}},
    [C_MINUTES] = {"minutes", {"调解时长", "调解分钟", NULL}},
    [C_ESCALATED] = {"escalated", {"上报", "上报层级", NULL}},
    [C_OUTCOME] = {"outcome", {"调解结果", "结果", NULL}},
    [C_OUTCOME_DATE] = {"outcome_date", {"结果日期", NULL}},
    [C_AGREEMENT] = {"agreement", {"协议内容", "调解协议", NULL}},
    [C_REASON] = {"reason", {"未调成原因", "原因", NULL}},
    [C_REFER] = {"refer", {"转介", "引导途径", NULL}},
    [C_ITEMS] = {"items", {"议定事项数", NULL}},
    [C_CLOSED] = {"closed", {"结案日期", NULL}},
    [C_REVISIT] = {"revisit", {"回访日期", NULL}},
    [C_SATISFACTION] = {"satisfaction", {"满意度", NULL}},
    [C_NOTE] = {"note", {"备注", NULL}},
};

const char *ledger_col_name(enum ledger_col c, enum ledger_lang lang) {
  if ((int)c < 0 || c >= C_COUNT)
    return "?";
  return lang == LEDGER_ZH ? COLS[c].zh[0] : COLS[c].en;
}

static int col_find(const char *name) {
  for (int c = 0; c < C_COUNT; c++) {
    if (strcasecmp(name, COLS[c].en) == 0)
      return c;
    for (int k = 0; k < 4 && COLS[c].zh[k]; k++)
      if (strcmp(name, COLS[c].zh[k]) == 0)
        return c;
  }
  return -1;
}

/* Free-text columns may hold line breaks; the others are one line. */
static int col_multiline(int c) {
  return c == C_SUMMARY || c == C_AGREEMENT || c == C_REASON || c == C_NOTE;
}

/* ---- values ------------------------------------------------------------------ */

struct alias {
  const char *zh;
  const char *en;
};

static const struct alias KIND_ZH[] = {
    {"矛盾纠纷", "dispute"},      {"纠纷", "dispute"},         {"安全隐患", "hazard"},
    {"中心工作", "task"},         {"民生服务", "service"},     {"法律咨询", "consultation"},
    {"法律援助", "legal_aid"},    {"意见建议", "advice"},      {"法律意见", "advice"},
    {"议事协商", "meeting"},      {"legal-aid", "legal_aid"},  {NULL, NULL}};

static const struct alias CATEGORY_ZH[] = {
    {"邻里", "neighbour"},       {"邻里纠纷", "neighbour"},   {"婚姻家庭", "family"},
    {"家庭", "family"},          {"房屋租赁", "tenancy"},     {"租赁", "tenancy"},
    {"物业", "property"},        {"劳动", "labour"},          {"劳动争议", "labour"},
    {"交通", "traffic"},         {"交通事故", "traffic"},     {"借贷", "loan"},
    {"民间借贷", "loan"},        {"损害赔偿", "damages"},     {"其他", "other"},
    {"消防", "fire"},            {"房屋建筑", "building"},    {"用电", "electrical"},
    {"普法宣传", "publicity"},   {"巡查", "inspection"},      {"走访调查", "survey"},
    {"维稳", "stability"},       {"养老", "elderly"},         {"助残", "disability"},
    {"住房", "housing"},         {"就业", "employment"},      {"社会救助", "welfare"},
    {"合同", "contract"},        {"继承", "inheritance"},     {"人身损害", "injury"},
    {"刑事", "criminal"},        {"规章制度", "regulation"},  {"社区治理", "governance"},
    {"环境", "environment"},     {"停车", "parking"},         {"公共设施", "facilities"},
    {"neighbor", "neighbour"},   {"labor", "labour"},         {NULL, NULL}};

static const struct alias CLASS_ZH[] = {
    {"门诊", "clinic"}, {"急诊", "emergency"}, {"会诊", "joint"}, {NULL, NULL}};

static const struct alias OUTCOME_ZH[] = {
    {"调成", "agreed"},   {"调解成功", "agreed"}, {"成功", "agreed"}, {"达成协议", "agreed"},
    {"未调成", "failed"}, {"调解不成", "failed"}, {"调解失败", "failed"}, {"失败", "failed"},
    {NULL, NULL}};

static const struct alias LEVEL_ZH[] = {
    {"街道", "street"}, {"区", "district"}, {"区级", "district"}, {NULL, NULL}};

static const struct alias REFER_ZH[] = {
    {"法律援助", "legal-aid"}, {"诉讼", "litigation"}, {"仲裁", "arbitration"},
    {"legal_aid", "legal-aid"}, {NULL, NULL}};

/* The English value of s in out (ASCII letters lowered; a Chinese name
 * mapped through table). */
static void value_en(const char *s, const struct alias *table, char *out, size_t cap) {
  for (const struct alias *a = table; a && a->zh; a++)
    if (strcmp(s, a->zh) == 0) {
      snprintf(out, cap, "%s", a->en);
      return;
    }
  size_t i = 0;
  for (; s[i] && i + 1 < cap; i++)
    out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
  out[i] = 0;
  for (const struct alias *a = table; a && a->zh; a++)
    if (strcmp(out, a->zh) == 0) { /* an English alias: legal-aid */
      snprintf(out, cap, "%s", a->en);
      return;
    }
}

/* ---- decoding ---------------------------------------------------------------- */

static int fail(struct ledger_error *err, size_t line, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct ledger_error *err, size_t line, int rc, const char *fmt, ...) {
  err->line = line;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof(err->msg), gettext(fmt), ap); /* fmt is marked N_() */
  va_end(ap);
  return rc;
}

static size_t line_of(const char *s, size_t off) {
  size_t line = 1;
  for (size_t i = 0; i < off; i++)
    if (s[i] == '\n')
      line++;
  return line;
}

/* Offset of the first byte that is not well-formed UTF-8 (len if none). */
static size_t utf8_bad_at(const char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    if ((unsigned char)s[i] < 0x80) {
      i++;
      continue;
    }
    size_t n = dk_utf8_decode(s + i, len - i, NULL);
    if (n == 0)
      return i;
    i += n;
  }
  return len;
}

/* Converts GB18030 to UTF-8 with iconv. On a byte sequence that is not
 * GB18030, *bad_at is its offset and DK_EFORMAT is returned. */
static int from_gb18030(const char *in, size_t len, char **out, size_t *out_len, size_t *bad_at) {
  iconv_t cd = iconv_open("UTF-8", "GB18030");
  if (cd == (iconv_t)-1)
    return DK_ENOMEM;
  /* A GB18030 character is 1, 2 or 4 bytes and at most 4 bytes of UTF-8. */
  size_t cap = len * 2 + 16;
  char *buf = malloc(cap);
  int rc = 0;
  if (buf == NULL) {
    rc = DK_ENOMEM;
    goto out;
  }
  char *ip = (char *)in, *op = buf;
  size_t il = len, ol = cap - 1;
  if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) {
    *bad_at = (size_t)(ip - in);
    rc = errno == E2BIG ? DK_ELIMIT : DK_EFORMAT;
    goto out;
  }
  if (iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1) {
    *bad_at = len;
    rc = DK_EFORMAT;
    goto out;
  }
  *op = 0;
  *out_len = (size_t)(op - buf);
  *out = buf;
  buf = NULL;
out:
  free(buf);
  iconv_close(cd);
  return rc;
}

static int decode_csv(struct ledger *l, const char *data, size_t len, struct ledger_error *err) {
  const char *nul = memchr(data, 0, len);
  if (nul != NULL)
    return fail(err, line_of(data, (size_t)(nul - data)), DK_EFORMAT,
                N_("a NUL byte: the file is not a text CSV (save it as \"CSV UTF-8\")"));
  size_t skip = 0;
  l->encoding = "UTF-8";
  if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
    skip = 3;
    l->encoding = "UTF-8 with BOM";
  }
  size_t bad = utf8_bad_at(data + skip, len - skip);
  if (bad == len - skip) {
    l->text = malloc(len - skip + 1);
    if (l->text == NULL)
      return fail(err, 0, DK_ENOMEM, N_("out of memory"));
    memcpy(l->text, data + skip, len - skip);
    l->text[len - skip] = 0;
    l->text_len = len - skip;
    return 0;
  }
  size_t utf8_line = line_of(data + skip, bad);
  if (skip)
    return fail(err, utf8_line, DK_ETEXT,
                N_("not valid UTF-8, though the file starts with a UTF-8 byte order mark"));
  size_t gb_bad = 0;
  int rc = from_gb18030(data, len, &l->text, &l->text_len, &gb_bad);
  if (rc == DK_EFORMAT)
    return fail(err, gb_bad < len ? line_of(data, gb_bad) : utf8_line, DK_ETEXT,
                N_("the file is neither UTF-8 (bad byte on line %zu) nor GB18030/GBK (bad byte "
                "on line %zu)"),
                utf8_line, line_of(data, gb_bad));
  if (rc != 0)
    return fail(err, 0, rc, N_("cannot convert from GB18030: %s"), dk_strerror(rc));
  l->encoding = "GB18030";
  return 0;
}

int ledger_load_bytes(struct ledger *l, const uint8_t *data, size_t len, struct ledger_error *err) {
  memset(l, 0, sizeof(*l));
  memset(err, 0, sizeof(*err));
  if (len > DK_LEDGER_FILE_BYTES_MAX)
    return fail(err, 0, DK_ELIMIT, N_("the file is larger than %d MiB"),
                DK_LEDGER_FILE_BYTES_MAX >> 20);
  if (len >= 4 && memcmp(data, "PK\x03\x04", 4) == 0) {
    l->xlsx = 1;
    l->raw_owned = malloc(len ? len : 1);
    if (l->raw_owned == NULL)
      return fail(err, 0, DK_ENOMEM, N_("out of memory"));
    memcpy(l->raw_owned, data, len);
    l->raw = l->raw_owned;
    l->raw_len = len;
    l->encoding = "XLSX";
    return 0;
  }
  return decode_csv(l, (const char *)data, len, err);
}

int ledger_load_file(struct ledger *l, const char *path, struct ledger_error *err) {
  memset(l, 0, sizeof(*l));
  memset(err, 0, sizeof(*err));
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return fail(err, 0, DK_EIO, N_("cannot open %s: %s"), path, strerror(errno));
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0;
  int rc = 0;
  for (;;) {
    if (len == cap) {
      if (cap >= DK_LEDGER_FILE_BYTES_MAX) {
        rc = fail(err, 0, DK_ELIMIT, N_("%s is larger than %d MiB"), path,
                  DK_LEDGER_FILE_BYTES_MAX >> 20);
        goto out;
      }
      cap = cap ? cap * 2 : 65536;
      if (cap > DK_LEDGER_FILE_BYTES_MAX)
        cap = DK_LEDGER_FILE_BYTES_MAX + 1;
      uint8_t *nb = realloc(buf, cap);
      if (nb == NULL) {
        rc = fail(err, 0, DK_ENOMEM, N_("out of memory"));
        goto out;
      }
      buf = nb;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0)
      break;
  }
  if (ferror(f)) {
    rc = fail(err, 0, DK_EIO, N_("cannot read %s: %s"), path, strerror(errno));
    goto out;
  }
  rc = ledger_load_bytes(l, buf, len, err);
out:
  free(buf);
  fclose(f);
  return rc;
}

void ledger_release(struct ledger *l) {
  free(l->text);
  free(l->raw_owned);
  memset(l, 0, sizeof(*l));
}

/* ---- rows -------------------------------------------------------------------- */

#define FIELDS_MAX 64

struct reader {
  int col_of_field[FIELDS_MAX]; /* header position -> column, -1 unused */
  size_t fields_in_header;
  int header_done;
  ledger_row_fn on_row;
  void *ctx;
  struct ledger_error *err;
};

/* Trims the spaces spreadsheets leave around a value, in place. */
static char *trim(char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
    s[--n] = 0;
  return s;
}

static int header_setup(struct reader *rd, size_t line, char **fields, size_t count) {
  for (size_t i = 0; i < FIELDS_MAX; i++)
    rd->col_of_field[i] = -1;
  if (count > FIELDS_MAX)
    return fail(rd->err, line, DK_ELIMIT, N_("the header has more than %d columns"), FIELDS_MAX);
  int seen[C_COUNT] = {0};
  /* Trailing empty header cells (a spreadsheet's formatted but unused
   * columns) are ignored. */
  while (count > 0 && trim(fields[count - 1])[0] == 0)
    count--;
  for (size_t i = 0; i < count; i++) {
    const char *name = trim(fields[i]);
    int found = col_find(name);
    if (found < 0) {
      char shown[DK_NAME_BYTES_MAX];
      dk_text_sanitize(shown, sizeof(shown), name, strlen(name), 40, DK_SANITIZE_TERMINAL, NULL);
      return fail(rd->err, line, DK_EFORMAT, N_("unknown column '%s' (see docs/ledger-import.md)"),
                  shown);
    }
    if (seen[found]++)
      return fail(rd->err, line, DK_EFORMAT, N_("column '%s' appears twice"), COLS[found].en);
    rd->col_of_field[i] = found;
  }
  rd->fields_in_header = count;
  if (!seen[C_KIND] || !seen[C_OPENED] || !seen[C_SUMMARY])
    return fail(rd->err, line, DK_EFORMAT,
                N_("the header must have the columns kind (类型), opened (登记日期) and summary "
                "(事由)"));
  rd->header_done = 1;
  return 0;
}

/* One row of cells from either format. */
static int on_cells(void *arg, size_t line, char **fields, size_t count) {
  struct reader *rd = arg;
  if (!rd->header_done) {
    int blank = 1;
    for (size_t i = 0; i < count; i++)
      if (trim(fields[i])[0])
        blank = 0;
    if (blank)
      return 0; /* blank lines above the header */
    return header_setup(rd, line, fields, count);
  }
  int blank = 1;
  for (size_t i = 0; i < count; i++)
    if (trim(fields[i])[0])
      blank = 0;
  if (blank)
    return 0; /* blank lines in spreadsheet exports */
  /* Empty cells past the header's width are no field. */
  size_t width = count;
  while (width > rd->fields_in_header && fields[width - 1][0] == 0)
    width--;
  if (width > rd->fields_in_header)
    return rd->on_row(rd->ctx, line, NULL);
  /* An export writes a cell that a spreadsheet would run as a formula as
   * '=…; the ' is not part of the value. */
  for (size_t i = 0; i < width; i++)
    if (fields[i][0] == '\'' && fields[i][1] && strchr("=+-@", fields[i][1]))
      memmove(fields[i], fields[i] + 1, strlen(fields[i]));
  struct ledger_row r;
  for (int c = 0; c < C_COUNT; c++)
    r.f[c] = "";
  for (size_t i = 0; i < width; i++)
    if (rd->col_of_field[i] >= 0)
      r.f[rd->col_of_field[i]] = fields[i];
  /* XLSX leaves empty cells out: fewer cells than the header is fine
   * there; CSV rows are held to the header width in csv_cb_row. */
  return rd->on_row(rd->ctx, line, &r);
}

struct csv_state {
  struct reader *rd;
  char *fields[FIELDS_MAX + 1];
  size_t count;
  int too_many;
  size_t line, row_line;
  int rc;
};

static void csv_cb_field(void *data, size_t len, void *arg) {
  struct csv_state *st = arg;
  if (st->count == 0)
    st->row_line = st->line;
  if (st->rc != 0)
    return;
  if (st->count >= FIELDS_MAX) {
    st->too_many = 1;
    return;
  }
  if (len > DK_LEDGER_CELL_BYTES_MAX) {
    st->rc = fail(st->rd->err, st->row_line, DK_ELIMIT, N_("a field longer than %d bytes"),
                  DK_LEDGER_CELL_BYTES_MAX);
    return;
  }
  char *s = malloc(len + 1);
  if (s == NULL) {
    st->rc = fail(st->rd->err, st->row_line, DK_ENOMEM, N_("out of memory"));
    return;
  }
  if (len)
    memcpy(s, data, len);
  s[len] = 0;
  st->fields[st->count++] = s;
}

static void csv_free_fields(struct csv_state *st) {
  for (size_t i = 0; i < st->count; i++)
    free(st->fields[i]);
  st->count = 0;
  st->too_many = 0;
}

static void csv_cb_row(int term, void *arg) {
  struct csv_state *st = arg;
  if (st->count == 0)
    st->row_line = st->line;
  if (st->rc == 0) {
    if (st->too_many && !st->rd->header_done)
      st->rc = fail(st->rd->err, st->row_line, DK_ELIMIT, N_("the header has more than %d columns"),
                    FIELDS_MAX);
    else if (st->too_many)
      st->rc = st->rd->on_row(st->rd->ctx, st->row_line, NULL);
    else {
      /* A CSV row must have exactly the header's fields: a lost comma
       * shifts every column after it. */
      if (st->rd->header_done && st->count != st->rd->fields_in_header) {
        int blank = 1;
        for (size_t i = 0; i < st->count; i++)
          if (trim(st->fields[i])[0])
            blank = 0;
        size_t width = st->count;
        while (width > st->rd->fields_in_header && st->fields[width - 1][0] == 0)
          width--;
        if (!blank && width != st->rd->fields_in_header)
          st->rc = st->rd->on_row(st->rd->ctx, st->row_line, NULL);
        else
          st->rc = on_cells(st->rd, st->row_line, st->fields, st->count);
      } else {
        st->rc = on_cells(st->rd, st->row_line, st->fields, st->count);
      }
    }
  }
  csv_free_fields(st);
}

static int read_csv(struct ledger *l, struct reader *rd) {
  struct csv_parser csv;
  if (csv_init(&csv, CSV_STRICT | CSV_STRICT_FINI) != 0)
    return fail(rd->err, 0, DK_ENOMEM, N_("out of memory"));
  struct csv_state st;
  memset(&st, 0, sizeof(st));
  st.rd = rd;
  const char *p = l->text, *end = l->text + l->text_len;
  size_t row_bytes = 0;
  int rc = 0;
  while (p < end && rc == 0) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
    st.line++;
    if (st.count == 0)
      row_bytes = 0;
    row_bytes += len;
    if (row_bytes > DK_CSV_LINE_BYTES_MAX) {
      rc = fail(rd->err, st.count ? st.row_line : st.line, DK_ELIMIT,
                N_("a row longer than %d bytes (an unclosed quote?)"), DK_CSV_LINE_BYTES_MAX);
      break;
    }
    if (csv_parse(&csv, p, len, csv_cb_field, csv_cb_row, &st) != len) {
      rc = st.rc ? st.rc : fail(rd->err, st.line, DK_EFORMAT, "%s", csv_strerror(csv_error(&csv)));
      break;
    }
    rc = st.rc;
    p += len;
  }
  if (rc == 0 && csv_fini(&csv, csv_cb_field, csv_cb_row, &st) != 0)
    rc = st.rc ? st.rc : fail(rd->err, st.line, DK_EFORMAT, "%s", csv_strerror(csv_error(&csv)));
  if (rc == 0)
    rc = st.rc;
  csv_free_fields(&st);
  csv_free(&csv);
  return rc;
}

int ledger_read(struct ledger *l, const char *sheet, ledger_row_fn on_row, void *ctx,
                struct ledger_error *err) {
  struct reader rd;
  memset(&rd, 0, sizeof(rd));
  memset(err, 0, sizeof(*err));
  rd.on_row = on_row;
  rd.ctx = ctx;
  rd.err = err;
  int rc = l->xlsx ? ledger_xlsx_read(l, sheet, on_cells, &rd, err) : read_csv(l, &rd);
  if (rc == 0 && !rd.header_done)
    rc = fail(err, 0, DK_EFORMAT, N_("the file is empty: it needs a header row"));
  return rc;
}

/* ---- a row's events ---------------------------------------------------------- */

static int date_field(const char *s, uint64_t *ms, uint64_t fallback) {
  if (s[0] == 0) {
    *ms = fallback;
    return 0;
  }
  /* ledgers also write 2020/03/01 and 2020年3月1日 */
  char tmp[32];
  size_t o = 0;
  for (const char *q = s; *q; q++) {
    if (o + 2 >= sizeof(tmp))
      return DK_EINVAL;
    if (*q == '/' || *q == '.') {
      tmp[o++] = '-';
    } else if (strncmp(q, "年", 3) == 0 || strncmp(q, "月", 3) == 0) {
      tmp[o++] = '-';
      q += 2;
    } else if (strncmp(q, "日", 3) == 0) {
      q += 2;
    } else {
      tmp[o++] = *q;
    }
  }
  tmp[o] = 0;
  return cli_parse_time(tmp, ms);
}

static int bad(struct ledger_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct ledger_error *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof(err->msg), gettext(fmt), ap); /* fmt is marked N_() */
  va_end(ap);
  return DK_EINVAL;
}

/* A value quoted in a message: cut, and safe for a terminal. */
static const char *shown(const char *s, char *buf, size_t cap) {
  dk_text_sanitize(buf, cap, s, strlen(s), 40, DK_SANITIZE_TERMINAL, NULL);
  return buf;
}

void ledger_built_release(struct ledger_built *b) {
  for (size_t i = 0; i < b->count; i++) {
    free(b->ev[i].deps);
    b->ev[i].deps = NULL;
    b->ev[i].deps_count = 0;
  }
}

int ledger_build(const struct ledger_row *r, struct ledger_built *b, uint64_t now,
                 struct ledger_error *err) {
  memset(b, 0, sizeof(*b));
  char q[128];
  for (int c = 0; c < C_COUNT; c++) {
    int rc = dk_text_check(r->f[c], col_multiline(c) ? DK_TEXT_MULTILINE : DK_TEXT_LINE);
    if (rc != 0)
      return bad(err, N_("%s holds a control character%s"), COLS[c].en,
                 col_multiline(c) ? "" : _(" (or a line break)"));
    if (strlen(r->f[c]) > DK_TEXT_BYTES_MAX)
      return bad(err, N_("%s is longer than %d bytes"), COLS[c].en, DK_TEXT_BYTES_MAX);
  }
  char *kind_s = b->values[0], *category = b->values[1], *class_s = b->values[2],
       *outcome = b->values[3], *level_s = b->values[4], *refer_s = b->values[5];
  value_en(r->f[C_KIND], KIND_ZH, kind_s, DK_NAME_BYTES_MAX);
  value_en(r->f[C_CATEGORY], CATEGORY_ZH, category, DK_NAME_BYTES_MAX);
  value_en(r->f[C_CLASS], CLASS_ZH, class_s, DK_NAME_BYTES_MAX);
  value_en(r->f[C_OUTCOME], OUTCOME_ZH, outcome, DK_NAME_BYTES_MAX);
  value_en(r->f[C_ESCALATED], LEVEL_ZH, level_s, DK_NAME_BYTES_MAX);
  value_en(r->f[C_REFER], REFER_ZH, refer_s, DK_NAME_BYTES_MAX);

  uint64_t opened, triaged, outcome_at, closed = 0, revisit = 0, u = 0;
  enum dk_kind kind;
  if (dk_kind_parse(kind_s, &kind) != 0)
    return bad(err, N_("unknown kind '%s'"), shown(r->f[C_KIND], q, sizeof(q)));
  if (r->f[C_OPENED][0] == 0 || date_field(r->f[C_OPENED], &opened, 0) != 0)
    return bad(err, N_("opened '%s' is not a date (YYYY-MM-DD)"),
               shown(r->f[C_OPENED], q, sizeof(q)));
  if (opened > now)
    return bad(err, N_("opened %s is in the future"), shown(r->f[C_OPENED], q, sizeof(q)));
  if (r->f[C_SUMMARY][0] == 0)
    return bad(err, N_("summary is empty"));
  if (dk_category_valid(kind, category) != 0)
    return bad(err, N_("'%s' is not a category of %s (one of: %s)"),
               shown(r->f[C_CATEGORY], q, sizeof(q)), dk_kind_name(kind), dk_category_names(kind));
  if (date_field(r->f[C_TRIAGED], &triaged, opened) != 0 || triaged < opened)
    return bad(err, N_("triaged '%s' is not a date on or after opened"),
               shown(r->f[C_TRIAGED], q, sizeof(q)));
  if (date_field(r->f[C_CLOSED], &closed, 0) != 0 || (closed && closed < opened))
    return bad(err, N_("closed '%s' is not a date on or after opened"),
               shown(r->f[C_CLOSED], q, sizeof(q)));
  if (date_field(r->f[C_OUTCOME_DATE], &outcome_at, closed ? closed : opened) != 0 ||
      outcome_at < opened || (closed && outcome_at > closed))
    return bad(err, N_("outcome_date '%s' is not a date between opened and closed"),
               shown(r->f[C_OUTCOME_DATE], q, sizeof(q)));
  if (date_field(r->f[C_REVISIT], &revisit, 0) != 0 || (revisit && revisit < outcome_at))
    return bad(err, N_("revisit '%s' is not a date after the outcome"),
               shown(r->f[C_REVISIT], q, sizeof(q)));
  if (closed > now || outcome_at > now || revisit > now || triaged > now)
    return bad(err, N_("a date is in the future"));

  struct dk_event *ev = &b->ev[b->count++];
  dk_event_init(ev);
  ev->type = DK_EVENT_OPEN;
  ev->at_ms = opened;
  ev->kind = kind;
  ev->category = category;
  ev->number = (char *)r->f[C_NUMBER];
  ev->text = (char *)r->f[C_SUMMARY];
  if (strlen(r->f[C_NUMBER]) >= DK_CASE_NUMBER_BYTES)
    return bad(err, N_("number is longer than %d bytes"), DK_CASE_NUMBER_BYTES - 1);
  if (r->f[C_PARTIES][0]) {
    if (strlen(r->f[C_PARTIES]) >= sizeof(b->parties_buf))
      return bad(err, N_("parties too long"));
    strcpy(b->parties_buf, r->f[C_PARTIES]);
    /* people are separated by ';', also the Chinese '；' and '、' */
    for (char *p = b->parties_buf; *p; p++) {
      if (strncmp(p, "；", 3) == 0 || strncmp(p, "、", 3) == 0) {
        memcpy(p, ";  ", 3);
        p += 2;
      }
    }
    char *save = NULL;
    for (char *tok = strtok_r(b->parties_buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
      while (*tok == ' ')
        tok++;
      size_t n = strlen(tok);
      while (n && tok[n - 1] == ' ')
        tok[--n] = 0;
      if (n == 0)
        continue;
      if (b->parties_count == DK_PARTIES_MAX)
        return bad(err, N_("more than %d parties"), DK_PARTIES_MAX);
      b->parties[b->parties_count++] = tok;
    }
    ev->parties = b->parties;
    ev->parties_count = b->parties_count;
  }
  const char *mediator = r->f[C_MEDIATOR];
  if (class_s[0]) {
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_TRIAGE;
    ev->at_ms = triaged;
    if (dk_triage_parse(class_s, &ev->triage) != 0)
      return bad(err, N_("unknown class '%s' (clinic 门诊, emergency 急诊, joint 会诊)"),
                 shown(r->f[C_CLASS], q, sizeof(q)));
  }
  if (r->f[C_ADVISOR][0]) {
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_ASSIGN;
    ev->at_ms = triaged;
    ev->to = (char *)r->f[C_ADVISOR];
    ev->role = DK_ROLE_LEGAL_ADVISOR;
  }
  if (mediator[0]) {
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_ASSIGN;
    ev->at_ms = triaged;
    ev->to = (char *)mediator;
    ev->role = DK_ROLE_MEDIATOR;
  }
  if (level_s[0]) {
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_ESCALATE;
    ev->at_ms = triaged;
    if (dk_level_parse(level_s, &ev->level) != 0 || ev->level == DK_LEVEL_NONE)
      return bad(err, N_("escalated must be street (街道) or district (区), not '%s'"),
                 shown(r->f[C_ESCALATED], q, sizeof(q)));
  }
  uint64_t sessions = 0, minutes = 0;
  if (r->f[C_SESSIONS][0] &&
      cli_parse_u64(r->f[C_SESSIONS], 0, LEDGER_SESSIONS_MAX, &sessions) != 0)
    return bad(err, N_("sessions must be a number from 0 to %d"), LEDGER_SESSIONS_MAX);
  if (r->f[C_MINUTES][0] && cli_parse_u64(r->f[C_MINUTES], 0, 100000, &minutes) != 0)
    return bad(err, N_("minutes must be a number"));
  for (uint64_t i = 0; i < sessions; i++) {
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_SESSION;
    /* spread sessions between triage and the outcome */
    ev->at_ms = triaged + (outcome_at > triaged ? (outcome_at - triaged) * i / sessions : 0);
    ev->by = (char *)mediator;
    ev->minutes = minutes / sessions + (i < minutes % sessions ? 1 : 0);
    ev->text = "";
  }
  if (strcmp(outcome, "agreed") == 0) {
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_RESOLVE;
    ev->at_ms = outcome_at;
    ev->by = (char *)mediator;
    ev->text = (char *)r->f[C_AGREEMENT];
    if (r->f[C_ITEMS][0] && cli_parse_u64(r->f[C_ITEMS], 0, 1000, &u) != 0)
      return bad(err, N_("items must be a number"));
    ev->items = r->f[C_ITEMS][0] ? u : 0;
  } else if (strcmp(outcome, "failed") == 0) {
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_FAIL;
    ev->at_ms = outcome_at;
    ev->by = (char *)mediator;
    ev->text = (char *)r->f[C_REASON];
    if (dk_referral_parse(refer_s, &ev->refer) != 0)
      return bad(err, N_("unknown refer '%s' (legal-aid 法律援助, litigation 诉讼, arbitration 仲裁)"),
                 shown(r->f[C_REFER], q, sizeof(q)));
  } else if (outcome[0]) {
    return bad(err, N_("outcome must be agreed (调成), failed (未调成) or empty, not '%s'"),
               shown(r->f[C_OUTCOME], q, sizeof(q)));
  }
  if (closed) {
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_CLOSE;
    ev->at_ms = closed;
  }
  if (revisit || r->f[C_SATISFACTION][0]) {
    if (!revisit || cli_parse_u64(r->f[C_SATISFACTION], 1, 5, &u) != 0)
      return bad(err, N_("a return visit needs both revisit (date) and satisfaction (1-5)"));
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_REVISIT;
    ev->at_ms = revisit;
    ev->satisfaction = (uint32_t)u;
    ev->text = "";
  }
  if (r->f[C_NOTE][0]) {
    ev = &b->ev[b->count++];
    dk_event_init(ev);
    ev->type = DK_EVENT_NOTE;
    ev->at_ms = revisit ? revisit : closed ? closed : outcome_at;
    ev->text = (char *)r->f[C_NOTE];
  }
  return 0;
}

/* ---- writing ----------------------------------------------------------------- */

/* The Chinese name of an English value (the first alias of it), or the
 * value itself. */
static const char *value_zh(const char *en, const struct alias *table) {
  for (const struct alias *a = table; a->zh; a++)
    if (strcmp(a->en, en) == 0 && (unsigned char)a->zh[0] >= 0x80)
      return a->zh;
  return en;
}

static size_t put(char *buf, size_t cap, size_t *used, const char *s) {
  size_t n = strlen(s);
  if (*used + n + 1 > cap)
    return (size_t)-1;
  memcpy(buf + *used, s, n + 1);
  size_t at = *used;
  *used += n + 1;
  return at;
}

int ledger_case_row(const struct dk_case_state *s, enum ledger_lang lang, char *fields[C_COUNT],
                    char *buf, size_t cap) {
  size_t used = 0;
  size_t at[C_COUNT];
  char tmp[DK_TEXT_BYTES_MAX];
  int zh = lang == LEDGER_ZH;
#define DATE(ms) (cli_format_time((ms), 1, tmp, sizeof(tmp)), tmp)
#define NUM(v) (snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)(v)), tmp)
  at[C_NUMBER] = put(buf, cap, &used, s->number ? s->number : "");
  at[C_KIND] = put(buf, cap, &used, zh ? value_zh(dk_kind_name(s->kind), KIND_ZH)
                                       : dk_kind_name(s->kind));
  const char *cat = s->category ? s->category : "";
  at[C_CATEGORY] = put(buf, cap, &used, zh && cat[0] ? value_zh(cat, CATEGORY_ZH) : cat);
  at[C_OPENED] = put(buf, cap, &used, s->opened_at_ms ? DATE(s->opened_at_ms) : "");
  at[C_SUMMARY] = put(buf, cap, &used, s->summary ? s->summary : "");
  size_t o = 0;
  tmp[0] = 0;
  for (size_t i = 0; i < s->parties_count; i++) {
    int w = snprintf(tmp + o, sizeof(tmp) - o, "%s%s", i ? "; " : "", s->parties[i]);
    if (w < 0 || (size_t)w >= sizeof(tmp) - o)
      return DK_ELIMIT;
    o += (size_t)w;
  }
  at[C_PARTIES] = put(buf, cap, &used, tmp);
  int triaged = s->triage != DK_TRIAGE_NONE;
  at[C_CLASS] = put(buf, cap, &used, !triaged ? ""
                                     : zh     ? value_zh(dk_triage_name(s->triage), CLASS_ZH)
                                              : dk_triage_name(s->triage));
  at[C_TRIAGED] = put(buf, cap, &used, triaged && s->triaged_at_ms ? DATE(s->triaged_at_ms) : "");
  const char *med = s->assignees[DK_ROLE_MEDIATOR].name;
  const char *adv = s->assignees[DK_ROLE_LEGAL_ADVISOR].name;
  at[C_MEDIATOR] = put(buf, cap, &used, med ? med : "");
  at[C_ADVISOR] = put(buf, cap, &used, adv ? adv : "");
  at[C_SESSIONS] = put(buf, cap, &used, s->sessions_count ? NUM(s->sessions_count) : "");
  at[C_MINUTES] = put(buf, cap, &used, s->minutes_total ? NUM(s->minutes_total) : "");
  const char *lvl = s->level == DK_LEVEL_NONE ? "" : dk_level_name(s->level);
  at[C_ESCALATED] = put(buf, cap, &used, zh && lvl[0] ? value_zh(lvl, LEVEL_ZH) : lvl);
  const char *oc = s->outcome == DK_OUTCOME_NONE ? "" : dk_outcome_name(s->outcome);
  at[C_OUTCOME] = put(buf, cap, &used, zh && oc[0] ? value_zh(oc, OUTCOME_ZH) : oc);
  at[C_OUTCOME_DATE] = put(buf, cap, &used, oc[0] && s->outcome_at_ms ? DATE(s->outcome_at_ms) : "");
  const char *otext = s->outcome_text ? s->outcome_text : "";
  at[C_AGREEMENT] = put(buf, cap, &used, s->outcome == DK_OUTCOME_AGREED ? otext : "");
  at[C_REASON] = put(buf, cap, &used, s->outcome == DK_OUTCOME_FAILED ? otext : "");
  const char *ref = s->outcome == DK_OUTCOME_FAILED ? dk_referral_name(s->referral) : "";
  at[C_REFER] = put(buf, cap, &used, zh && ref[0] ? value_zh(ref, REFER_ZH) : ref);
  at[C_ITEMS] = put(buf, cap, &used, s->outcome == DK_OUTCOME_AGREED && s->items ? NUM(s->items) : "");
  at[C_CLOSED] = put(buf, cap, &used,
                     s->status == DK_STATUS_CLOSED && s->closed_at_ms ? DATE(s->closed_at_ms) : "");
  const struct dk_revisit *rv = s->revisits_count ? &s->revisits[s->revisits_count - 1] : NULL;
  at[C_REVISIT] = put(buf, cap, &used, rv ? DATE(rv->at_ms) : "");
  at[C_SATISFACTION] = put(buf, cap, &used, rv ? NUM(rv->satisfaction) : "");
  at[C_NOTE] = put(buf, cap, &used, "");
#undef DATE
#undef NUM
  for (int c = 0; c < C_COUNT; c++) {
    if (at[c] == (size_t)-1)
      return DK_ELIMIT;
    fields[c] = buf + at[c];
  }
  return 0;
}

static int csv_cell(FILE *f, const char *s, int last) {
  /* Quote every cell that needs it; a cell starting with = + - @ is
   * prefixed with ' so that a spreadsheet shows it instead of running it
   * as a formula. */
  int quote = strpbrk(s, ",\"\r\n") != NULL;
  int formula = s[0] == '=' || s[0] == '+' || s[0] == '@' || (s[0] == '-' && s[1] && s[1] != '-' &&
                                                             !(s[1] >= '0' && s[1] <= '9'));
  if (quote || formula) {
    fputc('"', f);
    if (formula)
      fputc('\'', f);
    for (const char *p = s; *p; p++) {
      if (*p == '"')
        fputc('"', f);
      fputc(*p, f);
    }
    fputc('"', f);
  } else {
    fputs(s, f);
  }
  fputs(last ? "\r\n" : ",", f);
  return ferror(f) ? DK_EIO : 0;
}

void ledger_out_init(struct ledger_out *o, enum ledger_lang lang) {
  memset(o, 0, sizeof(*o));
  o->lang = lang;
}

void ledger_out_release(struct ledger_out *o) {
  for (size_t i = 0; i < o->count; i++)
    free(o->rows[i].buf);
  free(o->rows);
  memset(o, 0, sizeof(*o));
}

int ledger_out_add(struct ledger_out *o, const struct dk_case_state *s) {
  if (o->count == o->cap) {
    size_t cap = o->cap ? o->cap * 2 : 256;
    struct ledger_out_row *n = realloc(o->rows, cap * sizeof(*n));
    if (n == NULL)
      return DK_ENOMEM;
    o->rows = n;
    o->cap = cap;
  }
  char *buf = malloc(DK_CSV_LINE_BYTES_MAX);
  if (buf == NULL)
    return DK_ENOMEM;
  struct ledger_out_row *r = &o->rows[o->count];
  int rc = ledger_case_row(s, o->lang, r->fields, buf, DK_CSV_LINE_BYTES_MAX);
  if (rc != 0) {
    free(buf);
    return rc;
  }
  /* keep only what the row uses */
  size_t used = 0, off[C_COUNT];
  for (int c = 0; c < C_COUNT; c++) {
    off[c] = (size_t)(r->fields[c] - buf);
    size_t end = off[c] + strlen(r->fields[c]) + 1;
    if (end > used)
      used = end;
  }
  char *small = malloc(used);
  if (small == NULL) {
    free(buf);
    return DK_ENOMEM;
  }
  memcpy(small, buf, used);
  free(buf);
  for (int c = 0; c < C_COUNT; c++)
    r->fields[c] = small + off[c];
  r->buf = small;
  o->count++;
  return 0;
}

static int row_cmp(const void *a, const void *b) {
  const struct ledger_out_row *x = a, *y = b;
  return strcmp(x->fields[C_NUMBER], y->fields[C_NUMBER]);
}

static void out_sort(struct ledger_out *o) {
  if (o->count > 1)
    qsort(o->rows, o->count, sizeof(*o->rows), row_cmp);
}

int ledger_out_write_csv(struct ledger_out *o, FILE *f) {
  out_sort(o);
  fputs("\xef\xbb\xbf", f); /* BOM: Excel then reads UTF-8 */
  int rc = 0;
  for (int c = 0; c < C_COUNT && rc == 0; c++)
    rc = csv_cell(f, ledger_col_name((enum ledger_col)c, o->lang), c == C_COUNT - 1);
  for (size_t i = 0; i < o->count && rc == 0; i++)
    for (int c = 0; c < C_COUNT && rc == 0; c++)
      rc = csv_cell(f, o->rows[i].fields[c], c == C_COUNT - 1);
  if (rc == 0 && (fflush(f) != 0 || ferror(f)))
    rc = DK_EIO;
  return rc;
}

int ledger_out_write_xlsx(struct ledger_out *o, const char *path) {
  out_sort(o);
  return ledger_xlsx_write(path, o);
}
